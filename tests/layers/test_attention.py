"""Tests of mathdl.layers attention ([MEDL] Ch. 7, Sec. 7.4-7.5): masked softmax, masks, Nadaraya-Watson,
score functions, scaled dot-product attention (three implementations), multi-head and additive attention."""

import functools
import math

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import layers
from mathdl.layers import (
    ATTENTION_IMPLEMENTATIONS,
    AdditiveAttentionParams,
    ConcatScoreParams,
    MultiHeadParams,
    additive_attention,
    additive_attention_weights,
    additive_score,
    attention_weights,
    causal_mask,
    concat_score,
    default_attention_implementation,
    dot_score,
    general_score,
    init_additive_attention,
    init_concat_score,
    init_multi_head_attention,
    masked_softmax,
    multi_head_attention,
    multi_head_output,
    multi_head_param_count,
    multi_head_project,
    nadaraya_watson,
    nadaraya_watson_weights,
    padding_mask,
    scaled_dot_product_attention,
    scaled_dot_score,
)
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)
TOL32 = {"rtol": 2e-6, "atol": 2e-6}  # the "xla" path runs its softmax in float32 whatever the input dtype


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _normal(rng, *shape):
    return jnp.asarray(rng.normal(size=shape))


def _sdpa_jit(implementation, is_causal=False):
    return jax.jit(functools.partial(scaled_dot_product_attention, implementation=implementation, is_causal=is_causal))


# ------------------------------------------------------------------ masked softmax and masks


def test_masked_softmax_worked():
    """By hand: scores (0, ln 3, 5) with the last masked -> (1/4, 3/4, 0); no mask -> the plain softmax."""
    s = jnp.array([0.0, math.log(3.0), 5.0])
    np.testing.assert_allclose(masked_softmax(s, jnp.array([True, True, False])), [0.25, 0.75, 0.0], **tol(np.float64))
    np.testing.assert_allclose(masked_softmax(s), jax.nn.softmax(s), **tol(np.float64))


def test_masked_softmax_fully_masked_row_is_zero_with_zero_gradient(rng):
    """A row with every key masked: weights 0 and d(weights)/d(scores) = 0 exactly, no NaN anywhere."""
    s = _normal(rng, 3, 4)
    mask = jnp.array([[True, False, True, True], [False] * 4, [True] * 4])
    c = _normal(rng, 3, 4)
    w = jax.jit(masked_softmax)(s, mask)
    np.testing.assert_array_equal(w[1], np.zeros(4))
    np.testing.assert_allclose(w.sum(axis=1), [1.0, 0.0, 1.0], **tol(np.float64))
    g = jax.jit(jax.grad(lambda s: jnp.sum(masked_softmax(s, mask) * c)))(s)
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[1], np.zeros(4))
    np.testing.assert_array_equal(g[0, 1], 0.0)  # a masked entry gets no gradient either
    # the same through the attention paths that take masks (one compile for all of them)
    q, k, v = _normal(rng, 3, 2), _normal(rng, 4, 2), _normal(rng, 4, 3)

    @jax.jit
    def paths(q):
        outs = [scaled_dot_product_attention(q, k, v, mask=mask, implementation=i) for i in ATTENTION_IMPLEMENTATIONS]
        grads = [
            jax.grad(lambda q, i=i: jnp.sum(scaled_dot_product_attention(q, k, v, mask=mask, implementation=i)))(q)
            for i in ("reference", "blocked")
        ]
        return outs, grads

    outs, grads = paths(q)
    for out in outs:
        np.testing.assert_array_equal(out[1], np.zeros(3))
    for gq in grads:
        assert np.all(np.isfinite(gq))
        np.testing.assert_array_equal(gq[1], np.zeros(2))


