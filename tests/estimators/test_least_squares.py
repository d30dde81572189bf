"""Tests of mathdl.estimators least squares, ridge, polynomial features, GD and robust regression."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import checks, estimators
from tests._tolerances import tol


def _data(seed=0, n=40, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = 0.7 + X @ np.arange(1.0, p + 1) + 0.3 * rng.normal(size=n)
    return X, y


# ----------------------------------------------------------------- least squares: worked values
def test_exact_line_by_hand():
    """By hand: three points on y = 1 + 2x give b = 1, w = 2 exactly ([MEDL] Sec. 2.3)."""
    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([1.0, 3.0, 5.0])
    p = estimators.fit_least_squares(X, y)
    np.testing.assert_allclose(p.b, 1.0, **tol(np.float64, composite=True))
    np.testing.assert_allclose(p.w, [2.0], **tol(np.float64, composite=True))


def test_normal_equations_hold():
    """[MEDL] Sec. 2.3: at the least-squares solution X~^T (y - X~ theta) = 0."""
    X, y = _data()
    p = estimators.fit_least_squares(X, y)
    Xt = np.hstack([np.ones((len(y), 1)), X])
    resid = y - Xt @ np.concatenate([[p.b], p.w])
    np.testing.assert_allclose(Xt.T @ resid, 0.0, atol=1e-10)


def test_ridge_normal_equations_unpenalised_intercept():
    """Ridge with an unpenalised intercept: (X~^T X~ + lambda D) theta = X~^T y with D = diag(0, 1, ..., 1)."""
    X, y = _data(1)
    lam = 2.5
    p = estimators.fit_least_squares(X, y, ridge=lam)
    Xt = np.hstack([np.ones((len(y), 1)), X])
    D = np.diag([0.0, 1.0, 1.0, 1.0])
    theta = np.concatenate([[p.b], p.w])
    np.testing.assert_allclose((Xt.T @ Xt + lam * D) @ theta, Xt.T @ y, rtol=1e-10)


# ----------------------------------------------------------------- oracles
@pytest.mark.parametrize("ridge", [0.0, 0.1, 10.0])
def test_matches_sklearn(ridge):
    """Oracle: sklearn LinearRegression (ridge=0) and Ridge(alpha=ridge), which does not penalise the intercept."""
    from sklearn.linear_model import LinearRegression, Ridge

    X, y = _data(2)
    ref = LinearRegression().fit(X, y) if ridge == 0 else Ridge(alpha=ridge, solver="svd").fit(X, y)
    p = estimators.fit_least_squares(X, y, ridge=ridge)
    np.testing.assert_allclose(p.w, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(p.b, ref.intercept_, rtol=1e-6)


def test_weights_match_sklearn_sample_weight_and_subset():
    """Oracle: sklearn Ridge(sample_weight); 0/1 weights equal fitting on the subset of rows."""
    from sklearn.linear_model import Ridge

    X, y = _data(3)
    wts = np.random.default_rng(3).uniform(0.2, 2.0, size=len(y))
    p = estimators.fit_least_squares(X, y, ridge=1.0, weights=wts)
    ref = Ridge(alpha=1.0, solver="svd").fit(X, y, sample_weight=wts)
    np.testing.assert_allclose(p.w, ref.coef_, rtol=1e-6)
    mask = (np.arange(len(y)) % 3 != 0).astype(np.float64)
    sub = estimators.fit_least_squares(X[mask > 0], y[mask > 0])
    masked = estimators.fit_least_squares(X, y, weights=mask)
    np.testing.assert_allclose(masked.w, sub.w, rtol=1e-10)
    np.testing.assert_allclose(masked.b, sub.b, rtol=1e-10)


def test_multi_output_equals_columnwise():
    """Oracle: NumPy lstsq on [1, X] for each target column (the book's pinv fit of many outputs)."""
    X, y = _data(4)
    Y = np.stack([y, -2 * y + 1, X[:, 0]], axis=1)
    p = estimators.fit_least_squares(X, Y)
    Xt = np.hstack([np.ones((len(y), 1)), X])
    ref = np.linalg.lstsq(Xt, Y, rcond=None)[0]
    np.testing.assert_allclose(p.b, ref[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.w, ref[1:], rtol=1e-9, atol=1e-12)
    assert estimators.predict_linear(p, X).shape == Y.shape


# ----------------------------------------------------------------- transforms
def test_jit_equals_eager(transform):
    """jit == eager (both must equal the sklearn-checked eager fit)."""
    X, y = _data(5)
    f = transform(lambda X, y: estimators.fit_least_squares(X, y, ridge=0.5))
    ref = estimators.fit_least_squares(X, y, ridge=0.5)
    np.testing.assert_allclose(f(X, y).w, ref.w, **tol(np.float64, composite=True))


def test_vmap_over_ridge_equals_loop():
    """vmap over a grid of ridge strengths == a Python loop of separate fits."""
    X, y = _data(6)
    lams = jnp.array([0.0, 0.3, 3.0, 30.0])
    batched = jax.vmap(lambda lam: estimators.fit_least_squares(X, y, ridge=lam))(lams)
    for i, lam in enumerate([0.0, 0.3, 3.0, 30.0]):
        np.testing.assert_allclose(batched.w[i], estimators.fit_least_squares(X, y, ridge=lam).w, rtol=1e-10)


def test_gradient_wrt_targets_is_pseudo_inverse():
    """Analytic: theta = X~^+ y, so d(theta_j)/dy = row j of the pseudo-inverse; check_grads to order 2."""
    X, y = _data(7, n=12, p=2)
    Xt = np.hstack([np.ones((12, 1)), X])
    pinv = np.linalg.pinv(Xt)
    g = jax.jit(jax.grad(lambda y: estimators.fit_least_squares(X, y).w[1]))(y)
    np.testing.assert_allclose(g, pinv[2], rtol=1e-9, atol=1e-12)
    f = jax.jit(lambda y, lam: estimators.fit_least_squares(X[:6], y, ridge=lam).w)  # jit: one trace per order
    check_grads(f, (y[:6], 0.7), order=2, modes=("rev",))


# ----------------------------------------------------------------- properties
@given(st.integers(0, 10_000), st.floats(0.01, 100.0))
def test_ridge_shrinks_weights(seed, lam):
    """Property: ||w_lambda|| is non-increasing in lambda and below the least-squares ||w||."""
    X, y = _data(seed, n=15, p=4)
    n0 = np.linalg.norm(estimators.fit_least_squares(X, y).w)
    n1 = np.linalg.norm(estimators.fit_least_squares(X, y, ridge=lam).w)
    n2 = np.linalg.norm(estimators.fit_least_squares(X, y, ridge=2 * lam).w)
    assert n2 <= n1 + 1e-12 <= n0 + 2e-12


@given(st.integers(0, 10_000))
def test_residual_orthogonal_to_columns(seed):
    """Property: least-squares residuals sum to zero and are orthogonal to every column."""
    X, y = _data(seed, n=10, p=3)
    p = estimators.fit_least_squares(X, y)
    r = y - np.asarray(estimators.predict_linear(p, X))
    np.testing.assert_allclose([r.sum(), *(X.T @ r)], 0.0, atol=1e-9)


# ----------------------------------------------------------------- bad and edge inputs
def test_collinear_design_gives_minimum_norm():
    """Edge: duplicated column -> the minimum-norm split w = (1, 1) for y = 2x, never inf."""
    x = np.linspace(-1, 1, 9)
    X = np.stack([x, x], axis=1)
    p = estimators.fit_least_squares(X, 2 * x)
    np.testing.assert_allclose(p.w, [1.0, 1.0], rtol=1e-10)
    assert np.isfinite(p.b)


def test_fewer_rows_than_columns_gives_minimum_norm():
    """Edge: n < p -> the minimum-norm interpolant, equal to NumPy's pinv on centred data."""
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(4, 7)), rng.normal(size=4)
    p = estimators.fit_least_squares(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    np.testing.assert_allclose(p.w, np.linalg.pinv(Xc) @ yc, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(estimators.predict_linear(p, X), y, rtol=1e-9)


def test_zero_design_and_degree_zero_are_constant_models():
    """Edge: an all-zero X (rank 0) gives w = 0 and b = mean(y); zero columns give the same."""
    y = np.array([1.0, 2.0, 6.0])
    p = estimators.fit_least_squares(np.zeros((3, 2)), y)
    np.testing.assert_allclose(p.w, 0.0)
    np.testing.assert_allclose(p.b, 3.0)
    p0 = estimators.fit_least_squares(np.zeros((3, 0)), y)
    np.testing.assert_allclose(p0.b, 3.0)


def test_bad_inputs_raise():
    """Bad input: rank, lengths, dtype, negative ridge, NaN (with its index)."""
    X, y = _data()
    with pytest.raises(ValueError, match=r"argument `X` expected rank 2, got '?shape \(40,\) \(rank 1\)'?"):
        estimators.fit_least_squares(X[:, 0], y)
    with pytest.raises(ValueError, match=r"fit_least_squares: argument `y` expected shape \(40,\), got shape \(39,\)"):
        estimators.fit_least_squares(X, y[:-1])
    with pytest.raises(TypeError, match=r"argument `X` expected a floating-point array, got '?dtype int32'?"):
        estimators.fit_least_squares(X.astype(np.int32), y)
    with pytest.raises(ValueError, match=r"argument `ridge` expected a value >= 0, got -1.0"):
        estimators.fit_least_squares(X, y, ridge=-1.0)
    Xn = X.copy()
    Xn[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"argument `X` expected finite values, got nan at index \(5, 2\)"):
        estimators.fit_least_squares(Xn, y)
    with pytest.raises(ValueError, match=r"predict_linear: argument `x` expected shape \(3,\), got shape \(4,\)"):
        estimators.predict_linear(estimators.fit_least_squares(X, y), np.ones(4))


def _badly_scaled():
    # Three features whose scales differ by 1e6, exactly linear: y = 0.7 + 1.5 x1 - 2 x2 + 5e-7 x3.
    X = np.random.default_rng(0).normal(size=(30, 3))
    X[:, 2] *= 1e6
    return X, X @ np.array([1.5, -2.0, 5e-7]) + 0.7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_badly_scaled_columns_match_lstsq(dtype, transform):
    """Oracle: numpy.linalg.lstsq (which factorises float32 input in float64) and scipy.linalg.lstsq in
    float64, on [1, X] with columns 1e6 apart.

    Without equilibration the float32 SVD cut-off (eps * n * s_max) zeroed the two unit-scale
    weights (w ~ 1e-13) and moved the intercept to 0.33; the columns are now scaled first.
    (SciPy's own float32 gelsd, with the same cut-off, is off by 20 %: it is not the oracle here.)
    """
    import scipy.linalg

    X, y = (a.astype(dtype) for a in _badly_scaled())
    A = np.hstack([np.ones((30, 1), dtype), X])
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    ref_scipy = scipy.linalg.lstsq(A.astype(np.float64), y.astype(np.float64))[0]
    np.testing.assert_allclose(ref_scipy, ref, **tol(dtype, composite=True))  # the two oracles agree
    p = transform(estimators.fit_least_squares)(X, y)
    assert p.w.dtype == dtype
    np.testing.assert_allclose(np.concatenate([[p.b], p.w]), ref, **tol(dtype, composite=True))
    np.testing.assert_allclose(np.concatenate([[p.b], p.w]), [0.7, 1.5, -2.0, 5e-7], **tol(dtype, composite=True))


def test_constant_column_gets_zero_weight_after_equilibration():
    """Edge: a constant column (0.1 in every row, inexact in binary) carries no information: weight 0, b absorbs it."""
    X, y = _data(14, n=25, p=2)
    Xc = np.hstack([X, np.full((25, 1), 0.1)])
    p = estimators.fit_least_squares(Xc, y)
    ref = estimators.fit_least_squares(X, y)
    assert float(p.w[2]) == 0.0
    np.testing.assert_allclose(p.w[:2], ref.w, **tol(np.float64, composite=True))
    np.testing.assert_allclose(p.b, ref.b, **tol(np.float64, composite=True))


def test_traced_negative_ridge_is_nan_and_checked_raises():
    """A negative ridge strength: eagerly ValueError; traced under jit NaN params; checks.checked raises."""
    X, y = _data(15, n=12, p=2)
    fit = jax.jit(lambda lam: estimators.fit_least_squares(X, y, ridge=lam))
    out = fit(-1.0)
    assert np.all(np.isnan(np.asarray(out.w))) and np.isnan(float(out.b))
    assert np.all(np.isfinite(np.asarray(fit(1.0).w)))
    batched = jax.vmap(lambda lam: estimators.fit_least_squares(X, y, ridge=lam))(jnp.array([1.0, -1.0]))
    assert np.all(np.isfinite(np.asarray(batched.w[0]))) and np.all(np.isnan(np.asarray(batched.w[1])))
    with pytest.raises(Exception, match=r"estimators.fit_least_squares: argument `ridge` expected a value >= 0"):
        checks.checked(fit)(-1.0)
    with pytest.raises(ValueError, match=r"argument `ridge` expected a value >= 0, got -2.0"):
        estimators.fit_least_squares(X, y, ridge=jnp.array(-2.0))


def test_lists_and_numpy_are_accepted():
    """Consistency: a nested list (and int targets) is converted as any array is: y = 1 + 2x by hand."""
    p = estimators.fit_least_squares([[0.0], [1.0], [2.0]], [1, 3, 5])
    np.testing.assert_allclose(p.b, 1.0, **tol(np.float64, composite=True))
    np.testing.assert_allclose(p.w, [2.0], **tol(np.float64, composite=True))
    np.testing.assert_allclose(estimators.predict_linear(p, [[3.0]]), [7.0], **tol(np.float64, composite=True))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_is_solved_in_float32(dtype):
    """Half precision: LAPACK has none, so the fit runs in float32 and returns the input dtype (it raised before).

    Oracle: the float32 fit of the same (rounded) data; tolerance: the half dtype's resolution.
    """
    X, y = _data(16, n=30, p=2)
    Xh, yh = jnp.asarray(X, dtype), jnp.asarray(y, dtype)
    p = estimators.fit_least_squares(Xh, yh, ridge=0.5)
    assert p.w.dtype == dtype and p.b.dtype == dtype
    ref = estimators.fit_least_squares(Xh.astype(jnp.float32), yh.astype(jnp.float32), ridge=0.5)
    res = float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(np.asarray(p.w, np.float32), ref.w, rtol=2 * res, atol=2 * res)


def test_nested_fit_names_the_public_function_called():
    """A bad keyword passed through fit_one_vs_rest is reported as fit_one_vs_rest's, not fit_least_squares'."""
    X, y = _data(17, n=12, p=2)
    labels = (np.arange(12) % 3).astype(np.int32)
    with pytest.raises(ValueError, match=r"^estimators.fit_one_vs_rest: argument `ridge` expected a value >= 0"):
        estimators.fit_one_vs_rest(X, labels, ridge=-1.0)


# ----------------------------------------------------------------- polynomial features
def test_polynomial_features_by_hand():
    """By hand: (2, 3) with degree 2 -> (x1, x2, x1^2, x1 x2, x2^2) = (2, 3, 4, 6, 9); scalar: (x, x^2, x^3)."""
    np.testing.assert_array_equal(estimators.polynomial_features(jnp.array([2.0, 3.0]), 2), [2, 3, 4, 6, 9])
    np.testing.assert_array_equal(estimators.polynomial_features(jnp.array([[2.0]]), 3), [[2, 4, 8]])


@pytest.mark.parametrize("p,degree", [(1, 9), (2, 3), (2, 8), (3, 2)])
def test_polynomial_features_match_sklearn(p, degree):
    """Oracle: sklearn PolynomialFeatures(include_bias=False) gives the same columns in the same order."""
    from sklearn.preprocessing import PolynomialFeatures

    x = np.random.default_rng(p).uniform(-1, 1, size=(6, p))
    ref = PolynomialFeatures(degree, include_bias=False).fit_transform(x)
    np.testing.assert_allclose(estimators.polynomial_features(x, degree), ref, rtol=1e-12)


def test_polynomial_features_transforms():
    """vmap == batch call; jax.grad of sum_k x^k is sum_k k x^(k-1); check_grads order 2."""
    x = jnp.linspace(-1.0, 1.0, 5)[:, None]
    np.testing.assert_allclose(
        jax.vmap(lambda r: estimators.polynomial_features(r, 4))(x), estimators.polynomial_features(x, 4)
    )
    g = jax.jit(jax.grad(lambda t: jnp.sum(estimators.polynomial_features(t[None], 4))))(0.5)
    np.testing.assert_allclose(g, 1 + 2 * 0.5 + 3 * 0.25 + 4 * 0.125, rtol=1e-12)
    check_grads(jax.jit(lambda t: estimators.polynomial_features(t, 3)), (jnp.array([0.3, -0.7]),), order=2)


def test_polynomial_features_edges():
    """Edge/bad: degree 0 gives zero columns; negative, non-int degree and rank-0 x are refused."""
    assert estimators.polynomial_features(jnp.ones((4, 2)), 0).shape == (4, 0)
    with pytest.raises(ValueError, match=r"argument `degree` expected a non-negative int, got -1"):
        estimators.polynomial_features(jnp.ones((4, 1)), -1)
    with pytest.raises(ValueError, match=r"argument `degree` expected a non-negative int, got 2.5"):
        estimators.polynomial_features(jnp.ones((4, 1)), 2.5)
    with pytest.raises(ValueError, match=r"argument `degree` expected a non-negative int, got True"):
        estimators.polynomial_features(jnp.ones((4, 1)), True)
    with pytest.raises(ValueError, match=r"argument `x` expected rank >= 1"):
        estimators.polynomial_features(jnp.array(1.0), 2)


# ----------------------------------------------------------------- gradient descent
def test_gd_matches_numpy_loop():
    """Oracle: a NumPy loop theta <- theta + (alpha/n) X~^T (y - X~ theta), C = (1/2n) ||r||^2."""
    X, y = _data(9, n=20, p=2)
    Xt = np.hstack([np.ones((20, 1)), X])
    theta, hist = np.zeros(3), []
    for _ in range(25):
        r = y - Xt @ theta
        hist.append(0.5 * np.mean(r**2))
        theta = theta + 0.1 * Xt.T @ r / 20
    fit = estimators.fit_linear_gd(X, y, learning_rate=0.1, num_steps=25)
    np.testing.assert_allclose(fit.loss_history[:25], hist, rtol=1e-12)
    np.testing.assert_allclose(fit.path[-1], theta, rtol=1e-12)
    np.testing.assert_allclose(fit.params.w, theta[1:], rtol=1e-12)


def test_standardised_gd_converges_faster_to_least_squares():
    """[MEDL] Sec. 2.4, Fig. 2.8 toy: x1 ~ N(2, 2^2), x2 ~ N(1, 1), no intercept; standardising speeds GD up."""
    rng = np.random.default_rng(10)
    X = np.stack([rng.normal(2, 2, 1000), rng.normal(1, 1, 1000)], axis=1)
    y = 2 * X[:, 0] + 0.5 * X[:, 1] + 0.01 * rng.normal(size=1000)
    ls = estimators.fit_least_squares(X, y)
    raw = estimators.fit_linear_gd(X, y, learning_rate=0.05, num_steps=200)
    std = estimators.fit_linear_gd(X, y, learning_rate=0.5, num_steps=200, standardize=True)
    np.testing.assert_allclose(std.params.w, ls.w, rtol=1e-6)
    assert std.loss_history[-1] < raw.loss_history[-1]
    assert np.all(np.diff(np.asarray(std.loss_history)) <= 1e-15)  # monotone for alpha < 2/L


def test_gd_jit_and_bad_inputs():
    """jit == eager; bad: non-positive rate, zero steps, int X, wrong y length, no-intercept keeps b = 0."""
    X, y = _data(11, n=10, p=2)
    f = jax.jit(lambda X, y: estimators.fit_linear_gd(X, y, learning_rate=0.1, num_steps=5))
    np.testing.assert_allclose(
        f(X, y).params.w, estimators.fit_linear_gd(X, y, learning_rate=0.1, num_steps=5).params.w
    )
    assert estimators.fit_linear_gd(X, y, learning_rate=0.1, num_steps=5, intercept=False).params.b == 0.0
    with pytest.raises(ValueError, match=r"argument `learning_rate` expected a value > 0, got 0.0"):
        estimators.fit_linear_gd(X, y, learning_rate=0.0, num_steps=5)
    with pytest.raises(ValueError, match=r"argument `num_steps` expected a positive int, got 0"):
        estimators.fit_linear_gd(X, y, learning_rate=0.1, num_steps=0)
    with pytest.raises(TypeError, match=r"argument `X` expected a floating-point array"):
        estimators.fit_linear_gd(X.astype(np.int64), y, learning_rate=0.1, num_steps=5)
    with pytest.raises(ValueError, match=r"fit_linear_gd: argument `y` expected shape \(10,\), got shape \(3,\)"):
        estimators.fit_linear_gd(X, y[:3], learning_rate=0.1, num_steps=5)


# ----------------------------------------------------------------- robust regression
def _outlier_data():
    rng = np.random.default_rng(12)
    X = rng.uniform(-2, 2, size=(40, 2))
    y = 1.0 + X @ np.array([2.0, -1.0]) + 0.2 * rng.normal(size=40)
    y[:4] += 25.0  # gross outliers
    return X, y


def test_huber_matches_scipy_minimize():
    """Oracle: scipy.optimize.minimize (BFGS) on (1/n) sum Huber_delta(y - b - w^T x)."""
    from scipy.optimize import minimize

    X, y = _outlier_data()

    def obj(t):
        r = np.abs(y - t[0] - X @ t[1:])
        return np.mean(np.where(r <= 1.0, 0.5 * r**2, r - 0.5))

    ref = minimize(obj, np.zeros(3), method="BFGS", options={"gtol": 1e-12}).x
    fit = estimators.fit_robust(X, y, loss="huber", delta=1.0)
    np.testing.assert_allclose(np.concatenate([[fit.params.b], fit.params.w]), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fit.objective, obj(ref), rtol=1e-9)
    assert bool(fit.converged)


def test_absolute_loss_matches_quantile_regression_objective():
    """Oracle: sklearn QuantileRegressor(quantile=0.5, alpha=0), the exact LAD linear program.

    Tolerance 1e-6 relative on the objective (not 1e-10): IRLS floors the weights at 1e-8 mean|r|.
    """
    from sklearn.linear_model import QuantileRegressor

    X, y = _outlier_data()
    ref = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y)
    ref_obj = np.mean(np.abs(y - ref.intercept_ - X @ ref.coef_))
    fit = estimators.fit_robust(X, y, loss="absolute", max_iter=500)
    assert float(fit.objective) <= ref_obj * (1 + 1e-6)
    assert float(fit.objective) >= ref_obj * (1 - 1e-9)  # the LP optimum is a lower bound


def test_robust_worked_value_and_resistance():
    """By hand: with every residual below delta, Huber equals least squares; with outliers it stays near truth."""
    X, y = _data(13, n=30, p=2)
    huber = estimators.fit_robust(X, y, delta=100.0)
    np.testing.assert_allclose(huber.params.w, estimators.fit_least_squares(X, y).w, rtol=1e-10)
    Xo, yo = _outlier_data()
    ls = estimators.fit_least_squares(Xo, yo)
    hub = estimators.fit_robust(Xo, yo)
    assert abs(float(hub.params.b) - 1.0) < 0.2 < abs(float(ls.b) - 1.0)


def test_robust_jit_vmap_and_bad_inputs():
    """jit == eager; vmap over targets == loop; bad: loss name, delta, max_iter, int X, NaN y."""
    X, y = _outlier_data()
    f = jax.jit(lambda y: estimators.fit_robust(X, y).params.w)
    np.testing.assert_allclose(f(y), estimators.fit_robust(X, y).params.w, rtol=1e-10)
    Y = np.stack([y, 2 * y])
    batched = jax.vmap(lambda t: estimators.fit_robust(X, t).params.w)(Y)
    np.testing.assert_allclose(batched[1], estimators.fit_robust(X, 2 * y).params.w, rtol=1e-8)
    with pytest.raises(ValueError, match=r"argument `loss` expected one of \['huber', 'absolute'\], got 'l1'"):
        estimators.fit_robust(X, y, loss="l1")
    with pytest.raises(ValueError, match=r"argument `delta` expected a value > 0, got 0"):
        estimators.fit_robust(X, y, delta=0)
    with pytest.raises(ValueError, match=r"argument `max_iter` expected a positive int, got 0"):
        estimators.fit_robust(X, y, max_iter=0)
    with pytest.raises(TypeError, match=r"argument `X` expected a floating-point array"):
        estimators.fit_robust(X.astype(np.int32), y)
    yn = y.copy()
    yn[7] = np.inf
    with pytest.raises(ValueError, match=r"argument `y` expected finite values, got inf at index \(7,\)"):
        estimators.fit_robust(X, yn)
