r"""Least squares, ridge, polynomial features and linear regression by gradient descent.

The linear model of [MEDL] Sec. 2.3 is $\hat y = \theta^\top \tilde x = b + w^\top x$ with
$\tilde x = [1; x]$. mathdl keeps the intercept $b$ apart from the weights $w$: every ``X`` is
given WITHOUT a column of ones and the intercept lives in the returned :class:`LinearParams`.
"""

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks
from mathdl.checks import Text
from mathdl.estimators._common import check_design, check_finite, row_weights

__all__ = [
    "GDFit",
    "LinearParams",
    "fit_least_squares",
    "fit_linear_gd",
    "polynomial_degrees",
    "polynomial_features",
    "predict_linear",
]


class LinearParams(NamedTuple):
    """Parameters of the linear model $\\hat y = b + w^\\top x$.

    Attributes:
      b: intercept, shape ``()`` (or ``(k,)`` for ``k`` outputs).
      w: weights, shape ``(p,)`` (or ``(p, k)``).
    """

    b: jax.Array
    w: jax.Array


def _svd_solve(Xc, yc, ridge, rcond):
    # Minimum-norm (ridge) solution through the SVD Xc = U diag(s) V^T: w = V diag(s/(s^2+lambda)) U^T yc.
    # Singular values below rcond * s_max are treated as zero (the pseudo-inverse), so collinear
    # or n < p designs give the minimum-norm solution instead of inf. Never an explicit inverse.
    U, s, Vt = jnp.linalg.svd(Xc, full_matrices=False)
    keep = s > rcond * jnp.max(s, initial=0.0)
    s_safe = jnp.where(keep, s, 1.0)  # double-where: no 0/0 in the branch that is thrown away
    filt = jnp.where(keep, s_safe / (s_safe**2 + ridge), 0.0)
    Uty = U.T @ yc
    if yc.ndim == 2:
        return Vt.T @ (filt[:, None] * Uty)
    return Vt.T @ (filt * Uty)


def fit_least_squares(X, y, *, ridge=0.0, weights=None, intercept: bool = True, rcond=None) -> LinearParams:
    r"""Least squares or ridge regression, solved through the SVD (a pseudo-inverse, never an inverse).

    Minimises over $b, w$

    $$\sum_{i=1}^n v_i\,(y_i - b - w^\top x_i)^2 + \lambda \lVert w\rVert^2 ,$$

    with $\lambda$ = ``ridge`` and row weights $v_i$ = ``weights`` (default 1). The intercept
    $b$ is NOT penalised (as in scikit-learn's ``Ridge``, whose ``alpha`` is this $\lambda$):
    the weighted means are removed first and $b = \bar y - \bar x^\top w$. With $\lambda = 0$ this
    is $\hat\theta = \tilde X^\dagger y$ of [MEDL] Sec. 2.3; when $\tilde X$ has deficient rank
    (collinear columns, $n < p$) it returns the solution whose $w$ has minimum norm.

    Args:
      X: design matrix WITHOUT a column of ones, shape ``(n, p)``, floating.
      y: targets, shape ``(n,)`` or ``(n, k)`` for ``k`` outputs fitted at once.
      ridge: $\lambda \ge 0$ (a Python float or a traced scalar, so it can be vmapped).
      weights: optional non-negative row weights, shape ``(n,)``; a weight of 0 drops the row
        (this is how cross-validation masks folds with equal shapes).
      intercept: fit $b$ (default); if ``False`` then $b = 0$ and nothing is centred.
      rcond: relative cut-off for small singular values (default ``eps * max(n, p)``, as NumPy).

    Returns:
      ``LinearParams(b, w)`` with ``b`` of shape ``()`` / ``(k,)`` and ``w`` of shape ``(p,)`` / ``(p, k)``.

    Raises:
      ValueError: if ``X`` is not 2-D, ``y`` has a different number of rows, ``ridge < 0``,
        or (eagerly) ``X`` or ``y`` holds a non-finite value (its index is named).
      TypeError: if ``X``, ``y`` or ``weights`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (least squares, pseudo-inverse) and Sec. 2.5 (ridge).
      Oracle in tests: ``sklearn.linear_model.LinearRegression`` and ``Ridge``.
    """
    func = "estimators.fit_least_squares"
    n, p = check_design(func, X, y, y_rank=(1, 2), weights=weights)
    checks.check_dtype_floating(func, "y", y)
    checks.check_positive(func, "ridge", ridge, strict=False)
    check_finite(func, "X", X)
    check_finite(func, "y", y)
    X = jnp.asarray(X)
    dtype = X.dtype
    y = jnp.asarray(y).astype(dtype)
    v = row_weights(weights, n, dtype)
    ridge = jnp.asarray(ridge, dtype)
    if rcond is None:
        rcond = float(jnp.finfo(dtype).eps) * max(n, p)
    if intercept:
        total = jnp.sum(v)
        xbar = (v @ X) / total
        ybar = (v @ y) / total
    else:
        xbar = jnp.zeros((p,), dtype)
        ybar = jnp.zeros(y.shape[1:], dtype)
    r = jnp.sqrt(v)
    Xc = (X - xbar[None, :]) * r[:, None]
    yc = (y - ybar[None, :]) * r[:, None] if y.ndim == 2 else (y - ybar) * r
    if p == 0:  # a constant model: nothing to solve
        w = jnp.zeros((0, *y.shape[1:]), dtype)
    else:
        w = _svd_solve(Xc, yc, ridge, rcond)
    b = ybar - xbar @ w
    return LinearParams(b=b, w=w)


