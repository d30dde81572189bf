r"""Deep RL objectives and buffers ([MEDL] Ch. 8, Sec. 8.4): DQN's Huber TD loss (and double DQN), a
replay buffer held as arrays, returns ($n$-step, $\lambda$), GAE, REINFORCE and the actor-critic loss.

Conventions. A transition's ``discount`` is $\gamma_t = \gamma (1 - \text{terminal}_{t+1})$: zero where
the next state is terminal (no bootstrap), $\gamma$ elsewhere, including where an episode was only
truncated by a time limit. The per-transition losses broadcast over leading axes ``(*batch)`` and
reduce nothing; the return and advantage functions act on ONE trajectory along its time axis
``(T,)`` (``jax.vmap`` over many). Every target is wrapped in ``lax.stop_gradient``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks

__all__ = [
    "ActorCriticLoss",
    "ReplayBuffer",
    "actor_critic_loss",
    "discounted_returns",
    "dqn_loss",
    "gae",
    "lambda_returns",
    "n_step_returns",
    "reinforce_loss",
    "replay_add",
    "replay_init",
    "replay_sample",
    "td_error",
]


def _huber(x, delta):
    a = jnp.abs(x)
    q = jnp.minimum(a, jnp.asarray(delta, a.dtype))
    return 0.5 * q * q + delta * (a - q)


def _pick(values, index):
    """values[..., index] along the last axis, index of shape values.shape[:-1]."""
    return jnp.take_along_axis(values, index[..., None].astype(jnp.int32), axis=-1)[..., 0]


def _check_delta(func, delta):
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        checks.fail(func, "delta", "a positive real number", type(delta).__name__, exc=TypeError)
    if not delta > 0:
        checks.fail(func, "delta", "a positive real number", delta)


_TD_SPECS = {
    "q": "float[*batch A]",
    "action": "int[*batch]",
    "reward": "float[*batch]",
    "discount": "float[*batch]",
    "q_next": "float[*batch A]",
    "q_next_online": "float[*batch A]?",
}


def _td(func, q, action, reward, discount, q_next, q_next_online):
    for name, v in (("reward", reward), ("discount", discount), ("q_next", q_next)):
        if v.dtype != q.dtype:
            checks.fail(func, name, f"dtype {q.dtype} (that of `q`)", v.dtype, exc=TypeError)
    if q_next_online is None:
        bootstrap = jnp.max(q_next, axis=-1)  # Q-learning: max_a' Q_target(s', a')
    else:  # double DQN: the online network chooses, the target network evaluates
        bootstrap = _pick(q_next, jnp.argmax(q_next_online, axis=-1))
    target = lax.stop_gradient(reward + discount * bootstrap)
    A = q.shape[-1]
    ok = (action >= 0) & (action < A)
    return checks.ensure(ok, target - _pick(q, jnp.clip(action, 0, A - 1)), func, "action", f"actions in [0, {A})")


@checks.inputs(**_TD_SPECS)
def td_error(q, action, reward, discount, q_next, *, q_next_online=None):
    r"""The one-step TD error of Q-learning, $\delta = r + \gamma_t \max_{a'} Q_{\text{target}}(s', a') - Q(s, a)$.

    With ``q_next_online`` it is double DQN's error,
    $\delta = r + \gamma_t\, Q_{\text{target}}\big(s', \arg\max_{a'} Q(s', a')\big) - Q(s, a)$.
    The target is under ``lax.stop_gradient``, so the gradient flows through $Q(s, a)$ only.

    Args:
      q: $Q(s, \cdot)$ of the online network, shape ``(*batch, A)``, floating (broadcasting group).
      action: $a$, shape ``(*batch,)``, integers in ``[0, A)``.
      reward: $r$, shape ``(*batch,)``, same dtype as ``q``.
      discount: $\gamma_t = \gamma(1 - \text{terminal})$, shape ``(*batch,)``.
      q_next: $Q_{\text{target}}(s', \cdot)$, shape ``(*batch, A)``.
      q_next_online: $Q(s', \cdot)$ of the online network for double DQN, or ``None``.

    Returns:
      $\delta$, shape ``(*batch,)``.

    Raises:
      ValueError: on shapes that disagree; eagerly, on an action outside ``[0, A)`` (NaN under jit).
      TypeError: on integer ``q`` or a float ``action``, or dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2015), Human-level control through deep reinforcement
      learning; van Hasselt, Guez and Silver (2016), Deep reinforcement learning with double Q-learning.
    """
    return _td(checks.public_name(td_error), q, action, reward, discount, q_next, q_next_online)


@checks.inputs(**_TD_SPECS)
def dqn_loss(q, action, reward, discount, q_next, *, q_next_online=None, delta=1.0):
    r"""DQN's loss per transition: the Huber loss of the TD error against a target network.

    $$\ell = h_\delta\big(r + \gamma_t \max_{a'} Q_{\text{target}}(s', a') - Q(s, a)\big),\qquad
    h_\delta(u) = \begin{cases}u^2/2 & |u| \le \delta\\ \delta(|u| - \delta/2) & |u| > \delta\end{cases}$$

    The book's squared loss $(r + \gamma \max Q_{\text{target}} - Q)^2$ is $2 h_\infty$; Mnih et al. clip
    the error's gradient to $[-1, 1]$, which is $h_1$. With ``q_next_online`` the bootstrap is double
    DQN's $Q_{\text{target}}(s', \arg\max_{a'} Q(s', a'))$ (see :func:`td_error`).

    Args:
      q: $Q(s, \cdot)$, shape ``(*batch, A)``, floating (broadcasting group).
      action: $a$, shape ``(*batch,)``, integers in ``[0, A)``.
      reward: $r$, shape ``(*batch,)``.
      discount: $\gamma_t$, shape ``(*batch,)``: 0 where $s'$ is terminal.
      q_next: $Q_{\text{target}}(s', \cdot)$, shape ``(*batch, A)``.
      q_next_online: $Q(s', \cdot)$ for double DQN, or ``None`` (plain DQN).
      delta: $\delta > 0$, where the loss turns linear (``float("inf")``: half the squared error).

    Returns:
      The loss per transition, shape ``(*batch,)``; average it for the objective.

    Raises:
      ValueError: on shapes that disagree or a non-positive ``delta``; eagerly, on an action outside
        ``[0, A)`` (NaN under jit).
      TypeError: on integer ``q``, a float ``action``, dtypes that differ, or a non-number ``delta``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2015); van Hasselt, Guez and Silver (2016).
    """
    func = checks.public_name(dqn_loss)
    _check_delta(func, delta)
    err = _td(func, q, action, reward, discount, q_next, q_next_online)
    return 0.5 * err * err if delta == float("inf") else _huber(err, delta)


# ------------------------------------------------------------------ replay buffer


class ReplayBuffer(NamedTuple):
    r"""A ring buffer of transitions held as arrays (a pytree, so it lives in a training state).

    Attributes:
      items: a pytree of arrays, each of shape ``(capacity, ...)``.
      index: int32 scalar, transitions inserted so far; the next goes to row ``index mod capacity``.
      size: int32 scalar, rows filled, $\min(\text{index}, \text{capacity})$.
    """

    items: object
    index: jax.Array
    size: jax.Array


def replay_init(example, capacity: int) -> ReplayBuffer:
    r"""An empty buffer whose rows look like ``example`` (one transition).

    Args:
      example: a pytree of arrays for ONE transition, e.g. ``{"obs": (p,), "action": (), ...}``.
      capacity: rows kept, a positive int; the oldest is overwritten first.

    Returns:
      A :class:`ReplayBuffer` of zeros, each leaf of shape ``(capacity, *leaf.shape)``, ``index = size = 0``.

    Raises:
      ValueError: if ``capacity`` is not a positive int.

    References:
      [MEDL] Ch. 8, Sec. 8.4 (experience replay); Lin (1992); Mnih et al. (2015).
    """
    func = checks.public_name(replay_init)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        checks.fail(func, "capacity", "a positive int", capacity)
    items = jax.tree.map(lambda v: jnp.zeros((capacity, *jnp.shape(v)), jnp.asarray(v).dtype), example)
    return ReplayBuffer(items, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def _capacity(buffer):
    return jax.tree.leaves(buffer.items)[0].shape[0]


def replay_add(buffer: ReplayBuffer, items) -> ReplayBuffer:
    r"""Insert a batch of $k$ transitions at rows $(\text{index} + i) \bmod \text{capacity}$, $i < k$.

    Args:
      buffer: a :class:`ReplayBuffer`.
      items: a pytree like ``buffer.items`` whose leaves have leading length ``k <= capacity``
        (``k`` environments acting in one step).

    Returns:
      The new buffer (pure: ``buffer`` is unchanged), ``index + k`` and ``min(size + k, capacity)``.

    Raises:
      ValueError: if the trees differ, the leading lengths differ or exceed the capacity, or a
        row's shape differs from the buffer's.

    References:
      [MEDL] Ch. 8, Sec. 8.4.
    """
    func = checks.public_name(replay_add)
    C = _capacity(buffer)
    if jax.tree.structure(items) != jax.tree.structure(buffer.items):
        checks.fail(func, "items", f"a tree like the buffer's {jax.tree.structure(buffer.items)}",
                    jax.tree.structure(items))  # fmt: skip
    lengths = {jnp.shape(v)[0] if jnp.ndim(v) else None for v in jax.tree.leaves(items)}
    if len(lengths) != 1 or None in lengths or next(iter(lengths)) > C:
        checks.fail(func, "items", f"leaves with one leading length k <= capacity {C}", sorted(map(str, lengths)))
    k = lengths.pop()
    for b, v in zip(jax.tree.leaves(buffer.items), jax.tree.leaves(items), strict=True):
        if jnp.shape(v)[1:] != b.shape[1:]:
            checks.fail(func, "items", f"rows of shape {b.shape[1:]}", jnp.shape(v)[1:])
    rows = (buffer.index + jnp.arange(k, dtype=jnp.int32)) % C
    new = jax.tree.map(lambda b, v: b.at[rows].set(jnp.asarray(v, b.dtype)), buffer.items, items)
    return ReplayBuffer(new, buffer.index + k, jnp.minimum(buffer.size + k, C).astype(jnp.int32))


def replay_sample(key, buffer: ReplayBuffer, batch_size: int):
    r"""Draw ``batch_size`` rows uniformly, with replacement, from the filled part of the buffer.

    Args:
      key: a typed PRNG key.
      buffer: a :class:`ReplayBuffer` with ``size >= 1``.
      batch_size: rows drawn, a positive int.

    Returns:
      A pytree like ``buffer.items`` with leaves of leading length ``batch_size``.

    Raises:
      ValueError: on a non-positive ``batch_size``; eagerly, on an empty buffer (NaN or -1 under jit).

    References:
      [MEDL] Ch. 8, Sec. 8.4.
    """
    func = checks.public_name(replay_sample)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        checks.fail(func, "batch_size", "a positive int", batch_size)
    rows = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1), jnp.int32)
    out = jax.tree.map(lambda b: b[rows], buffer.items)
    return checks.ensure(buffer.size > 0, out, func, "buffer", "a buffer with at least one transition", "size 0")


# ------------------------------------------------------------------ returns and advantages

_TRAJ = {"rewards": "float[T]", "discounts": "float[T]"}


def _same(func, ref, **named):
    for name, v in named.items():
        if v.dtype != ref.dtype:
            checks.fail(func, name, f"dtype {ref.dtype} (that of `rewards`)", v.dtype, exc=TypeError)


def _reverse_scan(f, init, xs):
    _, out = lax.scan(lambda c, x: (f(c, x),) * 2, init, xs, reverse=True)
    return out


@checks.inputs(**_TRAJ, bootstrap="float[]")
def discounted_returns(rewards, discounts, bootstrap):
    r"""Discounted returns of one trajectory, $G_t = r_t + \gamma_t G_{t+1}$, with $G_T$ = ``bootstrap``.

    With $\gamma_t = \gamma$ until a terminal step this is $G_t = \sum_k \gamma^k r_{t+k}$ (the book's
    $G_t = \sum_k \gamma^k r_{t+k+1}$ with rewards indexed by the step that produced them).

    Args:
      rewards: $r_0, \dots, r_{T-1}$, shape ``(T,)`` (one trajectory; ``jax.vmap`` for many).
      discounts: $\gamma_0, \dots, \gamma_{T-1}$, shape ``(T,)``; 0 after a terminal step.
      bootstrap: $G_T$, a scalar (0, or $V(s_T)$ for a truncated trajectory).

    Returns:
      $G_0, \dots, G_{T-1}$, shape ``(T,)``.

    Raises:
      ValueError: on shapes other than ``(T,)``; TypeError: on dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton and Barto (2018), Sec. 3.3.
    """
    _same(checks.public_name(discounted_returns), rewards, discounts=discounts, bootstrap=bootstrap)
    return _reverse_scan(lambda G, x: x[0] + x[1] * G, bootstrap, (rewards, discounts))


@checks.inputs(**_TRAJ, values_next="float[T]")
def lambda_returns(rewards, discounts, values_next, lam: float):
    r"""$\lambda$-returns, $G^\lambda_t = r_t + \gamma_t\big[(1-\lambda) V(s_{t+1}) + \lambda G^\lambda_{t+1}\big]$.

    The recursion ends with $G^\lambda_{T-1} = r_{T-1} + \gamma_{T-1} V(s_T)$; $\lambda = 0$ gives the
    one-step TD targets, $\lambda = 1$ the Monte Carlo return bootstrapped by $V(s_T)$.

    Args:
      rewards: shape ``(T,)`` (one trajectory).
      discounts: $\gamma_t$, shape ``(T,)``.
      values_next: $V(s_1), \dots, V(s_T)$, shape ``(T,)``: the value of each NEXT state.
      lam: $\lambda \in [0, 1]$.

    Returns:
      $G^\lambda_0, \dots, G^\lambda_{T-1}$, shape ``(T,)``.

    Raises:
      ValueError: on other shapes or $\lambda \notin [0, 1]$; TypeError: on dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton and Barto (2018), Sec. 12.1.
    """
    func = checks.public_name(lambda_returns)
    _same(func, rewards, discounts=discounts, values_next=values_next)
    checks.check_range(func, "lam", lam, 0.0, 1.0, high_closed=True)
    lam = jnp.asarray(lam, rewards.dtype)
    last = values_next[-1]

    def f(G, x):
        r, g, v = x
        return r + g * ((1 - lam) * v + lam * G)

    return _reverse_scan(f, last, (rewards, discounts, values_next))


@checks.inputs(**_TRAJ, values_next="float[T]")
def n_step_returns(rewards, discounts, values_next, n: int):
    r"""$n$-step bootstrapped returns, $G^{(n)}_t = \sum_{k<m} \big(\prod_{j<k}\gamma_{t+j}\big) r_{t+k}
    + \big(\prod_{j<m}\gamma_{t+j}\big) V(s_{t+m})$, $m = \min(n, T - t)$.

    Args:
      rewards: shape ``(T,)`` (one trajectory).
      discounts: $\gamma_t$, shape ``(T,)``.
      values_next: $V(s_1), \dots, V(s_T)$, shape ``(T,)``.
      n: steps before bootstrapping, a positive int (``n = 1``: TD targets; ``n >= T``: Monte Carlo
        bootstrapped by $V(s_T)$).

    Returns:
      $G^{(n)}_0, \dots, G^{(n)}_{T-1}$, shape ``(T,)``.

    Raises:
      ValueError: on other shapes or ``n < 1``; TypeError: on dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton and Barto (2018), Sec. 7.1.
    """
    func = checks.public_name(n_step_returns)
    _same(func, rewards, discounts=discounts, values_next=values_next)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        checks.fail(func, "n", "a positive int", n)
    T = rewards.shape[0]
    t = jnp.arange(T)
    G = jnp.zeros_like(rewards)
    scale = jnp.ones_like(rewards)
    for k in range(min(n, T)):  # unrolled: n is static and small
        idx = jnp.minimum(t + k, T - 1)
        live = (t + k < T).astype(rewards.dtype)
        G = G + live * scale * rewards[idx]
        scale = jnp.where(t + k < T, scale * discounts[idx], scale)
    m = jnp.minimum(t + min(n, T), T)  # index of s_{t+m} in 1..T
    return G + scale * values_next[m - 1]


@checks.inputs(**_TRAJ, values="float[U]")
def gae(rewards, discounts, values, lam: float):
    r"""Generalised advantage estimation over one trajectory.

    $$\delta_t = r_t + \gamma_t V(s_{t+1}) - V(s_t),\qquad A_t = \delta_t + \gamma_t \lambda A_{t+1},\quad
    A_T = 0,$$
    so $A_t = \sum_k (\prod_{j<k} \gamma_{t+j}\lambda)\,\delta_{t+k}$; $\lambda = 1$ gives $G_t - V(s_t)$,
    $\lambda = 0$ the TD error. The value targets are $A_t + V(s_t)$ (the $\lambda$-returns).

    Args:
      rewards: $r_0, \dots, r_{T-1}$, shape ``(T,)`` (one trajectory; ``jax.vmap`` over environments).
      discounts: $\gamma_t$, shape ``(T,)``: 0 where $s_{t+1}$ is terminal.
      values: $V(s_0), \dots, V(s_T)$, shape ``(T + 1,)`` (the last one bootstraps).
      lam: $\lambda \in [0, 1]$.

    Returns:
      $A_0, \dots, A_{T-1}$, shape ``(T,)``, under ``lax.stop_gradient``.

    Raises:
      ValueError: if ``values`` is not one longer than ``rewards`` or $\lambda \notin [0, 1]$.
      TypeError: on dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Schulman, Moritz, Levine, Jordan and Abbeel (2016), High-dimensional
      continuous control using generalized advantage estimation.
    """
    func = checks.public_name(gae)
    _same(func, rewards, discounts=discounts, values=values)
    if values.shape[0] != rewards.shape[0] + 1:
        checks.fail(func, "values", f"shape ({rewards.shape[0] + 1},) (one more than `rewards`)", values.shape)
    checks.check_range(func, "lam", lam, 0.0, 1.0, high_closed=True)
    lam = jnp.asarray(lam, rewards.dtype)
    delta = rewards + discounts * values[1:] - values[:-1]
    adv = _reverse_scan(lambda A, x: x[0] + x[1] * lam * A, jnp.zeros((), rewards.dtype), (delta, discounts))
    return lax.stop_gradient(adv)


# ------------------------------------------------------------------ policy gradients


def _logp(logits, action):
    A = logits.shape[-1]
    return jax.nn.log_softmax(logits, axis=-1), _pick(jax.nn.log_softmax(logits, axis=-1), jnp.clip(action, 0, A - 1))


@checks.inputs(logits="float[*batch A]", action="int[*batch]", returns="float[*batch]", baseline="float[*batch]?")
def reinforce_loss(logits, action, returns, baseline=None):
    r"""REINFORCE's surrogate loss per step, $\ell_t = -(G_t - b(s_t)) \log \pi_\theta(a_t \mid s_t)$.

    Its gradient is the book's policy gradient $-\nabla_\theta J = -\mathbb{E}[\sum_t \nabla_\theta \log
    \pi_\theta(a_t|s_t)(G_t - b(s_t))]$; the return and the baseline are constants
    (``lax.stop_gradient``), so a learned baseline is trained by its own loss.

    Args:
      logits: the policy's logits at $s_t$, shape ``(*batch, A)`` (broadcasting group; time may be a
        batch axis).
      action: $a_t$, shape ``(*batch,)``, integers in ``[0, A)``.
      returns: $G_t$, shape ``(*batch,)``.
      baseline: $b(s_t)$, shape ``(*batch,)``, or ``None`` ($b = 0$).

    Returns:
      $\ell_t$, shape ``(*batch,)``.

    Raises:
      ValueError: on shapes that disagree; eagerly, on an action outside ``[0, A)`` (NaN under jit).
      TypeError: on integer logits, float actions or dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Williams (1992), Simple statistical gradient-following algorithms for
      connectionist reinforcement learning.
    """
    func = checks.public_name(reinforce_loss)
    for name, v in (("returns", returns), ("baseline", baseline)):
        if v is not None and v.dtype != logits.dtype:
            checks.fail(func, name, f"dtype {logits.dtype} (that of `logits`)", v.dtype, exc=TypeError)
    adv = returns if baseline is None else returns - baseline
    _, logp = _logp(logits, action)
    A = logits.shape[-1]
    out = -lax.stop_gradient(adv) * logp
    return checks.ensure((action >= 0) & (action < A), out, func, "action", f"actions in [0, {A})")


class ActorCriticLoss(NamedTuple):
    """The actor-critic loss per step and its three terms, each of shape ``(*batch,)``.

    Attributes:
      total: ``policy + value_coef * value - entropy_coef * entropy``.
      policy: $-A_t \\log\\pi(a_t|s_t)$.
      value: $\\tfrac12 (y_t - V(s_t))^2$.
      entropy: $H(\\pi(\\cdot|s_t))$ in nats.
    """

    total: jax.Array
    policy: jax.Array
    value: jax.Array
    entropy: jax.Array


@checks.inputs(
    logits="float[*batch A]", value="float[*batch]", action="int[*batch]", advantage="float[*batch]",
    value_target="float[*batch]",
)  # fmt: skip
def actor_critic_loss(logits, value, action, advantage, value_target, *, value_coef=0.5, entropy_coef=0.01):
    r"""The advantage actor-critic (A2C) loss per step: policy, value and entropy terms.

    $$\ell_t = -A_t \log \pi_\theta(a_t|s_t) + c_V\,\tfrac12\big(y_t - V_\phi(s_t)\big)^2
    - c_H\, H\big(\pi_\theta(\cdot|s_t)\big),$$
    with the advantage $A_t$ (from :func:`gae`) and the value target $y_t$ (e.g. $A_t + V(s_t)$) held
    constant.

    Args:
      logits: the policy's logits, shape ``(*batch, A)`` (broadcasting group).
      value: $V_\phi(s_t)$, shape ``(*batch,)``.
      action: $a_t$, shape ``(*batch,)``, integers in ``[0, A)``.
      advantage: $A_t$, shape ``(*batch,)``.
      value_target: $y_t$, shape ``(*batch,)``.
      value_coef: $c_V \ge 0$.
      entropy_coef: $c_H \ge 0$.

    Returns:
      :class:`ActorCriticLoss` of arrays of shape ``(*batch,)``.

    Raises:
      ValueError: on shapes that disagree or negative coefficients; eagerly, on an action outside
        ``[0, A)`` (NaN under jit).
      TypeError: on integer logits, float actions or dtypes that differ.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Mnih et al. (2016), Asynchronous methods for deep reinforcement learning;
      Schulman et al. (2016).
    """
    func = checks.public_name(actor_critic_loss)
    for name, v in (("value", value), ("advantage", advantage), ("value_target", value_target)):
        if v.dtype != logits.dtype:
            checks.fail(func, name, f"dtype {logits.dtype} (that of `logits`)", v.dtype, exc=TypeError)
    checks.check_positive(func, "value_coef", value_coef, strict=False)
    checks.check_positive(func, "entropy_coef", entropy_coef, strict=False)
    logp_all, logp = _logp(logits, action)
    policy = -lax.stop_gradient(advantage) * logp
    err = lax.stop_gradient(value_target) - value
    v_loss = 0.5 * err * err
    entropy = -jnp.sum(jnp.exp(logp_all) * logp_all, axis=-1)
    total = policy + value_coef * v_loss - entropy_coef * entropy
    A = logits.shape[-1]
    out = ActorCriticLoss(total, policy, v_loss, entropy)
    return checks.ensure((action >= 0) & (action < A), out, func, "action", f"actions in [0, {A})")
