r"""Multinomial (softmax) regression ([MEDL] Sec. 3.3) and the argmax (MAP) decision rule."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks, losses
from mathdl.checks import Text
from mathdl.estimators._common import check_design, check_finite, resolve_num_classes, row_weights
from mathdl.estimators._optimize import minimize

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
      converged: whether the stopping rule held before ``max_iter``.
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


def _prepare(func, X, y, num_classes, weights, l2):
    n, p = check_design(func, X, y, weights=weights)
    checks.check_positive(func, "l2", l2, strict=False)
    check_finite(func, "X", X)
    num_classes = resolve_num_classes(func, y, num_classes)
    X = jnp.asarray(X)
    dtype = X.dtype
    return X, jnp.asarray(y), row_weights(weights, n, dtype), jnp.asarray(l2, dtype), int(num_classes), p


def softmax_objective(params: SoftmaxParams, X, y, *, weights=None, l2=0.0) -> jax.Array:
    r"""Mean categorical cross-entropy of the softmax model (plus an optional ridge term).

    $$C(b, W) = \frac1n\sum_{i=1}^n -\sum_{k=1}^K y^{(i)}_k \log \hat y^{(i)}_k + \frac\lambda2\lVert W\rVert_F^2,
      \qquad \hat y^{(i)} = S_{\mathrm{softmax}}(b + W x^{(i)}),$$

    with one-hot $y^{(i)}$, computed by a stable log-softmax. Its gradient with respect to the
    logits $z = b + Wx$ of one example is $\hat y - y$, so $\nabla_W = (\hat y - y)x^\top$.

    Args:
      params: ``SoftmaxParams(b, W)`` with ``W`` of shape ``(K, p)``.
      X: inputs, shape ``(n, p)``.
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      weights: optional row weights, shape ``(n,)``.
      l2: ridge strength $\lambda \ge 0$ on $W$ (not $b$).

    Returns:
      $C$, a scalar.

    Raises:
      ValueError: on shape mismatches or a label outside the classes (index named).
      TypeError: if ``X`` is not floating or ``y`` is not integer.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eqs. (3.25) (softmax) and (3.30) (categorical cross-entropy).
    """
    K, p = np.shape(params.W)
    X, y, v, l2, _, _ = _prepare("estimators.softmax_objective", X, y, K, weights, l2)
    theta = jnp.concatenate([params.b, jnp.ravel(params.W)])
    return _objective(theta, X, y, v, l2, K, p)


def fit_softmax(
    X,
    y,
    *,
    num_classes: int | None = None,
    method: str = "lbfgs",
    weights=None,
    l2=0.0,
    max_iter: int | None = None,
    tol: float = 1e-9,
    learning_rate: float = 1.0,
) -> SoftmaxFit:
    r"""Fit softmax (multinomial logistic) regression by maximum likelihood in one compiled loop.

    Minimises :func:`softmax_objective` from $\theta = 0$ by L-BFGS (``"lbfgs"``, default: optax's
    ``lbfgs`` with a zoom line search), Newton (``"newton"``: the Hessian of the flattened
    objective and a least-squares step; the softmax Hessian is always singular because adding
    the same vector to every row of $[b, W]$ leaves $\hat y$ unchanged, and the least-squares
    step is the minimum-norm one; cost grows as $(K(p+1))^3$, so use it for small problems),
    or gradient descent (``"gd"``). Without ``l2`` the parameters are identified only up to that
    shift; the probabilities are unique when the data are not separable.

    Args:
      X: inputs WITHOUT a column of ones, shape ``(n, p)``.
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      num_classes: $K$ (default ``max(y) + 1``; required when ``y`` is traced).
      method: ``"lbfgs"``, ``"newton"`` or ``"gd"``.
      weights: optional row weights, shape ``(n,)``.
      l2: ridge strength $\lambda \ge 0$ on $W$; sklearn's ``C`` is $1/(\lambda n)$.
      max_iter: iteration cap (static; default 50 Newton, 1000 L-BFGS, 10000 GD).
      tol: Newton: step $\le$ ``tol`` $(1+\lVert\theta\rVert)$; others: $\lVert\nabla C\rVert \le$ ``tol``.
      learning_rate: $\alpha > 0$ for ``"gd"``.

    Returns:
      :class:`SoftmaxFit` ``(params, converged, num_iter, loss_history, norm_history)``.

    Raises:
      ValueError: on shape mismatches, an unknown ``method``, ``num_classes < 2`` or a label outside
        the classes (its index is named).
      TypeError: if ``X`` is not floating or ``y`` is not integer.

    References:
      [MEDL] Ch. 3, Sec. 3.3 (softmax regression, eqs. (3.25), (3.30)).
      Oracle in tests: ``sklearn.linear_model.LogisticRegression`` (multinomial).
    """
    func = "estimators.fit_softmax"
    checks.check_choice(func, "method", method, ("lbfgs", "newton", "gd"))
    checks.check_positive(func, "learning_rate", learning_rate)
    checks.check_positive(func, "tol", tol, strict=False)
    if max_iter is None:
        max_iter = {"newton": 50, "lbfgs": 1000, "gd": 10000}[method]
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        checks.fail(func, "max_iter", "a positive int", max_iter)
    X, y, v, l2, K, p = _prepare(func, X, y, num_classes, weights, l2)
    theta0 = jnp.zeros((K * (p + 1),), X.dtype)
    res = minimize(
        lambda t: _objective(t, X, y, v, l2, K, p),
        theta0,
        method=method,
        max_iter=int(max_iter),
        tol=tol,
        learning_rate=learning_rate,
        n_bias=K,
    )
    return SoftmaxFit(_unflatten(res.theta, K, p), res.stopped, res.num_iter, res.loss_history, res.norm_history)


def predict_softmax(params: SoftmaxParams, x) -> jax.Array:
    r"""Class probabilities $\hat y = S_{\mathrm{softmax}}(b + Wx)$.

    Args:
      params: ``SoftmaxParams(b, W)``, ``W`` of shape ``(K, p)``.
      x: one example ``(p,)`` or a batch ``(*batch, p)``.

    Returns:
      Probabilities, shape ``(*batch, K)``, each row summing to 1.

    Raises:
      ValueError: if ``x``'s last axis is not ``p``.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.25).
    """
    p = np.shape(params.W)[1]
    if np.ndim(x) < 1 or np.shape(x)[-1] != p:
        checks.fail("estimators.predict_softmax", "x", f"last axis of size {p}", Text(f"shape {np.shape(x)}"))
    z = x @ params.W.T
    return jax.nn.softmax(z + jnp.broadcast_to(params.b, z.shape), axis=-1)


def argmax_rule(prob) -> jax.Array:
    r"""The maximum a posteriori decision $\hat Y = \arg\max_k \hat y_k$ (ties: the smallest $k$).

    Args:
      prob: probabilities or scores, shape ``(*batch, K)``.

    Returns:
      int32 class indices, shape ``(*batch,)``.

    Raises:
      ValueError: if ``prob`` has rank 0.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.34) (MAP rule).
    """
    if np.ndim(prob) < 1:
        checks.fail(
            "estimators.argmax_rule", "prob", "rank >= 1 (classes on the last axis)", Text(f"shape {np.shape(prob)}")
        )
    return jnp.argmax(prob, axis=-1).astype(jnp.int32)
