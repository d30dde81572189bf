"""Tests of mathdl.models BPTT for the Elman RNN ([MEDL] Sec. 7.2, eqs. (7.6)-(7.12))."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import optax
import pytest

from mathdl import layers
from mathdl.layers import DenseParams, RNNParams
from mathdl.models import ElmanParams, bptt_adjoint_norms, elman, elman_loss, init_elman, rnn_bptt
from tests._tolerances import tol

T, P, M, Q = 6, 3, 4, 5

# jitted once per module: every test reuses these compiled programs (tests are cheap in compiles)
_bptt = jax.jit(rnn_bptt, static_argnames=("truncate", "clip_norm", "activation"))
_norms = jax.jit(bptt_adjoint_norms, static_argnames=("T", "m", "p", "q", "matrix", "activation", "dtype"))


@pytest.fixture
def problem(getkey):
    params = init_elman(getkey(), P, M, Q)
    params = params._replace(rnn=params.rnn._replace(b_h=0.1 * jax.random.normal(getkey(), (M,))))
    x = jax.random.normal(getkey(), (T, P))
    y = jax.random.randint(getkey(), (T,), 0, Q)
    return params, x, y


def _close(a, b, **kw):
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, **kw), a, b)


def test_worked_value_one_step():
    """By hand: T = 1, p = m = 1, q = 2, W_yh = [1, -1]^T, all else 0 except W_hx = 1, x = 1, y = 0.

    h = tanh 1; logits (h, -h); yhat_0 = sigmoid(2h); zeta = W_yh^T (yhat - e_0) = (yhat_0 - 1) - yhat_1
    = 2 (yhat_0 - 1); g_W_hx = (1 - h^2) zeta x.
    """
    params = ElmanParams(
        RNNParams(jnp.array([[1.0]]), jnp.array([[0.0]]), jnp.array([0.0])),
        DenseParams(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
    )
    res = rnn_bptt(params, jnp.array([[1.0]]), jnp.array([0]))
    h = np.tanh(1.0)
    yhat0 = 1 / (1 + np.exp(-2 * h))
    zeta = 2 * (yhat0 - 1)
    np.testing.assert_allclose(res.zeta[:, 0], [zeta], **tol(np.float64))
    np.testing.assert_allclose(res.grads.rnn.W_hx[0, 0], (1 - h**2) * zeta, **tol(np.float64))
    np.testing.assert_allclose(res.loss, -np.log(yhat0), **tol(np.float64))


def test_equals_jax_grad_with_adjoints(problem, getkey):
    """Oracle: gradients == jax.grad of the loss (1e-12); zeta<t> == dC/dh<t> by a perturbation of h<t>."""
    params, x, y = problem
    h0 = jax.random.normal(getkey(), (M,))
    w = jnp.array([1.0, 1.0, 0.0, 1.0, 0.5, 1.0])
    res = _bptt(params, x, y, h0=h0, weights=w)
    g = jax.jit(jax.grad(lambda q, h: elman_loss(q, x, y, h0=h, weights=w), argnums=(0, 1)))(params, h0)
    _close(res.grads, g[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.grad_h0, g[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.loss, elman_loss(params, x, y, h0=h0, weights=w), **tol(np.float64))

    # zeta<t> = dC/dh<t>: add a perturbation e to h<t> inside the recursion and differentiate in e
    def loss_with_kick(E):
        def step(h, inp):
            x_t, e_t = inp
            h = jnp.tanh(params.rnn.W_hh @ h + params.rnn.W_hx @ x_t + params.rnn.b_h) + e_t
            return h, h

        _, H = jax.lax.scan(step, h0, (x, E))
        logits = H @ params.out.W.T + params.out.b[None, :]
        ce = jax.nn.logsumexp(logits, axis=-1) - logits[jnp.arange(T), y]
        return jnp.sum(w * ce) / jnp.sum(w)

    kick = jax.jit(jax.grad(loss_with_kick))(jnp.zeros((T, M)))
    np.testing.assert_allclose(res.zeta, kick, rtol=1e-12, atol=1e-12)


def test_truncated_bptt_equals_stop_gradient(problem):
    """Oracle: truncate=k == jax.grad with lax.stop_gradient on the state entering each k-window."""
    params, x, y = problem

    def loss(q, k):
        h, rows = jnp.zeros(M), []
        for t in range(T):
            if t % k == 0:
                h = jax.lax.stop_gradient(h)
            h = jnp.tanh(q.rnn.W_hh @ h + q.rnn.W_hx @ x[t] + q.rnn.b_h)
            rows.append(h)
        logits = jnp.stack(rows) @ q.out.W.T + q.out.b[None, :]
        return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - logits[jnp.arange(T), y])

    for k in (1, 4):
        want = jax.jit(jax.grad(loss), static_argnums=1)(params, k)
        _close(_bptt(params, x, y, truncate=k).grads, want, rtol=1e-12, atol=1e-12)
    _close(_bptt(params, x, y, truncate=T).grads, _bptt(params, x, y).grads, rtol=1e-12, atol=1e-12)


def test_clipping_uses_optax(problem):
    """Library first: clip_norm == optax.clip_by_global_norm; the same clip inside an optax chain."""
    params, x, y = problem
    full = _bptt(params, x, y).grads
    norm = optax.tree.norm(full)
    clipped = _bptt(params, x, y, clip_norm=0.5 * float(norm)).grads
    np.testing.assert_allclose(optax.tree.norm(clipped), 0.5 * norm, **tol(np.float64))
    _close(clipped, jax.tree.map(lambda g: 0.5 * g, full), **tol(np.float64))
    opt = optax.chain(optax.clip_by_global_norm(0.5 * float(norm)), optax.sgd(1.0))
    updates, _ = opt.update(full, opt.init(params))
    _close(updates, jax.tree.map(lambda g: -g, clipped), **tol(np.float64))


def test_vanishing_and_exploding(getkey):
    """Property (7.12): below radius 1 the adjoint norms decay backwards in time, above it they grow.

    Orthogonal W_hh with the identity activation: ||zeta<t>|| / ||zeta<t+1>|| = rho exactly.
    """
    for rho in (0.5, 1.5):  # rho is traced: one compile for both
        n = np.asarray(_norms(getkey(), spectral_radius=rho, T=12, m=6))
        np.testing.assert_allclose(n[:-1] / n[1:], rho, rtol=1e-10)
    big = _norms(getkey(), spectral_radius=1.5, T=30, m=6, matrix="gaussian")  # non-normal: growth asymptotically
    assert big[0] > 1e2 * big[-1]


def test_jit_vmap_grad(problem, transform):
    """Transforms: jit == eager; vmap over sequences == loop; grads of BPTT itself (order-2 check) in float64."""
    params, x, y = problem
    f = transform(lambda q, x, y: rnn_bptt(q, x, y).grads)
    _close(f(params, x, y), _bptt(params, x, y).grads, **tol(np.float64, composite=True))
    X, Y = jnp.stack([x, x[::-1]]), jnp.stack([y, y[::-1]])
    batched = jax.jit(jax.vmap(lambda x, y: rnn_bptt(params, x, y).loss))(X, Y)
    np.testing.assert_allclose(
        batched, [_bptt(params, a, b).loss for a, b in zip(X, Y, strict=True)], **tol(np.float64)
    )
    if transform is jax.jit:
        small = init_elman(jax.random.key(3), 2, 2, 2)
        jax.test_util.check_grads(
            jax.jit(lambda q: rnn_bptt(q, x[:3, :2], y[:3] % 2).loss), (small,), order=2, modes=["rev"]
        )


def test_forward_matches_the_layer(problem):
    """Contract: elman's states are layers.rnn's; its logits the output layer on every row."""
    params, x, y = problem
    logits, H = elman(params, x)
    np.testing.assert_allclose(H, layers.rnn(params.rnn, x)[0], **tol(np.float64))
    np.testing.assert_allclose(logits[2], params.out.W @ H[2] + params.out.b, **tol(np.float64))
    assert _bptt(params, x, y, weights=jnp.zeros(T)).loss == 0.0


def test_bad_inputs(problem):
    """Bad inputs: a batch (vmap hint), wrong params type, bad truncate / clip / weights / radius."""
    params, x, y = problem
    with pytest.raises(ValueError, match=r"models.rnn_bptt: argument `x` expected one example of shape \(T, p\)"):
        rnn_bptt(params, x[None], y)
    with pytest.raises(TypeError, match=r"models.rnn_bptt: argument `params` expected ElmanParams"):
        rnn_bptt(params.rnn, x, y)
    with pytest.raises(ValueError, match=r"argument `y` expected shape"):
        rnn_bptt(params, x, y[:-1])
    with pytest.raises(ValueError, match=r"argument `truncate` expected a positive int"):
        rnn_bptt(params, x, y, truncate=0)
    with pytest.raises(ValueError, match=r"argument `clip_norm`"):
        rnn_bptt(params, x, y, clip_norm=-1.0)
    with pytest.raises(ValueError, match=r"argument `weights` expected shape"):
        rnn_bptt(params, x, y, weights=jnp.ones(T + 1))
    with pytest.raises(ValueError, match=r"models.bptt_adjoint_norms: argument `spectral_radius`"):
        bptt_adjoint_norms(jax.random.key(0), spectral_radius=0.0)
