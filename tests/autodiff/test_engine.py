"""The teaching AD engine against hand derivatives and JAX (jax.grad, jax.jvp, jax.vjp), costs, graphs, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mathdl import autodiff as ad


def book_C(t1, t2, t3):
    """[MEDL] Sec. 4.4 example: C(θ) = sin(θ1θ2) + exp(θ2 + θ3) − 2θ3."""
    return ad.sin(t1 * t2) + ad.exp(t2 + t3) - 2 * t3


# ---------------------------------------------------------------- (1) worked values


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_book_example_by_hand(mode):
    """[MEDL] Sec. 4.4 graph: ∂C/∂θ1 = θ2 cos(θ1θ2), ∂C/∂θ2 = θ1 cos(θ1θ2) + e^{θ2+θ3}, ∂C/∂θ3 = e^{θ2+θ3} − 2."""
    t1, t2, t3 = 1.0, 2.0, 0.5
    value, g = ad.value_and_grad(book_C, (t1, t2, t3), mode=mode)
    assert value == pytest.approx(math.sin(2.0) + math.exp(2.5) - 1.0, rel=1e-15)
    expect = (t2 * math.cos(t1 * t2), t1 * math.cos(t1 * t2) + math.exp(t2 + t3), math.exp(t2 + t3) - 2)
    np.testing.assert_allclose(g, expect, rtol=1e-15)


def test_small_worked_values():
    """By hand: d/dx x³ at 2 = 12; d/dx (1/x) at 4 = −1/16; d/dx 2^x at 3 = 8 log 2; σ'(0) = 1/4; tanh'(0) = 1;
    d/dx sqrt(x) at 4 = 1/4; d/dx log x at e = 1/e; d/dx cos x at π/2 = −1."""
    for mode in ("forward", "reverse"):
        assert ad.grad(lambda x: x**3, (2.0,), mode=mode) == (12.0,)
        assert ad.grad(lambda x: 1 / x, (4.0,), mode=mode) == (-1 / 16,)
        assert ad.grad(lambda x: 2**x, (3.0,), mode=mode)[0] == pytest.approx(8 * math.log(2), rel=1e-15)
        assert ad.grad(ad.sigmoid, (0.0,), mode=mode) == (0.25,)
        assert ad.grad(ad.tanh, (0.0,), mode=mode) == (1.0,)
        assert ad.grad(ad.sqrt, (4.0,), mode=mode) == (0.25,)
        assert ad.grad(ad.log, (math.e,), mode=mode)[0] == pytest.approx(1 / math.e, rel=1e-15)
        assert ad.grad(ad.cos, (math.pi / 2,), mode=mode) == (-1.0,)
        assert ad.grad(lambda x, y: -x * y, (3.0, 5.0), mode=mode) == (-5.0, -3.0)


def test_trace_prints_the_book_graph():
    """The printed graph of the book's C lists one elementary operation per line, with values."""
    g = ad.trace(book_C, (1.0, 2.0, 0.5), names=("θ1", "θ2", "θ3"))
    assert str(g).splitlines() == [
        "θ1 = input = 1",
        "θ2 = input = 2",
        "θ3 = input = 0.5",
        "a1 = θ1 * θ2 = 2",
        "a2 = sin(a1) = 0.909297",
        "a3 = θ2 + θ3 = 2.5",
        "a4 = exp(a3) = 12.1825",
        "a5 = a2 + a4 = 13.0918",
        "a6 = 2 * θ3 = 1",
        "a7 = a5 - a6 = 12.0918   <- output 0",
    ]
    dot = g.to_dot()
    assert dot.startswith("digraph") and dot.count("->") == 11 and 'label="a2 = sin(a1)"' in dot
    assert g.outputs == (9,) and len(g.names) == 10


# ---------------------------------------------------------------- (2) oracle: random compositions against JAX


class _JaxOps:
    """The same elementary operations in jax.numpy (the oracle namespace)."""

    exp, log, sin, cos, tanh, sqrt = jnp.exp, jnp.log, jnp.sin, jnp.cos, jnp.tanh, jnp.sqrt
    sigmoid = staticmethod(jax.nn.sigmoid)


