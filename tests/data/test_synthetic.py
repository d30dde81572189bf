"""Tests for the book's toy generators (mathdl.data._synthetic)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data


def test_spiral_noise_free_matches_book_formula(getkey):
    """BOOK.md spiral: with no noise, point i of class j is (r sin t, r cos t), r, t on linspace grids."""
    ds = data.spiral(getkey(), n_per_class=5, noise=0.0)
    r = np.linspace(0.05, 1.0, 5)
    for j in range(2):
        t = np.linspace(4.7 * j, 4.7 * (j + 1), 5)
        expected = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        np.testing.assert_allclose(np.asarray(ds.X[5 * j : 5 * (j + 1)]), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(ds.y), [0] * 5 + [1] * 5)
    assert ds.num_classes == 2 and ds.y.dtype == jnp.int32


def test_spiral_noise_statistics(getkey):
    """BOOK.md spiral: the angle noise is N(0, 0.3^2); recovered angles have that spread (oracle: arctan2)."""
    N = 4000
    ds = data.spiral(getkey(), n_per_class=N)
    X = np.asarray(ds.X[:N])
    r = np.linspace(0.05, 1.0, N)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]), r, rtol=1e-12)  # the radius carries no noise
    t_clean = np.linspace(0.0, 4.7, N)
    diff = np.angle(np.exp(1j * (np.arctan2(X[:, 0], X[:, 1]) - t_clean)))
    assert abs(diff.std() - 0.3) < 0.02  # 4000 draws: sd of the sample sd is ~0.0034


def test_spiral_depends_only_on_key(getkey):
    """Property: the same key gives the same data; another key gives other data."""
    k = getkey()
    a = data.spiral(jax.random.clone(k), n_per_class=10)
    b = data.spiral(k, n_per_class=10)
    c = data.spiral(getkey(), n_per_class=10)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))
    assert not np.allclose(np.asarray(a.X), np.asarray(c.X))


def test_fixed_toys_match_book_values():
    """BOOK.md toy setups: 4-class toy first/last points and class counts; presence/rainfall counts and range."""
    four = data.four_class_toy()
    assert four.X.shape == (17, 2) and four.num_classes == 4
    np.testing.assert_allclose(np.asarray(four.X[0]), [0.4, 0.85])
    np.testing.assert_allclose(np.asarray(four.X[-1]), [0.4, 0.7])
    np.testing.assert_array_equal(np.bincount(np.asarray(four.y)), [4, 5, 4, 4])
    pr = data.presence_rainfall()
    assert pr.X.shape == (38, 1) and pr.y.shape == (38,)
    assert int(pr.y.sum()) == 4 + 11 + 4  # ones in the three middle runs
    np.testing.assert_array_equal(np.asarray(pr.y[:7]), 0)
    np.testing.assert_array_equal(np.asarray(pr.y[-7:]), 0)
    assert float(pr.X[0, 0]) == 10.0 and float(pr.X[-1, 0]) == 90.0
    assert np.all(np.diff(np.asarray(pr.X[:, 0])) >= 0)


def test_kmeans_toy_cluster_moments(getkey):
    """BOOK.md K-means toy: cluster means (0,1), (0.5,0), (1,1) and variance 0.05 (oracle: NumPy moments)."""
    ds = data.kmeans_toy(getkey(), n_per_cluster=3000)
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    for j, mu in enumerate([(0, 1), (0.5, 0), (1, 1)]):
        np.testing.assert_allclose(X[y == j].mean(0), mu, atol=0.02)  # 3 sd of the mean is ~0.012
        np.testing.assert_allclose(X[y == j].var(0), [0.05, 0.05], rtol=0.1)
    np.testing.assert_array_equal(np.asarray(data.kmeans_toy_centres()), [[0.5, 1], [0.5, 0], [1, 1]])


def test_polynomial_fit_noise_free_is_the_target(getkey):
    """BOOK.md polynomial fit: y = sin 2 pi x - cos 2 pi x on 10 equispaced points; at x=0, y=-1 and at x=1, y=-1."""
    ds = data.polynomial_fit(getkey(), noise=0.0)
    x = np.linspace(0, 1, 10)
    np.testing.assert_allclose(np.asarray(ds.X[:, 0]), x)
    np.testing.assert_allclose(np.asarray(ds.y), np.sin(2 * np.pi * x) - np.cos(2 * np.pi * x), atol=1e-12)
    u = data.polynomial_fit(getkey(), n=500, design="uniform")
    assert 0.0 <= float(u.X.min()) and float(u.X.max()) <= 1.0


def test_loss_landscape_recovers_coefficients(getkey):
    """BOOK.md loss landscape: least squares (NumPy lstsq, oracle) recovers (2, 0.5); x1 ~ N(2, 4)."""
    ds = data.loss_landscape(getkey(), n=1000)
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(coef, [2.0, 0.5], atol=1e-3)
    assert abs(X[:, 0].mean() - 2.0) < 0.4 and abs(X[:, 0].std() - 2.0) < 0.3


def test_sgd_toy_minimiser():
    """BOOK.md SGD toy: by hand, the minimiser is (sum c x1 / sum c, mean x2) = (22/12, 7/5)."""
    toy = data.sgd_toy()
    theta = jnp.array([22.0 / 12.0, 1.4])
    C = lambda th: jnp.mean(toy.c * (th[0] - toy.x[:, 0]) ** 2 + (th[1] - toy.x[:, 1]) ** 2)  # noqa: E731
    np.testing.assert_allclose(np.asarray(jax.grad(C)(theta)), [0.0, 0.0], atol=1e-12)
    assert toy.alpha == 0.01 and toy.num_steps == 1000
    np.testing.assert_array_equal(np.asarray(toy.theta0), [6.0, 6.0])


def test_dtype_and_jit(getkey):
    """Transforms: float32 requested is float32; jit of the generator equals eager."""
    k = getkey()
    ds32 = data.kmeans_toy(jax.random.clone(k), dtype=jnp.float32)
    assert ds32.X.dtype == jnp.float32
    jitted = jax.jit(lambda key: data.spiral(key, n_per_class=7).X)(jax.random.clone(k))
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(data.spiral(k, n_per_class=7).X), rtol=1e-12)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda k: data.spiral(k, n_per_class=0),
            ValueError,
            r"data.spiral: argument `n_per_class` expected a value > 0",
        ),
        (lambda k: data.spiral(k, n_per_class=2.5), TypeError, r"`n_per_class` expected a Python int, got float"),
        (lambda k: data.spiral(k, noise=-1.0), ValueError, r"`noise` expected a value >= 0"),
        (lambda k: data.spiral(k, dtype=jnp.int32), TypeError, r"`dtype` expected a floating dtype"),
        (lambda k: data.kmeans_toy(k, n_per_cluster=-3), ValueError, r"`n_per_cluster` expected a value > 0"),
        (lambda k: data.polynomial_fit(k, design="random"), ValueError, r"`design` expected one of"),
        (lambda k: data.loss_landscape(k, n=True), TypeError, r"`n` expected a Python int, got bool"),
        (lambda k: data.four_class_toy(dtype=jnp.int8), TypeError, r"data.four_class_toy: argument `dtype`"),
        (lambda k: data.spiral(jax.random.PRNGKey(0)), TypeError, r"data.spiral: argument `key` expected a typed PRNG"),
    ],
)
def test_bad_arguments(getkey, call, exc, match):
    """Bad input: each bad hyperparameter raises with the standard message."""
    with pytest.raises(exc, match=match):
        call(getkey())
