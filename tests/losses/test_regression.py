"""Regression losses and noise-model NLLs: worked values, oracles, transforms, the MLE link, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import checks
from mathdl import losses as L
from tests._oracles import need
from tests._tolerances import tol

Y_HAT = np.array([0.3, -1.2, 2.5, 0.0, 4.0, -0.1])
Y = np.array([0.0, 1.0, 2.0, 0.7, -1.0, -0.1])

# name -> (loss with its keywords, analytic d loss / d y_hat)
LOSSES = {
    "squared": (L.squared_error, lambda r: 2 * r),
    "squared_half": (lambda a, b: L.squared_error(a, b, half=True), lambda r: r),
    "absolute": (L.absolute_error, np.sign),
    "huber": (lambda a, b: L.huber(a, b, delta=1.5), lambda r: np.clip(r, -1.5, 1.5)),
    "gaussian_nll": (lambda a, b: L.gaussian_nll(a, b, sigma=2.0), lambda r: r / 4.0),
    "laplace_nll": (lambda a, b: L.laplace_nll(a, b, b=0.5), lambda r: np.sign(r) / 0.5),
}


# ---------------------------------------------------------------- (1) worked values


def test_worked_values():
    """By hand ([MEDL] Sec. 2.3, Fig. 2.6; D2L MLE notes): r = ŷ − y = 2 gives r² = 4, ½r² = 2, |r| = 2;
    Huber(δ=1): r = 0.5 → 0.125, r = 3 → 2.5; Gaussian σ = 2: ½log(8π) + ½; Laplace b = 2: log 4 + 1."""
    a, b = jnp.array([3.0]), jnp.array([1.0])
    assert float(L.squared_error(a, b)[0]) == 4.0
    assert float(L.squared_error(a, b, half=True)[0]) == 2.0
    assert float(L.absolute_error(a, b)[0]) == 2.0
    np.testing.assert_allclose(L.huber(jnp.array([0.5, 3.0, -3.0]), jnp.zeros(3)), [0.125, 2.5, 2.5])
    assert float(L.gaussian_nll(a, b, sigma=2.0)[0]) == pytest.approx(0.5 * math.log(8 * math.pi) + 0.5, rel=1e-15)
    assert float(L.laplace_nll(a, b, b=2.0)[0]) == pytest.approx(math.log(4.0) + 1.0, rel=1e-15)


# ---------------------------------------------------------------- (2) oracles


def test_against_optax():
    """Oracle: optax.losses.squared_error and huber_loss (elementwise, no reduction)."""
    a, b = jnp.asarray(Y_HAT), jnp.asarray(Y)
    np.testing.assert_allclose(L.squared_error(a, b), optax.losses.squared_error(a, b), **tol(np.float64))
    for d in (0.5, 1.0, 3.0):
        np.testing.assert_allclose(L.huber(a, b, delta=d), optax.losses.huber_loss(a, b, delta=d), **tol(np.float64))


def test_against_scipy_stats():
    """Oracle: −scipy.stats.norm.logpdf(y; ŷ, σ) and −scipy.stats.laplace.logpdf(y; ŷ, b),
    with scalar and per-example scales."""
    a, b = jnp.asarray(Y_HAT), jnp.asarray(Y)
    np.testing.assert_allclose(
        L.gaussian_nll(a, b, sigma=0.7), -scipy.stats.norm.logpdf(Y, Y_HAT, 0.7), **tol(np.float64)
    )
    np.testing.assert_allclose(
        L.laplace_nll(a, b, b=1.3), -scipy.stats.laplace.logpdf(Y, Y_HAT, 1.3), **tol(np.float64)
    )
    s = np.linspace(0.5, 3.0, 6)
    np.testing.assert_allclose(
        L.gaussian_nll(a, b, sigma=jnp.asarray(s)), -scipy.stats.norm.logpdf(Y, Y_HAT, s), **tol(np.float64)
    )
    np.testing.assert_allclose(
        L.laplace_nll(a, b, b=jnp.asarray(s)), -scipy.stats.laplace.logpdf(Y, Y_HAT, s), **tol(np.float64)
    )


def test_against_torch():
    """Oracle: torch.nn.functional mse_loss, l1_loss, huber_loss, gaussian_nll_loss(full=True), reduction='none'."""
    torch = need("torch")
    F = torch.nn.functional
    ta, tb = torch.tensor(Y_HAT), torch.tensor(Y)
    a, b = jnp.asarray(Y_HAT), jnp.asarray(Y)
    np.testing.assert_allclose(L.squared_error(a, b), F.mse_loss(ta, tb, reduction="none").numpy(), **tol(np.float64))
    np.testing.assert_allclose(L.absolute_error(a, b), F.l1_loss(ta, tb, reduction="none").numpy(), **tol(np.float64))
    np.testing.assert_allclose(
        L.huber(a, b, delta=0.8), F.huber_loss(ta, tb, reduction="none", delta=0.8).numpy(), **tol(np.float64)
    )
    var = torch.full_like(ta, 0.7**2)
    expect = F.gaussian_nll_loss(ta, tb, var, full=True, eps=0.0, reduction="none").numpy()
    np.testing.assert_allclose(L.gaussian_nll(a, b, sigma=0.7), expect, **tol(np.float64))


# ---------------------------------------------------------------- (3) transforms


@pytest.mark.parametrize("name", list(LOSSES))
def test_grad_equals_analytic(name):
    """jax.grad w.r.t. ŷ equals the analytic derivative: 2r, r, sign r, clip(r, ±δ), r/σ², sign(r)/b."""
    f, df = LOSSES[name]
    g = jax.vmap(jax.grad(lambda a, b: f(a, b)))(jnp.asarray(Y_HAT), jnp.asarray(Y))
    np.testing.assert_allclose(g, df(Y_HAT - Y), **tol(np.float64))


@pytest.mark.parametrize("name", list(LOSSES))
def test_jit_vmap_batch(name, transform):
    """jit == eager; vmap == a Python loop; leading batch dims (2, 3) are kept (no hidden reduction)."""
    f, _ = LOSSES[name]
    a, b = jnp.asarray(Y_HAT), jnp.asarray(Y)
    loop = [float(f(a[i : i + 1], b[i : i + 1])[0]) for i in range(6)]
    np.testing.assert_allclose(transform(f)(a, b), loop, **tol(np.float64))
    np.testing.assert_allclose(transform(jax.vmap(f))(a, b), loop, **tol(np.float64))
    out = transform(f)(a.reshape(2, 3), b.reshape(2, 3))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.reshape(-1), loop, **tol(np.float64))


@pytest.mark.slow  # second-order check_grads / many compositions: ~10-60 s on a loaded 2-core box
@pytest.mark.parametrize("name", list(LOSSES))
def test_check_grads(name):
    """check_grads to order 2 in float64, in both arguments (residuals away from the kinks at 0 and ±δ)."""
    f, _ = LOSSES[name]
    a, b = jnp.array([0.3, -2.0, 2.6]), jnp.array([0.9, 0.1, 0.2])
    check_grads(f, (a, b), order=2)
    if name == "gaussian_nll":  # and in σ
        check_grads(lambda s: L.gaussian_nll(a, b, sigma=s), (jnp.array([0.5, 1.0, 2.0]),), order=2)


# ---------------------------------------------------------------- (4) properties: the MLE link


def test_mle_location_gaussian_is_mean_laplace_is_median():
    """D2L notes (MLE): minimising the mean Gaussian NLL over a constant location gives the sample mean;
    the mean Laplace NLL gives the sample median (odd n, unique). Minimised by scipy's bounded Brent."""
    y = jnp.asarray(np.random.default_rng(0).standard_t(3, size=31))

    def mean_nll(c, nll, **kw):
        return float(jnp.mean(nll(jnp.full_like(y, c), y, **kw)))

    g = scipy.optimize.minimize_scalar(mean_nll, bounds=(-10, 10), args=(L.gaussian_nll,), options={"xatol": 1e-10})
    lap = scipy.optimize.minimize_scalar(mean_nll, bounds=(-10, 10), args=(L.laplace_nll,), options={"xatol": 1e-10})
    assert g.x == pytest.approx(float(np.mean(y)), abs=1e-7)
    assert lap.x == pytest.approx(float(np.median(y)), abs=1e-7)
    # and the gradient of the mean Gaussian NLL vanishes exactly at the mean
    grad_at_mean = jax.grad(lambda c: jnp.mean(L.gaussian_nll(jnp.full_like(y, c), y, sigma=1.7)))(jnp.mean(y))
    assert abs(float(grad_at_mean)) < 1e-14


