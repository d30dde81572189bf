"""Tests of mathdl.data random_crop / horizontal_flip / random_horizontal_flip / resize_image."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl import data
from tests._tolerances import tol


def _shifts(x, p):
    """Oracle: every (2p+1)^2 window of the zero-padded image, by a NumPy loop."""
    x = np.asarray(x)
    H, W, _ = x.shape
    xp = np.pad(x, ((p, p), (p, p), (0, 0)))
    return {(a, b): xp[a : a + H, b : b + W] for a in range(2 * p + 1) for b in range(2 * p + 1)}


def test_random_crop_worked_value():
    """By hand: [[1, 2], [3, 4]] padded by 1; offset (0, 0) gives [[0, 0], [0, 1]], (2, 2) gives [[4, 0], [0, 0]]."""
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])[..., None]
    windows = _shifts(x, 1)
    np.testing.assert_array_equal(windows[(0, 0)][..., 0], [[0, 0], [0, 1]])
    np.testing.assert_array_equal(windows[(1, 1)][..., 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(windows[(2, 2)][..., 0], [[4, 0], [0, 0]])
    # random_crop takes the window at the offset its docstring names
    key = jax.random.key(3)
    a, b = np.asarray(jax.random.randint(jax.random.clone(key), (2,), 0, jnp.array([3, 3])))
    np.testing.assert_array_equal(data.random_crop(key, x, padding=1), windows[(int(a), int(b))])


def test_random_crop_padding_zero_is_identity(getkey):
    x = jax.random.normal(getkey(), (5, 4, 3))
    np.testing.assert_array_equal(data.random_crop(getkey(), x, padding=0), x)


def test_random_crop_hits_every_shift(getkey):
    """Oracle (NumPy windows): over 400 keys every output is one of the 9 windows, and all 9 occur."""
    x = jax.random.normal(getkey(), (3, 3, 2))
    windows = _shifts(x, 1)
    out = np.asarray(jax.jit(jax.vmap(lambda k: data.random_crop(k, x, padding=1)))(jax.random.split(getkey(), 400)))
    seen = set()
    for y in out:
        match = [off for off, w in windows.items() if np.array_equal(w, y)]
        assert match, "a crop that is no shifted window"
        seen.add(match[0])
    assert seen == set(windows)


def test_random_crop_rectangular_padding_and_fill(getkey):
    """(P_h, P_w) = (0, 2): rows never move; `fill` is the padding value."""
    x = jnp.ones((2, 3, 1))
    crop = jax.jit(jax.vmap(lambda k: data.random_crop(k, x, padding=(0, 2), fill=-1.0)))
    out = crop(jax.random.split(getkey(), 50))
    assert out.shape == (50, 2, 3, 1)
    assert set(np.unique(np.asarray(out))) <= {-1.0, 1.0}
    # every column is constant down the rows: a horizontal shift only
    np.testing.assert_array_equal(out[:, 0], out[:, 1])


def test_vmap_over_keys_equals_loop(getkey, transform):
    X = jax.random.normal(getkey(), (6, 4, 4, 2))
    keys = jax.random.split(getkey(), 6)

    def aug(k, x):
        k1, k2 = jax.random.split(k)
        return data.random_horizontal_flip(k2, data.random_crop(k1, x, padding=1))

    again = jax.random.clone(keys)  # the same keys for the loop
    batched = transform(jax.vmap(aug))(keys, X)
    one = jax.jit(aug)  # one compile for the loop
    for i in range(6):
        np.testing.assert_array_equal(batched[i], one(again[i], X[i]))


def test_same_key_same_image(getkey):
    x = jax.random.normal(getkey(), (4, 4, 1))
    key = getkey()
    again = jax.random.clone(key)  # the same key, used twice on purpose
    np.testing.assert_array_equal(data.random_crop(key, x, padding=2), data.random_crop(again, x, padding=2))


def test_horizontal_flip_worked_value():
    x = jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])[..., None]
    np.testing.assert_array_equal(data.horizontal_flip(x)[..., 0], [[3, 2, 1], [6, 5, 4]])


@given(h=st.integers(1, 4), w=st.integers(1, 4), c=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_flip_twice_is_identity(h, w, c, seed):
    x = np.random.default_rng(seed).normal(size=(h, w, c))
    np.testing.assert_array_equal(data.horizontal_flip(data.horizontal_flip(x)), x)


def test_random_flip_probabilities(getkey):
    """p = 0 never flips, p = 1 always does; p = 0.5 flips about half of 2000 images (5 sigma)."""
    x = jnp.arange(6.0).reshape(1, 6, 1)
    assert np.array_equal(data.random_horizontal_flip(getkey(), x, probability=0.0), x)
    assert np.array_equal(data.random_horizontal_flip(getkey(), x, probability=1.0), data.horizontal_flip(x))
    out = jax.jit(jax.vmap(lambda k: data.random_horizontal_flip(k, x)))(jax.random.split(getkey(), 2000))
    flipped = float(np.mean(np.asarray(out[:, 0, 0, 0]) == 5.0))
    assert abs(flipped - 0.5) < 5 * np.sqrt(0.25 / 2000)


def test_resize_image_worked_and_jax_oracle(getkey):
    """Nearest upsampling by 2 repeats each pixel (by hand); bilinear equals jax.image.resize."""
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])[..., None]
    np.testing.assert_array_equal(
        data.resize_image(x, 4, method="nearest")[..., 0], np.kron([[1, 2], [3, 4]], np.ones((2, 2)))
    )
    y = jax.random.normal(getkey(), (8, 8, 1))
    np.testing.assert_allclose(
        data.resize_image(y, (28, 28)), jax.image.resize(y, (28, 28, 1), "bilinear"), **tol(np.float64)
    )


def test_crop_and_flip_gradients_are_permutations(getkey):
    """grad of sum(w * crop(x)) scatters w back: each input pixel gets at most one weight."""
    x = jax.random.normal(getkey(), (4, 4, 1))
    w = jax.random.normal(getkey(), (4, 4, 1))
    key = getkey()
    g = jax.grad(lambda x: jnp.sum(w * data.random_crop(key, x, padding=1)))(x)
    assert set(np.round(np.asarray(g).ravel(), 12)) <= set(np.round(np.asarray(w).ravel(), 12)) | {0.0}
    g = jax.grad(lambda x: jnp.sum(w * data.horizontal_flip(x)))(x)
    np.testing.assert_array_equal(g, data.horizontal_flip(w))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda k: data.random_crop(k, jnp.ones((2, 4, 4, 1)), padding=1), "for a batch use jax.vmap"),
        (lambda k: data.random_crop(k, jnp.ones((4, 4)), padding=1), r"one image of shape \(H, W, C\)"),
        (lambda k: data.random_crop(k, jnp.ones((4, 4, 1)), padding=-1), "padding"),
        (lambda k: data.random_crop(k, jnp.ones((4, 4, 1)), padding=(1, 2, 3)), "padding"),
        (lambda k: data.random_horizontal_flip(k, jnp.ones((4, 4, 1)), probability=1.5), "probability"),
        (lambda k: data.resize_image(jnp.ones((4, 4, 1)), 0), "size"),
        (lambda k: data.resize_image(jnp.ones((4, 4, 1)), 8, method="cubic"), "method"),
    ],
)
def test_bad_input_value(call, match, getkey):
    with pytest.raises(ValueError, match=match):
        call(getkey())


def test_bad_input_type():
    with pytest.raises(TypeError, match="typed PRNG key"):
        data.random_crop(jax.random.PRNGKey(0), jnp.ones((4, 4, 1)), padding=1)
    with pytest.raises(TypeError, match="floating-point image"):
        data.resize_image(jnp.ones((4, 4, 1), jnp.int32), 8)


def test_integer_images_keep_their_dtype(getkey):
    x = jnp.arange(16, dtype=jnp.uint8).reshape(4, 4, 1)
    for y in (data.random_crop(getkey(), x, padding=1), data.random_horizontal_flip(getkey(), x)):
        assert y.dtype == jnp.uint8


def test_all_shifts_listed_once():
    """The oracle's windows are distinct for a generic image: (2p+1)^2 of them."""
    x = np.arange(9.0).reshape(3, 3, 1) + 1
    w = _shifts(x, 1)
    assert len({v.tobytes() for v in w.values()}) == 9 == len(list(itertools.product(range(3), range(3))))


