"""Softmax, log-softmax, the softmax Jacobian and the masked softmax."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import activations as A
from tests._oracles import need
from tests._tolerances import tol

Z = np.array([[1.0, 2.0, 3.0, -1.0], [0.5, -0.5, 0.0, 4.0], [10.0, 10.0, 10.0, 10.0]])


# ---------------------------------------------------------------- (1) worked values


def test_worked_values():
    """By hand ([MEDL] eq. (3.25)): softmax([0, log 3]) = [1/4, 3/4]; log-softmax([0, 0]) = −log 2 each;
    Jacobian at z = 0 with K = 2 is [[1/4, −1/4], [−1/4, 1/4]]."""
    np.testing.assert_allclose(A.softmax(jnp.array([0.0, math.log(3.0)])), [0.25, 0.75], **tol(np.float64))
    np.testing.assert_allclose(A.log_softmax(jnp.zeros(2)), [-math.log(2)] * 2, **tol(np.float64))
    np.testing.assert_allclose(A.softmax_jacobian(jnp.zeros(2)), [[0.25, -0.25], [-0.25, 0.25]], **tol(np.float64))
    m = jnp.array([True, False, True])
    np.testing.assert_allclose(
        A.masked_softmax(jnp.array([0.0, 7.0, math.log(3.0)]), m), [0.25, 0.0, 0.75], **tol(np.float64)
    )


# ---------------------------------------------------------------- (2) oracles


@pytest.mark.parametrize("axis", [-1, 0])
def test_against_scipy(axis):
    """Oracle: scipy.special.softmax and log_softmax along either axis."""
    np.testing.assert_allclose(A.softmax(jnp.asarray(Z), axis=axis), sp.softmax(Z, axis=axis), **tol(np.float64))
    np.testing.assert_allclose(
        A.log_softmax(jnp.asarray(Z), axis=axis), sp.log_softmax(Z, axis=axis), **tol(np.float64)
    )


def test_against_torch():
    """Oracle: torch.softmax / log_softmax, and torch's softmax over the kept entries for the masked softmax."""
    torch = need("torch")
    t = torch.tensor(Z, dtype=torch.float64)
    np.testing.assert_allclose(A.softmax(jnp.asarray(Z)), torch.softmax(t, -1).numpy(), **tol(np.float64))
    np.testing.assert_allclose(A.log_softmax(jnp.asarray(Z)), torch.log_softmax(t, -1).numpy(), **tol(np.float64))
    mask = np.array([[True, False, True, True], [False, False, False, True], [True, True, False, False]])
    expect = torch.softmax(t.masked_fill(torch.tensor(~mask), float("-inf")), -1).numpy()
    np.testing.assert_allclose(A.masked_softmax(jnp.asarray(Z), jnp.asarray(mask)), expect, **tol(np.float64))


