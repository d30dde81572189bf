"""Tests of the JAX MountainCar and Acrobot against gymnasium's MountainCar-v0 and Acrobot-v1."""

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from mathdl.rl import envs
from tests._tolerances import tol


def _compare(name, env_jax, n_steps, seed, to_state):
    env = gymnasium.make(name).unwrapped
    env.reset(seed=seed)
    step = jax.jit(env_jax.step)
    rng = np.random.default_rng(seed)
    state = envs.ClassicState(jnp.asarray(np.asarray(env.state, np.float64)), jnp.int32(0))
    terms = 0
    for _ in range(n_steps):
        a = int(rng.integers(env_jax.num_actions))
        o_ref, r, term, _, _ = env.step(a)
        state, obs, reward, done = step(state, jnp.int32(a))
        np.testing.assert_allclose(np.asarray(state.s), np.asarray(env.state, np.float64),
                                   **tol(jnp.float64, composite=True))  # fmt: skip
        np.testing.assert_allclose(np.asarray(obs, np.float32), o_ref, rtol=1e-6, atol=1e-6)  # gym rounds to f32
        assert float(reward) == r and bool(done) == (term or int(state.t) >= env_jax.max_steps)
        if bool(done):
            terms += 1
            env.reset(seed=int(rng.integers(1000)))
            state = envs.ClassicState(jnp.asarray(np.asarray(env.state, np.float64)), jnp.int32(0))
    return terms


def test_oracle_mountain_car_matches_gymnasium_step_by_step():
    """Oracle: 300 random actions give gymnasium's MountainCar-v0 states and rewards (with the left wall hit)."""
    _compare("MountainCar-v0", envs.mountain_car, 300, 0, None)


def test_oracle_acrobot_matches_gymnasium_step_by_step():
    """Oracle: 300 random actions of Acrobot-v1 from gymnasium's reset state: the RK4 step, the wrapping of the
    angles and the velocity bounds agree."""
    _compare("Acrobot-v1", envs.acrobot, 300, 1, None)


def test_worked_value_mountain_car_goal_and_acrobot_height():
    """Worked value: MountainCar terminates at x >= 0.5 moving right; Acrobot at -cos t1 - cos(t1 + t2) > 1
    (t1 = pi, t2 = 0: the tip at height 2)."""
    at_goal = envs.ClassicState(jnp.array([0.49, 0.07]), jnp.int32(0))
    _, obs, r, done = envs.mountain_car.step(at_goal, jnp.int32(2))
    assert bool(done) and float(r) == -1.0 and float(obs[0]) >= 0.5
    up = envs.ClassicState(jnp.array([jnp.pi, 0.0, 0.0, 0.0]), jnp.int32(0))
    assert bool(envs.acrobot.is_terminal(up))
    assert not bool(envs.acrobot.is_terminal(envs.ClassicState(jnp.zeros(4), jnp.int32(0))))


def test_property_time_limits_and_vmap(getkey):
    """Property: MountainCar doing nothing is done at step 200 (it never reaches the goal), not terminal; vmapped
    resets of Acrobot give observations with cos^2 + sin^2 = 1."""
    state, _ = envs.mountain_car.reset(getkey())

    def body(st, _):
        st, _, _, done = envs.mountain_car.step(st, jnp.int32(1))
        return st, done

    final, dones = jax.lax.scan(body, state, None, length=200)
    assert not bool(jnp.any(dones[:-1])) and bool(dones[-1]) and not bool(envs.mountain_car.is_terminal(final))
    _, obs = jax.vmap(envs.acrobot.reset)(jax.random.split(getkey(), 5))
    np.testing.assert_allclose(np.asarray(obs[:, 0] ** 2 + obs[:, 1] ** 2), np.ones(5), **tol(jnp.float64))
