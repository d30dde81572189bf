"""The convolutional VAE: vae_loss on conv params equals the loss written from conv_encoder, the
reparameterisation and conv_decoder; vae_sample/encode/decode shapes; mismatched networks and images refused."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import generative as G
from mathdl import models
from mathdl.info import gaussian_kl_diag
from tests._tolerances import tol


def _fill(init, seed):
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda sd: jnp.asarray(0.3 * rng.normal(size=sd.shape)), jax.eval_shape(init, jax.random.key(0))
    )


@pytest.fixture(scope="module")
def vae():
    return _fill(lambda k: G.init_conv_vae(k, (8, 8, 1), 3, widths=(2, 3)), 0)


def test_loss_from_its_parts(vae):
    """Oracle: BCE of conv_decoder(mu + sigma eps) summed over the 64 pixels plus beta times the diagonal KL, with
    eps = normal(key, (3,)); the Gaussian likelihood adds 64/2 log(2 pi obs_var)."""
    x = jnp.asarray(np.random.default_rng(1).uniform(size=(8, 8, 1)))
    key = functools.partial(jax.random.key, 2)  # the same key twice: the loss's and the oracle's
    loss = jax.jit(functools.partial(G.vae_loss, likelihood="bernoulli", beta=2.0))
    out = loss(key(), vae, x)
    h = models.conv_encoder(vae.encoder, x)
    mu, lv = h[:3], h[3:]
    z = mu + jnp.exp(0.5 * lv) * jax.random.normal(key(), (3,))
    logits = models.conv_decoder(vae.decoder, z)
    rec = jnp.sum(jax.nn.softplus(logits) - x * logits)
    np.testing.assert_allclose(out.reconstruction, rec, **tol(np.float64, composite=True))
    np.testing.assert_allclose(out.loss, rec + 2.0 * gaussian_kl_diag(mu, lv), **tol(np.float64, composite=True))
    gauss = G.vae_loss(key(), vae, x, obs_var=0.5)
    r = x - models.conv_decoder(vae.decoder, z)
    want = jnp.sum(r * r) + 32 * np.log(np.pi)
    np.testing.assert_allclose(gauss.reconstruction, want, **tol(np.float64, composite=True))
    assert G.vae_sample(jax.random.key(3), vae, likelihood="bernoulli").shape == (8, 8, 1)
    assert G.vae_encode(vae, x)[1].shape == (3,) and G.vae_decode(vae, jnp.zeros(3)).shape == (8, 8, 1)


def test_bad_inputs(vae):
    """Bad input: a batch of images (vmap hint), an image of another size, a conv encoder with an MLP decoder and
    networks of different shapes."""
    with pytest.raises(
        ValueError, match=r"generative.vae_loss: argument `x` expected one image of shape \(8, 8, 1\); "
    ):
        G.vae_loss(jax.random.key(0), vae, jnp.zeros((2, 8, 8, 1)))
    with pytest.raises(
        ValueError, match=r"argument `x` expected one image of shape \(8, 8, 1\), got shape \(4, 4, 1\)"
    ):
        G.vae_encode(vae, jnp.zeros((4, 4, 1)))
    mlp = G.init_vae(jax.random.key(0), 64, 3)
    with pytest.raises(
        TypeError, match="argument `params` expected a ConvEncoderParams encoder with a ConvDecoderParams"
    ):
        G.vae_encode(G.VAEParams(vae.encoder, mlp.decoder), jnp.zeros((8, 8, 1)))
    other = jax.eval_shape(lambda k: G.init_conv_vae(k, (4, 4, 1), 3, widths=(2,)), jax.random.key(0))
    with pytest.raises(ValueError, match=r"expected an encoder \(H, W, C\) -> 2m and a decoder m -> \(H, W, C\)"):
        G.vae_encode(G.VAEParams(vae.encoder, other.decoder), jnp.zeros((8, 8, 1)))
