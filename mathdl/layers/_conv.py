r"""Convolution layers in the book's notation ([MEDL] Ch. 6, Sec. 6.2-6.3), channels last.

The book's convolution $z = W \star x$ is deep learning's *cross-correlation*: each output entry is
the sum of the kernel times one window of the input,

$$z_{i,j,o} = b_o + \sum_{a=0}^{K_h-1}\sum_{b=0}^{K_w-1}\sum_{c=0}^{C_g-1}
W_{a,b,c,o}\; \tilde x_{s_h i + D_h a,\; s_w j + D_w b,\; g(o) C_g + c},$$

with $\tilde x$ the zero-padded input, strides $s$, dilations $D$, and $g(o)$ the group of output
channel $o$ (``groups`` = 1 is the ordinary layer; ``groups`` = $C$ is depthwise). The spatial output
size is $\lfloor (M + 2P - D(K - 1) - 1)/S \rfloor + 1$ (:func:`conv_output_size`).

Layout (the batching rule of docs/architecture.md): ONE example, channels last, ``x`` of shape
``(H, W, C)`` for 2-D and ``(T, C)`` for 1-D; kernels are ``HWIO``, ``W`` of shape
``(K_h, K_w, C_in / groups, C_out)`` (``(K, C_in / groups, C_out)`` in 1-D). A batch is refused:
use ``jax.vmap``. The book writes tensors as $M_c \times M_h \times M_v$ (channels first); the
arithmetic is the same, only the storage order differs.

Three paths compute the same numbers (the tests pin them equal):

* ``"reference"``: from the definition, one window at a time (slow; for teaching and tests);
* ``"xla"``: ``jax.lax.conv_general_dilated``;
* ``"im2col"``: the windows gathered into a matrix (one row per output position), times the
  kernel reshaped to ``(K_h K_w C_g, C_out)``: one matrix multiply.
"""

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers._init import resolve_initialiser

__all__ = [
    "CONV_PATHS",
    "Conv1dParams",
    "Conv2dParams",
    "conv1d",
    "conv2d",
    "conv2d_backward",
    "conv2d_reference",
    "conv_output_size",
    "conv_param_count",
    "conv_transpose2d",
    "convolve1d",
    "convolve2d",
    "default_conv_path",
    "init_conv1d",
    "init_conv2d",
    "init_conv_transpose2d",
]

#: The values of the convolutions' ``path`` argument (the same maths, three kernels).
CONV_PATHS = ("reference", "xla", "im2col")

# The default path per backend: the fastest in `mathdl bench --suite conv` (forward + backward of
# a conv layer under jit and vmap). default_conv_path's docstring gives the figures.
_DEFAULT_PATH = {"cpu": "xla", "gpu": "xla", "cuda": "xla", "rocm": "xla", "tpu": "xla"}

_LAYOUT = {1: "(T, C)", 2: "(H, W, C)"}
_KERNEL = {1: "(K, C_in/groups, C_out)", 2: "(K_h, K_w, C_in/groups, C_out)"}
_AXES = {1: ("T",), 2: ("H", "W")}
_XLA_DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC")}


class Conv2dParams(NamedTuple):
    """Parameters of one 2-D convolution layer.

    Attributes:
      W: kernel, shape ``(K_h, K_w, C_in / groups, C_out)`` (HWIO).
      b: bias, shape ``(C_out,)``, or ``None`` for a layer without bias (before batch norm).
    """

    W: jax.Array
    b: jax.Array | None


class Conv1dParams(NamedTuple):
    """Parameters of one 1-D convolution layer.

    Attributes:
      W: kernel, shape ``(K, C_in / groups, C_out)`` (WIO).
      b: bias, shape ``(C_out,)``, or ``None``.
    """

    W: jax.Array
    b: jax.Array | None


