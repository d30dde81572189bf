"""Private helpers shared by the metrics: the label spec and the eager description of a bad value."""

import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import (
    Text,
    first_bad,  # noqa: F401  (re-exported to this package's modules)
)


def labels(func: str, name: str, value, dims: dict):
    """Spec: class labels of shape ``(n,)``, integer or boolean."""
    value = checks.conform(func, name, value, "any[n]", dims)
    if not (jnp.issubdtype(value.dtype, jnp.integer) or value.dtype == jnp.bool_):
        checks.fail(func, name, "integer or boolean labels", Text(f"dtype {value.dtype}"), exc=TypeError)
    return value


def ensure_at_least_zero(func: str, name: str, value, out):
    """``checks.ensure`` that a (possibly traced) strength or array of them is ``>= 0``."""
    value = jnp.asarray(value)
    ok = value >= 0
    expected = "a value >= 0" if value.ndim == 0 else "values >= 0"
    return checks.ensure(ok, out, func, name, expected, first_bad(value, ok))
