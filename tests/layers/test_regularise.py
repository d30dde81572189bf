"""Tests of dropout and the L1/L2 penalties ([MEDL] Sec. 5.7)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import DenseParams, dropout, l1_penalty, l2_penalty
from tests._oracles import need
from tests._tolerances import tol


def test_dropout_worked_value(getkey):
    """By hand: survivors are x / (1 - rate) exactly; eval mode is the identity; rate 0 is the identity."""
    x = jnp.arange(1.0, 101.0)
    y = dropout(getkey(), x, rate=0.2, train=True)
    kept = np.asarray(y) != 0
    np.testing.assert_allclose(np.asarray(y)[kept], np.asarray(x)[kept] / 0.8, **tol(np.float64))
    np.testing.assert_array_equal(dropout(None, x, rate=0.2, train=False), x)
    np.testing.assert_array_equal(dropout(getkey(), x, rate=0.0, train=True), x)


def test_dropout_statistics_vs_torch(getkey):
    """Oracle (statistical): torch.nn.functional.dropout has the same drop fraction and mean (p = rate)."""
    torch = need("torch")
    n, rate = 200_000, 0.3
    ours = np.asarray(dropout(getkey(), jnp.ones(n), rate=rate, train=True))
    theirs = torch.nn.functional.dropout(torch.ones(n, dtype=torch.float64), p=rate, training=True).numpy()
    se = np.sqrt(rate * (1 - rate) / n)  # binomial standard error of the drop fraction
    for sample in (ours, theirs):
        assert abs(np.mean(sample == 0) - rate) < 5 * se
        assert set(np.unique(sample)) <= {0.0, 1 / 0.7}
    assert abs(ours.mean() - 1.0) < 5 * se / 0.7  # E[y] = x (inverted scaling)


def test_dropout_transforms(transform, getkey):
    """Transforms: jit == eager for the same key; grad = mask / q (analytic); vmap over keys gives different masks."""
    k = getkey()
    k2 = jax.random.clone(k)  # the same key twice on purpose
    x = jax.random.normal(getkey(), (50,))
    f = transform(lambda key, x: dropout(key, x, rate=0.5, train=True))
    y = f(k, x)
    np.testing.assert_array_equal(y, dropout(k2, x, rate=0.5, train=True))
    k3 = getkey()
    k3_again = jax.random.clone(k3)  # the same mask twice on purpose
    g = jax.grad(lambda x: jnp.sum(dropout(k3, x, rate=0.5, train=True)))(x)
    mask = dropout(k3_again, jnp.ones(50), rate=0.5, train=True)  # = m / q, the analytic derivative
    np.testing.assert_allclose(g, mask, **tol(np.float64))
    ys = jax.vmap(lambda key: dropout(key, jnp.ones(64), rate=0.5, train=True))(jax.random.split(getkey(), 3))
    assert not np.array_equal(ys[0], ys[1])
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda x: dropout(jax.random.key(5), x, rate=0.5, train=True)), (x,), order=2)


@given(st.floats(0.0, 0.95))
def test_dropout_unbiased(rate):
    """Property: E[dropout(x)] = x: the average over many masks is within 5 standard errors."""
    n = 20_000
    y = np.asarray(dropout(jax.random.key(1), jnp.full(n, 2.0), rate=rate, train=True))
    se = 2.0 * np.sqrt(rate / (1 - rate) / n) + 1e-12
    assert abs(y.mean() - 2.0) <= 5 * se


def test_dropout_bad_inputs(getkey):
    """Bad inputs: rate outside [0, 1), missing key in train mode, integer x, non-bool train."""
    x = jnp.ones(4)
    with pytest.raises(ValueError, match=r"layers.dropout: argument `rate` expected a value in \[0.0, 1.0\), got 1.0"):
        dropout(getkey(), x, rate=1.0, train=True)
    with pytest.raises(ValueError, match=r"argument `rate` expected a value in \[0.0, 1.0\), got -0.1"):
        dropout(getkey(), x, rate=-0.1, train=True)
    with pytest.raises(ValueError, match=r"argument `rate` expected a value in \[0.0, 1.0\), got nan"):
        dropout(getkey(), x, rate=float("nan"), train=True)
    with pytest.raises(ValueError, match=r"argument `key` expected a PRNG key in train mode, got None"):
        dropout(None, x, rate=0.5, train=True)
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        dropout(getkey(), jnp.ones(4, jnp.int32), rate=0.5, train=True)
    with pytest.raises(TypeError, match=r"argument `train` expected a bool"):
        dropout(getkey(), x, rate=0.5, train=1)
    with pytest.raises(TypeError, match=r"layers.dropout: argument `key` expected a typed PRNG key.*a raw key"):
        dropout(jax.random.PRNGKey(0), x, rate=0.5, train=True)
    with pytest.raises(TypeError, match=r"layers.dropout: argument `key` expected a typed PRNG key"):
        dropout(0, x, rate=0.5, train=True)


def test_dropout_traced_rate_outside_its_range_gives_nan(getkey):
    """A traced rate cannot be checked at trace time: outside [0, 1) the output is NaN, never a finite mask;
    eagerly a concrete array rate raises; lists are accepted as x."""
    f = jax.jit(lambda key, r: dropout(key, jnp.ones(8), rate=r, train=True))
    assert np.all(np.isnan(f(getkey(), 1.5)))
    assert np.all(np.isfinite(f(getkey(), 0.5)))
    with pytest.raises(ValueError, match=r"layers.dropout: argument `rate` expected a value in \[0.0, 1.0\), got -0.5"):
        dropout(getkey(), jnp.ones(8), rate=jnp.array(-0.5), train=True)
    assert dropout(getkey(), [1.0, 2.0], rate=0.5, train=True).shape == (2,)


def test_penalties_worked_and_numpy():
    """By hand: W = [[1, -2]], b = [3]: L1 = 6, L2 = 14; NumPy sum over leaves as oracle."""
    p = (DenseParams(jnp.array([[1.0, -2.0]]), jnp.array([3.0])),)
    np.testing.assert_allclose(l1_penalty(p), 6.0, **tol(np.float64))
    np.testing.assert_allclose(l2_penalty(p), 14.0, **tol(np.float64))
    rng = np.random.default_rng(0)
    tree = {"a": rng.normal(size=(3, 4)), "b": [rng.normal(size=5)]}
    jtree = jax.tree.map(jnp.asarray, tree)
    np.testing.assert_allclose(
        l1_penalty(jtree), np.abs(tree["a"]).sum() + np.abs(tree["b"][0]).sum(), **tol(np.float64)
    )
    np.testing.assert_allclose(l2_penalty(jtree), (tree["a"] ** 2).sum() + (tree["b"][0] ** 2).sum(), **tol(np.float64))


def test_penalties_grad(transform):
    """Transforms: ∇ L2 = 2θ and ∇ L1 = sign(θ) (analytic); jit == eager; check_grads order 2 for L2."""
    theta = {"W": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([-1.0])}
    g2 = jax.grad(transform(l2_penalty))(theta)
    g1 = jax.grad(transform(l1_penalty))(theta)
    for k in theta:
        np.testing.assert_allclose(g2[k], 2 * theta[k], **tol(np.float64))
        np.testing.assert_allclose(g1[k], np.sign(theta[k]), **tol(np.float64))
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(l2_penalty), (theta,), order=2)  # jitted: one compile per derivative


@given(st.floats(-10, 10))
def test_penalties_homogeneity(c):
    """Property: L1(cθ) = |c| L1(θ), L2(cθ) = c² L2(θ); L2 ≤ L1² (norm inequality)."""
    theta = (jnp.array([0.5, -1.5, 2.0]),)
    scaled = (c * theta[0],)
    np.testing.assert_allclose(l1_penalty(scaled), abs(c) * l1_penalty(theta), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(l2_penalty(scaled), c * c * l2_penalty(theta), rtol=1e-12, atol=1e-12)
    assert l2_penalty(theta) <= l1_penalty(theta) ** 2


def test_penalties_bad_inputs():
    """Bad inputs: an empty pytree, an integer leaf; NaN propagates."""
    for f, name in ((l1_penalty, "l1_penalty"), (l2_penalty, "l2_penalty")):
        with pytest.raises(ValueError, match=rf"layers.{name}: argument `params` expected a pytree with at least one"):
            f(())
        with pytest.raises(ValueError, match=r"expected a pytree with at least one array leaf"):
            f({})
        with pytest.raises(TypeError, match=rf"layers.{name}: argument `params` expected a floating-point array"):
            f((jnp.ones(2, jnp.int32),))
        with pytest.raises(TypeError, match=r"expected a floating-point array"):
            f({"a": jnp.ones(2), "b": jnp.array([True])})
        assert np.isnan(f((jnp.array([1.0, jnp.nan]),)))
        assert np.isinf(f((jnp.array([1.0, jnp.inf]),)))
