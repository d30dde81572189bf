"""Tests of mathdl.optim's second-order and quasi-Newton solvers (MEDL Sec. 4.6).

Every solve here compiles a ``lax.while_loop`` (seconds each on a shared CPU), so the solves are
jitted once per (solver, problem, options) through :func:`_jitted` and shared between tests.
"""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize as so
from hypothesis import given, settings
from hypothesis import strategies as st

from mathdl import optim
from tests._tolerances import tol

X0_ROSEN = jnp.array([-1.2, 1.0])
A3 = jnp.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
B3 = jnp.array([1.0, -2.0, 0.5])
T_EXP = jnp.linspace(0.0, 4.0, 12)
NOISE = jnp.asarray(np.random.default_rng(0).normal(0.0, 0.05, 12))

F_SOLVERS = {
    "newton": optim.newton,
    "bfgs": optim.bfgs,
    "lbfgs": optim.lbfgs,
    "newton_cg": optim.newton_cg,
}
LS_SOLVERS = {"gauss_newton": optim.gauss_newton, "levenberg_marquardt": optim.levenberg_marquardt}


def _quad3(x):
    """f(x) = ½ xᵀAx − bᵀx, minimiser A⁻¹b."""
    return 0.5 * x @ (A3 @ x) - B3 @ x


def _book_1d(t):
    """MEDL Ch. 4, 1-D Newton example: C(t) = t⁴ − 4t³ − 2t² + 10t + 15 (t of shape (1,))."""
    t = t[0]
    return t**4 - 4.0 * t**3 - 2.0 * t**2 + 10.0 * t + 15.0


def _rosen_residuals(x):
    """Rosenbrock as least squares: ½‖r‖² with r = (10(x₂ − x₁²), 1 − x₁) is half of f."""
    return jnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _exp_residuals(theta):
    """r_i = θ₀ exp(−θ₁ t_i) − y_i with y_i = 2 exp(−0.5 t_i) + noise_i."""
    y = 2.0 * jnp.exp(-0.5 * T_EXP) + NOISE
    return theta[0] * jnp.exp(-theta[1] * T_EXP) - y


def _exp_residuals_exact(theta):
    """The same model on noise-free data: zero residual at θ = (2, 0.5)."""
    return theta[0] * jnp.exp(-theta[1] * T_EXP) - 2.0 * jnp.exp(-0.5 * T_EXP)


@functools.cache
def _logistic():
    return optim.breast_cancer_logistic(l2=1e-2)


_PROBLEMS = {
    "rosenbrock": lambda: optim.rosenbrock,
    "quad3": lambda: _quad3,
    "book_1d": lambda: _book_1d,
    "logistic": lambda: _logistic().f,
    "rosen_residuals": lambda: _rosen_residuals,
    "exp_residuals": lambda: _exp_residuals,
    "exp_residuals_exact": lambda: _exp_residuals_exact,
}
_ALL = {**F_SOLVERS, **LS_SOLVERS}


@functools.cache
def _jitted(solver: str, problem: str, **options):
    """One compiled ``x0 -> SolverResult`` per (solver, problem, options), shared by the tests."""
    fn, f = _ALL[solver], _PROBLEMS[problem]()
    return jax.jit(lambda x0: fn(f, x0, **options))


def _solve(solver, problem, x0, **options):
    return _jitted(solver, problem, **options)(x0)


_rosen_value = jax.jit(optim.rosenbrock)
_rosen_grad = jax.jit(jax.grad(optim.rosenbrock))
_rosen_hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(optim.rosenbrock), (x,), (v,))[1])


def _np(fn):
    """A NumPy-in, NumPy-out wrapper for SciPy (the JAX function is jitted once: SciPy calls it often)."""
    return lambda *xs: np.asarray(fn(*(jnp.asarray(x) for x in xs)))


def _scipy_rosen(method):
    f, g = _np(_rosen_value), _np(_rosen_grad)
    opts = {"gtol": 1e-8} if method == "BFGS" else {"gtol": 1e-8, "ftol": 0.0, "maxiter": 1000}
    return so.minimize(f, np.array([-1.2, 1.0]), jac=g, method=method, options=opts)


@functools.cache
def _scipy_logistic_minimiser():
    """Oracle: SciPy's exact-Hessian trust region on the same objective, to a 1e-12 gradient."""
    p = _logistic()
    res = so.minimize(
        _np(jax.jit(p.f)),
        np.zeros(p.theta0.shape[0]),
        jac=_np(jax.jit(jax.grad(p.f))),
        hess=_np(jax.jit(jax.hessian(p.f))),
        method="trust-exact",
        options={"gtol": 1e-12},
    )
    assert res.success, res.message
    return res.x


