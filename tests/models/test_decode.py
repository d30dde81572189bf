"""Tests of autoregressive decoding: generate (greedy, sampling, top-k, top-p, stop) and beam search ([MEDL] 7.34)."""

import functools
import itertools
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import models
from tests._tolerances import tol
from tests.models._params import normal, random_params

V = 5


class Bigram(NamedTuple):
    """A toy LM for the tests: the next token's logits are row ``W[token]`` (no state but a step counter)."""

    W: jax.Array


models.register_lm(
    Bigram,
    init_state=lambda params, max_len: jnp.zeros((), jnp.int32),
    step=lambda params, n, token, t: (params.W[token], n + 1),
)
W = normal(0, (V, V)) * 2.0
BIGRAM = Bigram(W)


def _log_softmax(z):
    z = np.asarray(z)
    return z - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)) - z.max(-1, keepdims=True)


def _greedy_by_hand(prompt, n, stop=None, pad=0):
    seq, done = list(prompt), False
    for _ in range(n):
        tok = pad if done else int(np.argmax(np.asarray(W)[seq[-1]]))
        done = done or tok == stop
        seq.append(tok)
    return seq


# ------------------------------------------------------------------ filter_logits: worked values


def test_filter_logits_by_hand():
    """Worked value: top_k=2 of (1, 2, 3, 0) keeps 2 and 3; tau=2 halves; top_p over probabilities (.5, .3, .2)."""
    neg = -np.inf
    np.testing.assert_array_equal(models.filter_logits(jnp.array([1.0, 2.0, 3.0, 0.0]), top_k=2), [neg, 2, 3, neg])
    np.testing.assert_allclose(models.filter_logits(jnp.array([1.0, 2.0]), temperature=2.0), [0.5, 1.0])
    z = jnp.log(jnp.array([0.5, 0.3, 0.2]))
    # the probability ranked above each token: 0, 0.5, 0.8; a token stays while that is below top_p
    np.testing.assert_array_equal(np.isfinite(models.filter_logits(z, top_p=0.6)), [True, True, False])
    np.testing.assert_array_equal(np.isfinite(models.filter_logits(z, top_p=0.5)), [True, False, False])
    np.testing.assert_array_equal(np.isfinite(models.filter_logits(z, top_p=1.0)), [True, True, True])
    np.testing.assert_array_equal(np.isfinite(models.filter_logits(z[::-1], top_p=0.6)), [False, True, True])


# ------------------------------------------------------------------ generate


def test_greedy_generate_by_hand(transform):
    """Worked value: temperature 0 follows the argmax chain of the bigram table; after <stop> comes the pad."""
    gen = transform(functools.partial(models.generate, max_len=8, temperature=0.0))
    np.testing.assert_array_equal(gen(None, BIGRAM, jnp.array([1, 3])), _greedy_by_hand([1, 3], 6))
    chain = _greedy_by_hand([0], 6)
    stop = chain[3]  # a token the greedy chain reaches at position 3
    first = chain.index(stop, 1)
    got = transform(functools.partial(models.generate, max_len=7, temperature=0.0, stop_id=stop, pad_id=V))(
        None, BIGRAM, jnp.array([0])
    )
    np.testing.assert_array_equal(got, chain[: first + 1] + [V] * (6 - first))


def test_top_k_one_is_greedy(getkey):
    """Property: sampling with top_k=1 is greedy decoding, for any key and temperature."""
    gen = jax.jit(jax.vmap(functools.partial(models.generate, max_len=6, temperature=1.7, top_k=1), (0, None, None)))
    got = gen(jax.random.split(getkey(), 4), BIGRAM, jnp.array([2]))
    np.testing.assert_array_equal(got, np.tile(_greedy_by_hand([2], 5), (4, 1)))


