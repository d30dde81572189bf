r"""Generative-modelling principles on models small enough to be exact ([MEDL] Ch. 8, Sec. 8.1).

The linear-Gaussian latent-variable model $z \sim N(0, I_m)$, $x \mid z \sim N(Wz + b, \sigma^2 I_p)$
(probabilistic PCA) has a closed-form evidence $\log p(x)$ and posterior $p(z \mid x)$, so the
ELBO's gap $\log p(x) - \mathrm{ELBO}(q) = D_{\mathrm{KL}}(q \,\|\, p(z \mid x))$ can be seen
numerically (:func:`elbo_gap`). A Gaussian mixture's posterior over its component is the
responsibilities (:func:`mixture_posterior`). :func:`gradient_estimators` draws the
reparameterisation and the score-function (REINFORCE) estimators of the same gradient, so their
means and variances can be compared.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, data, info
from mathdl.generative._elbo import elbo

__all__ = [
    "ELBOGap",
    "GradientEstimates",
    "LinearGaussianModel",
    "elbo_gap",
    "gradient_estimators",
    "linear_gaussian_log_joint",
    "linear_gaussian_log_marginal",
    "linear_gaussian_posterior",
    "mixture_posterior",
]


class LinearGaussianModel(NamedTuple):
    r"""The linear-Gaussian latent-variable model $z \sim N(0, I_m)$, $x \mid z \sim N(Wz + b, \sigma^2 I_p)$.

    Attributes:
      W: loading matrix, shape ``(p, m)``.
      b: offset, shape ``(p,)``.
      noise_var: observation variance $\sigma^2 > 0$, a scalar.
    """

    W: jax.Array
    b: jax.Array
    noise_var: jax.Array


_MODEL = checks.fields(W="float[p m]", b="float[p]", noise_var="float[]")


@checks.inputs(model=_MODEL, x="float[p]", z="float[m]")
def linear_gaussian_log_joint(model: LinearGaussianModel, x: jax.Array, z: jax.Array) -> jax.Array:
    r"""$\log p(x, z) = \log N(z; 0, I_m) + \log N(x; Wz + b, \sigma^2 I_p)$.

    Args:
      model: :class:`LinearGaussianModel` with ``W`` ``(p, m)``, ``b`` ``(p,)``, ``noise_var`` ``()``.
      x: one observation, shape ``(p,)`` (ONE example: ``jax.vmap`` for a batch).
      z: one latent value, shape ``(m,)``.

    Returns:
      The log joint density, a scalar.

    Raises:
      ValueError: if the shapes do not fit together.
      TypeError: if an argument is not floating point.

    References:
      [MEDL] Ch. 8, Sec. 8.1 (Fig. 8.1, $p(x \mid z) p(z)$); Tipping & Bishop (1999),
      "Probabilistic Principal Component Analysis".
    """
    r = x - model.W @ z - model.b
    p, m = model.W.shape
    log2pi = jnp.log(2 * jnp.pi).astype(x.dtype)
    prior = -0.5 * jnp.sum(z * z) - 0.5 * m * log2pi
    lik = -0.5 * jnp.sum(r * r) / model.noise_var - 0.5 * p * (log2pi + jnp.log(model.noise_var))
    return prior + lik


@checks.inputs(model=_MODEL, x="float[p]")
def linear_gaussian_log_marginal(model: LinearGaussianModel, x: jax.Array) -> jax.Array:
    r"""The exact evidence $\log p(x) = \log N(x; b, WW^\top + \sigma^2 I_p)$.

    Args:
      model: :class:`LinearGaussianModel` with ``W`` ``(p, m)``, ``b`` ``(p,)``, ``noise_var`` ``()``.
      x: one observation, shape ``(p,)`` (ONE example: ``jax.vmap`` for a batch).

    Returns:
      $\log p(x)$, a scalar (NaN if ``noise_var <= 0``).

    Raises:
      ValueError: if the shapes do not fit together.
      TypeError: if an argument is not floating point.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Bishop (2006), "Pattern Recognition and Machine Learning", eq. (12.35).
    """
    p = model.W.shape[0]
    cov = model.W @ model.W.T + model.noise_var * jnp.eye(p, dtype=x.dtype)
    return info.gaussian_logpdf(x, model.b, cov)


@checks.inputs(model=_MODEL, x="float[p]")
def linear_gaussian_posterior(model: LinearGaussianModel, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""The exact posterior $p(z \mid x) = N(\mu_{z|x}, \Sigma_{z|x})$ of the linear-Gaussian model.

    $\Sigma_{z|x} = (I_m + W^\top W / \sigma^2)^{-1}$, $\mu_{z|x} = \Sigma_{z|x} W^\top (x - b) / \sigma^2$.

    Args:
      model: :class:`LinearGaussianModel` with ``W`` ``(p, m)``, ``b`` ``(p,)``, ``noise_var`` ``()``.
      x: one observation, shape ``(p,)`` (ONE example: ``jax.vmap`` for a batch).

    Returns:
      ``(mean, cov)`` of shapes ``(m,)`` and ``(m, m)``.

    Raises:
      ValueError: if the shapes do not fit together.
      TypeError: if an argument is not floating point.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Bishop (2006), eq. (12.42).
    """
    m = model.W.shape[1]
    precision = jnp.eye(m, dtype=x.dtype) + model.W.T @ model.W / model.noise_var
    cov = jnp.linalg.inv(precision)
    cov = 0.5 * (cov + cov.T)
    mean = cov @ (model.W.T @ (x - model.b)) / model.noise_var
    return mean, cov


