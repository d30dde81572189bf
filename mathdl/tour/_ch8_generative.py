"""Tour, Chapter 8 (generative models, Sec. 8.1-8.3): the ELBO's gap, gradient estimators, diffusion, a GAN on ring8."""

from pathlib import Path

from mathdl.tour._registry import register


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@register(
    "8",
    "ELBO against the exact log p(x) of a linear-Gaussian model: the gap is KL(q || posterior), 0 at the posterior",
    expected={
        "gap_minus_kl_in_std_errors": (-4.0, 4.0),
        "gap_at_posterior": (-1e-4, 1e-4),
        "kl_at_shift_1": (0.3, 20.0),
    },
)
def elbo_gap_linear_gaussian(out_dir: Path) -> dict[str, float]:
    """z ~ N(0, I_2), x | z ~ N(Wz + b, 0.5 I_3); q = posterior shifted by s (1, 1); gap and KL against s."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mathdl import generative as G

    k_w, k_b, k_x, k_e = jax.random.split(jax.random.key(0), 4)
    model = G.LinearGaussianModel(jax.random.normal(k_w, (3, 2)), jax.random.normal(k_b, (3,)), jnp.asarray(0.5))
    x = jax.random.normal(k_x, (3,))
    mean, cov = G.linear_gaussian_posterior(model, x)
    gap = jax.jit(lambda k, s: G.elbo_gap(k, model, x, mean + s, cov, num_samples=2000))
    shifts = np.linspace(0.0, 1.5, 7)
    rows = [gap(jax.random.fold_in(k_e, i), jnp.asarray(s, mean.dtype)) for i, s in enumerate(shifts)]
    gaps = np.array([float(r.log_evidence - r.elbo) for r in rows])
    kls = np.array([float(r.kl) for r in rows])
    ses = np.array([float(r.elbo_std_error) for r in rows])

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.errorbar(shifts, gaps, yerr=2 * ses, fmt="o", label="log p(x) - ELBO (Monte Carlo, 2 s.e.)")
    ax.plot(shifts, kls, "-", label="KL(q || p(z|x)) exact")
    ax.set_xlabel("shift s of q's mean from the posterior mean")
    ax.set_ylabel("nats")
    ax.set_title("The ELBO's gap is the KL to the posterior")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_elbo_gap.png", dpi=120)
    plt.close(fig)
    i = int(np.argmin(np.abs(shifts - 1.0)))
    return {
        "gap_minus_kl_in_std_errors": float((gaps[-1] - kls[-1]) / ses[-1]),
        "gap_at_posterior": float(gaps[0]),
        "kl_at_shift_1": float(kls[i]),
    }


@register(
    "8",
    "reparameterisation against score-function (REINFORCE) gradients of E|z|^2, z ~ N(mu, sigma^2): same mean",
    expected={
        "reparam_mean_error": (0.0, 0.05),
        "score_mean_error": (0.0, 0.3),
        "variance_ratio_score_over_reparam": (3.0, 1e4),
    },
)
def gradient_estimator_variance(out_dir: Path) -> dict[str, float]:
    """20,000 single-draw estimates of d/dmu E|z|^2 = 2 mu at mu = (0.5, -1), sigma = (0.8, 0.3)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mathdl import generative as G

    mu = jnp.asarray([0.5, -1.0])
    log_sigma = jnp.log(jnp.asarray([0.8, 0.3]))
    est = jax.jit(lambda k: G.gradient_estimators(k, lambda z: jnp.sum(z * z), mu, log_sigma, num_samples=20000))(
        jax.random.key(1)
    )
    rep, sf = np.asarray(est.reparameterization)[:, 0, 0], np.asarray(est.score_function)[:, 0, 0]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bins = np.linspace(-6, 8, 80)
    ax.hist(sf, bins=bins, alpha=0.6, density=True, label=f"score function (var {sf.var():.2f})")
    ax.hist(rep, bins=bins, alpha=0.6, density=True, label=f"reparameterised (var {rep.var():.2f})")
    ax.axvline(1.0, color="k", lw=1, label="true gradient 2 mu_1 = 1")
    ax.set_xlabel("single-draw estimate of dE/dmu_1")
    ax.set_ylabel("density")
    ax.set_title("Two unbiased gradient estimators")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_gradient_estimators.png", dpi=120)
    plt.close(fig)
    return {
        "reparam_mean_error": float(abs(rep.mean() - 1.0)),
        "score_mean_error": float(abs(sf.mean() - 1.0)),
        "variance_ratio_score_over_reparam": float(sf.var() / rep.var()),
    }


