"""Tests of the expressive-power constructions ([MEDL] Sec. 5.2)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
import scipy.interpolate
from hypothesis import given, settings
from hypothesis import strategies as st

from mathdl import checks
from mathdl.models import mlp, multiplication_gate, product_tree, relu_interpolation
from tests._tolerances import tol


def f_star(x):
    """The book's ReLU-interpolation target on [0, 4] (BOOK.md toy problems)."""
    return jnp.cos(2 * jnp.cos(x**2) + (x - 1) ** 2 / 4) + x / 2 + 1


def net(params, xs):
    return jax.vmap(lambda x: mlp(params, x[None])[0])(xs)


def test_relu_interpolation_worked_value():
    """By hand: knots (0, 1, 2), values (0, 1, 0): s = (1, -1); W2 = (1, -2), b1 = (0, -1), b2 = 0; f(0.5) = 0.5."""
    W1b1, W2b2 = relu_interpolation(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(W1b1.W, [[1.0], [1.0]], **tol(np.float64))
    np.testing.assert_allclose(W1b1.b, [0.0, -1.0], **tol(np.float64))
    np.testing.assert_allclose(W2b2.W, [[1.0, -2.0]], **tol(np.float64))
    np.testing.assert_allclose(W2b2.b, [0.0], **tol(np.float64))
    np.testing.assert_allclose(net((W1b1, W2b2), jnp.array([0.5, 1.5, -1.0])), [0.5, 0.5, 0.0], **tol(np.float64))


@pytest.mark.parametrize("r", [10, 30])
def test_relu_interpolation_book_toy_vs_numpy_interp(r):
    """Oracle: the book's toy (r = 10, 30 knots on [0, 4]); equals f* at the knots and np.interp in between."""
    u = jnp.linspace(0.0, 4.0, r)
    params = relu_interpolation(u, f_star(u))
    np.testing.assert_allclose(net(params, u), f_star(u), **tol(np.float64, composite=True))
    x = jnp.linspace(0.0, 4.0, 997)
    np.testing.assert_allclose(net(params, x), np.interp(x, u, f_star(u)), **tol(np.float64, composite=True))
    assert params[0].W.shape == (r - 1, 1) and params[1].W.shape == (1, r - 1)


def test_relu_interpolation_scipy_extrapolation():
    """Oracle: scipy's linear interp1d with extrapolation matches right of the last knot (slope s_{r-1} continues)."""
    u = jnp.array([0.0, 0.5, 2.0, 3.0])
    v = jnp.array([1.0, -1.0, 2.0, 2.5])
    params = relu_interpolation(u, v)
    x = jnp.linspace(0.0, 5.0, 41)
    want = scipy.interpolate.interp1d(np.asarray(u), np.asarray(v), fill_value="extrapolate")(np.asarray(x))
    np.testing.assert_allclose(net(params, x), want, **tol(np.float64, composite=True))
    np.testing.assert_allclose(net(params, jnp.array([-3.0])), [1.0], **tol(np.float64))  # constant v_1 on the left


def test_relu_interpolation_transforms(transform):
    """Transforms: jit == eager; ∂f/∂x between knots = the secant slope s_i (analytic); vmap over value sets."""
    u = jnp.linspace(0.0, 4.0, 6)
    v = f_star(u)
    params = transform(relu_interpolation)(u, v)
    ref = relu_interpolation(u, v)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, **tol(np.float64))
    slope = jax.grad(lambda x: mlp(params, x[None])[0])(jnp.array(1.1))  # between u[1] = 0.8 and u[2] = 1.6
    np.testing.assert_allclose(slope, (v[2] - v[1]) / (u[2] - u[1]), **tol(np.float64, composite=True))
    V = jnp.stack([v, 2 * v])
    batched = jax.vmap(relu_interpolation, in_axes=(None, 0))(u, V)
    np.testing.assert_allclose(batched[1].W[1], relu_interpolation(u, 2 * v)[1].W, **tol(np.float64))
    # parameters are smooth in the values (linear): check_grads order 2
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda v: relu_interpolation(u, v)[1].W), (v,), order=2)


@settings(max_examples=10)  # each new length retraces; 10 draws cover the property
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=12), st.floats(-10, 10))
def test_relu_interpolation_property(values, shift):
    """Property: exact at knots for any values; adding a constant to v only shifts b^[2]."""
    v = jnp.asarray(values)
    u = jnp.arange(v.shape[0], dtype=jnp.float64) ** 1.5
    params = relu_interpolation(u, v)
    np.testing.assert_allclose(net(params, u), v, rtol=1e-10, atol=1e-9)
    shifted = relu_interpolation(u, v + shift)
    np.testing.assert_allclose(shifted[1].W, params[1].W, atol=1e-9)


