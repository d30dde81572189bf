"""Tests of mathdl.layers.group_norm (Wu & He, 2018; [MEDL] Ch. 6, Sec. 6.4) and of batch norm on images."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl.layers import (
    GroupNormParams,
    LayerNormParams,
    batch_norm,
    group_norm,
    init_batch_norm,
    init_group_norm,
    layer_norm,
)
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    """Test data from NumPy: no PRNG program to compile per shape (compiling dominates these tests)."""
    return np.random.default_rng(0)


def _normal(rng, shape):
    return jnp.asarray(rng.normal(size=shape))


def _params(rng, C):
    return GroupNormParams(1.0 + _normal(rng, (C,)), _normal(rng, (C,)))


def test_worked_value():
    """By hand: one group of (1, 3) at one position: mean 2, var 1 -> (-1, 1)/sqrt(1 + eps)."""
    y = group_norm(init_group_norm(2), jnp.array([[1.0, 3.0]]), num_groups=1, eps=1e-5)
    np.testing.assert_allclose(y, [[-1.0 / np.sqrt(1 + 1e-5), 1.0 / np.sqrt(1 + 1e-5)]], **tol(np.float64))


@pytest.mark.parametrize(("shape", "G"), [((5, 6, 8), 4), ((4, 4, 6), 1), ((3, 5, 6), 6), ((7, 6), 3)])
def test_torch_oracle_with_grads(rng, shape, G):
    """Oracle: torch.nn.functional.group_norm (channels first), outputs and gradients in float64."""
    torch = need("torch")
    C = shape[-1]
    p = _params(rng, C)
    x = _normal(rng, shape)
    y = group_norm(p, x, num_groups=G)
    dy = _normal(rng, shape)
    gp, gx = jax.jit(jax.grad(lambda q, v: jnp.sum(group_norm(q, v, num_groups=G) * dy), argnums=(0, 1)))(p, x)
    perm = (x.ndim - 1, *range(x.ndim - 1))
    back = (*range(1, x.ndim), 0)
    tx = torch.tensor(np.asarray(x)).permute(*perm)[None].requires_grad_(True)
    tg = torch.tensor(np.asarray(p.gamma)).requires_grad_(True)
    tb = torch.tensor(np.asarray(p.beta)).requires_grad_(True)
    out = torch.nn.functional.group_norm(tx, G, tg, tb, eps=1e-5)
    (out * torch.tensor(np.asarray(dy)).permute(*perm)[None]).sum().backward()
    np.testing.assert_allclose(y, out[0].detach().numpy().transpose(back), **TOL)
    np.testing.assert_allclose(gx, tx.grad[0].numpy().transpose(back), **TOL)
    np.testing.assert_allclose(gp.gamma, tg.grad.numpy(), **TOL)
    np.testing.assert_allclose(gp.beta, tb.grad.numpy(), **TOL)


def test_special_cases(rng):
    """G = 1 on a vector is layer norm; G = C normalises each channel over positions (instance norm)."""
    p = _params(rng, 6)
    v = _normal(rng, (6,))
    np.testing.assert_allclose(group_norm(p, v, num_groups=1), layer_norm(LayerNormParams(*p), v), **TOL)
    x = _normal(rng, (4, 5, 6))
    y = group_norm(init_group_norm(6), x, num_groups=6)
    np.testing.assert_allclose(jnp.mean(y, axis=(0, 1)), 0.0, atol=1e-12)
    np.testing.assert_allclose(jnp.var(y, axis=(0, 1)), 1.0 / (1.0 + 1e-5 / jnp.var(x, axis=(0, 1))), **TOL)


def test_float32_statistics_for_bfloat16(rng):
    """A bfloat16 input keeps its dtype, with statistics in float32: the mean of a shifted group is
    removed to bfloat16 accuracy even when the shift is large compared with the spread."""
    x = 100.0 + _normal(rng, (8, 8, 4))
    y = group_norm(init_group_norm(4, dtype=jnp.bfloat16), x.astype(jnp.bfloat16), num_groups=2)
    assert y.dtype == jnp.bfloat16
    want = group_norm(init_group_norm(4), x.astype(jnp.bfloat16).astype(jnp.float64), num_groups=2)
    np.testing.assert_allclose(np.asarray(y, np.float64), want, atol=0.02)  # bfloat16 has 8 bits of mantissa


def test_transforms_and_invariance(rng, transform):
    """jit == eager, vmap == loop, check_grads order 2; invariant to a per-group affine change of x."""
    p = _params(rng, 4)
    X = _normal(rng, (3, 3, 3, 4))
    f = transform(jax.vmap(lambda v: group_norm(p, v, num_groups=2)))
    np.testing.assert_allclose(f(X), np.stack([group_norm(p, v, num_groups=2) for v in X]), **TOL)
    jax.test_util.check_grads(lambda q, v: group_norm(q, v, num_groups=2), (p, X[0]), order=2, modes=("rev",))
    scale = jnp.array([3.0, 3.0, 0.5, 0.5]).reshape(1, 1, 4)
    shift = jnp.array([-1.0, -1.0, 7.0, 7.0]).reshape(1, 1, 4)
    np.testing.assert_allclose(
        group_norm(p, X[0] * scale + shift, num_groups=2, eps=1e-12),
        group_norm(p, X[0], num_groups=2, eps=1e-12),
        rtol=1e-9,  # eps rescales with the variance; 1e-12 makes its effect negligible
    )


def test_refused(rng):
    """Channels not divisible by the groups name C and the layout; bad eps, gamma shapes, ints."""
    p = init_group_norm(6)
    with pytest.raises(ValueError, match=r"num_groups.*divisor of the channels C = 6.*\(5, 5, 6\).*channels last"):
        group_norm(p, jnp.ones((5, 5, 6)), num_groups=4)
    with pytest.raises(ValueError, match=r"num_groups.*positive int"):
        group_norm(p, jnp.ones((5, 6)), num_groups=0)
    with pytest.raises(ValueError, match=r"eps"):
        group_norm(p, jnp.ones((5, 6)), num_groups=2, eps=0.0)
    with pytest.raises(ValueError, match=r"x.*shape"):
        group_norm(p, jnp.ones((5, 5, 4)), num_groups=2)
    with pytest.raises(TypeError, match=r"floating"):
        group_norm(p, jnp.ones((5, 6), jnp.int32), num_groups=2)
    with pytest.raises(ValueError, match=r"num_features"):
        init_group_norm(0)


def test_batch_norm_per_channel_on_images(rng):
    """layers.batch_norm on (H, W, C) examples under a named vmap normalises each channel over the
    batch AND the positions, as torch.nn.BatchNorm2d does (train mode, float64)."""
    torch = need("torch")
    params, state = init_batch_norm(3)
    params = params._replace(gamma=jnp.array([1.0, 2.0, 0.5]), beta=jnp.array([0.0, -1.0, 3.0]))
    X = _normal(rng, (4, 5, 6, 3)) * jnp.array([1.0, 3.0, 0.2]).reshape(1, 1, 1, 3)
    X = X + jnp.array([0.0, 5.0, -2.0]).reshape(1, 1, 1, 3)
    y, new = jax.vmap(
        lambda v: batch_norm(params, state, v, axis_name="batch", train=True), axis_name="batch", out_axes=(0, None)
    )(X)
    mu = jnp.mean(X, axis=(0, 1, 2))
    np.testing.assert_allclose(new.mean, 0.9 * state.mean + 0.1 * mu, **TOL)
    bn = torch.nn.BatchNorm2d(3, eps=1e-5).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(np.asarray(params.gamma)))
        bn.bias.copy_(torch.tensor(np.asarray(params.beta)))
    want = bn(torch.tensor(np.asarray(X)).permute(0, 3, 1, 2)).detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(y, want, **TOL)
