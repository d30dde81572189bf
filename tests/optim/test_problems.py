"""Tests of mathdl.optim's test problems: Rosenbrock, peaks, quadratics, the SGD toy, logistic regression."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import optim
from tests._tolerances import tol

# --- Rosenbrock -------------------------------------------------------------------------------


def test_rosenbrock_worked():
    """By hand (MEDL Ch. 4 toy): f(0.8, 0) = 0.2² + 100 · 0.64² = 41; f(1, 1) = 0; f(0, 0) = 1."""
    assert float(optim.rosenbrock(jnp.array([0.8, 0.0]))) == pytest.approx(41.0, rel=1e-14)
    assert float(optim.rosenbrock(jnp.array([1.0, 1.0]))) == 0.0
    assert float(optim.rosenbrock(jnp.array([0.0, 0.0]))) == 1.0


_ROSEN = jax.jit(optim.rosenbrock)
_ROSEN_GRAD = jax.jit(jax.grad(optim.rosenbrock))
_ROSEN_HESS = jax.jit(jax.hessian(optim.rosenbrock))


@settings(max_examples=15)  # two shapes only (2-D and 5-D) so the jitted functions compile twice
@given(st.sampled_from([2, 5]).flatmap(lambda p: st.lists(st.floats(-2, 2), min_size=p, max_size=p)))
def test_rosenbrock_scipy(theta):
    """Oracle: scipy.optimize.rosen / rosen_der / rosen_hess in 2 and 5 dimensions."""
    x = np.asarray(theta)
    t = jnp.asarray(x)
    np.testing.assert_allclose(_ROSEN(t), so.rosen(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_ROSEN_GRAD(t), so.rosen_der(x), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(_ROSEN_HESS(t), so.rosen_hess(x), rtol=1e-12, atol=1e-10)


def test_rosenbrock_transforms():
    """Transform: jit == eager, vmap == loop, grad == the analytic 2-D gradient, check_grads order 2."""
    pts = jnp.array([[0.8, 0.0], [-1.2, 1.0], [0.3, 0.7]])
    loop = np.array([float(optim.rosenbrock(p)) for p in pts])
    np.testing.assert_allclose(jax.vmap(jax.jit(optim.rosenbrock))(pts), loop, **tol(np.float64))
    t1, t2 = 0.8, 0.0
    analytic = [-2 * (1 - t1) - 400 * t1 * (t2 - t1**2), 200 * (t2 - t1**2)]
    np.testing.assert_allclose(jax.grad(optim.rosenbrock)(pts[0]), analytic, **tol(np.float64))
    check_grads(jax.jit(optim.rosenbrock), (pts[1],), order=2)


def test_rosenbrock_bad_inputs():
    """Bad input: length 1, rank 2, integer dtype, scalar; NaN gives NaN."""
    with pytest.raises(ValueError, match=r"optim.rosenbrock: argument `theta` expected a vector of length >= 2"):
        optim.rosenbrock(jnp.array([1.0]))
    with pytest.raises(
        ValueError, match=r"optim.rosenbrock: argument `theta` expected rank 1, got '?shape \(2, 2\) \(rank 2\)'?"
    ):
        optim.rosenbrock(jnp.ones((2, 2)))
    with pytest.raises(TypeError, match=r"optim.rosenbrock: argument `theta` expected a floating-point array"):
        optim.rosenbrock(jnp.array([1, 1]))
    with pytest.raises(ValueError, match=r"expected rank 1, got '?shape \(\)"):
        optim.rosenbrock(jnp.array(1.0))
    assert np.isnan(float(optim.rosenbrock(jnp.array([np.nan, 1.0]))))


def test_gd_geometric_on_rosenbrock():
    """MEDL Ch. 4 setup: GD from (0.2, -0.2), α0 = 0.005. γ = 1 is at the edge of stability in the
    valley (curvature ≈ 400 ≈ 2/α), so C(θ_t) is not monotone; γ = 0.99 decreases monotonically and
    stalls short of (1, 1) because the total step Σ α_t = α0/(1-γ) = 0.5 is finite."""
    theta0 = jnp.array([0.2, -0.2])
    const = optim.run(optim.sgd(optim.geometric_schedule(0.005, decay_rate=1.0)), optim.rosenbrock, theta0, steps=1000)
    geo = optim.run(optim.sgd(optim.geometric_schedule(0.005, decay_rate=0.99)), optim.rosenbrock, theta0, steps=1000)
    assert np.sum(np.diff(np.asarray(const.values)) > 0) > 50
    assert np.all(np.diff(np.asarray(geo.values)) <= 0)
    remaining = (
        0.005
        * 0.99**500
        / (1 - 0.99)
        * float(jnp.max(jnp.linalg.norm(jax.vmap(jax.grad(optim.rosenbrock))(geo.thetas[500:]), axis=1)))
    )
    assert float(jnp.linalg.norm(geo.thetas[-1] - geo.thetas[500])) <= remaining
    assert float(jnp.linalg.norm(geo.thetas[-1] - 1.0)) > 0.5


def test_momentum_on_rosenbrock():
    """MEDL Ch. 4 setup: momentum from (0.4, -0.2) with α = 0.001/(1-β): β = 0.9 beats 0.5 beats 0 at 1000 steps."""
    finals = []
    for beta in (0.9, 0.5, 0.0):
        traj = optim.run(
            optim.momentum(0.001 / (1 - beta), beta=beta), optim.rosenbrock, jnp.array([0.4, -0.2]), steps=1000
        )
        finals.append(float(traj.values[-1]))
    assert finals[0] < finals[1] < finals[2]
    assert finals[0] < 1e-3


# --- peaks ------------------------------------------------------------------------------------


def _peaks_numpy(x, y):
    a = 3 * (1 - x) ** 2 * np.exp(-(x**2) - (y + 1) ** 2)
    b = -10 * (x / 5 - x**3 - y**5) * np.exp(-(x**2) - y**2)
    return a + b - np.exp(-((x + 1) ** 2) - y**2) / 3


def test_peaks_worked_and_oracle():
    """By hand: peaks(0, 0) = (3 - 1/3)/e; oracle: a NumPy transcription of MATLAB's peaks on a grid."""
    assert float(optim.peaks(jnp.array([0.0, 0.0]))) == pytest.approx(8 / 3 / math.e, rel=1e-14)
    g = np.linspace(-3, 3, 7)
    pts = np.array([[x, y] for x in g for y in g])
    np.testing.assert_allclose(jax.vmap(optim.peaks)(jnp.asarray(pts)), _peaks_numpy(pts[:, 0], pts[:, 1]), rtol=1e-13)


