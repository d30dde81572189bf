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
from mathdl.estimators._common import (
    at_least,
    compute_dtype,
    design,
    finite,
    row_weights,
    static_int,
    targets,
    value_checks,
)
from mathdl.estimators._linalg import sequential_on_cpu, svd

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


def _weighted_mean(v, A, total):
    # Weighted column means plus one correction pass: a constant column then centres to exactly 0.
    m = (v @ A) / total
    return m + (v @ (A - m[None, :])) / total


def _gram_route(ops):
    Xs, _, lam, Vt, safe = ops
    s = jnp.sqrt(lam)
    s_inv = jnp.where(safe, 1.0 / jnp.where(safe, s, 1.0), 0.0)
    return s, Vt, Xs @ (Vt.T * s_inv[None, :])  # U = Xs V diag(1/s)


def _tall_route(ops):
    Xs, E, _, _, _ = ops
    U, s, Vt = svd(jnp.concatenate([Xs, E], axis=0))
    return s, Vt, U[: Xs.shape[0]]


def _factor_one(Xs, varies):
    # (s, Vt, U), the thin SVD Xs = U diag(s) Vt of an equilibrated Xs of shape (n, p).
    # A well-conditioned Xs (the usual case) is factorised through its p x p Gram matrix: matrix
    # products instead of a LAPACK SVD of the tall matrix, which on CPU costs 100 times more. The
    # normal equations lose eps * cond^2, so the Gram route is taken only when eps * cond^2 <= 1e-3
    # (and _solve refines once, leaving an error ~ eps * cond); otherwise the SVD of Xs. The branches
    # are module-level functions of explicit operands, so an eager call reuses their compiled form.
    n, p = Xs.shape
    if n < p:
        U, s, Vt = svd(Xs)
        return s, Vt, U
    # A constant (zero) column j gets a unit row below Xs: a singular value of its own, weight 0, in both
    # routes (distinct values 1 + j/p keep derivatives free of 1/(s_i^2 - s_j^2) = inf).
    E = jnp.diag(jnp.where(varies, 0.0, 1.0 + jnp.arange(p) / p).astype(Xs.dtype))
    _, lam, Vt = svd(Xs.T @ Xs + E**2)  # G = V diag(lam) V^T, lam = s^2 (the SVD of a symmetric PSD matrix)
    safe = lam[-1] >= 1e3 * jnp.finfo(Xs.dtype).eps * lam[0]
    return lax.cond(safe, _gram_route, _tall_route, (Xs, E, lam, Vt, safe))


# Under vmap (the folds of cross-validation, one-vs-one pairs) each design takes its own route.
_factor = sequential_on_cpu(_factor_one)


def _solve(Xc, Yc, scale, ridge, rcond):
    # Weights for centred, row-weighted Xc (n, p) and Yc (n, k); `scale` holds the uncentred column norms.
    # Equilibrate: Xs = Xc D^{-1} with D the column norms, so the factorisation (and the rcond cut-off)
    # does not depend on the units of the features. A column whose centred norm is at the rounding
    # level of its own size is constant (it carries no information besides the intercept): weight 0.
    d = jnp.linalg.norm(Xc, axis=0)
    varies = d > jnp.finfo(Xc.dtype).eps * scale
    d_safe = jnp.where(varies, d, 1.0)  # double where: no 0/0 in the branch that is thrown away
    Xs = jnp.where(varies[None, :], Xc / d_safe[None, :], 0.0)
    s, Vt, U = _factor(Xs, varies)
    keep = s > rcond * jnp.max(s)
    rank = jnp.sum(keep) - (jnp.sum(~varies) if Xc.shape[0] >= Xc.shape[1] else 0)  # less the unit rows
    s_inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)[:, None]
    C = U.T @ Yc
    C = C + jnp.where(keep[:, None], U.T @ (Yc - Xs @ (Vt.T @ (s_inv * C))), 0.0)  # one refinement step: C = U^T y
    # Full rank on the varying columns and no ridge: the solution is unique and w = D^{-1} Xs^+ y is exact.
    w_exact = jnp.where(varies[:, None], (Vt.T @ (s_inv * C)) / d_safe[:, None], 0.0)
    # Otherwise (the minimum-norm w of a rank-deficient design, or ridge, which penalises w itself): the
    # SVD of Xc = U K with the small K = diag(s) Vt D, and the filter sigma / (sigma^2 + lambda).
    P, sig, Qt = svd((s[:, None] * Vt) * jnp.where(varies, d, 0.0)[None, :])
    keep_k = sig > rcond * jnp.max(sig)
    sig_safe = jnp.where(keep_k, sig, 1.0)
    filt = jnp.where(keep_k, sig_safe / (sig_safe**2 + ridge), 0.0)
    w_filtered = Qt.T @ (filt[:, None] * (P.T @ C))
    exact = (rank == jnp.sum(varies)) & (ridge == 0)
    return jnp.where(exact, w_exact, w_filtered)


