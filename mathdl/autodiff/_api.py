r"""The user-facing teaching engine: elementary functions, jvp / vjp, grad, jacobian, graphs, costs.

A function for this engine takes Python scalars and is written with Python's operators and the
elementary functions of this module, e.g. the book's example ([MEDL] Sec. 4.4)

    >>> from mathdl import autodiff as ad
    >>> C = lambda t1, t2, t3: ad.sin(t1 * t2) + ad.exp(t2 + t3) - 2 * t3
    >>> ad.grad(C, (1.0, 2.0, 0.5), mode="forward")  # doctest: +SKIP
    (..., ..., ...)

Forward mode needs one sweep per **input** (one JVP per direction $e_j$); reverse mode needs one
recorded forward sweep plus one backward sweep per **output** (one VJP per $e_i$). :func:`count_ops`
shows those costs, and :func:`trace` prints the computational graph.
"""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from mathdl import checks
from mathdl.autodiff._core import Dual, OpCounter, Tape, Var, apply, is_infix, symbol

__all__ = [
    "Graph",
    "OpCounts",
    "cos",
    "count_ops",
    "exp",
    "grad",
    "jacobian",
    "jvp",
    "log",
    "sigmoid",
    "sin",
    "sqrt",
    "tanh",
    "trace",
    "value_and_grad",
    "vjp",
]

_MODES = ("forward", "reverse")


# ------------------------------------------------------------------------------ elementary functions


def exp(x):
    r"""$e^x$, with derivative $e^x$. Works on numbers, :class:`Dual` and :class:`Var`.

    Args:
      x: a float or int, or a dual number / tape variable inside a differentiated function.

    Returns:
      The same kind as ``x`` (a float for a number). Overflow gives ``inf``.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.exp``.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (elementary operations of the computational graph).
    """
    return apply("exp", x)


def log(x):
    r"""Natural logarithm $\log x$, with derivative $1/x$.

    IEEE semantics, as NumPy and JAX: ``log(0.0) == -inf`` and ``log(x)`` is NaN for $x < 0$
    (:func:`math.log` would raise instead).

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.log``.

    References:
      [MEDL] Ch. 4, Sec. 4.4.
    """
    return apply("log", x)


def sin(x):
    r"""$\sin x$, with derivative $\cos x$.

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``; NaN for $x = \pm\infty$.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.sin``.

    References:
      [MEDL] Ch. 4, Sec. 4.4.
    """
    return apply("sin", x)


def cos(x):
    r"""$\cos x$, with derivative $-\sin x$.

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.cos``.

    References:
      [MEDL] Ch. 4, Sec. 4.4.
    """
    return apply("cos", x)


def tanh(x):
    r"""$\tanh x$, with derivative $1 - \tanh^2 x$.

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.tanh``.

    References:
      [MEDL] Ch. 4, Sec. 4.4; Ch. 5, Sec. 5.3.
    """
    return apply("tanh", x)


def sigmoid(x):
    r"""Logistic sigmoid $\sigma(x) = 1/(1+e^{-x})$, with derivative $\sigma(x)(1-\sigma(x))$.

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``; computed without overflow for any $x$.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.sigmoid``.

    References:
      [MEDL] Ch. 3, Sec. 3.1; Ch. 4, Sec. 4.4.
    """
    return apply("sigmoid", x)


def sqrt(x):
    r"""$\sqrt x$, with derivative $1/(2\sqrt x)$ (``inf`` at 0; NaN for $x < 0$).

    Args:
      x: a float or int, or a dual number / tape variable.

    Returns:
      The same kind as ``x``.

    Raises:
      TypeError: if ``x`` is of another type; the message names ``autodiff.sqrt``.

    References:
      [MEDL] Ch. 4, Sec. 4.4.
    """
    return apply("sqrt", x)


# ------------------------------------------------------------------------------ argument checks


def _check_f(func: str, f) -> None:
    if not callable(f):
        checks.fail(func, "f", "a callable taking scalars", type(f).__name__, exc=TypeError)


def _check_xs(func: str, xs, name: str = "xs") -> tuple[float, ...]:
    if not isinstance(xs, list | tuple):
        checks.fail(func, name, "a tuple or list of numbers, e.g. (x,)", type(xs).__name__, exc=TypeError)
    for i, x in enumerate(xs):
        if isinstance(x, bool) or not isinstance(x, int | float):
            checks.fail(func, f"{name}[{i}]", "a float or int", type(x).__name__, exc=TypeError)
    if len(xs) == 0:
        checks.fail(func, name, "at least one input", "an empty sequence")
    return tuple(float(x) for x in xs)


