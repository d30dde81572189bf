"""Smooth L1 and the box regression loss: worked values, PyTorch and Huber oracles, transforms, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import losses
from tests._oracles import need
from tests._tolerances import tol

R = np.array([-3.0, -1.0, -0.4, 0.0, 0.25, 0.999, 1.5, 7.0])


def test_worked_values():
    """Worked value: by hand (beta = 1): r = 0.5 -> 0.5 * 0.25 = 0.125; r = 2 -> 2 - 0.5 = 1.5. beta = 2: r = 1 -> 0.25,
    r = -3 -> 3 - 1 = 2. The box loss of offsets (1, -2, 0.5, 0) against 0 is 0.5 + 1.5 + 0.125 + 0 = 2.125."""
    z = jnp.zeros(2)
    np.testing.assert_allclose(losses.smooth_l1(jnp.array([0.5, 2.0]), z), [0.125, 1.5], **tol(np.float64))
    np.testing.assert_allclose(losses.smooth_l1(jnp.array([1.0, -3.0]), z, beta=2.0), [0.25, 2.0], **tol(np.float64))
    got = losses.smooth_l1_box_loss(jnp.array([1.0, -2.0, 0.5, 0.0]), jnp.zeros(4))
    np.testing.assert_allclose(got, 2.125, **tol(np.float64))


def test_against_torch():
    """Oracle: torch.nn.functional.smooth_l1_loss(reduction="none") for several beta."""
    torch = need("torch")
    y = np.linspace(-1, 1, R.size)
    for beta in (0.5, 1.0, 2.0):
        want = torch.nn.functional.smooth_l1_loss(torch.tensor(R), torch.tensor(y), reduction="none", beta=beta).numpy()
        np.testing.assert_allclose(losses.smooth_l1(jnp.asarray(R), jnp.asarray(y), beta=beta), want, **tol(np.float64))


def test_equals_huber_over_delta():
    """Oracle: smooth_L1 with beta = delta is huber_delta / delta (losses.huber)."""
    for d in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(
            losses.smooth_l1(jnp.asarray(R), jnp.zeros(R.size), beta=d),
            losses.huber(jnp.asarray(R), jnp.zeros(R.size), delta=d) / d,
            **tol(np.float64),
        )


def test_transforms_and_gradient(transform):
    """Transforms: jit/vmap agree; the derivative is clip(r / beta, -1, 1); the box loss broadcasts over *batch."""
    r = jnp.asarray(R)
    f = transform(lambda a: losses.smooth_l1(a, jnp.zeros_like(a), beta=1.5))
    np.testing.assert_allclose(f(r), losses.smooth_l1(r, jnp.zeros_like(r), beta=1.5), **tol(np.float64))
    g = jax.vmap(jax.grad(lambda a: losses.smooth_l1(a, jnp.zeros_like(a), beta=1.5)))(r)
    np.testing.assert_allclose(g, np.clip(R / 1.5, -1, 1), **tol(np.float64))
    t = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 4)))
    out = transform(losses.smooth_l1_box_loss)(t, jnp.zeros_like(t))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1, 2], losses.smooth_l1_box_loss(t[1, 2], jnp.zeros(4)), **tol(np.float64))


def test_check_grads_order_2():
    """Transforms: second order away from |r| = beta (where the second derivative jumps from 1/beta to 0), at r = 0
    included."""
    a = jnp.array([0.0, 0.3, -0.6, 2.0, -4.0, 1.2, 0.1, -0.2])
    y = jnp.zeros(8)
    check_grads(jax.jit(lambda u: losses.smooth_l1(u, y).sum()), (a,), order=2, modes=["rev"])
    check_grads(jax.jit(lambda u: losses.smooth_l1_box_loss(u.reshape(2, 4), y.reshape(2, 4)).sum()), (a,), order=2)
    hess = jax.hessian(lambda u: losses.smooth_l1(u, jnp.zeros(1), beta=0.5).sum())(jnp.zeros(1))
    np.testing.assert_allclose(hess, [[2.0]], **tol(np.float64))  # 1 / beta at r = 0


@given(st.floats(-50, 50), st.floats(0.01, 10))
def test_properties(r, beta):
    """Property: 0 <= smooth_L1 <= |r| and <= r^2 / (2 beta); positive away from 0 (|r| > 1e-100: r^2 does not
    underflow)."""
    v = float(losses.smooth_l1(jnp.array([r]), jnp.zeros(1), beta=beta)[0])
    assert 0 <= v <= abs(r) + 1e-12 and v <= r * r / (2 * beta) + 1e-12
    assert v > 0 or abs(r) <= 1e-100


def test_bad_input():
    """Bad input: shapes, dtypes, margins and flags are refused with the standard message (a value check poisons under
    jit)."""
    z4 = jnp.zeros(4)
    with pytest.raises(ValueError, match=r"losses.smooth_l1: argument `y` expected shape \(3,\), got shape \(4,\)"):
        losses.smooth_l1(jnp.zeros(3), z4)
    with pytest.raises(ValueError, match="losses.smooth_l1_box_loss: argument `y_hat` expected shape"):
        losses.smooth_l1_box_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="argument `beta` expected a value > 0"):
        losses.smooth_l1(z4, z4, beta=0.0)
    with pytest.raises(TypeError, match="argument `beta` expected a positive real number"):
        losses.smooth_l1(z4, z4, beta=True)
    with pytest.raises(TypeError, match="argument `y` expected the dtype of `y_hat`"):
        losses.smooth_l1(z4, z4.astype(jnp.float32))
    with pytest.raises(TypeError, match="argument `y_hat` expected a floating-point array"):
        losses.smooth_l1_box_loss(jnp.zeros(4, jnp.int32), z4)
