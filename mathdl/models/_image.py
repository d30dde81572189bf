"""Shared pieces of the image models in this package: the ONE-image ``(H, W, C)`` input spec and a conv stack."""

import jax

from mathdl import checks
from mathdl.layers import conv2d, init_conv2d, max_pool

__all__: list[str] = []


def one_image(func: str, name: str, value, dims):
    """``checks.inputs`` spec: a floating ``(H, W, C)`` image; a batch is refused with a vmap hint."""
    value = checks.conform(func, name, value, "float[*shape]")
    if value.ndim == 4:
        checks.fail(
            func,
            name,
            "one image of shape (H, W, C) (channels last); for a batch use jax.vmap",
            checks.Text(f"shape {tuple(value.shape)} (rank 4)"),
        )
    if value.ndim != 3:
        checks.fail(
            func,
            name,
            "one image of shape (H, W, C) (rank 3, channels last)",
            checks.Text(f"shape {tuple(value.shape)} (rank {value.ndim})"),
        )
    return value


def positive_ints(func: str, name: str, value, *, at_least: int = 1) -> tuple[int, ...]:
    """A non-empty sequence of positive Python ints (layer widths), at least ``at_least`` long."""
    if isinstance(value, str) or not hasattr(value, "__len__"):
        checks.fail(func, name, "a sequence of positive ints", checks.Text(type(value).__name__), exc=TypeError)
    value = tuple(value)
    if len(value) < at_least or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        checks.fail(func, name, f"at least {at_least} positive ints", value)
    return value


def positive_int(func: str, name: str, value) -> int:
    """A positive Python int."""
    if isinstance(value, bool) or not isinstance(value, int):
        checks.fail(func, name, "a positive Python int", checks.Text(type(value).__name__), exc=TypeError)
    if value < 1:
        checks.fail(func, name, "a positive int", value)
    return value


def init_conv_stack(key, c_in: int, widths, *, dtype=None) -> tuple:
    """3x3 convolutions ``c_in -> widths[0] -> ... -> widths[-1]`` (each followed by ReLU and 2x2 pooling)."""
    keys = jax.random.split(key, len(widths))
    chans = (c_in, *widths)
    return tuple(init_conv2d(k, a, b, 3, dtype=dtype) for k, a, b in zip(keys, chans[:-1], chans[1:], strict=True))


def conv_stack(convs, x):
    """Apply :func:`init_conv_stack`'s layers: conv 3x3 "same" -> ReLU -> 2x2 max pool, per layer."""
    for p in convs:
        x = max_pool(jax.nn.relu(conv2d(p, x, padding="same")), 2)
    return x