def test_jacobian_against_autodiff_and_loop():
    """Oracle: jax.jacobian of jax.nn.softmax, and a NumPy double loop of s_i(δ_ij − s_j)."""
    z = jnp.asarray(Z[0])
    J = A.softmax_jacobian(z)
    np.testing.assert_allclose(J, jax.jacobian(jax.nn.softmax)(z), **tol(np.float64))
    s = sp.softmax(Z[0])
    loop = np.array([[s[i] * ((i == j) - s[j]) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(J, loop, **tol(np.float64))
    # batched: (*batch, K) -> (*batch, K, K)
    np.testing.assert_allclose(A.softmax_jacobian(jnp.asarray(Z))[1], jax.jacobian(jax.nn.softmax)(jnp.asarray(Z[1])))


# ---------------------------------------------------------------- (3) transforms


def test_jit_and_vmap(transform):
    """jit == eager; vmap over rows == a Python loop == the batched call."""
    z = jnp.asarray(Z)
    for f in (A.softmax, A.log_softmax, A.softmax_jacobian):
        loop = np.stack([np.asarray(f(z[i])) for i in range(3)])
        np.testing.assert_allclose(transform(jax.vmap(f))(z), loop, **tol(np.float64))
        np.testing.assert_allclose(transform(f)(z), loop, **tol(np.float64))
    m = jnp.asarray(Z > 0.7)
    loop = np.stack([np.asarray(A.masked_softmax(z[i], m[i])) for i in range(3)])
    np.testing.assert_allclose(transform(jax.vmap(A.masked_softmax))(z, m), loop, **tol(np.float64))


@pytest.mark.slow  # second-order check_grads / many compositions: ~10-60 s on a loaded 2-core box
def test_grads():
    """check_grads to order 2 in float64; the VJP of log-softmax is v − softmax(z)·Σv (analytic);
    jax.jacobian(softmax) equals softmax_jacobian."""
    z = jnp.asarray(Z[1])
    for f in (A.softmax, A.log_softmax):
        check_grads(f, (z,), order=2)
    check_grads(lambda x: A.masked_softmax(x, jnp.array([True, False, True, True])), (z,), order=2)
    v = jnp.array([0.3, -1.0, 2.0, 0.1])
    g = jax.grad(lambda x: jnp.dot(A.log_softmax(x), v))(z)
    np.testing.assert_allclose(g, v - sp.softmax(Z[1]) * v.sum(), **tol(np.float64))
    np.testing.assert_allclose(jax.jacobian(A.softmax)(z), A.softmax_jacobian(z), **tol(np.float64))


# ---------------------------------------------------------------- (4) properties

rows = st.lists(st.floats(-50, 50, allow_nan=False, allow_subnormal=False), min_size=5, max_size=5)


@settings(max_examples=20)
@given(rows, st.floats(-100, 100, allow_nan=False))
def test_sum_to_one_shift_invariance_and_log_consistency(z, c):
    """softmax sums to 1, is invariant to adding a constant, exp(log_softmax) = softmax;
    the Jacobian is symmetric with 1 in its null space."""
    z = jnp.asarray(z)
    s = A.softmax(z)
    np.testing.assert_allclose(jnp.sum(s), 1.0, rtol=1e-14)
    np.testing.assert_allclose(A.softmax(z + c), s, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jnp.exp(A.log_softmax(z)), s, rtol=1e-12, atol=1e-300)
    J = A.softmax_jacobian(z)
    np.testing.assert_allclose(J, J.T, atol=0)
    np.testing.assert_allclose(J @ jnp.ones(5), 0.0, atol=1e-15)


@settings(max_examples=20)
@given(rows, st.lists(st.booleans(), min_size=5, max_size=5))
def test_masked_equals_softmax_on_kept_entries(z, keep):
    """Masked softmax equals the softmax of the kept entries, zeros elsewhere; a fully masked row is all zeros."""
    z, keep = np.asarray(z), np.asarray(keep)
    out = np.asarray(A.masked_softmax(jnp.asarray(z), jnp.asarray(keep)))
    expect = np.zeros(5)
    if keep.any():
        expect[keep] = sp.softmax(z[keep])
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------- bad and edge inputs


def test_fully_masked_row_zero_value_and_zero_gradient():
    """Edge: a fully masked row is zeros with ZERO gradient, no NaN, in float64, float32 and float16;
    masked entries holding NaN or inf never leak into the value or the gradient."""
    for dtype in (jnp.float64, jnp.float32, jnp.float16):
        x = jnp.array([[1.0, jnp.nan, jnp.inf], [2.0, 3.0, -jnp.inf]], dtype)
        mask = jnp.array([[False, False, False], [True, True, False]])
        out = A.masked_softmax(x, mask)
        assert out.dtype == dtype
        np.testing.assert_array_equal(np.asarray(out[0], np.float64), [0.0, 0.0, 0.0])
        np.testing.assert_allclose(np.asarray(out[1], np.float64), [*sp.softmax([2.0, 3.0]), 0.0], rtol=2e-3)
        w = jnp.broadcast_to(jnp.arange(3, dtype=dtype), x.shape)
        g = jax.grad(lambda v, m=mask, w=w: jnp.sum(A.masked_softmax(v, m) * w))(x)
        assert bool(jnp.all(jnp.isfinite(g)))
        np.testing.assert_array_equal(np.asarray(g[0], np.float64), [0.0, 0.0, 0.0])
        assert float(g[1, 2]) == 0.0


def test_masked_softmax_broadcast_mask():
    """Edge: a (T, T) causal mask broadcasts over (H, T, T) scores; each row i keeps positions <= i."""
    T = 4
    scores = jnp.arange(2 * T * T, dtype=jnp.float64).reshape(2, T, T) / 7
    causal = jnp.tril(jnp.ones((T, T), bool))
    out = A.masked_softmax(scores, causal)
    assert out.shape == (2, T, T)
    np.testing.assert_array_equal(np.triu(np.asarray(out[1]), 1), 0.0)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-14)


def test_softmax_edge_values():
    """Edge: huge logits do not overflow; an all −inf row is NaN (undefined); a −inf entry gets probability 0
    and log-probability −inf; float32 stays float32."""
    np.testing.assert_allclose(A.softmax(jnp.array([1000.0, 0.0])), [1.0, 0.0], atol=1e-300)
    assert bool(jnp.all(jnp.isnan(A.softmax(jnp.array([-jnp.inf, -jnp.inf])))))
    np.testing.assert_array_equal(A.softmax(jnp.array([-jnp.inf, 0.0])), [0.0, 1.0])
    np.testing.assert_array_equal(A.log_softmax(jnp.array([-jnp.inf, 0.0])), [-np.inf, 0.0])
    assert A.softmax(jnp.ones(3, jnp.float32)).dtype == jnp.float32
    assert A.softmax_jacobian(jnp.ones(3, jnp.float32)).dtype == jnp.float32
    assert bool(jnp.all(jnp.isnan(A.softmax(jnp.array([jnp.nan, 0.0])))))


@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax, A.softmax_jacobian])
def test_softmax_bad_inputs(fn):
    """Bad input: scalar, integer dtype, string; bad axis (out of range, not an int)."""
    q = f"activations.{fn.__name__}"
    with pytest.raises(ValueError, match=rf"^{q}: argument `z` expected rank >= 1, got '?shape \(\) \(rank 0\)'?\.$"):
        fn(jnp.array(1.0))
    with pytest.raises(TypeError, match=rf"^{q}: argument `z` expected a floating-point array, got '?dtype int64'?\.$"):
        fn(jnp.array([1, 2]))
    with pytest.raises(TypeError, match=rf"^{q}: argument `z` expected a floating-point array, got '?str'?\.$"):
        fn("abc")
    if fn is not A.softmax_jacobian:
        with pytest.raises(ValueError, match=rf"^{q}: argument `axis` expected an axis in \[-2, 2\), got 2\.$"):
            fn(jnp.ones((2, 3)), axis=2)
        with pytest.raises(TypeError, match=rf"^{q}: argument `axis` expected an int, got '?float'?\.$"):
            fn(jnp.ones((2, 3)), axis=1.0)
        msg = rf"^{q}: argument `z` expected at least one class \(K >= 1\) along axis 0"
        with pytest.raises(ValueError, match=msg):
            fn(jnp.ones((0, 3)), axis=0)
    with pytest.raises(ValueError, match=rf"^{q}: argument `z` expected at least one class \(K >= 1\) along axis -1, "
                       r"got shape \(2, 0\)\.$"):  # fmt: skip
        fn(jnp.zeros((2, 0)))
    np.testing.assert_allclose(fn([0.0, 0.0]), fn(jnp.zeros(2)))  # a list is accepted


