r"""n-gram language models with Laplace (add-$\alpha$) smoothing, from dense count arrays.

An n-gram model predicts a token from the $n - 1$ before it (a Markov model of order $n - 1$):
$P(x_t \mid x_{t-1}, \dots, x_1) \approx P(x_t \mid x_{t-n+1}, \dots, x_{t-1})$. Fitting is counting:
$c_k(x_{1..k})$ is the number of times the $k$-gram $x_{1..k}$ occurs in the training ids, for
every order $k = 1, \dots, n$ (the lower orders predict the first $n - 1$ tokens of a sequence,
whose context is shorter). Two smoothings turn counts into probabilities that are never 0
($d_V$ = ``vocab_size``, $\mathbf{c}$ the context, $r_k(\mathbf{c}) = \sum_x c_k(\mathbf{c}, x)$):

* ``"laplace"`` (add-$\alpha$; $\alpha = 1$ is Laplace's rule):
  $\hat P(x \mid \mathbf{c}) = \dfrac{c_k(\mathbf{c}, x) + \alpha}{r_k(\mathbf{c}) + \alpha d_V}$;
* ``"interpolated"`` (D2L Sec. 9.2, with $\epsilon_1 = \epsilon_2 = \dots = \alpha$): the unigram
  $\hat P(x) = \dfrac{c_1(x) + \alpha/d_V}{N_1 + \alpha}$ and, for $k \ge 2$,
  $\hat P(x \mid \mathbf{c}) = \dfrac{c_k(\mathbf{c}, x) + \alpha \hat P(x)}{r_k(\mathbf{c}) + \alpha}$,
  which backs an unseen context off to the unigram frequencies instead of the uniform law.

With no counts at all both are uniform, $1/d_V$, whose perplexity is exactly $d_V$ (the baseline
any useful model must beat). Perplexity is :func:`mathdl.info.sequence_perplexity` of
:func:`ngram_log_probs` (:func:`ngram_perplexity` does both).

Memory rule: the counts are dense arrays with $\sum_{k=1}^{n} d_V^k$ entries (float), which is
right for character-level models ($d_V \approx 100$: $n = 3$ needs about $10^6$ entries). A model
with more than :data:`NGRAM_MAX_ENTRIES` ($2^{24}$, about 16.8 million, 64 MiB in float32) entries
is refused with a message giving the size; use a smaller $n$ or a smaller vocabulary
(``data.vocabulary(..., max_size=...)``) for word-level models.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks, info
from mathdl.checks import Text
from mathdl.estimators._common import at_least, value_checks

__all__ = ["NGRAM_MAX_ENTRIES", "NGramModel", "fit_ngram", "ngram_log_probs", "ngram_perplexity"]

NGRAM_MAX_ENTRIES = 2**24
"""The most count entries, summed over the orders 1..n, that :func:`fit_ngram` allocates."""

_SMOOTHINGS = ("laplace", "interpolated")


class NGramModel(NamedTuple):
    r"""A fitted n-gram model: the counts of every order up to $n$ and the smoothing strength.

    Attributes:
      counts: ``counts[k - 1]`` holds $c_k$, the number of occurrences of each $k$-gram, a float
        array of shape ``(d_V,) * k`` for $k = 1, \dots, n$ (so ``len(counts)`` is $n$;
        ``counts[1][a, b]`` counts ``a`` followed by ``b``).
      alpha: the smoothing strength $\alpha > 0$, a float scalar.
    """

    counts: tuple
    alpha: jax.Array


def _static_int(func: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        checks.fail(func, name, "a positive int", value)
    return int(value)


def _ids_in_range(ids, d_V: int):
    ok = (ids >= 0) & (ids < d_V)
    return ok, "ids", f"token ids in [0, {d_V}) (vocab_size = {d_V})", checks.first_bad(ids, ok)


def _flat(ids, k: int, d_V: int, start: int, stop: int):
    """Flat index of the k-grams ids[t : t + k] for t in [start, stop), in base d_V."""
    idx = jnp.zeros((stop - start,), jnp.int32)
    for j in range(k):
        idx = idx * d_V + ids[start + j : stop + j].astype(jnp.int32)
    return idx


# Private kernels, compiled once per static configuration: the public functions check their
# inputs eagerly and then run one program (op-by-op dispatch of these many small ops costs more).
@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _count(ids, n: int, d_V: int, dtype):
    N = ids.shape[0]
    counts = []
    for k in range(1, n + 1):
        m = max(N - k + 1, 0)
        c = jnp.zeros((d_V**k,), dtype).at[_flat(ids, k, d_V, 0, m)].add(1.0)
        counts.append(c.reshape((d_V,) * k))
    return tuple(counts)


@functools.partial(jax.jit, static_argnums=(3,))
def _log_probs(counts, alpha, ids, smoothing: str):
    n, d_V, T = len(counts), counts[0].shape[0], ids.shape[0]
    safe = jnp.clip(ids, 0, d_V - 1).astype(jnp.int32)
    c1 = counts[0]
    unigram = (c1 + alpha / d_V) / (jnp.sum(c1) + alpha)  # D2L's P(x), used by "interpolated"
    parts = []
    for k in range(1, n + 1):  # order k predicts position k - 1 (k < n) or every position >= n - 1 (k = n)
        start, stop = k - 1, (T if k == n else min(k, T))
        if stop <= start:
            continue
        flat_c = counts[k - 1].reshape(-1)
        num = flat_c[_flat(safe, k, d_V, 0, stop - start)]
        x = safe[start:stop]
        if k == 1:
            den = jnp.sum(c1)
        else:
            rows = jnp.sum(counts[k - 1], axis=-1).reshape(-1)
            den = rows[_flat(safe, k - 1, d_V, 0, stop - start)]
        if smoothing == "laplace":
            p = (num + alpha) / (den + alpha * d_V)
        elif k == 1:
            p = unigram[x]
        else:
            p = (num + alpha * unigram[x]) / (den + alpha)
        parts.append(jnp.log(p))
    out = jnp.concatenate(parts) if parts else jnp.zeros((0,), c1.dtype)
    return out


@checks.inputs(ids="int[N]")
def fit_ngram(ids: jax.Array, n: int, *, vocab_size: int, alpha=1.0, dtype=None) -> NGramModel:
    r"""Fit an n-gram language model by counting the $k$-grams of ``ids`` for $k = 1, \dots, n$.

    $c_k(x_{1..k}) = \#\{t : (\text{ids}_t, \dots, \text{ids}_{t+k-1}) = x_{1..k}\}$; the
    smoothing is chosen when the model is used (:func:`ngram_log_probs`). A data-set function:
    ``ids`` is a whole training text.

    Args:
      ids: the training token ids, shape ``(N,)``, integers in $[0, d_V)$ (``N`` may be 0: all
        counts 0, the uniform model).
      n: the order $n$ (a positive int; static): $n = 1$ unigrams, $2$ bigrams, ...
      vocab_size: the lexicon size $d_V$ (a positive int; static), e.g. ``len(vocab)``.
      alpha: the smoothing strength $\alpha > 0$ (a float, may be traced).
      dtype: the floating dtype of the counts and ``alpha`` (default: JAX's default float).

    Returns:
      :class:`NGramModel` ``(counts, alpha)``. Under ``jax.jit`` an id outside $[0, d_V)$ or an
      $\alpha \le 0$ makes the counts NaN.

    Raises:
      ValueError: if ``n`` or ``vocab_size`` is not a positive int; if the dense counts would have
        more than :data:`NGRAM_MAX_ENTRIES` entries (the message gives the number); eagerly, if
        an id is outside $[0, d_V)$ (the first is named) or ``alpha`` is not positive.
      TypeError: if ``ids`` is not an integer array of rank 1.

    References:
      D2L Sec. 9.2 (n-grams, Laplace smoothing); [MEDL] Ch. 7, Sec. 7.1-7.2 (language models, a
      lexicon of size $d_V$). Oracle in tests: counts in a Python ``dict``.
    """
    func = checks.public_name(fit_ngram)
    n = _static_int(func, "n", n)
    d_V = _static_int(func, "vocab_size", vocab_size)
    entries = sum(d_V**k for k in range(1, n + 1))
    if entries > NGRAM_MAX_ENTRIES:
        want = f"at most {NGRAM_MAX_ENTRIES:,} dense counts (sum of vocab_size**k for k = 1..n)"
        got = Text(f"n = {n} with vocab_size = {d_V}: {entries:,} counts; use a smaller n or vocabulary")
        checks.fail(func, "n", want, got)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    alpha = jnp.asarray(alpha, dtype)
    guard = value_checks(func, _ids_in_range(ids, d_V), at_least("alpha", alpha, strict=True))
    counts = _count(ids, n, d_V, dtype)
    return guard(NGramModel(counts, alpha))


def _conform_model(func: str, name: str, model, dims: dict):
    if not isinstance(model, NGramModel):
        checks.fail(func, name, "an NGramModel from estimators.fit_ngram", Text(type(model).__name__), exc=TypeError)
    counts = tuple(
        checks.conform(func, f"{name}.counts[{k}]", c, "float[" + " ".join(["d_V"] * (k + 1)) + "]", dims)
        for k, c in enumerate(model.counts)
    )
    if not counts:
        checks.fail(func, name, "counts of at least one order", Text("no counts"))
    alpha = checks.conform(func, f"{name}.alpha", model.alpha, "float[]", dims)
    return NGramModel(counts, alpha)


@checks.inputs(model=_conform_model, ids="int[T]")
def ngram_log_probs(model: NGramModel, ids: jax.Array, *, smoothing: str = "laplace") -> jax.Array:
    r"""Log-probability of each token of a sequence given the $n - 1$ tokens before it.

    Entry $t$ (0-based) is $\log \hat P(x_t \mid x_{t-n+1}, \dots, x_{t-1})$ with the context cut
    at the start of the sequence: the first $n - 1$ tokens use the orders $1, \dots, n - 1$ (the
    first token its unigram probability). The smoothings are in the module's docstring.

    Args:
      model: an :class:`NGramModel` from :func:`fit_ngram`.
      ids: one token sequence, shape ``(T,)``, integers in $[0, d_V)$.
      smoothing: ``"laplace"`` (add-$\alpha$) or ``"interpolated"`` (D2L's back-off to the unigram).

    Returns:
      The natural-log probabilities, shape ``(T,)``, each $< 0$ (feed them to
      :func:`mathdl.info.sequence_perplexity`). NaN under ``jax.jit`` for an id outside $[0, d_V)$.

    Raises:
      ValueError: if ``smoothing`` is unknown; eagerly, if an id is outside $[0, d_V)$.
      TypeError: if ``model`` is not an :class:`NGramModel` or ``ids`` not an integer array of rank 1.

    References:
      D2L Sec. 9.2 (Laplace smoothing; the interpolated form); [MEDL] Ch. 7, Sec. 7.2.
    """
    func = checks.public_name(ngram_log_probs)
    checks.check_choice(func, "smoothing", smoothing, _SMOOTHINGS)
    counts, alpha = model.counts, model.alpha
    d_V = counts[0].shape[0]
    guard = value_checks(func, _ids_in_range(ids, d_V))
    return guard(_log_probs(counts, alpha, ids, smoothing))


def ngram_perplexity(model: NGramModel, ids: jax.Array, *, smoothing: str = "laplace") -> jax.Array:
    r"""Perplexity of an n-gram model on a sequence, $\exp(-\frac1T \sum_t \log \hat P(x_t \mid \dots))$.

    :func:`mathdl.info.sequence_perplexity` of :func:`ngram_log_probs`: 1 for a model that is
    always certain and right, $d_V$ for the uniform model.

    Args:
      model: an :class:`NGramModel` from :func:`fit_ngram`.
      ids: one token sequence, shape ``(T,)`` with $T \ge 1$, integers in $[0, d_V)$.
      smoothing: ``"laplace"`` or ``"interpolated"`` (see :func:`ngram_log_probs`).

    Returns:
      The perplexity, a float scalar.

    Raises:
      ValueError: as :func:`ngram_log_probs`, and if ``ids`` is empty.
      TypeError: as :func:`ngram_log_probs`.

    References:
      D2L Sec. 9.2 (perplexity; the uniform model's perplexity is $d_V$); [MEDL] Ch. 7.
    """
    return info.sequence_perplexity(ngram_log_probs(model, ids, smoothing=smoothing))
