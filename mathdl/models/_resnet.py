r"""Residual networks ([MEDL] Ch. 6, Sec. 6.5, Fig. 6.14): ResNet blocks, ResNet-18/34/50/101/152, a small
ResNet for 32x32 inputs, and the ResNeXt block.

A residual block computes $a^{[\ell+\tilde\ell]} = \mathrm{ReLU}(u + r(u))$ with $u = a^{[\ell]}$ and
$r$ a few convolutions, each followed by batch normalisation; when $r$ changes the size or the
channels, $u$ goes through the *projection shortcut*, a 1x1 convolution with the same stride and
a batch norm (He et al.'s option B, torchvision's layout).

Every convolution followed by a batch norm has no bias (the norm's $\beta$ plays its role). The
models take ONE image ``(H, W, C)`` and carry batch-norm running statistics as explicit state:

    logits, new_state = jax.vmap(
        lambda x: resnet(params, state, x, train=True), axis_name="batch", out_axes=(0, None)
    )(X)

as :func:`mathdl.layers.batch_norm` does; ``train=False`` uses the running statistics and needs no
named axis. ``init_*`` functions return ``(params, state)``; the state has the structure of the
parameters with a ``BatchNormState`` for every convolution + batch-norm pair.

Strides are not stored in the parameters: the first block of every stage after the first
downsamples (stride 2), and the stem is recognised by its kernel (7x7: the ImageNet stem with a
3x3 max pooling; 3x3: the CIFAR stem without pooling). The stride of a bottleneck block is on its
3x3 convolution (torchvision's "ResNet v1.5"; the parameter count is the same either way).
"""

from collections.abc import Sequence
from typing import NamedTuple

import jax

from mathdl import checks
from mathdl.layers import (
    BatchNormParams,
    BatchNormState,
    Conv2dParams,
    DenseParams,
    batch_norm,
    conv2d,
    dense,
    global_avg_pool,
    init_batch_norm,
    init_conv2d,
    init_dense,
    max_pool,
)
from mathdl.models._cnn import check_count, check_input_shape
from mathdl.models._image import one_image

__all__ = [
    "BasicBlockParams",
    "BasicBlockState",
    "BottleneckParams",
    "BottleneckState",
    "ConvBNParams",
    "RESNET_DEPTHS",
    "ResNetParams",
    "ResNetState",
    "basic_block",
    "bottleneck_block",
    "init_basic_block",
    "init_bottleneck_block",
    "init_resnet",
    "init_resnext_block",
    "init_small_resnet",
    "resnet",
    "resnet_forward",
    "resnext_block",
]


class ConvBNParams(NamedTuple):
    """A convolution without bias followed by batch normalisation.

    Attributes:
      conv: ``Conv2dParams`` with ``b = None``.
      bn: ``BatchNormParams(gamma, beta)`` of the output channels.
    """

    conv: Conv2dParams
    bn: BatchNormParams


class BasicBlockParams(NamedTuple):
    """The basic residual block: two 3x3 convolutions (ResNet-18/34 and the small ResNets).

    Attributes:
      conv1: ``ConvBNParams``, 3x3, ``C_in -> C_out`` (carries the block's stride).
      conv2: ``ConvBNParams``, 3x3, ``C_out -> C_out``.
      shortcut: ``ConvBNParams`` of the 1x1 projection, or ``None`` for the identity.
    """

    conv1: ConvBNParams
    conv2: ConvBNParams
    shortcut: ConvBNParams | None


class BasicBlockState(NamedTuple):
    """Running statistics of a basic block (fields as :class:`BasicBlockParams`).

    Attributes:
      conv1: ``BatchNormState``.
      conv2: ``BatchNormState``.
      shortcut: ``BatchNormState`` or ``None``.
    """

    conv1: BatchNormState
    conv2: BatchNormState
    shortcut: BatchNormState | None


