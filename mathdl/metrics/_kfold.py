r"""k-fold cross-validation with vmapped folds ([MEDL] Sec. 2.5).

Folds of unequal size would stop ``vmap``; instead every fold is a boolean mask over all $n$
rows and the model is fitted with row weights (0 for the held-out fold), so all folds, and a
grid of ridge strengths or polynomial degrees, run in one compiled call.
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks, estimators, losses
from mathdl.checks import Text
from mathdl.metrics._common import ensure_at_least_zero

__all__ = [
    "CVResult",
    "ComplexityCurve",
    "complexity_curve",
    "cross_validate",
    "cv_polynomial_degree",
    "cv_ridge",
    "kfold_indices",
    "kfold_masks",
]


class CVResult(NamedTuple):
    """Per-fold errors of a cross-validation.

    Attributes:
      test_error: mean loss on each held-out fold, shape ``(*grid, k)``.
      train_error: mean loss on the other folds (the training rows), shape ``(*grid, k)``.
    """

    test_error: jax.Array
    train_error: jax.Array


class ComplexityCurve(NamedTuple):
    """Train and test mean squared error against model complexity.

    Attributes:
      train_error: shape ``(len(degrees),)``.
      test_error: shape ``(len(degrees),)``.
    """

    train_error: jax.Array
    test_error: jax.Array


def _check_k(func, n, k):
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        checks.fail(func, "k", "an int >= 2", k)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        checks.fail(func, "n", "a positive int", n)
    if k > n:
        checks.fail(func, "k", f"at most n = {n} folds (each fold needs a point)", k)


def _fold_of_position(n, k):
    # Fold sizes as scikit-learn's KFold: the first n % k folds get one extra point.
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return np.repeat(np.arange(k), sizes)


@checks.inputs(key="key[]")
def kfold_masks(key: jax.Array, n: int, k: int) -> jax.Array:
    r"""Random k-fold partition of $\{0,\dots,n-1\}$ as boolean test masks.

    The rows are shuffled with ``key`` and cut into $k$ consecutive folds whose sizes differ by at
    most one (the first $n \bmod k$ folds get $\lceil n/k\rceil$ points, as scikit-learn's ``KFold``).

    Args:
      key: a typed PRNG key.
      n: number of data points (static int).
      k: number of folds, $2 \le k \le n$ (static int).

    Returns:
      Boolean masks, shape ``(k, n)``; row $f$ marks the test rows of fold $f$; every column has
      exactly one ``True``.

    Raises:
      ValueError: if ``k < 2``, ``n < 1`` or ``k > n``.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (k-fold cross-validation, Fig. 2.11).
    """
    _check_k(checks.public_name(kfold_masks), n, k)
    perm = jax.random.permutation(key, n)
    fold = jnp.zeros((n,), jnp.int32).at[perm].set(jnp.asarray(_fold_of_position(n, k), jnp.int32))
    return fold[None, :] == jnp.arange(k, dtype=jnp.int32)[:, None]


@checks.inputs(key="key[]")
def kfold_indices(key: jax.Array, n: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""The folds of :func:`kfold_masks` as ``(train_indices, test_indices)`` pairs.

    The same key gives the same partition as :func:`kfold_masks`. The pairs can be passed as
    ``cv=`` to scikit-learn (``cross_val_score``), which is how the tests compare with it.

    Args:
      key: a typed PRNG key.
      n: number of data points.
      k: number of folds, $2 \le k \le n$.

    Returns:
      A list of $k$ pairs of sorted NumPy int arrays (eager: sizes differ by fold).

    Raises:
      ValueError: if ``k < 2``, ``n < 1`` or ``k > n``.

    References:
      [MEDL] Ch. 2, Sec. 2.5.
    """
    _check_k(checks.public_name(kfold_indices), n, k)
    masks = np.asarray(kfold_masks(key, n, k))
    return [(np.flatnonzero(~m), np.flatnonzero(m)) for m in masks]


def _weighted_mean(loss, w):
    return (w @ loss) / jnp.sum(w)


@checks.inputs(key="key[]", X="float[n *f]", y="num[n *t]")
def cross_validate(key: jax.Array, fit: Callable, loss: Callable, X, y, *, k: int) -> CVResult:
    r"""k-fold cross-validation with all folds fitted in one ``vmap``.

    For fold $f$ with test set $T_f$ the model is fitted on the other rows (weights
    $v_i = \mathbb 1[i \notin T_f]$) and scored on $T_f$:
    $\mathrm{CV}_f = \frac{1}{|T_f|}\sum_{i\in T_f}\ell(\hat\theta_{-f}; x_i, y_i)$.
    The cross-validation estimate is ``test_error.mean(-1)``.

    Args:
      key: a typed PRNG key (it draws the partition, :func:`kfold_masks`).
      fit: ``fit(X, y, weights) -> params``, a pure function that honours row weights
        (e.g. ``lambda X, y, w: estimators.fit_least_squares(X, y, weights=w)``).
      loss: ``loss(params, X, y) -> per-example losses``, shape ``(n,)``.
      X: a whole data set of inputs, shape ``(n, ...)``, floating.
      y: targets, shape ``(n, ...)``, numeric.
      k: number of folds (static int, $2 \le k \le n$).

    Returns:
      :class:`CVResult` with ``test_error`` and ``train_error`` of shape ``(k,)``.

    Raises:
      ValueError: if ``X`` and ``y`` have different numbers of rows, or ``k`` is invalid.
      TypeError: if ``fit`` or ``loss`` is not callable, ``X`` is not floating or ``y`` not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.5. Oracle in tests: a Python loop over folds and
      ``sklearn.model_selection.cross_val_score`` with the same folds.
    """
    func = checks.public_name(cross_validate)
    for name, f in (("fit", fit), ("loss", loss)):
        if not callable(f):
            checks.fail(func, name, "a callable", Text(type(f).__name__), exc=TypeError)
    n = X.shape[0]
    _check_k(func, n, k)
    test_masks = kfold_masks(key, n, k).astype(X.dtype)

    def one_fold(test_w):
        train_w = 1.0 - test_w
        params = fit(X, y, train_w)
        ell = loss(params, X, y)
        return _weighted_mean(ell, test_w), _weighted_mean(ell, train_w)

    test, train = jax.vmap(one_fold)(test_masks)
    return CVResult(test, train)


def _squared(params, X, y):
    return losses.squared_error(estimators.predict_linear(params, X), y)


@checks.inputs(key="key[]", X="float[n p]", y="float[n]", lambdas="float[L]")
def cv_ridge(key: jax.Array, X, y, lambdas, *, k: int) -> CVResult:
    r"""Cross-validated mean squared error of ridge regression over a grid of $\lambda$ (one vmap).

    Each fold and each $\lambda$ fits :func:`mathdl.estimators.fit_least_squares` with ``ridge=lambda``
    on the training rows; the loss is $(\hat y - y)^2$.

    Args:
      key: a typed PRNG key (the partition).
      X: a whole data set, the design matrix WITHOUT a column of ones, shape ``(n, p)``.
      y: targets, shape ``(n,)``.
      lambdas: ridge strengths $\lambda \ge 0$, shape ``(L,)`` (concrete or traced).
      k: number of folds.

    Returns:
      :class:`CVResult` with arrays of shape ``(L, k)``; NaN under ``jax.jit`` when a traced
      strength is negative (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: on shape mismatches, ``lambdas`` not 1-D, ``k`` invalid, or (eagerly) a negative
        strength.
      TypeError: if ``X``, ``y`` or ``lambdas`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (ridge and cross-validation).
      Oracle in tests: ``cross_val_score(Ridge(alpha), cv=kfold_indices(...))``.
    """
    func = checks.public_name(cv_ridge)
    _check_k(func, X.shape[0], k)
    lambdas = ensure_at_least_zero(func, "lambdas", lambdas, lambdas)  # before the fits: this name is reported

    def at(lam):
        fit = lambda X, y, w: estimators.fit_least_squares(X, y, ridge=lam, weights=w)
        return cross_validate(key, fit, _squared, X, y, k=k)

    return jax.vmap(at)(lambdas)


def _degree_columns(p, max_degree):
    # Total degree of each column of polynomial_features(x, max_degree), in its column order.
    return estimators.polynomial_degrees(p, max_degree)


def _inputs(func: str, name: str, value, dims: dict):
    """Spec: inputs of shape ``(n,)`` (one scalar per row) or ``(n, p)``, floating."""
    value = checks.conform(func, name, value, "float[n *p]", dims)
    if value.ndim > 2:
        checks.fail(func, name, "rank 1 or 2", Text(f"shape {value.shape} (rank {value.ndim})"))
    return value


def _test_inputs(func: str, name: str, value, dims: dict):
    """Spec: test inputs with the trailing shape of the training inputs, ``(m,)`` or ``(m, p)``."""
    return checks.conform(func, name, value, "float[m *p]", dims)


def _features(func, x, degrees):
    x = x[:, None] if x.ndim == 1 else x  # a scalar input per row
    if (
        isinstance(degrees, int | np.integer)
        or not all(isinstance(d, int | np.integer) and not isinstance(d, bool) and d >= 0 for d in degrees)
        or len(degrees) == 0
    ):
        checks.fail(func, "degrees", "a non-empty sequence of non-negative ints", Text(repr(degrees)))
    max_degree = int(max(degrees))
    F = estimators.polynomial_features(x, max_degree)
    col_deg = _degree_columns(x.shape[1], max_degree)
    masks = jnp.asarray(col_deg[None, :] <= np.asarray(degrees)[:, None], F.dtype)  # (D, M)
    return F, masks


@checks.inputs(key="key[]", x=_inputs, y="float[n]", ridge="num[]")
def cv_polynomial_degree(key: jax.Array, x, y, degrees: Sequence[int], *, k: int, ridge=0.0) -> CVResult:
    r"""Cross-validated mean squared error of polynomial regression for each degree (one vmap).

    Degree $d$ uses the raw monomials of :func:`mathdl.estimators.polynomial_features` up to $d$. To
    keep one shape for every degree the features are built once at $\max d$ and the columns of
    degree $> d$ are zeroed; the pseudo-inverse then gives them weight exactly 0, which equals the
    least-squares fit on the degree-$d$ features alone.

    Args:
      key: a typed PRNG key (the partition).
      x: a whole data set of inputs, shape ``(n,)`` (one scalar per row, the book's toy) or ``(n, p)``.
      y: targets, shape ``(n,)``.
      degrees: polynomial degrees to compare (static ints $\ge 0$), e.g. ``range(10)``.
      k: number of folds.
      ridge: optional ridge strength $\ge 0$ for every fit (NaN results under ``jax.jit`` if negative).

    Returns:
      :class:`CVResult` with arrays of shape ``(len(degrees), k)``.

    Raises:
      ValueError: on shape mismatches, an empty or negative ``degrees`` or an invalid ``k``.
      TypeError: if ``x`` or ``y`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (polynomial fit and k-fold cross-validation, Figs. 2.9-2.11).
    """
    func = checks.public_name(cv_polynomial_degree)
    F, masks = _features(func, x, degrees)
    _check_k(func, x.shape[0], k)
    ridge = ensure_at_least_zero(func, "ridge", ridge, jnp.asarray(ridge))  # before the fits

    def at(mask):
        fit = lambda X, y, w: estimators.fit_least_squares(X * mask[None, :], y, ridge=ridge, weights=w)
        loss = lambda params, X, y: _squared(params, X * mask[None, :], y)
        return cross_validate(key, fit, loss, F, y, k=k)

    return jax.vmap(at)(masks)


@checks.inputs(x_train=_inputs, y_train="float[n]", x_test=_test_inputs, y_test="float[m]", ridge="num[]")
def complexity_curve(x_train, y_train, x_test, y_test, degrees: Sequence[int], *, ridge=0.0) -> ComplexityCurve:
    r"""Train and test mean squared error of polynomial least squares against the degree (one vmap).

    For each $d$ in ``degrees`` fits the degree-$d$ polynomial on the training data and reports
    $\frac1n\sum(\hat y - y)^2$ on both sets: the U-shaped test curve and the decreasing train
    curve of [MEDL] Fig. 2.9-2.10.

    Args:
      x_train: a whole training set of inputs, shape ``(n,)`` or ``(n, p)``, floating.
      y_train: training targets, shape ``(n,)``.
      x_test: test inputs, shape ``(m,)`` or ``(m, p)`` (the trailing shape of ``x_train``).
      y_test: test targets, shape ``(m,)``.
      degrees: static non-negative ints.
      ridge: optional ridge strength $\ge 0$ (NaN results under ``jax.jit`` if negative).

    Returns:
      :class:`ComplexityCurve` ``(train_error, test_error)``, each of shape ``(len(degrees),)``.

    Raises:
      ValueError: on shape mismatches or invalid ``degrees``.
      TypeError: if an input is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (generalisation, model complexity).
    """
    func = checks.public_name(complexity_curve)
    F, masks = _features(func, x_train, degrees)
    G, _ = _features(func, x_test, degrees)
    ridge = ensure_at_least_zero(func, "ridge", ridge, jnp.asarray(ridge))  # before the fits

    def at(mask):
        params = estimators.fit_least_squares(F * mask[None, :], y_train, ridge=ridge)
        tr = jnp.mean(_squared(params, F * mask[None, :], y_train))
        te = jnp.mean(_squared(params, G * mask[None, :], y_test))
        return tr, te

    tr, te = jax.vmap(at)(masks)
    return ComplexityCurve(tr, te)
