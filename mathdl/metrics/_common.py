"""Private helpers shared by the metrics: the label spec and the eager description of a bad value."""

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text


def labels(func: str, name: str, value, dims: dict):
    """Spec: class labels of shape ``(n,)``, integer or boolean."""
    value = checks.conform(func, name, value, "any[n]", dims)
    if not (jnp.issubdtype(value.dtype, jnp.integer) or value.dtype == jnp.bool_):
        checks.fail(func, name, "integer or boolean labels", Text(f"dtype {value.dtype}"), exc=TypeError)
    return value


def first_bad(x, ok, *, traced: str = "a value outside it") -> str:
    """What came, for a value check's eager message: ``"5 at index 1"`` (``traced`` when ``x`` is traced)."""
    try:
        ok_np, x_np = np.asarray(ok), np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return traced
    bad = ~np.broadcast_to(ok_np, x_np.shape)
    if not bad.any():
        return traced
    if x_np.ndim == 0:
        return repr(x_np.item())
    i = int(np.flatnonzero(bad.ravel())[0])
    return f"{x_np.ravel()[i].item()!r} at index {i}"


def ensure_at_least_zero(func: str, name: str, value, out):
    """``checks.ensure`` that a (possibly traced) strength or array of them is ``>= 0``."""
    value = jnp.asarray(value)
    ok = value >= 0
    expected = "a value >= 0" if value.ndim == 0 else "values >= 0"
    return checks.ensure(ok, out, func, name, expected, first_bad(value, ok))
