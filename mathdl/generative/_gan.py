r"""GAN objectives ([MEDL] Ch. 8, Sec. 8.3): the minimax and non-saturating losses from logits,
the optimal discriminator and the value it attains, and the Wasserstein GAN with a gradient
penalty (or weight clipping).
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from mathdl import checks

__all__ = [
    "GANLosses",
    "ModeCoverage",
    "mode_coverage",
    "WGANLosses",
    "clip_weights",
    "gan_losses",
    "gan_value",
    "optimal_discriminator",
    "wgan_gp_loss",
]

_GENERATORS = ("non_saturating", "minimax")


class GANLosses(NamedTuple):
    """Per-example losses that the discriminator and the generator each minimise."""

    discriminator: jax.Array
    generator: jax.Array


class WGANLosses(NamedTuple):
    """Per-pair losses of a Wasserstein GAN: ``critic`` includes ``gp_weight * penalty``."""

    critic: jax.Array
    generator: jax.Array
    penalty: jax.Array


@checks.inputs(real_logits="float[*batch]", fake_logits="float[*batch]")
def gan_losses(real_logits: jax.Array, fake_logits: jax.Array, *, generator: str = "non_saturating") -> GANLosses:
    r"""The discriminator's and generator's losses from discriminator logits $\ell$, $f^D = \sigma(\ell)$.

    The discriminator maximises $\log f^D(x) + \log(1 - f^D(f^G(z)))$, so it minimises

    $$\mathcal{C}_D = -\log\sigma(\ell_{\text{real}}) - \log(1 - \sigma(\ell_{\text{fake}}))
      = \operatorname{softplus}(-\ell_{\text{real}}) + \operatorname{softplus}(\ell_{\text{fake}}).$$

    The generator minimises $\log(1 - f^D(f^G(z))) = -\operatorname{softplus}(\ell_{\text{fake}})$
    (``"minimax"``, which saturates when the discriminator wins) or the non-saturating
    $-\log f^D(f^G(z)) = \operatorname{softplus}(-\ell_{\text{fake}})$ (the default). Written with
    softplus, every term is finite with finite gradients for any finite logit.

    Args:
      real_logits: logits of the discriminator on data, shape ``(*batch,)`` (broadcasting:
        per example, no reduction).
      fake_logits: logits on generated samples, the same shape and dtype.
      generator: ``"non_saturating"`` or ``"minimax"``.

    Returns:
      ``GANLosses(discriminator, generator)``, each of shape ``(*batch,)``, in nats.

    Raises:
      TypeError: if a logit array is not floating.
      ValueError: if the shapes differ or `generator` is unknown.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Goodfellow et al. (2014), "Generative Adversarial Nets", eq. (1) and Sec. 3.
    """
    checks.check_choice(checks.public_name(gan_losses), "generator", generator, _GENERATORS)
    sp = jax.nn.softplus
    d = sp(-real_logits) + sp(fake_logits)
    g = sp(-fake_logits) if generator == "non_saturating" else -sp(fake_logits)
    return GANLosses(d, g)


@checks.inputs(p_data="float[*batch]", p_model="float[*batch]")
def optimal_discriminator(p_data: jax.Array, p_model: jax.Array) -> jax.Array:
    r"""The discriminator that maximises the GAN value for a fixed generator, $D^*(x) = \frac{p_D(x)}{p_D(x) + p_G(x)}$.

    Where both densities vanish $D^*$ does not matter; 1/2 is returned there (with zero gradient).

    Args:
      p_data: $p_D(x)$ at some points (densities or probabilities, $\ge 0$), shape ``(*batch,)``
        (broadcasting, elementwise).
      p_model: $p_G(x)$ at the same points, same shape.

    Returns:
      $D^*$, shape ``(*batch,)``, in $[0, 1]$.

    Raises:
      TypeError: if an argument is not floating.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Goodfellow et al. (2014), Proposition 1.
    """
    s = p_data + p_model
    pos = s > 0
    return jnp.where(pos, p_data / jnp.where(pos, s, jnp.ones_like(s)), jnp.full_like(s, 0.5))


@checks.inputs(p_data="float[*batch K]", p_model="float[*batch K]", d="float[*batch K]")
def gan_value(p_data: jax.Array, p_model: jax.Array, d: jax.Array) -> jax.Array:
    r"""The GAN value of a discriminator on discrete distributions over $K$ points.

    $$V(D) = \sum_x p_D(x)\log D(x) + \sum_x p_G(x)\log(1 - D(x)),$$

    with $0 \log 0 = 0$. At $D = D^*$ (:func:`optimal_discriminator`) it equals
    $2\,\mathrm{JSD}(p_D\,\|\,p_G) - \log 4$, which the generator minimises.

    Args:
      p_data: probabilities $p_D$, shape ``(*batch, K)`` (broadcasting over the leading axes).
      p_model: probabilities $p_G$, same shape.
      d: discriminator outputs $D(x) \in [0, 1]$ at the $K$ points, same shape.

    Returns:
      $V(D)$, shape ``(*batch,)``.

    Raises:
      TypeError: if an argument is not floating.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 8, Sec. 8.3 and App. B; Goodfellow et al. (2014), Theorem 1.
    """
    return jnp.sum(xlogy(p_data, d) + xlogy(p_model, 1 - d), axis=-1)


def _safe_norm(g: jax.Array) -> jax.Array:
    sq = jnp.sum(g * g)
    pos = sq > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, jnp.ones_like(sq))), jnp.zeros_like(sq))


@checks.inputs(key="key[]", real="float[*s]", fake="float[*s]")
def wgan_gp_loss(
    key: jax.Array,
    critic: Callable[[jax.Array], jax.Array],
    real: jax.Array,
    fake: jax.Array,
    *,
    gp_weight: float = 10.0,
) -> WGANLosses:
    r"""Wasserstein-GAN losses of one (real, fake) pair with the gradient penalty.

    The critic $f$ estimates $W(p_D, p_G) = \sup_{\lVert f\rVert_L \le 1} \mathbb{E}_{p_D} f - \mathbb{E}_{p_G} f$
    (Kantorovich-Rubinstein). Per pair, with $\hat x = u\,x + (1 - u)\,\tilde x$, $u \sim U(0, 1)$:

    $$\mathcal{C}_f = f(\tilde x) - f(x) + \lambda\,\big(\lVert\nabla_{\hat x} f(\hat x)\rVert - 1\big)^2, \qquad
      \mathcal{C}_G = -f(\tilde x).$$

    ``gp_weight=0`` is the original WGAN critic loss, to pair with :func:`clip_weights`. The
    gradient norm is taken with a safe square root (zero gradient at a zero input gradient).

    Args:
      key: a typed PRNG key (the interpolation weight $u$).
      critic: ``critic(x) -> scalar`` on ONE example (close over its parameters).
      real: ONE data example $x$, any shape (``jax.vmap`` with split keys for a batch).
      fake: ONE generated example $\tilde x$, the same shape and dtype.
      gp_weight: $\lambda \ge 0$ (10 in Gulrajani et al.).

    Returns:
      ``WGANLosses(critic, generator, penalty)``, three scalars.

    Raises:
      TypeError: if `critic` is not callable or an example is not floating.
      ValueError: if the shapes differ or `gp_weight` < 0.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Arjovsky, Chintala & Bottou (2017); Gulrajani et al. (2017),
      "Improved Training of Wasserstein GANs", Algorithm 1.
    """
    func = checks.public_name(wgan_gp_loss)
    if not callable(critic):
        checks.fail(func, "critic", "a callable", checks.Text(type(critic).__name__), exc=TypeError)
    checks.check_positive(func, "gp_weight", gp_weight, strict=False)
    u = jax.random.uniform(key, (), real.dtype)
    x_hat = u * real + (1 - u) * fake
    penalty = (_safe_norm(jax.grad(critic)(x_hat)) - 1) ** 2
    f_fake = critic(fake)
    return WGANLosses(f_fake - critic(real) + gp_weight * penalty, -f_fake, penalty)


def clip_weights(params, clip: float = 0.01):
    r"""Weight clipping of the original WGAN: every floating leaf clamped to $[-c, c]$.

    A crude way to keep the critic Lipschitz; apply it after each critic update.

    Args:
      params: any pytree of parameters.
      clip: $c > 0$.

    Returns:
      The clipped pytree (non-floating leaves unchanged).

    Raises:
      ValueError: if `clip` is not positive.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Arjovsky, Chintala & Bottou (2017), Algorithm 1.
    """
    checks.check_positive(checks.public_name(clip_weights), "clip", clip)

    def one(leaf):
        leaf = jnp.asarray(leaf)
        return jnp.clip(leaf, -clip, clip) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree.map(one, params)


class ModeCoverage(NamedTuple):
    """Which modes a set of samples reaches (see :func:`mode_coverage`)."""

    counts: jax.Array
    covered: jax.Array
    quality: jax.Array


@checks.inputs(samples="float[n p]", centers="float[K p]")
def mode_coverage(samples: jax.Array, centers: jax.Array, *, radius: float, min_fraction: float = 0.01) -> ModeCoverage:
    r"""Count the modes of a mixture that generated samples cover (to detect GAN mode collapse).

    A sample belongs to mode $k$ when $k$ is its nearest centre and $\lVert x - c_k\rVert \le r$
    (usually $r = 3\sigma$ for mixture components of standard deviation $\sigma$). Mode $k$ is
    covered when it holds at least ``min_fraction`` of the $n$ samples (and at least one):

    $$n_k = \#\{i : \arg\min_j \lVert x_i - c_j\rVert = k,\ \lVert x_i - c_k\rVert \le r\}, \qquad
      \text{covered} = \#\{k : n_k \ge \max(1, \lceil f n\rceil)\}, \qquad
      \text{quality} = \tfrac1n\textstyle\sum_k n_k.$$

    A generator that has collapsed onto a few modes of the ring of 8 Gaussians covers fewer than 8
    (the measure of Metz et al. 2017 and Srivastava et al. 2017).

    Args:
      samples: generated points, shape ``(n, p)`` (data-set function).
      centers: the mixture's means, shape ``(K, p)``.
      radius: $r > 0$.
      min_fraction: $f \in [0, 1]$, the share of the samples a mode needs to count as covered.

    Returns:
      ``ModeCoverage(counts, covered, quality)``: ``counts`` $n_k$ of shape ``(K,)`` (int32),
      ``covered`` an int32 scalar in $[0, K]$, ``quality`` the fraction of samples within $r$ of a centre.

    Raises:
      TypeError: if an argument is not floating.
      ValueError: if the widths differ, `radius` is not positive or `min_fraction` is outside $[0, 1]$.

    References:
      [MEDL] Ch. 8, Sec. 8.3 (mode collapse); Metz et al. (2017), "Unrolled GANs", Sec. 3.1;
      Srivastava et al. (2017), "VEEGAN", Sec. 5.
    """
    func = checks.public_name(mode_coverage)
    checks.check_positive(func, "radius", radius)
    checks.check_range(func, "min_fraction", min_fraction, 0.0, 1.0)
    d2 = jnp.sum((samples[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
    nearest = jnp.argmin(d2, axis=1)
    near = jnp.min(d2, axis=1) <= radius**2
    K = centers.shape[0]
    counts = jnp.sum((nearest[:, None] == jnp.arange(K)[None, :]) & near[:, None], axis=0).astype(jnp.int32)
    need = max(1, math.ceil(min_fraction * samples.shape[0]))
    covered = jnp.sum(counts >= need).astype(jnp.int32)
    return ModeCoverage(counts, covered, jnp.mean(near.astype(samples.dtype)))
