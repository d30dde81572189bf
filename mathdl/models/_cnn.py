r"""Convolutional networks of [MEDL] Ch. 6, Sec. 6.4-6.5: LeNet-5, VGG and the Inception module.

Each network is an init/apply pair on ONE image ``x`` of shape ``(H, W, C)`` (channels last, the
layout of :func:`mathdl.layers.conv2d`); ``jax.vmap`` makes batches. A ``*_forward`` function
returns every intermediate activation by name, in order (for feature-map plots and for
:func:`mathdl.models.summary`, whose rows they are); the plain apply returns the logits.

The names of the intermediates are paths into the parameters (``"conv1"`` is ``params.conv1``,
``"blocks.2"`` is ``params.blocks[2]``), so a summary row can count the parameters it used. The
dicts are built in the network's order; a dict returned through ``jax.jit`` comes back with its
keys sorted (JAX flattens dicts by key), so read the order from :func:`mathdl.models.summary`.
ResNet and ResNeXt live in ``mathdl/models/_resnet.py``.
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.layers import (
    Conv2dParams,
    DenseParams,
    avg_pool,
    conv2d,
    conv_output_size,
    dense,
    dropout,
    init_conv2d,
    init_dense,
    max_pool,
)
from mathdl.models._image import one_image

__all__ = [
    "InceptionParams",
    "LeNetParams",
    "VGG_CONFIGS",
    "VGGParams",
    "inception_forward",
    "inception_module",
    "init_inception_module",
    "init_lenet",
    "init_vgg",
    "init_vgg_block",
    "lenet",
    "lenet_forward",
    "vgg",
    "vgg_block",
    "vgg_forward",
]


# ------------------------------------------------------------------ shared helpers (this package)


def check_input_shape(func: str, input_shape, min_size: int = 1) -> tuple[int, int, int]:
    """``input_shape`` as three positive ints ``(H, W, C)`` with ``H, W >= min_size``."""
    ok = (
        isinstance(input_shape, Sequence)
        and len(input_shape) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape)
    )
    if not ok:
        checks.fail(func, "input_shape", "three positive ints (H, W, C), channels last", input_shape)
    H, W, C = input_shape
    if min(H, W) < min_size:
        checks.fail(func, "input_shape", f"H, W >= {min_size} for this network", tuple(input_shape))
    return H, W, C


def check_count(func: str, name: str, value, minimum: int = 1) -> int:
    """A Python int ``>= minimum`` (bool refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        checks.fail(func, name, f"an int >= {minimum}", value)
    return value


def resolve_activation(func: str, activation) -> Callable:
    """A callable, or a name from the activation table (``"relu"``, ``"tanh"``, ``"sigmoid"`` ...)."""
    from mathdl.models._activation_table import ACTIVATIONS

    if isinstance(activation, str):
        checks.check_choice(func, "activation", activation, sorted(ACTIVATIONS))
        return ACTIVATIONS[activation][0]
    if not callable(activation):
        checks.fail(func, "activation", "a callable or an activation name", type(activation).__name__, exc=TypeError)
    return activation


def check_flat_width(func: str, x, flat: int, want: int, what: str) -> None:
    """The flattened feature map must have the width the first dense layer was built for."""
    if flat != want:
        checks.fail(
            func,
            "x",
            f"an image of the size the parameters were built for ({what} of {want} entries; "
            "see the `input_shape` given to the init function)",
            checks.Text(f"shape {tuple(x.shape)}, whose feature map flattens to {flat}"),
        )


# ------------------------------------------------------------------ LeNet-5


class LeNetParams(NamedTuple):
    """Parameters of LeNet-5 (the D2L form, see :func:`init_lenet`).

    Attributes:
      conv1: ``Conv2dParams``, ``W`` of shape ``(5, 5, C, 6)``.
      conv2: ``Conv2dParams``, ``W`` of shape ``(5, 5, 6, 16)``.
      fc1: ``DenseParams``, ``W`` of shape ``(120, 16 h w)`` (``h w`` the final map size).
      fc2: ``DenseParams``, ``W`` of shape ``(84, 120)``.
      fc3: ``DenseParams``, ``W`` of shape ``(num_classes, 84)``.
    """

    conv1: Conv2dParams
    conv2: Conv2dParams
    fc1: DenseParams
    fc2: DenseParams
    fc3: DenseParams


def _lenet_map_size(n: int) -> int:
    n = conv_output_size(n, 5, padding=2) // 2  # conv1 keeps the size, pool halves it
    return conv_output_size(n, 5) // 2


def init_lenet(
    key: jax.Array, *, num_classes: int = 10, input_shape=(28, 28, 1), init="he_normal", dtype=None
) -> LeNetParams:
    r"""Initialise LeNet-5 in the form of D2L (Sec. 7.6) and most textbooks.

    Architecture on an ``(H, W, C)`` image (``28 x 28 x 1`` by default):

    ``conv 5x5, 6 channels, padding 2 -> act -> pool 2x2 -> conv 5x5, 16 channels -> act ->
    pool 2x2 -> flatten -> dense 120 -> act -> dense 84 -> act -> dense num_classes``.

    At ``28 x 28 x 1`` with 10 classes this has
    $6(25+1) + 16(6 \cdot 25 + 1) + 120(400+1) + 84(120+1) + 10(84+1) = 61{,}706$ parameters,
    the count usually quoted for LeNet-5. LeCun et al. (1998) had 60,000 trainable parameters:
    their C3 layer connected each of its 16 maps to a subset of the 6 input maps (1,516
    parameters instead of 2,416), their subsampling layers had a trainable scale and bias, and
    their output layer was a fixed RBF; that variant is not reproduced here.

    Args:
      key: a typed PRNG key.
      num_classes: number of outputs $K$ (logits).
      input_shape: ``(H, W, C)`` of one input image, with ``H, W >= 12`` (the second
        pooling needs a 2x2 map after the second convolution).
      init: initialiser of every convolution and dense layer (see ``mathdl.layers.init_conv2d``).
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``LeNetParams(conv1, conv2, fc1, fc2, fc3)``.

    Raises:
      ValueError: if ``num_classes`` is not a positive int or ``input_shape`` is not three
        positive ints with ``H, W >= 12``.

    References:
      [MEDL] Ch. 6, Sec. 6.4-6.5 (landmark architectures); LeCun, Bottou, Bengio & Haffner,
      "Gradient-based learning applied to document recognition", Proc. IEEE (1998); D2L Sec. 7.6.
    """
    func = checks.public_name(init_lenet)
    check_count(func, "num_classes", num_classes)
    H, W, C = check_input_shape(func, input_shape, min_size=12)
    flat = 16 * _lenet_map_size(H) * _lenet_map_size(W)
    k = jax.random.split(key, 5)
    return LeNetParams(
        init_conv2d(k[0], C, 6, 5, init=init, dtype=dtype),
        init_conv2d(k[1], 6, 16, 5, init=init, dtype=dtype),
        init_dense(k[2], flat, 120, init=init, dtype=dtype),
        init_dense(k[3], 120, 84, init=init, dtype=dtype),
        init_dense(k[4], 84, num_classes, init=init, dtype=dtype),
    )


def _pool(func: str, pool: str):
    checks.check_choice(func, "pool", pool, ["max", "avg"])
    return max_pool if pool == "max" else avg_pool


@checks.inputs(x=one_image)
def lenet_forward(
    params: LeNetParams, x: jax.Array, *, activation="relu", pool: str = "max", conv_path: str | None = None
) -> dict[str, jax.Array]:
    r"""LeNet-5 on one image, returning every intermediate activation.

    $a^{[1]} = S(W^{[1]} \star x + b^{[1]})$ (padding 2), pooled 2x2; $a^{[2]} = S(W^{[2]} \star
    \cdot + b^{[2]})$, pooled; flattened; then three dense layers, the last linear (logits).

    Args:
      params: ``LeNetParams`` from :func:`init_lenet`.
      x: ONE image, shape ``(H, W, C)`` (the ``input_shape`` of :func:`init_lenet`); use
        ``jax.vmap`` for a batch.
      activation: $S$, a callable or a name (``"relu"`` by default; D2L and LeCun used
        sigmoid-like units: ``"sigmoid"``, ``"tanh"``).
      pool: ``"max"`` (default) or ``"avg"`` (the 1998 subsampling, without its trainable scale).
      conv_path: the convolution path (``"xla"``, ``"im2col"``, ``"reference"`` or ``None`` for
        the backend default), see :func:`mathdl.layers.conv2d`.

    Returns:
      A dict, in order: ``"conv1"`` ``(H, W, 6)``, ``"pool1"`` ``(H/2, W/2, 6)``, ``"conv2"``,
      ``"pool2"`` ``(h, w, 16)``, ``"flatten"`` ``(16 h w,)``, ``"fc1"`` ``(120,)``, ``"fc2"``
      ``(84,)``, ``"fc3"`` ``(num_classes,)`` (the logits). Activations are after $S$.

    Raises:
      ValueError: if ``x`` is not one image, its channels differ from the parameters', or its
        size is not the one the parameters were built for; on an unknown ``pool`` or
        ``activation`` name.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.4; LeCun et al. (1998); D2L Sec. 7.6.
    """
    func = checks.public_name(lenet_forward)
    S = resolve_activation(func, activation)
    pool_fn = _pool(func, pool)
    out = {}
    out["conv1"] = S(conv2d(params.conv1, x, padding=2, path=conv_path))
    out["pool1"] = pool_fn(out["conv1"], 2)
    out["conv2"] = S(conv2d(params.conv2, out["pool1"], path=conv_path))
    out["pool2"] = pool_fn(out["conv2"], 2)
    out["flatten"] = out["pool2"].reshape(-1)  # (h, w, 16) row-major -> (16 h w,)
    check_flat_width(func, x, out["flatten"].shape[0], params.fc1.W.shape[1], "a final feature map")
    out["fc1"] = S(dense(params.fc1, out["flatten"]))
    out["fc2"] = S(dense(params.fc2, out["fc1"]))
    out["fc3"] = dense(params.fc3, out["fc2"])
    return out


def lenet(
    params: LeNetParams, x: jax.Array, *, activation="relu", pool: str = "max", conv_path: str | None = None
) -> jax.Array:
    r"""LeNet-5 on one image: the logits $z \in \mathbb{R}^K$.

    See :func:`init_lenet` for the architecture and :func:`lenet_forward` for the intermediates.

    Args:
      params: ``LeNetParams`` from :func:`init_lenet`.
      x: ONE image, shape ``(H, W, C)``; ``jax.vmap(lenet, in_axes=(None, 0))`` for a batch.
      activation: as :func:`lenet_forward` (``"relu"``).
      pool: ``"max"`` or ``"avg"``.
      conv_path: as :func:`lenet_forward`.

    Returns:
      Logits, shape ``(num_classes,)``.

    Raises:
      ValueError: as :func:`lenet_forward`.
      TypeError: as :func:`lenet_forward`.

    References:
      [MEDL] Ch. 6, Sec. 6.4; LeCun et al. (1998); D2L Sec. 7.6.
    """
    return lenet_forward(params, x, activation=activation, pool=pool, conv_path=conv_path)["fc3"]


# ------------------------------------------------------------------ VGG

# (convolutions per block) for the five blocks of 64, 128, 256, 512, 512 channels (Simonyan &
# Zisserman 2015, Table 1, configurations A, B, D, E).
_VGG_CHANNELS = (64, 128, 256, 512, 512)
#: VGG name -> ((convolutions, channels) per block), Simonyan & Zisserman (2015), Table 1.
VGG_CONFIGS = {
    "vgg11": tuple(zip((1, 1, 2, 2, 2), _VGG_CHANNELS, strict=True)),
    "vgg13": tuple(zip((2, 2, 2, 2, 2), _VGG_CHANNELS, strict=True)),
    "vgg16": tuple(zip((2, 2, 3, 3, 3), _VGG_CHANNELS, strict=True)),
    "vgg19": tuple(zip((2, 2, 4, 4, 4), _VGG_CHANNELS, strict=True)),
}


class VGGParams(NamedTuple):
    """Parameters of a VGG network.

    Attributes:
      blocks: one tuple of ``Conv2dParams`` (3x3 kernels) per block.
      fc1: ``DenseParams``, ``W`` of shape ``(hidden, C h w)`` on the flattened last map.
      fc2: ``DenseParams``, ``W`` of shape ``(hidden, hidden)``.
      fc3: ``DenseParams``, ``W`` of shape ``(num_classes, hidden)``.
    """

    blocks: tuple
    fc1: DenseParams
    fc2: DenseParams
    fc3: DenseParams


def init_vgg_block(key: jax.Array, c_in: int, c_out: int, num_convs: int, *, dtype=None) -> tuple[Conv2dParams, ...]:
    r"""Initialise one VGG block: ``num_convs`` 3x3 convolutions to ``c_out`` channels.

    Args:
      key: a typed PRNG key.
      c_in: input channels.
      c_out: output channels of every convolution of the block.
      num_convs: number of convolutions, ``>= 1``.
      dtype: floating dtype of the parameters.

    Returns:
      A tuple of ``num_convs`` ``Conv2dParams`` (He-normal kernels, zero biases).

    Raises:
      ValueError: if a count is not a positive int.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (VGG, Fig. 6.2); Simonyan & Zisserman, "Very deep convolutional
      networks for large-scale image recognition", ICLR (2015); D2L Sec. 8.2.
    """
    func = checks.public_name(init_vgg_block)
    check_count(func, "num_convs", num_convs)
    keys = jax.random.split(key, num_convs)
    return tuple(init_conv2d(k, c_in if i == 0 else c_out, c_out, 3, dtype=dtype) for i, k in enumerate(keys))


@checks.inputs(x=one_image)
def vgg_block(params: Sequence[Conv2dParams], x: jax.Array, *, conv_path: str | None = None) -> jax.Array:
    r"""One VGG block: (3x3 convolution, padding 1, ReLU) repeated, then 2x2 max pooling, stride 2.

    $a \leftarrow \mathrm{ReLU}(W_i \star a + b_i)$ for each convolution $i$ (the size is kept),
    then the pooling halves height and width.

    Args:
      params: a sequence of ``Conv2dParams`` (from :func:`init_vgg_block`).
      x: ONE image or feature map, shape ``(H, W, C)`` with ``H, W >= 2``.
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      Shape ``(H // 2, W // 2, C_out)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` map or the channels do not chain.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.2); Simonyan & Zisserman (2015); D2L Sec. 8.2.
    """
    for p in params:
        x = jax.nn.relu(conv2d(p, x, padding=1, path=conv_path))
    return max_pool(x, 2)


def _vgg_arch(func: str, config):
    if isinstance(config, str):
        checks.check_choice(func, "config", config, sorted(VGG_CONFIGS))
        return VGG_CONFIGS[config]
    ok = (
        isinstance(config, Sequence)
        and len(config) > 0
        and all(
            isinstance(b, Sequence)
            and len(b) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in b)
            for b in config
        )
    )
    if not ok:
        checks.fail(
            func, "config", f"one of {sorted(VGG_CONFIGS)} or a sequence of (num_convs, channels) pairs", config
        )
    return tuple(tuple(b) for b in config)


