"""Mode coverage on constructed samples: a collapsed generator on 3 of the 8 ring modes, full coverage, stragglers
below min_fraction, far samples; against a NumPy loop. (No GAN is trained here: the counter is what is tested.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import generative as G

ANG = np.arange(8) * 2 * np.pi / 8
CENTERS = np.stack([2 * np.cos(ANG), 2 * np.sin(ANG)], 1)


def _numpy_coverage(x, centers, radius, f):
    counts = np.zeros(len(centers), int)
    for p in x:
        d = np.linalg.norm(centers - p, axis=1)
        if d.min() <= radius:
            counts[d.argmin()] += 1
    return counts, int(np.sum(counts >= max(1, np.ceil(f * len(x))))), counts.sum() / len(x)


def test_collapsed_and_full_generators():
    """Worked values (n = 320 throughout): 300 samples on modes {0, 3, 5} (sigma 0.01, all within the radius 0.06)
    and 20 at the origin cover 3 modes with quality 300/320; 40 on each of the 8 cover 8; 2 stragglers on a fourth
    mode (in place of two origin points) do not count at min_fraction 0.01 (4 needed) but do at 0."""
    rng = np.random.default_rng(0)
    c = jnp.asarray(CENTERS)
    collapsed = np.concatenate(
        [CENTERS[np.repeat([0, 3, 5], 100)] + 0.01 * rng.normal(size=(300, 2)), np.zeros((20, 2))]
    )
    out = G.mode_coverage(jnp.asarray(collapsed), c, radius=0.06)
    assert int(out.covered) == 3 and list(np.asarray(out.counts)[[0, 3, 5]]) == [100, 100, 100]
    np.testing.assert_allclose(out.quality, 300 / 320, rtol=1e-12)
    full = CENTERS[np.repeat(np.arange(8), 40)] + 0.01 * rng.normal(size=(320, 2))
    assert int(G.mode_coverage(jnp.asarray(full), c, radius=0.06).covered) == 8
    strays = collapsed.copy()
    strays[-2:] = CENTERS[6]
    assert int(G.mode_coverage(jnp.asarray(strays), c, radius=0.06).covered) == 3
    assert int(G.mode_coverage(jnp.asarray(strays), c, radius=0.06, min_fraction=0.0).covered) == 4


def test_against_numpy_and_jit():
    """Oracle: a NumPy loop over samples on a noisy ring (sigma 0.3, radius 0.4), eagerly and under jit."""
    x = CENTERS[np.random.default_rng(1).integers(0, 8, 200)] + 0.3 * np.random.default_rng(2).normal(size=(200, 2))
    counts, covered, quality = _numpy_coverage(x, CENTERS, 0.4, 0.05)
    f = jax.jit(lambda a, c: G.mode_coverage(a, c, radius=0.4, min_fraction=0.05))
    for out in (G.mode_coverage(jnp.asarray(x), jnp.asarray(CENTERS), radius=0.4, min_fraction=0.05), f(x, CENTERS)):
        np.testing.assert_array_equal(out.counts, counts)
        assert int(out.covered) == covered
        np.testing.assert_allclose(out.quality, quality, rtol=1e-12)


def test_bad_inputs():
    """Bad input: widths that differ, a non-positive radius and a fraction outside [0, 1]."""
    c = jnp.asarray(CENTERS)
    with pytest.raises(ValueError, match="generative.mode_coverage: argument `centers`"):
        G.mode_coverage(jnp.zeros((4, 3)), c, radius=1.0)
    with pytest.raises(ValueError, match="argument `radius` expected"):
        G.mode_coverage(jnp.zeros((4, 2)), c, radius=0.0)
    with pytest.raises(ValueError, match="argument `min_fraction` expected"):
        G.mode_coverage(jnp.zeros((4, 2)), c, radius=1.0, min_fraction=1.5)
