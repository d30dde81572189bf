"""Tests of the NNX transformer modules: they delegate to mathdl.models and batch over leading axes."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mathdl import models, nn
from tests._tolerances import tol
from tests.models._params import normal


def test_encoder_and_decoder_blocks_delegate():
    """Oracle: each module equals its pure function on one example, and on a batch example by example."""
    enc = nn.TransformerEncoderBlock(8, 2, 12, norm="pre", rngs=nnx.Rngs(0))
    dec = nn.TransformerDecoderBlock(8, 2, 12, rngs=nnx.Rngs(1))
    x, z = normal(0, (2, 2, 4, 8)), normal(1, (2, 2, 5, 8))

    @jax.jit
    def run(pe, pd, x, z):  # the modules' calls and the pure functions, in one compiled program
        want_e = models.encoder_block(pe, x[1, 0], norm="pre")
        return enc(x), dec(x, z), want_e, models.decoder_block(pd, x[1, 0], z[1, 0])

    got_e, got_d, want_e, want_d = run(enc.params, dec.params, x, z)
    assert got_e.shape == (2, 2, 4, 8) and got_d.shape == (2, 2, 4, 8)
    np.testing.assert_allclose(got_e[1, 0], want_e, **tol(jnp.float64, composite=True))
    np.testing.assert_allclose(got_d[1, 0], want_d, **tol(jnp.float64, composite=True))


def test_lm_trains_through_to_pure_and_decodes():
    """Transforms: a jitted gradient step through nn.to_pure lowers the loss; .params feeds models.generate."""
    lm = nn.TransformerLM(7, p=8, num_heads=2, num_layers=1, n_hidden=8, max_len=6, rngs=nnx.Rngs(0))
    tokens = jnp.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    got, want = jax.jit(lambda p: (lm(tokens), models.transformer_lm(p, tokens[1])))(lm.params)
    np.testing.assert_allclose(got[1], want, **tol(jnp.float64, composite=True))
    apply, params, state = nn.to_pure(lm)

    def loss(params):
        logits, _ = apply(params, state, tokens[:, :-1])
        return jnp.mean(jax.vmap(models.lm_loss)(logits, tokens[:, 1:]))

    @jax.jit
    def step(params):
        value, g = jax.value_and_grad(loss)(params)
        return jax.tree.map(lambda p, g: p - 0.5 * g, params, g), value

    params1, before = step(params)
    _, after = step(params1)
    assert after < before
    out = jax.jit(lambda p: models.generate(None, p, jnp.array([1]), max_len=6, temperature=0.0))(lm.params)
    assert out.shape == (6,)
