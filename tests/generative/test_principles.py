"""Tests for the exact latent-variable toys and the gradient estimators (mathdl.generative._principles)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy import stats

from mathdl import data
from mathdl import generative as G


def _model(getkey, p=3, m=2):
    W = jax.random.normal(getkey(), (p, m))
    b = jax.random.normal(getkey(), (p,))
    return G.LinearGaussianModel(W, b, jnp.asarray(0.5))


def test_linear_gaussian_worked_value():
    """Worked value: p = m = 1, W = 1, b = 0, sigma^2 = 1: p(x) = N(0, 2), p(z|x) = N(x/2, 1/2)."""
    model = G.LinearGaussianModel(jnp.ones((1, 1)), jnp.zeros(1), jnp.asarray(1.0))
    x = jnp.asarray([2.0])
    assert float(G.linear_gaussian_log_marginal(model, x)) == pytest.approx(-0.5 * np.log(4 * np.pi) - 1.0, rel=1e-14)
    mean, cov = G.linear_gaussian_posterior(model, x)
    np.testing.assert_allclose(np.asarray(mean), [1.0], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(cov), [[0.5]], rtol=1e-14)
    # Bayes: log p(x, z) - log p(z | x) = log p(x) at any z
    z = jnp.asarray([0.3])
    bayes = G.linear_gaussian_log_joint(model, x, z) - stats.norm(1.0, np.sqrt(0.5)).logpdf(0.3)
    assert float(bayes) == pytest.approx(-0.5 * np.log(4 * np.pi) - 1.0, rel=1e-13)


def test_linear_gaussian_against_scipy_and_conditioning(getkey):
    """Oracles: scipy multivariate_normal for log p(x); Gaussian conditioning of the joint for p(z|x)."""
    model = _model(getkey)
    x = jax.random.normal(getkey(), (3,))
    W, b, s2 = (np.asarray(a) for a in model)
    C = W @ W.T + s2 * np.eye(3)
    want = stats.multivariate_normal(b, C).logpdf(np.asarray(x))
    np.testing.assert_allclose(float(jax.jit(G.linear_gaussian_log_marginal)(model, x)), want, rtol=1e-12)
    mean, cov = jax.jit(G.linear_gaussian_posterior)(model, x)
    K = W.T @ np.linalg.inv(C)  # cov(z, x) cov(x)^-1
    np.testing.assert_allclose(np.asarray(mean), K @ (np.asarray(x) - b), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(cov), np.eye(2) - K @ W, rtol=1e-10, atol=1e-12)
    # vmap over a batch of observations, and a second-order gradient check of the evidence in x
    X = jax.random.normal(getkey(), (4, 3))
    batch = jax.vmap(G.linear_gaussian_log_marginal, in_axes=(None, 0))(model, X)
    np.testing.assert_allclose(np.asarray(batch), stats.multivariate_normal(b, C).logpdf(np.asarray(X)), rtol=1e-12)
    check_grads(jax.jit(lambda v: G.linear_gaussian_log_marginal(model, v)), (x,), order=2, modes=["rev"])


def test_elbo_gap_is_the_kl_to_the_posterior(getkey):
    """log p(x) - ELBO(q) = KL(q || p(z|x)) within Monte Carlo error; zero gap and zero variance at q = posterior."""
    model = _model(getkey)
    x = jax.random.normal(getkey(), (3,))
    gap = jax.jit(lambda k, m, c: G.elbo_gap(k, model, x, m, c, num_samples=4000))
    post_mean, post_cov = G.linear_gaussian_posterior(model, x)
    q_mean, q_cov = post_mean + 0.7, 0.3 * jnp.eye(2)
    r = gap(getkey(), q_mean, q_cov)
    assert float(r.kl) > 0.1
    assert abs(float(r.log_evidence - r.kl - r.elbo)) < 4 * float(r.elbo_std_error)
    exact = gap(getkey(), post_mean, post_cov)
    np.testing.assert_allclose(float(exact.elbo), float(exact.log_evidence), rtol=1e-10)
    assert float(exact.kl) == pytest.approx(0.0, abs=1e-10) and float(exact.elbo_std_error) < 1e-10


def test_mixture_posterior_responsibilities():
    """Worked value: two equal modes, x halfway: (1/2, 1/2); oracle: Bayes' rule with scipy densities."""
    m = data.gaussian_ring_mixture(num_modes=2, radius=1.0, std=0.5)
    np.testing.assert_allclose(np.asarray(G.mixture_posterior(m, jnp.asarray([0.0, 0.3]))), [0.5, 0.5], rtol=1e-14)
    x = np.asarray([0.4, -0.1])
    dens = np.array([stats.multivariate_normal(mu, 0.25 * np.eye(2)).pdf(x) for mu in np.asarray(m.means)])
    got = jax.jit(G.mixture_posterior)(m, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), dens / dens.sum(), rtol=1e-12)


def test_reparameterization_and_score_function_agree_with_smaller_variance(getkey):
    """E[f(z)] = sum(mu^2 + sigma^2) for f(z) = |z|^2: gradient (2 mu, 2 sigma^2); both estimators unbiased,
    the reparameterised one with the smaller variance."""
    mu = jnp.asarray([0.5, -1.0])
    log_sigma = jnp.log(jnp.asarray([0.8, 0.3]))
    N = 20000
    est = jax.jit(lambda k: G.gradient_estimators(k, lambda z: jnp.sum(z * z), mu, log_sigma, num_samples=N))(getkey())
    want = np.stack([2 * np.asarray(mu), 2 * np.exp(2 * np.asarray(log_sigma))])
    for g in (est.reparameterization, est.score_function):
        g = np.asarray(g)
        assert g.shape == (N, 2, 2)
        se = g.std(0, ddof=1) / np.sqrt(N)
        assert np.all(np.abs(g.mean(0) - want) < 4.5 * se)
    var_rep = np.asarray(est.reparameterization).var(0)
    var_sf = np.asarray(est.score_function).var(0)
    assert np.all(var_rep < var_sf)
    # the reparameterised mu-gradient is 2 z exactly: variance 4 sigma^2
    np.testing.assert_allclose(var_rep[0], 4 * np.exp(2 * np.asarray(log_sigma)), rtol=0.05)


def test_principles_bad_inputs(getkey):
    """Clear errors naming the argument: shapes, counts, callables, mixture type."""
    model = _model(getkey)
    with pytest.raises(ValueError, match="x"):
        G.linear_gaussian_log_marginal(model, jnp.zeros(4))
    with pytest.raises(ValueError, match="z"):
        G.linear_gaussian_log_joint(model, jnp.zeros(3), jnp.zeros(3))
    with pytest.raises(ValueError, match="num_samples"):
        G.elbo_gap(getkey(), model, jnp.zeros(3), jnp.zeros(2), jnp.eye(2), num_samples=1)
    with pytest.raises(ValueError, match="log_sigma"):
        G.gradient_estimators(getkey(), jnp.sum, jnp.zeros(2), jnp.zeros(3))
    with pytest.raises(TypeError, match="f"):
        G.gradient_estimators(getkey(), 3.0, jnp.zeros(2), jnp.zeros(2))
    with pytest.raises(TypeError, match="mixture"):
        G.mixture_posterior((jnp.zeros((2, 2)), jnp.ones(2), 1.0), jnp.zeros(2))