def predict_linear(params: LinearParams, x) -> jax.Array:
    r"""Prediction $\hat y = b + w^\top x$ of the linear model.

    Args:
      params: ``LinearParams(b, w)``.
      x: one example of shape ``(p,)`` or a batch ``(*batch, p)``.

    Returns:
      $\hat y$, shape ``(*batch,)`` (or ``(*batch, k)`` for a ``k``-output model).

    Raises:
      ValueError: if ``x``'s last axis is not ``p``.

    References:
      [MEDL] Ch. 2, Sec. 2.3.
    """
    func = "estimators.predict_linear"
    p = np.shape(params.w)[0]
    if np.ndim(x) < 1 or np.shape(x)[-1] != p:
        checks.fail(func, "x", f"last axis of size {p} (the rows of `w`)", Text(f"shape {np.shape(x)}"))
    z = x @ params.w
    return z + jnp.broadcast_to(params.b, z.shape)


def _monomials(p: int, degree: int):
    # Exponent tuples of all monomials of total degree 1..degree, by degree, then lexicographically.
    return [c for d in range(1, degree + 1) for c in itertools.combinations_with_replacement(range(p), d)]


def polynomial_degrees(p: int, degree: int) -> np.ndarray:
    r"""Total degree of each column of :func:`polynomial_features` for ``p`` inputs, in column order.

    Args:
      p: number of input features (non-negative int).
      degree: highest total degree $d$ (non-negative int).

    Returns:
      An int64 NumPy array of shape ``(number of monomials,)``; for $p = 2$, $d = 2$ it is
      ``[1, 1, 2, 2, 2]``.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (polynomial features).
    """
    return np.array([len(t) for t in _monomials(int(p), int(degree))], dtype=np.int64)


def polynomial_features(x, degree: int) -> jax.Array:
    r"""Raw monomial features of total degree 1 to ``degree`` (no constant: the intercept is separate).

    For a scalar input this is $(x, x^2, \dots, x^d)$; for $x \in \mathbb{R}^p$ it is every
    product $x_{j_1} x_{j_2}\cdots x_{j_r}$ with $1 \le r \le d$, i.e. R's
    ``polym(..., degree = d, raw = TRUE)`` used by the book, ordered by degree then
    lexicographically: for $p = 2$, $d = 2$: $(x_1, x_2, x_1^2, x_1x_2, x_2^2)$.

    Args:
      x: inputs with features on the last axis, shape ``(*batch, p)`` (use ``x[..., None]`` for
        a scalar feature).
      degree: maximal total degree $d \ge 0$ (static int); ``0`` gives zero columns.

    Returns:
      Features of shape ``(*batch, M)`` with $M = \binom{p + d}{d} - 1$.

    Raises:
      ValueError: if ``x`` has rank 0 or ``degree`` is not a non-negative int.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (polynomial fit) and Ch. 3, Sec. 3.4 (non-linear decision boundaries).
    """
    func = "estimators.polynomial_features"
    if np.ndim(x) < 1:
        checks.fail(func, "x", "rank >= 1 (features on the last axis)", Text(f"shape {np.shape(x)}"))
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 0:
        checks.fail(func, "degree", "a non-negative int", degree)
    x = jnp.asarray(x)
    terms = _monomials(x.shape[-1], int(degree))
    if not terms:
        return jnp.zeros((*x.shape[:-1], 0), x.dtype)
    cols = [jnp.prod(x[..., list(t)], axis=-1) for t in terms]
    return jnp.stack(cols, axis=-1)


