r"""Sequence-to-sequence toy tasks generated in code from a key ([MEDL] Ch. 7, Sec. 7.4).

Each task draws ``n`` (source, target) string pairs from a typed key, encodes them at the
character level and pads them to widths that depend only on the task's settings (never on the
draw), so the arrays of two calls always stack and a compiled model sees one shape:

* :func:`date_translation` - a date written in one of six English formats to ISO 8601
  (``"3 March 2021"`` -> ``"2021-03-03"``), the classic attention toy;
* :func:`reverse_digits`, :func:`sort_digits` - a string of digits to its reverse / its sorted digits;
* :func:`add_digits` - ``"123+45"`` -> ``"168"``.

Sources are the characters then ``<empty>`` padding; targets are ``<start>``, the characters,
``<stop>``, then padding (teacher forcing feeds ``tgt[:, :-1]`` and predicts ``tgt[:, 1:]``). The
same key gives the same data on every machine: 64 bits drawn from the key seed NumPy's PCG64
generator, and the strings are built in Python (no locale: month and day names are fixed English
tables).
"""

import calendar
import datetime
from typing import NamedTuple

import jax
import numpy as np

from mathdl import checks
from mathdl.data._text import Vocabulary, _positive_int, pad_sequences, vocabulary

__all__ = ["DATE_FORMATS", "SeqTask", "add_digits", "date_translation", "reverse_digits", "sort_digits"]

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DATE_FORMATS = (
    "{d} {B} {Y}",
    "{B} {d}, {Y}",
    "{d} {b} {Y}",
    "{b} {d}, {Y}",
    "{dd}.{mm}.{Y}",
    "{A}, {d} {B} {Y}",
)
"""The source formats of :func:`date_translation`: ``d`` day, ``dd``/``mm`` two digits, ``B``/``b``
full/short month name, ``A`` weekday name, ``Y`` year (``"{A}, {d} {B} {Y}"`` is ``"Wednesday, 3 March 2021"``)."""


class SeqTask(NamedTuple):
    """A sequence-to-sequence data set: padded id arrays and their vocabularies.

    Attributes:
      src: source ids, NumPy ``int32`` of shape ``(n, S)``: characters, then ``<empty>`` (0).
      tgt: target ids, NumPy ``int32`` of shape ``(n, T)``: ``<start>``, characters, ``<stop>``, ``<empty>``.
      src_vocab: the source :class:`Vocabulary` (character level).
      tgt_vocab: the target :class:`Vocabulary` (the same object as ``src_vocab`` for the digit tasks).
    """

    src: np.ndarray
    tgt: np.ndarray
    src_vocab: Vocabulary
    tgt_vocab: Vocabulary


def _fixed_vocab(chars: str) -> Vocabulary:
    return vocabulary([sorted(set(chars))], level="char")  # every character once: ids in sorted order


def _format_date(fmt: str, y: int, m: int, d: int) -> str:
    A = _DAYS[datetime.date(y, m, d).weekday()]
    B = _MONTHS[m - 1]
    return fmt.format(d=d, dd=f"{d:02d}", mm=f"{m:02d}", B=B, b=B[:3], A=A, Y=f"{y:04d}")


_DATE_SRC_CHARS = "".join(_MONTHS) + "".join(_DAYS) + "0123456789 ,."
# The longest source any format can produce (two-digit day, longest month and weekday names): 28.
_DATE_SRC_LEN = max(
    len(f.format(d=28, dd="28", mm="12", B=B, b=B[:3], A=A, Y="2000"))
    for f in DATE_FORMATS
    for B in _MONTHS
    for A in _DAYS
)


def _uniform(func: str, key, n: int, m: int) -> np.ndarray:
    """(n, m) uniforms on [0, 1) from a NumPy PCG64 generator seeded by 64 bits drawn from ``key``.

    One fixed-shape ``jax.random`` call (compiled once, whatever n and m) and NumPy's PCG64, which
    gives the same stream on every platform.
    """
    key = checks.conform(func, "key", key, "key[]")
    seed = np.asarray(jax.random.bits(key, (2,), dtype=np.uint32)).astype(np.uint64)
    return np.random.Generator(np.random.PCG64(int(seed[0]) << 32 | int(seed[1]))).random((n, m))