def test_masked_softmax_broadcast_mask_and_axis(rng):
    """A (S,) mask broadcasts over rows; axis=0 normalises columns; rows sum to 1 (the property)."""
    s = _normal(rng, 5, 4)
    m = jnp.array([True, False, True, True])
    w = masked_softmax(s, m)
    np.testing.assert_allclose(w.sum(axis=1), np.ones(5), **tol(np.float64))
    np.testing.assert_array_equal(w[:, 1], np.zeros(5))
    np.testing.assert_allclose(masked_softmax(s, axis=0), jax.nn.softmax(s, axis=0), **tol(np.float64))


def test_masked_softmax_bad_inputs():
    with pytest.raises(ValueError, match=r"masked_softmax: argument `mask` expected a shape that broadcasts.*\(2, 3\)"):
        masked_softmax(jnp.zeros((2, 3)), jnp.ones((4,), bool))
    with pytest.raises(TypeError, match="masked_softmax: argument `mask`"):
        masked_softmax(jnp.zeros((2, 3)), jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="argument `axis`"):
        masked_softmax(jnp.zeros((2, 3)), axis=2)


def test_causal_and_padding_masks_worked():
    """Lower triangle (7.27); an offset S - T aligns the last query with the last key (a KV cache)."""
    np.testing.assert_array_equal(causal_mask(3), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(causal_mask(2, 4, offset=2), [[1, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(causal_mask(2, 3), [[1, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(padding_mask(jnp.array([True, True, False]), 2), [[1, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="causal_mask: argument `T` expected a positive int"):
        causal_mask(0)
    with pytest.raises(TypeError, match="padding_mask: argument `valid`"):
        padding_mask(jnp.ones(3), 2)


# ------------------------------------------------------------------ Nadaraya-Watson


def _nw_loop(q, k, v, kernel, h):
    """NumPy loop oracle."""
    q, k = np.atleast_2d(np.asarray(q).T).T, np.atleast_2d(np.asarray(k).T).T
    out = []
    for qi in q:
        w = []
        for kj in k:
            u = np.linalg.norm(qi - kj) / h
            w.append(
                {
                    "gaussian": np.exp(-0.5 * u * u),
                    "boxcar": float(u <= 1),
                    "epanechnikov": max(0.0, 1 - u * u),
                    "triangular": max(0.0, 1 - u),
                }[kernel]
            )
        w = np.array(w)
        out.append(w / w.sum() if w.sum() > 0 else w)
    W = np.array(out)
    return W, W @ np.asarray(v)


@pytest.mark.parametrize("kernel", ["gaussian", "boxcar", "epanechnikov", "triangular"])
def test_nadaraya_watson_against_loop(rng, kernel):
    x = jnp.asarray(np.sort(rng.uniform(0, 5, 12)))
    y = jnp.sin(x)
    q = jnp.linspace(-2.0, 7.0, 9)  # the ends lie outside every compact kernel's support
    W, want = _nw_loop(q, x, y, kernel, 0.7)
    np.testing.assert_allclose(nadaraya_watson_weights(q, x, kernel=kernel, bandwidth=0.7), W, **TOL)
    np.testing.assert_allclose(nadaraya_watson(q, x, y, kernel=kernel, bandwidth=0.7), want, **TOL)


def test_nadaraya_watson_worked_and_vector_points(rng):
    """Keys 0 and 1 with values 0 and 2: a query at 1/2 is equidistant, so it predicts 1 with every kernel."""
    for kernel in ("gaussian", "boxcar", "epanechnikov", "triangular"):
        out = nadaraya_watson(jnp.array([0.5]), jnp.array([0.0, 1.0]), jnp.array([0.0, 2.0]), kernel=kernel)
        np.testing.assert_allclose(out, [1.0], **tol(np.float64))
    # a query far from all keys has no neighbours in a compact kernel: 0, not NaN
    assert (
        float(nadaraya_watson(jnp.array([9.0]), jnp.array([0.0, 1.0]), jnp.array([1.0, 2.0]), kernel="boxcar")[0]) == 0
    )
    for kernel in ("gaussian", "boxcar", "epanechnikov", "triangular"):  # NaN in, NaN out
        out = nadaraya_watson(jnp.array([jnp.nan, 0.5]), jnp.array([0.0, 1.0]), jnp.array([0.0, 2.0]), kernel=kernel)
        assert np.isnan(out[0]) and np.isfinite(out[1]), kernel
    q, k, v = _normal(rng, 4, 2), _normal(rng, 6, 2), _normal(rng, 6, 3)
    W, want = _nw_loop(q, k, v, "gaussian", 1.3)
    np.testing.assert_allclose(
        jax.jit(nadaraya_watson, static_argnames="bandwidth")(q, k, v, bandwidth=1.3), want, **TOL
    )


def test_nadaraya_watson_gradient_and_bad_inputs(rng):
    x, y = _normal(rng, 5), _normal(rng, 5)
    for kernel, order in (("gaussian", 2), ("epanechnikov", 1)):
        f = jax.jit(lambda q, kernel=kernel: nadaraya_watson(q, x, y, kernel=kernel))
        jax.test_util.check_grads(f, (_normal(rng, 3),), order)
    with pytest.raises(
        ValueError, match=r"nadaraya_watson: argument `keys` expected .*d = 2.*\(3, 2\).*got shape \(4, 3\)"
    ):
        nadaraya_watson(jnp.zeros((3, 2)), jnp.zeros((4, 3)), jnp.zeros(4))
    with pytest.raises(ValueError, match=r"argument `values` expected .*S = 4.*got shape \(5,\)"):
        nadaraya_watson(jnp.zeros(3), jnp.zeros(4), jnp.zeros(5))
    with pytest.raises(ValueError, match="argument `kernel`"):
        nadaraya_watson(jnp.zeros(3), jnp.zeros(4), jnp.zeros(4), kernel="cosine")
    with pytest.raises(ValueError, match="argument `bandwidth` expected a positive number"):
        nadaraya_watson(jnp.zeros(3), jnp.zeros(4), jnp.zeros(4), bandwidth=0.0)


def test_scores_against_loop(rng):
    T, S, m_q, m_k, n = 3, 4, 2, 5, 6
    q, k, kq = _normal(rng, T, m_q), _normal(rng, S, m_k), _normal(rng, S, m_q)
    W = _normal(rng, m_q, m_k)
    cp = ConcatScoreParams(_normal(rng, n, m_q + m_k), _normal(rng, n))
    ap = AdditiveAttentionParams(_normal(rng, n, m_q), _normal(rng, n, m_k), _normal(rng, n))
    qn, kn, kqn = np.asarray(q), np.asarray(k), np.asarray(kq)
    want = {name: np.zeros((T, S)) for name in ("dot", "scaled", "general", "concat", "additive")}
    for t in range(T):
        for s in range(S):
            want["dot"][t, s] = qn[t] @ kqn[s]
            want["scaled"][t, s] = qn[t] @ kqn[s] / np.sqrt(m_q)
            want["general"][t, s] = qn[t] @ np.asarray(W) @ kn[s]
            want["concat"][t, s] = np.asarray(cp.w) @ np.tanh(np.asarray(cp.W) @ np.concatenate([qn[t], kn[s]]))
            want["additive"][t, s] = np.asarray(ap.w) @ np.tanh(np.asarray(ap.W_q) @ qn[t] + np.asarray(ap.W_k) @ kn[s])
    np.testing.assert_allclose(dot_score(q, kq), want["dot"], **TOL)
    np.testing.assert_allclose(scaled_dot_score(q, kq), want["scaled"], **TOL)
    np.testing.assert_allclose(general_score(W, q, k), want["general"], **TOL)
    np.testing.assert_allclose(concat_score(cp, q, k), want["concat"], **TOL)
    np.testing.assert_allclose(additive_score(ap, q, k), want["additive"], **TOL)
    np.testing.assert_allclose(jax.jit(additive_score)(ap, q, k), want["additive"], **TOL)


def test_scores_worked_and_bad_inputs():
    """(1, 2) . (3, 4) = 11, scaled by 1/sqrt 2; the general score with W = I is the inner product."""
    q, k = jnp.array([[1.0, 2.0]]), jnp.array([[3.0, 4.0]])
    assert float(dot_score(q, k)[0, 0]) == 11.0
    np.testing.assert_allclose(scaled_dot_score(q, k), [[11.0 / math.sqrt(2.0)]], **tol(np.float64))
    np.testing.assert_allclose(general_score(jnp.eye(2), q, k), [[11.0]], **tol(np.float64))
    with pytest.raises(
        ValueError, match=r"dot_score: argument `k` expected the width d = 2 of q \(q of shape \(1, 2\)\)"
    ):
        dot_score(q, jnp.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"general_score: argument `W` expected shape \(m_q, m_k\) = \(2, 3\)"):
        general_score(jnp.eye(2), q, jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"concat_score: argument `params.W` expected m_q \+ m_k = 2 \+ 2 = 4"):
        concat_score(ConcatScoreParams(jnp.zeros((3, 5)), jnp.zeros(3)), q, k)
    with pytest.raises(ValueError, match=r"additive_score: argument `params.W_k`"):
        additive_score(AdditiveAttentionParams(jnp.zeros((3, 2)), jnp.zeros((3, 5)), jnp.zeros(3)), q, k)


def test_score_inits(getkey):
    ap = init_additive_attention(getkey(), 3, 4, 5)
    assert (ap.W_q.shape, ap.W_k.shape, ap.w.shape) == ((5, 3), (5, 4), (5,))
    cp = init_concat_score(getkey(), 3, 4, 5, dtype=jnp.float32)
    assert cp.W.shape == (5, 7) and cp.w.dtype == jnp.float32


# ------------------------------------------------------------------ scaled dot-product attention


def _torch_sdpa(q, k, v, mask=None, is_causal=False):
    torch = need("torch")
    t = [torch.from_numpy(np.array(a)) for a in (q, k, v)]
    m = None if mask is None else torch.from_numpy(np.array(mask))
    return torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=m, is_causal=is_causal).numpy()


def test_sdpa_against_torch_all_paths(rng):
    """float64 PyTorch SDPA: plain, causal, padded, both; reference and blocked to 1e-10, XLA to float32."""
    T, S, d, d_v = 5, 7, 3, 4
    q, k, v = _normal(rng, T, d), _normal(rng, S, d), _normal(rng, S, d_v)
    pad = padding_mask(jnp.array([True] * 5 + [False] * 2), T)
    full = jnp.ones((T, S), bool)
    wants = {  # torch takes one of attn_mask and is_causal: the combination is given as one mask
        (False, False): _torch_sdpa(q, k, v),
        (True, False): _torch_sdpa(q, k, v, is_causal=True),
        (False, True): _torch_sdpa(q, k, v, pad),
        (True, True): _torch_sdpa(q, k, v, pad & causal_mask(T, S)),
    }

    def all_paths(q, k, v, mask, is_causal):
        return [
            scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal, implementation=i)
            for i in ATTENTION_IMPLEMENTATIONS
        ]

    f = jax.jit(all_paths, static_argnames="is_causal")
    for (causal, padded), want in wants.items():
        for impl, got in zip(ATTENTION_IMPLEMENTATIONS, f(q, k, v, pad if padded else full, causal), strict=True):
            np.testing.assert_allclose(got, want, **(TOL32 if impl == "xla" else TOL))
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v), wants[False, False], **TOL)  # mask=None


def test_sdpa_worked():
    """One query, two keys with equal scores: the output is the mean of the values."""
    out = scaled_dot_product_attention(
        jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0], [0.0, -1.0]]), jnp.array([[2.0], [4.0]])
    )
    np.testing.assert_allclose(out, [[3.0]], **tol(np.float64))


def test_blocked_equals_reference_any_block(rng):
    """Blocks that do not divide S (padded keys) and one block; causal and masked; values and gradients."""
    from mathdl.layers._attention import _sdpa_blocked

    q, k, v = _normal(rng, 6, 3), _normal(rng, 10, 3), _normal(rng, 10, 2)
    mask = jnp.asarray(rng.random((6, 10)) < 0.7)

    def value_and_grads(attn):
        return jax.jit(jax.value_and_grad(lambda q, k, v: jnp.sum(jnp.sin(attn(q, k, v))), (0, 1, 2)))(q, k, v)

    ref = value_and_grads(
        lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask, is_causal=True, implementation="reference")
    )
    for block in (3, 16):
        got = value_and_grads(lambda q, k, v, block=block: _sdpa_blocked(q, k, v, mask, True, block))
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True):
            np.testing.assert_allclose(a, b, **TOL)


