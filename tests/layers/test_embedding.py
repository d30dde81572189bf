"""Tests of mathdl.layers embedding, one_hot and cosine_similarity ([MEDL] Sec. 7.1, eq. A.1)."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.layers import EmbeddingParams, cosine_similarity, embedding, init_embedding, one_hot
from tests._oracles import need
from tests._tolerances import tol

E3 = jnp.array([[1.0, 0.0], [0.0, 2.0], [3.0, -1.0]])  # d_V = 3, p = 2


def test_worked_values():
    """By hand: rows 2, 0, 2 of E; e_1 in R^3; cos((1,0),(1,1)) = 1/sqrt 2, cos(u, -u) = -1."""
    got = embedding(EmbeddingParams(E3), jnp.array([2, 0, 2]))
    np.testing.assert_array_equal(got, [[3.0, -1.0], [1.0, 0.0], [3.0, -1.0]])
    np.testing.assert_array_equal(one_hot(jnp.array(1), 3), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(
        cosine_similarity(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0])), 2**-0.5, **tol(np.float64)
    )
    np.testing.assert_allclose(
        cosine_similarity(jnp.array([1.0, 2.0]), jnp.array([-1.0, -2.0])), -1.0, **tol(np.float64)
    )


def test_embedding_is_one_hot_times_E(getkey):
    """Property ([MEDL] Sec. 7.1): the lookup equals the product e_x^T E of the one-hot vector with E."""
    p = init_embedding(getkey(), 7, 4)
    tokens = jax.random.randint(getkey(), (9,), 0, 7)
    np.testing.assert_allclose(embedding(p, tokens), one_hot(tokens, 7) @ p.E, **tol(np.float64))


def test_oracle_torch(getkey):
    """Oracle: torch.nn.functional.embedding, one_hot and cosine_similarity (non-zero vectors)."""
    torch = need("torch")
    p = init_embedding(getkey(), 6, 3)
    tokens = np.array([5, 0, 3, 3])
    want = torch.nn.functional.embedding(torch.tensor(tokens), torch.tensor(np.asarray(p.E)))
    np.testing.assert_allclose(embedding(p, tokens), want.numpy(), **tol(np.float64))
    np.testing.assert_array_equal(one_hot(tokens, 6), torch.nn.functional.one_hot(torch.tensor(tokens), 6).numpy())
    u, V = jax.random.normal(getkey(), (3,)), jax.random.normal(getkey(), (5, 3))
    want = torch.nn.functional.cosine_similarity(torch.tensor(np.asarray(u))[None], torch.tensor(np.asarray(V)), dim=-1)
    np.testing.assert_allclose(cosine_similarity(u, V), want.numpy(), **tol(np.float64, composite=True))


def test_init_shape_scale_dtype(getkey):
    """Contract: E is (d_V, p); its entries have std 1/sqrt(p) by default (2,000 draws, 4 standard errors)."""
    p = init_embedding(getkey(), 500, 4)
    assert p.E.shape == (500, 4)
    assert abs(float(p.E.std()) - 0.5) < 4 * 0.5 / np.sqrt(2 * 2000)
    assert init_embedding(getkey(), 3, 2, dtype=jnp.float32).E.dtype == jnp.float32
    np.testing.assert_allclose(
        init_embedding(jax.random.key(3), 3, 2, scale=2.0).E, 2 * jax.random.normal(jax.random.key(3), (3, 2))
    )


def test_transforms(getkey, transform):
    """Transforms: jit == eager, vmap == loop, d(sum of rows)/dE counts each token (analytic), check_grads."""
    p = init_embedding(getkey(), 5, 3)
    tokens = jnp.array([[1, 4, 1], [0, 0, 2]])
    batched = transform(jax.vmap(embedding, in_axes=(None, 0)))(p, tokens)
    np.testing.assert_allclose(batched, np.stack([embedding(p, t) for t in tokens]), **tol(np.float64))
    g = jax.grad(lambda q: embedding(q, tokens[0]).sum())(p)
    np.testing.assert_allclose(g.E, np.array([0, 2, 0, 0, 1.0])[:, None] * np.ones((1, 3)), **tol(np.float64))
    u, v = jax.random.normal(getkey(), (2, 3)), jax.random.normal(getkey(), (3,))
    np.testing.assert_allclose(
        transform(cosine_similarity)(u, v), [cosine_similarity(x, v) for x in u], **tol(np.float64)
    )
    if transform is jax.jit:
        jax.test_util.check_grads(jax.jit(lambda E: embedding(EmbeddingParams(E), tokens[1])), (p.E,), order=2)
        jax.test_util.check_grads(jax.jit(cosine_similarity), (u, v), order=2)


def test_cosine_gradient_is_the_book_formula():
    """Transforms: d cos / du = v/(|u||v|) - cos u/|u|^2, by hand, at u = (1, 2, 2), v = (0, 3, 4)."""
    u, v = jnp.array([1.0, 2.0, 2.0]), jnp.array([0.0, 3.0, 4.0])
    c = 14.0 / 15.0
    np.testing.assert_allclose(jax.grad(cosine_similarity)(u, v), v / 15.0 - c * u / 9.0, **tol(np.float64))


@given(st.floats(0.01, 100.0), st.floats(-100.0, -0.01))
def test_cosine_scale_invariance(a, b):
    """Property: cos(a u, v) = cos(u, v) for a > 0, = -cos(u, v) for a < 0; |cos| <= 1 (plus rounding)."""
    u, v = jnp.array([0.3, -1.0, 2.0]), jnp.array([1.5, 0.2, -0.7])
    c = cosine_similarity(u, v)
    np.testing.assert_allclose(cosine_similarity(a * u, v), c, **tol(np.float64, composite=True))
    np.testing.assert_allclose(cosine_similarity(u, b * v), -c, **tol(np.float64, composite=True))
    assert abs(float(c)) <= 1 + 1e-15


def test_edges():
    """Edge: a zero vector gives cosine 0 and a zero gradient (not NaN); an empty sequence embeds to (0, p)."""
    z = jnp.zeros(3)
    assert float(cosine_similarity(z, jnp.ones(3))) == 0.0
    np.testing.assert_array_equal(jax.grad(cosine_similarity)(z, jnp.ones(3)), 0.0)
    assert embedding(EmbeddingParams(E3), jnp.zeros((0,), jnp.int32)).shape == (0, 2)
    assert cosine_similarity(jnp.ones((4, 1, 2)), jnp.ones((3, 2))).shape == (4, 3)


def test_bad_ids_eager_and_jit():
    """Bad input: an id outside [0, d_V) names the id and d_V eagerly, and gives NaN under jit.

    jax.nn.one_hot would give a zero row, and E[ids] a clamped row: finite wrong answers.
    """
    params = EmbeddingParams(E3)
    msg = r"layers.embedding: argument `tokens` expected token ids in \[0, 3\) \(d_V = 3\), got 3 at index 1."
    with pytest.raises(ValueError, match=msg):
        embedding(params, jnp.array([0, 3]))
    with pytest.raises(ValueError, match=r"layers.one_hot: .* got -1 at index 0"):
        one_hot(jnp.array([-1, 2]), 3)
    assert np.all(np.isnan(jax.jit(embedding)(params, jnp.array([0, 3]))))
    assert np.all(np.isnan(jax.jit(one_hot, static_argnums=1)(jnp.array([7]), 3)))
    assert not np.any(jax.nn.one_hot(jnp.array([7]), 3))  # what the check prevents: a silent zero row


def test_bad_inputs(getkey):
    """Bad input: batch, dtype and shape problems are refused with the argument named."""
    params = EmbeddingParams(E3)
    with pytest.raises(
        ValueError, match=r"argument `tokens` expected one example of shape \(T,\); for a batch use jax.vmap"
    ):
        embedding(params, jnp.zeros((2, 3), jnp.int32))
    with pytest.raises(TypeError, match=r"layers.embedding: argument `tokens` expected an integer array"):
        embedding(params, jnp.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"layers.init_embedding: argument `d_V` expected a positive int, got 0"):
        init_embedding(getkey(), 0, 2)
    with pytest.raises(ValueError, match=r"argument `scale` expected"):
        init_embedding(getkey(), 2, 2, scale=-1.0)
    with pytest.raises(ValueError, match=r"layers.cosine_similarity: argument `v` expected shape"):
        cosine_similarity(jnp.ones(3), jnp.ones(2))
    with pytest.raises(ValueError, match=r"argument `v` expected leading axes broadcastable"):
        cosine_similarity(jnp.ones((2, 3)), jnp.ones((4, 3)))
    with pytest.raises(TypeError, match=r"argument `v` expected the dtype of `u`"):
        cosine_similarity(jnp.ones(3), jnp.ones(3, jnp.float32))
