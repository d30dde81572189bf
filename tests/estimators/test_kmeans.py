"""Tests for K-means (mathdl.estimators._kmeans)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify

from mathdl import checks, data, estimators
from tests._tolerances import tol


def _lloyd_numpy(X, M, steps):
    """Independent oracle: Lloyd's algorithm as a NumPy loop (distances by broadcasting, no shared helpers)."""
    X, M = np.asarray(X, float), np.asarray(M, float).copy()
    for _ in range(steps):
        c = np.argmin(((X[:, None, :] - M[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(len(M)):
            if np.any(c == j):
                M[j] = X[c == j].mean(0)
    c = np.argmin(((X[:, None, :] - M[None, :, :]) ** 2).sum(-1), axis=1)
    return M, c, ((X - M[c]) ** 2).sum()


def test_worked_value_by_hand():
    """Worked value by hand: points 0, 1, 10, 11 on a line from centres 0 and 1; two steps reach 0.5 and 10.5."""
    X = jnp.array([[0.0], [1.0], [10.0], [11.0]])
    r = estimators.kmeans(jax.random.key(0), X, 2, init=jnp.array([[0.0], [1.0]]))
    np.testing.assert_allclose(np.asarray(r.centres), [[0.5], [10.5]], **tol(np.float64))
    np.testing.assert_array_equal(np.asarray(r.assignments), [0, 0, 1, 1])
    # J0: centres 0 and 1: points 0->0 (0), 1->1 (0), 10->1 (81), 11->1 (100) = 181.
    # step 1: centres 0 and 22/3; 1 moves to centre 0: J1 = 1 + (8/3)^2 + (11/3)^2 = 194/9.
    # step 2: centres 0.5 and 10.5: J2 = 4 * 0.25 = 1, with the assignments of step 1: a fixed point, stop.
    np.testing.assert_allclose(np.asarray(r.history[:4]), [181.0, 194 / 9, 1.0, 1.0], **tol(np.float64))
    assert int(r.n_iter) == 2


def test_no_worse_than_sklearn_from_the_same_centres(getkey):
    """Oracle (issue 3): objective no worse than sklearn KMeans(init=centres, n_init=1) on the book's K-means toy."""
    from sklearn.cluster import KMeans

    ds = data.kmeans_toy(getkey())
    init = data.kmeans_toy_centres()
    ours = estimators.kmeans(getkey(), ds.X, 3, init=init)
    ref = KMeans(3, init=np.asarray(init), n_init=1, tol=0.0, max_iter=100).fit(np.asarray(ds.X))
    J = float(ours.history[ours.n_iter])
    assert J <= ref.inertia_ * (1 + 1e-12)
    np.testing.assert_allclose(J, float(jnp.sum(jnp.square(ds.X - ours.centres[ours.assignments]))), **tol(np.float64))
    agree = np.mean(np.asarray(ours.assignments) == ref.labels_)
    assert agree == 1.0  # same start, same fixed point


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 6))
def test_matches_numpy_lloyd(seed, steps):
    """Oracle: after `steps` Lloyd steps (max_iter, tol=-free run), centres equal a NumPy Lloyd loop."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    M0 = X[:4].copy()
    r = estimators.kmeans(jax.random.key(0), jnp.asarray(X), 4, init=jnp.asarray(M0), max_iter=steps)
    M_ref, c_ref, J_ref = _lloyd_numpy(X, M0, int(r.n_iter))  # the same number of steps as were taken
    np.testing.assert_allclose(np.asarray(r.centres), M_ref, **tol(np.float64, composite=True))
    np.testing.assert_array_equal(np.asarray(r.assignments), c_ref)
    np.testing.assert_allclose(float(r.history[r.n_iter]), J_ref, **tol(np.float64, composite=True))


def test_history_monotone_and_jit(getkey):
    """Properties: the history never increases and is constant after n_iter; jit == eager."""
    X = jax.random.normal(getkey(), (200, 2))
    k = getkey()
    eager = estimators.kmeans(jax.random.clone(k), X, 5, max_iter=30)
    jitted = jax.jit(estimators.kmeans, static_argnums=2, static_argnames="max_iter")(k, X, 5, max_iter=30)
    h = np.asarray(eager.history)
    assert np.all(np.diff(h) <= 1e-12 * h[0])
    np.testing.assert_array_equal(h[int(eager.n_iter) :], h[int(eager.n_iter)])
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol(np.float64, composite=True))


def test_vmap_over_data_sets(getkey):
    """Transforms: vmap over three data sets (given centres) equals a Python loop."""
    Xs = jax.random.normal(getkey(), (3, 30, 2))
    inits = Xs[:, :3, :]
    keys = jax.random.split(getkey(), 3)
    batched = jax.vmap(lambda key, X, M: estimators.kmeans(key, X, 3, init=M, max_iter=20))(keys, Xs, inits)
    for i in range(3):
        single = estimators.kmeans(keys[i], Xs[i], 3, init=inits[i], max_iter=20)
        np.testing.assert_allclose(
            np.asarray(batched.centres[i]), np.asarray(single.centres), **tol(np.float64, composite=True)
        )


def test_gradient_of_objective_is_analytic(getkey):
    """Transforms: forward-mode dJ/dX (through the while_loop) equals the analytic 2(x_i - mu_c(i)).

    The centre-dependence drops out because sum over a cluster of (x_i - mu) is 0.
    Reverse mode cannot differentiate a while_loop, so jacfwd is used.
    """
    X = data.kmeans_toy(getkey(), n_per_cluster=10).X
    init = data.kmeans_toy_centres()
    r = estimators.kmeans(getkey(), X, 3, init=init)
    J = lambda X: (lambda res: res.history[-1])(estimators.kmeans(jax.random.key(0), X, 3, init=init))  # noqa: E731
    g = jax.jacfwd(J)(X)
    np.testing.assert_allclose(
        np.asarray(g), np.asarray(2 * (X - r.centres[r.assignments])), **tol(np.float64, composite=True)
    )


def test_kmeans_plusplus_picks_data_points_and_spreads(getkey):
    """Properties of k-means++: centres are rows of X, distinct; with 3 far clusters every cluster gets a centre."""
    X = jnp.concatenate([jnp.zeros((5, 2)), jnp.full((5, 2), 100.0), jnp.full((5, 2), -100.0)])
    X = X + 0.01 * jax.random.normal(getkey(), X.shape)
    M = np.asarray(estimators.kmeans_plusplus(getkey(), X, 3))
    Xn = np.asarray(X)
    assert all(np.any(np.all(Xn == row, axis=1)) for row in M)
    assert sorted(np.round(M[:, 0] / 100).astype(int).tolist()) == [-1, 0, 1]
    # duplicates only: falls back to a uniform draw, still finite
    Md = estimators.kmeans_plusplus(getkey(), jnp.ones((4, 2)), 3)
    np.testing.assert_array_equal(np.asarray(Md), 1.0)


def test_k_equals_n_and_nan(getkey, transform):
    """Edge values: k = n gives J = 0; a NaN in X raises eagerly, gives NaN under jit, and checked mode raises."""
    X = jnp.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    r = estimators.kmeans(getkey(), X, 3)
    assert float(r.history[r.n_iter]) == 0.0
    Xbad = X.at[1, 0].set(jnp.nan)
    init = X
    run = transform(lambda X: estimators.kmeans(jax.random.key(0), X, 2, init=init[:2]))
    if transform is jax.jit:
        out = run(Xbad)
        assert np.all(np.isnan(np.asarray(out.history))) and np.all(np.asarray(out.assignments) == -1)
    else:
        with pytest.raises(ValueError, match=r"kmeans: argument `X` expected finite values, got nan at index \(1, 0\)"):
            run(Xbad)
    safe = checks.checked(jax.jit(lambda X: estimators.kmeans(jax.random.key(0), X, 2, init=init[:2])), nan=False)
    with pytest.raises(checkify.JaxRuntimeError, match=r"estimators.kmeans: argument `X` expected finite values"):
        safe(Xbad)


def test_lists_are_accepted_and_tol_checked_under_jit():
    """Consistency: a nested list is a data set like any array (it failed with 'Cannot determine dtype');
    a traced negative tol gives NaN under jit instead of being skipped."""
    r = estimators.kmeans(jax.random.key(0), [[0.0], [1.0], [10.0], [11.0]], 2, init=[[0.0], [1.0]])
    np.testing.assert_allclose(np.asarray(r.centres), [[0.5], [10.5]], **tol(np.float64))
    X = jnp.array([[0.0], [1.0], [10.0], [11.0]])
    bad = jax.jit(lambda t: estimators.kmeans(jax.random.key(0), X, 2, init=X[:2], tol=t))(-1.0)
    assert np.all(np.isnan(np.asarray(bad.centres))) and int(bad.n_iter) == -1


def test_kmeans_plusplus_nan(transform):
    """A NaN point made the D^2 draw pick valid-looking centres; now eagerly ValueError, NaN centres under jit."""
    X = jnp.array([[0.0, 1.0], [2.0, jnp.nan], [4.0, 5.0]])
    f = transform(lambda key, X: estimators.kmeans_plusplus(key, X, 2))
    if transform is jax.jit:
        assert np.all(np.isnan(np.asarray(f(jax.random.key(0), X))))
    else:
        with pytest.raises(ValueError, match=r"kmeans_plusplus: argument `X` expected finite values, got nan"):
            f(jax.random.key(0), X)


def test_kmeans_plusplus_second_centre_distribution():
    """Oracle (the D^2 rule, computed in NumPy): P(second centre = x_i | first = x_0) = D(x_i)^2 / sum_j D(x_j)^2.

    Points 0, 1, 3 on a line; vmap over 4000 keys, keep the draws whose first centre is 0:
    the second is 1 w.p. 1/10 and 3 w.p. 9/10. Tolerance 0.03: about 4 sd of a ~1300-draw frequency.
    """
    X = jnp.array([[0.0], [1.0], [3.0]])
    keys = jax.random.split(jax.random.key(3), 4000)
    M = np.asarray(jax.vmap(lambda key: estimators.kmeans_plusplus(key, X, 2))(keys))[:, :, 0]
    first_zero = M[:, 0] == 0.0
    D2 = np.array([0.0, 1.0, 9.0])
    expected = D2 / D2.sum()
    freq = np.array([np.mean(M[first_zero, 1] == v) for v in (0.0, 1.0, 3.0)])
    np.testing.assert_allclose(freq, expected, atol=0.03)
    np.testing.assert_allclose(np.mean(M[:, 0] == 0.0), 1 / 3, atol=0.03)  # the first centre is uniform


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"k": 7}, ValueError, r"estimators.kmeans: argument `k` expected at most the number of points n=5, got 7"),
        ({"k": 0}, ValueError, r"argument `k` expected a value >= 1, got 0"),
        ({"k": 2.0}, TypeError, r"argument `k` expected a static Python int, got float"),
        ({"k": 2, "init": jnp.zeros((3, 2))}, ValueError, r"argument `init` expected shape \(2, 2\)"),
        (
            {"k": 2, "init": jnp.zeros((2, 2), jnp.float32)},
            TypeError,
            r"argument `init` expected dtype float64 \(that of `X`\), got dtype float32",
        ),
        ({"k": 2, "max_iter": 0}, ValueError, r"argument `max_iter` expected a value >= 1, got 0"),
        ({"k": 2, "tol": -1.0}, ValueError, r"argument `tol` expected a value >= 0"),
        ({"k": 2, "X": jnp.zeros(5)}, ValueError, r"argument `X` expected rank 2"),
        ({"k": 2, "X": jnp.zeros((5, 2), jnp.int32)}, TypeError, r"argument `X` expected a floating-point array"),
    ],
)
def test_bad_input(getkey, kwargs, exc, match):
    """Bad input (issue 3: k larger than the number of points is refused): each problem raises its message."""
    X = kwargs.pop("X", jnp.zeros((5, 2)))
    k = kwargs.pop("k")
    with pytest.raises(exc, match=match):
        estimators.kmeans(getkey(), X, k, **kwargs)


@pytest.mark.parametrize(
    "X,k,exc,match",
    [
        (
            jnp.zeros((3, 2)),
            4,
            ValueError,
            r"estimators.kmeans_plusplus: argument `k` expected at most the number of points n=3",
        ),
        (jnp.zeros((3, 2)), 0, ValueError, r"estimators.kmeans_plusplus: argument `k` expected a value >= 1"),
        (jnp.zeros((3, 2)), None, TypeError, r"argument `k` expected a static Python int, got NoneType"),
        (jnp.zeros((3, 2, 1)), 2, ValueError, r"argument `X` expected rank 2"),
        (jnp.zeros((3, 2), jnp.int32), 2, TypeError, r"argument `X` expected a floating-point array"),
    ],
)
def test_kmeans_plusplus_bad_input(getkey, X, k, exc, match):
    """Bad input for k-means++: k > n, k < 1, non-int k, wrong rank, integer data."""
    with pytest.raises(exc, match=match):
        estimators.kmeans_plusplus(getkey(), X, k)
