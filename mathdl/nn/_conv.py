r"""Flax NNX modules for convolution, pooling and group normalisation (layer 3, no mathematics here).

Each module holds its parameters as ``nnx.Param`` and delegates to the pure function in
:mod:`mathdl.layers` (:func:`~mathdl.layers.conv2d`, :func:`~mathdl.layers.conv1d`,
:func:`~mathdl.layers.conv_transpose2d`, :func:`~mathdl.layers.max_pool`,
:func:`~mathdl.layers.avg_pool`, :func:`~mathdl.layers.global_avg_pool`,
:func:`~mathdl.layers.group_norm`); the tests pin equal outputs. Inputs are channels last,
one example ``(H, W, C)`` (``(T, C)`` for :class:`Conv1d`) or any leading batch axes
``(*batch, H, W, C)``: the one-example function is ``jax.vmap``-ed over them.
"""

import jax
from flax import nnx

from mathdl.layers import (
    Conv1dParams,
    Conv2dParams,
    GroupNormParams,
    avg_pool,
    conv1d,
    conv2d,
    conv_transpose2d,
    global_avg_pool,
    group_norm,
    init_conv1d,
    init_conv2d,
    init_conv_transpose2d,
    init_group_norm,
    max_pool,
)

__all__ = ["AvgPool", "Conv", "Conv1d", "ConvTranspose", "GlobalAvgPool", "GroupNorm", "MaxPool"]


def _batched(fn, x: jax.Array, example_ndim: int) -> jax.Array:
    """Apply a one-example ``fn`` to ``x`` of shape ``(*batch, *example)`` by nested vmaps."""
    for _ in range(max(x.ndim - example_ndim, 0)):
        fn = jax.vmap(fn)
    return fn(x)


class _ConvBase(nnx.Module):
    def _set(self, p):
        self.W = nnx.Param(p.W)
        self.b = None if p.b is None else nnx.Param(p.b)

    def _bias(self):
        return None if self.b is None else self.b[...]


class Conv(_ConvBase):
    r"""2-D convolution layer $z = W \star x + b$; delegates to :func:`mathdl.layers.conv2d`.

    ``W`` has shape ``(K_h, K_w, c_in / groups, c_out)`` (HWIO); ``x`` is ``(H, W, c_in)`` or
    ``(*batch, H, W, c_in)``.

    Args:
      c_in: input channels.
      c_out: output channels.
      kernel_size: $K$ or $(K_h, K_w)$.
      stride: as :func:`mathdl.layers.conv2d`.
      padding: as :func:`mathdl.layers.conv2d`.
      dilation: as :func:`mathdl.layers.conv2d`.
      groups: as :func:`mathdl.layers.conv2d`.
      bias: whether the layer has a bias.
      init: initialiser name or callable (:func:`mathdl.layers.init_conv2d`).
      path: convolution path (``None``: the backend's default).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 6, Sec. 6.2-6.3.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size,
        *,
        stride=1,
        padding="valid",
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        init="he_normal",
        path: str | None = None,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        self._set(
            init_conv2d(rngs.params(), c_in, c_out, kernel_size, groups=groups, bias=bias, init=init, dtype=dtype)
        )
        self.stride, self.padding, self.dilation, self.groups, self.path = stride, padding, dilation, groups, path

    @property
    def params(self) -> Conv2dParams:
        """The pure ``Conv2dParams(W, b)`` view of this module."""
        return Conv2dParams(self.W[...], self._bias())

    def __call__(self, x: jax.Array) -> jax.Array:
        p = self.params
        kw = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}
        return _batched(lambda v: conv2d(p, v, path=self.path, **kw), x, 3)


class Conv1d(_ConvBase):
    r"""1-D convolution layer; delegates to :func:`mathdl.layers.conv1d`. ``x`` is ``(*batch, T, c_in)``.

    Args:
      c_in: input channels.
      c_out: output channels.
      kernel_size: $K$.
      stride: as :func:`mathdl.layers.conv1d`.
      padding: as :func:`mathdl.layers.conv1d`.
      dilation: as :func:`mathdl.layers.conv1d`.
      groups: as :func:`mathdl.layers.conv1d`.
      bias: whether the layer has a bias.
      init: initialiser name or callable.
      path: convolution path.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 6, Sec. 6.2.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size,
        *,
        stride=1,
        padding="valid",
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        init="he_normal",
        path: str | None = None,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        self._set(
            init_conv1d(rngs.params(), c_in, c_out, kernel_size, groups=groups, bias=bias, init=init, dtype=dtype)
        )
        self.stride, self.padding, self.dilation, self.groups, self.path = stride, padding, dilation, groups, path

    @property
    def params(self) -> Conv1dParams:
        """The pure ``Conv1dParams(W, b)`` view of this module."""
        return Conv1dParams(self.W[...], self._bias())

    def __call__(self, x: jax.Array) -> jax.Array:
        p = self.params
        kw = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation, "groups": self.groups}
        return _batched(lambda v: conv1d(p, v, path=self.path, **kw), x, 2)


