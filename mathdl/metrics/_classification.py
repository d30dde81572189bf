r"""Classification metrics from the confusion matrix: accuracy, precision, recall, F1.

Conventions (as scikit-learn with ``zero_division=0``): a ratio whose denominator is 0
(precision with no predicted positives, recall with no actual positives, F1 with
$2TP + FP + FN = 0$) is defined as **0**, not NaN; "macro" averages the per-class
values over **all** ``num_classes`` classes (scikit-learn's ``labels=range(K)``), so a
class absent from both ``y_true`` and ``y_pred`` counts as 0. Labels out of range are
refused with their index when the inputs are concrete; under ``jit`` the result is NaN
(the confusion matrix: ``-1`` in every entry) and :func:`mathdl.checks.checked` raises.

All functions take a whole data set of labels, shape ``(n,)``, and are jit-able;
``num_classes``, ``average`` and ``pos_label`` are static.
"""

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text
from mathdl.metrics._common import first_bad, labels

__all__ = ["accuracy", "confusion_matrix", "f1", "precision", "recall"]

_AVERAGES = ("binary", "macro", None)


def _float_dtype():
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def _in_range(func: str, y_true, y_pred, num_classes: int, out):
    # checks.ensure for both label vectors: eager ValueError naming the index, NaN / -1 under jit.
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        ok = (y >= 0) & (y < num_classes)
        out = checks.ensure(ok, out, func, name, f"labels in {{0, ..., {num_classes - 1}}}", first_bad(y, ok))
    return out


_LABELS = {"y_true": labels, "y_pred": labels}