def test_sampling_frequencies_match_softmax(getkey):
    """Property: first-token frequencies over 4000 keys match softmax(W[prompt] / tau), and the top-p nucleus."""
    n = 4000
    z = np.asarray(W)[1] / 0.8
    p = np.exp(_log_softmax(z))
    for top_p in (None, 0.7):
        gen = functools.partial(models.generate, max_len=2, temperature=0.8, top_p=top_p)
        keys = jax.random.split(getkey(), n)
        first = np.asarray(jax.jit(jax.vmap(gen, (0, None, None)))(keys, BIGRAM, jnp.array([1]))[:, 1])
        want = p.copy()
        if top_p is not None:
            order = np.argsort(-p)
            above = np.cumsum(p[order]) - p[order]
            want[order[above >= top_p]] = 0.0
            want /= want.sum()
        freq = np.bincount(first, minlength=V) / n
        se = np.sqrt(want * (1 - want) / n) + 1e-12
        assert np.all(np.abs(freq - want) <= 4.5 * se + 1e-12), (freq, want)  # 4.5 standard errors per token


def test_generate_does_not_retrace():
    """Transforms: a jitted generate traces once for many prompts and keys of one shape."""

    @jax.jit
    @chex.assert_max_traces(n=1)
    def gen(key, prompt):
        return models.generate(key, BIGRAM, prompt, max_len=6, top_k=3)

    chex.clear_trace_counter()
    for seed in range(3):
        gen(jax.random.key(seed), jnp.array([seed, 1]))


# ------------------------------------------------------------------ beam search


def test_beam_width_one_is_greedy():
    """Oracle: beam search of width 1 is greedy decoding (with and without a stop token)."""
    for stop in (None, _greedy_by_hand([4], 5)[2]):
        beam = models.beam_search(BIGRAM, jnp.array([4]), beam_width=1, max_len=6, stop_id=stop, pad_id=V)
        greedy = models.generate(None, BIGRAM, jnp.array([4]), max_len=6, temperature=0.0, stop_id=stop, pad_id=V)
        np.testing.assert_array_equal(beam.tokens[0], greedy)


def test_wide_beam_is_exhaustive_search():
    """Oracle: a beam as wide as all V^3 continuations finds every sequence's log-probability, sorted (brute force)."""
    lp = _log_softmax(np.asarray(W))
    scored = []
    for seq in itertools.product(range(V), repeat=3):
        prev, s = 2, 0.0
        for tok in seq:
            s, prev = s + lp[prev, tok], tok
        scored.append((s, seq))
    scored.sort(key=lambda x: -x[0])
    got = jax.jit(functools.partial(models.beam_search, beam_width=V**3, max_len=4))(BIGRAM, jnp.array([2]))
    np.testing.assert_allclose(got.scores, [s for s, _ in scored], **tol(jnp.float64, composite=True))
    np.testing.assert_array_equal(got.tokens[0], [2, *scored[0][1]])
    np.testing.assert_array_equal(got.lengths, 3)


def test_beam_stop_and_length_penalty():
    """Property: a finished beam keeps its score and pads; length_penalty divides by length ** alpha."""
    stop = int(np.argmax(_log_softmax(np.asarray(W))[3]))
    plain = models.beam_search(BIGRAM, jnp.array([3]), beam_width=3, max_len=5, stop_id=stop, pad_id=V)
    best = np.asarray(plain.tokens[0])
    if stop in best[1:]:
        k = list(best[1:]).index(stop)
        assert np.all(best[k + 2 :] == V) and plain.lengths[0] == k + 1
    pen = models.beam_search(
        BIGRAM, jnp.array([3]), beam_width=3, max_len=5, stop_id=stop, pad_id=V, length_penalty=1.0
    )
    assert np.all(np.diff(np.asarray(pen.scores)) <= 0)
    for tokens, score, length in zip(pen.tokens, pen.scores, pen.lengths, strict=True):
        lp, prev, total = _log_softmax(np.asarray(W)), 3, 0.0
        for tok in np.asarray(tokens)[1 : 1 + int(length)]:
            total, prev = total + lp[prev, tok], tok
        np.testing.assert_allclose(score, total / int(length), **tol(jnp.float64, composite=True))