def _expr(max_leaves=12):
    """Hypothesis strategy for expression trees over inputs x0..x3, kept inside the functions' domains."""
    leaf = st.one_of(
        st.tuples(st.just("x"), st.integers(0, 3)),
        st.tuples(st.just("c"), st.floats(-2, 2, allow_nan=False).map(lambda c: round(c, 3))),
    )
    unary = st.sampled_from(["neg", "exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt"])
    binary = st.sampled_from(["add", "sub", "mul", "div", "pow", "powc"])
    return st.recursive(
        leaf,
        lambda kids: st.one_of(st.tuples(unary, kids), st.tuples(binary, kids, kids)),
        max_leaves=max_leaves,
    )


def _evaluate(tree, xs, ops):
    """Evaluate a tree; log/sqrt/div/pow act on positive arguments (1 + u²) so every node is defined."""
    kind = tree[0]
    if kind == "x":
        return xs[tree[1]]
    if kind == "c":
        return tree[1]
    a = _evaluate(tree[1], xs, ops)
    if kind == "neg":
        return -a
    if kind == "exp":
        return ops.exp(ops.tanh(a))  # bounded exponent: nested exps stay finite
    if kind in ("log", "sqrt"):
        return getattr(ops, kind)(1 + a * a)
    if kind in ("sin", "cos", "tanh", "sigmoid"):
        return getattr(ops, kind)(a)
    b = _evaluate(tree[2], xs, ops)
    if kind == "add":
        return a + b
    if kind == "sub":
        return a - b
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / (1 + b * b)
    if kind == "pow":  # variable base and exponent
        return (1 + a * a) ** ops.tanh(b)
    if kind == "powc":  # variable base, constant-ish exponent through Python's ** on a leaf
        return (1 + a * a) ** 1.5 - b
    raise KeyError(kind)


def _close(ours, theirs):
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    scale = max(1.0, float(np.max(np.abs(theirs))))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * scale)


POINT = st.tuples(*[st.floats(-2, 2, allow_nan=False, allow_subnormal=False)] * 4)


@settings(max_examples=60)
@given(_expr(), POINT)
def test_grad_equals_jax_grad_on_random_compositions(tree, xs):
    """Oracle (issue 4 check): both modes equal jax.grad to 1e-12 in float64 on random expression trees."""
    f_ours = lambda *v: _evaluate(tree, v, ad)
    f_jax = lambda *v: _evaluate(tree, v, _JaxOps)
    xj = tuple(jnp.float64(x) for x in xs)
    value = float(f_jax(*xj))
    assume(math.isfinite(value) and abs(value) < 1e8)
    expect = jax.grad(f_jax, argnums=(0, 1, 2, 3))(*xj)
    assume(all(math.isfinite(float(e)) for e in expect))
    for mode in ("forward", "reverse"):
        v, g = ad.value_and_grad(f_ours, xs, mode=mode)
        _close(v, value)
        _close(g, [float(e) for e in expect])


@pytest.mark.slow  # second-order check_grads / many compositions: ~10-60 s on a loaded 2-core box
@settings(max_examples=30)
@given(_expr(8), _expr(8), POINT, POINT)
def test_jvp_vjp_jacobian_equal_jax(t1, t2, xs, direction):
    """Oracle: jvp == jax.jvp, vjp == jax.vjp, and both Jacobian modes == jax.jacfwd for f: R⁴ → R²."""
    f_ours = lambda *v: (_evaluate(t1, v, ad), _evaluate(t2, v, ad))
    f_jax = lambda x: jnp.stack([_evaluate(t1, x, _JaxOps), _evaluate(t2, x, _JaxOps)])
    x = jnp.asarray(xs, dtype=jnp.float64)
    out, tangent = jax.jvp(f_jax, (x,), (jnp.asarray(direction, dtype=jnp.float64),))
    assume(bool(jnp.all(jnp.isfinite(out))) and float(jnp.max(jnp.abs(out))) < 1e8)
    J = jax.jacfwd(f_jax)(x)
    assume(bool(jnp.all(jnp.isfinite(J))))
    values, tans = ad.jvp(f_ours, xs, direction)
    _close(values, out)
    _close(tans, tangent)
    u = (0.7, -1.3)
    _, pullback = jax.vjp(f_jax, x)
    (expect_ct,) = pullback(jnp.asarray(u))
    _close(ad.vjp(f_ours, xs, u)[1], expect_ct)
    _close(ad.jacobian(f_ours, xs, mode="forward"), J)
    _close(ad.jacobian(f_ours, xs, mode="reverse"), J)