class BottleneckParams(NamedTuple):
    """The bottleneck block: 1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand.

    Attributes:
      conv1: ``ConvBNParams``, 1x1, ``C_in -> C_b``.
      conv2: ``ConvBNParams``, 3x3, ``C_b -> C_b`` in ``groups`` groups (carries the stride).
      conv3: ``ConvBNParams``, 1x1, ``C_b -> C_out``.
      shortcut: ``ConvBNParams`` of the 1x1 projection, or ``None``.
    """

    conv1: ConvBNParams
    conv2: ConvBNParams
    conv3: ConvBNParams
    shortcut: ConvBNParams | None


class BottleneckState(NamedTuple):
    """Running statistics of a bottleneck block (fields as :class:`BottleneckParams`).

    Attributes:
      conv1: ``BatchNormState``.
      conv2: ``BatchNormState``.
      conv3: ``BatchNormState``.
      shortcut: ``BatchNormState`` or ``None``.
    """

    conv1: BatchNormState
    conv2: BatchNormState
    conv3: BatchNormState
    shortcut: BatchNormState | None


class ResNetParams(NamedTuple):
    """Parameters of a ResNet.

    Attributes:
      stem: ``ConvBNParams``: 7x7 stride 2 (ImageNet; followed by a 3x3 max pooling) or 3x3
        stride 1 (the small ResNets).
      stages: a tuple of stages, each a tuple of block parameters.
      fc: ``DenseParams`` of the classifier on the globally average-pooled features.
    """

    stem: ConvBNParams
    stages: tuple
    fc: DenseParams


class ResNetState(NamedTuple):
    """Batch-norm running statistics of a ResNet (fields as :class:`ResNetParams`, no ``fc``).

    Attributes:
      stem: ``BatchNormState``.
      stages: a tuple of stages, each a tuple of block states.
    """

    stem: BatchNormState
    stages: tuple


# ------------------------------------------------------------------ conv + batch norm


def _init_conv_bn(key, c_in, c_out, kernel, *, groups=1, dtype=None):
    conv = init_conv2d(key, c_in, c_out, kernel, groups=groups, bias=False, dtype=dtype)
    bn, bn_state = init_batch_norm(c_out, dtype=conv.W.dtype)
    return ConvBNParams(conv, bn), bn_state


def _conv_bn(p: ConvBNParams, s: BatchNormState, x, *, stride, padding, train, axis_name, conv_path):
    groups = x.shape[-1] // p.conv.W.shape[2]  # the kernel's C_in/groups axis gives the groups
    z = conv2d(p.conv, x, stride=stride, padding=padding, groups=groups, path=conv_path)
    return batch_norm(p.bn, s, z, axis_name=axis_name if train else None, train=train)


def _shortcut(p, s, x, *, stride, train, axis_name, conv_path):
    if p is None:
        return x, None
    return _conv_bn(p, s, x, stride=stride, padding=0, train=train, axis_name=axis_name, conv_path=conv_path)


def _check_train(func, train, stride):
    if not isinstance(train, bool):
        checks.fail(func, "train", "a bool", type(train).__name__, exc=TypeError)
    check_count(func, "stride", stride)


def _init_shortcut(key, c_in, c_out, stride, dtype):
    if stride == 1 and c_in == c_out:
        return None, None
    return _init_conv_bn(key, c_in, c_out, 1, dtype=dtype)


# ------------------------------------------------------------------ the basic block


