r"""Text for sequence models ([MEDL] Ch. 7, Sec. 7.1-7.2): a corpus, a vocabulary, padding and LM windows.

* :func:`stdlib_text` - an English corpus that needs no download: the docstrings (or the source
  code) of a fixed list of modules of Python's own standard library;
* :func:`read_text` - a text file of your own;
* :func:`vocabulary` / :class:`Vocabulary` - a lexicon of $d_V$ tokens (characters or words) with
  the special tokens ``<empty>`` (id 0, padding), ``<start>``, ``<stop>`` and ``<unk>``; encode
  text to ids and decode ids to text;
* :func:`pad_sequences`, :func:`bucket_by_length` - sequences of different lengths as one
  ``(n, T)`` array with a mask, and batches of similar length;
* :func:`lm_windows` - next-token training pairs for a language model: the target at step $t$ is
  the input at step $t+1$, $y^{\langle t\rangle} = x^{\langle t+1\rangle}$ ([MEDL] Sec. 7.2).

These run on the host (NumPy, Python strings), before any compiled code.
"""

import ast
import collections
import functools
import os
import re
import sysconfig
from collections.abc import Sequence

import jax
import numpy as np

from mathdl import checks
from mathdl.checks import Text

__all__ = [
    "SPECIAL_TOKENS",
    "STDLIB_MODULES",
    "Vocabulary",
    "bucket_by_length",
    "lm_windows",
    "pad_sequences",
    "read_text",
    "stdlib_text",
    "vocabulary",
]

SPECIAL_TOKENS = ("<empty>", "<start>", "<stop>", "<unk>")
"""The special tokens, with ids 0, 1, 2, 3 in every :class:`Vocabulary`: padding, start, stop, unknown."""

STDLIB_MODULES = (
    "abc", "argparse", "bisect", "calendar", "collections/__init__", "contextlib", "copy", "csv",
    "dataclasses", "difflib", "enum", "fnmatch", "fractions", "functools", "glob", "heapq", "inspect",
    "json/__init__", "logging/__init__", "numbers", "operator", "pathlib", "pprint", "queue", "random",
    "shlex", "shutil", "statistics", "string", "tempfile", "textwrap", "threading", "timeit", "warnings",
    "weakref", "zipfile",
)  # fmt: skip
"""The stdlib source files :func:`stdlib_text` reads (relative to the stdlib folder, no ``.py``), sorted."""

_WORD = re.compile(r"\w+|[^\w\s]")


def _doc_nodes(node):
    """Docstrings of a module's module, classes and functions, depth first in source order."""
    if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        doc = ast.get_docstring(node, clean=True)
        if doc:
            yield doc
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _doc_nodes(child)


@functools.lru_cache(maxsize=2)
def _stdlib_corpus(kind: str) -> str:
    root = sysconfig.get_paths()["stdlib"]
    parts = []
    for name in STDLIB_MODULES:
        path = os.path.join(root, name + ".py")
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
        except OSError:
            continue  # a trimmed installation (no sources for this module): skip it
        parts.extend(_doc_nodes(ast.parse(source)) if kind == "docs" else [source])
    text = ("\n\n" if kind == "docs" else "\n").join(parts)
    return text.encode("ascii", "ignore").decode("ascii")  # a small character lexicon: drop non-ASCII