def init_vgg(
    key: jax.Array,
    config="vgg16",
    *,
    num_classes: int = 1000,
    input_shape=(224, 224, 3),
    hidden: int = 4096,
    dtype=None,
) -> VGGParams:
    r"""Initialise a VGG network: VGG blocks, then three dense layers.

    Each block is :func:`vgg_block` (3x3 convolutions and a 2x2 max pooling); the last map is
    flattened into dense layers of ``hidden``, ``hidden`` and ``num_classes`` units. At
    ``224 x 224 x 3`` the maps are $224^2 \cdot 64 \to 112^2 \cdot 128 \to 56^2 \cdot 256 \to
    28^2 \cdot 512 \to 14^2 \cdot 512 \to 7^2 \cdot 512$ (Fig. 6.2). With 1000 classes VGG-11,
    VGG-16 and VGG-19 have 132,863,336, 138,357,544 and 143,667,240 parameters (torchvision's
    counts; count them without allocating through ``jax.eval_shape``, see
    :func:`mathdl.models.param_count`).

    Args:
      key: a typed PRNG key.
      config: ``"vgg11"``, ``"vgg13"``, ``"vgg16"``, ``"vgg19"`` (Simonyan & Zisserman's
        configurations A, B, D, E; :data:`VGG_CONFIGS`), or a sequence of
        ``(num_convs, channels)`` pairs, one per block (D2L's small VGG:
        ``((1, 16), (1, 32), (2, 64), (2, 128), (2, 128))``).
      num_classes: number of outputs.
      input_shape: ``(H, W, C)``; ``H`` and ``W`` at least ``2**num_blocks``.
      hidden: width of the two hidden dense layers (4096 in the paper).
      dtype: floating dtype of the parameters.

    Returns:
      ``VGGParams(blocks, fc1, fc2, fc3)``.

    Raises:
      ValueError: on an unknown ``config``, a non-positive count, or an input too small for the
        number of blocks.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (VGG19, Fig. 6.2); Simonyan & Zisserman (2015); D2L Sec. 8.2.
    """
    func = checks.public_name(init_vgg)
    arch = _vgg_arch(func, config)
    check_count(func, "num_classes", num_classes)
    check_count(func, "hidden", hidden)
    H, W, C = check_input_shape(func, input_shape, min_size=2 ** len(arch))
    keys = jax.random.split(key, len(arch) + 3)
    blocks, c = [], C
    for k, (n, c_out) in zip(keys[: len(arch)], arch, strict=True):
        blocks.append(init_vgg_block(k, c, c_out, n, dtype=dtype))
        c, H, W = c_out, H // 2, W // 2
    return VGGParams(
        tuple(blocks),
        init_dense(keys[-3], c * H * W, hidden, dtype=dtype),
        init_dense(keys[-2], hidden, hidden, dtype=dtype),
        init_dense(keys[-1], hidden, num_classes, dtype=dtype),
    )


