"""Tests of mathdl.layers recurrent layers: rnn, lstm, gru, stacked, bidirectional ([MEDL] Sec. 7.2-7.3)."""

import math

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import layers
from mathdl.layers import (
    GRUParams,
    LSTMParams,
    RNNParams,
    bidirectional,
    gru,
    gru_param_count,
    gru_step,
    init_bidirectional,
    init_gru,
    init_lstm,
    init_rnn,
    init_stacked,
    lstm,
    lstm_param_count,
    lstm_step,
    recurrent,
    rnn,
    rnn_param_count,
    rnn_step,
    stacked,
)
from tests._oracles import need
from tests._tolerances import tol

T, P, M = 5, 3, 4


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _np(params):
    return jax.tree.map(np.asarray, params)


def _gru_book_loop(params, x, h0):
    """The book's GRU (7.18)-(7.19) written from the equations, one step at a time in NumPy."""
    q = _np(params)
    h, H = np.asarray(h0), []
    for x_t in np.asarray(x):
        g_r = _sig(q.W_h[0] @ h + q.W_x[0] @ x_t + q.b[0])
        g_u = _sig(q.W_h[1] @ h + q.W_x[1] @ x_t + q.b[1])
        h_tilde = np.tanh(q.W_h[2] @ (g_r * h) + q.W_x[2] @ x_t + q.b[2])
        h = (1 - g_u) * h + g_u * h_tilde
        H.append(h)
    return np.stack(H), h


def _lstm_loop(params, x):
    q = _np(params)
    h = c = np.zeros(q.W_h.shape[1])
    H = []
    for x_t in np.asarray(x):
        a = [q.W_h[k] @ h + q.W_x[k] @ x_t + q.b[k] for k in range(4)]
        c = _sig(a[0]) * c + _sig(a[1]) * np.tanh(a[3])
        h = _sig(a[2]) * np.tanh(c)
        H.append(h)
    return np.stack(H), (h, c)


def test_worked_value_rnn():
    """By hand: p = m = 1, W_hx = 1, W_hh = 0.5, b = 0, x = (1, 0): h1 = tanh 1, h2 = tanh(0.5 tanh 1)."""
    params = RNNParams(jnp.array([[1.0]]), jnp.array([[0.5]]), jnp.array([0.0]))
    H, h_T = rnn(params, jnp.array([[1.0], [0.0]]))
    h1 = np.tanh(1.0)
    np.testing.assert_allclose(H[:, 0], [h1, np.tanh(0.5 * h1)], **tol(np.float64))
    np.testing.assert_allclose(h_T, H[-1], **tol(np.float64))


def test_worked_value_lstm_and_gru():
    """By hand with zero weights: LSTM c1 = 0.5 tanh(0) ... use b: b_i = b_c = big -> c1 = 1, h1 = sig(0) tanh 1.

    GRU with zero weights and b_u = 0, b_h~ = atanh(0.5): h1 = 0.5 * 0.5 = 0.25 (update half way to 0.5).
    """
    z4 = jnp.zeros((4, 1, 1))
    b = jnp.array([[0.0], [40.0], [0.0], [40.0]])  # g_i = 1, c~ = 1
    H, (h, c) = lstm(LSTMParams(z4, z4, b), jnp.zeros((1, 1)))
    np.testing.assert_allclose(c, [1.0], **tol(np.float64))
    np.testing.assert_allclose(h, [0.5 * np.tanh(1.0)], **tol(np.float64))
    z3 = jnp.zeros((3, 1, 1))
    bg = jnp.array([[0.0], [0.0], [np.arctanh(0.5)]])
    H, h = gru(GRUParams(z3, z3, bg), jnp.zeros((1, 1)))
    np.testing.assert_allclose(h, [0.25], **tol(np.float64))


def test_oracle_torch_rnn(getkey):
    """Oracle: torch.nn.RNN (tanh) in float64 with bias_ih = b_h, bias_hh = 0, and a given h0."""
    torch = need("torch")
    params = init_rnn(getkey(), P, M)
    params = params._replace(b_h=jax.random.normal(getkey(), (M,)))
    x, h0 = jax.random.normal(getkey(), (T, P)), jax.random.normal(getkey(), (M,))
    net = torch.nn.RNN(P, M).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(np.asarray(params.W_hx)))
        net.weight_hh_l0.copy_(torch.tensor(np.asarray(params.W_hh)))
        net.bias_ih_l0.copy_(torch.tensor(np.asarray(params.b_h)))
        net.bias_hh_l0.zero_()
        want, _ = net(torch.tensor(np.asarray(x)), torch.tensor(np.asarray(h0))[None])
    H, h_T = rnn(params, x, h0=h0)
    np.testing.assert_allclose(H, want.numpy(), **tol(np.float64, composite=True))


