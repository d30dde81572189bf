"""The synthetic shapes data set: shapes and dtypes, determinism, geometry of boxes and masks, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data


@pytest.fixture(scope="module")
def multi():
    return data.shapes(jax.random.key(0), 24, size=16, max_objects=3, noise=0.0)


def test_shapes_and_dtypes(multi):
    """Worked value: the shapes and dtypes of every field, for several and for one object."""
    chex_shapes = {
        "images": (24, 16, 16, 1),
        "boxes": (24, 3, 4),
        "labels": (24, 3),
        "masks": (24, 16, 16),
    }
    for name, shape in chex_shapes.items():
        assert getattr(multi, name).shape == shape, name
    assert multi.labels.dtype == jnp.int32 and multi.masks.dtype == jnp.int32
    assert multi.images.dtype == jnp.float64  # the suite runs with x64: JAX's default float
    assert multi.num_classes == 3 == len(data.SHAPE_CLASSES)
    one = data.shapes(jax.random.key(1), 2, size=8, dtype=jnp.float32)
    assert one.images.dtype == one.boxes.dtype == jnp.float32 and one.boxes.shape == (2, 1, 4)


def test_same_key_same_data_and_keys_differ():
    """Property: the same key draws the same data set; another key another."""
    a = data.shapes(jax.random.key(3), 4, size=16)
    b = data.shapes(jax.random.key(3), 4, size=16)
    c = data.shapes(jax.random.key(4), 4, size=16)
    for x, y in zip(a[:4], b[:4], strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.boxes, c.boxes)


def test_geometry(multi):
    """Property: boxes lie inside the image with x1 <= x2, y1 <= y2; empty slots are label -1 and box 0; the first slot
    is always used; without noise the image is exactly the foreground of the mask; mask labels are 0 or 1 + a class
    present."""
    boxes, labels, masks = np.asarray(multi.boxes), np.asarray(multi.labels), np.asarray(multi.masks)
    present = labels >= 0
    assert present[:, 0].all()
    assert np.all(boxes[present][:, :2] >= 0) and np.all(boxes[present][:, 2:] <= 16)
    assert np.all(boxes[present][:, 2] > boxes[present][:, 0]) and np.all(boxes[present][:, 3] > boxes[present][:, 1])
    np.testing.assert_array_equal(boxes[~present], 0.0)
    np.testing.assert_array_equal(np.asarray(multi.images)[..., 0], (masks > 0).astype(float))
    for i in range(24):
        assert set(np.unique(masks[i])) <= {0} | {int(c) + 1 for c in labels[i][present[i]]}


def test_single_object_mask_fits_its_box():
    """Property: one object per image: every mask pixel's centre lies in the box, and the mask's tight pixel box is
    within one pixel of it (1 + h/w at a triangle's apex, which is thinner than a pixel there); the mask label is 1 +
    the class; a rectangle fills its pixel box, a disc about pi/4 of it, a triangle about 1/2."""
    ds = data.shapes(jax.random.key(5), 40, size=24, min_extent=8.0, max_extent=12.0, noise=0.0)
    for box, (c,), m in zip(np.asarray(ds.boxes[:, 0]), np.asarray(ds.labels), np.asarray(ds.masks), strict=True):
        rows, cols = np.nonzero(m)
        assert rows.size > 0 and set(np.unique(m[rows, cols])) == {c + 1}
        x1, y1, x2, y2 = box
        assert np.all((cols + 0.5 >= x1) & (cols + 0.5 <= x2) & (rows + 0.5 >= y1) & (rows + 0.5 <= y2))
        tight = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        slack = np.array([1.0, 1.0 + (y2 - y1) / (x2 - x1) if c == 2 else 1.0, 1.0, 1.0])  # a triangle's apex
        assert np.all(np.abs(tight - box) <= slack)
        fill = rows.size / ((x2 - x1) * (y2 - y1))
        want = {0: (0.75, 1.35), 1: (0.55, 1.0), 2: (0.3, 0.7)}[int(c)]  # rectangle ~1, disc ~pi/4, triangle ~1/2
        assert want[0] <= fill <= want[1], (c, fill)
        if c == 1:
            assert abs((x2 - x1) - (y2 - y1)) < 1e-12  # a disc's box is square


def test_noise_and_classes_drawn():
    """Property: the pixel noise has the requested standard deviation and the three classes are drawn about equally."""
    ds = data.shapes(jax.random.key(6), 300, size=8, noise=0.5)
    resid = np.asarray(ds.images[..., 0]) - (np.asarray(ds.masks) > 0)
    assert abs(resid.std() - 0.5) < 0.02
    counts = np.bincount(np.asarray(ds.labels[:, 0]), minlength=3)
    assert np.all(counts > 60)  # about 100 of each class


def test_jit_and_bad_input():
    """Bad input: the generator runs under jit; bad counts, extents, noise and dtypes are refused."""
    ds = jax.jit(lambda k: data.shapes(k, 3, size=8))(jax.random.key(7))
    assert ds.images.shape == (3, 8, 8, 1)
    with pytest.raises(ValueError, match=r"data.shapes: argument `n` expected a value >= 1, got 0."):
        data.shapes(jax.random.key(0), 0)
    with pytest.raises(TypeError, match="argument `size` expected a Python int"):
        data.shapes(jax.random.key(0), 2, size=16.0)
    with pytest.raises(ValueError, match="argument `size` expected a value >= 8"):
        data.shapes(jax.random.key(0), 2, size=4)
    with pytest.raises(ValueError, match="argument `max_extent` expected 0 < min_extent <= max_extent <= size = 16"):
        data.shapes(jax.random.key(0), 2, size=16, min_extent=10.0, max_extent=8.0)
    with pytest.raises(ValueError, match="argument `noise` expected a value >= 0"):
        data.shapes(jax.random.key(0), 2, noise=-1.0)
    with pytest.raises(TypeError, match=r"data.shapes: argument `key` expected a typed PRNG key .*jax.random.key"):
        data.shapes(jax.random.PRNGKey(0), 2)
    with pytest.raises(TypeError, match="argument `dtype` expected a floating dtype"):
        data.shapes(jax.random.key(0), 2, dtype=jnp.int32)
