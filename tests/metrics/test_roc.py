"""Tests for roc_curve and roc_auc (mathdl.metrics._roc)."""

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


def _mann_whitney(y, s):
    """Independent oracle: P(score of a positive > score of a negative) + 0.5 P(equal), a double loop."""
    pos, neg = s[y == 1], s[y == 0]
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


def test_worked_value_by_hand():
    """Worked value: scores (0.1, 0.4, 0.35, 0.8), y = (0, 0, 1, 1): 3 of 4 positive-negative pairs ordered -> 0.75."""
    y = jnp.array([0, 0, 1, 1])
    s = jnp.array([0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(float(metrics.roc_auc(y, s)), 0.75, rtol=1e-15)
    fpr, tpr, thr = metrics.roc_curve(y, s)
    np.testing.assert_allclose(np.asarray(fpr), [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(np.asarray(tpr), [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(np.asarray(thr), [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_ties_give_half_credit():
    """Worked value with ties: every score equal -> the diagonal, AUC 1/2 (sklearn's tie rule)."""
    y = jnp.array([0, 1, 0, 1, 1])
    s = jnp.full(5, 0.3)
    assert float(metrics.roc_auc(y, s)) == 0.5
    fpr, tpr, _ = metrics.roc_curve(y, s)
    np.testing.assert_allclose(np.asarray(fpr), [0, 1, 1, 1, 1, 1])


@given(seed=st.integers(0, 10_000), n=st.sampled_from([2, 9, 40]), levels=st.sampled_from([1, 3, 10]))
def test_matches_sklearn_with_ties(seed, n, levels):
    """Oracle: sklearn roc_auc_score and roc_curve(drop_intermediate=False) on scores with many ties."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1  # both classes present
    s = rng.integers(0, levels, n) / levels
    np.testing.assert_allclose(
        float(metrics.roc_auc(jnp.asarray(y), jnp.asarray(s))), skm.roc_auc_score(y, s), **tol(np.float64)
    )
    fpr, tpr, thr = metrics.roc_curve(jnp.asarray(y), jnp.asarray(s))
    ref_fpr, ref_tpr, ref_thr = skm.roc_curve(y, s, drop_intermediate=False)
    points = np.unique(np.stack([np.asarray(fpr), np.asarray(tpr), np.asarray(thr)], 1), axis=0)
    ref = np.unique(np.stack([ref_fpr, ref_tpr, ref_thr], 1), axis=0)
    np.testing.assert_allclose(points, ref, **tol(np.float64))


@given(seed=st.integers(0, 10_000), n=st.sampled_from([2, 9, 30]))
def test_equals_mann_whitney(seed, n):
    """Oracle: AUC equals the Mann-Whitney pair-counting statistic (NumPy double loop)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 1, 0
    s = np.round(rng.normal(size=n), 1)
    np.testing.assert_allclose(
        float(metrics.roc_auc(jnp.asarray(y), jnp.asarray(s))), _mann_whitney(y, s), **tol(np.float64)
    )


@given(seed=st.integers(0, 10_000), n=st.sampled_from([2, 9, 30]))
def test_auc_properties(seed, n):
    """Properties: AUC in [0,1]; a strictly increasing map of the scores leaves it unchanged; negating gives 1 - AUC."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 1, 0
    s = jnp.asarray(rng.normal(size=n))
    a = float(metrics.roc_auc(jnp.asarray(y), s))
    assert 0.0 <= a <= 1.0
    np.testing.assert_allclose(float(metrics.roc_auc(jnp.asarray(y), jnp.exp(3 * s) + 1)), a, **tol(np.float64))
    np.testing.assert_allclose(float(metrics.roc_auc(jnp.asarray(y), -s)), 1 - a, **tol(np.float64, composite=True))


def test_more_than_two_classes_is_refused(transform):
    """Labels [0, 1, 2, 1]: label 2 was counted as negative (AUC 1.0); now eagerly a ValueError, NaN under jit,
    and checked mode raises. Another negative coding ({-1, 1}) and bool labels still work."""
    y, s = jnp.array([0, 1, 2, 1]), jnp.array([0.1, 0.6, 0.2, 0.8])
    if transform is jax.jit:
        assert np.isnan(float(jax.jit(metrics.roc_auc)(y, s)))
        fpr, tpr, thr = jax.jit(metrics.roc_curve)(y, s)
        assert np.all(np.isnan(np.asarray(fpr))) and np.all(np.isnan(np.asarray(tpr)))
    else:
        with pytest.raises(ValueError, match=r"metrics.roc_auc: argument `y_true` expected two classes, pos_label=1"):
            metrics.roc_auc(y, s)
    with pytest.raises(checkify.JaxRuntimeError, match=r"metrics.roc_auc: argument `y_true` expected two classes"):
        checks.checked(jax.jit(metrics.roc_auc))(y, s)
    f = transform(metrics.roc_auc)
    assert float(f(jnp.array([-1, 1, -1, 1]), s)) == float(f(jnp.array([0, 1, 0, 1]), s)) == 1.0
    assert float(f(jnp.array([False, True, False, True]), s)) == 1.0
    assert float(metrics.roc_auc([0, 1, 0, 1], [0.1, 0.6, 0.2, 0.8])) == 1.0  # lists are accepted


def test_jit_vmap_and_dtype():
    """Transforms: jit == eager, vmap over score vectors == loop; float32 scores give float32 AUC."""
    y = jnp.array([0, 1, 1, 0, 1])
    S = jnp.array([[0.1, 0.2, 0.9, 0.4, 0.4], [0.5, 0.5, 0.1, 0.7, 0.3]])
    loop = np.array([float(metrics.roc_auc(y, s)) for s in S])
    np.testing.assert_allclose(np.asarray(jax.vmap(metrics.roc_auc, (None, 0))(y, S)), loop, **tol(np.float64))
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(metrics.roc_auc, (None, 0)))(y, S)), loop, **tol(np.float64))
    assert metrics.roc_auc(y, S[0].astype(jnp.float32)).dtype == jnp.float32


def test_one_class_and_nan_give_nan():
    """Value problems: only one class -> AUC NaN (sklearn raises); a NaN score -> NaN; checked mode raises."""
    assert np.isnan(float(metrics.roc_auc(jnp.array([1, 1, 1]), jnp.array([0.1, 0.2, 0.3]))))
    assert np.isnan(float(metrics.roc_auc(jnp.array([0, 1, 1]), jnp.array([0.1, jnp.nan, 0.3]))))
    fpr, tpr, _ = metrics.roc_curve(jnp.array([0, 0]), jnp.array([0.1, 0.2]))
    assert np.all(np.isnan(np.asarray(tpr))) and np.isfinite(np.asarray(fpr)).all()
    with pytest.raises(checkify.JaxRuntimeError, match=r"metrics.roc_auc: argument `y_true` expected both classes"):
        checks.checked(metrics.roc_auc)(jnp.array([1, 1, 1]), jnp.array([0.1, 0.2, 0.3]))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: metrics.roc_auc(jnp.array([0, 1]), jnp.array([1, 2])),
            TypeError,
            r"argument `y_score` expected a floating-point array",
        ),
        (
            lambda: metrics.roc_auc(jnp.array([0.0, 1.0]), jnp.array([0.1, 0.2])),
            TypeError,
            r"`y_true` expected integer or boolean",
        ),
        (
            lambda: metrics.roc_curve(jnp.array([0, 1]), jnp.array([0.1, 0.2, 0.3])),
            ValueError,
            r"roc_curve: argument `y_score` expected shape \(2,\), got shape \(3,\)",
        ),
        (
            lambda: metrics.roc_auc(jnp.zeros(0, jnp.int32), jnp.zeros(0)),
            ValueError,
            r"metrics.roc_auc: argument `y_true` expected at least one",
        ),
        (
            lambda: metrics.roc_curve(jnp.array([[0, 1]]), jnp.array([[0.1, 0.2]])),
            ValueError,
            r"metrics.roc_curve: argument `y_true` expected rank 1",
        ),
    ],
)
def test_bad_input(call, exc, match):
    """Bad input: wrong dtypes, mismatched or empty shapes, wrong rank."""
    with pytest.raises(exc, match=match):
        call()
