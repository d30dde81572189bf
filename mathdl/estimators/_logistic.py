r"""Logistic regression ([MEDL] Sec. 3.1-3.2): the sigmoid model, its likelihood, Newton/IRLS and GD."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, losses
from mathdl.estimators._common import (
    at_least,
    compute_dtype,
    design,
    finite,
    first_bad,
    labels_in,
    row_weights,
    static_int,
    value_checks,
)
from mathdl.estimators._optimize import default_tol, minimize

__all__ = [
    "LogisticFit",
    "LogisticParams",
    "fit_logistic",
    "logistic_gradient_hessian",
    "logistic_objective",
    "predict_logistic",
    "threshold_rule",
]


class LogisticParams(NamedTuple):
    """Parameters of $\\hat y = \\sigma(b + w^\\top x)$.

    Attributes:
      b: intercept $b_0$, shape ``()``.
      w: weights, shape ``(p,)``.
    """

    b: jax.Array
    w: jax.Array


class LogisticFit(NamedTuple):
    """Result of :func:`fit_logistic`.

    Attributes:
      params: the last iterate, ``LogisticParams`` (always finite).
      converged: the stopping rule held at a finite iterate before ``max_iter`` AND the data are
        not separable (never true after a non-finite step, or under ``jax.jit`` on invalid input).
      separable: the last iterate classifies every (weighted) point strictly correctly, a
        certificate that the maximum-likelihood estimate does not exist: $\\lVert w\\rVert$ would
        grow without bound (see ``norm_history``).
      num_iter: iterations run, int32 scalar.
      loss_history: objective of each iterate, shape ``(max_iter + 1,)``, NaN after ``num_iter``.
      norm_history: $\\lVert w\\rVert$ of each iterate, same shape.
    """

    params: LogisticParams
    converged: jax.Array
    separable: jax.Array
    num_iter: jax.Array
    loss_history: jax.Array
    norm_history: jax.Array


def _logits(theta, X):
    return theta[0] + X @ theta[1:]


def _objective(theta, X, y, v, l2):
    z = _logits(theta, X)
    # Cross-entropy from logits (softplus(z) - y z): replaces the book's clipping of y-hat to
    # [1e-7, 1 - 1e-7] and stays exact for large |z|.
    ce = losses.binary_cross_entropy_with_logits(z, y)
    return (v @ ce) / jnp.sum(v) + 0.5 * l2 * jnp.sum(theta[1:] ** 2)


def _grad_hess(theta, X, y, v, l2):
    n, p = X.shape
    Xt = jnp.concatenate([jnp.ones((n, 1), X.dtype), X], axis=1)
    z = Xt @ theta
    yhat = jax.nn.sigmoid(z)
    total = jnp.sum(v)
    g = Xt.T @ (v * (yhat - y)) / total
    s = v * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)  # yhat (1 - yhat), without cancellation
    H = (Xt * s[:, None]).T @ Xt / total
    pen = jnp.ones((p + 1,), X.dtype).at[0].set(0.0) * l2  # the intercept is not penalised
    return g + pen * theta, H + jnp.diag(pen)


def _prepare(X, y, weights, l2):
    dtype = compute_dtype(X.dtype)  # half precision: solved in float32, returned in X's dtype
    v = row_weights(weights, X.shape[0], dtype)
    return X.astype(dtype), y.astype(dtype), v, jnp.asarray(l2).astype(dtype)


def _conditions(X, y, l2):
    # The value checks every logistic function shares: eager ValueError, NaN (or False) under jit.
    return labels_in("y", y, 2), finite("X", X), at_least("l2", l2)


_SPECS = {"X": design, "y": "num[n]", "weights": "num[n]?", "l2": "num[]"}
_PARAMS = checks.fields(b="float[]", w="float[p]")


@checks.inputs(params=_PARAMS, **_SPECS)
def logistic_objective(params: LogisticParams, X, y, *, weights=None, l2=0.0) -> jax.Array:
    r"""The logistic-regression objective: mean binary cross-entropy (plus an optional ridge term).

    $$C(b, w) = \frac{1}{\sum_i v_i}\sum_{i=1}^n v_i\big[-y_i\log\hat y_i - (1-y_i)\log(1-\hat y_i)\big]
    + \frac{\lambda}{2}\lVert w\rVert^2,\qquad \hat y_i = \sigma(b + w^\top x_i),$$

    computed from the logits as $\mathrm{softplus}(z) - yz$ (stable; the book clips $\hat y$ instead).

    Args:
      params: ``LogisticParams(b, w)``.
      X: a whole data set of inputs, shape ``(n, p)``, floating.
      y: labels in $\{0, 1\}$, shape ``(n,)`` (int or float).
      weights: optional row weights $v_i \ge 0$, shape ``(n,)``.
      l2: $\lambda \ge 0$ (the intercept is not penalised).

    Returns:
      $C$, a scalar; NaN under ``jax.jit`` for a label outside $\{0,1\}$, a non-finite ``X`` or ``l2 < 0``.

    Raises:
      ValueError: on shape mismatches, or (eagerly) a label outside $\{0,1\}$ (index named),
        a non-finite ``X`` or ``l2 < 0``.
      TypeError: if ``X`` is not floating or ``y``, ``weights``, ``l2`` are not numeric.

    References:
      [MEDL] Ch. 3, Sec. 3.1 (Bernoulli likelihood and binary cross-entropy).
    """
    guard = value_checks(checks.public_name(logistic_objective), *_conditions(X, y, l2))
    Xw, yw, v, lam = _prepare(X, y, weights, l2)
    theta = jnp.concatenate([jnp.reshape(params.b, (1,)), params.w]).astype(Xw.dtype)
    return guard(_objective(theta, Xw, yw, v, lam).astype(X.dtype))


@checks.inputs(params=_PARAMS, **_SPECS)
def logistic_gradient_hessian(params: LogisticParams, X, y, *, weights=None, l2=0.0):
    r"""Gradient and Hessian of :func:`logistic_objective` in $\theta = (b, w)$, in closed form.

    $$\nabla C = \frac1n\sum_i(\hat y_i - y_i)\,\tilde x_i,\qquad
      \nabla^2 C = \frac1n\sum_i \hat y_i(1-\hat y_i)\,\tilde x_i\tilde x_i^\top \succeq 0,$$

    with $\tilde x_i = [1; x_i]$ (weighted means when ``weights`` is given; ``l2`` adds $\lambda w$ and
    $\lambda$ on the diagonal except the intercept). These are the IRLS/Newton ingredients.

    Args:
      params: ``LogisticParams(b, w)``.
      X: a whole data set of inputs, shape ``(n, p)``, floating.
      y: labels in $\{0,1\}$, shape ``(n,)``.
      weights: optional row weights, shape ``(n,)``.
      l2: ridge strength $\lambda \ge 0$.

    Returns:
      ``(g, H)`` with ``g`` of shape ``(p + 1,)`` and ``H`` of shape ``(p + 1, p + 1)``; index 0 is $b$.

    Raises:
      ValueError: as :func:`logistic_objective`.
      TypeError: if ``X`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.1-3.2 (gradient of the cross-entropy, convexity).
    """
    guard = value_checks(checks.public_name(logistic_gradient_hessian), *_conditions(X, y, l2))
    Xw, yw, v, lam = _prepare(X, y, weights, l2)
    theta = jnp.concatenate([jnp.reshape(params.b, (1,)), params.w]).astype(Xw.dtype)
    g, H = _grad_hess(theta, Xw, yw, v, lam)
    return guard((g.astype(X.dtype), H.astype(X.dtype)))


@checks.inputs(**_SPECS)
def fit_logistic(
    X,
    y,
    *,
    method: str = "newton",
    weights=None,
    l2=0.0,
    max_iter: int | None = None,
    tol: float | None = None,
    learning_rate: float = 1.0,
) -> LogisticFit:
    r"""Fit logistic regression by maximum likelihood, compiled in one ``lax.while_loop``.

    Minimises :func:`logistic_objective`. ``method="newton"`` is Newton's method, i.e. iteratively
    reweighted least squares: $\theta \leftarrow \theta - H^{+}\nabla C$ with the closed forms of
    :func:`logistic_gradient_hessian` (the step is a least-squares solve, so a singular $H$
    gives the minimum-norm step). ``method="gd"`` is gradient descent
    $\theta \leftarrow \theta - \alpha\nabla C$. Both start at $\theta = 0$.

    On linearly separable data the likelihood has no maximiser: $\lVert w\rVert \to \infty$. The
    fit stays finite (it stops at ``max_iter`` or when the step no longer changes $\theta$) and
    reports ``separable=True`` and the growth of $\lVert w\rVert$ in ``norm_history``. A step that
    is not finite (NaN data, or an overflowing ``learning_rate``) ends the run at the last finite
    iterate with ``converged=False``.

    Args:
      X: a whole data set of inputs WITHOUT a column of ones, shape ``(n, p)``, floating
        (float16/bfloat16 are fitted in float32 and returned in ``X``'s dtype).
      y: labels in $\{0, 1\}$, shape ``(n,)``.
      method: ``"newton"`` (default) or ``"gd"``.
      weights: optional row weights $v_i \ge 0$, shape ``(n,)`` (0 drops a row).
      l2: ridge strength $\lambda \ge 0$ on $w$ (not $b$); sklearn's ``C`` is $1/(\lambda n)$.
      max_iter: iteration cap (static; default 100 for Newton, 10000 for GD).
      tol: Newton stops when $\lVert\Delta\theta\rVert \le$ ``tol`` $(1+\lVert\theta\rVert)$; GD when
        $\lVert\nabla C\rVert \le$ ``tol``. Default ``sqrt(eps)`` of the dtype (1.5e-8 in float64,
        3.5e-4 in float32), which each dtype can reach.
      learning_rate: $\alpha > 0$ for ``"gd"``.

    Returns:
      :class:`LogisticFit` ``(params, converged, separable, num_iter, loss_history, norm_history)``.
      Under ``jax.jit`` a label outside $\{0,1\}$, a non-finite ``X`` or a negative ``l2`` gives NaN
      params and ``converged=False`` (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: on shape mismatches, an unknown ``method``, ``max_iter < 1``, or (eagerly) a label
        outside $\{0,1\}$ (its index is named), non-finite ``X``, ``l2 < 0``, ``tol < 0`` or
        ``learning_rate <= 0``.
      TypeError: if ``X`` is not floating or ``y`` or ``weights`` is not numeric.

    References:
      [MEDL] Ch. 3, Sec. 3.1 (MLE, convexity) and Sec. 3.2 (gradient descent on the shallow network).
      Oracle in tests: ``sklearn.linear_model.LogisticRegression(penalty=None)``.
    """
    func = checks.public_name(fit_logistic)
    checks.check_choice(func, "method", method, ("newton", "gd"))
    if max_iter is None:
        max_iter = 100 if method == "newton" else 10000
    max_iter = static_int(func, "max_iter", max_iter)
    Xw, yw, v, lam = _prepare(X, y, weights, l2)
    tol = default_tol(Xw.dtype) if tol is None else tol
    conds = (at_least("tol", tol), at_least("learning_rate", learning_rate, strict=True))
    guard = value_checks(func, *_conditions(X, y, l2), *conds)
    res = minimize(
        lambda t: _objective(t, Xw, yw, v, lam),
        jnp.zeros((X.shape[1] + 1,), Xw.dtype),
        method=method,
        max_iter=max_iter,
        tol=tol,
        learning_rate=learning_rate,
        n_bias=1,
        grad_hess=lambda t: _grad_hess(t, Xw, yw, v, lam),
    )
    margins = (2.0 * yw - 1.0) * _logits(res.theta, Xw)
    separable = jnp.all((margins > 0) | (v == 0)) & (lam == 0)
    params = LogisticParams(b=res.theta[0].astype(X.dtype), w=res.theta[1:].astype(X.dtype))
    converged = res.converged & ~separable
    return guard(LogisticFit(params, converged, separable, res.num_iter, res.loss_history, res.norm_history))


@checks.inputs(params=_PARAMS, x="float[*batch p]")
def predict_logistic(params: LogisticParams, x) -> jax.Array:
    r"""Probability $\hat y = \sigma(b + w^\top x) = P(Y = 1 \mid x)$.

    Args:
      params: ``LogisticParams(b, w)``.
      x: one example ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      Probabilities, shape ``(*batch,)``.

    Raises:
      ValueError: if ``x``'s last axis is not ``p``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.1 (the sigmoid model).
    """
    return jax.nn.sigmoid(x @ params.w + params.b)


@checks.inputs(prob="num[*batch]")
def threshold_rule(prob, *, threshold: float = 0.5) -> jax.Array:
    r"""The binary decision rule $\hat Y = 1$ if $\hat y > \tau$, else 0.

    Args:
      prob: probabilities $\hat y$, any shape ``(*batch,)`` (it is applied elementwise).
      threshold: $\tau \in [0, 1]$ (default 0.5); moving it trades TPR against FPR (the ROC curve).

    Returns:
      int32 decisions of the same shape; a NaN probability gives the invalid label ``-1`` (it is
      neither class), as does every entry under ``jax.jit`` when ``threshold`` is outside $[0, 1]$.
      :func:`mathdl.checks.checked` raises on a NaN instead.

    Raises:
      ValueError: if ``threshold`` is outside $[0, 1]$ (eagerly).
      TypeError: if ``prob`` is not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.2 and Ch. 3, Sec. 3.1 (decision rule with threshold $\tau$).
    """
    func = checks.public_name(threshold_rule)
    prob = prob if jnp.issubdtype(prob.dtype, jnp.floating) else prob.astype(jnp.result_type(float))
    tau = jnp.asarray(threshold).astype(prob.dtype)
    nan = jnp.isnan(prob)
    checks.value_check(~nan, f"{func}: argument `prob` expected probabilities, got NaN.")
    out = jnp.where(nan, -1, (prob > tau).astype(jnp.int32))
    ok = (tau >= 0) & (tau <= 1)
    return checks.ensure(ok, out, func, "threshold", "a value in [0.0, 1.0]", first_bad(threshold, ok))
