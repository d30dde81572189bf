"""Robustness of the second-order solvers on badly scaled problems: they never lose ground.

Three failure modes, each pinned by a problem of Moré, Garbow & Hillstrom (1981):

* a failed line search must not hand back a worse point (Brown's badly scaled function);
* the first quasi-Newton step must be scaled, or it leaps to where the model underflows and
  the gradient is exactly zero (Jennrich-Sampson);
* Newton at the round-off floor must stop, not spin to ``max_iter`` (Brown's badly scaled function).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import optim

X0_BROWN = jnp.array([1.0, 1.0])
X0_JENNRICH = jnp.array([0.3, 0.4])
JENNRICH_MIN = 124.362  # MGH (1981), problem 6, m = 10: f* = 124.362 at x1 = x2 = 0.2578


def _brown(x):
    """Brown's badly scaled function: minimum 0 at (1e6, 2e-6); f(1, 1) = (1e6 - 1)² + (1 - 2e-6)² + 1."""
    return (x[0] - 1e6) ** 2 + (x[1] - 2e-6) ** 2 + (x[0] * x[1] - 2.0) ** 2


def _jennrich(x):
    """Jennrich-Sampson, m = 10: Σ (2 + 2i − e^{i x₁} − e^{i x₂})²; its gradient underflows to 0 far from x0."""
    i = jnp.arange(1.0, 11.0)
    return jnp.sum((2.0 + 2.0 * i - jnp.exp(i * x[0]) - jnp.exp(i * x[1])) ** 2)


_SOLVE = {
    (name, problem): jax.jit(lambda x0, fn=getattr(optim, name), f=f: fn(f, x0))
    for name in ("bfgs", "lbfgs", "newton", "newton_cg")
    for problem, f in (("brown", _brown), ("jennrich", _jennrich))
}


def _values(res):
    return np.asarray(res.trace.value[: int(res.n_iter) + 1])


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs", "newton", "newton_cg"])
def test_brown_badly_scaled_never_worse_than_x0(solver):
    """Worked value: f(1, 1) = 999998000003.000004 ≈ 1e12; every solver returns a point at least that good
    with a non-increasing trace, and reaches the minimiser (1e6, 2e-6) (SciPy's BFGS does, in 16 iterations)."""
    res = _SOLVE[(solver, "brown")](X0_BROWN)
    f0 = float(_brown(X0_BROWN))
    assert f0 == pytest.approx(999998000003.000004, rel=1e-15)
    assert float(res.value) <= f0
    assert np.all(np.diff(_values(res)) <= 0.0), _values(res)
    assert int(res.status) == optim.CONVERGED, int(res.status)
    np.testing.assert_allclose(np.asarray(res.x), [1e6, 2e-6], rtol=1e-8)


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs"])
def test_jennrich_sampson_first_step_is_scaled(solver):
    """Oracle (MGH 1981 and SciPy's BFGS, which reaches it in 19 iterations): from (0.3, 0.4), where
    ‖∇f‖ = 9.4e4, the quasi-Newton methods reach f* = 124.362, not the underflow plateau f = Σ(2+2i)² = 2020."""
    res = _SOLVE[(solver, "jennrich")](X0_JENNRICH)
    g0 = float(jnp.linalg.norm(jax.grad(_jennrich)(X0_JENNRICH)))
    assert 9.3e4 < g0 < 9.5e4
    # the first accepted step is at most as long as SciPy's, about 1/‖g0‖ times the gradient
    assert float(jnp.linalg.norm(res.trace.x[1] - X0_JENNRICH)) <= 1.01 + 1e-12
    assert int(res.status) == optim.CONVERGED
    np.testing.assert_allclose(float(res.value), JENNRICH_MIN, rtol=1e-5)  # f* is published to 6 digits
    np.testing.assert_allclose(np.asarray(res.x), [0.2578, 0.2578], atol=1e-4)


@jax.custom_jvp
def _flat(x):
    """f = 0 everywhere, with a spurious gradient (1, 0) at x₀ = (1, 1) only (0 elsewhere)."""
    return 0.0 * jnp.sum(x)


@_flat.defjvp
def _flat_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    at_x0 = jnp.all(x == 1.0)
    return _flat(x), jnp.where(at_x0, 1.0, 0.0) * dx[0]


@pytest.mark.parametrize("solver", ["bfgs", "lbfgs", "newton", "newton_cg"])
def test_no_convergence_claim_without_decrease(solver):
    """Status: on a flat f whose gradient is non-zero only at x0, any step reaches ∇f = 0 but f(x) = f(x0);
    that is no progress, never CONVERGED."""
    res = getattr(optim, solver)(_flat, jnp.array([1.0, 1.0]))
    assert int(res.status) == optim.NO_PROGRESS, int(res.status)
    assert float(res.value) == 0.0


def test_newton_stops_at_the_round_off_floor():
    """Worked run: Newton reaches (1e6, 2e-6) in 9 iterations, where ‖∇f‖ ≈ 1.8e-10 is rounding noise
    above tol = 1e-10 and no step changes x; it must stop there (relative step test), not spend
    max_iter = 1000 iterations and 4e4 evaluations."""
    res = jax.jit(lambda x0: optim.newton(_brown, x0, max_iter=1000))(X0_BROWN)
    assert int(res.status) == optim.CONVERGED
    assert int(res.n_iter) <= 12 and int(res.n_fev) <= 40, (int(res.n_iter), int(res.n_fev))
    np.testing.assert_allclose(np.asarray(res.x), [1e6, 2e-6], rtol=1e-12)


@pytest.mark.parametrize("solver", ["gauss_newton", "levenberg_marquardt"])
def test_least_squares_stop_at_the_round_off_floor(solver):
    """The same floor for the least-squares solvers on Brown's residuals (x₁ − 1e6, x₂ − 2e-6, x₁x₂ − 2):
    they stop within a few iterations of reaching it rather than running to max_iter."""

    def r(x):
        return jnp.stack([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])

    res = jax.jit(lambda x0: getattr(optim, solver)(r, x0, max_iter=1000))(X0_BROWN)
    assert int(res.status) == optim.CONVERGED, int(res.status)
    assert int(res.n_iter) <= 40, int(res.n_iter)
    np.testing.assert_allclose(np.asarray(res.x), [1e6, 2e-6], rtol=1e-12)
