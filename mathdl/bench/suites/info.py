r"""Appendix B kernels: the Gaussian KL divergence in the two forms deep learning uses.

* ``gaussian_kl_diag``: the VAE's KL term, $\tfrac12\sum_j(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2)$
  per example, for a batch of $n$ encoder outputs of latent size $m$ (memory-bound: about
  $5nm$ FLOPs over $8nm$ bytes read in float32). ``mathdl`` is ``mathdl.info.gaussian_kl_diag``
  under ``jax.jit``; ``jax`` is the same formula written by hand with ``jnp.exp``;
  ``torch`` is ``torch.distributions.kl_divergence`` of ``Normal`` laws summed over the latent axis.
* ``gaussian_kl_full``: eq. (B.9) between two full-covariance Gaussians for a batch of $b$
  pairs in dimension $m$ (two Cholesky factorisations and a triangular solve with $m + 1$
  right-hand sides per pair, about $\tfrac53 m^3$ FLOPs). ``mathdl`` is
  ``jax.vmap(mathdl.info.gaussian_kl)`` under ``jax.jit`` (it also checks symmetry and
  positive definiteness, to return NaN rather than a wrong number); ``jax`` is the same
  algorithm by hand without those checks: both covariances in ONE ``jnp.linalg.cholesky`` call,
  then forward substitution in a ``fori_loop``; ``torch`` is ``torch.distributions.kl_divergence``
  of batched ``MultivariateNormal`` laws.

  Why not ``jax.scipy.linalg.solve_triangular`` in the ``jax`` column: on 2 CPU cores (jaxlib
  0.10.2) the vmapped program with two batched LAPACK calls (two factorisations, or a
  factorisation and a batched ``trsm``) stalled for minutes at random calls (3 runs of 150 calls
  each stalled after 35-96 calls; ``mathdl``'s form completed all of them), and XLA's CPU
  triangular solve with a matrix right-hand side took about 20 ms for one 32 x 32 system. See
  benchmarks/README.md, "Known problem".
"""

import jax
import jax.numpy as jnp
from jax import lax

from mathdl.bench._registry import register_case

# (n, m): quick, full. A VAE-sized batch: 4096 examples, 64 latent dimensions.
_DIAG = {True: (16, 8), False: (4096, 64)}
# (b, m): quick, full.
_FULL = {True: (4, 4), False: (256, 32)}


def _to_torch(*arrays):
    import numpy as np
    import torch

    return tuple(torch.from_numpy(np.array(a)) for a in arrays)  # np.array copies: torch wants writable memory


@register_case(
    "kernels",
    "gaussian_kl_diag",
    flops=lambda q: 5.0 * _DIAG[q][0] * _DIAG[q][1],
    bytes=lambda q: 4.0 * (2 * _DIAG[q][0] * _DIAG[q][1] + _DIAG[q][0]),
    ratio_floor=0.9,
)
def gaussian_kl_diag(quick: bool):
    """The VAE's diagonal-Gaussian KL to N(0, I) for a batch of encoder outputs (float32)."""
    from mathdl import info

    n, m = _DIAG[quick]
    k1, k2 = jax.random.split(jax.random.key(0))
    mu = jax.random.normal(k1, (n, m), jnp.float32)
    log_var = 0.5 * jax.random.normal(k2, (n, m), jnp.float32)
    f_mathdl = jax.jit(info.gaussian_kl_diag)
    f_jax = jax.jit(lambda mu, lv: -0.5 * jnp.sum(1.0 + lv - mu**2 - jnp.exp(lv), axis=-1))
    impls = {"mathdl": lambda: f_mathdl(mu, log_var), "jax": lambda: f_jax(mu, log_var)}
    try:
        import torch
    except ImportError:
        return impls
    if jax.devices()[0].platform != "cpu":
        return impls  # torch's CPU build against a GPU/TPU would not be a peer
    tmu, tlv = _to_torch(mu, log_var)
    D = torch.distributions

    def f_torch():
        with torch.no_grad():
            q = D.Normal(tmu, torch.exp(0.5 * tlv), validate_args=False)
            p = D.Normal(torch.zeros_like(tmu), torch.ones_like(tmu), validate_args=False)
            return D.kl_divergence(q, p).sum(-1)

    impls["torch"] = f_torch
    return impls


@register_case(
    "kernels",
    "gaussian_kl_full",
    flops=lambda q: _FULL[q][0] * (5.0 / 3.0) * _FULL[q][1] ** 3,
    ratio_floor=0.9,
)
def gaussian_kl_full(quick: bool):
    """KL (B.9) between full-covariance Gaussians, a batch of pairs (float32)."""
    from mathdl import info

    b, m = _FULL[quick]
    keys = jax.random.split(jax.random.key(1), 4)
    mu1 = jax.random.normal(keys[0], (b, m), jnp.float32)
    mu2 = jax.random.normal(keys[1], (b, m), jnp.float32)
    A1 = jax.random.normal(keys[2], (b, m, m), jnp.float32) / m**0.5
    A2 = jax.random.normal(keys[3], (b, m, m), jnp.float32) / m**0.5
    eye = jnp.eye(m, dtype=jnp.float32)[None]
    S1 = A1 @ jnp.swapaxes(A1, -1, -2) + eye
    S2 = A2 @ jnp.swapaxes(A2, -1, -2) + eye

    def solve_lower(L, B):  # L^{-1} B by forward substitution, one row per step
        cols = jnp.arange(L.shape[0])

        def row(i, X):
            return X.at[i].set((B[i] - jnp.where(cols < i, L[i], 0.0) @ X) / L[i, i])

        return lax.fori_loop(0, L.shape[0], row, jnp.zeros_like(B))

    def kl_by_hand(mu1, S1, mu2, S2):
        L1, L2 = jnp.linalg.cholesky(jnp.stack([S1, S2]))  # one call (see the module docstring)
        ZA = solve_lower(L2, jnp.concatenate([(mu1 - mu2)[:, None], L1], axis=1))  # [z, L2^{-1} L1]
        logdet = 2 * (jnp.sum(jnp.log(jnp.diagonal(L2))) - jnp.sum(jnp.log(jnp.diagonal(L1))))
        return 0.5 * (jnp.sum(ZA * ZA) - m + logdet)

    f_mathdl = jax.jit(jax.vmap(info.gaussian_kl))
    f_jax = jax.jit(jax.vmap(kl_by_hand))
    impls = {"mathdl": lambda: f_mathdl(mu1, S1, mu2, S2), "jax": lambda: f_jax(mu1, S1, mu2, S2)}
    try:
        import torch
    except ImportError:
        return impls
    if jax.devices()[0].platform != "cpu":
        return impls
    tmu1, tS1, tmu2, tS2 = _to_torch(mu1, S1, mu2, S2)
    D = torch.distributions

    def f_torch():
        with torch.no_grad():
            p = D.MultivariateNormal(tmu1, covariance_matrix=tS1, validate_args=False)
            q = D.MultivariateNormal(tmu2, covariance_matrix=tS2, validate_args=False)
            return D.kl_divergence(p, q)

    impls["torch"] = f_torch
    return impls
