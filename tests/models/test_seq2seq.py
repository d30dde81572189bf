"""Tests of the GRU seq2seq models, plain and with Bahdanau attention ([MEDL] Sec. 7.4, eq. 7.22)."""

import functools

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import data, models, train
from tests._tolerances import tol
from tests.models._params import random_params

SRC = jnp.array([3, 1, 4, 0, 0])
MASK = SRC != 0
TGT_IN = jnp.array([1, 5, 2, 6])


@functools.cache
def _params(attention):
    return random_params(models.init_seq2seq, 7, 8, embed_dim=3, hidden=4, attention=attention)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _gru(g, h, x):
    """The book's GRU step (7.18, 7.19) in NumPy: rows r, u, h~; reset before the matrix product."""
    Wx, Wh, b = (np.asarray(a) for a in (g.W_x, g.W_h, g.b))
    r = _sig(Wx[0] @ x + Wh[0] @ h + b[0])
    u = _sig(Wx[1] @ x + Wh[1] @ h + b[1])
    h_tilde = np.tanh(Wx[2] @ x + Wh[2] @ (r * h) + b[2])
    return (1 - u) * h + u * h_tilde


def _oracle(params, src, tgt_in, n_real):
    """Both variants written as loops over NumPy arrays."""
    E_s, E_t = np.asarray(params.src_embed.E), np.asarray(params.tgt_embed.E)
    W_o, b_o = np.asarray(params.out.W), np.asarray(params.out.b)
    xs = [E_s[i] for i in np.asarray(src)[:n_real]]
    logits, alphas = [], []
    if params.attention is None:
        z = np.zeros(params.encoder.W_h.shape[-1])
        for x in xs:
            z = _gru(params.encoder, z, x)
        s = z
        for y in np.asarray(tgt_in):
            s = _gru(params.decoder, s, np.concatenate([E_t[y], z]))
            logits.append(W_o @ np.concatenate([s, z]) + b_o)
        return np.array(logits), None
    m = params.decoder.W_h.shape[-1]
    hf, hr = [np.zeros(m)], [np.zeros(m)]
    for x in xs:
        hf.append(_gru(params.encoder.forward, hf[-1], x))
    for x in xs[::-1]:
        hr.append(_gru(params.encoder.reverse, hr[-1], x))
    v = np.array([np.concatenate([hf[t + 1], hr[n_real - t]]) for t in range(n_real)])  # (n, 2m)
    B = params.bridge
    s = np.tanh(np.asarray(B.W) @ np.concatenate([hf[-1], hr[-1]]) + np.asarray(B.b))
    A = params.attention
    for y in np.asarray(tgt_in):
        e = np.tanh(np.asarray(A.W_q) @ s + v @ np.asarray(A.W_k).T) @ np.asarray(A.w)  # scores over tau
        alpha = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        u = alpha @ v
        s = _gru(params.decoder, s, np.concatenate([E_t[y], u]))
        logits.append(W_o @ np.concatenate([s, u]) + b_o)
        alphas.append(np.concatenate([alpha, np.zeros(len(src) - n_real)]))
    return np.array(logits), np.array(alphas)


@pytest.mark.parametrize("attention", [False, True])
def test_matches_a_numpy_loop(attention):
    """Oracle: logits (and attention weights) of a NumPy loop over the book's GRU and additive attention."""
    params = _params(attention)
    got = jax.jit(lambda p: models.seq2seq_forward(p, SRC, TGT_IN, src_mask=MASK))(params)
    want, alphas = _oracle(params, SRC, TGT_IN, 3)
    np.testing.assert_allclose(got["logits"], want, **tol(jnp.float64, composite=True))
    if attention:
        np.testing.assert_allclose(got["attention"], alphas, **tol(jnp.float64, composite=True))
        np.testing.assert_allclose(got["attention"].sum(axis=1), 1.0, **tol(jnp.float64))
    else:
        assert "attention" not in got


def test_reverse_source_reads_the_real_tokens_backwards():
    """Property: reverse_source on a padded source equals the unpadded reversed source (the padding is skipped)."""
    params = _params(False)
    f = jax.jit(models.seq2seq, static_argnames="reverse_source")
    a = f(params, SRC, TGT_IN, src_mask=MASK, reverse_source=True)
    b = f(params, jnp.array([4, 1, 3]), TGT_IN)
    np.testing.assert_allclose(a, b, **tol(jnp.float64, composite=True))


