r"""Learning-rate schedules $t \mapsto \alpha_t$ for the optimizers of :mod:`mathdl.optim`.

A schedule is a pure function of the update count $t = 0, 1, 2, \dots$ (an integer array,
traced under ``jit``) returning a float scalar. They are plain callables, so they also work
with Optax optimizers, and Optax schedules work with mathdl's optimizers.
"""

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = [
    "constant_schedule",
    "cosine_schedule",
    "geometric_schedule",
    "join_schedules",
    "linear_warmup",
    "step_schedule",
]

Schedule = Callable[[jax.Array], jax.Array]


def _check_value(func: str, name: str, value, *, strict: bool = True) -> None:
    numeric = isinstance(value, (int, float, np.number, np.ndarray, jax.Array))
    if isinstance(value, bool) or not numeric or np.ndim(value) != 0:
        checks.fail(func, name, "a finite scalar", value, exc=TypeError)
    v = float(value)
    if not math.isfinite(v) or (v <= 0 if strict else v < 0):
        checks.fail(func, name, "a finite value > 0" if strict else "a finite value >= 0", value)


def _check_steps(func: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        checks.fail(func, name, "an integer >= 1", value)


def _t(count) -> jax.Array:
    return jnp.asarray(count, dtype=jnp.result_type(float))


def constant_schedule(value: float) -> Schedule:
    r"""The constant schedule $\alpha_t = \alpha$.

    Args:
      value: $\alpha > 0$.

    Returns:
      ``schedule(t) -> alpha`` (a float scalar array).

    Raises:
      ValueError: if `value` is not finite and > 0.

    References:
      [MEDL] Ch. 4, Sec. 4.2. Oracle in tests: ``optax.constant_schedule``.
    """
    _check_value("optim.constant_schedule", "value", value)

    def schedule(count):
        return jnp.full(jnp.shape(count), value, dtype=jnp.result_type(float))

    return schedule


def geometric_schedule(init_value: float, *, decay_rate: float) -> Schedule:
    r"""The book's geometric step sizes $\alpha_t = \alpha_0 \gamma^t$.

    Args:
      init_value: $\alpha_0 > 0$.
      decay_rate: $\gamma \in (0, 1]$; $\gamma = 1$ is a constant step.

    Returns:
      ``schedule(t) -> alpha_0 * gamma**t``.

    Raises:
      ValueError: if `init_value` is not finite and > 0 or `decay_rate` is outside (0, 1].

    References:
      [MEDL] Ch. 4, Sec. 4.2 (GD on Rosenbrock with $\gamma \in \{1, 0.99\}$).
      Oracle in tests: ``optax.exponential_decay(init_value, 1, decay_rate)``.
    """
    _check_value("optim.geometric_schedule", "init_value", init_value)
    checks.check_range(
        "optim.geometric_schedule", "decay_rate", decay_rate, 0.0, 1.0, low_closed=False, high_closed=True
    )

    def schedule(count):
        return init_value * decay_rate ** _t(count)

    return schedule


def step_schedule(init_value: float, *, step_size: int, decay_rate: float) -> Schedule:
    r"""Step decay $\alpha_t = \alpha_0\, \gamma^{\lfloor t / k \rfloor}$: multiply by $\gamma$ every $k$ updates.

    Args:
      init_value: $\alpha_0 > 0$.
      step_size: $k \ge 1$, the number of updates between drops.
      decay_rate: $\gamma \in (0, 1]$.

    Returns:
      ``schedule(t) -> alpha_0 * gamma**(t // k)``.

    Raises:
      ValueError: on a non-positive `init_value`, `step_size` < 1 or not an integer, or
        `decay_rate` outside (0, 1].

    References:
      [MEDL] Ch. 4, Sec. 4.5. Oracle in tests:
      ``optax.exponential_decay(init_value, step_size, decay_rate, staircase=True)``.
    """
    _check_value("optim.step_schedule", "init_value", init_value)
    _check_steps("optim.step_schedule", "step_size", step_size)
    checks.check_range("optim.step_schedule", "decay_rate", decay_rate, 0.0, 1.0, low_closed=False, high_closed=True)

    def schedule(count):
        return init_value * decay_rate ** jnp.floor(_t(count) / step_size)

    return schedule


def cosine_schedule(init_value: float, *, decay_steps: int, final_fraction: float = 0.0) -> Schedule:
    r"""Cosine decay from $\alpha_0$ to $a\alpha_0$ over $T$ updates, then constant.

    $$\alpha_t = \alpha_0\Big[a + (1-a)\,\tfrac12\big(1 + \cos(\pi \min(t, T)/T)\big)\Big].$$

    Args:
      init_value: $\alpha_0 > 0$.
      decay_steps: $T \ge 1$.
      final_fraction: $a \in [0, 1]$, the final rate as a fraction of $\alpha_0$.

    Returns:
      ``schedule(t) -> alpha_t``.

    Raises:
      ValueError: on a non-positive `init_value`, `decay_steps` < 1, or `final_fraction`
        outside [0, 1].

    References:
      [MEDL] Ch. 4, Sec. 4.5. Loshchilov & Hutter (2017), SGDR.
      Oracle in tests: ``optax.cosine_decay_schedule(init_value, decay_steps, alpha=a)``.
    """
    _check_value("optim.cosine_schedule", "init_value", init_value)
    _check_steps("optim.cosine_schedule", "decay_steps", decay_steps)
    checks.check_range("optim.cosine_schedule", "final_fraction", final_fraction, 0.0, 1.0, high_closed=True)

    def schedule(count):
        progress = jnp.minimum(_t(count), decay_steps) / decay_steps
        cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
        return init_value * (final_fraction + (1.0 - final_fraction) * cosine)

    return schedule


def linear_warmup(peak_value: float, *, warmup_steps: int, init_value: float = 0.0) -> Schedule:
    r"""Linear warm-up from `init_value` to `peak_value` over $W$ updates, then constant.

    $$\alpha_t = \alpha_{\text{init}} + (\alpha_{\text{peak}} - \alpha_{\text{init}})\min(t, W)/W .$$

    Join it with a decay through :func:`join_schedules`. The first update uses
    $\alpha_0 = $ `init_value`; with the default 0 the first step does nothing.

    Args:
      peak_value: $\alpha_{\text{peak}} > 0$.
      warmup_steps: $W \ge 1$.
      init_value: $\alpha_{\text{init}} \ge 0$.

    Returns:
      ``schedule(t) -> alpha_t``.

    Raises:
      ValueError: on a non-positive `peak_value`, a negative `init_value`, or `warmup_steps` < 1.

    References:
      [MEDL] Ch. 4, Sec. 4.5; Goyal et al. (2017). Oracle in tests:
      ``optax.linear_schedule(init_value, peak_value, warmup_steps)``.
    """
    _check_value("optim.linear_warmup", "peak_value", peak_value)
    _check_value("optim.linear_warmup", "init_value", init_value, strict=False)
    _check_steps("optim.linear_warmup", "warmup_steps", warmup_steps)

    def schedule(count):
        fraction = jnp.minimum(_t(count), warmup_steps) / warmup_steps
        return init_value + (peak_value - init_value) * fraction

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    r"""Run schedule $k$ from boundary $b_{k-1}$ on, restarting its clock there.

    With boundaries $b_1 < \dots < b_{K-1}$ and $b_0 = 0$, for $b_{k-1} \le t < b_k$ the
    rate is $\alpha_t = \text{schedules}[k](t - b_{k-1})$. E.g. warm-up then cosine:
    ``join_schedules([linear_warmup(1e-3, warmup_steps=100), cosine_schedule(1e-3, decay_steps=900)], [100])``.

    Args:
      schedules: $K$ schedules.
      boundaries: $K - 1$ strictly increasing positive integers.

    Returns:
      ``schedule(t) -> alpha_t``.

    Raises:
      ValueError: if the counts do not match (``len(boundaries) != len(schedules) - 1``) or
        the boundaries are not strictly increasing positive integers.

    References:
      [MEDL] Ch. 4, Sec. 4.5. Oracle in tests: ``optax.join_schedules``.
    """
    schedules = list(schedules)
    boundaries = list(boundaries)
    func = "optim.join_schedules"
    if not schedules or not all(callable(s) for s in schedules):
        checks.fail(func, "schedules", "a non-empty sequence of callables", schedules)
    if len(boundaries) != len(schedules) - 1:
        checks.fail(func, "boundaries", f"{len(schedules) - 1} boundaries (one fewer than schedules)", boundaries)
    for b in boundaries:
        _check_steps(func, "boundaries", b)
    if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:], strict=False)):
        checks.fail(func, "boundaries", "strictly increasing integers", boundaries)

    def schedule(count):
        value = schedules[0](count)
        for b, s in zip(boundaries, schedules[1:], strict=True):
            value = jnp.where(count < b, value, s(count - b))
        return value

    return schedule
