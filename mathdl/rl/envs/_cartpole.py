r"""CartPole in JAX ([MEDL] Ch. 8, Sec. 8.4), with gymnasium's ``CartPole-v1`` dynamics and termination,
and :class:`Environment`, the record every JAX environment of :mod:`mathdl.rl.envs` is.

The cart-pole of Barto, Sutton and Anderson (1983): state $s = (x, \dot x, \theta, \dot\theta)$, two
actions (push left or right with force $\mp 10$ N), reward 1 per step, the episode terminates when
$|\theta| > 12°$ or $|x| > 2.4$ and is truncated after 500 steps. The equations of motion are those of
Florian (2007), integrated with one explicit Euler step of $\tau = 0.02$ s:

$$\ddot\theta = \frac{g \sin\theta - \cos\theta\, \frac{F + m_p l \dot\theta^2 \sin\theta}{m_c + m_p}}
{l\big(\tfrac43 - \frac{m_p \cos^2\theta}{m_c + m_p}\big)},\qquad
\ddot x = \frac{F + m_p l \dot\theta^2 \sin\theta}{m_c + m_p} - \frac{m_p l \ddot\theta \cos\theta}{m_c + m_p},$$

with $g = 9.8$, $m_c = 1$, $m_p = 0.1$, $l = 0.5$ (half the pole).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["CartPoleState", "Environment", "cartpole", "cartpole_reset", "cartpole_step"]


class Environment(NamedTuple):
    r"""A JAX environment: two pure functions on ONE environment and what an agent needs to know.

    Attributes:
      name: its name (``"cartpole"``).
      reset: ``reset(key) -> (state, obs)``.
      step: ``step(state, action) -> (state, obs, reward, done)``; ``done`` is true when the episode
        ended, by termination or by the time limit; the caller resets (rollouts do it automatically).
      num_actions: the number of discrete actions $A$.
      obs_size: the length $p$ of the observation vector ``obs`` (shape ``(p,)``).
      max_steps: the time limit (steps per episode before truncation).
      is_terminal: ``is_terminal(state) -> bool``: true in a terminal state (its value is 0), false
        in a state that only hit the time limit, so agents bootstrap there.
    """

    name: str
    reset: Callable
    step: Callable
    num_actions: int
    obs_size: int
    max_steps: int
    is_terminal: Callable


class CartPoleState(NamedTuple):
    """CartPole's state: ``s = (x, x_dot, theta, theta_dot)`` of shape ``(4,)`` and the step count ``t`` (int32)."""

    s: jax.Array
    t: jax.Array


GRAVITY, MASS_CART, MASS_POLE, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
THETA_LIMIT = 12 * 2 * 3.141592653589793 / 360  # gymnasium's 12 degrees in radians
X_LIMIT = 2.4
MAX_STEPS = 500


def cartpole_reset(key) -> tuple[CartPoleState, jax.Array]:
    r"""Start an episode: each of $x, \dot x, \theta, \dot\theta$ uniform on $[-0.05, 0.05]$, $t = 0$.

    Args:
      key: a typed PRNG key.

    Returns:
      ``(state, obs)``: a :class:`CartPoleState` and the observation ``state.s``, shape ``(4,)``, in
      JAX's default float dtype.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Barto, Sutton and Anderson (1983); gymnasium ``CartPole-v1``.
    """
    s = jax.random.uniform(key, (4,), jnp.result_type(float), minval=-0.05, maxval=0.05)
    return CartPoleState(s, jnp.zeros((), jnp.int32)), s


def _terminated(s):
    x, theta = s[0], s[2]
    return (x < -X_LIMIT) | (x > X_LIMIT) | (theta < -THETA_LIMIT) | (theta > THETA_LIMIT)


def cartpole_step(state: CartPoleState, action) -> tuple[CartPoleState, jax.Array, jax.Array, jax.Array]:
    r"""One Euler step of $\tau = 0.02$ s under force $F = +10$ (action 1) or $-10$ (action 0).

    $x \leftarrow x + \tau \dot x$, $\dot x \leftarrow \dot x + \tau \ddot x$, $\theta \leftarrow \theta +
    \tau\dot\theta$, $\dot\theta \leftarrow \dot\theta + \tau\ddot\theta$ (the module's equations), as
    gymnasium's ``euler`` integrator. The reward is 1 (also on the step that terminates).

    Args:
      state: a :class:`CartPoleState` (ONE environment; ``jax.vmap`` for many).
      action: 0 or 1, an integer scalar.

    Returns:
      ``(state, obs, reward, done)``: the new state, its observation ``(4,)``, the reward (a scalar of
      the state's dtype) and ``done`` (bool): terminated ($|\theta| > 12°$ or $|x| > 2.4$) or
      $t \ge 500$.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Barto, Sutton and Anderson (1983); Florian (2007), Correct equations for
      the dynamics of the cart-pole system; gymnasium ``CartPole-v1``.
    """
    s = state.s
    dt = s.dtype
    x, x_dot, theta, theta_dot = s[0], s[1], s[2], s[3]
    force = jnp.where(action == 1, jnp.asarray(FORCE, dt), jnp.asarray(-FORCE, dt))
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    total = MASS_CART + MASS_POLE
    pml = MASS_POLE * HALF_LENGTH
    temp = (force + pml * theta_dot * theta_dot * sin) / total
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos * cos / total))
    x_acc = temp - pml * theta_acc * cos / total
    new = jnp.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc])
    t = state.t + 1
    done = _terminated(new) | (t >= MAX_STEPS)
    return CartPoleState(new, t), new, jnp.ones((), dt), done


#: CartPole as an :class:`~mathdl.rl.envs.Environment`: gymnasium's ``CartPole-v1`` dynamics,
#: termination and 500-step limit (Barto et al. 1983).
cartpole = Environment(
    name="cartpole",
    reset=cartpole_reset,
    step=cartpole_step,
    num_actions=2,
    obs_size=4,
    max_steps=MAX_STEPS,
    is_terminal=lambda state: _terminated(state.s),
)
