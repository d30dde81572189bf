r"""Classification metrics from the confusion matrix: accuracy, precision, recall, F1.

Conventions (as scikit-learn with ``zero_division=0``): a ratio whose denominator is 0
(precision with no predicted positives, recall with no actual positives, F1 with
$2TP + FP + FN = 0$) is defined as **0**, not NaN; "macro" averages the per-class
values over **all** ``num_classes`` classes (scikit-learn's ``labels=range(K)``), so a
class absent from both ``y_true`` and ``y_pred`` counts as 0. Labels out of range are
refused with their index when the inputs are concrete; under ``jit`` they are not
counted (they match no class) and :func:`mathdl.checks.checked` raises on them.

All functions are jit-able; ``num_classes``, ``average`` and ``pos_label`` are static.
"""

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text

__all__ = ["accuracy", "confusion_matrix", "f1", "precision", "recall"]

_AVERAGES = ("binary", "macro", None)


def _float_dtype():
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def _check_labels(func: str, y_true, y_pred, num_classes: int | None = None) -> None:
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        dtype = jnp.result_type(y)
        if not (jnp.issubdtype(dtype, jnp.integer) or dtype == jnp.bool_):
            checks.fail(func, name, "integer or boolean labels", Text(f"dtype {dtype}"), exc=TypeError)
        checks.check_rank(func, name, y, 1)
    checks.check_same_shape(func, "y_true", y_true, "y_pred", y_pred)
    if num_classes is None:
        return
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        ok = (jnp.asarray(y) >= 0) & (jnp.asarray(y) < num_classes)
        if isinstance(y, jax.core.Tracer):
            msg = f"{func}: argument `{name}` expected labels in {{0, ..., {num_classes - 1}}}."
            checks.value_check(ok, msg)
        elif not np.all(np.asarray(ok)):
            i = int(np.argmin(np.asarray(ok)))
            checks.fail(
                func, name, f"labels in {{0, ..., {num_classes - 1}}}", Text(f"{np.asarray(y)[i]} at index {i}")
            )


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


def confusion_matrix(y_true, y_pred, *, num_classes: int) -> jax.Array:
    r"""Confusion matrix $C_{jk} = \#\{i : y_i = j,\ \hat{y}_i = k\}$.

    Rows are the true class, columns the predicted class (scikit-learn's layout). For two
    classes, $C = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix}$.

    Args:
      y_true: true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``, integer or bool.
      num_classes: $K$ (static).

    Returns:
      int32 array of shape ``(K, K)``; its entries sum to $n$.

    Raises:
      ValueError: if the shapes differ or are not rank 1, ``num_classes < 1``, or (concrete
        inputs) a label is outside $\{0, \dots, K-1\}$ (the message names its index).
      TypeError: if labels are not integer/bool or ``num_classes`` is not an int.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.confusion_matrix``.
    """
    func = "metrics.confusion_matrix"
    K = _check_num_classes(func, num_classes)
    _check_labels(func, y_true, y_pred, K)
    T = jax.nn.one_hot(jnp.asarray(y_true).astype(jnp.int32), K, dtype=jnp.int32)  # out-of-range rows are 0
    P = jax.nn.one_hot(jnp.asarray(y_pred).astype(jnp.int32), K, dtype=jnp.int32)
    return T.T @ P


def accuracy(y_true, y_pred) -> jax.Array:
    r"""Accuracy $\frac{1}{n}\sum_i \mathbf{1}\{\hat{y}_i = y_i\}$.

    Args:
      y_true: true labels, shape ``(n,)``, integer or bool.
      y_pred: predicted labels, shape ``(n,)``.

    Returns:
      Scalar in $[0, 1]$ (JAX's default float); NaN when $n = 0$ (0/0 has no defined value).

    Raises:
      ValueError: if the shapes differ or are not rank 1.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.accuracy_score``.
    """
    _check_labels("metrics.accuracy", y_true, y_pred)
    return jnp.mean((jnp.asarray(y_true) == jnp.asarray(y_pred)).astype(_float_dtype()))


