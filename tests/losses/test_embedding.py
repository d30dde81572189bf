"""Contrastive, triplet and batch-hard triplet losses: worked values, PyTorch and brute-force oracles, transforms
(finite gradients at coincident points), properties, bad input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import losses
from tests._oracles import need
from tests._tolerances import tol


def test_contrastive_worked_values():
    """Worked value: z1 = (0, 0), z2 = (3, 4): D = 5. Similar: D^2 / 2 = 12.5. Dissimilar, margin 6: (6 - 5)^2 / 2 =
    0.5; margin 1: 0 (already farther than the margin)."""
    z1, z2 = jnp.zeros((3, 2)), jnp.tile(jnp.array([3.0, 4.0]), (3, 1))
    same = jnp.array([True, False, False])
    got = jnp.stack(
        [losses.contrastive_loss(z1, z2, same, margin=6.0)[:2], losses.contrastive_loss(z1, z2, same, margin=1.0)[1:]]
    )
    np.testing.assert_allclose(got, [[12.5, 0.5], [0.0, 0.0]], **tol(np.float64))
    np.testing.assert_allclose(losses.contrastive_loss(z1, z2, jnp.array([1, 0, 1]), margin=6.0), [12.5, 0.5, 12.5])


def test_triplet_worked_values():
    """Worked value: a = (0, 0), p = (1, 0), n = (0, 2). Squared: 1 - 4 + 0.2 < 0 -> 0; margin 4: 1 - 4 + 4 = 1.
    Unsquared: 1 - 2 + 1.5 = 0.5."""
    a, p, n = jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0])
    assert float(losses.triplet_loss(a, p, n)) == 0.0
    np.testing.assert_allclose(losses.triplet_loss(a, p, n, margin=4.0), 1.0, **tol(np.float64))
    np.testing.assert_allclose(losses.triplet_loss(a, p, n, margin=1.5, squared=False), 0.5, **tol(np.float64))


def test_batch_hard_worked_values():
    """Worked value: points on a line: class 0 at 0 and 1, class 1 at 3 and 7. Anchor 0: hardest positive 1 (d = 1),
    hardest negative 3 (d = 3): max(0, 1 - 3 + 0.5) = 0. Anchor 1: 1 - 2 + 0.5 = 0 -> 0 (hinge at -0.5). Anchor 3
    (value 3): positive 7 (d = 4), negative 1 (d = 2): 4 - 2 + 0.5 = 2.5. Anchor 7: 4 - 6 + 0.5 < 0 -> 0. Unsquared
    distances."""
    z = jnp.array([[0.0], [1.0], [3.0], [7.0]])
    y = jnp.array([0, 0, 1, 1])
    mined = losses.mine_batch_hard(z, y)
    np.testing.assert_array_equal(mined.positive, [1, 0, 3, 2])
    np.testing.assert_array_equal(mined.negative, [2, 2, 1, 1])
    got = losses.batch_hard_triplet_loss(z, y, margin=0.5, squared=False)
    np.testing.assert_allclose(got, [0.0, 0.0, 2.5, 0.0], **tol(np.float64))


def test_batch_hard_without_a_triplet():
    """Edge: a class with one example has no positive: loss 0 and valid False; a batch of one class has no negative."""
    z = jnp.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    mined = losses.mine_batch_hard(z, jnp.array([0, 0, 1]))
    np.testing.assert_array_equal(mined.valid, [True, True, False])
    assert int(mined.positive[2]) == -1
    assert float(losses.batch_hard_triplet_loss(z, jnp.array([0, 0, 1]))[2]) == 0.0
    mined = losses.mine_batch_hard(z, jnp.array([4, 4, 4]))
    np.testing.assert_array_equal(mined.negative, [-1, -1, -1])
    np.testing.assert_array_equal(losses.batch_hard_triplet_loss(z, jnp.array([4, 4, 4])), [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- oracles


def test_triplet_against_torch():
    """Oracle: torch.nn.functional.triplet_margin_loss(p=2, eps=0, reduction="none") is the unsquared form."""
    torch = need("torch")
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(6, 5)) for _ in range(3))
    for m in (0.2, 1.0, 3.0):
        want = torch.nn.functional.triplet_margin_loss(
            *map(torch.tensor, (a, p, n)), margin=m, p=2, eps=0.0, reduction="none"
        ).numpy()
        got = losses.triplet_loss(*map(jnp.asarray, (a, p, n)), margin=m, squared=False)
        np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))


def test_contrastive_against_numpy_formula():
    """Oracle: Hadsell et al.'s formula written in NumPy."""
    rng = np.random.default_rng(1)
    z1, z2 = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    s = rng.integers(0, 2, 8)
    d = np.linalg.norm(z1 - z2, axis=1)
    want = s * 0.5 * d**2 + (1 - s) * 0.5 * np.maximum(0, 2.0 - d) ** 2
    got = losses.contrastive_loss(jnp.asarray(z1), jnp.asarray(z2), jnp.asarray(s), margin=2.0)
    np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))