# ---------------------------------------------------------------- (3) transforms: the two modes agree and are linear


@settings(max_examples=20)
@given(_expr(8), POINT, POINT, st.floats(-3, 3))
def test_jvp_is_linear_and_matches_jacobian(tree, xs, v, c):
    """JVP(c·v) = c·JVP(v) and JVP(v) = J v; VJP(u) = uᵀJ (the two modes are transposes of one linear map)."""
    f = lambda *a: _evaluate(tree, a, ad)
    J = np.asarray(ad.jacobian(f, xs, mode="reverse"))
    assume(np.all(np.isfinite(J)) and np.max(np.abs(J)) < 1e8)
    _, t = ad.jvp(f, xs, v)
    _, tc = ad.jvp(f, xs, tuple(c * vi for vi in v))
    _close(tc, c * t)
    _close(t, float(J[0] @ np.asarray(v)))
    _close(ad.vjp(f, xs, c)[1], c * J[0])


# ---------------------------------------------------------------- (4) properties: cost of the two modes


def _sum_of_products(*x):
    """f: R^n → R, f = Σ_i x_i x_{i+1}: 2n − 1 elementary operations."""
    total = x[0] * x[1]
    for i in range(1, len(x) - 1):
        total = total + x[i] * x[i + 1]
    return total


def _fan_out(m):
    """f: R² → R^m, f_i = (i + 1) · sin(x1 x2): one shared product, then 2 operations per output."""

    def f(a, b):
        s = ad.sin(a * b)
        return tuple((i + 1) * s for i in range(m))

    return f


def test_forward_cost_grows_with_inputs_reverse_with_outputs():
    """[MEDL] Sec. 4.4: forward mode runs one sweep per input (cost ∝ n); reverse mode one backward sweep per output
    (cost ∝ m), independent of n. Checked on Σ x_i x_{i+1} (n inputs, 1 output) and a fan-out (2 inputs, m outputs)."""
    fwd, rev = [], []
    for n in (2, 4, 8, 16):
        xs = tuple(float(i) for i in range(n))
        cf = ad.count_ops(_sum_of_products, xs, mode="forward")
        cr = ad.count_ops(_sum_of_products, xs, mode="reverse")
        N = 2 * n - 3  # elementary operations in one evaluation
        assert (cf.forward_sweeps, cf.backward_sweeps, cf.primal_ops, cf.derivative_ops) == (n, 0, n * N, n * N)
        assert (cr.forward_sweeps, cr.backward_sweeps, cr.primal_ops) == (1, 1, N)
        fwd.append(cf.derivative_ops)
        rev.append(cr.derivative_ops)
    assert fwd == sorted(fwd) and fwd[-1] / fwd[0] > 30  # ~n²: n sweeps of a graph that also grows with n
    assert all(r == 2 * N for r, N in zip(rev, [2 * n - 3 for n in (2, 4, 8, 16)], strict=True))  # one edge pass
    for m in (1, 2, 4, 8):
        cf = ad.count_ops(_fan_out(m), (0.3, 0.4), mode="forward")
        cr = ad.count_ops(_fan_out(m), (0.3, 0.4), mode="reverse")
        assert cf.forward_sweeps == 2 and cf.backward_sweeps == 0
        assert cr.forward_sweeps == 1 and cr.backward_sweeps == m  # one backward pass per output
        assert cr.derivative_ops == 4 * m  # per output sweep: its edge to s, s -> product, product -> (x1, x2)
    assert ad.count_ops(_fan_out(8), (0.3, 0.4), mode="forward").primal_ops == 2 * (2 + 8)


