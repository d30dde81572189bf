r"""Train NNX modules through mathdl's engine: ``nnx.split`` once, a pure apply, ``jax.jit`` at the step.

``nnx.jit`` re-splits and re-merges the module graph on every call in Python, which dominates the
cost of a small model's step. :func:`to_pure` does the split once and returns a pure function of
``(params, state, *args)``; ``mathdl.train.make_train_step``/``fit`` then jit the whole step with
``jax.jit`` like any other mathdl model, and :func:`update_module` writes the trained values back::

    model = nn.MLP([64, 128, 10], rngs=nnx.Rngs(0))
    apply, params, state = nn.to_pure(model)

    def loss_fn(params, state, batch, key):
        X, y = batch
        logits, state = apply(params, state, X)
        return losses.softmax_cross_entropy(logits, y).mean(), state

    result = train.fit(loss_fn, optax.adam(1e-3), params, (X, y), model_state=state, key=..., ...)
    nn.update_module(model, result.params, result.model_state)
"""

from collections.abc import Callable

from flax import nnx

from mathdl import checks

__all__ = ["to_pure", "update_module"]


def to_pure(module: nnx.Module) -> tuple[Callable, nnx.State, nnx.State]:
    r"""Split an NNX module into a pure apply function, its parameters and its other state.

    ``graphdef, params, state = nnx.split(module, nnx.Param, ...)``; the returned
    ``apply(params, state, *args, **kwargs) -> (output, new_state)`` merges a fresh copy of the
    module (``nnx.merge``), calls it, and splits the updated non-parameter state (batch-norm running
    statistics, RNG counters) back out. It is pure and traceable: jit the step that calls it
    (``jax.jit``), not the module (``nnx.jit``).

    Args:
      module: any ``flax.nnx.Module`` (e.g. :class:`MLP`).

    Returns:
      ``(apply, params, state)``: ``params`` is the ``nnx.State`` of ``nnx.Param`` variables (a
      pytree to differentiate and optimise), ``state`` the ``nnx.State`` of everything else.

    Raises:
      TypeError: if ``module`` is not an ``nnx.Module``.

    References:
      Flax NNX documentation, "Performance considerations" (``nnx.split``/``nnx.merge`` with
      ``jax.jit``); docs/architecture.md (surfaces delegate).
    """
    if not isinstance(module, nnx.Module):
        checks.fail(checks.public_name(to_pure), "module", "a flax.nnx.Module", type(module).__name__, exc=TypeError)
    graphdef, params, state = nnx.split(module, nnx.Param, ...)

    def apply(params, state, *args, **kwargs):
        m = nnx.merge(graphdef, params, state, copy=True)  # fresh Variables: safe under any trace
        out = m(*args, **kwargs)
        _, _, new_state = nnx.split(m, nnx.Param, ...)
        return out, new_state

    return apply, params, state


def update_module(module: nnx.Module, params: nnx.State, state: nnx.State | None = None) -> None:
    r"""Write (trained) ``params`` and optionally ``state`` back into ``module`` in place.

    Args:
      module: the module :func:`to_pure` was called on.
      params: parameters with the structure :func:`to_pure` returned.
      state: non-parameter state, or ``None`` to leave it.

    Returns:
      ``None``.

    Raises:
      TypeError: if ``module`` is not an ``nnx.Module``.

    References:
      Flax NNX documentation (``nnx.update``).
    """
    if not isinstance(module, nnx.Module):
        func = checks.public_name(update_module)
        checks.fail(func, "module", "a flax.nnx.Module", type(module).__name__, exc=TypeError)
    nnx.update(module, params)
    if state is not None:
        nnx.update(module, state)
