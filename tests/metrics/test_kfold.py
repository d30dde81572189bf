"""Tests of mathdl.metrics: k-fold masks, vmapped cross-validation, ridge/degree grids, complexity curve."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import checks, estimators, metrics
from tests._tolerances import tol


def _reg(seed=0, n=23, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, 1.0 + X @ np.arange(1.0, p + 1) + rng.normal(size=n)


def _poly(seed=0, n=15):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    return x, np.sin(2 * np.pi * x) - np.cos(2 * np.pi * x) + 0.2 * rng.normal(size=n)


def _ls_fit(X, y, w):
    return estimators.fit_least_squares(X, y, weights=w)


def _sq(params, X, y):
    return (estimators.predict_linear(params, X) - y) ** 2


# ----------------------------------------------------------------- worked values and properties of the folds
def test_fold_sizes_by_hand():
    """By hand: n = 10, k = 3 -> fold sizes (4, 3, 3) as sklearn KFold; every point in exactly one fold."""
    masks = np.asarray(metrics.kfold_masks(jax.random.key(0), 10, 3))
    np.testing.assert_array_equal(masks.sum(1), [4, 3, 3])
    np.testing.assert_array_equal(masks.sum(0), np.ones(10))


@pytest.mark.parametrize("n,k,seed", [(2, 2, 0), (7, 3, 1), (10, 10, 2), (23, 4, 3), (40, 7, 4)])
def test_folds_partition_property(n, k, seed):
    """Property: the folds partition the rows, sizes differ by <= 1, the same key gives the same indices and masks."""
    masks = np.asarray(metrics.kfold_masks(jax.random.key(seed), n, k))
    assert masks.shape == (k, n) and np.all(masks.sum(0) == 1)
    assert masks.sum(1).max() - masks.sum(1).min() <= 1
    for (train, test), m in zip(metrics.kfold_indices(jax.random.key(seed), n, k), masks, strict=True):
        np.testing.assert_array_equal(test, np.flatnonzero(m))
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))


# ----------------------------------------------------------------- vmapped == loop, and sklearn
def test_cross_validate_equals_python_loop():
    """vmapped folds == a Python loop fitting on X[train] and scoring on X[test] (NumPy lstsq oracle)."""
    X, y = _reg()
    res = jax.jit(lambda X, y: metrics.cross_validate(jax.random.key(1), _ls_fit, _sq, X, y, k=4))(X, y)
    for f, (train, test) in enumerate(metrics.kfold_indices(jax.random.key(1), len(y), 4)):
        A = np.hstack([np.ones((len(train), 1)), X[train]])
        theta = np.linalg.lstsq(A, y[train], rcond=None)[0]
        pred = theta[0] + X @ theta[1:]
        np.testing.assert_allclose(res.test_error[f], np.mean((pred[test] - y[test]) ** 2), rtol=1e-10)
        np.testing.assert_allclose(res.train_error[f], np.mean((pred[train] - y[train]) ** 2), rtol=1e-10)


def test_cv_ridge_matches_sklearn_cross_val_score():
    """Oracle: sklearn cross_val_score(Ridge(alpha), cv=the same folds, neg MSE) for each lambda."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score

    X, y = _reg(2)
    lams = [0.0, 0.5, 5.0, 50.0]
    res = jax.jit(lambda X, y, lam: metrics.cv_ridge(jax.random.key(2), X, y, lam, k=5))(X, y, jnp.array(lams))
    folds = metrics.kfold_indices(jax.random.key(2), len(y), 5)
    for i, lam in enumerate(lams):
        ref = -cross_val_score(Ridge(alpha=lam, solver="svd"), X, y, cv=folds, scoring="neg_mean_squared_error")
        np.testing.assert_allclose(res.test_error[i], ref, rtol=1e-8)


