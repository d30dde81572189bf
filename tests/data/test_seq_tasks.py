"""Tests of mathdl.data sequence-to-sequence toys: date_translation, reverse/sort/add digits ([MEDL] Sec. 7.4)."""

import datetime

import jax
import numpy as np
import pytest

from mathdl import data

# Independent parse of each source format (Python's C locale gives English month and day names).
STRPTIME = ("%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%d.%m.%Y", "%A, %d %B %Y")


def _parse(text: str) -> datetime.date:
    for fmt in STRPTIME:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise AssertionError(f"no format parses {text!r}")


def _texts(task):
    src = [task.src_vocab.decode(s) for s in task.src]
    tgt = [task.tgt_vocab.decode(t) for t in task.tgt]
    return src, tgt


def test_date_translation_oracle_strptime(getkey):
    """Oracle: datetime.strptime parses every source, its isoformat is the target; all six formats occur."""
    task = data.date_translation(getkey(), 300)
    src, tgt = _texts(task)
    for s, t in zip(src, tgt, strict=True):
        assert _parse(s).isoformat() == t
    assert task.src.shape == (300, 28) and task.tgt.shape == (300, 12)
    days = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
    assert any(s.split(",")[0] in days for s in src)  # the weekday format
    assert any("." in s for s in src) and any(len(s.split()[1]) == 3 for s in src if " " in s)  # dotted, short month


def test_targets_are_start_text_stop_padding(getkey):
    """Contract: each target row is <start>, characters, exactly one <stop>, then <empty>; sources have no specials."""
    for task in (data.date_translation(getkey(), 20), data.add_digits(getkey(), 20)):
        v = task.tgt_vocab
        assert np.all(task.tgt[:, 0] == v.start_id)
        assert np.all(np.sum(task.tgt == v.stop_id, axis=1) == 1)
        stop_at = np.argmax(task.tgt == v.stop_id, axis=1)
        after = np.arange(task.tgt.shape[1])[None, :] > stop_at[:, None]
        assert np.all(task.tgt[after] == v.pad_id) and task.tgt.dtype == np.int32
        assert not np.isin(task.src, [v.start_id, v.stop_id, v.unk_id]).any()


def test_digit_tasks_oracles(getkey):
    """Oracle: reverse is s[::-1], sort is sorted(s), add is int(a) + int(b); lengths in [min_len, max_len]."""
    src, tgt = _texts(data.reverse_digits(getkey(), 50, min_len=2, max_len=6))
    assert all(t == s[::-1] and 2 <= len(s) <= 6 for s, t in zip(src, tgt, strict=True))
    assert {len(s) for s in src} == set(range(2, 7))
    src, tgt = _texts(data.sort_digits(getkey(), 50))
    assert all(t == "".join(sorted(s)) for s, t in zip(src, tgt, strict=True))
    task = data.add_digits(getkey(), 50, max_digits=2)
    src, tgt = _texts(task)
    assert all(int(t) == sum(int(x) for x in s.split("+")) for s, t in zip(src, tgt, strict=True))
    assert task.src.shape == (50, 5) and task.tgt.shape == (50, 5) and task.src_vocab is task.tgt_vocab


def test_deterministic_given_the_key(getkey):
    """Property: the same key gives the same arrays; another key other data; shapes never depend on the draw."""
    key = getkey()
    a = data.date_translation(key, 10)
    b = data.date_translation(jax.random.clone(key), 10)
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_array_equal(a.tgt, b.tgt)
    c = data.date_translation(getkey(), 3)
    assert not np.array_equal(a.src[:3], c.src) and c.src.shape[1] == a.src.shape[1]
    assert a.src_vocab.tokens == c.src_vocab.tokens


def test_bad_inputs():
    """Bad input: each refused with the function and argument named."""
    with pytest.raises(TypeError, match=r"data.date_translation: argument `key` expected a typed PRNG key"):
        data.date_translation(jax.random.PRNGKey(0), 3)
    with pytest.raises(ValueError, match=r"data.reverse_digits: argument `n` expected a positive int, got 0"):
        data.reverse_digits(jax.random.key(0), 0)
    with pytest.raises(
        ValueError, match=r"data.sort_digits: argument `max_len` expected an int >= min_len \(5\), got 3"
    ):
        data.sort_digits(jax.random.key(0), 2, min_len=5, max_len=3)
    with pytest.raises(
        ValueError, match=r"data.add_digits: argument `max_digits` expected a positive int <= 15, got 16"
    ):
        data.add_digits(jax.random.key(0), 2, max_digits=16)
    with pytest.raises(ValueError, match=r"argument `years` expected a pair of ints"):
        data.date_translation(jax.random.key(0), 2, years=(2000, 1999))
