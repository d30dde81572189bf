"""Tests of mathdl.info Gaussian log-density, entropy and KL divergences (MEDL App. B.2, eqs. B.8-B.11),
and the Monte Carlo KL estimator."""

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
F64C = tol(np.float64, composite=True)
MU1 = jnp.array([0.5, -1.0, 0.2])
MU2 = jnp.array([-0.3, 0.4, 1.0])
S1 = jnp.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])
S2 = jnp.array([[1.0, -0.4, 0.0], [-0.4, 1.5, 0.3], [0.0, 0.3, 0.8]])
X = jnp.array([1.0, 0.0, -0.5])

_kl = jax.jit(info.gaussian_kl)
_kl_std = jax.jit(info.gaussian_kl_standard)
_kl_iso = jax.jit(info.gaussian_kl_isotropic)


def spd(entries, m=3):
    """A symmetric positive definite matrix from m*m numbers: A A^T + 0.1 I."""
    A = np.asarray(entries).reshape(m, m)
    return A @ A.T + 0.1 * np.eye(m)


# ---------------------------------------------------------------- worked values


def test_logpdf_worked_values():
    """MEDL (B.8) by hand: log N(0; 0, 1) = -log(2 pi)/2; log N(x; mu, s^2) = -(x-mu)^2/(2 s^2) - log(2 pi s^2)/2."""
    np.testing.assert_allclose(
        info.gaussian_logpdf(jnp.array(0.0), jnp.array(0.0), jnp.array(1.0)), -0.5 * math.log(2 * math.pi), **F64
    )
    val = -((1.5 - 0.5) ** 2) / (2 * 4.0) - 0.5 * math.log(2 * math.pi * 4.0)
    np.testing.assert_allclose(info.gaussian_logpdf(jnp.array(1.5), jnp.array(0.5), jnp.array(4.0)), val, **F64)
    # diagonal covariance: a sum of univariate log-densities
    d = np.array([1.0, 2.0, 0.5])
    expected = sum(
        -((float(X[i]) - float(MU1[i])) ** 2) / (2 * d[i]) - 0.5 * math.log(2 * math.pi * d[i]) for i in range(3)
    )
    np.testing.assert_allclose(info.gaussian_logpdf(X, MU1, jnp.diag(jnp.asarray(d))), expected, **F64)


def test_entropy_worked_values():
    """By hand: H(N(0, 1)) = (1 + log 2 pi)/2; H(N(mu, diag d)) = sum of (1 + log(2 pi d_i))/2."""
    np.testing.assert_allclose(info.gaussian_entropy(jnp.array(1.0)), 0.5 * (1 + math.log(2 * math.pi)), **F64)
    d = [1.0, 2.0, 0.5]
    np.testing.assert_allclose(
        info.gaussian_entropy(jnp.diag(jnp.asarray(d))), sum(0.5 * (1 + math.log(2 * math.pi * di)) for di in d), **F64
    )


def test_kl_worked_values():
    """MEDL (B.9)-(B.11) by hand in 1-D: KL = log(s2/s1) + (s1^2 + (m1-m2)^2)/(2 s2^2) - 1/2."""
    m1, v1, m2, v2 = 1.0, 0.5, -0.5, 2.0
    expected = 0.5 * math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / (2 * v2) - 0.5
    args = tuple(jnp.array(a) for a in (m1, v1, m2, v2))
    np.testing.assert_allclose(info.gaussian_kl(*args), expected, **F64)
    np.testing.assert_allclose(info.gaussian_kl_isotropic(args[0], args[1], args[2], 2.0), expected, **F64)
    np.testing.assert_allclose(
        info.gaussian_kl_standard(jnp.array(m1), jnp.array(v1)), 0.5 * (m1**2 + v1 - 1 - math.log(v1)), **F64
    )
    # VAE form: mu = (1, 0), log var = (0, log 2): 1/2 [(1 + 1 - 1 - 0) + (0 + 2 - 1 - log 2)]
    got = info.gaussian_kl_diag(jnp.array([1.0, 0.0]), jnp.array([0.0, math.log(2.0)]))
    np.testing.assert_allclose(got, 0.5 * (1.0 + 1.0 - math.log(2.0)), **F64)


# ---------------------------------------------------------------- oracles


