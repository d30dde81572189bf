"""Sliced Wasserstein distance and MMD: worked values, SciPy / NumPy-loop oracles, properties."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.test_util import check_grads

from mathdl.metrics import mmd, sliced_wasserstein


def test_sliced_wasserstein_worked_value():
    X, Y = jnp.array([[0.0], [1.0]]), jnp.array([[2.0], [1.0]])  # sorted: (0, 1) against (1, 2): every gap is 1
    for p in (1, 2, 3):
        np.testing.assert_allclose(sliced_wasserstein(jax.random.key(p), X, Y, num_projections=4, p=p), 1.0)


def test_sliced_wasserstein_is_w1_in_one_dimension():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.exponential(size=30)
    got = sliced_wasserstein(
        jax.random.key(0), jnp.asarray(x[:, None]), jnp.asarray(y[:, None]), num_projections=3, p=1
    )
    np.testing.assert_allclose(got, scipy.stats.wasserstein_distance(x, y), rtol=1e-12)
    got2 = sliced_wasserstein(jax.random.key(1), jnp.asarray(x[:, None]), jnp.asarray(y[:, None]), num_projections=3)
    np.testing.assert_allclose(got2, np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2)), rtol=1e-12)


def test_sliced_wasserstein_properties():
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.normal(size=(40, 3)))
    c = jnp.array([[1.0, -2.0, 2.0]])
    assert sliced_wasserstein(jax.random.key(0), X, X) == 0.0
    perm = jnp.asarray(rng.permutation(40))
    sw = jax.jit(lambda k, A, B: sliced_wasserstein(k, A, B, num_projections=2000))
    a, b = sw(jax.random.key(2), X, X + c), sw(jax.random.key(2), (X + c)[perm], X)
    np.testing.assert_allclose(a, b, rtol=1e-12)  # symmetric and blind to the order of the rows
    # a shift by c: each slice moves by theta.c, and E (theta.c)^2 = |c|^2 / d on the sphere
    np.testing.assert_allclose(a, float(jnp.linalg.norm(c)) / math.sqrt(3), rtol=0.05)


def _mmd_loop(X, Y, h, biased):
    k = lambda a, b: math.exp(-np.sum((a - b) ** 2) / (2 * h * h))  # noqa: E731
    n, m = len(X), len(Y)
    if biased:
        sxx = sum(k(a, b) for a in X for b in X) / n**2
        syy = sum(k(a, b) for a in Y for b in Y) / m**2
    else:
        sxx = sum(k(X[i], X[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        syy = sum(k(Y[i], Y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    return sxx + syy - 2 * sum(k(a, b) for a in X for b in Y) / (n * m)


def test_mmd_worked_value_and_oracle():
    np.testing.assert_allclose(
        mmd(jnp.zeros((1, 1)), jnp.ones((1, 1)), biased=True), 2 - 2 * math.exp(-0.5), rtol=1e-12
    )
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(7, 2)), rng.normal(0.5, 1.0, size=(5, 2))
    for biased in (False, True):
        got = mmd(jnp.asarray(X), jnp.asarray(Y), bandwidth=0.8, biased=biased)
        np.testing.assert_allclose(got, _mmd_loop(X, Y, 0.8, biased), rtol=1e-10)


def test_mmd_properties_and_grads():
    rng = np.random.default_rng(3)
    X = jnp.asarray(rng.normal(size=(6, 2)))
    np.testing.assert_allclose(mmd(X, X, biased=True), 0.0, atol=1e-14)
    np.testing.assert_allclose(jax.jit(mmd)(X, X + 1.0), mmd(X, X + 1.0), rtol=1e-12)
    assert mmd(X, X + 3.0, biased=True) > mmd(X, X + 0.5, biased=True) > 0
    Y = X[:3] + 0.3

    def both(A):  # one order-2 check of the two metrics
        return mmd(A, Y) + sliced_wasserstein(jax.random.key(4), A, Y, num_projections=3)

    check_grads(both, (X[:3],), order=2, modes=("rev",))


def test_bad_inputs():
    X = jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="Y"):
        sliced_wasserstein(jax.random.key(0), X, jnp.zeros((5, 2)))
    with pytest.raises(ValueError, match="num_projections"):
        sliced_wasserstein(jax.random.key(0), X, X, num_projections=0)
    with pytest.raises(ValueError, match="p"):
        sliced_wasserstein(jax.random.key(0), X, X, p=0.5)
    with pytest.raises(TypeError, match="Y"):
        mmd(X, X.astype(jnp.float32))
    with pytest.raises(ValueError, match="Y"):
        mmd(X, jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="bandwidth"):
        mmd(X, X, bandwidth=0.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd(X, jnp.zeros((1, 2)))