def stdlib_text(*, kind: str = "docs", max_chars: int | None = None) -> str:
    r"""An English corpus built from Python's standard library: its docstrings or its source code.

    The modules are the fixed, sorted list :data:`STDLIB_MODULES` (36 pure-Python modules such as
    ``argparse``, ``functools``, ``statistics``), read from the running interpreter's stdlib
    folder. With ``kind="docs"`` the text is the docstrings of each module, class and function,
    depth first in source order, joined by blank lines (``ast.get_docstring``, indentation
    cleaned); with ``kind="source"`` it is the source files themselves. Characters outside ASCII
    are dropped. Nothing is downloaded or imported; the result is cached (``functools.lru_cache``).

    Deterministic for a given Python version (the stdlib's docstrings change between releases).
    Measured on CPython 3.11.7: ``kind="docs"`` has 257,474 characters (96 distinct), ``"source"``
    about 1.3 million; building both takes under a second.

    Args:
      kind: ``"docs"`` (English prose with code examples) or ``"source"`` (Python code).
      max_chars: keep only the first ``max_chars`` characters (a positive int), or ``None`` for all.

    Returns:
      The corpus, a ``str``.

    Raises:
      ValueError: if ``kind`` is unknown or ``max_chars`` is not a positive int.
      FileNotFoundError: if none of the modules' source files exists (an installation without
        ``.py`` sources); use :func:`read_text` on a file of your own instead.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (text as sequences of tokens); D2L Sec. 9.2 (a character-level
      corpus for language models).
    """
    func = checks.public_name(stdlib_text)
    checks.check_choice(func, "kind", kind, ("docs", "source"))
    if max_chars is not None:
        _positive_int(func, "max_chars", max_chars)
    text = _stdlib_corpus(kind)
    if not text:
        root = sysconfig.get_paths()["stdlib"]
        checks.fail(
            func,
            "kind",
            "the standard library's .py sources",
            Text(f"none of them under {root!r}"),
            exc=FileNotFoundError,
        )
    return text if max_chars is None else text[:max_chars]


def read_text(path, *, encoding: str = "utf-8") -> str:
    r"""Read a text file of your own as one string (for :func:`vocabulary` and :func:`lm_windows`).

    Args:
      path: a path (``str`` or ``os.PathLike``) to an existing text file.
      encoding: the file's encoding (default ``"utf-8"``).

    Returns:
      The file's contents, a ``str`` (newlines as written, ``"\r\n"`` read as ``"\n"``).

    Raises:
      FileNotFoundError: if ``path`` does not exist (the message gives the path).
      IsADirectoryError: if ``path`` is a folder.
      ValueError: if the file cannot be decoded with ``encoding`` (the message gives the byte offset).
      TypeError: if ``path`` is not a path.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (text data).
    """
    func = checks.public_name(read_text)
    if not isinstance(path, str | os.PathLike):
        checks.fail(func, "path", "a path (str or os.PathLike)", Text(type(path).__name__), exc=TypeError)
    if os.path.isdir(path):
        checks.fail(func, "path", "a text file", Text(f"the folder {os.fspath(path)!r}"), exc=IsADirectoryError)
    if not os.path.exists(path):
        checks.fail(
            func, "path", "an existing text file", Text(f"{os.fspath(path)!r} (no such file)"), exc=FileNotFoundError
        )
    try:
        with open(path, encoding=encoding) as f:
            return f.read()
    except UnicodeDecodeError as err:
        checks.fail(
            func, "path", f"text in the {encoding!r} encoding", Text(f"undecodable bytes at offset {err.start}")
        )


