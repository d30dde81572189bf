"""Tests of mathdl.optim's line searches and of the run() trajectory helper."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize as so
from hypothesis import given, settings
from hypothesis import strategies as st

from mathdl import checks, optim
from tests._tolerances import tol

A = jnp.array([[3.0, 1.0], [1.0, 2.0]])


def _quad(theta):
    return 0.5 * theta @ (A @ theta)


# --- exact line search ------------------------------------------------------------------------


def test_exact_quadratic_worked():
    """By hand: on f = ½ θᵀAθ along d = -g the exact step is α* = gᵀg / gᵀAg (one Newton step suffices)."""
    theta = jnp.array([1.0, -2.0])
    g = np.asarray(A @ theta)
    res = optim.exact_line_search(_quad, theta, jnp.asarray(-g))
    assert float(res.alpha) == pytest.approx(g @ g / (g @ np.asarray(A) @ g), rel=1e-14)
    assert bool(res.converged)
    assert int(res.iterations) <= 3


def test_exact_rosenbrock_book_example():
    """MEDL Ch. 4 (exact line search at (0.8, 0) along -∇f on Rosenbrock); oracle: scipy minimize_scalar (Brent)."""
    theta = jnp.array([0.8, 0.0])
    d = -jax.grad(optim.rosenbrock)(theta)
    res = optim.exact_line_search(optim.rosenbrock, theta, d)
    x0, dn = np.asarray(theta), np.asarray(d)
    ref = so.minimize_scalar(lambda a: so.rosen(x0 + a * dn), bracket=(0.0, 1e-3), tol=1e-12)
    assert float(res.alpha) == pytest.approx(ref.x, rel=1e-7)  # Brent's bracket tolerance, not ours
    assert float(res.value) == pytest.approx(ref.fun, rel=1e-12)
    assert abs(float(res.slope)) < 1e-9 * float(jnp.vdot(d, d))
    assert bool(res.converged)


def test_zigzag_orthogonality():
    """MEDL Ch. 4 (Fig. 4.9 zig-zag): successive exact-line-search directions are orthogonal."""
    traj = optim.gd_exact_line_search(optim.rosenbrock, jnp.array([0.8, 0.0]), steps=8)
    G = jax.vmap(jax.grad(optim.rosenbrock))(traj.thetas)
    cos = jnp.sum(G[1:] * G[:-1], axis=1) / (jnp.linalg.norm(G[1:], axis=1) * jnp.linalg.norm(G[:-1], axis=1))
    np.testing.assert_allclose(cos, 0.0, atol=1e-8)
    assert np.all(np.diff(np.asarray(traj.values)) < 0)
    assert traj.thetas.shape == (9, 2)


def test_exact_transforms():
    """Transform: jit == eager; vmap over starting points == a Python loop; dα*/dθ by jax.jvp vs finite differences."""
    thetas = jnp.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]])

    def alpha(theta):
        return optim.exact_line_search(_quad, theta, -jax.grad(_quad)(theta)).alpha

    loop = np.array([float(alpha(t)) for t in thetas])
    np.testing.assert_allclose(jax.vmap(jax.jit(alpha))(thetas), loop, **tol(np.float64))
    # forward-mode derivative through the while_loop vs central differences
    v = jnp.array([0.3, -0.1])
    _, tangent = jax.jvp(alpha, (thetas[0],), (v,))
    h = 1e-6
    fd = (float(alpha(thetas[0] + h * v)) - float(alpha(thetas[0] - h * v))) / (2 * h)
    assert float(tangent) == pytest.approx(fd, rel=1e-6)  # finite differences: ~h² truncation error


def test_exact_pytree():
    """Property: a pytree θ gives the same step as the flattened vector."""
    theta = {"a": jnp.array([1.0]), "b": jnp.array(-2.0)}

    def f(p):
        return _quad(jnp.concatenate([p["a"], p["b"][None]]))

    d = jax.tree.map(jnp.negative, jax.grad(f)(theta))
    flat = optim.exact_line_search(_quad, jnp.array([1.0, -2.0]), -jax.grad(_quad)(jnp.array([1.0, -2.0])))
    assert float(optim.exact_line_search(f, theta, d).alpha) == pytest.approx(float(flat.alpha), rel=1e-14)


def test_exact_nan():
    """Edge: an objective that is NaN along the line gives alpha NaN and converged False; checked mode raises."""

    def f(t):
        return jnp.sum(jnp.sqrt(t - 10.0))

    res = optim.exact_line_search(f, jnp.array([1.0]), jnp.array([1.0]))
    assert np.isnan(float(res.alpha))
    assert not bool(res.converged)
    safe = checks.checked(lambda t, d: optim.exact_line_search(f, t, d), nan=False)
    with pytest.raises(Exception, match=r"optim.exact_line_search: the step is not finite"):
        safe(jnp.array([1.0]), jnp.array([1.0]))


def test_exact_linear_objective_has_no_minimiser():
    """Edge: C linear along d (φ'' = 0, φ' != 0) has no minimiser on the line: NaN, not a finite step."""
    res = optim.exact_line_search(lambda t: jnp.sum(t), jnp.array([1.0, 2.0]), jnp.array([-1.0, 0.0]))
    assert np.isnan(float(res.alpha))
    assert not bool(res.converged)


def test_backtracking_nan_checked():
    """Edge: a NaN objective gives α = 0, converged False; under checks.checked it raises naming the function."""

    def f(t):
        return jnp.sum(jnp.sqrt(t - 10.0))

    res = optim.backtracking_line_search(f, jnp.array([1.0]), jnp.array([-1.0]))
    assert float(res.alpha) == 0.0 and not bool(res.converged)
    safe = checks.checked(lambda t, d: optim.backtracking_line_search(f, t, d), nan=False)
    with pytest.raises(Exception, match=r"optim.backtracking_line_search: f\(theta\) or its slope is not finite"):
        safe(jnp.array([1.0]), jnp.array([-1.0]))


# --- backtracking -----------------------------------------------------------------------------


def test_backtracking_worked():
    """By hand: f = θ², θ = 1, d = -2: α = 1 fails Armijo (f = 1 > 1 - 4e-4), α = 0.5 lands at 0."""
    res = optim.backtracking_line_search(lambda t: jnp.sum(t**2), jnp.array([1.0]), jnp.array([-2.0]))
    assert float(res.alpha) == 0.5
    assert int(res.iterations) == 2
    assert float(res.value) == 0.0
    assert bool(res.converged)


def test_backtracking_not_descent():
    """Edge: an ascent or zero direction gives α = 0 (no step), converged False."""
    for d in (jnp.array([2.0]), jnp.array([0.0])):
        res = optim.backtracking_line_search(lambda t: jnp.sum(t**2), jnp.array([1.0]), d)
        assert float(res.alpha) == 0.0
        assert not bool(res.converged)


@settings(max_examples=20)
@given(st.floats(-1.5, 1.5), st.floats(-1.0, 2.0), st.floats(0.1, 0.9))
def test_backtracking_armijo_property(x, y, shrink):
    """Property: the returned α = α0 ρ^k satisfies Armijo and α/ρ does not (largest such α), on Rosenbrock."""
    theta = jnp.array([x, y])
    g = jax.grad(optim.rosenbrock)(theta)
    d = -g
    res = _BT(theta, d, shrink)
    a = float(res.alpha)
    f0, slope = float(optim.rosenbrock(theta)), float(g @ d)
    if slope == 0.0:
        return
    if not bool(res.converged):  # documented: 50 halvings not enough -> no step at all
        assert a == 0.0 and int(res.iterations) == 50
        return
    assert float(optim.rosenbrock(theta + a * d)) <= f0 + 1e-4 * a * slope
    assert a == pytest.approx(shrink ** (int(res.iterations) - 1), rel=1e-12)
    if a < 1.0:
        assert float(optim.rosenbrock(theta + (a / shrink) * d)) > f0 + 1e-4 * (a / shrink) * slope


_BT = jax.jit(lambda t, d, s: optim.backtracking_line_search(optim.rosenbrock, t, d, shrink=s))


def test_backtracking_gd_decreases():
    """Property: on a convex quadratic, GD with Armijo steps decreases f monotonically (Nocedal & Wright Sec. 3.1)."""
    theta = jnp.array([3.0, -1.0])
    values = [float(_quad(theta))]
    for _ in range(10):
        d = -jax.grad(_quad)(theta)
        res = optim.backtracking_line_search(_quad, theta, d)
        theta = theta + res.alpha * d
        values.append(float(res.value))
    assert np.all(np.diff(values) < 0)


def test_line_search_bad_inputs():
    """Bad input: shape mismatch, structure mismatch, integer θ, f not callable, bad hyperparameters."""
    t = jnp.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"optim.exact_line_search: argument `d` expected the shape of `theta` \(2,\)"):
        optim.exact_line_search(_quad, t, jnp.ones(3))
    with pytest.raises(ValueError, match=r"optim.backtracking_line_search: argument `d` expected the same pytree"):
        optim.backtracking_line_search(_quad, t, (t, t))
    with pytest.raises(TypeError, match=r"optim.exact_line_search: argument `theta` expected a floating-point array"):
        optim.exact_line_search(_quad, jnp.array([1, 2]), jnp.array([1, 2]))
    with pytest.raises(TypeError, match=r"argument `f` expected a callable f\(theta\) -> scalar, got 'int'"):
        optim.exact_line_search(3, t, t)
    with pytest.raises(ValueError, match=r"argument `max_iter` expected an integer >= 1, got 0"):
        optim.exact_line_search(_quad, t, t, max_iter=0)
    with pytest.raises(ValueError, match=r"argument `shrink` expected a value in \(0.0, 1.0\), got 1.0"):
        optim.backtracking_line_search(_quad, t, -t, shrink=1.0)
    with pytest.raises(ValueError, match=r"argument `c` expected a value in \(0.0, 1.0\), got 0.0"):
        optim.backtracking_line_search(_quad, t, -t, c=0.0)
    with pytest.raises(ValueError, match=r"argument `alpha0` expected a value > 0, got -1.0"):
        optim.backtracking_line_search(_quad, t, -t, alpha0=-1.0)
    with pytest.raises(ValueError, match=r"argument `tol` expected a value >= 0, got -1.0"):
        optim.exact_line_search(_quad, t, -t, tol=-1.0)
    with pytest.raises(
        ValueError, match=r"optim.gd_exact_line_search: argument `steps` expected an integer >= 0, got -1"
    ):
        optim.gd_exact_line_search(_quad, t, steps=-1)


