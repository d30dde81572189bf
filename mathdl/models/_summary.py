r"""Model summaries: per-layer output shapes and parameter counts, computed without running the model.

:func:`summary` evaluates a model abstractly (``jax.eval_shape``: shapes and dtypes only, no
arithmetic and no memory for activations), so a table of VGG-16 at 224x224 costs nothing, and
:func:`param_count` counts a parameter pytree, including one made by ``jax.eval_shape`` of an
initialiser (so even a 138-million-parameter model is counted without allocating it).

The rows come from the model's intermediates: a ``*_forward`` function of :mod:`mathdl.models`
returns a dict of named activations whose names are paths into the parameters (``"conv1"``,
``"stages.2.0"``), and each row counts the parameters found at its path. The MLP's
:func:`mathdl.models.mlp_forward` gives one row per layer.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = ["Summary", "SummaryRow", "param_count", "summary"]


class SummaryRow(NamedTuple):
    """One row of a :class:`Summary`.

    Attributes:
      name: the intermediate's name (a path into the parameters, or a parameter-free step).
      shape: its shape for ONE example.
      params: number of parameters at that path (0 for pooling, flattening, concatenation).
    """

    name: str
    shape: tuple
    params: int


class Summary(NamedTuple):
    """A model summary; ``str(summary)`` is the table.

    Attributes:
      rows: the :class:`SummaryRow` s, starting with the input.
      total_params: the number of parameters of the whole model (every leaf of ``params``).
    """

    rows: tuple
    total_params: int

    def __str__(self) -> str:
        shapes = [str(tuple(r.shape)) for r in self.rows]
        counts = [f"{r.params:,}" for r in self.rows]
        w0 = max(len("layer"), *(len(r.name) for r in self.rows))
        w1 = max(len("output shape"), *map(len, shapes))
        w2 = max(len("params"), len(f"{self.total_params:,}"), *map(len, counts))
        rule = "-" * (w0 + w1 + w2 + 4)
        lines = [f"{'layer':<{w0}}  {'output shape':<{w1}}  {'params':>{w2}}", rule]
        lines += [f"{r.name:<{w0}}  {s:<{w1}}  {c:>{w2}}" for r, s, c in zip(self.rows, shapes, counts, strict=True)]
        lines += [rule, f"{'total':<{w0}}  {'':<{w1}}  {self.total_params:>{w2},}"]
        return "\n".join(lines)


def param_count(params) -> int:
    r"""The number of parameters in a pytree: $\sum_{\text{leaves}} \prod \text{shape}$.

    Works on arrays and on the ``jax.ShapeDtypeStruct`` leaves of ``jax.eval_shape``, so a large
    model is counted without allocating it:
    ``param_count(jax.eval_shape(lambda k: init_vgg(k, "vgg16"), jax.random.key(0)))``.
    ``None`` leaves (a layer without bias) count nothing.

    Args:
      params: a pytree of arrays or shape structs.

    Returns:
      The count (a Python int).

    Raises:
      TypeError: if a leaf has no ``shape``.

    References:
      [MEDL] Ch. 5, Sec. 5.1 and Ch. 6, Sec. 6.3 (parameter counting).
    """
    total = 0
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        if not hasattr(leaf, "shape"):
            checks.fail(
                checks.public_name(param_count),
                f"params{jax.tree_util.keystr(path)}",
                "an array leaf",
                type(leaf).__name__,
                exc=TypeError,
            )
        total += math.prod(leaf.shape)
    return total


def _subtree(params, path: str):
    """The node of ``params`` at a dotted path (NamedTuple fields, dict keys, sequence indices), or None."""
    node = params
    for part in path.split("."):
        if hasattr(node, "_fields") and part in node._fields:
            node = getattr(node, part)
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, Sequence) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _default_dtype(params):
    for leaf in jax.tree.leaves(params):
        if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.dtype
    return jnp.float32


def _intermediates(out):
    """The dict of named intermediates in a model's output (the dict, or the first of a pair), or None."""
    if isinstance(out, tuple) and not hasattr(out, "_fields") and len(out) == 2 and isinstance(out[0], Mapping):
        return out[0]  # (intermediates, new_state)
    return out if isinstance(out, Mapping) else None