def _positive_int(func: str, name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        checks.fail(func, name, "a positive int" if minimum == 1 else f"an int >= {minimum}", value)
    return int(value)


def _tokenize(text: str, level: str) -> list[str]:
    return list(text) if level == "char" else _WORD.findall(text)


class Vocabulary:
    r"""A lexicon of $d_V$ tokens with fixed ids: the special tokens first, then by frequency.

    Ids 0-3 are ``<empty>`` (padding), ``<start>``, ``<stop>`` and ``<unk>`` (:data:`SPECIAL_TOKENS`);
    the others follow in decreasing frequency in the text it was built from, ties in sorted order,
    so one text always gives one vocabulary. Build one with :func:`vocabulary`.

    Attributes:
      tokens: the tokens, ``tokens[i]`` is the token with id ``i`` (a tuple of ``str``).
      level: ``"char"`` or ``"word"``: how :meth:`encode` splits a string and :meth:`decode` joins.
      counts: token -> count in the text it was built from (specials absent).
      pad_id, start_id, stop_id, unk_id: 0, 1, 2, 3.
    """

    pad_id, start_id, stop_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokens: Sequence[str], *, level: str, counts: dict | None = None):
        tokens = tuple(tokens)
        if tokens[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS or len(set(tokens)) != len(tokens):
            raise ValueError(
                "data.Vocabulary: argument `tokens` expected distinct tokens starting with "
                f"{SPECIAL_TOKENS}, got {tokens[:6]}..."
            )
        self.tokens = tokens
        self.level = level
        self.counts = dict(counts or {})
        self._index = {t: i for i, t in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self._index

    def __getitem__(self, token: str) -> int:
        return self._index.get(token, self.unk_id)

    def __repr__(self) -> str:
        return f"Vocabulary(level={self.level!r}, d_V={len(self)}, first={self.tokens[4:12]})"

    def encode(self, text, *, start: bool = False, stop: bool = False) -> np.ndarray:
        r"""Token ids of a text: a string is split at the vocabulary's level, a list is taken as tokens.

        Args:
          text: a ``str`` (split into characters, or into words and punctuation marks, as the
            vocabulary was built), or a sequence of tokens.
          start: put ``<start>`` first.
          stop: put ``<stop>`` last.

        Returns:
          The ids, a NumPy ``int32`` array of shape ``(T,)``; unknown tokens get ``unk_id``.

        Raises:
          TypeError: if ``text`` is neither a string nor a sequence of tokens.

        References:
          [MEDL] Ch. 7, Sec. 7.1 (a lexicon and one-hot ids).
        """
        if isinstance(text, str):
            tokens = _tokenize(text, self.level)
        elif isinstance(text, Sequence):
            tokens = list(text)
        else:
            raise TypeError(
                "data.Vocabulary.encode: argument `text` expected a str or a list of tokens, "
                f"got {type(text).__name__}."
            )
        ids = [self.start_id] * start + [self._index.get(t, self.unk_id) for t in tokens] + [self.stop_id] * stop
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids, *, skip_special: bool = True, until_stop: bool = True) -> str:
        r"""The text of a sequence of ids: characters joined without a separator, words with spaces.

        Args:
          ids: token ids, shape ``(T,)`` (a list, NumPy or JAX array).
          skip_special: drop ``<empty>``, ``<start>`` and ``<stop>`` (``<unk>`` is kept as ``"<unk>"``).
          until_stop: end at the first ``<stop>``.

        Returns:
          The text, a ``str``.

        Raises:
          ValueError: if an id is outside $[0, d_V)$ (the first such id is named).

        References:
          [MEDL] Ch. 7, Sec. 7.1.
        """
        ids = np.asarray(ids).reshape(-1).tolist()
        out = []
        for i, t in enumerate(ids):
            if not 0 <= t < len(self.tokens):
                raise ValueError(
                    f"data.Vocabulary.decode: argument `ids` expected ids in [0, {len(self)}), got {t} at index {i}."
                )
            if until_stop and t == self.stop_id:
                break
            if skip_special and t in (self.pad_id, self.start_id, self.stop_id):
                continue
            out.append(self.tokens[t])
        return ("" if self.level == "char" else " ").join(out)


def vocabulary(text_or_tokens, *, level: str = "char", min_freq: int = 1, max_size: int | None = None) -> Vocabulary:
    r"""Build a :class:`Vocabulary` from a text (or a list of tokens, or a list of texts).

    A string is split into characters (``level="char"``) or into words and punctuation marks
    (``level="word"``: maximal runs of letters, digits and underscores, and each other non-space
    character alone; case is kept, lower-case the text first for a smaller lexicon). Tokens seen
    fewer than ``min_freq`` times, and those beyond the ``max_size`` most frequent, are left out:
    :meth:`Vocabulary.encode` maps them to ``<unk>``.

    Args:
      text_or_tokens: a ``str``, a list of ``str`` texts (each split at ``level``), or a list of
        token lists.
      level: ``"char"`` or ``"word"``.
      min_freq: the least count a token needs to get its own id (a positive int).
      max_size: the most ids in all, the 4 special tokens included (an int >= 4), or ``None``.

    Returns:
      The :class:`Vocabulary`; ``len(vocab)`` is $d_V$.

    Raises:
      ValueError: if ``level`` is unknown, ``min_freq`` is not a positive int or ``max_size``
        is below 4.
      TypeError: if ``text_or_tokens`` is not a string or a list of strings / token lists, or a
        token is not a string.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (a lexicon of size $d_V$; the ``<empty>`` padding token, Sec. 7.2);
      D2L Sec. 9.2 (vocabulary by frequency, ``<unk>``).

    Example:
      >>> v = vocabulary("abba")
      >>> v.tokens[4:], v.encode("abc").tolist(), v.decode([5, 4])
      (('a', 'b'), [4, 5, 3], 'ba')
    """
    func = checks.public_name(vocabulary)
    checks.check_choice(func, "level", level, ("char", "word"))
    min_freq = _positive_int(func, "min_freq", min_freq)
    if max_size is not None:
        max_size = _positive_int(func, "max_size", max_size, minimum=len(SPECIAL_TOKENS))
    if isinstance(text_or_tokens, str):
        tokens = _tokenize(text_or_tokens, level)
    elif isinstance(text_or_tokens, Sequence):
        tokens = []
        for item in text_or_tokens:
            if isinstance(item, str):
                tokens.extend(_tokenize(item, level))
            elif isinstance(item, Sequence) and all(isinstance(t, str) for t in item):
                tokens.extend(item)
            else:
                checks.fail(
                    func, "text_or_tokens", "texts or lists of str tokens", Text(f"an item {item!r}"), exc=TypeError
                )
    else:
        want = "a str or a list of texts / token lists"
        checks.fail(func, "text_or_tokens", want, Text(type(text_or_tokens).__name__), exc=TypeError)
    counts = collections.Counter(t for t in tokens if t not in SPECIAL_TOKENS)
    kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    if max_size is not None:
        kept = kept[: max_size - len(SPECIAL_TOKENS)]
    return Vocabulary(SPECIAL_TOKENS + tuple(kept), level=level, counts=counts)


def pad_sequences(seqs, *, max_len: int | None = None, pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Put sequences of different lengths into one ``(n, T)`` array, padded with ``<empty>``, and a mask.

    Row $i$ holds sequence $i$ from the left, then ``pad_id``; a sequence longer than ``max_len``
    is cut to its first ``max_len`` tokens. The mask is true on the real tokens, so a loss
    averaged over the mask counts no step whose target is padding ([MEDL] Sec. 7.2).

    Args:
      seqs: ``n`` sequences of integer ids (lists, NumPy or JAX arrays of rank 1).
      max_len: the width $T$ (a non-negative int), or ``None`` for the longest sequence.
      pad_id: the id written after each sequence (default 0, ``<empty>``).

    Returns:
      ``(tokens, mask)``: NumPy arrays of shape ``(n, T)``, ``int32`` and ``bool``.

    Raises:
      ValueError: if a sequence is not of rank 1 or ``max_len`` is negative.
      TypeError: if a sequence is not of integers.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (padding with ``<empty>``; no loss where the target is ``<empty>``).

    Example:
      >>> tokens, mask = pad_sequences([[5, 6, 7], [8]])
      >>> tokens.tolist(), mask.sum(axis=1).tolist()
      ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    func = checks.public_name(pad_sequences)
    arrays = [_ids(func, f"seqs[{i}]", s) for i, s in enumerate(seqs)]
    if max_len is None:
        T = max((len(a) for a in arrays), default=0)
    else:
        T = _positive_int(func, "max_len", max_len, minimum=0)
    tokens = np.full((len(arrays), T), pad_id, dtype=np.int32)
    mask = np.zeros((len(arrays), T), dtype=bool)
    for i, a in enumerate(arrays):
        L = min(len(a), T)
        tokens[i, :L] = a[:L]
        mask[i, :L] = True
    return tokens, mask


def _ids(func: str, name: str, seq) -> np.ndarray:
    a = np.asarray(seq)
    if a.size == 0:
        return a.reshape(0).astype(np.int32)
    if a.ndim != 1:
        checks.fail(func, name, "a sequence of ids of rank 1", Text(f"shape {a.shape}"))
    if not np.issubdtype(a.dtype, np.integer):
        checks.fail(func, name, "integer ids", Text(f"dtype {a.dtype}"), exc=TypeError)
    return a


def bucket_by_length(seqs, batch_size: int, *, key: jax.Array | None = None, drop_last: bool = False) -> list:
    r"""Batches of sequences of similar length (less padding per batch), as lists of indices.

    The rule: sort the sequences by length (a stable sort, so equal lengths keep their order),
    then cut the sorted order into consecutive batches of ``batch_size``; the last batch may be
    smaller (or is dropped with ``drop_last``). Within a batch the lengths differ by as little
    as the data allow. With a ``key``, the sequences are first permuted (so ties are broken at
    random) and the batches are returned in a random order, for a new order every epoch.

    Args:
      seqs: ``n`` sequences (anything with ``len``), e.g. token-id lists.
      batch_size: the number of sequences per batch (a positive int).
      key: a typed PRNG key (``jax.random.key(seed)``), or ``None`` for shortest first.
      drop_last: drop a last batch smaller than ``batch_size``.

    Returns:
      A list of NumPy ``int64`` index arrays into ``seqs``, each of length ``batch_size`` (the
      last possibly shorter); pad each batch with :func:`pad_sequences`.

    Raises:
      ValueError: if ``batch_size`` is not a positive int.
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (sequences of different lengths); the bucketing of Sutskever et al.
      (2014) and of most sequence-to-sequence toolkits.
    """
    func = checks.public_name(bucket_by_length)
    batch_size = _positive_int(func, "batch_size", batch_size)
    lengths = np.asarray([len(s) for s in seqs], dtype=np.int64)
    n = len(lengths)
    order = np.arange(n)
    if key is not None:
        key = checks.conform(func, "key", key, "key[]")
        k_perm, k_batches = jax.random.split(key)
        order = np.asarray(jax.random.permutation(k_perm, n))
    order = order[np.argsort(lengths[order], kind="stable")]
    stops = range(0, n - batch_size + 1 if drop_last else n, batch_size)
    out = [order[i : i + batch_size] for i in stops]
    if key is not None and out:
        out = [out[j] for j in np.asarray(jax.random.permutation(k_batches, len(out)))]
    return out


def lm_windows(ids, T: int, *, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Next-token windows for a language model: inputs $x^{\langle 1..T\rangle}$, targets $x^{\langle 2..T+1\rangle}$.

    Window $i$ starts at $s_i = i \cdot \text{stride}$; its inputs are ``ids[s_i : s_i + T]`` and
    its targets the same positions shifted by one, ``ids[s_i + 1 : s_i + T + 1]``, so the target
    at step $t$ is the next input, $y^{\langle t\rangle} = x^{\langle t+1\rangle}$ (self-supervised).
    There are $n = \lfloor (N - 1 - T)/\text{stride} \rfloor + 1$ windows from $N$ ids (0 when
    $N \le T$); the tail that does not fill a window is left out.

    Args:
      ids: the token ids of a whole text, shape ``(N,)``, integers.
      T: the window length (a positive int).
      stride: the step between window starts (a positive int; default ``T``, windows that do not
        overlap).

    Returns:
      ``(inputs, targets)``: NumPy ``int32`` arrays of shape ``(n, T)``.

    Raises:
      ValueError: if ``ids`` is not of rank 1, or ``T`` or ``stride`` is not a positive int.
      TypeError: if ``ids`` is not of integers.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (the target $y^{\langle t\rangle} = x^{\langle t+1\rangle}$);
      D2L Sec. 9.3 (partitioning a corpus into subsequences).

    Example:
      >>> x, y = lm_windows([1, 2, 3, 4, 5, 6], 2)
      >>> x.tolist(), y.tolist()
      ([[1, 2], [3, 4]], [[2, 3], [4, 5]])
    """
    func = checks.public_name(lm_windows)
    a = _ids(func, "ids", ids).astype(np.int32)
    T = _positive_int(func, "T", T)
    stride = T if stride is None else _positive_int(func, "stride", stride)
    n = 0 if len(a) <= T else (len(a) - 1 - T) // stride + 1
    starts = stride * np.arange(n)[:, None] + np.arange(T)[None, :]
    return a[starts], a[starts + 1]
