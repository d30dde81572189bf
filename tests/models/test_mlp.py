"""Tests of mathdl.models.init_mlp / mlp / mlp_forward / count_params ([MEDL] Sec. 5.1)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import DenseParams
from mathdl.models import count_params, init_mlp, mlp, mlp_forward
from tests._oracles import need
from tests._tolerances import tol


def test_worked_value():
    """By hand: 1-2-1 network, W1 = [[1], [-1]], b1 = 0, W2 = [[1, 1]], b2 = 0.5 -> ŷ = |x| + 0.5 with ReLU."""
    params = (
        DenseParams(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
        DenseParams(jnp.array([[1.0, 1.0]]), jnp.array([0.5])),
    )
    for x in (-2.0, 0.0, 3.0):
        np.testing.assert_allclose(mlp(params, jnp.array([x])), [abs(x) + 0.5], **tol(np.float64))


def test_count_params_worked_and_pytree(getkey):
    """[MEDL] Sec. 5.1: Σ N_ℓ(N_{ℓ-1}+1); 784-512-512-10 by hand = 401920 + 262656 + 5130 = 669706 = pytree size."""
    assert count_params([784, 512, 512, 10]) == 669706
    for widths in ([2, 3], [5, 4, 3, 2], [1, 7, 7, 7, 1]):
        params = init_mlp(getkey(), widths)
        assert count_params(widths) == sum(leaf.size for leaf in jax.tree.leaves(params))


def test_oracle_torch_sequential(getkey):
    """Oracle: torch.nn.Sequential(Linear, Tanh, Linear, Tanh, Linear) with the same weights."""
    torch = need("torch")
    widths = [4, 6, 5, 3]
    params = init_mlp(getkey(), widths, init="glorot_normal")
    layers = []
    for ell, (W, b) in enumerate(params):
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(np.asarray(W)))
            lin.bias.copy_(torch.tensor(np.asarray(b)))
        layers.append(lin)
        if ell < len(params) - 1:
            layers.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*layers)
    X = jax.random.normal(getkey(), (8, 4))
    want = net(torch.tensor(np.asarray(X))).detach().numpy()
    got = jax.vmap(lambda x: mlp(params, x, activation=jnp.tanh))(X)
    np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))


def test_forward_trace_numpy_loop(getkey):
    """Oracle: a NumPy loop of z = W a + b, a = max(z, 0); trace has L z's and L+1 a's (a[0] = x)."""
    params = init_mlp(getkey(), [3, 4, 4, 2])
    x = jax.random.normal(getkey(), (3,))
    trace = mlp_forward(params, x)
    a = np.asarray(x)
    assert len(trace.z) == 3 and len(trace.a) == 4
    for ell, (W, b) in enumerate(params):
        z = np.asarray(W) @ a + np.asarray(b)
        a = np.maximum(z, 0.0) if ell < 2 else z
        np.testing.assert_allclose(trace.z[ell], z, **tol(np.float64))
        np.testing.assert_allclose(trace.a[ell + 1], a, **tol(np.float64))
    np.testing.assert_array_equal(trace.a[0], x)


def test_per_layer_activations(getkey):
    """Per-layer sequence: L-1 entries (output linear) and L entries (output activation) both honoured."""
    params = init_mlp(getkey(), [2, 3, 3, 1])
    x = jnp.array([0.3, -0.7])
    h = jnp.tanh(params[0].W @ x + params[0].b)
    h = jax.nn.relu(params[1].W @ h + params[1].b)
    out = params[2].W @ h + params[2].b
    np.testing.assert_allclose(mlp(params, x, activation=[jnp.tanh, "relu"]), out, **tol(np.float64))
    np.testing.assert_allclose(
        mlp(params, x, activation=[jnp.tanh, jax.nn.relu, jax.nn.sigmoid]), jax.nn.sigmoid(out), **tol(np.float64)
    )


def test_transforms(getkey, transform):
    """Transforms: jit == eager, vmap == loop, jax.grad of the last bias = 1 (∂ŷ/∂b^[L]), check_grads order 2."""
    params = init_mlp(getkey(), [3, 5, 1])
    X = jax.random.normal(getkey(), (6, 3))
    f = transform(jax.vmap(lambda p, x: mlp(p, x, activation=jnp.tanh), in_axes=(None, 0)))
    loop = np.stack([mlp(params, x, activation=jnp.tanh) for x in X])
    np.testing.assert_allclose(f(params, X), loop, **tol(np.float64, composite=True))
    g = jax.grad(lambda p: mlp(p, X[0], activation=jnp.tanh)[0])(params)
    np.testing.assert_allclose(g[-1].b, [1.0], **tol(np.float64))
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda p: mlp(p, X[0], activation=jnp.tanh)), (params,), order=2)


@given(st.floats(0.1, 10.0))
def test_relu_positive_homogeneity(c):
    """Property: a bias-free ReLU network is positively homogeneous, f(c x) = c f(x) for c > 0."""
    params = init_mlp(jax.random.key(3), [3, 8, 8, 2])
    x = jnp.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(mlp(params, c * x), c * mlp(params, x), **tol(np.float64, composite=True))


def test_init_keys_differ_per_layer(getkey):
    """Property: layers of equal shape get independent draws (no key reuse across layers)."""
    params = init_mlp(getkey(), [4, 4, 4, 4])
    assert not np.allclose(params[0].W, params[1].W) and not np.allclose(params[1].W, params[2].W)


def test_bad_inputs(getkey):
    """Bad inputs: mismatched widths, wrong x, bad widths and activation lists are refused by name."""
    params = init_mlp(getkey(), [3, 4, 2])
    bad = (params[0], DenseParams(jnp.zeros((2, 5)), jnp.zeros(2)))
    with pytest.raises(
        ValueError, match=r"models.mlp: argument `params\[1\].W` expected shape \(2, 4\), got shape \(2, 5\)"
    ):
        mlp(bad, jnp.ones(3))
    with pytest.raises(
        ValueError,
        match=r"models.mlp: argument `x` expected one example of shape \(N_0,\); for a batch use jax.vmap, "
        r"got shape \(5, 3\)",
    ):
        mlp(params, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match=r"models.mlp_forward: argument `x` expected one example"):
        mlp_forward(params, jnp.ones((5, 3)))
    with pytest.raises(TypeError, match=r"models.init_mlp: argument `key` expected a typed PRNG key.*a raw key"):
        init_mlp(jax.random.PRNGKey(0), [3, 2])
    np.testing.assert_allclose(mlp(params, [1.0, 2.0, 3.0]), mlp(params, jnp.array([1.0, 2.0, 3.0])))
    with pytest.raises(ValueError, match=r"models.mlp: argument `x` expected shape \(3,\), got '?shape \(2,\)"):
        mlp(params, jnp.ones(2))
    with pytest.raises(ValueError, match=r"models.init_mlp: argument `widths` expected at least two widths"):
        init_mlp(getkey(), [3])
    with pytest.raises(ValueError, match=r"argument `widths` expected positive ints, got \(3, 0, 2\)"):
        init_mlp(getkey(), [3, 0, 2])
    with pytest.raises(ValueError, match=r"argument `activation` expected a sequence of 1 \(hidden\) or 2"):
        mlp(params, jnp.ones(3), activation=[jnp.tanh] * 3)
    with pytest.raises(ValueError, match=r"argument `activation` expected one of"):
        mlp(params, jnp.ones(3), activation="swishy")
    with pytest.raises(TypeError, match=r"argument `params\[0\]` expected DenseParams"):
        mlp(((jnp.zeros((2, 3)), jnp.zeros(2)),), jnp.ones(3))
    with pytest.raises(TypeError, match=r"models.count_params: argument `widths` expected a sequence"):
        count_params(5)
