"""Tests of mathdl.info discrete entropies and divergences (MEDL App. B.1, D2L Sec. 13.6)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.experimental import checkify
from jax.test_util import check_grads

from mathdl import checks, info
from tests._oracles import need
from tests._tolerances import tol

F64 = tol(np.float64)
P = jnp.array([0.2, 0.3, 0.5])
Q = jnp.array([0.4, 0.4, 0.2])
PXY = jnp.array([[0.1, 0.2, 0.05], [0.3, 0.15, 0.2]])  # rows: x, columns: y

# jitted once so hypothesis examples do not re-dispatch op by op
_kl = jax.jit(info.kl_divergence)
_js = jax.jit(info.js_divergence)
_h = jax.jit(info.entropy)
_ce = jax.jit(info.cross_entropy)
_mi = jax.jit(info.mutual_information)
_hxy = jax.jit(info.joint_entropy)
_hy_x = jax.jit(info.conditional_entropy)
_hx_y = jax.jit(lambda p: info.conditional_entropy(p, given="y"))


def simplex(k_min=2, k_max=6, zeros=False):
    """Hypothesis strategy: probability vectors (optionally with exact zeros)."""
    lo = 0.0 if zeros else 0.01
    return (
        st.lists(st.floats(lo, 1.0), min_size=k_min, max_size=k_max)
        .filter(lambda w: sum(w) > 0.05)
        .map(lambda w: np.asarray(w) / np.sum(w))
    )


def pairs(k=4):
    w = st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k).map(lambda w: np.asarray(w) / np.sum(w))
    return st.tuples(w, w)


# ---------------------------------------------------------------- worked values


def test_entropy_worked_values():
    """MEDL (B.3)/(B.4): a fair coin has 1 bit; uniform on 4 has log 4 nats; a point mass 0 (0 log 0 = 0)."""
    np.testing.assert_allclose(info.entropy(jnp.array([0.5, 0.5]), base=2), 1.0, **F64)
    np.testing.assert_allclose(info.entropy(jnp.full(4, 0.25)), math.log(4), **F64)
    np.testing.assert_allclose(info.entropy(jnp.array([0.0, 1.0, 0.0])), 0.0, **F64)
    p1 = 0.3  # Bernoulli (B.4) by hand
    np.testing.assert_allclose(info.entropy(jnp.array([1 - p1, p1])), -(p1 * math.log(p1) + 0.7 * math.log(0.7)), **F64)


def test_cross_entropy_and_kl_worked_values():
    """MEDL (B.1), (B.2), (B.5) by hand: H(p, q) = -sum p log q, KL = sum p log(p/q)."""
    p, q = np.asarray(P), np.asarray(Q)
    np.testing.assert_allclose(info.cross_entropy(P, Q), -sum(p * np.log(q)), **F64)
    np.testing.assert_allclose(info.kl_divergence(P, Q), sum(p * np.log(p / q)), **F64)
    # (B.5), Bernoulli: p1 = 0.3, q1 = 0.6
    np.testing.assert_allclose(
        info.cross_entropy(jnp.array([0.7, 0.3]), jnp.array([0.4, 0.6])),
        -(0.3 * math.log(0.6) + 0.7 * math.log(0.4)),
        **F64,
    )


def test_kl_support_conventions():
    """MEDL (B.1): +inf when X_p is not inside X_q; terms with p(x) = 0 are 0 (also where q(x) = 0)."""
    assert info.kl_divergence(jnp.array([0.5, 0.5]), jnp.array([1.0, 0.0])) == np.inf
    assert info.cross_entropy(jnp.array([0.5, 0.5]), jnp.array([1.0, 0.0])) == np.inf
    np.testing.assert_allclose(info.kl_divergence(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5])), math.log(2), **F64)
    np.testing.assert_allclose(info.kl_divergence(jnp.array([1.0, 0.0]), jnp.array([1.0, 0.0])), 0.0, **F64)


def test_js_worked_values():
    """MEDL (B.7): disjoint supports give log 2 (1 bit); equal distributions give 0."""
    np.testing.assert_allclose(info.js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])), math.log(2), **F64)
    np.testing.assert_allclose(info.js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), base=2), 1.0, **F64)
    np.testing.assert_allclose(info.js_divergence(P, P), 0.0, **F64)


def test_joint_conditional_mutual_worked_values():
    """D2L 13.6 by hand: X = Y a fair bit gives H(X,Y) = 1 bit, H(Y|X) = 0, I = 1 bit; independence gives I = 0."""
    same = jnp.array([[0.5, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(info.joint_entropy(same, base=2), 1.0, **F64)
    np.testing.assert_allclose(info.conditional_entropy(same), 0.0, **F64)
    np.testing.assert_allclose(info.mutual_information(same, base=2), 1.0, **F64)
    indep = jnp.outer(jnp.array([0.3, 0.7]), jnp.array([0.2, 0.5, 0.3]))
    np.testing.assert_allclose(info.mutual_information(indep), 0.0, atol=1e-15)
    np.testing.assert_allclose(info.conditional_entropy(indep), info.entropy(jnp.array([0.2, 0.5, 0.3])), **F64)


def test_pmi_and_perplexity_worked_values():
    """D2L 13.6 and 9.2 by hand: pmi of X = Y is log 2 on the diagonal and -inf off it; PP(uniform on k) = k."""
    pmi = info.pointwise_mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]]))
    np.testing.assert_allclose(np.diag(pmi), [math.log(2)] * 2, **F64)
    assert pmi[0, 1] == -np.inf and pmi[1, 0] == -np.inf
    np.testing.assert_allclose(info.perplexity(jnp.full(5, 0.2)), 5.0, **F64)
    np.testing.assert_allclose(info.perplexity(jnp.array([0.0, 1.0])), 1.0, **F64)
    np.testing.assert_allclose(info.sequence_perplexity(jnp.log(jnp.full(7, 1 / 8))), 8.0, **F64)
    np.testing.assert_allclose(info.sequence_perplexity(jnp.zeros(3)), 1.0, **F64)
    assert info.sequence_perplexity(jnp.array([-1.0, -jnp.inf])) == np.inf


# ---------------------------------------------------------------- oracles


def test_vs_scipy():
    """Oracle: scipy.stats.entropy (H and KL), scipy.special.rel_entr, jensenshannon(...)**2, in nats and bits."""
    from scipy.spatial.distance import jensenshannon
    from scipy.special import rel_entr
    from scipy.stats import entropy as sp_entropy

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=5)
    q = rng.dirichlet(np.ones(6), size=5)
    p[0, 2] = 0.0
    p[0] /= p[0].sum()
    np.testing.assert_allclose(info.entropy(jnp.asarray(p)), sp_entropy(p, axis=-1), **F64)
    np.testing.assert_allclose(info.entropy(jnp.asarray(p), base=2), sp_entropy(p, base=2, axis=-1), **F64)
    np.testing.assert_allclose(info.kl_divergence(jnp.asarray(p), jnp.asarray(q)), rel_entr(p, q).sum(-1), **F64)
    np.testing.assert_allclose(
        info.kl_divergence(jnp.asarray(p), jnp.asarray(q), base=2), sp_entropy(p, q, base=2, axis=-1), **F64
    )
    js = np.array([jensenshannon(a, b) ** 2 for a, b in zip(p, q, strict=True)])
    np.testing.assert_allclose(info.js_divergence(jnp.asarray(p), jnp.asarray(q)), js, **F64)
    np.testing.assert_allclose(info.perplexity(jnp.asarray(p)), np.exp(sp_entropy(p, axis=-1)), **F64)
    np.testing.assert_allclose(info.joint_entropy(jnp.asarray(p).reshape(5, 2, 3)), sp_entropy(p, axis=-1), **F64)


def test_kl_vs_torch():
    """Oracle: torch.distributions.kl_divergence of two Categorical distributions."""
    torch = need("torch")
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(5), size=(2, 4))
    tp = torch.distributions.Categorical(probs=torch.tensor(p))
    tq = torch.distributions.Categorical(probs=torch.tensor(q))
    np.testing.assert_allclose(
        info.kl_divergence(jnp.asarray(p), jnp.asarray(q)), torch.distributions.kl_divergence(tp, tq).numpy(), **F64
    )
    np.testing.assert_allclose(info.entropy(jnp.asarray(p)), tp.entropy().numpy(), **F64)


def test_mutual_information_vs_sklearn_counts():
    """Oracle: sklearn.metrics.mutual_info_score on a contingency table of counts (and on label vectors)."""
    from sklearn.metrics import mutual_info_score

    counts = np.array([[10, 3, 0], [2, 8, 5], [1, 1, 12]])
    p = counts / counts.sum()
    np.testing.assert_allclose(
        info.mutual_information(jnp.asarray(p)), mutual_info_score(None, None, contingency=counts), **F64
    )
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, 200)
    b = (a + rng.integers(0, 2, 200)) % 4
    table = np.zeros((3, 4))
    np.add.at(table, (a, b), 1)
    np.testing.assert_allclose(info.mutual_information(jnp.asarray(table / 200)), mutual_info_score(a, b), **F64)


def test_conditional_entropy_and_pmi_vs_numpy_loop():
    """Oracle: explicit NumPy loops over the joint table."""
    p = np.asarray(PXY)
    px, py = p.sum(1), p.sum(0)
    h_y_x = -sum(p[i, j] * math.log(p[i, j] / px[i]) for i in range(2) for j in range(3))
    h_x_y = -sum(p[i, j] * math.log(p[i, j] / py[j]) for i in range(2) for j in range(3))
    pmi = np.array([[math.log(p[i, j] / (px[i] * py[j])) for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(info.conditional_entropy(PXY), h_y_x, **F64)
    np.testing.assert_allclose(info.conditional_entropy(PXY, given="y"), h_x_y, **F64)
    np.testing.assert_allclose(info.pointwise_mutual_information(PXY), pmi, **F64)
    lp = np.log([0.5, 0.25, 0.1])
    np.testing.assert_allclose(info.sequence_perplexity(jnp.asarray(lp)), np.prod(np.exp(lp)) ** (-1 / 3), **F64)


# ---------------------------------------------------------------- transforms


@pytest.mark.slow  # compiles check_grads' jvp/vjp programs for every function (~10 s each on 2 shared cores)
@pytest.mark.parametrize(
    "fn,args",
    [
        (info.entropy, (P,)),
        (info.cross_entropy, (P, Q)),
        (info.kl_divergence, (P, Q)),
        (info.js_divergence, (P, Q)),
        (info.joint_entropy, (PXY,)),
        (info.conditional_entropy, (PXY,)),
        (info.mutual_information, (PXY,)),
        (info.pointwise_mutual_information, (PXY,)),
        (info.perplexity, (P,)),
        (info.sequence_perplexity, (jnp.log(P),)),
    ],
)
def test_jit_vmap_check_grads(fn, args):
    """jit == eager; vmap over a batch == Python loop == the built-in batch axis; check_grads order 2."""
    jfn = jax.jit(fn)
    np.testing.assert_allclose(jfn(*args), fn(*args), **F64)
    batch = tuple(jnp.stack([a, a[..., ::-1]]) for a in args)
    looped = np.stack([jfn(*(b[i] for b in batch)) for i in range(2)])
    np.testing.assert_allclose(jax.jit(jax.vmap(fn))(*batch), looped, **F64)
    np.testing.assert_allclose(jfn(*batch), looped, **F64)
    # check_grads perturbs every entry, which would leave the simplex (NaN by design); so check the
    # composition with a map onto the simplex (softmax of logits; log-sigmoid for log-probabilities).
    if fn is info.sequence_perplexity:
        to_valid = jax.nn.log_sigmoid
    else:
        to_valid = lambda z: jax.nn.softmax(z.reshape(-1)).reshape(z.shape)
    logits = tuple(jnp.log(a) if fn is not info.sequence_perplexity else a for a in args)
    check_grads(jax.jit(lambda *z: fn(*(to_valid(zi) for zi in z))), logits, order=2, modes=("rev",))


def test_grad_kl_is_analytic_and_zero_off_support():
    """Analytic: dKL/dq = -p/q, dKL/dp = log(p/q) + 1; entries with p = 0 get zero gradient (even where q = 0)."""
    p = jnp.array([0.5, 0.5, 0.0, 0.0])
    q = jnp.array([0.25, 0.5, 0.25, 0.0])
    gp, gq = jax.jit(jax.grad(info.kl_divergence, argnums=(0, 1)))(p, q)
    np.testing.assert_allclose(gq, [-2.0, -1.0, 0.0, 0.0], **F64)
    np.testing.assert_allclose(gp, [math.log(2) + 1, 1.0, 0.0, 0.0], **F64)
    assert np.all(np.isfinite(jax.jit(jax.grad(info.entropy))(jnp.array([0.0, 1.0]))))
    assert np.all(np.isfinite(jax.jit(jax.grad(info.js_divergence))(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.0]))))


def test_grad_entropy_is_analytic():
    """Analytic: dH/dp = -(log p + 1)."""
    np.testing.assert_allclose(jax.grad(info.entropy)(P), -(np.log(np.asarray(P)) + 1), **F64)


# ---------------------------------------------------------------- properties


@given(pairs())
def test_divergence_properties(pq):
    """Properties: KL >= 0, KL(p, p) = 0, H(p, q) = H(p) + KL(p || q), JSD symmetric in [0, log 2]."""
    p, q = (jnp.asarray(a) for a in pq)
    kl = float(_kl(p, q))
    assert kl >= -1e-15
    np.testing.assert_allclose(_kl(p, p), 0.0, atol=1e-15)
    np.testing.assert_allclose(_ce(p, q), _h(p) + kl, rtol=1e-12, atol=1e-12)
    js = float(_js(p, q))
    assert -1e-15 <= js <= math.log(2) + 1e-15
    np.testing.assert_allclose(_js(q, p), js, rtol=1e-12, atol=1e-15)


@given(simplex(zeros=True))
def test_entropy_bounds(p):
    """Properties: 0 <= H(p) <= log k, with zeros allowed (0 log 0 = 0)."""
    h = float(_h(jnp.asarray(p)))
    assert -1e-15 <= h <= math.log(len(p)) + 1e-12


@given(st.lists(st.floats(0.01, 1.0), min_size=6, max_size=6))
def test_mutual_information_forms_agree(w):
    """D2L 13.6: I = H(X)+H(Y)-H(X,Y) = H(X)-H(X|Y) = H(Y)-H(Y|X) = KL(p_xy || p_x p_y) >= 0, symmetric."""
    p = jnp.asarray(np.asarray(w).reshape(2, 3) / np.sum(w))
    px, py = p.sum(1), p.sum(0)
    mi = float(_mi(p))
    assert mi >= -1e-15
    hx, hy, hxy = _h(px), _h(py), _hxy(p)
    np.testing.assert_allclose(hx + hy - hxy, mi, atol=1e-12)
    np.testing.assert_allclose(hx - _hx_y(p), mi, atol=1e-12)
    np.testing.assert_allclose(hy - _hy_x(p), mi, atol=1e-12)
    np.testing.assert_allclose(_kl(p.reshape(-1), jnp.outer(px, py).reshape(-1)), mi, atol=1e-12)
    np.testing.assert_allclose(_mi(p.T), mi, atol=1e-12)
    assert max(float(hx), float(hy)) - 1e-12 <= float(hxy) <= float(hx + hy) + 1e-12


def test_float32_preserved():
    """Dtype: float32 in, float32 out."""
    for fn, args in ((info.entropy, (P,)), (info.kl_divergence, (P, Q)), (info.mutual_information, (PXY,))):
        out = fn(*(a.astype(jnp.float32) for a in args))
        assert out.dtype == jnp.float32
        np.testing.assert_allclose(out, fn(*args), rtol=1e-5)


# ---------------------------------------------------------------- bad and edge inputs


@pytest.mark.parametrize(
    "fn,args",
    [
        (info.entropy, (jnp.array([0.5, 0.6]),)),
        (info.entropy, (jnp.array([1.2, -0.2]),)),
        (info.cross_entropy, (P, jnp.array([0.5, 0.5, 0.5]))),
        (info.kl_divergence, (jnp.array([0.5, np.nan, 0.5]), Q)),
        (info.js_divergence, (P, jnp.array([-0.1, 0.6, 0.5]))),
        (info.joint_entropy, (PXY * 2,)),
        (info.conditional_entropy, (PXY * 0.5,)),
        (info.mutual_information, (-PXY,)),
        (info.pointwise_mutual_information, (PXY * 3,)),
        (info.perplexity, (jnp.array([0.3, 0.3]),)),
        (info.sequence_perplexity, (jnp.array([-0.1, 0.2]),)),
    ],
)
def test_invalid_values_give_nan_and_raise_when_checked(fn, args):
    """invalid probabilities give NaN (never a finite number); checks.checked raises naming the argument."""
    out = np.asarray(fn(*args))
    assert np.all(np.isnan(out))
    with pytest.raises(checkify.JaxRuntimeError, match=r"info\.\w+: argument `(p|q|p_xy|log_probs)` expected"):
        checks.checked(fn, nan=False)(*args)


def test_invalid_row_does_not_poison_batch():
    """Edge: in a batch, only the invalid distribution is NaN."""
    p = jnp.array([[0.5, 0.5], [0.9, 0.9]])
    out = info.entropy(p)
    np.testing.assert_allclose(out[0], math.log(2), **F64)
    assert np.isnan(out[1])


def test_pmi_zero_marginal_is_nan():
    """Edge: a row with zero mass makes its PMI undefined (NaN); other cells keep their values."""
    p = jnp.array([[0.0, 0.0], [0.4, 0.6]])
    pmi = info.pointwise_mutual_information(p)
    assert np.all(np.isnan(pmi[0])) and np.all(np.isfinite(pmi[1]))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: info.entropy(jnp.array(1.0)), ValueError, r"info.entropy: argument `p` expected a probability vector"),
        (lambda: info.entropy(jnp.zeros((3, 0))), ValueError, r"info.entropy: argument `p` expected at least one"),
        (lambda: info.entropy(jnp.array([1, 0])), TypeError, r"info.entropy: argument `p` expected a floating-point"),
        (lambda: info.entropy(P, base=1), ValueError, r"info.entropy: argument `base` expected a number > 0 and != 1"),
        (lambda: info.entropy(P, base=-2.0), ValueError, r"argument `base` expected a number > 0"),
        (lambda: info.entropy(P, base="bits"), TypeError, r"argument `base` expected a Python number"),
        (lambda: info.cross_entropy(P, Q[:2]), ValueError, r"cross_entropy: argument `q` expected shape \(3,\), got"),
        (lambda: info.cross_entropy(P, Q.astype(jnp.float32)), TypeError, r"`q` expected dtype float64"),
        (lambda: info.cross_entropy(jnp.array(1.0), jnp.array(1.0)), ValueError, r"`p` expected a probability vector"),
        (lambda: info.cross_entropy(P, Q, base="e"), TypeError, r"cross_entropy: argument `base` expected a Python"),
        (lambda: info.cross_entropy(jnp.array([1, 0]), jnp.array([1, 0])), TypeError, r"`p` expected a floating"),
        (lambda: info.kl_divergence(jnp.zeros(0), jnp.zeros(0)), ValueError, r"`p` expected at least one outcome"),
        (
            lambda: info.kl_divergence(P, jnp.array([1, 0, 0])),
            TypeError,
            r"info.kl_divergence: argument `q` expected a",
        ),
        (lambda: info.kl_divergence(P[None], Q), ValueError, r"kl_divergence: argument `q` expected shape \(1, 3\)"),
        (lambda: info.kl_divergence(P, Q, base=0.0), ValueError, r"`base` expected a number > 0"),
        (lambda: info.js_divergence(P, Q[:2]), ValueError, r"info.js_divergence: argument `q` expected shape \(3,\)"),
        (lambda: info.js_divergence(jnp.array(0.5), jnp.array(0.5)), ValueError, r"`p` expected a probability vector"),
        (lambda: info.js_divergence(P, Q, base=math.inf), ValueError, r"`base` expected a number > 0 and != 1"),
        (lambda: info.js_divergence(P, jnp.array([1, 0, 0])), TypeError, r"js_divergence: argument `q` expected a"),
        (
            lambda: info.joint_entropy(jnp.ones((2, 2), jnp.int32)),
            TypeError,
            r"joint_entropy: argument `p_xy` expected a",
        ),
        (lambda: info.joint_entropy(PXY, base=1.0), ValueError, r"joint_entropy: argument `base` expected a number"),
        (lambda: info.conditional_entropy(jnp.zeros((0, 2))), ValueError, r"`p_xy` expected at least one outcome"),
        (lambda: info.mutual_information(PXY, base=0.5 - 0.5), ValueError, r"`base` expected a number > 0"),
        (lambda: info.pointwise_mutual_information(jnp.zeros((2, 0))), ValueError, r"`p_xy` expected at least one"),
        (lambda: info.perplexity(jnp.zeros((2, 0))), ValueError, r"perplexity: argument `p` expected at least one"),
        (lambda: info.perplexity(jnp.array([True, False])), TypeError, r"perplexity: argument `p` expected a floating"),
        (lambda: info.joint_entropy(P), ValueError, r"info.joint_entropy: argument `p_xy` expected a joint table"),
        (lambda: info.joint_entropy(jnp.zeros((2, 0))), ValueError, r"`p_xy` expected at least one outcome"),
        (
            lambda: info.conditional_entropy(PXY, given="z"),
            ValueError,
            r"`given` expected one of \['x', 'y'\], got 'z'",
        ),
        (lambda: info.conditional_entropy(P), ValueError, r"`p_xy` expected a joint table \(rank >= 2\)"),
        (lambda: info.mutual_information(P), ValueError, r"info.mutual_information: argument `p_xy` expected a joint"),
        (lambda: info.mutual_information(jnp.ones((2, 2), jnp.int32)), TypeError, r"`p_xy` expected a floating"),
        (lambda: info.pointwise_mutual_information(P), ValueError, r"`p_xy` expected a joint table"),
        (lambda: info.pointwise_mutual_information(PXY, base=True), TypeError, r"`base` expected a Python number"),
        (lambda: info.perplexity(jnp.array(1.0)), ValueError, r"info.perplexity: argument `p` expected a probability"),
        (lambda: info.perplexity(jnp.array([1])), TypeError, r"info.perplexity: argument `p` expected a floating"),
        (lambda: info.sequence_perplexity(jnp.array(-1.0)), ValueError, r"`log_probs` expected shape \(\*batch, T\)"),
        (lambda: info.sequence_perplexity(jnp.zeros((2, 0))), ValueError, r"`log_probs` expected shape"),
        (lambda: info.sequence_perplexity(jnp.array([-1, -2])), TypeError, r"`log_probs` expected a floating"),
    ],
)
def test_bad_static_inputs(call, exc, match):
    """Static problems raise at trace time with function, argument, expected and got."""
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("fn", [info.entropy, info.perplexity])
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_sum_to_one_tolerance_is_a_few_ulps_of_the_dtype(fn, dtype):
    """[0.46, 0.46] sums to 0.92: NaN in every dtype (bfloat16's sqrt(eps) = 0.09 once accepted it and returned
    0.715); softmax outputs rounded to the dtype (K = 2 to 1000) and a joint table are accepted."""
    assert np.isnan(np.asarray(fn(jnp.array([0.46, 0.46], dtype)), np.float64))
    for K in (2, 10, 1000):
        z = 3.0 * jax.random.normal(jax.random.key(K), (8, K), jnp.float32)
        p = jax.nn.softmax(z, axis=-1).astype(dtype)
        assert np.all(np.isfinite(np.asarray(fn(p), np.float64))), (dtype, K)
    table = jax.nn.softmax(jax.random.normal(jax.random.key(1), (30 * 30,))).reshape(30, 30).astype(dtype)
    assert np.isfinite(np.asarray(info.joint_entropy(table), np.float64))
    assert np.isnan(np.asarray(info.joint_entropy(jnp.full((3, 3), 0.1, dtype)), np.float64))  # sums to 0.9


def test_lists_are_accepted():
    """Python lists are array-likes: H([1/2, 1/2]) = log 2 and KL([1, 0] || [1/2, 1/2]) = log 2 (worked values)."""
    np.testing.assert_allclose(info.entropy([0.5, 0.5]), math.log(2), **F64)
    np.testing.assert_allclose(info.kl_divergence([1.0, 0.0], [0.5, 0.5]), math.log(2), **F64)