def test_sdpa_gradients_order_2(rng):
    """check_grads order 2: reference in both modes; blocked (a custom_vjp) in reverse mode."""
    q, k, v = _normal(rng, 3, 2), _normal(rng, 4, 2), _normal(rng, 4, 2)
    mask = jnp.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]], bool)
    ref = functools.partial(scaled_dot_product_attention, mask=mask, implementation="reference")
    blk = functools.partial(scaled_dot_product_attention, mask=mask, is_causal=True, implementation="blocked")
    jax.test_util.check_grads(jax.jit(ref), (q, k, v), order=2)
    jax.test_util.check_grads(jax.jit(blk), (q, k, v), order=2, modes=["rev"])


def test_sdpa_vmap_equals_loop_and_rows_sum_to_one(rng):
    q, k, v = _normal(rng, 2, 4, 3), _normal(rng, 2, 5, 3), _normal(rng, 2, 5, 2)
    f = jax.jit(jax.vmap(functools.partial(scaled_dot_product_attention, implementation="blocked")))
    got = f(q, k, v)
    for b in range(2):
        np.testing.assert_allclose(
            got[b], scaled_dot_product_attention(q[b], k[b], v[b], implementation="reference"), **TOL
        )
    a = attention_weights(q[0], k[0], is_causal=True)
    np.testing.assert_allclose(a.sum(axis=1), np.ones(4), **tol(np.float64))
    np.testing.assert_allclose(a @ v[0], scaled_dot_product_attention(q[0], k[0], v[0], is_causal=True), **TOL)
    # values all equal to one vector: the output is that vector whatever the weights
    np.testing.assert_allclose(scaled_dot_product_attention(q[0], k[0], jnp.ones((5, 2))), np.ones((4, 2)), **TOL)


