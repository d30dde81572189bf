"""Tests of mathdl.data text helpers: corpus, vocabulary, padding, buckets, LM windows ([MEDL] Sec. 7.1-7.2)."""

import inspect
import re
import textwrap

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl import data


def test_stdlib_text_is_english_deterministic_and_ascii():
    """Property: two calls give the same text; it is long, ASCII, prose (many 'the'), and max_chars cuts it."""
    a, b = data.stdlib_text(), data.stdlib_text()
    assert a == b and len(a) > 100_000
    assert a.isascii() and len(re.findall(r"\bthe\b", a)) > 1000
    assert data.stdlib_text(max_chars=50) == a[:50]
    src = data.stdlib_text(kind="source")
    assert src.isascii() and src.count("def ") > 500 and len(src) > len(a)


def test_stdlib_text_oracle_module_docstring():
    """Oracle: the docstring of the textwrap module, read by inspect.cleandoc from the imported module, is in it."""
    assert inspect.cleandoc(textwrap.__doc__) in data.stdlib_text()
    assert inspect.cleandoc(textwrap.dedent.__doc__) in data.stdlib_text()
    assert "STDLIB_MODULES" not in data.stdlib_text()  # nothing of mathdl's own


def test_read_text(tmp_path):
    """Worked value and bad input: a file is read back; a missing file, a folder and bad bytes are named."""
    path = tmp_path / "t.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    assert data.read_text(path) == "hello\nworld\n"
    assert data.read_text(str(path)) == "hello\nworld\n"
    with pytest.raises(
        FileNotFoundError,
        match=r"data.read_text: argument `path` expected an existing text file, got '.*nope.txt' \(no such file\)",
    ):
        data.read_text(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match=r"expected a text file, got the folder"):
        data.read_text(tmp_path)
    (tmp_path / "b.bin").write_bytes(b"ab\xff")
    with pytest.raises(ValueError, match=r"expected text in the 'utf-8' encoding, got undecodable bytes at offset 2"):
        data.read_text(tmp_path / "b.bin")
    with pytest.raises(TypeError, match=r"argument `path` expected a path"):
        data.read_text(3)


def test_vocabulary_worked_value():
    """Worked value: 'abcab a' -> specials, then a (3), b (2), ' ' (1) and c (1) with the tie in sorted order."""
    v = data.vocabulary("abcab a")
    assert v.tokens == ("<empty>", "<start>", "<stop>", "<unk>", "a", "b", " ", "c")
    assert (v.pad_id, v.start_id, v.stop_id, v.unk_id) == (0, 1, 2, 3) and len(v) == 8
    np.testing.assert_array_equal(v.encode("cab!"), [7, 4, 5, 3])
    assert v.encode("ab", start=True, stop=True).tolist() == [1, 4, 5, 2] and v.encode("a").dtype == np.int32
    assert v.decode([1, 7, 4, 2, 5]) == "ca"
    assert v.decode([1, 7, 0, 2, 5], skip_special=False, until_stop=False) == "<start>c<empty><stop>b"
    w = data.vocabulary("The cat, the cat.", level="word")
    assert w.tokens[4:] == ("cat", ",", ".", "The", "the")
    assert w.decode(w.encode("the dog")) == "the <unk>"


def test_vocabulary_oracle_counts():
    """Oracle: ids follow the NumPy np.unique counts, by decreasing count then token."""
    text = data.stdlib_text(max_chars=20_000)
    chars, counts = np.unique(np.array(list(text)), return_counts=True)
    want = [str(c) for c, _ in sorted(zip(chars, counts, strict=True), key=lambda cc: (-cc[1], cc[0]))]
    v = data.vocabulary(text)
    assert list(v.tokens[4:]) == want
    assert v.counts[" "] == int(counts[chars == " "][0])


def test_vocabulary_min_freq_max_size_and_lists():
    """Edge: min_freq and max_size leave tokens out (-> <unk>); lists of texts and of token lists are accepted."""
    v = data.vocabulary("aaabbc", min_freq=2)
    assert v.tokens[4:] == ("a", "b") and v.encode("c").tolist() == [3]
    assert data.vocabulary("aaabbc", max_size=5).tokens[4:] == ("a",)
    assert data.vocabulary(["ab", "b"]).tokens[4:] == ("b", "a")
    assert data.vocabulary([["x", "y"], ["y"]], level="word").tokens[4:] == ("y", "x")
    assert len(data.vocabulary("")) == 4


@given(st.text(alphabet="abc xyz.", max_size=40))
def test_encode_decode_round_trip(text):
    """Property: decode(encode(s)) == s for every string over the vocabulary's characters."""
    v = data.vocabulary("abc xyz.")
    assert v.decode(v.encode(text)) == text


