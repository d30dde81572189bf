"""Tests of mathdl.models recurrent language models: init_rnn_lm, rnn_lm, rnn_lm_step, lm_loss ([MEDL] Sec. 7.2-7.3)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import layers, models
from mathdl.models import RNNLMParams, init_rnn_lm, lm_loss, rnn_lm, rnn_lm_init_state, rnn_lm_step
from tests._oracles import need
from tests._tolerances import tol

V = 7
TOKENS = jnp.array([1, 4, 2, 6, 0, 3])


def _lm(cell, num_layers=2, seed=0):
    return init_rnn_lm(jax.random.key(seed), V, cell=cell, embed_dim=3, hidden=4, num_layers=num_layers)


_forward = jax.jit(rnn_lm)


def test_worked_value_loss():
    """By hand: uniform logits over V classes give C = log V; a masked position counts nothing."""
    logits = jnp.zeros((3, V))
    np.testing.assert_allclose(lm_loss(logits, jnp.array([0, 1, 2])), np.log(V), **tol(np.float64))
    z = jnp.zeros((2, 2)).at[0, 0].set(np.log(3.0))  # softmax (3/4, 1/4): C<1> = -log(3/4)
    np.testing.assert_allclose(
        lm_loss(z, jnp.array([0, 1]), mask=jnp.array([True, False])), -np.log(0.75), **tol(np.float64)
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_steps_equal_the_sequence(cell):
    """Contract: rnn_lm_step iterated from rnn_lm_init_state gives rnn_lm's rows (the decoding path)."""
    params = _lm(cell)
    step = jax.jit(rnn_lm_step)
    state, rows = rnn_lm_init_state(params), []
    for t in TOKENS:
        logits, state = step(params, state, t)
        rows.append(logits)
    np.testing.assert_allclose(np.stack(rows), _forward(params, TOKENS), **tol(np.float64, composite=True))


def test_oracle_torch_lstm_lm():
    """Oracle: embedding + torch.nn.LSTM (2 layers, gates i, f, g, o) + linear, in float64."""
    torch = need("torch")
    params = _lm("lstm")
    order = np.array([1, 0, 3, 2])
    net = torch.nn.LSTM(3, 4, num_layers=2).double()
    with torch.no_grad():
        for l, cell in enumerate(params.cells):
            p_in = cell.W_x.shape[-1]
            getattr(net, f"weight_ih_l{l}").copy_(torch.tensor(np.asarray(cell.W_x[order]).reshape(16, p_in)))
            getattr(net, f"weight_hh_l{l}").copy_(torch.tensor(np.asarray(cell.W_h[order]).reshape(16, 4)))
            getattr(net, f"bias_ih_l{l}").copy_(torch.tensor(np.asarray(cell.b[order]).reshape(-1)))
            getattr(net, f"bias_hh_l{l}").zero_()
        x = torch.nn.functional.embedding(torch.tensor(np.asarray(TOKENS)), torch.tensor(np.asarray(params.embed.E)))
        H, _ = net(x)
        want = torch.nn.functional.linear(
            H, torch.tensor(np.asarray(params.out.W)), torch.tensor(np.asarray(params.out.b))
        )
    np.testing.assert_allclose(_forward(params, TOKENS), want.numpy(), **tol(np.float64, composite=True))


def test_padding_gives_zero_loss_and_gradient():
    """Property: an all-padding row has loss 0 and gradient 0; padding never changes the real positions' loss."""
    params = _lm("gru", num_layers=1)

    def loss(q, tok, tgt, mask):
        return lm_loss(rnn_lm(q, tok, mask=mask), tgt, mask=mask)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    none = jnp.zeros(6, bool)
    c, g = value_and_grad(params, TOKENS, jnp.roll(TOKENS, -1), none)
    assert c == 0.0 and all(np.all(np.asarray(leaf) == 0) for leaf in jax.tree.leaves(g))
    mask = jnp.arange(6) < 4
    padded = jnp.where(mask, TOKENS, 0)
    c_pad, _ = value_and_grad(params, padded, jnp.roll(padded, -1).at[3:].set(0), mask)
    c_short = jax.jit(loss)(params, TOKENS[:4], jnp.roll(padded, -1)[:4], jnp.ones(4, bool))
    np.testing.assert_allclose(c_pad, c_short, **tol(np.float64, composite=True))


def test_a_tiny_lm_learns_and_decodes():
    """Property: a few Adam steps on one repeated phrase beat the uniform perplexity; greedy decoding continues it."""
    optax = need("optax")
    text = jnp.array([1, 2, 3, 4, 5, 6] * 4)
    params = _lm("lstm", num_layers=1, seed=1)
    opt = optax.adam(0.05)

    @jax.jit
    def train(params):
        def step(carry, _):
            q, s = carry
            c, g = jax.value_and_grad(lambda q: lm_loss(rnn_lm(q, text[:-1]), text[1:]))(q)
            u, s = opt.update(g, s, q)
            return (optax.apply_updates(q, u), s), c

        (q, _), cs = jax.lax.scan(step, (params, opt.init(params)), None, length=60)
        return q, cs

    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
        params, cs = train(params)
    assert np.exp(cs[-1]) < 0.5 * V and cs[-1] < cs[0]
    out = models.generate(jax.random.key(0), params, jnp.array([1, 2]), max_len=8, temperature=1e-3)
    np.testing.assert_array_equal(out, [1, 2, 3, 4, 5, 6, 1, 2])


def test_jit_vmap_grad(transform):
    """Transforms: jit == eager; vmap over a batch == loop; check_grads (order 2, reverse mode) of the loss."""
    params = _lm("rnn", num_layers=1)
    batch = jnp.stack([TOKENS, TOKENS[::-1]])
    got = transform(jax.vmap(rnn_lm, in_axes=(None, 0)))(params, batch)
    np.testing.assert_allclose(got, np.stack([_forward(params, t) for t in batch]), **tol(np.float64, composite=True))
    if transform is jax.jit:
        small = init_rnn_lm(jax.random.key(2), 3, cell="gru", embed_dim=2, hidden=2)
        f = jax.jit(lambda q: lm_loss(rnn_lm(q, jnp.array([0, 2, 1])), jnp.array([2, 1, 0])))
        jax.test_util.check_grads(f, (small,), order=2, modes=["rev"])


def test_structure_and_bad_inputs():
    """Contract: the pytree holds embedding, cells, output; bad inputs are refused with names."""
    params = _lm("gru", num_layers=3)
    assert isinstance(params, RNNLMParams) and len(params.cells) == 3
    assert all(isinstance(c, layers.GRUParams) for c in params.cells)
    assert params.out.W.shape == (V, 4) and params.embed.E.shape == (V, 3)
    with pytest.raises(ValueError, match=r"models.rnn_lm: argument `tokens` expected one example of shape \(T,\)"):
        rnn_lm(params, jnp.zeros((2, 3), jnp.int32))
    with pytest.raises(ValueError, match=r"models.init_rnn_lm: argument `cell`"):
        init_rnn_lm(jax.random.key(0), V, cell="transformer", embed_dim=2, hidden=2)
    with pytest.raises(TypeError, match=r"models.rnn_lm: argument `params` expected RNNLMParams"):
        rnn_lm(params.cells, TOKENS)
    with pytest.raises(ValueError, match=r"argument `targets` expected shape"):
        lm_loss(jnp.zeros((3, V)), jnp.zeros(4, jnp.int32))
    with pytest.raises(ValueError, match=r"layers.embedding: argument `tokens`"):
        rnn_lm(params, jnp.array([0, V]))