def _check_mode(func: str, mode) -> None:
    checks.check_choice(func, "mode", mode, _MODES)


def _outputs(func: str, out) -> tuple[tuple, bool]:
    """Normalise f's result to a tuple of outputs; remember whether it was a single scalar."""
    if isinstance(out, list | tuple):
        seq, scalar = tuple(out), False
    else:
        seq, scalar = (out,), True
    for i, o in enumerate(seq):
        if isinstance(o, bool) or not isinstance(o, int | float | Dual | Var):
            where = "f(*xs)" if scalar else f"f(*xs)[{i}]"
            checks.fail(func, where, "a scalar (float, Dual or Var)", type(o).__name__, exc=TypeError)
    if not seq:
        checks.fail(func, "f(*xs)", "at least one output", "an empty sequence")
    return seq, scalar


def _value(o) -> float:
    return o.value if isinstance(o, Dual | Var) else float(o)


# ------------------------------------------------------------------------------ forward and reverse sweeps


def _jvp(f, xs: tuple[float, ...], tangents: tuple[float, ...], counter: OpCounter, func: str):
    duals = [Dual(x, t, counter) for x, t in zip(xs, tangents, strict=True)]
    seq, scalar = _outputs(func, f(*duals))
    values = tuple(_value(o) for o in seq)
    tans = tuple(o.tangent if isinstance(o, Dual) else 0.0 for o in seq)
    return values, tans, scalar


def _record(f, xs: tuple[float, ...], func: str):
    tape = Tape()
    vars_ = [tape.input(x) for x in xs]
    seq, scalar = _outputs(func, f(*vars_))
    return tape, vars_, seq, scalar


def _pullback(tape: Tape, vars_: list[Var], seq: tuple, cotangents: tuple[float, ...]) -> tuple[float, ...]:
    """sum_i cotangent_i * d out_i / d xs — one backward sweep per output with a non-zero cotangent."""
    total = [0.0] * len(vars_)
    for o, c in zip(seq, cotangents, strict=True):
        if c == 0.0 or not isinstance(o, Var):
            continue
        adj = tape.backward(o, c)
        total = [t + adj[v.index] for t, v in zip(total, vars_, strict=True)]
    return tuple(total)


def jvp(f: Callable[..., Any], xs: Sequence[float], tangents: Sequence[float]):
    r"""Forward mode: the Jacobian-vector product $J_f(x)\,v$ in one sweep with dual numbers.

    Each input $x_j$ becomes $x_j + v_j\varepsilon$; evaluating $f$ on duals carries every
    intermediate value $a$ together with its tangent $\dot a = \nabla a \cdot v$.

    Args:
      f: a function of ``len(xs)`` scalars returning a scalar or a tuple/list of scalars.
      xs: the point $x$, a tuple or list of numbers.
      tangents: the direction $v$, same length as ``xs``.

    Returns:
      ``(outputs, output_tangents)``: floats if ``f`` returns a scalar, else tuples.

    Raises:
      TypeError: if ``f`` is not callable, ``xs``/``tangents`` are not sequences of numbers, or ``f``
        returns something other than scalars.
      ValueError: if ``tangents`` has the wrong length.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (forward mode). Oracle in tests: ``jax.jvp``.
    """
    func = checks.public_name(jvp)
    _check_f(func, f)
    xs = _check_xs(func, xs)
    tangents = _check_xs(func, tangents, "tangents")
    if len(tangents) != len(xs):
        checks.fail(func, "tangents", f"length {len(xs)} (that of `xs`)", len(tangents))
    values, tans, scalar = _jvp(f, xs, tangents, OpCounter(), func)
    return (values[0], tans[0]) if scalar else (values, tans)