def init_basic_block(
    key: jax.Array, c_in: int, c_out: int, *, stride: int = 1, dtype=None
) -> tuple[BasicBlockParams, BasicBlockState]:
    r"""Initialise a basic residual block ``C_in -> C_out`` (Fig. 6.14).

    The projection shortcut is created when ``stride != 1`` or ``c_in != c_out``.

    Args:
      key: a typed PRNG key.
      c_in: input channels.
      c_out: output channels.
      stride: the stride the block will be applied with (1, or 2 to halve the size).
      dtype: floating dtype of the parameters.

    Returns:
      ``(BasicBlockParams, BasicBlockState)``; the block has
      $9 C_{in} C_{out} + 9 C_{out}^2 + 4 C_{out}$ parameters, plus $C_{in} C_{out} + 2 C_{out}$
      with the projection.

    Raises:
      ValueError: if a channel count or the stride is not a positive int.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.14); He, Zhang, Ren & Sun, "Deep residual learning for
      image recognition", CVPR (2016); D2L Sec. 8.6.
    """
    func = checks.public_name(init_basic_block)
    for name, v in (("c_in", c_in), ("c_out", c_out), ("stride", stride)):
        check_count(func, name, v)
    k1, k2, k3 = jax.random.split(key, 3)
    p1, s1 = _init_conv_bn(k1, c_in, c_out, 3, dtype=dtype)
    p2, s2 = _init_conv_bn(k2, c_out, c_out, 3, dtype=dtype)
    ps, ss = _init_shortcut(k3, c_in, c_out, stride, dtype)
    return BasicBlockParams(p1, p2, ps), BasicBlockState(s1, s2, ss)


@checks.inputs(x=one_image)
def basic_block(
    params: BasicBlockParams,
    state: BasicBlockState,
    x: jax.Array,
    *,
    stride: int = 1,
    train: bool,
    axis_name: str | None = "batch",
    conv_path: str | None = None,
) -> tuple[jax.Array, BasicBlockState]:
    r"""The basic residual block on one map, $y = \mathrm{ReLU}(P u + r(u))$ (Fig. 6.14).

    $r(u) = \mathrm{BN}_2(W_2 \star \mathrm{ReLU}(\mathrm{BN}_1(W_1 \star_s u)))$.

    $W_1$ has stride $s$; $P$ is the identity or the projection shortcut
    $\mathrm{BN}(W_P \star_s u)$ with a 1x1 kernel. All 3x3 convolutions are padded by 1.

    Args:
      params: ``BasicBlockParams`` from :func:`init_basic_block`.
      state: ``BasicBlockState`` (running statistics).
      x: ONE map $u$, shape ``(H, W, C_in)``.
      stride: $s$, the stride of the first convolution and of the projection.
      train: batch statistics over the named axis and updated running statistics (``True``),
        or the running statistics (``False``).
      axis_name: the name of the ``jax.vmap`` batch axis (train mode).
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      ``(y, new_state)``: ``y`` of shape ``(ceil(H/s), ceil(W/s), C_out)``.

    Raises:
      ValueError: if ``x`` is not one map with ``C_in`` channels, the stride is not a positive
        int, or, without a projection, ``stride != 1``.
      TypeError: if ``x`` is not floating or ``train`` is not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.14); He et al. (2016); D2L Sec. 8.6.
    """
    func = checks.public_name(basic_block)
    _check_train(func, train, stride)
    if params.shortcut is None and stride != 1:
        checks.fail(func, "stride", "1 for a block without a projection shortcut (identity)", stride)
    kw = dict(train=train, axis_name=axis_name, conv_path=conv_path)
    a, s1 = _conv_bn(params.conv1, state.conv1, x, stride=stride, padding=1, **kw)
    a, s2 = _conv_bn(params.conv2, state.conv2, jax.nn.relu(a), stride=1, padding=1, **kw)
    u, ss = _shortcut(params.shortcut, state.shortcut, x, stride=stride, **kw)
    return jax.nn.relu(u + a), BasicBlockState(s1, s2, ss)


# ------------------------------------------------------------------ the bottleneck and ResNeXt blocks


