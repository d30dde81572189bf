r"""Reinforcement-learning benchmarks ([MEDL] Ch. 8, Sec. 8.4): the JAX CartPole against gymnasium's, and the
DQN and A2C training steps.

* ``cartpole_step_1024_envs``: one step of 1,024 CartPoles with random actions and auto-reset (``--quick``:
  16). ``mathdl``: ``jax.vmap`` of :data:`mathdl.rl.envs.cartpole`'s ``step`` (and ``reset`` where an
  episode ended) under ``jax.jit``; ``jax``: the same dynamics written by hand on a ``(1024, 4)`` array;
  ``loop``: gymnasium's Python ``CartPoleEnv``, the 1,024 environments stepped one after the other.
* ``cartpole_rollout_100x1024``: 100 such steps (``--quick``: 10 steps of 16). ``mathdl``: one
  ``lax.scan``; ``loop``: gymnasium's vector environment (``gymnasium.vector.SyncVectorEnv`` of
  ``CartPole-v1``, which resets ended episodes itself), one ``step`` call per time step.
  Environment steps per second = ``1024 x 100 / t``.
* ``dqn_train_step``, ``a2c_train_step``: one training step of the library's agents on CartPole with
  their default settings (DQN: act in 1 environment, store, one Adam step on a minibatch of 64; A2C:
  16 environments x 16 steps and one update), jitted, as :func:`mathdl.train.loop` runs them.

The goal for the environment: at least 100x gymnasium's Python CartPole in environment steps per
second at 1,024 parallel environments.
"""

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.bench._registry import SkipCase, register_case

_ENVS = {False: 1024, True: 16}
_STEPS = {False: 100, True: 10}


class _Box:
    def __init__(self, state):
        self.state = state


def _actions(n, seed=0):
    return jnp.asarray(np.random.default_rng(seed).integers(0, 2, n), jnp.int32)


def _mathdl_step(n):
    from mathdl.rl import envs

    env = envs.cartpole

    def one(state, action, key):
        new, obs, _, done = env.step(state, action)
        fresh, fresh_obs = env.reset(key)
        return jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, new), jnp.where(done, fresh_obs, obs)

    def step(states, actions, key):
        return jax.vmap(one)(states, actions, jax.random.split(key, n))

    states, _ = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), n))
    return step, states


def _hand_step(s, actions, key):
    """CartPole's Euler step on an (n, 4) array, written directly; ended episodes restart uniformly."""
    x, x_dot, th, th_dot = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
    force = jnp.where(actions == 1, 10.0, -10.0).astype(s.dtype)
    c, si = jnp.cos(th), jnp.sin(th)
    temp = (force + 0.05 * th_dot**2 * si) / 1.1
    th_acc = (9.8 * si - c * temp) / (0.5 * (4.0 / 3.0 - 0.1 * c**2 / 1.1))
    x_acc = temp - 0.05 * th_acc * c / 1.1
    new = jnp.stack([x + 0.02 * x_dot, x_dot + 0.02 * x_acc, th + 0.02 * th_dot, th_dot + 0.02 * th_acc], axis=1)
    done = (jnp.abs(new[:, 0]) > 2.4) | (jnp.abs(new[:, 2]) > 12 * 2 * np.pi / 360)
    fresh = jax.random.uniform(key, s.shape, s.dtype, -0.05, 0.05)
    return jnp.where(done[:, None], fresh, new)


def _gym():
    try:
        import gymnasium
    except ImportError as exc:
        raise SkipCase(f"gymnasium is not installed ({exc})") from exc
    return gymnasium


@register_case("rl", "cartpole_step_1024_envs")
def cartpole_step(quick: bool):
    n = _ENVS[quick]
    actions = _actions(n)
    step, states = _mathdl_step(n)
    jstep = jax.jit(step, donate_argnums=(0,))
    box = _Box(states)
    key = jax.random.key(1)

    def run_mathdl():
        box.state, obs = jstep(box.state, actions, key)
        return obs

    hand = jax.jit(_hand_step, donate_argnums=(0,))
    hbox = _Box(jax.random.uniform(jax.random.key(2), (n, 4), jnp.float32, -0.05, 0.05))

    def run_jax():
        hbox.state = hand(hbox.state, actions, key)
        return hbox.state

    gym = _gym()
    py_envs = [gym.make("CartPole-v1").unwrapped for _ in range(n)]
    for i, e in enumerate(py_envs):
        e.reset(seed=i)
    acts = np.asarray(actions).tolist()

    def run_loop():
        out = None
        for e, a in zip(py_envs, acts, strict=True):
            out, _, term, _, _ = e.step(a)
            if term:
                out, _ = e.reset()
        return out

    return {"mathdl": run_mathdl, "jax": run_jax, "loop": run_loop}


@register_case("rl", "cartpole_rollout_100x1024")
def cartpole_rollout(quick: bool):
    n, T = _ENVS[quick], _STEPS[quick]
    step, states = _mathdl_step(n)
    acts = jnp.asarray(np.random.default_rng(1).integers(0, 2, (T, n)), jnp.int32)

    def rollout(states, key):
        def body(st, x):
            a, k = x
            st, obs = step(st, a, k)
            return st, obs[:, 0]

        return jax.lax.scan(body, states, (acts, jax.random.split(key, T)))

    jroll = jax.jit(rollout, donate_argnums=(0,))
    box = _Box(states)

    def run_mathdl():
        box.state, xs = jroll(box.state, jax.random.key(3))
        return xs

    gym = _gym()
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(n)])
    vec.reset(seed=0)
    np_acts = np.asarray(acts)

    def run_loop():
        out = None
        for t in range(T):
            out, *_ = vec.step(np_acts[t])
        return out

    return {"mathdl": run_mathdl, "loop": run_loop}


def _agent_case(kind):
    def make(quick: bool):
        try:
            from mathdl import rl
            from mathdl.rl import envs
        except ImportError as exc:
            raise SkipCase(f"mathdl.rl not importable ({exc})") from exc
        if kind == "dqn":
            cfg = rl.DQNConfig(learn_start=1) if not quick else rl.DQNConfig(hidden=(16,), buffer_size=256,
                                                                            batch_size=16, learn_start=1)  # fmt: skip
            init, make_step = rl.dqn_init, rl.make_dqn_step
        else:
            cfg = rl.A2CConfig() if not quick else rl.A2CConfig(hidden=(16,), num_envs=4, rollout=4)
            init, make_step = rl.a2c_init, rl.make_a2c_step
        state = jax.jit(init, static_argnums=(1, 2))(jax.random.key(0), envs.cartpole, cfg)
        agent_step, base = make_step(envs.cartpole, cfg), jax.random.key(1)
        step = jax.jit(lambda s, i: agent_step(s, None, jax.random.fold_in(base, i)), donate_argnums=(0,))
        box = _Box(state)
        count = [0]

        def run():
            count[0] += 1
            box.state, m = step(box.state, np.int32(count[0]))
            return m["loss"]

        return {"mathdl": run}

    return make


register_case("rl", "dqn_train_step")(_agent_case("dqn"))
register_case("rl", "a2c_train_step")(_agent_case("a2c"))
