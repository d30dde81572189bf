"""Elementwise activations and their derivatives: worked values, oracles, transforms, properties, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import activations as A
from tests._oracles import need
from tests._tolerances import tol

# name -> (function, derivative, keyword arguments)
ACTS = {
    "step": (A.step, A.d_step, {}),
    "sigmoid": (A.sigmoid, A.d_sigmoid, {}),
    "tanh": (A.tanh, A.d_tanh, {}),
    "scaled_sigmoid": (A.scaled_sigmoid, A.d_scaled_sigmoid, {}),
    "relu": (A.relu, A.d_relu, {}),
    "leaky_relu": (A.leaky_relu, A.d_leaky_relu, {"slope": 0.1}),
    "elu": (A.elu, A.d_elu, {"alpha": 1.5}),
    "gelu": (A.gelu, A.d_gelu, {}),
    "gelu_tanh": (A.gelu, A.d_gelu, {"approximate": True}),
    "swish": (A.swish, A.d_swish, {"beta": 2.0}),
    "silu": (A.silu, A.d_silu, {}),
    "softplus": (A.softplus, A.d_softplus, {}),
}
NAMES = list(ACTS)
SMOOTH = [n for n in NAMES if n != "step"]


def _np_oracle(name: str, u: np.ndarray) -> np.ndarray:
    """Independent NumPy/SciPy formulas (no mathdl code)."""
    if name == "step":
        return np.where(u >= 0, 1.0, -1.0)
    if name == "sigmoid":
        return sp.expit(u)
    if name == "tanh":
        return np.tanh(u)
    if name == "scaled_sigmoid":
        return 2 * sp.expit(u) - 1
    if name == "relu":
        return np.maximum(u, 0)
    if name == "leaky_relu":
        return np.where(u > 0, u, 0.1 * u)
    if name == "elu":
        return np.where(u > 0, u, 1.5 * np.expm1(np.minimum(u, 0)))
    if name == "gelu":
        return u * sp.ndtr(u)
    if name == "gelu_tanh":
        return 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u**3)))
    if name == "swish":
        return u * sp.expit(2.0 * u)
    if name == "silu":
        return u * sp.expit(u)
    if name == "softplus":
        return np.logaddexp(0.0, u)
    raise KeyError(name)


GRID = np.linspace(-6.0, 6.0, 49)  # includes 0, the kink of relu / leaky / elu / step


# ---------------------------------------------------------------- (1) worked values


def test_worked_values():
    """Hand values: σ(log 3) = 3/4, tanh(log 2) = 3/5, softplus(log 3) = log 4, elu(−log 2) = −α/2,
    GELU(1) = Φ(1), SiLU(log 3) = ¾ log 3, step(0) = +1 ([MEDL] Sec. 5.3 and Ch. 3)."""
    l3, l2 = math.log(3.0), math.log(2.0)
    assert A.sigmoid(l3) == pytest.approx(0.75, rel=1e-15)
    assert A.d_sigmoid(l3) == pytest.approx(3 / 16, rel=1e-15)
    assert A.tanh(l2) == pytest.approx(0.6, rel=1e-15)
    assert A.d_tanh(l2) == pytest.approx(16 / 25, rel=1e-15)
    assert A.scaled_sigmoid(l3) == pytest.approx(0.5, rel=1e-15)
    assert A.d_scaled_sigmoid(l3) == pytest.approx(3 / 8, rel=1e-15)
    assert A.softplus(l3) == pytest.approx(math.log(4.0), rel=1e-15)
    assert A.d_softplus(l3) == pytest.approx(0.75, rel=1e-15)
    assert A.elu(-l2, alpha=1.5) == pytest.approx(-0.75, rel=1e-15)
    assert A.d_elu(-l2, alpha=1.5) == pytest.approx(0.75, rel=1e-15)
    assert A.gelu(1.0) == pytest.approx(0.8413447460685429, rel=1e-14)  # Φ(1) from tables
    assert A.d_gelu(0.0) == pytest.approx(0.5, rel=1e-15)
    assert A.silu(l3) == pytest.approx(0.75 * l3, rel=1e-15)
    assert A.swish(l3 / 2, beta=2.0) == pytest.approx(0.75 * l3 / 2, rel=1e-15)
    assert A.leaky_relu(-2.0, slope=0.1) == pytest.approx(-0.2, rel=1e-15)
    assert A.relu(-2.0) == 0.0 and A.relu(3.0) == 3.0
    assert A.step(-0.3) == -1.0 and A.step(0.0) == 1.0 and A.step(2.0) == 1.0


def test_kink_conventions():
    """Pinned conventions at u = 0 (module docstring): relu'(0) = 0, leaky'(0) = slope, elu'(0) = α,
    step(0) = +1, step' = 0; and jax.grad agrees with each derivative there."""
    assert A.d_relu(0.0) == 0.0
    assert A.d_leaky_relu(0.0, slope=0.1) == pytest.approx(0.1)
    assert A.d_elu(0.0, alpha=1.5) == pytest.approx(1.5)
    assert A.step(0.0) == 1.0 and A.d_step(0.0) == 0.0
    assert jax.grad(A.relu)(0.0) == 0.0
    assert jax.grad(lambda u: A.leaky_relu(u, slope=0.1))(0.0) == pytest.approx(0.1)
    assert jax.grad(lambda u: A.elu(u, alpha=1.5))(0.0) == pytest.approx(1.5)
    assert jax.grad(A.sigmoid)(0.0) == pytest.approx(0.25)  # not 0: the stable form avoids abs'(0)
    assert jax.grad(A.softplus)(0.0) == pytest.approx(0.5)