def test_oracle_torch_lstm(getkey):
    """Oracle: torch.nn.LSTM, its gates i, f, g, o = our rows [1, 0, 3, 2]; its two biases sum to our b."""
    torch = need("torch")
    params = init_lstm(getkey(), P, M)
    params = params._replace(b=jax.random.normal(getkey(), (4, M)))
    x = jax.random.normal(getkey(), (T, P))
    order = np.array([1, 0, 3, 2])
    net = torch.nn.LSTM(P, M).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(np.asarray(params.W_x[order]).reshape(4 * M, P)))
        net.weight_hh_l0.copy_(torch.tensor(np.asarray(params.W_h[order]).reshape(4 * M, M)))
        net.bias_ih_l0.copy_(torch.tensor(np.asarray(params.b[order]).reshape(-1) - 0.25))
        net.bias_hh_l0.fill_(0.25)
        want, (h_n, c_n) = net(torch.tensor(np.asarray(x)))
    H, (h, c) = lstm(params, x)
    np.testing.assert_allclose(H, want.numpy(), **tol(np.float64, composite=True))
    np.testing.assert_allclose(c, c_n.numpy()[0], **tol(np.float64, composite=True))
    np.testing.assert_allclose(H, _lstm_loop(params, x)[0], **tol(np.float64, composite=True))


def test_oracle_torch_gru_pytorch_convention(getkey):
    """Oracle: torch.nn.GRU equals convention="pytorch" (b = bias_ih + bias_hh on r, z; b_hn = bias_hh[n])."""
    torch = need("torch")
    params = init_gru(getkey(), P, M, convention="pytorch")
    params = params._replace(b=jax.random.normal(getkey(), (3, M)), b_hn=jax.random.normal(getkey(), (M,)))
    x = jax.random.normal(getkey(), (T, P))
    b_ih = np.asarray(params.b).copy()
    b_hh = np.zeros((3, M))
    b_hh[2] = np.asarray(params.b_hn)
    net = torch.nn.GRU(P, M).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(np.asarray(params.W_x).reshape(3 * M, P)))
        net.weight_hh_l0.copy_(torch.tensor(np.asarray(params.W_h).reshape(3 * M, M)))
        net.bias_ih_l0.copy_(torch.tensor(b_ih.reshape(-1)))
        net.bias_hh_l0.copy_(torch.tensor(b_hh.reshape(-1)))
        want, _ = net(torch.tensor(np.asarray(x)))
    H, _ = gru(params, x, convention="pytorch")
    np.testing.assert_allclose(H, want.numpy(), **tol(np.float64, composite=True))


def test_oracle_gru_book_numpy_loop(getkey):
    """Oracle: the book's GRU against a NumPy loop of (7.18)-(7.19), with h0 given."""
    params = init_gru(getkey(), P, M)
    params = params._replace(b=jax.random.normal(getkey(), (3, M)))
    x, h0 = jax.random.normal(getkey(), (T, P)), jax.random.normal(getkey(), (M,))
    H, h_T = gru(params, x, h0=h0)
    want_H, want_h = _gru_book_loop(params, x, h0)
    np.testing.assert_allclose(H, want_H, **tol(np.float64, composite=True))
    np.testing.assert_allclose(h_T, want_h, **tol(np.float64, composite=True))


def test_gru_conventions_agree_where_they_should(getkey):
    """Property: book == pytorch when W_hn is diagonal, b_hn = 0 and the update block is negated; else not."""
    params = init_gru(getkey(), P, M)
    params = params._replace(W_h=params.W_h.at[2].set(jnp.diag(jnp.diag(params.W_h[2]))))
    x = jax.random.normal(getkey(), (T, P))
    flip = jnp.array([1.0, -1.0, 1.0])[:, None]
    torch_style = GRUParams(params.W_x * flip[..., None], params.W_h * flip[..., None], params.b * flip, jnp.zeros(M))
    H_book, _ = gru(params, x)
    H_pt, _ = gru(torch_style, x, convention="pytorch")
    np.testing.assert_allclose(H_book, H_pt, **tol(np.float64, composite=True))
    full = init_gru(getkey(), P, M)
    assert not np.allclose(gru(full, x)[0], gru(full._replace(b_hn=jnp.zeros(M)), x, convention="pytorch")[0])


def test_steps_equal_the_scan(getkey):
    """Contract: the one-step functions, iterated, give the scans' states (the decoding path)."""
    x = jax.random.normal(getkey(), (T, P))
    pr, pl, pg = init_rnn(getkey(), P, M), init_lstm(getkey(), P, M), init_gru(getkey(), P, M)
    h, s, g = jnp.zeros(M), (jnp.zeros(M), jnp.zeros(M)), jnp.zeros(M)
    for x_t in x:
        h, s, g = rnn_step(pr, h, x_t), lstm_step(pl, s, x_t), gru_step(pg, g, x_t)
    np.testing.assert_allclose(h, rnn(pr, x)[1], **tol(np.float64, composite=True))
    np.testing.assert_allclose(s[1], lstm(pl, x)[1][1], **tol(np.float64, composite=True))
    np.testing.assert_allclose(g, gru(pg, x)[1], **tol(np.float64, composite=True))


