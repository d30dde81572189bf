r"""Principal component analysis and low-rank approximation, both from the SVD.

PCA: with the centred data $X_c = X - \mathbf{1}\mu^\top = U \Sigma V^\top$ (thin SVD), the
principal directions are the columns of $V$, the scores are $Z = X_c V_m = U_m \Sigma_m$
and the reconstruction is $\hat{X} = Z V_m^\top + \mathbf{1}\mu^\top$.
Low-rank approximation: $X_m = U_m \Sigma_m V_m^\top$ is the best rank-$m$ approximation in
the Frobenius norm (Eckart-Young), with squared error $\sum_{i>m} \sigma_i^2$.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text
from mathdl.estimators._common import compute_dtype, finite, value_checks
from mathdl.estimators._linalg import svd

__all__ = ["LowRankApproximation", "PCAResult", "pca", "pca_reconstruct", "pca_transform", "svd_approximation"]


class PCAResult(NamedTuple):
    r"""The outcome of :func:`pca`.

    Attributes:
      components: the principal directions $v_1, \dots, v_m$ as rows ($V_m^\top$), shape ``(m, p)``.
      mean: $\mu$, the column means, shape ``(p,)``.
      explained_variance: $\sigma_j^2 / (n - \text{ddof})$, shape ``(m,)``, decreasing.
      explained_variance_ratio: $\sigma_j^2 / \sum_i \sigma_i^2$, shape ``(m,)``.
      singular_values: $\sigma_1 \ge \dots \ge \sigma_m$, shape ``(m,)``.
      scores: $Z = X_c V_m$, shape ``(n, m)``.
    """

    components: jax.Array
    mean: jax.Array
    explained_variance: jax.Array
    explained_variance_ratio: jax.Array
    singular_values: jax.Array
    scores: jax.Array


class LowRankApproximation(NamedTuple):
    r"""The outcome of :func:`svd_approximation`.

    Attributes:
      approximation: $X_m = U_m \Sigma_m V_m^\top$, shape ``(h, w)``.
      relative_error: $\sum_{i>m} \sigma_i^2 / \sum_i \sigma_i^2
        = \lVert X - X_m \rVert_F^2 / \lVert X \rVert_F^2$, scalar.
      storage: numbers needed to store $U_m, \Sigma_m, V_m$: $m(1 + h + w)$ (a Python int).
      U: $U_m$, shape ``(h, m)``.
      S: $\sigma_1, \dots, \sigma_m$, shape ``(m,)``.
      Vt: $V_m^\top$, shape ``(m, w)``.
    """

    approximation: jax.Array
    relative_error: jax.Array
    storage: int
    U: jax.Array
    S: jax.Array
    Vt: jax.Array


def _check_m(func: str, X, m) -> int:
    if isinstance(m, bool) or not isinstance(m, int | np.integer):
        checks.fail(func, "m", "a static Python int", Text(type(m).__name__), exc=TypeError)
    r = min(X.shape)
    if not 1 <= m <= r:
        checks.fail(func, "m", f"a rank in [1, min(n, p)] = [1, {r}]", int(m))
    return int(m)


def _svd(X):
    # float16/bfloat16 have no LAPACK kernel: factorise in float32, return the input dtype.
    U, S, Vt = svd(X.astype(compute_dtype(X.dtype)))
    return U.astype(X.dtype), S.astype(X.dtype), Vt.astype(X.dtype)


def _flip(U, Vt):
    """Deterministic signs: the largest-magnitude entry of each row of V^T is positive (as scikit-learn)."""
    j = jnp.argmax(jnp.abs(Vt), axis=1)
    s = jnp.sign(Vt[jnp.arange(Vt.shape[0]), j])
    s = jnp.where(s == 0, jnp.ones_like(s), s)
    return U * s[None, :], Vt * s[:, None]


@checks.inputs(X="float[n p]")
def pca(X, m: int, *, ddof: int = 0) -> PCAResult:
    r"""Principal component analysis of ``X`` by the SVD of the centred data.

    $X_c = X - \mathbf{1}\mu^\top = U\Sigma V^\top$; the first $m$ right singular vectors are
    the components, $Z = X_c V_m$ the scores, $\sigma_j^2/(n - \text{ddof})$ the variance
    along component $j$ and $\sigma_j^2/\sum_i\sigma_i^2$ its share. The book uses the
    biased variance (``ddof=0``); scikit-learn's ``PCA.explained_variance_`` uses
    ``ddof=1`` (the ratios do not depend on it). Signs are fixed so that the
    largest-magnitude entry of each component is positive.

    Args:
      X: a whole data set, shape ``(n, p)``, floating. float16 and bfloat16 are factorised in
        float32 (LAPACK has no half precision) and the result is returned in ``X``'s dtype.
      m: number of components (static), $1 \le m \le \min(n, p)$.
      ddof: 0 (divide by $n$, default) or 1 (divide by $n - 1$).

    Returns:
      A :class:`PCAResult`. When all rows are equal the total variance is 0 and the ratios
      are 0/0, returned as NaN. Under ``jax.jit`` a non-finite ``X`` gives NaN everywhere
      (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: if ``X`` is not rank 2, ``m`` is out of range, ``ddof`` is not 0 or 1,
        $n - \text{ddof} < 1$, or (eagerly) ``X`` holds a non-finite value.
      TypeError: if ``X`` is not floating or ``m`` is not an int.

    References:
      [MEDL] Ch. 2, Sec. 2.6 (PCA via the SVD); oracle: ``sklearn.decomposition.PCA``.
    """
    func = checks.public_name(pca)
    m = _check_m(func, X, m)
    checks.check_choice(func, "ddof", ddof, (0, 1))
    n = X.shape[0]
    if n - ddof < 1:
        checks.fail(func, "X", f"at least {ddof + 1} rows for ddof={ddof}", Text(f"shape {X.shape}"))
    guard = value_checks(func, finite("X", X))
    mu = jnp.mean(X, axis=0)
    Xc = X - jnp.broadcast_to(mu, X.shape)
    U, S, Vt = _svd(Xc)
    U, Vt = _flip(U, Vt)
    total = jnp.sum(jnp.square(S))
    ratio = jnp.where(total > 0, jnp.square(S) / jnp.where(total > 0, total, 1.0), jnp.nan)  # 0/0 -> NaN
    out = PCAResult(
        components=Vt[:m],
        mean=mu,
        explained_variance=jnp.square(S[:m]) / (n - ddof),
        explained_variance_ratio=ratio[:m],
        singular_values=S[:m],
        scores=U[:, :m] * jnp.broadcast_to(S[:m], (n, m)),
    )
    return guard(out)


@checks.inputs(result=checks.fields(components="float[m p]", mean="float[p]"), X="float[*batch p]")
def pca_transform(result: PCAResult, X) -> jax.Array:
    r"""Scores of new data on fitted components: $z = V_m^\top (x - \mu)$.

    Args:
      result: from :func:`pca`.
      X: one example ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      Scores of shape ``(*batch, m)``.

    Raises:
      ValueError: if the last axis of ``X`` is not $p$.
      TypeError: if ``X`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.6.
    """
    return (X - jnp.broadcast_to(result.mean, X.shape)) @ result.components.T


@checks.inputs(result=checks.fields(components="float[m p]", mean="float[p]"), Z="float[*batch m]")
def pca_reconstruct(result: PCAResult, Z) -> jax.Array:
    r"""Map scores back to data space: $\hat{x} = V_m z + \mu$.

    Args:
      result: from :func:`pca`.
      Z: scores, one ``(m,)`` or a batch ``(*batch, m)`` (it broadcasts over leading axes).

    Returns:
      Reconstruction of shape ``(*batch, p)``.

    Raises:
      ValueError: if the last axis of ``Z`` is not $m$.
      TypeError: if ``Z`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.6.
    """
    Xhat = Z @ result.components
    return Xhat + jnp.broadcast_to(result.mean, Xhat.shape)


@checks.inputs(X="float[h w]")
def svd_approximation(X, m: int) -> LowRankApproximation:
    r"""Best rank-$m$ approximation $X_m = U_m \Sigma_m V_m^\top$ of an ``(h, w)`` matrix.

    By Eckart-Young, no matrix of rank $\le m$ is closer to $X$ in the Frobenius norm, and
    $\lVert X - X_m \rVert_F^2 = \sum_{i>m} \sigma_i^2$. The relative error is
    $\sum_{i>m}\sigma_i^2 / \sum_i \sigma_i^2$ (0 for the zero matrix, which is exact);
    storing $U_m$, $\Sigma_m$ and $V_m$ takes $m(1 + h + w)$ numbers instead of $hw$.

    Args:
      X: one matrix, e.g. a grey-scale image, shape ``(h, w)``, floating (float16/bfloat16 are
        factorised in float32 and returned in ``X``'s dtype).
      m: rank (static), $1 \le m \le \min(h, w)$.

    Returns:
      A :class:`LowRankApproximation`; NaN under ``jax.jit`` when ``X`` is not finite.

    Raises:
      ValueError: if ``X`` is not rank 2, ``m`` is out of range, or (eagerly) ``X`` is not finite.
      TypeError: if ``X`` is not floating or ``m`` is not an int.

    References:
      [MEDL] Ch. 2, Sec. 2.6 (SVD compression); Eckart & Young (1936).
    """
    func = checks.public_name(svd_approximation)
    m = _check_m(func, X, m)
    h, w = X.shape
    guard = value_checks(func, finite("X", X))
    U, S, Vt = _svd(X)
    U, Vt = _flip(U, Vt)
    S2 = jnp.square(S)
    total = jnp.sum(S2)
    rest = jnp.sum(S2[m:])
    rel = jnp.where(total > 0, rest / jnp.where(total > 0, total, 1.0), jnp.zeros_like(total))  # 0 matrix: exact
    U_m, S_m, Vt_m = U[:, :m], S[:m], Vt[:m]
    approx = (U_m * jnp.broadcast_to(S_m, U_m.shape)) @ Vt_m
    return guard(LowRankApproximation(approx, rel, m * (1 + h + w), U_m, S_m, Vt_m))