@checks.inputs(x=one_image)
def vgg_forward(
    params: VGGParams,
    x: jax.Array,
    *,
    key: jax.Array | None = None,
    rate: float = 0.5,
    conv_path: str | None = None,
) -> dict[str, jax.Array]:
    r"""A VGG network on one image, returning the output of every block and dense layer.

    Args:
      params: ``VGGParams`` from :func:`init_vgg`.
      x: ONE image, shape ``(H, W, C)`` (the ``input_shape`` of :func:`init_vgg`).
      key: a typed PRNG key for dropout after ``fc1`` and ``fc2`` (training); ``None`` means
        no dropout (evaluation).
      rate: dropout probability (0.5 in the paper); used only with ``key``.
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      A dict, in order: ``"blocks.0"`` ... ``"blocks.{B-1}"`` (each block's pooled map),
      ``"flatten"``, ``"fc1"``, ``"fc2"``, ``"fc3"`` (the logits, ``(num_classes,)``).

    Raises:
      ValueError: if ``x`` is not one image of the size and channels the parameters were built for.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.2); Simonyan & Zisserman (2015); D2L Sec. 8.2.
    """
    func = checks.public_name(vgg_forward)
    out, a = {}, x
    for i, block in enumerate(params.blocks):
        a = out[f"blocks.{i}"] = vgg_block(block, a, conv_path=conv_path)
    out["flatten"] = a.reshape(-1)
    check_flat_width(func, x, out["flatten"].shape[0], params.fc1.W.shape[1], "a last block map")
    k1, k2 = (None, None) if key is None else jax.random.split(key)
    a = jax.nn.relu(dense(params.fc1, out["flatten"]))
    out["fc1"] = a if k1 is None else dropout(k1, a, rate=rate, train=True)
    a = jax.nn.relu(dense(params.fc2, out["fc1"]))
    out["fc2"] = a if k2 is None else dropout(k2, a, rate=rate, train=True)
    out["fc3"] = dense(params.fc3, out["fc2"])
    return out