def _check_num_classes(func: str, num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        checks.fail(func, "num_classes", "a static Python int", Text(type(num_classes).__name__), exc=TypeError)
    if num_classes < 1:
        checks.fail(func, "num_classes", "a value >= 1", num_classes)
    return num_classes


def _ratio(num, den):
    """num / den with 0/0 := 0 (scikit-learn's zero_division=0); double where keeps gradients clean."""
    safe = jnp.where(den > 0, den, jnp.ones_like(den))
    return jnp.where(den > 0, num / safe, jnp.zeros_like(num))


def _confusion(y_true, y_pred, K):
    T = jax.nn.one_hot(y_true.astype(jnp.int32), K, dtype=jnp.int32)
    P = jax.nn.one_hot(y_pred.astype(jnp.int32), K, dtype=jnp.int32)
    return T.T @ P


@checks.inputs(**_LABELS)
def confusion_matrix(y_true, y_pred, *, num_classes: int) -> jax.Array:
    r"""Confusion matrix $C_{jk} = \#\{i : y_i = j,\ \hat{y}_i = k\}$.

    Rows are the true class, columns the predicted class (scikit-learn's layout). For two
    classes, $C = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix}$.

    Args:
      y_true: a whole data set of true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``, integer or bool.
      num_classes: $K$ (static).

    Returns:
      int32 array of shape ``(K, K)``; its entries sum to $n$. Under ``jax.jit`` a label outside
      $\{0, \dots, K-1\}$ makes every entry ``-1`` (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: if the shapes differ or are not rank 1, ``num_classes < 1``, or (eagerly) a
        label is outside $\{0, \dots, K-1\}$ (the message names its index).
      TypeError: if labels are not integer/bool or ``num_classes`` is not an int.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.confusion_matrix``.
    """
    func = checks.public_name(confusion_matrix)
    K = _check_num_classes(func, num_classes)
    return _in_range(func, y_true, y_pred, K, _confusion(y_true, y_pred, K))


@checks.inputs(**_LABELS)
def accuracy(y_true, y_pred) -> jax.Array:
    r"""Accuracy $\frac{1}{n}\sum_i \mathbf{1}\{\hat{y}_i = y_i\}$.

    Args:
      y_true: a whole data set of true labels, shape ``(n,)``, integer or bool (a list is accepted).
      y_pred: predicted labels, shape ``(n,)``.

    Returns:
      Scalar in $[0, 1]$ (JAX's default float); NaN when $n = 0$ (0/0 has no defined value).

    Raises:
      ValueError: if the shapes differ or are not rank 1.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.accuracy_score``.
    """
    return jnp.mean((y_true == y_pred).astype(_float_dtype()))


def _score(func, y_true, y_pred, average, num_classes, pos_label, ratio):
    """``ratio(TP, FP, FN)`` per class (one entry for 'binary', K otherwise), reduced by ``average``."""
    checks.check_choice(func, "average", average, _AVERAGES)
    f = _float_dtype()
    if average == "binary":
        K = 2 if num_classes is None else _check_num_classes(func, num_classes)
        if pos_label not in range(K):
            checks.fail(func, "pos_label", f"a class in {{0, ..., {K - 1}}}", pos_label)
        t, p = y_true == pos_label, y_pred == pos_label
        tp, fp, fn = (jnp.sum(a, dtype=f)[None] for a in (t & p, ~t & p, t & ~p))
    else:
        if num_classes is None:
            checks.fail(func, "num_classes", f"an int when average={average!r}", None)
        K = _check_num_classes(func, num_classes)
        C = _confusion(y_true, y_pred, K).astype(f)
        tp = jnp.diagonal(C)
        fp, fn = jnp.sum(C, axis=0) - tp, jnp.sum(C, axis=1) - tp
    return _in_range(func, y_true, y_pred, K, _reduce(ratio(tp, fp, fn), average))


def _reduce(values, average):
    return values if average is None else jnp.mean(values) if average == "macro" else values[0]


@checks.inputs(**_LABELS)
def precision(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""Precision $\frac{TP}{TP + FP}$: the fraction of predicted positives that are positive.

    ``average="binary"``: for the class ``pos_label``. ``average="macro"``: the mean over
    the $K$ classes of the one-vs-rest precision. ``average=None``: the $K$ values.
    $0/0$ (no predicted positives) is defined as 0.

    Args:
      y_true: a whole data set of true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"`` (where it defaults to 2).
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$, JAX's default float; NaN under
      ``jax.jit`` when a label is outside $\{0, \dots, K-1\}$ (:func:`mathdl.checks.checked` raises).

    Raises:
      ValueError: bad shapes, unknown ``average``, missing ``num_classes``, ``pos_label``
        not a class, or (eagerly) a label out of range, named with its index.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.precision_score(zero_division=0)``.
    """
    ratio = lambda tp, fp, fn: _ratio(tp, tp + fp)  # noqa: E731
    return _score(checks.public_name(precision), y_true, y_pred, average, num_classes, pos_label, ratio)


@checks.inputs(**_LABELS)
def recall(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""Recall (sensitivity, true-positive rate) $\frac{TP}{TP + FN}$.

    Averaging as in :func:`precision`; $0/0$ (no actual positives) is defined as 0.

    Args:
      y_true: a whole data set of true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"``.
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$; NaN under ``jax.jit`` for a
      label out of range.

    Raises:
      ValueError: as :func:`precision`.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.recall_score(zero_division=0)``.
    """
    ratio = lambda tp, fp, fn: _ratio(tp, tp + fn)  # noqa: E731
    return _score(checks.public_name(recall), y_true, y_pred, average, num_classes, pos_label, ratio)


@checks.inputs(**_LABELS)
def f1(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""F1 score, the harmonic mean of precision and recall.

    $F_1 = \frac{2PR}{P + R} = \frac{2TP}{2TP + FP + FN}$; the second form is computed (it
    is defined whenever the first is, and is 0/0 := 0 only when the class never appears
    in either ``y_true`` or ``y_pred``). "macro" averages per-class F1 (not the F1 of the
    averaged precision and recall), as scikit-learn does.

    Args:
      y_true: a whole data set of true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"``.
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$; NaN under ``jax.jit`` for a
      label out of range.

    Raises:
      ValueError: as :func:`precision`.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.f1_score(zero_division=0)``.
    """
    ratio = lambda tp, fp, fn: _ratio(2 * tp, 2 * tp + fp + fn)  # noqa: E731
    return _score(checks.public_name(f1), y_true, y_pred, average, num_classes, pos_label, ratio)
