"""Box encodings, the anchor grid and the localisation head: worked values, a NumPy oracle, round trips,
transforms, the one-image rule, bad boxes, and a short training run through train.fit that raises the IoU."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import checks, data, losses, metrics, models, optim, train
from tests._tolerances import tol


def encode_numpy(b, a):
    """The Faster R-CNN parametrisation written out in NumPy (D2L's ``offset_boxes`` without its scaling)."""
    bc = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    ac = np.stack([(a[:, 0] + a[:, 2]) / 2, (a[:, 1] + a[:, 3]) / 2, a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]], 1)
    return np.stack(
        [
            (bc[:, 0] - ac[:, 0]) / ac[:, 2],
            (bc[:, 1] - ac[:, 1]) / ac[:, 3],
            np.log(bc[:, 2] / ac[:, 2]),
            np.log(bc[:, 3] / ac[:, 3]),
        ],
        1,
    )


def random_boxes(rng, n):
    xy = rng.uniform(-5, 5, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(0.5, 4, (n, 2))], 1)


# ---------------------------------------------------------------- encodings


def test_worked_values():
    """Worked value: [1, 2, 5, 8] has centre (3, 5), size 4 x 6. Box [2, 2, 6, 10] (centre (4, 6), 4 x 8) against anchor
    [0, 0, 4, 4] (centre (2, 2), 4 x 4): t = ((4 - 2)/4, (6 - 2)/4, log 1, log 2) = (0.5, 1, 0, log 2)."""
    np.testing.assert_allclose(models.box_to_center(jnp.array([1.0, 2, 5, 8])), [3, 5, 4, 6], **tol(np.float64))
    np.testing.assert_allclose(models.center_to_box(jnp.array([3.0, 5, 4, 6])), [1, 2, 5, 8], **tol(np.float64))
    t = models.encode_boxes(jnp.array([2.0, 2, 6, 10]), jnp.array([0.0, 0, 4, 4]))
    np.testing.assert_allclose(t, [0.5, 1.0, 0.0, np.log(2.0)], **tol(np.float64))
    np.testing.assert_allclose(models.decode_boxes(t, jnp.array([0.0, 0, 4, 4])), [2, 2, 6, 10], **tol(np.float64))
    np.testing.assert_array_equal(models.encode_boxes(jnp.array([1.0, 1, 3, 4]), jnp.array([1.0, 1, 3, 4])), 0.0)


def test_encode_against_numpy():
    """Oracle: the parametrisation written out in NumPy."""
    rng = np.random.default_rng(0)
    b, a = random_boxes(rng, 9), random_boxes(rng, 9)
    got = models.encode_boxes(jnp.asarray(b), jnp.asarray(a))
    np.testing.assert_allclose(got, encode_numpy(b, a), **tol(np.float64, composite=True))


@given(st.integers(0, 2**31 - 1))
def test_round_trips(seed):
    """Property: decode(encode(b, a), a) = b and center_to_box(box_to_center(b)) = b; the encoding is invariant to a
    common shift and scale of box and anchor (what makes it a good regression target)."""
    rng = np.random.default_rng(seed)
    b, a = jnp.asarray(random_boxes(rng, 5)), jnp.asarray(random_boxes(rng, 5))
    t = models.encode_boxes(b, a)
    np.testing.assert_allclose(models.decode_boxes(t, a), b, **tol(np.float64, composite=True))
    np.testing.assert_allclose(models.center_to_box(models.box_to_center(b)), b, **tol(np.float64, composite=True))
    np.testing.assert_allclose(models.encode_boxes(2.5 * b + 3.0, 2.5 * a + 3.0), t, **tol(np.float64, composite=True))


def test_encodings_transforms(transform):
    """Transforms: jit equals eager and the encodings broadcast over *batch."""
    rng = np.random.default_rng(1)
    b, a = jnp.asarray(random_boxes(rng, 6).reshape(2, 3, 4)), jnp.asarray(random_boxes(rng, 6).reshape(2, 3, 4))
    t = transform(models.encode_boxes)(b, a)
    assert t.shape == (2, 3, 4)
    np.testing.assert_allclose(t[1, 2], models.encode_boxes(b[1, 2], a[1, 2]), **tol(np.float64))


