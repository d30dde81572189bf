r"""The compiled pieces of ``train.loop``: one step, and a run of steps as one ``lax.scan``.

Both carry ``(state, tally)`` (the tally holds the global step ``t``) and are jitted once per
(step function, guard, batch size, batch sharding[, length]) and cached, so a second ``loop``
call with the same step function compiles nothing. The carry is donated.

Batch ``t`` of a run with data is rows ``i B, ..., (i + 1) B - 1`` of the permutation of epoch
``e = t // s``, ``i = t mod s``, where ``s = n // B`` steps make an epoch and the permutation is
:func:`mathdl.data.epoch_permutation` of the data key; step ``t`` gets the key
``fold_in(step_key, t)``.

With sharded data (a multi-process job, or ``data_shards``) the batches are gathered on the host,
each process from its own shard, and arrive as global arrays: :func:`fed_step` takes one batch,
:func:`fed_steps` a stack of ``length`` batches (leading axis) scanned in order.
"""

import functools

import jax
import jax.numpy as jnp

from mathdl.data import epoch_permutation
from mathdl.train._guard import add_to_tally, scalar_metric_dtypes

__all__ = []


def _batch(data, perm, t, batch_size, batch_sharding):
    if data is None:
        return None
    i = t % (perm.shape[0] // batch_size)
    rows = jax.lax.dynamic_slice_in_dim(perm, i * batch_size, batch_size)
    batch = jax.tree.map(lambda a: jnp.take(a, rows, axis=0, mode="clip"), data)  # rows of a permutation: no fill
    if batch_sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    return batch


def _stack_flags(flags: dict) -> jax.Array:
    """The guard's flags as one bool vector, in the guard's (insertion) order."""
    if not flags:
        return jnp.ones((0,), bool)
    return jnp.stack([jnp.asarray(f).astype(bool).reshape(()) for f in flags.values()])


def _one(step, guard, batch_size, batch_sharding, carry, data, perm, step_key):
    state, tally = carry
    t = tally.ints[0]
    batch = _batch(data, perm, t, batch_size, batch_sharding)
    state, metrics = step(state, batch, jax.random.fold_in(step_key, t))
    return state, add_to_tally(tally, metrics, _stack_flags(guard(state, metrics)))


def _steps(step, guard, batch_size, batch_sharding, length, carry, data, perm, step_key):
    def body(c, _):
        return _one(step, guard, batch_size, batch_sharding, c, data, perm, step_key), None

    carry, _ = jax.lax.scan(body, carry, None, length=length)
    return carry


def _one_fed(step, guard, carry, batch, step_key):
    state, tally = carry
    t = tally.ints[0]
    state, metrics = step(state, batch, jax.random.fold_in(step_key, t))
    return state, add_to_tally(tally, metrics, _stack_flags(guard(state, metrics)))


def _steps_fed(step, guard, carry, batches, step_key):
    def body(c, batch):
        return _one_fed(step, guard, c, batch, step_key), None

    carry, _ = jax.lax.scan(body, carry, batches)
    return carry


@functools.lru_cache(maxsize=64)
def fed_step(step, guard):
    """``f(carry, batch, step_key) -> carry``: one step on a batch given as a (global) array, carry donated."""
    return jax.jit(functools.partial(_one_fed, step, guard), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def fed_steps(step, guard):
    """``f(carry, batches, step_key) -> carry``: one step per leading row of ``batches``, as one ``lax.scan``."""
    return jax.jit(functools.partial(_steps_fed, step, guard), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def one_step(step, guard, batch_size, batch_sharding):
    """``f(carry, data, perm, step_key) -> carry``: one step, compiled, the carry donated."""
    return jax.jit(functools.partial(_one, step, guard, batch_size, batch_sharding), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def many_steps(step, guard, batch_size, batch_sharding, length):
    """``f(carry, data, perm, step_key) -> carry``: ``length`` steps in one epoch as one ``lax.scan``."""
    return jax.jit(functools.partial(_steps, step, guard, batch_size, batch_sharding, length), donate_argnums=(0,))


@functools.lru_cache(maxsize=8)
def copy_tree(sharding):
    """``f(tree) -> tree``: fresh device buffers for every leaf, in one compiled call (placed on ``sharding``).

    The loop donates its state; a copy keeps the caller's arrays intact. One compiled copy is
    much cheaper than ``device_put(..., may_alias=False)`` leaf by leaf.
    """
    return jax.jit(lambda tree: jax.tree.map(jnp.copy, tree), out_shardings=sharding)


def _split_copy(key):
    # split a copy: the caller's key is only read (a second call with the same key is the same run)
    own = jax.random.wrap_key_data(jax.random.key_data(key), impl=jax.random.key_impl(key))
    perm_key, step_key = jax.random.split(own)
    return perm_key, step_key


split_key = jax.jit(_split_copy)
"""``split_key(key) -> (perm_key, step_key)`` without consuming ``key``, in one compiled call."""

permutation = jax.jit(epoch_permutation, static_argnums=(2,))
"""``permutation(perm_key, epoch, n)``, compiled once per ``n``: the order of epoch ``epoch``."""


def _shard_permutation(perm_key, shard, epoch, n):
    return epoch_permutation(jax.random.fold_in(perm_key, shard), epoch, n)


shard_permutation = jax.jit(_shard_permutation, static_argnums=(3,))
"""``shard_permutation(perm_key, shard, epoch, m)``: the order of shard ``shard``'s ``m`` rows in epoch ``epoch``."""


def _avals(tree):
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(x.shape), x.dtype, getattr(x, "weak_type", False)) for x in leaves)


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
