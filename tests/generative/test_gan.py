"""GAN objectives: worked values, stability at logits +-50, the optimal discriminator and 2 JSD - log 4, WGAN-GP."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mathdl.generative import clip_weights, gan_losses, gan_value, optimal_discriminator, wgan_gp_loss
from mathdl.info import js_divergence


def test_worked_values_at_zero_logits():
    z = jnp.zeros(2)
    out = gan_losses(z, z)
    np.testing.assert_allclose(out.discriminator, math.log(4), rtol=1e-12)
    np.testing.assert_allclose(out.generator, math.log(2), rtol=1e-12)
    np.testing.assert_allclose(gan_losses(z, z, generator="minimax").generator, -math.log(2), rtol=1e-12)


def test_against_numpy():
    r, f = np.array([-3.0, 0.5, 2.0]), np.array([1.0, -0.2, 4.0])
    sig = lambda u: 1 / (1 + np.exp(-u))  # noqa: E731
    out = gan_losses(jnp.asarray(r), jnp.asarray(f))
    np.testing.assert_allclose(out.discriminator, -np.log(sig(r)) - np.log(1 - sig(f)), rtol=1e-12)
    np.testing.assert_allclose(out.generator, -np.log(sig(f)), rtol=1e-12)
    mm = gan_losses(jnp.asarray(r), jnp.asarray(f), generator="minimax").generator
    np.testing.assert_allclose(mm, np.log(1 - sig(f)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_stable_at_extreme_logits(dtype):
    big = jnp.array([50.0, -50.0], dtype)

    def total(r, f, kind):
        out = gan_losses(r, f, generator=kind)
        return jnp.sum(out.discriminator) + jnp.sum(out.generator)

    for kind in ("non_saturating", "minimax"):
        value, grads = jax.value_and_grad(total, argnums=(0, 1))(big, -big, kind)
        assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)
    out = gan_losses(big, -big)
    np.testing.assert_allclose(out.discriminator[1], 100.0, rtol=1e-6)  # -log sigma(-50) - log(1 - sigma(50))
    # the generator's gradient where the discriminator wins (fake logit -50): ~ -1 non-saturating, ~ 0 minimax
    g_ns = jax.grad(lambda f: gan_losses(big[:1], f).generator[0])(jnp.array([-50.0], dtype))
    g_mm = jax.grad(lambda f: gan_losses(big[:1], f, generator="minimax").generator[0])(jnp.array([-50.0], dtype))
    np.testing.assert_allclose(g_ns, -1.0, rtol=1e-6)
    assert abs(float(g_mm[0])) < 1e-20


def test_value_at_the_optimal_discriminator_is_2jsd_minus_log4(getkey):
    p = jnp.array([0.1, 0.4, 0.0, 0.5])
    q = jnp.array([0.3, 0.3, 0.2, 0.2])
    d = optimal_discriminator(p, q)
    np.testing.assert_allclose(d, [0.25, 4 / 7, 0.0, 5 / 7], rtol=1e-12)
    v = gan_value(p, q, d)
    np.testing.assert_allclose(v, 2 * js_divergence(p, q) - math.log(4), rtol=1e-12)
    np.testing.assert_allclose(gan_value(q, q, optimal_discriminator(q, q)), -math.log(4), rtol=1e-12)
    # D* is the maximiser: every perturbation of it lowers the value
    for _ in range(5):
        other = jnp.clip(d + 0.05 * jax.random.normal(getkey(), (4,)), 1e-6, 1 - 1e-6)
        assert gan_value(p, q, other) < v
    np.testing.assert_allclose(optimal_discriminator(jnp.zeros(1), jnp.zeros(1)), [0.5])


def test_jit_vmap_grad_of_the_losses():
    r, f = jnp.array([0.3, -1.2]), jnp.array([0.7, 2.0])
    np.testing.assert_allclose(jax.jit(gan_losses)(r, f).discriminator, gan_losses(r, f).discriminator, rtol=1e-12)
    p, q = jnp.array([0.2, 0.3, 0.5]), jnp.array([0.4, 0.4, 0.2])

    def everything(r, f, p, q):  # one order-2 check of the losses, D* and the value together
        return jnp.sum(jnp.stack(gan_losses(r, f))) + gan_value(p, q, optimal_discriminator(p, q))

    check_grads(everything, (r, f, p, q), order=2, modes=("rev",))
    batched = jax.vmap(gan_value)(jnp.stack([p, q]), jnp.stack([q, p]), jnp.full((2, 3), 0.5))
    np.testing.assert_allclose(batched, [2 * math.log(0.5)] * 2, rtol=1e-12)


def test_wgan_gp_worked_value():
    w = jnp.array([1.2, -1.6])  # |w| = 2: a linear critic's gradient norm is 2 everywhere, penalty (2 - 1)^2 = 1
    real, fake = jnp.array([1.0, 0.5]), jnp.array([-0.5, 2.0])
    out = wgan_gp_loss(jax.random.key(0), lambda x: w @ x, real, fake, gp_weight=10.0)
    np.testing.assert_allclose(out.penalty, 1.0, rtol=1e-12)
    np.testing.assert_allclose(out.critic, w @ fake - w @ real + 10.0, rtol=1e-12)
    np.testing.assert_allclose(out.generator, -(w @ fake), rtol=1e-12)
    plain = wgan_gp_loss(jax.random.key(0), lambda x: w @ x, real, fake, gp_weight=0.0)
    np.testing.assert_allclose(plain.critic, w @ fake - w @ real, rtol=1e-12)


def test_wgan_gp_oracle_and_grads():
    real, fake = jnp.array([1.0, 0.5]), jnp.array([-0.5, 2.0])
    u = float(jax.random.uniform(jax.random.key(1), (), jnp.float64))  # the interpolation weight it draws
    x_hat = u * np.asarray(real) + (1 - u) * np.asarray(fake)
    out = wgan_gp_loss(jax.random.key(1), lambda x: 0.5 * x @ x, real, fake)  # gradient of 1/2|x|^2 is x
    np.testing.assert_allclose(out.penalty, (np.linalg.norm(x_hat) - 1) ** 2, rtol=1e-12)

    def critic_loss(A, real, fake):
        return wgan_gp_loss(jax.random.key(2), lambda x: jnp.sum(jnp.tanh(A @ x)), real, fake).critic

    A = jnp.array([[0.5, -0.3], [0.2, 0.8]])
    check_grads(critic_loss, (A, real, fake), order=2, modes=("rev",))
    zero = wgan_gp_loss(jax.random.key(3), lambda x: jnp.zeros(()), real, fake)  # zero input gradient
    assert np.isfinite(zero.critic)
    np.testing.assert_allclose(zero.penalty, 1.0)


def test_clip_weights_and_refusals():
    params = {"W": jnp.array([[0.5, -0.02], [0.001, 0.0]]), "n": jnp.array(3)}
    clipped = clip_weights(params, 0.01)
    np.testing.assert_allclose(clipped["W"], [[0.01, -0.01], [0.001, 0.0]])
    assert clipped["n"] == 3
    with pytest.raises(ValueError, match="clip"):
        clip_weights(params, 0.0)
    with pytest.raises(ValueError, match="generator"):
        gan_losses(jnp.zeros(2), jnp.zeros(2), generator="wasserstein")
    with pytest.raises(ValueError, match="fake_logits"):
        gan_losses(jnp.zeros(2), jnp.zeros(3))
    with pytest.raises(TypeError, match="critic"):
        wgan_gp_loss(jax.random.key(0), None, jnp.zeros(2), jnp.zeros(2))
    with pytest.raises(ValueError, match="gp_weight"):
        wgan_gp_loss(jax.random.key(0), jnp.sum, jnp.zeros(2), jnp.zeros(2), gp_weight=-1.0)
    with pytest.raises(ValueError, match="fake"):
        wgan_gp_loss(jax.random.key(0), jnp.sum, jnp.zeros(2), jnp.zeros(3))
