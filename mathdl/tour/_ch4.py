"""Tour, Chapter 4: optimizers on the book's toys (Rosenbrock, the SGD toy, exact line search)."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.tour._registry import register

_ROSEN_STEPS = 2000


def _contours(ax, f, xlim, ylim):
    xs = np.linspace(*xlim, 200)
    ys = np.linspace(*ylim, 200)
    XX, YY = np.meshgrid(xs, ys)
    pts = jnp.asarray(np.stack([XX.ravel(), YY.ravel()], axis=1))
    ZZ = np.asarray(jax.jit(jax.vmap(f))(pts)).reshape(XX.shape)
    ax.contour(XX, YY, np.log1p(ZZ), levels=25, cmap="Greys", linewidths=0.6)


@register(
    "4",
    "GD (geometric), momentum, Adam on Rosenbrock",
    expected={
        # Adam, alpha = 0.05, 2000 steps from (-1.2, 1): measured ~2e-4 from (1, 1).
        "adam_dist_to_min": (0.0, 1e-3),
        # Book momentum, beta = 0.9, alpha = 0.001/(1 - beta), 2000 steps from (0.4, -0.2): measured ~2e-4.
        "momentum_dist_to_min": (0.0, 1e-3),
        # GD with alpha_t = 0.005 * 0.99^t stalls: sum of steps is 0.5; measured ~0.85 from (1, 1).
        "gd_geometric_dist_to_min": (0.5, 1.2),
    },
)
def rosenbrock_trajectories(out_dir: Path) -> dict[str, float]:
    """Trajectories of three first-order methods on Rosenbrock, on its contours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import optim

    runs = {
        "GD, α_t = 0.005·0.99^t": (
            optim.sgd(optim.geometric_schedule(0.005, decay_rate=0.99)),
            jnp.array([0.2, -0.2]),
        ),
        "momentum, β = 0.9, α = 0.01": (optim.momentum(0.001 / (1 - 0.9), beta=0.9), jnp.array([0.4, -0.2])),
        "Adam, α = 0.05": (optim.adam(0.05), jnp.array([-1.2, 1.0])),
    }
    trajectories = {
        name: jax.jit(lambda x0, opt=opt: optim.run(opt, optim.rosenbrock, x0, steps=_ROSEN_STEPS).thetas)(x0)
        for name, (opt, x0) in runs.items()
    }
    fig, ax = plt.subplots(figsize=(6, 5))
    _contours(ax, optim.rosenbrock, (-1.5, 1.5), (-0.5, 1.5))
    for name, th in trajectories.items():
        th = np.asarray(th)
        ax.plot(th[:, 0], th[:, 1], lw=1.2, label=name)
        ax.plot(th[0, 0], th[0, 1], "o", ms=4, color=ax.lines[-1].get_color())
    ax.plot(1, 1, "k*", ms=12, label="minimum (1, 1)")
    ax.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title=f"Rosenbrock, {_ROSEN_STEPS} steps")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(out_dir / "ch4_rosenbrock_trajectories.png", dpi=110)
    plt.close(fig)
    dist = {name: float(np.linalg.norm(np.asarray(th[-1]) - 1.0)) for name, th in trajectories.items()}
    names = list(runs)
    return {
        "gd_geometric_dist_to_min": dist[names[0]],
        "momentum_dist_to_min": dist[names[1]],
        "adam_dist_to_min": dist[names[2]],
    }