def test_peaks_global_minimum():
    """Property: SciPy's BFGS from (0.2, -1.6) (JAX gradient) finds the known minimum -6.5511 at (0.228, -1.626)."""
    vg = jax.jit(jax.value_and_grad(optim.peaks))

    def fun(x):
        v, g = vg(jnp.asarray(x))
        return float(v), np.asarray(g)

    res = so.minimize(fun, [0.2, -1.6], jac=True)
    assert res.fun == pytest.approx(-6.5511, abs=1e-4)
    np.testing.assert_allclose(res.x, [0.2283, -1.6255], atol=1e-3)
    check_grads(jax.jit(optim.peaks), (jnp.array([0.3, -0.4]),), order=2)


def test_peaks_bad_inputs():
    """Bad input: wrong length, rank 2, integers, scalar, length 3."""
    for bad in (jnp.ones(3), jnp.ones((2, 1)), jnp.array(1.0), jnp.ones(1)):
        with pytest.raises(ValueError, match=r"optim.peaks: argument `theta` expected"):
            optim.peaks(bad)
    with pytest.raises(
        TypeError, match=r"optim.peaks: argument `theta` expected a floating-point array, got '?dtype int"
    ):
        optim.peaks(jnp.array([1, 2]))


# --- quadratics -------------------------------------------------------------------------------