def test_mask_keeps_state_and_empty_sequence(getkey):
    """Property: a right-padded sequence ends in the state of its last real step; T = 0 returns h0."""
    x = jax.random.normal(getkey(), (T, P))
    mask = jnp.arange(T) < 3
    h0 = jax.random.normal(getkey(), (M,))
    for p_ in (init_rnn(getkey(), P, M), init_gru(getkey(), P, M), init_lstm(getkey(), P, M)):
        s0 = (h0, h0) if isinstance(p_, LSTMParams) else h0
        H, fin = recurrent(p_, x, mask=mask, state0=s0)
        H3, fin3 = recurrent(p_, x[:3], state0=s0)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol(np.float64)), fin, fin3)
        np.testing.assert_allclose(H[3:], np.broadcast_to(H3[-1], (2, M)), **tol(np.float64))
        # reverse under a mask starts at the last real step
        Hr, _ = recurrent(p_, x, mask=mask, reverse=True, state0=s0)
        Hr3, _ = recurrent(p_, x[:3], reverse=True, state0=s0)
        np.testing.assert_allclose(Hr[:3], Hr3, **tol(np.float64, composite=True))
        H0, fin0 = recurrent(p_, jnp.zeros((0, P)), state0=s0)
        assert H0.shape == (0, M)
        jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), fin0, s0)


def test_reverse_is_the_flipped_sequence(getkey):
    """Property: reverse=True equals running on x[::-1] and flipping H back."""
    p_ = init_lstm(getkey(), P, M)
    x = jax.random.normal(getkey(), (T, P))
    Hr, _ = lstm(p_, x, reverse=True)
    Hf, _ = lstm(p_, x[::-1])
    np.testing.assert_allclose(Hr, Hf[::-1], **tol(np.float64, composite=True))


def test_stacked_and_bidirectional(getkey):
    """Contract: stacking passes h (not c) upward; bidirectional concatenates forward and reverse states."""
    x = jax.random.normal(getkey(), (T, P))
    params = init_stacked(getkey(), P, (M, 2), cell="lstm")
    H, finals = stacked(params, x)
    H1, _ = lstm(params[0], x)
    H2, fin2 = lstm(params[1], H1)
    np.testing.assert_allclose(H, H2, **tol(np.float64))
    assert H.shape == (T, 2) and len(finals) == 2
    bp = init_bidirectional(getkey(), P, M, cell="gru")
    V, (f, r) = bidirectional(bp, x)
    assert V.shape == (T, 2 * M)
    np.testing.assert_allclose(V[:, :M], gru(bp.forward, x)[0], **tol(np.float64))
    np.testing.assert_allclose(V[:, M:], gru(bp.reverse, x, reverse=True)[0], **tol(np.float64))
    np.testing.assert_allclose(r, V[0, M:], **tol(np.float64))


def test_param_counts_match_the_pytrees(getkey):
    """Contract: the count formulas equal the pytree sizes; the book's counts with an output layer."""

    def size(init, **kw):  # the pytree's shapes from jax.eval_shape: nothing compiled or allocated
        return sum(math.prod(a.shape) for a in jax.tree.leaves(jax.eval_shape(lambda k: init(k, 3, 5, **kw), getkey())))

    assert size(init_rnn) == rnn_param_count(3, 5) == 25 + 15 + 5
    assert size(init_lstm) == lstm_param_count(3, 5) == 4 * 45
    assert size(init_gru) == gru_param_count(3, 5) == 3 * 45
    assert size(init_gru, convention="pytorch") == gru_param_count(3, 5, convention="pytorch")
    assert lstm_param_count(3, 5, q=2) == 4 * 45 + 12  # + W_yh (2 x 5) + b_y
    torch = need("torch")
    assert sum(t.numel() for t in torch.nn.GRU(3, 5).parameters()) == gru_param_count(3, 5, convention="pytorch") + 10


def test_hoisted_projection_is_one_matmul(getkey):
    """Program: the input projection is a single dot_general outside the scan (the step has one more)."""
    p_ = init_lstm(getkey(), P, M)
    jaxpr = jax.make_jaxpr(lambda q, x: lstm(q, x))(p_, jnp.ones((T, P)))
    top = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert top.count("dot_general") == 1 and "scan" in top
    assert top.index("dot_general") < top.index("scan")