# ---------------------------------------------------------------- (2) oracles


@pytest.mark.parametrize("name", NAMES)
def test_against_numpy_scipy(name):
    """Oracle: scipy.special.expit / ndtr, numpy tanh / logaddexp / expm1 formulas, on a grid in float64."""
    f, _, kw = ACTS[name]
    np.testing.assert_allclose(np.asarray(f(jnp.asarray(GRID), **kw)), _np_oracle(name, GRID), **tol(np.float64))


@pytest.mark.parametrize("name", SMOOTH)
def test_against_torch(name):
    """Oracle: torch.nn.functional on CPU in float64 (values and autograd derivatives)."""
    torch = need("torch")
    F = torch.nn.functional
    torch_fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "scaled_sigmoid": lambda t: 2 * torch.sigmoid(t) - 1,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
        "elu": lambda t: F.elu(t, 1.5),
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        "swish": lambda t: t * torch.sigmoid(2.0 * t),
        "silu": F.silu,
        "softplus": lambda t: F.softplus(t, threshold=1000),
    }
    f, df, kw = ACTS[name]
    t = torch.tensor(GRID, dtype=torch.float64, requires_grad=True)
    out = torch_fns[name](t)
    (g,) = torch.autograd.grad(out.sum(), t)
    np.testing.assert_allclose(np.asarray(f(jnp.asarray(GRID), **kw)), out.detach().numpy(), **tol(np.float64))
    # torch's own derivative conventions at 0 agree with ours (relu'(0)=0, leaky'(0)=slope, elu'(0)=α).
    np.testing.assert_allclose(np.asarray(df(jnp.asarray(GRID), **kw)), g.numpy(), **tol(np.float64))


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (A.relu, jax.nn.relu),
        (lambda u: A.elu(u, alpha=1.5), lambda u: jax.nn.elu(u, alpha=1.5)),
        (A.gelu, lambda u: jax.nn.gelu(u, approximate=False)),
        (lambda u: A.gelu(u, approximate=True), lambda u: jax.nn.gelu(u, approximate=True)),
        (A.silu, jax.nn.silu),
        (A.softplus, jax.nn.softplus),
        (A.sigmoid, jax.nn.sigmoid),
    ],
)
def test_against_jax_nn(ours, theirs):
    """Oracle: jax.nn (a separate implementation, lax primitives) on the grid in float64."""
    x = jnp.asarray(GRID)
    np.testing.assert_allclose(ours(x), theirs(x), **tol(np.float64))


