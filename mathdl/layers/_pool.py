r"""Pooling on one image ([MEDL] Ch. 6, Sec. 6.3, Fig. 6.11): max, average and global pooling.

A pooling layer slides a fixed window over each channel separately and keeps the maximum or the
mean of each window; it has no parameters. ``x`` is ONE image of shape ``(H, W, C)`` (channels
last; ``jax.vmap`` for a batch). Two paths compute the same numbers: ``"reference"`` (the
definition, one window at a time) and ``"xla"`` (``jax.lax.reduce_window``, the default).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks
from mathdl.layers._conv import _example, _ints, _kernel_fits, _pads

__all__ = ["POOL_PATHS", "avg_pool", "global_avg_pool", "global_max_pool", "max_pool"]

#: The values of the pooling functions' ``path`` argument.
POOL_PATHS = ("reference", "xla")


def _setup(func, x, window, stride, padding, path):
    window = _ints(func, "window", window, 2)
    stride = window if stride is None else _ints(func, "stride", stride, 2)
    sizes = tuple(x.shape[:2])
    pads = _pads(func, padding, sizes, window, stride, (1, 1))
    _kernel_fits(func, "window", 2, sizes, window, (1, 1), pads)
    for (lo, hi), k in zip(pads, window, strict=True):
        if max(lo, hi) >= k:  # a window of padding only has no maximum (PyTorch: pad <= window / 2)
            checks.fail(func, "padding", f"padding smaller than the window ({k}) on each side", padding)
    out = tuple((n + lo + hi - k) // s + 1 for n, k, s, (lo, hi) in zip(sizes, window, stride, pads, strict=True))
    if path is not None:
        checks.check_choice(func, "path", path, list(POOL_PATHS))
    return window, stride, pads, out


def _reference(xp, window, stride, out, reduce):
    """Apply ``reduce`` to each window of the padded ``xp`` (the definition)."""
    C = xp.shape[-1]

    def entry(i, j):
        win = lax.dynamic_slice(xp, (i * stride[0], j * stride[1], 0), (*window, C))
        return reduce(win, axis=(0, 1))

    grid = jnp.indices(out).reshape(2, -1)
    return jax.vmap(entry)(grid[0], grid[1]).reshape(*out, C)


def _reduce_window(x, init, op, window, stride, pads):
    return lax.reduce_window(x, init, op, (*window, 1), (*stride, 1), (*pads, (0, 0)))


@checks.inputs(x=_example(2))
def max_pool(x: jax.Array, window, *, stride=None, padding="valid", path: str | None = None) -> jax.Array:
    r"""Max pooling, $z_{i,j,c} = \max_{0 \le a < K_h,\, 0 \le b < K_w} \tilde x_{s_h i + a,\, s_w j + b,\, c}$.

    Padding entries are $-\infty$ (they never win). The gradient goes to the maximum of each window
    (to one of them on ties for the ``"xla"`` path, shared among them for ``"reference"``).

    Args:
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch.
      window: $K$ or $(K_h, K_w)$.
      stride: $S$ or $(s_h, s_w)$; default the window (non-overlapping windows).
      padding: ``"valid"``, ``"same"``, an int, ``(P_h, P_w)`` or ``((lo, hi), (lo, hi))``; each side
        smaller than the window.
      path: ``"reference"``, ``"xla"`` or ``None`` (``"xla"``).

    Returns:
      $z$, shape ``(H_out, W_out, C)`` with $H_{out} = \lfloor (H + 2P - K_h)/s_h \rfloor + 1$.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image, the window is larger than the padded
        input, or a window, stride or padding is not valid.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.3, Fig. 6.11; D2L Sec. 7.5.
    """
    func = checks.public_name(max_pool)
    window, stride, pads, out = _setup(func, x, window, stride, padding, path)
    if path == "reference":
        xp = jnp.pad(x, (*pads, (0, 0)), constant_values=jnp.array(-jnp.inf, x.dtype))
        return _reference(xp, window, stride, out, jnp.max)
    # a NumPy (not jnp) init value: lax then picks reduce_window_max, which has a reverse-mode rule
    return _reduce_window(x, np.array(-np.inf, x.dtype), lax.max, window, stride, pads)


@checks.inputs(x=_example(2))
def avg_pool(
    x: jax.Array,
    window,
    *,
    stride=None,
    padding="valid",
    count_include_pad: bool = True,
    path: str | None = None,
) -> jax.Array:
    r"""Average pooling, $z_{i,j,c} = \frac{1}{K_h K_w}\sum_{a,b} \tilde x_{s_h i + a,\, s_w j + b,\, c}$.

    Args:
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch.
      window: $K$ or $(K_h, K_w)$.
      stride: $S$ or $(s_h, s_w)$; default the window.
      padding: as :func:`max_pool` (zeros).
      count_include_pad: divide by $K_h K_w$ (``True``, PyTorch's and Flax's default) or by the
        number of non-padding entries in the window (``False``).
      path: ``"reference"``, ``"xla"`` or ``None`` (``"xla"``).

    Returns:
      $z$, shape ``(H_out, W_out, C)``.

    Raises:
      ValueError: as :func:`max_pool`.
      TypeError: if ``x`` is not floating or ``count_include_pad`` is not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.3, Fig. 6.11; D2L Sec. 7.5.
    """
    func = checks.public_name(avg_pool)
    if not isinstance(count_include_pad, bool):
        checks.fail(func, "count_include_pad", "a bool", type(count_include_pad).__name__, exc=TypeError)
    window, stride, pads, out = _setup(func, x, window, stride, padding, path)
    if path == "reference":
        xp = jnp.pad(x, (*pads, (0, 0)))
        total = _reference(xp, window, stride, out, jnp.sum)
        if count_include_pad:
            return total / (window[0] * window[1])
        ones = jnp.pad(jnp.ones((*x.shape[:2], 1), x.dtype), (*pads, (0, 0)))
        return total / _reference(ones, window, stride, out, jnp.sum)
    total = _reduce_window(x, np.array(0, x.dtype), lax.add, window, stride, pads)
    if count_include_pad:
        return total / (window[0] * window[1])
    ones = jnp.ones((*x.shape[:2], 1), x.dtype)
    return total / _reduce_window(ones, np.array(0, x.dtype), lax.add, window, stride, pads)


@checks.inputs(x=_example(2))
def global_avg_pool(x: jax.Array) -> jax.Array:
    r"""Global average pooling, $z_c = \frac{1}{HW}\sum_{i,j} x_{i,j,c}$ (one value per channel).

    Args:
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch.

    Returns:
      $z$, shape ``(C,)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.3 (global average pooling before the classifier); D2L Sec. 8.3 (NiN).
    """
    return jnp.mean(x, axis=(0, 1))


@checks.inputs(x=_example(2))
def global_max_pool(x: jax.Array) -> jax.Array:
    r"""Global max pooling, $z_c = \max_{i,j} x_{i,j,c}$.

    Args:
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch.

    Returns:
      $z$, shape ``(C,)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.3.
    """
    return jnp.max(x, axis=(0, 1))
