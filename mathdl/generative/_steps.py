r"""Training steps of the generative models for :func:`mathdl.train.loop` ([MEDL] Ch. 8, Sec. 8.1-8.3).

Each ``make_*_step`` returns a pure ``step(state, batch, key) -> (state, metrics)``: ``batch`` is
a stack of ``B`` real examples (leading axis), ``key`` the step's key, from which the step draws
everything random it needs (latents, reparameterisation noise, diffusion steps and noise,
interpolation weights), so a run is a function of the loop's key and resumes bitwise. The state
is a NamedTuple of parameters and optax optimizer states (two of each for a GAN); the
``init_*_state`` functions build it. Networks are passed as apply functions on ONE example
(``denoiser(params, z_t, t)``, ``generator(params, z)``, ``discriminator(params, x) -> logit``),
such as those of :mod:`mathdl.models`; the steps ``jax.vmap`` them over the batch.

The objectives are the batch means of the per-example losses of :mod:`mathdl.generative`.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from mathdl import checks
from mathdl.generative._diffusion import DDPMSchedule, ddpm_loss
from mathdl.generative._gan import clip_weights, gan_losses, wgan_gp_loss
from mathdl.generative._vae import vae_loss

__all__ = [
    "DDPMState",
    "GANState",
    "VAEState",
    "init_ddpm_state",
    "init_gan_state",
    "init_vae_state",
    "make_ddpm_step",
    "make_gan_step",
    "make_vae_step",
    "make_wgan_step",
]

_PREDICTIONS = ("epsilon", "x0", "v")
_GEN_LOSSES = ("non_saturating", "minimax")
_CONSTRAINTS = ("gradient_penalty", "clip")


class VAEState(NamedTuple):
    """State of :func:`make_vae_step`: the ``VAEParams`` and the optimizer's state."""

    params: Any
    opt_state: Any


class DDPMState(NamedTuple):
    """State of :func:`make_ddpm_step`: the denoiser's parameters and the optimizer's state."""

    params: Any
    opt_state: Any


class GANState(NamedTuple):
    """State of :func:`make_gan_step` and :func:`make_wgan_step`: both networks and both optimizer states."""

    generator: Any
    discriminator: Any
    opt_g: Any
    opt_d: Any


def _optimizer(func: str, name: str, opt) -> optax.GradientTransformation:
    if not (hasattr(opt, "init") and hasattr(opt, "update")):
        checks.fail(func, name, "an optax.GradientTransformation", checks.Text(type(opt).__name__), exc=TypeError)
    return opt


def _callable(func: str, name: str, fn) -> None:
    if not callable(fn):
        checks.fail(func, name, "a callable", checks.Text(type(fn).__name__), exc=TypeError)