# ---------------------------------------------------------------- (3) transforms


@pytest.mark.parametrize("name", NAMES)
def test_derivative_equals_jax_grad(name):
    """σ̇ written by hand equals jax.vmap(jax.grad(σ)) on the grid, kinks included ([MEDL] Sec. 5.4 uses σ̇)."""
    f, df, kw = ACTS[name]
    x = jnp.asarray(GRID)
    auto = jax.vmap(jax.grad(lambda u: f(u, **kw)))(x)
    np.testing.assert_allclose(df(x, **kw), auto, **tol(np.float64, composite=True))


@pytest.mark.parametrize("name", NAMES)
def test_jit_equals_eager_and_vmap_equals_loop(name, transform):
    """jit == eager and vmap == a Python loop over examples (the transform kind of test)."""
    f, df, kw = ACTS[name]
    x = jnp.asarray(GRID[::8])
    fk = transform(lambda u: f(u, **kw))
    dk = transform(lambda u: df(u, **kw))
    loop = np.array([float(f(xi, **kw)) for xi in x])
    np.testing.assert_allclose(fk(x), loop, **tol(np.float64))
    np.testing.assert_allclose(jax.vmap(fk)(x), loop, **tol(np.float64))
    np.testing.assert_allclose(jax.vmap(dk)(x), [float(df(xi, **kw)) for xi in x], **tol(np.float64))


@pytest.mark.slow  # second-order check_grads / many compositions: ~10-60 s on a loaded 2-core box
@pytest.mark.parametrize("name", SMOOTH)
def test_check_grads_order2(name):
    """jax.test_util.check_grads to order 2 in float64, at points away from kinks."""
    f, df, kw = ACTS[name]
    x = jnp.array([-2.3, -0.7, 0.4, 1.9])
    check_grads(lambda u: f(u, **kw), (x,), order=2, modes=["fwd", "rev"])
    check_grads(lambda u: df(u, **kw), (x,), order=1, modes=["fwd", "rev"])


# ---------------------------------------------------------------- (4) properties

reals = st.floats(-30, 30, allow_nan=False, allow_subnormal=False)  # XLA on CPU flushes subnormals


@given(reals)
def test_sigmoid_symmetry_and_tanh_identity(u):
    """σ(−u) = 1 − σ(u); tanh(u) = 2σ(2u) − 1; scaled sigmoid = tanh(u/2); σ̇ = σ(1 − σ) ≤ 1/4."""
    np.testing.assert_allclose(A.sigmoid(-u), 1 - A.sigmoid(u), atol=1e-15)
    np.testing.assert_allclose(A.tanh(u), 2 * A.sigmoid(2 * u) - 1, atol=1e-15)
    np.testing.assert_allclose(A.scaled_sigmoid(u), np.tanh(u / 2), atol=1e-15)
    assert 0 <= A.d_sigmoid(u) <= 0.25


@given(reals)
def test_odd_part_identities(u):
    """softplus(u) − softplus(−u) = u and relu(u) − relu(−u) = u; silu = swish(β=1); softplus' = σ."""
    np.testing.assert_allclose(A.softplus(u) - A.softplus(-u), u, atol=1e-13)
    np.testing.assert_allclose(A.relu(u) - A.relu(-u), u, atol=0)
    np.testing.assert_allclose(A.silu(u), A.swish(u, beta=1.0), atol=0)
    np.testing.assert_allclose(A.d_softplus(u), A.sigmoid(u), atol=0)


@settings(max_examples=10)
@given(st.lists(reals, min_size=6, max_size=6))  # one size: every example reuses the compiled kernels
def test_monotone(us):
    """sigmoid, tanh, relu, leaky relu, elu, softplus are non-decreasing: sorted inputs give sorted outputs."""
    x = jnp.sort(jnp.asarray(us))
    for f in (A.sigmoid, A.tanh, A.relu, A.softplus, A.elu, lambda u: A.leaky_relu(u, slope=0.1)):
        assert bool(jnp.all(jnp.diff(f(x)) >= 0))


