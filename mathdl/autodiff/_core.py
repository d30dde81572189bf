r"""The engine: elementary operations, dual numbers (forward mode) and a tape (reverse mode).

Every elementary operation $a = \phi(u, v)$ is stored once, in :data:`_RULES`, as its value and its
local partial derivatives $\partial\phi/\partial u$, $\partial\phi/\partial v$. The two modes use the
same table:

* **forward mode** carries, next to every value $a$, its tangent $\dot a = \sum_u
  \frac{\partial a}{\partial u}\dot u$ (a :class:`Dual` number $a + \dot a\,\varepsilon$ with
  $\varepsilon^2 = 0$); one sweep gives one Jacobian-vector product;
* **reverse mode** records every operation on a :class:`Tape` during the forward sweep; a backward
  sweep then accumulates adjoints $\bar u \mathrel{+}= \frac{\partial a}{\partial u}\bar a$ from the
  output to the inputs; one backward sweep gives one vector-Jacobian product.

Values are Python floats with IEEE semantics (those of NumPy and JAX, not of :mod:`math`):
``log(0.0) == -inf``, ``log(-1.0)`` is NaN, ``1.0 / 0.0 == inf``, ``exp(1000.0) == inf``; no
exception is raised for a value problem. Unsupported operand types raise ``TypeError`` naming the
operation.
"""

from collections.abc import Callable

import numpy as np

from mathdl import checks

__all__ = ["Dual", "Tape", "Var"]


def _np(fn: Callable[..., float]) -> Callable[..., float]:
    """Evaluate with NumPy float64 semantics (inf/NaN instead of exceptions) and return a Python float."""

    def wrapped(*args):
        with np.errstate(all="ignore"):
            return float(fn(*(np.float64(a) for a in args)))

    return wrapped


def _sigmoid(x):
    # Stable logistic: exp only of a non-positive number.
    e = np.exp(-x) if x >= 0 else np.exp(x)
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


def _pow_da(a, b, y):
    # d(a^b)/da = b a^(b-1); defined as 0 when b == 0 (a^0 = 1 is constant), as JAX does.
    return 0.0 if b == 0 else b * np.power(a, b - 1)


def _pow_db(a, b, y):
    # d(a^b)/db = a^b log a; defined as 0 at a == 0 (as JAX does); NaN for a < 0 (undefined).
    return 0.0 if a == 0 else y * np.log(a)


# name -> (symbol for printing, value function, tuple of partial-derivative functions of (*args, y))
_RULES: dict[str, tuple[str, Callable, tuple[Callable, ...]]] = {
    "add": ("+", _np(lambda a, b: a + b), (lambda a, b, y: 1.0, lambda a, b, y: 1.0)),
    "sub": ("-", _np(lambda a, b: a - b), (lambda a, b, y: 1.0, lambda a, b, y: -1.0)),
    "mul": ("*", _np(lambda a, b: a * b), (lambda a, b, y: b, lambda a, b, y: a)),
    "div": ("/", _np(lambda a, b: a / b), (_np(lambda a, b, y: 1 / b), _np(lambda a, b, y: -y / b))),
    "pow": ("**", _np(np.power), (_np(_pow_da), _np(_pow_db))),
    "neg": ("-", _np(lambda a: -a), (lambda a, y: -1.0,)),
    "exp": ("exp", _np(np.exp), (lambda a, y: y,)),
    "log": ("log", _np(np.log), (_np(lambda a, y: 1 / a),)),
    "sin": ("sin", _np(np.sin), (_np(lambda a, y: np.cos(a)),)),
    "cos": ("cos", _np(np.cos), (_np(lambda a, y: -np.sin(a)),)),
    "tanh": ("tanh", _np(np.tanh), (_np(lambda a, y: 1 - y * y),)),
    "sigmoid": ("sigmoid", _np(_sigmoid), (_np(lambda a, y: y * (1 - y)),)),
    "sqrt": ("sqrt", _np(np.sqrt), (_np(lambda a, y: 0.5 / y),)),
}

_ALLOWED = "a float, int, Dual or Var"


def _is_number(x) -> bool:
    return isinstance(x, int | float | np.floating | np.integer) and not isinstance(x, bool | np.bool_)


def _check_operand(op: str, name: str, x) -> None:
    if not (_is_number(x) or isinstance(x, Dual | Var)):
        checks.fail(f"autodiff.{op}", name, _ALLOWED, type(x).__name__, exc=TypeError)


class OpCounter:
    """Mutable counts for one differentiation call (no global state: each call makes its own)."""

    __slots__ = ("derivative", "primal")

    def __init__(self) -> None:
        self.primal = 0
        self.derivative = 0


# ------------------------------------------------------------------------------------------ forward mode