@settings(max_examples=20)
@given(st.floats(-50, 50), st.floats(-50, 50), st.floats(0.1, 10))
def test_affine_links_and_symmetry(a, b, s):
    """Gaussian NLL = ½log(2πσ²) + ½r²/σ² (affine in the squared error); Laplace NLL = log 2b + |r|/b;
    every loss is symmetric in (ŷ, y), non-negative (except the NLLs), and Huber ≤ ½r² and ≤ δ|r|."""
    A, B = jnp.array([a]), jnp.array([b])
    se = float(L.squared_error(A, B, half=True)[0])
    np.testing.assert_allclose(
        L.gaussian_nll(A, B, sigma=s), 0.5 * math.log(2 * math.pi * s * s) + se / s**2, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        L.laplace_nll(A, B, b=s), math.log(2 * s) + float(L.absolute_error(A, B)[0]) / s, rtol=1e-12, atol=1e-12
    )
    for f in (L.squared_error, L.absolute_error, L.huber):
        assert float(f(A, B)[0]) == float(f(B, A)[0]) >= 0
    h = float(L.huber(A, B, delta=s)[0])
    assert h <= se * (1 + 1e-12) and h <= s * abs(a - b) * (1 + 1e-12) + 1e-12


# ---------------------------------------------------------------- bad and edge inputs