# ---------------------------------------------------------------- bad and edge inputs

LIMITS = {  # (f(-inf), f(+inf), f'(-inf), f'(+inf))
    "step": (-1, 1, 0, 0),
    "sigmoid": (0, 1, 0, 0),
    "tanh": (-1, 1, 0, 0),
    "scaled_sigmoid": (-1, 1, 0, 0),
    "relu": (0, np.inf, 0, 1),
    "leaky_relu": (-np.inf, np.inf, 0.1, 1),
    "elu": (-1.5, np.inf, 0, 1),
    "gelu": (0, np.inf, 0, 1),
    "gelu_tanh": (0, np.inf, 0, 1),
    "swish": (0, np.inf, 0, 1),
    "silu": (0, np.inf, 0, 1),
    "softplus": (0, np.inf, 0, 1),
}


@pytest.mark.parametrize("name", NAMES)
def test_infinities_give_limits_and_nan_stays_nan(name):
    """Edge: ±inf give the limits (never inf·0 = NaN), ±1e300 do not overflow, NaN propagates."""
    f, df, kw = ACTS[name]
    lo, hi, dlo, dhi = LIMITS[name]
    x = jnp.array([-jnp.inf, jnp.inf, jnp.nan])
    np.testing.assert_array_equal(f(x, **kw), [lo, hi, np.nan])
    np.testing.assert_array_equal(df(x, **kw), [dlo, dhi, np.nan])
    big = jnp.array([-1e300, 1e300])
    assert bool(jnp.all(~jnp.isnan(f(big, **kw)))) and bool(jnp.all(jnp.isfinite(df(big, **kw))))


@pytest.mark.parametrize("name", NAMES)
def test_dtype_and_shape_preserved(name):
    """Edge: float32 stays float32 (no promotion to float64), shapes kept, empty arrays stay empty."""
    f, df, kw = ACTS[name]
    x = jnp.ones((2, 3), jnp.float32)
    assert f(x, **kw).dtype == jnp.float32 and df(x, **kw).dtype == jnp.float32
    assert f(x, **kw).shape == (2, 3)
    assert f(jnp.zeros((0,)), **kw).shape == (0,)
    assert f(jnp.asarray(1.0, jnp.bfloat16), **kw).dtype == jnp.bfloat16


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", [0, 1], ids=["f", "df"])
def test_non_floating_input_raises(name, which):
    """Bad input: integer arrays, Python ints/bools and strings raise TypeError naming function and argument."""
    fn = ACTS[name][which]
    kw = ACTS[name][2]
    head = rf"^activations.{fn.__name__}: argument `u` expected a floating-point array, got "
    # The optional quotes: checks.fail currently repr()s the descriptive "got" string (reported to the lead).
    with pytest.raises(TypeError, match=head + r"'?dtype int64'?\.$"):
        fn(jnp.array([1, 2]), **kw)
    with pytest.raises(TypeError, match=head + r"'?dtype int64'?\.$"):
        fn(3, **kw)
    with pytest.raises(TypeError, match=head + r"'?bool'?\.$"):
        fn(True, **kw)
    with pytest.raises(TypeError, match=head + r"'?str'?\.$"):
        fn("a", **kw)


@pytest.mark.parametrize("fn", [A.leaky_relu, A.d_leaky_relu])
def test_bad_slope(fn):
    """Bad hyperparameter: negative, inf or non-numeric slope raise with the value named; 0 is ReLU."""
    q = f"activations.{fn.__name__}"
    with pytest.raises(ValueError, match=rf"^{q}: argument `slope` expected a value >= 0, got -0.1\.$"):
        fn(1.0, slope=-0.1)
    with pytest.raises(ValueError, match=rf"^{q}: argument `slope` expected a finite value, got inf\.$"):
        fn(1.0, slope=math.inf)
    with pytest.raises(TypeError, match=rf"^{q}: argument `slope` expected a real number, got '?str'?\.$"):
        fn(1.0, slope="0.1")
    x = jnp.asarray(GRID)
    plain = A.relu(x) if fn is A.leaky_relu else A.d_relu(x)
    np.testing.assert_array_equal(fn(x, slope=0.0), plain)


