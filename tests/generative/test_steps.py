"""Training steps of the generative models: each step equals the update written by hand from the per-example
losses and the documented key layout (float64, SGD), WGAN clipping keeps the critic in [-c, c], bad arguments are
refused when the step is made, a DDPM trained through train.loop reproduces a 2-D Gaussian mixture's means and
weights, and a GAN run resumes bitwise from a checkpoint."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl import generative as G
from mathdl import models, optim, train
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)
LR = 0.1


def _close(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, **TOL)


def _sgd(params, grads):
    return jax.tree.map(lambda p, g: p - LR * g, params, grads)


def _fill(init, seed):
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda sd: jnp.asarray(0.5 * rng.normal(size=sd.shape)), jax.eval_shape(init, jax.random.key(0))
    )


def test_vae_step_equals_the_hand_update():
    """Oracle: one SGD step on the batch mean of vae_loss with keys jax.random.split(key, B); beta enters the loss
    and the metrics are the batch means; the new state has the old one's structure (the conv VAE's loss is tested
    in test_vae_conv.py, its step in the bench suite)."""
    params = _fill(lambda k: G.init_vae(k, 3, 2, (4,)), 0)
    X = jnp.asarray(np.random.default_rng(1).uniform(size=(5, 3)))
    key = functools.partial(jax.random.key, 2)  # the same key twice: the step's and the oracle's
    step = G.make_vae_step(optim.sgd(LR), beta=0.5, likelihood="bernoulli")
    new, m = jax.jit(step)(G.init_vae_state(params, optim.sgd(LR)), X, key())

    def objective(p):
        out = jax.vmap(lambda k, x: G.vae_loss(k, p, x, likelihood="bernoulli", beta=0.5))(
            jax.random.split(key(), 5), X
        )
        return jnp.mean(out.loss), out

    (loss, out), g = jax.jit(jax.value_and_grad(objective, has_aux=True))(params)
    _close(new.params, _sgd(params, g))
    np.testing.assert_allclose(m["loss"], loss, **TOL)
    np.testing.assert_allclose(m["kl"], jnp.mean(out.kl), **TOL)
    assert jax.tree.structure(new) == jax.tree.structure(G.init_vae_state(params, optim.sgd(LR)))


def _linear_denoiser(p, z, t):
    return p["w"] * z + p["b"][t]


def test_ddpm_step_equals_the_hand_update(prediction="v"):
    """Oracle: one SGD step on the batch mean of ddpm_loss (its own step and noise per example, keys
    split(key, B)) for a linear denoiser w z + b_t, with the v target (epsilon is the default trained below)."""
    sched = G.ddpm_schedule(6, beta_T=0.3)
    params = {"w": jnp.array([0.5, -0.2]), "b": jnp.asarray(np.random.default_rng(0).normal(size=(6, 2)))}
    X = jnp.asarray(np.random.default_rng(1).normal(size=(4, 2)))
    key = functools.partial(jax.random.key, 3)  # the same key twice: the step's and the oracle's
    step = G.make_ddpm_step(_linear_denoiser, optim.sgd(LR), sched, prediction=prediction)
    new, m = jax.jit(step)(G.init_ddpm_state(params, optim.sgd(LR)), X, key())

    def objective(p):
        def one(k, x):
            return G.ddpm_loss(k, functools.partial(_linear_denoiser, p), sched, x, prediction=prediction)

        return jnp.mean(jax.vmap(one)(jax.random.split(key(), 4), X))

    loss, g = jax.jit(jax.value_and_grad(objective))(params)
    _close(new.params, _sgd(params, g))
    np.testing.assert_allclose(m["loss"], loss, **TOL)


def _gen(p, z):
    return p["A"] @ z + p["b"]


def _disc(p, x):
    return p["v"] @ jnp.tanh(p["W"] @ x) + p["c"]


def _gan_params():
    rng = np.random.default_rng(4)
    g = {"A": jnp.asarray(rng.normal(size=(2, 2))), "b": jnp.zeros(2)}
    d = {"W": jnp.asarray(rng.normal(size=(3, 2))), "v": jnp.asarray(rng.normal(size=3)), "c": jnp.zeros(())}
    return g, d


def _fakes(g, k, B):
    return jax.vmap(_gen, in_axes=(None, 0))(g, jax.random.normal(k, (B, 2)))


def test_gan_step_equals_k_hand_updates():
    """Oracle: k = 2 discriminator SGD steps on softplus(-l(x)) + softplus(l(G(z))) with fresh latents from
    split(split(key)[0], k), then one generator step on the non-saturating loss with latents from split(key)[1].
    Logits of +-50 (a saturated discriminator) leave the losses, metrics and updates finite."""
    g, d = _gan_params()
    X = jnp.asarray(np.random.default_rng(5).normal(size=(4, 2)) + 3.0)
    key = functools.partial(jax.random.key, 6)  # the same key twice: the step's and the oracle's
    sgd = optim.sgd(LR)
    step = jax.jit(G.make_gan_step(_gen, _disc, sgd, sgd, latent_dim=2, k=2))
    new, m = step(G.init_gan_state(g, d, sgd, sgd), X, key())
    logits = jax.vmap(_disc, in_axes=(None, 0))
    k_d, k_g = jax.random.split(key())
    d_grad = jax.jit(
        jax.value_and_grad(lambda q, fake: jnp.mean(jax.nn.softplus(-logits(q, X)) + jax.nn.softplus(logits(q, fake))))
    )
    dd = d
    for kk in jax.random.split(k_d, 2):
        d_loss, gd = d_grad(dd, _fakes(g, kk, 4))
        dd = _sgd(dd, gd)
    g_loss, gg = jax.jit(jax.value_and_grad(lambda q: jnp.mean(jax.nn.softplus(-logits(dd, _fakes(q, k_g, 4))))))(g)
    _close((new.generator, new.discriminator), (_sgd(g, gg), dd))
    np.testing.assert_allclose([m["d_loss"], m["g_loss"]], [d_loss, g_loss], **TOL)
    # saturated discriminator: logits near +-50 on real and fake, every loss, metric and update stays finite
    loud = {**d, "v": d["v"] * 0.0, "c": jnp.asarray(50.0)}
    sat, ms = step(G.init_gan_state(g, loud, sgd, sgd), X, key())
    assert all(np.isfinite(float(v)) for v in ms.values()) and float(ms["d_real"]) == 1.0
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(sat))
    loud = {**d, "v": d["v"] * 0.0, "c": jnp.asarray(-50.0)}
    sat, ms = step(G.init_gan_state(g, loud, sgd, sgd), X, key())
    assert all(np.isfinite(float(v)) for v in ms.values()) and float(ms["g_loss"]) > 45


def test_wgan_steps_penalty_by_hand_and_clipping():
    """Oracle (gradient penalty, one critic update): the critic's SGD step on the mean of wgan_gp_loss with fakes
    from split(split(split(key)[0], 1)[0])[0] and interpolation keys split(..[1], B). Clipping: every critic weight
    ends in [-c, c] and the penalty metric is 0."""
    g, d = _gan_params()
    X = jnp.asarray(np.random.default_rng(7).normal(size=(3, 2)))
    key = functools.partial(jax.random.key, 8)  # the same key twice: the step's and the oracle's
    sgd = optim.sgd(LR)
    step = G.make_wgan_step(_gen, _disc, sgd, sgd, latent_dim=2, n_critic=1, gp_weight=5.0)
    new, m = jax.jit(step)(G.init_gan_state(g, d, sgd, sgd), X, key())
    k_c, _ = jax.random.split(key())
    k_z, k_u = jax.random.split(jax.random.split(k_c, 1)[0])
    fake = _fakes(g, k_z, 3)

    def critic_loss(q):
        out = jax.vmap(lambda k, x, y: G.wgan_gp_loss(k, functools.partial(_disc, q), x, y, gp_weight=5.0))(
            jax.random.split(k_u, 3), X, fake
        )
        return jnp.mean(out.critic), jnp.mean(out.penalty)

    (c_loss, pen), gd = jax.jit(jax.value_and_grad(critic_loss, has_aux=True))(d)
    _close(new.discriminator, _sgd(d, gd))
    np.testing.assert_allclose([m["critic_loss"], m["penalty"]], [c_loss, pen], **TOL)
    clip = G.make_wgan_step(_gen, _disc, sgd, sgd, latent_dim=2, n_critic=3, constraint="clip", clip=0.05)
    after, mc = jax.jit(clip)(G.init_gan_state(g, d, sgd, sgd), X, key())
    assert max(float(jnp.max(jnp.abs(leaf))) for leaf in jax.tree.leaves(after.discriminator)) <= 0.05
    assert float(mc["penalty"]) == 0.0


def test_bad_arguments_are_refused():
    """Bad input: non-callable networks, a non-optimizer, bad counts and unknown options raise when the step is
    made; an integer batch raises when it is traced."""
    sgd = optim.sgd(LR)
    with pytest.raises(TypeError, match="generative.make_gan_step: argument `discriminator` expected a callable"):
        G.make_gan_step(_gen, None, sgd, sgd, latent_dim=2)
    with pytest.raises(ValueError, match="generative.make_gan_step: argument `k` expected a positive int, got 0"):
        G.make_gan_step(_gen, _disc, sgd, sgd, latent_dim=2, k=0)
    with pytest.raises(ValueError, match="argument `generator_loss` expected one of"):
        G.make_gan_step(_gen, _disc, sgd, sgd, latent_dim=2, generator_loss="wasserstein")
    with pytest.raises(ValueError, match="generative.make_wgan_step: argument `constraint` expected one of"):
        G.make_wgan_step(_gen, _disc, sgd, sgd, latent_dim=2, constraint="spectral")
    with pytest.raises(TypeError, match="generative.make_ddpm_step: argument `optimizer` expected an optax"):
        G.make_ddpm_step(_linear_denoiser, "adam", G.ddpm_schedule(4))
    with pytest.raises(ValueError, match="generative.make_ddpm_step: argument `prediction` expected one of"):
        G.make_ddpm_step(_linear_denoiser, sgd, G.ddpm_schedule(4), prediction="score")
    with pytest.raises(ValueError, match="generative.make_vae_step: argument `beta` expected"):
        G.make_vae_step(sgd, beta=-1.0)
    step = G.make_ddpm_step(_linear_denoiser, sgd, G.ddpm_schedule(4))
    params = {"w": jnp.ones(2), "b": jnp.zeros((4, 2))}
    with pytest.raises(ValueError, match=r"generative.make_ddpm_step: argument `batch` expected a floating stack"):
        step(G.init_ddpm_state(params, sgd), jnp.ones((3, 2), jnp.int32), jax.random.key(0))


def test_ddpm_through_loop_reproduces_a_gaussian_mixture():
    """Property: a DDPM (MLP denoiser, T = 50, 1000 Adam steps through train.loop, float32) on the mixture
    0.3 N((-2, 0), 0.3^2 I) + 0.7 N((2, 0), 0.3^2 I) samples (1000 ancestral draws) the weights within 0.05 and
    the means within 0.15; the spread per component within 0.12 of 0.3."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal([-2, 0], 0.3, (300, 2)), rng.normal([2, 0], 0.3, (700, 2))]).astype(np.float32)
    sched = G.ddpm_schedule(50, beta_T=0.2, dtype=jnp.float32)
    opt = optim.adam(3e-3)
    k_init, k_run, k_sample = jax.random.split(jax.random.key(0), 3)
    params = models.init_mlp_denoiser(k_init, 2, hidden=(64, 64), time_dim=16, dtype=jnp.float32)
    step = G.make_ddpm_step(models.mlp_denoiser, opt, sched)
    res = train.loop(
        step, G.init_ddpm_state(params, opt), key=k_run, data=X, batch_size=128, steps=1500, progress=False
    )

    def draw(k):
        return G.ddpm_sample(k, functools.partial(models.mlp_denoiser, res.state.params), sched, (2,))

    S = np.asarray(jax.jit(jax.vmap(draw))(jax.random.split(k_sample, 1000)))
    left = S[:, 0] < 0
    assert abs(left.mean() - 0.3) < 0.05, left.mean()
    np.testing.assert_allclose(S[left].mean(0), [-2, 0], atol=0.15)
    np.testing.assert_allclose(S[~left].mean(0), [2, 0], atol=0.15)
    np.testing.assert_allclose([S[left].std(0), S[~left].std(0)], 0.3, atol=0.12)


