"""Tests for PCA and the low-rank SVD approximation (mathdl.estimators._pca)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import data, estimators
from tests._tolerances import tol


def test_pca_worked_value():
    """Worked value by hand: X = (2,2), (-2,-2), (1,-1), (-1,1) has mean 0.

    Along (1,1)/sqrt2 the scores are +-2 sqrt2, 0, 0: variance (8+8)/4 = 4; along (1,-1)/sqrt2: +-sqrt2, variance 1.
    """
    X = jnp.array([[2.0, 2.0], [-2.0, -2.0], [1.0, -1.0], [-1.0, 1.0]])
    r = estimators.pca(X, 2)
    np.testing.assert_allclose(np.asarray(r.mean), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.asarray(r.explained_variance), [4.0, 1.0], **tol(np.float64, composite=True))
    np.testing.assert_allclose(np.asarray(r.explained_variance_ratio), [0.8, 0.2], **tol(np.float64, composite=True))
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(np.abs(np.asarray(r.components)), [[s, s], [s, s]], **tol(np.float64, composite=True))
    np.testing.assert_allclose(np.abs(np.asarray(r.scores[:, 0])), [2 * np.sqrt(2)] * 2 + [0, 0], atol=1e-12)


def test_pca_matches_sklearn_on_breast_cancer():
    """Oracle (issue 3): sklearn PCA on breast cancer: components up to sign, explained variance to 1e-6 (float64)."""
    from sklearn.decomposition import PCA

    X = data.load("breast_cancer").X.astype(np.float64)
    ref = PCA(n_components=5, svd_solver="full").fit(X)
    ours = estimators.pca(jnp.asarray(X), 5, ddof=1)  # ddof=1: sklearn divides by n - 1
    signs = np.sign(np.sum(np.asarray(ours.components) * ref.components_, axis=1))
    np.testing.assert_allclose(np.asarray(ours.components) * signs[:, None], ref.components_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(ours.explained_variance), ref.explained_variance_, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.explained_variance_ratio), ref.explained_variance_ratio_, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.singular_values), ref.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.scores) * signs[None, :], ref.transform(X), rtol=1e-6, atol=1e-6)
    book = estimators.pca(jnp.asarray(X), 5)  # ddof=0, the book's 1/n
    np.testing.assert_allclose(
        np.asarray(book.explained_variance) * len(X) / (len(X) - 1), ref.explained_variance_, rtol=1e-6
    )


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 4))
def test_pca_properties(seed, m):
    """Properties: orthonormal components; scores = transform(X); full-rank reconstruct is exact; ratios sum <= 1."""
    rng = np.random.default_rng(seed)
    X = jnp.asarray(rng.normal(size=(12, 4)) @ rng.normal(size=(4, 4)) + 3.0)
    r = estimators.pca(X, m)
    V = np.asarray(r.components)
    np.testing.assert_allclose(V @ V.T, np.eye(m), atol=1e-12)
    np.testing.assert_allclose(np.asarray(estimators.pca_transform(r, X)), np.asarray(r.scores), atol=1e-10)
    assert float(jnp.sum(r.explained_variance_ratio)) <= 1 + 1e-12
    assert np.all(np.diff(np.asarray(r.explained_variance)) <= 1e-12)
    full = estimators.pca(X, 4)
    np.testing.assert_allclose(np.asarray(estimators.pca_reconstruct(full, full.scores)), np.asarray(X), atol=1e-10)
    assert float(jnp.sum(full.explained_variance_ratio)) == pytest.approx(1.0, abs=1e-12)


def test_pca_transforms(getkey):
    """Transforms: jit == eager; vmap of transform/reconstruct over examples == batch; check_grads order 2."""
    X = jax.random.normal(getkey(), (10, 3))
    r = estimators.pca(X, 2)
    rj = jax.jit(estimators.pca, static_argnums=1)(X, 2)
    for a, b in zip(r, rj, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol(np.float64, composite=True))
    Z = estimators.pca_transform(r, X)
    np.testing.assert_allclose(
        np.asarray(jax.vmap(estimators.pca_transform, (None, 0))(r, X)), np.asarray(Z), **tol(np.float64)
    )
    np.testing.assert_allclose(
        np.asarray(jax.vmap(estimators.pca_reconstruct, (None, 0))(r, Z)),
        np.asarray(estimators.pca_reconstruct(r, Z)),
        **tol(np.float64),
    )
    check_grads(lambda X: estimators.pca_transform(r, X), (X,), order=2)
    check_grads(lambda X: estimators.pca(X, 2).explained_variance, (X,), order=2, modes=["rev"])


def test_total_variance_gradient_is_analytic(getkey):
    """Transforms: with m = p, sum of explained variance = ||X_c||^2 / n, whose gradient is 2 X_c / n (analytic)."""
    X = jax.random.normal(getkey(), (7, 3))
    g = jax.grad(lambda X: jnp.sum(estimators.pca(X, 3).explained_variance))(X)
    Xc = X - X.mean(0, keepdims=True)
    np.testing.assert_allclose(np.asarray(g), np.asarray(2 * Xc / 7), **tol(np.float64, composite=True))


def test_pca_constant_data_gives_nan_ratio():
    """Value problem: all rows equal -> total variance 0, ratios 0/0 = NaN; variances 0 and scores 0."""
    r = estimators.pca(jnp.ones((5, 3)), 2)
    assert np.all(np.isnan(np.asarray(r.explained_variance_ratio)))
    np.testing.assert_array_equal(np.asarray(r.explained_variance), 0.0)
    np.testing.assert_array_equal(np.asarray(r.scores), 0.0)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_is_factorised_in_float32(dtype):
    """Half precision: factorised in float32 (LAPACK has none; it raised NotImplementedError), returned in the
    input dtype. Oracle: the float32 PCA of the same rounded data, to the half dtype's resolution."""
    X = jnp.asarray(np.random.default_rng(3).normal(size=(20, 4)), dtype)
    r = estimators.pca(X, 2)
    assert all(leaf.dtype == dtype for leaf in r)
    ref = estimators.pca(X.astype(jnp.float32), 2)
    res = float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(r.explained_variance, np.float32), ref.explained_variance, rtol=4 * res)
    a = estimators.svd_approximation(X, 2)
    assert a.approximation.dtype == dtype


