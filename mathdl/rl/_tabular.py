r"""Tabular reinforcement learning: TD errors and targets, Monte Carlo and TD evaluation, SARSA, Q-learning
and double Q-learning with epsilon-greedy exploration.

The per-transition quantities (:func:`td0_error`, :func:`q_learning_error`, ...; the λ-returns are
:func:`mathdl.rl.lambda_returns`) are broadcasting-free
functions of ONE transition, as in rlax; ``jax.vmap`` batches them. The learners take ONE key and a finite
environment (:class:`mathdl.rl.envs.FiniteEnv` or any object with ``reset``, ``step``, ``num_states``,
``num_actions``, ``gamma`` and the :class:`~mathdl.rl.envs.EnvState` fields ``s``, ``last`` and
``last_terminal``) and run ``num_steps`` environment steps under ``lax.scan``; ``jax.vmap`` over keys runs
many seeds at once. A learner bootstraps from ``state.last`` unless it was terminal, so a time-limit
truncation is not mistaken for a termination.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = [
    "TabularResult",
    "double_q_learning",
    "double_q_learning_error",
    "episode_returns",
    "epsilon_greedy",
    "epsilon_greedy_probs",
    "mc_evaluation",
    "q_learning",
    "q_learning_error",
    "sarsa",
    "sarsa_error",
    "td0",
    "td0_error",
    "td_lambda",
]

Schedule = float | Callable[[jax.Array], jax.Array]


class TabularResult(NamedTuple):
    """What a tabular learner returns (one seed; a leading axis per seed under ``jax.vmap``).

    Attributes:
      values: the learned table, ``V`` of shape ``(S,)`` or ``Q`` of shape ``(S, A)`` (for double
        Q-learning the mean of the two tables).
      rewards: the reward of each step, ``(num_steps,)``.
      dones: whether each step ended an episode, bool ``(num_steps,)``.
      errors: the TD error of each step's update, ``(num_steps,)`` (zeros for Monte Carlo).
    """

    values: jax.Array
    rewards: jax.Array
    dones: jax.Array
    errors: jax.Array


# ---------------------------------------------------------------------------------------------------
# One transition


def td0_error(v_tm1, r_t, discount_t, v_t) -> jax.Array:
    r"""The TD(0) error :math:`\delta_t = r_t + \gamma_t v(s_t) - v(s_{t-1})`.

    ``discount_t`` is :math:`\gamma` times 0 at a termination, so no value is bootstrapped past it.

    Args:
      v_tm1: value of the state the transition left, scalar.
      r_t: reward of the transition, scalar.
      discount_t: discount of the transition (``gamma``, or 0 at a termination), scalar.
      v_t: value of the state the transition reached, scalar.

    Returns:
      :math:`\delta_t`, scalar (rlax's ``td_learning``; :func:`mathdl.rl.td_error` is the batched
      Q-learning form for DQN).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.1 (eq. 6.5).
    """
    return r_t + discount_t * v_t - v_tm1


def q_learning_error(q_tm1, a_tm1, r_t, discount_t, q_t) -> jax.Array:
    r"""The Q-learning error :math:`r_t + \gamma_t \max_a q_t(a) - q_{t-1}(a_{t-1})`.

    Args:
      q_tm1: action values at the state left, shape ``(A,)``.
      a_tm1: the action taken, int scalar.
      r_t: reward, scalar.
      discount_t: discount (0 at a termination), scalar.
      q_t: action values at the state reached, shape ``(A,)``.

    Returns:
      The error, scalar (rlax's ``q_learning``).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.5 (eq. 6.8); Watkins (1989).
    """
    return r_t + discount_t * jnp.max(q_t) - q_tm1[a_tm1]


def sarsa_error(q_tm1, a_tm1, r_t, discount_t, q_t, a_t) -> jax.Array:
    r"""The SARSA error :math:`r_t + \gamma_t q_t(a_t) - q_{t-1}(a_{t-1})`.

    Args:
      q_tm1: action values at the state left, shape ``(A,)``.
      a_tm1: the action taken, int scalar.
      r_t: reward, scalar.
      discount_t: discount (0 at a termination), scalar.
      q_t: action values at the state reached, shape ``(A,)``.
      a_t: the next action, chosen by the same policy, int scalar.

    Returns:
      The error, scalar (rlax's ``sarsa``).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.4 (eq. 6.7).
    """
    return r_t + discount_t * q_t[a_t] - q_tm1[a_tm1]


def double_q_learning_error(q_tm1, a_tm1, r_t, discount_t, q_t_value, q_t_selector) -> jax.Array:
    r"""The double Q-learning error :math:`r_t + \gamma_t q^B_t(\arg\max_a q^A_t(a)) - q_{t-1}(a_{t-1})`.

    One table selects the next action, the other values it, removing the maximisation bias of
    :func:`q_learning_error`.

    Args:
      q_tm1: action values (of the table being updated) at the state left, shape ``(A,)``.
      a_tm1: the action taken, int scalar.
      r_t: reward, scalar.
      discount_t: discount (0 at a termination), scalar.
      q_t_value: the other table's values at the state reached, shape ``(A,)``.
      q_t_selector: the values that select the action at the state reached, shape ``(A,)``.

    Returns:
      The error, scalar (rlax's ``double_q_learning``).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.7 (eq. 6.10); van Hasselt (2010).
    """
    return r_t + discount_t * q_t_value[jnp.argmax(q_t_selector)] - q_tm1[a_tm1]


def epsilon_greedy_probs(q, epsilon) -> jax.Array:
    r"""The :math:`\varepsilon`-greedy policy,
    :math:`\pi(a) = \varepsilon / A + (1 - \varepsilon)\,[a \in \arg\max q] / |\arg\max q|`.

    Tied maxima share the greedy mass equally (distrax's ``EpsilonGreedy``).

    Args:
      q: action values, shape ``(..., A)`` (broadcasting).
      epsilon: exploration probability in ``[0, 1]``, a scalar.

    Returns:
      Probabilities, shape ``(..., A)``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 2.2 and 5.4.
    """
    q = jnp.asarray(q)
    dtype = q.dtype if jnp.issubdtype(q.dtype, jnp.floating) else jnp.result_type(float)
    best = (q == jnp.max(q, axis=-1, keepdims=True)).astype(dtype)
    greedy = best / jnp.sum(best, axis=-1, keepdims=True)
    eps = jnp.asarray(epsilon, dtype)
    return eps / q.shape[-1] + (1 - eps) * greedy


def epsilon_greedy(key, q, epsilon) -> jax.Array:
    r"""Draw an action from the :math:`\varepsilon`-greedy policy of :func:`epsilon_greedy_probs`.

    Args:
      key: a typed PRNG key.
      q: action values of ONE state, shape ``(A,)``.
      epsilon: exploration probability in ``[0, 1]``.

    Returns:
      The action, int32 scalar.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 2.2.
    """
    return jax.random.categorical(key, jnp.log(epsilon_greedy_probs(q, epsilon))).astype(jnp.int32)


def episode_returns(rewards, dones) -> jax.Array:
    r"""Undiscounted return of each finished episode, placed at the step that ended it.

    Args:
      rewards: per-step rewards, shape ``(T,)`` (a learner's ``rewards``).
      dones: per-step episode ends, bool ``(T,)``.

    Returns:
      Shape ``(T,)``: :math:`\sum` of the episode's rewards where ``dones`` is true, NaN elsewhere
      (``jnp.nanmean`` over seeds and windows gives learning curves).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.3.
    """
    rewards = jnp.asarray(rewards)
    dones = jnp.asarray(dones, bool)

    def acc(total, xs):
        r, d = xs
        total = total + r
        return jnp.where(d, jnp.zeros_like(total), total), jnp.where(d, total, jnp.nan)

    _, out = jax.lax.scan(acc, jnp.zeros((), rewards.dtype), (rewards, dones))
    return out


# ---------------------------------------------------------------------------------------------------
# Learners


def _sched(value: Schedule, t):
    return value(t) if callable(value) else value


def _check_learner(func, env, num_steps, gamma):
    if not isinstance(num_steps, int) or num_steps < 1:
        checks.fail(func, "num_steps", "a positive Python int", num_steps)
    gamma = env.gamma if gamma is None else gamma
    checks.check_range(func, "gamma", gamma, 0.0, 1.0, high_closed=True)
    return gamma


def _policy(func, env, policy):
    S, A = env.num_states, env.num_actions
    pi = jnp.asarray(policy)
    if pi.ndim == 1:
        checks.check_shape(func, "policy", pi, (S,))
        return jax.nn.one_hot(pi, A, dtype=env.P.dtype)
    checks.check_shape(func, "policy", pi, (S, A))
    return pi.astype(env.P.dtype)


def _run(key, env, num_steps, init_table, act, update):
    """The shared loop: ``act(table, s, key, t) -> a``; ``update(table, s, a, r, state', t, key) -> (table, err)``."""
    k_reset, k_loop = jax.random.split(key)
    state, _ = env.reset(k_reset)

    def body(carry, t):  # the key rides in the carry (keys as scan inputs trip the key-reuse checker under vmap)
        table, state, k = carry
        k, k_act, k_upd = jax.random.split(k, 3)
        a = act(table, state.s, k_act, t)
        new_state, _, r, done = env.step(state, a)
        table, err = update(table, state.s, a, r, new_state, t, k_upd)
        return (table, new_state, k), (r, done, err)

    (table, _, _), (rewards, dones, errors) = jax.lax.scan(
        body, (init_table, state, k_loop), jnp.arange(num_steps, dtype=jnp.int32)
    )
    return TabularResult(table, rewards, dones, errors)


def _discount(env_state, gamma, dtype):
    return jnp.where(env_state.last_terminal, jnp.zeros((), dtype), jnp.asarray(gamma, dtype))


def mc_evaluation(key, env, policy, *, num_steps: int, gamma: float | None = None) -> TabularResult:
    r"""Every-visit Monte Carlo evaluation of a fixed policy: :math:`V(s)` is the mean of the returns
    :math:`G_t = \sum_k \gamma^k R_{t+k+1}` that follow the visits of :math:`s`.

    One trajectory of ``num_steps`` steps is rolled out under ``lax.scan``; returns are accumulated
    backwards and cut at each episode end (bootstrapping from 0 at a termination and from nothing at
    a truncation: Monte Carlo does not bootstrap, so a truncated episode's returns are those of the
    truncated episode). Steps of the unfinished last episode are not counted; a state never visited
    gets 0.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      policy: deterministic int ``(S,)`` or probabilities ``(S, A)``.
      num_steps: steps to roll out (a Python int).
      gamma: discount; default ``env.gamma``.

    Returns:
      A :class:`TabularResult` with ``values`` = ``V`` of shape ``(S,)`` (``errors`` are zeros).

    Raises:
      ValueError: if ``policy`` has the wrong shape, ``num_steps < 1`` or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 5.1 (Monte Carlo prediction).
    """
    func = checks.public_name(mc_evaluation)
    gamma = _check_learner(func, env, num_steps, gamma)
    pi = _policy(func, env, policy)
    S = env.num_states

    def act(table, s, k, t):
        return jax.random.categorical(k, jnp.log(pi[s])).astype(jnp.int32)

    k_reset, k_loop = jax.random.split(key)
    state0, _ = env.reset(k_reset)

    def body(carry, _):
        state, k = carry
        k, k_act = jax.random.split(k)
        a = act(None, state.s, k_act, 0)
        new, _, r, done = env.step(state, a)
        return (new, k), (state.s, r, done)

    _, (states, rewards, dones) = jax.lax.scan(body, (state0, k_loop), None, length=num_steps)
    g = jnp.asarray(gamma, rewards.dtype)

    def back(carry, xs):
        G, valid = carry
        r, d = xs
        G = r + jnp.where(d, jnp.zeros((), r.dtype), g * G)
        valid = valid | d
        return (G, valid), (G, valid)

    _, (G, valid) = jax.lax.scan(
        back, (jnp.zeros((), rewards.dtype), jnp.asarray(False)), (rewards, dones), reverse=True
    )
    w = valid.astype(rewards.dtype)
    total = jax.ops.segment_sum(G * w, states, num_segments=S)
    count = jax.ops.segment_sum(w, states, num_segments=S)
    V = jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.zeros((), rewards.dtype))
    return TabularResult(V, rewards, dones, jnp.zeros_like(rewards))


def td0(
    key, env, policy, *, num_steps: int, alpha: Schedule = 0.1, gamma: float | None = None, V0=None
) -> TabularResult:
    r"""TD(0) evaluation of a fixed policy,
    :math:`V(S_t) \leftarrow V(S_t) + \alpha [R_{t+1} + \gamma V(S_{t+1}) - V(S_t)]`.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      policy: deterministic int ``(S,)`` or probabilities ``(S, A)``.
      num_steps: environment steps (a Python int).
      alpha: step size, a float or a schedule ``alpha(t)`` of the step index.
      gamma: discount; default ``env.gamma``.
      V0: initial values ``(S,)``; default zeros.

    Returns:
      A :class:`TabularResult` with ``values`` = ``V`` of shape ``(S,)`` and the TD errors.

    Raises:
      ValueError: if ``policy`` or ``V0`` has the wrong shape, ``num_steps < 1`` or ``gamma`` is
        outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.1 (tabular TD(0)).
    """
    return td_lambda(key, env, policy, num_steps=num_steps, alpha=alpha, lambda_=0.0, gamma=gamma, V0=V0)


def td_lambda(
    key,
    env,
    policy,
    *,
    num_steps: int,
    alpha: Schedule = 0.1,
    lambda_: float = 0.9,
    gamma: float | None = None,
    traces: str = "accumulating",
    V0=None,
) -> TabularResult:
    r"""TD(:math:`\lambda`) evaluation with eligibility traces (the backward view):

    .. math:: e \leftarrow \gamma \lambda e + \mathbf 1_{S_t}, \quad
       \delta_t = R_{t+1} + \gamma V(S_{t+1}) - V(S_t), \quad V \leftarrow V + \alpha \delta_t e.

    Replacing traces set :math:`e(S_t) = 1` instead of adding 1. Traces are cleared when an episode
    ends. ``lambda_ = 0`` is TD(0); ``lambda_ = 1`` with accumulating traces approaches every-visit
    Monte Carlo.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      policy: deterministic int ``(S,)`` or probabilities ``(S, A)``.
      num_steps: environment steps (a Python int).
      alpha: step size, a float or a schedule ``alpha(t)``.
      lambda_: trace decay in ``[0, 1]``.
      gamma: discount; default ``env.gamma``.
      traces: ``"accumulating"`` or ``"replacing"``.
      V0: initial values ``(S,)``; default zeros.

    Returns:
      A :class:`TabularResult` with ``values`` = ``V`` of shape ``(S,)`` and the TD errors.

    Raises:
      ValueError: if ``policy`` or ``V0`` has the wrong shape, ``num_steps < 1``, ``traces`` is unknown,
        or ``gamma`` or ``lambda_`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 12.1-12.2 (TD(λ), eq. 12.5-12.7) and 12.3.
    """
    func = checks.public_name(td_lambda)
    gamma = _check_learner(func, env, num_steps, gamma)
    checks.check_range(func, "lambda_", lambda_, 0.0, 1.0, high_closed=True)
    checks.check_choice(func, "traces", traces, ("accumulating", "replacing"))
    pi = _policy(func, env, policy)
    S, dtype = env.num_states, env.P.dtype
    V0 = jnp.zeros((S,), dtype) if V0 is None else jnp.asarray(V0, dtype)
    checks.check_shape(func, "V0", V0, (S,))
    g = jnp.asarray(gamma, dtype)
    lam = jnp.asarray(lambda_, dtype)

    def act(table, s, k, t):
        return jax.random.categorical(k, jnp.log(pi[s])).astype(jnp.int32)

    def update(table, s, a, r, st, t, k):
        V, e = table
        hot = jax.nn.one_hot(s, S, dtype=dtype)
        e = jnp.maximum(e, hot) if traces == "replacing" else e + hot
        delta = td0_error(V[s], r, _discount(st, gamma, dtype), V[st.last])
        V = V + jnp.asarray(_sched(alpha, t), dtype) * delta * e
        done = st.t == 0
        e = jnp.where(done, jnp.zeros_like(e), g * lam * e)
        return (V, e), delta

    res = _run(key, env, num_steps, (V0, jnp.zeros((S,), dtype)), act, update)
    return res._replace(values=res.values[0])


def _q0(func, env, Q0):
    S, A, dtype = env.num_states, env.num_actions, env.P.dtype
    Q0 = jnp.zeros((S, A), dtype) if Q0 is None else jnp.asarray(Q0, dtype)
    checks.check_shape(func, "Q0", Q0, (S, A))
    return Q0


def q_learning(
    key,
    env,
    *,
    num_steps: int,
    alpha: Schedule = 0.1,
    epsilon: Schedule = 0.1,
    gamma: float | None = None,
    Q0=None,
) -> TabularResult:
    r"""Tabular Q-learning with :math:`\varepsilon`-greedy behaviour,
    :math:`Q(S_t, A_t) \leftarrow Q(S_t, A_t) + \alpha [R_{t+1} + \gamma \max_a Q(S_{t+1}, a) - Q(S_t, A_t)]`.

    Off-policy: it learns :math:`Q^*` whatever the (sufficiently exploring) behaviour.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      num_steps: environment steps (a Python int).
      alpha: step size, a float or a schedule ``alpha(t)``.
      epsilon: exploration probability, a float or a schedule ``epsilon(t)``.
      gamma: discount; default ``env.gamma``.
      Q0: initial action values ``(S, A)``; default zeros.

    Returns:
      A :class:`TabularResult` with ``values`` = ``Q`` of shape ``(S, A)``.

    Raises:
      ValueError: if ``Q0`` has the wrong shape, ``num_steps < 1`` or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.5 (eq. 6.8); Watkins & Dayan (1992).
    """
    func = checks.public_name(q_learning)
    gamma = _check_learner(func, env, num_steps, gamma)
    dtype = env.P.dtype

    def act(Q, s, k, t):
        return epsilon_greedy(k, Q[s], _sched(epsilon, t))

    def update(Q, s, a, r, st, t, k):
        delta = q_learning_error(Q[s], a, r, _discount(st, gamma, dtype), Q[st.last])
        return Q.at[s, a].add(jnp.asarray(_sched(alpha, t), dtype) * delta), delta

    return _run(key, env, num_steps, _q0(func, env, Q0), act, update)


def sarsa(
    key,
    env,
    *,
    num_steps: int,
    alpha: Schedule = 0.1,
    epsilon: Schedule = 0.1,
    gamma: float | None = None,
    Q0=None,
) -> TabularResult:
    r"""SARSA, on-policy TD control with :math:`\varepsilon`-greedy actions,
    :math:`Q(S_t, A_t) \leftarrow Q(S_t, A_t) + \alpha [R_{t+1} + \gamma Q(S_{t+1}, A_{t+1}) - Q(S_t, A_t)]`.

    :math:`A_{t+1}` is drawn from the same :math:`\varepsilon`-greedy policy at :math:`S_{t+1}` (at the
    state reached before an auto-reset; after a termination it does not matter). Each step draws its
    own action again from the updated table, which is the textbook algorithm when the update leaves
    :math:`Q(S_{t+1}, \cdot)` unchanged and a close variant otherwise.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      num_steps: environment steps (a Python int).
      alpha: step size, a float or a schedule ``alpha(t)``.
      epsilon: exploration probability, a float or a schedule ``epsilon(t)``.
      gamma: discount; default ``env.gamma``.
      Q0: initial action values ``(S, A)``; default zeros.

    Returns:
      A :class:`TabularResult` with ``values`` = ``Q`` of shape ``(S, A)``.

    Raises:
      ValueError: if ``Q0`` has the wrong shape, ``num_steps < 1`` or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.4 (SARSA).
    """
    func = checks.public_name(sarsa)
    gamma = _check_learner(func, env, num_steps, gamma)
    dtype = env.P.dtype

    def act(Q, s, k, t):
        return epsilon_greedy(k, Q[s], _sched(epsilon, t))

    def update(Q, s, a, r, st, t, k):
        a_next = epsilon_greedy(k, Q[st.last], _sched(epsilon, t + 1))
        delta = sarsa_error(Q[s], a, r, _discount(st, gamma, dtype), Q[st.last], a_next)
        return Q.at[s, a].add(jnp.asarray(_sched(alpha, t), dtype) * delta), delta

    return _run(key, env, num_steps, _q0(func, env, Q0), act, update)


def double_q_learning(
    key,
    env,
    *,
    num_steps: int,
    alpha: Schedule = 0.1,
    epsilon: Schedule = 0.1,
    gamma: float | None = None,
    Q0=None,
) -> TabularResult:
    r"""Double Q-learning: two tables; at each step a fair coin picks one (say :math:`Q^A`) and

    .. math:: Q^A(S_t, A_t) \leftarrow Q^A(S_t, A_t) + \alpha \big[R_{t+1} +
       \gamma Q^B(S_{t+1}, \arg\max_a Q^A(S_{t+1}, a)) - Q^A(S_t, A_t)\big];

    behaviour is :math:`\varepsilon`-greedy in :math:`Q^A + Q^B`.

    Args:
      key: a typed PRNG key.
      env: a finite environment (see the module docstring).
      num_steps: environment steps (a Python int).
      alpha: step size, a float or a schedule ``alpha(t)``.
      epsilon: exploration probability, a float or a schedule ``epsilon(t)``.
      gamma: discount; default ``env.gamma``.
      Q0: initial action values ``(S, A)`` of both tables; default zeros.

    Returns:
      A :class:`TabularResult` with ``values`` = :math:`(Q^A + Q^B)/2`, shape ``(S, A)``.

    Raises:
      ValueError: if ``Q0`` has the wrong shape, ``num_steps < 1`` or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 6.7; van Hasselt (2010), "Double Q-learning".
    """
    func = checks.public_name(double_q_learning)
    gamma = _check_learner(func, env, num_steps, gamma)
    dtype = env.P.dtype
    Q0 = _q0(func, env, Q0)

    def act(QQ, s, k, t):
        return epsilon_greedy(k, QQ[0, s] + QQ[1, s], _sched(epsilon, t))

    def update(QQ, s, a, r, st, t, k):
        i = jax.random.bernoulli(k).astype(jnp.int32)  # the table to update
        Qa, Qb = QQ[i], QQ[1 - i]
        delta = double_q_learning_error(Qa[s], a, r, _discount(st, gamma, dtype), Qb[st.last], Qa[st.last])
        return QQ.at[i, s, a].add(jnp.asarray(_sched(alpha, t), dtype) * delta), delta

    res = _run(key, env, num_steps, jnp.stack([Q0, Q0]), act, update)
    return res._replace(values=jnp.mean(res.values, axis=0))