def test_logpdf_and_entropy_vs_scipy():
    """Oracle: scipy.stats.multivariate_normal and scipy.stats.norm."""
    from scipy.stats import multivariate_normal, norm

    mvn = multivariate_normal(np.asarray(MU1), np.asarray(S1))
    np.testing.assert_allclose(info.gaussian_logpdf(X, MU1, S1), mvn.logpdf(np.asarray(X)), **F64C)
    np.testing.assert_allclose(info.gaussian_entropy(S1), mvn.entropy(), **F64C)
    np.testing.assert_allclose(
        info.gaussian_logpdf(jnp.array(0.3), jnp.array(-1.0), jnp.array(0.25)), norm(-1.0, 0.5).logpdf(0.3), **F64
    )


def test_kl_vs_torch():
    """Oracle: torch.distributions.kl_divergence of MultivariateNormal and Normal distributions."""
    torch = need("torch")
    D = torch.distributions
    t = lambda a: torch.tensor(np.asarray(a))
    p = D.MultivariateNormal(t(MU1), covariance_matrix=t(S1))
    q = D.MultivariateNormal(t(MU2), covariance_matrix=t(S2))
    np.testing.assert_allclose(info.gaussian_kl(MU1, S1, MU2, S2), D.kl_divergence(p, q).item(), **F64C)
    q_iso = D.MultivariateNormal(t(MU2), covariance_matrix=0.7 * torch.eye(3, dtype=torch.float64))
    np.testing.assert_allclose(info.gaussian_kl_isotropic(MU1, S1, MU2, 0.7), D.kl_divergence(p, q_iso).item(), **F64C)
    std = D.MultivariateNormal(torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64))
    np.testing.assert_allclose(info.gaussian_kl_standard(MU1, S1), D.kl_divergence(p, std).item(), **F64C)
    mu = np.array([[0.3, -1.2], [2.0, 0.0]])
    lv = np.array([[0.1, -0.5], [1.5, 0.0]])
    ref = D.kl_divergence(D.Normal(t(mu), t(np.exp(0.5 * lv))), D.Normal(0.0, 1.0)).sum(-1).numpy()
    np.testing.assert_allclose(info.gaussian_kl_diag(jnp.asarray(mu), jnp.asarray(lv)), ref, **F64C)


def test_monte_carlo_vs_closed_form(getkey):
    """Oracle: the closed form (B.9) against kl_monte_carlo with 20000 samples; within 5 standard errors."""
    L1 = jnp.linalg.cholesky(S1)
    sample = lambda k: MU1 + L1 @ jax.random.normal(k, (3,))
    log_p = lambda x: info.gaussian_logpdf(x, MU1, S1)
    log_q = lambda x: info.gaussian_logpdf(x, MU2, S2)
    n = 20000
    est = jax.jit(lambda k: info.kl_monte_carlo(k, sample, log_p, log_q, num_samples=n))(getkey())
    exact = float(info.gaussian_kl(MU1, S1, MU2, S2))
    # standard error from independent NumPy samples (no mathdl code)
    rng = np.random.default_rng(0)
    xs = rng.multivariate_normal(np.asarray(MU1), np.asarray(S1), size=n)
    from scipy.stats import multivariate_normal

    lr = multivariate_normal(np.asarray(MU1), np.asarray(S1)).logpdf(xs) - multivariate_normal(
        np.asarray(MU2), np.asarray(S2)
    ).logpdf(xs)
    se = lr.std() / math.sqrt(n)
    assert abs(float(est) - exact) < 5 * se, (float(est), exact, se)
    assert abs(lr.mean() - exact) < 5 * se


# ---------------------------------------------------------------- transforms