def test_self_attention_permutation_equivariant(rng):
    """Without positions, permuting the sequence permutes the output rows (7.23)."""
    x = _normal(rng, 6, 4)
    perm = rng.permutation(6)

    @jax.jit
    def both(x):
        fs = [functools.partial(scaled_dot_product_attention, implementation=i) for i in ("reference", "blocked")]
        return [(f(x[perm], x[perm], x[perm]), f(x, x, x)[perm]) for f in fs]

    for a, b in both(x):
        np.testing.assert_allclose(a, b, **TOL)


def test_blocked_memory_is_linear_in_T():
    """Compiled temp bytes of forward + backward: blocked grows ~4x from T=256 to 1024, the reference ~16x."""

    def temp(impl, T):
        x = jax.ShapeDtypeStruct((T, 8), jnp.float32)
        f = jax.grad(lambda q, k, v: jnp.sum(scaled_dot_product_attention(q, k, v, implementation=impl)), (0, 1, 2))
        return jax.jit(f).lower(x, x, x).compile().memory_analysis().temp_size_in_bytes

    blocked = temp("blocked", 1024) / temp("blocked", 256)
    reference = temp("reference", 1024) / temp("reference", 256)
    assert blocked < 6, blocked
    assert reference > 10, reference


def test_default_implementation():
    """On CPU the reference path while T S <= 2^19 (decoding one query, short sequences), then the blocked one."""
    assert default_attention_implementation("cpu", T=64, S=64) == "reference"
    assert default_attention_implementation("cpu", T=1, S=4096) == "reference"
    assert default_attention_implementation("cpu", T=512, S=512) == "reference"
    assert default_attention_implementation("cpu", T=1024, S=1024) == "blocked"
    assert default_attention_implementation("cpu") == "blocked"
    assert default_attention_implementation("gpu", T=1024, S=1024) == "xla"
    assert default_attention_implementation() in ATTENTION_IMPLEMENTATIONS


