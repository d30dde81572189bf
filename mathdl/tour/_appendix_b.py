"""Tour, Appendix B: Gaussian KL closed form against Monte Carlo; JSD, KL asymmetry and mutual information."""

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.tour._registry import register

_SIZES = (100, 1_000, 10_000, 100_000)


@register(
    "B",
    "Gaussian KL (B.9) vs Monte Carlo",
    expected={
        # KL(N(mu1,S1) || N(mu2,S2)) in 4-D for the parameters below: 0.78372 nats by
        # torch.distributions.kl_divergence in float64; the range allows float32 rounding only.
        "kl_closed_form": (0.7830, 0.7845),
        # Monte Carlo with 1e5 samples: the log ratio has std ~1, so the standard error is ~0.003 (0.4%);
        # 0.02 is ~5 standard errors (the key is fixed, so the run is deterministic: measured 0.005).
        "mc_rel_error_1e5": (0.0, 0.02),
        # (B.11) and the VAE's diagonal form on the same diagonal Gaussian: equal up to float32 rounding.
        "kl_diag_vs_standard_abs": (0.0, 1e-5),
    },
)
def gaussian_kl_vs_monte_carlo(out_dir: Path) -> dict[str, float]:
    """Closed-form KL between two 4-D Gaussians against Monte Carlo estimates as the sample count grows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import info

    mu1 = jnp.array([0.5, -0.3, 0.0, 1.0])
    mu2 = jnp.array([0.0, 0.2, -0.4, 0.5])
    A = jnp.array([[1.0, 0.2, 0.0, 0.1], [0.0, 0.8, 0.3, 0.0], [0.2, 0.0, 1.2, -0.3], [0.0, 0.1, 0.0, 0.6]])
    S1 = A @ A.T + 0.1 * jnp.eye(4)
    S2 = jnp.diag(jnp.array([1.5, 0.7, 1.0, 0.9]))
    exact = float(jax.jit(info.gaussian_kl)(mu1, S1, mu2, S2))
    L1 = jnp.linalg.cholesky(S1)
    sample = lambda k: mu1 + L1 @ jax.random.normal(k, (4,))
    log_p = lambda x: info.gaussian_logpdf(x, mu1, S1)
    log_q = lambda x: info.gaussian_logpdf(x, mu2, S2)
    keys = jax.random.split(jax.random.key(0), 8)

    @jax.jit  # one compiled call for every sample size: 8 independent estimates per size
    def all_estimates(keys):
        return [
            jax.vmap(lambda k, n=n: info.kl_monte_carlo(k, sample, log_p, log_q, num_samples=n))(keys) for n in _SIZES
        ]

    estimates = {n: np.asarray(e) for n, e in zip(_SIZES, all_estimates(keys), strict=True)}

    d_mu, d_lv = jnp.array([0.3, -1.0]), jnp.array([0.4, -0.2])
    diag_gap = abs(
        float(info.gaussian_kl_diag(d_mu, d_lv)) - float(info.gaussian_kl_standard(d_mu, jnp.diag(jnp.exp(d_lv))))
    )

    fig, ax = plt.subplots(figsize=(6, 4))
    for n, est in estimates.items():
        ax.plot([n] * len(est), est, "o", color="tab:blue", alpha=0.5, ms=4)
    ax.axhline(exact, color="k", lw=1.5, label=f"closed form (B.9) = {exact:.4f}")
    ax.set(
        xscale="log", xlabel="Monte Carlo samples N", ylabel="KL estimate (nats)", title="KL(p || q) for 4-D Gaussians"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "appB_gaussian_kl_mc.png", dpi=110)
    plt.close(fig)
    return {
        "kl_closed_form": exact,
        "mc_rel_error_1e5": float(abs(estimates[_SIZES[-1]][0] - exact) / exact),
        "kl_diag_vs_standard_abs": diag_gap,
    }


@register(
    "B",
    "JSD, KL asymmetry, mutual information forms",
    expected={
        # Binomial(10, 0.3) vs Binomial(10, 0.6) in bits: 0.47298 by scipy.spatial.distance.jensenshannon(p, q, 2)**2.
        "jsd_bits": (0.4725, 0.4735),
        # |KL(p||q) - KL(q||p)| for those two: 0.08255 nats by scipy.stats.entropy; KL is not symmetric.
        "kl_asymmetry_nats": (0.0820, 0.0831),
        # I = H(X)+H(Y)-H(X,Y) = KL(p_xy || p_x p_y) on a 3x4 table: equal up to float32 rounding.
        "mi_forms_max_abs": (0.0, 1e-5),
    },
)
def divergences(out_dir: Path) -> dict[str, float]:
    """JSD and both KL directions of two binomial laws; the equivalent forms of mutual information."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import info

    k = np.arange(11)

    def binom(p):
        return np.array([math.comb(10, i) * p**i * (1 - p) ** (10 - i) for i in k], dtype=np.float32)

    p, q = jnp.asarray(binom(0.3)), jnp.asarray(binom(0.6))
    jsd = float(info.js_divergence(p, q, base=2))
    kl_pq, kl_qp = float(info.kl_divergence(p, q)), float(info.kl_divergence(q, p))

    table = jnp.array([[0.10, 0.05, 0.02, 0.03], [0.02, 0.20, 0.08, 0.05], [0.05, 0.05, 0.25, 0.10]])
    px, py = table.sum(1), table.sum(0)
    mi = float(info.mutual_information(table))
    forms = [
        float(info.entropy(px) + info.entropy(py) - info.joint_entropy(table)),
        float(info.entropy(px) - info.conditional_entropy(table, given="y")),
        float(info.kl_divergence(table.reshape(-1), jnp.outer(px, py).reshape(-1))),
    ]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].bar(k - 0.2, np.asarray(p), 0.4, label="p = Bin(10, 0.3)")
    axes[0].bar(k + 0.2, np.asarray(q), 0.4, label="q = Bin(10, 0.6)")
    axes[0].set(
        xlabel="x",
        ylabel="probability",
        title=f"JSD = {jsd:.3f} bits, KL(p||q) = {kl_pq:.3f}, KL(q||p) = {kl_qp:.3f} nats",
    )
    axes[0].title.set_fontsize(9)
    axes[0].legend()
    im = axes[1].imshow(np.asarray(info.pointwise_mutual_information(table)), cmap="RdBu_r", vmin=-1.5, vmax=1.5)
    fig.colorbar(im, ax=axes[1])
    axes[1].set(xlabel="y", ylabel="x", title=f"PMI(x, y); I(X; Y) = {mi:.3f} nats")
    fig.tight_layout()
    fig.savefig(out_dir / "appB_divergences.png", dpi=110)
    plt.close(fig)
    return {
        "jsd_bits": jsd,
        "kl_asymmetry_nats": abs(kl_pq - kl_qp),
        "mi_forms_max_abs": max(abs(f - mi) for f in forms),
    }