def test_cv_polynomial_degree_equals_loop_over_degrees():
    """The masked-column trick equals fitting polynomial_features(x, d) for each degree separately."""
    x, y = _poly(3)
    degrees = [0, 3]
    res = metrics.cv_polynomial_degree(jax.random.key(3), x, y, degrees, k=3)
    assert res.test_error.shape == (2, 3)
    for i, d in enumerate(degrees):
        F = estimators.polynomial_features(x[:, None], d)
        ref = metrics.cross_validate(jax.random.key(3), _ls_fit, _sq, F, y, k=3)
        np.testing.assert_allclose(res.test_error[i], ref.test_error, rtol=1e-6)


def test_polynomial_cv_picks_a_sensible_degree():
    """[MEDL] Sec. 2.5 toy (sin 2 pi x - cos 2 pi x + noise): CV picks a degree in 3..6, not 0 or 9."""
    x, y = _poly(4, n=20)
    res = jax.jit(lambda x, y: metrics.cv_polynomial_degree(jax.random.key(4), x, y, range(10), k=5))(x, y)
    best = int(np.argmin(np.asarray(res.test_error).mean(-1)))
    assert 3 <= best <= 6


def test_complexity_curve_train_decreases_test_u_shape():
    """Property: training error is non-increasing in the degree (nested models); test error is U-shaped."""
    x, y = _poly(5, n=10)
    xt, yt = _poly(6, n=200)
    curve = jax.jit(lambda *a: metrics.complexity_curve(*a, range(10)))(x, y, xt, yt)
    tr = np.asarray(curve.train_error)
    assert np.all(np.diff(tr) <= 1e-10) and tr[-1] < 1e-12  # degree 9 interpolates 10 points
    te = np.asarray(curve.test_error)
    assert te[0] > te[4] < te[9]
    # worked value: degree 0 is the mean, its training error the biased variance of y
    np.testing.assert_allclose(tr[0], np.var(y), rtol=1e-10)


def test_cross_validate_grad_wrt_targets():
    """Transform: jax.grad of the CV estimate w.r.t. y equals central differences (everything is differentiable)."""
    X, y = _reg(7, n=12, p=2)
    f = jax.jit(lambda y: metrics.cross_validate(jax.random.key(7), _ls_fit, _sq, X, y, k=3).test_error.mean())
    g = jax.grad(f)(y)
    e = np.zeros_like(y)
    e[3] = 1e-6
    np.testing.assert_allclose(g[3], (f(y + e) - f(y - e)) / 2e-6, rtol=1e-5)


def test_complexity_curve_badly_scaled_monomials_float32():
    """Degree 6 on x = linspace(0, 10, 30) in float32: raw monomials up to 1e6 (train error was 0.108).

    Oracle: numpy.linalg.lstsq on [1, x, ..., x^6] (it factorises in float64); the float32 fit of the
    equilibrated design is within 1 % of its training error, also when degrees up to 9 share the features.
    """
    x = np.linspace(0, 10, 30)
    y = np.sin(x)
    A = np.vander(x, 7, increasing=True)
    ref = np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    alone = metrics.complexity_curve(x32, y32, x32, y32, [6])
    np.testing.assert_allclose(float(alone.train_error[0]), ref, rtol=1e-2)
    grid = jax.jit(lambda *a: metrics.complexity_curve(*a, range(8)))(x32, y32, x32, y32)
    np.testing.assert_allclose(float(grid.train_error[6]), ref, rtol=1e-2)


def test_cv_ridge_traced_negative_lambda_is_nan_and_named():
    """A negative ridge strength: eagerly refused naming cv_ridge; traced under jit the errors are NaN (it gave
    finite errors); checks.checked raises naming cv_ridge (not fit_least_squares, which it calls)."""
    X, y = _reg(8, n=15, p=2)
    f = jax.jit(lambda key, lam: metrics.cv_ridge(key, X, y, lam, k=3).test_error)
    out = np.asarray(f(jax.random.key(0), jnp.array([1.0, -1.0])))
    assert np.all(np.isnan(out))  # one bad strength poisons the grid (one value check for the argument)
    assert np.all(np.isfinite(np.asarray(f(jax.random.key(0), jnp.array([1.0, 0.0])))))
    with pytest.raises(ValueError, match=r"^metrics.cv_ridge: argument `lambdas` expected values >= 0, got -1.0 at"):
        metrics.cv_ridge(jax.random.key(0), X, y, jnp.array([1.0, -1.0]), k=3)
    with pytest.raises(Exception, match=r"metrics.cv_ridge: argument `lambdas` expected values >= 0"):
        checks.checked(f)(jax.random.key(0), jnp.array([1.0, -1.0]))


