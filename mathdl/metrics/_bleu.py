r"""BLEU, the n-gram overlap score of machine translation (Papineni et al., 2002).

For candidates $\hat y^{(i)}$ with reference sets $R^{(i)}$, the modified (clipped) $n$-gram
precision of a corpus is

$$p_n = \frac{\sum_i \sum_{g \in \text{n-grams}(\hat y^{(i)})} \min\big(c_{\hat y^{(i)}}(g),\,
\max_{r \in R^{(i)}} c_r(g)\big)}{\sum_i \sum_{g} c_{\hat y^{(i)}}(g)},$$

each candidate n-gram counted at most as often as it occurs in one reference. With $c$ the total
candidate length and $r$ the sum over candidates of the reference length closest to each
candidate's (the shorter on a tie), the brevity penalty is $\mathrm{BP} = 1$ if $c > r$ and
$e^{1 - r/c}$ otherwise, and

$$\mathrm{BLEU} = \mathrm{BP} \cdot \exp\Big(\sum_{n=1}^{N} w_n \log p_n\Big), \qquad w_n = 1/N .$$

Corpus BLEU pools the counts of all candidates before dividing (it is not the mean of sentence
BLEUs). A zero $p_n$ makes BLEU 0; the smoothings of Chen & Cherry (2014) avoid that for short
sentences (they are nltk's ``SmoothingFunction`` methods 1-3):

* ``"none"``: no smoothing (BLEU = 0 when some order has no match);
* ``"epsilon"``: a zero match count becomes $\epsilon = 0.1$ (method 1);
* ``"add_one"``: $p_n = (m_n + 1)/(d_n + 1)$ for $n \ge 2$ (Lin & Och, 2004; method 2);
* ``"nist"``: the $k$-th order with no match gets $1/(2^k d_n)$ (NIST's mteval; method 3).

With no unigram match at all, BLEU is 0 whatever the smoothing (nltk's rule too). One difference
from nltk: a candidate shorter than $n$ adds 0 to the denominator $d_n$ of $p_n$ (Papineni's count),
where nltk adds 1; scores agree whenever every candidate has at least $N$ tokens.

Tokens are compared as Python objects: strings are split on whitespace, token lists and integer id
arrays are taken as they are (strip padding first, e.g. with ``Vocabulary.decode``).
"""

import collections
import math
from collections.abc import Sequence

import numpy as np

from mathdl import checks
from mathdl.checks import Text

__all__ = ["bleu", "sentence_bleu"]

_SMOOTHINGS = ("none", "epsilon", "add_one", "nist")
_EPSILON = 0.1


def _tokens(func: str, name: str, seq) -> tuple:
    if isinstance(seq, str):
        return tuple(seq.split())
    if isinstance(seq, np.ndarray) or hasattr(seq, "__jax_array__") or type(seq).__module__.startswith("jax"):
        arr = np.asarray(seq)
        if arr.ndim != 1:
            checks.fail(func, name, "a token sequence of rank 1", Text(f"shape {arr.shape}"))
        return tuple(arr.tolist())
    if isinstance(seq, Sequence):
        return tuple(seq)
    checks.fail(func, name, "a str or a sequence of tokens", Text(type(seq).__name__), exc=TypeError)


def _references(func: str, name: str, refs) -> list[tuple]:
    if isinstance(refs, str):
        return [_tokens(func, name, refs)]  # one reference given as a string
    if isinstance(refs, np.ndarray) or type(refs).__module__.startswith("jax"):
        arr = np.asarray(refs)
        rows = arr[None] if arr.ndim == 1 else arr
        return [_tokens(func, f"{name}[{j}]", r) for j, r in enumerate(rows)]
    if not isinstance(refs, Sequence) or len(refs) == 0:
        checks.fail(func, name, "a non-empty list of references", Text(repr(refs)))
    return [_tokens(func, f"{name}[{j}]", r) for j, r in enumerate(refs)]


def _ngrams(tokens: tuple, n: int) -> collections.Counter:
    return collections.Counter(tokens[i : i + n] for i in range(len(tokens) - n + 1))


def _weights(func: str, max_n, weights) -> tuple[float, ...]:
    if weights is None:
        if isinstance(max_n, bool) or not isinstance(max_n, int | np.integer) or max_n < 1:
            checks.fail(func, "max_n", "a positive int", max_n)
        return (1.0 / int(max_n),) * int(max_n)
    w = tuple(float(x) for x in weights)
    if not w or any(not math.isfinite(x) or x < 0 for x in w):
        checks.fail(func, "weights", "a non-empty sequence of finite weights >= 0", Text(repr(tuple(weights))))
    return w


