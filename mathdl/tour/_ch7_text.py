"""Tour, Chapter 7 (text): n-gram perplexity on the stdlib corpus against the uniform model; cosine similarity."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "7",
    "character n-grams (Laplace) on the stdlib docstrings: held-out perplexity against the uniform d_V",
    expected={
        "uniform_over_d_V": (0.9999, 1.0001),
        "unigram_perplexity": (18.0, 32.0),
        "bigram_perplexity": (10.0, 18.0),
        "trigram_perplexity": (6.0, 12.0),
        "d_V_over_trigram": (6.0, 16.0),
    },
)
def ngram_perplexity(out_dir: Path) -> dict[str, float]:
    """Fit n = 1, 2, 3 on the first 90% of data.stdlib_text() (characters), score the last 10%."""
    from mathdl import data, estimators

    del out_dir
    text = data.stdlib_text()
    vocab = data.vocabulary(text)
    ids = vocab.encode(text)
    cut = int(0.9 * len(ids))
    train, test = ids[:cut], ids[cut:]
    d_V = len(vocab)
    uniform = estimators.fit_ngram(train[:0], 1, vocab_size=d_V)  # no counts: P = 1/d_V
    out = {"uniform_over_d_V": float(estimators.ngram_perplexity(uniform, test)) / d_V}
    for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        model = estimators.fit_ngram(train, n, vocab_size=d_V)
        out[f"{name}_perplexity"] = float(estimators.ngram_perplexity(model, test))
    out["d_V_over_trigram"] = d_V / out["trigram_perplexity"]
    return out


@register(
    "7",
    "cosine similarity (eq. A.1): one-hot codes are orthogonal; neighbour-count vectors group the vowels",
    expected={
        "one_hot_cosine": (0.0, 0.0),
        "vowel_vowel_cosine": (0.55, 0.9),
        "vowel_consonant_cosine": (0.2, 0.55),
        "consonant_consonant_cosine": (0.55, 0.9),
    },
)
def cosine_similarity(out_dir: Path) -> dict[str, float]:
    """Each character as its distribution of left and right neighbours (bigram counts); mean cosines by group."""
    import jax.numpy as jnp
    import numpy as np

    from mathdl import data, estimators, layers

    del out_dir
    text = data.stdlib_text()
    vocab = data.vocabulary(text)
    d_V = len(vocab)
    C = estimators.fit_ngram(vocab.encode(text), 2, vocab_size=d_V).counts[1]  # C[a, b]: a followed by b
    ctx = jnp.concatenate([C, C.T], axis=1)  # right neighbours, then left neighbours
    S = np.asarray(layers.cosine_similarity(ctx[:, None, :], ctx[None, :, :]))  # (d_V, d_V)
    vowels, consonants = [vocab[c] for c in "aeiou"], [vocab[c] for c in "tnsrl"]

    def mean(rows, cols):
        return float(np.mean([S[a, b] for a in rows for b in cols if a != b]))

    codes = layers.one_hot(jnp.array([vocab["a"], vocab["e"]]), d_V)
    return {
        "one_hot_cosine": float(layers.cosine_similarity(codes[0], codes[1])),
        "vowel_vowel_cosine": mean(vowels, vowels),
        "vowel_consonant_cosine": mean(vowels, consonants),
        "consonant_consonant_cosine": mean(consonants, consonants),
    }
