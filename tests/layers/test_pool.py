"""Tests of mathdl.layers pooling ([MEDL] Ch. 6, Sec. 6.3, Fig. 6.11): max, average, global."""

import chex
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl.layers import POOL_PATHS, avg_pool, global_avg_pool, global_max_pool, max_pool
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    """Test data from NumPy: no PRNG program to compile per shape (compiling dominates these tests)."""
    return np.random.default_rng(0)


def _normal(rng, shape):
    return jnp.asarray(rng.normal(size=shape))


# the book's pooling toy: a 4x4 input, 2x2 windows, stride 2
TOY = jnp.array([[2.0, 4.0, 10.0, 13.0], [6.0, -4.0, 3.0, -2.0], [7.0, -2.0, 0.0, -11.0], [8.0, 3.0, -1.0, 0.0]])


@pytest.mark.parametrize("path", POOL_PATHS)
def test_worked_book_toy(path):
    """By hand: max [[6, 13], [8, 0]]; mean [[2, 6], [4, -3]] (e.g. (2 + 4 + 6 - 4)/4 = 2)."""
    x = TOY[..., None]
    np.testing.assert_allclose(max_pool(x, 2, path=path)[..., 0], [[6.0, 13.0], [8.0, 0.0]], **tol(np.float64))
    np.testing.assert_allclose(avg_pool(x, 2, path=path)[..., 0], [[2.0, 6.0], [4.0, -3.0]], **tol(np.float64))
    np.testing.assert_allclose(global_avg_pool(x), [jnp.mean(TOY)], **tol(np.float64))
    np.testing.assert_allclose(global_max_pool(x), [13.0], **tol(np.float64))


# (H, W, C, window, stride, padding)
GRID = [
    (7, 9, 3, 3, 2, 1),
    (8, 8, 2, 2, None, "valid"),
    (6, 7, 2, (3, 2), (1, 2), (1, 0)),
    (7, 7, 1, 3, 2, "same"),
]


@pytest.mark.parametrize("case", GRID)
def test_paths_agree(rng, case):
    """reference == xla for max and average pooling (both count_include_pad modes), values and gradients."""
    H, W, C, k, s, pad = case
    x = _normal(rng, (H, W, C))
    for fn, extra in ((max_pool, {}), (avg_pool, {}), (avg_pool, {"count_include_pad": False})):
        kw = {"stride": s, "padding": pad, **extra}
        outs = {}
        for path in POOL_PATHS:

            def loss(v, fn=fn, kw=kw, path=path):
                z = fn(v, k, path=path, **kw)
                return jnp.sum(jnp.sin(z)), z

            outs[path] = jax.jit(jax.grad(loss, has_aux=True))(x)  # one compile per path, not per op
        chex.assert_trees_all_close(outs["xla"], outs["reference"], **TOL)  # no ties in random data


TORCH_GRID = [(7, 9, 3, 3, 2, 1), (8, 8, 2, 2, 2, 0), (9, 7, 2, (3, 2), (2, 1), (1, 0))]


@pytest.mark.parametrize("case", TORCH_GRID)
def test_torch_max_avg_pool2d(rng, case):
    """Oracle: torch.nn.functional.max_pool2d / avg_pool2d (NCHW), outputs and gradients in float64."""
    torch = need("torch")
    H, W, C, k, s, pad = case
    x = _normal(rng, (H, W, C))
    for ours, theirs, extra in (
        (max_pool, torch.nn.functional.max_pool2d, {}),
        (avg_pool, torch.nn.functional.avg_pool2d, {}),
        (avg_pool, torch.nn.functional.avg_pool2d, {"count_include_pad": False}),
    ):
        z = ours(x, k, stride=s, padding=pad, **extra)
        dz = _normal(rng, z.shape)

        def loss(v, ours=ours, extra=extra, dz=dz):
            return jnp.sum(ours(v, k, stride=s, padding=pad, **extra) * dz)

        gx = jax.grad(loss)(x)
        tx = torch.tensor(np.asarray(x)).permute(2, 0, 1)[None].requires_grad_(True)
        out = theirs(tx, k, s, pad, **extra)
        (out * torch.tensor(np.asarray(dz)).permute(2, 0, 1)[None]).sum().backward()
        np.testing.assert_allclose(z, out[0].detach().numpy().transpose(1, 2, 0), **TOL)
        np.testing.assert_allclose(gx, tx.grad[0].numpy().transpose(1, 2, 0), **TOL)


