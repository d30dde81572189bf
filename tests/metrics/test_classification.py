"""Tests for confusion_matrix, accuracy, precision, recall and f1 (mathdl.metrics._classification)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.experimental import checkify
from sklearn import metrics as skm

from mathdl import checks, metrics
from tests._tolerances import tol

# by hand: y = (1,1,1,0,0,0,0), yhat = (1,1,0,1,0,0,0) -> TP=2, FN=1, FP=1, TN=3
Y = jnp.array([1, 1, 1, 0, 0, 0, 0])
YHAT = jnp.array([1, 1, 0, 1, 0, 0, 0])


def test_binary_worked_values():
    """Worked value by hand: TP=2, FP=1, FN=1, TN=3 -> acc 5/7, P = R = F1 = 2/3; C = [[3,1],[1,2]]."""
    np.testing.assert_array_equal(np.asarray(metrics.confusion_matrix(Y, YHAT, num_classes=2)), [[3, 1], [1, 2]])
    np.testing.assert_allclose(float(metrics.accuracy(Y, YHAT)), 5 / 7, rtol=1e-15)
    for fn in (metrics.precision, metrics.recall, metrics.f1):
        np.testing.assert_allclose(float(fn(Y, YHAT)), 2 / 3, rtol=1e-15)
    # with class 0 as positive: TP=3, FP=1, FN=1
    np.testing.assert_allclose(float(metrics.precision(Y, YHAT, pos_label=0)), 3 / 4, rtol=1e-15)


def test_zero_division_is_zero():
    """Convention (sklearn zero_division=0): no predicted positives -> precision 0; no positives -> recall 0, F1 0."""
    y = jnp.array([0, 0, 1])
    none = jnp.array([0, 0, 0])
    assert float(metrics.precision(y, none)) == 0.0
    assert float(metrics.f1(y, none)) == 0.0
    assert float(metrics.recall(jnp.array([0, 0, 0]), jnp.array([1, 0, 0]))) == 0.0
    assert float(metrics.f1(jnp.array([0, 0]), jnp.array([0, 0]))) == 0.0  # 2TP+FP+FN = 0
    assert np.isnan(float(metrics.accuracy(jnp.zeros(0, jnp.int32), jnp.zeros(0, jnp.int32))))  # 0/0, no convention


@given(
    seed=st.integers(0, 10_000),
    n=st.sampled_from([1, 9, 40]),
    K=st.sampled_from([2, 3, 5]),
    average=st.sampled_from(["macro", None]),
)
def test_matches_sklearn_multiclass(seed, n, K, average):
    """Oracle: sklearn.metrics (labels=range(K), zero_division=0) on random labels, macro and per class."""
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, K, n), rng.integers(0, K, n)
    kw = {"labels": list(range(K)), "zero_division": 0, "average": average}
    for ours, ref in (
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1, skm.f1_score),
    ):
        np.testing.assert_allclose(
            np.asarray(ours(jnp.asarray(y), jnp.asarray(p), average=average, num_classes=K)),
            ref(y, p, **kw),
            **tol(np.float64),
        )
    np.testing.assert_array_equal(
        np.asarray(metrics.confusion_matrix(jnp.asarray(y), jnp.asarray(p), num_classes=K)),
        skm.confusion_matrix(y, p, labels=list(range(K))),
    )
    np.testing.assert_allclose(
        float(metrics.accuracy(jnp.asarray(y), jnp.asarray(p))), skm.accuracy_score(y, p), **tol(np.float64)
    )


@given(seed=st.integers(0, 10_000), n=st.sampled_from([1, 9, 40]))
def test_matches_sklearn_binary(seed, n):
    """Oracle: sklearn binary precision/recall/F1 (zero_division=0), including degenerate draws."""
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    for ours, ref in (
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1, skm.f1_score),
    ):
        np.testing.assert_allclose(
            float(ours(jnp.asarray(y), jnp.asarray(p))), ref(y, p, zero_division=0), **tol(np.float64)
        )


def test_jit_and_vmap(transform):
    """Transforms: jit == eager; vmap over several label vectors == a Python loop. (Counts have no gradient.)"""
    f = transform(lambda y, p: metrics.f1(y, p, average="macro", num_classes=3))
    ys = jnp.array([[0, 1, 2, 2], [2, 2, 1, 0]])
    ps = jnp.array([[0, 2, 2, 1], [2, 0, 1, 0]])
    batched = jax.vmap(f)(ys, ps)
    loop = jnp.stack([metrics.f1(y, p, average="macro", num_classes=3) for y, p in zip(ys, ps, strict=True)])
    np.testing.assert_allclose(np.asarray(batched), np.asarray(loop), **tol(np.float64))
    cm = jax.jit(lambda y, p: metrics.confusion_matrix(y, p, num_classes=3))(ys[0], ps[0])
    np.testing.assert_array_equal(np.asarray(cm), np.asarray(metrics.confusion_matrix(ys[0], ps[0], num_classes=3)))


@given(seed=st.integers(0, 10_000), n=st.sampled_from([1, 9, 40]), K=st.sampled_from([1, 3, 5]))
def test_confusion_properties(seed, n, K):
    """Properties: entries sum to n; the trace / n is the accuracy; row sums are the class counts."""
    rng = np.random.default_rng(seed)
    y, p = jnp.asarray(rng.integers(0, K, n)), jnp.asarray(rng.integers(0, K, n))
    C = np.asarray(metrics.confusion_matrix(y, p, num_classes=K))
    assert C.sum() == n
    np.testing.assert_allclose(np.trace(C) / n, float(metrics.accuracy(y, p)), rtol=1e-12)
    np.testing.assert_array_equal(C.sum(1), np.bincount(np.asarray(y), minlength=K))


@pytest.mark.parametrize(
    "name,call",
    [
        ("confusion_matrix", lambda y, p: metrics.confusion_matrix(y, p, num_classes=2)),
        ("precision", metrics.precision),
        ("recall", metrics.recall),
        ("f1", metrics.f1),
        ("precision", lambda y, p: metrics.precision(y, p, average="macro", num_classes=2)),
        ("recall", lambda y, p: metrics.recall(y, p, average="macro", num_classes=2)),
        ("f1", lambda y, p: metrics.f1(y, p, average="macro", num_classes=2)),
    ],
)
def test_out_of_range_label_under_jit_is_nan_and_checked_raises(name, call):
    """A label outside {0, 1} under jit: NaN (the confusion matrix: -1 everywhere), not a count that silently
    drops the row; eagerly a ValueError naming the index; checks.checked raises."""
    y, p = jnp.array([0, 1, 3]), jnp.array([0, 1, 1])
    out = np.asarray(jax.jit(call)(y, p))
    assert np.all(out == -1) if name == "confusion_matrix" else np.all(np.isnan(out))
    assert np.all(np.isfinite(np.asarray(jax.jit(call)(jnp.array([0, 1, 1]), p))))
    with pytest.raises(
        ValueError, match=rf"metrics.{name}: argument `y_true` expected labels in \{{0, ..., 1\}}, got 3"
    ):
        call(y, p)
    with pytest.raises(checkify.JaxRuntimeError, match=rf"metrics.{name}: argument `y_true` expected labels in"):
        checks.checked(jax.jit(call))(y, p)


def test_lists_are_accepted():
    """Consistency: Python lists are labels like any array (accuracy failed with 'Cannot determine dtype')."""
    assert float(metrics.accuracy([1, 1, 0], [1, 0, 0])) == pytest.approx(2 / 3, rel=1e-15)
    np.testing.assert_array_equal(np.asarray(metrics.confusion_matrix([0, 1], [1, 1], num_classes=2)), [[0, 1], [0, 1]])


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: metrics.confusion_matrix(jnp.array([0, 5, 1]), jnp.array([0, 1, 1]), num_classes=3),
            ValueError,
            r"metrics.confusion_matrix: argument `y_true` expected labels in \{0, ..., 2\}, got 5 at index 1\.",
        ),
        (
            lambda: metrics.precision(jnp.array([0, 1]), jnp.array([0, -1])),
            ValueError,
            r"metrics.precision: argument `y_pred` expected labels in \{0, ..., 1\}, got -1 at index 1\.",
        ),
        (
            lambda: metrics.recall(jnp.array([0, 1]), jnp.array([0, 1, 1])),
            ValueError,
            r"metrics.recall: argument `y_pred` expected shape \(2,\), got shape \(3,\)",
        ),
        (
            lambda: metrics.accuracy(jnp.array([0.0, 1.0]), jnp.array([0, 1])),
            TypeError,
            r"metrics.accuracy: argument `y_true` expected integer or boolean labels, got dtype float64",
        ),
        (
            lambda: metrics.f1(jnp.array([0, 1]), jnp.array([0, 1]), average="micro"),
            ValueError,
            r"metrics.f1: argument `average` expected one of \['binary', 'macro', None\], got 'micro'",
        ),
        (
            lambda: metrics.f1(jnp.array([0, 1]), jnp.array([0, 1]), average="macro"),
            ValueError,
            r"metrics.f1: argument `num_classes` expected an int when average='macro', got None",
        ),
        (
            lambda: metrics.precision(jnp.array([0, 1]), jnp.array([0, 1]), pos_label=2),
            ValueError,
            r"argument `pos_label` expected a class in \{0, ..., 1\}, got 2",
        ),
        (
            lambda: metrics.confusion_matrix(jnp.array([0, 1]), jnp.array([0, 1]), num_classes=2.0),
            TypeError,
            r"argument `num_classes` expected a static Python int, got float",
        ),
        (
            lambda: metrics.confusion_matrix(jnp.array([[0, 1]]), jnp.array([[0, 1]]), num_classes=2),
            ValueError,
            r"argument `y_true` expected rank 1",
        ),
    ],
)
def test_bad_input(call, exc, match):
    """Bad input: out-of-range labels named with their index, shapes, dtypes, unknown options."""
    with pytest.raises(exc, match=match):
        call()