def init_bottleneck_block(
    key: jax.Array,
    c_in: int,
    c_out: int,
    *,
    stride: int = 1,
    bottleneck_channels: int | None = None,
    groups: int = 1,
    dtype=None,
) -> tuple[BottleneckParams, BottleneckState]:
    r"""Initialise a bottleneck block ``C_in -> C_b -> C_b -> C_out`` (1x1, 3x3, 1x1).

    Args:
      key: a typed PRNG key.
      c_in: input channels.
      c_out: output channels (``4 C_b`` in ResNet-50).
      stride: the stride the block will be applied with.
      bottleneck_channels: $C_b$; default ``c_out // 4``.
      groups: groups of the 3x3 convolution (1 for ResNet; the cardinality for ResNeXt);
        must divide $C_b$.
      dtype: floating dtype of the parameters.

    Returns:
      ``(BottleneckParams, BottleneckState)``.

    Raises:
      ValueError: if a count is not a positive int or ``groups`` does not divide $C_b$.

    References:
      [MEDL] Ch. 6, Sec. 6.5; He et al. (2016), Fig. 5; Xie et al., "Aggregated residual
      transformations for deep neural networks", CVPR (2017); D2L Sec. 8.6.
    """
    func = checks.public_name(init_bottleneck_block)
    for name, v in (("c_in", c_in), ("c_out", c_out), ("stride", stride), ("groups", groups)):
        check_count(func, name, v)
    c_b = max(c_out // 4, 1) if bottleneck_channels is None else bottleneck_channels
    check_count(func, "bottleneck_channels", c_b)
    if c_b % groups:
        checks.fail(func, "groups", f"a divisor of the bottleneck channels C_b = {c_b}", groups)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    p1, s1 = _init_conv_bn(k1, c_in, c_b, 1, dtype=dtype)
    p2, s2 = _init_conv_bn(k2, c_b, c_b, 3, groups=groups, dtype=dtype)
    p3, s3 = _init_conv_bn(k3, c_b, c_out, 1, dtype=dtype)
    ps, ss = _init_shortcut(k4, c_in, c_out, stride, dtype)
    return BottleneckParams(p1, p2, p3, ps), BottleneckState(s1, s2, s3, ss)


@checks.inputs(x=one_image)
def bottleneck_block(
    params: BottleneckParams,
    state: BottleneckState,
    x: jax.Array,
    *,
    stride: int = 1,
    train: bool,
    axis_name: str | None = "batch",
    conv_path: str | None = None,
) -> tuple[jax.Array, BottleneckState]:
    r"""The bottleneck block on one map, $y = \mathrm{ReLU}(P u + r(u))$.

    $r = \mathrm{BN}_3 W_3 \star \rho\,\mathrm{BN}_2 W_2 \star_s \rho\,\mathrm{BN}_1 W_1 \star u$.

    $W_1$, $W_3$ are 1x1, $W_2$ is 3x3 with stride $s$, padding 1 and the groups its kernel
    was built with (a grouped $W_2$ makes it the ResNeXt block), $\rho = \mathrm{ReLU}$, and
    $P$ is the identity or the 1x1 projection with stride $s$.

    Args:
      params: ``BottleneckParams`` from :func:`init_bottleneck_block` or :func:`init_resnext_block`.
      state: ``BottleneckState``.
      x: ONE map $u$, shape ``(H, W, C_in)``.
      stride: $s$.
      train: batch statistics (``True``) or running statistics (``False``).
      axis_name: the name of the ``jax.vmap`` batch axis (train mode).
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      ``(y, new_state)``: ``y`` of shape ``(ceil(H/s), ceil(W/s), C_out)``.

    Raises:
      ValueError: as :func:`basic_block`.
      TypeError: as :func:`basic_block`.

    References:
      [MEDL] Ch. 6, Sec. 6.5; He et al. (2016), Fig. 5; Xie et al. (2017); D2L Sec. 8.6.
    """
    func = checks.public_name(bottleneck_block)
    _check_train(func, train, stride)
    if params.shortcut is None and stride != 1:
        checks.fail(func, "stride", "1 for a block without a projection shortcut (identity)", stride)
    kw = dict(train=train, axis_name=axis_name, conv_path=conv_path)
    a, s1 = _conv_bn(params.conv1, state.conv1, x, stride=1, padding=0, **kw)
    a, s2 = _conv_bn(params.conv2, state.conv2, jax.nn.relu(a), stride=stride, padding=1, **kw)
    a, s3 = _conv_bn(params.conv3, state.conv3, jax.nn.relu(a), stride=1, padding=0, **kw)
    u, ss = _shortcut(params.shortcut, state.shortcut, x, stride=stride, **kw)
    return jax.nn.relu(u + a), BottleneckState(s1, s2, s3, ss)


def init_resnext_block(
    key: jax.Array,
    c_in: int,
    c_out: int,
    *,
    groups: int,
    bottleneck_multiplier: float = 1.0,
    stride: int = 1,
    dtype=None,
) -> tuple[BottleneckParams, BottleneckState]:
    r"""Initialise a ResNeXt block: a bottleneck whose 3x3 convolution has ``groups`` groups.

    D2L's parametrisation: $C_b = \mathrm{round}(c_{out} \cdot$ ``bottleneck_multiplier``$)$
    bottleneck channels split into ``groups`` groups of $C_b / $ ``groups`` (the paper's
    cardinality $C$ is ``groups``; D2L's ``ResNeXtBlock(num_channels, groups, bot_mul)`` passes
    ``groups`` as the channels per group, i.e. our ``groups`` is its ``bot_channels // groups``).
    Apply it with :func:`resnext_block` (or :func:`bottleneck_block`, the same function).

    Args:
      key: a typed PRNG key.
      c_in: input channels.
      c_out: output channels.
      groups: the cardinality, a divisor of $C_b$.
      bottleneck_multiplier: $C_b / c_{out}$.
      stride: the stride the block will be applied with.
      dtype: floating dtype of the parameters.

    Returns:
      ``(BottleneckParams, BottleneckState)``.

    Raises:
      ValueError: if a count is not positive or ``groups`` does not divide $C_b$.

    References:
      [MEDL] Ch. 6, Sec. 6.5; Xie, Girshick, Dollar, Tu & He, "Aggregated residual
      transformations for deep neural networks", CVPR (2017); D2L Sec. 8.6.5.
    """
    func = checks.public_name(init_resnext_block)
    if not isinstance(bottleneck_multiplier, int | float) or bottleneck_multiplier <= 0:
        checks.fail(func, "bottleneck_multiplier", "a positive number", bottleneck_multiplier)
    c_b = max(int(round(c_out * bottleneck_multiplier)), 1)
    return init_bottleneck_block(key, c_in, c_out, stride=stride, bottleneck_channels=c_b, groups=groups, dtype=dtype)


def resnext_block(
    params: BottleneckParams,
    state: BottleneckState,
    x: jax.Array,
    *,
    stride: int = 1,
    train: bool,
    axis_name: str | None = "batch",
    conv_path: str | None = None,
) -> tuple[jax.Array, BottleneckState]:
    r"""The ResNeXt block on one map: :func:`bottleneck_block` with a grouped 3x3 convolution.

    $$y = \mathrm{ReLU}\Big(P u + \mathrm{BN}_3 W_3 \star \rho \big[\textstyle\bigoplus_{g=1}^{G}
    \mathrm{BN}_2 W_{2,g} \star_s \rho\, \mathrm{BN}_1 W_1 \star u\big]_g\Big),$$

    the sum of $G$ parallel paths written as one grouped convolution (Xie et al., Fig. 3c).

    Args:
      params: ``BottleneckParams`` from :func:`init_resnext_block`.
      state: ``BottleneckState``.
      x: ONE map, shape ``(H, W, C_in)``.
      stride: $s$.
      train: batch statistics (``True``) or running statistics (``False``).
      axis_name: the name of the ``jax.vmap`` batch axis (train mode).
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      ``(y, new_state)``.

    Raises:
      ValueError: as :func:`bottleneck_block`.
      TypeError: as :func:`bottleneck_block`.

    References:
      [MEDL] Ch. 6, Sec. 6.5; Xie et al. (2017); D2L Sec. 8.6.5.
    """
    return bottleneck_block(params, state, x, stride=stride, train=train, axis_name=axis_name, conv_path=conv_path)


# ------------------------------------------------------------------ whole networks

#: depth -> (block kind, blocks per stage), He et al. (2016), Table 1.
RESNET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def _init_stages(key, kind, blocks, widths, c, *, expansion, groups, width_per_group, dtype):
    keys = jax.random.split(key, sum(blocks))
    stages, states, i = [], [], 0
    for s, (n, w) in enumerate(zip(blocks, widths, strict=True)):
        ps, ss = [], []
        for b in range(n):
            stride = 2 if (s > 0 and b == 0) else 1
            c_out = w * expansion
            if kind == "basic":
                p, st = init_basic_block(keys[i], c, c_out, stride=stride, dtype=dtype)
            else:
                c_b = w * width_per_group // 64 * groups
                p, st = init_bottleneck_block(
                    keys[i], c, c_out, stride=stride, bottleneck_channels=c_b, groups=groups, dtype=dtype
                )
            ps.append(p)
            ss.append(st)
            c, i = c_out, i + 1
        stages.append(tuple(ps))
        states.append(tuple(ss))
    return tuple(stages), tuple(states), c


def init_resnet(
    key: jax.Array,
    depth: int = 18,
    *,
    num_classes: int = 1000,
    input_shape=(224, 224, 3),
    groups: int = 1,
    width_per_group: int = 64,
    dtype=None,
) -> tuple[ResNetParams, ResNetState]:
    r"""Initialise an ImageNet ResNet (He et al. 2016, Table 1) of depth 18, 34, 50, 101 or 152.

    Stem: 7x7 convolution, 64 channels, stride 2, batch norm, ReLU, 3x3 max pooling with stride 2.
    Four stages of 64, 128, 256, 512 base channels (basic blocks for 18/34; bottleneck blocks
    with 4x expansion for 50+), each after the first starting with a stride-2 block and a
    projection shortcut; then global average pooling and a dense layer. With 1000 classes
    ResNet-18, -34 and -50 have 11,689,512, 21,797,672 and 25,557,032 parameters (torchvision's
    counts, batch-norm $\gamma, \beta$ included, running statistics excluded).
    ``groups=32, width_per_group=4`` at depth 50 is ResNeXt-50 (32x4d), 25,028,904 parameters.

    Args:
      key: a typed PRNG key.
      depth: 18, 34, 50, 101 or 152 (:data:`RESNET_DEPTHS`).
      num_classes: number of outputs.
      input_shape: ``(H, W, C)``, ``H, W >= 32`` (global pooling makes the classifier
        independent of the size).
      groups: cardinality of the bottleneck's 3x3 convolution (ResNeXt; depth >= 50 only).
      width_per_group: bottleneck channels per group at the first stage (64 for ResNet).
      dtype: floating dtype of the parameters.

    Returns:
      ``(ResNetParams, ResNetState)``.

    Raises:
      ValueError: on an unknown depth, ``groups != 1`` with basic blocks, or a bad count or shape.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.14); He et al. (2016), Table 1; Xie et al. (2017);
      torchvision ``resnet18``/``resnet50``/``resnext50_32x4d``; D2L Sec. 8.6.
    """
    func = checks.public_name(init_resnet)
    checks.check_choice(func, "depth", depth, sorted(RESNET_DEPTHS))
    check_count(func, "num_classes", num_classes)
    check_count(func, "groups", groups)
    check_count(func, "width_per_group", width_per_group)
    _, _, C = check_input_shape(func, input_shape, min_size=32)
    kind, blocks = RESNET_DEPTHS[depth]
    if kind == "basic" and (groups != 1 or width_per_group != 64):
        checks.fail(func, "groups", f"1 (and width_per_group 64) for the basic blocks of ResNet-{depth}", groups)
    k_stem, k_stages, k_fc = jax.random.split(key, 3)
    stem, stem_state = _init_conv_bn(k_stem, C, 64, 7, dtype=dtype)
    stages, states, c = _init_stages(
        k_stages,
        kind,
        blocks,
        (64, 128, 256, 512),
        64,
        expansion=1 if kind == "basic" else 4,
        groups=groups,
        width_per_group=width_per_group,
        dtype=dtype,
    )
    fc = init_dense(k_fc, c, num_classes, init="glorot_uniform", dtype=dtype)
    return ResNetParams(stem, stages, fc), ResNetState(stem_state, states)


def init_small_resnet(
    key: jax.Array,
    depth: int = 20,
    *,
    num_classes: int = 10,
    input_shape=(32, 32, 3),
    widths: Sequence[int] = (16, 32, 64),
    dtype=None,
) -> tuple[ResNetParams, ResNetState]:
    r"""Initialise a small ResNet for 32x32 inputs (He et al. 2016, Sec. 4.2: the CIFAR-10 networks).

    ``depth = 6n + 2``: a 3x3 stem convolution (``widths[0]`` channels, stride 1, no pooling),
    three stages of ``n`` basic blocks with ``widths`` channels (32x32, 16x16, 8x8 maps), global
    average pooling and a dense layer. The paper's shortcuts between stages were zero-padded
    identities (option A); here they are projections (option B), as in most re-implementations,
    which adds $C_{in} C_{out} + 2 C_{out}$ parameters per downsampling block. ResNet-20 (the
    default) has 272,474 parameters with 10 classes; ``depth=8`` is a quick one-block-per-stage net.

    Args:
      key: a typed PRNG key.
      depth: $6n + 2$ with $n \ge 1$ (8, 14, 20, 32, 44, 56, 110, ...).
      num_classes: number of outputs.
      input_shape: ``(H, W, C)``; ``H, W >= 4`` (the maps are halved twice).
      widths: channels of the stages (the stem has ``widths[0]``); more than three widths add
        stages.
      dtype: floating dtype of the parameters.

    Returns:
      ``(ResNetParams, ResNetState)``; apply with :func:`resnet`.

    Raises:
      ValueError: if ``depth`` is not $6n + 2$ or a count or shape is not valid.

    References:
      [MEDL] Ch. 6, Sec. 6.5; He et al. (2016), Sec. 4.2; D2L Sec. 8.6.
    """
    func = checks.public_name(init_small_resnet)
    check_count(func, "depth", depth)
    if (depth - 2) % 6 or depth < 8:
        checks.fail(func, "depth", "6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...)", depth)
    check_count(func, "num_classes", num_classes)
    ok = isinstance(widths, Sequence) and len(widths) >= 1
    if not ok:
        checks.fail(func, "widths", "a non-empty sequence of positive ints", widths)
    for w in widths:
        check_count(func, "widths", w)
    _, _, C = check_input_shape(func, input_shape, min_size=2 ** (len(widths) - 1))
    n = (depth - 2) // 6
    k_stem, k_stages, k_fc = jax.random.split(key, 3)
    stem, stem_state = _init_conv_bn(k_stem, C, widths[0], 3, dtype=dtype)
    stages, states, c = _init_stages(
        k_stages, "basic", (n,) * len(widths), tuple(widths), widths[0],
        expansion=1, groups=1, width_per_group=64, dtype=dtype,
    )  # fmt: skip
    fc = init_dense(k_fc, c, num_classes, init="glorot_uniform", dtype=dtype)
    return ResNetParams(stem, stages, fc), ResNetState(stem_state, states)


@checks.inputs(x=one_image)
def resnet_forward(
    params: ResNetParams,
    state: ResNetState,
    x: jax.Array,
    *,
    train: bool,
    axis_name: str | None = "batch",
    conv_path: str | None = None,
) -> tuple[dict[str, jax.Array], ResNetState]:
    r"""A ResNet on one image, returning the output of the stem, every block and the classifier.

    $a = \mathrm{ReLU}(\mathrm{BN}(W_0 \star x))$ (then a 3x3 max pooling with the 7x7 ImageNet
    stem); each block $a \leftarrow \mathrm{ReLU}(P a + r(a))$; $z = W_{fc}\,\mathrm{GAP}(a) + b_{fc}$.

    Args:
      params: ``ResNetParams`` from :func:`init_resnet` or :func:`init_small_resnet`.
      state: ``ResNetState`` (running statistics).
      x: ONE image, shape ``(H, W, C)``.
      train: batch statistics over ``axis_name`` and updated running statistics (``True``), or
        the running statistics (``False``).
      axis_name: the name of the ``jax.vmap`` batch axis (train mode).
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      ``(out, new_state)``: ``out`` a dict in order ``"stem"``, (``"pool"``), ``"stages.i.j"``
      for block ``j`` of stage ``i``, ``"avgpool"`` ``(C_last,)`` and ``"fc"`` (the logits,
      ``(num_classes,)``).

    Raises:
      ValueError: if ``x`` is not one image with the parameters' channels, or is too small.
      TypeError: if ``x`` is not floating or ``train`` is not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.14); He et al. (2016); D2L Sec. 8.6.
    """
    func = checks.public_name(resnet_forward)
    _check_train(func, train, 1)
    kw = dict(train=train, axis_name=axis_name, conv_path=conv_path)
    imagenet = params.stem.conv.W.shape[0] == 7
    out = {}
    a, stem_state = _conv_bn(
        params.stem, state.stem, x, stride=2 if imagenet else 1, padding=3 if imagenet else 1, **kw
    )
    a = out["stem"] = jax.nn.relu(a)
    if imagenet:
        a = out["pool"] = max_pool(a, 3, stride=2, padding=1)
    new_stages = []
    for i, (stage, stage_state) in enumerate(zip(params.stages, state.stages, strict=True)):
        new_blocks = []
        for j, (p, s) in enumerate(zip(stage, stage_state, strict=True)):
            block = basic_block if isinstance(p, BasicBlockParams) else bottleneck_block
            a, s = block(p, s, a, stride=2 if (i > 0 and j == 0) else 1, **kw)
            out[f"stages.{i}.{j}"] = a
            new_blocks.append(s)
        new_stages.append(tuple(new_blocks))
    out["avgpool"] = global_avg_pool(a)
    out["fc"] = dense(params.fc, out["avgpool"])
    return out, ResNetState(stem_state, tuple(new_stages))


def resnet(
    params: ResNetParams,
    state: ResNetState,
    x: jax.Array,
    *,
    train: bool,
    axis_name: str | None = "batch",
    conv_path: str | None = None,
) -> tuple[jax.Array, ResNetState]:
    r"""A ResNet on one image: ``(logits, new_state)``.

    See :func:`init_resnet` / :func:`init_small_resnet` for the architectures and
    :func:`resnet_forward` for the intermediates. In train mode call it under
    ``jax.vmap(..., axis_name=axis_name, out_axes=(0, None))``.

    Args:
      params: ``ResNetParams``.
      state: ``ResNetState``.
      x: ONE image, shape ``(H, W, C)``.
      train: batch statistics (``True``) or running statistics (``False``).
      axis_name: the name of the ``jax.vmap`` batch axis (train mode).
      conv_path: the convolution path (see :func:`mathdl.layers.conv2d`).

    Returns:
      ``(logits, new_state)``, logits of shape ``(num_classes,)``.

    Raises:
      ValueError: as :func:`resnet_forward`.
      TypeError: as :func:`resnet_forward`.

    References:
      [MEDL] Ch. 6, Sec. 6.5 (Fig. 6.14); He et al. (2016); D2L Sec. 8.6.
    """
    out, new_state = resnet_forward(params, state, x, train=train, axis_name=axis_name, conv_path=conv_path)
    return out["fc"], new_state
