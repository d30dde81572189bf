"""Tour, Chapter 8.4 (reinforcement learning, finite MDPs): value iteration on the 4x3 gridworld; tabular
Q-learning on the same world."""

from pathlib import Path

from mathdl.tour._registry import register

_ARROWS = {0: "<", 1: "v", 2: ">", 3: "^"}


@register(
    "8",
    "value iteration on the 4x3 gridworld (gamma = 1, slip 0.2): V*(start) = 0.705 as in Russell & Norvig; "
    "residuals shrink geometrically; the linear solve at pi* agrees",
    expected={
        "v_start": (0.7045, 0.7060),
        "v_next_to_goal": (0.9170, 0.9185),
        "sweeps_gamma_0.9": (10.0, 400.0),
        "max_abs_vi_minus_solve_gamma_0.9": (0.0, 1e-5),
    },
)
def gridworld_value_iteration(out_dir: Path) -> dict[str, float]:
    """VI at gamma = 1 (Russell & Norvig's utilities) and 0.9; the residuals and the policy arrows."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import rl
    from mathdl.rl import envs

    env = envs.gridworld(gamma=1.0)
    vi = rl.value_iteration(*env.mdp, tol=1e-7)
    cell = {tuple(c): i for i, c in enumerate(env.coords)}
    env9 = envs.gridworld(gamma=0.9)
    vi9 = rl.value_iteration(*env9.mdp, tol=1e-7)
    solve9 = rl.policy_evaluation(*env9.mdp, vi9.policy)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    for res, name in ((vi, "gamma = 1"), (vi9, "gamma = 0.9")):
        k = int(res.iterations)
        ax1.semilogy(np.arange(1, k + 1), np.asarray(res.residuals[:k]), label=name)
    ax1.set_xlabel("sweep k")
    ax1.set_ylabel("||V_k - V_(k-1)||_inf")
    ax1.set_title("value iteration residuals")
    ax1.legend(fontsize=7)
    grid = np.full(env.shape, np.nan)
    for i, (r, c) in enumerate(env.coords):
        grid[r, c] = float(vi.V[i])
    ax2.imshow(grid, cmap="viridis")
    for i, (r, c) in enumerate(env.coords):
        label = env.layout[r][c] if bool(env.terminal[i]) else _ARROWS[int(vi.policy[i])]
        ax2.text(c, r, f"{label}\n{float(vi.V[i]):.3f}", ha="center", va="center", color="w", fontsize=8)
    ax2.set_title("V* and pi* (gamma = 1)")
    ax2.set_xlabel("column")
    ax2.set_ylabel("row")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_gridworld_vi.png", dpi=120)
    plt.close(fig)
    return {
        "v_start": float(vi.V[cell[(2, 0)]]),
        "v_next_to_goal": float(vi.V[cell[(0, 2)]]),
        "sweeps_gamma_0.9": float(vi9.iterations),
        "max_abs_vi_minus_solve_gamma_0.9": float(np.max(np.abs(np.asarray(vi9.V) - np.asarray(solve9.V)))),
    }


@register(
    "8",
    "tabular Q-learning on the deterministic 4x3 gridworld (8 seeds vmapped, 5,000 steps): "
    "the greedy policies are optimal",
    expected={
        "seeds_optimal": (8.0, 8.0),
        "max_value_gap": (0.0, 1e-5),
        "last_500_steps_mean_return": (0.3, 1.0),
    },
)
def gridworld_q_learning(out_dir: Path) -> dict[str, float]:
    """Q-learning (alpha 0.5, epsilon 0.3) vmapped over seeds; the value of each greedy policy against V*."""
    import jax
    import jax.numpy as jnp
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import rl
    from mathdl.rl import envs

    env = envs.gridworld(slip=0.0, gamma=0.9)
    opt = rl.value_iteration(*env.mdp)
    run = jax.jit(jax.vmap(lambda k: rl.q_learning(k, env, num_steps=5000, alpha=0.5, epsilon=0.3)))
    res = run(jax.random.split(jax.random.key(0), 8))
    gaps = []
    for Q in res.values:
        V = rl.policy_evaluation(*env.mdp, jnp.argmax(Q, -1).astype(jnp.int32)).V
        gaps.append(float(jnp.max(opt.V - V)))
    ret = np.asarray(jax.vmap(rl.episode_returns)(res.rewards, res.dones))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for i in range(ret.shape[0]):
        ok = ~np.isnan(ret[i])
        ax.plot(np.flatnonzero(ok), ret[i][ok], ".", ms=2, alpha=0.5)
    ax.set_xlabel("environment step")
    ax.set_ylabel("episode return")
    ax.set_title("Q-learning on the gridworld, 8 seeds")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_gridworld_q_learning.png", dpi=120)
    plt.close(fig)
    tail = ret[:, -500:]
    return {
        "seeds_optimal": float(sum(g <= 1e-5 for g in gaps)),
        "max_value_gap": max(0.0, max(gaps)),
        "last_500_steps_mean_return": float(np.nanmean(tail)),
    }