def vgg(
    params: VGGParams, x: jax.Array, *, key: jax.Array | None = None, rate: float = 0.5, conv_path: str | None = None
) -> jax.Array:
    r"""A VGG network on one image: the logits.

    See :func:`init_vgg` for the architecture and :func:`vgg_forward` for the intermediates.

    Args:
      params: ``VGGParams`` from :func:`init_vgg`.
      x: ONE image, shape ``(H, W, C)``; ``jax.vmap`` for a batch.
      key: dropout key (training) or ``None`` (evaluation).
      rate: dropout probability.
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      Logits, shape ``(num_classes,)``.

    Raises:
      ValueError: as :func:`vgg_forward`.
      TypeError: as :func:`vgg_forward`.

    References:
      [MEDL] Ch. 6, Sec. 6.5; Simonyan & Zisserman (2015); D2L Sec. 8.2.
    """
    return vgg_forward(params, x, key=key, rate=rate, conv_path=conv_path)["fc3"]


# ------------------------------------------------------------------ the Inception module


class InceptionParams(NamedTuple):
    """Parameters of one Inception module (four parallel branches).

    Attributes:
      branch1: 1x1 convolution ``C -> c1``.
      branch2: ``(1x1 C -> c2[0], 3x3 c2[0] -> c2[1])``.
      branch3: ``(1x1 C -> c3[0], 5x5 c3[0] -> c3[1])``.
      branch4: the 1x1 convolution ``C -> c4`` after the 3x3 max pooling.
    """

    branch1: Conv2dParams
    branch2: tuple
    branch3: tuple
    branch4: Conv2dParams


