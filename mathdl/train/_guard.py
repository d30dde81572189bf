r"""The non-finite guard of ``train.loop``, and the per-step tally of metrics kept on the device.

After every step the loop evaluates a *guard* ``guard(state, metrics) -> {name: bool}``, one
boolean scalar per quantity, true where that quantity is finite. The default guard,
:func:`finite_leaves`, checks every floating metric and every floating leaf of the new state; the
supervised step of ``fit`` checks the loss and each gradient leaf instead. The flags of the first
step with a false entry are kept in the :class:`Tally` (no host sync per step); at the next log
point or checkpoint the loop raises :class:`NonFiniteError` naming that step and the first false
entry, in the guard's order, and never saves that state.

A guard entry is named ``"<kind> <leaf>"`` (``"gradient ['b']"``, ``"state ['D'][0].W"``) or
``"<kind>"`` alone when the kind is the leaf (``"loss"``).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["NonFiniteError", "finite_leaves", "finite_metrics"]


class NonFiniteError(FloatingPointError):
    """A training step produced a non-finite loss, gradient, metric or state.

    Attributes:
      step: the global step (counted from 0) whose output was not finite.
      leaf: the first offending quantity: ``"loss"``, a gradient's or state leaf's path such as
        ``"['b']"``, or a metric's name.
      kind: ``"loss"``, ``"gradient"``, ``"metric"`` or ``"state"`` (what the guard named it).
      checkpoint: path of the last good checkpoint, or ``None``.
    """

    def __init__(self, step: int, leaf: str, checkpoint: str | None = None, kind: str | None = None, note: str = ""):
        self.step, self.leaf, self.checkpoint = step, leaf, checkpoint
        self.kind = kind or ("loss" if leaf == "loss" else "gradient")
        where = f"; the last good checkpoint is {checkpoint}" if checkpoint else ""
        super().__init__(
            f"non-finite {self.kind} at step {step} (first offending leaf: {leaf}{note}); "
            f"the run stopped and this state was not saved{where}."
        )


def _floating_leaves(tree):
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            yield jax.tree_util.keystr(path), leaf


def _metric_name(path: str) -> str:
    """``"['loss']"`` -> ``"loss"``: a top-level metric is named by its key."""
    if path.startswith("['") and path.endswith("']") and path.count("[") == 1:
        return path[2:-2]
    return path


def finite_leaves(state, metrics) -> dict:
    r"""The default guard: one flag per floating metric, then per floating leaf of ``state``.

    Args:
      state: the state a step returned (a pytree).
      metrics: the metrics it returned (a pytree, usually a dict of scalars).

    Returns:
      ``{name: bool scalar}`` in that order: ``"metric <name>"`` for each floating metric leaf,
      then ``"state <path>"`` for each floating state leaf, true where every entry is finite.

    References:
      IEEE 754 (non-finite values); docs/architecture.md, "Errors".
    """
    out = {f"metric {_metric_name(p)}": jnp.all(jnp.isfinite(v)) for p, v in _floating_leaves(metrics)}
    out.update({f"state {p}": jnp.all(jnp.isfinite(v)) for p, v in _floating_leaves(state)})
    return out


def finite_metrics(state, metrics) -> dict:
    r"""A cheaper guard: one flag per floating metric only (the state is checked before each save).

    A non-finite state usually makes the next step's loss non-finite, which this guard names;
    the loop checks the whole state before writing any checkpoint in any case.

    Args:
      state: the state a step returned (unused).
      metrics: the metrics it returned.

    Returns:
      ``{"metric <name>": bool scalar}`` for each floating metric leaf.

    References:
      IEEE 754 (non-finite values); docs/training.md, "The guard".
    """
    del state
    return {f"metric {_metric_name(p)}": jnp.all(jnp.isfinite(v)) for p, v in _floating_leaves(metrics)}


def _state_flags(state):
    return [jnp.all(jnp.isfinite(v)) for _, v in _floating_leaves(state)]


state_flags = jax.jit(_state_flags)
"""``state_flags(state) -> [bool]``: whether each floating leaf of the state is finite (one compiled call)."""


def raise_if_state_bad(state, t: int, checkpoint: str | None) -> None:
    """Before a save: raise :class:`NonFiniteError` naming the first non-finite state leaf, if any."""
    flags = jax.device_get(state_flags(state))
    if all(bool(f) for f in flags):
        return
    paths = [p for p, _ in _floating_leaves(state)]
    leaf = paths[[bool(f) for f in flags].index(False)]
    raise NonFiniteError(t - 1, leaf, checkpoint, "state", note=f"; found before saving after {t} steps")


class Tally(NamedTuple):
    """The step counter, sums of the scalar metrics since the last log point, and the first non-finite step."""

    sums: dict  # {name: shape=()}, the dtype of the metric (float32 for integer or bool metrics)
    ints: jax.Array  # shape=(3,), int32: [t (the global step), steps summed, first bad step or -1]
    bad_flags: jax.Array  # shape=(number of guard entries,), bool: the guard's flags at the first bad step

    @property
    def step(self) -> jax.Array:
        return self.ints[0]

    @property
    def count(self) -> jax.Array:
        return self.ints[1]

    @property
    def first_bad(self) -> jax.Array:
        return self.ints[2]


def scalar_metric_dtypes(metric_shapes) -> dict:
    """The metrics the log averages: top-level scalar entries, with the dtype their sum keeps."""
    if not isinstance(metric_shapes, dict):
        return {}
    out = {}
    for k, s in metric_shapes.items():
        numeric = jnp.issubdtype(s.dtype, jnp.number) or s.dtype == np.bool_
        if isinstance(s, jax.ShapeDtypeStruct) and s.shape == () and numeric:
            out[str(k)] = s.dtype if jnp.issubdtype(s.dtype, jnp.floating) else np.dtype(np.float32)
    return out


def new_tally(t: int, sum_dtypes: dict, n_flags: int) -> Tally:
    """A zero tally at step ``t``, built on the host (putting it on the device compiles nothing)."""
    return Tally(
        {k: np.zeros((), d) for k, d in sum_dtypes.items()},
        np.array([t, 0, -1], np.int32),
        np.ones((n_flags,), bool),
    )


def add_to_tally(tally: Tally, metrics, flags: jax.Array) -> Tally:
    """Count one step, add its scalar metrics, and record its guard flags if it is the first bad step."""
    sums = {k: v + jnp.asarray(metrics[k]).astype(v.dtype) for k, v in tally.sums.items()}
    t, count, first_bad = tally.ints[0], tally.ints[1], tally.ints[2]
    first = (first_bad < 0) & ~jnp.all(flags)
    ints = jnp.stack([t + 1, count + 1, jnp.where(first, t, first_bad)])
    return Tally(sums, ints, jnp.where(first, flags, tally.bad_flags))


def raise_if_bad(tally: Tally, names: list[str], checkpoint: str | None) -> None:
    """Raise :class:`NonFiniteError` if the (host) tally recorded a bad step."""
    first_bad = int(tally.first_bad)
    if first_bad < 0:
        return
    name = names[int(np.argmin(np.asarray(tally.bad_flags)))]
    kind, _, leaf = name.partition(" ")
    raise NonFiniteError(first_bad, leaf or kind, checkpoint, kind)