def _assert_trace_contract(res, f, max_iter):
    """Fixed-length trace: row 0 the start, row n_iter the result, NaN after; values never increase."""
    k = int(res.n_iter)
    assert res.trace.x.shape[0] == res.trace.value.shape[0] == res.trace.grad_norm.shape[0] == max_iter + 1
    assert np.all(np.isnan(np.asarray(res.trace.value[k + 1 :])))
    assert np.all(np.isnan(np.asarray(res.trace.x[k + 1 :])))
    values = np.asarray(res.trace.value[: k + 1])
    assert np.all(np.isfinite(values))
    assert float(res.trace.value[k]) == float(res.value)
    assert float(res.trace.grad_norm[k]) == pytest.approx(float(res.grad_norm), rel=1e-12)
    np.testing.assert_allclose(float(f(res.trace.x[k])), float(res.value), **tol(np.float64))
    # descent property: a line search (or LM's gain-ratio test) never accepts an increase
    assert np.all(np.diff(values) <= 0.0), values


# --- worked values ------------------------------------------------------------------------------


def test_newton_quadratic_is_one_step():
    """By hand ([MEDL] Sec. 4.6): on f = ½xᵀAx − bᵀx with A SPD the Newton step lands on A⁻¹b at once."""
    res = _solve("newton", "quad3", jnp.array([3.0, -1.0, 2.0]))
    np.testing.assert_allclose(res.x, np.linalg.solve(np.asarray(A3), np.asarray(B3)), **tol(np.float64))
    assert int(res.n_iter) == 1
    assert int(res.status) == optim.CONVERGED


def test_newton_damping_step_worked():
    """By hand: with damping λ the first step is −(A + λI)⁻¹∇f (A SPD, Armijo accepts α = 1 on a quadratic)."""
    x0 = jnp.array([3.0, -1.0, 2.0])
    lam = 5.0
    res = _solve("newton", "quad3", x0, damping=lam, max_iter=3)
    g = np.asarray(A3 @ x0 - B3)
    expected = np.asarray(x0) - np.linalg.solve(np.asarray(A3) + lam * np.eye(3), g)
    np.testing.assert_allclose(res.trace.x[1], expected, **tol(np.float64))


@pytest.mark.parametrize(("start", "minimiser_side"), [(2.5, "right"), (1.7, "right")])
def test_newton_book_1d_example(start, minimiser_side):
    """[MEDL] Ch. 4, 1-D Newton: C(t) = t⁴ − 4t³ − 2t² + 10t + 15 from r = 2.5 (convex) and r = 1.7 (concave).

    At r = 1.7 C'' < 0, so plain Newton would step towards a local maximum; the modified Newton of
    mathdl must go downhill instead and still reach a local minimum (C' = 0, C'' > 0): from both
    starts the nearest minimum to the right, the root of 4t³ − 12t² − 4t + 10 near 3.1.
    """
    assert minimiser_side == "right"
    roots = np.roots([4.0, -12.0, -4.0, 10.0])
    t_star = max(r.real for r in roots if abs(r.imag) < 1e-12)  # the right-hand local minimum
    c2 = lambda t: 12 * t**2 - 24 * t - 4  # noqa: E731
    assert c2(2.5) > 0 > c2(1.7)  # the book's convex and concave starting points
    res = _solve("newton", "book_1d", jnp.array([start]))
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(float(res.x[0]), t_star, rtol=1e-12)
    _assert_trace_contract(res, _book_1d, 50)
    assert float(res.trace.value[1]) < float(res.trace.value[0])  # the first step already goes down


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs"])
def test_quasi_newton_learns_1d_curvature(solver):
    """By hand: in 1-D the secant pair (s, y) gives B = s/y = 1/a exactly on f = ½a(x − c)², so the
    second quasi-Newton step lands on c (within two iterations)."""
    a, c = 7.0, 0.3
    fn = optim.bfgs if solver == "bfgs" else optim.lbfgs
    res = jax.jit(lambda x0: fn(lambda x: 0.5 * a * jnp.sum((x - c) ** 2), x0))(jnp.array([2.0]))
    assert int(res.status) == optim.CONVERGED
    assert int(res.n_iter) <= 2
    np.testing.assert_allclose(float(res.x[0]), c, rtol=1e-12)