@pytest.mark.slow  # compiles check_grads' jvp/vjp programs for every function (~10 s each on 2 shared cores)
@pytest.mark.parametrize(
    "fn,args",
    [
        (info.gaussian_logpdf, (X, MU1, S1)),
        (info.gaussian_entropy, (S1,)),
        (info.gaussian_kl, (MU1, S1, MU2, S2)),
        (info.gaussian_kl_isotropic, (MU1, S1, MU2, jnp.array(0.7))),
        (info.gaussian_kl_standard, (MU1, S1)),
        (info.gaussian_kl_diag, (MU1, MU2)),
    ],
)
def test_jit_vmap_check_grads(fn, args):
    """jit == eager; vmap over a batch == loop; check_grads order 2 with covariances parametrised as A A^T."""
    jfn = jax.jit(fn)
    np.testing.assert_allclose(jfn(*args), fn(*args), **F64)
    batch = tuple(jnp.stack([a, 1.5 * a if a.ndim < 2 else a + 0.2 * jnp.eye(a.shape[0])]) for a in args)
    looped = np.stack([jfn(*(b[i] for b in batch)) for i in range(2)])
    np.testing.assert_allclose(jax.jit(jax.vmap(fn))(*batch), looped, **F64)

    # perturbing a covariance entry alone breaks symmetry (NaN by design): differentiate through A -> A A^T
    def to_valid(a):
        return a @ a.T if a.ndim == 2 else a

    factors = tuple(jnp.linalg.cholesky(a) if a.ndim == 2 else a for a in args)
    check_grads(jax.jit(lambda *a: fn(*(to_valid(ai) for ai in a))), factors, order=2, modes=("rev",))


def test_grad_logpdf_is_analytic():
    """Analytic: d log N / dx = -Sigma^{-1}(x - mu); d/dmu = +Sigma^{-1}(x - mu)."""
    gx, gmu = jax.jit(jax.grad(info.gaussian_logpdf, argnums=(0, 1)))(X, MU1, S1)
    expected = -np.linalg.solve(np.asarray(S1), np.asarray(X - MU1))
    np.testing.assert_allclose(gx, expected, **F64C)
    np.testing.assert_allclose(gmu, -expected, **F64C)


def test_grad_kl_diag_is_analytic():
    """Analytic: d KL/d mu = mu, d KL/d log var = (exp(log var) - 1)/2."""
    mu = jnp.array([0.3, -2.0])
    lv = jnp.array([0.5, -1.0])
    gm, gl = jax.grad(lambda m, l: info.gaussian_kl_diag(m, l), argnums=(0, 1))(mu, lv)
    np.testing.assert_allclose(gm, mu, **F64)
    np.testing.assert_allclose(gl, 0.5 * np.expm1(np.asarray(lv)), **F64)


# ---------------------------------------------------------------- properties


@given(st.lists(st.floats(-2, 2), min_size=9, max_size=9), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_kl_properties(a, m):
    """Properties: KL >= 0, KL(p, p) = 0; (B.10)/(B.11) agree with (B.9) at Sigma_2 = s^2 I and N(0, I)."""
    S = jnp.asarray(spd(a))
    mu = jnp.asarray(m)
    kl = float(_kl(mu, S, MU2, S2))
    assert kl >= -1e-10
    np.testing.assert_allclose(_kl(mu, S, mu, S), 0.0, atol=1e-10)
    np.testing.assert_allclose(_kl_iso(mu, S, MU2, jnp.array(0.7)), _kl(mu, S, MU2, 0.7 * jnp.eye(3)), rtol=1e-10)
    np.testing.assert_allclose(_kl_std(mu, S), _kl(mu, S, jnp.zeros(3), jnp.eye(3)), rtol=1e-10, atol=1e-12)


def test_kl_diag_matches_standard_form_and_keeps_precision():
    """Property: gaussian_kl_diag == gaussian_kl_standard(diag(exp(log var))); tiny log var keeps relative accuracy."""
    mu = jnp.array([0.3, -1.0, 0.0])
    lv = jnp.array([0.2, -0.4, 1.0])
    np.testing.assert_allclose(
        info.gaussian_kl_diag(mu, lv), info.gaussian_kl_standard(mu, jnp.diag(jnp.exp(lv))), **F64C
    )
    # log var = 1e-9, mu = 0: exact KL = (expm1(t) - t)/2 = t^2/4 + ... = 2.5e-19
    got = float(info.gaussian_kl_diag(jnp.zeros(1), jnp.full(1, 1e-9)))
    np.testing.assert_allclose(got, 2.5e-19, rtol=1e-6)


def test_float32_preserved():
    """Dtype: float32 in, float32 out, close to float64."""
    args = (MU1, S1, MU2, S2)
    out = info.gaussian_kl(*(a.astype(jnp.float32) for a in args))
    assert out.dtype == jnp.float32
    # float32 Cholesky and triangular solves on a 3x3 matrix: ~1e-6 relative
    np.testing.assert_allclose(out, info.gaussian_kl(*args), rtol=1e-5)


# ---------------------------------------------------------------- bad and edge inputs

NOT_PD = jnp.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
SINGULAR = jnp.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
ASYM = jnp.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    "fn,args",
    [
        (info.gaussian_logpdf, (X, MU1, NOT_PD)),
        (info.gaussian_logpdf, (X, MU1, ASYM)),
        (info.gaussian_logpdf, (jnp.array(0.0), jnp.array(0.0), jnp.array(-1.0))),
        (info.gaussian_entropy, (SINGULAR,)),
        (info.gaussian_entropy, (jnp.array(0.0),)),
        (info.gaussian_kl, (MU1, S1, MU2, NOT_PD)),
        (info.gaussian_kl, (MU1, SINGULAR, MU2, S2)),
        (info.gaussian_kl, (MU1, S1, MU2, ASYM)),
        (info.gaussian_kl_isotropic, (MU1, S1, MU2, jnp.array(-0.5))),
        (info.gaussian_kl_isotropic, (MU1, ASYM, MU2, jnp.array(1.0))),
        (info.gaussian_kl_standard, (MU1, NOT_PD)),
        (info.gaussian_kl_standard, (MU1, jnp.full((3, 3), jnp.nan))),
    ],
)
def test_non_pd_covariance_gives_nan_and_raises_when_checked(fn, args):
    """a covariance that is not symmetric positive definite gives NaN; checks.checked raises."""
    assert np.isnan(fn(*args))
    with pytest.raises(
        checkify.JaxRuntimeError, match=r"info\.gaussian_\w+: argument `(cov|cov1|cov2|var2)` expected a"
    ):
        checks.checked(fn, nan=False)(*args)


