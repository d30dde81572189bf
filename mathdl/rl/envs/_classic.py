r"""MountainCar and Acrobot in JAX ([MEDL] Ch. 8, Sec. 8.4), with gymnasium's ``MountainCar-v0`` and
``Acrobot-v1`` dynamics and termination. Both are :class:`~mathdl.rl.envs.Environment` records.

* MountainCar (Moore 1990): $s = (x, v)$, actions push left, nothing, right; reward $-1$ per step,
  terminated at $x \ge 0.5$ (with $v \ge 0$), truncated after 200 steps.
* Acrobot (Sutton 1996; Spong 1995, "book" dynamics): two links, $s = (\theta_1, \theta_2,
  \dot\theta_1, \dot\theta_2)$, torque $\{-1, 0, 1\}$ on the joint, one RK4 step of $0.2$ s; reward
  $-1$ per step and 0 on the step that reaches $-\cos\theta_1 - \cos(\theta_1 + \theta_2) > 1$;
  truncated after 500 steps. Observation $(\cos\theta_1, \sin\theta_1, \cos\theta_2, \sin\theta_2,
  \dot\theta_1, \dot\theta_2)$.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl.rl.envs._cartpole import Environment

__all__ = ["ClassicState", "acrobot", "acrobot_reset", "acrobot_step", "mountain_car", "mountain_car_reset",
           "mountain_car_step"]  # fmt: skip


class ClassicState(NamedTuple):
    """The physical state ``s`` (MountainCar ``(2,)``, Acrobot ``(4,)``) and the step count ``t`` (int32)."""

    s: jax.Array
    t: jax.Array


# ------------------------------------------------------------------ MountainCar

MC_MIN_X, MC_MAX_X, MC_MAX_SPEED, MC_GOAL_X = -1.2, 0.6, 0.07, 0.5
MC_FORCE, MC_GRAVITY, MC_MAX_STEPS = 0.001, 0.0025, 200


def mountain_car_reset(key):
    r"""Start a MountainCar episode: $x \sim U[-0.6, -0.4]$, $v = 0$.

    Args:
      key: a typed PRNG key.

    Returns:
      ``(state, obs)``: a :class:`ClassicState` and the observation $(x, v)$, shape ``(2,)``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Moore (1990), Efficient memory-based learning for robot control;
      gymnasium ``MountainCar-v0``.
    """
    dt = jnp.result_type(float)
    x = jax.random.uniform(key, (), dt, minval=-0.6, maxval=-0.4)
    s = jnp.stack([x, jnp.zeros((), dt)])
    return ClassicState(s, jnp.zeros((), jnp.int32)), s


def _mc_terminal(s):
    return (s[0] >= MC_GOAL_X) & (s[1] >= 0)


def mountain_car_step(state: ClassicState, action):
    r"""One MountainCar step: $v \leftarrow \text{clip}(v + (a - 1)\,0.001 - 0.0025 \cos 3x, \pm 0.07)$,
    $x \leftarrow \text{clip}(x + v, -1.2, 0.6)$, and $v \leftarrow 0$ at the left wall when $v < 0$.

    Args:
      state: a :class:`ClassicState` (ONE environment).
      action: 0 (push left), 1 (none) or 2 (push right), an integer scalar.

    Returns:
      ``(state, obs, reward, done)``: reward $-1$; ``done`` when $x \ge 0.5$ or after 200 steps.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Moore (1990); gymnasium ``MountainCar-v0``.
    """
    x, v = state.s[0], state.s[1]
    dt = x.dtype
    a = (jnp.asarray(action, jnp.int32) - 1).astype(dt)
    v = jnp.clip(v + a * MC_FORCE + jnp.cos(3 * x) * (-MC_GRAVITY), -MC_MAX_SPEED, MC_MAX_SPEED)
    x = jnp.clip(x + v, MC_MIN_X, MC_MAX_X)
    v = jnp.where((x == MC_MIN_X) & (v < 0), jnp.zeros((), dt), v)
    s = jnp.stack([x, v])
    t = state.t + 1
    return ClassicState(s, t), s, -jnp.ones((), dt), _mc_terminal(s) | (t >= MC_MAX_STEPS)


#: MountainCar as an :class:`~mathdl.rl.envs.Environment`:
#: gymnasium's ``MountainCar-v0`` dynamics and 200-step limit (Moore 1990).
mountain_car = Environment(
    name="mountain_car",
    reset=mountain_car_reset,
    step=mountain_car_step,
    num_actions=3,
    obs_size=2,
    max_steps=MC_MAX_STEPS,
    is_terminal=lambda state: _mc_terminal(state.s),
)


# ------------------------------------------------------------------ Acrobot

AC_DT, AC_MAX_VEL_1, AC_MAX_VEL_2, AC_MAX_STEPS = 0.2, 4 * math.pi, 9 * math.pi, 500
AC_L1, AC_M1, AC_M2, AC_LC1, AC_LC2, AC_I = 1.0, 1.0, 1.0, 0.5, 0.5, 1.0


def _ac_obs(s):
    return jnp.stack([jnp.cos(s[0]), jnp.sin(s[0]), jnp.cos(s[1]), jnp.sin(s[1]), s[2], s[3]])


def acrobot_reset(key):
    r"""Start an Acrobot episode: each of $\theta_1, \theta_2, \dot\theta_1, \dot\theta_2$ uniform on $[-0.1, 0.1]$.

    Args:
      key: a typed PRNG key.

    Returns:
      ``(state, obs)``: a :class:`ClassicState` and the observation, shape ``(6,)``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton (1996), Generalization in reinforcement learning: successful
      examples using sparse coarse coding; gymnasium ``Acrobot-v1``.
    """
    s = jax.random.uniform(key, (4,), jnp.result_type(float), minval=-0.1, maxval=0.1)
    return ClassicState(s, jnp.zeros((), jnp.int32)), _ac_obs(s)


def _ac_derivs(y, torque):
    th1, th2, dth1, dth2 = y[0], y[1], y[2], y[3]
    g = 9.8
    d1 = AC_M1 * AC_LC1**2 + AC_M2 * (AC_L1**2 + AC_LC2**2 + 2 * AC_L1 * AC_LC2 * jnp.cos(th2)) + 2 * AC_I
    d2 = AC_M2 * (AC_LC2**2 + AC_L1 * AC_LC2 * jnp.cos(th2)) + AC_I
    phi2 = AC_M2 * AC_LC2 * g * jnp.cos(th1 + th2 - math.pi / 2.0)
    phi1 = (
        -AC_M2 * AC_L1 * AC_LC2 * dth2**2 * jnp.sin(th2)
        - 2 * AC_M2 * AC_L1 * AC_LC2 * dth2 * dth1 * jnp.sin(th2)
        + (AC_M1 * AC_LC1 + AC_M2 * AC_L1) * g * jnp.cos(th1 - math.pi / 2)
        + phi2
    )
    ddth2 = (torque + d2 / d1 * phi1 - AC_M2 * AC_L1 * AC_LC2 * dth1**2 * jnp.sin(th2) - phi2) / (
        AC_M2 * AC_LC2**2 + AC_I - d2**2 / d1
    )
    ddth1 = -(d2 * ddth2 + phi1) / d1
    return jnp.stack([dth1, dth2, ddth1, ddth2])


def _wrap(x):
    # gymnasium subtracts (or adds) 2 pi until x lies in [-pi, pi]
    two_pi = 2 * math.pi
    k = jnp.where(
        x > math.pi, jnp.ceil((x - math.pi) / two_pi), jnp.where(x < -math.pi, -jnp.ceil((-math.pi - x) / two_pi), 0)
    )
    return x - k * two_pi


def _ac_terminal(s):
    return -jnp.cos(s[0]) - jnp.cos(s[1] + s[0]) > 1.0


def acrobot_step(state: ClassicState, action):
    r"""One Acrobot step: torque $a - 1$, one RK4 step of $0.2$ s of Spong's equations ("book" form),
    angles wrapped to $[-\pi, \pi]$, velocities clipped to $4\pi$ and $9\pi$.

    Args:
      state: a :class:`ClassicState` (ONE environment).
      action: 0, 1 or 2 (torque $-1$, 0, $+1$), an integer scalar.

    Returns:
      ``(state, obs, reward, done)``: reward $-1$, or 0 on reaching the height $-\cos\theta_1 -
      \cos(\theta_1 + \theta_2) > 1$ (terminated); ``done`` also after 500 steps.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton (1996); Spong (1995), The swing up control problem for the
      Acrobot; gymnasium ``Acrobot-v1``.
    """
    y = state.s
    dt = y.dtype
    torque = (jnp.asarray(action, jnp.int32) - 1).astype(dt)
    h = AC_DT / 2.0
    k1 = _ac_derivs(y, torque)
    k2 = _ac_derivs(y + h * k1, torque)
    k3 = _ac_derivs(y + h * k2, torque)
    k4 = _ac_derivs(y + AC_DT * k3, torque)
    n = y + AC_DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    s = jnp.stack([
        _wrap(n[0]), _wrap(n[1]),
        jnp.clip(n[2], -AC_MAX_VEL_1, AC_MAX_VEL_1), jnp.clip(n[3], -AC_MAX_VEL_2, AC_MAX_VEL_2),
    ])  # fmt: skip
    term = _ac_terminal(s)
    t = state.t + 1
    reward = jnp.where(term, jnp.zeros((), dt), -jnp.ones((), dt))
    return ClassicState(s, t), _ac_obs(s), reward, term | (t >= AC_MAX_STEPS)


#: Acrobot as an :class:`~mathdl.rl.envs.Environment`:
#: gymnasium's ``Acrobot-v1`` dynamics (RK4) and 500-step limit (Sutton 1996).
acrobot = Environment(
    name="acrobot",
    reset=acrobot_reset,
    step=acrobot_step,
    num_actions=3,
    obs_size=6,
    max_steps=AC_MAX_STEPS,
    is_terminal=lambda state: _ac_terminal(state.s),
)