def _score(func, pairs, weights, smoothing) -> float:
    checks.check_choice(func, "smoothing", smoothing, _SMOOTHINGS)
    N = len(weights)
    matches, totals = [0] * N, [0] * N
    c_len = r_len = 0
    for cand, refs in pairs:
        for n in range(1, N + 1):
            counts = _ngrams(cand, n)
            most = collections.Counter()
            for ref in refs:
                most |= _ngrams(ref, n)  # elementwise max over the references
            matches[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += max(len(cand) - n + 1, 0)
        c_len += len(cand)
        r_len += min((len(r) for r in refs), key=lambda L: (abs(L - len(cand)), L))
    if matches[0] == 0:
        return 0.0
    bp = 1.0 if c_len > r_len else math.exp(1.0 - r_len / c_len)
    log_p, k = [], 1
    for n in range(N):
        m, d = matches[n], totals[n]
        if smoothing == "add_one" and n > 0:
            p = (m + 1) / (d + 1)
        elif m > 0:
            p = m / d
        elif smoothing == "epsilon":
            p = _EPSILON / max(d, 1)
        elif smoothing == "nist":
            p, k = 1.0 / (2**k * max(d, 1)), k + 1
        else:
            p = 0.0
        log_p.append(math.log(p) if p > 0 else -math.inf)
    total = math.fsum(w * lp for w, lp in zip(weights, log_p, strict=True) if w > 0)
    return bp * math.exp(total) if math.isfinite(total) else 0.0


def bleu(candidates, references, *, max_n: int = 4, weights=None, smoothing: str = "none") -> float:
    r"""Corpus BLEU of candidate translations against their references (Papineni et al., 2002).

    Counts of clipped n-gram matches, of candidate n-grams and of lengths are summed over the
    corpus first; see the module docstring for the formula and the smoothings. A data-set
    function on host data (Python tokens), not a JAX program.

    Args:
      candidates: ``n`` candidate sentences; each a ``str`` (split on whitespace), a sequence of
        tokens, or a rank-1 integer array of ids.
      references: ``n`` reference sets, one per candidate; each a list of references (each as a
        candidate is given), or a single ``str``, or a 2-D id array (one reference per row).
      max_n: the largest n-gram order $N$ (a positive int), with weights $w_n = 1/N$.
      weights: the weights $(w_1, \dots, w_N)$ (non-negative; their number sets $N$), or ``None``.
      smoothing: ``"none"``, ``"epsilon"``, ``"add_one"`` or ``"nist"``.

    Returns:
      BLEU in $[0, 1]$, a Python ``float``: 1 when every candidate equals one of its references
      (and has at least $N$ tokens), 0 when no candidate token appears in its references.

    Raises:
      ValueError: if the numbers of candidates and reference sets differ, there are no candidates,
        a reference set is empty, ``max_n`` is not a positive int, a weight is negative or
        ``smoothing`` is unknown.
      TypeError: if a sentence is neither a string nor a sequence of tokens.

    References:
      Papineni, Roukos, Ward & Zhu (2002), "BLEU: a method for automatic evaluation of machine
      translation", ACL; Chen & Cherry (2014), "A systematic comparison of smoothing techniques for
      sentence-level BLEU"; [MEDL] Ch. 7, Sec. 7.4 (machine translation). Oracle in tests: nltk's
      ``corpus_bleu``.

    Example:
      >>> bleu(["the the the the the the the"], [["the cat is on the mat"]], max_n=1)  # 2/7
      0.2857142857142857
    """
    func = checks.public_name(bleu)
    weights = _weights(func, max_n, weights)
    if isinstance(candidates, str) or not isinstance(candidates, Sequence):
        got = Text(type(candidates).__name__)
        checks.fail(func, "candidates", "a list of candidate sentences", got, exc=TypeError)
    if isinstance(references, str) or not isinstance(references, Sequence):
        got = Text(type(references).__name__)
        checks.fail(func, "references", "a list of reference sets", got, exc=TypeError)
    if len(candidates) != len(references):
        want = f"one reference set per candidate ({len(candidates)})"
        checks.fail(func, "references", want, Text(f"{len(references)} reference sets"))
    if len(candidates) == 0:
        checks.fail(func, "candidates", "at least one candidate", Text("none"))
    pairs = [
        (_tokens(func, f"candidates[{i}]", c), _references(func, f"references[{i}]", r))
        for i, (c, r) in enumerate(zip(candidates, references, strict=True))
    ]
    return _score(func, pairs, weights, smoothing)


def sentence_bleu(candidate, references, *, max_n: int = 4, weights=None, smoothing: str = "none") -> float:
    r"""BLEU of one candidate sentence against its references: :func:`bleu` of a corpus of one.

    Short sentences often have no matching 4-gram, so sentence BLEU is usually smoothed
    (``smoothing="add_one"`` or ``"epsilon"``).

    Args:
      candidate: a ``str`` (split on whitespace), a sequence of tokens, or a rank-1 id array.
      references: a list of references (each as ``candidate``), or a single ``str``.
      max_n: the largest n-gram order $N$ (a positive int).
      weights: the weights $(w_1, \dots, w_N)$, or ``None`` for $1/N$ each.
      smoothing: ``"none"``, ``"epsilon"``, ``"add_one"`` or ``"nist"``.

    Returns:
      BLEU in $[0, 1]$, a Python ``float``.

    Raises:
      ValueError: as :func:`bleu`.
      TypeError: as :func:`bleu`.

    References:
      Papineni et al. (2002); Chen & Cherry (2014). Oracle in tests: nltk's ``sentence_bleu``.
    """
    func = checks.public_name(sentence_bleu)
    weights = _weights(func, max_n, weights)
    pair = (_tokens(func, "candidate", candidate), _references(func, "references", references))
    return _score(func, [pair], weights, smoothing)
