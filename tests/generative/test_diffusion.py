"""DDPM schedule, forward process, loss and samplers (exact denoiser of Gaussian data as the oracle)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mathdl import checks
from mathdl.generative import ddim_sample, ddpm_loss, ddpm_sample, ddpm_schedule, q_sample, q_step

# Gaussian data x ~ N(M, S^2 I): the exact noise predictor E[eps | z_t] is known in closed form.
M, S = jnp.array([1.5, -1.0]), 0.5
SCHED = ddpm_schedule(100, beta_1=1e-3, beta_T=0.2)


def exact_eps(schedule):
    def denoiser(z, t):
        ab = schedule.alpha_bars[t]
        return jnp.sqrt(1 - ab) * (z - jnp.sqrt(ab) * M) / (ab * S**2 + 1 - ab)

    return denoiser


def exact_x0(schedule):
    eps = exact_eps(schedule)
    return lambda z, t: (z - jnp.sqrt(1 - schedule.alpha_bars[t]) * eps(z, t)) / jnp.sqrt(schedule.alpha_bars[t])


def exact_v(schedule):
    eps, x0 = exact_eps(schedule), exact_x0(schedule)
    ab = schedule.alpha_bars
    return lambda z, t: jnp.sqrt(ab[t]) * eps(z, t) - jnp.sqrt(1 - ab[t]) * x0(z, t)


def test_linear_schedule_worked_values():
    s = ddpm_schedule()
    assert s.betas.shape == (1000,)
    np.testing.assert_allclose(np.asarray(s.betas)[[0, -1]], [1e-4, 0.02], rtol=1e-12)
    beta_2 = 1e-4 + (0.02 - 1e-4) / 999
    np.testing.assert_allclose(s.alpha_bars[1], (1 - 1e-4) * (1 - beta_2), rtol=1e-12)
    np.testing.assert_allclose(s.alphas, 1 - s.betas, rtol=1e-12)
    np.testing.assert_allclose(s.alpha_bars, np.cumprod(1 - np.asarray(s.betas)), rtol=1e-10)
    np.testing.assert_allclose(s.alpha_bars[-1], 4.0358e-5, rtol=1e-4)  # about e^{-10.1}
    assert ddpm_schedule(4, dtype=jnp.float32).betas.dtype == jnp.float32


def test_cosine_schedule():
    s = ddpm_schedule(50, kind="cosine")
    t = np.arange(1, 51)
    f = lambda u: np.cos((u / 50 + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
    unclipped = np.asarray(s.betas) < 0.999
    np.testing.assert_allclose(np.asarray(s.alpha_bars)[unclipped], (f(t) / f(0))[unclipped], rtol=1e-10)
    assert np.all(np.diff(np.asarray(s.alpha_bars)) < 0) and np.all(np.asarray(s.betas) <= 0.999)


@pytest.mark.parametrize("kw", [{"beta_1": 0.0}, {"beta_T": 1.0}, {"beta_1": -0.1}, {"beta_T": 1.5}, {"kind": "quad"}])
def test_schedule_refusals(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        ddpm_schedule(10, **kw)
    with pytest.raises(ValueError, match="T"):
        ddpm_schedule(0)


def test_q_sample_worked_value():
    s = ddpm_schedule(1, beta_1=0.36, beta_T=0.36)  # alpha_bar = 0.64: z = 0.8 x + 0.6 eps
    x = jnp.array([1.0, -2.0])
    eps = jax.random.normal(jax.random.key(0), (2,), jnp.float64)
    np.testing.assert_allclose(q_sample(jax.random.key(0), s, x, 0), 0.8 * x + 0.6 * eps, rtol=1e-12)


def test_closed_form_matches_iterated_kernel():
    s = ddpm_schedule(20, beta_1=0.01, beta_T=0.2)
    x, t, n = jnp.array([1.0, -2.0]), 9, 3000

    def chain(key):  # t + 1 one-step kernels q(z_i | z_{i-1}), i = 0..t
        def one(z, i):
            return q_step(jax.random.fold_in(key, i), s, z, i), None

        return jax.lax.scan(one, x, jnp.arange(t + 1))[0]

    closed = jax.jit(jax.vmap(lambda k: q_sample(k, s, x, t)))(jax.random.split(jax.random.key(1), n))
    iterated = jax.jit(jax.vmap(chain))(jax.random.split(jax.random.key(2), n))
    ab = float(s.alpha_bars[t])
    for z in (closed, iterated):  # moments: mean sqrt(ab) x, variance 1 - ab; 4 standard errors
        np.testing.assert_allclose(z.mean(0), math.sqrt(ab) * x, atol=4 * math.sqrt((1 - ab) / n))
        np.testing.assert_allclose(z.var(0), 1 - ab, rtol=4 * math.sqrt(2 / n))


def test_timesteps_out_of_range():
    x, key = jnp.ones(2), jax.random.key
    for t in (-1, 100):
        with pytest.raises(ValueError, match=r"timesteps in \[0, 100\)"):
            q_sample(key(0), SCHED, x, t)
        with pytest.raises(ValueError, match="t"):
            q_step(key(0), SCHED, x, t)
        with pytest.raises(ValueError, match="t"):
            ddpm_loss(key(0), exact_eps(SCHED), SCHED, x, t=t)

    def both(k, t):
        k1, k2 = jax.random.split(k)
        return q_sample(k1, SCHED, x, t), ddpm_loss(k2, exact_eps(SCHED), SCHED, x, t=t)

    jitted = jax.jit(both)
    z, loss = jitted(jax.random.key(1), 100)
    assert np.all(np.isnan(z)) and np.isnan(loss)
    z, loss = jitted(jax.random.key(2), 99)
    assert np.all(np.isfinite(z)) and np.isfinite(loss)
    with pytest.raises(Exception, match="timesteps"):
        checks.checked(jax.jit(lambda t: q_sample(jax.random.key(3), SCHED, x, t)))(-1)
    with pytest.raises(TypeError, match="t"):
        q_sample(key(0), SCHED, x, 1.0)


def test_loss_worked_value_and_targets():
    x = jnp.array([1.0, 2.0])
    zero = lambda z, t: jnp.zeros_like(z)  # noqa: E731
    np.testing.assert_allclose(ddpm_loss(jax.random.key(0), zero, SCHED, x, prediction="x0"), 5.0, rtol=1e-12)
    # a denoiser that knows x recovers every target exactly
    ab = SCHED.alpha_bars
    eps_of = lambda z, t: (z - jnp.sqrt(ab[t]) * x) / jnp.sqrt(1 - ab[t])  # noqa: E731
    oracles = {
        "epsilon": eps_of,
        "x0": lambda z, t: x,
        "v": lambda z, t: jnp.sqrt(ab[t]) * eps_of(z, t) - jnp.sqrt(1 - ab[t]) * x,
    }
    for i, (kind, den) in enumerate(oracles.items()):
        np.testing.assert_allclose(ddpm_loss(jax.random.key(i), den, SCHED, x, prediction=kind), 0.0, atol=1e-18)
    # the zero noise predictor: E||eps||^2 = d
    losses = jax.jit(jax.vmap(lambda k: ddpm_loss(k, zero, SCHED, x)))(jax.random.split(jax.random.key(5), 2000))
    np.testing.assert_allclose(losses.mean(), 2.0, atol=4 * 2 / math.sqrt(2000))


def test_loss_vmap_grad():
    X = jnp.array([[0.5, -1.0], [2.0, 0.3], [1.0, 1.0]])

    def loss(A, key, x, t):
        return ddpm_loss(key, lambda z, s: jnp.tanh(A @ z) * (1 + s.astype(z.dtype) / 100), SCHED, x, t=t)

    A = jnp.array([[0.3, -0.2], [0.1, 0.4]])
    keys = jax.random.split(jax.random.key(7), 3)
    batched = jax.vmap(loss, in_axes=(None, 0, 0, 0))(A, keys, X, jnp.array([0, 50, 99]))
    keys_again = jax.random.split(jax.random.key(7), 3)
    np.testing.assert_allclose(batched, [loss(A, keys_again[i], X[i], t) for i, t in enumerate((0, 50, 99))])
    check_grads(lambda A: loss(A, jax.random.key(8), X[0], 40), (A,), order=2, modes=("rev",))


def _moments(samples):
    return np.asarray(samples.mean(0)), np.asarray(samples.std(0))


def test_samplers_recover_gaussian_data():
    n, den = 1500, exact_eps(SCHED)
    ddpm = jax.jit(jax.vmap(lambda k: ddpm_sample(k, den, SCHED, (2,))))
    mean, std = _moments(ddpm(jax.random.split(jax.random.key(10), n)))
    np.testing.assert_allclose(mean, M, atol=0.06)
    np.testing.assert_allclose(std, [S, S], atol=0.04)
    errors = []
    for steps in (20, 100):  # DDIM is an Euler-like discretisation: the error in the spread shrinks with steps
        ddim = jax.jit(jax.vmap(lambda k, steps=steps: ddim_sample(k, den, SCHED, (2,), num_steps=steps)))
        mean, std = _moments(ddim(jax.random.split(jax.random.key(11), n)))
        np.testing.assert_allclose(mean, M, atol=0.06)
        errors.append(np.abs(std - S).max())
    assert errors[1] < 0.03 < errors[0] < 0.1


def test_sampler_identities():
    key = lambda: jax.random.key(12)  # noqa: E731
    ref = ddpm_sample(key(), exact_eps(SCHED), SCHED, (2,), variance="beta_tilde")
    # DDIM with eta = 1 on all T steps is DDPM with the beta-tilde variance (same key layout)
    np.testing.assert_allclose(
        ddim_sample(key(), exact_eps(SCHED), SCHED, (2,), num_steps=100, eta=1.0), ref, rtol=1e-8
    )
    # x0- and v-predictions of the same model give the same chain
    for kind, den in (("x0", exact_x0(SCHED)), ("v", exact_v(SCHED))):
        got = ddpm_sample(key(), den, SCHED, (2,), variance="beta_tilde", prediction=kind)
        np.testing.assert_allclose(got, ref, rtol=1e-8)
    z0, chain = ddpm_sample(key(), exact_eps(SCHED), SCHED, (2,), return_chain=True)
    assert chain.shape == (100, 2)
    np.testing.assert_array_equal(chain[-1], z0)
    # beta variance differs from beta-tilde but is finite
    assert np.all(np.isfinite(z0)) and not np.allclose(z0, ref)


def test_sampler_refusals():
    den, key = exact_eps(SCHED), jax.random.key(0)
    with pytest.raises(ValueError, match="variance"):
        ddpm_sample(key, den, SCHED, (2,), variance="large")
    with pytest.raises(ValueError, match="prediction"):
        ddpm_sample(key, den, SCHED, (2,), prediction="score")
    for steps in (0, 101):
        with pytest.raises(ValueError, match="num_steps"):
            ddim_sample(key, den, SCHED, (2,), num_steps=steps)
    with pytest.raises(ValueError, match="eta"):
        ddim_sample(key, den, SCHED, (2,), eta=-1.0)
    with pytest.raises(TypeError, match="denoiser"):
        ddpm_sample(key, None, SCHED, (2,))
    with pytest.raises(ValueError, match="shape"):
        ddim_sample(key, den, SCHED, (0,))