def test_conjugate_gradient_worked_2x2():
    """By hand (Nocedal & Wright Alg. 5.2): A = [[4, 1], [1, 3]], b = (1, 2) gives x = (1/11, 7/11) in 2 steps."""
    res = optim.conjugate_gradient(jnp.array([[4.0, 1.0], [1.0, 3.0]]), jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(res.x, [1.0 / 11.0, 7.0 / 11.0], **tol(np.float64))
    assert int(res.n_iter) == 2
    assert bool(res.converged)
    assert float(res.residual_norm) <= 1e-10 * np.sqrt(5.0)


def test_gauss_newton_linear_residuals_one_step():
    """By hand: for r(x) = Mx − y the Gauss-Newton step is the least-squares solution (NumPy lstsq)."""
    M = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 4.0]])
    y = jnp.array([1.0, 2.0, 2.5, 5.0])
    res = optim.gauss_newton(lambda x: M @ x - y, jnp.zeros(2))
    np.testing.assert_allclose(res.x, np.linalg.lstsq(np.asarray(M), np.asarray(y), rcond=None)[0], **tol(np.float64))
    assert int(res.n_iter) == 1


@pytest.mark.parametrize("solver", list(LS_SOLVERS))
def test_least_squares_zero_residual_fit(solver):
    """By hand: y = 2 exp(−0.5 t) exactly, so θ = (2, 0.5) with zero residual (quadratic convergence)."""
    res = _solve(solver, "exp_residuals_exact", jnp.array([1.0, 1.0]))
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, [2.0, 0.5], rtol=1e-10)
    assert float(res.value) <= 1e-20


# --- independent oracles ---------------------------------------------------------------------------


@pytest.mark.parametrize(("solver", "method"), [("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B")])
def test_quasi_newton_rosenbrock_vs_scipy(solver, method):
    """Oracle scipy.optimize.minimize: from (−1.2, 1) ‖∇f‖ ≤ 1e-8 in at most SciPy's
    iterations + 20% ([MEDL] Sec. 4.6; Nocedal & Wright Ch. 6-7), and the same minimiser (1, 1)."""
    res = _solve(solver, "rosenbrock", X0_ROSEN)
    ref = _scipy_rosen(method)
    assert int(res.status) == optim.CONVERGED
    assert float(res.grad_norm) <= 1e-8
    assert int(res.n_iter) <= 1.2 * ref.nit, (int(res.n_iter), ref.nit)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)  # both stop at a 1e-8 gradient, not at the exact point
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=1e-8)


def test_newton_logistic_quadratic_convergence():
    """Worked run: Newton on ridge-regularised logistic regression (breast cancer) reaches
    ‖∇f‖ ≤ 1e-10 in ≤ 10 iterations, with quadratic convergence; oracle SciPy trust-exact."""
    p = _logistic()
    res = _solve("newton", "logistic", p.theta0)
    assert int(res.status) == optim.CONVERGED
    assert int(res.n_iter) <= 10
    assert float(res.grad_norm) <= 1e-10
    g = np.asarray(res.trace.grad_norm[: int(res.n_iter) + 1])
    # quadratic rate near the minimum: g_{k+1} ≤ M g_k² with a steady M (measured ≈ 12 here; 50 leaves
    # room for rounding), while the linear ratio g_{k+1} / g_k collapses towards 0
    near = [k for k in range(len(g) - 1) if g[k] < 1e-2]
    assert len(near) >= 3, g
    assert all(g[k + 1] <= 50.0 * g[k] ** 2 for k in near), g
    assert g[-1] / g[-2] < 1e-5, g


@pytest.mark.slow  # compiles each solver on a 31-parameter problem, and SciPy's oracle
@pytest.mark.parametrize("solver", ["newton", "bfgs", "lbfgs", "newton_cg"])
def test_logistic_minimiser_vs_scipy(solver):
    """Oracle: SciPy trust-exact on the same strongly convex problem (λ = 1e-2, so ‖θ − θ*‖ ≤ ‖∇f‖/λ)."""
    p = _logistic()
    res = _solve(solver, "logistic", p.theta0)
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, _scipy_logistic_minimiser(), atol=1e-8 / 1e-2)


@pytest.mark.slow  # optax.lbfgs compiles its own zoom line search
def test_lbfgs_vs_optax_lbfgs():
    """Oracle: optax.lbfgs run to the same gradient tolerance reaches the same logistic-regression minimiser."""
    p = _logistic()
    opt = optax.lbfgs(memory_size=10)
    value_and_grad = optax.value_and_grad_from_state(p.f)

    @jax.jit
    def run(x):
        def body(carry):
            x, state, _ = carry
            v, g = value_and_grad(x, state=state)
            u, state = opt.update(g, state, x, value=v, grad=g, value_fn=p.f)
            return optax.apply_updates(x, u), state, jnp.linalg.norm(g)

        def cond(carry):
            return (carry[2] > 1e-9) & (optax.tree.get(carry[1], "count") < 500)

        return jax.lax.while_loop(cond, body, (x, opt.init(x), jnp.asarray(jnp.inf)))[0]

    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
        ref = run(p.theta0)
    res = _solve("lbfgs", "logistic", p.theta0)
    np.testing.assert_allclose(res.x, ref, atol=1e-6 / 1e-2)