def test_relu_interpolation_bad_inputs():
    """Bad inputs: lengths, ranks, dtypes, a single knot; non-increasing knots -> NaN, and raise when checked."""
    with pytest.raises(
        ValueError, match=r"models.relu_interpolation: argument `values_v` expected shape \(3,\), got shape \(4,\)"
    ):
        relu_interpolation(jnp.arange(3.0), jnp.arange(4.0))
    W1, b1 = relu_interpolation([0.0, 1.0, 3.0], [0.0, 1.0, 0.0])[0]  # Python lists are accepted
    np.testing.assert_allclose(b1, [0.0, -1.0])
    with pytest.raises(ValueError, match=r"argument `knots_u` expected rank 1"):
        relu_interpolation(jnp.ones((2, 2)), jnp.ones((2, 2)))
    with pytest.raises(TypeError, match=r"argument `knots_u` expected a floating-point array"):
        relu_interpolation(jnp.arange(3), jnp.arange(3.0))
    with pytest.raises(ValueError, match=r"argument `knots_u` expected at least 2 knots"):
        relu_interpolation(jnp.array([1.0]), jnp.array([1.0]))
    params = relu_interpolation(jnp.array([0.0, 2.0, 1.0]), jnp.array([0.0, 1.0, 2.0]))
    assert all(np.all(np.isnan(leaf)) for leaf in jax.tree.leaves(params))
    with pytest.raises(Exception, match=r"expected strictly increasing knots"):
        checks.checked(relu_interpolation)(jnp.array([0.0, 0.0, 1.0]), jnp.array([0.0, 1.0, 2.0]))


def test_gate_worked_value():
    """By hand (Taylor): softplus gate at λ = 0.1: |gate(1.5, -0.7) - (-1.05)| is O(λ²) ≈ 2.4e-3 (< 3e-3)."""
    err = abs(float(multiplication_gate(jnp.array(1.5), jnp.array(-0.7), lam=0.1)) + 1.05)
    assert 1e-4 < err < 3e-3


@pytest.mark.parametrize("activation", ["softplus", "silu", "gelu"])
def test_gate_error_vanishes_quadratically(activation):
    """Oracle: the exact product x1·x2 (NumPy); error -> 0 as λ -> 0 and halves λ -> error / 4 (O(λ²))."""
    rng = np.random.default_rng(0)
    x1, x2 = jnp.asarray(rng.uniform(-2, 2, 50)), jnp.asarray(rng.uniform(-2, 2, 50))
    exact = np.asarray(x1) * np.asarray(x2)
    errs = [
        np.max(np.abs(multiplication_gate(x1, x2, lam=lam, activation=activation) - exact))
        for lam in (0.1, 0.05, 0.025)
    ]
    assert errs[2] < errs[1] < errs[0] and errs[2] < 1e-2
    np.testing.assert_allclose(errs[1] / errs[2], 4.0, rtol=0.1)


def test_gate_transforms(transform):
    """Transforms: jit == eager; ∂gate/∂x1 ≈ x2 (analytic derivative of x1 x2) for small λ; check_grads order 2."""
    f = transform(lambda a, b: multiplication_gate(a, b, lam=0.01))
    a, b = jnp.array([0.3, -1.2]), jnp.array([2.0, 0.5])
    np.testing.assert_allclose(f(a, b), multiplication_gate(a, b, lam=0.01), **tol(np.float64))
    g = jax.grad(lambda a: jnp.sum(f(a, b)))(a)
    np.testing.assert_allclose(g, b, atol=1e-3)
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda a, b: multiplication_gate(a, b, lam=0.3)), (a, b), order=2)


@given(st.floats(-2, 2), st.floats(-2, 2))
def test_gate_symmetry(x1, x2):
    """Property: the gate is symmetric, gate(x1, x2) = gate(x2, x1), odd in each factor, and 0 when a factor is 0."""
    g = lambda a, b: multiplication_gate(jnp.array(a), jnp.array(b), lam=0.1)
    np.testing.assert_allclose(g(x1, x2), g(x2, x1), atol=1e-12)
    np.testing.assert_allclose(g(-x1, x2), -g(x1, x2), atol=1e-12)
    np.testing.assert_allclose(g(x1, 0.0), 0.0, atol=1e-12)