# ------------------------------------------------------------------ argument normalisation


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _ints(func: str, name: str, value, nd: int, *, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints, each ``>= minimum``."""
    if _is_int(value):
        vals = (value,) * nd
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == nd and all(map(_is_int, value)):
        vals = tuple(value)
    else:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        checks.fail(func, name, f"{what} or a sequence of {nd} of them", value)
    if any(v < minimum for v in vals):
        what = "positive ints" if minimum == 1 else f"ints >= {minimum}"
        checks.fail(func, name, what, value)
    return vals


def _same_pads(sizes, kernel, stride, dilation):
    pads = []
    for n, k, s, d in zip(sizes, kernel, stride, dilation, strict=True):
        out = -(-n // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _pads(func: str, padding, sizes, kernel, stride, dilation, *, allow_same: bool = True):
    """Normalise ``padding`` to ``((lo, hi), ...)``, one pair per spatial axis."""
    nd = len(sizes)
    words = ["valid", "same"] if allow_same else ["valid"]
    expected = (
        f"{' or '.join(repr(w) for w in words)}, a non-negative int, or a sequence of {nd} ints or (lo, hi) pairs"
    )
    if isinstance(padding, str):
        checks.check_choice(func, "padding", padding.lower(), words)
        if padding.lower() == "valid":
            return ((0, 0),) * nd
        return _same_pads(sizes, kernel, stride, dilation)
    if _is_int(padding):
        entries = (padding,) * nd
    elif isinstance(padding, Sequence):
        entries = tuple(padding)
        if nd == 1 and len(entries) == 2 and all(map(_is_int, entries)):
            entries = (entries,)  # a bare (lo, hi) pair for the one axis
    else:
        checks.fail(func, "padding", expected, padding)
    if len(entries) != nd:
        checks.fail(func, "padding", expected, padding)
    pads = []
    for e in entries:
        if _is_int(e):
            pair = (e, e)
        elif isinstance(e, Sequence) and len(e) == 2 and all(map(_is_int, e)):
            pair = tuple(e)
        else:
            checks.fail(func, "padding", expected, padding)
        if min(pair) < 0:
            checks.fail(func, "padding", "non-negative padding", padding)
        pads.append(pair)
    return tuple(pads)


def _path(func: str, path) -> str:
    if path is None:
        return default_conv_path()
    checks.check_choice(func, "path", path, list(CONV_PATHS))
    return path


def default_conv_path(backend: str | None = None) -> str:
    r"""The convolution path used when ``path=None``: the fastest measured on that backend.

    Measured with ``mathdl bench --suite conv`` (float32, one conv layer on a batch, under
    ``jax.jit`` and ``jax.vmap``; 2 shared CPU cores, medians of 11 rounds). Forward plus both
    gradients: LeNet's second layer (128 x 14x14x6, 5x5 to 16) 19.4 ms ``"xla"`` vs 17.5 ms
    ``"im2col"`` (a tie within the noise); a small-ResNet layer (16 x 32x32x64, 3x3 to 64) 140 ms
    ``"xla"`` vs 225 ms ``"im2col"``. So ``"xla"`` is the CPU default. ``"im2col"`` wins one
    operation, the input gradient at the LeNet size (6.7 ms vs 12.7 ms, where XLA's input-gradient
    convolution produces only 6 channels). On GPU the XLA path calls cuDNN and is the default
    without a contest (not measured here).

    Args:
      backend: ``"cpu"``, ``"gpu"``, ``"tpu"``; default ``jax.default_backend()``.

    Returns:
      One of :data:`CONV_PATHS`.

    References:
      [MEDL] Ch. 6, Sec. 6.2; ``mathdl bench --suite conv``.
    """
    backend = jax.default_backend() if backend is None else backend
    return _DEFAULT_PATH.get(backend, "xla")


def _example(nd: int):
    """A spec for ONE channels-last example of ``nd`` spatial axes (refuses a batch, says vmap)."""

    def check(func, name, value, dims):
        value = checks.conform(func, name, value, "float[*shape]")
        if value.ndim == nd + 2:
            checks.fail(
                func,
                name,
                f"one example of shape {_LAYOUT[nd]} (channels last); for a batch use jax.vmap",
                checks.Text(f"shape {tuple(value.shape)} (rank {value.ndim})"),
            )
        if value.ndim != nd + 1:
            checks.fail(
                func,
                name,
                f"one example of shape {_LAYOUT[nd]} (rank {nd + 1}, channels last)",
                checks.Text(f"shape {tuple(value.shape)} (rank {value.ndim})"),
            )
        return value

    return check


class _Config(NamedTuple):
    nd: int
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    groups: int
    out: tuple


def _kernel_fits(func, name, nd, sizes, kernel, dilation, pads):
    for ax, n, k, d, (lo, hi) in zip(_AXES[nd], sizes, kernel, dilation, pads, strict=True):
        extent = d * (k - 1) + 1
        if extent > n + lo + hi:
            checks.fail(
                func,
                name,
                f"a kernel that fits the padded input along {ax}: dilated extent D(K-1)+1 <= "
                f"M + P_lo + P_hi = {n} + {lo} + {hi} = {n + lo + hi}",
                checks.Text(f"kernel size {k} with dilation {d} (extent {extent})"),
            )


def _channels(func, name, x, nd, C_g, groups, *, what="input"):
    """Check the channel axis of ``x`` against ``C_g * groups``, spotting a channels-first array."""
    C = x.shape[-1]
    want = C_g * groups
    if C == want:
        return
    if x.shape[0] == want:
        checks.fail(
            func,
            name,
            f"channels last, {_LAYOUT[nd]} with C = {want}; this looks channels-first (NCHW/CHW): "
            "use jnp.moveaxis(x, 0, -1)",
            checks.Text(f"shape {tuple(x.shape)}"),
        )
    if C % groups:
        checks.fail(
            func,
            name,
            f"{what} channels divisible by groups = {groups} (layout {_LAYOUT[nd]})",
            checks.Text(f"C = {C} in shape {tuple(x.shape)}"),
        )
    checks.fail(
        func,
        name,
        f"C = C_in/groups * groups = {C_g} * {groups} = {want} {what} channels in the last axis of {_LAYOUT[nd]} "
        f"(the kernel's C_in/groups axis is {C_g})",
        checks.Text(f"shape {tuple(x.shape)} with C = {C}"),
    )


def _setup(func, params, x, nd, stride, padding, dilation, groups) -> _Config:
    W = params.W
    if not _is_int(groups) or groups < 1:
        checks.fail(func, "groups", "a positive int", groups)
    kernel = tuple(W.shape[:nd])
    C_g, C_out = W.shape[nd], W.shape[nd + 1]
    if C_out % groups:
        checks.fail(
            func,
            "groups",
            f"a divisor of the output channels C_out = {C_out} (params.W of shape {tuple(W.shape)}, {_KERNEL[nd]})",
            groups,
        )
    _channels(func, "x", x, nd, C_g, groups)
    stride = _ints(func, "stride", stride, nd)
    dilation = _ints(func, "dilation", dilation, nd)
    sizes = tuple(x.shape[:nd])
    pads = _pads(func, padding, sizes, kernel, stride, dilation)
    _kernel_fits(func, "params.W", nd, sizes, kernel, dilation, pads)
    out = tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, d, (lo, hi) in zip(sizes, kernel, stride, dilation, pads, strict=True)
    )
    return _Config(nd, kernel, stride, dilation, pads, groups, out)


# ------------------------------------------------------------------ the three paths (unchecked kernels)


def _promote(x, W):
    dtype = jnp.result_type(x, W)
    return x.astype(dtype), W.astype(dtype)


def _conv_xla(x, W, cfg: _Config):
    x, W = _promote(x, W)
    z = lax.conv_general_dilated(
        x[None],
        W,
        window_strides=cfg.stride,
        padding=cfg.pads,
        rhs_dilation=cfg.dilation,
        dimension_numbers=_XLA_DIMS[cfg.nd],
        feature_group_count=cfg.groups,
    )
    return z[0]


def _pad(x, pads):
    return jnp.pad(x, (*pads, (0, 0)))


def _window_slices(offsets, cfg: _Config):
    """The strided slice of the padded input that kernel offset ``offsets`` multiplies."""
    return tuple(
        slice(a * d, a * d + s * (m - 1) + 1, s)
        for a, d, s, m in zip(offsets, cfg.dilation, cfg.stride, cfg.out, strict=True)
    )


def _conv_im2col(x, W, cfg: _Config):
    x, W = _promote(x, W)
    xp = _pad(x, cfg.pads)
    C = x.shape[-1]
    G = cfg.groups
    KK = math.prod(cfg.kernel)
    P = math.prod(cfg.out)
    cols = [xp[_window_slices(off, cfg)] for off in itertools.product(*map(range, cfg.kernel))]
    patches = jnp.stack(cols, axis=-2).reshape(P, KK, C)  # one row per output position
    C_out = W.shape[-1]
    if G == 1:
        z = patches.reshape(P, KK * C) @ W.reshape(KK * C, C_out)
    else:
        C_g = C // G
        z = jnp.einsum(
            "pkgc,kcgo->pgo",
            patches.reshape(P, KK, G, C_g),
            W.reshape(KK, C_g, G, C_out // G),
        )
    return z.reshape(*cfg.out, C_out)


def _conv_reference(x, W, cfg: _Config):
    """Each output entry is the sum of W times one window of the padded input (the definition)."""
    x, W = _promote(x, W)
    xp = _pad(x, cfg.pads)
    nd, G = cfg.nd, cfg.groups
    C = x.shape[-1]
    C_g, C_out = C // G, W.shape[-1]
    Wg = W.reshape(*cfg.kernel, C_g, G, C_out // G)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(cfg.kernel, cfg.dilation, strict=True))
    dil = tuple(slice(None, None, d) for d in cfg.dilation)

    def entry(index):  # index: the output position (i, j)
        start = [i * s for i, s in zip(index, cfg.stride, strict=True)] + [0]
        window = lax.dynamic_slice(xp, start, (*extent, C))[dil]  # shape (*K, C)
        window = window.reshape(*cfg.kernel, G, C_g).swapaxes(-1, -2)  # (*K, C_g, G)
        return jnp.sum(window[..., None] * Wg, axis=tuple(range(nd + 1))).reshape(C_out)

    grid = jnp.indices(cfg.out).reshape(nd, -1).T
    return jax.vmap(entry)(tuple(grid.T)).reshape(*cfg.out, C_out)


_PATHS = {"reference": _conv_reference, "xla": _conv_xla, "im2col": _conv_im2col}


def _conv(params, x, cfg: _Config, path: str):
    return _add_bias(_PATHS[path](x, params.W, cfg), params.b)


def _add_bias(z, b):
    if b is None:
        return z
    return z + b.astype(z.dtype).reshape((1,) * (z.ndim - 1) + b.shape)


# ------------------------------------------------------------------ public API


def _init(func, key, nd, c_in, c_out, kernel_size, init, dtype, groups, bias, cls):
    for name, value in (("c_in", c_in), ("c_out", c_out), ("groups", groups)):
        if not _is_int(value) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    for name, value in (("c_in", c_in), ("c_out", c_out)):
        if value % groups:
            checks.fail(func, name, f"a multiple of groups = {groups}", value)
    kernel = _ints(func, "kernel_size", kernel_size, nd)
    if not isinstance(bias, bool):
        checks.fail(func, "bias", "a bool", type(bias).__name__, exc=TypeError)
    C_g = c_in // groups
    if isinstance(init, str):
        # the named initialisers read fans from the column orientation (..., N_out, N_in):
        # fan_in = C_g * K_h * K_w, fan_out = C_out * K_h * K_w; then move to HWIO
        W = resolve_initialiser(func, init)(key, (*kernel, c_out, C_g), dtype)
        W = jnp.swapaxes(W, -1, -2)
    else:
        W = resolve_initialiser(func, init)(key, (*kernel, C_g, c_out), dtype)
    b = jnp.zeros((c_out,), W.dtype) if bias else None
    return cls(W, b)


def init_conv2d(
    key: jax.Array,
    c_in: int,
    c_out: int,
    kernel_size,
    *,
    groups: int = 1,
    bias: bool = True,
    init="he_normal",
    dtype=None,
) -> Conv2dParams:
    r"""Initialise a 2-D convolution layer: $W \sim$ ``init`` with fan-in $C_g K_h K_w$, $b = 0$.

    Args:
      key: a typed PRNG key.
      c_in: input channels $C_{in}$ (a positive multiple of ``groups``).
      c_out: output channels $C_{out}$, the book's $K_{out}$ (a positive multiple of ``groups``).
      kernel_size: $K$ or $(K_h, K_w)$.
      groups: number of channel groups (``c_in`` for a depthwise layer).
      bias: whether the layer has a bias (``False`` before a batch norm).
      init: an initialiser name (see ``mathdl.layers.INITIALISERS``; fans are
        ``fan_in = C_g K_h K_w``, ``fan_out = C_out K_h K_w``) or a callable
        ``(key, shape, dtype) -> array`` that receives the HWIO shape.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``Conv2dParams(W, b)``: ``W`` of shape ``(K_h, K_w, c_in / groups, c_out)`` (HWIO) and ``b``
      of shape ``(c_out,)`` (or ``None`` when ``bias=False``).

    Raises:
      ValueError: if a size is not a positive int, a channel count is not a multiple of
        ``groups``, or ``init`` is an unknown name.
      TypeError: if ``bias`` is not a bool or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.3 (one kernel tensor per output channel, Fig. 6.10); Ch. 5, Sec. 5.5
      (He initialisation).
    """
    return _init(
        checks.public_name(init_conv2d), key, 2, c_in, c_out, kernel_size, init, dtype, groups, bias, Conv2dParams
    )


def init_conv1d(
    key: jax.Array,
    c_in: int,
    c_out: int,
    kernel_size,
    *,
    groups: int = 1,
    bias: bool = True,
    init="he_normal",
    dtype=None,
) -> Conv1dParams:
    r"""Initialise a 1-D convolution layer: $W \sim$ ``init`` with fan-in $C_g K$, $b = 0$.

    Args:
      key: a typed PRNG key.
      c_in: input channels (a positive multiple of ``groups``).
      c_out: output channels (a positive multiple of ``groups``).
      kernel_size: $K$ (an int or a 1-sequence).
      groups: number of channel groups.
      bias: whether the layer has a bias.
      init: initialiser name or callable ``(key, shape, dtype)`` (receives ``(K, C_g, C_out)``).
      dtype: floating dtype of the parameters.

    Returns:
      ``Conv1dParams(W, b)``: ``W`` of shape ``(K, c_in / groups, c_out)``, ``b`` of shape ``(c_out,)``.

    Raises:
      ValueError: as :func:`init_conv2d`.
      TypeError: as :func:`init_conv2d`.

    References:
      [MEDL] Ch. 6, Sec. 6.2 (1-D convolution).
    """
    return _init(
        checks.public_name(init_conv1d), key, 1, c_in, c_out, kernel_size, init, dtype, groups, bias, Conv1dParams
    )


_P2 = checks.fields(W="float[K_h K_w C_g C_out]", b="float[C_out]?")
_P1 = checks.fields(W="float[K C_g C_out]", b="float[C_out]?")


@checks.inputs(params=_P2, x=_example(2))
def conv2d(
    params: Conv2dParams,
    x: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    path: str | None = None,
) -> jax.Array:
    r"""2-D convolution layer (the book's $z = W \star x + b$, a cross-correlation) on one image.

    $$z_{i,j,o} = b_o + \sum_{a,b,c} W_{a,b,c,o}\,\tilde x_{s_h i + D_h a,\, s_w j + D_w b,\, g(o) C_g + c}$$

    with $\tilde x$ the zero-padded input and $g(o) = \lfloor o / (C_{out}/G) \rfloor$ the group of
    output channel $o$. Output size per axis: $\lfloor (M + P_{lo} + P_{hi} - D(K-1) - 1)/S \rfloor + 1$.
    A 1x1 kernel is a dense layer applied at every position.

    Args:
      params: ``Conv2dParams(W, b)``, ``W`` of shape ``(K_h, K_w, C/groups, C_out)`` (HWIO), ``b`` of
        shape ``(C_out,)`` or ``None``.
      x: ONE image, shape ``(H, W, C)``, channels last. Use ``jax.vmap`` for a batch.
      stride: $S$, an int or ``(s_h, s_w)``, positive.
      padding: ``"valid"`` (none), ``"same"`` (output ``ceil(M / S)``; the odd extra row goes at the
        end, as XLA and PyTorch do), an int $P$, ``(P_h, P_w)``, or ``((lo_h, hi_h), (lo_w, hi_w))``.
      dilation: $D$, an int or ``(D_h, D_w)``, positive (``D - 1`` zeros between kernel taps).
      groups: $G$; ``C`` and ``C_out`` must be multiples; ``groups = C`` is depthwise.
      path: ``"reference"`` (the definition, one window at a time), ``"xla"``
        (``lax.conv_general_dilated``), ``"im2col"`` (windows as matrix rows, one matmul), or
        ``None`` for :func:`default_conv_path` (``"xla"`` on CPU and GPU, the fastest measured).

    Returns:
      $z$, shape ``(H_out, W_out, C_out)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image (a batch, or a channels-first array, is
        named as such), its channels differ from ``C_in/groups * groups``, the channels are not
        divisible by ``groups``, the dilated kernel is larger than the padded input, or a stride,
        dilation or padding is not a valid value.
      TypeError: if ``x`` or the parameters are not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.2 (convolution, padding, stride, dilation, Figs. 6.3-6.9) and Sec. 6.3
      (multiple channels, Fig. 6.10); D2L Sec. 7.2-7.4.
    """
    func = checks.public_name(conv2d)
    cfg = _setup(func, params, x, 2, stride, padding, dilation, groups)
    return _conv(params, x, cfg, _path(func, path))


@checks.inputs(params=_P2, x=_example(2))
def conv2d_reference(
    params: Conv2dParams,
    x: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
) -> jax.Array:
    r"""2-D convolution from its definition: each output entry is $\sum W \odot$ (one window of $\tilde x$).

    The same function as :func:`conv2d` with ``path="reference"``: the window of the padded input
    under output position $(i, j)$ is cut out, its taps taken every $D$ entries, multiplied
    elementwise by the kernel and summed; ``jax.vmap`` runs this over all output positions.

    Args:
      params: ``Conv2dParams(W, b)`` as in :func:`conv2d`.
      x: ONE image, shape ``(H, W, C)``.
      stride: as :func:`conv2d`.
      padding: as :func:`conv2d`.
      dilation: as :func:`conv2d`.
      groups: as :func:`conv2d`.

    Returns:
      $z$, shape ``(H_out, W_out, C_out)``.

    Raises:
      ValueError: as :func:`conv2d`.
      TypeError: as :func:`conv2d`.

    References:
      [MEDL] Ch. 6, Sec. 6.2, Fig. 6.3 (a 6x7 input and a 3x3 kernel give 4x5).
    """
    func = checks.public_name(conv2d_reference)
    cfg = _setup(func, params, x, 2, stride, padding, dilation, groups)
    return _conv(params, x, cfg, "reference")


@checks.inputs(params=_P1, x=_example(1))
def conv1d(
    params: Conv1dParams,
    x: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    path: str | None = None,
) -> jax.Array:
    r"""1-D convolution layer (cross-correlation) on one sequence.

    $$z_{t,o} = b_o + \sum_{a=0}^{K-1}\sum_{c} W_{a,c,o}\, \tilde x_{s t + D a,\, g(o) C_g + c}.$$

    Args:
      params: ``Conv1dParams(W, b)``, ``W`` of shape ``(K, C/groups, C_out)``, ``b`` ``(C_out,)`` or ``None``.
      x: ONE sequence, shape ``(T, C)``, channels last. Use ``jax.vmap`` for a batch.
      stride: positive int.
      padding: ``"valid"``, ``"same"``, an int, or a ``(lo, hi)`` pair.
      dilation: positive int.
      groups: channel groups.
      path: ``"reference"``, ``"xla"``, ``"im2col"`` or ``None`` (:func:`default_conv_path`).

    Returns:
      $z$, shape ``(T_out, C_out)``.

    Raises:
      ValueError: as :func:`conv2d`, for the layout ``(T, C)``.
      TypeError: if ``x`` or the parameters are not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.2 (1-D convolution); D2L Sec. 7.2.
    """
    func = checks.public_name(conv1d)
    cfg = _setup(func, params, x, 1, stride, padding, dilation, groups)
    return _conv(params, x, cfg, _path(func, path))


def _flip(params, nd):
    return params._replace(W=jnp.flip(params.W, axis=tuple(range(nd))))


@checks.inputs(params=_P2, x=_example(2))
def convolve2d(
    params: Conv2dParams,
    x: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    path: str | None = None,
) -> jax.Array:
    r"""The mathematical (flipped-kernel) 2-D convolution $z = W * x + b$.

    $$z_{i,j,o} = b_o + \sum_{a,b,c} W_{K_h-1-a,\,K_w-1-b,\,c,o}\,\tilde x_{s i + D a,\, s j + D b,\, c},$$

    i.e. :func:`conv2d` with the kernel flipped along both spatial axes; with ``padding`` =
    ``K - 1`` this is ``scipy.signal.convolve2d(..., mode="full")`` per channel pair. The book's
    layers use the unflipped form; the two differ only in how the kernel is stored.

    Args:
      params: ``Conv2dParams(W, b)`` as in :func:`conv2d`.
      x: ONE image, shape ``(H, W, C)``.
      stride: as :func:`conv2d`.
      padding: as :func:`conv2d`.
      dilation: as :func:`conv2d`.
      groups: as :func:`conv2d`.
      path: as :func:`conv2d`.

    Returns:
      $z$, shape ``(H_out, W_out, C_out)``.

    Raises:
      ValueError: as :func:`conv2d`.
      TypeError: as :func:`conv2d`.

    References:
      [MEDL] Ch. 6, Sec. 6.2 (convolution vs cross-correlation, LTI systems); D2L Sec. 7.2.
    """
    func = checks.public_name(convolve2d)
    cfg = _setup(func, params, x, 2, stride, padding, dilation, groups)
    return _conv(_flip(params, 2), x, cfg, _path(func, path))


@checks.inputs(params=_P1, x=_example(1))
def convolve1d(
    params: Conv1dParams,
    x: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    path: str | None = None,
) -> jax.Array:
    r"""The mathematical (flipped-kernel) 1-D convolution, $(W * x)_t = \sum_a W_{K-1-a} x_{t+a}$.

    With one channel and ``padding = K - 1`` it equals ``numpy.convolve(x, w, mode="full")``.

    Args:
      params: ``Conv1dParams(W, b)`` as in :func:`conv1d`.
      x: ONE sequence, shape ``(T, C)``.
      stride: as :func:`conv1d`.
      padding: as :func:`conv1d`.
      dilation: as :func:`conv1d`.
      groups: as :func:`conv1d`.
      path: as :func:`conv1d`.

    Returns:
      $z$, shape ``(T_out, C_out)``.

    Raises:
      ValueError: as :func:`conv1d`.
      TypeError: as :func:`conv1d`.

    References:
      [MEDL] Ch. 6, Sec. 6.2 (the convolution of signals).
    """
    func = checks.public_name(convolve1d)
    cfg = _setup(func, params, x, 1, stride, padding, dilation, groups)
    return _conv(_flip(params, 1), x, cfg, _path(func, path))


def conv_output_size(n: int, k: int, *, stride: int = 1, padding=0, dilation: int = 1) -> int:
    r"""Spatial output size of a convolution, $\lfloor (n + 2P - D(k-1) - 1)/S \rfloor + 1$.

    Args:
      n: input size $M$ along the axis (positive int).
      k: kernel size $K$ (positive int).
      stride: $S$ (positive int).
      padding: $P$ on each side (non-negative int), a ``(lo, hi)`` pair (then $2P$ is
        ``lo + hi``), ``"valid"`` ($P = 0$) or ``"same"`` (output ``ceil(n / S)``).
      dilation: $D$ (positive int).

    Returns:
      The output size (an int >= 1).

    Raises:
      ValueError: if a size is not a positive int, the padding is not valid, or the dilated kernel
        is larger than the padded input (the output would be empty).

    References:
      [MEDL] Ch. 6, Sec. 6.2 (general output size); D2L Sec. 7.3:
      $\lfloor (n_h - k_h + p_h + s_h)/s_h \rfloor$.
    """
    func = checks.public_name(conv_output_size)
    for name, value in (("n", n), ("k", k)):
        if not _is_int(value) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    (s,) = _ints(func, "stride", stride, 1)
    (d,) = _ints(func, "dilation", dilation, 1)
    ((lo, hi),) = _pads(func, padding, (n,), (k,), (s,), (d,))
    _kernel_fits(func, "k", 1, (n,), (k,), (d,), ((lo, hi),))
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def conv_param_count(c_in: int, c_out: int, kernel_size, *, groups: int = 1, bias: bool = True) -> int:
    r"""Number of parameters of a convolution layer, $K_{out}(C_{in} K_h K_w / G + 1)$.

    With ``groups = 1`` and a bias this is the book's $K_{out}(c_{in} K_h K_v + 1)$.

    Args:
      c_in: input channels (a multiple of ``groups``).
      c_out: output channels $K_{out}$.
      kernel_size: $K$ (square, in 2-D), or a sequence of the kernel's spatial sizes (any rank).
      groups: channel groups $G$.
      bias: whether the layer has a bias (``+1`` per output channel).

    Returns:
      The parameter count (an int).

    Raises:
      ValueError: if a size is not a positive int or ``c_in`` is not a multiple of ``groups``.

    References:
      [MEDL] Ch. 6, Sec. 6.3 (parameters of a conv layer).
    """
    func = checks.public_name(conv_param_count)
    for name, value in (("c_in", c_in), ("c_out", c_out), ("groups", groups)):
        if not _is_int(value) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    if c_in % groups:
        checks.fail(func, "c_in", f"a multiple of groups = {groups}", c_in)
    nd = len(kernel_size) if isinstance(kernel_size, Sequence) else 2
    kernel = _ints(func, "kernel_size", kernel_size, nd)
    return c_out * (c_in // groups * math.prod(kernel) + int(bool(bias)))


# ------------------------------------------------------------------ transposed convolution


def init_conv_transpose2d(
    key: jax.Array,
    c_in: int,
    c_out: int,
    kernel_size,
    *,
    groups: int = 1,
    bias: bool = True,
    init="he_normal",
    dtype=None,
) -> Conv2dParams:
    r"""Initialise a transposed 2-D convolution: ``W`` of shape ``(K_h, K_w, c_in / groups, c_out)``.

    The layout is that of :func:`init_conv2d` (HWIO, in and out of the transposed layer itself).

    Args:
      key: a typed PRNG key.
      c_in: input channels of the transposed layer.
      c_out: output channels.
      kernel_size: $K$ or $(K_h, K_w)$.
      groups: channel groups.
      bias: whether the layer has a bias.
      init: initialiser name or callable (as :func:`init_conv2d`).
      dtype: parameter dtype.

    Returns:
      ``Conv2dParams(W, b)``.

    Raises:
      ValueError: as :func:`init_conv2d`.
      TypeError: as :func:`init_conv2d`.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (transposed convolution for segmentation); D2L Sec. 14.10.
    """
    func = checks.public_name(init_conv_transpose2d)
    return _init(func, key, 2, c_in, c_out, kernel_size, init, dtype, groups, bias, Conv2dParams)


def _transpose_setup(func, params, x, stride, padding, dilation, groups, output_padding):
    nd = 2
    W = params.W
    if not _is_int(groups) or groups < 1:
        checks.fail(func, "groups", "a positive int", groups)
    kernel = tuple(W.shape[:nd])
    C_g, C_out = W.shape[nd], W.shape[nd + 1]
    if C_out % groups:
        checks.fail(func, "groups", f"a divisor of the output channels C_out = {C_out}", groups)
    _channels(func, "x", x, nd, C_g, groups)
    stride = _ints(func, "stride", stride, nd)
    dilation = _ints(func, "dilation", dilation, nd)
    op = _ints(func, "output_padding", output_padding, nd, minimum=0)
    for o, s, d in zip(op, stride, dilation, strict=True):
        if o >= max(s, d):
            checks.fail(
                func, "output_padding", f"values smaller than the stride or the dilation ({s}, {d})", output_padding
            )
    sizes = tuple(x.shape[:nd])
    pads = _pads(func, padding, sizes, kernel, stride, dilation, allow_same=False)
    out = []
    for ax, n, k, s, d, (lo, hi), o in zip(_AXES[nd], sizes, kernel, stride, dilation, pads, op, strict=True):
        full = (n - 1) * s + d * (k - 1) + 1
        m = full - lo - hi + o
        if m < 1:
            checks.fail(
                func,
                "padding",
                f"a crop smaller than the full output along {ax}: (M-1)S + D(K-1) + 1 = {full} > P_lo + P_hi",
                padding,
            )
        out.append(m)
    return _Config(nd, kernel, stride, dilation, pads, groups, tuple(out)), op


def _transpose_xla(x, W, cfg: _Config, op):
    x, W = _promote(x, W)
    full = tuple(d * (k - 1) for k, d in zip(cfg.kernel, cfg.dilation, strict=True))
    z = lax.conv_general_dilated(
        x[None],
        jnp.flip(W, axis=(0, 1)),
        window_strides=(1, 1),
        padding=tuple((f, f + o) for f, o in zip(full, op, strict=True)),
        lhs_dilation=cfg.stride,
        rhs_dilation=cfg.dilation,
        dimension_numbers=_XLA_DIMS[2],
        feature_group_count=cfg.groups,
    )[0]
    crop = tuple(slice(lo, lo + m) for (lo, _), m in zip(cfg.pads, cfg.out, strict=True))
    return z[crop]


def _transpose_reference(x, W, cfg: _Config, op):
    """Scatter form: input entry (i, j) adds x[i, j] W[a, b] at output (s i + D a - P, s j + D b - P)."""
    x, W = _promote(x, W)
    H, Wd, C = x.shape
    G = cfg.groups
    C_g, C_out = C // G, W.shape[-1]
    (sh, sw), (dh, dw) = cfg.stride, cfg.dilation
    full = [
        (n - 1) * s + d * (k - 1) + 1 + o
        for n, s, d, k, o in zip((H, Wd), cfg.stride, cfg.dilation, cfg.kernel, op, strict=True)
    ]
    z = jnp.zeros((*full, C_out), x.dtype)
    xg = x.reshape(H, Wd, G, C_g)
    for a, b in itertools.product(*map(range, cfg.kernel)):
        contrib = jnp.einsum("ijgc,cgo->ijgo", xg, W[a, b].reshape(C_g, G, C_out // G)).reshape(H, Wd, C_out)
        z = z.at[a * dh : a * dh + sh * (H - 1) + 1 : sh, b * dw : b * dw + sw * (Wd - 1) + 1 : sw].add(contrib)
    crop = tuple(slice(lo, lo + m) for (lo, _), m in zip(cfg.pads, cfg.out, strict=True))
    return z[crop]


@checks.inputs(params=_P2, x=_example(2))
def conv_transpose2d(
    params: Conv2dParams,
    x: jax.Array,
    *,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    output_padding=0,
    path: str | None = None,
) -> jax.Array:
    r"""Transposed 2-D convolution (the adjoint of :func:`conv2d`), on one image.

    Each input entry scatters a copy of the kernel into the output:

    $$z_{s_h i + D_h a - P_{lo},\, s_w j + D_w b - P_{lo},\, o} \mathrel{+}= \sum_c W_{a,b,c,o} x_{i,j,g(o) C_g + c},$$

    plus $b_o$; output size per axis $(M - 1)S - P_{lo} - P_{hi} + D(K-1) + 1 + \text{output\_padding}$
    (PyTorch's ``ConvTranspose2d``). With the kernel's channel axes swapped it is the gradient of
    :func:`conv2d` with respect to its input, so it upsamples (segmentation decoders, U-Net).

    Args:
      params: ``Conv2dParams(W, b)``, ``W`` of shape ``(K_h, K_w, C/groups, C_out)`` (HWIO of this
        layer: from its input channels to its output channels).
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch.
      stride: $S$, an int or a pair, positive (zeros inserted between input entries).
      padding: $P$ cropped from the full output: an int, ``(P_h, P_w)``, pairs, or ``"valid"`` (0).
      dilation: $D$, an int or a pair, positive.
      groups: channel groups.
      output_padding: extra rows/columns at the high end (to choose between output sizes), each
        smaller than the stride or the dilation.
      path: ``"reference"`` (the scatter definition), ``"xla"``, or ``None`` (XLA).

    Returns:
      $z$, shape ``(H_out, W_out, C_out)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image, the channels do not match the kernel or
        ``groups``, a stride/dilation is not positive, or the crop is larger than the output.
      TypeError: if ``x`` or the parameters are not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (transposed convolution); D2L Sec. 14.10; Dumoulin & Visin (2016),
      "A guide to convolution arithmetic".
    """
    func = checks.public_name(conv_transpose2d)
    cfg, op = _transpose_setup(func, params, x, stride, padding, dilation, groups, output_padding)
    if path is not None:
        checks.check_choice(func, "path", path, ["reference", "xla"])
    run = _transpose_reference if path == "reference" else _transpose_xla
    return _add_bias(run(x, params.W, cfg, op), params.b)


# ------------------------------------------------------------------ the backward pass, written out


def _swap_io(W, G):
    """Kernel of the adjoint map: (K_h, K_w, C_g, C_out) -> (K_h, K_w, C_out/G, C), group by group."""
    Kh, Kw, C_g, C_out = W.shape
    return W.reshape(Kh, Kw, C_g, G, C_out // G).transpose(0, 1, 4, 3, 2).reshape(Kh, Kw, C_out // G, G * C_g)


@checks.inputs(params=_P2, x=_example(2), dz="float[H_out W_out C_out]")
def conv2d_backward(
    params: Conv2dParams,
    x: jax.Array,
    dz: jax.Array,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
) -> tuple[Conv2dParams, jax.Array]:
    r"""The backward pass of :func:`conv2d`, written from the book's formulas (no autodiff).

    Given the adjoint $\delta = \partial C / \partial z$ of shape ``(H_out, W_out, C_out)``:

    * kernel gradient, the correlation of the padded input with the adjoint:
      $\partial C/\partial W_{a,b,c,o} = \sum_{i,j} \tilde x_{s i + D a,\, s j + D b,\, g(o) C_g + c}\, \delta_{i,j,o}$;
    * bias gradient $\partial C/\partial b_o = \sum_{i,j} \delta_{i,j,o}$;
    * input gradient, the *full* convolution of the adjoint with the kernel, i.e. a correlation with
      the flipped kernel: insert $S - 1$ zeros between the entries of $\delta$, pad it by $D(K-1)$ on
      each side, correlate with $W$ flipped in both spatial axes (in and out channels swapped,
      dilation $D$), and crop the padding $P$ off.

    Args:
      params: ``Conv2dParams(W, b)`` of the forward layer.
      x: the forward input, one image ``(H, W, C)``.
      dz: the adjoint $\delta$, shape ``(H_out, W_out, C_out)`` (the forward output's shape).
      stride: as in the forward call.
      padding: as in the forward call.
      dilation: as in the forward call.
      groups: as in the forward call.

    Returns:
      ``(grads, dx)``: ``grads = Conv2dParams(dW, db)`` (``db`` is ``None`` when ``params.b`` is)
      and ``dx`` of the shape of ``x``; equal to ``jax.grad`` of
      ``sum(conv2d(params, x, ...) * dz)`` with respect to ``(params, x)``.

    Raises:
      ValueError: as :func:`conv2d`, or if ``dz`` does not have the forward output's shape.
      TypeError: if an input is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.3 (backpropagation through a conv layer); Dumoulin & Visin (2016).
    """
    func = checks.public_name(conv2d_backward)
    cfg = _setup(func, params, x, 2, stride, padding, dilation, groups)
    C_out = params.W.shape[-1]
    checks.check_shape(func, "dz", dz, (*cfg.out, C_out))
    x, W = _promote(x, params.W)
    dz = dz.astype(x.dtype)
    G = cfg.groups
    H, Wd, C = x.shape
    C_g = C // G
    # kernel gradient: correlate the padded input with the adjoint, one kernel tap (a, b) at a time
    xp = _pad(x, cfg.pads)
    dzg = dz.reshape(*cfg.out, G, C_out // G)
    taps = []
    for off in itertools.product(*map(range, cfg.kernel)):
        win = xp[_window_slices(off, cfg)].reshape(*cfg.out, G, C_g)
        taps.append(jnp.einsum("ijgc,ijgo->cgo", win, dzg).reshape(C_g, C_out))
    dW = jnp.stack(taps).reshape(*cfg.kernel, C_g, C_out)
    db = None if params.b is None else jnp.sum(dz, axis=(0, 1)).astype(params.b.dtype)
    # input gradient: full convolution of the (stride-dilated) adjoint with the kernel
    dil_shape = tuple((m - 1) * s + 1 for m, s in zip(cfg.out, cfg.stride, strict=True))
    dz_dil = jnp.zeros((*dil_shape, C_out), x.dtype).at[:: cfg.stride[0], :: cfg.stride[1]].set(dz)
    full_pad = tuple((d * (k - 1), d * (k - 1)) for k, d in zip(cfg.kernel, cfg.dilation, strict=True))
    flipped = Conv2dParams(jnp.flip(_swap_io(W, G), axis=(0, 1)), None)
    full_cfg = _Config(
        2,
        cfg.kernel,
        (1, 1),
        cfg.dilation,
        full_pad,
        G,
        tuple(m + d * (k - 1) for m, k, d in zip(dil_shape, cfg.kernel, cfg.dilation, strict=True)),
    )
    dxp = _conv_reference(dz_dil, flipped.W, full_cfg)  # covers the padded input up to the last window
    padded = (H + sum(cfg.pads[0]), Wd + sum(cfg.pads[1]))
    dxp = jnp.pad(dxp, ((0, padded[0] - dxp.shape[0]), (0, padded[1] - dxp.shape[1]), (0, 0)))
    (lo_h, _), (lo_w, _) = cfg.pads
    dx = dxp[lo_h : lo_h + H, lo_w : lo_w + Wd]
    return Conv2dParams(dW.astype(params.W.dtype), db), dx