def _pair(func, name, v):
    ok = isinstance(v, Sequence) and len(v) == 2 and all(isinstance(c, int) and not isinstance(c, bool) for c in v)
    if not ok or min(v) < 1:
        checks.fail(func, name, "a pair of positive ints (reduce, out)", v)
    return tuple(v)


def init_inception_module(key: jax.Array, c_in: int, c1: int, c2, c3, c4: int, *, dtype=None) -> InceptionParams:
    r"""Initialise an Inception module with branch widths ``c1``, ``c2``, ``c3``, ``c4``.

    The book's Fig. 6.13 (GoogLeNet's module 3a) is ``c_in = 192``, ``c1 = 64``,
    ``c2 = (96, 128)``, ``c3 = (16, 32)``, ``c4 = 32``: a ``28 x 28 x 192`` map becomes
    ``28 x 28 x 256`` with $64 \cdot 193 + 96 \cdot 193 + 128(9 \cdot 96 + 1) + 16 \cdot 193
    + 32(25 \cdot 16 + 1) + 32 \cdot 193 = 163{,}696$ parameters.

    Args:
      key: a typed PRNG key.
      c_in: input channels $C$.
      c1: output channels of the 1x1 branch.
      c2: ``(reduce, out)`` channels of the 1x1 -> 3x3 branch.
      c3: ``(reduce, out)`` channels of the 1x1 -> 5x5 branch.
      c4: output channels of the pool -> 1x1 branch.
      dtype: floating dtype of the parameters.

    Returns:
      ``InceptionParams(branch1, branch2, branch3, branch4)``.

    Raises:
      ValueError: if a channel count is not a positive int (or pair of them).

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.13); Szegedy et al., "Going deeper with convolutions",
      CVPR (2015); D2L Sec. 8.4.
    """
    func = checks.public_name(init_inception_module)
    for name, v in (("c_in", c_in), ("c1", c1), ("c4", c4)):
        check_count(func, name, v)
    c2, c3 = _pair(func, "c2", c2), _pair(func, "c3", c3)
    k = jax.random.split(key, 6)
    return InceptionParams(
        init_conv2d(k[0], c_in, c1, 1, dtype=dtype),
        (init_conv2d(k[1], c_in, c2[0], 1, dtype=dtype), init_conv2d(k[2], c2[0], c2[1], 3, dtype=dtype)),
        (init_conv2d(k[3], c_in, c3[0], 1, dtype=dtype), init_conv2d(k[4], c3[0], c3[1], 5, dtype=dtype)),
        init_conv2d(k[5], c_in, c4, 1, dtype=dtype),
    )