def test_masked_softmax_bad_inputs():
    """Bad input: non-boolean mask (0/1 ints are ambiguous), mask that does not broadcast, scalar x,
    integer x, a missing mask."""
    q = "activations.masked_softmax"
    x = jnp.ones((2, 3))
    with pytest.raises(TypeError, match=rf"^{q}: argument `mask` expected a boolean array \(True = keep\), got "):
        A.masked_softmax(x, jnp.ones((2, 3), jnp.int32))
    with pytest.raises(ValueError, match=rf"^{q}: argument `mask` expected a shape that broadcasts to \(2, 3\), got "):
        A.masked_softmax(x, jnp.ones((3, 2), bool))
    with pytest.raises(ValueError, match=rf"^{q}: argument `mask` expected a shape that broadcasts to \(2, 3\), got "):
        A.masked_softmax(x, jnp.ones((4, 2, 3), bool))  # would broadcast x up, not the mask down
    with pytest.raises(ValueError, match=rf"^{q}: argument `x` expected rank >= 1, got "):
        A.masked_softmax(jnp.array(1.0), jnp.array(True))
    with pytest.raises(TypeError, match=rf"^{q}: argument `x` expected a floating-point array, got "):
        A.masked_softmax(jnp.ones((2, 3), jnp.int32), jnp.ones((2, 3), bool))
    with pytest.raises(TypeError, match=rf"^{q}: argument `mask` expected a boolean array, got "):
        A.masked_softmax(x, None)
    with pytest.raises(ValueError, match=rf"^{q}: argument `x` expected at least one class \(K >= 1\)"):
        A.masked_softmax(jnp.ones((2, 0)), jnp.ones((2, 0), bool))
