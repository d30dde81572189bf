r"""Monte Carlo evidence lower bounds: the ELBO and the importance-weighted (IWAE) bound.

Both take the model and the variational distribution as functions of one latent sample, so the
same code serves a VAE, a linear-Gaussian model with an exact evidence, or a diffusion chain.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = ["elbo", "iwae_bound"]


def _log_weights(func: str, key, log_joint, sample_q, log_q, num_samples) -> jax.Array:
    """log w_i = log p(x, z_i) - log q(z_i), z_i ~ q, for N independent keys."""
    for name, fn in (("log_joint", log_joint), ("sample_q", sample_q), ("log_q", log_q)):
        if not callable(fn):
            checks.fail(func, name, "a callable", checks.Text(type(fn).__name__), exc=TypeError)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        checks.fail(func, "num_samples", "a Python int >= 1", checks.Text(type(num_samples).__name__), exc=TypeError)
    if num_samples < 1:
        checks.fail(func, "num_samples", "an int >= 1", num_samples)
    zs = jax.vmap(sample_q)(jax.random.split(key, num_samples))
    return jax.vmap(log_joint)(zs) - jax.vmap(log_q)(zs)


@checks.inputs(key="key[]")
def elbo(
    key: jax.Array,
    log_joint: Callable[[jax.Array], jax.Array],
    sample_q: Callable[[jax.Array], jax.Array],
    log_q: Callable[[jax.Array], jax.Array],
    *,
    num_samples: int = 1,
) -> jax.Array:
    r"""Monte Carlo estimate of the evidence lower bound of one observation $x$.

    $$\mathrm{ELBO}(x) = \mathbb{E}_{q(z)}\big[\log p(x, z) - \log q(z)\big]
      = \log p(x) - D_{\mathrm{KL}}\big(q(z)\,\|\,p(z \mid x)\big) \le \log p(x),$$

    estimated by $\frac1N\sum_i [\log p(x, z_i) - \log q(z_i)]$ with $z_i \sim q$. Equality holds
    when $q$ is the true posterior; then every term equals $\log p(x)$ and the estimate has zero
    variance. Pass a reparameterised ``sample_q`` (``mu + sigma * eps``) to differentiate through it.

    Args:
      key: a typed PRNG key; split into `num_samples` keys.
      log_joint: ``log_joint(z) -> scalar``, $\log p(x, z) = \log p(x \mid z) + \log p(z)$ for the
        observation in hand (close over $x$).
      sample_q: ``sample_q(key) -> z``, one draw of $q(z)$ (usually $q_\phi(z \mid x)$).
      log_q: ``log_q(z) -> scalar``, $\log q(z)$.
      num_samples: $N \ge 1$ (keyword-only Python int).

    Returns:
      The estimate, a scalar (unbiased for the ELBO).

    Raises:
      TypeError: if `key` is not a typed key, a function argument is not callable, or
        `num_samples` is not an int.
      ValueError: if `num_samples` < 1.

    References:
      [MEDL] Ch. 8, Sec. 8.1 (the ELBO); Kingma & Welling (2014), "Auto-Encoding Variational Bayes".
    """
    log_w = _log_weights(checks.public_name(elbo), key, log_joint, sample_q, log_q, num_samples)
    return jnp.mean(log_w, axis=0)


@checks.inputs(key="key[]")
def iwae_bound(
    key: jax.Array,
    log_joint: Callable[[jax.Array], jax.Array],
    sample_q: Callable[[jax.Array], jax.Array],
    log_q: Callable[[jax.Array], jax.Array],
    *,
    num_samples: int,
) -> jax.Array:
    r"""The importance-weighted bound $\mathcal{L}_k$ of one observation (Burda et al., 2016).

    $$\mathcal{L}_k(x) = \log \frac1k \sum_{i=1}^{k} \frac{p(x, z_i)}{q(z_i)}, \qquad z_i \sim q,$$

    computed with a log-sum-exp. In expectation $\mathrm{ELBO} = \mathbb{E}\mathcal{L}_1 \le
    \mathbb{E}\mathcal{L}_k \le \mathbb{E}\mathcal{L}_{k+1} \le \log p(x)$, and $\mathcal{L}_k \to
    \log p(x)$ as $k \to \infty$.

    Args:
      key: a typed PRNG key; split into `num_samples` keys.
      log_joint: ``log_joint(z) -> scalar``, $\log p(x, z)$.
      sample_q: ``sample_q(key) -> z``, one draw of the proposal $q$.
      log_q: ``log_q(z) -> scalar``, $\log q(z)$.
      num_samples: $k \ge 1$ (keyword-only Python int).

    Returns:
      One draw of $\mathcal{L}_k$, a scalar.

    Raises:
      TypeError: if `key` is not a typed key, a function argument is not callable, or
        `num_samples` is not an int.
      ValueError: if `num_samples` < 1.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Burda, Grosse & Salakhutdinov (2016), "Importance Weighted
      Autoencoders", Theorem 1.
    """
    log_w = _log_weights(checks.public_name(iwae_bound), key, log_joint, sample_q, log_q, num_samples)
    return jax.nn.logsumexp(log_w, axis=0) - jnp.log(jnp.asarray(num_samples, log_w.dtype))