def test_kl_diag_extremes():
    """Edge: log var = +-inf gives +inf KL (a degenerate or infinitely wide q), not a finite number; NaN stays NaN."""
    assert info.gaussian_kl_diag(jnp.zeros(2), jnp.array([0.0, -jnp.inf])) == np.inf
    assert info.gaussian_kl_diag(jnp.zeros(2), jnp.array([0.0, jnp.inf])) == np.inf
    assert np.isnan(info.gaussian_kl_diag(jnp.array([jnp.nan, 0.0]), jnp.zeros(2)))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (
            lambda: info.gaussian_logpdf(X, MU1, S1[:2, :2]),
            ValueError,
            r"gaussian_logpdf: argument `cov` expected shape \(3, 3\)",
        ),
        (lambda: info.gaussian_logpdf(X[:2], MU1, S1), ValueError, r"argument `x` expected shape \(3,\), got"),
        (lambda: info.gaussian_logpdf(X, MU1, jnp.array(1.0)), ValueError, r"argument `cov` expected shape \(3, 3\)"),
        (lambda: info.gaussian_logpdf(X, jnp.ones((3, 3)), S1), ValueError, r"argument `mu` expected rank in \(0, 1\)"),
        (lambda: info.gaussian_logpdf(X, MU1, S1.astype(jnp.float32)), TypeError, r"`cov` expected dtype float64"),
        (lambda: info.gaussian_logpdf(jnp.array([1, 2, 3]), MU1, S1), TypeError, r"`x` expected a floating-point"),
        (lambda: info.gaussian_logpdf(X.astype(jnp.float32), MU1, S1), TypeError, r"`x` expected dtype float64"),
        (
            lambda: info.gaussian_entropy(jnp.ones((2, 3))),
            ValueError,
            r"gaussian_entropy: argument `cov` expected a square",
        ),
        (lambda: info.gaussian_entropy(jnp.ones(3)), ValueError, r"argument `cov` expected rank in \(0, 2\)"),
        (lambda: info.gaussian_entropy(jnp.eye(2, dtype=jnp.int32)), TypeError, r"`cov` expected a floating"),
        (
            lambda: info.gaussian_entropy(jnp.zeros((0, 0))),
            ValueError,
            r"`cov` expected a square matrix \(m, m\) with m >= 1",
        ),
        (lambda: info.gaussian_entropy(jnp.ones((1, 2, 2))), ValueError, r"`cov` expected rank in \(0, 2\)"),
        (
            lambda: info.gaussian_kl(MU1, S1, MU2[:2], S2),
            ValueError,
            r"gaussian_kl: argument `mu2` expected shape \(3,\), got shape \(2,\)",
        ),
        (
            lambda: info.gaussian_kl(MU1, S1, MU2, S2[:2, :2]),
            ValueError,
            r"argument `cov2` expected shape \(3, 3\), got shape \(2, 2\)",
        ),
        (lambda: info.gaussian_kl(MU1, S1, MU2, S2.astype(jnp.float32)), TypeError, r"`cov2` expected dtype float64"),
        (lambda: info.gaussian_kl(jnp.array([1, 2]), S1, MU2, S2), TypeError, r"`mu1` expected a floating"),
        (
            lambda: info.gaussian_kl(jnp.zeros(0), jnp.zeros((0, 0)), jnp.zeros(0), jnp.zeros((0, 0))),
            ValueError,
            r"m >= 1",
        ),
        (
            lambda: info.gaussian_kl_isotropic(MU1, S1, MU2, jnp.ones(3)),
            ValueError,
            r"argument `var2` expected shape \(\)",
        ),
        (lambda: info.gaussian_kl_isotropic(MU1, S1, MU2[:1], 1.0), ValueError, r"`mu2` expected shape \(3,\)"),
        (
            lambda: info.gaussian_kl_isotropic(MU1, S1, MU2, jnp.array(1.0, jnp.float32)),
            TypeError,
            r"`var2` expected dtype",
        ),
        (lambda: info.gaussian_kl_isotropic(MU1, S1[0], MU2, 1.0), ValueError, r"`cov1` expected shape \(3, 3\)"),
        (lambda: info.gaussian_kl_isotropic(MU1, S1, MU2, jnp.array(1)), TypeError, r"`var2` expected dtype float64"),
        (
            lambda: info.gaussian_kl_standard(MU1, S1[:2]),
            ValueError,
            r"gaussian_kl_standard: argument `cov1` expected shape",
        ),
        (lambda: info.gaussian_kl_standard(MU1[None], S1), ValueError, r"`mu1` expected rank in \(0, 1\)"),
        (lambda: info.gaussian_kl_standard(MU1.astype(jnp.float32), S1), TypeError, r"`cov1` expected dtype float32"),
        (lambda: info.gaussian_kl_standard(jnp.array(1), jnp.array(1)), TypeError, r"`mu1` expected a floating"),
        (lambda: info.gaussian_kl_standard(jnp.array(0.0), jnp.eye(1)), ValueError, r"`cov1` expected shape \(\)"),
        (
            lambda: info.gaussian_kl_diag(jnp.array(1.0), jnp.array(0.0)),
            ValueError,
            r"gaussian_kl_diag: argument `mu` expected",
        ),
        (lambda: info.gaussian_kl_diag(MU1, MU1[:2]), ValueError, r"argument `log_var` expected shape \(3,\)"),
        (lambda: info.gaussian_kl_diag(MU1, MU1.astype(jnp.float32)), TypeError, r"`log_var` expected dtype float64"),
        (lambda: info.gaussian_kl_diag(jnp.array([1, 2]), jnp.array([1, 2])), TypeError, r"`mu` expected a floating"),
        (lambda: info.gaussian_kl_diag(MU1, MU1[None]), ValueError, r"`log_var` expected shape \(3,\)"),
    ],
)
def test_bad_static_inputs(call, exc, match):
    """Static problems raise at trace time with function, argument, expected and got."""
    with pytest.raises(exc, match=match):
        call()


