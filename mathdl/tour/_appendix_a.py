"""Tour, Appendix A: derivatives by autodiff against finite differences, Hessian-vector products, Taylor models."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.tour._registry import register


def _loss(theta):
    """A small smooth scalar function of 6 parameters: a 2-3-1 tanh network's squared error on 4 points."""
    W1 = theta[:6].reshape(3, 2)
    X = jnp.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.0, 1.2]])
    y = jnp.array([0.3, -0.2, 0.8, 0.1])
    h = jnp.tanh(X @ W1.T)  # (4, 3)
    yhat = h @ jnp.array([0.7, -1.1, 0.4])
    return 0.5 * jnp.mean((yhat - y) ** 2) + 0.1 * jnp.sum(jnp.sin(theta) ** 2)


@register(
    "A",
    "Hessian-vector products, Jacobian modes, check_grad",
    expected={
        # float32: hvp (forward over reverse) vs the full Hessian times v; both are exact up to rounding (~1e-7).
        "hvp_vs_hessian_max_abs": (0.0, 1e-5),
        # jacfwd vs jacrev of the same map: rounding only.
        "jac_fwd_vs_rev_max_abs": (0.0, 1e-5),
        # central differences in float32 with h = eps^(1/3) max(1, |x|): relative error ~ eps^(2/3) ~ 1e-5..1e-3.
        "fd_grad_rel_error": (0.0, 5e-3),
        # 1 if check_grad accepted jax.grad of the loss (float32 default tolerances).
        "check_grad_ok": (1.0, 1.0),
    },
)
def derivatives_agree(out_dir: Path) -> dict[str, float]:
    """Autodiff against the definitions: Hessian vs hvp, forward vs reverse Jacobians, central differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import calculus

    theta = jnp.linspace(-0.8, 0.9, 6, dtype=jnp.float32)
    v = jnp.cos(jnp.arange(6, dtype=jnp.float32))
    H = jax.jit(lambda t: calculus.hessian(_loss, t))(theta)
    Hv = jax.jit(lambda t, v: calculus.hvp(_loss, t, v))(theta, v)
    g_map = lambda t: calculus.gradient(_loss, t)
    Jf = jax.jit(lambda t: calculus.jacobian(g_map, t, mode="forward"))(theta)
    Jr = jax.jit(lambda t: calculus.jacobian(g_map, t, mode="reverse"))(theta)
    g = jax.jit(g_map)(theta)
    g_fd = jax.jit(lambda t: calculus.finite_difference_gradient(_loss, t))(theta)
    report = calculus.check_grad(_loss, theta, raise_on_failure=False)

    # error of central differences against step size, in float32, on coordinate 0
    steps = np.logspace(-6, -0.5, 24)
    fd_at = jax.jit(lambda t, h: calculus.finite_difference_gradient(_loss, t, step=h))
    errs = [abs(float(fd_at(theta, float(h))[0]) - float(g[0])) for h in steps]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    im = axes[0].imshow(np.asarray(H), cmap="RdBu_r")
    fig.colorbar(im, ax=axes[0])
    axes[0].set_title("Hessian of a small network's loss (float32)")
    axes[1].loglog(steps, np.maximum(errs, 1e-12), "o-", ms=3)
    axes[1].axvline(
        calculus.default_step(jnp.float32), color="k", ls="--", lw=1, label=r"default $h=\varepsilon^{1/3}$"
    )
    axes[1].set(xlabel="step h", ylabel="|central difference - jax.grad|", title="Finite differences, float32")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "appA_derivatives.png", dpi=110)
    plt.close(fig)
    return {
        "hvp_vs_hessian_max_abs": float(jnp.max(jnp.abs(Hv - H @ v))),
        "jac_fwd_vs_rev_max_abs": float(jnp.max(jnp.abs(Jf - Jr))),
        "fd_grad_rel_error": float(jnp.linalg.norm(g_fd - g) / jnp.linalg.norm(g)),
        "check_grad_ok": float(report.ok),
    }


@register(
    "A",
    "Taylor models: error ratios when the step halves",
    expected={
        # Taylor's theorem: first-order error ~ C t^2, so halving t divides it by ~4.
        "taylor1_error_ratio": (3.5, 4.5),
        # second-order error ~ C t^3: halving divides it by ~8 (measured 8.3 at t = 0.01, float64).
        "taylor2_error_ratio": (7.5, 8.8),
    },
)
def taylor_orders(out_dir: Path) -> dict[str, float]:
    """First- and second-order Taylor models of the loss along a line, and their error orders."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import calculus

    # float64 (x64 switched on for this demo only): the error orders show only as t -> 0, where float32
    # rounding (~1e-7 of f) would swamp the t^3 error; at t = 0.2 the t^4 term still inflates the ratio to ~11.
    with jax.enable_x64(True):
        theta0 = jnp.linspace(-0.8, 0.9, 6, dtype=jnp.float64)
        d = jnp.array([1.0, -0.5, 0.3, 0.8, -1.0, 0.2], dtype=jnp.float64)
        ts = jnp.linspace(-1.5, 1.5, 121, dtype=jnp.float64)
        xs = theta0[None, :] + ts[:, None] * d[None, :]
        f = np.asarray(jax.jit(jax.vmap(_loss))(xs))
        model1 = jax.jit(jax.vmap(lambda x: calculus.taylor1(_loss, theta0, x)))
        model2 = jax.jit(jax.vmap(lambda x: calculus.taylor2(_loss, theta0, x)))
        m1, m2 = np.asarray(model1(xs)), np.asarray(model2(xs))
        t_pair = jnp.array([0.01, 0.005], dtype=jnp.float64)
        x_pair = theta0[None, :] + t_pair[:, None] * d[None, :]
        f_p = jax.vmap(_loss)(x_pair)
        e1 = np.asarray(jnp.abs(model1(x_pair) - f_p))
        e2 = np.asarray(jnp.abs(model2(x_pair) - f_p))

    fig, ax = plt.subplots(figsize=(6, 4))
    ts = np.asarray(ts)
    ax.plot(ts, f, "k", lw=2, label=r"$f(\theta_0 + t d)$")
    ax.plot(ts, m1, "--", label="first-order model")
    ax.plot(ts, m2, "--", label="second-order model")
    ax.set(
        xlabel="t",
        ylabel="value",
        title=r"Taylor models at $\theta_0$ (Appendix A.4)",
        ylim=(float(f.min()) - 0.5, float(f.max()) + 0.5),
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "appA_taylor.png", dpi=110)
    plt.close(fig)
    return {"taylor1_error_ratio": float(e1[0] / e1[1]), "taylor2_error_ratio": float(e2[0] / e2[1])}