def test_sdpa_bad_inputs():
    q, k, v = jnp.zeros((3, 4)), jnp.zeros((5, 4)), jnp.zeros((5, 2))
    with pytest.raises(
        ValueError,
        match=r"scaled_dot_product_attention: argument `k` expected the width d = 4 of q \(q of shape \(3, 4\)\), "
        r"got shape \(5, 6\)",
    ):
        scaled_dot_product_attention(q, jnp.zeros((5, 6)), v)
    with pytest.raises(ValueError, match=r"argument `v` expected one value per key, S = 5 rows .*got shape \(4, 2\)"):
        scaled_dot_product_attention(q, k, jnp.zeros((4, 2)))
    with pytest.raises(
        ValueError, match=r"argument `q` expected one example of shape \(T, d\); for a batch use jax.vmap"
    ):
        scaled_dot_product_attention(jnp.zeros((2, 3, 4)), k, v)
    with pytest.raises(ValueError, match=r"argument `mask` expected shape \(T, S\) = \(3, 5\)"):
        scaled_dot_product_attention(q, k, v, mask=jnp.ones((5, 3), bool))
    with pytest.raises(ValueError, match="argument `implementation`"):
        scaled_dot_product_attention(q, k, v, implementation="flash")
    with pytest.raises(TypeError, match="argument `is_causal` expected a bool"):
        scaled_dot_product_attention(q, k, v, is_causal=1)


