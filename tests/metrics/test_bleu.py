"""Tests of mathdl.metrics.bleu / sentence_bleu (Papineni et al. 2002; Chen & Cherry 2014)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.metrics import bleu, sentence_bleu
from tests._oracles import need

# Papineni et al. (2002), Sec. 2.1: candidate 1 against three references (also nltk's doctest).
HYP = "It is a guide to action which ensures that the military always obeys the commands of the party".split()
REFS = [
    "It is a guide to action that ensures that the military will forever heed Party commands".split(),
    "It is the guiding principle which guarantees the military forces always being under the command of the "
    "Party".split(),
    "It is the practical guide for the army always to heed the directions of the party".split(),
]
HYP2 = "he read the book because he was interested in world history".split()
REFS2 = ["he was interested in world history because he read the book".split()]


def _nltk():
    bleu_score = need("nltk.translate.bleu_score")
    return bleu_score


def test_worked_values():
    """By hand (Papineni Sec. 2.1): 'the' x7 against 'the cat is on the mat' has unigram precision 2/7.

    Equal sentences score 1; a prefix of half the reference keeps p_n = 1 and gets BP = e^(1 - 6/3).
    """
    assert bleu(["the the the the the the the"], [["the cat is on the mat"]], max_n=1) == pytest.approx(
        2 / 7, abs=1e-15
    )
    assert sentence_bleu("a b c d e f", ["a b c d e f"]) == pytest.approx(1.0, abs=1e-15)
    assert sentence_bleu("a b c", ["a b c d e f"], max_n=2) == pytest.approx(math.exp(1 - 2), abs=1e-15)
    assert sentence_bleu("x y z", ["a b c"]) == 0.0  # no unigram match


def test_oracle_nltk_corpus_and_sentence():
    """Oracle: nltk's corpus_bleu and sentence_bleu, every smoothing, on Papineni's example and a second pair."""
    nb = _nltk()
    sm = nb.SmoothingFunction()
    methods = {"epsilon": sm.method1, "add_one": sm.method2, "nist": sm.method3}
    want = nb.corpus_bleu([REFS, REFS2], [HYP, HYP2])
    assert bleu([HYP, HYP2], [REFS, REFS2]) == pytest.approx(want, rel=1e-12)
    assert sentence_bleu(HYP, REFS) == pytest.approx(nb.sentence_bleu(REFS, HYP), rel=1e-12)
    short, short_refs = "the cat sat on a mat".split(), ["the cat is on the mat".split()]  # no 3- or 4-gram match
    for name, fn in methods.items():
        want = nb.sentence_bleu(short_refs, short, smoothing_function=fn)
        assert sentence_bleu(short, short_refs, smoothing=name) == pytest.approx(want, rel=1e-12), name
        want = nb.corpus_bleu([REFS, short_refs], [HYP, short], smoothing_function=fn)
        assert bleu([HYP, short], [REFS, short_refs], smoothing=name) == pytest.approx(want, rel=1e-12), name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nltk warns that a zero count gives 0
        want = nb.sentence_bleu(short_refs, short)
    assert want < 1e-60 and sentence_bleu(short, short_refs) == 0.0  # nltk returns ~1e-77, the limit is 0
    weights = (0.5, 0.3, 0.2)
    want = nb.corpus_bleu([REFS, REFS2], [HYP, HYP2], weights=weights)
    assert bleu([HYP, HYP2], [REFS, REFS2], weights=weights) == pytest.approx(want, rel=1e-12)


@given(
    st.lists(st.lists(st.sampled_from("abcd"), min_size=4, max_size=9), min_size=1, max_size=4),
    st.lists(st.lists(st.sampled_from("abcde"), min_size=1, max_size=9), min_size=1, max_size=3),
)
def test_oracle_nltk_random_corpora(cands, refs):
    """Oracle (property over random corpora): add-one smoothed corpus BLEU equals nltk's; 0 <= BLEU <= 1.

    Candidates have at least 4 tokens: for a shorter one nltk counts 1 candidate n-gram where it has none
    (a denominator of max(1, count)); mathdl keeps Papineni's count.
    """
    nb = _nltk()
    ref_sets = [refs] * len(cands)
    want = nb.corpus_bleu(ref_sets, cands, smoothing_function=nb.SmoothingFunction().method2)
    got = bleu(cands, ref_sets, smoothing="add_one")
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)
    assert 0.0 <= got <= 1.0


def test_properties():
    """Property: corpus BLEU pools counts (not the mean of sentence BLEUs); more references never lower it."""
    c = bleu([HYP, HYP2], [REFS, REFS2])
    mean = (sentence_bleu(HYP, REFS) + sentence_bleu(HYP2, REFS2)) / 2
    assert c != pytest.approx(mean)
    assert sentence_bleu(HYP, REFS[:1], smoothing="add_one") <= sentence_bleu(HYP, REFS, smoothing="add_one")
    assert bleu([HYP], [REFS]) == sentence_bleu(HYP, REFS)


def test_inputs_strings_tokens_and_ids():
    """Edge: a str, a token list and an integer id array give the same score; a 2-D id array is one ref per row."""
    s = sentence_bleu("a b c d e", ["a b c d f"], max_n=2)
    assert sentence_bleu(["a", "b", "c", "d", "e"], [["a", "b", "c", "d", "f"]], max_n=2) == s
    ids = np.array([1, 2, 3, 4, 5])
    assert sentence_bleu(ids, np.array([[1, 2, 3, 4, 6]]), max_n=2) == s
    assert bleu(["a b c d e"], ["a b c d f"], max_n=2) == s  # a single reference as a string
    assert sentence_bleu("", ["a b"]) == 0.0


def test_bad_inputs():
    """Bad input: each refused with the function and argument named."""
    with pytest.raises(
        ValueError, match=r"metrics.bleu: argument `references` expected one reference set per candidate \(2\), got 1"
    ):
        bleu(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match=r"metrics.bleu: argument `candidates` expected at least one candidate"):
        bleu([], [])
    with pytest.raises(ValueError, match=r"argument `references\[0\]` expected a non-empty list of references"):
        bleu(["a"], [[]])
    with pytest.raises(ValueError, match=r"metrics.sentence_bleu: argument `max_n` expected a positive int, got 0"):
        sentence_bleu("a", ["a"], max_n=0)
    with pytest.raises(ValueError, match=r"argument `weights` expected a non-empty sequence of finite weights >= 0"):
        sentence_bleu("a", ["a"], weights=(0.5, -0.5))
    with pytest.raises(ValueError, match=r"argument `smoothing` expected one of"):
        sentence_bleu("a", ["a"], smoothing="method7")
    with pytest.raises(TypeError, match=r"argument `candidates\[0\]` expected a str or a sequence of tokens"):
        bleu([3], [["a"]])
    with pytest.raises(TypeError, match=r"metrics.bleu: argument `candidates` expected a list of candidate sentences"):
        bleu("a b", [["a b"]])