@checks.inputs(x=one_image)
def inception_forward(params: InceptionParams, x: jax.Array, *, conv_path: str | None = None) -> dict[str, jax.Array]:
    r"""The Inception module on one map, returning each branch and their concatenation.

    With $\rho = \mathrm{ReLU}$ and every convolution padded to keep the size,

    $$y = \big[\rho(W_1 \star x),\; \rho(W_{2b} \star \rho(W_{2a} \star x)),\;
    \rho(W_{3b} \star \rho(W_{3a} \star x)),\; \rho(W_4 \star \mathrm{maxpool}_{3\times3,1}(x))\big]$$

    concatenated along the channels.

    Args:
      params: ``InceptionParams`` from :func:`init_inception_module`.
      x: ONE map, shape ``(H, W, C)``.
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      A dict: ``"branch1"`` ``(H, W, c1)``, ``"branch2"`` ``(H, W, c2[1])``, ``"branch3"``
      ``(H, W, c3[1])``, ``"branch4"`` ``(H, W, c4)`` and ``"output"``
      ``(H, W, c1 + c2[1] + c3[1] + c4)``.

    Raises:
      ValueError: if ``x`` is not one map with the parameters' input channels.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.13); Szegedy et al. (2015); D2L Sec. 8.4.
    """
    relu = jax.nn.relu
    p = params
    out = {}
    out["branch1"] = relu(conv2d(p.branch1, x, path=conv_path))
    out["branch2"] = relu(
        conv2d(p.branch2[1], relu(conv2d(p.branch2[0], x, path=conv_path)), padding=1, path=conv_path)
    )
    out["branch3"] = relu(
        conv2d(p.branch3[1], relu(conv2d(p.branch3[0], x, path=conv_path)), padding=2, path=conv_path)
    )
    out["branch4"] = relu(conv2d(p.branch4, max_pool(x, 3, stride=1, padding=1), path=conv_path))
    out["output"] = jnp.concatenate([out[f"branch{i}"] for i in range(1, 5)], axis=-1)
    return out


def inception_module(params: InceptionParams, x: jax.Array, *, conv_path: str | None = None) -> jax.Array:
    r"""The Inception module on one map: the four branches concatenated along the channels.

    See :func:`inception_forward` for the equation.

    Args:
      params: ``InceptionParams`` from :func:`init_inception_module`.
      x: ONE map, shape ``(H, W, C)``; ``jax.vmap`` for a batch.
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      Shape ``(H, W, c1 + c2[1] + c3[1] + c4)`` (Fig. 6.13: ``28 x 28 x 256``).

    Raises:
      ValueError: as :func:`inception_forward`.
      TypeError: as :func:`inception_forward`.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.13); Szegedy et al. (2015); D2L Sec. 8.4.
    """
    return inception_forward(params, x, conv_path=conv_path)["output"]