def test_gan_run_resumes_bitwise(tmp_path):
    """Resume: a GAN run (k = 2, two Adam states) stopped after 4 steps and resumed from its checkpoint to 8 steps
    ends bitwise equal to an uninterrupted 8-step run."""
    g, d = _gan_params()
    g = jax.tree.map(lambda a: a.astype(jnp.float32), g)
    d = jax.tree.map(lambda a: a.astype(jnp.float32), d)
    X = (np.random.default_rng(9).normal(size=(32, 2)) + 2.0).astype(np.float32)
    opt_g, opt_d = optim.adam(1e-2), optim.adam(2e-2)
    step = G.make_gan_step(_gen, _disc, opt_g, opt_d, latent_dim=2, k=2)
    state = G.init_gan_state(g, d, opt_g, opt_d)
    kw = dict(key=jax.random.key(1), data=X, batch_size=8, log_every=4, progress=False)
    ref = train.loop(step, state, steps=8, **kw)
    train.loop(step, state, steps=4, checkpoint_dir=tmp_path, **kw)
    resumed = train.loop(step, state, steps=8, checkpoint_dir=tmp_path, **kw)
    assert resumed.step == 8
    for a, b in zip(jax.tree.leaves(ref.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(resumed.state, G.GANState) and isinstance(resumed.state.opt_g, type(state.opt_g))
    assert optax.tree_utils.tree_get(resumed.state.opt_d, "count") is not None
