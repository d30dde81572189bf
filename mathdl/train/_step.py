r"""The one training step of mathdl, and helpers that lift a one-example loss to a batch objective.

Convention: a *loss function* for training is ``loss_fn(params, batch, key) -> scalar``, the
objective $C(\theta)$ on one mini-batch, i.e. the **mean** of per-example losses. Per-example
losses in :mod:`mathdl.losses` have no hidden reduction, so the caller averages them;
:func:`mean_loss` does that with ``jax.vmap`` for a loss written for one example, as the book
writes it. A model with state (batch norm) uses
``loss_fn(params, model_state, batch, key) -> (scalar, new_model_state)`` and
``make_train_step(..., has_state=True)``.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from mathdl import checks

__all__ = ["make_train_step", "mean_loss"]


def mean_loss(example_loss: Callable, *, needs_key: bool = False) -> Callable:
    r"""Lift a one-example loss $\ell(\theta; x_i, y_i)$ to the mini-batch objective.

    $$C(\theta) = \frac{1}{n_b} \sum_{i=1}^{n_b} \ell(\theta; \text{example}_i),$$

    computed with ``jax.vmap`` over the leading axis of every leaf of ``batch``.

    Args:
      example_loss: ``example_loss(params, example) -> scalar`` (or
        ``example_loss(params, example, key)`` when ``needs_key``), where ``example`` is one
        slice ``batch[i]`` of the batch pytree, e.g. ``(x, y)`` with ``x`` of shape ``(p,)``.
      needs_key: pass an independent key to each example (``jax.random.split(key, n_b)``),
        e.g. for dropout.

    Returns:
      ``loss_fn(params, batch, key) -> scalar``, the mean over the ``n_b`` examples of ``batch``
      (every leaf with leading axis ``n_b``); the form :func:`make_train_step` and ``fit`` take.

    Raises:
      TypeError: if ``example_loss`` is not callable.
      ValueError: (when the returned function is traced) if ``example_loss`` does not return a
        scalar for one example.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (the loss as an average over examples) and Ch. 4, Sec. 4.2
      (mini-batch gradients are averages).
    """
    if not callable(example_loss):
        checks.fail("train.mean_loss", "example_loss", "a callable", type(example_loss).__name__, exc=TypeError)

    def loss_fn(params, batch, key):
        n_b = jax.tree.leaves(batch)[0].shape[0]
        if needs_key:
            keys = jax.random.split(key, n_b)
            losses = jax.vmap(example_loss, in_axes=(None, 0, 0))(params, batch, keys)
        else:
            losses = jax.vmap(example_loss, in_axes=(None, 0))(params, batch)
        if losses.shape != (n_b,):
            checks.fail(
                "train.mean_loss",
                "example_loss",
                "a function returning a scalar per example",
                f"shape {losses.shape[1:]} per example",
            )
        return jnp.mean(losses)

    return loss_fn


def _leaf_finite(tree) -> jax.Array:
    """One boolean per leaf of ``tree``: whether every entry of that leaf is finite."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros((0,), dtype=bool)
    return jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])


def make_train_step(
    loss_fn: Callable,
    optimizer: optax.GradientTransformation,
    *,
    has_state: bool = False,
    check_finite: bool = False,
) -> Callable:
    r"""Build the training step $\theta_{t+1} = \theta_t + u_t$ with $(u_t, s_{t+1}) = \mathrm{update}(g_t, s_t)$.

    ``loss_fn(params, batch, key) -> scalar`` is the objective $C(\theta)$ on one batch (the mean
    of per-example losses, see :func:`mean_loss`); ``optimizer`` maps its gradient
    $g_t = \nabla_\theta C(\theta_t)$ and
    its state $s_t$ to the update $u_t$ (for plain gradient descent $u_t = -\alpha g_t$). The
    step is pure: jit it at the call site, donating ``params`` and ``opt_state``
    (``jax.jit(step, donate_argnums=(0, 1))``), as ``fit`` does.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> scalar``; with ``has_state``,
        ``loss_fn(params, model_state, batch, key) -> (scalar, new_model_state)``.
      optimizer: an ``optax.GradientTransformation`` (e.g. ``mathdl.optim.adam``).
      has_state: the model carries non-trained state (batch-norm running statistics).
      check_finite: add ``metrics["finite"]``, a boolean vector with one entry for the loss
        followed by one per gradient leaf (in ``jax.tree.leaves`` order), true where finite.

    Returns:
      ``step(params, opt_state, batch, key) -> (params, opt_state, metrics)``; with
      ``has_state``, ``step(params, opt_state, model_state, batch, key) ->
      (params, opt_state, model_state, metrics)``. ``metrics["loss"]`` is the scalar loss
      before the update.

    Raises:
      TypeError: if ``loss_fn`` is not callable or ``optimizer`` is not an Optax gradient
        transformation.

    References:
      [MEDL] Ch. 4, Sec. 4.2 (mini-batch gradient descent) and Sec. 4.3 (ADAM);
      optax's ``apply_updates``.
    """
    if not callable(loss_fn):
        checks.fail("train.make_train_step", "loss_fn", "a callable", type(loss_fn).__name__, exc=TypeError)
    if not hasattr(optimizer, "init") or not hasattr(optimizer, "update"):
        checks.fail(
            "train.make_train_step",
            "optimizer",
            "an optax.GradientTransformation",
            type(optimizer).__name__,
            exc=TypeError,
        )

    def _metrics(loss, grads):
        metrics = {"loss": loss}
        if check_finite:
            metrics["finite"] = jnp.concatenate([jnp.isfinite(loss)[None], _leaf_finite(grads)])
        return metrics

    if has_state:

        def stateful_step(params, opt_state, model_state, batch, key):
            (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, model_state, batch, key)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, model_state, _metrics(loss, grads)

        return stateful_step

    def step(params, opt_state, batch, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, _metrics(loss, grads)

    return step
