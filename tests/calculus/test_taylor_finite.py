"""Tests of mathdl.calculus Taylor models (MEDL Sec. A.4), central finite differences and check_grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import calculus
from tests._tolerances import tol

F64 = tol(np.float64)


def cubic(x):
    """f(x) = x1^3 + 2 x1 x2 - x2^2 (a polynomial with a known Taylor expansion)."""
    return x[0] ** 3 + 2 * x[0] * x[1] - x[1] ** 2


def quadratic(x):
    """f(x) = x^T A x / 2 + b^T x + 3 with A = [[2, 1], [1, 4]], b = (1, -1)."""
    A = jnp.array([[2.0, 1.0], [1.0, 4.0]])
    return 0.5 * x @ A @ x + jnp.array([1.0, -1.0]) @ x + 3.0


X0 = jnp.array([1.0, 2.0])
_t1 = jax.jit(lambda x0, x: calculus.taylor1(cubic, x0, x))
_t2 = jax.jit(lambda x0, x: calculus.taylor2(cubic, x0, x))


# ---------------------------------------------------------------- Taylor: worked values


def test_taylor_worked_values():
    """By hand at x0 = (1, 2): f = 1 + 4 - 4 = 1, grad = (3 + 4, 2 - 4) = (7, -2), H = [[6, 2], [2, -2]]."""
    x = jnp.array([1.5, 1.0])
    d = np.array([0.5, -1.0])
    f1 = 1.0 + np.array([7.0, -2.0]) @ d
    f2 = f1 + 0.5 * d @ np.array([[6.0, 2.0], [2.0, -2.0]]) @ d
    np.testing.assert_allclose(calculus.taylor1(cubic, X0, x), f1, **F64)
    np.testing.assert_allclose(calculus.taylor2(cubic, X0, x), f2, **F64)


def test_taylor2_of_quadratic_is_exact_and_taylor1_of_affine_is_exact():
    """MEDL Sec. A.4: a quadratic is its own second-order model; an affine function its own first-order model."""
    x = jnp.array([-3.0, 5.0])
    np.testing.assert_allclose(calculus.taylor2(quadratic, X0, x), quadratic(x), **F64)
    affine = lambda x: 2.0 * x[0] - x[1] + 7.0
    np.testing.assert_allclose(calculus.taylor1(affine, X0, x), affine(x), **F64)


def test_taylor_scalar_point_vs_numpy_oracle():
    """Oracle: 1-D Taylor of exp at 0.5 written in NumPy: e^a (1 + d + d^2/2)."""
    a, x = 0.5, 0.7
    d = x - a
    np.testing.assert_allclose(calculus.taylor1(jnp.exp, jnp.array(a), jnp.array(x)), np.exp(a) * (1 + d), **F64)
    np.testing.assert_allclose(
        calculus.taylor2(jnp.exp, jnp.array(a), jnp.array(x)), np.exp(a) * (1 + d + d * d / 2), **F64
    )


# ---------------------------------------------------------------- Taylor: transforms and properties


def test_taylor_transforms():
    """jit == eager; vmap over x == loop; grad of taylor2 in x == grad f(x0) + H (x - x0) (analytic); check_grads."""
    xs = jnp.array([[1.5, 1.0], [0.0, 0.0], [2.0, -1.0]])
    for fn, jfn in ((calculus.taylor1, _t1), (calculus.taylor2, _t2)):
        batched = jax.vmap(lambda x, fn=fn: fn(cubic, X0, x))(xs)
        np.testing.assert_allclose(batched, [jfn(X0, x) for x in xs], **F64)
        np.testing.assert_allclose(jfn(X0, xs[0]), fn(cubic, X0, xs[0]), **F64)
    g = jax.jit(jax.grad(lambda x: calculus.taylor2(cubic, X0, x)))(xs[0])
    H = np.array([[6.0, 2.0], [2.0, -2.0]])
    np.testing.assert_allclose(g, np.array([7.0, -2.0]) + H @ (np.asarray(xs[0]) - np.asarray(X0)), **F64)
    check_grads(_t2, (X0, xs[0]), order=2, modes=("rev",))


def test_taylor_error_orders():
    """Property (Taylor's theorem): halving the step divides the error by ~4 (first order) and ~8 (second)."""
    d = jnp.array([0.3, -0.2])
    errs1, errs2 = [], []
    for t in (0.1, 0.05, 0.025):
        x = X0 + t * d
        errs1.append(abs(float(_t1(X0, x) - cubic(x))))
        errs2.append(abs(float(_t2(X0, x) - cubic(x))))
    r1 = errs1[1] / errs1[2]
    r2 = errs2[1] / errs2[2]
    assert 3.5 < r1 < 4.5, r1
    assert 7.5 < r2 < 8.5, r2


@given(st.lists(st.floats(-2, 2), min_size=2, max_size=2))
def test_taylor_equals_function_at_expansion_point(x0):
    """Property: both models equal f at x = x0."""
    x0 = jnp.asarray(x0)
    np.testing.assert_allclose(_t1(x0, x0), cubic(x0), **F64)
    np.testing.assert_allclose(_t2(x0, x0), cubic(x0), **F64)


@pytest.mark.parametrize("fn", [calculus.taylor1, calculus.taylor2])
@pytest.mark.parametrize(
    "args,exc,match",
    [
        ((cubic, X0, jnp.ones(3)), ValueError, r"argument `x` expected shape \(2,\), got shape \(3,\)"),
        ((cubic, jnp.array([1, 2]), jnp.array([1, 2])), TypeError, r"argument `x0` expected a floating-point array"),
        ((cubic, X0, jnp.ones(2, jnp.float32)), TypeError, r"argument `x` expected dtype float64"),
        ((lambda x: x * 2, X0, X0), ValueError, r"argument `f` expected a scalar-valued function"),
        (("cubic", X0, X0), TypeError, r"argument `f` expected a callable, got 'str'"),
    ],
)
def test_taylor_bad_inputs(fn, args, exc, match):
    """Bad inputs raise at trace time naming the function and argument."""
    with pytest.raises(exc, match=fn.__name__ + ": " + match):
        fn(*args)


def test_taylor_nan_point_gives_nan():
    """Edge: a NaN in x gives NaN, never a finite number."""
    x = jnp.array([np.nan, 1.0])
    assert np.isnan(calculus.taylor1(cubic, X0, x)) and np.isnan(calculus.taylor2(cubic, X0, x))


# ---------------------------------------------------------------- finite differences


def test_default_step_per_dtype():
    """Worked value: eps^(1/3) = 2^(-52/3) in float64 and 2^(-23/3) in float32."""
    assert calculus.default_step(jnp.float64) == pytest.approx(2.0 ** (-52 / 3))
    assert calculus.default_step(jnp.float32) == pytest.approx(2.0 ** (-23 / 3))
    for bad in (jnp.int32, jnp.bool_, jnp.complex64, jnp.uint8):
        with pytest.raises(TypeError, match=r"calculus.default_step: argument `dtype` expected a floating dtype"):
            calculus.default_step(bad)
    assert calculus.default_step(jnp.float16) == pytest.approx(2.0 ** (-10 / 3))


def test_finite_difference_worked_values():
    """By hand: grad of the cubic at (1, 2) is (7, -2); Jacobian of (x1 x2, x1^2) is [[x2, x1], [2 x1, 0]]."""
    np.testing.assert_allclose(calculus.finite_difference_gradient(cubic, X0), [7.0, -2.0], rtol=1e-9, atol=1e-9)
    J = calculus.finite_difference_jacobian(lambda x: jnp.stack([x[0] * x[1], x[0] ** 2]), X0)
    # central differences are exact for quadratics up to rounding eps/h ~ 4e-11
    np.testing.assert_allclose(J, [[2.0, 1.0], [2.0, 0.0]], rtol=1e-9, atol=1e-9)


def test_finite_difference_vs_autodiff_and_numpy_oracle():
    """Oracle: jax.jacfwd (exact) and a NumPy loop of central differences agree with the vectorised version."""
    f = lambda x: jnp.stack([jnp.sin(x[0]) * x[1], jnp.exp(x[1] - x[0]), x[0] ** 3])
    x = jnp.array([0.4, -0.3])
    J = calculus.finite_difference_jacobian(f, x)
    # error of order eps^(2/3) * (third derivative scale) ~ 1e-10
    np.testing.assert_allclose(J, jax.jacfwd(f)(x), rtol=1e-8, atol=1e-9)
    h = 1e-5
    loop = np.stack(
        [(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in np.eye(2)],
        axis=-1,
    )
    np.testing.assert_allclose(J, loop, rtol=1e-7, atol=1e-8)


def test_finite_difference_shapes_and_jit():
    """Transforms: jit == eager; a matrix argument gives f(x).shape + x.shape; float32 stays float32."""
    W = jnp.arange(6.0).reshape(2, 3) / 10
    f = lambda W: jnp.tanh(W).sum(axis=1)
    J = calculus.finite_difference_jacobian(f, W)
    assert J.shape == (2, 2, 3)
    np.testing.assert_allclose(jax.jit(lambda W: calculus.finite_difference_jacobian(f, W))(W), J, **F64)
    np.testing.assert_allclose(J, jax.jacrev(f)(W), rtol=1e-8, atol=1e-9)
    g32 = calculus.finite_difference_gradient(lambda x: jnp.sum(x**2), jnp.array([1.0, 2.0], jnp.float32))
    assert g32.dtype == jnp.float32
    # float32: error ~ eps32^(2/3) ~ 2e-5 relative
    np.testing.assert_allclose(g32, [2.0, 4.0], rtol=1e-3)


def test_finite_difference_error_vs_step_is_v_shaped():
    """Property: error falls like h^2 for large h and rises like eps/h for tiny h; the default step is near the best."""
    f = lambda x: jnp.sin(x[0])
    x = jnp.array([1.0])
    err = lambda h: abs(float(calculus.finite_difference_gradient(f, x, step=h)[0]) - np.cos(1.0))
    e_default = abs(float(calculus.finite_difference_gradient(f, x)[0]) - np.cos(1.0))
    assert err(1e-2) > 100 * e_default
    assert err(1e-12) > 100 * e_default
    assert e_default < 1e-9


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: calculus.finite_difference_gradient(lambda x: x, X0), ValueError, r"`f` expected a scalar-valued"),
        (lambda: calculus.finite_difference_gradient(cubic, jnp.array([1, 2])), TypeError, r"`x` expected a floating"),
        (lambda: calculus.finite_difference_gradient(cubic, X0, step=0.0), ValueError, r"`step` expected a value > 0"),
        (lambda: calculus.finite_difference_gradient(cubic, X0, step=-1e-3), ValueError, r"`step` expected a value"),
        (lambda: calculus.finite_difference_gradient(cubic, X0, step=0.0), ValueError, r"finite_difference_gradient: "),
        (lambda: calculus.finite_difference_gradient(None, X0), TypeError, r"`f` expected a callable"),
        (lambda: calculus.finite_difference_jacobian(cubic, jnp.array([1, 2])), TypeError, r"`x` expected a floating"),
        (lambda: calculus.finite_difference_jacobian(cubic, X0, step=0.0), ValueError, r"`step` expected a value > 0"),
        (lambda: calculus.finite_difference_jacobian(1, X0), TypeError, r"jacobian: argument `f` expected a callable"),
        (lambda: calculus.finite_difference_jacobian(cubic, X0, step=float("nan")), ValueError, r"`step` expected"),
        (lambda: calculus.finite_difference_jacobian(cubic, np.array([True])), TypeError, r"`x` expected a floating"),
    ],
)
def test_finite_difference_bad_inputs(call, exc, match):
    """Bad inputs raise with the function, argument, expected and got."""
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- check_grad