def test_newton_cg_rosenbrock_vs_scipy():
    """Oracle: scipy.optimize.minimize(method="Newton-CG") with Hessian-vector products reaches the
    same minimiser (1, 1) from (−1.2, 1) ([MEDL] Sec. 4.6; Nocedal & Wright Alg. 7.1)."""
    res = _solve("newton_cg", "rosenbrock", X0_ROSEN)
    ref = so.minimize(
        _np(_rosen_value),
        np.array([-1.2, 1.0]),
        jac=_np(_rosen_grad),
        hessp=_np(_rosen_hvp),
        method="Newton-CG",
        options={"xtol": 1e-12},
    )
    assert int(res.status) == optim.CONVERGED and float(res.grad_norm) <= 1e-8
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)


@pytest.mark.parametrize("solver", list(LS_SOLVERS))
def test_least_squares_vs_scipy(solver):
    """Oracle: scipy.optimize.least_squares(method="lm") (MINPACK) on a noisy exponential fit."""
    res = _solve(solver, "exp_residuals", jnp.array([1.0, 1.0]))
    ref = so.least_squares(
        _np(jax.jit(_exp_residuals)),
        np.array([1.0, 1.0]),
        method="lm",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,  # SciPy's defaults (1e-8) stop ~1e-7 short of the minimiser
    )
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8)
    np.testing.assert_allclose(float(res.value), ref.cost, rtol=1e-10)


def test_levenberg_marquardt_rosenbrock_residuals():
    """Oracle: scipy least_squares(method="lm") on Rosenbrock's residual form reaches (1, 1)."""
    res = _solve("levenberg_marquardt", "rosen_residuals", X0_ROSEN)
    ref = so.least_squares(_np(jax.jit(_rosen_residuals)), np.array([-1.2, 1.0]), method="lm")
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8)
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=1e-10)
    _assert_trace_contract(res, lambda x: 0.5 * jnp.sum(_rosen_residuals(x) ** 2), 200)


_cg_3n = jax.jit(lambda A, b: optim.conjugate_gradient(A, b, tol=1e-12, max_iter=3 * b.shape[0]))  # one compile per n