def test_encodings_check_grads():
    """Transforms: both maps are smooth for boxes of positive size: order-2 checks (reverse mode)."""
    rng = np.random.default_rng(2)
    b, a = jnp.asarray(random_boxes(rng, 2)), jnp.asarray(random_boxes(rng, 2))
    check_grads(jax.jit(lambda u, v: jnp.sum(models.encode_boxes(u, v) ** 2)), (b, a), order=2, modes=["rev"])
    check_grads(jax.jit(lambda t, v: jnp.sum(models.decode_boxes(t, v) ** 2)), (0.1 * b, a), order=2, modes=["rev"])


def test_bad_boxes():
    """Bad input: A box of zero width has no log-width: refused eagerly (naming the argument), NaN under jit."""
    zero = jnp.array([1.0, 1.0, 1.0, 3.0])
    anchor = jnp.array([0.0, 0.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"models.encode_boxes: argument `boxes` expected boxes .* x1 < x2"):
        models.encode_boxes(zero, anchor)
    with pytest.raises(ValueError, match="models.decode_boxes: argument `anchors`"):
        models.decode_boxes(jnp.zeros(4), jnp.array([2.0, 0, 0, 2]))
    with pytest.raises(ValueError, match="models.box_to_center: argument `boxes`"):
        models.box_to_center(jnp.array([2.0, 0, 0, 2]))
    with pytest.raises(ValueError, match="models.center_to_box: argument `centers` expected finite"):
        models.center_to_box(jnp.array([0.0, 0, -1, 2]))
    assert np.all(np.isnan(jax.jit(models.encode_boxes)(zero, anchor)))
    with pytest.raises(ValueError, match=r"argument `anchors` expected shape \(4,\)"):
        models.encode_boxes(anchor, jnp.zeros(3))


# ---------------------------------------------------------------- anchors


def test_anchor_grid_worked_values():
    """Worked value: A 4 x 4 image, a 2 x 2 grid, side 2: cell centres (1, 1), (3, 1), (1, 3), (3, 3), row by row.
    Ratio 4 (w / h) at side 2: w = 2 * 2 = 4, h = 2 / 2 = 1."""
    a = models.anchor_grid(4, 2, sizes=(2.0,))
    np.testing.assert_allclose(a, [[0, 0, 2, 2], [2, 0, 4, 2], [0, 2, 2, 4], [2, 2, 4, 4]], **tol(np.float64))
    a = models.anchor_grid((4, 8), (1, 2), sizes=(2.0, 4.0), ratios=(1.0, 4.0))
    assert a.shape == (1 * 2 * 2 * 2, 4)
    np.testing.assert_allclose(a[1], [2 - 2, 2 - 0.5, 2 + 2, 2 + 0.5], **tol(np.float64))  # cell 0, size 2, ratio 4
    np.testing.assert_allclose(a[6], [6 - 2, 2 - 2, 6 + 2, 2 + 2], **tol(np.float64))  # cell 1, size 4, ratio 1
    areas = metrics.box_area(a)
    np.testing.assert_allclose(areas, np.tile([4.0, 4.0, 16.0, 16.0], 2), **tol(np.float64, composite=True))


def test_anchor_grid_bad_input():
    """Bad input: sizes and grid shapes are checked."""
    with pytest.raises(ValueError, match="models.anchor_grid: argument `sizes` expected positive finite numbers"):
        models.anchor_grid(8, 2, sizes=(0.0,))
    with pytest.raises(ValueError, match="argument `feature_shape` expected a positive int or a pair"):
        models.anchor_grid(8, (2, 2, 2), sizes=(2.0,))


# ---------------------------------------------------------------- the localisation head


@pytest.fixture(scope="module")
def toy():
    ds = data.shapes(jax.random.key(0), 96, size=16, noise=0.05)
    init = jax.jit(models.init_localizer, static_argnums=(1, 2), static_argnames=("widths", "hidden"))  # one compile
    params = init(jax.random.key(1), (16, 16, 1), 3, widths=(4, 8), hidden=32)
    return ds, params


def test_localizer_shapes_and_transforms(toy, transform):
    """Transforms: output shapes, the box is the decoded offsets, jit and vmap agree with eager."""
    ds, params = toy
    out = transform(models.localizer)(params, ds.images[0])
    assert out.box.shape == (4,) and out.offsets.shape == (4,) and out.logits.shape == (3,)
    np.testing.assert_allclose(
        out.box, models.decode_boxes(out.offsets, models.image_anchor(16, 16)), **tol(np.float64)
    )
    batched = jax.vmap(models.localizer, in_axes=(None, 0))(params, ds.images[:3])
    np.testing.assert_allclose(batched.logits[2], models.localizer(params, ds.images[2]).logits, **tol(np.float64))


def test_localization_loss_worked_and_grad(toy):
    """Worked value: the loss is cross-entropy plus box_weight times the smooth-L1 box loss of the encoded target;
    gradients are finite."""
    ds, params = toy
    x, b, y = ds.images[0], ds.boxes[0, 0], ds.labels[0, 0]
    out = models.localizer(params, x)
    ce = losses.softmax_cross_entropy(out.logits, y)
    box = losses.smooth_l1_box_loss(out.offsets, models.encode_boxes(b, models.image_anchor(16, 16)), beta=1 / 9)
    got = models.localization_loss(params, x, b, y, box_weight=2.0)
    np.testing.assert_allclose(got, ce + 2.0 * box, **tol(np.float64, composite=True))
    g = jax.grad(models.localization_loss)(params, x, b, y)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(g))