class ELBOGap(NamedTuple):
    r"""The ELBO of a Gaussian $q$ against the exact evidence.

    Attributes:
      elbo: the Monte Carlo ELBO estimate (:func:`mathdl.generative.elbo`).
      log_evidence: the exact $\log p(x)$.
      kl: the exact $D_{\mathrm{KL}}(q \,\|\, p(z \mid x))$; ``log_evidence - kl`` is the exact ELBO.
      elbo_std_error: the Monte Carlo standard error of ``elbo``.
    """

    elbo: jax.Array
    log_evidence: jax.Array
    kl: jax.Array
    elbo_std_error: jax.Array


@checks.inputs(key="key[]", model=_MODEL, x="float[p]", q_mean="float[m]", q_cov="float[m m]")
def elbo_gap(
    key: jax.Array,
    model: LinearGaussianModel,
    x: jax.Array,
    q_mean: jax.Array,
    q_cov: jax.Array,
    *,
    num_samples: int = 1000,
) -> ELBOGap:
    r"""The ELBO of $q = N(\mu_q, \Sigma_q)$ for the linear-Gaussian model, with its exact gap.

    $$\log p(x) - \mathrm{ELBO}(q) = D_{\mathrm{KL}}\big(q(z) \,\|\, p(z \mid x)\big) \ge 0,$$

    with the ELBO estimated by :func:`mathdl.generative.elbo` from ``num_samples`` reparameterised
    draws $z = \mu_q + L_q \varepsilon$ ($\Sigma_q = L_q L_q^\top$), and $\log p(x)$ and the KL in
    closed form (:func:`linear_gaussian_log_marginal`, :func:`linear_gaussian_posterior`,
    :func:`mathdl.info.gaussian_kl`). With $q$ the exact posterior the gap and the estimate's
    variance are both zero.

    Args:
      key: a typed PRNG key.
      model: :class:`LinearGaussianModel` with ``W`` ``(p, m)``, ``b`` ``(p,)``, ``noise_var`` ``()``.
      x: one observation, shape ``(p,)`` (ONE example: ``jax.vmap`` for a batch).
      q_mean: mean of $q$, shape ``(m,)``.
      q_cov: covariance of $q$, shape ``(m, m)``, symmetric positive definite.
      num_samples: Monte Carlo draws $N \ge 2$ (Python int).

    Returns:
      An :class:`ELBOGap` of scalars.

    Raises:
      ValueError: if the shapes do not fit together or ``num_samples < 2``.
      TypeError: if an argument is not floating point or ``num_samples`` is not an int.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Kingma & Welling (2014), "Auto-Encoding Variational Bayes", eq. (1)-(3).
    """
    func = checks.public_name(elbo_gap)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        checks.fail(func, "num_samples", "a Python int >= 2", checks.Text(type(num_samples).__name__), exc=TypeError)
    if num_samples < 2:
        checks.fail(func, "num_samples", "an int >= 2", num_samples)
    L = jnp.linalg.cholesky(q_cov)

    def log_joint(z):
        return linear_gaussian_log_joint(model, x, z)

    def sample_q(k):
        return q_mean + L @ jax.random.normal(k, q_mean.shape, q_mean.dtype)

    def log_q(z):
        return info.gaussian_logpdf(z, q_mean, q_cov)

    # one draw per key, so the spread of the terms gives the standard error of their mean
    terms = jax.vmap(lambda k: elbo(k, log_joint, sample_q, log_q))(jax.random.split(key, num_samples))
    post_mean, post_cov = linear_gaussian_posterior(model, x)
    kl = info.gaussian_kl(q_mean, q_cov, post_mean, post_cov)
    se = jnp.std(terms, ddof=1) / jnp.sqrt(jnp.asarray(num_samples, terms.dtype))
    return ELBOGap(jnp.mean(terms), linear_gaussian_log_marginal(model, x), kl, se)


def _check_mixture(func: str, name: str, value, dims: dict) -> data.GaussianMixture2D:
    if not isinstance(value, data.GaussianMixture2D):
        checks.fail(func, name, "a GaussianMixture2D", checks.Text(type(value).__name__), exc=TypeError)
    return value