def _count(func: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        checks.fail(func, name, "a positive Python int", checks.Text(type(value).__name__), exc=TypeError)
    if value < 1:
        checks.fail(func, name, "a positive int", value)
    return value


def _batch(func: str, batch) -> jax.Array:
    batch = jnp.asarray(batch)
    if batch.ndim < 2 or not jnp.issubdtype(batch.dtype, jnp.floating):
        got = checks.Text(f"shape {tuple(batch.shape)}, dtype {batch.dtype}")
        checks.fail(func, "batch", "a floating stack of examples of shape (B, *example)", got)
    return batch


def _apply(opt, grads, opt_state, params):
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


# ------------------------------------------------------------------ VAE


def init_vae_state(params, optimizer: optax.GradientTransformation) -> VAEState:
    r"""The state of a VAE step: ``VAEState(params, optimizer.init(params))``.

    Args:
      params: ``VAEParams`` (from :func:`mathdl.generative.init_vae` or ``init_conv_vae``).
      optimizer: an optax transformation (the one given to :func:`make_vae_step`).

    Returns:
      :class:`VAEState`.

    Raises:
      TypeError: if `optimizer` is not an optax transformation.

    References:
      [MEDL] Ch. 8, Sec. 8.1; docs/training.md.
    """
    _optimizer(checks.public_name(init_vae_state), "optimizer", optimizer)
    return VAEState(params, optimizer.init(params))


def make_vae_step(
    optimizer: optax.GradientTransformation,
    *,
    beta: float = 1.0,
    likelihood: str = "gaussian",
    obs_var: float = 1.0,
    activation="relu",
) -> Callable:
    r"""A (beta-)VAE training step: one optimizer update on the batch mean of the negative ELBO.

    $$\mathcal{C}(\theta, \phi) = \frac1B\sum_{i=1}^{B}\Big[-\log p_\theta(x_i \mid z_i)
      + \beta\,D_{\mathrm{KL}}\big(q_\phi(z \mid x_i)\,\|\,\mathcal{N}(0, I)\big)\Big],
      \qquad z_i = \mu_\phi(x_i) + \sigma_\phi(x_i)\odot\varepsilon_i,$$

    with one $\varepsilon_i$ per example from ``jax.random.split(key, B)`` (see
    :func:`mathdl.generative.vae_loss`).

    Args:
      optimizer: an optax transformation.
      beta: $\beta \ge 0$.
      likelihood: ``"gaussian"`` or ``"bernoulli"``.
      obs_var: the Gaussian decoder's variance.
      activation: hidden activation of both networks.

    Returns:
      ``step(state, batch, key) -> (state, metrics)`` with ``state`` a :class:`VAEState`,
      ``batch`` of shape ``(B, p)`` or ``(B, H, W, C)``, metrics ``loss``, ``reconstruction``, ``kl``
      (batch means, in nats).

    Raises:
      TypeError: if `optimizer` is not an optax transformation.
      ValueError: on a negative `beta`, a non-positive `obs_var` or an unknown `likelihood`
        (the batch's shape is checked when the step is traced).

    References:
      [MEDL] Ch. 8, Sec. 8.1; Kingma & Welling (2014), Algorithm 1; Higgins et al. (2017).
    """
    func = checks.public_name(make_vae_step)
    _optimizer(func, "optimizer", optimizer)
    checks.check_positive(func, "beta", beta, strict=False)
    checks.check_positive(func, "obs_var", obs_var)
    checks.check_choice(func, "likelihood", likelihood, ("gaussian", "bernoulli"))
    one = functools.partial(vae_loss, likelihood=likelihood, beta=beta, obs_var=obs_var, activation=activation)

    def objective(params, batch, keys):
        out = jax.vmap(one, in_axes=(0, None, 0))(keys, params, batch)
        return jnp.mean(out.loss), out

    def step(state: VAEState, batch, key):
        batch = _batch(func, batch)
        keys = jax.random.split(key, batch.shape[0])
        (loss, out), grads = jax.value_and_grad(objective, has_aux=True)(state.params, batch, keys)
        params, opt_state = _apply(optimizer, grads, state.opt_state, state.params)
        metrics = {"loss": loss, "reconstruction": jnp.mean(out.reconstruction), "kl": jnp.mean(out.kl)}
        return VAEState(params, opt_state), metrics

    return step


# ------------------------------------------------------------------ DDPM


def init_ddpm_state(params, optimizer: optax.GradientTransformation) -> DDPMState:
    r"""The state of a DDPM step: ``DDPMState(params, optimizer.init(params))``.

    Args:
      params: the denoiser's parameters (e.g. from :func:`mathdl.models.init_mlp_denoiser`).
      optimizer: an optax transformation (the one given to :func:`make_ddpm_step`).

    Returns:
      :class:`DDPMState`.

    Raises:
      TypeError: if `optimizer` is not an optax transformation.

    References:
      [MEDL] Ch. 8, Sec. 8.2; docs/training.md.
    """
    _optimizer(checks.public_name(init_ddpm_state), "optimizer", optimizer)
    return DDPMState(params, optimizer.init(params))


def make_ddpm_step(
    denoiser: Callable,
    optimizer: optax.GradientTransformation,
    schedule: DDPMSchedule,
    *,
    prediction: str = "epsilon",
) -> Callable:
    r"""A DDPM training step (Ho et al., 2020, Algorithm 1): a fresh step and noise per example, one update.

    $$\mathcal{C}(\theta) = \frac1B\sum_{i=1}^{B}\big\lVert y_i - f_\theta\big(\sqrt{\bar\alpha_{t_i}}\,x_i
      + \sqrt{1-\bar\alpha_{t_i}}\,\varepsilon_i,\ t_i\big)\big\rVert^2, \quad t_i \sim U\{0..T-1\},\
      \varepsilon_i \sim \mathcal{N}(0, I),$$

    with target $y_i = \varepsilon_i$, $x_i$ or $v_i = \sqrt{\bar\alpha_t}\varepsilon_i - \sqrt{1-\bar\alpha_t}x_i$
    (:func:`mathdl.generative.ddpm_loss`, one key per example from ``jax.random.split(key, B)``).

    Args:
      denoiser: ``denoiser(params, z_t, t) -> prediction`` on ONE example with `t` an int32 scalar
        (e.g. :func:`mathdl.models.mlp_denoiser`, :func:`mathdl.models.unet_denoiser`).
      optimizer: an optax transformation.
      schedule: the ``DDPMSchedule`` of $T$ steps.
      prediction: ``"epsilon"``, ``"x0"`` or ``"v"``.

    Returns:
      ``step(state, batch, key) -> (state, metrics)``, ``state`` a :class:`DDPMState`, ``batch`` of
      shape ``(B, *example)``; metric ``loss`` (the batch mean of the per-example sum of squares).

    Raises:
      TypeError: if `denoiser` is not callable or `optimizer` not an optax transformation.
      ValueError: on an unknown `prediction`.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), Algorithm 1; Salimans & Ho (2022).
    """
    func = checks.public_name(make_ddpm_step)
    _callable(func, "denoiser", denoiser)
    _optimizer(func, "optimizer", optimizer)
    checks.check_choice(func, "prediction", prediction, _PREDICTIONS)
    if not isinstance(schedule, DDPMSchedule):
        checks.fail(func, "schedule", "a DDPMSchedule", checks.Text(type(schedule).__name__), exc=TypeError)

    def objective(params, batch, keys):
        def one(k, x):
            return ddpm_loss(k, lambda z, t: denoiser(params, z, t), schedule, x, prediction=prediction)

        return jnp.mean(jax.vmap(one)(keys, batch))

    def step(state: DDPMState, batch, key):
        batch = _batch(func, batch)
        keys = jax.random.split(key, batch.shape[0])
        loss, grads = jax.value_and_grad(objective)(state.params, batch, keys)
        params, opt_state = _apply(optimizer, grads, state.opt_state, state.params)
        return DDPMState(params, opt_state), {"loss": loss}

    return step


# ------------------------------------------------------------------ GAN and WGAN


def init_gan_state(
    generator_params,
    discriminator_params,
    opt_g: optax.GradientTransformation,
    opt_d: optax.GradientTransformation,
) -> GANState:
    r"""The state of a GAN or WGAN step: both networks' parameters and their optimizers' states.

    Args:
      generator_params: parameters of $f^G_\theta$.
      discriminator_params: parameters of $f^D_\phi$ (or the critic).
      opt_g: the generator's optax transformation.
      opt_d: the discriminator's (critic's).

    Returns:
      ``GANState(generator, discriminator, opt_g.init(generator), opt_d.init(discriminator))``.

    Raises:
      TypeError: if an optimizer is not an optax transformation.

    References:
      [MEDL] Ch. 8, Sec. 8.3; docs/training.md.
    """
    func = checks.public_name(init_gan_state)
    _optimizer(func, "opt_g", opt_g)
    _optimizer(func, "opt_d", opt_d)
    return GANState(
        generator_params, discriminator_params, opt_g.init(generator_params), opt_d.init(discriminator_params)
    )


def _fake(generator, params, key, B, latent_dim, dtype):
    z = jax.random.normal(key, (B, latent_dim), dtype)
    return jax.vmap(generator, in_axes=(None, 0))(params, z)


def make_gan_step(
    generator: Callable,
    discriminator: Callable,
    opt_g: optax.GradientTransformation,
    opt_d: optax.GradientTransformation,
    *,
    latent_dim: int,
    k: int = 1,
    generator_loss: str = "non_saturating",
) -> Callable:
    r"""A GAN training step (Goodfellow et al., 2014, Algorithm 1): $k$ discriminator updates, one generator update.

    Each discriminator update descends, on fresh latents $z_i \sim \mathcal{N}(0, I)$ and the real batch,

    $$\mathcal{C}_D(\phi) = \frac1B\sum_i \operatorname{softplus}(-\ell_\phi(x_i))
      + \operatorname{softplus}(\ell_\phi(f^G_\theta(z_i))),$$

    ($-\log f^D(x) - \log(1 - f^D(f^G(z)))$ with $f^D = \sigma(\ell)$); the generator update then
    descends $\frac1B\sum_i \operatorname{softplus}(-\ell_\phi(f^G_\theta(z_i)))$ (non-saturating) or
    $-\operatorname{softplus}(\ell_\phi(f^G_\theta(z_i)))$ (minimax), see
    :func:`mathdl.generative.gan_losses`. The $k$ updates reuse this step's real batch (``train.loop``
    gives one batch per step) with new latents each; they run as one ``lax.scan``.

    Args:
      generator: ``generator(params, z) -> x`` on ONE latent of shape ``(latent_dim,)``.
      discriminator: ``discriminator(params, x) -> logit`` (a scalar) on ONE example.
      opt_g: the generator's optax transformation.
      opt_d: the discriminator's.
      latent_dim: $m$, the latent dimension (latents are drawn in the batch's dtype).
      k: discriminator updates per generator update (a positive int).
      generator_loss: ``"non_saturating"`` or ``"minimax"``.

    Returns:
      ``step(state, batch, key) -> (state, metrics)``, ``state`` a :class:`GANState`, ``batch`` of
      real examples ``(B, *example)``; metrics ``d_loss`` (the last discriminator update's),
      ``g_loss``, ``d_real`` and ``d_fake`` (mean $f^D$ on the real batch and on the fakes seen by the
      generator update).

    Raises:
      TypeError: if a network is not callable, an optimizer not an optax transformation, or `k`,
        `latent_dim` not an int.
      ValueError: if `k` or `latent_dim` < 1, or `generator_loss` is unknown.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Goodfellow et al. (2014), "Generative Adversarial Nets", Algorithm 1.
    """
    func = checks.public_name(make_gan_step)
    _callable(func, "generator", generator)
    _callable(func, "discriminator", discriminator)
    _optimizer(func, "opt_g", opt_g)
    _optimizer(func, "opt_d", opt_d)
    latent_dim = _count(func, "latent_dim", latent_dim)
    k = _count(func, "k", k)
    checks.check_choice(func, "generator_loss", generator_loss, _GEN_LOSSES)
    logits = jax.vmap(discriminator, in_axes=(None, 0))

    def d_objective(d_params, real, fake):
        return jnp.mean(gan_losses(logits(d_params, real), logits(d_params, fake)).discriminator)

    def g_objective(g_params, d_params, key, B, dtype):
        fake_logits = logits(d_params, _fake(generator, g_params, key, B, latent_dim, dtype))
        losses = gan_losses(jnp.zeros_like(fake_logits), fake_logits, generator=generator_loss)
        return jnp.mean(losses.generator), fake_logits

    def step(state: GANState, batch, key):
        real = _batch(func, batch)
        B, dtype = real.shape[0], real.dtype
        k_d, k_g = jax.random.split(key)

        def d_update(carry, kk):
            d_params, opt_state = carry
            fake = lax.stop_gradient(_fake(generator, state.generator, kk, B, latent_dim, dtype))
            loss, grads = jax.value_and_grad(d_objective)(d_params, real, fake)
            return _apply(opt_d, grads, opt_state, d_params), loss

        (d_params, opt_d_state), d_losses = lax.scan(
            d_update, (state.discriminator, state.opt_d), jax.random.split(k_d, k)
        )
        (g_loss, fake_logits), grads = jax.value_and_grad(g_objective, has_aux=True)(
            state.generator, d_params, k_g, B, dtype
        )
        g_params, opt_g_state = _apply(opt_g, grads, state.opt_g, state.generator)
        metrics = {
            "d_loss": d_losses[-1],
            "g_loss": g_loss,
            "d_real": jnp.mean(jax.nn.sigmoid(logits(d_params, real))),
            "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
        }
        return GANState(g_params, d_params, opt_g_state, opt_d_state), metrics

    return step


def make_wgan_step(
    generator: Callable,
    critic: Callable,
    opt_g: optax.GradientTransformation,
    opt_c: optax.GradientTransformation,
    *,
    latent_dim: int,
    n_critic: int = 5,
    constraint: str = "gradient_penalty",
    gp_weight: float = 10.0,
    clip: float = 0.01,
) -> Callable:
    r"""A Wasserstein-GAN step: $n_{\text{critic}}$ critic updates, then one generator update.

    The critic $f_w$ ascends the Kantorovich-Rubinstein estimate $\hat W = \frac1B\sum_i f_w(x_i) -
    f_w(f^G_\theta(z_i))$ under a Lipschitz constraint, either

    * ``"gradient_penalty"`` (WGAN-GP, Gulrajani et al. 2017): it descends
      $-\hat W + \frac{\lambda}{B}\sum_i(\lVert\nabla f_w(\hat x_i)\rVert - 1)^2$ with $\hat x_i$ on
      the segment between $x_i$ and its fake (:func:`mathdl.generative.wgan_gp_loss`); or
    * ``"clip"`` (the original WGAN, Arjovsky et al. 2017): it descends $-\hat W$ and every weight is
      clipped to $[-c, c]$ after each update (:func:`mathdl.generative.clip_weights`).

    The generator then descends $-\frac1B\sum_i f_w(f^G_\theta(z_i))$. The critic updates reuse the
    step's real batch with new latents (one ``lax.scan``).

    Args:
      generator: ``generator(params, z) -> x`` on ONE latent.
      critic: ``critic(params, x) -> scalar`` on ONE example (no sigmoid).
      opt_g: the generator's optax transformation.
      opt_c: the critic's (Adam for WGAN-GP, RMSProp with a small rate for clipping, in the papers).
      latent_dim: $m$.
      n_critic: critic updates per generator update.
      constraint: ``"gradient_penalty"`` or ``"clip"``.
      gp_weight: $\lambda \ge 0$ (gradient penalty only).
      clip: $c > 0$ (clipping only).

    Returns:
      ``step(state, batch, key) -> (state, metrics)``, ``state`` a :class:`GANState` (the critic in
      ``discriminator``); metrics ``critic_loss`` (the last critic update's, penalty included),
      ``g_loss``, ``wasserstein`` ($\hat W$ of the last critic update) and ``penalty`` (its mean
      gradient penalty, 0 for clipping).

    Raises:
      TypeError: if a network is not callable, an optimizer not an optax transformation, or
        `n_critic`, `latent_dim` not an int.
      ValueError: on a bad count, an unknown `constraint`, a negative `gp_weight` or a
        non-positive `clip`.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Arjovsky, Chintala & Bottou (2017), Algorithm 1; Gulrajani et al.
      (2017), Algorithm 1.
    """
    func = checks.public_name(make_wgan_step)
    _callable(func, "generator", generator)
    _callable(func, "critic", critic)
    _optimizer(func, "opt_g", opt_g)
    _optimizer(func, "opt_c", opt_c)
    latent_dim = _count(func, "latent_dim", latent_dim)
    n_critic = _count(func, "n_critic", n_critic)
    checks.check_choice(func, "constraint", constraint, _CONSTRAINTS)
    checks.check_positive(func, "gp_weight", gp_weight, strict=False)
    checks.check_positive(func, "clip", clip)
    values = jax.vmap(critic, in_axes=(None, 0))

    def c_objective(c_params, real, fake, key):
        if constraint == "clip":
            w = jnp.mean(values(c_params, real)) - jnp.mean(values(c_params, fake))
            return -w, (w, jnp.zeros((), w.dtype))
        keys = jax.random.split(key, real.shape[0])
        out = jax.vmap(lambda kk, x, y: wgan_gp_loss(kk, lambda u: critic(c_params, u), x, y, gp_weight=gp_weight))(
            keys, real, fake
        )
        penalty = jnp.mean(out.penalty)
        return jnp.mean(out.critic), (-(jnp.mean(out.critic) - gp_weight * penalty), penalty)

    def g_objective(g_params, c_params, key, B, dtype):
        return -jnp.mean(values(c_params, _fake(generator, g_params, key, B, latent_dim, dtype)))

    def step(state: GANState, batch, key):
        real = _batch(func, batch)
        B, dtype = real.shape[0], real.dtype
        k_c, k_g = jax.random.split(key)

        def c_update(carry, kk):
            c_params, opt_state = carry
            k_z, k_u = jax.random.split(kk)
            fake = lax.stop_gradient(_fake(generator, state.generator, k_z, B, latent_dim, dtype))
            (loss, (w, pen)), grads = jax.value_and_grad(c_objective, has_aux=True)(c_params, real, fake, k_u)
            c_params, opt_state = _apply(opt_c, grads, opt_state, c_params)
            if constraint == "clip":
                c_params = clip_weights(c_params, clip)
            return (c_params, opt_state), (loss, w, pen)

        (c_params, opt_c_state), (losses, ws, pens) = lax.scan(
            c_update, (state.discriminator, state.opt_d), jax.random.split(k_c, n_critic)
        )
        g_loss, grads = jax.value_and_grad(g_objective)(state.generator, c_params, k_g, B, dtype)
        g_params, opt_g_state = _apply(opt_g, grads, state.opt_g, state.generator)
        metrics = {"critic_loss": losses[-1], "g_loss": g_loss, "wasserstein": ws[-1], "penalty": pens[-1]}
        return GANState(g_params, c_params, opt_g_state, opt_c_state), metrics

    return step