# --- run() ------------------------------------------------------------------------------------


def test_run_matches_python_loop():
    """Oracle: a Python loop of optax.apply_updates with the same optimizer gives the same iterates."""
    opt = optim.adam(0.05)
    traj = optim.run(opt, optim.rosenbrock, jnp.array([-1.2, 1.0]), steps=30)
    theta, state = jnp.array([-1.2, 1.0]), opt.init(jnp.array([-1.2, 1.0]))
    expected = [theta]
    for _ in range(30):
        updates, state = opt.update(jax.grad(optim.rosenbrock)(theta), state, theta)
        theta = optax.apply_updates(theta, updates)
        expected.append(theta)
    np.testing.assert_allclose(traj.thetas, np.stack(expected), **tol(np.float64, composite=True))
    np.testing.assert_allclose(traj.values, jax.vmap(optim.rosenbrock)(traj.thetas), **tol(np.float64))


def test_run_worked_and_pytree():
    """By hand: GD with α = 0.25 on f = Σ θ² halves θ each step; works on a pytree and with steps = 0."""
    traj = optim.run(optim.sgd(0.25), lambda p: jnp.sum(p["x"] ** 2), {"x": jnp.array([4.0, -8.0])}, steps=3)
    np.testing.assert_allclose(traj.thetas["x"], [[4, -8], [2, -4], [1, -2], [0.5, -1]], rtol=1e-15)
    np.testing.assert_allclose(traj.values, [80, 20, 5, 1.25], rtol=1e-15)
    zero = optim.run(optim.sgd(0.25), optim.rosenbrock, jnp.array([0.0, 0.0]), steps=0)
    assert zero.thetas.shape == (1, 2) and float(zero.values[0]) == 1.0