def _fit(X, y, v, ridge, rcond=None, intercept=True):
    # The fit of fit_least_squares on checked arrays of one floating dtype (fit_robust reuses it).
    n, p = X.shape
    v = row_weights(v, n, X.dtype)
    Y = jnp.reshape(y, (n, -1))
    rcond = float(jnp.finfo(X.dtype).eps) * max(n, p) if rcond is None else rcond
    total = jnp.sum(v)
    xbar = _weighted_mean(v, X, total) if intercept else jnp.zeros((p,), X.dtype)
    ybar = _weighted_mean(v, Y, total) if intercept else jnp.zeros(Y.shape[1:], X.dtype)
    r = jnp.sqrt(v)[:, None]
    scale = jnp.linalg.norm(X * r, axis=0)
    W = _solve((X - xbar[None, :]) * r, (Y - ybar[None, :]) * r, scale, ridge, rcond) if p else Y[:0]
    b = ybar - xbar @ W
    return jnp.reshape(b, y.shape[1:]), jnp.reshape(W, (p, *y.shape[1:]))


@checks.inputs(X=design, y=targets, ridge="num[]", weights="num[n]?")
def fit_least_squares(X, y, *, ridge=0.0, weights=None, intercept: bool = True, rcond=None) -> LinearParams:
    r"""Least squares or ridge regression, solved through the SVD (a pseudo-inverse, never an inverse).

    Minimises over $b, w$

    $$\sum_{i=1}^n v_i\,(y_i - b - w^\top x_i)^2 + \lambda \lVert w\rVert^2 ,$$

    with $\lambda$ = ``ridge`` and row weights $v_i$ = ``weights`` (default 1). The intercept
    $b$ is NOT penalised (as in scikit-learn's ``Ridge``, whose ``alpha`` is this $\lambda$):
    the weighted means are removed first and $b = \bar y - \bar x^\top w$. With $\lambda = 0$ this
    is $\hat\theta = \tilde X^\dagger y$ of [MEDL] Sec. 2.3; when $\tilde X$ has deficient rank
    (collinear columns, $n < p$) it returns the solution whose $w$ has minimum norm.

    The columns are equilibrated (divided by their norms) before the factorisation, so features in
    very different units (one column $10^6$ times another) are solved as accurately as NumPy's
    ``lstsq``, also in float32; the cut-off ``rcond`` applies to the equilibrated singular values.
    A well-conditioned design ($\epsilon\,\kappa^2 \le 10^{-3}$) is factorised through its
    $p \times p$ Gram matrix and refined once (matrix products, much faster than the SVD of the
    tall matrix); any other design by the SVD. A column that is constant on the (weighted) rows
    gets weight 0.

    Args:
      X: a whole data set, the design matrix WITHOUT a column of ones, shape ``(n, p)``, floating
        (a NumPy array or nested list is accepted). float16 and bfloat16 are computed in float32
        (LAPACK has no half precision) and the params are returned in ``X``'s dtype.
      y: targets, shape ``(n,)`` or ``(n, k)`` for ``k`` outputs fitted at once (cast to ``X``'s dtype).
      ridge: $\lambda \ge 0$ (a Python float or a traced scalar, so it can be vmapped).
      weights: optional non-negative row weights, shape ``(n,)``; a weight of 0 drops the row
        (this is how cross-validation masks folds with equal shapes).
      intercept: fit $b$ (default); if ``False`` then $b = 0$ and nothing is centred.
      rcond: relative cut-off for small singular values of the equilibrated design (default
        ``eps * max(n, p)``, as NumPy).

    Returns:
      ``LinearParams(b, w)`` with ``b`` of shape ``()`` / ``(k,)`` and ``w`` of shape ``(p,)`` / ``(p, k)``.
      Under ``jax.jit`` a negative ``ridge`` or a non-finite ``X`` or ``y`` gives NaN params
      (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: if ``X`` is not 2-D or has no row, ``y`` has a different number of rows, or
        (eagerly) ``ridge < 0`` or ``X`` or ``y`` holds a non-finite value (its index is named).
      TypeError: if ``X`` is not floating, or ``y``, ``ridge`` or ``weights`` is not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (least squares, pseudo-inverse) and Sec. 2.5 (ridge).
      Oracle in tests: ``sklearn.linear_model.LinearRegression`` and ``Ridge``, ``numpy.linalg.lstsq``.
    """
    func = checks.public_name(fit_least_squares)
    guard = value_checks(func, at_least("ridge", ridge), finite("X", X), finite("y", y))
    work = compute_dtype(X.dtype)
    v = None if weights is None else weights.astype(work)
    b, w = _fit(X.astype(work), y.astype(work), v, jnp.asarray(ridge).astype(work), rcond, intercept)
    return guard(LinearParams(b=b.astype(X.dtype), w=w.astype(X.dtype)))