# ------------------------------------------------------------------ multi-head attention


def _torch_mha(params, x_q, x_kv, H, key_padding=None, attn_mask=None):
    """torch.nn.MultiheadAttention (float64) loaded with the same parameters."""
    torch = need("torch")
    p = x_q.shape[1]
    mha = torch.nn.MultiheadAttention(p, H, bias=True, batch_first=True, dtype=torch.float64)
    W_in = np.concatenate([np.asarray(W).reshape(-1, p) for W in (params.W_q, params.W_k, params.W_v)])
    b_in = np.concatenate([np.asarray(b).reshape(-1) for b in (params.b_q, params.b_k, params.b_v)])
    W_o = np.asarray(params.W_c).transpose(1, 0, 2).reshape(p, -1)  # [W_c^1 ... W_c^H]
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(W_in))
        mha.in_proj_bias.copy_(torch.from_numpy(b_in))
        mha.out_proj.weight.copy_(torch.from_numpy(W_o))
        mha.out_proj.bias.copy_(torch.from_numpy(np.array(params.b_c)))
    t = lambda a: None if a is None else torch.from_numpy(np.array(a))[None]  # noqa: E731
    kpm = None if key_padding is None else torch.from_numpy(~np.array(key_padding))[None]  # True = ignore
    am = None if attn_mask is None else torch.from_numpy(~np.array(attn_mask))
    out, _ = mha(t(x_q), t(x_kv), t(x_kv), key_padding_mask=kpm, attn_mask=am, need_weights=False)
    return out[0].detach().numpy()


def _random_biases(rng, params):
    return params._replace(
        b_q=_normal(rng, *params.b_q.shape),
        b_k=_normal(rng, *params.b_k.shape),
        b_v=_normal(rng, *params.b_v.shape),
        b_c=_normal(rng, *params.b_c.shape),
    )


def test_multi_head_against_torch(rng, getkey):
    """Self-attention causal, cross-attention with key padding; reference and blocked paths."""
    p, H, T, S = 6, 3, 4, 5
    params = _random_biases(rng, init_multi_head_attention(getkey(), p, H, bias=True))
    x, z = _normal(rng, T, p), _normal(rng, S, p)
    valid = jnp.array([True, True, True, False, True])
    want_self = _torch_mha(params, x, x, H, attn_mask=causal_mask(T))
    want_cross = _torch_mha(params, x, z, H, key_padding=valid)

    @jax.jit
    def outs(params, x, z):
        self_ = [multi_head_attention(params, x, is_causal=True, implementation=i) for i in ("reference", "blocked")]
        cross = [
            multi_head_attention(params, x, z, mask=padding_mask(valid, T), implementation=i)
            for i in ("reference", "blocked")
        ]
        return self_, cross

    self_, cross = outs(params, x, z)
    for got in self_:
        np.testing.assert_allclose(got, want_self, **TOL)
    for got in cross:
        np.testing.assert_allclose(got, want_cross, **TOL)