@settings(max_examples=15)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_conjugate_gradient_random_spd(n, seed):
    """Oracle numpy.linalg.solve on random SPD systems A = QΛQᵀ with κ ≤ 100 (Nocedal & Wright Thm. 5.1:
    at most n steps in exact arithmetic; 3n allowed for rounding)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1.0, 100.0, n)) @ Q.T
    A = 0.5 * (A + A.T)
    b = rng.normal(size=n)
    res = _cg_3n(jnp.asarray(A), jnp.asarray(b))
    assert bool(res.converged)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-9, atol=1e-9)  # κ = 100 amplifies 1e-12
    assert float(res.residual_norm) == pytest.approx(np.linalg.norm(b - A @ np.asarray(res.x)), abs=1e-10)


# --- transforms --------------------------------------------------------------------------------


@pytest.mark.slow  # an eager while_loop compiles as much as a jitted one: one extra compile per solver
@pytest.mark.parametrize("solver", list(F_SOLVERS))
def test_jit_equals_eager(solver):
    """Transform: jit(solver) equals the eager call on Rosenbrock (same iterations, same iterate)."""
    eager = F_SOLVERS[solver](optim.rosenbrock, X0_ROSEN)
    jitted = _solve(solver, "rosenbrock", X0_ROSEN)
    assert int(eager.n_iter) == int(jitted.n_iter) and int(eager.status) == int(jitted.status)
    np.testing.assert_allclose(eager.x, jitted.x, **tol(np.float64, composite=True))


@pytest.mark.slow  # one vmapped compile per solver
@pytest.mark.parametrize("solver", list(_ALL))
def test_vmap_over_starting_points_equals_loop(solver):
    """Transform: vmap over three starting points equals a Python loop of single solves."""
    problem = "rosenbrock" if solver in F_SOLVERS else "rosen_residuals"
    starts = jnp.array([[-1.2, 1.0], [0.5, -0.5], [2.0, 2.0]])
    batched = jax.jit(jax.vmap(_jitted(solver, problem)))(starts)
    for i in range(starts.shape[0]):
        single = _solve(solver, problem, starts[i])
        assert int(batched.n_iter[i]) == int(single.n_iter)
        assert int(batched.status[i]) == int(single.status)
        np.testing.assert_allclose(batched.x[i], single.x, **tol(np.float64, composite=True))


def test_conjugate_gradient_transforms():
    """Transforms: jit == eager, matvec callable == matrix, vmap over b == loop, and
    jacfwd of x(b) = A⁻¹ (forward mode through the while_loop; NumPy inverse as oracle)."""
    A = jnp.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    b = jnp.array([1.0, -2.0, 0.5])
    eager = optim.conjugate_gradient(A, b)
    jitted = jax.jit(lambda b: optim.conjugate_gradient(A, b))(b)
    np.testing.assert_allclose(jitted.x, eager.x, **tol(np.float64))
    by_matvec = optim.conjugate_gradient(lambda v: A @ v, b)
    np.testing.assert_allclose(by_matvec.x, eager.x, **tol(np.float64))
    bs = jnp.stack([b, 2.0 * b, jnp.array([0.0, 1.0, 0.0])])
    batched = jax.vmap(lambda b: optim.conjugate_gradient(A, b, tol=1e-14).x)(bs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], optim.conjugate_gradient(A, bs[i], tol=1e-14).x, **tol(np.float64))
    J = jax.jacfwd(lambda b: optim.conjugate_gradient(A, b, tol=1e-14, max_iter=10).x)(b)
    np.testing.assert_allclose(J, np.linalg.inv(np.asarray(A)), **tol(np.float64, composite=True))


def test_newton_solution_derivative_is_implicit():
    """Transform (grad): forward mode through Newton's while_loop on f = ½xᵀAx − bᵀx gives ∂x*/∂b = A⁻¹,
    the implicit-function derivative (oracle: NumPy inverse)."""

    def solution(b):
        return optim.newton(lambda x: 0.5 * x @ (A3 @ x) - b @ x, jnp.array([3.0, -1.0, 2.0])).x

    J = jax.jacfwd(solution)(B3)
    np.testing.assert_allclose(J, np.linalg.inv(np.asarray(A3)), **tol(np.float64, composite=True))


@pytest.mark.parametrize("solver", list(F_SOLVERS))
def test_no_retrace_per_iteration(solver):
    """Transform contract (no recompilation per step): tracing with max_iter = 2 and 40
    calls f the same number of times, so iterations live inside one compiled while_loop."""
    calls = []

    def f(x):
        calls.append(None)
        return optim.rosenbrock(x)

    jax.make_jaxpr(lambda x0: F_SOLVERS[solver](f, x0, max_iter=1))(X0_ROSEN)  # warm eval_shape's cache
    counts = []
    for max_iter in (2, 40):
        calls.clear()
        jax.make_jaxpr(lambda x0, m=max_iter: F_SOLVERS[solver](f, x0, max_iter=m))(X0_ROSEN)
        counts.append(len(calls))
    assert counts[0] == counts[1] > 0


def test_newton_cg_never_forms_the_hessian():
    """Property (Hessian-vector products, so no Hessian is formed): the traced program of
    Newton-CG on n = 257 has no n × n array, while Newton's does."""
    n = 257
    f = lambda x: jnp.sum(x**4) + jnp.sum(x) ** 2  # noqa: E731
    x0 = jnp.ones(n)
    pattern = re.compile(rf"\[{n},{n}\]")
    assert not pattern.search(str(jax.make_jaxpr(lambda x: optim.newton_cg(f, x, max_iter=3))(x0)))
    assert pattern.search(str(jax.make_jaxpr(lambda x: optim.newton(f, x, max_iter=3))(x0)))


# --- properties and status codes ------------------------------------------------------------------


@pytest.mark.parametrize("solver", list(F_SOLVERS))
def test_rosenbrock_trace_contract_and_descent(solver):
    """Property: the trace starts at x0, ends at the result, is NaN after it, and f never increases
    (Armijo / strong Wolfe line searches; [MEDL] Sec. 4.5); the solve converges to (1, 1)."""
    res = _solve(solver, "rosenbrock", X0_ROSEN)
    np.testing.assert_array_equal(res.trace.x[0], X0_ROSEN)
    assert float(res.trace.value[0]) == pytest.approx(24.2, rel=1e-14)  # f(−1.2, 1) = 4.84 + 100·0.44²
    _assert_trace_contract(res, optim.rosenbrock, {"newton": 50, "bfgs": 200, "lbfgs": 500, "newton_cg": 100}[solver])
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=1e-7)
    assert int(res.n_fev) >= int(res.n_iter) + 1


@pytest.mark.parametrize("solver", list(F_SOLVERS))
def test_already_converged_start(solver):
    """Edge: starting at the minimiser (1, 1), ∇f = 0 so no iteration is made and the status is CONVERGED."""
    res = _solve(solver, "rosenbrock", jnp.array([1.0, 1.0]))
    assert int(res.n_iter) == 0 and int(res.status) == optim.CONVERGED
    np.testing.assert_array_equal(res.x, [1.0, 1.0])


