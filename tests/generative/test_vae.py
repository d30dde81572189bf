"""The VAE loss: worked values, a NumPy + distrax oracle, the reparameterisation, extreme log-variances."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from jax.test_util import check_grads

from mathdl.generative import VAEParams, init_vae, reparameterize, vae_encode, vae_loss, vae_sample
from mathdl.layers import DenseParams


def _hand_params():
    # p = 2, m = 1, no hidden layer: encoder outputs (mu, log_var) = (0.5, 0), decoder outputs (0.2, -0.1)
    enc = (DenseParams(jnp.zeros((2, 2)), jnp.array([0.5, 0.0])),)
    dec = (DenseParams(jnp.zeros((2, 1)), jnp.array([0.2, -0.1])),)
    return VAEParams(enc, dec)


def test_worked_values():
    params, x = _hand_params(), jnp.array([1.0, 0.0])
    out = vae_loss(jax.random.key(0), params, x, beta=2.0)
    # 1/2 (0.8^2 + 0.1^2) + log(2 pi); KL = 1/2 mu^2 = 0.125
    np.testing.assert_allclose(out.reconstruction, 0.325 + 1.8378770664093453, rtol=1e-12)
    np.testing.assert_allclose(out.kl, 0.125, rtol=1e-12)
    np.testing.assert_allclose(out.loss, 2.1628770664093453 + 0.25, rtol=1e-12)
    bern = vae_loss(jax.random.key(0), params, x, likelihood="bernoulli")
    np.testing.assert_allclose(bern.reconstruction, math.log1p(math.exp(-0.2)) + math.log1p(math.exp(-0.1)), rtol=1e-12)
    half = vae_loss(jax.random.key(0), params, x, obs_var=0.5)
    np.testing.assert_allclose(half.reconstruction, 0.65 + math.log(math.pi), rtol=1e-12)


def _numpy_forward(layers, v):
    for i, (W, b) in enumerate(layers):
        v = np.asarray(W) @ v + np.asarray(b)
        if i < len(layers) - 1:
            v = np.tanh(v)
    return v


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_against_numpy_and_scipy(likelihood):
    params = init_vae(jax.random.key(1), 4, 2, (3,), init="glorot_normal")
    x = np.array([0.9, 0.1, 0.4, 0.7])
    key = jax.random.key(2)
    got = vae_loss(key, params, jnp.asarray(x), likelihood=likelihood, beta=0.5, activation="tanh")
    h = _numpy_forward(params.encoder, x)
    mu, log_var = h[:2], h[2:]
    eps = np.asarray(jax.random.normal(jax.random.key(2), (2,), jnp.float64))
    sigma = np.exp(0.5 * log_var)
    out = _numpy_forward(params.decoder, mu + sigma * eps)
    if likelihood == "gaussian":
        rec = -scipy.stats.norm(out, 1.0).logpdf(x).sum()
    else:
        rec = -(x * scipy.special.log_expit(out) + (1 - x) * scipy.special.log_expit(-out)).sum()
    kl = np.sum(-np.log(sigma) + 0.5 * (sigma**2 + mu**2) - 0.5)  # KL(N(mu, sigma^2) || N(0, 1)) per coordinate
    np.testing.assert_allclose(got.reconstruction, rec, rtol=1e-10)
    np.testing.assert_allclose(got.kl, kl, rtol=1e-10)
    np.testing.assert_allclose(got.loss, rec + 0.5 * kl, rtol=1e-10)


def test_reparameterize_moments():
    mu, log_var = jnp.array([1.0, -2.0]), jnp.array([0.0, math.log(0.25)])
    z = jax.jit(jax.vmap(lambda k: reparameterize(k, mu, log_var)))(jax.random.split(jax.random.key(4), 4000))
    np.testing.assert_allclose(z.mean(0), mu, atol=0.05)
    np.testing.assert_allclose(z.var(0), [1.0, 0.25], rtol=0.08)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_extreme_log_variance_is_finite(dtype):
    params = init_vae(jax.random.key(5), 3, 2, (4,), dtype=dtype)
    x = jnp.array([0.2, 0.5, 0.9], dtype)

    def loss(p, lv):
        last = p.encoder[-1]
        p = p._replace(encoder=(*p.encoder[:-1], last._replace(b=last.b.at[2:].set(lv))))
        return vae_loss(jax.random.key(6), p, x, likelihood="bernoulli").loss

    values, grads = jax.jit(jax.vmap(jax.value_and_grad(loss), in_axes=(None, 0)))(
        params, jnp.array([50.0, -50.0], dtype)
    )
    assert np.all(np.isfinite(values))
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_jit_vmap_grad():
    params = init_vae(jax.random.key(7), 3, 1, (2,), init="glorot_normal")
    X = jnp.array([[0.1, 0.2, 0.3], [0.9, 0.5, 0.1]])
    keys = jax.random.split(jax.random.key(8), 2)
    keys_again = jax.random.split(jax.random.key(8), 2)  # the same keys: a typed key is used once

    def f(k, p, x):
        return vae_loss(k, p, x, activation="tanh").loss

    batched = jax.jit(jax.vmap(f, in_axes=(0, None, 0)))(keys, params, X)
    np.testing.assert_allclose(batched, [f(keys_again[i], params, X[i]) for i in range(2)], rtol=1e-12)
    check_grads(jax.jit(lambda p: f(jax.random.key(9), p, X[0])), (params,), order=2, modes=("rev",))


def test_vae_sample_decodes_a_prior_draw():
    params = _hand_params()  # the decoder ignores z: its output is its bias
    np.testing.assert_allclose(vae_sample(jax.random.key(0), params), [0.2, -0.1], rtol=1e-12)
    bern = vae_sample(jax.random.key(1), params, likelihood="bernoulli")
    np.testing.assert_allclose(bern, 1 / (1 + np.exp(-np.array([0.2, -0.1]))), rtol=1e-12)
    many = jax.vmap(lambda k: vae_sample(k, init_vae(jax.random.key(2), 3, 2, (4,))))(
        jax.random.split(jax.random.key(3), 5)
    )
    assert many.shape == (5, 3) and not np.allclose(many[0], many[1])


def test_bad_inputs():
    params, x, key = _hand_params(), jnp.array([1.0, 0.0]), jax.random.key(0)
    with pytest.raises(ValueError, match="jax.vmap"):
        vae_loss(key, params, jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="likelihood"):
        vae_loss(key, params, x, likelihood="poisson")
    with pytest.raises(ValueError, match="beta"):
        vae_loss(key, params, x, beta=-1.0)
    with pytest.raises(ValueError, match="obs_var"):
        vae_loss(key, params, x, obs_var=0.0)
    with pytest.raises(TypeError, match="VAEParams"):
        vae_loss(key, tuple(params), x)
    bad = params._replace(decoder=(DenseParams(jnp.zeros((3, 1)), jnp.zeros(3)),))
    with pytest.raises(ValueError, match="decoder"):
        vae_encode(bad, x)
    with pytest.raises(ValueError, match="likelihood"):
        vae_sample(key, params, likelihood="normal")