@pytest.mark.parametrize("kappa,dim", [(1.0, 2), (10.0, 2), (1000.0, 5), (1.0, 1)])
def test_quadratic_construction(kappa, dim):
    """Oracle: numpy.linalg: A symmetric with eigenvalues 1..κ, cond(A) = κ, f(θ*) = 0, ∇f = A(θ - θ*)."""
    q = optim.quadratic(condition_number=kappa, dim=dim)
    A = np.asarray(q.A)
    np.testing.assert_allclose(A, A.T, atol=1e-14)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), np.asarray(q.eigenvalues), rtol=1e-12)
    assert np.linalg.cond(A) == pytest.approx(kappa, rel=1e-10)
    assert float(q.f(q.minimiser)) == 0.0
    theta = q.minimiser + jnp.linspace(0.1, 1.0, dim)
    np.testing.assert_allclose(jax.grad(q.f)(theta), A @ np.asarray(theta - q.minimiser), **tol(np.float64))
    check_grads(jax.jit(q.f), (theta,), order=2)


def test_quadratic_gd_rate():
    """Property (Nocedal & Wright Thm 3.3): GD with α = 2/(λ1+λp) shrinks the error by (κ-1)/(κ+1) per step."""
    kappa = 20.0
    q = optim.quadratic(condition_number=kappa, dim=3, minimiser=jnp.array([1.0, 2.0, 3.0]))
    traj = optim.run(optim.sgd(2 / (1 + kappa)), q.f, jnp.zeros(3), steps=50)
    err = jnp.linalg.norm(traj.thetas - q.minimiser[None, :], axis=1)
    rho = (kappa - 1) / (kappa + 1)
    assert np.all(np.asarray(err[1:] <= rho * err[:-1] * (1 + 1e-12)))


def test_quadratic_bad_inputs():
    """Bad input: κ < 1, κ NaN, dim 0, minimiser of wrong shape, κ != 1 with dim 1, f on a wrong shape."""
    with pytest.raises(
        ValueError, match=r"optim.quadratic: argument `condition_number` expected a finite value >= 1, got 0.5"
    ):
        optim.quadratic(condition_number=0.5)
    with pytest.raises(ValueError, match=r"argument `condition_number` expected a finite value >= 1, got nan"):
        optim.quadratic(condition_number=float("nan"))
    with pytest.raises(ValueError, match=r"optim.quadratic: argument `dim` expected an integer >= 1, got 0"):
        optim.quadratic(condition_number=2.0, dim=0)
    with pytest.raises(ValueError, match=r"argument `minimiser` expected shape \(2,\), got '?shape \(3,\)"):
        optim.quadratic(condition_number=2.0, minimiser=jnp.ones(3))
    with pytest.raises(ValueError, match=r"argument `condition_number` expected 1 when dim == 1, got 5.0"):
        optim.quadratic(condition_number=5.0, dim=1)
    with pytest.raises(
        ValueError, match=r"optim.quadratic.f: argument `theta` expected shape \(2,\), got '?shape \(3,\)"
    ):
        optim.quadratic(condition_number=2.0).f(jnp.ones(3))


# --- SGD toy ----------------------------------------------------------------------------------


def test_sgd_toy_minimiser_worked():
    """By hand: θ1* = Σ c_i x_i1 / Σ c_i = 22/12, θ2* = mean x_i2 = 7/5; SciPy's minimize agrees."""
    np.testing.assert_allclose(optim.sgd_toy_minimiser(), [11 / 6, 7 / 5], rtol=1e-15)
    res = so.minimize(lambda t: float(optim.sgd_toy(jnp.asarray(t))), [6.0, 6.0], tol=1e-12)
    np.testing.assert_allclose(res.x, [11 / 6, 7 / 5], atol=1e-6)