@register(
    "8",
    "DDPM forward process on ring8: q(z_t | x) blurs the 8 modes into N(0, I) by t = T (T = 1000, linear betas)",
    expected={
        "alpha_bar_T": (0.0, 1e-3),
        "std_z_T": (0.9, 1.1),
        "mean_norm_z_T": (0.0, 0.15),
        "log_p_ring_at_z0_minus_zT": (5.0, 1000.0),
    },
)
def diffusion_forward_ring8(out_dir: Path) -> dict[str, float]:
    """2,000 points of the ring of 8 Gaussians pushed through q(z_t | x) at t = 0, 50, 200, 999."""
    import jax
    import numpy as np

    from mathdl import data
    from mathdl import generative as G

    k_x, k_q = jax.random.split(jax.random.key(2))
    ring = data.toy2d_mixture("ring8")
    x = data.mixture_sample(k_x, ring, 2000).X
    sched = G.ddpm_schedule(1000)
    forward = jax.jit(jax.vmap(lambda k, xi, t: G.q_sample(k, sched, xi, t), in_axes=(0, 0, None)))
    steps = (0, 50, 200, 999)
    zs = [np.asarray(forward(jax.random.split(jax.random.fold_in(k_q, t), 2000), x, t)) for t in steps]
    logp = jax.jit(lambda z: data.mixture_log_prob(ring, z).mean())

    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.8), sharex=True, sharey=True)
    for ax, t, z in zip(axes, steps, zs, strict=True):
        ax.scatter(z[:, 0], z[:, 1], s=1)
        ax.set_title(f"t = {t + 1}, alpha_bar = {float(sched.alpha_bars[t]):.3f}", fontsize=8)
        ax.set_xlabel("z1")
        ax.set_aspect("equal")
    axes[0].set_ylabel("z2")
    fig.suptitle("Forward diffusion q(z_t | x) of the ring of 8 Gaussians", fontsize=9)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_diffusion_forward.png", dpi=120)
    plt.close(fig)
    zT = zs[-1]
    return {
        "alpha_bar_T": float(sched.alpha_bars[-1]),
        "std_z_T": float(zT.std()),
        "mean_norm_z_T": float(np.linalg.norm(zT.mean(0))),
        "log_p_ring_at_z0_minus_zT": float(logp(zs[0]) - logp(zT)),
    }


@register(
    "8",
    "GAN value at the optimal discriminator D* = p_D / (p_D + p_G) equals 2 JSD(p_D || p_G) - log 4",
    expected={"value_minus_2jsd_plus_log4": (-1e-5, 1e-5), "value_at_pG_equal_pD": (-1.3864, -1.3862)},
)
def gan_value_at_optimum(out_dir: Path) -> dict[str, float]:
    """p_D: 8 equal modes; p_G: one weight per mode collapsing onto mode 0 as c goes from 0 to 1."""
    import jax.numpy as jnp
    import numpy as np

    from mathdl import generative as G
    from mathdl import info

    p_data = jnp.full((8,), 1 / 8)
    cs = np.linspace(0.0, 0.99, 12)
    values, jsds = [], []
    for c in cs:
        p_model = (1 - c) * p_data + c * jnp.eye(8)[0]
        d_star = G.optimal_discriminator(p_data, p_model)
        values.append(float(G.gan_value(p_data, p_model, d_star)))
        jsds.append(float(info.js_divergence(p_data, p_model)))
    values, jsds = np.array(values), np.array(jsds)

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(cs, values, "o", label="V(D*, G)")
    ax.plot(cs, 2 * jsds - np.log(4), "-", label="2 JSD - log 4")
    ax.set_xlabel("collapse c of p_G onto one of the 8 modes")
    ax.set_ylabel("nats")
    ax.set_title("GAN value at the optimal discriminator")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_gan_value.png", dpi=120)
    plt.close(fig)
    return {
        "value_minus_2jsd_plus_log4": float(np.max(np.abs(values - (2 * jsds - np.log(4))))),
        "value_at_pG_equal_pD": float(values[0]),
    }
