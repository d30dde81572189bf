"""Input specs and checks shared by the calculus modules (private)."""

import jax

from mathdl import checks
from mathdl.checks import Text


def function(func: str, name: str, f, dims: dict):
    """Spec: a callable (the function being differentiated)."""
    del dims
    if not callable(f):
        checks.fail(func, name, "a callable", type(f).__name__, exc=TypeError)
    return f


def point(func: str, name: str, x, dims: dict) -> jax.Array:
    """Spec: a floating array of any shape; a later ``like`` argument must match its shape and dtype."""
    x = checks.conform(func, name, x, "float[*shape]", dims)
    dims.setdefault("dtype of", (name, x.dtype))
    return x


def like(func: str, name: str, v, dims: dict) -> jax.Array:
    """Spec: the shape and dtype of the ``point`` checked before it (a direction, a second point)."""
    v = checks.conform(func, name, v, "float[*shape]", dims)
    ref, dtype = dims["dtype of"]
    if v.dtype != dtype:
        checks.fail(func, name, f"dtype {dtype} (the dtype of `{ref}`)", Text(f"dtype {v.dtype}"), exc=TypeError)
    return v


def check_scalar_output(func: str, f, *args) -> None:
    out = jax.eval_shape(f, *args)
    shape = getattr(out, "shape", None)
    if shape != ():
        got = f"output shape {shape}" if shape is not None else f"output of type {type(out).__name__}"
        checks.fail(func, "f", "a scalar-valued function (output shape ())", got)