def test_run_jit_and_vmap():
    """Transform: jit == eager; vmap over starting points == a loop."""

    def go(x0):
        return optim.run(optim.momentum(0.002, beta=0.9), optim.rosenbrock, x0, steps=20).thetas[-1]

    starts = jnp.array([[0.4, -0.2], [-1.0, 1.0]])
    loop = np.stack([np.asarray(go(s)) for s in starts])
    np.testing.assert_allclose(jax.vmap(jax.jit(go))(starts), loop, **tol(np.float64, composite=True))


def test_run_bad_inputs():
    """Bad input: negative or float steps, non-optimizer, non-callable f, integer θ0."""
    t = jnp.zeros(2)
    with pytest.raises(ValueError, match=r"optim.run: argument `steps` expected an integer >= 0, got -1"):
        optim.run(optim.sgd(0.1), optim.rosenbrock, t, steps=-1)
    with pytest.raises(ValueError, match=r"optim.run: argument `steps` expected an integer >= 0, got 2.5"):
        optim.run(optim.sgd(0.1), optim.rosenbrock, t, steps=2.5)
    with pytest.raises(TypeError, match=r"optim.run: argument `optimizer` expected an optax.GradientTransformation"):
        optim.run(0.1, optim.rosenbrock, t, steps=1)
    with pytest.raises(TypeError, match=r"optim.run: argument `f` expected a callable"):
        optim.run(optim.sgd(0.1), None, t, steps=1)
    with pytest.raises(TypeError, match=r"optim.run: argument `theta0` expected a floating-point array"):
        optim.run(optim.sgd(0.1), optim.rosenbrock, jnp.array([0, 0]), steps=1)
