"""Tests of mathdl.rl.envs finite environments: gridworld, lake, chain, two-state ([MEDL] Sec. 8.4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl.rl import envs


def _gym_table(name, **kw):
    gym = pytest.importorskip("gymnasium")
    env = gym.make(name, **kw).unwrapped
    S, A = env.observation_space.n, env.action_space.n
    P, R = np.zeros((S, A, S)), np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for p, s2, rew, _ in env.P[s][a]:
                P[s, a, s2] += p
                R[s, a, s2] = rew
    return P, (P * R).sum(-1)


@pytest.mark.parametrize("size", ["4x4", "8x8"])
@pytest.mark.parametrize("slippery", [True, False])
def test_frozen_lake_matches_gymnasium(size, slippery):
    P, r = _gym_table("FrozenLake-v1", map_name=size, is_slippery=slippery)
    lake = envs.frozen_lake(envs.LAKE_4X4 if size == "4x4" else envs.LAKE_8X8, slippery=slippery)
    np.testing.assert_allclose(lake.P, P, atol=1e-12)
    np.testing.assert_allclose(lake.mdp.r, r, atol=1e-12)
    assert float(lake.initial[0]) == 1.0


def test_gridworld_structure():
    env = envs.gridworld()
    assert env.num_states == 11 and env.num_actions == 4 and env.shape == (3, 4)
    assert (1, 1) not in {tuple(c) for c in env.coords}  # the wall is no state
    np.testing.assert_allclose(env.P.sum(-1), 1.0, atol=1e-12)
    start = int(np.argmax(env.initial))
    assert tuple(env.coords[start]) == (2, 0)
    goal = [i for i, c in enumerate(env.coords) if tuple(c) == (0, 3)][0]
    assert bool(env.terminal[goal]) and float(env.P[goal, 0, goal]) == 1.0 and float(env.mdp.r[goal].sum()) == 0.0
    # from (0, 2) RIGHT: 0.8 to the goal (+1 - 0.04), 0.1 up (bumps, stays), 0.1 down to (1, 2)
    s = [i for i, c in enumerate(env.coords) if tuple(c) == (0, 2)][0]
    np.testing.assert_allclose(env.P[s, envs.RIGHT, goal], 0.8, atol=1e-12)
    np.testing.assert_allclose(env.P[s, envs.RIGHT, s], 0.1, atol=1e-12)
    np.testing.assert_allclose(env.mdp.r[s, envs.RIGHT], 0.8 * 0.96 - 0.2 * 0.04, atol=1e-12)


def test_step_frequencies_match_P():
    env = envs.gridworld()
    s0 = [i for i, c in enumerate(env.coords) if tuple(c) == (2, 1)][0]
    n = 2000
    states, _ = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), n))
    states = states._replace(s=jnp.full((n,), s0, jnp.int32), last=jnp.full((n,), s0, jnp.int32))
    new, obs, reward, done = jax.jit(jax.vmap(env.step))(states, jnp.full((n,), envs.UP, jnp.int32))
    freq = np.bincount(np.asarray(obs), minlength=env.num_states) / n
    p = np.asarray(env.P[s0, envs.UP])
    assert np.all(np.abs(freq - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12)  # 4 standard errors
    np.testing.assert_allclose(reward, -0.04, atol=1e-12)
    assert not np.asarray(done).any() and (np.asarray(new.t) == 1).all()


def test_rollout_auto_resets_and_truncates():
    env = envs.frozen_lake(max_steps=6)
    state, obs = env.reset(jax.random.key(1))

    def body(state, a):
        new, obs, r, d = env.step(state, a)
        return new, (state.s, new.s, new.last, new.last_terminal, new.t, r, d)

    actions = jax.random.randint(jax.random.key(2), (300,), 0, 4).astype(jnp.int32)
    _, (s, s_new, last, last_term, t, r, d) = jax.jit(lambda st, a: jax.lax.scan(body, st, a))(state, actions)
    s, s_new, last, last_term, t, d = map(np.asarray, (s, s_new, last, last_term, t, d))
    term = np.asarray(env.terminal)
    assert d.any()
    assert np.all(s_new[d] == 0) and np.all(t[d] == 0)  # a fresh episode starts at S = state 0
    assert np.all(last_term == term[last])
    assert np.all(d >= last_term)  # a termination ends the episode
    truncated = d & ~last_term
    assert truncated.any() and np.all(t[np.flatnonzero(truncated) - 1] == 5)  # the 6th step truncates
    np.testing.assert_array_equal(np.asarray(r) > 0, last == 15)  # reward 1 exactly on entering G
    assert not np.any(term[s])  # a terminal state is never acted from


def test_same_state_same_transition_and_onehot():
    env = envs.chain_mdp(onehot=True)
    state, obs = env.reset(jax.random.key(3))
    np.testing.assert_array_equal(obs, np.eye(5)[0])
    assert env.obs_shape == (5,) and obs.dtype == env.P.dtype
    twin = state._replace(key=jax.random.clone(state.key))
    step = jax.jit(env.step)
    a = step(state, 0)
    b = step(twin, 0)
    for x, y in zip(jax.tree.leaves(a[1:]), jax.tree.leaves(b[1:]), strict=True):
        np.testing.assert_array_equal(x, y)


def test_two_state_and_chain_values():
    m = envs.two_state_mdp(0.9).mdp
    np.testing.assert_array_equal(m.r, [[1.0, 0.0], [2.0, 0.0]])
    chain = envs.chain_mdp(slip=0.0).mdp
    np.testing.assert_array_equal(chain.r[:, 1], 2.0)
    assert float(chain.r[4, 0]) == 10.0 and float(chain.P[4, 0, 4]) == 1.0


def test_bad_environments_are_refused():
    P = np.full((2, 2, 2), 0.5)
    P[1, 0] = [0.7, 0.7]
    with pytest.raises(ValueError, match=r"finite_env: argument `P`.*state 1, action 0"):
        envs.finite_env(P, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"argument `R` expected shape"):
        envs.finite_env(np.full((2, 2, 2), 0.5), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"argument `gamma`"):
        envs.finite_env(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), gamma=1.1)
    with pytest.raises(ValueError, match=r"argument `initial`"):
        envs.finite_env(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), initial=[0.3, 0.3])
    with pytest.raises(ValueError, match=r"argument `layout`"):
        envs.gridworld(("...", ".."))
    with pytest.raises(ValueError, match=r"argument `slip`"):
        envs.gridworld(slip=1.5)
    with pytest.raises(ValueError, match=r"argument `n`"):
        envs.chain_mdp(1)