@checks.inputs(params=checks.fields(b="float[*k]", w="float[p *k]"), x="float[*batch p]")
def predict_linear(params: LinearParams, x) -> jax.Array:
    r"""Prediction $\hat y = b + w^\top x$ of the linear model.

    Args:
      params: ``LinearParams(b, w)``.
      x: one example of shape ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      $\hat y$, shape ``(*batch,)`` (or ``(*batch, k)`` for a ``k``-output model).

    Raises:
      ValueError: if ``x``'s last axis is not ``p``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.3.
    """
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


@checks.inputs(x="num[*batch p]")
def polynomial_features(x, degree: int) -> jax.Array:
    r"""Raw monomial features of total degree 1 to ``degree`` (no constant: the intercept is separate).

    For a scalar input this is $(x, x^2, \dots, x^d)$; for $x \in \mathbb{R}^p$ it is every
    product $x_{j_1} x_{j_2}\cdots x_{j_r}$ with $1 \le r \le d$, i.e. R's
    ``polym(..., degree = d, raw = TRUE)`` used by the book, ordered by degree then
    lexicographically: for $p = 2$, $d = 2$: $(x_1, x_2, x_1^2, x_1x_2, x_2^2)$.

    Args:
      x: inputs with features on the last axis, shape ``(*batch, p)`` (use ``x[..., None]`` for
        a scalar feature); it broadcasts over the leading axes.
      degree: maximal total degree $d \ge 0$ (static int); ``0`` gives zero columns.

    Returns:
      Features of shape ``(*batch, M)`` with $M = \binom{p + d}{d} - 1$.

    Raises:
      ValueError: if ``x`` has rank 0 or ``degree`` is not a non-negative int.
      TypeError: if ``x`` is not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (polynomial fit) and Ch. 3, Sec. 3.4 (non-linear decision boundaries).
    """
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 0:
        checks.fail(checks.public_name(polynomial_features), "degree", "a non-negative int", degree)
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


@checks.inputs(X=design, y="num[n]")
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
      X: a whole data set, the design matrix without a column of ones, shape ``(n, p)``, floating.
      y: targets, shape ``(n,)`` (cast to ``X``'s dtype).
      learning_rate: $\alpha > 0$ (a Python float or a traced scalar; a traced non-positive one
        gives NaN under ``jax.jit``).
      num_steps: number of gradient steps (static positive int).
      standardize: run gradient descent on standardised features.
      intercept: fit $b$ (default); if ``False``, $b$ is not updated (stays at its initial value, 0 by default).
      init: optional starting ``LinearParams`` in the coordinates GD uses (default zeros).

    Returns:
      :class:`GDFit` ``(params, loss_history, path)``.

    Raises:
      ValueError: on shape mismatches, ``learning_rate <= 0`` or ``num_steps`` not a positive int.
      TypeError: if ``X`` is not floating or ``y`` is not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.4 (gradient descent, learning rate, standardisation).
      Oracle in tests: the closed form of :func:`fit_least_squares` and a NumPy loop.
    """
    n, p = X.shape
    dtype = X.dtype
    y = y.astype(dtype)
    func = checks.public_name(fit_linear_gd)
    num_steps = static_int(func, "num_steps", num_steps)
    guard = value_checks(func, at_least("learning_rate", learning_rate, strict=True))
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

    theta, (hist, path) = lax.scan(step, theta0, None, length=num_steps)
    hist = jnp.concatenate([hist, loss(theta)[None]])
    path = jnp.concatenate([path, theta[None]], axis=0)
    b, w = theta[0], theta[1:]
    if standardize:
        w = w / sd
        b = b - mu @ w
    return guard(GDFit(LinearParams(b=b, w=w), hist, path))
