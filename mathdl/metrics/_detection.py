r"""Detection and segmentation metrics: box IoU, non-maximum suppression, mask IoU and Dice.

Boxes are corners $(x_1, y_1, x_2, y_2)$ with $x_1 \le x_2$ and $y_1 \le y_2$ (torchvision's
``xyxy`` layout; $x$ runs along the image width, $y$ down its height, in pixels). Their area is
$(x_2 - x_1)(y_2 - y_1)$, and the intersection over union of two boxes is

$$\mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|} = \frac{|A \cap B|}{|A| + |B| - |A \cap B|} \in [0, 1].$$

Conventions (documented values, not errors):

* a box with $x_2 < x_1$ or $y_2 < y_1$ (or a NaN or infinite coordinate) is **refused**: eagerly
  a ``ValueError`` names the first such box; under ``jax.jit``/``jax.vmap`` the result is
  poisoned (NaN IoU, index ``-1`` and ``valid = False`` for :func:`nms`), and inside
  :func:`mathdl.checks.checked` it raises (:func:`mathdl.checks.ensure`);
* a degenerate box of zero area is allowed; two boxes whose union has zero area have IoU **0**
  (torchvision's ``box_iou`` gives NaN there);
* two empty masks have mask IoU and Dice **1** (they agree perfectly).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = ["NMSResult", "box_area", "box_iou", "dice_coefficient", "mask_iou", "nms"]

_ORDERED = "boxes (x1, y1, x2, y2) with finite corners, x1 <= x2 and y1 <= y2"


def _box_ok(boxes: jax.Array) -> jax.Array:
    """Per box (``(..., 4)`` -> ``(...)``): finite corners in order."""
    finite = jnp.all(jnp.isfinite(boxes), axis=-1)
    return finite & (boxes[..., 2] >= boxes[..., 0]) & (boxes[..., 3] >= boxes[..., 1])


def _describe(ok: jax.Array, boxes: jax.Array) -> str:
    """The first refused box, when the values are concrete (eager calls, ``jax.grad``)."""
    try:
        ok_np = np.asarray(ok)
        boxes_np = np.asarray(boxes)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return "a box with x2 < x1, y2 < y1 or a non-finite corner"
    if ok_np.all():
        return "no refused box"
    index = tuple(int(i) for i in np.argwhere(~ok_np)[0])
    at = index[0] if len(index) == 1 else index
    return f"{boxes_np[index].tolist()} at index {at}"


def _ensure_boxes(func: str, name: str, boxes: jax.Array, out):
    ok = _box_ok(boxes)
    return checks.ensure(ok, out, func, name, _ORDERED, got=_describe(ok, boxes))


def _area(boxes: jax.Array) -> jax.Array:
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _safe_ratio(num: jax.Array, den: jax.Array, at_zero) -> jax.Array:
    """num / den, with ``at_zero`` where den == 0; the double ``where`` keeps gradients finite."""
    safe = jnp.where(den > 0, den, jnp.ones_like(den))
    return jnp.where(den > 0, num / safe, jnp.full_like(num, at_zero))


def _iou_matrix(a: jax.Array, b: jax.Array) -> jax.Array:
    """Unchecked IoU of (N, 4) against (M, 4) boxes: (N, M)."""
    lo = jnp.maximum(a[:, None, :2], b[None, :, :2])
    hi = jnp.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = jnp.clip(hi - lo, 0)
    inter = wh[..., 0] * wh[..., 1]
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    return _safe_ratio(inter, union, 0.0)


@checks.inputs(boxes="float[*batch 4]")
def box_area(boxes: jax.Array) -> jax.Array:
    r"""Area $(x_2 - x_1)(y_2 - y_1)$ of boxes in corner form.

    Args:
      boxes: boxes $(x_1, y_1, x_2, y_2)$, shape ``(*batch, 4)`` (broadcasts over ``*batch``).

    Returns:
      The areas, shape ``(*batch,)``.

    Raises:
      ValueError: if the last axis is not 4, or (eagerly) a box has $x_2 < x_1$, $y_2 < y_1$ or a
        non-finite corner; under ``jax.jit`` such a box gives NaN.
      TypeError: if ``boxes`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (bounding boxes); D2L Sec. 14.3 (bounding boxes).
    """
    return _ensure_boxes(checks.public_name(box_area), "boxes", boxes, _area(boxes))


@checks.inputs(boxes_a="float[N 4]", boxes_b="float[M 4]")
def box_iou(boxes_a: jax.Array, boxes_b: jax.Array) -> jax.Array:
    r"""Pairwise intersection over union of two sets of boxes.

    $$\mathrm{IoU}_{ij} = \frac{|A_i \cap B_j|}{|A_i| + |B_j| - |A_i \cap B_j|},\qquad
      |A_i \cap B_j| = [\min(x_2, x_2') - \max(x_1, x_1')]_+\,[\min(y_2, y_2') - \max(y_1, y_1')]_+ .$$

    Symmetric ($\mathrm{IoU}(A, B) = \mathrm{IoU}(B, A)^\top$), in $[0, 1]$, and 1 on a box of
    positive area against itself. A zero union (two zero-area boxes) gives 0.

    Args:
      boxes_a: $N$ boxes $(x_1, y_1, x_2, y_2)$, shape ``(N, 4)``.
      boxes_b: $M$ boxes, shape ``(M, 4)``, same dtype.

    Returns:
      The IoU matrix, shape ``(N, M)``.

    Raises:
      ValueError: if a shape is not ``(*, 4)``, or (eagerly) a box has $x_2 < x_1$, $y_2 < y_1$ or a
        non-finite corner (the message names the first); under ``jax.jit`` the result is NaN.
      TypeError: if a box array is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (IoU for localisation); D2L Sec. 14.4.2 (Jaccard index).
      Oracle in tests: ``torchvision.ops.box_iou`` (where installed) and a NumPy loop.
    """
    func = checks.public_name(box_iou)
    iou = _iou_matrix(boxes_a, boxes_b)
    iou = _ensure_boxes(func, "boxes_a", boxes_a, iou)
    return _ensure_boxes(func, "boxes_b", boxes_b, iou)


class NMSResult(NamedTuple):
    """What :func:`nms` returns: a fixed-length list of kept boxes.

    Attributes:
      indices: ``(max_output,)`` int32, indices into the input boxes of the kept boxes in
        decreasing score order, then ``-1`` (the sentinel) in the unused slots.
      valid: ``(max_output,)`` bool, true in the slots that hold a kept box
        (``valid.sum()`` is the number kept).
    """

    indices: jax.Array
    valid: jax.Array


def _static_count(func: str, name: str, value, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        checks.fail(func, name, "a static Python int", checks.Text(type(value).__name__), exc=TypeError)
    if value < 1:
        checks.fail(func, name, "a value >= 1", value)
    return int(value)


def _threshold(func: str, name: str, value, dtype):
    if isinstance(value, bool) or isinstance(value, str | bytes) or value is None:
        checks.fail(func, name, "a real number", checks.Text(type(value).__name__), exc=TypeError)
    if isinstance(value, int | float):
        checks.check_range(func, name, value, 0.0, 1.0, high_closed=True)
    return jnp.asarray(value, dtype)


@checks.inputs(boxes="float[N 4]", scores="float[N]", labels="int[N]?")
def nms(
    boxes: jax.Array,
    scores: jax.Array,
    *,
    iou_threshold=0.5,
    max_output: int | None = None,
    score_threshold=None,
    labels: jax.Array | None = None,
) -> NMSResult:
    r"""Greedy non-maximum suppression with a fixed-size output (jit-able).

    Visit the boxes in decreasing score; keep a box unless it overlaps an already kept box with
    $\mathrm{IoU} > \tau$ (``iou_threshold``). With ``labels``, only boxes of the same class
    suppress each other (torchvision's ``batched_nms``). The boxes are visited with a
    ``lax.fori_loop`` over the $N \times N$ IoU matrix, $O(N^2)$ work and memory, so every shape
    is static: the output always has ``max_output`` slots.

    Args:
      boxes: $N$ candidate boxes $(x_1, y_1, x_2, y_2)$, shape ``(N, 4)`` (the data-set group: one
        image's candidates).
      scores: their scores, shape ``(N,)``. NaN scores are never kept; ties are visited in index
        order.
      iou_threshold: $\tau \in [0, 1]$; a box with $\mathrm{IoU} > \tau$ against a kept box is
        suppressed (a float or a traced scalar).
      max_output: number of output slots (a static Python int, default $N$); boxes beyond it are
        dropped. Under ``jax.jit`` bind it statically: ``jax.jit(functools.partial(nms,
        max_output=10))`` or ``jax.jit(nms, static_argnames="max_output")``.
      score_threshold: if given, boxes with score $\le$ it are never kept (a float or a scalar).
      labels: optional class labels, shape ``(N,)`` int; boxes of different classes never
        suppress each other.

    Returns:
      :class:`NMSResult` ``(indices, valid)``: ``indices`` of shape ``(max_output,)`` holds the
      kept boxes' indices in decreasing score order then ``-1``; ``valid`` marks the used slots.
      Every two kept boxes (of one class) have $\mathrm{IoU} \le \tau$.

    Raises:
      ValueError: if a shape is wrong, ``iou_threshold`` is outside $[0, 1]$, ``max_output < 1``,
        or (eagerly) a box has $x_2 < x_1$, $y_2 < y_1$ or a non-finite corner; under ``jax.jit``
        such a box gives ``indices = -1`` and ``valid = False`` everywhere.
      TypeError: if ``boxes``/``scores`` are not floating, ``labels`` is not integer or
        ``max_output`` is not an int.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (non-max suppression in YOLO-style detection); D2L Sec. 14.4.4;
      Girshick et al. (2014), "Rich feature hierarchies ..." (R-CNN). Oracle in tests:
      ``torchvision.ops.nms`` (where installed) and a NumPy loop.
    """
    func = checks.public_name(nms)
    n = boxes.shape[0]
    k = _static_count(func, "max_output", max_output, max(n, 1))
    tau = _threshold(func, "iou_threshold", iou_threshold, boxes.dtype)
    if n == 0:
        return NMSResult(jnp.full((k,), -1, jnp.int32), jnp.zeros((k,), bool))
    order = jnp.argsort(-scores, stable=True)  # NaN scores sort last
    s = scores[order]
    candidate = ~jnp.isnan(s)
    if score_threshold is not None:
        candidate &= s > jnp.asarray(score_threshold, scores.dtype)
    b = boxes[order]
    overlap = _iou_matrix(b, b) > tau
    if labels is not None:
        lab = labels[order]
        overlap &= lab[:, None] == lab[None, :]

    keep, _, _ = jax.lax.fori_loop(0, n, _visit, (jnp.zeros((n,), bool), overlap, candidate))
    (slot,) = jnp.nonzero(keep, size=k, fill_value=-1)
    valid = slot >= 0
    indices = jnp.where(valid, order[jnp.clip(slot, 0)], -1).astype(jnp.int32)
    return _ensure_boxes(func, "boxes", boxes, NMSResult(indices, valid))


def _visit(i, carry):
    """Greedy step i (boxes in score order): keep box i unless a kept box overlaps it by more than the threshold.

    Module level, with the arrays in the carry, so eager calls reuse one compiled loop."""
    keep, overlap, candidate = carry
    suppressed = jnp.any(keep & overlap[i])
    return keep.at[i].set(candidate[i] & ~suppressed), overlap, candidate


def _as_mask(func: str, name: str, value, dims) -> jax.Array:
    """A mask: bool, integer 0/1 or floating in [0, 1] (a soft mask), shape (*batch, H, W)."""
    arr = checks.conform(func, name, value, "any[*batch H W]", dims)
    if not (jnp.issubdtype(arr.dtype, jnp.bool_) or jnp.issubdtype(arr.dtype, jnp.number)):
        checks.fail(func, name, "a boolean, integer or floating mask", checks.Text(f"dtype {arr.dtype}"), exc=TypeError)
    return arr


def _mask_pair(func: str, pred: jax.Array, target: jax.Array):
    dtypes = [a.dtype for a in (pred, target) if jnp.issubdtype(a.dtype, jnp.floating)]
    dtype = jnp.result_type(*dtypes) if dtypes else jax.dtypes.canonicalize_dtype(jnp.float64)
    p, t = pred.astype(dtype), target.astype(dtype)
    ok = jnp.all((p >= 0) & (p <= 1)) & jnp.all((t >= 0) & (t <= 1))
    return p, t, ok


def _mask_check(func, ok, out):
    return checks.ensure(ok, out, func, "pred", "masks with values in [0, 1] (`pred` and `target`)")


@checks.inputs(pred=_as_mask, target=_as_mask)
def mask_iou(pred: jax.Array, target: jax.Array) -> jax.Array:
    r"""Intersection over union (Jaccard index) of two masks, per image.

    $$\mathrm{IoU}(P, T) = \frac{\sum p_{ij} t_{ij}}{\sum p_{ij} + \sum t_{ij} - \sum p_{ij} t_{ij}},$$

    which for 0/1 masks is $|P \cap T| / |P \cup T|$; for soft masks (probabilities) it is the
    soft Jaccard index. Two empty masks give 1.

    Args:
      pred: predicted mask, shape ``(*batch, H, W)``: bool, 0/1 integers or floats in $[0, 1]$
        (broadcasts over ``*batch``; one image per trailing ``(H, W)``).
      target: true mask, the same shape.

    Returns:
      The IoU of each image, shape ``(*batch,)``, in $[0, 1]$.

    Raises:
      ValueError: if the shapes differ or a mask has rank < 2; eagerly, if a value is outside
        $[0, 1]$ (NaN under ``jax.jit``).
      TypeError: if a mask is not boolean or numeric.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (semantic segmentation); D2L Sec. 14.9; Jaccard (1912).
    """
    func = checks.public_name(mask_iou)
    p, t, ok = _mask_pair(func, pred, target)
    inter = jnp.sum(p * t, axis=(-2, -1))
    union = jnp.sum(p, axis=(-2, -1)) + jnp.sum(t, axis=(-2, -1)) - inter
    return _mask_check(func, ok, _safe_ratio(inter, union, 1.0))


@checks.inputs(pred=_as_mask, target=_as_mask)
def dice_coefficient(pred: jax.Array, target: jax.Array, *, smooth: float = 0.0) -> jax.Array:
    r"""Dice coefficient (the F1 score of the pixels) of two masks, per image.

    $$\mathrm{Dice}(P, T) = \frac{2\sum_{ij} p_{ij} t_{ij} + s}{\sum_{ij} p_{ij} + \sum_{ij} t_{ij} + s},$$

    which for 0/1 masks is $2|P \cap T| / (|P| + |T|)$ and relates to IoU by
    $\mathrm{Dice} = 2\,\mathrm{IoU} / (1 + \mathrm{IoU})$. With floats in $[0, 1]$ it is the soft
    Dice whose complement $1 - \mathrm{Dice}$ is the Dice loss. Two empty masks give 1.

    Args:
      pred: predicted mask, shape ``(*batch, H, W)``: bool, 0/1 integers or floats in $[0, 1]$.
      target: true mask, the same shape.
      smooth: $s \ge 0$ added to the numerator and denominator (a common smoothing of the Dice
        loss; 0 gives the plain coefficient).

    Returns:
      The Dice coefficient of each image, shape ``(*batch,)``, in $[0, 1]$.

    Raises:
      ValueError: if the shapes differ, a mask has rank < 2 or ``smooth < 0``; eagerly, if a
        value is outside $[0, 1]$ (NaN under ``jax.jit``).
      TypeError: if a mask is not boolean or numeric.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (segmentation); Dice (1945); Milletari et al. (2016), "V-Net" (the
      soft Dice loss).
    """
    func = checks.public_name(dice_coefficient)
    checks.check_positive(func, "smooth", smooth, strict=False)
    p, t, ok = _mask_pair(func, pred, target)
    inter = jnp.sum(p * t, axis=(-2, -1))
    total = jnp.sum(p, axis=(-2, -1)) + jnp.sum(t, axis=(-2, -1))
    s = jnp.asarray(smooth, p.dtype)
    return _mask_check(func, ok, _safe_ratio(2 * inter + s, total + s, 1.0))
