"""Tests of mathdl.estimators logistic and softmax regression, decision rules, one-vs-rest and one-vs-one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import checks, estimators


def _binary(seed=0, n=60, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    logit = 0.3 + X @ np.linspace(1.0, -0.5, p)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.int32)
    return X, y


def _multi(seed=0, n=90, p=2, K=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n, dtype=np.int32) % K
    centres = np.stack([np.cos(2 * np.pi * np.arange(K) / K), np.sin(2 * np.pi * np.arange(K) / K)], 1)
    X = centres[y][:, :p] + 0.9 * rng.normal(size=(n, p))  # overlapping classes: the MLE exists
    return X, y


def _theta(params):
    return np.concatenate([[float(params.b)], np.asarray(params.w)])


# ----------------------------------------------------------------- logistic: worked values
def test_objective_at_zero_is_log2():
    """By hand: at b = 0, w = 0 every y-hat is 1/2, so the mean cross-entropy is log 2."""
    X, y = _binary()
    zero = estimators.LogisticParams(jnp.zeros(()), jnp.zeros(3))
    np.testing.assert_allclose(estimators.logistic_objective(zero, X, y), np.log(2.0), rtol=1e-14)


def test_gradient_and_hessian_formulas():
    """[MEDL] Sec. 3.1: grad = (1/n) sum (yhat - y) x~ (NumPy loop) equals jax.grad; Hessian equals jax.hessian, PSD."""
    X, y = _binary(1)
    params = estimators.LogisticParams(jnp.array(0.2), jnp.array([0.5, -1.0, 0.3]))
    g, H = estimators.logistic_gradient_hessian(params, X, y)
    g_loop = np.zeros(4)
    for xi, yi in zip(X, y, strict=True):
        xt = np.concatenate([[1.0], xi])
        yhat = 1 / (1 + np.exp(-xt @ np.array([0.2, 0.5, -1.0, 0.3])))
        g_loop += (yhat - yi) * xt / len(y)
    np.testing.assert_allclose(g, g_loop, rtol=1e-12)

    def obj(theta):
        return estimators.logistic_objective(estimators.LogisticParams(theta[0], theta[1:]), X, y)

    theta = jnp.array([0.2, 0.5, -1.0, 0.3])
    np.testing.assert_allclose(jax.jit(jax.grad(obj))(theta), g, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.hessian(obj))(theta), H, rtol=1e-10)
    assert np.linalg.eigvalsh(np.asarray(H)).min() >= -1e-14
    check_grads(jax.jit(obj), (theta,), order=2)  # jit: the label check runs once, not per call


# ----------------------------------------------------------------- logistic: oracle
def test_logistic_matches_sklearn_unpenalised():
    """Oracle: sklearn LogisticRegression(C=inf), i.e. no penalty, coefficients to 1e-4."""
    from sklearn.linear_model import LogisticRegression

    X, y = _binary(2)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    fit = estimators.fit_logistic(X, y)
    assert bool(fit.converged) and not bool(fit.separable)
    np.testing.assert_allclose(_theta(fit.params), np.concatenate([ref.intercept_, ref.coef_[0]]), rtol=1e-4)


def test_logistic_l2_matches_sklearn_C():
    """Oracle: sklearn's C = 1/(lambda n) with the intercept unpenalised."""
    from sklearn.linear_model import LogisticRegression

    X, y = _binary(3)
    lam = 0.05
    ref = LogisticRegression(C=1 / (lam * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    fit = estimators.fit_logistic(X, y, l2=lam)
    np.testing.assert_allclose(_theta(fit.params), np.concatenate([ref.intercept_, ref.coef_[0]]), rtol=1e-4)


# ----------------------------------------------------------------- logistic: transforms
def test_gd_agrees_with_newton_and_jit(transform):
    """Newton (IRLS) and gradient descent reach the same optimum; jit == eager."""
    X, y = _binary(4)
    newton = estimators.fit_logistic(X, y)
    gd = transform(lambda X, y: estimators.fit_logistic(X, y, method="gd", learning_rate=2.0, tol=1e-9))(X, y)
    np.testing.assert_allclose(_theta(gd.params), _theta(newton.params), rtol=1e-6)
    fitted = transform(lambda X, y: estimators.fit_logistic(X, y))(X, y)
    np.testing.assert_allclose(_theta(fitted.params), _theta(newton.params), rtol=1e-10)
    assert int(newton.num_iter) < 15  # quadratic convergence


def test_vmap_over_weights_equals_loop():
    """vmap over row weights (e.g. bootstrap counts) == a Python loop of weighted fits."""
    X, y = _binary(5)
    W = np.random.default_rng(5).integers(0, 3, size=(3, len(y))).astype(np.float64)
    fit = jax.jit(lambda w: estimators.fit_logistic(X, y, weights=w).params.w)
    batched = jax.vmap(fit)(W)
    for i in range(3):
        np.testing.assert_allclose(batched[i], fit(W[i]), rtol=1e-9)


# ----------------------------------------------------------------- logistic: properties and edges
@given(st.integers(0, 10_000))
def test_probabilities_in_unit_interval_and_threshold_rule(seed):
    """Property: y-hat in (0, 1); the 0.5 rule agrees with the sign of the logit."""
    rng = np.random.default_rng(seed)
    params = estimators.LogisticParams(jnp.array(rng.normal()), jnp.array(rng.normal(size=2)))
    x = rng.normal(size=(7, 2))
    prob = estimators.predict_logistic(params, x)
    assert np.all((prob > 0) & (prob < 1))
    logit = x @ np.asarray(params.w) + float(params.b)
    np.testing.assert_array_equal(estimators.threshold_rule(prob), (logit > 0).astype(np.int32))


def test_separable_data_stay_finite_and_report_divergence():
    """Edge: separable data: finite params, separable=True, converged=False, ||w|| increasing."""
    x = np.linspace(-1, 1, 20)[:, None]
    y = (x[:, 0] > 0).astype(np.int32)
    fit = estimators.fit_logistic(x, y, max_iter=30)
    assert bool(fit.separable) and not bool(fit.converged)
    assert np.all(np.isfinite(_theta(fit.params)))
    norms = np.asarray(fit.norm_history)[: int(fit.num_iter) + 1]
    assert norms[-1] > 10 * norms[1] and np.all(np.diff(norms) > 0)


def test_decision_rules_give_minus_one_for_nan(transform):
    """A NaN probability is no class: threshold_rule and argmax_rule give -1 (they gave 0 and the NaN's index);
    checks.checked raises."""
    np.testing.assert_array_equal(transform(estimators.threshold_rule)(jnp.array([0.2, jnp.nan, 0.9])), [0, -1, 1])
    rows = jnp.array([[0.1, jnp.nan, 0.3], [0.2, 0.5, 0.3]])
    np.testing.assert_array_equal(transform(estimators.argmax_rule)(rows), [-1, 1])
    with pytest.raises(Exception, match=r"estimators.threshold_rule: argument `prob` expected probabilities"):
        checks.checked(estimators.threshold_rule)(jnp.array([jnp.nan]))
    with pytest.raises(Exception, match=r"estimators.argmax_rule: argument `prob` expected"):
        checks.checked(estimators.argmax_rule)(rows)


def test_threshold_rule_worked_and_bad():
    """By hand: tau = 0.5 -> [0, 0, 1]; tau = 0.2 -> [0, 1, 1]; tau outside [0, 1] refused."""
    p = jnp.array([0.1, 0.5, 0.9])
    np.testing.assert_array_equal(estimators.threshold_rule(p), [0, 0, 1])
    np.testing.assert_array_equal(estimators.threshold_rule(p, threshold=0.2), [0, 1, 1])
    with pytest.raises(ValueError, match=r"argument `threshold` expected a value in \[0.0, 1.0\], got 1.5"):
        estimators.threshold_rule(p, threshold=1.5)


def test_logistic_bad_inputs():
    """Bad input: label 2 (index named), length mismatch, method, int X, l2 < 0, x shape, traced bad label."""
    X, y = _binary()
    y_bad = y.copy()
    y_bad[11] = 2
    with pytest.raises(
        ValueError, match=r"fit_logistic: argument `y` expected labels in \{0, ..., 1\}, got 2 at index 11"
    ):
        estimators.fit_logistic(X, y_bad)
    with pytest.raises(ValueError, match=r"fit_logistic: argument `y` expected shape \(60,\), got shape \(58,\)"):
        estimators.fit_logistic(X, y[:-2])
    with pytest.raises(ValueError, match=r"argument `method` expected one of \['newton', 'gd'\], got 'bfgs'"):
        estimators.fit_logistic(X, y, method="bfgs")
    with pytest.raises(TypeError, match=r"argument `X` expected a floating-point array"):
        estimators.fit_logistic(X.astype(np.int32), y)
    with pytest.raises(ValueError, match=r"argument `l2` expected a value >= 0, got -0.1"):
        estimators.fit_logistic(X, y, l2=-0.1)
    with pytest.raises(ValueError, match=r"predict_logistic: argument `x` expected shape \(2, 3\), got shape \(2, 4\)"):
        estimators.predict_logistic(estimators.fit_logistic(X, y).params, np.ones((2, 4)))
    with pytest.raises(Exception, match=r"expected labels in \{0, ..., 1\}"):
        checks.checked(
            jax.jit(lambda y: estimators.logistic_objective(estimators.LogisticParams(0.0, jnp.zeros(3)), X, y))
        )(jnp.asarray(y_bad))


def _float32_multi():
    X, y = _multi(12)
    return X.astype(np.float32), y


@pytest.mark.parametrize("method", ["newton", "gd"])
def test_logistic_float32_converges_with_the_dtype_tolerance(method):
    """A correct float32 fit reports converged=True (the fixed tol=1e-10 was unreachable in float32).

    Oracle: the float64 Newton fit; float32 tolerance for the optimum (GD stops at |grad| <= sqrt(eps)).
    """
    X, y = _binary(2)
    ref = _theta(estimators.fit_logistic(X, y).params)
    fit = estimators.fit_logistic(X.astype(np.float32), y, method=method, learning_rate=2.0)
    assert bool(fit.converged) and fit.params.w.dtype == np.float32
    rtol = 1e-5 if method == "newton" else 1e-2  # GD: |grad| <= 3.5e-4 leaves |theta error| <= |grad| / lambda_min
    np.testing.assert_allclose(_theta(fit.params), ref, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("method", ["lbfgs", "newton", "gd"])
def test_softmax_float32_converges_with_the_dtype_tolerance(method):
    """A correct float32 softmax fit reports converged=True; probabilities match the float64 fit."""
    X, y = _float32_multi()
    ref = estimators.predict_softmax(estimators.fit_softmax(X.astype(np.float64), y).params, X.astype(np.float64))
    fit = estimators.fit_softmax(X, y, method=method)
    assert bool(fit.converged)
    prob = estimators.predict_softmax(fit.params, X)
    # L-BFGS and GD stop at |grad| <= sqrt(eps32) = 3.5e-4, which leaves ~1e-4 (L-BFGS) and ~1e-3 (GD) in the
    # probabilities; Newton's last step leaves float32 rounding
    atol = {"newton": 1e-5, "lbfgs": 1e-3, "gd": 5e-3}[method]
    np.testing.assert_allclose(prob, ref, atol=atol)


def test_nan_input_under_jit_is_nan_and_not_converged():
    """NaN in X: eagerly ValueError naming the index; under jit NaN params and converged=False (it reported
    converged=True at theta = 0); checks.checked raises."""
    X, y = _binary(3)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    Xm, ym = _multi(3)
    Xmn = Xm.copy()
    Xmn[0, 0] = np.nan
    fits = {
        "fit_logistic": (lambda X: estimators.fit_logistic(X, y), Xn),
        "fit_softmax": (lambda X: estimators.fit_softmax(X, ym, num_classes=3), Xmn),
    }
    for name, (fit, bad) in fits.items():
        out = jax.jit(fit)(bad)
        assert not bool(out.converged), name
        assert all(np.all(np.isnan(np.asarray(leaf))) for leaf in jax.tree.leaves(out.params)), name
        with pytest.raises(ValueError, match=rf"{name}: argument `X` expected finite values, got nan at index"):
            fit(bad)
        with pytest.raises(Exception, match=rf"estimators.{name}: argument `X` expected finite values"):
            checks.checked(jax.jit(fit), nan=False)(bad)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # 1e39 -> float32 inf, on purpose
def test_overflowing_first_step_is_not_converged():
    """learning_rate=1e39 overflows float32 at the first step: the run ends at theta = 0 with converged=False."""
    X, y = _binary(5)
    fit = estimators.fit_logistic(X.astype(np.float32), y, method="gd", learning_rate=1e39)
    assert not bool(fit.converged) and int(fit.num_iter) == 1
    Xm, ym = _float32_multi()
    soft = estimators.fit_softmax(Xm, ym, method="gd", learning_rate=1e39)
    assert not bool(soft.converged)


def test_label_out_of_range_under_jit_is_nan():
    """Bad labels under jit: NaN params, converged=False (eager: ValueError naming the index)."""
    X, y = _binary(6)
    y_bad = y.copy()
    y_bad[3] = 2
    out = jax.jit(estimators.fit_logistic)(X, y_bad)
    assert np.isnan(float(out.params.b)) and not bool(out.converged)
    Xm, ym = _multi(6)
    ym_bad = ym.copy()
    ym_bad[0] = 5
    soft = jax.jit(lambda X, y: estimators.fit_softmax(X, y, num_classes=3))(Xm, ym_bad)
    assert np.all(np.isnan(np.asarray(soft.params.W))) and not bool(soft.converged)


def test_lists_are_accepted():
    """Consistency: nested lists are converted like arrays (they failed with 'Cannot determine dtype')."""
    X, y = _binary(7, n=20, p=2)
    ref = estimators.fit_logistic(X, y)
    fit = estimators.fit_logistic(X.tolist(), y.tolist())
    np.testing.assert_allclose(_theta(fit.params), _theta(ref.params), rtol=1e-12)
    np.testing.assert_allclose(
        estimators.predict_logistic(fit.params, X.tolist()), estimators.predict_logistic(ref.params, X)
    )


# ----------------------------------------------------------------- softmax
def test_softmax_gradient_wrt_logits_is_yhat_minus_y():
    """[MEDL] Sec. 3.3: for one example, d C / d b = y-hat - e_y and d C / d W = (y-hat - e_y) x^T."""
    x = np.array([[0.3, -1.2]])
    y = np.array([2], np.int32)
    params = estimators.SoftmaxParams(jnp.array([0.1, -0.2, 0.4]), jnp.array([[1.0, 0.5], [-0.3, 0.2], [0.0, -1.0]]))
    g = jax.grad(lambda prm: estimators.softmax_objective(prm, x, y))(params)
    yhat = np.exp(params.b + params.W @ x[0])
    yhat /= yhat.sum()
    resid = yhat - np.eye(3)[2]
    np.testing.assert_allclose(g.b, resid, rtol=1e-12)
    np.testing.assert_allclose(g.W, np.outer(resid, x[0]), rtol=1e-12)
    check_grads(jax.jit(lambda prm: estimators.softmax_objective(prm, x, y)), (params,), order=2)


def test_softmax_matches_sklearn_multinomial():
    """Oracle: sklearn LogisticRegression(C=inf) (multinomial for 3 classes): probabilities to 1e-4."""
    from sklearn.linear_model import LogisticRegression

    X, y = _multi(6)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    for method in ("lbfgs", "newton"):
        fit = estimators.fit_softmax(X, y, method=method)
        np.testing.assert_allclose(
            estimators.predict_softmax(fit.params, X), ref.predict_proba(X), rtol=1e-4, atol=1e-6
        )
        # only W minus its class mean is identified without a penalty
        W = np.asarray(fit.params.W)
        np.testing.assert_allclose(W - W.mean(0), ref.coef_ - ref.coef_.mean(0), rtol=1e-4, atol=1e-6)


def test_softmax_l2_matches_sklearn_weights():
    """Oracle: with l2 = lambda, sklearn's C = 1/(lambda n) gives the same (identified) W."""
    from sklearn.linear_model import LogisticRegression

    X, y = _multi(7)
    lam = 0.02
    ref = LogisticRegression(C=1 / (lam * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    fit = estimators.fit_softmax(X, y, l2=lam)
    np.testing.assert_allclose(fit.params.W, ref.coef_, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_softmax_methods_jit_and_properties():
    """GD == L-BFGS probabilities; jit == eager; rows sum to 1; shifting every bias leaves y-hat unchanged."""
    X, y = _multi(8, n=45)
    lb = estimators.fit_softmax(X, y)
    gd = estimators.fit_softmax(X, y, method="gd", learning_rate=1.0, tol=1e-8)
    np.testing.assert_allclose(
        estimators.predict_softmax(gd.params, X), estimators.predict_softmax(lb.params, X), atol=1e-6
    )
    jitted = jax.jit(lambda X, y: estimators.fit_softmax(X, y, num_classes=3))(X, y)
    np.testing.assert_allclose(jitted.params.W, lb.params.W, rtol=1e-8, atol=1e-10)
    prob = estimators.predict_softmax(lb.params, X)
    np.testing.assert_allclose(prob.sum(-1), 1.0, rtol=1e-14)
    shifted = lb.params._replace(b=lb.params.b + 3.0)
    np.testing.assert_allclose(estimators.predict_softmax(shifted, X), prob, rtol=1e-12)
    assert estimators.predict_softmax(lb.params, X[0]).shape == (3,)


def test_argmax_rule_ties_and_bad():
    """By hand: argmax of [0.2, 0.5, 0.3] is 1; a tie goes to the smallest index; rank 0 refused."""
    np.testing.assert_array_equal(estimators.argmax_rule(jnp.array([[0.2, 0.5, 0.3], [0.4, 0.4, 0.2]])), [1, 0])
    with pytest.raises(ValueError, match=r"argmax_rule: argument `prob` expected rank >= 1"):
        estimators.argmax_rule(jnp.array(0.3))


def test_softmax_bad_inputs():
    """Bad input: label outside the classes (index named), float labels, num_classes 1, method, x shape."""
    X, y = _multi()
    y_bad = y.copy()
    y_bad[4] = 7
    with pytest.raises(
        ValueError, match=r"fit_softmax: argument `y` expected labels in \{0, ..., 2\}, got 7 at index 4"
    ):
        estimators.fit_softmax(X, y_bad, num_classes=3)
    y_neg = y.copy()
    y_neg[9] = -1
    with pytest.raises(ValueError, match=r"got -1 at index 9"):
        estimators.fit_softmax(X, y_neg)
    with pytest.raises(TypeError, match=r"argument `y` expected an integer array"):
        estimators.fit_softmax(X, y.astype(np.float64))
    with pytest.raises(ValueError, match=r"argument `num_classes` expected an int >= 2, got 1"):
        estimators.fit_softmax(X, np.zeros(90, np.int32), num_classes=1)
    with pytest.raises(ValueError, match=r"argument `method` expected one of"):
        estimators.fit_softmax(X, y, method="adam")
    with pytest.raises(ValueError, match=r"predict_softmax: argument `x` expected shape \(2,\), got shape \(5,\)"):
        estimators.predict_softmax(estimators.SoftmaxParams(jnp.zeros(3), jnp.zeros((3, 2))), np.ones(5))


# ----------------------------------------------------------------- one-vs-rest / one-vs-one
def test_one_vs_rest_least_squares_equals_per_class_pinv():
    """Oracle: for each class, NumPy pinv([1, X]) @ (+1 / -1 targets) ([MEDL] Table 2.1 method)."""
    X, y = _multi(9, p=2, K=4)
    params = estimators.fit_one_vs_rest(X, y)
    Xt = np.hstack([np.ones((len(y), 1)), X])
    for k in range(4):
        ref = np.linalg.pinv(Xt) @ np.where(y == k, 1.0, -1.0)
        np.testing.assert_allclose(np.concatenate([[params.b[k]], params.w[k]]), ref, rtol=1e-9, atol=1e-12)
    scores = estimators.predict_one_vs_rest(params, X)
    np.testing.assert_allclose(
        scores,
        Xt @ np.stack([np.linalg.pinv(Xt) @ np.where(y == k, 1.0, -1.0) for k in range(4)], 1),
        rtol=1e-8,
        atol=1e-10,
    )


@pytest.mark.slow
def test_one_vs_rest_logistic_matches_sklearn():
    """Oracle: sklearn OneVsRestClassifier(LogisticRegression(C=inf)) decision functions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    X, y = _multi(10)
    ref = OneVsRestClassifier(LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)).fit(X, y)
    params = estimators.fit_one_vs_rest(X, y, base="logistic")
    probs = np.asarray(estimators.predict_one_vs_rest(params, X)) + 0.5
    ref_probs = np.stack([e.predict_proba(X)[:, 1] for e in ref.estimators_], 1)
    np.testing.assert_allclose(probs, ref_probs, rtol=1e-4, atol=1e-7)


def test_one_vs_one_equals_per_pair_subset_fits():
    """Oracle: pair (i, j) equals NumPy lstsq on the rows of classes i and j only; votes sum to K(K-1)/2."""
    X, y = _multi(11, K=3)
    params = estimators.fit_one_vs_one(X, y)
    for m, (i, j) in enumerate([(0, 1), (0, 2), (1, 2)]):
        rows = (y == i) | (y == j)
        Xt = np.hstack([np.ones((rows.sum(), 1)), X[rows]])
        ref = np.linalg.lstsq(Xt, np.where(y[rows] == i, 1.0, -1.0), rcond=None)[0]
        np.testing.assert_allclose(np.concatenate([[params.b[m]], params.w[m]]), ref, rtol=1e-9, atol=1e-12)
    votes = estimators.predict_one_vs_one(params, X)
    np.testing.assert_allclose(votes.sum(-1), 3.0)
    assert np.mean(np.asarray(estimators.argmax_rule(votes)) == y) > 0.5


@pytest.mark.slow
def test_multiclass_on_digits_in_book_range():
    """[MEDL] Table 2.1 style: pinv one-vs-rest on digits classifies the training set well (>= 0.9)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data / 16.0, d.target.astype(np.int32)
    acc = np.mean(
        np.asarray(estimators.argmax_rule(estimators.predict_one_vs_rest(estimators.fit_one_vs_rest(X, y), X))) == y
    )
    assert 0.9 <= acc <= 1.0
    acc1 = np.mean(
        np.asarray(estimators.argmax_rule(estimators.predict_one_vs_one(estimators.fit_one_vs_one(X, y), X))) == y
    )
    assert 0.95 <= acc1 <= 1.0  # pairwise linear separation is easier than one-vs-rest


def test_multiclass_bad_inputs():
    """Bad input: label out of range (index named), float labels, base name, num_classes, x shape."""
    X, y = _multi()
    y_bad = y.copy()
    y_bad[2] = 3
    with pytest.raises(
        ValueError, match=r"fit_one_vs_rest: argument `y` expected labels in \{0, ..., 2\}, got 3 at index 2"
    ):
        estimators.fit_one_vs_rest(X, y_bad, num_classes=3)
    with pytest.raises(TypeError, match=r"fit_one_vs_one: argument `y` expected an integer array"):
        estimators.fit_one_vs_one(X, y.astype(np.float64))
    with pytest.raises(ValueError, match=r"argument `base` expected one of \['least_squares', 'logistic'\], got 'svm'"):
        estimators.fit_one_vs_rest(X, y, base="svm")
    with pytest.raises(ValueError, match=r"argument `num_classes` expected an int >= 2, got 0"):
        estimators.fit_one_vs_one(X, y, num_classes=0)
    params = estimators.fit_one_vs_one(X, y)
    with pytest.raises(ValueError, match=r"predict_one_vs_one: argument `x` expected shape \(2,\), got shape \(3,\)"):
        estimators.predict_one_vs_one(params, np.ones(3))
    with pytest.raises(
        ValueError, match=r"predict_one_vs_one: argument `params` expected a leading axis of size K\(K-1\)/2"
    ):
        estimators.predict_one_vs_one(jax.tree.map(lambda a: a[:2], params), X)
