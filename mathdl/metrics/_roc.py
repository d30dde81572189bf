r"""ROC curve and the area under it, with ties handled as scikit-learn does.

The curve is returned at fixed length $n + 1$ so that it is jit-able: after sorting the
scores in decreasing order, point $i$ is the (FPR, TPR) pair obtained by thresholding at
the $i$-th largest score, where tied scores are thresholded together (every position in a
group of equal scores gets the point at the group's end). Repeated points are therefore
possible; dropping them gives exactly scikit-learn's ``roc_curve(drop_intermediate=False)``
and the trapezoidal area is unchanged (a tie group between classes contributes the
diagonal segment, i.e. half credit, as in the Mann-Whitney statistic).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks
from mathdl.checks import Text
from mathdl.metrics._common import labels

__all__ = ["roc_auc", "roc_curve"]


def _binary(func: str, name: str, value, dims: dict):
    """Spec: at least one label of shape ``(n,)``, integer or boolean."""
    value = labels(func, name, value, dims)
    if value.shape[0] == 0:
        checks.fail(func, name, "at least one example", Text("shape (0,)"))
    return value


def _two_classes(func: str, y, pos_label, out):
    # Every label that is not pos_label must be one and the same negative class: [0, 1, 2, 1] with
    # pos_label=1 has two negative classes, and counting 2 as negative would give a finite wrong AUC.
    y = y.astype(jnp.int32)
    neg = y != pos_label
    lo = jnp.min(jnp.where(neg, y, jnp.iinfo(jnp.int32).max))
    hi = jnp.max(jnp.where(neg, y, jnp.iinfo(jnp.int32).min))
    ok = ~jnp.any(neg) | (lo == hi)
    try:
        got = f"the negative classes {sorted(set(np.unique(np.asarray(y)).tolist()) - {pos_label})}"
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        got = "more than one negative class"
    return checks.ensure(ok, out, func, "y_true", f"two classes, pos_label={pos_label} and one other", got)


@checks.inputs(y_true=_binary, y_score="float[n]")
def roc_curve(y_true, y_score, *, pos_label: int = 1) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""Receiver operating characteristic: FPR and TPR as the threshold $\tau$ decreases.

    For a threshold $\tau$ the rule $\hat{Y} = \mathbf{1}\{\text{score} \ge \tau\}$ has
    $\mathrm{TPR}(\tau) = TP/P$ and $\mathrm{FPR}(\tau) = FP/N$, with $P$ and $N$ the
    numbers of positive and negative examples. The thresholds are $+\infty$ (the point
    $(0, 0)$) followed by the scores in decreasing order.

    Args:
      y_true: a whole data set of labels, shape ``(n,)``, integer or bool, of two classes:
        ``pos_label`` marks positives and every other label must be the same negative class.
      y_score: scores (higher means more likely positive), shape ``(n,)``, floating.
      pos_label: the positive class.

    Returns:
      ``(fpr, tpr, thresholds)``, each of shape ``(n + 1,)`` in ``y_score``'s dtype; FPR and
      TPR are non-decreasing. With no positive (no negative) example TPR (FPR) is 0/0 and
      returned as NaN; a NaN score makes both curves NaN. Under ``jax.jit`` labels of more than
      two classes give NaN everywhere (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: if the shapes differ, are not rank 1, or are empty, or (eagerly) ``y_true``
        holds more than one class besides ``pos_label``.
      TypeError: if ``y_true`` is not integer/bool or ``y_score`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.5 (ROC curve, Fig. 2.4); Fawcett (2006), "An introduction to ROC
      analysis"; oracle: ``sklearn.metrics.roc_curve``.
    """
    return _roc(checks.public_name(roc_curve), y_true, y_score, pos_label)


def _roc(func, y_true, y_score, pos_label):
    s = y_score
    n = s.shape[0]
    order = jnp.argsort(-s, stable=True)
    s_sorted = s[order]
    positive = (y_true.astype(jnp.int32) == pos_label)[order].astype(s.dtype)
    tps = jnp.cumsum(positive)
    fps = jnp.cumsum(1 - positive)
    # the last position of each tie group: reverse running minimum of the positions where a group ends
    is_end = jnp.concatenate([s_sorted[:-1] != s_sorted[1:], jnp.array([True])])
    end = lax.cummin(jnp.where(is_end, jnp.arange(n), n), reverse=True)
    zero = jnp.zeros((1,), s.dtype)
    tps = jnp.concatenate([zero, tps[end]])
    fps = jnp.concatenate([zero, fps[end]])
    P, N = tps[-1], fps[-1]
    checks.value_check((P > 0) & (N > 0), f"{func}: argument `y_true` expected both classes to be present.")
    nan = jnp.full_like(tps, jnp.nan)
    bad = jnp.any(jnp.isnan(s))
    tpr = jnp.where(bad | (P == 0), nan, tps / jnp.where(P > 0, P, 1))  # 0/0: no positives, NaN
    fpr = jnp.where(bad | (N == 0), nan, fps / jnp.where(N > 0, N, 1))
    thresholds = jnp.concatenate([jnp.full((1,), jnp.inf, s.dtype), s_sorted])
    return _two_classes(func, y_true, pos_label, (fpr, tpr, thresholds))


@checks.inputs(y_true=_binary, y_score="float[n]")
def roc_auc(y_true, y_score, *, pos_label: int = 1) -> jax.Array:
    r"""Area under the ROC curve, by the trapezoidal rule over :func:`roc_curve`.

    $\mathrm{AUC} = \sum_j (\mathrm{FPR}_{j} - \mathrm{FPR}_{j-1})
    \frac{\mathrm{TPR}_{j} + \mathrm{TPR}_{j-1}}{2}$. It equals the probability that a
    random positive scores higher than a random negative, ties counting one half (the
    Mann-Whitney statistic divided by $PN$).

    Args:
      y_true: a whole data set of labels, shape ``(n,)``, integer or bool, of two classes
        (``pos_label`` and one other).
      y_score: scores, shape ``(n,)``, floating.
      pos_label: the positive class.

    Returns:
      Scalar in $[0, 1]$, ``y_score``'s dtype; NaN when only one class is present (scikit-learn
      raises there), a score is NaN, or (under ``jax.jit``) more than two classes are present.
      :func:`mathdl.checks.checked` raises instead.

    Raises:
      ValueError: if the shapes differ, are not rank 1, or are empty, or (eagerly) ``y_true``
        holds more than one class besides ``pos_label`` (scikit-learn refuses multiclass labels too).
      TypeError: if ``y_true`` is not integer/bool or ``y_score`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.5; Hanley & McNeil (1982); oracle: ``sklearn.metrics.roc_auc_score``.
    """
    fpr, tpr, _ = _roc(checks.public_name(roc_auc), y_true, y_score, pos_label)
    return jnp.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1])) / 2