@pytest.mark.parametrize("attention", [False, True])
def test_decoding_matches_teacher_forcing(attention):
    """Oracle: greedy generate (and beam width 1) equal the teacher-forced argmax on their own output."""
    params = _params(attention)

    @jax.jit
    def run(params):
        bound = models.condition_seq2seq(params, SRC, src_mask=MASK)
        greedy = models.generate(None, bound, jnp.array([1]), max_len=6, temperature=0.0)
        beam = models.beam_search(bound, jnp.array([1]), beam_width=1, max_len=6).tokens[0]
        return greedy, beam, models.seq2seq(params, SRC, greedy[:-1], src_mask=MASK)

    greedy, beam, logits = run(params)
    np.testing.assert_array_equal(greedy[1:], jnp.argmax(logits, axis=-1))
    np.testing.assert_array_equal(beam, greedy)


def test_gradients_and_vmap():
    """Transforms: check_grads (small plain model) and vmap over examples equals a loop (attention)."""
    plain = random_params(models.init_seq2seq, 4, 3, embed_dim=2, hidden=2)
    f = jax.jit(lambda p: jnp.sum(jnp.sin(models.seq2seq(p, jnp.array([1, 2, 0]), jnp.array([1, 2]),
                                                          src_mask=jnp.array([True, True, False])))))  # fmt: skip
    jax.test_util.check_grads(f, (plain,), order=1, modes=("rev",))  # order 2 costs ~25 s here (scan in a scan)
    params = random_params(models.init_seq2seq, 4, 3, embed_dim=2, hidden=2, attention=True)
    srcs, tins = jnp.array([[1, 2, 3], [3, 2, 1]]), jnp.array([[1, 2], [2, 1]])
    batched = jax.jit(jax.vmap(models.seq2seq, in_axes=(None, 0, 0)))(params, srcs, tins)
    for i in range(2):
        np.testing.assert_allclose(
            batched[i], _oracle(params, srcs[i], tins[i], 3)[0], **tol(jnp.float64, composite=True)
        )


def test_sequence_exact_match_by_hand():
    """Worked value: 1 when every counted token agrees; a masked position does not count."""
    assert models.sequence_exact_match(jnp.array([1, 2, 3]), jnp.array([1, 2, 3])) == 1.0
    assert models.sequence_exact_match(jnp.array([1, 2, 3]), jnp.array([1, 2, 4])) == 0.0
    assert models.sequence_exact_match(jnp.array([1, 2, 3]), jnp.array([1, 2, 4]), mask=jnp.array([1, 1, 0]) > 0) == 1.0


def test_bad_inputs():
    """Bad input: a batch of sources, reversal with the bidirectional encoder, a mask of another length."""
    with pytest.raises(ValueError, match=r"models.seq2seq_forward: argument `src` expected one example .*jax.vmap"):
        models.seq2seq(_params(False), jnp.zeros((2, 3), jnp.int32), TGT_IN)
    with pytest.raises(ValueError, match=r"argument `reverse_source` expected False with attention"):
        models.seq2seq(_params(True), SRC, TGT_IN, reverse_source=True)
    with pytest.raises(ValueError, match=r"argument `src_mask` expected shape \(5,\), got shape \(4,\)"):
        models.seq2seq(_params(False), SRC, TGT_IN, src_mask=jnp.ones(4, bool))
    with pytest.raises(TypeError, match=r"models.init_seq2seq: argument `attention` expected a bool"):
        models.init_seq2seq(jax.random.key(0), 5, 5, embed_dim=2, hidden=2, attention="yes")


@pytest.mark.slow
def test_attention_seq2seq_learns_digit_reversal():
    """Property: trained through train.fit, greedy decoding reverses >= 95% of held-out digit strings exactly."""
    k_data, k_test, k_init, k_fit = jax.random.split(jax.random.key(1), 4)
    task = data.reverse_digits(k_data, 1500, min_len=1, max_len=5)
    test = data.reverse_digits(k_test, 200, min_len=1, max_len=5)
    V, stop = len(task.tgt_vocab), task.tgt_vocab.stop_id
    params = models.init_seq2seq(k_init, V, V, embed_dim=16, hidden=32, attention=True, dtype=jnp.float32)

    def example_loss(params, example):
        src, tgt = example
        logits = models.seq2seq(params, src, tgt[:-1], src_mask=src != 0)
        return models.lm_loss(logits, tgt[1:], mask=tgt[1:] != 0)

    def exact_match(params, batch):
        def one(src, tgt):
            bound = models.condition_seq2seq(params, src, src_mask=src != 0)
            pred = models.generate(None, bound, tgt[:1], max_len=tgt.shape[0], temperature=0.0, stop_id=stop)
            return models.sequence_exact_match(pred, tgt)

        return {"exact_match": jax.vmap(one)(*batch)}

    from mathdl import optim

    result = train.fit(train.mean_loss(example_loss), optim.adam(1e-2), params, (task.src, task.tgt), key=k_fit,
                       epochs=5, batch_size=50, progress=False)  # fmt: skip
    accuracy = train.evaluate(exact_match, result.params, (test.src, test.tgt), batch_size=200)["exact_match"]
    assert accuracy >= 0.95
