r"""The compiled pieces of ``train.loop``: one step, and a run of steps as one ``lax.scan``.

Both carry ``(state, tally, t)`` and are jitted once at module level with the user's step, the
guard, the batch size and the batch sharding as static arguments, so a second ``loop`` call
with the same step function compiles nothing. The carry is donated.

Batch ``t`` of a run with data is rows ``i B, ..., (i + 1) B - 1`` of the permutation of epoch
``e = t // s``, ``i = t mod s``, where ``s = n // B`` steps make an epoch and the permutation is
:func:`mathdl.data.epoch_permutation` of the data key; step ``t`` gets the key
``fold_in(step_key, t)``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.data import epoch_permutation
from mathdl.train._guard import add_to_tally, scalar_metric_dtypes

__all__ = []


def _batch(data, perm, t, batch_size, batch_sharding):
    if data is None:
        return None
    i = t % (perm.shape[0] // batch_size)
    rows = jax.lax.dynamic_slice_in_dim(perm, i * batch_size, batch_size)
    batch = jax.tree.map(lambda a: jnp.take(a, rows, axis=0), data)
    if batch_sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    return batch


def _stack_flags(flags: dict) -> jax.Array:
    """The guard's flags as one bool vector, in the guard's (insertion) order."""
    if not flags:
        return jnp.ones((0,), bool)
    return jnp.stack([jnp.asarray(f).astype(bool).reshape(()) for f in flags.values()])


def _one(step, guard, batch_size, batch_sharding, carry, data, perm, step_key):
    state, tally, t = carry
    batch = _batch(data, perm, t, batch_size, batch_sharding)
    state, metrics = step(state, batch, jax.random.fold_in(step_key, t))
    tally = add_to_tally(tally, metrics, _stack_flags(guard(state, metrics)), t)
    return state, tally, t + 1


def _steps(step, guard, batch_size, batch_sharding, length, carry, data, perm_key, step_key):
    perm = None
    if data is not None:
        n = jax.tree.leaves(data)[0].shape[0]
        perm = epoch_permutation(perm_key, carry[2] // (n // batch_size), n)

    def body(c, _):
        return _one(step, guard, batch_size, batch_sharding, c, data, perm, step_key), None

    carry, _ = jax.lax.scan(body, carry, None, length=length)
    return carry


one_step = jax.jit(_one, static_argnums=(0, 1, 2, 3), donate_argnums=(4,))
"""``one_step(step, guard, batch_size, batch_sharding, carry, data, perm, step_key) -> carry``."""

many_steps = jax.jit(_steps, static_argnums=(0, 1, 2, 3, 4), donate_argnums=(5,))
"""``many_steps(step, guard, batch_size, batch_sharding, length, carry, data, perm_key, step_key)``:
``length`` steps inside one epoch as one ``lax.scan``."""

permutation = jax.jit(epoch_permutation, static_argnums=(2,))
"""``permutation(perm_key, epoch, n)``, compiled once (the step-by-step loop's epoch order)."""


def _avals(tree):
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((np.shape(x), jnp.result_type(x), getattr(x, "weak_type", False)) for x in leaves)


@functools.lru_cache(maxsize=64)
def _probe_cached(step, guard, state_avals, batch_avals, key_aval):
    def rebuild(avals):
        treedef, leaves = avals
        return jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(s, d, weak_type=w) for s, d, w in leaves])

    names: list[str] = []

    def traced(state, batch, key):
        new_state, metrics = step(state, batch, key)
        names.extend(guard(new_state, metrics))
        return new_state, metrics

    out_state, metrics = jax.eval_shape(traced, rebuild(state_avals), rebuild(batch_avals), rebuild(key_aval))
    return out_state, metrics, tuple(names)


def probe(step, guard, state, batch, key):
    """Trace ``step`` once without running it: ``(state shapes out, metric shapes, guard names)``.

    Cached on the step, the guard and the shapes, so repeated ``loop`` calls trace nothing.
    """
    out_state, metrics, names = _probe_cached(step, guard, _avals(state), _avals(batch), _avals(key))
    return out_state, metrics, list(names), scalar_metric_dtypes(metrics)