def test_jit_vmap_grad(getkey, transform):
    """Transforms: jit == eager; vmap over a batch == loop; unroll does not change values; check_grads order 2."""
    p_ = init_gru(getkey(), P, M)
    X = jax.random.normal(getkey(), (2, T, P))
    f = transform(jax.vmap(lambda x: gru(p_, x)[0]))
    np.testing.assert_allclose(f(X), np.stack([gru(p_, x)[0] for x in X]), **tol(np.float64, composite=True))
    np.testing.assert_allclose(gru(p_, X[0], unroll=3)[0], gru(p_, X[0])[0], **tol(np.float64))
    if transform is jax.jit:
        x = X[0, :3, :2]
        cells = (init_rnn(getkey(), 2, 2), init_lstm(getkey(), 2, 2), init_gru(getkey(), 2, 2))
        # all three cells in one compiled function, reverse mode only (order 2): one compile
        f = jax.jit(lambda qs, x: [recurrent(q, x)[0] for q in qs])
        jax.test_util.check_grads(f, (cells, x), order=2, modes=["rev"])


def test_bad_inputs(getkey):
    """Bad inputs: a batch (vmap hint), a wrong width, a bad mask, dtype mixes, conventions, unroll."""
    p_ = init_rnn(getkey(), P, M)
    with pytest.raises(
        ValueError, match=r"layers.rnn: argument `x` expected one example of shape \(T, p\); for a batch use jax.vmap"
    ):
        rnn(p_, jnp.ones((2, T, P)))
    with pytest.raises(
        ValueError, match=r"layers.rnn: argument `x` expected shape \(T, 3\)|argument `x` expected shape"
    ):
        rnn(p_, jnp.ones((T, P + 1)))
    with pytest.raises(ValueError, match=r"argument `mask` expected shape"):
        rnn(p_, jnp.ones((T, P)), mask=jnp.ones(T + 1, bool))
    with pytest.raises(TypeError, match=r"argument `mask` expected a boolean array"):
        rnn(p_, jnp.ones((T, P)), mask=jnp.ones(T))
    with pytest.raises(TypeError, match=r"layers.rnn: argument `x` expected dtype float64"):
        rnn(p_, jnp.ones((T, P), jnp.float32))
    with pytest.raises(ValueError, match=r"layers.lstm: argument `state0` expected a pair"):
        lstm(init_lstm(getkey(), P, M), jnp.ones((T, P)), state0=jnp.zeros(M))
    with pytest.raises(ValueError, match=r"layers.gru: argument `convention`"):
        gru(init_gru(getkey(), P, M), jnp.ones((T, P)), convention="flax")
    with pytest.raises(ValueError, match=r"layers.gru: argument `params.b_hn` expected None"):
        gru(init_gru(getkey(), P, M, convention="pytorch"), jnp.ones((T, P)))
    with pytest.raises(ValueError, match=r"argument `unroll` expected a positive int"):
        rnn(p_, jnp.ones((T, P)), unroll=0)
    with pytest.raises(TypeError, match=r"layers.recurrent: argument `params` expected RNNParams"):
        recurrent({"W": 1}, jnp.ones((T, P)))
    with pytest.raises(ValueError, match=r"layers.init_stacked: argument `cell`"):
        init_stacked(getkey(), P, (M,), cell="transformer")
    with pytest.raises(ValueError, match=r"layers.init_stacked: argument `widths` expected a sequence"):
        init_stacked(getkey(), P, M)
    with pytest.raises(ValueError, match=r"layers.lstm_param_count: argument `m` expected a positive int"):
        lstm_param_count(3, 0)
    assert layers.rnn is rnn


def test_gate_traces():
    """Contract: lstm_gates/gru_gates replay the layers (h == H, c == the cell state); gates in (0, 1); u = 1 - z."""
    key = jax.random.key(5)
    x = jax.random.normal(key, (T, P))
    mask = jnp.arange(T) < 4
    pl = init_lstm(jax.random.key(6), P, M)
    g = jax.jit(layers.lstm_gates)(pl, x, mask=mask)
    H, (h, c) = lstm(pl, x, mask=mask)
    np.testing.assert_allclose(g.h, H, **tol(np.float64, composite=True))
    np.testing.assert_allclose(g.c[-1], c, **tol(np.float64, composite=True))
    assert np.all((g.f > 0) & (g.f < 1)) and g.c_tilde.shape == (T, M)
    for conv in ("book", "pytorch"):
        pg = init_gru(jax.random.key(7), P, M, convention=conv)
        gg = layers.gru_gates(pg, x, convention=conv)
        np.testing.assert_allclose(gg.h, gru(pg, x, convention=conv)[0], **tol(np.float64, composite=True))
        h_prev = np.vstack([np.zeros(M), gg.h[:-1]])
        np.testing.assert_allclose(gg.h, (1 - gg.u) * h_prev + gg.u * gg.h_tilde, **tol(np.float64, composite=True))