class ConvTranspose(_ConvBase):
    r"""Transposed 2-D convolution; delegates to :func:`mathdl.layers.conv_transpose2d`.

    Args:
      c_in: input channels.
      c_out: output channels.
      kernel_size: $K$ or $(K_h, K_w)$.
      stride: as :func:`mathdl.layers.conv_transpose2d`.
      padding: as :func:`mathdl.layers.conv_transpose2d`.
      dilation: as :func:`mathdl.layers.conv_transpose2d`.
      groups: as :func:`mathdl.layers.conv_transpose2d`.
      output_padding: as :func:`mathdl.layers.conv_transpose2d`.
      bias: whether the layer has a bias.
      init: initialiser name or callable.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 6, Sec. 6.6.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel_size,
        *,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        output_padding=0,
        bias: bool = True,
        init="he_normal",
        dtype=None,
        rngs: nnx.Rngs,
    ):
        p = init_conv_transpose2d(
            rngs.params(), c_in, c_out, kernel_size, groups=groups, bias=bias, init=init, dtype=dtype
        )
        self._set(p)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding

    @property
    def params(self) -> Conv2dParams:
        """The pure ``Conv2dParams(W, b)`` view of this module."""
        return Conv2dParams(self.W[...], self._bias())

    def __call__(self, x: jax.Array) -> jax.Array:
        p = self.params
        kw = {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "output_padding": self.output_padding,
        }
        return _batched(lambda v: conv_transpose2d(p, v, **kw), x, 3)


class MaxPool(nnx.Module):
    r"""Max pooling; delegates to :func:`mathdl.layers.max_pool`. ``x`` is ``(*batch, H, W, C)``.

    Args:
      window: $K$ or $(K_h, K_w)$.
      stride: default the window.
      padding: as :func:`mathdl.layers.max_pool`.

    References:
      [MEDL] Ch. 6, Sec. 6.3.
    """

    def __init__(self, window, *, stride=None, padding="valid"):
        self.window, self.stride, self.padding = window, stride, padding

    def __call__(self, x: jax.Array) -> jax.Array:
        return _batched(lambda v: max_pool(v, self.window, stride=self.stride, padding=self.padding), x, 3)


class AvgPool(nnx.Module):
    r"""Average pooling; delegates to :func:`mathdl.layers.avg_pool`. ``x`` is ``(*batch, H, W, C)``.

    Args:
      window: $K$ or $(K_h, K_w)$.
      stride: default the window.
      padding: as :func:`mathdl.layers.avg_pool`.
      count_include_pad: as :func:`mathdl.layers.avg_pool`.

    References:
      [MEDL] Ch. 6, Sec. 6.3.
    """

    def __init__(self, window, *, stride=None, padding="valid", count_include_pad: bool = True):
        self.window, self.stride, self.padding = window, stride, padding
        self.count_include_pad = count_include_pad

    def __call__(self, x: jax.Array) -> jax.Array:
        kw = {"stride": self.stride, "padding": self.padding, "count_include_pad": self.count_include_pad}
        return _batched(lambda v: avg_pool(v, self.window, **kw), x, 3)


class GlobalAvgPool(nnx.Module):
    r"""Global average pooling ``(*batch, H, W, C) -> (*batch, C)``; delegates to :func:`mathdl.layers.global_avg_pool`.

    References:
      [MEDL] Ch. 6, Sec. 6.3.
    """

    def __call__(self, x: jax.Array) -> jax.Array:
        return _batched(global_avg_pool, x, 3)


class GroupNorm(nnx.Module):
    r"""Group normalisation of each example; delegates to :func:`mathdl.layers.group_norm`.

    ``x`` is ``(*batch, ..., C)``: give ``example_ndim`` (default 3, an image ``(H, W, C)``) so the
    module knows which leading axes are the batch.

    Args:
      num_features: channels $C$.
      num_groups: $G$, a divisor of $C$.
      eps: $\varepsilon$.
      example_ndim: rank of one example (3 for images, 2 for sequences, 1 for vectors).
      dtype: parameter dtype.
      rngs: accepted for NNX uniformity (unused).

    References:
      [MEDL] Ch. 6, Sec. 6.4; Wu & He (2018).
    """

    def __init__(
        self,
        num_features: int,
        num_groups: int,
        *,
        eps: float = 1e-5,
        example_ndim: int = 3,
        dtype=None,
        rngs: nnx.Rngs | None = None,
    ):
        del rngs
        p = init_group_norm(num_features, dtype=dtype)
        self.gamma, self.beta = nnx.Param(p.gamma), nnx.Param(p.beta)
        self.num_groups, self.eps, self.example_ndim = num_groups, eps, example_ndim

    def __call__(self, x: jax.Array) -> jax.Array:
        p = GroupNormParams(self.gamma[...], self.beta[...])
        return _batched(lambda v: group_norm(p, v, num_groups=self.num_groups, eps=self.eps), x, self.example_ndim)
