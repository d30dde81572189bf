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
import inspect
import re
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
    "conform",
    "ensure",
    "fields",
    "first_bad",
    "inputs",
    "public_name",
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


# ---------------------------------------------------------------- declarative input specs


def public_name(fn: Callable) -> str:
    r"""The public name of a mathdl function, as messages show it: ``layers.dense``.

    Derived from ``fn.__module__`` without its private parts (``mathdl.layers._dense`` gives
    ``layers``) and ``fn.__qualname__``, so no message has to type its function's name.

    Args:
      fn: a function or class defined in mathdl (or anywhere).

    Returns:
      ``"<package>.<qualname>"``, e.g. ``"layers.dense"`` or ``"checks.public_name"``.

    References:
      docs/architecture.md, "Housekeeping rules".
    """
    parts = [p for p in (fn.__module__ or "").split(".") if p and not p.startswith("_")]
    if parts and parts[0] == "mathdl":
        parts = parts[1:]
    return ".".join([*parts, fn.__qualname__])


_KINDS = {
    "float": ("a floating-point array", lambda d: jnp.issubdtype(d, jnp.floating), TypeError),
    "int": ("an integer array", lambda d: jnp.issubdtype(d, jnp.integer), TypeError),
    "num": ("a numeric (integer or floating-point) array", lambda d: jnp.issubdtype(d, jnp.number), TypeError),
    "bool": ("a boolean array", lambda d: jnp.issubdtype(d, jnp.bool_), TypeError),
    "key": ("a typed PRNG key (jax.random.key(seed))", lambda d: jnp.issubdtype(d, jax.dtypes.prng_key), TypeError),
    "any": ("an array", lambda d: True, TypeError),
}
_SPEC = re.compile(r"^\s*(?P<kind>[a-z]+)\s*\[(?P<dims>[^\]]*)\]\s*(?P<opt>\?)?\s*$")


@functools.cache
def _parse(spec: str) -> tuple[str, tuple[str, ...], bool]:
    m = _SPEC.match(spec)
    if m is None or m["kind"] not in _KINDS:
        raise ValueError(f"checks: malformed input spec {spec!r}; expected e.g. 'float[N p]' or 'int[*batch]'")
    dims = tuple(m["dims"].split())
    if sum(d.startswith("*") for d in dims) > 1:
        raise ValueError(f"checks: input spec {spec!r} has more than one variadic '*' dimension")
    return m["kind"], dims, m["opt"] is not None