@checks.inputs(mixture=_check_mixture, x="float[2]")
def mixture_posterior(mixture: data.GaussianMixture2D, x: jax.Array) -> jax.Array:
    r"""The exact posterior over a Gaussian mixture's component (the responsibilities).

    $p(c = k \mid x) = w_k N(x; m_k, s^2 I) / \sum_j w_j N(x; m_j, s^2 I)$; the latent variable is
    discrete, so $\log p(x)$ (:func:`mathdl.data.mixture_log_prob`) is a finite sum.

    Args:
      mixture: a :class:`mathdl.data.GaussianMixture2D` with ``K`` components.
      x: one point, shape ``(2,)`` (ONE example: ``jax.vmap`` for a batch).

    Returns:
      The probabilities $p(c \mid x)$, shape ``(K,)``, summing to one.

    Raises:
      TypeError: if ``mixture`` is not a :class:`mathdl.data.GaussianMixture2D`.
      ValueError: if ``x`` is not of shape ``(2,)``.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Bishop (2006), eq. (9.23).
    """
    means = jnp.asarray(mixture.means, x.dtype)
    logw = jnp.log(jnp.asarray(mixture.weights, x.dtype))
    sq = jnp.sum((x[None, :] - means) ** 2, axis=-1)
    log_joint = logw - sq / (2 * mixture.std**2) - jnp.log(2 * jnp.pi * mixture.std**2)
    return jnp.exp(log_joint - data.mixture_log_prob(mixture, x))


class GradientEstimates(NamedTuple):
    r"""Single-draw estimates of $\nabla_{(\mu, \log\sigma)} \mathbb{E}_{z \sim N(\mu, \sigma^2)}[f(z)]$.

    Attributes:
      reparameterization: shape ``(N, 2, m)``: draw $i$, then the gradient with respect to
        $\mu$ (row 0) and to $\log\sigma$ (row 1).
      score_function: the REINFORCE estimates, same shape.
    """

    reparameterization: jax.Array
    score_function: jax.Array


@checks.inputs(key="key[]", mu="float[m]", log_sigma="float[m]")
def gradient_estimators(
    key: jax.Array,
    f: Callable[[jax.Array], jax.Array],
    mu: jax.Array,
    log_sigma: jax.Array,
    *,
    num_samples: int = 1000,
    baseline: float = 0.0,
) -> GradientEstimates:
    r"""The reparameterisation and score-function estimators of one gradient, over many draws.

    For $q_\theta = N(\mu, \operatorname{diag}\sigma^2)$, $\theta = (\mu, \log\sigma)$ and
    $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim N(0, I)$, each draw gives

    $$\hat g_{\mathrm{rep}} = \nabla_\theta f(\mu + \sigma \odot \varepsilon), \qquad
      \hat g_{\mathrm{sf}} = \big(f(z) - c\big)\, \nabla_\theta \log q_\theta(z),$$

    both unbiased for $\nabla_\theta \mathbb{E}_{q_\theta}[f(z)]$ (the constant baseline $c$ keeps
    the score estimator unbiased since $\mathbb{E}\nabla_\theta \log q_\theta = 0$). The
    reparameterised one uses $\nabla f$ and usually has a much smaller variance; the score
    function needs only values of $f$ (and works for discrete $z$).

    Args:
      key: a typed PRNG key, split into ``num_samples`` draws (the two estimators share them).
      f: ``f(z) -> scalar``, differentiable for the reparameterised estimator; ``z`` of shape ``(m,)``.
      mu: the mean $\mu$, shape ``(m,)``.
      log_sigma: $\log\sigma$, shape ``(m,)``.
      num_samples: number of draws $N \ge 1$ (Python int).
      baseline: the score function's control variate $c$.

    Returns:
      :class:`GradientEstimates` with arrays of shape ``(N, 2, m)``; their means over axis 0
      agree within Monte Carlo error.

    Raises:
      TypeError: if ``f`` is not callable, ``num_samples`` is not an int, or an array is not floating.
      ValueError: if ``mu`` and ``log_sigma`` differ in shape or ``num_samples < 1``.

    References:
      [MEDL] Ch. 8, Sec. 8.1 (the reparameterisation trick); Kingma & Welling (2014), Sec. 2.4;
      Williams (1992), "Simple statistical gradient-following algorithms" (REINFORCE);
      Mohamed et al. (2020), "Monte Carlo Gradient Estimation in Machine Learning".
    """
    func = checks.public_name(gradient_estimators)
    if not callable(f):
        checks.fail(func, "f", "a callable", checks.Text(type(f).__name__), exc=TypeError)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        checks.fail(func, "num_samples", "a Python int >= 1", checks.Text(type(num_samples).__name__), exc=TypeError)
    if num_samples < 1:
        checks.fail(func, "num_samples", "an int >= 1", num_samples)
    theta = jnp.stack([mu, log_sigma])

    def log_q(th, z):
        s2 = jnp.exp(2 * th[1])
        return jnp.sum(-0.5 * (z - th[0]) ** 2 / s2 - th[1] - 0.5 * jnp.log(2 * jnp.pi).astype(z.dtype))

    def one(k):
        eps = jax.random.normal(k, mu.shape, mu.dtype)
        g_rep = jax.grad(lambda th: f(th[0] + jnp.exp(th[1]) * eps))(theta)
        z = jax.lax.stop_gradient(mu + jnp.exp(log_sigma) * eps)
        g_sf = (f(z) - baseline) * jax.grad(log_q)(theta, z)
        return g_rep, g_sf

    g_rep, g_sf = jax.vmap(one)(jax.random.split(key, num_samples))
    return GradientEstimates(g_rep, g_sf)
