r"""Multinomial (softmax) regression ([MEDL] Sec. 3.3) and the argmax (MAP) decision rule."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, losses
from mathdl.estimators._common import (
    at_least,
    compute_dtype,
    design,
    finite,
    labels_in,
    resolve_num_classes,
    row_weights,
    static_int,
    value_checks,
)
from mathdl.estimators._optimize import default_tol, minimize

__all__ = ["SoftmaxFit", "SoftmaxParams", "argmax_rule", "fit_softmax", "predict_softmax", "softmax_objective"]


class SoftmaxParams(NamedTuple):
    """Parameters of $\\hat y = S_{\\mathrm{softmax}}(b + W x)$.

    Attributes:
      b: biases, shape ``(K,)``.
      W: weights, shape ``(K, p)`` (the book's orientation: one row per class).
    """

    b: jax.Array
    W: jax.Array


class SoftmaxFit(NamedTuple):
    """Result of :func:`fit_softmax`.

    Attributes:
      params: the last iterate, ``SoftmaxParams``.
      converged: whether the stopping rule held at a finite iterate before ``max_iter`` (never
        after a non-finite step, or under ``jax.jit`` on invalid input).
      num_iter: iterations run, int32 scalar.
      loss_history: objective per iterate, shape ``(max_iter + 1,)`` (NaN after ``num_iter``).
      norm_history: $\\lVert W\\rVert_F$ per iterate, same shape.
    """

    params: SoftmaxParams
    converged: jax.Array
    num_iter: jax.Array
    loss_history: jax.Array
    norm_history: jax.Array


def _unflatten(theta, K, p):
    return SoftmaxParams(b=theta[:K], W=jnp.reshape(theta[K:], (K, p)))


def _objective(theta, X, y, v, l2, K, p):
    params = _unflatten(theta, K, p)
    Z = X @ params.W.T + params.b[None, :]  # (n, K) logits
    ce = losses.softmax_cross_entropy(Z, y)  # logsumexp(z) - z_y: stable
    return (v @ ce) / jnp.sum(v) + 0.5 * l2 * jnp.sum(params.W**2)


def _prepare(X, weights, l2):
    dtype = compute_dtype(X.dtype)  # half precision: solved in float32, returned in X's dtype
    return X.astype(dtype), row_weights(weights, X.shape[0], dtype), jnp.asarray(l2).astype(dtype)


def _conditions(X, y, K, l2):
    # The value checks both softmax functions share: eager ValueError, NaN (or False) under jit.
    return labels_in("y", y, K), finite("X", X), at_least("l2", l2)


_SPECS = {"X": design, "y": "int[n]", "weights": "num[n]?", "l2": "num[]"}


@checks.inputs(params=checks.fields(b="float[K]", W="float[K p]"), **_SPECS)
def softmax_objective(params: SoftmaxParams, X, y, *, weights=None, l2=0.0) -> jax.Array:
    r"""Mean categorical cross-entropy of the softmax model (plus an optional ridge term).

    $$C(b, W) = \frac1n\sum_{i=1}^n -\sum_{k=1}^K y^{(i)}_k \log \hat y^{(i)}_k + \frac\lambda2\lVert W\rVert_F^2,
      \qquad \hat y^{(i)} = S_{\mathrm{softmax}}(b + W x^{(i)}),$$

    with one-hot $y^{(i)}$, computed by a stable log-softmax. Its gradient with respect to the
    logits $z = b + Wx$ of one example is $\hat y - y$, so $\nabla_W = (\hat y - y)x^\top$.

    Args:
      params: ``SoftmaxParams(b, W)`` with ``W`` of shape ``(K, p)``.
      X: a whole data set of inputs, shape ``(n, p)``, floating.
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      weights: optional row weights, shape ``(n,)``.
      l2: ridge strength $\lambda \ge 0$ on $W$ (not $b$).

    Returns:
      $C$, a scalar; NaN under ``jax.jit`` for a label outside the classes, a non-finite ``X`` or ``l2 < 0``.

    Raises:
      ValueError: on shape mismatches, or (eagerly) a label outside the classes (index named), a
        non-finite ``X`` or ``l2 < 0``.
      TypeError: if ``X`` is not floating or ``y`` is not integer.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eqs. (3.25) (softmax) and (3.30) (categorical cross-entropy).
    """
    K, p = params.W.shape
    guard = value_checks(checks.public_name(softmax_objective), *_conditions(X, y, K, l2))
    Xw, v, lam = _prepare(X, weights, l2)
    theta = jnp.concatenate([params.b, jnp.ravel(params.W)]).astype(Xw.dtype)
    return guard(_objective(theta, Xw, y, v, lam, K, p).astype(X.dtype))


@checks.inputs(**_SPECS)
def fit_softmax(
    X,
    y,
    *,
    num_classes: int | None = None,
    method: str = "lbfgs",
    weights=None,
    l2=0.0,
    max_iter: int | None = None,
    tol: float | None = None,
    learning_rate: float = 1.0,
) -> SoftmaxFit:
    r"""Fit softmax (multinomial logistic) regression by maximum likelihood in one compiled loop.

    Minimises :func:`softmax_objective` from $\theta = 0$ by L-BFGS (``"lbfgs"``, default: optax's
    ``lbfgs`` with a zoom line search), Newton (``"newton"``: the Hessian of the flattened
    objective and a least-squares step; the softmax Hessian is always singular because adding
    the same vector to every row of $[b, W]$ leaves $\hat y$ unchanged, and the least-squares
    step is the minimum-norm one; cost grows as $(K(p+1))^3$, so use it for small problems),
    or gradient descent (``"gd"``). Without ``l2`` the parameters are identified only up to that
    shift; the probabilities are unique when the data are not separable. A step that is not
    finite ends the run at the last finite iterate with ``converged=False``.

    Args:
      X: a whole data set of inputs WITHOUT a column of ones, shape ``(n, p)``, floating
        (float16/bfloat16 are fitted in float32 and returned in ``X``'s dtype).
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      num_classes: $K$ (default ``max(y) + 1``; required when ``y`` is traced).
      method: ``"lbfgs"``, ``"newton"`` or ``"gd"``.
      weights: optional row weights, shape ``(n,)``.
      l2: ridge strength $\lambda \ge 0$ on $W$; sklearn's ``C`` is $1/(\lambda n)$.
      max_iter: iteration cap (static; default 50 Newton, 1000 L-BFGS, 10000 GD).
      tol: Newton: step $\le$ ``tol`` $(1+\lVert\theta\rVert)$; others: $\lVert\nabla C\rVert \le$ ``tol``.
        Default ``sqrt(eps)`` of the dtype (1.5e-8 in float64, 3.5e-4 in float32).
      learning_rate: $\alpha > 0$ for ``"gd"``.

    Returns:
      :class:`SoftmaxFit` ``(params, converged, num_iter, loss_history, norm_history)``. Under
      ``jax.jit`` a label outside the classes, a non-finite ``X`` or a negative ``l2`` gives NaN
      params and ``converged=False`` (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: on shape mismatches, an unknown ``method``, ``num_classes < 2``, or (eagerly) a
        label outside the classes (its index is named), a non-finite ``X``, ``l2 < 0``, ``tol < 0``
        or ``learning_rate <= 0``.
      TypeError: if ``X`` is not floating or ``y`` is not integer.

    References:
      [MEDL] Ch. 3, Sec. 3.3 (softmax regression, eqs. (3.25), (3.30)).
      Oracle in tests: ``sklearn.linear_model.LogisticRegression`` (multinomial).
    """
    func = checks.public_name(fit_softmax)
    checks.check_choice(func, "method", method, ("lbfgs", "newton", "gd"))
    if max_iter is None:
        max_iter = {"newton": 50, "lbfgs": 1000, "gd": 10000}[method]
    max_iter = static_int(func, "max_iter", max_iter)
    K = resolve_num_classes(func, y, num_classes)
    p = X.shape[1]
    Xw, v, lam = _prepare(X, weights, l2)
    tol = default_tol(Xw.dtype) if tol is None else tol
    conds = (at_least("tol", tol), at_least("learning_rate", learning_rate, strict=True))
    guard = value_checks(func, *_conditions(X, y, K, l2), *conds)
    res = minimize(
        lambda t: _objective(t, Xw, y, v, lam, K, p),
        jnp.zeros((K * (p + 1),), Xw.dtype),
        method=method,
        max_iter=max_iter,
        tol=tol,
        learning_rate=learning_rate,
        n_bias=K,
    )
    params = jax.tree.map(lambda a: a.astype(X.dtype), _unflatten(res.theta, K, p))
    return guard(SoftmaxFit(params, res.converged, res.num_iter, res.loss_history, res.norm_history))


@checks.inputs(params=checks.fields(b="float[K]", W="float[K p]"), x="float[*batch p]")
def predict_softmax(params: SoftmaxParams, x) -> jax.Array:
    r"""Class probabilities $\hat y = S_{\mathrm{softmax}}(b + Wx)$.

    Args:
      params: ``SoftmaxParams(b, W)``, ``W`` of shape ``(K, p)``.
      x: one example ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      Probabilities, shape ``(*batch, K)``, each row summing to 1.

    Raises:
      ValueError: if ``x``'s last axis is not ``p``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.25).
    """
    z = x @ params.W.T
    return jax.nn.softmax(z + jnp.broadcast_to(params.b, z.shape), axis=-1)


@checks.inputs(prob="num[*batch K]")
def argmax_rule(prob) -> jax.Array:
    r"""The maximum a posteriori decision $\hat Y = \arg\max_k \hat y_k$ (ties: the smallest $k$).

    Args:
      prob: probabilities or scores, shape ``(*batch, K)`` (classes on the last axis; it applies
        to every leading index).

    Returns:
      int32 class indices, shape ``(*batch,)``; a row holding a NaN gives the invalid label ``-1``
      (it is no class). :func:`mathdl.checks.checked` raises on a NaN instead.

    Raises:
      ValueError: if ``prob`` has rank 0.
      TypeError: if ``prob`` is not numeric.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.34) (MAP rule).
    """
    nan = jnp.any(jnp.isnan(prob), axis=-1)
    func = checks.public_name(argmax_rule)
    checks.value_check(~nan, f"{func}: argument `prob` expected probabilities or scores, got NaN.")
    return jnp.where(nan, -1, jnp.argmax(prob, axis=-1)).astype(jnp.int32)