def _mc(key, n, sample=lambda k: jax.random.normal(k), lp=lambda x: -0.5 * x**2, lq=lambda x: -0.5 * x**2):
    return info.kl_monte_carlo(key, sample, lp, lq, num_samples=n)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda k: _mc(k, 0), ValueError, r"`num_samples` expected an int >= 1, got 0"),
        (lambda k: _mc(k, 10.0), TypeError, r"`num_samples` expected a Python int >= 1, got 'float'"),
        (lambda k: _mc(k, True), TypeError, r"`num_samples` expected a Python int"),
        (lambda k: _mc(jnp.zeros(3), 10), TypeError, r"`key` expected a typed PRNG key \(jax.random.key\(seed\)\)"),
        (lambda k: _mc(jax.random.PRNGKey(0), 10), TypeError, r"`key` expected a typed PRNG key.*a raw key"),
        (lambda k: _mc(k, 10, sample=None), TypeError, r"`sample_p` expected a callable"),
        (lambda k: _mc(k, 10, lq="q"), TypeError, r"`log_q` expected a callable, got 'str'"),
    ],
)
def test_kl_monte_carlo_bad_inputs(getkey, call, exc, match):
    """Static problems of kl_monte_carlo raise naming info.kl_monte_carlo and the argument."""
    with pytest.raises(exc, match="info.kl_monte_carlo: argument " + match):
        call(getkey())