ALL = [L.squared_error, L.absolute_error, L.huber, L.gaussian_nll, L.laplace_nll]


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_shape_and_dtype_errors(f):
    """Bad input: (n, 1) against (n,) is refused (no silent broadcasting), integer arrays, mixed float32/float64,
    strings and None raise, each naming the function and the argument."""
    q = f"losses.{f.__name__}"
    with pytest.raises(ValueError, match=rf"^{q}: argument `y` expected shape \(3, 1\), got shape \(3,\)\.$"):
        f(jnp.ones((3, 1)), jnp.ones(3))
    np.testing.assert_allclose(f([1.0, 2.0], [1.0, 2.5]), f(jnp.array([1.0, 2.0]), jnp.array([1.0, 2.5])))  # lists
    with pytest.raises(TypeError, match=rf"^{q}: argument `y_hat` expected a floating-point array, got '?dtype int64"):
        f(jnp.array([1, 2]), jnp.ones(2))
    with pytest.raises(
        TypeError, match=rf"^{q}: argument `y` expected the dtype of `y_hat` \(float32\), got '?dtype float64"
    ):
        f(jnp.ones(2, jnp.float32), jnp.ones(2))
    with pytest.raises(TypeError, match=rf"^{q}: argument `y` expected a floating-point array, got '?str'?\.$"):
        f(jnp.ones(2), "1.0")
    with pytest.raises(
        TypeError, match=rf"^{q}: argument `y_hat` expected a floating-point array, got '?NoneType'?\.$"
    ):
        f(None, jnp.ones(2))


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_non_finite_values(f):
    """Edge: NaN propagates; an infinite residual gives +inf (never a finite number); float32 stays float32;
    empty batches stay empty."""
    out = f(jnp.array([jnp.nan, jnp.inf, 1.0]), jnp.array([0.0, 0.0, jnp.inf]))
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == np.inf
    assert f(jnp.ones(2, jnp.float32), jnp.zeros(2, jnp.float32)).dtype == jnp.float32
    assert f(jnp.zeros((0, 2)), jnp.zeros((0, 2))).shape == (0, 2)


def test_hyperparameter_errors():
    """Bad configuration: half not a bool; delta <= 0, inf or a string; sigma/b <= 0, NaN, or an array of the
    wrong shape; array scales with a non-positive entry give NaN there and raise in checked mode."""
    a, b = jnp.ones(3), jnp.zeros(3)
    with pytest.raises(TypeError, match=r"^losses.squared_error: argument `half` expected a bool, got 1\.$"):
        L.squared_error(a, b, half=1)
    with pytest.raises(ValueError, match=r"^losses.huber: argument `delta` expected a value > 0, got 0\.$"):
        L.huber(a, b, delta=0)
    with pytest.raises(ValueError, match=r"^losses.huber: argument `delta` expected a finite value, got inf\.$"):
        L.huber(a, b, delta=math.inf)
    with pytest.raises(TypeError, match=r"^losses.huber: argument `delta` expected a real number, got '?str'?\.$"):
        L.huber(a, b, delta="1")
    with pytest.raises(ValueError, match=r"^losses.gaussian_nll: argument `sigma` expected a value > 0, got -1\.0\.$"):
        L.gaussian_nll(a, b, sigma=-1.0)
    with pytest.raises(ValueError, match=r"^losses.laplace_nll: argument `b` expected a finite value, got nan\.$"):
        L.laplace_nll(a, b, b=math.nan)
    with pytest.raises(
        ValueError, match=r"^losses.gaussian_nll: argument `sigma` expected a scalar or shape \(3,\), got"
    ):
        L.gaussian_nll(a, b, sigma=jnp.ones(2))
    s = jnp.array([1.0, 0.0, -2.0])
    out = L.gaussian_nll(a, b, sigma=s)
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
    assert np.isnan(L.laplace_nll(a, b, b=s)[1])
    with pytest.raises(Exception, match=r"losses.gaussian_nll: argument `sigma` expected values > 0"):
        checks.checked(lambda s: L.gaussian_nll(a, b, sigma=s))(s)
