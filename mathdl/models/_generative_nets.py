r"""Networks of the generative models ([MEDL] Ch. 8, Sec. 8.1-8.3), as init/apply pairs on ONE example.

* Convolutional encoder and decoder for images ``(H, W, C)`` (the VAE's $q_\phi(z \mid x)$ and
  $p_\theta(x \mid z)$ on 8x8 digits or 28x28 MNIST; also a GAN's discriminator and generator,
  DCGAN style): 4x4 stride-2 convolutions halve the resolution, 4x4 stride-2 transposed
  convolutions double it, and a full-size kernel maps between the smallest feature map and a
  vector (a "valid" convolution down to 1x1, a transposed one up from 1x1).
* Time-conditioned denoisers $\hat\varepsilon = f_\theta(z_t, t)$ for diffusion: an MLP on
  $[z_t; r(t)]$ for vectors, with $r(t)$ the sinusoidal embedding of the step
  (:func:`mathdl.layers.sinusoidal_positions`, the one of transformers), and a small U-Net
  (:func:`mathdl.models.unet`) for images whose input carries the embedding, projected to a few
  channels, as extra constant channels.
* MLP generator $f^G_\theta(z)$ and discriminator (or Wasserstein critic) $f^D_\phi(x)$, which
  returns one logit (the GAN losses take logits).

Each apply function takes ONE example and refuses a batch (use ``jax.vmap``).
"""

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.layers import (
    Conv2dParams,
    DenseParams,
    conv2d,
    conv_transpose2d,
    dense,
    init_conv2d,
    init_conv_transpose2d,
    init_dense,
    one_example,
    sinusoidal_positions,
)
from mathdl.models._image import one_image, positive_int, positive_ints
from mathdl.models._mlp import init_mlp, mlp, resolve_activations
from mathdl.models._unet import UNetParams, init_unet, unet

__all__ = [
    "ConvDecoderParams",
    "ConvEncoderParams",
    "MLPDenoiserParams",
    "UNetDenoiserParams",
    "conv_decoder",
    "conv_discriminator",
    "conv_encoder",
    "init_conv_decoder",
    "init_conv_discriminator",
    "init_conv_encoder",
    "init_mlp_denoiser",
    "init_mlp_discriminator",
    "init_mlp_generator",
    "init_unet_denoiser",
    "mlp_denoiser",
    "mlp_discriminator",
    "mlp_generator",
    "time_embedding",
    "unet_denoiser",
]


# ------------------------------------------------------------------ convolutional encoder / decoder


class ConvEncoderParams(NamedTuple):
    """Parameters of :func:`conv_encoder`.

    Attributes:
      convs: the 4x4 stride-2 convolutions $C \\to w_0 \\to \\dots \\to w_{L-1}$ (HWIO kernels).
      head: the "valid" convolution whose kernel covers the whole $H/2^L \\times W/2^L$ map,
        $w_{L-1} \\to$ ``out_dim`` (a dense layer on the flattened map).
    """

    convs: tuple[Conv2dParams, ...]
    head: Conv2dParams


class ConvDecoderParams(NamedTuple):
    """Parameters of :func:`conv_decoder`.

    Attributes:
      project: transposed convolution from the latent as a 1x1 image with $m$ channels to the
        $H/2^L \\times W/2^L$ map with $w_0$ channels (kernel of that size).
      ups: the 4x4 stride-2 transposed convolutions $w_0 \\to \\dots \\to w_{L-1} \\to C$.
    """

    project: Conv2dParams
    ups: tuple[Conv2dParams, ...]


def _image_shape(func: str, name: str, shape, levels: int) -> tuple[int, int, int]:
    if isinstance(shape, str) or not hasattr(shape, "__len__") or len(shape) != 3:
        checks.fail(func, name, "an image shape (H, W, C)", checks.Text(repr(shape)))
    H, W, C = positive_ints(func, name, shape)
    if H % 2**levels or W % 2**levels:
        checks.fail(func, name, f"H and W divisible by 2^L = {2**levels} (L = {levels} stride-2 levels)", (H, W, C))
    return H, W, C


