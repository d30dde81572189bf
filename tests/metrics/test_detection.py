"""Box IoU, NMS, mask IoU and Dice: worked values, NumPy-loop (and torchvision) oracles, transforms, properties,
bad boxes (refused eagerly, NaN / -1 / False under jit, raised in checked mode)."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import checks, metrics
from tests._oracles import need
from tests._tolerances import tol

# ---------------------------------------------------------------- NumPy loop oracles (no mathdl)


def iou_loop(a, b):
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            iw = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
            ih = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
            inter = iw * ih
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def nms_loop(boxes, scores, thr, labels=None):
    """The textbook greedy loop: take the best remaining box, drop every box overlapping it by more than thr."""
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            same = labels is None or labels[i] == labels[j]
            if not (same and iou_loop(boxes[i : i + 1], boxes[j : j + 1])[0, 0] > thr):
                rest.append(j)
        order = rest
    return keep


def random_boxes(rng, n, size=20.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(0.5, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def kept(result):
    return [int(i) for i, v in zip(result.indices, result.valid, strict=True) if v]


# ---------------------------------------------------------------- (1) worked values, by hand


def test_box_iou_worked_values():
    """Worked value: by hand (float64): [0,0,2,2] vs [1,1,3,3]: intersection 1, union 4 + 4 - 1 = 7 -> 1/7; identical ->
    1; [0,0,4,4] contains [1,1,3,3]: 4/16; [0,0,2,2] contains the unit box [1,0,2,1]: 1/4; touching edges ([0,0,1,1]
    vs [1,0,2,1]) -> 0; disjoint -> 0."""
    a = jnp.array([[0.0, 0, 2, 2], [0, 0, 4, 4], [0, 0, 1, 1]])
    b = jnp.array([[1.0, 1, 3, 3], [0, 0, 2, 2], [1, 0, 2, 1], [10, 10, 11, 12]])
    want = np.array(
        [
            [1 / 7, 1.0, 1 / 4, 0.0],
            [4 / 16, 4 / 16, 1 / 16, 0.0],
            [0.0, 1 / 4, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(metrics.box_iou(a, b), want, **tol(np.float64))
    np.testing.assert_allclose(metrics.box_area(b), [4.0, 4.0, 1.0, 2.0], **tol(np.float64))


def test_zero_area_boxes_have_the_documented_value():
    """Edge: A point box is allowed (x1 = x2); a zero union gives IoU 0 (torchvision gives NaN); a point inside a box
    has intersection 0, so IoU 0."""
    p = jnp.array([[1.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(metrics.box_iou(p, p), [[0.0]])
    np.testing.assert_array_equal(metrics.box_iou(p, jnp.array([[0.0, 0, 2, 2]])), [[0.0]])


def test_nms_worked_example():
    """Worked value: scores 0.9, 0.95, 0.3, 0.8: box 1 (best) suppresses box 0 (IoU 0.9 > 0.5); box 2 is far away; box 3
    overlaps box 1 by 1/7 < 0.5 and is kept. Order: by decreasing score, then -1 in the unused slots."""
    boxes = jnp.array([[0.0, 0, 2, 2], [0.2, 0, 2, 2], [5, 5, 6, 6], [1.2, 1, 3.2, 3]])
    scores = jnp.array([0.9, 0.95, 0.3, 0.8])
    r = metrics.nms(boxes, scores, iou_threshold=0.5)
    np.testing.assert_array_equal(r.indices, [1, 3, 2, -1])
    np.testing.assert_array_equal(r.valid, [True, True, True, False])
    # a threshold below 1/7 drops box 3 as well; score_threshold drops box 2; max_output truncates
    np.testing.assert_array_equal(metrics.nms(boxes, scores, iou_threshold=0.1).indices, [1, 2, -1, -1])
    np.testing.assert_array_equal(metrics.nms(boxes, scores, score_threshold=0.5).indices, [1, 3, -1, -1])
    np.testing.assert_array_equal(metrics.nms(boxes, scores, max_output=2).indices, [1, 3])
    # with labels, boxes of another class never suppress: box 0 survives as class 1
    r = metrics.nms(boxes, scores, labels=jnp.array([1, 0, 0, 0]))
    np.testing.assert_array_equal(r.indices, [1, 0, 3, 2])


def test_nms_edge_cases():
    """Edge: no boxes: all slots empty. NaN scores are never kept. A threshold of 1 keeps every box (IoU > 1 never)."""
    r = metrics.nms(jnp.zeros((0, 4)), jnp.zeros((0,)), max_output=3)
    np.testing.assert_array_equal(r.indices, [-1, -1, -1])
    boxes = jnp.array([[0.0, 0, 2, 2], [0, 0, 2, 2], [4, 4, 5, 5]])
    r = metrics.nms(boxes, jnp.array([jnp.nan, 0.5, 0.7]))
    assert kept(r) == [2, 1]
    assert kept(metrics.nms(boxes, jnp.array([0.1, 0.5, 0.7]), iou_threshold=1.0)) == [2, 1, 0]


def test_mask_iou_and_dice_worked_values():
    """Worked value: rows 0-1 against rows 1-2 of a 4x4 grid: |P| = |T| = 8, |P ∩ T| = 4, |P ∪ T| = 12: IoU 1/3, Dice
    8/16 = 1/2. Soft masks: p = 0.5 everywhere on 2 pixels, t = 1 there: IoU = 1/(1 + 2 - 1) = 1/2, Dice = 2/3.
    Empty-empty: 1."""
    P = jnp.zeros((4, 4), bool).at[:2].set(True)
    T = jnp.zeros((4, 4), bool).at[1:3].set(True)
    np.testing.assert_allclose(metrics.mask_iou(P, T), 1 / 3, **tol(np.float64))
    np.testing.assert_allclose(metrics.dice_coefficient(P, T), 1 / 2, **tol(np.float64))
    p = jnp.array([[0.5, 0.5]])
    t = jnp.array([[1.0, 1.0]])
    np.testing.assert_allclose(metrics.mask_iou(p, t), 0.5, **tol(np.float64))
    np.testing.assert_allclose(metrics.dice_coefficient(p, t), 2 / 3, **tol(np.float64))
    E = jnp.zeros((3, 3), jnp.int32)
    assert float(metrics.mask_iou(E, E)) == 1.0 and float(metrics.dice_coefficient(E, E)) == 1.0
    np.testing.assert_allclose(metrics.dice_coefficient(E, jnp.ones((3, 3), jnp.int32), smooth=1.0), 1 / 10)


# ---------------------------------------------------------------- (2) oracles


def test_box_iou_against_numpy_loop():
    """Oracle: a NumPy double loop over the pairs (7 x 5 random boxes)."""
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    np.testing.assert_allclose(metrics.box_iou(jnp.asarray(a), jnp.asarray(b)), iou_loop(a, b), **tol(np.float64))


@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.7])
def test_nms_against_numpy_loop(thr):
    """Oracle: the greedy loop above, on 30 random boxes with distinct scores, with and without class labels."""
    rng = np.random.default_rng(int(thr * 10))
    boxes, scores = random_boxes(rng, 30), rng.permutation(30) / 30.0
    labels = rng.integers(0, 3, 30)
    r = metrics.nms(jnp.asarray(boxes), jnp.asarray(scores), iou_threshold=thr)
    assert kept(r) == nms_loop(boxes, scores, thr)
    r = metrics.nms(jnp.asarray(boxes), jnp.asarray(scores), iou_threshold=thr, labels=jnp.asarray(labels))
    assert kept(r) == nms_loop(boxes, scores, thr, labels)


def test_against_torchvision():
    """Oracle: torchvision.ops.box_iou, nms and batched_nms (skipped where torchvision is not installed: it cannot be
    installed next to the pinned torch here; the NumPy loop above is the oracle then)."""
    torch = need("torch")
    tv = need("torchvision")
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 9), random_boxes(rng, 6)
    np.testing.assert_allclose(
        metrics.box_iou(jnp.asarray(a), jnp.asarray(b)),
        tv.ops.box_iou(torch.tensor(a), torch.tensor(b)).numpy(),
        **tol(np.float64),
    )
    scores, labels = rng.permutation(9) / 9.0, rng.integers(0, 2, 9)
    for thr in (0.2, 0.5):
        want = tv.ops.nms(torch.tensor(a), torch.tensor(scores), thr).tolist()
        assert kept(metrics.nms(jnp.asarray(a), jnp.asarray(scores), iou_threshold=thr)) == want
        want = tv.ops.batched_nms(torch.tensor(a), torch.tensor(scores), torch.tensor(labels), thr).tolist()
        got = metrics.nms(jnp.asarray(a), jnp.asarray(scores), iou_threshold=thr, labels=jnp.asarray(labels))
        assert kept(got) == want


def test_dice_equals_f1_of_pixels():
    """Oracle: on 0/1 masks Dice is the F1 score of the flattened pixels (metrics.f1)."""
    rng = np.random.default_rng(2)
    P, T = rng.integers(0, 2, (6, 7)), rng.integers(0, 2, (6, 7))
    f1 = metrics.f1(jnp.asarray(T.ravel()), jnp.asarray(P.ravel()))
    np.testing.assert_allclose(metrics.dice_coefficient(jnp.asarray(P), jnp.asarray(T)), f1, **tol(np.float64))


# ---------------------------------------------------------------- (3) transforms


def test_box_iou_jit_vmap_grad(transform):
    """Transforms: jit equals the NumPy oracle; vmap over two box sets equals each (and IoU is shift-invariant)."""
    rng = np.random.default_rng(3)
    a, b = jnp.asarray(random_boxes(rng, 4)), jnp.asarray(random_boxes(rng, 3))
    np.testing.assert_allclose(
        transform(metrics.box_iou)(a, b), iou_loop(np.asarray(a), np.asarray(b)), **tol(np.float64)
    )
    batched = jax.vmap(metrics.box_iou)(jnp.stack([a, a + 1.0]), jnp.stack([b, b + 1.0]))
    np.testing.assert_allclose(batched[1], batched[0], **tol(np.float64, composite=True))  # IoU is shift-invariant


def test_box_iou_check_grads():
    """Transforms: IoU is a smooth rational function of the corners where boxes overlap generically: order-2 check."""
    a = jnp.array([[0.0, 0.0, 2.0, 3.0]])
    b = jnp.array([[1.0, 0.5, 3.5, 2.5]])
    check_grads(jax.jit(lambda p, q: metrics.box_iou(p, q)[0, 0]), (a, b), order=2, modes=["rev"])


def test_nms_jit_vmap_no_retrace():
    """Transforms: NMS compiles once for a fixed N and max_output (a static int), and runs under vmap (a batch of
    images)."""
    rng = np.random.default_rng(4)
    boxes = jnp.asarray(np.stack([random_boxes(rng, 12) for _ in range(3)]))
    scores = jnp.asarray(rng.uniform(size=(3, 12)))

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(b, s, thr):
        return metrics.nms(b, s, iou_threshold=thr, max_output=5)

    for i in range(3):
        for thr in (0.3, 0.6):  # a traced threshold: no retrace
            r = run(boxes[i], scores[i], jnp.asarray(thr))
            assert kept(r) == nms_loop(np.asarray(boxes[i]), np.asarray(scores[i]), thr)[:5]
    vm = jax.vmap(functools.partial(metrics.nms, iou_threshold=0.5, max_output=5))(boxes, scores)
    for i in range(3):
        assert kept(NMS(vm, i)) == nms_loop(np.asarray(boxes[i]), np.asarray(scores[i]), 0.5)[:5]


def NMS(batched, i):  # noqa: N802 - one row of a batched NMSResult
    return metrics.NMSResult(batched.indices[i], batched.valid[i])


def test_mask_metrics_broadcast_and_grad(transform):
    """Transforms: per image over ``*batch``; the soft Dice is differentiable (the Dice loss)."""
    rng = np.random.default_rng(5)
    P, T = jnp.asarray(rng.uniform(size=(2, 3, 5, 5))), jnp.asarray(rng.integers(0, 2, (2, 3, 5, 5)))
    d = transform(metrics.dice_coefficient)(P, T)
    chex.assert_shape(d, (2, 3))
    np.testing.assert_allclose(d[1, 2], metrics.dice_coefficient(P[1, 2], T[1, 2]), **tol(np.float64))
    Tf = T.astype(P.dtype)
    check_grads(jax.jit(lambda p: metrics.dice_coefficient(p, Tf).sum()), (P,), order=2, modes=["rev"])
    check_grads(jax.jit(lambda p: metrics.mask_iou(p, Tf).sum()), (P,), order=1, modes=["rev"])


# ---------------------------------------------------------------- (4) properties

seeds = st.integers(0, 2**31 - 1)


@given(seeds)
def test_box_iou_properties(seed):
    """Property: symmetric, in [0, 1], 1 on the diagonal for boxes of positive area, invariant to a common shift and
    scale."""
    rng = np.random.default_rng(seed)
    a, b = jnp.asarray(random_boxes(rng, 6)), jnp.asarray(random_boxes(rng, 6))
    ab, ba = metrics.box_iou(a, b), metrics.box_iou(b, a)
    np.testing.assert_allclose(ab, ba.T, **tol(np.float64))
    assert np.all((np.asarray(ab) >= 0) & (np.asarray(ab) <= 1))
    np.testing.assert_allclose(np.diag(metrics.box_iou(a, a)), 1.0, **tol(np.float64))
    moved = metrics.box_iou(3.0 * a + 7.0, 3.0 * b + 7.0)
    np.testing.assert_allclose(moved, ab, **tol(np.float64, composite=True))


@given(seeds, st.sampled_from([0.2, 0.5, 0.8]))
def test_nms_properties(seed, thr):
    """Property: no kept pair overlaps by more than the threshold; every dropped box overlaps a kept box of higher score
    by more than it (greedy NMS is maximal); kept boxes come in decreasing score."""
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, 16, size=10.0), rng.uniform(size=16)
    r = metrics.nms(jnp.asarray(boxes), jnp.asarray(scores), iou_threshold=thr)
    k = kept(r)
    iou = iou_loop(boxes, boxes)
    assert all(iou[i, j] <= thr for i in k for j in k if i != j)
    for j in set(range(16)) - set(k):
        assert any(iou[i, j] > thr and scores[i] >= scores[j] for i in k)
    assert np.all(np.diff(scores[k]) <= 0)
    assert np.all(np.asarray(r.indices)[len(k) :] == -1)


@given(seeds)
def test_dice_iou_relation(seed):
    """Property: on 0/1 masks Dice = 2 IoU / (1 + IoU); both lie in [0, 1] and are symmetric."""
    rng = np.random.default_rng(seed)
    P, T = jnp.asarray(rng.integers(0, 2, (4, 6, 6))), jnp.asarray(rng.integers(0, 2, (4, 6, 6)))
    iou, dice = metrics.mask_iou(P, T), metrics.dice_coefficient(P, T)
    np.testing.assert_allclose(dice, 2 * iou / (1 + iou), **tol(np.float64, composite=True))
    np.testing.assert_allclose(metrics.mask_iou(T, P), iou, **tol(np.float64))
    assert np.all((np.asarray(iou) >= 0) & (np.asarray(iou) <= 1))


# ---------------------------------------------------------------- (5) bad input

BAD = jnp.array([[0.0, 0.0, 2.0, 2.0], [3.0, 1.0, 1.0, 2.0]])  # second box: x2 = 1 < x1 = 3
GOOD = jnp.array([[0.0, 0.0, 1.0, 1.0]])


def test_inverted_boxes_refused_eagerly_with_the_box():
    """Bad input: a box with x2 < x1 (or y2 < y1, or a NaN corner) is refused eagerly, the message naming the argument,
    the box and its index."""
    msg = "metrics.box_iou: argument `boxes_a` expected boxes (x1, y1, x2, y2) with finite corners, x1 <= x2 and "
    with pytest.raises(ValueError, match=r"got \[3\.0, 1\.0, 1\.0, 2\.0\] at index 1\.") as info:
        metrics.box_iou(BAD, GOOD)
    assert str(info.value).startswith(msg)
    with pytest.raises(ValueError, match="argument `boxes_b`"):
        metrics.box_iou(GOOD, jnp.array([[0.0, 2.0, 1.0, 1.0]]))  # y2 < y1
    with pytest.raises(ValueError, match="argument `boxes`"):
        metrics.nms(BAD, jnp.array([0.5, 0.4]))
    with pytest.raises(ValueError, match="argument `boxes`"):
        metrics.box_area(jnp.array([[0.0, 0.0, jnp.nan, 1.0]]))


def test_inverted_boxes_poison_under_jit_and_raise_in_checked_mode():
    """Bad input: under jit: the IoU is NaN, NMS returns -1 / False in every slot (never a finite wrong answer); checked
    raises."""
    assert np.all(np.isnan(jax.jit(metrics.box_iou)(BAD, GOOD)))
    r = jax.jit(metrics.nms)(BAD, jnp.array([0.5, 0.4]))
    np.testing.assert_array_equal(r.indices, [-1, -1])
    np.testing.assert_array_equal(r.valid, [False, False])
    with pytest.raises(Exception, match="x1 <= x2"):
        checks.checked(jax.jit(metrics.box_iou))(BAD, GOOD)


def test_static_problems_are_refused():
    """Bad input: wrong shapes, dtypes, thresholds and counts are refused with the standard message."""
    with pytest.raises(ValueError, match=r"argument `boxes_a` expected shape \(4, 4\)|expected rank 2|shape"):
        metrics.box_iou(jnp.zeros((4, 3)), GOOD)
    with pytest.raises(TypeError, match="argument `boxes_a` expected a floating-point array"):
        metrics.box_iou(jnp.zeros((1, 4), jnp.int32), GOOD)
    with pytest.raises(ValueError, match=r"metrics.nms: argument `scores` expected shape \(2,\)"):
        metrics.nms(jnp.zeros((2, 4)), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"argument `iou_threshold` expected a value in \[0.0, 1.0\]"):
        metrics.nms(GOOD, jnp.ones(1), iou_threshold=1.5)
    with pytest.raises(TypeError, match="argument `max_output` expected a static Python int"):
        metrics.nms(GOOD, jnp.ones(1), max_output=2.0)
    with pytest.raises(ValueError, match="argument `max_output` expected a value >= 1"):
        metrics.nms(GOOD, jnp.ones(1), max_output=0)
    with pytest.raises(ValueError, match="metrics.mask_iou: argument `target` expected shape"):
        metrics.mask_iou(jnp.zeros((3, 3)), jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"argument `pred` expected masks with values in \[0, 1\]"):
        metrics.dice_coefficient(jnp.full((2, 2), 2.0), jnp.ones((2, 2)))
    assert np.isnan(jax.jit(metrics.dice_coefficient)(jnp.full((2, 2), 2.0), jnp.ones((2, 2))))