def test_random_affine_worked_rotation_and_shift(getkey):
    """By hand: theta = 90 degrees is np.rot90; a shift t = (1, 1) moves every pixel one down and right."""
    x = jax.random.normal(getkey(), (5, 5, 2))
    y = data.random_affine(getkey(), x, degrees=(90.0, 90.0))
    np.testing.assert_allclose(y, np.rot90(np.asarray(x), 1, axes=(0, 1)), **tol(np.float64, composite=True))
    y = data.random_affine(getkey(), x, translate=(1.0, 1.0), fill=-7.0)
    want = np.full_like(np.asarray(x), -7.0)
    want[1:, 1:] = np.asarray(x)[:-1, :-1]
    np.testing.assert_allclose(y, want, **tol(np.float64, composite=True))


def test_random_affine_identity_and_bilinear_oracle(getkey):
    """Defaults are the identity; a scale of 2 about the centre reads the bilinear interpolant (NumPy)."""
    x = jax.random.normal(getkey(), (4, 6, 1))
    np.testing.assert_allclose(data.random_affine(getkey(), x), x, **tol(np.float64))
    y = np.asarray(data.random_affine(getkey(), x, scale=(2.0, 2.0)))[..., 0]
    xa = np.asarray(x)[..., 0]
    ci, cj = 1.5, 2.5
    for i in range(4):
        for j in range(6):
            qi, qj = ci + (i - ci) / 2, cj + (j - cj) / 2
            i0, j0 = int(np.floor(qi)), int(np.floor(qj))
            a, b = qi - i0, qj - j0
            v = (1 - a) * (1 - b) * xa[i0, j0] + a * (1 - b) * xa[i0 + 1, j0]
            v += (1 - a) * b * xa[i0, j0 + 1] + a * b * xa[i0 + 1, j0 + 1]
            np.testing.assert_allclose(y[i, j], v, **tol(np.float64, composite=True))


def test_random_affine_vmap_and_ranges(getkey):
    """Under jit(vmap) each image gets its own transform; the draws stay inside the stated ranges."""
    X = jnp.broadcast_to(jax.random.normal(getkey(), (8, 8, 1)), (16, 8, 8, 1))
    out = jax.jit(jax.vmap(lambda k, x: data.random_affine(k, x, degrees=15.0, scale=(0.9, 1.1), translate=1.0)))(
        jax.random.split(getkey(), 16), X
    )
    assert out.shape == X.shape
    assert len({np.asarray(o).tobytes() for o in out}) == 16


@pytest.mark.parametrize(
    "kwargs",
    [{"degrees": -1.0}, {"scale": (0.0, 1.0)}, {"scale": (1.2, 1.1)}, {"translate": "2"}, {"degrees": (1, 2, 3)}],
)
def test_random_affine_bad_ranges(kwargs, getkey):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.random_affine(getkey(), jnp.ones((4, 4, 1)), **kwargs)
