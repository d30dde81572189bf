"""Tests of batch_norm / layer_norm ([MEDL] Sec. 5.6; Ch. 7 for LayerNorm)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import (
    BatchNormParams,
    BatchNormState,
    LayerNormParams,
    batch_norm,
    init_batch_norm,
    init_layer_norm,
    layer_norm,
)
from tests._oracles import need
from tests._tolerances import tol


def bn_batch(params, state, X, *, train=True, momentum=0.9, eps=1e-5):
    """Apply batch_norm to a batch X by vmapping over a named axis."""
    return jax.vmap(
        lambda x: batch_norm(params, state, x, axis_name="batch", train=train, momentum=momentum, eps=eps),
        axis_name="batch",
        out_axes=(0, None),
    )(X)


def test_batch_norm_worked_value():
    """By hand: one channel, batch (1, 3): μ = 2, σ² = 1 (biased), z̄ = (±1)/sqrt(1 + ε); γ = 2, β = 1."""
    params = BatchNormParams(jnp.array([2.0]), jnp.array([1.0]))
    _, state = init_batch_norm(1)
    y, new = bn_batch(params, state, jnp.array([[1.0], [3.0]]), eps=0.0 + 1e-12)
    np.testing.assert_allclose(y[:, 0], [1 - 2 / np.sqrt(1 + 1e-12), 1 + 2 / np.sqrt(1 + 1e-12)], **tol(np.float64))
    np.testing.assert_allclose(new.mean, [0.9 * 0 + 0.1 * 2], **tol(np.float64))
    np.testing.assert_allclose(new.var, [0.9 * 1 + 0.1 * 1], **tol(np.float64))


def test_batch_norm_numpy_loop(getkey):
    """Oracle: a NumPy loop over channels with the 1/n variance; eval mode uses the running statistics."""
    params = BatchNormParams(jax.random.normal(getkey(), (4,)), jax.random.normal(getkey(), (4,)))
    state = BatchNormState(jax.random.normal(getkey(), (4,)), jnp.exp(jax.random.normal(getkey(), (4,))))
    X = 3 * jax.random.normal(getkey(), (16, 4)) + 1
    y, _ = bn_batch(params, state, X)
    Xn = np.asarray(X)
    for c in range(4):
        mu = sum(Xn[:, c]) / 16
        var = sum((Xn[:, c] - mu) ** 2) / 16
        want = np.asarray(params.gamma)[c] * (Xn[:, c] - mu) / np.sqrt(var + 1e-5) + np.asarray(params.beta)[c]
        np.testing.assert_allclose(y[:, c], want, **tol(np.float64, composite=True))
    y_eval, same = bn_batch(params, state, X, train=False)
    want = np.asarray(params.gamma) * (Xn - np.asarray(state.mean)) / np.sqrt(np.asarray(state.var) + 1e-5)
    np.testing.assert_allclose(y_eval, want + np.asarray(params.beta), **tol(np.float64, composite=True))
    for got, want_leaf in zip(same, state, strict=True):
        np.testing.assert_array_equal(got, want_leaf)  # eval leaves the running statistics unchanged


def test_batch_norm_torch(getkey):
    """Oracle: torch.nn.BatchNorm1d (train output; running mean with torch momentum = 1 - ours; torch var unbiased)."""
    torch = need("torch")
    X = jax.random.normal(getkey(), (10, 3))
    params, state = init_batch_norm(3)
    y, new = bn_batch(params, state, X, momentum=0.8)
    bn = torch.nn.BatchNorm1d(3, momentum=0.2, eps=1e-5).double()
    want = bn(torch.tensor(np.asarray(X))).detach().numpy()
    np.testing.assert_allclose(y, want, **tol(np.float64, composite=True))
    np.testing.assert_allclose(new.mean, bn.running_mean.numpy(), **tol(np.float64, composite=True))
    biased = np.var(np.asarray(X), axis=0)
    np.testing.assert_allclose(new.var, 0.8 + 0.2 * biased, **tol(np.float64, composite=True))
    unbiased_running = 0.8 + 0.2 * biased * 10 / 9  # what torch stores (documented difference)
    np.testing.assert_allclose(bn.running_var.numpy(), unbiased_running, **tol(np.float64, composite=True))


def test_batch_norm_flax(getkey):
    """Oracle: flax.nnx.BatchNorm in float32 (same momentum convention and biased running variance)."""
    nnx = need("flax.nnx")
    # float32: flax's statistics promote against float32 internally, which strict float64 refuses.
    X = jax.random.normal(getkey(), (12, 5), jnp.float32)
    params, state = init_batch_norm(5, dtype=jnp.float32)
    y, new = bn_batch(params, state, X, momentum=0.9, eps=1e-5)
    bn = nnx.BatchNorm(5, momentum=0.9, epsilon=1e-5, use_running_average=False, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(y, bn(X), **tol(np.float32, composite=True))
    np.testing.assert_allclose(new.mean, bn.mean[...], **tol(np.float32, composite=True))
    np.testing.assert_allclose(new.var, bn.var[...], **tol(np.float32, composite=True))
    assert y.dtype == jnp.float32 and new.var.dtype == jnp.float32


def test_batch_norm_transforms(transform, getkey):
    """Transforms: jit == eager; grad flows through μ̂ and σ̂² (Fig. 5.10): Σ_i ∂(Σ y)/∂x_i = 0; check_grads order 2."""
    params, state = init_batch_norm(3)
    params = BatchNormParams(jnp.array([1.0, 2.0, 0.5]), jnp.array([0.0, 1.0, -1.0]))
    X = jax.random.normal(getkey(), (8, 3))
    f = transform(lambda X: bn_batch(params, state, X)[0])
    np.testing.assert_allclose(f(X), bn_batch(params, state, X)[0], **tol(np.float64))
    g = jax.grad(lambda X: jnp.sum(f(X) * jnp.arange(8.0)[:, None]))(X)
    np.testing.assert_allclose(g.sum(0), 0.0, atol=1e-10)  # shift invariance: the gradient sums to zero
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda X: bn_batch(params, state, X)[0]), (X,), order=2)


def test_batch_norm_spatial_axes(getkey):
    """Channels last: an example (H, W, C) normalises over batch and positions (BatchNorm2d semantics; NumPy)."""
    X = jax.random.normal(getkey(), (4, 3, 3, 2))
    params, state = init_batch_norm(2)
    y, _ = bn_batch(params, state, X)
    Xn = np.asarray(X)
    mu = Xn.mean(axis=(0, 1, 2))
    var = Xn.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y, (Xn - mu) / np.sqrt(var + 1e-5), **tol(np.float64, composite=True))


@given(st.floats(-5, 5), st.floats(0.1, 10))
def test_batch_norm_affine_invariance(shift, scale):
    """Property: train output is invariant to x -> scale·x + shift (up to ε); zero mean, unit biased variance."""
    X = jax.random.normal(jax.random.key(0), (20, 2))
    params, state = init_batch_norm(2)
    y1, _ = bn_batch(params, state, X, eps=1e-12)
    y2, _ = bn_batch(params, state, scale * X + shift, eps=1e-12)
    np.testing.assert_allclose(y1, y2, rtol=1e-8, atol=1e-8)  # ε = 1e-12 perturbs at ~1e-12/σ²
    np.testing.assert_allclose(np.mean(y1, 0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.var(y1, 0), 1.0, rtol=1e-8)


def test_batch_norm_bad_inputs():
    """Bad inputs: batch size 1 in train mode, shapes, momentum, eps, train flag."""
    params, state = init_batch_norm(3)
    with pytest.raises(ValueError, match=r"layers.batch_norm: argument `x` expected at least 2 values per channel"):
        bn_batch(params, state, jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"got '?batch size 1 with example shape \(3,\)'?"):
        batch_norm(params, state, jnp.ones(3), axis_name=None, train=True)
    with pytest.raises(ValueError, match=r"argument `params.gamma` expected shape \(4,\)"):
        bn_batch(params, state, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match=r"argument `momentum` expected a value in \[0.0, 1.0\], got 1.5"):
        bn_batch(params, state, jnp.ones((5, 3)), momentum=1.5)
    with pytest.raises(ValueError, match=r"argument `eps` expected a value > 0, got 0"):
        bn_batch(params, state, jnp.ones((5, 3)), eps=0)
    with pytest.raises(TypeError, match=r"argument `train` expected a bool"):
        batch_norm(params, state, jnp.ones(3), axis_name=None, train="yes")
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        batch_norm(params, state, jnp.ones(3, jnp.int32), axis_name=None, train=False)
    with pytest.raises(ValueError, match=r"layers.init_batch_norm: argument `num_features` expected a positive int"):
        init_batch_norm(0)
    # eval mode with one example is fine (running statistics)
    y, _ = batch_norm(params, state, jnp.ones(3), axis_name=None, train=False)
    np.testing.assert_allclose(y, 1 / np.sqrt(1 + 1e-5), **tol(np.float64))


def test_batch_norm_constant_channel():
    """Value: a constant channel has σ̂² = 0, so the output is β exactly (ε keeps it finite)."""
    params, state = init_batch_norm(1)
    y, _ = bn_batch(params, state, jnp.full((4, 1), 7.0))
    np.testing.assert_array_equal(y, 0.0)


def test_layer_norm_worked_value():
    """By hand: x = (1, 2, 3): μ = 2, σ² = 2/3 (1/p), y = (x - 2)/sqrt(2/3 + ε)."""
    y = layer_norm(init_layer_norm(3), jnp.array([1.0, 2.0, 3.0]), eps=1e-12)
    np.testing.assert_allclose(y, np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3 + 1e-12), **tol(np.float64))


def test_layer_norm_torch(getkey):
    """Oracle: torch.nn.functional.layer_norm with the same γ, β (leading positions through jax.vmap)."""
    torch = need("torch")
    params = LayerNormParams(jax.random.normal(getkey(), (6,)), jax.random.normal(getkey(), (6,)))
    X = jax.random.normal(getkey(), (4, 6))
    want = torch.nn.functional.layer_norm(
        torch.tensor(np.asarray(X)), (6,), torch.tensor(np.asarray(params.gamma)), torch.tensor(np.asarray(params.beta))
    )
    got = jax.vmap(lambda x: layer_norm(params, x))(X)  # one example per call; vmap over the positions
    np.testing.assert_allclose(got, want.numpy(), **tol(np.float64, composite=True))


def test_layer_norm_transforms(transform, getkey):
    """Transforms: jit == eager, vmap == loop, check_grads order 2; Jacobian rows sum to 0 (shift invariance)."""
    params = LayerNormParams(jax.random.normal(getkey(), (5,)), jax.random.normal(getkey(), (5,)))
    X = jax.random.normal(getkey(), (3, 5))
    f = transform(jax.vmap(lambda x: layer_norm(params, x)))
    np.testing.assert_allclose(f(X), np.stack([layer_norm(params, x) for x in X]), **tol(np.float64, composite=True))
    J = jax.jacobian(lambda x: layer_norm(params, x))(X[0])
    np.testing.assert_allclose(J.sum(1), 0.0, atol=1e-10)
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda x: layer_norm(params, x)), (X[0],), order=2)


@given(st.floats(-100, 100), st.floats(0.01, 100))
def test_layer_norm_invariance(shift, scale):
    """Property: layer_norm(scale·x + shift) == layer_norm(x) (ε tiny) and output has mean 0, variance 1."""
    x = jnp.array([0.3, -1.2, 2.0, 0.7])
    p = init_layer_norm(4)
    np.testing.assert_allclose(
        layer_norm(p, scale * x + shift, eps=1e-14), layer_norm(p, x, eps=1e-14), rtol=1e-7, atol=1e-7
    )


def test_layer_norm_bad_inputs():
    """Bad inputs: shape mismatch, eps, dtype, scalar x, init width."""
    p = init_layer_norm(3)
    with pytest.raises(ValueError, match=r"layers.layer_norm: argument `params.gamma` expected shape \(4,\)"):
        layer_norm(p, jnp.ones(4))
    with pytest.raises(ValueError, match=r"argument `eps` expected a value > 0, got -1"):
        layer_norm(p, jnp.ones(3), eps=-1)
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        layer_norm(p, jnp.ones(3, jnp.int32))
    with pytest.raises(ValueError, match=r"argument `x` expected rank 1, got shape \(\) \(rank 0\)"):
        layer_norm(p, jnp.array(1.0))
    with pytest.raises(
        ValueError, match=r"layers.init_layer_norm: argument `num_features` expected a positive int, got -2"
    ):
        init_layer_norm(-2)
    np.testing.assert_array_equal(layer_norm(p, jnp.full(3, 5.0)), 0.0)  # constant input -> β


def test_layer_norm_refuses_a_batch_and_accepts_a_list():
    """The batching rule: ONE example (p,); a batch (n, p) is refused with a message that says to use jax.vmap."""
    p = init_layer_norm(3)
    with pytest.raises(ValueError, match=r"layers.layer_norm: argument `x` expected one example of shape \(p,\); "
                       r"for a batch use jax.vmap, got shape \(2, 3\) \(rank 2\)"):  # fmt: skip
        layer_norm(p, jnp.ones((2, 3)))
    np.testing.assert_allclose(layer_norm(p, [1.0, 2.0, 3.0]), layer_norm(p, jnp.array([1.0, 2.0, 3.0])))


def test_layer_norm_float16_against_flax():
    """float16 [1001, 999, 1000.5]: exact (float64 on the float16 values) [0.98, -1.37, 0.39]; statistics in float32
    as flax.nnx.LayerNorm (two-pass variance) computes them; the dtype stays float16."""
    nnx = need("flax.nnx")
    x = jnp.array([1001.0, 999.0, 1000.5], jnp.float16)
    y = layer_norm(init_layer_norm(3, dtype=jnp.float16), x)
    assert y.dtype == jnp.float16
    xn = np.asarray(x, np.float64)
    exact = (xn - xn.mean()) / np.sqrt(xn.var() + 1e-5)
    ln = nnx.LayerNorm(3, epsilon=1e-5, dtype=jnp.float16, param_dtype=jnp.float16, use_fast_variance=False,
                       rngs=nnx.Rngs(0))  # fmt: skip
    # float16 keeps 11 bits: |y| <= 1.4 is rounded to within 1e-3, so 2e-3 allows one rounding each side.
    np.testing.assert_allclose(np.asarray(y, np.float64), exact, atol=2e-3)
    with jax.numpy_dtype_promotion("standard"):  # flax subtracts its float32 mean from the float16 input
        want = np.asarray(ln(x), np.float64)
    np.testing.assert_allclose(np.asarray(y, np.float64), want, atol=2e-3)


def test_batch_norm_float16_offset_data_against_flax(getkey):
    """float16 data near 1000 (an offset 1000x its spread): batch statistics in float32 as flax.nnx.BatchNorm
    (two-pass variance) and a float64 NumPy oracle on the same float16 values; y and the state stay float16."""
    nnx = need("flax.nnx")
    X = (1000.0 + jax.random.normal(getkey(), (16, 3), jnp.float32)).astype(jnp.float16)
    params, state = init_batch_norm(3, dtype=jnp.float16)
    y, new = bn_batch(params, state, X)
    assert y.dtype == jnp.float16 and new.mean.dtype == jnp.float16
    Xn = np.asarray(X, np.float64)
    exact = (Xn - Xn.mean(0)) / np.sqrt(Xn.var(0) + 1e-5)
    bn = nnx.BatchNorm(3, momentum=0.9, epsilon=1e-5, dtype=jnp.float16, param_dtype=jnp.float16,
                       use_fast_variance=False, use_running_average=False, rngs=nnx.Rngs(0))  # fmt: skip
    # |y| <= 3: float16 rounds it to within 2e-3; 5e-3 allows that on both sides (the old float16 statistics: 0.2).
    np.testing.assert_allclose(np.asarray(y, np.float64), exact, atol=5e-3)
    with jax.numpy_dtype_promotion("standard"):  # flax subtracts its float32 mean from the float16 input
        want = np.asarray(bn(X), np.float64)
    np.testing.assert_allclose(np.asarray(y, np.float64), want, atol=5e-3)
    np.testing.assert_allclose(np.asarray(new.mean, np.float64), np.asarray(bn.mean[...], np.float64), rtol=1e-3)
