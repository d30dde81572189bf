"""The DDPM as a hierarchical VAE: each step's KL equals the weighted noise error, the prior and last decoder terms
against independent formulas, x0- and epsilon-predictions agree, and on Gaussian data with its exact denoiser the
terms sum to a bound below the model's exact log-likelihood (a linear-Gaussian reverse chain)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from mathdl import generative as G
from mathdl.info import gaussian_kl_diag
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)
M, S = 0.7, 0.5  # data N(M, S^2) per coordinate


def _exact_eps(sched, z, t):
    """E[eps | z_t] for x ~ N(M, S^2 I): sqrt(1 - ab) (z - sqrt(ab) M) / (ab S^2 + 1 - ab)."""
    ab = sched.alpha_bars[t]
    return jnp.sqrt(1 - ab) * (z - jnp.sqrt(ab) * M) / (ab * S**2 + 1 - ab)


def _wiggly(z, t):
    return jnp.tanh(z) * (1 + 0.1 * t.astype(z.dtype)) - 0.2


def test_terms_against_their_formulas():
    """Worked identity: with sigma_t^2 = beta_tilde_t, L_{t-1} = beta_t^2 / (2 beta_tilde_t alpha_t (1 - ab_t))
    ||eps - eps_hat||^2 with eps drawn from split(key, T)[t]; L_T is the diagonal-Gaussian KL of mathdl.info;
    L_0 is -log N(x; mu_theta(z_1), beta_1) by scipy; nelbo is their sum."""
    sched = G.ddpm_schedule(5, beta_1=0.05, beta_T=0.4)
    x = jnp.array([0.3, -1.1, 0.8])
    key = functools.partial(jax.random.key, 4)  # the same key twice: the function's and the oracle's
    out = G.ddpm_elbo_terms(key(), _wiggly, sched, x)
    b, a, ab = (np.asarray(v) for v in sched)
    keys = jax.random.split(key(), 5)
    want = []
    for t in range(1, 5):
        eps = np.asarray(jax.random.normal(keys[t], (3,)))
        z = np.sqrt(ab[t]) * x + np.sqrt(1 - ab[t]) * eps
        eps_hat = np.asarray(_wiggly(jnp.asarray(z), jnp.int32(t)))
        bt = (1 - ab[t - 1]) / (1 - ab[t]) * b[t]
        want.append(b[t] ** 2 / (2 * bt * a[t] * (1 - ab[t])) * np.sum((eps - eps_hat) ** 2))
    np.testing.assert_allclose(out.steps, want, **TOL)
    prior = gaussian_kl_diag(np.sqrt(ab[-1]) * x, jnp.full(3, np.log(1 - ab[-1])))
    np.testing.assert_allclose(out.prior, prior, **TOL)
    eps = np.asarray(jax.random.normal(keys[0], (3,)))
    z1 = np.sqrt(ab[0]) * x + np.sqrt(1 - ab[0]) * eps
    mu = (z1 - b[0] / np.sqrt(1 - ab[0]) * np.asarray(_wiggly(jnp.asarray(z1), jnp.int32(0)))) / np.sqrt(a[0])
    np.testing.assert_allclose(out.reconstruction, -scipy.stats.norm(mu, np.sqrt(b[0])).logpdf(x).sum(), **TOL)
    np.testing.assert_allclose(out.nelbo, out.prior + out.steps.sum() + out.reconstruction, **TOL)
    beta = G.ddpm_elbo_terms(key(), _wiggly, sched, x, variance="beta")
    assert np.all(np.asarray(beta.steps) >= 0) and beta.steps.shape == (4,)


def test_predictions_agree_and_jit():
    """Property: an x0-prediction equal to the one the exact eps implies gives the same terms (under jit; the
    bound test below runs jit(vmap))."""
    sched = G.ddpm_schedule(6, beta_1=0.02, beta_T=0.3)
    x = jnp.array([0.1, 1.2])
    eps_fn = functools.partial(_exact_eps, sched)

    def x0_fn(z, t):
        ab = sched.alpha_bars[t]
        return (z - jnp.sqrt(1 - ab) * eps_fn(z, t)) / jnp.sqrt(ab)

    terms = jax.jit(G.ddpm_elbo_terms, static_argnums=(1,), static_argnames=("prediction",))
    e = terms(jax.random.key(1), eps_fn, sched, x)
    o = terms(jax.random.key(1), x0_fn, sched, x, prediction="x0")
    for u, v in zip(e, o, strict=True):
        np.testing.assert_allclose(u, v, **TOL)


def _exact_log_likelihood(sched, x):
    """log p_theta(x) of the reverse chain with the exact (linear) denoiser: z_T ~ N(0, 1), z_{t-1} = A z_t + C +
    sigma_t xi (sigma^2 = beta_tilde_t, beta_1 at the last step), a Gaussian whose mean and variance recur."""
    b, a, ab = (np.asarray(v) for v in sched)
    mean, var = 0.0, 1.0
    for t in range(len(b) - 1, -1, -1):
        c = np.sqrt(1 - ab[t]) / (ab[t] * S**2 + 1 - ab[t])
        k = b[t] / np.sqrt(1 - ab[t]) * c
        A, C = (1 - k) / np.sqrt(a[t]), k * np.sqrt(ab[t]) * M / np.sqrt(a[t])
        s2 = (1 - ab[t - 1]) / (1 - ab[t]) * b[t] if t > 0 else b[0]
        mean, var = A * mean + C, A * A * var + s2
    return scipy.stats.norm(mean, np.sqrt(var)).logpdf(np.asarray(x)).sum()


def test_bound_below_the_exact_log_likelihood():
    """Property: for x ~ N(0.7, 0.5^2) data and its exact denoiser (T = 50), the mean of 4000 draws of -nelbo lies
    below the model's exact log p_theta(x) by more than 5 standard errors and within 1 nat of it, and log p_theta(x)
    is within 0.1 nats of the data's log-density (the fixed variances beta_tilde make the model slightly narrower)."""
    sched = G.ddpm_schedule(50, beta_1=1e-2, beta_T=0.2)
    x = jnp.array([0.2, 1.0])
    f = jax.jit(jax.vmap(lambda k: G.ddpm_elbo_terms(k, functools.partial(_exact_eps, sched), sched, x).nelbo))
    elbo = -np.asarray(f(jax.random.split(jax.random.key(0), 4000)))
    se = elbo.std() / np.sqrt(elbo.size)
    log_p = _exact_log_likelihood(sched, x)
    assert log_p - 1 < elbo.mean() < log_p - 5 * se, (elbo.mean(), se, log_p)
    np.testing.assert_allclose(log_p, scipy.stats.norm(M, S).logpdf(np.asarray(x)).sum(), atol=0.1)


def test_bad_inputs():
    """Bad input: a one-step schedule, an unknown variance or prediction, and a non-callable denoiser."""
    x = jnp.zeros(2)
    with pytest.raises(
        ValueError, match=r"generative.ddpm_elbo_terms: argument `schedule` expected a schedule of T >= 2"
    ):
        G.ddpm_elbo_terms(jax.random.key(0), _wiggly, G.ddpm_schedule(1), x)
    with pytest.raises(ValueError, match="argument `variance` expected one of"):
        G.ddpm_elbo_terms(jax.random.key(0), _wiggly, G.ddpm_schedule(3), x, variance="learned")
    with pytest.raises(ValueError, match="argument `prediction` expected one of"):
        G.ddpm_elbo_terms(jax.random.key(0), _wiggly, G.ddpm_schedule(3), x, prediction="score")
    with pytest.raises(TypeError, match="argument `denoiser` expected a callable"):
        G.ddpm_elbo_terms(jax.random.key(0), 3.0, G.ddpm_schedule(3), x)
