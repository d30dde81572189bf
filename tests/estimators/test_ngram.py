"""Tests of mathdl.estimators n-gram language models (D2L Sec. 9.2; [MEDL] Ch. 7)."""

import collections
import functools
import math

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl.estimators import NGramModel, fit_ngram, ngram_log_probs, ngram_perplexity
from tests._tolerances import tol

IDS = jnp.array([0, 1, 1, 0, 1])  # d_V = 2: bigrams 01, 11, 10, 01; unigrams 0 x2, 1 x3
# Compiled once per shape: op-by-op (eager) dispatch of these many small ops costs more than a compile.
FIT = jax.jit(fit_ngram, static_argnums=1, static_argnames=("vocab_size",))
LP = jax.jit(ngram_log_probs, static_argnames=("smoothing",))
PP = jax.jit(ngram_perplexity, static_argnames=("smoothing",))


def test_worked_values():
    """By hand (alpha = 1, d_V = 2): Laplace 3/7, 3/4, 1/2 and interpolated 5/12, 31/36, 17/36 on [0, 1, 0]."""
    m = fit_ngram(IDS, 2, vocab_size=2)
    np.testing.assert_array_equal(m.counts[1], [[0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_array_equal(m.counts[0], [2.0, 3.0])
    got = ngram_log_probs(m, jnp.array([0, 1, 0]))
    np.testing.assert_allclose(got, np.log([3 / 7, 3 / 4, 1 / 2]), **tol(np.float64))
    got = ngram_log_probs(m, jnp.array([0, 1, 0]), smoothing="interpolated")
    np.testing.assert_allclose(got, np.log([5 / 12, 31 / 36, 17 / 36]), **tol(np.float64))
    np.testing.assert_allclose(
        ngram_perplexity(m, jnp.array([0, 1, 0])), (3 / 7 * 3 / 4 * 1 / 2) ** (-1 / 3), **tol(np.float64)
    )


def _oracle_laplace(train, test, n, d_V, alpha):
    """Independent oracle: counts in dicts, context cut at the start of the sequence, add-alpha."""
    grams = collections.Counter()
    for k in range(1, n + 1):
        for t in range(len(train) - k + 1):
            grams[tuple(train[t : t + k])] += 1
    out = []
    for t, x in enumerate(test):
        ctx = tuple(test[max(0, t - n + 1) : t])
        num = grams[(*ctx, x)]
        den = sum(grams[(*ctx, y)] for y in range(d_V))
        out.append(math.log((num + alpha) / (den + alpha * d_V)))
    return out


def test_oracle_dict_counts(getkey):
    """Oracle: a trigram model on random ids (d_V = 5) equals the dict-count loop, alpha = 0.5."""
    train = np.asarray(jax.random.randint(getkey(), (200,), 0, 5)).tolist()
    test = np.asarray(jax.random.randint(getkey(), (30,), 0, 5)).tolist()
    m = FIT(jnp.array(train), 3, vocab_size=5, alpha=0.5)
    want = _oracle_laplace(train, test, 3, 5, 0.5)
    np.testing.assert_allclose(LP(m, jnp.array(test)), want, **tol(np.float64, composite=True))


def test_uniform_model_has_perplexity_d_V():
    """Property (D2L Sec. 9.2): with no counts the model is uniform and its perplexity is d_V, both smoothings."""
    m = FIT(jnp.zeros((0,), jnp.int32), 3, vocab_size=7)
    ids = jnp.array([1, 2, 3, 4, 5, 6, 0, 0])
    for smoothing in ("laplace", "interpolated"):
        np.testing.assert_allclose(PP(m, ids, smoothing=smoothing), 7.0, **tol(np.float64))
    big = FIT(IDS, 2, vocab_size=2, alpha=1e12)  # alpha -> infinity: uniform again, up to counts/alpha ~ 1e-12
    np.testing.assert_allclose(PP(big, jnp.array([0, 0, 1])), 2.0, rtol=1e-10)


def test_next_token_probabilities_sum_to_one(getkey):
    """Property: for every context, sum_x P(x | context) = 1 (each order, both smoothings)."""
    m = FIT(jax.random.randint(getkey(), (60,), 0, 4), 3, vocab_size=4, alpha=0.3)
    ctx = jnp.array([2, 1, 3])
    for smoothing in ("laplace", "interpolated"):
        for L in range(0, 4):  # contexts of length 0, 1, 2 and a cut longer one
            seqs = jnp.concatenate([jnp.tile(ctx[:L], (4, 1)), jnp.arange(4)[:, None]], axis=1)
            logp = jax.vmap(lambda s, sm=smoothing: LP(m, s, smoothing=sm)[-1])(seqs)
            np.testing.assert_allclose(jnp.sum(jnp.exp(logp)), 1.0, **tol(np.float64, composite=True))


def test_transforms(getkey):
    """Transforms: jit == eager; vmap over texts == loop; first and second derivatives in alpha by hand."""
    texts = jax.random.randint(getkey(), (3, 40), 0, 3)
    eager = fit_ngram(texts[0], 2, vocab_size=3)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), FIT(texts[0], 2, vocab_size=3), eager)
    batched = jax.jit(jax.vmap(functools.partial(fit_ngram, n=2, vocab_size=3)))(texts)
    for i in range(3):
        np.testing.assert_array_equal(batched.counts[1][i], fit_ngram(texts[i], 2, vocab_size=3).counts[1])
    test = jnp.array([0, 2, 1])
    lp = LP(eager, test)
    np.testing.assert_allclose(lp, ngram_log_probs(eager, test), **tol(np.float64))
    # d/d alpha log((c + a)/(r + 3a)) = 1/(c + a) - 3/(r + 3a), and d2 = -1/(c + a)^2 + 9/(r + 3a)^2,
    # at the bigram (0, 2), alpha = 1: the book-style analytic check of orders 1 and 2
    c, r = float(eager.counts[1][0, 2]), float(eager.counts[1][0].sum())
    f = jax.jit(lambda a: ngram_log_probs(eager._replace(alpha=a), test)[1])
    np.testing.assert_allclose(jax.jit(jax.grad(f))(jnp.array(1.0)), 1 / (c + 1) - 3 / (r + 3), **tol(np.float64))
    d2 = jax.jit(jax.grad(jax.grad(f)))(jnp.array(1.0))
    np.testing.assert_allclose(d2, -1 / (c + 1) ** 2 + 9 / (r + 3) ** 2, **tol(np.float64, composite=True))
    g = jax.jit(lambda a: ngram_log_probs(eager._replace(alpha=a), test, smoothing="interpolated"))
    jax.test_util.check_grads(g, (jnp.array(0.7),), order=1)  # order 2 is pinned by hand above


def test_more_context_fits_the_training_text_better():
    """Property: on its own training text, perplexity falls as n grows (1, 2, 3) with a small alpha."""
    ids = jnp.array(np.tile([0, 1, 2, 2, 1, 3, 0], 20))
    pps = [float(PP(FIT(ids, n, vocab_size=4, alpha=0.01), ids)) for n in (1, 2, 3)]
    assert pps[0] > pps[1] > pps[2] >= 1.0


def test_bad_inputs():
    """Bad input: sizes, memory rule, alpha, ids out of range (eager error, NaN under jit), smoothing."""
    with pytest.raises(ValueError, match=r"estimators.fit_ngram: argument `n` expected a positive int, got 0"):
        fit_ngram(IDS, 0, vocab_size=2)
    with pytest.raises(ValueError, match=r"argument `vocab_size` expected a positive int"):
        fit_ngram(IDS, 2, vocab_size=2.0)
    with pytest.raises(
        ValueError,
        match=r"argument `n` expected at most 16,777,216 dense counts .*got n = 4 with vocab_size = 100: 101,010,100",
    ):
        fit_ngram(IDS, 4, vocab_size=100)
    with pytest.raises(ValueError, match=r"argument `alpha` expected a value > 0, got 0.0"):
        fit_ngram(IDS, 2, vocab_size=2, alpha=0.0)
    with pytest.raises(
        ValueError, match=r"argument `ids` expected token ids in \[0, 2\) \(vocab_size = 2\), got 2 at index 1"
    ):
        fit_ngram(jnp.array([0, 2]), 2, vocab_size=2)
    with pytest.raises(TypeError, match=r"argument `ids` expected an integer array"):
        fit_ngram(jnp.array([0.0, 1.0]), 2, vocab_size=2)
    m = fit_ngram(IDS, 2, vocab_size=2)
    with pytest.raises(ValueError, match=r"estimators.ngram_log_probs: argument `ids` expected token ids in \[0, 2\)"):
        ngram_log_probs(m, jnp.array([0, -1]))
    with pytest.raises(ValueError, match=r"argument `smoothing` expected one of"):
        ngram_log_probs(m, IDS, smoothing="kneser-ney")
    with pytest.raises(TypeError, match=r"argument `model` expected an NGramModel"):
        ngram_log_probs((m.counts, m.alpha), IDS)
    with pytest.raises(ValueError, match=r"argument `model.counts\[1\]` expected shape \(2, 2\)"):
        ngram_log_probs(NGramModel((m.counts[0], jnp.zeros((2, 3))), m.alpha), IDS)
    assert np.all(np.isnan(LP(m, jnp.array([0, 5]))))
    bad = FIT(jnp.array([0, 5]), 2, vocab_size=2)
    assert np.all(np.isnan(bad.counts[1]))
