"""Argument checks shared by the calculus modules (private)."""

import jax
import jax.numpy as jnp

from mathdl import checks


def check_callable(func: str, f, name: str = "f") -> None:
    if not callable(f):
        checks.fail(func, name, "a callable", type(f).__name__, exc=TypeError)


def check_point(func: str, x, name: str = "x") -> jax.Array:
    x = jnp.asarray(x)
    checks.check_dtype_floating(func, name, x)
    return x


check_like = checks.check_like  # `v` must have the shape and dtype of `ref`


def check_scalar_output(func: str, f, *args) -> None:
    out = jax.eval_shape(f, *args)
    shape = getattr(out, "shape", None)
    if shape != ():
        got = f"output shape {shape}" if shape is not None else f"output of type {type(out).__name__}"
        checks.fail(func, "f", "a scalar-valued function (output shape ())", got)