def _counts(func, y_true, y_pred, average, num_classes, pos_label):
    """Per-class (TP, FP, FN) as float vectors: one entry for 'binary', K entries otherwise."""
    checks.check_choice(func, "average", average, _AVERAGES)
    if average == "binary":
        K = 2 if num_classes is None else _check_num_classes(func, num_classes)
        _check_labels(func, y_true, y_pred, K)
        if pos_label not in range(K):
            checks.fail(func, "pos_label", f"a class in {{0, ..., {K - 1}}}", pos_label)
        t = jnp.asarray(y_true) == pos_label
        p = jnp.asarray(y_pred) == pos_label
        f = _float_dtype()
        return jnp.sum(t & p, dtype=f)[None], jnp.sum(~t & p, dtype=f)[None], jnp.sum(t & ~p, dtype=f)[None]
    if num_classes is None:
        checks.fail(func, "num_classes", f"an int when average={average!r}", None)
    K = _check_num_classes(func, num_classes)
    C = confusion_matrix(y_true, y_pred, num_classes=K).astype(_float_dtype())
    tp = jnp.diagonal(C)
    return tp, jnp.sum(C, axis=0) - tp, jnp.sum(C, axis=1) - tp


def _reduce(values, average):
    return values if average is None else jnp.mean(values) if average == "macro" else values[0]


def precision(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""Precision $\frac{TP}{TP + FP}$: the fraction of predicted positives that are positive.

    ``average="binary"``: for the class ``pos_label``. ``average="macro"``: the mean over
    the $K$ classes of the one-vs-rest precision. ``average=None``: the $K$ values.
    $0/0$ (no predicted positives) is defined as 0.

    Args:
      y_true: true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"`` (where it defaults to 2).
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$, JAX's default float.

    Raises:
      ValueError: bad shapes, unknown ``average``, missing ``num_classes``, ``pos_label``
        not a class, or (concrete inputs) a label out of range, named with its index.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.precision_score(zero_division=0)``.
    """
    tp, fp, _ = _counts("metrics.precision", y_true, y_pred, average, num_classes, pos_label)
    return _reduce(_ratio(tp, tp + fp), average)


def recall(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""Recall (sensitivity, true-positive rate) $\frac{TP}{TP + FN}$.

    Averaging as in :func:`precision`; $0/0$ (no actual positives) is defined as 0.

    Args:
      y_true: true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"``.
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$.

    Raises:
      ValueError: as :func:`precision`.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.recall_score(zero_division=0)``.
    """
    tp, _, fn = _counts("metrics.recall", y_true, y_pred, average, num_classes, pos_label)
    return _reduce(_ratio(tp, tp + fn), average)


def f1(y_true, y_pred, *, average="binary", num_classes: int | None = None, pos_label: int = 1) -> jax.Array:
    r"""F1 score, the harmonic mean of precision and recall.

    $F_1 = \frac{2PR}{P + R} = \frac{2TP}{2TP + FP + FN}$; the second form is computed (it
    is defined whenever the first is, and is 0/0 := 0 only when the class never appears
    in either ``y_true`` or ``y_pred``). "macro" averages per-class F1 (not the F1 of the
    averaged precision and recall), as scikit-learn does.

    Args:
      y_true: true labels $y$, shape ``(n,)``, integer or bool.
      y_pred: predicted labels $\hat{y}$, shape ``(n,)``.
      average: ``"binary"`` (default), ``"macro"`` or ``None``.
      num_classes: $K$ (static); required unless ``average="binary"``.
      pos_label: the positive class for ``"binary"``.

    Returns:
      Scalar (or shape ``(K,)`` for ``average=None``) in $[0, 1]$.

    Raises:
      ValueError: as :func:`precision`.
      TypeError: if labels are not integer/bool.

    References:
      [MEDL] Ch. 2, Sec. 2.5; oracle: ``sklearn.metrics.f1_score(zero_division=0)``.
    """
    tp, fp, fn = _counts("metrics.f1", y_true, y_pred, average, num_classes, pos_label)
    return _reduce(_ratio(2 * tp, 2 * tp + fp + fn), average)