def test_vocabulary_bad_inputs():
    """Bad input: each refused with the function and argument named."""
    with pytest.raises(ValueError, match=r"data.vocabulary: argument `level` expected one of"):
        data.vocabulary("ab", level="byte")
    with pytest.raises(ValueError, match=r"argument `min_freq` expected a positive int, got 0"):
        data.vocabulary("ab", min_freq=0)
    with pytest.raises(ValueError, match=r"argument `max_size` expected an int >= 4, got 3"):
        data.vocabulary("ab", max_size=3)
    with pytest.raises(TypeError, match=r"argument `text_or_tokens` expected a str or a list"):
        data.vocabulary(3)
    with pytest.raises(TypeError, match=r"argument `text_or_tokens` expected texts or lists of str tokens"):
        data.vocabulary([[1, 2]])
    with pytest.raises(
        ValueError, match=r"Vocabulary.decode: argument `ids` expected ids in \[0, 6\), got 9 at index 1"
    ):
        data.vocabulary("ab").decode([4, 9])
    with pytest.raises(ValueError, match=r"data.stdlib_text: argument `kind` expected one of"):
        data.stdlib_text(kind="poems")
    with pytest.raises(ValueError, match=r"argument `max_chars` expected a positive int"):
        data.stdlib_text(max_chars=0)


def test_pad_sequences():
    """Worked value and edges: left-aligned rows, <empty> after, truncation to max_len, no sequences."""
    tokens, mask = data.pad_sequences([[5, 6, 7], np.array([8]), []])
    np.testing.assert_array_equal(tokens, [[5, 6, 7], [8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert tokens.dtype == np.int32 and mask.dtype == bool
    tokens, mask = data.pad_sequences([[5, 6, 7], [8]], max_len=2, pad_id=9)
    np.testing.assert_array_equal(tokens, [[5, 6], [8, 9]])
    assert data.pad_sequences([])[0].shape == (0, 0)
    with pytest.raises(
        ValueError, match=r"data.pad_sequences: argument `seqs\[1\]` expected a sequence of ids of rank 1"
    ):
        data.pad_sequences([[1], [[1, 2]]])
    with pytest.raises(TypeError, match=r"argument `seqs\[0\]` expected integer ids, got dtype float64"):
        data.pad_sequences([[1.5]])


def test_bucket_by_length_rule(getkey):
    """Property: the batches partition the indices; in sorted order lengths never decrease; a key permutes."""
    lengths = [5, 1, 3, 2, 4, 3, 1]
    seqs = [[0] * k for k in lengths]
    batches = data.bucket_by_length(seqs, 3)
    assert [b.tolist() for b in batches] == [[1, 6, 3], [2, 5, 4], [0]]  # worked value: stable sort by length
    assert [b.tolist() for b in data.bucket_by_length(seqs, 3, drop_last=True)] == [[1, 6, 3], [2, 5, 4]]
    key = getkey()
    shuffled = data.bucket_by_length(seqs, 2, key=key)
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(7))
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in shuffled)
    assert all(hi <= lo_next for (_, hi), (lo_next, _) in zip(spans, spans[1:], strict=False))
    again = data.bucket_by_length(seqs, 2, key=jax.random.clone(key))
    assert [b.tolist() for b in again] == [b.tolist() for b in shuffled]
    with pytest.raises(ValueError, match=r"data.bucket_by_length: argument `batch_size` expected a positive int"):
        data.bucket_by_length(seqs, 0)
    with pytest.raises(TypeError, match=r"argument `key` expected a typed PRNG key"):
        data.bucket_by_length(seqs, 2, key=jax.random.PRNGKey(0))


def test_lm_windows_worked_value_and_oracle():
    """Worked value, oracle (a Python loop) and property: targets are the inputs shifted by one."""
    x, y = data.lm_windows(np.arange(10), 3)
    np.testing.assert_array_equal(x, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(y, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    ids = np.random.default_rng(0).integers(0, 50, 103)
    x, y = data.lm_windows(ids, 7, stride=4)
    want = [(ids[s : s + 7], ids[s + 1 : s + 8]) for s in range(0, len(ids) - 7, 4)]
    np.testing.assert_array_equal(x, [w[0] for w in want])
    np.testing.assert_array_equal(y, [w[1] for w in want])
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    assert data.lm_windows([1, 2, 3], 3)[0].shape == (0, 3)
    with pytest.raises(ValueError, match=r"data.lm_windows: argument `T` expected a positive int, got 0"):
        data.lm_windows([1, 2, 3], 0)
    with pytest.raises(TypeError, match=r"argument `ids` expected integer ids"):
        data.lm_windows([1.0, 2.0], 1)
