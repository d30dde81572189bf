"""Tests of mathdl.layers.dense / init_dense ([MEDL] Sec. 5.1)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import DenseParams, dense, init_dense
from tests._oracles import need
from tests._tolerances import tol


def test_worked_value():
    """By hand: W = [[1, 2], [3, 4]], b = [1, -1], x = [1, 1] -> z = [4, 6]."""
    p = DenseParams(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([1.0, -1.0]))
    np.testing.assert_allclose(dense(p, jnp.array([1.0, 1.0])), [4.0, 6.0], **tol(np.float64))


def test_oracle_torch_linear(getkey):
    """Oracle: torch.nn.functional.linear uses the same (out, in) weight orientation."""
    torch = need("torch")
    p = init_dense(getkey(), 4, 3)
    x = jax.random.normal(getkey(), (4,))
    want = torch.nn.functional.linear(
        torch.tensor(np.asarray(x)), torch.tensor(np.asarray(p.W)), torch.tensor(np.asarray(p.b))
    )
    np.testing.assert_allclose(dense(p, x), want.numpy(), **tol(np.float64))


def test_init_shapes_and_zero_bias(getkey):
    """Contract (stax-style): init declares (d_out, d_in) and dense returns (d_out,); b starts at 0."""
    p = init_dense(getkey(), 7, 3)
    assert p.W.shape == (3, 7) and p.b.shape == (3,)
    np.testing.assert_array_equal(p.b, 0.0)
    assert dense(p, jnp.ones(7)).shape == (3,)
    assert init_dense(getkey(), 2, 2, dtype=jnp.float32).W.dtype == jnp.float32


def test_jit_vmap_grad(getkey, transform):
    """Transforms: jit == eager, vmap == loop, d z_i / d W_ij = x_j (analytic), check_grads order 2."""
    p = init_dense(getkey(), 4, 3)
    X = jax.random.normal(getkey(), (5, 4))
    batched = transform(jax.vmap(dense, in_axes=(None, 0)))(p, X)
    loop = np.stack([dense(p, x) for x in X])
    np.testing.assert_allclose(batched, loop, **tol(np.float64))
    g = jax.grad(lambda q: dense(q, X[0])[1])(p)
    want_W = np.zeros((3, 4))
    want_W[1] = X[0]
    np.testing.assert_allclose(g.W, want_W, **tol(np.float64))
    np.testing.assert_allclose(g.b, [0.0, 1.0, 0.0], **tol(np.float64))
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda W, b, x: dense(DenseParams(W, b), x)), (p.W, p.b, X[0]), order=2)


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_linearity(alpha, beta):
    """Property: z(αx + βy) - b = α(z(x) - b) + β(z(y) - b) (an affine map)."""
    p = init_dense(jax.random.key(1), 3, 2)
    x, y = jnp.array([1.0, -2.0, 0.5]), jnp.array([0.3, 0.1, -1.0])
    lhs = dense(p, alpha * x + beta * y) - p.b
    rhs = alpha * (dense(p, x) - p.b) + beta * (dense(p, y) - p.b)
    np.testing.assert_allclose(lhs, rhs, **tol(np.float64, composite=True))


def test_bad_inputs(getkey):
    """Bad inputs: each refused with the function and argument named."""
    p = init_dense(getkey(), 3, 2)
    with pytest.raises(
        ValueError,
        match=r"layers.dense: argument `x` expected one example of shape \(N_in,\); for a batch use jax.vmap, "
        r"got shape \(2, 3\)",
    ):
        dense(p, jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"layers.dense: argument `x` expected rank 1, got shape \(\) \(rank 0\)"):
        dense(p, jnp.array(1.0))
    with pytest.raises(ValueError, match=r"argument `x` expected shape \(3,\), got '?shape \(4,\)"):
        dense(p, jnp.ones(4))
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        dense(p, jnp.ones(3, dtype=jnp.int32))
    with pytest.raises(ValueError, match=r"argument `params.b` expected shape \(2,\), got '?shape \(3,\)"):
        dense(DenseParams(p.W, jnp.zeros(3)), jnp.ones(3))
    with pytest.raises(ValueError, match=r"layers.init_dense: argument `d_in` expected a positive int, got 0"):
        init_dense(getkey(), 0, 2)
    with pytest.raises(ValueError, match=r"argument `d_out` expected a positive int, got 2.5"):
        init_dense(getkey(), 2, 2.5)
    with pytest.raises(ValueError, match=r"argument `init` expected one of"):
        init_dense(getkey(), 2, 2, init="orthogonal")
    with pytest.raises(TypeError, match=r"argument `init` expected an initialiser name or a callable"):
        init_dense(getkey(), 2, 2, init=3)
    with pytest.raises(TypeError, match=r"layers.init_dense: argument `key` expected a typed PRNG key.*a raw key"):
        init_dense(jax.random.PRNGKey(0), 2, 2)


def test_lists_are_accepted():
    """Python lists are array-likes: W = [[1, 2]], b = [3], x = [1, 1] gives z = [6] (worked value)."""
    np.testing.assert_allclose(dense(DenseParams([[1.0, 2.0]], [3.0]), [1.0, 1.0]), [6.0], **tol(np.float64))


def test_nan_propagates(getkey):
    """Value problems: a NaN input gives NaN outputs, never a finite wrong answer."""
    p = init_dense(getkey(), 2, 2)
    assert np.all(np.isnan(dense(p, jnp.array([jnp.nan, 1.0]))))