# ------------------------------------------------------------------ the real LMs


def test_transformer_lm_generate_matches_recomputation():
    """Oracle: greedy generation through the KV cache equals the argmax of the full forward pass on the output."""
    params = random_params(models.init_transformer_lm, 7, p=8, num_heads=2, num_layers=1, n_hidden=8, max_len=8)

    @jax.jit
    def run(params, prompt):
        out = models.generate(None, params, prompt, max_len=8, temperature=0.0)
        beam = models.beam_search(params, prompt, beam_width=1, max_len=8)
        return out, beam.tokens[0], models.transformer_lm(params, out)

    out, beam, logits = run(params, jnp.array([3, 1]))
    np.testing.assert_array_equal(out[2:], jnp.argmax(logits[1:-1], axis=-1))
    np.testing.assert_array_equal(beam, out)


def test_rnn_lm_generate_matches_recomputation():
    """Oracle: the RNN LM (helper R's step registration) decodes greedily as its teacher-forced argmax says."""
    if not hasattr(models, "init_rnn_lm"):
        pytest.skip("models.init_rnn_lm has not landed")
    params = random_params(models.init_rnn_lm, 7, cell="gru", embed_dim=4, hidden=5)

    @jax.jit
    def run(params, prompt):
        out = models.generate(None, params, prompt, max_len=7, temperature=0.0)
        return out, models.rnn_lm(params, out)

    out, logits = run(params, jnp.array([2, 5]))
    np.testing.assert_array_equal(out[2:], jnp.argmax(logits[1:-1], axis=-1))


# ------------------------------------------------------------------ bad input


def test_bad_inputs():
    """Bad input: an unregistered model, an empty prompt, max_len too short or too long, sampling out of range."""
    prompt = jnp.array([1])
    with pytest.raises(TypeError, match=r"models.generate: argument `params` expected the parameters of a registered"):
        models.generate(None, (W,), prompt, max_len=3)
    with pytest.raises(ValueError, match=r"models.generate: argument `prompt` expected at least one token"):
        models.generate(None, BIGRAM, jnp.zeros((0,), jnp.int32), max_len=3, temperature=0.0)
    with pytest.raises(ValueError, match=r"argument `max_len` expected at least the prompt's length 2, got 1"):
        models.generate(None, BIGRAM, jnp.array([1, 2]), max_len=1, temperature=0.0)
    lm = random_params(models.init_transformer_lm, 7, p=4, num_heads=2, num_layers=1, n_hidden=4, max_len=5)
    with pytest.raises(ValueError, match=r"models.beam_search: argument `max_len` expected at most the model's 5"):
        models.beam_search(lm, prompt, beam_width=2, max_len=6)
    with pytest.raises(ValueError, match=r"argument `top_p` expected a value in \(0.0, 1.0\], got 0.0"):
        models.generate(jax.random.key(0), BIGRAM, prompt, max_len=3, top_p=0.0)
    with pytest.raises(ValueError, match=r"argument `temperature` expected a value >= 0, got -1.0"):
        models.generate(jax.random.key(0), BIGRAM, prompt, max_len=3, temperature=-1.0)
    with pytest.raises(ValueError, match=r"models.beam_search: argument `beam_width` expected an int >= 1, got 0"):
        models.beam_search(BIGRAM, prompt, beam_width=0, max_len=3)
    with pytest.raises(ValueError, match=r"argument `prompt` expected rank 1"):
        models.generate(None, BIGRAM, jnp.zeros((2, 2), jnp.int32), max_len=3, temperature=0.0)
    with pytest.raises(TypeError, match=r"argument `temperature` expected a Python number >= 0 \(static\)"):
        jax.jit(lambda t: models.generate(jax.random.key(0), BIGRAM, prompt, max_len=3, temperature=t))(1.0)