@pytest.mark.parametrize(("fn", "arg"), [(A.elu, "alpha"), (A.d_elu, "alpha"), (A.swish, "beta"), (A.d_swish, "beta")])
def test_bad_positive_hyperparameters(fn, arg):
    """Bad hyperparameter: alpha / beta must be > 0 and finite; NaN and bool are refused."""
    q = f"activations.{fn.__name__}"
    with pytest.raises(ValueError, match=rf"^{q}: argument `{arg}` expected a value > 0, got 0\.0\.$"):
        fn(1.0, **{arg: 0.0})
    with pytest.raises(ValueError, match=rf"^{q}: argument `{arg}` expected a value > 0, got -1\.$"):
        fn(1.0, **{arg: -1})
    with pytest.raises(ValueError, match=rf"^{q}: argument `{arg}` expected a finite value, got nan\.$"):
        fn(1.0, **{arg: math.nan})
    with pytest.raises(TypeError, match=rf"^{q}: argument `{arg}` expected a real number, got '?bool'?\.$"):
        fn(1.0, **{arg: True})


@pytest.mark.parametrize("fn", [A.gelu, A.d_gelu])
def test_bad_approximate(fn):
    """Bad configuration: `approximate` must be a bool ('tanh' is PyTorch's spelling, not ours)."""
    q = f"activations.{fn.__name__}"
    with pytest.raises(TypeError, match=rf"^{q}: argument `approximate` expected a bool, got 'tanh'\.$"):
        fn(1.0, approximate="tanh")
    with pytest.raises(TypeError, match=rf"^{q}: argument `approximate` expected a bool, got 1\.$"):
        fn(1.0, approximate=1)


@pytest.mark.parametrize(
    ("fn", "kw"),
    [(A.gelu, {}), (A.gelu, {"approximate": True}), (A.silu, {}), (A.swish, {"beta": 2.0}), (A.swish, {"beta": 1e-3})],
    ids=["gelu", "gelu_tanh", "silu", "swish2", "swish_small_beta"],
)
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.float32, jnp.float64])
def test_limits_at_infinity_and_their_gradients(fn, kw, dtype, transform):
    """u·gate(u) activations: the value tends to u (+inf) and 0 (-inf), the derivative to 1 and 0, also for huge
    finite |u| (where u**2 or u**3 would overflow) and in float16; jax.grad gives the limits, never NaN; NaN stays
    NaN."""
    u = jnp.array([jnp.inf, -jnp.inf, 6e4, -6e4, jnp.nan], dtype)
    y = transform(lambda v: fn(v, **kw))(u)
    g = transform(jax.vmap(jax.grad(lambda v: fn(v, **kw))))(u)
    np.testing.assert_array_equal(np.asarray(y[:2], np.float64), [np.inf, 0.0])  # the limits themselves
    np.testing.assert_array_equal(np.asarray(g[:2], np.float64), [1.0, 0.0])
    # At |u| = 6e4 the gate is 1 or 0 up to e^(-60) (swish with beta = 1e-3), far below any dtype's resolution of u.
    np.testing.assert_allclose(np.asarray(y[2:4], np.float64), [6e4, 0.0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g[2:4], np.float64), [1.0, 0.0], atol=1e-12)
    assert np.isnan(y[4]) and np.isnan(g[4])
    assert y.dtype == dtype and g.dtype == dtype


def test_lists_are_accepted():
    """A Python list is an array-like: relu([-1, 2]) = [0, 2] (worked value)."""
    np.testing.assert_array_equal(A.relu([-1.0, 2.0]), [0.0, 2.0])
    np.testing.assert_array_equal(A.leaky_relu([-1.0, 2.0], slope=0.5), [-0.5, 2.0])