def test_localizer_one_image_rule(toy):
    """Bad input: a batch is refused with a vmap hint; an image of another size, and a size not divisible by 2^L, are
    refused."""
    ds, params = toy
    with pytest.raises(ValueError, match=r"models.localizer: argument `x` expected one image .* use jax.vmap"):
        models.localizer(params, ds.images[:2])
    with pytest.raises(ValueError, match="argument `x` expected an image of the shape the parameters were built for"):
        models.localizer(params, jnp.zeros((32, 32, 1)))
    with pytest.raises(ValueError, match=r"models.init_localizer: argument `input_shape` expected H and W divisible"):
        models.init_localizer(jax.random.key(0), (18, 16, 1), 3, widths=(4, 8))


def _mean_iou(params, ds):
    out = jax.vmap(models.localizer, in_axes=(None, 0))(params, ds.images)
    return float(jnp.mean(jax.vmap(lambda p, t: metrics.box_iou(p[None], t[None])[0, 0])(out.box, ds.boxes[:, 0])))


@pytest.mark.slow  # a short training run: 10-30 s on 2 shared cores, most of it compiling
def test_training_through_fit_raises_the_iou(toy):
    """Property: a few epochs of train.fit on the shapes lower the loss and raise the mean IoU on held-out images
    well above the start (the head starts near the whole-image anchor)."""
    ds, params = toy
    held = data.shapes(jax.random.key(2), 64, size=16, noise=0.05)

    def example_loss(p, example):
        x, b, y = example
        return models.localization_loss(p, x, b, y, box_weight=2.0)

    before = _mean_iou(params, held)
    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(3e-3),
        params,
        (ds.images, ds.boxes[:, 0], ds.labels[:, 0]),
        key=jax.random.key(3),
        epochs=12,
        batch_size=16,
        progress=False,
    )
    losses_seen = [h["loss"] for h in result.history if "loss" in h]
    after = _mean_iou(result.params, held)
    assert losses_seen[-1] < losses_seen[0]
    assert after > before + 0.1 and after > 0.4, (before, after)


def test_checked_mode_raises_on_a_bad_target(toy):
    """Bad input: a target box with x2 < x1 raises inside checks.checked(jax.jit(...))."""
    ds, params = toy
    bad = jnp.array([3.0, 3.0, 1.0, 5.0])
    f = checks.checked(jax.jit(models.localization_loss))
    with pytest.raises(Exception, match="x1 < x2"):
        f(params, ds.images[0], bad, ds.labels[0, 0])