def test_product_tree_worked_and_oracle():
    """Worked: product of one factor is itself; of (2, 3) ≈ 6. Oracle np.prod for n = 1000 (book's depth-10 example)."""
    np.testing.assert_allclose(product_tree(jnp.array([1.7]), lam=0.1), 1.7, **tol(np.float64))
    np.testing.assert_allclose(product_tree(jnp.array([2.0, 3.0]), lam=0.001), 6.0, rtol=1e-5)
    xs = jnp.asarray(np.random.default_rng(1).uniform(0.995, 1.005, 1000))
    # 999 gates each with relative error ~ |σ''''(0) / (6σ''(0))| λ² (x1² + x2²) ≈ 0.17 λ²: total ≈ 170 λ² = 1.7e-4
    tree = jax.jit(lambda xs: product_tree(xs, lam=0.001))  # one compile instead of ~10 levels of eager kernels
    np.testing.assert_allclose(tree(xs), np.prod(np.asarray(xs)), rtol=1e-3)


def test_product_tree_error_vanishes():
    """Oracle np.prod: the error of a 7-factor tree (odd sizes padded with 1) shrinks like λ²."""
    xs = jnp.array([0.5, 1.2, -0.8, 1.1, 0.9, 1.3, 0.7])
    want = np.prod(np.asarray(xs))
    errs = [abs(float(product_tree(xs, lam=lam)) - want) for lam in (0.1, 0.05, 0.025)]
    assert errs[0] > errs[1] > errs[2]
    np.testing.assert_allclose(errs[1] / errs[2], 4.0, rtol=0.15)


def test_product_tree_transforms(transform):
    """Transforms: jit == eager; ∂Π/∂x_i ≈ Π_{j≠i} x_j (analytic) for small λ; vmap == loop; check_grads order 2."""
    xs = jnp.array([0.9, 1.1, 1.2, 0.8, 1.05])
    f = transform(lambda xs: product_tree(xs, lam=0.005))
    np.testing.assert_allclose(f(xs), product_tree(xs, lam=0.005), **tol(np.float64))
    want = np.array([np.prod(np.delete(np.asarray(xs), i)) for i in range(5)])
    np.testing.assert_allclose(jax.grad(f)(xs), want, atol=1e-3)
    X = jnp.stack([xs, 2 * xs])
    np.testing.assert_allclose(jax.vmap(f)(X), [f(X[0]), f(X[1])], **tol(np.float64))
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        # 3 factors (depth 2): second-order derivatives of a deeper tree only cost compile time
        jax.test_util.check_grads(jax.jit(lambda xs: product_tree(xs, lam=0.3)), (xs[:3],), order=2)


def test_gate_and_tree_bad_inputs():
    """Bad inputs: λ <= 0, λ as an array, activations with σ''(0) = 0, shapes, dtypes, empty xs."""
    a = jnp.ones(2)
    with pytest.raises(ValueError, match=r"models.multiplication_gate: argument `lam` expected a value > 0, got 0.0"):
        multiplication_gate(a, a, lam=0.0)
    with pytest.raises(TypeError, match=r"argument `lam` expected a Python float"):
        multiplication_gate(a, a, lam=jnp.array(0.1))
    with pytest.raises(
        ValueError, match=r"argument `activation` expected one of \['gelu', 'silu', 'softplus'\], got 'tanh'"
    ):
        multiplication_gate(a, a, lam=0.1, activation="tanh")
    with pytest.raises(TypeError, match=r"argument `activation` expected one of .* \(sigma''\(0\) != 0\)"):
        multiplication_gate(a, a, lam=0.1, activation=jnp.tanh)
    with pytest.raises(ValueError, match=r"argument `x2` expected shape \(2,\), got shape \(3,\)"):
        multiplication_gate(a, jnp.ones(3), lam=0.1)
    with pytest.raises(TypeError, match=r"argument `x1` expected a floating-point array"):
        multiplication_gate(jnp.ones(2, jnp.int32), a, lam=0.1)
    with pytest.raises(ValueError, match=r"models.product_tree: argument `xs` expected at least one factor"):
        product_tree(jnp.zeros((0,)), lam=0.1)
    with pytest.raises(ValueError, match=r"models.product_tree: argument `xs` expected rank 1"):
        product_tree(jnp.ones((2, 2)), lam=0.1)
    with pytest.raises(ValueError, match=r"argument `lam` expected a value > 0, got -1"):
        product_tree(a, lam=-1)
    assert np.isnan(product_tree(jnp.array([1.0, jnp.nan]), lam=0.1))