def test_newton_indefinite_hessian_never_ascends():
    """Property: at (1, 0.1) f = x² − y² + y⁴/4 has an indefinite Hessian diag(2, −1.97); plain
    Newton would step to the saddle y = 0 (an ascent in y). mathdl's Newton goes downhill every step
    and reaches a minimum (0, ±√2)."""
    f = lambda v: v[0] ** 2 - v[1] ** 2 + 0.25 * v[1] ** 4  # noqa: E731
    x0 = jnp.array([1.0, 0.1])
    H = jax.hessian(f)(x0)
    assert np.linalg.eigvalsh(np.asarray(H)).min() < 0 < np.linalg.eigvalsh(np.asarray(H)).max()
    plain = x0 - jnp.linalg.solve(H, jax.grad(f)(x0))
    assert float(f(plain)) > float(f(x0)) - 1.0  # the plain step only gains from x, loses in y
    assert abs(float(plain[1])) < 0.01  # ... it heads for the saddle
    res = optim.newton(f, x0)
    _assert_trace_contract(res, f, 50)
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, [0.0, np.sqrt(2.0)], atol=1e-10)


@jax.custom_jvp
def _poisoned(x):
    """f = ‖x + 1‖², finite everywhere, whose gradient is NaN where x₀ < 0 (minimiser (−1, −1) there)."""
    return jnp.sum((x + 1.0) ** 2)


@_poisoned.defjvp
def _poisoned_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return _poisoned(x), jnp.where(x[0] < 0.0, jnp.nan, 1.0) * ((2.0 * (x + 1.0)) @ dx)


@jax.custom_jvp
def _poisoned_residuals(x):
    """r(x) = x + 1, whose Jacobian is NaN where x₀ < 0."""
    return x + 1.0


@_poisoned_residuals.defjvp
def _poisoned_residuals_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return _poisoned_residuals(x), jnp.where(x[0] < 0.0, jnp.nan, 1.0) * dx


@pytest.mark.parametrize("solver", ["newton", "newton_cg", "gauss_newton", "levenberg_marquardt"])
def test_non_finite_gradient_stops_newton_type(solver):
    """Edge: the full Newton step from (3, 3) lands where the gradient is NaN; the solver stops
    with NON_FINITE after that one iteration and returns the last finite iterate, never NaN."""
    fn = _ALL[solver]
    res = fn(_poisoned_residuals if solver in LS_SOLVERS else _poisoned, jnp.array([3.0, 3.0]))
    assert int(res.status) == optim.NON_FINITE
    assert int(res.n_iter) == 1
    np.testing.assert_array_equal(res.x, [3.0, 3.0])
    assert np.isfinite(float(res.value)) and np.isfinite(float(res.grad_norm))


@pytest.mark.slow  # compiles BFGS and L-BFGS on a new objective
@pytest.mark.parametrize("solver", ["bfgs", "lbfgs"])
def test_non_finite_gradient_quasi_newton(solver):
    """Edge: the strong-Wolfe search meets NaN slopes past x₀ = 0 and cannot cross; the solve
    stops with NO_PROGRESS at a finite point below f(x0), never iterating on NaN or running to max_iter."""
    res = F_SOLVERS[solver](_poisoned, jnp.array([3.0, 3.0]))
    assert int(res.status) == optim.NO_PROGRESS
    assert np.all(np.isfinite(np.asarray(res.x)))
    assert float(res.value) < 32.0 and float(res.x[0]) >= 0.0


_SLOW_QN = [pytest.param(s, marks=pytest.mark.slow) if s in ("bfgs", "lbfgs") else s for s in _ALL]  # compiles


@pytest.mark.parametrize("solver", _SLOW_QN)
def test_non_finite_objective_at_start(solver):
    """Edge: f(x0) = NaN (log of a negative number) stops at once with NON_FINITE and n_iter = 0."""
    x0 = jnp.array([-1.0, 1.0])
    if solver in LS_SOLVERS:
        res = _ALL[solver](lambda x: jnp.stack([jnp.log(x[0]), x[1]]), x0)
    else:
        res = _ALL[solver](lambda x: jnp.sum(x**2) + jnp.log(x[0]), x0)
    assert int(res.status) == optim.NON_FINITE and int(res.n_iter) == 0
    np.testing.assert_array_equal(res.x, x0)


@pytest.mark.parametrize("solver", ["newton", "newton_cg", "levenberg_marquardt"])
def test_max_iter_status(solver):
    """Edge: two iterations from (−1.2, 1) do not reach the tolerance: status MAX_ITER, n_iter = 2."""
    problem = "rosen_residuals" if solver in LS_SOLVERS else "rosenbrock"
    res = _solve(solver, problem, X0_ROSEN, max_iter=2)
    assert int(res.status) == optim.MAX_ITER and int(res.n_iter) == 2
    assert res.trace.value.shape == (3,) and np.all(np.isfinite(np.asarray(res.trace.value)))