def test_messages_name_the_function_called():
    """cv_ridge's, cv_polynomial_degree's and complexity_curve's own inputs are checked under their names
    (cv_ridge reported cross_validate or fit_least_squares before); lists are accepted."""
    key = jax.random.key(0)  # the calls that raise do so before the key is consumed
    X, y = _reg(9, n=12, p=2)
    with pytest.raises(ValueError, match=r"^metrics.cv_ridge: argument `y` expected shape \(12,\)"):
        metrics.cv_ridge(key, X, y[:-1], jnp.array([1.0]), k=3)
    with pytest.raises(TypeError, match=r"^metrics.cv_ridge: argument `X` expected a floating-point array"):
        metrics.cv_ridge(key, X.astype(np.int32), y, jnp.array([1.0]), k=3)
    with pytest.raises(ValueError, match=r"^metrics.cv_ridge: argument `k` expected at most n = 12 folds"):
        metrics.cv_ridge(key, X, y, jnp.array([1.0]), k=13)
    with pytest.raises(ValueError, match=r"^metrics.cv_polynomial_degree: argument `ridge` expected a value >= 0"):
        metrics.cv_polynomial_degree(key, X[:, 0], y, [1], k=3, ridge=-1.0)
    with pytest.raises(ValueError, match=r"^metrics.complexity_curve: argument `x_test` expected shape \(12, 2\)"):
        metrics.complexity_curve(X, y, X[:, 0], y, [1])
    res = metrics.cv_ridge(jax.random.key(1), X.tolist(), y.tolist(), [0.5], k=3)
    ref = metrics.cv_ridge(jax.random.key(1), X, y, jnp.array([0.5]), k=3)
    np.testing.assert_allclose(res.test_error, ref.test_error, **tol(np.float64, composite=True))


# ----------------------------------------------------------------- bad inputs
def test_bad_inputs():
    """Bad input: k > n, k < 2, n = 0, mismatched rows, bad degrees, non-callable fit, 2-D lambdas."""
    key = jax.random.key(0)  # every call below raises before the key is consumed
    X, y = _reg()
    with pytest.raises(ValueError, match=r"kfold_masks: argument `k` expected at most n = 5 folds .*got 6"):
        metrics.kfold_masks(key, 5, 6)
    with pytest.raises(ValueError, match=r"kfold_masks: argument `k` expected an int >= 2, got 1"):
        metrics.kfold_masks(key, 5, 1)
    with pytest.raises(ValueError, match=r"kfold_indices: argument `n` expected a positive int, got 0"):
        metrics.kfold_indices(key, 0, 2)
    with pytest.raises(ValueError, match=r"cross_validate: argument `y` expected shape \(23,\), got shape \(22,\)"):
        metrics.cross_validate(key, _ls_fit, _sq, X, y[:-1], k=3)
    with pytest.raises(TypeError, match=r"cross_validate: argument `fit` expected a callable, got str"):
        metrics.cross_validate(key, "ridge", _sq, X, y, k=3)
    with pytest.raises(ValueError, match=r"argument `degrees` expected a non-empty sequence of non-negative ints"):
        metrics.cv_polynomial_degree(key, X[:, 0], y, [1, -2], k=3)
    with pytest.raises(ValueError, match=r"argument `degrees` expected a non-empty sequence"):
        metrics.complexity_curve(X[:, 0], y, X[:, 0], y, [])
    with pytest.raises(ValueError, match=r"cv_ridge: argument `lambdas` expected rank 1"):
        metrics.cv_ridge(key, X, y, jnp.ones((2, 2)), k=3)
    with pytest.raises(TypeError, match=r"cv_ridge: argument `lambdas` expected a floating-point array"):
        metrics.cv_ridge(key, X, y, jnp.array([1, 2]), k=3)