def test_sgd_toy_loss_worked_and_batch():
    """By hand: C_1 at θ = (6, 6) is 1·25 + 25 = 50; per-example shape (*batch,); vmap == batch == loop."""
    theta = jnp.array([6.0, 6.0])
    X, c = jnp.asarray(optim.SGD_TOY_X), jnp.asarray(optim.SGD_TOY_C)
    assert float(optim.sgd_toy_loss(theta, X[0], c[0])) == 50.0
    batch = optim.sgd_toy_loss(theta, X, c)
    assert batch.shape == (5,)
    loop = [float(optim.sgd_toy_loss(theta, X[i], c[i])) for i in range(5)]
    np.testing.assert_allclose(batch, loop, rtol=1e-15)
    np.testing.assert_allclose(jax.vmap(optim.sgd_toy_loss, (None, 0, 0))(theta, X, c), loop, rtol=1e-15)
    assert float(optim.sgd_toy(theta)) == pytest.approx(np.mean(loop), rel=1e-15)
    # analytic gradient (1/5) Σ (2 c_i (θ1 - x_i1), 2 (θ2 - x_i2))
    analytic = [np.mean(2 * optim.SGD_TOY_C * (6 - optim.SGD_TOY_X[:, 0])), np.mean(2 * (6 - optim.SGD_TOY_X[:, 1]))]
    np.testing.assert_allclose(jax.grad(optim.sgd_toy)(theta), analytic, rtol=1e-14)
    check_grads(jax.jit(optim.sgd_toy), (theta,), order=2)


_TOY_GRAD = jax.jit(jax.grad(lambda t, x, c: jnp.sum(optim.sgd_toy_loss(t, x, c))))


@settings(max_examples=20)
@given(
    st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 10)), min_size=4, max_size=4),
)
def test_sgd_toy_minimiser_zero_gradient(rows):
    """Property: for any points and positive weights, ∇ Σ C_i vanishes at the closed-form minimiser (jit == eager)."""
    x = jnp.asarray([[a, b] for a, b, _ in rows])
    c = jnp.asarray([w for _, _, w in rows])
    star = jax.jit(optim.sgd_toy_minimiser)(x, c)
    np.testing.assert_allclose(star, optim.sgd_toy_minimiser(x, c), **tol(np.float64))
    np.testing.assert_allclose(_TOY_GRAD(star, x, c), 0.0, atol=1e-10)


def test_gd_reaches_sgd_toy_minimiser():
    """MEDL Ch. 4 setup: GD from (6, 6), α = 0.01, 1000 steps reaches the closed-form minimiser."""
    traj = optim.run(optim.gd(0.01), optim.sgd_toy, jnp.array([6.0, 6.0]), steps=1000)
    np.testing.assert_allclose(traj.thetas[-1], optim.sgd_toy_minimiser(), atol=1e-6)


def test_sgd_toy_bad_inputs():
    """Bad input: wrong θ shape, x without a trailing 2, c of the wrong batch shape, integer x, non-positive weights."""
    theta = jnp.zeros(2)
    X, c = jnp.asarray(optim.SGD_TOY_X), jnp.asarray(optim.SGD_TOY_C)
    with pytest.raises(ValueError, match=r"optim.sgd_toy: argument `theta` expected shape \(2,\), got '?shape \(3,\)"):
        optim.sgd_toy(jnp.zeros(3))
    with pytest.raises(
        ValueError, match=r"optim.sgd_toy_loss: argument `x` expected shape \(\*batch, 2\), got '?shape \(5, 3\)"
    ):
        optim.sgd_toy_loss(theta, jnp.ones((5, 3)), c)
    with pytest.raises(
        ValueError, match=r"argument `c` expected shape \(5,\) \(the batch shape of `x`\), got '?shape \(4,\)"
    ):
        optim.sgd_toy_loss(theta, X, c[:4])
    with pytest.raises(TypeError, match=r"optim.sgd_toy_loss: argument `x` expected a floating-point array"):
        optim.sgd_toy_loss(theta, jnp.ones((5, 2), jnp.int32), c)
    with pytest.raises(ValueError, match=r"optim.sgd_toy_minimiser: argument `c` expected weights with a positive sum"):
        optim.sgd_toy_minimiser(X, -c)


# --- logistic regression ----------------------------------------------------------------------


def test_logistic_worked():
    """By hand: at θ = 0 every z_i = 0 so C = log 2; with huge |z| the loss stays finite (softplus form)."""
    X = jnp.array([[1.0, 2.0], [3.0, -1.0]])
    y = jnp.array([0, 1])
    assert float(optim.logistic_loss(jnp.zeros(3), X, y)) == pytest.approx(math.log(2), rel=1e-15)
    big = float(optim.logistic_loss(jnp.array([0.0, 1000.0, 0.0]), X, y))
    assert big == pytest.approx(0.5 * 1000.0, rel=1e-12)  # example 1 (y=0, z=1000) costs 1000, example 2 costs 0


