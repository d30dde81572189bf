"""Private helpers shared by the estimators: input specs, value checks with a traced form, dtypes."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import (
    Text,
    first_bad,  # noqa: F401  (re-exported to this package's modules)
)


def design(func: str, name: str, value, dims: dict):
    """Spec: a design matrix ``X`` of shape ``(n, p)``, floating, with at least one row."""
    value = checks.conform(func, name, value, "float[n p]", dims)
    if value.shape[0] == 0:
        checks.fail(func, name, "at least one row", Text(f"shape {value.shape}"))
    return value


def targets(func: str, name: str, value, dims: dict):
    """Spec: regression targets of shape ``(n,)`` or ``(n, k)`` (numbers; cast to ``X``'s dtype)."""
    value = checks.conform(func, name, value, "num[n *k]", dims)
    if value.ndim > 2:
        checks.fail(func, name, "rank 1 or 2", Text(f"shape {value.shape} (rank {value.ndim})"))
    return value


def static_int(func: str, name: str, value, *, low: int = 1) -> int:
    """A static Python int ``>= low`` (``bool`` refused), e.g. ``max_iter``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        checks.fail(func, name, "a positive int" if low == 1 else f"an int >= {low}", value)
    return int(value)


def compute_dtype(dtype):
    """The dtype the factorisations run in: float16 and bfloat16 are computed in float32 (LAPACK has no half)."""
    return jnp.dtype(jnp.float32) if jnp.finfo(dtype).bits < 32 else jnp.dtype(dtype)


def row_weights(weights, n: int, dtype):
    """Row weights as an array of ``dtype`` (ones when ``None``)."""
    if weights is None:
        return jnp.ones((n,), dtype)
    return weights.astype(dtype)


def value_checks(func: str, *conds):
    """Run value checks before the maths; returns ``guard(out)``, which poisons the outputs.

    Each condition is ``(ok, name, expected, got)`` (see :func:`finite`, :func:`at_least`,
    :func:`labels_in`). Checking first means that an eager call fails before any work and that, in
    checked mode, the caller's message comes before any check of a function it calls; ``guard``
    then applies :func:`mathdl.checks.ensure` to the outputs (NaN, -1 or False under jit).
    """
    for ok, name, expected, got in conds:
        checks.ensure(ok, None, func, name, expected, got)

    def guard(out):
        for ok, name, expected, got in conds:
            out = checks.ensure(ok, out, func, name, expected, got)
        return out

    return guard


def finite(name: str, x):
    """Condition: ``x`` is finite (eagerly the first bad index is named)."""
    ok = jnp.isfinite(x)
    return ok, name, "finite values", first_bad(x, ok, flat=False, traced="a non-finite value")


def at_least(name: str, value, low: float = 0.0, *, strict: bool = False):
    """Condition: a (possibly traced) hyperparameter is ``>= low`` (``> low`` if strict; NaN fails)."""
    value = jnp.asarray(value)
    ok = value > low if strict else value >= low
    return ok, name, f"a value {'>' if strict else '>='} {low:g}", first_bad(value, ok)


def labels_in(name: str, y, num_classes: int):
    """Condition: ``y`` holds labels in ``{0, ..., num_classes - 1}`` (a float label must be a whole number)."""
    ok = (y >= 0) & (y < num_classes)
    if jnp.issubdtype(y.dtype, jnp.floating):
        ok = ok & (y == jnp.round(y))
    return ok, name, f"labels in {{0, ..., {num_classes - 1}}}", first_bad(y, ok, traced="a label outside them")


def resolve_num_classes(func: str, y, num_classes) -> int:
    """The number of classes K of integer labels ``y`` (inferred from concrete ``y`` when None)."""
    if not jnp.issubdtype(y.dtype, jnp.integer):
        checks.fail(func, "y", "an integer array", Text(f"dtype {y.dtype}"), exc=TypeError)
    if num_classes is None:
        try:
            num_classes = int(np.max(np.asarray(y))) + 1
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
            checks.fail(func, "num_classes", "an int when `y` is traced (under jit/vmap)", None)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 2:
        checks.fail(func, "num_classes", "an int >= 2", num_classes)
    return int(num_classes)


@contextlib.contextmanager
def speaking_for(func: str, inner: str):
    """Inside, a check failing in the public function ``inner`` is reported as one of ``func``, the caller's."""
    try:
        yield
    except (ValueError, TypeError) as e:
        head = f"{inner}: "
        if not str(e).startswith(head):
            raise
        raise type(e)(f"{func}: {str(e)[len(head) :]}") from None