def vjp(f: Callable[..., Any], xs: Sequence[float], cotangents: float | Sequence[float]):
    r"""Reverse mode: the vector-Jacobian product $u^\top J_f(x)$ with a tape.

    One forward sweep records the graph; then one backward sweep per output $i$ with
    $u_i \ne 0$ accumulates adjoints $\bar a = \partial (u_i y_i) / \partial a$ from the output to
    the inputs.

    Args:
      f: a function of ``len(xs)`` scalars returning a scalar or a tuple/list of scalars.
      xs: the point $x$, a tuple or list of numbers.
      cotangents: $u$: a number if ``f`` returns a scalar, else one number per output.

    Returns:
      ``(outputs, input_cotangents)``: ``outputs`` a float (or tuple), ``input_cotangents`` a tuple
      with one entry per input.

    Raises:
      TypeError: if an argument has the wrong type or ``f`` returns something other than scalars.
      ValueError: if ``cotangents`` does not match the outputs.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (reverse mode, backpropagation). Oracle in tests: ``jax.vjp``.
    """
    func = checks.public_name(vjp)
    _check_f(func, f)
    xs = _check_xs(func, xs)
    tape, vars_, seq, scalar = _record(f, xs, func)
    if scalar:
        if isinstance(cotangents, bool) or not isinstance(cotangents, int | float):
            checks.fail(func, "cotangents", "a number (f returns a scalar)", type(cotangents).__name__, exc=TypeError)
        cts = (float(cotangents),)
    else:
        cts = _check_xs(func, cotangents, "cotangents")
        if len(cts) != len(seq):
            checks.fail(func, "cotangents", f"length {len(seq)} (the number of outputs)", len(cts))
    values = tuple(_value(o) for o in seq)
    return (values[0] if scalar else values), _pullback(tape, vars_, seq, cts)


# ------------------------------------------------------------------------------ grad, jacobian, costs


class OpCounts(NamedTuple):
    r"""Cost of computing a full Jacobian of $f:\mathbb R^n \to \mathbb R^m$ with one mode.

    Attributes:
      mode: ``"forward"`` or ``"reverse"``.
      n_inputs: $n$.
      n_outputs: $m$.
      forward_sweeps: evaluations of $f$ (forward: $n$, one per input direction; reverse: 1).
      backward_sweeps: backward passes over the tape (forward: 0; reverse: $m$, one per output).
      primal_ops: elementary operations evaluated, over all forward sweeps.
      derivative_ops: tangent updates (forward) or adjoint accumulations (reverse).
    """

    mode: str
    n_inputs: int
    n_outputs: int
    forward_sweeps: int
    backward_sweeps: int
    primal_ops: int
    derivative_ops: int


def _jacobian(func: str, f, xs, mode):
    _check_f(func, f)
    xs = _check_xs(func, xs)
    _check_mode(func, mode)
    n = len(xs)
    if mode == "forward":
        counter = OpCounter()
        cols, values, scalar = [], (), True
        for j in range(n):  # one sweep per input direction e_j
            e_j = tuple(1.0 if k == j else 0.0 for k in range(n))
            values, tans, scalar = _jvp(f, xs, e_j, counter, func)
            cols.append(tans)
        m = len(values)
        rows = tuple(tuple(cols[j][i] for j in range(n)) for i in range(m))
        counts = OpCounts("forward", n, m, n, 0, counter.primal, counter.derivative)
    else:
        tape, vars_, seq, scalar = _record(f, xs, func)
        m = len(seq)
        rows = []
        for i in range(m):  # one backward sweep per output e_i
            adj = tape.backward(seq[i], 1.0) if isinstance(seq[i], Var) else [0.0] * len(tape.entries)
            rows.append(tuple(adj[v.index] for v in vars_))
        rows = tuple(rows)
        values = tuple(_value(o) for o in seq)
        counts = OpCounts("reverse", n, m, 1, m, tape.counter.primal, tape.counter.derivative)
    return values, rows, scalar, counts


def jacobian(f: Callable[..., Any], xs: Sequence[float], *, mode: str = "reverse") -> tuple[tuple[float, ...], ...]:
    r"""The Jacobian $J_f(x) \in \mathbb R^{m\times n}$, $[J]_{ij} = \partial f_i/\partial x_j$.

    Forward mode builds it column by column ($n$ JVPs with $v = e_j$); reverse mode row by row
    (one recorded sweep, then $m$ backward sweeps with $u = e_i$).

    Args:
      f: a function of $n$ = ``len(xs)`` scalars returning a scalar ($m = 1$) or a tuple/list of
        $m$ scalars.
      xs: the point, a tuple or list of numbers.
      mode: ``"forward"`` or ``"reverse"``.

    Returns:
      A tuple of $m$ rows, each a tuple of $n$ floats (also for a scalar ``f``: one row).

    Raises:
      TypeError: if ``f`` is not callable or ``xs`` is not a sequence of numbers.
      ValueError: if ``mode`` is not ``"forward"`` or ``"reverse"``.

    References:
      [MEDL] Ch. 4, Sec. 4.4. Oracle in tests: ``jax.jacfwd`` / ``jax.jacrev``.
    """
    return _jacobian(checks.public_name(jacobian), f, xs, mode)[1]