def test_reverse_one_backward_pass_per_output(monkeypatch):
    """Reverse mode calls Tape.backward exactly once per output for the Jacobian, and once for a gradient."""
    calls = []
    original = ad.Tape.backward

    def spy(self, output, seed=1.0):
        calls.append(seed)
        return original(self, output, seed)

    monkeypatch.setattr(ad.Tape, "backward", spy)
    ad.jacobian(_fan_out(5), (0.3, 0.4), mode="reverse")
    assert len(calls) == 5
    calls.clear()
    ad.grad(book_C, (1.0, 2.0, 0.5))
    assert len(calls) == 1
    calls.clear()
    ad.jacobian(_fan_out(5), (0.3, 0.4), mode="forward")
    assert calls == []


# ---------------------------------------------------------------- bad and edge inputs


def test_ieee_value_semantics():
    """Edge (module docstring): log 0 = −inf with derivative +inf; log(−1), sqrt(−1), 0/0, (−8)^(1/3) are NaN;
    1/0 = inf; exp(1000) = inf; sigmoid(±1000) = 1, 0 without overflow; nothing raises."""
    assert ad.log(0.0) == -math.inf and math.isnan(ad.log(-1.0)) and math.isnan(ad.sqrt(-1.0))
    assert ad.grad(ad.log, (0.0,), mode="forward") == (math.inf,)
    assert ad.grad(ad.log, (0.0,), mode="reverse") == (math.inf,)
    assert (ad.Dual(1.0) / 0.0).value == math.inf
    assert math.isnan(ad.grad(lambda x: x / x, (0.0,))[0])
    assert math.isnan(ad.grad(lambda x: x ** (1 / 3), (-8.0,))[0])
    assert ad.exp(1000.0) == math.inf and ad.sigmoid(1000.0) == 1.0 and ad.sigmoid(-1000.0) == 0.0
    assert math.isnan(ad.sin(math.inf))
    # numbers in, numbers out (no graph): the functions work on plain floats and ints
    assert ad.exp(0) == 1.0 and ad.cos(0.0) == 1.0 and ad.tanh(0) == 0.0


ELEMENTARY = [ad.exp, ad.log, ad.sin, ad.cos, ad.tanh, ad.sigmoid, ad.sqrt]


@pytest.mark.parametrize("fn", ELEMENTARY, ids=lambda f: f.__name__)
def test_elementary_bad_types(fn):
    """Bad input: str, None, bool, complex, list and a JAX array raise TypeError naming the operation."""
    head = rf"^autodiff.{fn.__name__}: argument `x` expected a float, int, Dual or Var, got "
    for bad, shown in [("a", "str"), (None, "NoneType"), (True, "bool"), (1j, "complex"), ([1.0], "list")]:
        with pytest.raises(TypeError, match=head + rf"'?{shown}'?\.$"):
            fn(bad)
    with pytest.raises(TypeError, match=head):
        fn(jnp.float64(1.0))


def test_operator_bad_types_and_mixed_modes():
    """Bad input: Dual + str, Var * None, 2 ** list raise TypeError naming the operator; mixing forward (Dual)
    and reverse (Var) values raises; two tapes cannot be mixed."""
    with pytest.raises(TypeError, match=r"^autodiff.add: argument `y` expected a float, int, Dual or Var, got '?str"):
        ad.Dual(1.0) + "a"
    with pytest.raises(TypeError, match=r"^autodiff.mul: argument `y` expected a float, int, Dual or Var, got "):
        ad.grad(lambda x: x * None, (1.0,))
    with pytest.raises(TypeError, match=r"^autodiff.pow: argument `y` expected a float, int, Dual or Var, got "):
        ad.grad(lambda x: x ** [2], (1.0,), mode="forward")
    tape = ad.Tape()
    with pytest.raises(ValueError, match=r"^autodiff.sub: argument `y` expected the same mode as `x`"):
        ad.Dual(1.0, 1.0) - tape.input(2.0)
    other = ad.Tape()
    with pytest.raises(ValueError, match=r"^autodiff.div: argument `x` expected variables from one tape"):
        tape.input(1.0) / other.input(2.0)


