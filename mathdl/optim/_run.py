r"""Record an optimizer's trajectory on a test function, compiled end to end with ``lax.scan``."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl import checks

__all__ = ["Trajectory", "run"]


class Trajectory(NamedTuple):
    """Iterates and objective values of :func:`run`.

    Attributes:
      thetas: the iterates $\\theta_0, \\dots, \\theta_T$, stacked on a new leading axis of
        every leaf (shape ``(T + 1, *leaf.shape)``).
      values: $f(\\theta_0), \\dots, f(\\theta_T)$, shape ``(T + 1,)``.
    """

    thetas: Any
    values: jax.Array


def run(optimizer: optax.GradientTransformation, f: Callable, theta0, *, steps: int) -> Trajectory:
    r"""Run `steps` updates of `optimizer` on $f$ from $\theta_0$ and record every iterate.

    $$\theta_{t+1} = \theta_t + \mathrm{update}(\nabla f(\theta_t)), \qquad t = 0, \dots, T-1,$$

    as one ``lax.scan`` (one compiled loop; jit the call for repeated use). This is the helper
    for trajectories on small test functions (plots, the tour, the notebook); training models
    on data goes through :func:`mathdl.train.make_train_step`.

    Args:
      optimizer: any ``optax.GradientTransformation`` (mathdl's or Optax's).
      f: the objective, ``f(theta) -> scalar``, differentiable.
      theta0: the starting point, an array or pytree of floating arrays.
      steps: $T \ge 0$, a Python int.

    Returns:
      A :class:`Trajectory` ``(thetas, values)`` with $T + 1$ entries.

    Raises:
      TypeError: if `optimizer` lacks ``init``/``update`` or `f` is not callable.
      ValueError: if `steps` is not a non-negative integer.

    References:
      [MEDL] Ch. 4, Sec. 4.2-4.3 (trajectories of GD, momentum and ADAM on Rosenbrock).
    """
    func = "optim.run"
    if not hasattr(optimizer, "init") or not hasattr(optimizer, "update"):
        checks.fail(func, "optimizer", "an optax.GradientTransformation", type(optimizer).__name__, exc=TypeError)
    if not callable(f):
        checks.fail(func, "f", "a callable f(theta) -> scalar", type(f).__name__, exc=TypeError)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        checks.fail(func, "steps", "an integer >= 0", steps)
    for leaf in jax.tree.leaves(theta0):
        checks.check_dtype_floating(func, "theta0", leaf)
    value_and_grad = jax.value_and_grad(f)

    def body(carry, _):
        theta, state = carry
        value, grads = value_and_grad(theta)
        updates, state = optimizer.update(grads, state, theta)
        return (optax.apply_updates(theta, updates), state), (theta, value)

    theta0 = jax.tree.map(jnp.asarray, theta0)
    (theta_T, _), (thetas, values) = jax.lax.scan(body, (theta0, optimizer.init(theta0)), length=steps)
    thetas = jax.tree.map(lambda h, last: jnp.concatenate([h, last[None]]), thetas, theta_T)
    return Trajectory(thetas, jnp.concatenate([values, jnp.reshape(f(theta_T), (1,))]))