def test_multi_head_sum_of_heads_equals_concat_then_W_O(rng, getkey):
    """(7.26): sum_h W_c^h u^h = W_O [u^1; ...; u^H]; and project/output compose to multi_head_attention."""
    p, H, T = 8, 2, 5
    params = init_multi_head_attention(getkey(), p, H, m=3, m_v=5)
    x = _normal(rng, T, p)

    @jax.jit
    def pieces(params, x):
        Q, K, V = multi_head_project(params, x)
        U = jnp.stack([scaled_dot_product_attention(Q[h], K[h], V[h]) for h in range(H)])
        concat = jnp.concatenate(list(U), axis=1)  # (T, H m_v)
        W_O = jnp.concatenate(list(params.W_c), axis=1)  # (p, H m_v)
        by_sum = sum(params.W_c[h] @ U[h].T for h in range(H)).T
        return (Q, K, V), multi_head_attention(params, x), concat @ W_O.T, multi_head_output(params, U), by_sum

    (Q, K, V), out, by_concat, by_output, by_sum = pieces(params, x)
    assert (Q.shape, K.shape, V.shape) == ((H, T, 3), (H, T, 3), (H, T, 5))
    for other in (by_concat, by_output, by_sum):
        np.testing.assert_allclose(other, out, **TOL)


def test_multi_head_properties_and_grads(rng, getkey):
    """Permutation equivariance, vmap over a batch, check_grads (tiny: p = 2, two heads)."""
    p, H = 4, 2
    params = init_multi_head_attention(getkey(), p, H)
    x = _normal(rng, 5, p)
    perm = rng.permutation(5)
    batch = jnp.stack([x, x[perm]])
    out = jax.jit(jax.vmap(multi_head_attention, in_axes=(None, 0)))(params, batch)
    np.testing.assert_allclose(out[1], out[0][perm], **TOL)
    np.testing.assert_allclose(out[0], multi_head_attention(params, x), **TOL)
    small = init_multi_head_attention(getkey(), 2, 2, bias=True)
    f = jax.jit(lambda P, x: multi_head_attention(P, x, is_causal=True))
    jax.test_util.check_grads(f, (small, _normal(rng, 3, 2)), order=1)  # order 2 is checked on the attention itself


def test_multi_head_counts_and_bad_inputs(getkey):
    """H(2mp + 2 m_v p) = 4p^2 at m = p/H (7.32); the torch layer with biases has 4p^2 + 4p."""
    assert multi_head_param_count(512, 8) == 4 * 512 * 512
    assert multi_head_param_count(6, 3, bias=True) == 4 * 36 + 4 * 6
    params = init_multi_head_attention(getkey(), 6, 3, bias=True)
    assert sum(a.size for a in params) == multi_head_param_count(6, 3, bias=True)
    assert isinstance(params, MultiHeadParams)
    with pytest.raises(
        ValueError,
        match=r"init_multi_head_attention: argument `num_heads` expected a divisor of the width p = 6.*got 4",
    ):
        init_multi_head_attention(getkey(), 6, 4)
    params = init_multi_head_attention(getkey(), 6, 3)
    with pytest.raises(
        ValueError, match=r"multi_head_attention: argument `x_q` expected shape \(T, 6\)|argument `x_q` expected shape"
    ):
        multi_head_attention(params, jnp.zeros((4, 5)))
    with pytest.raises(ValueError, match="for a batch use jax.vmap"):
        multi_head_attention(params, jnp.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match=r"multi_head_output: argument `U`"):
        multi_head_output(params, jnp.zeros((2, 4, 2)))


