"""Private helpers shared by the linear models: input checks and label validation."""

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text


def check_design(func: str, X, y, *, y_rank=(1,), weights=None):
    """Check a design matrix ``X`` (n, p), targets ``y`` and optional row weights; return ``n, p``."""
    checks.check_rank(func, "X", X, 2)
    checks.check_dtype_floating(func, "X", X)
    checks.check_rank(func, "y", y, y_rank)
    n, p = np.shape(X)
    if np.shape(y)[0] != n:
        checks.fail(func, "y", f"{n} rows (the rows of `X`)", Text(f"shape {np.shape(y)}"))
    if n == 0:
        checks.fail(func, "X", "at least one row", Text(f"shape {np.shape(X)}"))
    if weights is not None:
        checks.check_shape(func, "weights", weights, (n,))
        checks.check_dtype_floating(func, "weights", weights)
    return n, p


def row_weights(weights, n: int, dtype):
    """Row weights as an array of ``dtype`` (ones when ``None``)."""
    if weights is None:
        return jnp.ones((n,), dtype)
    return jnp.asarray(weights).astype(dtype)


def is_concrete(x) -> bool:
    """Whether ``x`` holds values now (not a tracer), so it can be validated eagerly."""
    return not isinstance(x, jax.core.Tracer)


def check_labels(func: str, name: str, y, num_classes: int) -> None:
    """Refuse labels outside ``{0, ..., num_classes - 1}``, naming the first bad index and value.

    Concrete labels are checked eagerly (``ValueError``); traced labels go through
    ``checks.value_check`` so that ``checks.checked`` raises.
    """
    if is_concrete(y):
        arr = np.asarray(y)
        if arr.dtype.kind == "f":
            bad = (arr != np.round(arr)) | (arr < 0) | (arr >= num_classes) | ~np.isfinite(arr)
        else:
            bad = (arr < 0) | (arr >= num_classes)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            got = Text(f"{arr.ravel()[i].item()!r} at index {i}")
            checks.fail(func, name, f"labels in {{0, ..., {num_classes - 1}}}", got)
    else:
        ok = (y >= 0) & (y < num_classes)
        msg = f"{func}: argument `{name}` expected labels in {{0, ..., {num_classes - 1}}}."
        checks.value_check(ok, msg)


def check_finite(func: str, name: str, x) -> None:
    """Refuse non-finite concrete values eagerly (index named); traced ones go through ``value_check``."""
    if is_concrete(x):
        arr = np.asarray(x)
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            idx = np.unravel_index(i, arr.shape)
            got = Text(f"{arr.ravel()[i].item()!r} at index {tuple(int(j) for j in idx)}")
            checks.fail(func, name, "finite values", got)
    else:
        checks.value_check(jnp.isfinite(x), f"{func}: argument `{name}` expected finite values.")


def resolve_num_classes(func: str, y, num_classes) -> int:
    """Check integer labels ``y`` and return the number of classes K (inferred from ``y`` when None)."""
    checks.check_dtype_integer(func, "y", y)
    if num_classes is None:
        if not is_concrete(y):
            checks.fail(func, "num_classes", "an int when `y` is traced (under jit/vmap)", None)
        num_classes = int(np.max(np.asarray(y))) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or num_classes < 2:
        checks.fail(func, "num_classes", "an int >= 2", num_classes)
    check_labels(func, "y", y, int(num_classes))
    return int(num_classes)
