"""Tests of mathdl.rl tabular learning: TD/Q/SARSA/double-Q errors against rlax, epsilon-greedy against distrax,
and the learners on finite environments ([MEDL] Sec. 8.4; Sutton & Barto Ch. 5-7, 12)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import rl
from mathdl.rl import envs
from tests._tolerances import tol


def _quiet_import(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return pytest.importorskip(name)


def _batch(seed, n=16, A=4):
    rng = np.random.default_rng(seed)
    return dict(
        q_tm1=rng.normal(size=(n, A)),
        a_tm1=rng.integers(0, A, size=n).astype(np.int32),
        r_t=rng.normal(size=n),
        discount_t=rng.choice([0.0, 0.9], size=n),
        q_t=rng.normal(size=(n, A)),
        q_sel=rng.normal(size=(n, A)),
        a_t=rng.integers(0, A, size=n).astype(np.int32),
    )


# --- one transition ---------------------------------------------------------------------------------


def test_worked_errors():
    q_tm1, q_t = jnp.array([1.0, 2.0, 3.0]), jnp.array([0.5, 4.0, -1.0])
    assert float(rl.td0_error(1.0, 0.5, 0.9, 2.0)) == pytest.approx(0.5 + 1.8 - 1.0)
    assert float(rl.q_learning_error(q_tm1, 0, 1.0, 0.5, q_t)) == pytest.approx(1.0 + 2.0 - 1.0)
    assert float(rl.sarsa_error(q_tm1, 2, 1.0, 0.5, q_t, 0)) == pytest.approx(1.0 + 0.25 - 3.0)
    # the selector picks action 0, the value table is q_t: 1 + 0.5 * 0.5 - 2
    sel = jnp.array([9.0, 0.0, 0.0])
    assert float(rl.double_q_learning_error(q_tm1, 1, 1.0, 0.5, q_t, sel)) == pytest.approx(1.0 + 0.25 - 2.0)
    np.testing.assert_allclose(rl.epsilon_greedy_probs(jnp.array([1.0, 3.0, 3.0, 0.0]), 0.2), [0.05, 0.45, 0.45, 0.05])
    np.testing.assert_array_equal(
        rl.episode_returns(jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]), jnp.array([False, True, False, False, True])),
        [np.nan, 3.0, np.nan, np.nan, 12.0],
    )


def test_errors_match_rlax():
    rlax = _quiet_import("rlax")
    b = _batch(0)
    mine = jax.jit(
        lambda b: (
            jax.vmap(rl.td0_error)(b["q_tm1"][:, 0], b["r_t"], b["discount_t"], b["q_t"][:, 0]),
            jax.vmap(rl.q_learning_error)(b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"]),
            jax.vmap(rl.sarsa_error)(b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"], b["a_t"]),
            jax.vmap(rl.double_q_learning_error)(
                b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"], b["q_sel"]
            ),
        )
    )(b)
    theirs = (
        jax.vmap(rlax.td_learning)(b["q_tm1"][:, 0], b["r_t"], b["discount_t"], b["q_t"][:, 0]),
        jax.vmap(rlax.q_learning)(b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"]),
        jax.vmap(rlax.sarsa)(b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"], b["a_t"]),
        jax.vmap(rlax.double_q_learning)(b["q_tm1"], b["a_tm1"], b["r_t"], b["discount_t"], b["q_t"], b["q_sel"]),
    )
    for m, t in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(m, t, **tol(np.float64))


def test_epsilon_greedy_matches_distrax_and_samples_it():
    distrax = _quiet_import("distrax")
    q = np.array([[0.0, 1.0, 1.0, -2.0], [3.0, 0.0, 0.0, 0.0]])
    for eps in (0.0, 0.1, 1.0):
        with jax.numpy_dtype_promotion("standard"):  # distrax mixes dtypes inside
            theirs = distrax.EpsilonGreedy(q, eps).probs
        np.testing.assert_allclose(rl.epsilon_greedy_probs(q, eps), theirs, atol=1e-12)
    n = 4000
    draws = jax.jit(jax.vmap(lambda k: rl.epsilon_greedy(k, jnp.asarray(q[0]), 0.3)))(
        jax.random.split(jax.random.key(0), n)
    )
    freq = np.bincount(np.asarray(draws), minlength=4) / n
    p = np.asarray(rl.epsilon_greedy_probs(q[0], 0.3))
    assert np.all(np.abs(freq - p) <= 4 * np.sqrt(p * (1 - p) / n))


# --- learners ---------------------------------------------------------------------------------------


def test_q_learning_reaches_the_optimal_policy_on_the_gridworld():
    env = envs.gridworld(slip=0.0, gamma=0.9)
    mdp = env.mdp
    opt = rl.value_iteration(*mdp)
    start = int(np.argmax(env.initial))
    run = jax.jit(jax.vmap(lambda k: rl.q_learning(k, env, num_steps=5000, alpha=0.5, epsilon=0.3)))
    res = run(jax.random.split(jax.random.key(0), 4))
    assert res.values.shape == (4, env.num_states, 4)
    for Q in res.values:
        greedy = jnp.argmax(Q, -1).astype(jnp.int32)
        V = rl.policy_evaluation(*mdp, greedy).V  # ties in Q* allowed: the greedy policy's value is V*
        np.testing.assert_allclose(V, opt.V, atol=1e-9)
        np.testing.assert_allclose(np.asarray(Q).max(-1)[start], np.asarray(opt.V)[start], atol=1e-3)
    # the per-seed streams differ, and every step's reward is the environment's
    assert not np.array_equal(res.rewards[0], res.rewards[1])
    assert set(np.round(np.unique(res.rewards), 6)) <= {-0.04, 0.96, -1.04}


def test_control_on_the_two_state_example():
    """SARSA and double Q-learning find pi* = (move, stay), and double Q-learning Q* on its path (with less
    exploration, epsilon = 0.1, some seeds keep staying in state 0 and never learn state 1)."""
    env = envs.two_state_mdp(0.9)
    keys = jax.random.split(jax.random.key(5), 3)

    def learn(k):
        k1, k2 = jax.random.split(k)
        kw = dict(num_steps=3000, alpha=0.2, epsilon=0.3)
        return rl.sarsa(k1, env, **kw).values, rl.double_q_learning(k2, env, **kw).values

    s, d = jax.jit(jax.vmap(learn))(keys)
    for Q in (s, d):
        np.testing.assert_array_equal(jnp.argmax(Q, -1), np.tile([1, 0], (3, 1)))
    np.testing.assert_allclose(d[:, :, 1], np.broadcast_to([18.0, 16.2], (3, 2)), atol=0.05)  # Q* on the greedy path


def test_evaluation_learners_approach_v_pi():
    """TD(lambda) and every-visit Monte Carlo of a fixed policy on the slippery gridworld (TD(0) and replacing
    traces are the same code path, checked against it below)."""
    env = envs.gridworld(gamma=0.9)
    pi = rl.value_iteration(*env.mdp).policy
    V_pi = np.asarray(rl.policy_evaluation(*env.mdp, pi).V)

    def learn(k):
        k1, k2 = jax.random.split(k)
        alpha = lambda t: 0.2 / (1.0 + t.astype(jnp.float64) / 2000.0)  # noqa: E731  (a decaying step size)
        return (
            rl.td_lambda(k1, env, pi, num_steps=6000, alpha=alpha, lambda_=0.8).values,
            rl.mc_evaluation(k2, env, pi, num_steps=6000).values,
        )

    outs = jax.jit(jax.vmap(learn))(jax.random.split(jax.random.key(6), 4))
    visited = np.asarray(~env.terminal)
    for V in outs:
        mean = np.asarray(V).mean(0)  # averaged over the 4 seeds
        # Monte Carlo estimates of 4 seeds x 6000 steps; the rarely visited corner (2, 2) is the worst
        assert np.max(np.abs(mean - V_pi)[visited]) < 0.15, (mean, V_pi)


def test_td_lambda_zero_is_td0_and_traces_agree_without_revisits():
    env = envs.chain_mdp(slip=0.0)  # with "forward" every state until the end is visited once
    pi = jnp.zeros((5,), jnp.int32)
    V0 = jnp.arange(5.0)

    def runs(key):
        ks = [jax.random.clone(key) for _ in range(3)] + [key]
        return (
            rl.td0(ks[0], env, pi, num_steps=4, alpha=0.5, V0=V0),
            rl.td_lambda(ks[1], env, pi, num_steps=4, alpha=0.5, lambda_=0.0, V0=V0),
            rl.td_lambda(ks[2], env, pi, num_steps=4, alpha=0.5, lambda_=0.7, traces="replacing", V0=V0),
            rl.td_lambda(ks[3], env, pi, num_steps=4, alpha=0.5, lambda_=0.7, V0=V0),
        )

    a, b, c, d = jax.jit(runs)(jax.random.key(7))
    np.testing.assert_allclose(a.values, b.values, **tol(np.float64))
    np.testing.assert_allclose(c.values, d.values, **tol(np.float64))
    # by hand: V0 = (0, 1, 2, 3, 4) and 0 -> 1 -> 2 -> 3 -> 4 with reward 0 and gamma = 0.9, so TD(0)'s
    # errors are 0.9 V0(s + 1) - V0(s) and V(s) = V0(s) + 0.5 * (0.9 V0(s + 1) - V0(s))
    np.testing.assert_allclose(a.errors[0], 0.9 * 1.0 - 0.0, **tol(np.float64))
    np.testing.assert_allclose(a.values[:4], [0.45, 1.4, 2.35, 3.3], **tol(np.float64))


def test_bad_learner_inputs_are_refused():
    env = envs.two_state_mdp()
    key = jax.random.key(8)
    with pytest.raises(ValueError, match=r"q_learning: argument `num_steps`"):
        rl.q_learning(key, env, num_steps=0)
    with pytest.raises(ValueError, match=r"sarsa: argument `gamma`"):
        rl.sarsa(key, env, num_steps=5, gamma=1.5)
    with pytest.raises(ValueError, match=r"argument `Q0`"):
        rl.double_q_learning(key, env, num_steps=5, Q0=jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"td_lambda: argument `policy`"):
        rl.td_lambda(key, env, jnp.zeros((3,), jnp.int32), num_steps=5)
    with pytest.raises(ValueError, match=r"argument `lambda_`"):
        rl.td_lambda(key, env, jnp.zeros((2,), jnp.int32), num_steps=5, lambda_=1.2)
    with pytest.raises(ValueError, match=r"argument `traces`"):
        rl.td_lambda(key, env, jnp.zeros((2,), jnp.int32), num_steps=5, traces="dutch")


def test_vmap_over_seeds_equals_one_seed_at_a_time():
    env = envs.two_state_mdp()
    keys = jax.random.split(jax.random.key(9), 2)
    f = jax.jit(lambda k: rl.q_learning(k, env, num_steps=40, alpha=0.3, epsilon=0.3))
    batched = jax.jit(jax.vmap(f))(jax.random.clone(keys))
    for i in range(2):
        one = f(keys[i])
        np.testing.assert_allclose(batched.values[i], one.values, **tol(np.float64))
        np.testing.assert_array_equal(batched.rewards[i], one.rewards)
    assert not np.array_equal(batched.rewards[0], batched.rewards[1])
