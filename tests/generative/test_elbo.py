"""ELBO and IWAE bounds on a linear-Gaussian model whose evidence log p(x) is exact."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.test_util import check_grads

from mathdl.generative import elbo, iwae_bound
from mathdl.info import gaussian_kl

# z ~ N(0, I_2), x | z ~ N(W z + b, s2 I_3)
W = np.array([[1.0, -0.5], [0.3, 0.8], [-1.2, 0.4]])
B = np.array([0.1, -0.2, 0.3])
S2 = 0.5
X = np.array([0.7, -0.4, 1.1])


def log_joint(z):
    r = jnp.asarray(X) - jnp.asarray(W) @ z - jnp.asarray(B)
    return -0.5 * z @ z - math.log(2 * math.pi) - 0.5 * r @ r / S2 - 1.5 * math.log(2 * math.pi * S2)


def exact_evidence():
    return scipy.stats.multivariate_normal(B, W @ W.T + S2 * np.eye(3)).logpdf(X)


def posterior():
    cov = np.linalg.inv(np.eye(2) + W.T @ W / S2)
    return cov @ W.T @ (X - B) / S2, cov


def gaussian_q(mean, cov):
    """A reparameterised sampler and the log-density of N(mean, cov) (cov a fixed NumPy matrix)."""
    L, P = jnp.asarray(np.linalg.cholesky(cov)), jnp.asarray(np.linalg.inv(cov))
    const = -math.log(2 * math.pi) - 0.5 * math.log(np.linalg.det(cov))
    mean = jnp.asarray(mean)

    def log_q(z):
        d = z - mean
        return -0.5 * d @ P @ d + const

    return (lambda k: mean + L @ jax.random.normal(k, (2,), mean.dtype)), log_q


def test_worked_value_one_dimension():
    # z ~ N(0,1), x | z ~ N(z, 1), x = 1: log p(x) = log N(1; 0, 2) = -log(4 pi)/2 - 1/4; posterior N(1/2, 1/2)
    lj = lambda z: -0.5 * z**2 - 0.5 * (1.0 - z) ** 2 - math.log(2 * math.pi)  # noqa: E731
    sq = lambda k: 0.5 + math.sqrt(0.5) * jax.random.normal(k, (), jnp.float64)  # noqa: E731
    lq = lambda z: -((z - 0.5) ** 2) - 0.5 * math.log(math.pi)  # noqa: E731
    got = elbo(jax.random.key(0), lj, sq, lq, num_samples=3)
    np.testing.assert_allclose(got, -1.5155121234846454, rtol=1e-12)


def test_equality_at_the_true_posterior(getkey):
    sample_q, log_q = gaussian_q(*posterior())
    ev = exact_evidence()
    np.testing.assert_allclose(elbo(getkey(), log_joint, sample_q, log_q, num_samples=4), ev, rtol=1e-10)
    np.testing.assert_allclose(iwae_bound(getkey(), log_joint, sample_q, log_q, num_samples=4), ev, rtol=1e-10)


def test_gap_is_the_kl_to_the_posterior(getkey):
    mean_post, cov_post = posterior()
    mean_q, cov_q = mean_post + np.array([0.4, -0.3]), np.diag([0.3, 0.6])
    sample_q, log_q = gaussian_q(mean_q, cov_q)
    n = 2000
    got = jax.jit(lambda k: elbo(k, log_joint, sample_q, log_q, num_samples=n))(getkey())
    want = exact_evidence() - gaussian_kl(jnp.asarray(mean_q), jnp.asarray(cov_q), mean_post, cov_post)
    assert got < exact_evidence()
    np.testing.assert_allclose(got, want, atol=0.07)  # Monte Carlo: the log-weights' sd is ~0.7, / sqrt(2000)


def test_iwae_increases_with_k_in_expectation():
    mean_post, _ = posterior()
    sample_q, log_q = gaussian_q(mean_post + np.array([0.5, 0.5]), 0.5 * np.eye(2))
    keys = jax.random.split(jax.random.key(1), 300)  # fixed keys, shared by every k
    pair = jax.jit(
        jax.vmap(
            lambda key: (
                iwae_bound(key, log_joint, sample_q, log_q, num_samples=1),
                elbo(jax.random.clone(key), log_joint, sample_q, log_q),
            )
        )
    )
    l1, el = pair(keys)
    means = [float(jnp.mean(l1))]
    for k in (4, 16):
        f = jax.jit(jax.vmap(lambda key, k=k: iwae_bound(key, log_joint, sample_q, log_q, num_samples=k)))
        means.append(float(jnp.mean(f(jax.random.split(jax.random.key(1), 300)))))
    ev = exact_evidence()
    assert means[0] < means[1] < means[2] < ev
    np.testing.assert_allclose(l1, el, rtol=1e-12)  # L_1 is the one-sample ELBO


def test_jit_and_grad_through_the_reparameterisation():
    mean_post, cov_post = posterior()

    def bound(mean, fn=elbo):
        sample_q, log_q = gaussian_q(mean, cov_post)
        return fn(jax.random.key(3), log_joint, sample_q, log_q, num_samples=3)

    m0 = jnp.asarray(mean_post) + 0.2
    np.testing.assert_allclose(jax.jit(bound)(m0), bound(m0), rtol=1e-12)
    check_grads(lambda m: bound(m) + bound(m, iwae_bound), (m0,), order=2, modes=("rev",))  # one check, both bounds


def test_bad_inputs():
    sample_q, log_q = gaussian_q(*posterior())
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="num_samples"):
        elbo(key, log_joint, sample_q, log_q, num_samples=0)
    with pytest.raises(TypeError, match="num_samples"):
        iwae_bound(key, log_joint, sample_q, log_q, num_samples=2.0)
    with pytest.raises(TypeError, match="log_joint"):
        elbo(key, 3.0, sample_q, log_q)
    with pytest.raises(TypeError, match="key"):
        elbo(0, log_joint, sample_q, log_q)