def test_check_grad_passes_on_correct_gradient_with_pytree():
    """Worked: a correct gradient passes; the report's numeric gradient matches the hand value (7, -2)."""
    rep = calculus.check_grad(cubic, X0)
    assert rep.ok and rep.max_abs_error < 1e-8
    np.testing.assert_allclose(rep.numeric, [7.0, -2.0], rtol=1e-9)
    params = {"W": jnp.array([[0.1, 0.2], [0.3, -0.4]]), "b": jnp.array([0.5, -0.5])}
    loss = lambda p, x: jnp.sum(jnp.tanh(p["W"] @ x + p["b"]) ** 2)
    assert calculus.check_grad(loss, params, jnp.array([1.0, -2.0])).ok
    assert calculus.check_grad(loss, params, jnp.array([1.0, -2.0]), argnums=1).ok


@jax.custom_vjp
def _wrong_square(x):
    return jnp.sum(x**2)


def _ws_fwd(x):
    return jnp.sum(x**2), x


def _ws_bwd(x, g):
    return (g * 2 * x.at[1].multiply(1.1),)  # deliberately wrong in component 1


_wrong_square.defvjp(_ws_fwd, _ws_bwd)


def test_check_grad_catches_wrong_custom_vjp_and_names_component():
    """Oracle: a custom_vjp with a 10% error in component 1 must fail, naming component 1 and both values."""
    x = jnp.array([1.0, 2.0, 3.0])
    with pytest.raises(
        calculus.GradCheckError, match=r"flattened component 1: jax.grad gives 4\.4, finite differences give 4 "
    ):
        calculus.check_grad(_wrong_square, x)
    rep = calculus.check_grad(_wrong_square, x, raise_on_failure=False)
    assert not rep.ok and rep.worst_index == 1
    np.testing.assert_allclose(rep.max_abs_error, 0.4, rtol=1e-6)
    assert isinstance(calculus.GradCheckError("x"), AssertionError)


