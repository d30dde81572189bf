r"""Input checks and the checked mode: mathdl's one error helper.

Every public function validates its *static* inputs (shapes, ranks, dtypes,
hyperparameters) at trace time through the helpers below, so that every message
has the same form::

    <function>: argument `<name>` expected <what was expected>, got <what came>.

*Value* problems (NaN, a label outside its range, probabilities that do not sum to
one) cannot be seen at trace time. By default they produce the defined value or NaN,
never a finite wrong answer. Inside :func:`checked` they raise instead: library code
calls :func:`value_check`, which is a no-op unless a checked call is being traced, and
:func:`checked` functionalises those checks with :mod:`jax.experimental.checkify`.

Example:
  >>> import jax.numpy as jnp
  >>> from mathdl import checks, info
  >>> safe_entropy = checks.checked(info.entropy)
  >>> safe_entropy(jnp.array([0.5, 0.6]))  # doctest: +SKIP
  Traceback (most recent call last):
  ...
  JaxRuntimeError: entropy: argument `p` expected probabilities summing to 1 ...
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

__all__ = [
    "Text",
    "as_floating",
    "as_widths",
    "check_like",
    "checked",
    "check_choice",
    "check_dtype_floating",
    "check_dtype_integer",
    "check_positive",
    "check_range",
    "check_rank",
    "check_same_shape",
    "check_shape",
    "fail",
    "is_checking",
    "value_check",
]

# A jit-cache-sensitive context (not a contextvar): a function jitted outside checked mode is
# re-traced inside it (and vice versa), so `checked(jax.jit(f))` keeps its checks and a plain
# call after a checked one never meets a stray checkify.check.
_CHECKING = jax.make_user_context(default_value=False)


class Text:
    """A description that :func:`fail` shows as is, e.g. ``Text(f"shape {x.shape}")``.

    :func:`fail` quotes a plain ``str`` (it is usually a user's value, as in ``got 'fwd'``);
    wrap the function's own description of what came in ``Text`` to print it unquoted.
    """

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def fail(func: str, name: str, expected: str, got: Any, *, exc: type[Exception] = ValueError):
    r"""Raise ``exc`` with mathdl's standard message.

    The message reads ``"{func}: argument `{name}` expected {expected}, got {got}."``.

    Args:
      func: public name of the function doing the check, e.g. ``"info.entropy"``.
      name: the argument's name as the user wrote it.
      expected: what would have been accepted, in words.
      got: what came (a value, shape or dtype; formatted with ``repr`` for strings).
      exc: the exception class, ``ValueError`` (default) or ``TypeError``.

    Returns:
      Never returns.

    Raises:
      ValueError: (or ``exc``) always.

    References:
      docs/architecture.md, "Checks".
    """
    shown = repr(got) if isinstance(got, str) else got  # a user's string is quoted; Text is not
    raise exc(f"{func}: argument `{name}` expected {expected}, got {shown}.")


def _shape(x) -> tuple[int, ...]:
    return tuple(np.shape(x))


def check_rank(func: str, name: str, x, rank: int | Sequence[int]) -> None:
    r"""Check that ``x`` has one of the allowed ranks (number of axes).

    Args:
      func: the calling function's public name.
      name: the argument's name.
      x: an array-like.
      rank: an allowed rank or a sequence of them.

    Returns:
      ``None``.

    Raises:
      ValueError: if ``x.ndim`` is not allowed; the message gives the shape that came.

    References:
      docs/architecture.md, "Checks".
    """
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    if len(_shape(x)) not in ranks:
        want = f"rank {ranks[0]}" if len(ranks) == 1 else f"rank in {ranks}"
        fail(func, name, want, Text(f"shape {_shape(x)} (rank {len(_shape(x))})"))


def check_shape(func: str, name: str, x, shape: Sequence[int | None]) -> None:
    r"""Check ``x.shape`` against a pattern in which ``None`` matches any size.

    Args:
      func: the calling function's public name.
      name: the argument's name.
      x: an array-like.
      shape: the expected shape, e.g. ``(None, 3)``.

    Returns:
      ``None``.

    Raises:
      ValueError: if the rank or any fixed size differs.

    References:
      docs/architecture.md, "Checks".
    """
    got = _shape(x)
    ok = len(got) == len(shape) and all(s is None or s == g for s, g in zip(shape, got, strict=True))
    if not ok:
        pattern = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        fail(func, name, f"shape {pattern}", Text(f"shape {got}"))


def check_same_shape(func: str, name_a: str, a, name_b: str, b) -> None:
    r"""Check that two arrays have the same shape.

    Args:
      func: the calling function's public name.
      name_a: name of the first argument.
      a: first array-like.
      name_b: name of the second argument.
      b: second array-like.

    Returns:
      ``None``.

    Raises:
      ValueError: if the shapes differ.

    References:
      docs/architecture.md, "Checks".
    """
    if _shape(a) != _shape(b):
        fail(func, name_b, f"the shape of `{name_a}` {_shape(a)}", Text(f"shape {_shape(b)}"))


def check_dtype_floating(func: str, name: str, x) -> None:
    r"""Check that ``x`` has a floating dtype.

    Args:
      func: the calling function's public name.
      name: the argument's name.
      x: an array-like.

    Returns:
      ``None``.

    Raises:
      TypeError: if the dtype is not floating point.

    References:
      docs/architecture.md, "Checks".
    """
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.floating):
        fail(func, name, "a floating-point array", Text(f"dtype {dtype}"), exc=TypeError)


def check_dtype_integer(func: str, name: str, x) -> None:
    r"""Check that ``x`` has an integer dtype (class labels, indices).

    Args:
      func: the calling function's public name.
      name: the argument's name.
      x: an array-like.

    Returns:
      ``None``.

    Raises:
      TypeError: if the dtype is not an integer type.

    References:
      docs/architecture.md, "Checks".
    """
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.integer):
        fail(func, name, "an integer array", Text(f"dtype {dtype}"), exc=TypeError)


def as_floating(func: str, name: str, x) -> jax.Array:
    r"""Convert ``x`` to a JAX array and require a floating dtype.

    Args:
      func: the calling function's public name.
      name: the argument's name.
      x: an array-like (a bool, string, bytes or ``None`` is refused, not converted).

    Returns:
      ``jnp.asarray(x)``, of a floating dtype.

    Raises:
      TypeError: if ``x`` is not array-like or not floating point.

    References:
      docs/architecture.md, "Checks".
    """
    if isinstance(x, bool | str | bytes) or x is None:
        fail(func, name, "a floating-point array", Text(type(x).__name__), exc=TypeError)
    try:
        arr = jnp.asarray(x)
    except TypeError:
        fail(func, name, "a floating-point array", Text(type(x).__name__), exc=TypeError)
    check_dtype_floating(func, name, arr)
    return arr


def as_widths(func: str, name: str, widths) -> tuple[int, ...]:
    r"""Check a sequence of layer widths $(N_0, \dots, N_L)$: at least two positive ints.

    Args:
      func: the calling function's public name.
      name: the argument's name (usually ``"widths"``).
      widths: the value that came.

    Returns:
      ``tuple(widths)``.

    Raises:
      TypeError: if ``widths`` is not a sequence (a string is refused).
      ValueError: if it has fewer than two entries or an entry is not a positive int.

    References:
      [MEDL] Ch. 5, Sec. 5.1 (layer widths).
    """
    if isinstance(widths, str) or not isinstance(widths, Sequence):
        fail(func, name, "a sequence of positive ints (N_0, ..., N_L)", type(widths).__name__, exc=TypeError)
    widths = tuple(widths)
    if len(widths) < 2:
        fail(func, name, "at least two widths (input and output)", widths)
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, int) or w <= 0:
            fail(func, name, "positive ints", widths)
    return widths


def check_like(func: str, ref_name: str, ref, name: str, v) -> jax.Array:
    r"""Require ``v`` to have the shape and dtype of ``ref`` (a tangent, a second mean, ...).

    Args:
      func: the calling function's public name.
      ref_name: name of the reference argument.
      ref: the reference array.
      name: name of the argument being checked.
      v: an array-like.

    Returns:
      ``jnp.asarray(v)``.

    Raises:
      ValueError: if the shapes differ.
      TypeError: if the dtypes differ.

    References:
      docs/architecture.md, "Checks".
    """
    v = jnp.asarray(v)
    check_same_shape(func, ref_name, ref, name, v)
    if v.dtype != jnp.asarray(ref).dtype:
        fail(
            func,
            name,
            f"dtype {jnp.asarray(ref).dtype} (the dtype of `{ref_name}`)",
            Text(f"dtype {v.dtype}"),
            exc=TypeError,
        )
    return v


def check_positive(func: str, name: str, value, *, strict: bool = True) -> None:
    r"""Check a static hyperparameter is positive (``> 0``, or ``>= 0`` if not strict).

    Args:
      func: the calling function's public name.
      name: the argument's name.
      value: a Python number (a traced value is not checked).
      strict: require ``> 0`` (default) rather than ``>= 0``.

    Returns:
      ``None``.

    Raises:
      ValueError: if the value is not positive, or is NaN.

    References:
      docs/architecture.md, "Checks".
    """
    if isinstance(value, jax.core.Tracer):
        return
    v = float(value) if np.ndim(value) == 0 else None
    if v is None:
        return
    ok = v > 0 if strict else v >= 0
    if not ok or np.isnan(v):
        fail(func, name, "a value > 0" if strict else "a value >= 0", value)


def check_range(
    func: str,
    name: str,
    value,
    low: float,
    high: float,
    *,
    low_closed: bool = True,
    high_closed: bool = False,
) -> None:
    r"""Check a static hyperparameter lies in an interval, e.g. ``beta`` in ``[0, 1)``.

    Args:
      func: the calling function's public name.
      name: the argument's name.
      value: a Python number (a traced value is not checked).
      low: lower end of the interval.
      high: upper end of the interval.
      low_closed: whether ``low`` itself is allowed.
      high_closed: whether ``high`` itself is allowed.

    Returns:
      ``None``.

    Raises:
      ValueError: if the value is outside the interval or NaN.

    References:
      docs/architecture.md, "Checks".
    """
    if isinstance(value, jax.core.Tracer) or np.ndim(value) != 0:
        return
    v = float(value)
    ok_low = v >= low if low_closed else v > low
    ok_high = v <= high if high_closed else v < high
    if not (ok_low and ok_high) or np.isnan(v):
        interval = f"{'[' if low_closed else '('}{low}, {high}{']' if high_closed else ')'}"
        fail(func, name, f"a value in {interval}", value)


def check_choice(func: str, name: str, value, choices: Sequence[Any]) -> None:
    r"""Check a configuration string (or value) is one of the allowed choices.

    Args:
      func: the calling function's public name.
      name: the argument's name.
      value: the value that came.
      choices: the allowed values.

    Returns:
      ``None``.

    Raises:
      ValueError: if ``value`` is not among ``choices``; the message lists them.

    References:
      docs/architecture.md, "Checks".
    """
    # `True == 1`, so a bool must not pass for an int choice (or the reverse)
    is_bool = isinstance(value, bool)
    ok = any(value == c and is_bool == isinstance(c, bool) for c in choices)
    if not ok:
        fail(func, name, f"one of {list(choices)}", value)


def is_checking() -> bool:
    r"""Whether a :func:`checked` call is being traced right now.

    Returns:
      ``True`` inside :func:`checked`, else ``False``.

    References:
      docs/architecture.md, "Checks".
    """
    return bool(_CHECKING.value)


def value_check(pred, message: str, **fmt) -> None:
    r"""Assert a *value* property, enforced only in checked mode.

    Outside :func:`checked` this does nothing (the function goes on to return its defined
    value or NaN). Inside, it becomes a :func:`jax.experimental.checkify.check`, so the
    call raises with ``message`` when ``pred`` is false.

    Args:
      pred: a boolean scalar (traced or concrete) that must hold.
      message: the error text; ``{name}`` fields are filled from ``fmt`` at run time.
      **fmt: arrays to format into the message (``checkify`` formatting).

    Returns:
      ``None``.

    Raises:
      Nothing directly; the checked call raises ``JaxRuntimeError`` on failure.

    References:
      JAX documentation, ``jax.experimental.checkify``.
    """
    if _CHECKING.value:
        if not fmt:  # checkify formats the message; literal braces must not be read as fields
            message = message.replace("{", "{{").replace("}", "}}")
        checkify.check(jnp.all(pred), message, **fmt)


def checked(fn: Callable, *, nan: bool = True) -> Callable:
    r"""Wrap ``fn`` so that invalid values raise instead of returning NaN.

    The wrapped function is traced with :func:`value_check` enabled and run under
    :func:`jax.experimental.checkify.checkify` with user checks, index checks and (when
    ``nan``) NaN checks; the first failed check is raised after the call.

    Args:
      fn: any function built from mathdl (or JAX) operations.
      nan: also raise when a NaN is produced (``checkify.nan_checks``).

    Returns:
      A function with the same signature and outputs as ``fn`` that raises
      ``JaxRuntimeError`` (from ``checkify``) naming the failed check.

    Raises:
      TypeError: if ``fn`` is not callable.

    References:
      JAX documentation, ``jax.experimental.checkify``; docs/architecture.md, "Checks".
    """
    if not callable(fn):
        fail("checks.checked", "fn", "a callable", Text(type(fn).__name__), exc=TypeError)
    errors = checkify.user_checks | checkify.index_checks
    if nan:
        errors = errors | checkify.nan_checks

    checkified = checkify.checkify(fn, errors=errors)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _CHECKING(True):  # part of jit's cache key while tracing inside
            err, out = checkified(*args, **kwargs)
        err.throw()
        return out

    return wrapper
