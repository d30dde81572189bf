r"""A small U-Net: a convolutional encoder-decoder with skip connections, for segmentation.

With widths $(w_0, \dots, w_L)$ the encoder has $L$ levels; level $\ell$ applies two 3x3 "same"
convolutions with ReLU to $w_\ell$ channels, keeps the result $s_\ell$ (the skip), and halves
the resolution by 2x2 max pooling. The bottleneck applies two convolutions to $w_L$ channels. The
decoder climbs back: at level $\ell$ a 2x2 transposed convolution with stride 2 doubles the
resolution to $w_\ell$ channels, the skip $s_\ell$ is concatenated on the channel axis, and two
convolutions bring it to $w_\ell$ channels. A final 1x1 convolution gives one logit per class
and pixel, at the input's resolution:

$$z = \mathrm{conv}_{1\times1}\big(\mathrm{dec}_0(\mathrm{up}_0(\cdots \mathrm{dec}_{L-1}
      (\mathrm{up}_{L-1}(b) \,\Vert\, s_{L-1}) \cdots) \,\Vert\, s_0)\big).$$

The convolutions are ``mathdl.layers.conv2d`` (padding ``"same"``, so no cropping is needed,
unlike the original valid-padded U-Net) and ``mathdl.layers.conv_transpose2d``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.layers import Conv2dParams, conv2d, conv_transpose2d, init_conv2d, init_conv_transpose2d, max_pool
from mathdl.models._image import one_image, positive_int, positive_ints

__all__ = ["UNetParams", "init_unet", "unet"]


class UNetParams(NamedTuple):
    """Parameters of :func:`unet` (every entry a ``Conv2dParams(W, b)``, HWIO kernels).

    Attributes:
      down: per encoder level $\\ell = 0, \\dots, L-1$, the pair of 3x3 convolutions.
      bottom: the pair of 3x3 convolutions of the bottleneck ($w_L$ channels).
      up: per level (same order as ``down``), the 2x2 stride-2 transposed convolution
        $w_{\\ell+1} \\to w_\\ell$.
      dec: per level, the pair of 3x3 convolutions after the skip concatenation
        ($2 w_\\ell \\to w_\\ell \\to w_\\ell$).
      head: the 1x1 convolution $w_0 \\to$ ``out_channels``.
    """

    down: tuple
    bottom: tuple
    up: tuple
    dec: tuple
    head: Conv2dParams


def init_unet(key: jax.Array, in_channels: int, out_channels: int, *, widths=(8, 16, 32), dtype=None) -> UNetParams:
    r"""Initialise a U-Net with widths $(w_0, \dots, w_L)$ (He-normal kernels, zero biases).

    Args:
      key: a typed PRNG key.
      in_channels: channels $C$ of the input image.
      out_channels: logits per pixel (1 for a binary mask with a sigmoid, $K$ classes with a
        softmax).
      widths: $(w_0, \dots, w_L)$, at least two positive ints; $L$ = ``len(widths) - 1`` levels
        of downsampling, so inputs need $H$ and $W$ divisible by $2^L$.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      :class:`UNetParams`.

    Raises:
      ValueError: if a channel count or width is not a positive int, or fewer than two widths.
      TypeError: if ``widths`` is not a sequence.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (segmentation, transposed convolution); Ronneberger, Fischer & Brox
      (2015), "U-Net: Convolutional networks for biomedical image segmentation".
    """
    func = checks.public_name(init_unet)
    in_channels = positive_int(func, "in_channels", in_channels)
    out_channels = positive_int(func, "out_channels", out_channels)
    widths = positive_ints(func, "widths", widths, at_least=2)
    L = len(widths) - 1
    keys = iter(jax.random.split(key, 5 * L + 3))

    def conv(c_in, c_out, k=3):
        return init_conv2d(next(keys), c_in, c_out, k, dtype=dtype)

    down, c = [], in_channels
    for w in widths[:-1]:
        down.append((conv(c, w), conv(w, w)))
        c = w
    bottom = (conv(c, widths[-1]), conv(widths[-1], widths[-1]))
    up = tuple(init_conv_transpose2d(next(keys), widths[i + 1], widths[i], 2, dtype=dtype) for i in range(L))
    dec = tuple((conv(2 * widths[i], widths[i]), conv(widths[i], widths[i])) for i in range(L))
    head = conv(widths[0], out_channels, 1)
    return UNetParams(tuple(down), bottom, up, dec, head)


def _double(pair, x):
    for p in pair:
        x = jax.nn.relu(conv2d(p, x, padding="same"))
    return x


def _check_sizes(func: str, params: UNetParams, x: jax.Array) -> None:
    if not isinstance(params, UNetParams):
        checks.fail(func, "params", "UNetParams (from init_unet)", checks.Text(type(params).__name__), exc=TypeError)
    L = len(params.down)
    H, W, C = x.shape
    if H % 2**L or W % 2**L:
        checks.fail(
            func,
            "x",
            f"H and W divisible by 2^L = {2**L} (L = {L} levels of 2x2 pooling)",
            checks.Text(f"shape {x.shape}"),
        )
    c_in = params.down[0][0].W.shape[2]
    if C != c_in:
        checks.fail(
            func, "x", f"C = {c_in} channels (the first kernel's input channels)", checks.Text(f"shape {x.shape}")
        )


@checks.inputs(x=one_image)
def unet(params: UNetParams, x: jax.Array) -> jax.Array:
    r"""U-Net logits for one image: encoder, bottleneck, decoder with skips, 1x1 head.

    Args:
      params: :class:`UNetParams` from :func:`init_unet`.
      x: ONE image, shape ``(H, W, C)``, with $H$ and $W$ divisible by $2^L$. Use ``jax.vmap``
        for a batch.

    Returns:
      The per-pixel logits, shape ``(H, W, out_channels)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image (a batch is refused with a vmap hint),
        $H$ or $W$ is not divisible by $2^L$, or its channels differ from the first kernel's.
      TypeError: if ``x`` is not floating or ``params`` is not :class:`UNetParams`.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Ronneberger, Fischer & Brox (2015), "U-Net", Fig. 1; D2L Sec. 14.10
      (transposed convolution) and 14.11 (fully convolutional networks).
    """
    _check_sizes(checks.public_name(unet), params, x)
    skips = []
    for pair in params.down:
        x = _double(pair, x)
        skips.append(x)
        x = max_pool(x, 2)
    x = _double(params.bottom, x)
    for level in reversed(range(len(params.down))):
        x = jax.nn.relu(conv_transpose2d(params.up[level], x, stride=2))
        x = _double(params.dec[level], jnp.concatenate([x, skips[level]], axis=-1))
    return conv2d(params.head, x)
