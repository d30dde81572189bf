"""Tests of mathdl.rl dynamic programming on finite MDPs ([MEDL] Sec. 8.4; Sutton & Barto Ch. 4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import rl
from mathdl.rl import envs
from tests._tolerances import tol


def _random_mdp(seed, S=5, A=3):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(-1, keepdims=True)
    return P, rng.normal(size=(S, A))


def _np_value_iteration(P, r, gamma, tol_, max_iters=10_000):
    """A loop oracle: V(s) <- max_a [r(s, a) + gamma sum_s' P(s'|s, a) V(s')], state by state."""
    S, A, _ = P.shape
    V = np.zeros(S)
    for k in range(max_iters):
        new = np.array(
            [max(r[s, a] + gamma * sum(P[s, a, t] * V[t] for t in range(S)) for a in range(A)) for s in range(S)]
        )
        delta = np.max(np.abs(new - V))
        V = new
        if delta <= tol_:
            return V, k + 1
    return V, max_iters


def _np_policy_iteration(P, r, gamma):
    S, A, _ = P.shape
    pi = np.zeros(S, int)
    while True:
        P_pi = P[np.arange(S), pi]
        V = np.linalg.solve(np.eye(S) - gamma * P_pi, r[np.arange(S), pi])
        Q = r + gamma * P @ V
        new = np.where(Q.max(1) > Q[np.arange(S), pi] + 1e-12, Q.argmax(1), pi)
        if (new == pi).all():
            return V, pi
        pi = new


# --- worked values ---------------------------------------------------------------------------------


def test_two_state_worked_example(transform):
    m = envs.two_state_mdp(0.9).mdp
    Q_star = np.array([[17.2, 18.0], [20.0, 16.2]])
    for res in (
        transform(lambda P, r: rl.value_iteration(P, r, 0.9, tol=1e-12))(m.P, m.r),
        transform(lambda P, r: rl.policy_iteration(P, r, 0.9))(m.P, m.r),
    ):
        np.testing.assert_allclose(res.V, [18.0, 20.0], rtol=1e-10)
        np.testing.assert_allclose(res.Q, Q_star, rtol=1e-10)
        np.testing.assert_array_equal(res.policy, [1, 0])
        assert bool(res.converged)
    # below gamma = 1/2 staying in state 0 is optimal: V*(0) = 1 / (1 - gamma)
    low = rl.policy_iteration(*envs.two_state_mdp(0.4).mdp)
    np.testing.assert_array_equal(low.policy, [0, 0])
    np.testing.assert_allclose(low.V, [1 / 0.6, 2 / 0.6], **tol(np.float64))


def test_gridworld_matches_russell_norvig_utilities():
    """AIMA 3rd ed. Fig. 17.3 (gamma = 1, step reward -0.04, 0.8/0.1/0.1 moves), to their 3 decimals."""
    env = envs.gridworld(gamma=1.0)
    res = rl.value_iteration(*env.mdp, tol=1e-12)
    grid = {tuple(c): float(v) for c, v in zip(env.coords, res.V, strict=True)}
    aima = {(0, 0): 0.812, (0, 1): 0.868, (0, 2): 0.918, (1, 0): 0.762, (1, 2): 0.660}
    aima |= {(2, 0): 0.705, (2, 1): 0.655, (2, 2): 0.611, (2, 3): 0.388}
    for cell, u in aima.items():
        assert abs(grid[cell] - u) < 5e-4, (cell, grid[cell], u)
    # the optimal actions of AIMA Fig. 17.2 (a): right along the top, up the left column, left at the bottom
    act = {tuple(c): int(a) for c, a in zip(env.coords, res.policy, strict=True)}
    assert act[(0, 0)] == act[(0, 1)] == act[(0, 2)] == envs.RIGHT
    assert act[(1, 0)] == act[(2, 0)] == envs.UP and act[(1, 2)] == envs.UP
    assert act[(2, 1)] == act[(2, 2)] == act[(2, 3)] == envs.LEFT


# --- oracles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_value_and_policy_iteration_match_numpy_loops(seed):
    P, r = _random_mdp(seed)
    V_np, k_np = _np_value_iteration(P, r, 0.8, 1e-10)
    res = rl.value_iteration(P, r, 0.8, tol=1e-10)
    np.testing.assert_allclose(res.V, V_np, **tol(np.float64, composite=True))
    assert int(res.iterations) == k_np
    assert np.isnan(res.residuals[k_np]) and res.residuals[k_np - 1] <= 1e-10
    V_pi, pi_np = _np_policy_iteration(P, r, 0.8)
    pi = rl.policy_iteration(P, r, 0.8)
    np.testing.assert_array_equal(pi.policy, pi_np)
    np.testing.assert_allclose(pi.V, V_pi, **tol(np.float64, composite=True))
    np.testing.assert_array_equal(res.policy, pi_np)


@pytest.mark.parametrize("make", [envs.gridworld, envs.chain_mdp], ids=["grid", "chain"])
def test_value_iteration_equals_policy_evaluation_at_the_optimum(make):
    mdp = make().mdp
    vi = rl.value_iteration(*mdp, tol=1e-12)
    by_solve = rl.policy_evaluation(*mdp, vi.policy)
    by_sweeps = rl.policy_evaluation(*mdp, vi.policy, method="iterate", tol=1e-12)
    bound = float(mdp.gamma) / (1 - float(mdp.gamma)) * 1e-12  # the stopping rule's error bound
    np.testing.assert_allclose(vi.V, by_solve.V, atol=2 * bound + 1e-12)
    np.testing.assert_allclose(by_sweeps.V, by_solve.V, atol=2 * bound + 1e-12)
    np.testing.assert_array_equal(rl.policy_iteration(*mdp).policy, vi.policy)
    # the optimal value is a fixed point of the optimality operator and of its greedy policy's operator
    np.testing.assert_allclose(rl.bellman_optimality_operator(*mdp, by_solve.V), by_solve.V, atol=1e-9)
    np.testing.assert_allclose(rl.bellman_operator(*mdp, by_solve.V, vi.policy), by_solve.V, atol=1e-9)


def test_stochastic_policy_evaluation_against_numpy():
    P, r = _random_mdp(3)
    pi = np.random.default_rng(3).dirichlet(np.ones(3), size=5)
    P_pi = np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(np.eye(5) - 0.7 * P_pi, (pi * r).sum(1))
    res = rl.policy_evaluation(P, r, 0.7, pi)
    np.testing.assert_allclose(res.V, V, **tol(np.float64, composite=True))
    np.testing.assert_allclose(res.Q, r + 0.7 * P @ V, **tol(np.float64, composite=True))
    np.testing.assert_allclose(rl.q_values(P, r, 0.7, V), r + 0.7 * P @ V, **tol(np.float64))


# --- properties -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_bellman_operators_are_gamma_contractions(seed):
    P, r = _random_mdp(seed)
    rng = np.random.default_rng(100 + seed)
    V, U = rng.normal(size=(2, 5)) * 10
    pi = rng.integers(0, 3, size=5)
    gamma = 0.85
    d = np.max(np.abs(V - U))
    TV, TU = rl.bellman_optimality_operator(P, r, gamma, V), rl.bellman_optimality_operator(P, r, gamma, U)
    assert np.max(np.abs(TV - TU)) <= gamma * d + 1e-12
    # monotone: V <= U implies TV <= TU
    low = np.minimum(V, U)
    assert np.all(rl.bellman_optimality_operator(P, r, gamma, low) <= TU + 1e-12)
    TV, TU = rl.bellman_operator(P, r, gamma, V, pi), rl.bellman_operator(P, r, gamma, U, pi)
    assert np.max(np.abs(TV - TU)) <= gamma * d + 1e-12


def test_value_iteration_residuals_and_monotone_from_zero():
    env = envs.frozen_lake(gamma=0.95)  # rewards in {0, 1}
    P, r, gamma = env.mdp
    res = rl.value_iteration(P, r, gamma, tol=1e-10)
    k = int(res.iterations)
    resid = np.asarray(res.residuals[:k])
    assert np.all(resid[1:] <= gamma * resid[:-1] + 1e-15)  # ||V_{k+1}-V_k|| <= gamma ||V_k-V_{k-1}||
    V = np.zeros(16)
    for _ in range(30):
        new = np.asarray(rl.bellman_optimality_operator(P, r, gamma, V))
        assert np.all(new >= V - 1e-15)
        V = new
    assert np.all(V <= np.asarray(res.V) + 1e-12)


# --- transforms -------------------------------------------------------------------------------------


def test_jit_and_vmap_over_gamma_and_mdps():
    P, r = _random_mdp(5)
    gammas = jnp.array([0.0, 0.5, 0.9, 0.99])
    batched = jax.jit(jax.vmap(lambda g: rl.value_iteration(P, r, g, tol=1e-10)))(gammas)
    for i, g in enumerate([0.0, 0.5, 0.9, 0.99]):
        one = rl.value_iteration(P, r, g, tol=1e-10)
        np.testing.assert_allclose(batched.V[i], one.V, **tol(np.float64, composite=True))
        np.testing.assert_array_equal(batched.policy[i], one.policy)
        assert int(batched.iterations[i]) == int(one.iterations)
    np.testing.assert_allclose(batched.V[0], r.max(1), **tol(np.float64))  # gamma = 0: greedy in r
    Ps, rs = zip(*(_random_mdp(s) for s in range(3)), strict=True)
    pis = jax.vmap(lambda P, r: rl.policy_iteration(P, r, 0.9))(jnp.asarray(np.stack(Ps)), jnp.asarray(np.stack(rs)))
    for i in range(3):
        np.testing.assert_array_equal(pis.policy[i], _np_policy_iteration(Ps[i], rs[i], 0.9)[1])


# --- bad input --------------------------------------------------------------------------------------


def test_rows_not_summing_to_one_are_refused():
    P, r = _random_mdp(0)
    P[2, 1, 0] += 0.2
    with pytest.raises(ValueError, match=r"value_iteration: argument `P`.*state 2, action 1"):
        rl.value_iteration(P, r, 0.9)
    with pytest.raises(ValueError, match=r"state 2, action 1"):
        rl.policy_evaluation(P, r, 0.9, np.zeros(5, np.int32))
    bad = jax.jit(lambda P: rl.value_iteration(P, r, 0.9, max_iters=5))(P)
    assert np.isnan(bad.V).all() and np.isnan(bad.Q).all() and (np.asarray(bad.policy) == -1).all()
    assert not bool(bad.converged)
    Pn = _random_mdp(0)[0]
    Pn[0, 0] = [1.5, -0.5, 0, 0, 0]  # sums to 1 but is negative
    with pytest.raises(ValueError, match=r"state 0, action 0"):
        rl.bellman_optimality_operator(Pn, r, 0.9, np.zeros(5))


def test_gamma_outside_unit_interval_is_refused():
    P, r = _random_mdp(0)
    for g in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"argument `gamma` expected a value in \[0.0, 1.0\]"):
            rl.value_iteration(P, r, g)
    assert np.isnan(jax.jit(lambda g: rl.value_iteration(P, r, g, max_iters=3).V)(1.5)).all()
    with pytest.raises(ValueError, match="gamma"):
        rl.policy_iteration(P, r, 2.0)


def test_shapes_that_disagree_are_refused():
    P, r = _random_mdp(0)
    with pytest.raises(ValueError, match=r"argument `r` expected shape \(S, A\) = \(5, 3\)"):
        rl.value_iteration(P, r[:, :2], 0.9)
    with pytest.raises(ValueError, match=r"argument `P` expected shape \(S, A, S\)"):
        rl.value_iteration(P[:, :, :4], r, 0.9)
    with pytest.raises(ValueError, match=r"argument `P` expected rank 3"):
        rl.policy_iteration(P[0], r, 0.9)
    with pytest.raises(ValueError, match=r"argument `policy`"):
        rl.policy_evaluation(P, r, 0.9, np.zeros(4, np.int32))
    with pytest.raises(ValueError, match=r"argument `V`"):
        rl.bellman_operator(P, r, 0.9, np.zeros(3), np.zeros(5, np.int32))
    with pytest.raises(ValueError, match=r"argument `method`"):
        rl.policy_evaluation(P, r, 0.9, np.zeros(5, np.int32), method="lstsq")