class GDFit(NamedTuple):
    """Result of :func:`fit_linear_gd`.

    Attributes:
      params: fitted ``LinearParams`` on the ORIGINAL feature scale.
      loss_history: $C(\\theta^{(t)})$ before each step, shape ``(num_steps + 1,)`` (last: final).
      path: the iterates $\\theta^{(t)} = (b, w)$ in the coordinates gradient descent used
        (standardised ones when ``standardize=True``), shape ``(num_steps + 1, 1 + p)``.
    """

    params: LinearParams
    loss_history: jax.Array
    path: jax.Array


def fit_linear_gd(
    X, y, *, learning_rate: float, num_steps: int, standardize: bool = False, intercept: bool = True, init=None
) -> GDFit:
    r"""Linear regression by full-batch gradient descent, compiled as one ``lax.scan``.

    Minimises $C(\theta) = \frac{1}{2n}\sum_i (y_i - b - w^\top x_i)^2$ with
    $\theta^{(t+1)} = \theta^{(t)} - \alpha \nabla C(\theta^{(t)})$, where $\alpha$ = ``learning_rate``
    and $\nabla C = -\frac1n \sum_i (y_i - \hat y_i)\,\tilde x_i$.
    The factor $\tfrac12$ (the book's loss-landscape code) only rescales $\alpha$.
    With ``standardize=True`` the features are first replaced by $(x_j - \bar x_j)/s_j$ (biased
    standard deviation $s_j$, the book's convention), which rounds the loss landscape
    ([MEDL] Fig. 2.8); the result is mapped back to the original scale.

    Args:
      X: design matrix without a column of ones, shape ``(n, p)``.
      y: targets, shape ``(n,)``.
      learning_rate: $\alpha > 0$.
      num_steps: number of gradient steps (static positive int).
      standardize: run gradient descent on standardised features.
      intercept: fit $b$ (default); if ``False``, $b$ is not updated (stays at its initial value, 0 by default).
      init: optional starting ``LinearParams`` in the coordinates GD uses (default zeros).

    Returns:
      :class:`GDFit` ``(params, loss_history, path)``.

    Raises:
      ValueError: on shape mismatches, ``learning_rate <= 0`` or ``num_steps`` not a positive int.
      TypeError: if ``X`` or ``y`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.4 (gradient descent, learning rate, standardisation).
      Oracle in tests: the closed form of :func:`fit_least_squares` and a NumPy loop.
    """
    func = "estimators.fit_linear_gd"
    n, p = check_design(func, X, y)
    checks.check_dtype_floating(func, "y", y)
    checks.check_positive(func, "learning_rate", learning_rate)
    if isinstance(num_steps, bool) or not isinstance(num_steps, int | np.integer) or num_steps <= 0:
        checks.fail(func, "num_steps", "a positive int", num_steps)
    X = jnp.asarray(X)
    dtype = X.dtype
    y = jnp.asarray(y).astype(dtype)
    if standardize:
        mu = jnp.mean(X, axis=0)
        sd = jnp.sqrt(jnp.mean((X - mu[None, :]) ** 2, axis=0))  # biased (1/n), two-pass
        sd = jnp.where(sd > 0, sd, 1.0)  # a constant column stays 0 after centring; avoid 0/0
        Z = (X - mu[None, :]) / sd[None, :]
    else:
        Z = X
    theta0 = jnp.zeros((1 + p,), dtype) if init is None else jnp.concatenate([jnp.reshape(init.b, (1,)), init.w])
    theta0 = theta0.astype(dtype)
    Zt = jnp.concatenate([jnp.ones((n, 1), dtype), Z], axis=1)
    mask = jnp.ones((1 + p,), dtype).at[0].set(1.0 if intercept else 0.0)
    alpha = jnp.asarray(learning_rate, dtype)

    def loss(theta):
        r = y - Zt @ theta
        return 0.5 * jnp.mean(r**2)

    def step(theta, _):
        r = y - Zt @ theta
        grad = -(Zt.T @ r) / n
        new = theta - alpha * mask * grad
        return new, (0.5 * jnp.mean(r**2), theta)

    theta, (hist, path) = lax.scan(step, theta0, None, length=int(num_steps))
    hist = jnp.concatenate([hist, loss(theta)[None]])
    path = jnp.concatenate([path, theta[None]], axis=0)
    b, w = theta[0], theta[1:]
    if standardize:
        w = w / sd
        b = b - mu @ w
    return GDFit(LinearParams(b=b, w=w), hist, path)
