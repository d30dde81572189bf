r"""The variational autoencoder's objective on ONE example: an MLP encoder $q_\phi(z \mid x)$ and
decoder $p_\theta(x \mid z)$, the reparameterisation trick and the closed-form diagonal KL.
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.info import gaussian_kl_diag
from mathdl.layers import DenseParams, one_example
from mathdl.losses import binary_cross_entropy_with_logits
from mathdl.models import init_mlp, mlp

__all__ = ["VAELoss", "VAEParams", "init_vae", "reparameterize", "vae_decode", "vae_encode", "vae_loss", "vae_sample"]

_LIKELIHOODS = ("gaussian", "bernoulli")


class VAEParams(NamedTuple):
    """Parameters of a VAE: two MLPs as tuples of ``DenseParams``.

    ``encoder`` maps $x \\in \\mathbb{R}^p$ to $(\\mu, \\log\\sigma^2) \\in \\mathbb{R}^{2m}$ (means first);
    ``decoder`` maps $z \\in \\mathbb{R}^m$ to the decoder's mean (Gaussian) or logits (Bernoulli) in
    $\\mathbb{R}^p$.
    """

    encoder: tuple[DenseParams, ...]
    decoder: tuple[DenseParams, ...]


class VAELoss(NamedTuple):
    """The negative ELBO of one example and its two terms: ``loss = reconstruction + beta * kl``."""

    loss: jax.Array
    reconstruction: jax.Array
    kl: jax.Array


def _vae_params(func: str, name: str, params, dims: dict) -> VAEParams:
    if not isinstance(params, VAEParams):
        checks.fail(func, name, "VAEParams(encoder, decoder)", checks.Text(type(params).__name__), exc=TypeError)
    enc, dec = params.encoder, params.decoder
    if not enc or not dec:
        checks.fail(func, name, "non-empty encoder and decoder", checks.Text("an empty network"))
    p, two_m = enc[0].W.shape[1], enc[-1].W.shape[0]
    m, p_out = dec[0].W.shape[1], dec[-1].W.shape[0]
    if two_m != 2 * m or p_out != p:
        got = checks.Text(f"an encoder {p} -> {two_m} and a decoder {m} -> {p_out}")
        checks.fail(func, name, "an encoder p -> 2m and a decoder m -> p", got)
    dims["p"], dims["m"] = p, m
    return params


@checks.inputs(key="key[]")
def init_vae(
    key: jax.Array, p: int, latent_dim: int, hidden: Sequence[int] = (64,), *, init="he_normal", dtype=None
) -> VAEParams:
    r"""Initialise a VAE: an MLP encoder $p \to \text{hidden} \to 2m$, a decoder $m \to \text{hidden reversed} \to p$.

    Args:
      key: a typed PRNG key (split between the two networks).
      p: data dimension $p \ge 1$.
      latent_dim: latent dimension $m \ge 1$.
      hidden: widths of the encoder's hidden layers (the decoder uses them reversed); may be empty.
      init: initialiser name or callable for the weights (see ``mathdl.models.init_mlp``).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``VAEParams(encoder, decoder)``.

    Raises:
      ValueError: if a width is not a positive int.
      TypeError: if `key` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2; Kingma & Welling (2014).
    """
    k_enc, k_dec = jax.random.split(key)
    hidden = tuple(hidden)
    encoder = init_mlp(k_enc, (p, *hidden, 2 * latent_dim), init=init, dtype=dtype)
    decoder = init_mlp(k_dec, (latent_dim, *hidden[::-1], p), init=init, dtype=dtype)
    return VAEParams(encoder, decoder)


@checks.inputs(params=_vae_params, x=one_example("float[p]"))
def vae_encode(params: VAEParams, x: jax.Array, *, activation="relu") -> tuple[jax.Array, jax.Array]:
    r"""The encoder $q_\phi(z \mid x) = \mathcal{N}(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))$ of one example.

    Args:
      params: ``VAEParams`` (from :func:`init_vae`).
      x: ONE example, shape ``(p,)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation of the MLP (name or callable).

    Returns:
      ``(mu, log_var)``, each of shape ``(m,)``: the mean and the log-variance $\log\sigma^2$.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `x` is not floating.
      ValueError: if the shapes do not fit.

    References:
      [MEDL] Ch. 8, Sec. 8.1.
    """
    h = mlp(params.encoder, x, activation=activation)
    m = h.shape[0] // 2
    return h[:m], h[m:]


@checks.inputs(params=_vae_params, z=one_example("float[m]"))
def vae_decode(params: VAEParams, z: jax.Array, *, activation="relu") -> jax.Array:
    r"""The decoder's output for one latent $z$: the mean of $p_\theta(x \mid z)$ (Gaussian) or its logits (Bernoulli).

    In production, draw $z^\star \sim \mathcal{N}(0, I)$ and decode it to get $x^\star$.

    Args:
      params: ``VAEParams``.
      z: ONE latent vector, shape ``(m,)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation of the MLP.

    Returns:
      Shape ``(p,)``; apply ``jax.nn.sigmoid`` for Bernoulli means.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `z` is not floating.
      ValueError: if the shapes do not fit.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2.
    """
    return mlp(params.decoder, z, activation=activation)


@checks.inputs(key="key[]", mu="float[*s]", log_var="float[*s]")
def reparameterize(key: jax.Array, mu: jax.Array, log_var: jax.Array) -> jax.Array:
    r"""The reparameterisation trick, $z = \mu + \sigma \odot \varepsilon$ with $\varepsilon \sim \mathcal{N}(0, I)$.

    $\sigma = \exp(\tfrac12 \log\sigma^2)$, so $z$ is a differentiable function of $(\mu, \log\sigma^2)$
    and the randomness sits in $\varepsilon$ alone.

    Args:
      key: a typed PRNG key.
      mu: means, any shape (broadcasting function).
      log_var: log-variances, the same shape.

    Returns:
      One sample $z$ with the shape and dtype of `mu`.

    Raises:
      TypeError: if an argument is not floating (or `key` not a typed key).
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Kingma & Welling (2014), Sec. 2.4.
    """
    eps = jax.random.normal(key, mu.shape, mu.dtype)
    return mu + jnp.exp(0.5 * log_var) * eps


def _reconstruction(func: str, likelihood: str, out: jax.Array, x: jax.Array, obs_var: float) -> jax.Array:
    """-log p(x | z) summed over the p coordinates."""
    if likelihood == "gaussian":
        r = x - out
        return 0.5 * jnp.sum(r * r) / obs_var + 0.5 * x.shape[0] * math.log(2 * math.pi * obs_var)
    return jnp.sum(binary_cross_entropy_with_logits(out, x))


@checks.inputs(key="key[]", params=_vae_params, x=one_example("float[p]"))
def vae_loss(
    key: jax.Array,
    params: VAEParams,
    x: jax.Array,
    *,
    likelihood: str = "gaussian",
    beta: float = 1.0,
    obs_var: float = 1.0,
    activation="relu",
) -> VAELoss:
    r"""The (beta-)VAE loss of one example, a one-sample estimate of the negative ELBO.

    $$\mathcal{C}(x) = -\log p_\theta(x \mid z)
      + \beta\, D_{\mathrm{KL}}\big(q_\phi(z \mid x)\,\|\,\mathcal{N}(0, I)\big),
      \qquad z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon,$$

    with the KL in closed form ($-\tfrac12\sum_j(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2)$, from
    :func:`mathdl.info.gaussian_kl_diag`). $\beta = 1$ is the VAE (then $-\mathcal{C}$ is an unbiased
    ELBO estimate); $\beta > 1$ the beta-VAE. Likelihoods:

    * ``"gaussian"``: $p_\theta(x \mid z) = \mathcal{N}(x; \hat x(z), \sigma_x^2 I)$ with fixed
      $\sigma_x^2$ = `obs_var`: $\frac{1}{2\sigma_x^2}\lVert x - \hat x\rVert^2 + \frac p2\log(2\pi\sigma_x^2)$
      (squared error up to constants);
    * ``"bernoulli"``: the decoder gives logits $\ell$, and the term is the binary cross-entropy
      $\sum_j \operatorname{softplus}(\ell_j) - x_j \ell_j$, for $x \in [0, 1]^p$.

    Args:
      key: a typed PRNG key (the $\varepsilon$ of the reparameterisation).
      params: ``VAEParams`` (from :func:`init_vae`).
      x: ONE example, shape ``(p,)`` (one-example function: ``jax.vmap`` with split keys for a batch).
      likelihood: ``"gaussian"`` or ``"bernoulli"``.
      beta: the weight $\beta \ge 0$ of the KL term.
      obs_var: the Gaussian decoder's variance $\sigma_x^2 > 0$.
      activation: hidden activation of both MLPs.

    Returns:
      ``VAELoss(loss, reconstruction, kl)``, three scalars in nats; differentiate ``.loss``.

    Raises:
      TypeError: if `params` is not ``VAEParams``, `x` is not floating or `key` not a typed key.
      ValueError: on mismatched shapes, an unknown `likelihood`, a negative `beta` or a
        non-positive `obs_var`.

    References:
      [MEDL] Ch. 8, Sec. 8.1 and App. B.2; Kingma & Welling (2014); Higgins et al. (2017), "beta-VAE".
    """
    func = checks.public_name(vae_loss)
    checks.check_choice(func, "likelihood", likelihood, _LIKELIHOODS)
    checks.check_positive(func, "beta", beta, strict=False)
    checks.check_positive(func, "obs_var", obs_var)
    mu, log_var = vae_encode(params, x, activation=activation)
    z = reparameterize(key, mu, log_var)
    out = vae_decode(params, z, activation=activation)
    rec = _reconstruction(func, likelihood, out, x, obs_var)
    kl = gaussian_kl_diag(mu, log_var)
    return VAELoss(rec + beta * kl, rec, kl)


@checks.inputs(key="key[]", params=_vae_params)
def vae_sample(key: jax.Array, params: VAEParams, *, likelihood: str = "gaussian", activation="relu") -> jax.Array:
    r"""Generate one example: $z^\star \sim \mathcal{N}(0, I)$, decoded to the mean of $p_\theta(x \mid z^\star)$.

    The mean is the decoder's output for ``"gaussian"`` and $\sigma(\text{logits})$ for
    ``"bernoulli"`` (the usual way to show a VAE's samples; draw from $p_\theta(x \mid z^\star)$
    yourself for a full sample).

    Args:
      key: a typed PRNG key (the latent $z^\star$); ``jax.vmap`` over split keys for many.
      params: ``VAEParams``.
      likelihood: ``"gaussian"`` or ``"bernoulli"``.
      activation: hidden activation of the decoder.

    Returns:
      Shape ``(p,)``, in the dtype of the parameters.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `key` not a typed key.
      ValueError: on an unknown `likelihood`.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2 (production mode).
    """
    checks.check_choice(checks.public_name(vae_sample), "likelihood", likelihood, _LIKELIHOODS)
    W = params.decoder[0].W
    z = jax.random.normal(key, (W.shape[1],), W.dtype)
    out = vae_decode(params, z, activation=activation)
    return out if likelihood == "gaussian" else jax.nn.sigmoid(out)