def summary(model_fn: Callable, params, input_shape, *, state=None, dtype=None) -> Summary:
    r"""A table of per-layer output shapes and parameter counts, like the book's tables.

    ``model_fn(params, x)`` is evaluated with ``jax.eval_shape`` on one abstract example of
    shape ``input_shape``. What it returns decides the rows:

    * a dict of named intermediates (``models.lenet_forward``, ``vgg_forward``,
      ``inception_forward``, ``resnet_forward``), or a pair ``(dict, new_state)`` for a model with
      state: one row per entry, counting the parameters at the path the name gives;
    * an ``MLPTrace`` (``models.mlp_forward``): one row per dense layer;
    * anything else (``models.mlp``, ``models.lenet``): one row, the output, with every parameter.

    For a model with batch-norm state, pass the state; ``model_fn(params, state, x)`` is then
    evaluated: ``summary(functools.partial(models.resnet_forward, train=False), params,
    (224, 224, 3), state=state)``.

    Args:
      model_fn: ``model_fn(params, x)`` on ONE example ``x`` (``model_fn(params, state, x)``
        when ``state`` is given).
      params: the model's parameters (arrays, or the ``jax.ShapeDtypeStruct`` s of
        ``jax.eval_shape`` of the initialiser: nothing is allocated either way).
      input_shape: the shape of one example, e.g. ``(28, 28, 1)`` or ``(64,)``.
      state: the model's state (batch-norm running statistics; arrays or shape structs), or
        ``None`` for a model without state.
      dtype: the example's dtype (default: the parameters' floating dtype).

    Returns:
      A :class:`Summary` ``(rows, total_params)``; ``print`` it for the table. The first row is
      the input; ``total_params`` counts every leaf of ``params``.

    Raises:
      ValueError: if ``input_shape`` is not a tuple of positive ints.
      TypeError: if ``model_fn`` is not callable.
      Exception: whatever ``model_fn`` raises on an example of that shape (e.g. a channel mismatch).

    References:
      [MEDL] Ch. 6, Sec. 6.4-6.5 (layer tables of VGG, Inception, ResNet) and Ch. 5, Sec. 5.1;
      ``torchinfo.summary`` and Keras ``Model.summary`` (the same table).
    """
    from mathdl.models._mlp import MLPTrace

    func = checks.public_name(summary)
    if not callable(model_fn):
        checks.fail(func, "model_fn", "a callable model_fn(params, x)", type(model_fn).__name__, exc=TypeError)
    ok = isinstance(input_shape, Sequence) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape
    )
    if not ok:
        checks.fail(func, "input_shape", "a tuple of positive ints (the shape of one example)", input_shape)
    x = jax.ShapeDtypeStruct(tuple(input_shape), _default_dtype(params) if dtype is None else dtype)
    order: list[str] = []  # the model's own order of its intermediates (eval_shape sorts dict keys)

    def traced(p, s, x):
        out = model_fn(p, x) if state is None else model_fn(p, s, x)
        inner = _intermediates(out)
        if inner is not None:
            order[:] = list(inner)
        return out

    out = jax.eval_shape(traced, params, state, x)
    rows = [SummaryRow("input", tuple(input_shape), 0)]
    inner = _intermediates(out)
    if inner is not None:
        for name in order:
            value = inner[name]
            sub = _subtree(params, name)
            rows.append(SummaryRow(name, tuple(value.shape), 0 if sub is None else param_count(sub)))
    elif isinstance(out, MLPTrace):
        for ell, a in enumerate(out.a[1:], start=1):
            rows.append(SummaryRow(f"dense {ell}", tuple(a.shape), param_count(params[ell - 1])))
    else:
        first = jax.tree.leaves(out)[0] if jax.tree.leaves(out) else None
        rows.append(SummaryRow("output", () if first is None else tuple(first.shape), param_count(params)))
    return Summary(tuple(rows), param_count(params))
