r"""Input specs shared by the layers: one example (a batch is refused with a pointer to ``jax.vmap``), widths.

Layers and models take ONE example of a fixed rank (docs/architecture.md, "The batching rule").
``one_example("float[N_in]")`` is a :func:`mathdl.checks.inputs` spec that behaves like the string
spec, except that an input of higher rank (a batch) gets a message saying how to batch:

    layers.dense: argument `x` expected one example of shape (N_in,); for a batch use jax.vmap,
    got shape (2, 3) (rank 2).
"""

from collections.abc import Callable

import numpy as np

from mathdl import checks
from mathdl.checks import Text

__all__ = ["one_example"]


def one_example(spec: str) -> Callable:
    r"""A :func:`mathdl.checks.inputs` spec for one example: ``spec``, and a batch is refused with a hint.

    Args:
      spec: a fixed-rank spec string such as ``"float[N_in]"`` or ``"float[H W C]"`` (no ``*``
        dimension: one example has a fixed rank).

    Returns:
      A callable spec ``check(func, name, value, dims) -> value`` for :func:`mathdl.checks.inputs`.

    Raises:
      ValueError: at definition, if ``spec`` has a variadic ``*`` dimension.

    References:
      docs/architecture.md, "The batching rule" and "Checks".
    """
    inner = spec[spec.index("[") + 1 : spec.rindex("]")].split()
    if any(d.startswith("*") for d in inner):
        raise ValueError(f"layers.one_example: spec {spec!r} has a variadic dimension; one example has a fixed rank")
    rank = len(inner)
    shape = f"({inner[0]},)" if rank == 1 else "(" + ", ".join(inner) + ")"

    def check(func: str, name: str, value, dims: dict):
        if not isinstance(value, str | bytes) and value is not None and np.ndim(value) > rank:
            got = Text(f"shape {tuple(np.shape(value))} (rank {np.ndim(value)})")
            checks.fail(func, name, f"one example of shape {shape}; for a batch use jax.vmap", got)
        return checks.conform(func, name, value, spec, dims)

    return check


def positive_int(func: str, name: str, value, dims: dict) -> int:
    """A :func:`mathdl.checks.inputs` spec for a width or count: a positive Python (or NumPy) int (private)."""
    del dims
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        checks.fail(func, name, "a positive int", value)
    return int(value)