def test_pytree_x0_matches_flat():
    """Property: a pytree x0 {"a": (2,), "b": ()} gives the flat solve's iterates in the same structure."""
    p = {"a": jnp.array([3.0, -1.0]), "b": jnp.asarray(2.0)}
    res = optim.newton(lambda t: _quad3(jnp.concatenate([t["a"], t["b"][None]])), p)
    flat = _solve("newton", "quad3", jnp.array([3.0, -1.0, 2.0]))
    assert set(res.x) == {"a", "b"} and res.x["b"].shape == ()
    np.testing.assert_allclose(jnp.concatenate([res.x["a"], res.x["b"][None]]), flat.x, **tol(np.float64))


def test_conjugate_gradient_not_spd_status():
    """Edge: A = diag(1, −1), b = (1, 1): pᵀAp = 0 on the first direction, so CG stops unconverged at x0."""
    res = optim.conjugate_gradient(jnp.diag(jnp.array([1.0, -1.0])), jnp.array([1.0, 1.0]))
    assert not bool(res.converged)
    np.testing.assert_array_equal(res.x, [0.0, 0.0])
    assert float(res.residual_norm) == pytest.approx(np.sqrt(2.0), rel=1e-15)


def test_conjugate_gradient_zero_rhs():
    """Edge: b = 0 has the solution x = 0, reached with no iteration and reported converged."""
    res = optim.conjugate_gradient(jnp.eye(3), jnp.zeros(3))
    assert int(res.n_iter) == 0 and bool(res.converged)
    np.testing.assert_array_equal(res.x, np.zeros(3))


# --- bad input (exact messages) -----------------------------------------------------------------------


def _msg(func, name, expected, got):
    return re.escape(f"optim.{func}: argument `{name}` expected {expected}, got {got}.")


_GOOD_X0 = jnp.array([0.5, 0.5])
_VECTOR_F = lambda x: x  # noqa: E731
_SCALAR_R = lambda x: jnp.sum(x)  # noqa: E731

_COMMON_BAD = [
    ({"max_iter": 0}, ValueError, "max_iter", "a positive int", "0"),
    ({"max_iter": 2.5}, ValueError, "max_iter", "a positive int", "2.5"),
    ({"max_iter": True}, ValueError, "max_iter", "a positive int", "True"),
    ({"tol": 0.0}, ValueError, "tol", "a value > 0", "0.0"),
    ({"tol": -1e-8}, ValueError, "tol", "a value > 0", "-1e-08"),
    ({"x0": jnp.array([1, 2], jnp.int32)}, TypeError, "x0", "a floating-point array", "dtype int32"),
    ({"x0": {}}, ValueError, "x0", "a non-empty array or pytree of arrays", "{}"),
    ({"x0": jnp.array([0.0, jnp.nan])}, ValueError, "x0", "finite values", "'an array containing NaN or inf'"),
]


@pytest.mark.parametrize("solver", list(_ALL))
@pytest.mark.parametrize(("kwargs", "exc", "name", "expected", "got"), _COMMON_BAD)
def test_bad_common_arguments(solver, kwargs, exc, name, expected, got):
    """Bad input: static problems raise at call time with the function, argument and value named."""
    kwargs = dict(kwargs)
    x0 = kwargs.pop("x0", _GOOD_X0)
    fun = _rosen_residuals if solver in LS_SOLVERS else optim.rosenbrock
    with pytest.raises(exc, match=_msg(solver, name, expected, got)):
        _ALL[solver](fun, x0, **kwargs)


@pytest.mark.parametrize(
    ("solver", "fun", "kwargs", "name", "expected", "got"),
    [
        ("newton", _VECTOR_F, {}, "f", "a function returning a scalar", "'output shape (2,)'"),
        ("bfgs", _VECTOR_F, {}, "f", "a function returning a scalar", "'output shape (2,)'"),
        ("newton", optim.rosenbrock, {"damping": -1.0}, "damping", "a value >= 0", "-1.0"),
        ("newton", optim.rosenbrock, {"min_curvature": 0.0}, "min_curvature", "a value > 0", "0.0"),
        ("lbfgs", optim.rosenbrock, {"memory": 0}, "memory", "an int >= 1", "0"),
        ("lbfgs", optim.rosenbrock, {"memory": 2.0}, "memory", "an int >= 1", "2.0"),
        ("newton_cg", optim.rosenbrock, {"max_cg_iter": 0}, "max_cg_iter", "a positive int or None", "0"),
        ("levenberg_marquardt", _rosen_residuals, {"mu0": 0.0}, "mu0", "a value > 0", "0.0"),
        ("gauss_newton", _SCALAR_R, {}, "residuals", "a function returning a 1-D vector r(x)", "'output shape ()'"),
        (
            "levenberg_marquardt",
            _SCALAR_R,
            {},
            "residuals",
            "a function returning a 1-D vector r(x)",
            "'output shape ()'",
        ),
    ],
)
def test_bad_method_arguments(solver, fun, kwargs, name, expected, got):
    """Bad input: method-specific hyperparameters and non-scalar objectives / non-vector residuals."""
    with pytest.raises(ValueError, match=_msg(solver, name, expected, got)):
        _ALL[solver](fun, _GOOD_X0, **kwargs)


