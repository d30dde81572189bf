"""Tests for validate, split, standardisation and the batch order (mathdl.data._prepare)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mathdl import data
from tests._tolerances import tol

# ---------------------------------------------------------------- validate


def test_validate_accepts_good_data():
    """Worked value: a clean classification and a clean regression set pass (return None)."""
    X = np.ones((4, 2))
    assert data.validate(X, np.array([0, 1, 2, 1]), num_classes=3) is None
    assert data.validate(X, np.array([0.5, 1.0, -2.0, 3.0])) is None
    assert data.validate(X) is None
    assert data.validate(X, np.array([0.0, 2.0, 1.0, 1.0]), num_classes=3) is None  # integral floats are labels


@pytest.mark.parametrize(
    "X,y,K,exc,match",
    [
        (
            np.array([[0.0, 1.0], [2.0, np.nan]]),
            None,
            None,
            ValueError,
            r"`X` expected finite values, got nan at index \(1, 1\)",
        ),
        (np.array([0.0, np.inf, 1.0]), None, None, ValueError, r"`X` expected finite values, got inf at index 1\."),
        (
            np.ones((3, 2)),
            np.array([0, 1]),
            None,
            ValueError,
            r"`y` expected shape \(3,\) to match the rows of `X`, got shape \(2,\)",
        ),
        (
            np.ones((3, 2)),
            np.array([0, 3, 4]),
            3,
            ValueError,
            r"`y` expected labels in \{0, ..., 2\}, got 3 at index 1\.",
        ),
        (np.ones((3, 2)), np.array([0, -1, 1]), 2, ValueError, r"got -1 at index 1\."),
        (
            np.ones((3, 2)),
            np.array([0.0, 0.5, 1.0]),
            2,
            ValueError,
            r"`y` expected integer class labels, got 0.5 at index 1\.",
        ),
        (
            np.ones((3, 2)),
            np.array([0.0, 1.0, np.nan]),
            None,
            ValueError,
            r"`y` expected finite values, got nan at index 2\.",
        ),
        (np.ones((0, 2)), None, None, ValueError, r"`X` expected at least one example"),
        (np.array([["a", "b"]]), None, None, TypeError, r"`X` expected a numeric array, got dtype <U1"),
        (np.ones((3, 2)), np.array([0, 1, 1]), 2.0, TypeError, r"`num_classes` expected an int or None, got float"),
        (np.ones((3, 2)), None, 2, ValueError, r"`y` expected labels when `num_classes` is given"),
    ],
)
def test_validate_names_first_bad_entry(X, y, K, exc, match):
    """Bad input: each problem is refused naming the argument, the first bad index and its value."""
    with pytest.raises(exc, match=r"data.validate: argument " + match if match.startswith("`") else match):
        data.validate(X, y, num_classes=K)


def test_validate_refuses_traced_input():
    """Bad input: validate is eager; inside jit it says so instead of silently passing."""
    with pytest.raises(TypeError, match=r"expected concrete arrays \(validate runs eagerly"):
        jax.jit(lambda X: data.validate(X))(jnp.ones((2, 2)))


# ---------------------------------------------------------------- split


def test_split_sizes_and_partition(getkey):
    """Worked value: n=10 with (0.6, 0.2, 0.2) gives 6/2/2; the parts partition the rows (oracle: sorted union)."""
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    tr, va, te = data.split(getkey(), (X, y))
    assert [len(p[1]) for p in (tr, va, te)] == [6, 2, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate([tr[1], va[1], te[1]])), y)
    for part in (tr, va, te):  # rows stay aligned with their labels
        np.testing.assert_array_equal(part[0][:, 0], 2.0 * part[1])
    assert isinstance(tr[0], np.ndarray)  # NumPy in, NumPy out


def test_split_dataset_keeps_metadata_and_key_determines(getkey):
    """Property: a Dataset stays a Dataset with name/num_classes; same key, same split; 600/200 spiral split."""
    ds = data.spiral(getkey(), n_per_class=400)
    k = getkey()
    a = data.split(jax.random.clone(k), ds, fractions=(0.75, 0.25))
    b = data.split(k, ds, fractions=(0.75, 0.25))
    assert a[0].X.shape == (600, 2) and a[1].X.shape == (200, 2)
    assert a[0].name == "spiral" and a[0].num_classes == 2
    np.testing.assert_array_equal(np.asarray(a[1].y), np.asarray(b[1].y))


@pytest.mark.parametrize(
    "fractions,data_,match",
    [
        ((0.5, 0.6), (np.ones(10),), r"expected fractions summing to 1"),
        ((1.2, -0.2), (np.ones(10),), r"expected positive fractions"),
        ((0.95, 0.05), (np.ones(10),), r"expected fractions giving every part at least one of the n=10 examples"),
        ((0.5, 0.5), (np.ones(10), np.ones(9)), r"`data` expected arrays sharing one leading dimension"),
        ((0.5, 0.5), (np.float64(1.0),), r"`data` expected arrays sharing one leading dimension"),
    ],
)
def test_split_bad_input(getkey, fractions, data_, match):
    """Bad input: bad fractions or mismatched arrays are refused with the standard message."""
    with pytest.raises(ValueError, match=r"data.split: argument .*" + match):
        data.split(getkey(), data_, fractions=fractions)


# ---------------------------------------------------------------- standardisation


def test_standardizer_worked_value():
    """Worked value by hand: column (1, 3) has mean 2 and 1/n sd 1; a constant column keeps scale 1 and maps to 0."""
    X = jnp.array([[1.0, 5.0], [3.0, 5.0]])
    stats = data.fit_standardizer(X)
    np.testing.assert_allclose(np.asarray(stats.mean), [2.0, 5.0])
    np.testing.assert_allclose(np.asarray(stats.scale), [1.0, 1.0])
    np.testing.assert_allclose(np.asarray(data.standardize(stats, X)), [[-1.0, 0.0], [1.0, 0.0]])


def test_standardizer_matches_sklearn(getkey):
    """Oracle: sklearn StandardScaler (1/n variance, constant columns scale 1) fitted on train, applied to test."""
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(jax.random.normal(getkey(), (50, 4))) * [1.0, 10.0, 0.1, 0.0] + [0.0, 3.0, -2.0, 7.0]
    train, test = X[:40], X[40:]
    ref = StandardScaler().fit(train)
    stats = data.fit_standardizer(jnp.asarray(train))
    np.testing.assert_allclose(np.asarray(stats.scale), ref.scale_, **tol(np.float64, composite=True))
    np.testing.assert_allclose(
        np.asarray(data.standardize(stats, jnp.asarray(test))), ref.transform(test), **tol(np.float64, composite=True)
    )


def test_standardizer_two_pass_large_offset():
    """Property: two-pass variance survives a 1e9 offset in float64 (one-pass E[x^2]-E[x]^2 loses every digit)."""
    X = jnp.array([[1e9 + 1.0], [1e9 - 1.0], [1e9 + 1.0], [1e9 - 1.0]])
    np.testing.assert_allclose(np.asarray(data.fit_standardizer(X).scale), [1.0], rtol=1e-12)


def test_standardize_transforms_and_round_trip(getkey):
    """Transforms: jit == eager; vmap over examples == batch call; unstandardize inverts standardize; float32 kept."""
    X = jax.random.normal(getkey(), (8, 3))
    stats = data.fit_standardizer(X)
    Z = data.standardize(stats, X)
    np.testing.assert_allclose(np.asarray(jax.jit(data.standardize)(stats, X)), np.asarray(Z), **tol(np.float64))
    np.testing.assert_allclose(
        np.asarray(jax.vmap(data.standardize, (None, 0))(stats, X)), np.asarray(Z), **tol(np.float64)
    )
    np.testing.assert_allclose(
        np.asarray(data.unstandardize(stats, Z)), np.asarray(X), **tol(np.float64, composite=True)
    )
    np.testing.assert_allclose(np.asarray(Z.mean(0)), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(Z.std(0)), 1.0, rtol=1e-12)
    X32 = X.astype(jnp.float32)
    assert data.standardize(data.fit_standardizer(X32), X32).dtype == jnp.float32


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: data.fit_standardizer(jnp.ones(3)), ValueError, r"fit_standardizer: argument `X` expected rank 2"),
        (lambda: data.fit_standardizer(jnp.ones((3, 2), jnp.int32)), TypeError, r"`X` expected a floating-point array"),
        (lambda: data.fit_standardizer(jnp.ones((0, 2))), ValueError, r"`X` expected at least one row"),
        (
            lambda: data.standardize(data.fit_standardizer(jnp.ones((3, 2))), jnp.ones((3, 4))),
            ValueError,
            r"data.standardize: argument `X` expected shape \(3, 2\), got shape \(3, 4\)",
        ),
        (
            lambda: data.unstandardize(data.fit_standardizer(jnp.ones((3, 2))), jnp.ones(())),
            ValueError,
            r"data.unstandardize: argument `Z` expected rank >= 1, got shape \(\) \(rank 0\)",
        ),
    ],
)
def test_standardizer_bad_input(call, exc, match):
    """Bad input: wrong rank, dtype, empty data, mismatched feature count."""
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- batch order


def test_epoch_permutation_is_fold_in(getkey):
    """Oracle: the order is jax.random.permutation(fold_in(key, epoch), n), as documented."""
    k = getkey()
    ours = data.epoch_permutation(jax.random.clone(k), 3, 11)
    ref = jax.random.permutation(jax.random.fold_in(k, 3), 11)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref))


def test_resumed_run_sees_the_same_batches(getkey):
    """Property: batches of epochs 3..5 from a 'resumed' run equal those of an uninterrupted scan."""
    k = getkey()
    n, B = 23, 5

    def epoch_batches(carry, epoch):
        return carry, data.batches(k, epoch, n, B)

    _, full = jax.lax.scan(epoch_batches, 0, jnp.arange(6))  # uninterrupted: epochs 0..5 in one compiled scan
    resumed = jnp.stack([data.batches(k, e, n, B) for e in (3, 4, 5)])  # fresh process, starting at epoch 3
    np.testing.assert_array_equal(np.asarray(full[3:]), np.asarray(resumed))
    assert not np.array_equal(np.asarray(full[0]), np.asarray(full[1]))  # epochs differ


@settings(max_examples=15)  # each (n, B) pair compiles anew; 15 draws cover both branches
@given(n=st.integers(1, 40), B=st.integers(1, 40), drop_last=st.booleans(), epoch=st.integers(0, 1000))
def test_batches_cover_each_example(n, B, drop_last, epoch):
    """Property: drop_last=True gives floor(n/B) disjoint batches; False covers every index, padding from the front."""
    if B > n:
        return
    idx = np.asarray(data.batches(jax.random.key(1), epoch, n, B, drop_last=drop_last))
    perm = np.asarray(data.epoch_permutation(jax.random.key(1), epoch, n))
    if drop_last:
        assert idx.shape == (n // B, B)
        np.testing.assert_array_equal(idx.ravel(), perm[: (n // B) * B])
    else:
        assert idx.shape == (-(-n // B), B)
        np.testing.assert_array_equal(idx.ravel()[:n], perm)
        np.testing.assert_array_equal(idx.ravel()[n:], perm[: idx.size - n])


def test_batches_worked_value(getkey):
    """Worked value: n=10, B=4, drop_last=False gives 3 rows whose flat order is perm then perm[:2]."""
    k = getkey()
    perm = np.asarray(data.epoch_permutation(jax.random.clone(k), 0, 10))
    idx = np.asarray(
        jax.jit(data.batches, static_argnums=(2, 3), static_argnames="drop_last")(k, 0, 10, 4, drop_last=False)
    )
    np.testing.assert_array_equal(idx, np.concatenate([perm, perm[:2]]).reshape(3, 4))
    assert idx.dtype == np.int32


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda k: data.batches(k, 0, 10, 11),
            ValueError,
            r"data.batches: argument `batch_size` expected at most n=10, got 11",
        ),
        (lambda k: data.batches(k, 0, 10, 0), ValueError, r"`batch_size` expected a value >= 1, got 0"),
        (lambda k: data.batches(k, 0, 10.0, 2), TypeError, r"`n` expected a static Python int, got float"),
        (
            lambda k: data.batches(k, -1, 10, 2),
            ValueError,
            r"data.batches: argument `epoch` expected a non-negative",  # the function called names itself
        ),
        (lambda k: data.epoch_permutation(k, 0, 0), ValueError, r"`n` expected a value >= 1, got 0"),
        (lambda k: data.epoch_permutation(k, 0, jnp.int32(5)), TypeError, r"`n` expected a static Python int"),
        (lambda k: data.epoch_permutation(jax.random.PRNGKey(0), 0, 5), TypeError, r"`key` expected a typed PRNG key"),
        (lambda k: data.batches(jax.random.PRNGKey(0), 0, 5, 2), TypeError, r"data.batches: argument `key` expected"),
    ],
)
def test_batches_bad_input(getkey, call, exc, match):
    """Bad input: batch larger than n, zero batch, non-static n, negative epoch."""
    with pytest.raises(exc, match=match):
        call(getkey())
