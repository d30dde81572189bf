"""Tests of the NNX attention modules (mathdl.nn): equal to the pure functions in mathdl.layers on one
sequence and on a batch, Flax's nnx.MultiHeadAttention as an oracle, trainable through to_pure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from mathdl import layers, nn
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _normal(rng, *shape):
    return jnp.asarray(rng.normal(size=shape))


def test_modules_equal_pure_functions(rng):
    """Pinned: each module is its layers function on its own parameters, one sequence and a batch."""
    X, Z = _normal(rng, 2, 4, 6), _normal(rng, 2, 5, 6)
    mha = nn.MultiHeadAttention(6, 3, bias=True, dtype=jnp.float64, rngs=nnx.Rngs(0))
    add = nn.AdditiveAttention(6, 6, 3, dtype=jnp.float64, rngs=nnx.Rngs(1))
    pos = nn.LearnedPositions(6, 8, 5, p_out=3, dtype=jnp.float64, rngs=nnx.Rngs(2))
    mask = layers.causal_mask(4, 5, offset=1)

    @jax.jit
    def pairs(X, Z):
        mods = [
            mha(X[0], is_causal=True),
            mha(X, Z, mask=mask),
            mha(X[None])[0],
            add(X, Z, Z),
            pos(X)[1],
        ]
        pure = [
            layers.multi_head_attention(mha.params, X[0], is_causal=True),
            jax.vmap(lambda a, b: layers.multi_head_attention(mha.params, a, b, mask=mask))(X, Z),
            jax.vmap(lambda a: layers.multi_head_attention(mha.params, a))(X),
            jax.vmap(lambda a, b: layers.additive_attention(add.params, a, b, b))(X, Z),
            layers.learned_positions(pos.params, X[1]),
        ]
        return mods, pure

    for got, want in zip(*pairs(X, Z), strict=True):
        np.testing.assert_allclose(got, want, **TOL)


def test_multi_head_against_flax_nnx(rng):
    """Flax's nnx.MultiHeadAttention with the same weights: kernels (p, H, m) and (H, m_v, p) are ours transposed."""
    p, H, T = 6, 2, 5
    ours = nn.MultiHeadAttention(p, H, bias=True, dtype=jnp.float64, rngs=nnx.Rngs(0))
    theirs = nnx.MultiHeadAttention(H, p, param_dtype=jnp.float64, decode=False, rngs=nnx.Rngs(1))
    P = ours.params
    for lin, W, b in ((theirs.query, P.W_q, P.b_q), (theirs.key, P.W_k, P.b_k), (theirs.value, P.W_v, P.b_v)):
        lin.kernel[...] = jnp.transpose(W, (2, 0, 1))  # (p, H, m)
        lin.bias[...] = b + _normal(rng, *b.shape)
    theirs.out.kernel[...] = jnp.transpose(P.W_c, (0, 2, 1))  # (H, m_v, p)
    theirs.out.bias[...] = P.b_c
    ours.b_q[...], ours.b_k[...], ours.b_v[...] = theirs.query.bias[...], theirs.key.bias[...], theirs.value.bias[...]
    x = _normal(rng, 2, T, p)
    with jax.numpy_dtype_promotion("standard"):  # Flax's attention mixes float64 with a float32 softmax
        want = theirs(x)
    # Flax runs its softmax in float32 (jax.nn.dot_product_attention), so agreement is to float32
    np.testing.assert_allclose(jax.jit(lambda x: ours(x))(x), want, rtol=2e-6, atol=2e-6)


def test_trains_through_to_pure(rng):
    """One gradient step through nn.to_pure lowers a squared error (the parameters are trainable)."""
    mha = nn.MultiHeadAttention(4, 2, dtype=jnp.float64, rngs=nnx.Rngs(0))
    apply, params, state = nn.to_pure(mha)
    x, y = _normal(rng, 3, 5, 4), _normal(rng, 3, 5, 4)

    def loss(params):
        out, _ = apply(params, state, x)
        return jnp.mean((out - y) ** 2)

    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    stepped = jax.tree.map(lambda a, g: a - 0.1 * g, params, grads)
    assert float(jax.jit(loss)(stepped)) < float(value)