@pytest.mark.parametrize(
    ("A", "b", "kwargs", "name", "expected", "got"),
    [
        (jnp.eye(2), jnp.ones((2, 2)), {}, "b", "rank 1", "shape (2, 2) (rank 2)"),
        (jnp.eye(3), jnp.ones(2), {}, "A", "shape (2, 2)", "shape (3, 3)"),
        (jnp.ones(2), jnp.ones(2), {}, "A", "shape (2, 2)", "shape (2,)"),
        (jnp.eye(2), jnp.ones(2), {"tol": 0.0}, "tol", "a value > 0", "0.0"),
        (jnp.eye(2), jnp.ones(2), {"max_iter": 0}, "max_iter", "a positive int", "0"),
        (jnp.eye(2), jnp.ones(2), {"max_iter": 1.5}, "max_iter", "a positive int", "1.5"),
    ],
)
def test_bad_conjugate_gradient_arguments(A, b, kwargs, name, expected, got):
    """Bad input: CG refuses a non-vector b, a mismatched A, and non-positive tol / max_iter."""
    with pytest.raises(ValueError, match=_msg("conjugate_gradient", name, expected, got)):
        optim.conjugate_gradient(A, b, **kwargs)


@pytest.mark.slow  # one float32 compile per solver
@pytest.mark.parametrize("solver", list(_ALL))
def test_float32_in_float32_out(solver):
    """Property: a float32 x0 gives float32 iterates, values and trace (no silent float64 upcast with x64 on),
    and still solves Rosenbrock to a float32-sized gradient tolerance."""
    fun = _rosen_residuals if solver in LS_SOLVERS else optim.rosenbrock
    x0 = jnp.array([-1.2, 1.0], jnp.float32)
    if solver in ("bfgs", "lbfgs"):
        # Optax's zoom line search mixes a float64 constant into its cubic step under x64, which strict
        # promotion refuses (optax/_src/linesearch.py `_cubicmin`); standard promotion keeps float32.
        with jax.numpy_dtype_promotion("standard"):
            res = _ALL[solver](fun, x0, tol=1e-3)
    else:
        res = _ALL[solver](fun, x0, tol=1e-3)
    assert res.x.dtype == res.value.dtype == res.trace.x.dtype == res.trace.value.dtype == jnp.float32
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-3)  # float32: ‖∇f‖ ≤ 1e-3 near a κ ≈ 2500 minimum


# --- bad inputs found by these tests (fixed in the library) -----------------------------------


def test_conjugate_gradient_refuses_bool_max_iter():
    """Bad input: max_iter=True is refused as the solvers refuse it (they reject bool explicitly)."""
    with pytest.raises(ValueError, match=_msg("conjugate_gradient", "max_iter", "a positive int", "True")):
        optim.conjugate_gradient(jnp.eye(2), jnp.ones(2), max_iter=True)


def test_conjugate_gradient_refuses_mismatched_x0():
    """Bad input: an x0 of the wrong shape is refused with a message naming `x0`."""
    with pytest.raises(ValueError, match=re.escape("optim.conjugate_gradient: argument `x0` expected")):
        optim.conjugate_gradient(jnp.eye(2), jnp.ones(2), x0=jnp.ones(3))


def test_conjugate_gradient_refuses_integer_b():
    """Bad input: integer A and b are refused with mathdl's TypeError naming the argument."""
    with pytest.raises(TypeError, match=re.escape("optim.conjugate_gradient: argument `")):
        optim.conjugate_gradient(jnp.eye(2, dtype=jnp.int32), jnp.ones(2, jnp.int32))


def test_lbfgs_refuses_bool_memory():
    """Bad input: memory=True is refused like memory=0."""
    with pytest.raises(ValueError, match=_msg("lbfgs", "memory", "an int >= 1", "True")):
        optim.lbfgs(optim.rosenbrock, _GOOD_X0, memory=True)