@register(
    "4",
    "GD and SGD on the book's SGD toy",
    expected={
        # GD, alpha = 0.01, 1000 steps from (6, 6) contracts the error by 0.98 per step (1e-8 in float64);
        # the tour runs in float32, where steps below the spacing of floats near 1.8 stall it: measured 3e-6.
        "gd_error": (0.0, 1e-5),
        # SGD, one random point per step, same alpha: hovers in a noise ball; 40 seeds gave 0.04-0.45 (median 0.17).
        "sgd_error": (0.0, 0.6),
    },
)
def sgd_toy(out_dir: Path) -> dict[str, float]:
    """GD through optim.run and SGD through mathdl.train's step, against the closed-form minimiser."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import optim, train

    theta0 = jnp.array([6.0, 6.0])
    star = np.asarray(optim.sgd_toy_minimiser())
    gd = jax.jit(lambda x0: optim.run(optim.gd(0.01), optim.sgd_toy, x0, steps=1000).thetas)(theta0)

    X = jnp.asarray(optim.SGD_TOY_X)
    c = jnp.asarray(optim.SGD_TOY_C)
    opt = optim.sgd(0.01)
    step = train.make_train_step(lambda p, batch, key: jnp.mean(optim.sgd_toy_loss(p, *batch)), opt)

    @jax.jit
    def sgd_run(key, theta):
        def body(carry, k):
            theta, state = carry
            k_index, k_step = jax.random.split(k)
            i = jax.random.randint(k_index, (1,), 0, X.shape[0])  # one random example per step
            theta, state, _ = step(theta, state, (X[i], c[i]), k_step)
            return (theta, state), theta

        (_, _), path = jax.lax.scan(body, (theta, opt.init(theta)), jax.random.split(key, 1000))
        return jnp.concatenate([theta[None], path])

    sgd = sgd_run(jax.random.key(0), theta0)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    _contours(ax, optim.sgd_toy, (0, 7), (-0.5, 7))
    ax.plot(*np.asarray(gd).T, lw=1.5, label="GD (full gradient)")
    ax.plot(*np.asarray(sgd).T, lw=0.7, alpha=0.8, label="SGD (one point per step)")
    ax.plot(*np.asarray(optim.SGD_TOY_X).T, "ks", ms=5, label="data points $x_i$")
    ax.plot(*star, "r*", ms=12, label="closed-form minimiser")
    ax.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title="SGD toy, α = 0.01, 1000 steps")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "ch4_sgd_toy.png", dpi=110)
    plt.close(fig)
    return {
        "gd_error": float(np.linalg.norm(np.asarray(gd[-1]) - star)),
        "sgd_error": float(np.linalg.norm(np.asarray(sgd[-1]) - star)),
    }


@register(
    "4",
    "Exact line search on Rosenbrock: zig-zag",
    expected={
        # 1-D Newton on phi'(alpha) from (0.8, 0) along -grad f; SciPy's Brent gives 0.0016483.
        "first_alpha": (0.001645, 0.001652),
        # Successive steepest-descent directions with exact search are orthogonal (run in float64): measured 1.4e-12.
        "max_abs_cos_successive": (0.0, 1e-8),
        # Objective after 20 exact-search steps, down from 41: measured 0.0025.
        "value_after_20": (0.0, 0.01),
    },
)
def exact_line_search(out_dir: Path) -> dict[str, float]:
    """Steepest descent with exact line search: orthogonal successive steps (zig-zag)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import optim

    with jax.enable_x64(True):  # orthogonality is a float64 statement; float32 gives |cos| ~ 1e-3
        theta0 = jnp.array([0.8, 0.0], jnp.float64)
        first = optim.exact_line_search(optim.rosenbrock, theta0, -jax.grad(optim.rosenbrock)(theta0))
        traj = jax.jit(lambda x0: optim.gd_exact_line_search(optim.rosenbrock, x0, steps=20))(theta0)
        G = np.asarray(jax.vmap(jax.grad(optim.rosenbrock))(traj.thetas))
    cos = np.sum(G[1:] * G[:-1], axis=1) / (np.linalg.norm(G[1:], axis=1) * np.linalg.norm(G[:-1], axis=1))
    th = np.asarray(traj.thetas)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    _contours(ax, optim.rosenbrock, (0.3, 1.05), (-0.05, 1.0))
    ax.plot(th[:, 0], th[:, 1], "o-", ms=3, lw=1, label="exact line search steps")
    ax.set(xlabel=r"$\theta_1$", ylabel=r"$\theta_2$", title="Steepest descent with exact line search")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "ch4_exact_line_search.png", dpi=110)
    plt.close(fig)
    return {
        "first_alpha": float(first.alpha),
        "max_abs_cos_successive": float(np.max(np.abs(cos))),
        "value_after_20": float(traj.values[-1]),
    }