def test_logistic_sklearn_oracle():
    """Oracle: scikit-learn's LogisticRegression (C = 1/(n λ)) optimum has zero gradient of our objective."""
    from sklearn.linear_model import LogisticRegression

    problem = optim.breast_cancer_logistic(l2=1e-2)
    n = problem.X.shape[0]
    clf = LogisticRegression(C=1.0 / (n * 1e-2), tol=1e-12, max_iter=10_000).fit(
        np.asarray(problem.X), np.asarray(problem.y)
    )
    theta = jnp.concatenate([jnp.asarray(clf.intercept_), jnp.asarray(clf.coef_[0])])
    assert float(jnp.linalg.norm(jax.grad(problem.f)(theta))) < 1e-6


def test_logistic_transforms():
    """Transform: grad == analytic (1/n) Σ (σ(z_i) - y_i)(1, x_i) + λ(0, w); jit == eager; check_grads order 2."""
    problem = optim.breast_cancer_logistic(l2=0.1)
    theta = jnp.linspace(-0.2, 0.2, 31)
    z = np.asarray(problem.X) @ np.asarray(theta[1:]) + float(theta[0])
    r = 1 / (1 + np.exp(-z)) - np.asarray(problem.y)
    analytic = np.concatenate([[r.mean()], np.asarray(problem.X).T @ r / len(r) + 0.1 * np.asarray(theta[1:])])
    np.testing.assert_allclose(jax.grad(problem.f)(theta), analytic, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jax.jit(problem.f)(theta), problem.f(theta), **tol(np.float64))
    check_grads(jax.jit(problem.f), (theta,), order=2, modes=["rev"])
    assert problem.X.shape == (569, 30) and problem.theta0.shape == (31,)
    np.testing.assert_allclose(np.asarray(problem.X).mean(0), 0, atol=1e-10)


def test_logistic_convex():
    """Property (MEDL Ch. 3: the logistic log-likelihood is concave): the Hessian of C is positive semidefinite,
    and positive definite with λ > 0 (smallest eigenvalue >= λ on the weight block)."""
    for l2 in (0.0, 0.05):
        problem = optim.breast_cancer_logistic(l2=l2)
        H = np.asarray(jax.jit(jax.hessian(problem.f))(jnp.linspace(-1.0, 1.0, 31)))
        eig = np.linalg.eigvalsh(H)
        assert eig.min() >= -1e-12
    assert eig.min() > 0


def test_logistic_bad_inputs():
    """Bad input: θ length != p+1, y length != n, negative λ, integer X, rank-2 θ."""
    X, y = jnp.ones((4, 2)), jnp.array([0, 1, 0, 1])
    with pytest.raises(
        ValueError, match=r"optim.logistic_loss: argument `X` expected shape \(\*, 3\), got '?shape \(4, 2\)"
    ):
        optim.logistic_loss(jnp.zeros(4), X, y)
    with pytest.raises(ValueError, match=r"argument `y` expected shape \(4,\), got '?shape \(3,\)"):
        optim.logistic_loss(jnp.zeros(3), X, y[:3])
    with pytest.raises(ValueError, match=r"argument `l2` expected a value >= 0, got -1.0"):
        optim.logistic_loss(jnp.zeros(3), X, y, l2=-1.0)
    with pytest.raises(TypeError, match=r"argument `X` expected a floating-point array"):
        optim.logistic_loss(jnp.zeros(3), jnp.ones((4, 2), jnp.int32), y)
    with pytest.raises(ValueError, match=r"argument `theta` expected rank 1"):
        optim.logistic_loss(jnp.zeros((3, 1)), X, y)
    with pytest.raises(ValueError, match=r"optim.breast_cancer_logistic: argument `l2` expected a value >= 0"):
        optim.breast_cancer_logistic(l2=-0.5)