def test_check_grad_float32_defaults_and_nan():
    """Edge: float32 uses looser default tolerances and passes; a NaN gradient is reported as the worst failure."""
    assert calculus.check_grad(lambda x: jnp.sum(jnp.sin(x)), jnp.array([0.1, 0.5], jnp.float32)).ok
    rep = calculus.check_grad(lambda x: jnp.sqrt(x[0]) + x[1], jnp.array([0.0, 1.0]), raise_on_failure=False)
    assert not rep.ok and rep.worst_index == 0


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: calculus.check_grad(cubic, X0, argnums=1),
            ValueError,
            r"`argnums` expected an int in \[0, 1\), got 1",
        ),
        (lambda: calculus.check_grad(cubic), ValueError, r"`argnums` expected an int in \[0, 0\)"),
        (lambda: calculus.check_grad(cubic, jnp.array([1, 2])), TypeError, r"`args\[0\]` expected a floating"),
        (lambda: calculus.check_grad(lambda x: x, X0), ValueError, r"`f` expected a scalar-valued function"),
        (lambda: calculus.check_grad("f", X0), TypeError, r"`f` expected a callable"),
        (lambda: calculus.check_grad(cubic, {}), ValueError, r"`args\[0\]` expected at least one floating entry"),
    ],
)
def test_check_grad_bad_inputs(call, exc, match):
    """Bad inputs raise with calculus.check_grad, the argument, expected and got."""
    with pytest.raises(exc, match="calculus.check_grad: argument " + match):
        call()


def test_lists_are_accepted():
    """Python lists are array-likes: the first-order model of x^2 at [1] evaluated at [1.5] is 2 (worked value)."""
    np.testing.assert_allclose(calculus.taylor1(lambda x: jnp.sum(x**2), [1.0], [1.5]), 2.0, rtol=1e-12)
    np.testing.assert_allclose(calculus.finite_difference_gradient(lambda x: jnp.sum(x**2), [1.0, 2.0]), [2.0, 4.0])