def value_and_grad(f: Callable[..., Any], xs: Sequence[float], *, mode: str = "reverse"):
    r"""The value $f(x)$ and the gradient $(\partial f/\partial x_1, \dots, \partial f/\partial x_n)$.

    Args:
      f: a function of ``len(xs)`` scalars returning one scalar.
      xs: the point, a tuple or list of numbers.
      mode: ``"forward"`` ($n$ sweeps) or ``"reverse"`` (one sweep and one backward pass).

    Returns:
      ``(value, grads)``: a float and a tuple of ``len(xs)`` floats.

    Raises:
      TypeError: if ``f`` is not callable, ``xs`` is not a sequence of numbers, or ``f`` returns
        several outputs (use :func:`jacobian`).
      ValueError: if ``mode`` is not ``"forward"`` or ``"reverse"``.

    References:
      [MEDL] Ch. 4, Sec. 4.4. Oracle in tests: ``jax.value_and_grad``.
    """
    return _value_and_grad(checks.public_name(value_and_grad), f, xs, mode)


def _value_and_grad(func: str, f, xs, mode):
    values, rows, scalar, _ = _jacobian(func, f, xs, mode)
    if not scalar:
        checks.fail(
            func, "f", "a function returning one scalar (use jacobian)", f"{len(values)} outputs", exc=TypeError
        )
    return values[0], rows[0]


def grad(f: Callable[..., Any], xs: Sequence[float], *, mode: str = "reverse") -> tuple[float, ...]:
    r"""The gradient of a scalar function of scalars: one partial derivative per input.

    $$\nabla f(x) = \Bigl(\frac{\partial f}{\partial x_1}, \dots, \frac{\partial f}{\partial x_n}\Bigr).$$

    ``mode="forward"`` runs $n$ sweeps with dual numbers (one per input); ``mode="reverse"`` (the
    default, as ``jax.grad``) records one sweep on a tape and runs one backward sweep.

    Args:
      f: a function of ``len(xs)`` scalars returning one scalar, written with Python operators and
        this module's ``exp``, ``log``, ``sin``, ``cos``, ``tanh``, ``sigmoid``, ``sqrt``.
      xs: the point $x$, a tuple or list of numbers (``(x,)`` for one input).
      mode: ``"forward"`` or ``"reverse"``.

    Returns:
      A tuple of ``len(xs)`` floats.

    Raises:
      TypeError: if ``f`` is not callable, ``xs`` is not a sequence of numbers, ``f`` returns
        several outputs, or ``f`` applies an operation to an unsupported type.
      ValueError: if ``mode`` is not ``"forward"`` or ``"reverse"`` or ``xs`` is empty.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (automatic differentiation). Oracle in tests: ``jax.grad``.
    """
    return _value_and_grad(checks.public_name(grad), f, xs, mode)[1]


def count_ops(f: Callable[..., Any], xs: Sequence[float], *, mode: str = "reverse") -> OpCounts:
    r"""Count the work of computing the full Jacobian of ``f`` at ``xs`` in one mode.

    For $f:\mathbb R^n\to\mathbb R^m$ built from $N$ elementary operations with $E$ edges, forward
    mode costs $n$ sweeps ($nN$ primal and $nN$ tangent operations); reverse mode costs one sweep
    ($N$ primal operations) and $m$ backward sweeps (about $mE$ adjoint updates). Hence forward
    mode for few inputs, reverse mode (backpropagation) for few outputs — a scalar loss.

    Args:
      f: a function of ``len(xs)`` scalars returning a scalar or a tuple/list of scalars.
      xs: the point, a tuple or list of numbers.
      mode: ``"forward"`` or ``"reverse"``.

    Returns:
      An :class:`OpCounts`.

    Raises:
      TypeError: if ``f`` is not callable or ``xs`` is not a sequence of numbers.
      ValueError: if ``mode`` is not ``"forward"`` or ``"reverse"``.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (cost of forward and reverse mode).
    """
    return _jacobian(checks.public_name(count_ops), f, xs, mode)[3]


# ------------------------------------------------------------------------------ the graph


