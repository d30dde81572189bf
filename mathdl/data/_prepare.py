r"""Preparing data for training: eager validation, splits, standardisation, batch order.

:func:`validate` runs eagerly (NumPy) before any training and names the first bad entry.
:func:`split` permutes with a key. :func:`fit_standardizer` is fitted on the training
split only and applied to every split with :func:`standardize`. :func:`epoch_permutation`
and :func:`batches` derive the order of an epoch from ``(key, epoch)`` alone, so a run
resumed at epoch ``e`` sees exactly the batches an uninterrupted run would; both are
jit-able (``epoch`` may be traced, e.g. the carry of a ``lax.scan``).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text
from mathdl.data._bundled import Dataset

__all__ = [
    "Standardizer",
    "batches",
    "epoch_permutation",
    "fit_standardizer",
    "split",
    "standardize",
    "unstandardize",
    "validate",
]


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx)


def validate(X, y=None, *, num_classes: int | None = None) -> None:
    r"""Check a data set eagerly before training; raise naming the first bad entry.

    Checks: ``X`` has at least one example (rank >= 1), a floating or integer dtype and
    only finite values; ``y`` (if given) has as many entries as ``X`` has rows. With
    ``num_classes`` the labels must be integers (an integer dtype, or floats with integral
    values) in $\{0, \dots, K-1\}$; without it, ``y`` must be finite.

    Args:
      X: features, shape ``(n, ...)`` (NumPy or JAX array; concrete, not traced).
      y: optional targets, shape ``(n,)``.
      num_classes: number of classes $K$ for classification labels, or ``None``.

    Returns:
      ``None`` when everything holds.

    Raises:
      ValueError: naming the argument, the first bad index and its value, e.g.
        ``"data.validate: argument `y` expected labels in {0, ..., 2}, got 3 at index 17."``
      TypeError: if ``X`` or ``y`` is not numeric, or ``num_classes`` is not an int.

    References:
      docs/architecture.md, "Checks" (loaders validate eagerly).
    """
    func = checks.public_name(validate)
    if isinstance(X, jax.core.Tracer) or isinstance(y, jax.core.Tracer):
        checks.fail(
            func, "X", "concrete arrays (validate runs eagerly, outside jit)", Text("a traced value"), exc=TypeError
        )
    Xn = np.asarray(X)
    if Xn.ndim < 1 or Xn.shape[0] == 0:
        checks.fail(func, "X", "at least one example (shape (n, ...) with n >= 1)", Text(f"shape {Xn.shape}"))
    if not (np.issubdtype(Xn.dtype, np.floating) or np.issubdtype(Xn.dtype, np.integer)):
        checks.fail(func, "X", "a numeric array", Text(f"dtype {Xn.dtype}"), exc=TypeError)
    if np.issubdtype(Xn.dtype, np.floating):
        bad = ~np.isfinite(Xn)
        if bad.any():
            i = _first_bad(bad)
            checks.fail(func, "X", "finite values", Text(f"{Xn[i]} at index {i if len(i) > 1 else i[0]}"))
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)):
        checks.fail(func, "num_classes", "an int or None", Text(f"{type(num_classes).__name__}"), exc=TypeError)
    if num_classes is not None and num_classes < 1:
        checks.fail(func, "num_classes", "a value >= 1", num_classes)
    if y is None:
        if num_classes is not None:
            checks.fail(func, "y", "labels when `num_classes` is given", Text("y=None"))
        return
    yn = np.asarray(y)
    if yn.ndim != 1 or yn.shape[0] != Xn.shape[0]:
        checks.fail(func, "y", f"shape ({Xn.shape[0]},) to match the rows of `X`", Text(f"shape {yn.shape}"))
    if not (np.issubdtype(yn.dtype, np.floating) or np.issubdtype(yn.dtype, np.integer) or yn.dtype == bool):
        checks.fail(func, "y", "a numeric array", Text(f"dtype {yn.dtype}"), exc=TypeError)
    if np.issubdtype(yn.dtype, np.floating):
        bad = ~np.isfinite(yn)
        if bad.any():
            i = _first_bad(bad)[0]
            checks.fail(func, "y", "finite values", Text(f"{yn[i]} at index {i}"))
    if num_classes is None:
        return
    if np.issubdtype(yn.dtype, np.floating):
        bad = yn != np.round(yn)
        if bad.any():
            i = _first_bad(bad)[0]
            checks.fail(func, "y", "integer class labels", Text(f"{yn[i]} at index {i}"))
    bad = (yn < 0) | (yn >= num_classes)
    if bad.any():
        i = _first_bad(bad)[0]
        checks.fail(func, "y", f"labels in {{0, ..., {num_classes - 1}}}", Text(f"{yn[i]} at index {i}"))


@checks.inputs(key="key[]")
def split(key: jax.Array, data, *, fractions=(0.6, 0.2, 0.2)):
    r"""Shuffle with ``key`` and cut into parts (train / validation / test by default).

    Part $j$ gets the examples at positions $[\lfloor n F_{j-1} \rceil, \lfloor n F_j \rceil)$
    of the permutation, where $F_j$ is the cumulative sum of ``fractions`` and
    $\lfloor\cdot\rceil$ rounds to nearest, so the sizes add up to $n$ exactly.

    Args:
      key: a typed PRNG key for the permutation.
      data: a :class:`Dataset`, or a pytree of arrays (NumPy or JAX) sharing the leading
        dimension $n$, e.g. ``(X, y)``.
      fractions: positive fractions summing to 1 (within 1e-9), one per part.

    Returns:
      A tuple with one part per fraction, each of the same structure as ``data``
      (a ``Dataset`` keeps its ``name`` and ``num_classes``).

    Raises:
      ValueError: if a fraction is not positive, they do not sum to 1, the leaves disagree
        on $n$, or a part would be empty.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (train, validation and test sets).
    """
    func = checks.public_name(split)
    fr = tuple(float(f) for f in fractions)
    if len(fr) < 1 or any(not f > 0 for f in fr):
        checks.fail(func, "fractions", "positive fractions", fractions)
    if abs(sum(fr) - 1.0) > 1e-9:
        checks.fail(func, "fractions", "fractions summing to 1", Text(f"{fractions} (sum {sum(fr)})"))
    arrays = (data.X, data.y) if isinstance(data, Dataset) else data
    leaves = jax.tree.leaves(arrays)
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if len(sizes) != 1 or None in sizes:
        checks.fail(
            func, "data", "arrays sharing one leading dimension", Text(f"leading sizes {sorted(map(str, sizes))}")
        )
    n = sizes.pop()
    cuts = [0, *(int(round(n * c)) for c in np.cumsum(fr)[:-1]), n]
    if any(b <= a for a, b in zip(cuts[:-1], cuts[1:], strict=True)):
        checks.fail(func, "fractions", f"fractions giving every part at least one of the n={n} examples", fractions)
    perm = np.asarray(jax.random.permutation(key, n))
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        idx = perm[a:b]
        part = jax.tree.map(lambda leaf, idx=idx: leaf[idx], arrays)
        parts.append(Dataset(part[0], part[1], data.name, data.num_classes) if isinstance(data, Dataset) else part)
    return tuple(parts)


class Standardizer(NamedTuple):
    r"""Per-feature statistics for standardisation $z = (x - \mu) / s$.

    Attributes:
      mean: $\mu$, shape ``(p,)``.
      scale: $s$, shape ``(p,)``: the standard deviation (1/n), or 1 for a constant column.
    """

    mean: jax.Array
    scale: jax.Array


@checks.inputs(X="float[n p]")
def fit_standardizer(X) -> Standardizer:
    r"""Fit per-feature mean and standard deviation on the training data.

    $\mu_j = \frac{1}{n}\sum_i x_{ij}$ and $s_j = \sqrt{\frac{1}{n}\sum_i (x_{ij} - \mu_j)^2}$,
    computed in two passes (mean first, then the centred squares), so a large offset does
    not cancel the variance. Biased (1/n) variance, the book's convention. A column whose
    $s_j$ is zero (constant on the training data) gets $s_j = 1$, so it standardises to 0
    rather than to 0/0 (scikit-learn's ``StandardScaler`` does the same).

    Args:
      X: training features, shape ``(n, p)``, floating.

    Returns:
      A :class:`Standardizer` with arrays of shape ``(p,)`` in ``X``'s dtype.

    Raises:
      ValueError: if ``X`` is not rank 2 or has no rows.
      TypeError: if ``X`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.4 (standardising features); scikit-learn ``StandardScaler``.
    """
    if X.shape[0] == 0:
        checks.fail(checks.public_name(fit_standardizer), "X", "at least one row", Text(f"shape {X.shape}"))
    mean = jnp.mean(X, axis=0)
    var = jnp.mean(jnp.square(X - mean[None, :]), axis=0)  # second pass on centred data
    scale = jnp.sqrt(var)
    scale = jnp.where(scale > 0, scale, jnp.ones_like(scale))  # constant column: leave it centred at 0
    return Standardizer(mean, scale)


@checks.inputs(stats=checks.fields(mean="float[p]", scale="float[p]"), X="num[*batch p]")
def standardize(stats: Standardizer, X) -> jax.Array:
    r"""Apply fitted statistics: $z = (x - \mu) / s$.

    Args:
      stats: from :func:`fit_standardizer` (fitted on the training split).
      X: features, shape ``(..., p)`` (one example or a batch).

    Returns:
      Standardised features, same shape and dtype as ``X``.

    Raises:
      ValueError: if the last axis of ``X`` is not ``p``.

    References:
      [MEDL] Ch. 2, Sec. 2.4.
    """
    return (X - jnp.broadcast_to(stats.mean, X.shape)) / jnp.broadcast_to(stats.scale, X.shape)


@checks.inputs(stats=checks.fields(mean="float[p]", scale="float[p]"), Z="num[*batch p]")
def unstandardize(stats: Standardizer, Z) -> jax.Array:
    r"""Invert :func:`standardize`: $x = \mu + s z$.

    Args:
      stats: from :func:`fit_standardizer`.
      Z: standardised features, shape ``(..., p)``.

    Returns:
      Features on the original scale, same shape as ``Z``.

    Raises:
      ValueError: if the last axis of ``Z`` is not ``p``.

    References:
      [MEDL] Ch. 2, Sec. 2.4.
    """
    return jnp.broadcast_to(stats.mean, Z.shape) + jnp.broadcast_to(stats.scale, Z.shape) * Z


def _static_count(func: str, name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        checks.fail(func, name, "a static Python int", Text(type(value).__name__), exc=TypeError)
    if value < minimum:
        checks.fail(func, name, f"a value >= {minimum}", int(value))
    return int(value)


def _epoch(func: str, epoch) -> None:
    if not isinstance(epoch, jax.core.Tracer) and np.ndim(epoch) == 0 and int(epoch) < 0:
        checks.fail(func, "epoch", "a non-negative int", int(epoch))


@checks.inputs(key="key[]")
def epoch_permutation(key: jax.Array, epoch, n: int) -> jax.Array:
    r"""The order of the examples in epoch ``epoch``: a permutation of $\{0, \dots, n-1\}$.

    It is ``jax.random.permutation(fold_in(key, epoch), n)``: a function of the key and
    the epoch only, so a resumed run at epoch ``e`` draws the same order as an
    uninterrupted one, whatever happened before.

    Args:
      key: the run's data key (the same for every epoch).
      epoch: epoch number, a non-negative int (may be traced).
      n: number of examples (static).

    Returns:
      int32 array of shape ``(n,)``.

    Raises:
      TypeError: if ``n`` is not a static int.
      ValueError: if ``n < 1`` or a concrete ``epoch`` is negative.

    References:
      docs/architecture.md, "Checks" (resumed runs equal uninterrupted ones);
      [MEDL] Ch. 4, Sec. 4.2 (epochs and mini-batches).
    """
    func = checks.public_name(epoch_permutation)
    n = _static_count(func, "n", n)
    _epoch(func, epoch)
    return jax.random.permutation(jax.random.fold_in(key, epoch), n).astype(jnp.int32)


@checks.inputs(key="key[]")
def batches(key: jax.Array, epoch, n: int, batch_size: int, *, drop_last: bool = True) -> jax.Array:
    r"""Mini-batch indices for one epoch, shape ``(num_batches, batch_size)``.

    Row $j$ holds the indices of batch $j$: consecutive slices of
    :func:`epoch_permutation`. With ``drop_last=True`` there are $\lfloor n/B \rfloor$
    batches and the last $n \bmod B$ examples of the permutation wait for another epoch.
    With ``drop_last=False`` there are $\lceil n/B \rceil$ batches and the last one is
    completed by wrapping around to the start of this epoch's permutation, so every row
    has the same size (jit-friendly); the padded positions are exactly the flat positions
    $\ge n$, i.e. ``jnp.arange(num_batches * B).reshape(num_batches, B) >= n``.

    Args:
      key: the run's data key (the same for every epoch).
      epoch: epoch number (may be traced).
      n: number of examples (static).
      batch_size: $B$ (static), at most ``n``.
      drop_last: drop the incomplete last batch (default) or pad it by wrapping around.

    Returns:
      int32 array of shape ``(num_batches, batch_size)``; gather a batch with ``X[idx[j]]``.

    Raises:
      TypeError: if ``n`` or ``batch_size`` is not a static int.
      ValueError: if ``batch_size < 1``, ``batch_size > n``, or ``epoch`` is negative.

    References:
      [MEDL] Ch. 4, Sec. 4.2 (mini-batch SGD); docs/architecture.md.
    """
    func = checks.public_name(batches)
    n = _static_count(func, "n", n)
    B = _static_count(func, "batch_size", batch_size)
    if B > n:
        checks.fail(func, "batch_size", f"at most n={n}", B)
    _epoch(func, epoch)
    perm = epoch_permutation(key, epoch, n)
    num = n // B if drop_last else -(-n // B)
    total = num * B
    if total > n:  # wrap around to fill the last batch
        perm = jnp.concatenate([perm, perm[: total - n]])
    return perm[:total].reshape(num, B)