API = [
    ("grad", lambda f, xs, **kw: ad.grad(f, xs, **kw)),
    ("value_and_grad", lambda f, xs, **kw: ad.value_and_grad(f, xs, **kw)),
    ("jacobian", lambda f, xs, **kw: ad.jacobian(f, xs, **kw)),
    ("count_ops", lambda f, xs, **kw: ad.count_ops(f, xs, **kw)),
    ("trace", lambda f, xs, **kw: ad.trace(f, xs)),
    ("jvp", lambda f, xs, **kw: ad.jvp(f, xs, tuple(1.0 for _ in xs) if isinstance(xs, tuple) else (1.0,))),
    ("vjp", lambda f, xs, **kw: ad.vjp(f, xs, 1.0)),
]


@pytest.mark.parametrize(("name", "call"), API, ids=[n for n, _ in API])
def test_api_bad_inputs(name, call):
    """Bad input for every entry point: f not callable; xs a bare number, containing a str or a bool, or empty;
    f returning a str."""
    q = f"autodiff.{name}"
    with pytest.raises(TypeError, match=rf"^{q}: argument `f` expected a callable taking scalars, got '?int'?\.$"):
        call(3, (1.0,))
    with pytest.raises(TypeError, match=rf"^{q}: argument `xs` expected a tuple or list of numbers, e.g. \(x,\), got "):
        call(ad.exp, 1.0)
    with pytest.raises(TypeError, match=rf"^{q}: argument `xs\[1\]` expected a float or int, got '?str'?\.$"):
        call(lambda a, b: a * b, (1.0, "2"))
    with pytest.raises(TypeError, match=rf"^{q}: argument `xs\[0\]` expected a float or int, got '?bool'?\.$"):
        call(ad.exp, (True,))
    with pytest.raises(ValueError, match=rf"^{q}: argument `xs` expected at least one input, got "):
        call(lambda: 1.0, ())
    with pytest.raises(TypeError, match=rf"^{q}: argument `f\(\*xs\)` expected a scalar \(float, Dual or Var\), got "):
        call(lambda x: "x", (1.0,))


@pytest.mark.parametrize("fn", [ad.grad, ad.value_and_grad, ad.jacobian, ad.count_ops])
def test_bad_mode(fn):
    """Bad configuration: mode must be 'forward' or 'reverse'."""
    q = f"autodiff.{fn.__name__}"
    with pytest.raises(ValueError, match=rf"^{q}: argument `mode` expected one of \['forward', 'reverse'\], got 'fwd'"):
        fn(ad.exp, (1.0,), mode="fwd")


def test_shape_mismatches_and_constant_outputs():
    """Bad input: grad of a two-output f; jvp tangents of the wrong length; vjp cotangents of the wrong length or
    type; trace names of the wrong length. Edge: a constant f has zero gradient in both modes."""
    with pytest.raises(TypeError, match=r"^autodiff.grad: argument `f` expected a function returning one scalar"):
        ad.grad(lambda x: (x, x), (1.0,))
    with pytest.raises(
        ValueError, match=r"^autodiff.jvp: argument `tangents` expected length 2 \(that of `xs`\), got 1"
    ):
        ad.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match=r"^autodiff.vjp: argument `cotangents` expected length 2 \(the number of"):
        ad.vjp(lambda a: (a, a), (1.0,), (1.0,))
    with pytest.raises(TypeError, match=r"^autodiff.vjp: argument `cotangents` expected a number \(f returns a scalar"):
        ad.vjp(lambda a: a, (1.0,), (1.0,))
    with pytest.raises(ValueError, match=r"^autodiff.trace: argument `names` expected 2 distinct strings, got "):
        ad.trace(lambda a, b: a * b, (1.0, 2.0), names=("a", "a"))
    for mode in ("forward", "reverse"):
        assert ad.grad(lambda a, b: 3.0, (1.0, 2.0), mode=mode) == (0.0, 0.0)
        assert ad.grad(lambda a, b: a, (1.0, 2.0), mode=mode) == (1.0, 0.0)
    assert ad.trace(lambda a: 2.0, (1.0,)).outputs == (None,)
