r"""Evaluation over a whole data set in one compiled call, with exact means over every example."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = ["evaluate"]


def _data_length(func: str, name: str, data) -> int:
    leaves = jax.tree.leaves(data)
    if not leaves:
        checks.fail(func, name, "a pytree of arrays with a leading example axis", "an empty pytree")
    lengths = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        if np.ndim(leaf) == 0:
            checks.fail(func, name, "arrays with a leading example axis", f"a scalar at {jax.tree_util.keystr(path)}")
        lengths.append((jax.tree_util.keystr(path), np.shape(leaf)[0]))
    if len({n for _, n in lengths}) != 1:
        shown = ", ".join(f"{p or 'data'}: {n}" for p, n in lengths)
        checks.fail(func, name, "leaves with the same leading length n", f"lengths {shown}")
    return lengths[0][1]


def _as_float(v):
    v = jnp.asarray(v)
    return v if jnp.issubdtype(v.dtype, jnp.floating) else v.astype(jnp.float32)


def _eval_impl(metric_fn, has_state, params, model_state, data, idx, w):
    """Weighted sums of per-example metrics over the padded batches ``idx`` (shape (m, B))."""

    def body(acc, args):
        rows, weights = args
        batch = jax.tree.map(lambda a: jnp.take(a, rows, axis=0), data)
        out = metric_fn(params, model_state, batch) if has_state else metric_fn(params, batch)
        sums = {}
        for k, v in out.items():
            v = _as_float(v)
            sums[k] = acc[k] + jnp.sum(v * weights.astype(v.dtype))
        return sums, None

    first = jax.tree.map(lambda a: jnp.take(a, idx[0], axis=0), data)
    shapes = jax.eval_shape(
        (lambda b: metric_fn(params, model_state, b)) if has_state else (lambda b: metric_fn(params, b)), first
    )
    init = {
        k: jnp.zeros((), dtype=s.dtype if jnp.issubdtype(s.dtype, jnp.floating) else jnp.float32)
        for k, s in shapes.items()
    }
    sums, _ = jax.lax.scan(body, init, (idx, w))
    return sums


_eval_jit = jax.jit(_eval_impl, static_argnums=(0, 1))


def evaluate(
    metric_fn: Callable, params, data, *, batch_size: int, model_state=None, metric_names=None
) -> dict[str, float]:
    r"""Average per-example metrics over a whole data set: $\bar m = \frac1n \sum_{i=1}^n m(\theta; \text{example}_i)$.

    The data are cut into batches of ``batch_size`` (the last one padded and masked, so every
    example counts exactly once and nothing compiles twice); the loop over batches is one
    ``lax.scan`` inside one compiled call and the result is fetched once.

    Args:
      metric_fn: ``metric_fn(params, batch) -> dict[str, array]`` returning per-example values
        of shape ``(B,)`` (e.g. ``{"loss": ..., "accuracy": ...}``); with ``model_state``,
        ``metric_fn(params, model_state, batch)``.
      params: the model parameters.
      data: a pytree of arrays with a common leading length ``n`` (e.g. ``(X, y)``).
      batch_size: examples per compiled batch, ``1 <= batch_size``; larger than ``n`` is fine
        (one padded batch).
      model_state: the model's non-trained state (batch-norm running statistics), or ``None``.
      metric_names: unused; reserved.

    Returns:
      ``dict[str, float]``: the mean of each metric over the ``n`` examples.

    Raises:
      ValueError: if ``data`` is empty or its leaves have different leading lengths,
        ``batch_size`` is not a positive integer, or a metric is not per example (its value on a
        batch of ``B`` examples does not have shape ``(B,)``; a batch mean is refused).
      TypeError: if ``metric_fn`` is not callable or does not return a dict.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (empirical risk on held-out data); the exact-mean masking follows
      Flax's examples.
    """
    del metric_names
    func = "train.evaluate"
    if not callable(metric_fn):
        checks.fail(func, "metric_fn", "a callable", type(metric_fn).__name__, exc=TypeError)
    if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool) or batch_size < 1:
        checks.fail(func, "batch_size", "a positive integer", batch_size)
    n = _data_length(func, "data", data)
    if n == 0:
        checks.fail(func, "data", "at least one example", "n = 0")
    b = int(min(batch_size, n))
    m = -(-n // b)
    flat = np.arange(m * b)
    weights = (flat < n).astype(np.float32).reshape(m, b)
    idx = np.where(flat < n, flat, 0).astype(np.int32).reshape(m, b)
    has_state = model_state is not None
    probe = jax.eval_shape(
        (lambda p, s, d: metric_fn(p, s, d)) if has_state else (lambda p, s, d: metric_fn(p, d)),
        params,
        model_state,
        jax.tree.map(lambda a: a[:b], data),
    )
    if not isinstance(probe, dict):
        checks.fail(
            func, "metric_fn", "a function returning a dict of per-example arrays", type(probe).__name__, exc=TypeError
        )
    for k, shape in probe.items():
        if getattr(shape, "shape", ()) != (b,):
            checks.fail(
                func,
                "metric_fn",
                f"per-example values of shape (B,) = ({b},) for every metric (a batch mean or other reduction "
                "would be averaged again with the masked padding of the last batch, a biased result)",
                checks.Text(f"shape {tuple(getattr(shape, 'shape', ()))} for metric {k!r}"),
            )
    sums = _eval_jit(metric_fn, has_state, params, model_state, data, jnp.asarray(idx), jnp.asarray(weights))
    sums = jax.device_get(sums)
    return {k: float(v) / n for k, v in sums.items()}
