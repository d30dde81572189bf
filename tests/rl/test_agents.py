"""Tests of the agents as train.loop steps: DQN, REINFORCE, A2C; evaluation; resume; the finite environments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import rl, train
from mathdl.rl import envs


def _init(fn):
    """An agent's init under jit (eagerly each small op would compile on its own)."""
    return jax.jit(fn, static_argnums=(1, 2))


DQN_INIT, A2C_INIT, REINFORCE_INIT = _init(rl.dqn_init), _init(rl.a2c_init), _init(rl.reinforce_init)
SMALL_DQN = rl.DQNConfig(hidden=(8,), num_envs=2, buffer_size=64, batch_size=8, learn_start=4, target_every=5)


@pytest.fixture(scope="module")
def dqn_step():
    return rl.make_dqn_step(envs.cartpole, SMALL_DQN)


def test_property_dqn_step_keeps_the_state_contract_on_the_gridworld():
    """Property: on the finite gridworld (one-hot observations; it resets itself) each DQN step adds num_envs
    transitions, keeps every leaf's shape and dtype, learns once 4 transitions are stored, and the buffer holds
    discount 0 exactly where the reached state is terminal, gamma elsewhere."""
    env = envs.gridworld(onehot=True)
    cfg = SMALL_DQN._replace(num_envs=4)
    state = DQN_INIT(jax.random.key(7), env, cfg)
    step = jax.jit(rl.make_dqn_step(env, cfg))
    first = state
    for t in range(8):
        state, m = step(state, None, jax.random.key(t))
    assert int(state.buffer.index) == 32 and int(state.buffer.size) == 32 and int(state.t) == 8
    assert jax.tree.map(lambda a, b: (a.shape, a.dtype), first, state) == jax.tree.map(
        lambda a: (a.shape, a.dtype), first
    )
    assert bool(jnp.isfinite(m["loss"])) and float(m["epsilon"]) < 1.0
    assert not np.array_equal(np.asarray(first.params[0].W), np.asarray(state.params[0].W))
    items = state.buffer.items
    terminal = np.asarray(env.terminal)[np.argmax(np.asarray(items["next_obs"][:32]), axis=1)]
    d = np.asarray(items["discount"][:32])
    np.testing.assert_array_equal(d == 0, terminal)
    assert set(np.round(d, 6).tolist()) <= {0.0, 0.99}


def test_property_loop_resumes_dqn_bitwise(dqn_step, tmp_path):
    """Property: 10 DQN steps through train.loop with a checkpoint at step 5, then the same call to 10 steps in
    a second run from that checkpoint, end bitwise equal to an uninterrupted 10-step run (replay buffer, target
    network, environments and optimizer included)."""
    init = DQN_INIT(jax.random.key(1), envs.cartpole, SMALL_DQN)
    kw = {"key": jax.random.key(2), "progress": False, "log_every": 5}
    whole = train.loop(dqn_step, init, steps=10, **kw)
    train.loop(dqn_step, init, steps=5, checkpoint_dir=tmp_path, checkpoint_every=5, **kw)
    resumed = train.loop(dqn_step, init, steps=10, checkpoint_dir=tmp_path, checkpoint_every=5, **kw)
    assert resumed.step == 10
    assert train.tree_digest(resumed.state) == train.tree_digest(whole.state)


def test_transforms_evaluate_equals_greedy_episodes_one_by_one():
    """Transforms: evaluate's vmapped episodes equal greedy_episode's summed live rewards per start key; an
    untrained CartPole episode lasts between 8 and 500 steps."""
    params = DQN_INIT(jax.random.key(3), envs.cartpole, SMALL_DQN).params
    key = jax.random.key(4)
    got = jax.jit(lambda p, k: rl.evaluate(envs.cartpole, p, k, num_episodes=3))(params, jax.random.clone(key))
    states, _ = jax.vmap(envs.cartpole.reset)(jax.random.split(key, 3))
    assert got.shape == (3,) and bool(jnp.all((got >= 8) & (got <= 500)))
    episode = jax.jit(lambda p, k: rl.greedy_episode(envs.cartpole, p, k))
    for i, k in enumerate(jax.random.split(jax.random.clone(key), 3)):
        _, rewards, live = episode(params, k)
        assert float(jnp.sum(jnp.where(live, rewards, 0.0))) == float(got[i])


def test_property_a2c_step_through_the_loop():
    """Property: three A2C updates (4 environments x 8 steps) through train.loop keep the state's structure, log
    finite losses and a positive entropy (at most ln 2 for two actions), and move the policy."""
    cfg = rl.A2CConfig(hidden=(8,), num_envs=4, rollout=8)
    state = A2C_INIT(jax.random.key(0), envs.cartpole, cfg)
    res = train.loop(rl.make_a2c_step(envs.cartpole, cfg), state, key=jax.random.key(1), steps=3, log_every=3,
                     progress=False)  # fmt: skip
    (h,) = [h for h in res.history if "loss" in h]
    assert np.isfinite(h["loss"]) and 0 < h["entropy"] <= np.log(2) + 1e-12
    assert jax.tree.structure(res.state) == jax.tree.structure(state) and int(res.state.t) == 3
    assert not np.array_equal(np.asarray(res.state.params[0].W), np.asarray(state.params[0].W))


def test_property_reinforce_step_on_whole_episodes():
    """Property: a REINFORCE step runs num_envs whole episodes from fresh starts (returns between 8 and 500 on
    CartPole), and its update changes both the policy and the baseline."""
    cfg = rl.ReinforceConfig(hidden=(8,), num_envs=3)
    state = REINFORCE_INIT(jax.random.key(5), envs.cartpole, cfg)
    new, m = jax.jit(rl.make_reinforce_step(envs.cartpole, cfg))(state, None, jax.random.key(6))
    assert 8 <= float(m["return"]) <= 500 and bool(jnp.isfinite(m["loss"]))
    for a, b in ((state.params, new.params), (state.critic, new.critic)):
        assert not np.array_equal(np.asarray(a[0].W), np.asarray(b[0].W))


def test_bad_input_index_observations_and_episode_count():
    """Bad input: a finite environment with index observations is refused (the networks take vectors); so is
    evaluate with no episodes."""
    with pytest.raises(ValueError, match="onehot=True"):
        rl.dqn_init(jax.random.key(0), envs.gridworld(), SMALL_DQN)
    params = DQN_INIT(jax.random.key(0), envs.cartpole, SMALL_DQN).params
    with pytest.raises(ValueError, match="rl.evaluate: argument `num_episodes` expected a positive int, got 0."):
        rl.evaluate(envs.cartpole, params, jax.random.key(1), num_episodes=0)
