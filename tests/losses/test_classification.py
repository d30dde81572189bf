"""Classification losses: binary / categorical cross-entropy and hinge."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import losses as L
from tests._oracles import need
from tests._tolerances import tol

LOGITS = np.array([[2.0, -1.0, 0.5, 0.0], [-3.0, 4.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.4]])
LABELS = np.array([0, 3, 2])
Z1 = np.array([-4.0, -0.5, 0.0, 0.7, 3.0, 12.0])
Y1 = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1.0])


def _onehot(y, k):
    return np.eye(k)[y]


# ---------------------------------------------------------------- (1) worked values


def test_worked_values():
    """By hand ([MEDL] Sec. 3.1, 3.3): BCE(p=1/4, y=1) = log 4; BCE(0, 0) = BCE(1, 1) = 0 (0 log 0 = 0);
    BCE(0, 1) = +inf; logit 0 → log 2; CE([0, log 3], 1) = log(4/3); soft targets ½/½ → ½log 4 + ½log(4/3);
    hinge: max(0, 1 − ys)."""
    np.testing.assert_allclose(
        L.binary_cross_entropy(jnp.array([0.25, 0.0, 1.0, 0.0]), jnp.array([1.0, 0.0, 1.0, 1.0])),
        [math.log(4), 0.0, 0.0, np.inf],
    )
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(jnp.zeros(2), jnp.array([0.0, 1.0])), [math.log(2)] * 2
    )
    z = jnp.array([0.0, math.log(3)])
    assert float(L.softmax_cross_entropy(z, jnp.array(1))) == pytest.approx(math.log(4 / 3), rel=1e-15)
    assert float(L.softmax_cross_entropy(z, jnp.array(0))) == pytest.approx(math.log(4), rel=1e-15)
    soft = float(L.softmax_cross_entropy_with_probs(z, jnp.array([0.5, 0.5])))
    assert soft == pytest.approx(0.5 * math.log(4) + 0.5 * math.log(4 / 3), rel=1e-15)
    np.testing.assert_allclose(L.hinge(jnp.array([0.3, 2.0, 0.5]), jnp.array([1, 1, -1])), [0.7, 0.0, 1.5])


# ---------------------------------------------------------------- (2) oracles


def test_against_optax():
    """Oracle: optax.losses.{sigmoid_binary_cross_entropy, softmax_cross_entropy_with_integer_labels,
    softmax_cross_entropy, hinge_loss}."""
    z, y = jnp.asarray(LOGITS), jnp.asarray(LABELS)
    np.testing.assert_allclose(
        L.softmax_cross_entropy(z, y), optax.losses.softmax_cross_entropy_with_integer_labels(z, y), **tol(np.float64)
    )
    t = jnp.asarray(sp.softmax(LOGITS[::-1] * 0.7, axis=-1))
    np.testing.assert_allclose(
        L.softmax_cross_entropy_with_probs(z, t), optax.losses.softmax_cross_entropy(z, t), **tol(np.float64)
    )
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(jnp.asarray(Z1), jnp.asarray(Y1)),
        optax.losses.sigmoid_binary_cross_entropy(jnp.asarray(Z1), jnp.asarray(Y1)),
        **tol(np.float64),
    )
    ypm = jnp.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    np.testing.assert_allclose(L.hinge(jnp.asarray(Z1), ypm), optax.losses.hinge_loss(jnp.asarray(Z1), ypm))


def test_against_torch():
    """Oracle: torch.nn.functional.{binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy}
    with reduction='none' (torch clamps log at −100, so only p strictly inside (0, 1) is compared)."""
    torch = need("torch")
    F = torch.nn.functional
    p = sp.expit(Z1[:5])
    np.testing.assert_allclose(
        L.binary_cross_entropy(jnp.asarray(p), jnp.asarray(Y1[:5])),
        F.binary_cross_entropy(torch.tensor(p), torch.tensor(Y1[:5]), reduction="none").numpy(),
        **tol(np.float64),
    )
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(jnp.asarray(Z1), jnp.asarray(Y1)),
        F.binary_cross_entropy_with_logits(torch.tensor(Z1), torch.tensor(Y1), reduction="none").numpy(),
        **tol(np.float64),
    )
    tz = torch.tensor(LOGITS)
    np.testing.assert_allclose(
        L.softmax_cross_entropy(jnp.asarray(LOGITS), jnp.asarray(LABELS)),
        F.cross_entropy(tz, torch.tensor(LABELS), reduction="none").numpy(),
        **tol(np.float64),
    )
    t = sp.softmax(LOGITS[::-1], axis=-1)
    np.testing.assert_allclose(
        L.softmax_cross_entropy_with_probs(jnp.asarray(LOGITS), jnp.asarray(t)),
        F.cross_entropy(tz, torch.tensor(t), reduction="none").numpy(),
        **tol(np.float64),
    )


# ---------------------------------------------------------------- (3) transforms


def test_analytic_gradients():
    """Analytic gradients ([MEDL] Sec. 3.3, 5.4): ∂CE/∂z = softmax(z) − e_y (also with soft targets t: softmax − t);
    ∂BCE/∂logit = σ(z) − y; ∂BCE/∂p = −y/p + (1 − y)/(1 − p); ∂hinge/∂s = −y where ys < 1, else 0."""
    z, y = jnp.asarray(LOGITS), jnp.asarray(LABELS)
    g = jax.grad(lambda z: jnp.sum(L.softmax_cross_entropy(z, y)))(z)
    np.testing.assert_allclose(g, sp.softmax(LOGITS, -1) - _onehot(LABELS, 4), **tol(np.float64))
    t = sp.softmax(LOGITS[::-1], axis=-1)
    g = jax.grad(lambda z: jnp.sum(L.softmax_cross_entropy_with_probs(z, jnp.asarray(t))))(z)
    np.testing.assert_allclose(g, sp.softmax(LOGITS, -1) - t, **tol(np.float64))
    g = jax.grad(lambda z: jnp.sum(L.binary_cross_entropy_with_logits(z, jnp.asarray(Y1))))(jnp.asarray(Z1))
    np.testing.assert_allclose(g, sp.expit(Z1) - Y1, **tol(np.float64))
    p = sp.expit(Z1[:5])
    g = jax.grad(lambda p: jnp.sum(L.binary_cross_entropy(p, jnp.asarray(Y1[:5]))))(jnp.asarray(p))
    np.testing.assert_allclose(g, -Y1[:5] / p + (1 - Y1[:5]) / (1 - p), **tol(np.float64, composite=True))
    s, ypm = jnp.array([0.3, 2.0, 0.5, -0.2]), jnp.array([1.0, 1.0, -1.0, -1.0])
    np.testing.assert_allclose(jax.grad(lambda s: jnp.sum(L.hinge(s, ypm)))(s), [-1.0, 0.0, 1.0, 1.0])


def test_gradient_at_confident_predictions_is_finite():
    """Edge: BCE at p = 0 with y = 0 (and p = 1 with y = 1) has value 0 and gradient 1 (resp. −1), not NaN
    (jax.scipy.special.xlogy would give 0/0 here)."""
    g = jax.grad(lambda p: jnp.sum(L.binary_cross_entropy(p, jnp.array([0.0, 1.0]))))(jnp.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [1.0, -1.0])


@pytest.mark.slow  # second-order check_grads / many compositions: ~10-60 s on a loaded 2-core box
def test_check_grads():
    """check_grads to order 2 in float64 for every loss in its differentiable argument."""
    z, y = jnp.asarray(LOGITS), jnp.asarray(LABELS)
    check_grads(lambda z: L.softmax_cross_entropy(z, y), (z,), order=2)
    t = jnp.asarray(sp.softmax(LOGITS[::-1], axis=-1))
    check_grads(lambda z: L.softmax_cross_entropy_with_probs(z, t), (z,), order=2)
    check_grads(lambda z: L.binary_cross_entropy_with_logits(z, jnp.asarray(Y1)), (jnp.asarray(Z1),), order=2)
    p = jnp.asarray(sp.expit(Z1[:5]))
    check_grads(lambda p: L.binary_cross_entropy(p, jnp.asarray(Y1[:5])), (p,), order=2, eps=1e-5)
    check_grads(lambda s: L.hinge(s, jnp.array([1.0, -1.0, 1.0])), (jnp.array([0.3, 0.2, 1.7]),), order=2)


def test_jit_vmap_batch_dims(transform):
    """jit == eager; vmap == a Python loop; leading batch dims (2, 3, K) give (2, 3) with no reduction."""
    z, y = jnp.asarray(LOGITS), jnp.asarray(LABELS)
    loop = [float(L.softmax_cross_entropy(z[i], y[i])) for i in range(3)]
    np.testing.assert_allclose(transform(L.softmax_cross_entropy)(z, y), loop, **tol(np.float64))
    np.testing.assert_allclose(transform(jax.vmap(L.softmax_cross_entropy))(z, y), loop, **tol(np.float64))
    zz = jnp.stack([z, z[::-1]])
    yy = jnp.stack([y, y[::-1]])
    out = transform(L.softmax_cross_entropy)(zz, yy)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1], loop[::-1], **tol(np.float64))
    t = jax.nn.one_hot(yy, 4, dtype=zz.dtype)
    np.testing.assert_allclose(transform(L.softmax_cross_entropy_with_probs)(zz, t), out, **tol(np.float64))
    zb, yb = jnp.asarray(Z1), jnp.asarray(Y1)
    loop = [float(L.binary_cross_entropy_with_logits(zb[i], yb[i])) for i in range(6)]
    np.testing.assert_allclose(transform(jax.vmap(L.binary_cross_entropy_with_logits))(zb, yb), loop, **tol(np.float64))
    pb = jax.nn.sigmoid(zb)
    loop = [float(L.binary_cross_entropy(pb[i], yb[i])) for i in range(6)]
    np.testing.assert_allclose(transform(jax.vmap(L.binary_cross_entropy))(pb, yb), loop, **tol(np.float64))
    loop = [float(L.hinge(zb[i], jnp.sign(yb[i] - 0.5))) for i in range(6)]
    np.testing.assert_allclose(transform(jax.vmap(L.hinge))(zb, jnp.sign(yb - 0.5)), loop, **tol(np.float64))


# ---------------------------------------------------------------- (4) properties

logit_rows = st.lists(st.floats(-30, 30, allow_subnormal=False), min_size=4, max_size=4)


@settings(max_examples=20)
@given(logit_rows, st.integers(0, 3), st.floats(-20, 20))
def test_ce_properties(z, y, c):
    """CE ≥ 0, shift invariance of logits, integer label == one-hot target, CE ≥ −log max softmax."""
    z = jnp.asarray(z)
    y = jnp.asarray(y)
    ce = float(L.softmax_cross_entropy(z, y))
    assert ce >= 0
    np.testing.assert_allclose(L.softmax_cross_entropy(z + c, y), ce, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        L.softmax_cross_entropy_with_probs(z, jax.nn.one_hot(y, 4, dtype=z.dtype)), ce, rtol=1e-12, atol=1e-12
    )
    assert ce >= -math.log(float(jnp.max(jax.nn.softmax(z)))) - 1e-12


@settings(max_examples=20)
@given(st.floats(-15, 15), st.floats(0, 1))
def test_bce_logits_equals_bce_of_sigmoid_and_hinge_bounds_01(z, y):
    """BCE from logits == BCE(σ(z), y) (where σ(z) is not rounded to 0 or 1); hinge ≥ the 0-1 loss."""
    zz, yy = jnp.asarray(z), jnp.asarray(y)
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(zz, yy),
        L.binary_cross_entropy(jax.nn.sigmoid(zz), yy),
        rtol=1e-8,
        atol=1e-10,
    )  # loosened from 1e-12: log(1 − σ(z)) loses ~|z|·eps relative accuracy through the rounded probability
    for lab in (-1.0, 1.0):
        assert float(L.hinge(zz, jnp.asarray(lab))) >= float(lab * z <= 0)


# ---------------------------------------------------------------- bad and edge inputs


def test_out_of_range_labels_give_nan():
    """Bad value: labels −1 and K give NaN, not a finite wrong loss (and other rows are untouched);
    the gradient is finite (zero) in the NaN rows."""
    z = jnp.asarray(LOGITS)
    out = L.softmax_cross_entropy(z, jnp.array([-1, 4, 2]))
    assert np.isnan(out[0]) and np.isnan(out[1])
    np.testing.assert_allclose(out[2], L.softmax_cross_entropy(z[2], jnp.array(2)), **tol(np.float64))
    g = jax.grad(lambda z: L.softmax_cross_entropy(z, jnp.array([-1, 4, 2]))[2])(z)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_softmax_cross_entropy_bad_inputs():
    """Bad input: float labels, wrong label shape, scalar logits, integer logits, string labels."""
    q = "losses.softmax_cross_entropy"
    z = jnp.asarray(LOGITS)
    with pytest.raises(TypeError, match=rf"^{q}: argument `labels` expected an integer array, got '?dtype float64"):
        L.softmax_cross_entropy(z, jnp.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=rf"^{q}: argument `labels` expected shape \(3,\), got shape \(3, 1\)\.$"):
        L.softmax_cross_entropy(z, jnp.array([[0], [1], [2]]))
    with pytest.raises(ValueError, match=rf"^{q}: argument `logits` expected rank >= 1, got shape \(\) \(rank 0\)"):
        L.softmax_cross_entropy(jnp.array(1.0), jnp.array(0))
    with pytest.raises(ValueError, match=rf"^{q}: argument `logits` expected at least one class \(K >= 1\)"):
        L.softmax_cross_entropy(jnp.zeros((2, 0)), jnp.zeros(2, int))
    np.testing.assert_allclose(L.softmax_cross_entropy([0.0, 0.0], 1), math.log(2))  # lists and Python ints
    with pytest.raises(TypeError, match=rf"^{q}: argument `logits` expected a floating-point array, got '?dtype int"):
        L.softmax_cross_entropy(jnp.array([1, 2]), jnp.array(0))
    with pytest.raises(TypeError, match=rf"^{q}: argument `labels` expected an integer array, got '?str'?\.$"):
        L.softmax_cross_entropy(z, "012")


def test_large_logits_are_stable():
    """Edge: logits of ±1e4 (exp overflows) still give exact finite losses: CE = 2e4 or 0; BCE(z=1e4, y=0) = 1e4;
    −inf logits of the wrong class cost nothing; a −inf logit on the true class costs +inf."""
    np.testing.assert_allclose(L.softmax_cross_entropy(jnp.array([1e4, -1e4]), jnp.array(1)), 2e4)
    np.testing.assert_allclose(L.softmax_cross_entropy(jnp.array([1e4, -1e4]), jnp.array(0)), 0.0)
    np.testing.assert_allclose(
        L.binary_cross_entropy_with_logits(jnp.array([1e4, -1e4, 1e4]), jnp.array([0.0, 0.0, 1.0])), [1e4, 0.0, 0.0]
    )
    z = jnp.array([-jnp.inf, 0.0, 0.0])
    np.testing.assert_allclose(L.softmax_cross_entropy(z, jnp.array(1)), math.log(2))
    assert float(L.softmax_cross_entropy(z, jnp.array(0))) == np.inf
    np.testing.assert_allclose(L.softmax_cross_entropy_with_probs(z, jnp.array([0.0, 0.5, 0.5])), math.log(2))


def test_bce_bad_values_and_inputs():
    """Bad value: p outside [0, 1] or NaN → NaN (even when y = 0 would hide it); y outside [0, 1] → NaN.
    Bad input: shape mismatch, integer p, float32 y with float64 p. Integer/bool labels are accepted (cast)."""
    q = "losses.binary_cross_entropy"
    out = L.binary_cross_entropy(jnp.array([-0.1, 1.1, jnp.nan, 0.5]), jnp.array([0.0, 1.0, 1.0, 1.5]))
    assert bool(jnp.all(jnp.isnan(out)))
    with pytest.raises(ValueError, match=rf"^{q}: argument `y` expected the shape of `p` \(2,\), got "):
        L.binary_cross_entropy(jnp.array([0.5, 0.5]), jnp.array([1.0]))
    with pytest.raises(TypeError, match=rf"^{q}: argument `p` expected a floating-point array, got "):
        L.binary_cross_entropy(jnp.array([0, 1]), jnp.array([0, 1]))
    with pytest.raises(TypeError, match=rf"^{q}: argument `y` expected dtype float64 \(that of the predictions\), got"):
        L.binary_cross_entropy(jnp.array([0.5]), jnp.array([1.0], jnp.float32))
    np.testing.assert_allclose(
        L.binary_cross_entropy(jnp.array([0.25, 0.25]), jnp.array([True, False])), [math.log(4), math.log(4 / 3)]
    )


def test_bce_with_logits_bad_values_and_inputs():
    """Bad value: labels outside [0, 1] → NaN. Bad input: shape mismatch, integer logits, string labels, None."""
    q = "losses.binary_cross_entropy_with_logits"
    out = L.binary_cross_entropy_with_logits(jnp.zeros(3), jnp.array([2, -1, 1]))
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match=rf"^{q}: argument `labels` expected the shape of `logits` \(3,\), got "):
        L.binary_cross_entropy_with_logits(jnp.zeros(3), jnp.zeros((3, 1)))
    with pytest.raises(TypeError, match=rf"^{q}: argument `logits` expected a floating-point array, got "):
        L.binary_cross_entropy_with_logits(jnp.zeros(3, jnp.int32), jnp.zeros(3))
    with pytest.raises(TypeError, match=rf"^{q}: argument `labels` expected an array, got '?str'?\.$"):
        L.binary_cross_entropy_with_logits(jnp.zeros(3), "101")
    with pytest.raises(TypeError, match=rf"^{q}: argument `labels` expected an array, got '?NoneType'?\.$"):
        L.binary_cross_entropy_with_logits(jnp.zeros(3), None)


def test_soft_targets_bad_values_and_inputs():
    """Bad value: a negative target, targets summing to 0.9, NaN targets → NaN. Bad input: shape or dtype mismatch,
    scalar logits."""
    q = "losses.softmax_cross_entropy_with_probs"
    z = jnp.zeros((3, 2))
    t = jnp.array([[1.2, -0.2], [0.45, 0.45], [jnp.nan, 1.0]])
    assert bool(jnp.all(jnp.isnan(L.softmax_cross_entropy_with_probs(z, t))))
    with pytest.raises(ValueError, match=rf"^{q}: argument `targets` expected shape \(3, 2\), got shape \(3, 3\)"):
        L.softmax_cross_entropy_with_probs(z, jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match=rf"^{q}: argument `logits` expected at least one class \(K >= 1\)"):
        L.softmax_cross_entropy_with_probs(jnp.zeros((2, 0)), jnp.zeros((2, 0)))
    with pytest.raises(TypeError, match=rf"^{q}: argument `targets` expected the dtype of `logits` \(float64\), got"):
        L.softmax_cross_entropy_with_probs(z, jnp.zeros((3, 2), jnp.float32))
    with pytest.raises(ValueError, match=rf"^{q}: argument `logits` expected rank >= 1"):
        L.softmax_cross_entropy_with_probs(jnp.array(0.0), jnp.array(1.0))


def test_hinge_bad_values_and_inputs():
    """Bad value: labels 0 or 0/1 style → NaN (a 0/1 label would silently train the wrong classifier).
    Bad input: shape mismatch, integer scores, float32 labels with float64 scores."""
    q = "losses.hinge"
    out = L.hinge(jnp.array([0.5, 0.5, 0.5]), jnp.array([0, 2, 1]))
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=rf"^{q}: argument `labels` expected the shape of `scores` \(3,\), got "):
        L.hinge(jnp.zeros(3), jnp.ones(2))
    with pytest.raises(TypeError, match=rf"^{q}: argument `scores` expected a floating-point array, got "):
        L.hinge(jnp.zeros(3, jnp.int32), jnp.ones(3))
    with pytest.raises(TypeError, match=rf"^{q}: argument `labels` expected dtype float64"):
        L.hinge(jnp.zeros(3), jnp.ones(3, jnp.float32))


def test_hinge_nan_score_is_nan():
    """A NaN score gives NaN, not the 0 of max(0, NaN) taken as 0 (worked: hinge(NaN, 1) is undefined)."""
    out = L.hinge(jnp.array([jnp.nan, 0.5]), jnp.array([1.0, 1.0]))
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.5)
    assert np.isnan(jax.jit(L.hinge)(jnp.array(jnp.nan), jnp.array(-1.0)))


def test_bce_with_logits_at_infinite_logits(transform):
    """The limits at z = ±inf: (1 - y)·inf at +inf and y·inf at -inf with 0·inf = 0, i.e. 0 for the matching hard label
    and +inf otherwise (a soft label 0.3 costs +inf at both); the gradient is finite where the loss is, and the
    labels' gradient has no NaN there either."""
    z = jnp.array([jnp.inf, -jnp.inf, jnp.inf, -jnp.inf, jnp.inf])
    y = jnp.array([1.0, 0.0, 0.0, 1.0, 0.3])
    f = transform(L.binary_cross_entropy_with_logits)
    np.testing.assert_array_equal(f(z, y), [0.0, 0.0, np.inf, np.inf, np.inf])
    g = transform(jax.grad(lambda z: jnp.sum(L.binary_cross_entropy_with_logits(z, y[:2]))))(z[:2])
    np.testing.assert_array_equal(g, [0.0, 0.0])  # the limit of sigmoid(z) - y
    assert np.isnan(f(jnp.array([jnp.nan]), jnp.array([1.0]))[0])


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_soft_targets_sum_tolerance_is_a_few_ulps(dtype):
    """Targets [0.46, 0.46] sum to 0.92: refused (NaN) in every dtype, bfloat16 too (whose sqrt(eps) = 0.09 once let
    them through); a softmax of random logits in the same dtype is accepted (K = 2 to 1000)."""
    z = jnp.zeros((1, 2), dtype)
    assert np.isnan(np.asarray(L.softmax_cross_entropy_with_probs(z, jnp.array([[0.46, 0.46]], dtype)), np.float64))
    for K in (2, 10, 1000):
        logits = (3.0 * jax.random.normal(jax.random.key(K), (8, K), jnp.float32)).astype(dtype)
        t = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(dtype)
        out = np.asarray(L.softmax_cross_entropy_with_probs(logits, t), np.float64)
        assert np.all(np.isfinite(out)), (dtype, K)
