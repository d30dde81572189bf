"""Tests for the 2-D generative toys (mathdl.data._toys2d)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mathdl import data


def test_ring8_mixture_worked_values():
    """Worked value: ring of 8 at radius 2: mode 0 at (2, 0), mode 2 at (0, 2), weights 1/8."""
    m = data.gaussian_ring_mixture(num_modes=8, radius=2.0, std=0.05)
    assert m.means.shape == (8, 2) and m.means.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(m.means[0]), [2.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(np.asarray(m.means[2]), [0.0, 2.0], atol=1e-15)
    np.testing.assert_allclose(np.asarray(m.means[1]), [np.sqrt(2), np.sqrt(2)], rtol=1e-15)
    np.testing.assert_allclose(np.asarray(m.weights), 1 / 8)
    g = data.gaussian_grid_mixture(size=5, spacing=1.0)
    assert g.means.shape == (25, 2)
    np.testing.assert_allclose(np.asarray(g.means[0]), [-2.0, -2.0])
    np.testing.assert_allclose(np.asarray(g.means[12]), [0.0, 0.0])
    np.testing.assert_allclose(np.asarray(g.means[-1]), [2.0, 2.0])
    assert data.toy2d_mixture("moons") is None and data.toy2d_mixture("grid25").means.shape == (25, 2)


def test_mixture_log_prob_against_scipy(getkey):
    """Oracle: scipy.stats.multivariate_normal mixture density; worked value at a mean."""
    m = data.gaussian_ring_mixture(num_modes=3, radius=1.0, std=0.7)
    x = np.asarray(jax.random.normal(getkey(), (4, 3, 2)))
    want = np.log(
        sum(
            w * stats.multivariate_normal(mu, 0.49 * np.eye(2)).pdf(x)
            for mu, w in zip(np.asarray(m.means), [1 / 3] * 3, strict=True)
        )
    )
    np.testing.assert_allclose(np.asarray(jax.jit(data.mixture_log_prob)(m, x)), want, rtol=1e-12)
    ring = data.toy2d_mixture("ring8")
    at_mean = float(data.mixture_log_prob(ring, ring.means[0]))  # other modes are ~30 sd away
    assert at_mean == pytest.approx(np.log(1 / 8) - np.log(2 * np.pi * 0.05**2), rel=1e-12)


def test_mixture_sample_matches_weights_and_spread(getkey):
    """Property: the component frequencies match the weights and each point is N(mean, std^2) around its mode."""
    m = data.gaussian_grid_mixture(size=2, spacing=3.0, std=0.2)
    m = m._replace(weights=jnp.asarray([0.1, 0.2, 0.3, 0.4]))
    ds = data.mixture_sample(getkey(), m, 20000)
    freq = np.bincount(np.asarray(ds.y), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)  # binomial sd <= 0.0035
    resid = np.asarray(ds.X - m.means[ds.y])
    np.testing.assert_allclose(resid.mean(0), 0.0, atol=0.01)
    np.testing.assert_allclose(resid.std(0), 0.2, rtol=0.03)


def test_moons_and_spiral_lie_on_their_curves(getkey):
    """Noise-free moons lie on the two unit half circles of make_moons; the spiral on the book's curve."""
    ds = data.two_moons(getkey(), n=200, noise=0.0)
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    up, lo = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(up[:, 0], up[:, 1]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(lo[:, 0] - 1, lo[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert (up[:, 1] >= 0).all() and (lo[:, 1] <= 0.5).all() and 60 < len(up) < 140
    sp = data.spiral_2d(getkey(), n=100, noise=0.0)
    S, j = np.asarray(sp.X), np.asarray(sp.y)
    r = np.hypot(S[:, 0], S[:, 1])
    t = np.arctan2(S[:, 0], S[:, 1])
    u = (r - 0.05) / 0.95
    np.testing.assert_allclose(np.exp(1j * t), np.exp(1j * 4.7 * (j + u)), atol=1e-10)
    roll = data.swiss_roll_2d(getkey(), n=100, noise=0.0)
    t = np.asarray(roll.y)
    np.testing.assert_allclose(np.hypot(*np.asarray(roll.X).T), 0.1 * t, rtol=1e-12)
    assert t.min() >= 1.5 * np.pi and t.max() <= 4.5 * np.pi


def test_load_toy2d_names_dtypes_and_key(getkey):
    """Every named toy: (n, 2) in the dtype asked for, same key same points, other key other points."""
    for name in data.TOYS2D:
        draw = jax.jit(lambda k, name=name: data.load_toy2d(name, k, n=7, dtype=jnp.float32)[:2])
        k = getkey()
        a, b, c = draw(jax.random.clone(k)), draw(k), draw(getkey())
        assert a[0].shape == (7, 2) and a[0].dtype == jnp.float32 and a[1].shape == (7,)
        np.testing.assert_array_equal(np.asarray(a[0]), np.asarray(b[0]))
        assert not np.allclose(np.asarray(a[0]), np.asarray(c[0]))
    assert data.load_toy2d("ring8", getkey(), n=3).name == "ring8"


def test_toys_grad_and_vmap(getkey):
    """jax.grad through the log-density (score at a mode is 0) and vmap over keys."""
    m = data.gaussian_ring_mixture(num_modes=4, radius=3.0, std=0.5)
    score = jax.grad(lambda x: data.mixture_log_prob(m, x))(m.means[1])
    np.testing.assert_allclose(np.asarray(score), 0.0, atol=1e-6)  # other modes ~8.5 sd away
    from jax.test_util import check_grads

    check_grads(jax.jit(lambda x: data.mixture_log_prob(m, x)), (jnp.asarray([0.3, -0.2]),), order=2, modes=["rev"])
    keys = jax.random.split(getkey(), 3)
    X = jax.jit(jax.vmap(lambda k: data.two_moons(k, n=5).X))(keys)
    assert X.shape == (3, 5, 2)


def test_toys_bad_inputs(getkey):
    """Clear errors: bad counts, negative noise, unknown names, wrong shapes."""
    with pytest.raises(ValueError, match="n"):
        data.two_moons(getkey(), n=0)
    with pytest.raises(TypeError, match="n"):
        data.gaussian_ring(getkey(), n=2.5)
    with pytest.raises(ValueError, match="noise"):
        data.swiss_roll_2d(getkey(), noise=-1.0)
    with pytest.raises(ValueError, match="std"):
        data.gaussian_ring_mixture(std=0.0)
    with pytest.raises(ValueError, match="moonz"):
        data.load_toy2d("moonz", getkey())
    with pytest.raises(ValueError, match="x"):
        data.mixture_log_prob(data.toy2d_mixture("ring8"), jnp.zeros((4, 3)))
    with pytest.raises(TypeError, match="mixture"):
        data.mixture_sample(getkey(), (jnp.zeros((2, 2)), jnp.ones(2)), 3)
    with pytest.raises(TypeError, match="dtype"):
        data.two_moons(getkey(), dtype=jnp.int32)