def _hidden(func: str, activation):
    return resolve_activations(func, activation, 2)[0]


def init_conv_encoder(key: jax.Array, input_shape, out_dim: int, *, widths=(32, 64), dtype=None) -> ConvEncoderParams:
    r"""Initialise a convolutional encoder $x \in \mathbb{R}^{H \times W \times C} \mapsto \mathbb{R}^{d}$.

    Level $\ell$ is a 4x4 convolution with stride 2 and padding 1 to $w_\ell$ channels (halving $H$
    and $W$), followed by the hidden activation; the head is a convolution whose kernel is the
    whole $H/2^L \times W/2^L$ map, to ``out_dim`` outputs (He-normal kernels, zero biases).

    Args:
      key: a typed PRNG key.
      input_shape: ``(H, W, C)`` with $H$ and $W$ divisible by $2^L$ (8x8: $L \le 3$; 28x28: $L \le 2$).
      out_dim: $d$ (``2 m`` for a VAE encoder's $(\mu, \log\sigma^2)$, 1 for a discriminator).
      widths: $(w_0, \dots, w_{L-1})$, at least one positive int.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      :class:`ConvEncoderParams`.

    Raises:
      ValueError: on a bad shape, width or `out_dim`.
      TypeError: if `widths` is not a sequence.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2 (encoder); Ch. 6, Sec. 6.3 (strided convolution); Radford,
      Metz & Chintala (2016), "DCGAN".
    """
    func = checks.public_name(init_conv_encoder)
    widths = positive_ints(func, "widths", widths)
    out_dim = positive_int(func, "out_dim", out_dim)
    H, W, C = _image_shape(func, "input_shape", input_shape, len(widths))
    keys = jax.random.split(key, len(widths) + 1)
    chans = (C, *widths)
    convs = tuple(
        init_conv2d(k, a, b, 4, dtype=dtype) for k, a, b in zip(keys[:-1], chans[:-1], chans[1:], strict=True)
    )
    L = len(widths)
    head = init_conv2d(keys[-1], widths[-1], out_dim, (H // 2**L, W // 2**L), dtype=dtype)
    return ConvEncoderParams(convs, head)


def _encoder_fits(func: str, name: str, params, dims):
    if not isinstance(params, ConvEncoderParams):
        checks.fail(
            func, name, "ConvEncoderParams (from init_conv_encoder)", checks.Text(type(params).__name__), exc=TypeError
        )
    return params


def _check_encoder_input(func: str, params: ConvEncoderParams, x: jax.Array) -> None:
    L = len(params.convs)
    kh, kw = params.head.W.shape[:2]
    want = (kh * 2**L, kw * 2**L, params.convs[0].W.shape[2])
    if tuple(x.shape) != want:
        checks.fail(func, "x", f"an image of shape {want} (the encoder's input shape)", checks.Text(f"shape {x.shape}"))


def _encode(params: ConvEncoderParams, x, act):
    for p in params.convs:
        x = act(conv2d(p, x, stride=2, padding=1))
    return conv2d(params.head, x).reshape(-1)


@checks.inputs(params=_encoder_fits, x=one_image)
def conv_encoder(params: ConvEncoderParams, x: jax.Array, *, activation="relu") -> jax.Array:
    r"""Convolutional encoder of one image: $L$ strided convolutions, then a full-map kernel to $d$ outputs.

    $$a^{[\ell]} = S\big(W^{[\ell]} \star_{2} a^{[\ell-1]} + b^{[\ell]}\big),\quad a^{[0]} = x, \qquad
      y = \operatorname{vec}\big(W^{\text{head}} \star a^{[L]} + b^{\text{head}}\big) \in \mathbb{R}^d,$$

    with $\star_2$ the 4x4 cross-correlation with stride 2 and padding 1. The output is linear
    (split it into $(\mu, \log\sigma^2)$ for a VAE; it is a logit for a discriminator).

    Args:
      params: :class:`ConvEncoderParams` (from :func:`init_conv_encoder`).
      x: ONE image, shape ``(H, W, C)``, the shape the encoder was built for (one-example
        function: ``jax.vmap`` for a batch).
      activation: hidden activation (name or callable; ``"leaky_relu"`` for a discriminator).

    Returns:
      Shape ``(d,)``.

    Raises:
      ValueError: if `x` is a batch (use ``jax.vmap``) or not of the encoder's input shape.
      TypeError: if `params` is not :class:`ConvEncoderParams` or `x` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2; Ch. 6, Sec. 6.3.
    """
    func = checks.public_name(conv_encoder)
    _check_encoder_input(func, params, x)
    return _encode(params, x, _hidden(func, activation))


def init_conv_decoder(
    key: jax.Array, latent_dim: int, output_shape, *, widths=(64, 32), dtype=None
) -> ConvDecoderParams:
    r"""Initialise a convolutional decoder $z \in \mathbb{R}^m \mapsto \mathbb{R}^{H \times W \times C}$.

    The latent, seen as a 1x1 image with $m$ channels, goes through a transposed convolution with
    an $H/2^L \times W/2^L$ kernel to $w_0$ channels, then $L$ transposed 4x4 convolutions with
    stride 2 and padding 1 (each doubling $H$ and $W$) to $w_1, \dots, w_{L-1}$ and finally $C$
    channels (He-normal kernels, zero biases).

    Args:
      key: a typed PRNG key.
      latent_dim: $m$.
      output_shape: ``(H, W, C)`` with $H$ and $W$ divisible by $2^L$, $L$ = ``len(widths)``.
      widths: $(w_0, \dots, w_{L-1})$, at least one positive int.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`ConvDecoderParams`.

    Raises:
      ValueError: on a bad shape, width or `latent_dim`.
      TypeError: if `widths` is not a sequence.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2 (decoder); Ch. 6, Sec. 6.6 (transposed convolution);
      Radford, Metz & Chintala (2016), "DCGAN".
    """
    func = checks.public_name(init_conv_decoder)
    widths = positive_ints(func, "widths", widths)
    latent_dim = positive_int(func, "latent_dim", latent_dim)
    L = len(widths)
    H, W, C = _image_shape(func, "output_shape", output_shape, L)
    keys = jax.random.split(key, L + 1)
    project = init_conv_transpose2d(keys[0], latent_dim, widths[0], (H // 2**L, W // 2**L), dtype=dtype)
    chans = (*widths, C)
    ups = tuple(
        init_conv_transpose2d(k, a, b, 4, dtype=dtype) for k, a, b in zip(keys[1:], chans[:-1], chans[1:], strict=True)
    )
    return ConvDecoderParams(project, ups)


def _decoder_fits(func: str, name: str, params, dims):
    if not isinstance(params, ConvDecoderParams):
        checks.fail(
            func, name, "ConvDecoderParams (from init_conv_decoder)", checks.Text(type(params).__name__), exc=TypeError
        )
    dims["m"] = params.project.W.shape[2]
    return params


def _decode(params: ConvDecoderParams, z, act):
    x = act(conv_transpose2d(params.project, z.reshape(1, 1, -1)))
    for i, p in enumerate(params.ups):
        x = conv_transpose2d(p, x, stride=2, padding=1)
        if i < len(params.ups) - 1:
            x = act(x)
    return x


@checks.inputs(params=_decoder_fits, z=one_example("float[m]"))
def conv_decoder(params: ConvDecoderParams, z: jax.Array, *, activation="relu") -> jax.Array:
    r"""Convolutional decoder of one latent vector to an image (a VAE decoder or a DCGAN generator).

    $$a^{[0]} = S\big(W^{\text{proj}} \star^\top z + b^{\text{proj}}\big), \qquad
      a^{[\ell]} = S\big(W^{[\ell]} \star^\top_2 a^{[\ell-1]} + b^{[\ell]}\big),$$

    with $\star^\top_2$ the transposed 4x4 convolution with stride 2 and padding 1, and no
    activation after the last one: the output is the Gaussian mean or the Bernoulli logits of
    every pixel (apply ``jax.nn.sigmoid`` or ``jnp.tanh`` yourself for images in a range).

    Args:
      params: :class:`ConvDecoderParams` (from :func:`init_conv_decoder`).
      z: ONE latent vector, shape ``(m,)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation (name or callable).

    Returns:
      Shape ``(H, W, C)``.

    Raises:
      ValueError: if `z` is a batch (use ``jax.vmap``) or its length is not $m$.
      TypeError: if `params` is not :class:`ConvDecoderParams` or `z` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.1, Fig. 8.2; Ch. 6, Sec. 6.6.
    """
    return _decode(params, z, _hidden(checks.public_name(conv_decoder), activation))


def init_conv_discriminator(key: jax.Array, input_shape, *, widths=(32, 64), dtype=None) -> ConvEncoderParams:
    r"""Initialise a DCGAN-style discriminator: :func:`init_conv_encoder` with one output.

    Args:
      key: a typed PRNG key.
      input_shape: ``(H, W, C)``, $H$ and $W$ divisible by $2^L$.
      widths: $(w_0, \dots, w_{L-1})$.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`ConvEncoderParams` with ``out_dim = 1``.

    Raises:
      ValueError: as :func:`init_conv_encoder`.
      TypeError: as :func:`init_conv_encoder`.

    References:
      [MEDL] Ch. 8, Sec. 8.3, Fig. 8.6; Radford, Metz & Chintala (2016).
    """
    return init_conv_encoder(key, input_shape, 1, widths=widths, dtype=dtype)


@checks.inputs(params=_encoder_fits, x=one_image)
def conv_discriminator(params: ConvEncoderParams, x: jax.Array, *, activation="leaky_relu") -> jax.Array:
    r"""The discriminator's logit $\ell(x)$ of one image, $f^D_\phi(x) = \sigma(\ell(x))$ (or a critic's value).

    Args:
      params: :class:`ConvEncoderParams` with one output (from :func:`init_conv_discriminator`).
      x: ONE image ``(H, W, C)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation (leaky ReLU, slope 0.01, by default).

    Returns:
      A scalar logit.

    Raises:
      ValueError: if `x` is a batch or of the wrong shape, or the head has more than one output.
      TypeError: if `params` is not :class:`ConvEncoderParams` or `x` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Radford, Metz & Chintala (2016).
    """
    func = checks.public_name(conv_discriminator)
    if params.head.W.shape[-1] != 1:
        checks.fail(func, "params", "a head with one output", checks.Text(f"{params.head.W.shape[-1]} outputs"))
    _check_encoder_input(func, params, x)
    return _encode(params, x, _hidden(func, activation))[0]


# ------------------------------------------------------------------ time embedding and denoisers


def _check_step(func: str, t: jax.Array, max_steps: int):
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        checks.fail(func, "max_steps", "a positive Python int", max_steps)
    ok = (t >= 0) & (t < max_steps)
    return ok, jnp.clip(t, 0, max_steps - 1)


@functools.lru_cache(maxsize=32)
def _table(max_steps: int, dim: int, dtype_name: str) -> np.ndarray:
    """The ``(max_steps, dim)`` sinusoid table as a NumPy constant: computed once, outside any trace, so a
    compiled step or a scanned sampler gathers one row instead of recomputing the table at every call."""
    with jax.ensure_compile_time_eval():
        return np.asarray(sinusoidal_positions(max_steps, dim, dtype=dtype_name))


def _embed(t, dim, max_steps, dtype):
    return jnp.asarray(_table(max_steps, dim, jnp.dtype(dtype).name))[t]


@checks.inputs(t="int[]")
def time_embedding(t, dim: int, *, max_steps: int = 1000, dtype=None) -> jax.Array:
    r"""The sinusoidal embedding $r(t)$ of a diffusion step, row $t$ of :func:`mathdl.layers.sinusoidal_positions`.

    $r(t)_{2i} = \sin(t / M^{2i/d})$, $r(t)_{2i+1} = \cos(t / M^{2i/d})$ with $M = 10^4$: the
    positional encoding of transformers with the step as the position (Ho et al., 2020, App. B).

    Args:
      t: the 0-based step, an integer scalar in ``[0, max_steps)`` (may be traced).
      dim: embedding width $d$.
      max_steps: the size of the table (at least the schedule's $T$).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Shape ``(dim,)``. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside ``[0, max_steps)``; on a bad `dim` or `max_steps`.
      TypeError: if `t` is not an integer.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.29); Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), App. B.
    """
    func = checks.public_name(time_embedding)
    ok, ts = _check_step(func, t, max_steps)
    dtype = jnp.result_type(float) if dtype is None else dtype
    out = _embed(ts, positive_int(func, "dim", dim), max_steps, dtype)
    return checks.ensure(ok, out, func, "t", f"steps in [0, {max_steps})", checks.first_bad(t, ok))


class MLPDenoiserParams(NamedTuple):
    """Parameters of :func:`mlp_denoiser`: an MLP $(p + d) \\to \\text{hidden} \\to p$ (``DenseParams`` tuple).

    The embedding width $d$ is read from the first layer: ``mlp[0].W.shape[1] - p``.
    """

    mlp: tuple[DenseParams, ...]


def init_mlp_denoiser(
    key: jax.Array, p: int, *, hidden: Sequence[int] = (128, 128), time_dim: int = 32, dtype=None
) -> MLPDenoiserParams:
    r"""Initialise a time-conditioned MLP denoiser for vectors $z_t \in \mathbb{R}^p$ (2-D toys).

    Args:
      key: a typed PRNG key.
      p: data dimension.
      hidden: widths of the hidden layers (at least one).
      time_dim: width $d$ of the sinusoidal step embedding.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`MLPDenoiserParams`.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020).
    """
    func = checks.public_name(init_mlp_denoiser)
    p = positive_int(func, "p", p)
    time_dim = positive_int(func, "time_dim", time_dim)
    hidden = positive_ints(func, "hidden", hidden)
    return MLPDenoiserParams(init_mlp(key, (p + time_dim, *hidden, p), dtype=dtype))


def _mlp_denoiser_fits(func: str, name: str, params, dims):
    if not isinstance(params, MLPDenoiserParams):
        checks.fail(
            func, name, "MLPDenoiserParams (from init_mlp_denoiser)", checks.Text(type(params).__name__), exc=TypeError
        )
    dims["p"] = params.mlp[-1].W.shape[0]
    return params


def _mlp_denoise(params: MLPDenoiserParams, z, t, max_steps, act):
    d = params.mlp[0].W.shape[1] - z.shape[0]
    h = jnp.concatenate([z, _embed(t, d, max_steps, z.dtype)])
    return mlp(params.mlp, h, activation=act)


@checks.inputs(params=_mlp_denoiser_fits, z_t=one_example("float[p]"), t="int[]")
def mlp_denoiser(
    params: MLPDenoiserParams, z_t: jax.Array, t, *, max_steps: int = 1000, activation="silu"
) -> jax.Array:
    r"""A time-conditioned MLP denoiser of one vector, $\hat\varepsilon = f_\theta([z_t;\, r(t)])$.

    $r(t)$ is :func:`time_embedding`; the MLP has linear output (it predicts $\varepsilon$, $x_0$ or
    $v$, whichever it is trained for). Close over the parameters to get the
    ``denoiser(z_t, t)`` that :func:`mathdl.generative.ddpm_loss` and the samplers take.

    Args:
      params: :class:`MLPDenoiserParams`.
      z_t: ONE noisy example, shape ``(p,)`` (one-example function: ``jax.vmap`` for a batch).
      t: its 0-based step, an integer scalar in ``[0, max_steps)``.
      max_steps: the embedding table size (at least the schedule's $T$).
      activation: hidden activation (SiLU by default).

    Returns:
      The prediction, shape ``(p,)``. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside ``[0, max_steps)``; if `z_t` is a batch (use
        ``jax.vmap``) or its length does not fit the network.
      TypeError: if `params` is not :class:`MLPDenoiserParams`, `z_t` not floating or `t` not an integer.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), Sec. 3.2 and App. B.
    """
    func = checks.public_name(mlp_denoiser)
    ok, ts = _check_step(func, t, max_steps)
    out = _mlp_denoise(params, z_t, ts, max_steps, _hidden(func, activation))
    return checks.ensure(ok, out, func, "t", f"steps in [0, {max_steps})", checks.first_bad(t, ok))


class UNetDenoiserParams(NamedTuple):
    """Parameters of :func:`unet_denoiser`.

    Attributes:
      time: ``DenseParams`` from the $d$-wide step embedding to $c_t$ channels.
      unet: :class:`mathdl.models.UNetParams` from $C + c_t$ input channels to $C$ outputs.
    """

    time: DenseParams
    unet: UNetParams


def init_unet_denoiser(
    key: jax.Array, channels: int, *, widths=(16, 32, 64), time_dim: int = 32, time_channels: int = 4, dtype=None
) -> UNetDenoiserParams:
    r"""Initialise a U-Net denoiser for images with $C$ channels.

    Args:
      key: a typed PRNG key.
      channels: $C$ (1 for digits and MNIST).
      widths: the U-Net's $(w_0, \dots, w_L)$ (see :func:`mathdl.models.init_unet`); inputs need
        $H$ and $W$ divisible by $2^L$ (8x8 and 28x28: $L \le 2$).
      time_dim: width $d$ of the sinusoidal step embedding.
      time_channels: $c_t$, channels that carry the step into the U-Net.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`UNetDenoiserParams`.

    Raises:
      ValueError: if a size or width is not a positive int, or fewer than two widths.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ch. 6, Sec. 6.6 (U-Net); Ho, Jain & Abbeel (2020), App. B.
    """
    func = checks.public_name(init_unet_denoiser)
    channels = positive_int(func, "channels", channels)
    time_dim = positive_int(func, "time_dim", time_dim)
    time_channels = positive_int(func, "time_channels", time_channels)
    k_t, k_u = jax.random.split(key)
    time = init_dense(k_t, time_dim, time_channels, init="glorot_normal", dtype=dtype)
    return UNetDenoiserParams(time, init_unet(k_u, channels + time_channels, channels, widths=widths, dtype=dtype))


def _unet_denoiser_fits(func: str, name: str, params, dims):
    if not isinstance(params, UNetDenoiserParams):
        checks.fail(
            func,
            name,
            "UNetDenoiserParams (from init_unet_denoiser)",
            checks.Text(type(params).__name__),
            exc=TypeError,
        )
    return params


def _unet_denoise(params: UNetDenoiserParams, z, t, max_steps):
    c = dense(params.time, _embed(t, params.time.W.shape[1], max_steps, z.dtype))
    H, W, _ = z.shape
    return unet(params.unet, jnp.concatenate([z, jnp.broadcast_to(c, (H, W, c.shape[0]))], axis=-1))


@checks.inputs(params=_unet_denoiser_fits, z_t=one_image, t="int[]")
def unet_denoiser(params: UNetDenoiserParams, z_t: jax.Array, t, *, max_steps: int = 1000) -> jax.Array:
    r"""A time-conditioned U-Net denoiser of one image.

    $$\hat\varepsilon = \mathrm{UNet}_\theta\big(z_t \,\Vert\, \mathbf{1}\,(A\,r(t) + a)\big)$$

    The step embedding $r(t)$ (:func:`time_embedding`) is mapped to $c_t$ numbers, which are
    broadcast over the image as $c_t$ constant channels and concatenated to $z_t$; the U-Net
    (:func:`mathdl.models.unet`, ReLU, max pooling, skips) returns one value per pixel and channel.

    Args:
      params: :class:`UNetDenoiserParams`.
      z_t: ONE noisy image ``(H, W, C)``, $H$ and $W$ divisible by $2^L$ (one-example function:
        ``jax.vmap`` for a batch).
      t: its 0-based step, an integer scalar in ``[0, max_steps)``.
      max_steps: the embedding table size (at least the schedule's $T$).

    Returns:
      The prediction, shape ``(H, W, C)``. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside ``[0, max_steps)``; if `z_t` is a batch (use
        ``jax.vmap``), has other channels or sizes not divisible by $2^L$.
      TypeError: if `params` is not :class:`UNetDenoiserParams`, `z_t` not floating or `t` not an integer.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ronneberger, Fischer & Brox (2015); Ho, Jain & Abbeel (2020), App. B.
    """
    func = checks.public_name(unet_denoiser)
    c_in = params.unet.down[0][0].W.shape[2] - params.time.W.shape[0]
    if z_t.shape[-1] != c_in:
        checks.fail(func, "z_t", f"C = {c_in} channels", checks.Text(f"shape {z_t.shape}"))
    L = len(params.unet.down)
    if z_t.shape[0] % 2**L or z_t.shape[1] % 2**L:
        checks.fail(func, "z_t", f"H and W divisible by 2^L = {2**L}", checks.Text(f"shape {z_t.shape}"))
    ok, ts = _check_step(func, t, max_steps)
    out = _unet_denoise(params, z_t, ts, max_steps)
    return checks.ensure(ok, out, func, "t", f"steps in [0, {max_steps})", checks.first_bad(t, ok))


# ------------------------------------------------------------------ GAN generator and discriminator (MLP)


@checks.inputs(key="key[]")
def init_mlp_generator(
    key: jax.Array, latent_dim: int, p: int, *, hidden: Sequence[int] = (64, 64), dtype=None
) -> tuple[DenseParams, ...]:
    r"""Initialise an MLP generator $f^G_\theta: \mathbb{R}^m \to \mathbb{R}^p$ (widths $m \to$ hidden $\to p$).

    Args:
      key: a typed PRNG key.
      latent_dim: $m$.
      p: data dimension.
      hidden: hidden widths.
      dtype: floating dtype.

    Returns:
      A tuple of ``DenseParams`` (He-normal weights, zero biases).

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 8, Sec. 8.3, Fig. 8.6; Goodfellow et al. (2014).
    """
    return init_mlp(key, (latent_dim, *tuple(hidden), p), dtype=dtype)


@checks.inputs(key="key[]")
def init_mlp_discriminator(
    key: jax.Array, p: int, *, hidden: Sequence[int] = (64, 64), dtype=None
) -> tuple[DenseParams, ...]:
    r"""Initialise an MLP discriminator (or critic) $\mathbb{R}^p \to \mathbb{R}$ (widths $p \to$ hidden $\to 1$).

    Args:
      key: a typed PRNG key.
      p: data dimension.
      hidden: hidden widths.
      dtype: floating dtype.

    Returns:
      A tuple of ``DenseParams`` whose last layer has one output.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 8, Sec. 8.3, Fig. 8.6; Goodfellow et al. (2014).
    """
    return init_mlp(key, (p, *tuple(hidden), 1), dtype=dtype)


def mlp_generator(params: Sequence[DenseParams], z: jax.Array, *, activation="relu") -> jax.Array:
    r"""The generator's sample of one latent, $\tilde x = f^G_\theta(z)$ (an MLP with linear output).

    Args:
      params: from :func:`init_mlp_generator`.
      z: ONE latent, shape ``(m,)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation.

    Returns:
      Shape ``(p,)``.

    Raises:
      ValueError: if `z` is a batch (use ``jax.vmap``) or of the wrong length.
      TypeError: if `params` is not a sequence of ``DenseParams`` or `z` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.3.
    """
    return mlp(params, z, activation=activation)


def mlp_discriminator(params: Sequence[DenseParams], x: jax.Array, *, activation="leaky_relu") -> jax.Array:
    r"""The discriminator's logit $\ell(x)$ of one example, $f^D_\phi(x) = \sigma(\ell(x))$; a critic's $f(x)$.

    Args:
      params: from :func:`init_mlp_discriminator` (one output).
      x: ONE example, shape ``(p,)`` (one-example function: ``jax.vmap`` for a batch).
      activation: hidden activation (leaky ReLU by default).

    Returns:
      A scalar.

    Raises:
      ValueError: if `x` is a batch (use ``jax.vmap``), of the wrong length, or the last layer
        has more than one output.
      TypeError: if `params` is not a sequence of ``DenseParams`` or `x` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Goodfellow et al. (2014).
    """
    out = mlp(params, x, activation=activation)
    if out.shape != (1,):
        checks.fail(
            checks.public_name(mlp_discriminator),
            "params",
            "a last layer with one output",
            checks.Text(f"{out.shape[0]} outputs"),
        )
    return out[0]