# ------------------------------------------------------------------ additive (Bahdanau) attention


def test_additive_attention_against_loop(rng, getkey):
    T, S, m_q, m_k, m_v, n = 3, 4, 2, 3, 2, 5
    params = init_additive_attention(getkey(), m_q, m_k, n)
    q, k, v = _normal(rng, T, m_q), _normal(rng, S, m_k), _normal(rng, S, m_v)
    mask = jnp.array([[1, 1, 1, 0], [1, 0, 1, 1], [1, 1, 1, 1]], bool)
    W_q, W_k, w = (np.asarray(a) for a in params)
    qn, kn, mn = np.asarray(q), np.asarray(k), np.asarray(mask)
    want_a = np.zeros((T, S))
    for t in range(T):
        e = np.array([np.exp(w @ np.tanh(W_q @ qn[t] + W_k @ kn[s])) * mn[t, s] for s in range(S)])
        want_a[t] = e / e.sum()
    a, u = jax.jit(
        lambda P, q: (additive_attention_weights(P, q, k, mask=mask), additive_attention(P, q, k, v, mask=mask))
    )(params, q)
    np.testing.assert_allclose(a, want_a, **TOL)
    np.testing.assert_allclose(a.sum(axis=1), np.ones(T), **tol(np.float64))
    np.testing.assert_allclose(u, want_a @ np.asarray(v), **TOL)
    jax.test_util.check_grads(
        jax.jit(lambda q: additive_attention(params, q, k, v, mask=mask)), (q,), order=2, modes=["rev"]
    )
    jax.test_util.check_grads(jax.jit(lambda P: additive_attention(P, q, k, v, mask=mask)), (params,), order=1)
    with pytest.raises(ValueError, match=r"additive_attention: argument `v` expected one value per key, S = 4"):
        additive_attention(params, q, k, v[:3])
    with pytest.raises(
        ValueError, match=r"additive_attention_weights: argument `mask` expected shape \(T, S\) = \(3, 4\)"
    ):
        additive_attention_weights(params, q, k, mask=mask.T)


def test_layers_namespace_exports_the_required_names():
    for name in (
        "scaled_dot_product_attention",
        "multi_head_attention",
        "additive_attention",
        "masked_softmax",
        "nadaraya_watson",
        "sinusoidal_positions",
    ):
        assert callable(getattr(layers, name))


def test_low_precision_inputs_keep_their_dtype(rng):
    """bfloat16 in, bfloat16 out; the reference and blocked paths compute in float32 inside (equal to 1e-2)."""
    q, k, v = (jnp.asarray(rng.normal(size=(6, 4)), jnp.bfloat16) for _ in range(3))
    want = scaled_dot_product_attention(*(a.astype(jnp.float32) for a in (q, k, v)), is_causal=True)
    for impl in ATTENTION_IMPLEMENTATIONS:
        got = scaled_dot_product_attention(q, k, v, is_causal=True, implementation=impl)
        assert got.dtype == jnp.bfloat16
        np.testing.assert_allclose(got.astype(jnp.float32), want, atol=2e-2)  # bfloat16 has 8 bits of mantissa


def test_masked_softmax_check_grads_and_nan_propagates(rng):
    """check_grads order 2 through a partly masked softmax; a NaN query gives NaN, never a finite wrong answer."""
    mask = jnp.array([[True, False, True], [True, True, True]])
    jax.test_util.check_grads(jax.jit(lambda s: masked_softmax(s, mask)), (_normal(rng, 2, 3),), order=2)
    q = jnp.array([[jnp.nan, 0.0], [1.0, 0.0]])
    k, v = _normal(rng, 3, 2), _normal(rng, 3, 2)
    for impl in ATTENTION_IMPLEMENTATIONS:
        out = scaled_dot_product_attention(q, k, v, implementation=impl)
        assert np.all(np.isnan(out[0])) and np.all(np.isfinite(out[1])), impl
