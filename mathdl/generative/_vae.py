r"""The variational autoencoder's objective on ONE example: an encoder $q_\phi(z \mid x)$ and a
decoder $p_\theta(x \mid z)$, the reparameterisation trick and the closed-form diagonal KL.

The networks are MLPs on vectors ``(p,)`` (:func:`init_vae`) or convolutional on images
``(H, W, C)`` (:func:`init_conv_vae`, with :func:`mathdl.models.conv_encoder` and
:func:`mathdl.models.conv_decoder`); every function here takes either.
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
from mathdl.models import (
    ConvDecoderParams,
    ConvEncoderParams,
    conv_decoder,
    conv_encoder,
    init_conv_decoder,
    init_conv_encoder,
    init_mlp,
    mlp,
)

__all__ = [
    "VAELoss",
    "VAEParams",
    "init_conv_vae",
    "init_vae",
    "reparameterize",
    "vae_decode",
    "vae_encode",
    "vae_loss",
    "vae_sample",
]

_LIKELIHOODS = ("gaussian", "bernoulli")


class VAEParams(NamedTuple):
    """Parameters of a VAE: two MLPs as tuples of ``DenseParams``, or a conv encoder and decoder.

    ``encoder`` maps $x$ (``(p,)``, or an image ``(H, W, C)`` for ``ConvEncoderParams``) to
    $(\\mu, \\log\\sigma^2) \\in \\mathbb{R}^{2m}$ (means first); ``decoder`` maps
    $z \\in \\mathbb{R}^m$ to the decoder's mean (Gaussian) or logits (Bernoulli), of $x$'s shape.
    """

    encoder: tuple[DenseParams, ...] | ConvEncoderParams
    decoder: tuple[DenseParams, ...] | ConvDecoderParams


class VAELoss(NamedTuple):
    """The negative ELBO of one example and its two terms: ``loss = reconstruction + beta * kl``."""

    loss: jax.Array
    reconstruction: jax.Array
    kl: jax.Array


def _vae_params(func: str, name: str, params, dims: dict) -> VAEParams:
    if not isinstance(params, VAEParams):
        checks.fail(func, name, "VAEParams(encoder, decoder)", checks.Text(type(params).__name__), exc=TypeError)
    enc, dec = params.encoder, params.decoder
    if isinstance(enc, ConvEncoderParams) or isinstance(dec, ConvDecoderParams):
        return _conv_vae_params(func, name, params, dims)
    if not enc or not dec:
        checks.fail(func, name, "non-empty encoder and decoder", checks.Text("an empty network"))
    p, two_m = enc[0].W.shape[1], enc[-1].W.shape[0]
    m, p_out = dec[0].W.shape[1], dec[-1].W.shape[0]
    if two_m != 2 * m or p_out != p:
        got = checks.Text(f"an encoder {p} -> {two_m} and a decoder {m} -> {p_out}")
        checks.fail(func, name, "an encoder p -> 2m and a decoder m -> p", got)
    dims["p"], dims["m"], dims["vae_conv"] = p, m, False
    return params


def _conv_vae_params(func: str, name: str, params: VAEParams, dims: dict) -> VAEParams:
    enc, dec = params.encoder, params.decoder
    if not (isinstance(enc, ConvEncoderParams) and isinstance(dec, ConvDecoderParams)):
        got = checks.Text(f"{type(enc).__name__} and {type(dec).__name__}")
        checks.fail(func, name, "a ConvEncoderParams encoder with a ConvDecoderParams decoder", got, exc=TypeError)
    L_e, L_d = len(enc.convs), len(dec.ups)
    in_shape = (enc.head.W.shape[0] * 2**L_e, enc.head.W.shape[1] * 2**L_e, enc.convs[0].W.shape[2])
    out_shape = (dec.project.W.shape[0] * 2**L_d, dec.project.W.shape[1] * 2**L_d, dec.ups[-1].W.shape[3])
    two_m, m = enc.head.W.shape[3], dec.project.W.shape[2]
    if two_m != 2 * m or in_shape != out_shape:
        got = checks.Text(f"an encoder {in_shape} -> {two_m} and a decoder {m} -> {out_shape}")
        checks.fail(func, name, "an encoder (H, W, C) -> 2m and a decoder m -> (H, W, C)", got)
    dims["x_shape"], dims["m"], dims["vae_conv"] = in_shape, m, True
    return params


def _vae_input(func: str, name: str, value, dims: dict):
    """``checks.inputs`` spec: ONE example, ``(p,)`` for an MLP VAE or the image ``(H, W, C)`` of a conv VAE."""
    if not dims.get("vae_conv"):
        return one_example("float[p]")(func, name, value, dims)
    shape = dims["x_shape"]
    value = checks.conform(func, name, value, "float[*shape]")
    if value.ndim > 3:
        got = checks.Text(f"shape {tuple(value.shape)} (rank {value.ndim})")
        checks.fail(func, name, f"one image of shape {shape}; for a batch use jax.vmap", got)
    if tuple(value.shape) != shape:
        checks.fail(func, name, f"one image of shape {shape}", checks.Text(f"shape {tuple(value.shape)}"))
    return value


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


@checks.inputs(key="key[]")
def init_conv_vae(key: jax.Array, input_shape, latent_dim: int, *, widths=(32, 64), dtype=None) -> VAEParams:
    r"""Initialise a convolutional VAE for images: encoder $(H, W, C) \to 2m$, decoder $m \to (H, W, C)$.

    The encoder is :func:`mathdl.models.init_conv_encoder` with widths $(w_0, \dots, w_{L-1})$ and
    ``out_dim = 2m``; the decoder :func:`mathdl.models.init_conv_decoder` with the widths reversed.
    For 8x8 digits and 28x28 MNIST, two levels (the default) give 2x2 and 7x7 feature maps.

    Args:
      key: a typed PRNG key (split between the two networks).
      input_shape: ``(H, W, C)``, $H$ and $W$ divisible by $2^L$.
      latent_dim: latent dimension $m \ge 1$.
      widths: the encoder's channel widths (at least one).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``VAEParams(ConvEncoderParams, ConvDecoderParams)``, accepted by every function here.

    Raises:
      ValueError: if a width or size is not a positive int, or $H$, $W$ not divisible by $2^L$.
      TypeError: if `key` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2; Kingma & Welling (2014); Radford, Metz & Chintala (2016).
    """
    k_enc, k_dec = jax.random.split(key)
    widths = tuple(widths)
    encoder = init_conv_encoder(k_enc, input_shape, 2 * latent_dim, widths=widths, dtype=dtype)
    decoder = init_conv_decoder(k_dec, latent_dim, input_shape, widths=widths[::-1], dtype=dtype)
    return VAEParams(encoder, decoder)


def _encode(params: VAEParams, x, activation):
    if isinstance(params.encoder, ConvEncoderParams):
        return conv_encoder(params.encoder, x, activation=activation)
    return mlp(params.encoder, x, activation=activation)


def _decode(params: VAEParams, z, activation):
    if isinstance(params.decoder, ConvDecoderParams):
        return conv_decoder(params.decoder, z, activation=activation)
    return mlp(params.decoder, z, activation=activation)


def _latent_dim(params: VAEParams) -> tuple[int, jnp.dtype]:
    if isinstance(params.decoder, ConvDecoderParams):
        W = params.decoder.project.W
        return W.shape[2], W.dtype
    W = params.decoder[0].W
    return W.shape[1], W.dtype


@checks.inputs(params=_vae_params, x=_vae_input)
def vae_encode(params: VAEParams, x: jax.Array, *, activation="relu") -> tuple[jax.Array, jax.Array]:
    r"""The encoder $q_\phi(z \mid x) = \mathcal{N}(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))$ of one example.

    Args:
      params: ``VAEParams`` (from :func:`init_vae`).
      x: ONE example, shape ``(p,)``, or ``(H, W, C)`` for a conv VAE (one-example function:
        ``jax.vmap`` for a batch).
      activation: hidden activation of the encoder (name or callable).

    Returns:
      ``(mu, log_var)``, each of shape ``(m,)``: the mean and the log-variance $\log\sigma^2$.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `x` is not floating.
      ValueError: if the shapes do not fit.

    References:
      [MEDL] Ch. 8, Sec. 8.1.
    """
    h = _encode(params, x, activation)
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
      Shape ``(p,)`` (``(H, W, C)`` for a conv VAE); apply ``jax.nn.sigmoid`` for Bernoulli means.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `z` is not floating.
      ValueError: if the shapes do not fit.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2.
    """
    return _decode(params, z, activation)


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
    """-log p(x | z) summed over every coordinate of x."""
    if likelihood == "gaussian":
        r = x - out
        return 0.5 * jnp.sum(r * r) / obs_var + 0.5 * x.size * math.log(2 * math.pi * obs_var)
    return jnp.sum(binary_cross_entropy_with_logits(out, x))


@checks.inputs(key="key[]", params=_vae_params, x=_vae_input)
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
      x: ONE example, shape ``(p,)``, or the image ``(H, W, C)`` of a conv VAE (one-example
        function: ``jax.vmap`` with split keys for a batch). Sums run over every coordinate.
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
    h = _encode(params, x, activation)
    m = h.shape[0] // 2
    mu, log_var = h[:m], h[m:]
    z = reparameterize(key, mu, log_var)
    out = _decode(params, z, activation)
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
      Shape ``(p,)`` (``(H, W, C)`` for a conv VAE), in the dtype of the parameters.

    Raises:
      TypeError: if `params` is not ``VAEParams`` or `key` not a typed key.
      ValueError: on an unknown `likelihood`.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2 (production mode).
    """
    checks.check_choice(checks.public_name(vae_sample), "likelihood", likelihood, _LIKELIHOODS)
    m, dtype = _latent_dim(params)
    z = jax.random.normal(key, (m,), dtype)
    out = _decode(params, z, activation)
    return out if likelihood == "gaussian" else jax.nn.sigmoid(out)
