"""The one training step of mathdl."""

from collections.abc import Callable

import jax
import optax

__all__ = ["make_train_step"]


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation) -> Callable:
    r"""Build the training step $\theta \leftarrow \theta + \mathrm{update}(\nabla_\theta C(\theta))$.

    ``loss_fn(params, batch, key) -> scalar`` is the objective $C(\theta)$ on one batch
    (the mean of per-example losses). The step is pure; jit it at the call site.

    Args:
      loss_fn: ``loss_fn(params, batch, key)`` returning a scalar loss.
      optimizer: an ``optax.GradientTransformation``.

    Returns:
      ``step(params, opt_state, batch, key) -> (params, opt_state, metrics)`` where
      ``metrics`` is ``{"loss": scalar}``.

    Raises:
      TypeError: if ``optimizer`` is not an Optax gradient transformation.

    References:
      [MEDL] Ch. 2.4 and Ch. 4 (gradient-based training); optax's ``apply_updates``.
    """
    if not hasattr(optimizer, "init") or not hasattr(optimizer, "update"):
        raise TypeError(
            "train.make_train_step: argument `optimizer` expected an optax.GradientTransformation, "
            f"got {type(optimizer).__name__}."
        )

    def step(params, opt_state, batch, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, {"loss": loss}

    return step