def test_nan_and_lists(transform):
    """A NaN in X: eagerly ValueError naming the index, NaN under jit (checked mode raises); lists are accepted."""
    X = np.random.default_rng(4).normal(size=(6, 3))
    np.testing.assert_allclose(
        estimators.pca(X.tolist(), 2).explained_variance, estimators.pca(X, 2).explained_variance
    )
    X[2, 1] = np.nan
    f = transform(lambda X: estimators.pca(X, 2).explained_variance)
    if transform is jax.jit:
        assert np.all(np.isnan(np.asarray(f(X))))
    else:
        with pytest.raises(
            ValueError, match=r"estimators.pca: argument `X` expected finite values, got nan at index \(2, 1\)"
        ):
            f(X)


def test_svd_approximation_worked_value():
    """Worked value: diag(3, 2, 1) at rank 1: X_1 = diag(3,0,0), error (4+1)/14, storage 1*(1+3+3) = 7."""
    X = jnp.diag(jnp.array([3.0, 2.0, 1.0]))
    a = estimators.svd_approximation(X, 1)
    np.testing.assert_allclose(np.asarray(a.approximation), np.diag([3.0, 0.0, 0.0]), atol=1e-14)
    np.testing.assert_allclose(float(a.relative_error), 5 / 14, rtol=1e-14)
    assert a.storage == 7


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 5))
def test_eckart_young(seed, m):
    """Eckart-Young (oracle: NumPy SVD, random rank-m competitors): ||X - X_m||_F^2 = sum_{i>m} s_i^2, and minimal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(8, 6))
    a = estimators.svd_approximation(jnp.asarray(X), m)
    s = np.linalg.svd(X, compute_uv=False)
    err = np.sum((X - np.asarray(a.approximation)) ** 2)
    np.testing.assert_allclose(err, np.sum(s[m:] ** 2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(float(a.relative_error), np.sum(s[m:] ** 2) / np.sum(s**2), rtol=1e-10, atol=1e-14)
    assert np.linalg.matrix_rank(np.asarray(a.approximation), tol=1e-8) == m
    for _ in range(5):  # random rank-m matrices, including a perturbation of the optimum, are never closer
        B = rng.normal(size=(8, m)) @ rng.normal(size=(m, 6))
        assert np.sum((X - B) ** 2) >= err - 1e-10
        Up = np.asarray(a.U) + 1e-3 * rng.normal(size=(8, m))
        assert np.sum((X - Up @ np.diag(np.asarray(a.S)) @ np.asarray(a.Vt)) ** 2) >= err - 1e-10


def test_svd_transforms_and_zero_matrix(getkey):
    """Transforms: jit == eager; vmap over a stack == loop; check_grads. Edge: the zero matrix has error 0 (exact)."""
    Xs = jax.random.normal(getkey(), (3, 5, 4))
    f = lambda X: estimators.svd_approximation(X, 2).approximation  # noqa: E731
    loop = np.stack([np.asarray(f(X)) for X in Xs])
    np.testing.assert_allclose(np.asarray(jax.vmap(f)(Xs)), loop, **tol(np.float64, composite=True))
    np.testing.assert_allclose(np.asarray(jax.jit(f)(Xs[0])), loop[0], **tol(np.float64, composite=True))
    # distinct singular values (3, 2, 1 after a rotation): the SVD is differentiable there
    Q = jnp.linalg.qr(Xs[0])[0]
    A = Q[:, :3] @ jnp.diag(jnp.array([3.0, 2.0, 1.0])) @ jnp.linalg.qr(Xs[1][:3, :3])[0]
    check_grads(lambda A: estimators.svd_approximation(A, 2).approximation, (A,), order=1, modes=["rev"])
    z = estimators.svd_approximation(jnp.zeros((3, 4)), 2)
    assert float(z.relative_error) == 0.0
    np.testing.assert_array_equal(np.asarray(z.approximation), 0.0)
    assert estimators.svd_approximation(jnp.zeros((3, 4)), 3).storage == 3 * 8


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: estimators.pca(jnp.ones((4, 3)), 4),
            ValueError,
            r"estimators.pca: argument `m` expected a rank in \[1, min\(n, p\)\] = \[1, 3\], got 4",
        ),
        (lambda: estimators.pca(jnp.ones((4, 3)), 0), ValueError, r"argument `m` expected a rank in"),
        (
            lambda: estimators.pca(jnp.ones((4, 3)), 2.0),
            TypeError,
            r"argument `m` expected a static Python int, got float",
        ),
        (
            lambda: estimators.pca(jnp.ones((4, 3), jnp.int32), 2),
            TypeError,
            r"argument `X` expected a floating-point array",
        ),
        (lambda: estimators.pca(jnp.ones(4), 1), ValueError, r"argument `X` expected rank 2"),
        (
            lambda: estimators.pca(jnp.ones((4, 3)), 2, ddof=2),
            ValueError,
            r"argument `ddof` expected one of \[0, 1\], got 2",
        ),
        (
            lambda: estimators.pca(jnp.ones((1, 3)), 1, ddof=1),
            ValueError,
            r"argument `X` expected at least 2 rows for ddof=1",
        ),
        (
            lambda: estimators.pca_transform(estimators.pca(jnp.eye(3), 2), jnp.ones((2, 4))),
            ValueError,
            r"estimators.pca_transform: argument `X` expected shape \(2, 3\), got shape \(2, 4\)",
        ),
        (
            lambda: estimators.pca_reconstruct(estimators.pca(jnp.eye(3), 2), jnp.ones(3)),
            ValueError,
            r"estimators.pca_reconstruct: argument `Z` expected shape \(2,\), got shape \(3,\)",
        ),
        (
            lambda: estimators.svd_approximation(jnp.ones((2, 5)), 3),
            ValueError,
            r"estimators.svd_approximation: argument `m` expected a rank in \[1, min\(n, p\)\] = \[1, 2\], got 3",
        ),
        (lambda: estimators.svd_approximation(jnp.ones((2, 5, 3)), 1), ValueError, r"argument `X` expected rank 2"),
    ],
)
def test_bad_input(call, exc, match):
    """Bad input: out-of-range rank m, wrong dtype/rank, bad ddof, mismatched feature counts."""
    with pytest.raises(exc, match=match):
        call()
