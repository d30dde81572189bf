r"""Unsupervised learning (MEDL Sec. 2.6): K-means and PCA against scikit-learn and hand-written JAX.

* ``kmeans``: $T$ Lloyd steps on $n$ points in $\mathbb{R}^p$ with $k$ clusters, all three
  implementations from the same initial centres. ``mathdl`` is ``estimators.kmeans``
  under ``jax.jit`` (one ``lax.while_loop``, ``tol=0``, ``max_iter=T``); ``jax`` is a
  hand-written ``lax.fori_loop`` of exactly $T$ steps; ``sklearn`` is
  ``KMeans(init=centres, n_init=1, max_iter=T, tol=0)`` (Elkan/Lloyd in Cython, threads).
  The points are one unstructured Gaussian blob, on which Lloyd needs far more than $T$
  steps to converge, so every implementation runs the full $T$ steps (on the quick sizes
  it may stop earlier; they are only a smoke test). FLOPs counted: $3nkp$ per step (the
  distance matmul and the centre sums).
* ``pca``: $m$ components of an $n \times p$ matrix: ``mathdl`` is ``estimators.pca``
  under ``jax.jit``; ``jax`` centres and calls ``jnp.linalg.svd`` by hand; ``sklearn`` is
  ``PCA(m, svd_solver="full").fit``. No FLOP count (it depends on the SVD algorithm).
"""

import jax
import jax.numpy as jnp

from mathdl.bench._registry import register_case

# (n, p, k, T) and (n, p, m): quick, full.
_KMEANS = {True: (256, 2, 4, 5), False: (20_000, 16, 8, 20)}
_PCA = {True: (64, 8, 3), False: (5_000, 100, 10)}


def _kmeans_flops(quick: bool) -> float:
    n, p, k, T = _KMEANS[quick]
    return 3.0 * n * k * p * T


@register_case("unsupervised", "kmeans", flops=_kmeans_flops)
def kmeans_case(quick: bool) -> dict:
    """K-means: mathdl's while_loop vs a hand-written fori_loop vs scikit-learn, same start, T steps."""
    import numpy as np

    from mathdl import estimators

    n, p, k, T = _KMEANS[quick]
    kx, kk = jax.random.split(jax.random.key(0))
    X = jax.random.normal(kx, (n, p), jnp.float32)
    init = X[:k]

    f_mathdl = jax.jit(lambda key, X, M: estimators.kmeans(key, X, k, init=M, max_iter=T).centres)

    def lloyd(X, M):
        def step(_, M):
            d = jnp.sum(X * X, 1)[:, None] - 2 * X @ M.T + jnp.sum(M * M, 1)[None, :]
            c = jnp.argmin(d, axis=1)
            sums = jax.ops.segment_sum(X, c, num_segments=k)
            counts = jax.ops.segment_sum(jnp.ones((n,), X.dtype), c, num_segments=k)
            return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], M)

        return jax.lax.fori_loop(0, T, step, M)

    f_jax = jax.jit(lloyd)
    impls = {"mathdl": lambda: f_mathdl(kk, X, init), "jax": lambda: f_jax(X, init)}
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        return impls
    Xn, init_n = np.asarray(X), np.asarray(init)

    def f_sklearn():
        return KMeans(k, init=init_n, n_init=1, max_iter=T, tol=0.0).fit(Xn).cluster_centers_

    impls["sklearn"] = f_sklearn
    return impls


@register_case("unsupervised", "pca")
def pca_case(quick: bool) -> dict:
    """PCA: mathdl's pca vs a hand-written centred SVD vs scikit-learn's PCA (full SVD)."""
    import numpy as np

    from mathdl import estimators

    n, p, m = _PCA[quick]
    X = jax.random.normal(jax.random.key(1), (n, p), jnp.float32) @ jax.random.normal(
        jax.random.key(2), (p, p), jnp.float32
    )

    f_mathdl = jax.jit(lambda X: estimators.pca(X, m))

    def by_hand(X):
        Xc = X - jnp.mean(X, axis=0, keepdims=True)
        _, S, Vt = jnp.linalg.svd(Xc, full_matrices=False)
        return Vt[:m], S[:m] ** 2 / n

    f_jax = jax.jit(by_hand)
    impls = {"mathdl": lambda: f_mathdl(X), "jax": lambda: f_jax(X)}
    try:
        from sklearn.decomposition import PCA
    except ImportError:
        return impls
    Xn = np.asarray(X)
    impls["sklearn"] = lambda: PCA(m, svd_solver="full").fit(Xn).components_
    return impls