def _encode(pairs, src_vocab, tgt_vocab, S: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    src = pad_sequences([src_vocab.encode(s) for s, _ in pairs], max_len=S)[0]
    tgt = pad_sequences([tgt_vocab.encode(t, start=True, stop=True) for _, t in pairs], max_len=T)[0]
    return src, tgt


def date_translation(key: jax.Array, n: int, *, years: tuple[int, int] = (1950, 2049)) -> SeqTask:
    r"""Dates in six English formats translated to ISO 8601: ``"Wednesday, 3 March 2021"`` -> ``"2021-03-03"``.

    Each example draws a year uniformly from ``years`` (inclusive), a month uniformly, a valid day
    of that month uniformly, and a format uniformly from :data:`DATE_FORMATS`; the target is
    ``YYYY-MM-DD``. The vocabularies are fixed (every character the formats can produce), so
    they do not depend on the draw.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      n: the number of examples (a positive int).
      years: the first and last year, ``1 <= first <= last <= 9999``.

    Returns:
      :class:`SeqTask` ``(src (n, S), tgt (n, 12), src_vocab, tgt_vocab)`` with $S$ = 28, the
      longest source any format can produce.

    Raises:
      ValueError: if ``n`` is not a positive int or ``years`` is not an increasing pair in [1, 9999].
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (encoder-decoder translation and attention); the date-format toy of
      Bahdanau-style attention tutorials.
    """
    func = checks.public_name(date_translation)
    n = _positive_int(func, "n", n)
    y0, y1 = years
    if not (isinstance(y0, int) and isinstance(y1, int) and 1 <= y0 <= y1 <= 9999):
        checks.fail(func, "years", "a pair of ints 1 <= first <= last <= 9999", years)
    u = _uniform(func, key, n, 4)
    pairs = []
    for uy, um, ud, uf in u:
        y = y0 + min(int(uy * (y1 - y0 + 1)), y1 - y0)
        m = 1 + min(int(um * 12), 11)
        days = calendar.monthrange(y, m)[1]
        d = 1 + min(int(ud * days), days - 1)
        fmt = DATE_FORMATS[min(int(uf * len(DATE_FORMATS)), len(DATE_FORMATS) - 1)]
        pairs.append((_format_date(fmt, y, m, d), f"{y:04d}-{m:02d}-{d:02d}"))
    src_vocab, tgt_vocab = _fixed_vocab(_DATE_SRC_CHARS), _fixed_vocab("0123456789-")
    src, tgt = _encode(pairs, src_vocab, tgt_vocab, _DATE_SRC_LEN, 12)
    return SeqTask(src, tgt, src_vocab, tgt_vocab)


def _digit_strings(func: str, key, n, min_len, max_len) -> list[str]:
    n = _positive_int(func, "n", n)
    min_len = _positive_int(func, "min_len", min_len)
    max_len = _positive_int(func, "max_len", max_len)
    if min_len > max_len:
        checks.fail(func, "max_len", f"an int >= min_len ({min_len})", max_len)
    u = _uniform(func, key, n, max_len + 1)
    span = max_len - min_len + 1
    lengths = min_len + np.minimum((u[:, 0] * span).astype(int), span - 1)
    digits = np.minimum((u[:, 1:] * 10).astype(int), 9)
    return ["".join(str(x) for x in digits[i, :L]) for i, L in enumerate(lengths)]


def _digit_task(strings_and_targets, S: int, T: int) -> SeqTask:
    vocab = _fixed_vocab("0123456789+")
    src, tgt = _encode(strings_and_targets, vocab, vocab, S, T)
    return SeqTask(src, tgt, vocab, vocab)


def reverse_digits(key: jax.Array, n: int, *, min_len: int = 1, max_len: int = 8) -> SeqTask:
    r"""Strings of random digits and their reverses: ``"3141"`` -> ``"1413"``.

    Each example draws a length uniformly from ``[min_len, max_len]`` and each digit uniformly.

    Args:
      key: a typed PRNG key.
      n: the number of examples (a positive int).
      min_len: the shortest source (a positive int).
      max_len: the longest source (an int >= ``min_len``).

    Returns:
      :class:`SeqTask` ``(src (n, max_len), tgt (n, max_len + 2), vocab, vocab)`` over the
      characters ``0-9`` and ``+``.

    Raises:
      ValueError: if ``n``, ``min_len`` or ``max_len`` is not a positive int, or ``min_len > max_len``.
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (reversed source sentences in encoder-decoders); Sutskever et al. (2014).
    """
    func = checks.public_name(reverse_digits)
    strings = _digit_strings(func, key, n, min_len, max_len)
    return _digit_task([(s, s[::-1]) for s in strings], max_len, max_len + 2)


def sort_digits(key: jax.Array, n: int, *, min_len: int = 1, max_len: int = 8) -> SeqTask:
    r"""Strings of random digits and their digits in increasing order: ``"3141"`` -> ``"1134"``.

    Args:
      key: a typed PRNG key.
      n: the number of examples (a positive int).
      min_len: the shortest source (a positive int).
      max_len: the longest source (an int >= ``min_len``).

    Returns:
      :class:`SeqTask` ``(src (n, max_len), tgt (n, max_len + 2), vocab, vocab)``.

    Raises:
      ValueError: as :func:`reverse_digits`.
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Vinyals, Bengio & Kudlur (2016), "Order matters" (sorting as seq2seq).
    """
    func = checks.public_name(sort_digits)
    strings = _digit_strings(func, key, n, min_len, max_len)
    return _digit_task([(s, "".join(sorted(s))) for s in strings], max_len, max_len + 2)


def add_digits(key: jax.Array, n: int, *, max_digits: int = 3) -> SeqTask:
    r"""Sums written out: ``"123+45"`` -> ``"168"``, operands uniform in $[0, 10^{\text{max\_digits}})$.

    Args:
      key: a typed PRNG key.
      n: the number of examples (a positive int).
      max_digits: the most digits of an operand (a positive int, at most 15).

    Returns:
      :class:`SeqTask` ``(src (n, 2 max_digits + 1), tgt (n, max_digits + 3), vocab, vocab)``.

    Raises:
      ValueError: if ``n`` or ``max_digits`` is not a positive int, or ``max_digits > 15``.
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Zaremba & Sutskever (2014), "Learning to execute" (addition as seq2seq).
    """
    func = checks.public_name(add_digits)
    n = _positive_int(func, "n", n)
    k = _positive_int(func, "max_digits", max_digits)
    if k > 15:  # the operands come from float64 uniforms (53 bits)
        checks.fail(func, "max_digits", "a positive int <= 15", k)
    u = _uniform(func, key, n, 2)
    top = 10**k
    ab = np.minimum((u * top).astype(np.int64), top - 1)
    pairs = [(f"{a}+{b}", str(a + b)) for a, b in ab.tolist()]
    return _digit_task(pairs, 2 * k + 1, k + 3)
