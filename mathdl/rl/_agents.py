r"""Agents as pure training steps for :func:`mathdl.train.loop` ([MEDL] Ch. 8, Sec. 8.4): DQN, REINFORCE
with a baseline and A2C with GAE, each acting in many environments at once (``jax.vmap``).

Each agent is three functions: ``<agent>_init(key, env, config) -> state``, ``make_<agent>_step(env,
config) -> step`` with ``step(state, batch, key) -> (state, metrics)`` (``batch`` is ``None``: the
step makes its own data), and the shared :func:`evaluate`, the average return of the greedy policy.
The networks are :func:`mathdl.models.mlp` on one observation; every state holds the acting network as
``params`` (the Q-network or the policy), so ``evaluate(env, state.params, key)`` works for all three.

The environments are those of :mod:`mathdl.rl.envs`: the JAX :class:`~mathdl.rl.envs.Environment`
records (CartPole, MountainCar, Acrobot; the agent resets an episode that ended) and the finite
environments with one-hot observations (``envs.gridworld(onehot=True)``; they reset themselves).
Where an episode only hit its time limit the agents bootstrap from the last state reached.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from mathdl import models, optim
from mathdl.rl._deep import (
    ReplayBuffer,
    actor_critic_loss,
    dqn_loss,
    gae,
    reinforce_loss,
    replay_add,
    replay_init,
    replay_sample,
)

__all__ = [
    "A2CConfig",
    "A2CState",
    "DQNConfig",
    "DQNState",
    "ReinforceConfig",
    "ReinforceState",
    "a2c_init",
    "dqn_init",
    "evaluate",
    "greedy_action",
    "greedy_episode",
    "make_a2c_step",
    "make_dqn_step",
    "make_reinforce_step",
    "reinforce_init",
]


# ------------------------------------------------------------------ environments, one interface


def _is_jax_env(env) -> bool:
    return hasattr(env, "is_terminal")


def _obs_size(env) -> int:
    if _is_jax_env(env):
        return env.obs_size
    if not getattr(env, "onehot", False):
        raise ValueError(f"rl agents: environment {env.name!r} must give vector observations (onehot=True)")
    return env.num_states


def _float_dtype():
    return jnp.result_type(float)


def _env_step(env, state, action, key):
    """One step with auto-reset: (state, obs, reward, done, terminal, final_obs) on ONE environment."""
    new, obs, reward, done = env.step(state, action)
    if _is_jax_env(env):
        terminal = env.is_terminal(new)
        fresh, fresh_obs = env.reset(key)
        new_out = jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, new)
        return new_out, jnp.where(done, fresh_obs, obs), reward, done, terminal, obs
    return new, obs, reward, done, new.last_terminal, env.observe(new.last)


def _reset_many(env, key, n):
    return jax.vmap(env.reset)(jax.random.split(key, n))


def _q(params, obs):
    return jax.vmap(models.mlp, in_axes=(None, 0))(params, obs)


def greedy_action(params, obs):
    r"""The greedy action $\arg\max_a f_\theta(\text{obs})_a$ of a Q-network or a policy's logits.

    Args:
      params: :func:`mathdl.models.init_mlp` parameters mapping an observation ``(p,)`` to ``(A,)``.
      obs: ONE observation, shape ``(p,)``.

    Returns:
      The action, an int32 scalar.

    References:
      [MEDL] Ch. 8, Sec. 8.4.
    """
    return jnp.argmax(models.mlp(params, obs)).astype(jnp.int32)


def evaluate(env, params, key, *, num_episodes: int = 100):
    r"""Returns of ``num_episodes`` episodes of the greedy policy, run in parallel to their ends.

    Each episode runs until it terminates or reaches ``env.max_steps``; its return is the sum of its
    rewards (undiscounted). The average over episodes is the usual score (CartPole-v1 counts as solved
    at 475).

    Args:
      env: an environment of :mod:`mathdl.rl.envs` (its ``max_steps`` must be set).
      params: the acting network (``state.params`` of any agent here).
      key: a typed PRNG key for the start states.
      num_episodes: episodes, a positive int.

    Returns:
      The returns, shape ``(num_episodes,)``.

    Raises:
      ValueError: if ``num_episodes`` is not positive or the environment has no time limit.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2015), Methods (evaluation procedure).
    """
    if isinstance(num_episodes, bool) or not isinstance(num_episodes, int) or num_episodes < 1:
        raise ValueError(f"rl.evaluate: argument `num_episodes` expected a positive int, got {num_episodes!r}.")
    if env.max_steps is None:
        raise ValueError("rl.evaluate: argument `env` expected an environment with a time limit, got max_steps None.")
    states, obs = _reset_many(env, key, num_episodes)

    def body(carry, _):
        st, o, ret, live = carry
        a = jax.vmap(greedy_action, in_axes=(None, 0))(params, o)
        st, o, r, done = jax.vmap(env.step)(st, a)
        ret = ret + jnp.where(live, r, jnp.zeros_like(r))
        return (st, o, ret, live & ~done), None

    ret0 = jnp.zeros((num_episodes,), _float_dtype())
    (_, _, ret, _), _ = jax.lax.scan(body, (states, obs, ret0, jnp.ones((num_episodes,), bool)), None,
                                     length=env.max_steps)  # fmt: skip
    return ret


def greedy_episode(env, params, key):
    r"""One greedy episode, step by step (for plots and renderings).

    Args:
      env: an environment of :mod:`mathdl.rl.envs`.
      params: the acting network.
      key: a typed PRNG key for the start state.

    Returns:
      ``(states, rewards, live)``: the environment state before each of ``env.max_steps`` steps (a pytree
      of leading length ``max_steps``), the rewards ``(max_steps,)`` and a bool mask ``(max_steps,)``,
      true for the steps of the episode (false after it ended).

    References:
      [MEDL] Ch. 8, Sec. 8.4.
    """
    state, obs = env.reset(key)

    def body(carry, _):
        st, o, live = carry
        new, o2, r, done = env.step(st, greedy_action(params, o))
        return (new, o2, live & ~done), (st, r, live)

    _, (states, rewards, live) = jax.lax.scan(body, (state, obs, jnp.bool_(True)), None, length=env.max_steps)
    return states, rewards, live


def _track_returns(ret, last, r, done):
    ret = ret + r
    return jnp.where(done, jnp.zeros_like(ret), ret), jnp.where(done, ret, last)


# ------------------------------------------------------------------ DQN


class DQNConfig(NamedTuple):
    r"""DQN's settings.

    Attributes:
      hidden: hidden widths of the Q-network.
      num_envs: environments acting in parallel each step (each step adds ``num_envs`` transitions).
      lr: Adam's learning rate.
      gamma: the discount $\gamma$.
      buffer_size: replay capacity (transitions).
      batch_size: minibatch of one gradient step.
      learn_start: transitions stored before the first gradient step.
      target_every: agent steps between copies of the online network into the target network.
      eps_start, eps_end, eps_steps: $\varepsilon$-greedy exploration, linear over ``eps_steps`` agent steps.
      double: double DQN's bootstrap (the online network picks $a'$).
      delta: the Huber loss's $\delta$.
      clip_norm: the gradient's global norm is clipped to this.
    """

    hidden: tuple = (64, 64)
    num_envs: int = 1
    lr: float = 1e-3
    gamma: float = 0.99
    buffer_size: int = 50_000
    batch_size: int = 64
    learn_start: int = 1_000
    target_every: int = 100
    eps_start: float = 1.0
    eps_end: float = 0.02
    eps_steps: int = 10_000
    double: bool = True
    delta: float = 1.0
    clip_norm: float = 10.0


class DQNState(NamedTuple):
    """DQN's training state (a pytree): networks, optimizer, replay buffer, environments, counters.

    Attributes:
      params: the online Q-network.
      target: the target Q-network.
      opt_state: Adam's state.
      buffer: a :class:`~mathdl.rl.ReplayBuffer` of ``obs, action, reward, discount, next_obs``.
      env_state: the ``num_envs`` environments' states.
      obs: their observations, ``(num_envs, p)``.
      episode_return: the return so far of each running episode, ``(num_envs,)``.
      last_return: the return of each environment's last finished episode, ``(num_envs,)``.
      t: agent steps done, int32.
    """

    params: tuple
    target: tuple
    opt_state: object
    buffer: ReplayBuffer
    env_state: object
    obs: jax.Array
    episode_return: jax.Array
    last_return: jax.Array
    t: jax.Array


def _dqn_opt(config):
    return optax.chain(optim.clip_by_global_norm(config.clip_norm), optim.adam(config.lr))


def dqn_init(key, env, config: DQNConfig = DQNConfig()) -> DQNState:
    r"""DQN's initial state: a Q-network $\mathbb{R}^p \to \mathbb{R}^A$, its copy as target, an empty buffer
    and ``num_envs`` fresh episodes.

    Args:
      key: a typed PRNG key.
      env: an environment of :mod:`mathdl.rl.envs` with vector observations.
      config: a :class:`DQNConfig`.

    Returns:
      A :class:`DQNState`.

    Raises:
      ValueError: if the environment's observations are not vectors.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2015).
    """
    k_net, k_env = jax.random.split(key)
    p, A = _obs_size(env), env.num_actions
    params = models.init_mlp(k_net, (p, *config.hidden, A))
    env_state, obs = _reset_many(env, k_env, config.num_envs)
    dt = _float_dtype()
    example = {
        "obs": jnp.zeros((p,), dt),
        "action": jnp.zeros((), jnp.int32),
        "reward": jnp.zeros((), dt),
        "discount": jnp.zeros((), dt),
        "next_obs": jnp.zeros((p,), dt),
    }
    zeros = jnp.zeros((config.num_envs,), dt)
    return DQNState(params, params, _dqn_opt(config).init(params), replay_init(example, config.buffer_size),
                    env_state, obs.astype(dt), zeros, zeros, jnp.zeros((), jnp.int32))  # fmt: skip


def make_dqn_step(env, config: DQNConfig = DQNConfig()):
    r"""DQN's training step for :func:`mathdl.train.loop` (with ``data=None``).

    Each step: every environment acts $\varepsilon$-greedily with the online network, the ``num_envs``
    transitions $(s, a, r, \gamma_t, s')$ go into the replay buffer, the target network is refreshed
    every ``target_every`` steps, and, once ``learn_start`` transitions are stored, one Adam step on the
    mean :func:`~mathdl.rl.dqn_loss` of a uniform minibatch:
    $\ell = h_\delta\big(r + \gamma_t Q_{\bar\theta}(s', a^\star) - Q_\theta(s, a)\big)$ with
    $a^\star = \arg\max Q_\theta(s', \cdot)$ (double DQN) or $\arg\max Q_{\bar\theta}(s', \cdot)$.

    Args:
      env: the environment of :func:`dqn_init`.
      config: the same :class:`DQNConfig`.

    Returns:
      ``step(state, batch, key) -> (state, metrics)``; metrics ``loss``, ``epsilon`` and ``return``
      (the mean over environments of the last finished episode's return).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2015); van Hasselt, Guez and Silver (2016).
    """
    opt = _dqn_opt(config)
    N, A = config.num_envs, env.num_actions

    def loss_fn(params, target, b):
        q = _q(params, b["obs"])
        q_next = _q(target, b["next_obs"])
        online = _q(params, b["next_obs"]) if config.double else None
        losses = dqn_loss(q, b["action"], b["reward"], b["discount"], q_next, q_next_online=online,
                          delta=config.delta)  # fmt: skip
        return jnp.mean(losses)

    def step(state: DQNState, batch, key):
        del batch
        k_explore, k_random, k_reset, k_sample = jax.random.split(key, 4)
        dt = state.obs.dtype
        frac = jnp.minimum(state.t.astype(dt) / config.eps_steps, jnp.ones((), dt))
        eps = config.eps_start + frac * (config.eps_end - config.eps_start)
        greedy = jnp.argmax(_q(state.params, state.obs), axis=-1).astype(jnp.int32)
        random = jax.random.randint(k_random, (N,), 0, A, jnp.int32)
        action = jnp.where(jax.random.uniform(k_explore, (N,), dt) < eps, random, greedy)
        env_state, obs, reward, done, terminal, final_obs = jax.vmap(lambda s, a, k: _env_step(env, s, a, k))(
            state.env_state, action, jax.random.split(k_reset, N)
        )
        reward = reward.astype(dt)
        discount = config.gamma * (1 - terminal.astype(dt))
        buffer = replay_add(state.buffer, {"obs": state.obs, "action": action, "reward": reward,
                                           "discount": discount, "next_obs": final_obs.astype(dt)})  # fmt: skip
        target = jax.tree.map(lambda p, q: jnp.where(state.t % config.target_every == 0, p, q),
                              state.params, state.target)  # fmt: skip
        b = replay_sample(k_sample, buffer, config.batch_size)
        loss, g = jax.value_and_grad(loss_fn)(state.params, target, b)
        updates, opt_state = opt.update(g, state.opt_state, state.params)
        learn = buffer.size >= config.learn_start
        params = jax.tree.map(lambda p, u: jnp.where(learn, p + u, p), state.params, updates)
        opt_state = jax.tree.map(lambda n, o: jnp.where(learn, n, o), opt_state, state.opt_state)
        ep_ret, last = _track_returns(state.episode_return, state.last_return, reward, done)
        new = DQNState(params, target, opt_state, buffer, env_state, obs.astype(dt), ep_ret, last, state.t + 1)
        return new, {"loss": loss, "epsilon": eps, "return": jnp.mean(last)}

    return step


# ------------------------------------------------------------------ rollouts for the policy-gradient agents


def _rollout(env, actor, env_state, obs, key, T):
    """T steps of ``num_envs`` environments sampling from the policy; time-major outputs."""
    N = obs.shape[0]

    def body(carry, k):
        st, o = carry
        k_act, k_reset = jax.random.split(k)
        logits = _q(actor, o)
        a = jax.random.categorical(k_act, logits, axis=-1).astype(jnp.int32)
        st, o2, r, done, terminal, final = jax.vmap(lambda s, a_, kk: _env_step(env, s, a_, kk))(
            st, a, jax.random.split(k_reset, N)
        )
        o2 = o2.astype(o.dtype)
        return (st, o2), {"obs": o, "action": a, "reward": r.astype(o.dtype), "done": done, "terminal": terminal,
                          "final_obs": final.astype(o.dtype)}  # fmt: skip

    (env_state, obs), traj = jax.lax.scan(body, (env_state, obs), jax.random.split(key, T))
    return env_state, obs, traj


def _value(critic, obs):
    return jax.vmap(lambda o: models.mlp(critic, o)[0])(obs)


def _logits(actor, obs):
    return _q(actor, obs)


# ------------------------------------------------------------------ A2C


class A2CConfig(NamedTuple):
    r"""A2C's settings.

    Attributes:
      hidden: hidden widths of the actor and of the critic (ReLU).
      num_envs: environments run in parallel.
      rollout: steps $T$ of each environment per update.
      lr: Adam's learning rate.
      gamma, lam: discount $\gamma$ and GAE's $\lambda$.
      value_coef, entropy_coef: $c_V$ and $c_H$ of :func:`~mathdl.rl.actor_critic_loss`.
      normalize: standardise the advantages of each update.
      clip_norm: the gradient's global norm is clipped to this.
    """

    hidden: tuple = (64, 64)
    num_envs: int = 16
    rollout: int = 16
    lr: float = 1e-3
    gamma: float = 0.99
    lam: float = 0.95
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    normalize: bool = True
    clip_norm: float = 0.5


class A2CState(NamedTuple):
    """A2C's (and REINFORCE's) training state.

    Attributes:
      params: the policy network (logits ``(A,)``).
      critic: the value network (``(1,)``), the learned baseline.
      opt_state: Adam's state over ``(params, critic)``.
      env_state, obs: the environments and their observations ``(num_envs, p)``.
      episode_return, last_return: as in :class:`DQNState`.
      t: updates done, int32.
    """

    params: tuple
    critic: tuple
    opt_state: object
    env_state: object
    obs: jax.Array
    episode_return: jax.Array
    last_return: jax.Array
    t: jax.Array


def _pg_opt(lr, clip_norm):
    return optax.chain(optim.clip_by_global_norm(clip_norm), optim.adam(lr))


def _pg_init(key, env, hidden, num_envs, opt):
    k_a, k_c, k_env = jax.random.split(key, 3)
    p, A = _obs_size(env), env.num_actions
    actor = models.init_mlp(k_a, (p, *hidden, A))
    critic = models.init_mlp(k_c, (p, *hidden, 1))
    env_state, obs = _reset_many(env, k_env, num_envs)
    dt = _float_dtype()
    zeros = jnp.zeros((num_envs,), dt)
    return A2CState(actor, critic, opt.init((actor, critic)), env_state, obs.astype(dt), zeros, zeros,
                    jnp.zeros((), jnp.int32))  # fmt: skip


def a2c_init(key, env, config: A2CConfig = A2CConfig()) -> A2CState:
    r"""A2C's initial state: a policy and a value network (ReLU MLPs), Adam, ``num_envs`` fresh episodes.

    Args:
      key: a typed PRNG key.
      env: an environment of :mod:`mathdl.rl.envs` with vector observations.
      config: an :class:`A2CConfig`.

    Returns:
      An :class:`A2CState`.

    Raises:
      ValueError: if the environment's observations are not vectors.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2016).
    """
    return _pg_init(key, env, config.hidden, config.num_envs, _pg_opt(config.lr, config.clip_norm))


def _bootstrapped(traj, critic, gamma, dt):
    """Rewards with the time-limit bootstrap folded in, r + gamma V(s_final) where truncated; discounts that
    cut every episode end: gamma (1 - done)."""
    truncated = traj["done"] & ~traj["terminal"]
    v_final = jax.lax.stop_gradient(jax.vmap(lambda o: _value(critic, o))(traj["final_obs"]))
    reward = traj["reward"] + jnp.where(truncated, gamma * v_final, jnp.zeros_like(v_final))
    discount = gamma * (1 - traj["done"].astype(dt))
    return reward, discount


def make_a2c_step(env, config: A2CConfig = A2CConfig()):
    r"""A2C's training step for :func:`mathdl.train.loop` (``data=None``).

    Each step: ``num_envs`` environments run ``rollout`` steps under the policy (``lax.scan``, episodes
    reset as they end); GAE (:func:`~mathdl.rl.gae`) gives each step's advantage $A_t$ and value target
    $y_t = A_t + V(s_t)$; one Adam step on the mean :func:`~mathdl.rl.actor_critic_loss` over the
    $T \times N$ steps.

    Args:
      env: the environment of :func:`a2c_init`.
      config: the same :class:`A2CConfig`.

    Returns:
      ``step(state, batch, key) -> (state, metrics)``; metrics ``loss``, ``policy_loss``, ``value_loss``,
      ``entropy`` and ``return``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2016); Schulman et al. (2016).
    """
    opt = _pg_opt(config.lr, config.clip_norm)

    def step(state: A2CState, batch, key):
        del batch
        dt = state.obs.dtype
        env_state, obs, traj = _rollout(env, state.params, state.env_state, state.obs, key, config.rollout)
        reward, discount = _bootstrapped(traj, state.critic, config.gamma, dt)

        def loss_fn(nets):
            actor, critic = nets
            values = jax.vmap(lambda o: _value(critic, o))(traj["obs"])  # (T, N)
            v_last = _value(critic, obs)
            all_v = jax.lax.stop_gradient(jnp.concatenate([values, v_last[None]], axis=0))
            adv = jax.vmap(lambda r, d, v: gae(r, d, v, config.lam), in_axes=1, out_axes=1)(reward, discount, all_v)
            target = adv + all_v[:-1]
            if config.normalize:
                adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
            logits = jax.vmap(lambda o: _logits(actor, o))(traj["obs"])
            parts = actor_critic_loss(logits, values, traj["action"], adv, target, value_coef=config.value_coef,
                                      entropy_coef=config.entropy_coef)  # fmt: skip
            return jnp.mean(parts.total), parts

        (loss, parts), g = jax.value_and_grad(loss_fn, has_aux=True)((state.params, state.critic))
        updates, opt_state = opt.update(g, state.opt_state, (state.params, state.critic))
        actor, critic = optax.apply_updates((state.params, state.critic), updates)

        def track(carry, x):
            ret, last = carry
            return _track_returns(ret, last, x[0], x[1]), None

        (ep_ret, last), _ = jax.lax.scan(track, (state.episode_return, state.last_return),
                                         (traj["reward"], traj["done"]))  # fmt: skip
        new = A2CState(actor, critic, opt_state, env_state, obs, ep_ret, last, state.t + 1)
        metrics = {"loss": loss, "policy_loss": jnp.mean(parts.policy), "value_loss": jnp.mean(parts.value),
                   "entropy": jnp.mean(parts.entropy), "return": jnp.mean(last)}  # fmt: skip
        return new, metrics

    return step


# ------------------------------------------------------------------ REINFORCE


class ReinforceConfig(NamedTuple):
    r"""REINFORCE's settings.

    Attributes:
      hidden: hidden widths of the policy and of the baseline network (ReLU).
      num_envs: episodes per update, run in parallel from fresh starts.
      lr: Adam's learning rate.
      gamma: the discount $\gamma$.
      baseline: subtract the learned $V(s_t)$ from $G_t$ (trained by squared error alongside).
      clip_norm: the gradient's global norm is clipped to this.
    """

    hidden: tuple = (64,)
    num_envs: int = 16
    lr: float = 3e-3
    gamma: float = 0.99
    baseline: bool = True
    clip_norm: float = 1.0


ReinforceState = A2CState


def reinforce_init(key, env, config: ReinforceConfig = ReinforceConfig()) -> A2CState:
    r"""REINFORCE's initial state: a policy, a baseline network and Adam (an :class:`A2CState`).

    Args:
      key: a typed PRNG key.
      env: an environment of :mod:`mathdl.rl.envs` with vector observations and a time limit.
      config: a :class:`ReinforceConfig`.

    Returns:
      An :class:`A2CState` (``ReinforceState`` is the same type).

    Raises:
      ValueError: if the environment's observations are not vectors.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Williams (1992).
    """
    return _pg_init(key, env, config.hidden, config.num_envs, _pg_opt(config.lr, config.clip_norm))


def make_reinforce_step(env, config: ReinforceConfig = ReinforceConfig()):
    r"""REINFORCE's training step for :func:`mathdl.train.loop` (``data=None``).

    Each step: ``num_envs`` whole episodes from fresh starts (``env.max_steps`` steps, masked after each
    episode's end), Monte Carlo returns $G_t$ (:func:`~mathdl.rl.discounted_returns`, bootstrapped by
    $V$ where only the time limit ended the episode), and one Adam step on the mean over live steps of
    :func:`~mathdl.rl.reinforce_loss` with baseline $b(s_t) = V(s_t)$, plus $\tfrac12 (G_t - V(s_t))^2$
    for the baseline.

    Args:
      env: the environment of :func:`reinforce_init`.
      config: the same :class:`ReinforceConfig`.

    Returns:
      ``step(state, batch, key) -> (state, metrics)``; metrics ``loss``, ``value_loss`` and ``return``
      (the mean return of this step's episodes).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Williams (1992); Sutton and Barto (2018), Sec. 13.4.
    """
    from mathdl.rl._deep import discounted_returns

    opt = _pg_opt(config.lr, config.clip_norm)
    N, T = config.num_envs, env.max_steps

    def step(state: A2CState, batch, key):
        del batch
        dt = state.obs.dtype
        k_reset, k_roll = jax.random.split(key)
        env_state, obs = _reset_many(env, k_reset, N)
        _, _, traj = _rollout(env, state.params, env_state, obs.astype(dt), k_roll, T)
        done = traj["done"]
        live = jnp.cumsum(done.astype(jnp.int32), axis=0) - done.astype(jnp.int32) == 0  # steps of episode 1
        reward, discount = _bootstrapped(traj, state.critic, config.gamma, dt)
        reward = jnp.where(live, reward, jnp.zeros_like(reward))
        G = jax.vmap(lambda r, d: discounted_returns(r, d, jnp.zeros((), dt)), in_axes=1, out_axes=1)(reward, discount)
        w = live.astype(dt)

        def loss_fn(nets):
            actor, critic = nets
            values = jax.vmap(lambda o: _value(critic, o))(traj["obs"])
            base = jax.lax.stop_gradient(values) if config.baseline else None
            logits = jax.vmap(lambda o: _logits(actor, o))(traj["obs"])
            pg = reinforce_loss(logits, traj["action"], G, base)
            v_loss = 0.5 * (G - values) ** 2
            total = jnp.sum(w * (pg + v_loss)) / jnp.sum(w)
            return total, jnp.sum(w * v_loss) / jnp.sum(w)

        (loss, v_loss), g = jax.value_and_grad(loss_fn, has_aux=True)((state.params, state.critic))
        updates, opt_state = opt.update(g, state.opt_state, (state.params, state.critic))
        actor, critic = optax.apply_updates((state.params, state.critic), updates)
        returns = jnp.sum(w * traj["reward"], axis=0)
        new = A2CState(actor, critic, opt_state, state.env_state, state.obs, state.episode_return, returns,
                       state.t + 1)  # fmt: skip
        return new, {"loss": loss, "value_loss": v_loss, "return": jnp.mean(returns)}

    return step