class Dual:
    r"""A dual number $a + \dot a\,\varepsilon$ ($\varepsilon^2 = 0$): a value and its tangent.

    Arithmetic on duals is the chain rule: $\phi(a + \dot a\varepsilon) = \phi(a) +
    \phi'(a)\dot a\,\varepsilon$. Build them with :func:`mathdl.autodiff.jvp` rather than by hand.
    """

    __slots__ = ("_counter", "tangent", "value")

    def __init__(self, value: float, tangent: float = 0.0, counter: OpCounter | None = None) -> None:
        self.value = float(value)
        self.tangent = float(tangent)
        self._counter = counter

    def __repr__(self) -> str:
        return f"Dual({self.value!r}, tangent={self.tangent!r})"

    # Python operators: every one goes through apply().
    def __add__(self, o):
        return apply("add", self, o)

    def __radd__(self, o):
        return apply("add", o, self)

    def __sub__(self, o):
        return apply("sub", self, o)

    def __rsub__(self, o):
        return apply("sub", o, self)

    def __mul__(self, o):
        return apply("mul", self, o)

    def __rmul__(self, o):
        return apply("mul", o, self)

    def __truediv__(self, o):
        return apply("div", self, o)

    def __rtruediv__(self, o):
        return apply("div", o, self)

    def __pow__(self, o):
        return apply("pow", self, o)

    def __rpow__(self, o):
        return apply("pow", o, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self


def _dual_apply(name: str, args: tuple) -> Dual:
    _, value_fn, partials = _RULES[name]
    vals = tuple(a.value if isinstance(a, Dual) else float(a) for a in args)
    counter = next((a._counter for a in args if isinstance(a, Dual) and a._counter is not None), None)
    y = value_fn(*vals)
    tangent = 0.0
    for a, d in zip(args, partials, strict=True):
        if isinstance(a, Dual) and a.tangent != 0.0:
            with np.errstate(all="ignore"):
                tangent += float(np.float64(d(*vals, y)) * a.tangent)
    if counter is not None:
        counter.primal += 1
        counter.derivative += 1  # one tangent update per elementary operation
    return Dual(y, tangent, counter)


# ------------------------------------------------------------------------------------------ reverse mode


class Tape:
    r"""The record of a forward sweep: one entry per elementary operation, in evaluation order.

    Entry ``k`` holds the operation's name, its arguments (an ``int`` is the index of another entry,
    a ``float`` a constant), its local partial derivatives with respect to the entry arguments, and
    its value. Inputs are entries with the name ``"input"``.
    """

    __slots__ = ("counter", "entries")

    def __init__(self) -> None:
        self.entries: list[tuple[str, tuple, tuple[float, ...], float]] = []
        self.counter = OpCounter()

    def input(self, value: float) -> "Var":
        """Register an input and return its variable."""
        self.entries.append(("input", (), (), float(value)))
        return Var(float(value), self, len(self.entries) - 1)

    def backward(self, output: "Var | float", seed: float = 1.0) -> list[float]:
        r"""One backward sweep: the adjoints $\bar a_k = \partial(\text{seed}\cdot y)/\partial a_k$ of all entries.

        Costs one adjoint update per edge of the graph (counted in ``counter.derivative``).
        """
        adj = [0.0] * len(self.entries)
        if not isinstance(output, Var):  # a constant output: every adjoint is 0
            return adj
        adj[output.index] = float(seed)
        with np.errstate(all="ignore"):
            for k in range(output.index, -1, -1):
                name, args, partials, _ = self.entries[k]
                if adj[k] == 0.0 or name == "input":
                    continue
                for a, d in zip(args, partials, strict=True):
                    if isinstance(a, int):
                        adj[a] = float(adj[a] + np.float64(d) * adj[k])
                        self.counter.derivative += 1
        return adj


class Var:
    r"""A value recorded on a :class:`Tape` (reverse mode). Build them with :func:`mathdl.autodiff.vjp`."""

    __slots__ = ("index", "tape", "value")

    def __init__(self, value: float, tape: Tape, index: int) -> None:
        self.value = value
        self.tape = tape
        self.index = index

    def __repr__(self) -> str:
        return f"Var({self.value!r}, index={self.index})"

    def __add__(self, o):
        return apply("add", self, o)

    def __radd__(self, o):
        return apply("add", o, self)

    def __sub__(self, o):
        return apply("sub", self, o)

    def __rsub__(self, o):
        return apply("sub", o, self)

    def __mul__(self, o):
        return apply("mul", self, o)

    def __rmul__(self, o):
        return apply("mul", o, self)

    def __truediv__(self, o):
        return apply("div", self, o)

    def __rtruediv__(self, o):
        return apply("div", o, self)

    def __pow__(self, o):
        return apply("pow", self, o)

    def __rpow__(self, o):
        return apply("pow", o, self)

    def __neg__(self):
        return apply("neg", self)

    def __pos__(self):
        return self


def _var_apply(name: str, args: tuple) -> Var:
    tapes = {id(a.tape): a.tape for a in args if isinstance(a, Var)}
    if len(tapes) > 1:
        checks.fail(f"autodiff.{name}", "x", "variables from one tape (one differentiation call)", "two tapes")
    (tape,) = tapes.values()
    _, value_fn, partials = _RULES[name]
    vals = tuple(a.value if isinstance(a, Var) else float(a) for a in args)
    y = value_fn(*vals)
    local = tuple(float(d(*vals, y)) if isinstance(a, Var) else 0.0 for a, d in zip(args, partials, strict=True))
    stored = tuple(a.index if isinstance(a, Var) else float(a) for a in args)
    tape.entries.append((name, stored, local, y))
    tape.counter.primal += 1
    return Var(y, tape, len(tape.entries) - 1)


# ------------------------------------------------------------------------------------------ dispatch


def apply(name: str, *args):
    """Apply elementary operation ``name`` to numbers, duals or tape variables."""
    names = ("x",) if len(args) == 1 else ("x", "y")
    for n, a in zip(names, args, strict=True):
        _check_operand(name, n, a)
    has_dual = any(isinstance(a, Dual) for a in args)
    has_var = any(isinstance(a, Var) for a in args)
    if has_dual and has_var:
        checks.fail(f"autodiff.{name}", "y", "the same mode as `x` (Dual with Dual, Var with Var)", "Dual and Var")
    if has_dual:
        return _dual_apply(name, args)
    if has_var:
        return _var_apply(name, args)
    return _RULES[name][1](*(float(a) for a in args))


def symbol(name: str) -> str:
    """How an operation prints in a graph ("+", "exp", ...)."""
    return _RULES[name][0]


def is_infix(name: str) -> bool:
    return name in ("add", "sub", "mul", "div", "pow")
