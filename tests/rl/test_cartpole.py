"""Tests of the JAX CartPole: gymnasium's CartPole-v1 step by step, termination, truncation, vmap."""

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl.rl import envs
from tests._tolerances import tol

STEP = jax.jit(envs.cartpole_step)


def _gym():
    env = gymnasium.make("CartPole-v1").unwrapped
    env.reset(seed=0)
    return env


def test_oracle_matches_gymnasium_step_by_step_from_the_same_state(getkey):
    """Oracle: from gymnasium's own reset state, 200 random actions give the same states, rewards and
    termination as gymnasium's CartPole-v1 (float64 both sides; reset after each termination)."""
    env = _gym()
    rng = np.random.default_rng(1)
    obs, _ = env.reset(seed=3)
    state = envs.CartPoleState(jnp.asarray(env.state, jnp.float64), jnp.int32(0))
    ends = 0
    for _ in range(200):
        a = int(rng.integers(2))
        _, r, term, trunc, _ = env.step(a)
        state, obs, reward, done = STEP(state, jnp.int32(a))
        np.testing.assert_allclose(np.asarray(state.s), env.state, **tol(jnp.float64, composite=True))
        assert float(reward) == r and bool(done) == term and not trunc
        if term:
            ends += 1
            env.reset(seed=int(rng.integers(1000)))
            state = envs.CartPoleState(jnp.asarray(env.state, jnp.float64), jnp.int32(0))
    assert ends >= 3  # the random policy fails every few tens of steps, so termination was compared


@pytest.mark.parametrize("s,terminated", [
    ((2.39, 0.0, 0.0, 0.0), False), ((2.41, 0.0, 0.0, 0.0), True), ((-2.41, 0.0, 0.0, 0.0), True),
    ((0.0, 0.0, 0.2094, 0.0), False), ((0.0, 0.0, 0.2095, 0.0), True), ((0.0, 0.0, -0.2095, 0.0), True),
])  # fmt: skip
def test_worked_value_thresholds_are_12_degrees_and_2_4(s, terminated):
    """Worked value: 12 deg = 0.20944 rad and |x| = 2.4 are the limits; is_terminal reads them from the state,
    and gymnasium agrees after one step from a state with zero velocities (x and theta unchanged by Euler)."""
    state = envs.CartPoleState(jnp.asarray(s, jnp.float64), jnp.int32(0))
    assert bool(envs.cartpole.is_terminal(state)) is terminated
    env = _gym()
    env.state = np.asarray(s, np.float64)
    _, _, term, _, _ = env.step(1)
    _, _, _, done = STEP(state, jnp.int32(1))
    assert bool(done) is term is terminated


def test_property_truncation_after_500_steps_and_reset_distribution(getkey):
    """Property: a state that never falls (theta and x held inside by a balancing controller) is done at step
    500 but not terminal; reset draws each coordinate in [-0.05, 0.05]."""
    state, obs = envs.cartpole.reset(getkey())
    assert obs.shape == (4,) and bool(jnp.all(jnp.abs(obs) <= 0.05))

    def body(carry, _):
        st, done_before = carry
        s = st.s
        a = (s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.05 * s[1] > 0).astype(jnp.int32)  # a simple PD balancer
        st, _, _, done = envs.cartpole_step(st, a)
        return (st, done_before | done), done

    (final, _), dones = jax.lax.scan(body, (state, jnp.bool_(False)), None, length=500)
    assert not bool(jnp.any(dones[:-1])) and bool(dones[-1])
    assert int(final.t) == 500 and not bool(envs.cartpole.is_terminal(final))


def test_transforms_vmap_equals_a_loop(getkey):
    """Transforms: vmapped reset and step over 8 environments equal the one-environment calls."""
    keys = jax.random.split(getkey(), 8)
    states, obs = jax.vmap(envs.cartpole.reset)(jax.random.clone(keys))
    actions = jnp.arange(8, dtype=jnp.int32) % 2
    new, o, r, d = jax.vmap(envs.cartpole.step)(states, actions)
    reset = jax.jit(envs.cartpole.reset)
    for i in (0, 5):
        st, _ = reset(keys[i])
        one = STEP(st, actions[i])
        np.testing.assert_allclose(np.asarray(new.s[i]), np.asarray(one[0].s), **tol(jnp.float64))
        assert bool(d[i]) == bool(one[3])
    assert envs.cartpole.num_actions == 2 and envs.cartpole.obs_size == 4 and envs.cartpole.max_steps == 500