def test_kl_monte_carlo_worked_and_transforms(getkey):
    """Worked: p = q gives exactly 0; jit == eager for equal keys; vmap over keys == loop; KL(N(0,1)||N(1,1)) ~ 1/2."""
    assert float(_mc(getkey(), 8)) == 0.0
    lq = lambda x: -0.5 * (x - 1.0) ** 2  # KL(N(0,1) || N(1,1)) = 1/2 exactly
    jitted = jax.jit(lambda k: _mc(k, 4000, lq=lq))
    eager = _mc(jax.random.key(7), 4000, lq=lq)  # two keys built from one seed: equal values, no reuse
    np.testing.assert_allclose(jitted(jax.random.key(7)), eager, **F64)
    assert eager.shape == () and abs(float(eager) - 0.5) < 5 / math.sqrt(4000)  # the log ratio has std 1
    f = jax.jit(lambda k: _mc(k, 16, lq=lq))
    batched = jax.vmap(f)(jax.random.split(jax.random.key(3), 3))
    looped = [f(k) for k in jax.random.split(jax.random.key(3), 3)]
    np.testing.assert_allclose(batched, looped, **F64)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    """float16/bfloat16 (no LAPACK Cholesky) are factorised in float32 and returned in their dtype: equal to the
    float32 result rounded to the dtype, for the log-density, the entropy and every KL."""
    mu1, mu2 = jnp.array([0.5, -1.0]), jnp.array([0.0, 0.25])
    S1, S2 = jnp.array([[2.0, 0.3], [0.3, 1.0]]), jnp.array([[1.0, -0.2], [-0.2, 0.5]])
    calls = [
        (info.gaussian_logpdf, (mu2, mu1, S1)),
        (info.gaussian_entropy, (S1,)),
        (info.gaussian_kl, (mu1, S1, mu2, S2)),
        (info.gaussian_kl_isotropic, (mu1, S1, mu2, jnp.array(2.0))),
        (info.gaussian_kl_standard, (mu1, S1)),
    ]
    for fn, args in calls:
        low = tuple(a.astype(dtype) for a in args)
        got = fn(*low)
        want = fn(*(a.astype(jnp.float32) for a in low))  # the same (rounded) inputs, in float32
        assert got.dtype == dtype, fn.__name__
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want.astype(dtype), np.float64), rtol=0)


def test_lists_are_accepted():
    """Python lists are array-likes: log N(0; 0, 1) = -log(2 pi)/2 and KL(N(1, 1) || N(0, 1)) = 1/2 (worked values)."""
    np.testing.assert_allclose(info.gaussian_logpdf(0.0, 0.0, 1.0), -0.5 * math.log(2 * math.pi), **F64)
    np.testing.assert_allclose(info.gaussian_kl([1.0], [[1.0]], [0.0], [[1.0]]), 0.5, **F64)


def test_batched_kl_uses_one_factorisation_and_no_triangular_solve():
    """The vmapped KL (the benchmark's form) holds ONE Cholesky (both covariances stacked: two independent batched
    LAPACK calls deadlocked on 2 cores) and no triangular_solve (XLA's CPU matrix solve stalls there)."""
    m = 4
    S = jnp.eye(m)[None].repeat(8, 0)

    def primitives(jaxpr):  # every primitive, also inside pjit/scan/while bodies
        for eqn in jaxpr.eqns:
            yield eqn.primitive.name
            for v in eqn.params.values():
                for sub in v if isinstance(v, tuple | list) else (v,):
                    sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr holds its Jaxpr
                    if hasattr(sub, "eqns"):
                        yield from primitives(sub)

    closed = jax.make_jaxpr(jax.vmap(info.gaussian_kl))(jnp.zeros((8, m)), S, jnp.ones((8, m)), S)
    names = list(primitives(closed.jaxpr))
    assert names.count("cholesky") == 1 and "triangular_solve" not in names
    np.testing.assert_allclose(jax.jit(jax.vmap(info.gaussian_kl))(jnp.zeros((8, m)), S, jnp.ones((8, m)), S), 2.0)