@given(st.integers(0, 2**31 - 1), st.booleans())
def test_batch_hard_is_the_worst_triplet(seed, squared):
    """Oracle: the batch-hard loss of anchor i is the largest triplet loss over every valid (i, p, n) (brute force;
    the hinge is monotone, so the hardest pair maximises it)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(7, 2))
    y = rng.integers(0, 3, 7)
    got = np.asarray(losses.batch_hard_triplet_loss(jnp.asarray(z), jnp.asarray(y), margin=0.3, squared=squared))
    for i in range(7):
        triplets = [
            (p, n) for p, n in itertools.product(range(7), range(7)) if p != i and y[p] == y[i] and y[n] != y[i]
        ]
        if not triplets:
            assert got[i] == 0.0
            continue
        P, N = (np.array(t) for t in zip(*triplets, strict=True))
        zi = jnp.broadcast_to(jnp.asarray(z[i]), (len(P), 2))
        want = losses.triplet_loss(zi, jnp.asarray(z[P]), jnp.asarray(z[N]), margin=0.3, squared=squared).max()
        np.testing.assert_allclose(got[i], want, **tol(np.float64, composite=True))


# ---------------------------------------------------------------- transforms


def test_jit_vmap_agree(transform):
    """Transforms: jit equals eager, vmap equals the broadcast form, for all three losses."""
    rng = np.random.default_rng(2)
    a, p, n = (jnp.asarray(rng.normal(size=(2, 3, 4))) for _ in range(3))
    out = transform(lambda u, v, w: losses.triplet_loss(u, v, w, margin=1.0))(a, p, n)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1, 0], losses.triplet_loss(a[1, 0], p[1, 0], n[1, 0], margin=1.0), **tol(np.float64))
    s = jnp.asarray(rng.integers(0, 2, (2, 3)))
    c = transform(losses.contrastive_loss)(a, p, s)
    np.testing.assert_allclose(c, jax.vmap(losses.contrastive_loss)(a, p, s), **tol(np.float64))
    z, y = jnp.asarray(rng.normal(size=(6, 3))), jnp.array([0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(transform(losses.batch_hard_triplet_loss)(z, y), losses.batch_hard_triplet_loss(z, y))


def test_check_grads_order_2():
    """Transforms: smooth where no hinge or margin is active at the point: order 2 for the pair and triplet
    losses, order 1 for the batch-hard loss (the mining is a selection; its order-2 check adds only compile time)."""
    rng = np.random.default_rng(3)
    z1, z2 = jnp.asarray(rng.normal(size=(4, 3))), jnp.asarray(rng.normal(size=(4, 3)))
    s = jnp.array([True, False, True, False])
    check_grads(jax.jit(lambda u, v: losses.contrastive_loss(u, v, s, margin=5.0).sum()), (z1, z2), 2, modes=["rev"])
    a, p, n = jnp.zeros((1, 2)), jnp.array([[1.0, 0.5]]), jnp.array([[0.5, 0.8]])
    for sq in (True, False):
        f = jax.jit(lambda u, v, w, sq=sq: losses.triplet_loss(u, v, w, margin=1.0, squared=sq).sum())
        check_grads(f, (a, p, n), order=2, modes=["rev"])
    z, y = jnp.asarray(rng.normal(size=(6, 2))), jnp.array([0, 0, 1, 1, 2, 2])
    check_grads(jax.jit(lambda u: losses.batch_hard_triplet_loss(u, y, margin=2.0).sum()), (z,), order=1)


def test_gradients_finite_at_coincident_points():
    """Edge: D = 0 (two identical embeddings) has no gradient of the square root: the safe root gives 0, never NaN."""
    z = jnp.ones((1, 3))
    g = jax.grad(lambda u: losses.contrastive_loss(u, z, jnp.array([False]), margin=1.0).sum())(z)
    np.testing.assert_array_equal(g, np.zeros((1, 3)))
    g = jax.grad(lambda u: losses.triplet_loss(u, z, z + 1.0, margin=2.0, squared=False).sum())(z)
    assert np.all(np.isfinite(g))
    g = jax.grad(lambda u: losses.batch_hard_triplet_loss(u, jnp.array([0, 0, 1]), squared=False).sum())(
        jnp.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    )
    assert np.all(np.isfinite(g))


# ---------------------------------------------------------------- properties


@given(st.integers(0, 2**31 - 1))
def test_loss_properties(seed):
    """Property: all losses are >= 0; the contrastive loss of a similar pair is 0 iff the embeddings coincide; the
    triplet loss is 0 once the negative is farther than the positive by the margin; scaling all embeddings by c > 1
    scales the similar-pair contrastive loss by c^2."""
    rng = np.random.default_rng(seed)
    a, p, n = (jnp.asarray(rng.normal(size=(5, 3))) for _ in range(3))
    assert np.all(np.asarray(losses.triplet_loss(a, p, n)) >= 0)
    far = a + 10.0 * (n - a) / jnp.linalg.norm(n - a, axis=-1, keepdims=True)
    near = a + 0.1 * (p - a) / jnp.linalg.norm(p - a, axis=-1, keepdims=True)
    np.testing.assert_array_equal(losses.triplet_loss(a, near, far, margin=1.0), np.zeros(5))
    same = jnp.ones(5, bool)
    c = losses.contrastive_loss(a, p, same)
    np.testing.assert_allclose(losses.contrastive_loss(3 * a, 3 * p, same), 9 * c, **tol(np.float64, composite=True))
    assert np.all(np.asarray(losses.contrastive_loss(a, p, ~same)) >= 0)
    np.testing.assert_array_equal(losses.contrastive_loss(a, a, same), np.zeros(5))


# ---------------------------------------------------------------- bad input


def test_bad_input():
    """Bad input: shapes, dtypes, margins and flags are refused with the standard message (a value check poisons under
    jit)."""
    z = jnp.zeros((3, 2))
    with pytest.raises(ValueError, match=r"losses.contrastive_loss: argument `same` expected 0/1"):
        losses.contrastive_loss(z, z, jnp.array([0, 2, 1]))
    assert np.all(np.isnan(jax.jit(losses.contrastive_loss)(z, z, jnp.array([0, 2, 1]))))
    with pytest.raises(TypeError, match="argument `same` expected boolean or 0/1 integer labels"):
        losses.contrastive_loss(z, z, jnp.zeros(3))
    with pytest.raises(ValueError, match=r"argument `z2` expected shape \(3, 2\)"):
        losses.contrastive_loss(z, jnp.zeros((3, 3)), jnp.zeros(3, bool))
    with pytest.raises(ValueError, match="argument `margin` expected a value > 0"):
        losses.contrastive_loss(z, z, jnp.zeros(3, bool), margin=0.0)
    with pytest.raises(ValueError, match="argument `margin` expected a value >= 0"):
        losses.triplet_loss(z, z, z, margin=-0.1)
    with pytest.raises(TypeError, match="argument `squared` expected a bool"):
        losses.triplet_loss(z, z, z, squared=1)
    with pytest.raises(TypeError, match="argument `negative` expected the dtype of `anchor`"):
        losses.triplet_loss(z, z, z.astype(jnp.float32))
    with pytest.raises(ValueError, match=r"losses.batch_hard_triplet_loss: argument `labels` expected shape \(3,\)"):
        losses.batch_hard_triplet_loss(z, jnp.zeros(4, jnp.int32))
    with pytest.raises(TypeError, match="argument `labels` expected an integer array"):
        losses.mine_batch_hard(z, jnp.zeros(3))