def test_global_pool_torch_adaptive(rng):
    """Oracle: adaptive_avg_pool2d / adaptive_max_pool2d to 1x1 is global pooling."""
    torch = need("torch")
    x = _normal(rng, (5, 6, 4))
    tx = torch.tensor(np.asarray(x)).permute(2, 0, 1)[None]
    np.testing.assert_allclose(global_avg_pool(x), torch.nn.functional.adaptive_avg_pool2d(tx, 1).flatten(), **TOL)
    np.testing.assert_allclose(global_max_pool(x), torch.nn.functional.adaptive_max_pool2d(tx, 1).flatten(), **TOL)


@pytest.mark.parametrize("path", POOL_PATHS)
def test_jit_vmap_grad(rng, transform, path):
    """jit == eager; vmap == loop; check_grads order 2 for the average pool (max is piecewise linear)."""
    X = _normal(rng, (3, 6, 6, 2))
    f = transform(jax.vmap(lambda v: max_pool(v, 3, stride=2, padding=1, path=path)))
    np.testing.assert_allclose(f(X), np.stack([max_pool(v, 3, stride=2, padding=1, path=path) for v in X]), **TOL)
    jax.test_util.check_grads(lambda v: avg_pool(v, 2, stride=1, path=path), (X[0],), order=2, modes=("rev",))
    jax.test_util.check_grads(lambda v: max_pool(v, 2, path=path), (X[0],), order=1, modes=("rev",))


def test_properties(rng):
    """Max pool commutes with a monotone map; average pool is linear; both are per channel; the
    gradient of max pool with disjoint windows is one-hot per window."""
    x = _normal(rng, (6, 6, 3))
    y = _normal(rng, (6, 6, 3))
    np.testing.assert_allclose(max_pool(jnp.exp(x), 2), jnp.exp(max_pool(x, 2)), **TOL)
    np.testing.assert_allclose(
        avg_pool(2.0 * x - y, 3, stride=1), 2.0 * avg_pool(x, 3, stride=1) - avg_pool(y, 3, stride=1), **TOL
    )
    np.testing.assert_allclose(max_pool(x, 2)[..., 1:2], max_pool(x[..., 1:2], 2), **TOL)
    g = jax.grad(lambda v: jnp.sum(max_pool(v, 2)))(x)
    np.testing.assert_allclose(g.reshape(3, 2, 3, 2, 3).sum(axis=(1, 3)), 1.0, **TOL)
    assert set(np.unique(np.asarray(g))) <= {0.0, 1.0}


def test_refused():
    """A batch, a window larger than the padded input, bad stride or padding, ints: refused by name."""
    x = jnp.ones((5, 5, 2))
    with pytest.raises(ValueError, match=r"max_pool: argument `x`.*\(H, W, C\).*jax\.vmap"):
        max_pool(jnp.ones((2, 5, 5, 2)), 2)
    with pytest.raises(ValueError, match=r"window.*along H.*5 \+ 0 \+ 0 = 5.*kernel size 6"):
        max_pool(x, 6)
    with pytest.raises(ValueError, match=r"stride.*positive"):
        avg_pool(x, 2, stride=0)
    with pytest.raises(ValueError, match=r"padding smaller than the window"):
        max_pool(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"path"):
        max_pool(x, 2, path="im2col")
    with pytest.raises(TypeError, match=r"floating-point"):
        max_pool(jnp.ones((5, 5, 2), jnp.int32), 2)
    with pytest.raises(TypeError, match=r"count_include_pad"):
        avg_pool(x, 2, count_include_pad=1)
