"""Tests of the explicit backprop ([MEDL] Sec. 5.4) and the vanishing/exploding experiment (eqs. 5.34-5.35)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import DenseParams
from mathdl.models import Activation, adjoint_norms, backprop, init_mlp, linear_adjoint_norms, mlp
from tests._oracles import need
from tests._tolerances import tol

ACTS = ["relu", "leaky_relu", "tanh", "sigmoid", "scaled_sigmoid", "softplus", "elu", "gelu", "swish", "silu"]
# jax.numpy forward functions used to build the autodiff reference independently of mathdl.activations
JAX_FORWARD = {
    "relu": jax.nn.relu,
    "leaky_relu": jax.nn.leaky_relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "scaled_sigmoid": lambda u: 2 * jax.nn.sigmoid(u) - 1,
    "softplus": jax.nn.softplus,
    "elu": jax.nn.elu,
    "gelu": lambda u: jax.nn.gelu(u, approximate=False),
    "swish": jax.nn.silu,
    "silu": jax.nn.silu,
}


def _reference_loss(loss, z, y):
    """Losses written with jax.nn / jnp only (no mathdl.losses)."""
    if loss == "softmax_ce":
        return jax.nn.logsumexp(z) - z[y]
    if loss == "sigmoid_bce":
        return jnp.sum(jax.nn.softplus(z) - y * z)
    return jnp.sum((z - y) ** 2)


def _problem(key, loss, widths=(4, 6, 5, 3)):
    k1, k2, k3 = jax.random.split(key, 3)
    params = init_mlp(k1, list(widths), init="glorot_normal")
    params = tuple(
        DenseParams(W, 0.1 * jax.random.normal(k, b.shape))
        for (W, b), k in zip(params, jax.random.split(k3, len(params)), strict=True)
    )
    x = jax.random.normal(k2, (widths[0],))
    if loss == "softmax_ce":
        y = jnp.array(1)
    elif loss == "sigmoid_bce":
        y = jnp.array([1.0, 0.0, 1.0])[: widths[-1]]
    else:
        y = jnp.linspace(-1.0, 1.0, widths[-1])
    return params, x, y


def test_worked_value():
    """By hand: 1-1-1, W1 = 2, W2 = 3, x = 1, y = 0, identity, squared error: δ2 = 2·6 = 12, δ1 = 3·12 = 36."""
    params = (DenseParams(jnp.array([[2.0]]), jnp.zeros(1)), DenseParams(jnp.array([[3.0]]), jnp.zeros(1)))
    grads, deltas = backprop(params, jnp.array([1.0]), jnp.array([0.0]), activation="identity", loss="squared_error")
    np.testing.assert_allclose(deltas[1], [12.0], **tol(np.float64))
    np.testing.assert_allclose(deltas[0], [36.0], **tol(np.float64))
    np.testing.assert_allclose(grads[1].W, [[24.0]], **tol(np.float64))  # g_W = δ a^[1]ᵀ = 12 · 2
    np.testing.assert_allclose(grads[0].W, [[36.0]], **tol(np.float64))  # g_W = δ a^[0]ᵀ = 36 · 1
    np.testing.assert_allclose(grads[0].b, [36.0], **tol(np.float64))


def test_worked_softmax_output_adjoint():
    """[MEDL] Sec. 5.4: δ^[L] = ŷ − e_y; zero weights give ŷ = 1/3 each, so δ = (1/3, −2/3, 1/3)."""
    params = (DenseParams(jnp.zeros((3, 2)), jnp.zeros(3)),)
    _, deltas = backprop(params, jnp.array([1.0, 2.0]), jnp.array(1))
    np.testing.assert_allclose(deltas[0], [1 / 3, -2 / 3, 1 / 3], **tol(np.float64))


@pytest.mark.parametrize("loss", ["softmax_ce", "sigmoid_bce", "squared_error"])
@pytest.mark.parametrize("act", ACTS)
def test_equals_jax_grad(act, loss, getkey):
    """Oracle: jax.grad of the same network written with jax.nn forwards; equal to float64 precision."""
    params, x, y = _problem(getkey(), loss)
    grads, deltas = backprop(params, x, y, activation=act, loss=loss)

    def C(p):
        return _reference_loss(loss, mlp(p, x, activation=JAX_FORWARD[act]), y)

    want = jax.grad(C)(params)
    for g, w in zip(jax.tree.leaves(grads), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, **tol(np.float64, composite=True))
    # δ^[L] = ∂C/∂z^[L]: autodiff with respect to the last bias gives the same vector.
    np.testing.assert_allclose(deltas[-1], want[-1].b, **tol(np.float64, composite=True))


def test_oracle_torch_autograd(getkey):
    """Oracle: torch.autograd on the same tanh network with cross-entropy (integer label)."""
    torch = need("torch")
    params, x, y = _problem(getkey(), "softmax_ce")
    tp = [
        (torch.tensor(np.asarray(W), requires_grad=True), torch.tensor(np.asarray(b), requires_grad=True))
        for W, b in params
    ]
    a = torch.tensor(np.asarray(x))
    for i, (W, b) in enumerate(tp):
        a = W @ a + b
        if i < len(tp) - 1:
            a = torch.tanh(a)
    torch.nn.functional.cross_entropy(a[None], torch.tensor([int(y)])).backward()
    grads, _ = backprop(params, x, y, activation="tanh")
    for (gW, gb), (W, b) in zip(grads, tp, strict=True):
        np.testing.assert_allclose(gW, W.grad.numpy(), **tol(np.float64, composite=True))
        np.testing.assert_allclose(gb, b.grad.numpy(), **tol(np.float64, composite=True))


def test_per_layer_activation_list_and_custom_pair(getkey):
    """Oracle jax.grad: a list of hidden activations, including a custom Activation(σ, σ̇) (cube, 3u²)."""
    params, x, y = _problem(getkey(), "softmax_ce")
    cube = Activation(lambda u: u**3, lambda u: 3 * u**2)
    grads, _ = backprop(params, x, y, activation=[cube, jnp.tanh])
    want = jax.grad(lambda p: _reference_loss("softmax_ce", mlp(p, x, activation=[lambda u: u**3, jnp.tanh]), y))(
        params
    )
    for g, w in zip(jax.tree.leaves(grads), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, **tol(np.float64, composite=True))


def test_transforms(transform, getkey):
    """Transforms: jit == eager; vmap + mean == jax.grad of the mean loss; check_grads of the gradient."""
    params, _, _ = _problem(getkey(), "softmax_ce")
    X = jax.random.normal(getkey(), (5, 4))
    Y = jnp.array([0, 1, 2, 1, 0])
    bp = transform(lambda p, x, y: backprop(p, x, y, activation="tanh"))
    grads, _ = jax.vmap(bp, in_axes=(None, 0, 0))(params, X, Y)
    mean_grads = jax.tree.map(lambda g: g.mean(0), grads)
    want = jax.grad(
        lambda p: jnp.mean(
            jax.vmap(lambda x, y: _reference_loss("softmax_ce", mlp(p, x, activation=jnp.tanh), y))(X, Y)
        )
    )(params)
    for g, w in zip(jax.tree.leaves(mean_grads), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, **tol(np.float64, composite=True))
    loop = [backprop(params, X[i], Y[i], activation="tanh")[0][0].W for i in range(5)]
    np.testing.assert_allclose(grads[0].W, np.stack(loop), **tol(np.float64, composite=True))
    # the explicit gradient is itself differentiable (second order of the loss)
    if transform is jax.jit:  # once per test: check_grads itself does not depend on `transform`
        jax.test_util.check_grads(jax.jit(lambda p: backprop(p, X[0], Y[0], activation="tanh")[0]), (params,), order=1)


@given(st.integers(0, 10_000))
def test_property_linear_shared_weight(seed):
    """Property [MEDL] eq. (5.34): identity activation, no bias, shared W: δ^[ℓ] = (Wᵀ)^{L−ℓ} δ^[L]."""
    key = jax.random.key(seed)
    W = jax.random.normal(key, (3, 3)) / 2
    params = tuple(DenseParams(W, jnp.zeros(3)) for _ in range(5))
    _, deltas = backprop(params, jnp.array([0.3, -0.2, 0.5]), jnp.array(0), activation="identity")
    for ell in range(5):
        want = np.linalg.matrix_power(np.asarray(W).T, 4 - ell) @ np.asarray(deltas[-1])
        np.testing.assert_allclose(deltas[ell], want, **tol(np.float64, composite=True))
    np.testing.assert_allclose(
        adjoint_norms(params, jnp.array([0.3, -0.2, 0.5]), jnp.array(0), activation="identity"),
        [np.linalg.norm(d) for d in deltas],
        **tol(np.float64),
    )


def test_linear_adjoint_norms_eigen():
    """[MEDL] eqs. (5.34)-(5.35): ζ an eigenvector of Wᵀ with eigenvalue λ gives ||ζ|| |λ|^k; a generic ζ ~ ρ(W)^k."""
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    lam = np.array([1.2, 0.9, 0.5, -0.3])
    W = jnp.asarray(Q @ np.diag(lam) @ Q.T)  # symmetric, eigenvalues lam
    norms = linear_adjoint_norms(W, jnp.asarray(Q[:, 1]), depth=10)
    np.testing.assert_allclose(norms, 0.9 ** np.arange(11), **tol(np.float64, composite=True))
    generic = linear_adjoint_norms(W, jnp.ones(4), depth=60)
    rate = generic[-1] / generic[-2]
    np.testing.assert_allclose(rate, 1.2, rtol=1e-4)  # the dominant eigenvalue takes over: explodes at rate ρ
    vanishing = linear_adjoint_norms(W * 0.5, jnp.ones(4), depth=60)
    assert vanishing[-1] < 1e-10  # ρ = 0.6 < 1: ~ 0.6^60 ≈ 5e-14
    np.testing.assert_allclose(
        jax.jit(linear_adjoint_norms, static_argnames="depth")(W, jnp.ones(4), depth=5), generic[:6], **tol(np.float64)
    )


def test_nan_label_out_of_range(getkey):
    """Value problem: an out-of-range label gives NaN adjoints and gradients, not a finite wrong answer."""
    params, x, _ = _problem(getkey(), "softmax_ce")
    grads, deltas = backprop(params, x, jnp.array(7))
    assert np.all(np.isnan(deltas[-1])) and np.all(np.isnan(grads[0].W))


def test_bad_inputs(getkey):
    """Bad inputs of backprop, adjoint_norms and linear_adjoint_norms are refused by name."""
    params, x, y = _problem(getkey(), "softmax_ce")
    with pytest.raises(ValueError, match=r"models.backprop: argument `loss` expected one of"):
        backprop(params, x, y, loss="hinge")
    with pytest.raises(TypeError, match=r"models.backprop: argument `y` expected an integer array"):
        backprop(params, x, jnp.array(1.0))
    with pytest.raises(TypeError, match=r"argument `y` expected a floating-point array"):
        backprop(params, x, jnp.array([1, 0, 1]), loss="squared_error")
    with pytest.raises(ValueError, match=r"argument `y` expected shape \(3,\), got '?shape \(2,\)'?"):
        backprop(params, x, jnp.array([1.0, 0.0]), loss="sigmoid_bce")
    with pytest.raises(
        ValueError, match=r"argument `activation` expected a name, a known activation or models.Activation"
    ):
        backprop(params, x, y, activation=lambda u: u**2)
    with pytest.raises(ValueError, match=r"argument `activation` expected a list of 2 hidden activations"):
        backprop(params, x, y, activation=["tanh"] * 3)
    with pytest.raises(ValueError, match=r"argument `x` expected shape \(4,\)"):
        backprop(params, jnp.ones(3), y)
    with pytest.raises(ValueError, match=r"models.adjoint_norms: argument `loss` expected one of"):
        adjoint_norms(params, x, y, loss="l1")
    with pytest.raises(ValueError, match=r"models.linear_adjoint_norms: argument `W` expected a square matrix"):
        linear_adjoint_norms(jnp.ones((2, 3)), jnp.ones(2), depth=2)
    with pytest.raises(ValueError, match=r"models.backprop: argument `x` expected one example of shape \(N_0,\)"):
        backprop(params, jnp.ones((2, 4)), y)
    with pytest.raises(TypeError, match=r"models.backprop: argument `y` expected dtype float64"):
        backprop(params, x, jnp.ones(3, jnp.float32), loss="squared_error")
    with pytest.raises(ValueError, match=r"argument `zeta` expected shape \(2,\)"):
        linear_adjoint_norms(jnp.ones((2, 2)), jnp.ones(3), depth=2)
    with pytest.raises(ValueError, match=r"argument `depth` expected a value >= 0, got -1"):
        linear_adjoint_norms(jnp.ones((2, 2)), jnp.ones(2), depth=-1)
    with pytest.raises(TypeError, match=r"argument `depth` expected an int"):
        linear_adjoint_norms(jnp.ones((2, 2)), jnp.ones(2), depth=2.0)
