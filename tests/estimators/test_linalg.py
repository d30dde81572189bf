"""The vmap-safe SVD and batching rule of the estimators (mathdl.estimators._linalg)."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mathdl import estimators, metrics
from mathdl.estimators._linalg import svd
from tests._tolerances import tol


def _lapack_batch_dims(f, *args) -> list[int]:
    """The batch rank of every LAPACK custom call in the lowered program of ``f``."""
    text = jax.jit(f).lower(*args).as_text()
    return [int(m) for m in re.findall(r'lapack_\w+_ffi.*?num_batch_dims = "(\d+)"', text)]


def test_vmapped_fits_lower_to_single_factorisations():
    """No batched LAPACK call on CPU: vmapped least squares (folds as row weights), cv_ridge over a grid and a
    vmapped PCA lower to one-matrix LAPACK calls in a loop. A batched kernel (num_batch_dims = 1) is what
    stalled the 2-core thread pool (benchmarks/README.md, "Known problem")."""
    X = jax.random.normal(jax.random.key(0), (40, 3))
    y = X @ jnp.ones(3)
    W = (jnp.arange(40)[None, :] % 4 != jnp.arange(4)[:, None]).astype(X.dtype)
    fits = jax.vmap(lambda w: estimators.fit_least_squares(X, y, weights=w, ridge=0.1).w)
    dims = _lapack_batch_dims(fits, W)
    assert dims and all(d == 0 for d in dims)
    cv = lambda lam: metrics.cv_ridge(jax.random.key(1), X, y, lam, k=4).test_error  # noqa: E731
    assert all(d == 0 for d in _lapack_batch_dims(cv, jnp.array([0.1, 1.0])))
    pcas = jax.vmap(lambda X: estimators.pca(X, 2).components)
    assert all(d == 0 for d in _lapack_batch_dims(pcas, jnp.stack([X, 2 * X])))
    np.testing.assert_allclose(
        fits(W)[1], estimators.fit_least_squares(X, y, weights=W[1], ridge=0.1).w, **tol(np.float64)
    )


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 4)])
def test_svd_matches_jnp_and_its_derivatives(shape, transform):
    """Oracle: jnp.linalg.svd (values and sign-invariant functions' gradients); check_grads to order 2; vmap == loop."""
    A = jax.random.normal(jax.random.key(2), (3, *shape))

    def f(a, fac):
        U, s, Vt = fac(a)
        return jnp.sum(s**3) + jnp.sum((U * s[None, :]) @ Vt * a) + jnp.sum((U @ U.T) ** 2)

    ours = transform(lambda a: f(a, svd))
    ref = lambda a: f(a, lambda a: jnp.linalg.svd(a, full_matrices=False))  # noqa: E731
    np.testing.assert_allclose(ours(A[0]), ref(A[0]), **tol(np.float64, composite=True))
    np.testing.assert_allclose(jax.grad(ours)(A[0]), jax.grad(ref)(A[0]), **tol(np.float64, composite=True))
    np.testing.assert_allclose(jax.vmap(ours)(A), np.stack([ref(a) for a in A]), **tol(np.float64, composite=True))
    if transform is jax.jit and shape == (6, 3):  # once (pca's tests check_grads through it too); jitted
        check_grads(jax.jit(lambda a: f(a, svd)), (A[0],), order=2)
