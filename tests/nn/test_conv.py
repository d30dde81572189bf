"""Tests of the NNX convolution, pooling and group-norm modules (mathdl.nn): equal to the pure
functions in mathdl.layers, Flax's nnx.Conv as an oracle, trainable through to_pure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from mathdl import layers, nn
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    """Test data from NumPy: no PRNG program to compile per shape (compiling dominates these tests)."""
    return np.random.default_rng(0)


def _normal(rng, shape):
    return jnp.asarray(rng.normal(size=shape))


def test_conv_modules_equal_pure_functions(rng):
    """Pinned: each module is its layers function on its own parameters, on one example and a batch."""
    X = _normal(rng, (2, 9, 8, 4))
    conv = nn.Conv(4, 6, 3, stride=2, padding=1, groups=2, rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(conv(X[0]), layers.conv2d(conv.params, X[0], stride=2, padding=1, groups=2))
    want = jax.vmap(lambda v: layers.conv2d(conv.params, v, stride=2, padding=1, groups=2))(X)
    np.testing.assert_allclose(conv(X), want, **TOL)
    assert conv(X[None]).shape == (1, 2, 5, 4, 6)  # any leading batch axes
    tr = nn.ConvTranspose(4, 3, 2, stride=2, bias=False, rngs=nnx.Rngs(1))
    assert tr.b is None
    np.testing.assert_allclose(tr(X), jax.vmap(lambda v: layers.conv_transpose2d(tr.params, v, stride=2))(X), **TOL)
    c1 = nn.Conv1d(4, 5, 3, padding="same", rngs=nnx.Rngs(2))
    np.testing.assert_allclose(c1(X[0]), jax.vmap(lambda v: layers.conv1d(c1.params, v, padding="same"))(X[0]), **TOL)


def test_pool_and_group_norm_modules(rng):
    """MaxPool / AvgPool / GlobalAvgPool / GroupNorm equal max_pool / avg_pool / global_avg_pool / group_norm."""
    X = _normal(rng, (3, 6, 6, 4))
    np.testing.assert_allclose(nn.MaxPool(2)(X), jax.vmap(lambda v: layers.max_pool(v, 2))(X), **TOL)
    avg = nn.AvgPool(3, stride=1, padding=1, count_include_pad=False)
    want = jax.vmap(lambda v: layers.avg_pool(v, 3, stride=1, padding=1, count_include_pad=False))(X)
    np.testing.assert_allclose(avg(X), want, **TOL)
    np.testing.assert_allclose(nn.GlobalAvgPool()(X), X.mean(axis=(1, 2)), **TOL)
    gn = nn.GroupNorm(4, 2)
    p = layers.GroupNormParams(gn.gamma[...], gn.beta[...])
    np.testing.assert_allclose(gn(X), jax.vmap(lambda v: layers.group_norm(p, v, num_groups=2))(X), **TOL)


def test_conv_vs_flax_nnx_conv(rng):
    """Oracle: flax.nnx.Conv (HWIO kernel, NHWC input) with the same kernel and bias gives the same output."""
    conv = nn.Conv(3, 5, (3, 2), stride=(2, 1), padding="same", dilation=1, rngs=nnx.Rngs(0))
    conv.b[...] = _normal(rng, (5,))
    ref = nnx.Conv(3, 5, (3, 2), strides=(2, 1), padding="SAME", rngs=nnx.Rngs(0), param_dtype=jnp.float64)
    ref.kernel[...] = conv.W[...]
    ref.bias[...] = conv.b[...]
    X = _normal(rng, (2, 7, 6, 3))
    np.testing.assert_allclose(conv(X), ref(X), **TOL)


def test_trains_through_to_pure(rng):
    """A Conv -> GlobalAvgPool model trained by a jitted pure step through nn.to_pure lowers its loss."""

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.conv = nn.Conv(1, 4, 3, padding=1, rngs=rngs)
            self.pool = nn.GlobalAvgPool()

        def __call__(self, x):
            return self.pool(jax.nn.relu(self.conv(x)))

    net = Net(nnx.Rngs(0))
    X = _normal(rng, (8, 6, 6, 1))
    y = jnp.abs(X).mean(axis=(1, 2, 3))[:, None] * jnp.ones((1, 4))
    apply, params, state = nn.to_pure(net)
    opt = optax.sgd(0.3)  # optax.adam is not strict-dtype-promotion safe (the tests run strict)
    opt_state = opt.init(params)

    def loss(p):
        out, _ = apply(p, state, X)
        return jnp.mean((out - y) ** 2)

    @jax.jit
    def step(p, s):
        value, g = jax.value_and_grad(loss)(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, value

    first = None
    for _ in range(30):
        params, opt_state, value = step(params, opt_state)
        first = value if first is None else first
    assert float(value) < 0.5 * float(first)