def _show(shape: Sequence) -> str:
    inner = ", ".join(str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def conform(func: str, name: str, value, spec: str, dims: dict | None = None):
    r"""Convert ``value`` to an array and check it against ``spec``, binding symbolic dimensions.

    ``spec`` reads ``"<kind>[<dims>]"`` with ``kind`` one of ``float``, ``int``, ``num``,
    ``bool``, ``key`` or ``any``, and space-separated dimensions: a symbol (``N``, ``p``) that
    must take the same size wherever it appears among the arguments checked with the same
    ``dims``, an integer size, ``_`` for any size, and at most one ``*name`` for any number of
    leading (or inner) axes, which must also agree. A trailing ``?`` allows ``None``.
    ``"float[N p]"`` is a floating matrix; ``"int[*batch]"`` labels over any batch shape;
    ``"float[]"`` a floating scalar.

    Args:
      func: the public function's name, for the message.
      name: the argument's name, for the message.
      value: the argument; an array, a NumPy array, a Python number or a (nested) list of numbers.
        A ``bool``, ``str``, ``bytes`` or ``None`` is refused (unless the spec ends in ``?``).
      spec: the specification string.
      dims: the symbol table shared by one call's arguments (updated in place).

    Returns:
      ``jnp.asarray(value)`` (unchanged if it was already a JAX array or tracer), or ``None``.

    Raises:
      TypeError: if ``value`` is not array-like or has the wrong dtype kind.
      ValueError: if the rank or a dimension disagrees with the spec or an earlier argument.

    References:
      docs/architecture.md, "Checks".
    """
    kind, pattern, optional = _parse(spec)
    what, ok_dtype, exc = _KINDS[kind]
    if value is None and optional:
        return None
    if kind != "bool" and isinstance(value, bool) or isinstance(value, str | bytes) or value is None:
        fail(func, name, what, Text(type(value).__name__), exc=TypeError)
    if not isinstance(value, jax.Array):
        try:
            value = jnp.asarray(value)
        except (TypeError, ValueError):
            fail(func, name, what, Text(type(value).__name__), exc=TypeError)
    if not ok_dtype(value.dtype):
        if kind != "key" and jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
            fail(func, name, what, Text("a PRNG key"), exc=TypeError)
        got = f"dtype {value.dtype}"
        if kind == "key":
            got += f" of shape {tuple(value.shape)} (a raw key; use jax.random.key, not jax.random.PRNGKey)"
        fail(func, name, what, Text(got), exc=exc)
    _match_dims(func, name, tuple(value.shape), pattern, {} if dims is None else dims)
    return value


def _match_dims(func: str, name: str, shape: tuple[int, ...], pattern: tuple[str, ...], dims: dict) -> None:
    star = next((i for i, d in enumerate(pattern) if d.startswith("*")), None)
    fixed = len(pattern) - (star is not None)
    got = Text(f"shape {shape} (rank {len(shape)})")
    if star is None and len(shape) != fixed:
        fail(func, name, f"rank {fixed}", got)
    if star is not None and len(shape) < fixed:
        fail(func, name, f"rank >= {fixed}", got)
    if star is None:
        pairs = list(zip(pattern, shape, strict=True))
        var = None
    else:
        tail = len(pattern) - star - 1
        var = (pattern[star][1:], shape[star : len(shape) - tail])
        pairs = list(zip(pattern[:star], shape[:star], strict=True))
        pairs += list(zip(pattern[star + 1 :], shape[len(shape) - tail :], strict=True))
    expected, bad = [], False
    local: dict = {}  # a symbol repeated inside one spec ("float[N N]") must agree with itself
    for sym, size in pairs:
        if sym == "_":
            expected.append(size)
            continue
        want = int(sym) if sym.isdigit() else dims.get(sym, local.setdefault(sym, size))
        expected.append(want)
        bad |= want != size
    if var is not None and var[0]:
        want_var = dims.get("*" + var[0], var[1])
        if want_var != var[1]:
            bad = True
        star_expected = list(want_var)
        expected = expected[:star] + star_expected + expected[star:]
    if bad:
        fail(func, name, f"shape {_show(expected)}", Text(f"shape {shape}"))
    for sym, size in pairs:
        if sym != "_" and not sym.isdigit():
            dims.setdefault(sym, size)
    if var is not None and var[0]:
        dims.setdefault("*" + var[0], var[1])


class fields:  # noqa: N801 - used like a spec string, lower case on purpose
    r"""A spec for a parameter NamedTuple: one spec per field, e.g. ``fields(W="float[N p]", b="float[N]")``.

    Each field is checked as ``<argument>.<field>`` (messages say ``params.W``), in the order
    given, sharing the call's symbolic dimensions. A NamedTuple is rebuilt with the converted
    fields.

    Args:
      **specs: field name to spec string (see :func:`conform`).

    References:
      docs/architecture.md, "Checks".
    """

    def __init__(self, **specs: str):
        for spec in specs.values():
            _parse(spec)
        self.specs = specs

    def conform(self, func: str, name: str, value, dims: dict):
        """Check every field of ``value``; returns ``value`` with converted fields."""
        missing = [f for f in self.specs if not hasattr(value, f)]
        if missing:
            want = f"params with fields {', '.join(self.specs)}"
            fail(func, name, want, Text(type(value).__name__), exc=TypeError)
        new = {f: conform(func, f"{name}.{f}", getattr(value, f), s, dims) for f, s in self.specs.items()}
        if hasattr(value, "_replace") and any(new[f] is not getattr(value, f) for f in new):
            value = value._replace(**new)
        return value


def inputs(**specs) -> Callable[[Callable], Callable]:
    r"""Declare a public function's array inputs once; they are checked at trace time.

    Each keyword names an argument and gives its spec: a string such as ``"float[N p]"`` (see
    :func:`conform`), a :class:`fields` spec for a parameter NamedTuple, or a callable
    ``check(func, name, value, dims) -> value`` for anything else. Arguments are checked in the
    order given, so symbolic dimensions bound by one (``N`` from ``params.W``) constrain the
    next. Array-likes (lists, NumPy arrays, Python numbers) are converted with ``jnp.asarray``
    before the function body runs, so every decorated function accepts them alike. The function
    name in messages is derived with :func:`public_name`.

    Checks run whenever the function is traced or called eagerly, and cost nothing inside a
    compiled program. They see shapes and dtypes only; value checks go through :func:`ensure`.

    Args:
      **specs: argument name to spec.

    Returns:
      A decorator; the decorated function has the same signature and outputs.

    Raises:
      ValueError: at decoration, if a spec is malformed or names an argument the function lacks.

    References:
      docs/architecture.md, "Checks".

    Example:
      >>> @checks.inputs(params=checks.fields(W="float[N p]", b="float[N]"), x="float[p]")
      ... def dense(params, x):
      ...     return params.W @ x + params.b
    """
    for spec in specs.values():
        if isinstance(spec, str):
            _parse(spec)

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        names = list(sig.parameters)
        unknown = [n for n in specs if n not in sig.parameters]
        if unknown:
            raise ValueError(f"checks.inputs: {fn.__qualname__} has no argument(s) {unknown}")
        positions = {n: names.index(n) for n in specs}
        func = public_name(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            args = list(args)
            dims: dict = {}
            for name, spec in specs.items():
                pos = positions[name]
                if pos < len(args):
                    where, key = args, pos
                elif name in kwargs:
                    where, key = kwargs, name
                else:
                    continue  # left to its default
                value = where[key]
                if isinstance(spec, str):
                    where[key] = conform(func, name, value, spec, dims)
                elif isinstance(spec, fields):
                    where[key] = spec.conform(func, name, value, dims)
                else:
                    where[key] = spec(func, name, value, dims)
            return fn(*args, **kwargs)

        wrapper.__mathdl_inputs__ = specs
        return wrapper

    return decorate


# ---------------------------------------------------------------- value checks with a traced form


def _poison_leaf(ok, leaf):
    leaf = jnp.asarray(leaf)
    if jnp.issubdtype(leaf.dtype, jnp.inexact):
        return jnp.where(ok, leaf, jnp.asarray(jnp.nan, leaf.dtype))
    if jnp.issubdtype(leaf.dtype, jnp.bool_):
        return jnp.logical_and(ok, leaf)
    if jnp.issubdtype(leaf.dtype, jnp.signedinteger):
        return jnp.where(ok, leaf, jnp.asarray(-1, leaf.dtype))
    if jnp.issubdtype(leaf.dtype, jnp.unsignedinteger):
        return jnp.where(ok, leaf, jnp.asarray(jnp.iinfo(leaf.dtype).max, leaf.dtype))
    return leaf


def first_bad(x, ok, *, flat: bool = True, traced: str = "a value outside it") -> str:
    r"""What came, for a value check's eager message: ``"2 at index 11"``.

    Args:
      x: the checked values (any shape).
      ok: booleans broadcastable to ``x``; false marks a bad entry.
      flat: give the flat index (default) rather than the index tuple.
      traced: the text returned when ``x`` or ``ok`` is traced, or nothing is bad.

    Returns:
      The first bad value and its index, ``repr`` of the value for a scalar, or ``traced``.

    References:
      docs/architecture.md, "Checks".
    """
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
    where = i if flat else tuple(int(j) for j in np.unravel_index(i, x_np.shape))
    return f"{x_np.ravel()[i].item()!r} at index {where}"


def ensure(ok, out, func: str, name: str, expected: str, got: str = "values outside it"):
    r"""A value check with a traced form: raise eagerly, poison under jit, raise in checked mode.

    ``ok`` is a boolean (scalar or array; all of it must hold). Three cases:

    * ``ok`` is concrete (an eager call, or ``jax.grad`` without ``jit``): if it is false,
      raise ``ValueError`` with the standard message; otherwise return ``out`` unchanged.
    * ``ok`` is traced (``jax.jit``, ``jax.vmap``, ``lax.scan``) inside :func:`checked`: a
      :func:`jax.experimental.checkify.check`, so the checked call raises.
    * ``ok`` is traced otherwise: ``out`` comes back poisoned where ``ok`` is false, never a
      finite wrong answer: floating leaves become NaN, signed-integer leaves ``-1``,
      unsigned-integer leaves their maximum, and boolean leaves ``False`` (a ``converged`` flag
      reads false).

    Args:
      ok: the condition that must hold, e.g. ``(labels >= 0) & (labels < K)``.
      out: the pytree of results to return (and to poison when traced).
      func: the public function's name (``checks.public_name(f)``).
      name: the argument whose value is wrong.
      expected: what would have been accepted, in words (``"labels in [0, 3)"``).
      got: what came, in words, for the eager message.

    Returns:
      ``out``, unchanged or poisoned.

    Raises:
      ValueError: eagerly, when ``ok`` is false.

    References:
      docs/architecture.md, "Checks"; JAX documentation, ``jax.experimental.checkify``.
    """
    ok = jnp.all(jnp.asarray(ok))
    try:
        concrete = bool(ok)
    except jax.errors.ConcretizationTypeError:
        concrete = None
    if concrete is not None:
        if not concrete:
            fail(func, name, expected, Text(got))
        return out
    if _CHECKING.value:
        message = f"{func}: argument `{name}` expected {expected}, got {got}."
        checkify.check(ok, message.replace("{", "{{").replace("}", "}}"))
    return jax.tree.map(lambda leaf: _poison_leaf(ok, leaf), out)