class Graph(NamedTuple):
    r"""A recorded computational graph, printable as a list of assignments or as Graphviz DOT.

    Attributes:
      names: one name per node (inputs first, then ``a1, a2, ...``).
      ops: the operation of each node (``"input"``, ``"add"``, ``"exp"``, ...).
      args: the arguments of each node: an ``int`` is another node, a ``float`` a constant.
      values: the value of each node at the traced point.
      outputs: the node index of each output (``None`` for a constant output).
    """

    names: tuple[str, ...]
    ops: tuple[str, ...]
    args: tuple[tuple, ...]
    values: tuple[float, ...]
    outputs: tuple[int | None, ...]

    def _arg(self, a) -> str:
        return self.names[a] if isinstance(a, int) else f"{a:g}"

    def expression(self, k: int) -> str:
        """The right-hand side of node ``k``, e.g. ``"x1 * x2"`` or ``"sin(a1)"``."""
        op, args = self.ops[k], self.args[k]
        if op == "input":
            return "input"
        if is_infix(op):
            return f"{self._arg(args[0])} {symbol(op)} {self._arg(args[1])}"
        if op == "neg":
            return f"-{self._arg(args[0])}"
        return f"{symbol(op)}({self._arg(args[0])})"

    def __str__(self) -> str:
        lines = []
        for k, name in enumerate(self.names):
            out = [i for i, o in enumerate(self.outputs) if o == k]
            tag = ("   <- output " + ", ".join(str(i) for i in out)) if out else ""
            lines.append(f"{name} = {self.expression(k)} = {self.values[k]:.6g}{tag}")
        return "\n".join(lines)

    def to_dot(self) -> str:
        """The graph in Graphviz DOT (inputs as boxes, edges from arguments to results)."""
        lines = ["digraph computational_graph {", "  rankdir=LR;"]
        for k, name in enumerate(self.names):
            shape = "box" if self.ops[k] == "input" else "ellipse"
            label = name if self.ops[k] == "input" else f"{name} = {self.expression(k)}"
            lines.append(f'  n{k} [label="{label}", shape={shape}];')
        for k, args in enumerate(self.args):
            for a in args:
                if isinstance(a, int):
                    lines.append(f"  n{a} -> n{k};")
        lines.append("}")
        return "\n".join(lines)


def trace(f: Callable[..., Any], xs: Sequence[float], *, names: Sequence[str] | None = None) -> Graph:
    r"""Record the computational graph of ``f`` at ``xs`` (one forward sweep on a tape).

    ``print(trace(C, (1.0, 2.0, 0.5), names=("θ1", "θ2", "θ3")))`` for the book's
    $C(\theta) = \sin(\theta_1\theta_2) + e^{\theta_2+\theta_3} - 2\theta_3$ lists
    ``a1 = θ1 * θ2``, ``a2 = θ2 + θ3``, ... with their values, one line per elementary operation.

    Args:
      f: a function of ``len(xs)`` scalars returning a scalar or a tuple/list of scalars.
      xs: the point, a tuple or list of numbers.
      names: names for the inputs (default ``x1, x2, ...``).

    Returns:
      A :class:`Graph`.

    Raises:
      TypeError: if ``f`` is not callable or ``xs`` is not a sequence of numbers.
      ValueError: if ``names`` does not have one distinct string per input.

    References:
      [MEDL] Ch. 4, Sec. 4.4 (computational graphs).
    """
    func = checks.public_name(trace)
    _check_f(func, f)
    xs = _check_xs(func, xs)
    if names is None:
        names = tuple(f"x{j + 1}" for j in range(len(xs)))
    else:
        names = tuple(names)
        if len(names) != len(xs) or len(set(names)) != len(names) or not all(isinstance(s, str) for s in names):
            checks.fail(func, "names", f"{len(xs)} distinct strings", names)
    tape, vars_, seq, _ = _record(f, xs, func)
    node_names, inner = [], 0
    for k, (op, _, _, _) in enumerate(tape.entries):
        if op == "input":
            node_names.append(names[k])
        else:
            inner += 1
            node_names.append(f"a{inner}")
    return Graph(
        names=tuple(node_names),
        ops=tuple(e[0] for e in tape.entries),
        args=tuple(e[1] for e in tape.entries),
        values=tuple(e[3] for e in tape.entries),
        outputs=tuple(o.index if isinstance(o, Var) else None for o in seq),
    )
