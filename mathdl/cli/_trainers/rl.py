"""``mathdl train`` for the reinforcement-learning agents (see ``mathdl/cli/_trainers/__init__.py``).

``mathdl train --model dqn|reinforce|a2c --env cartpole|mountain_car|acrobot|gridworld [--steps N]
[--num-envs N] [--lr LR] [--eval-episodes N] [--render PATH.png] [--seed S] [--checkpoint-dir DIR [--restart]]``

The agent (:mod:`mathdl.rl`) trains for ``--steps`` steps of its own (a DQN step is one action of
each of ``--num-envs`` environments and one gradient step; an A2C step a rollout of 16 steps of each
environment and one update; a REINFORCE step ``--num-envs`` whole episodes and one update) through
:func:`mathdl.train.loop`, with resumable checkpoints as for the other models. It prints the average
return of the greedy policy over ``--eval-episodes`` episodes and the SHA-256 digest of the final
parameters; ``--render`` writes one greedy episode as a PNG strip of frames (CartPole: the cart and
the pole; the other environments: the observation against time).
"""

import sys
import time

MODELS: dict[str, str] = {
    "dqn": "deep Q-network with replay and a target network, double DQN (Mnih et al. 2015; [MEDL] Sec. 8.4)",
    "reinforce": "REINFORCE with a learned baseline (Williams 1992; [MEDL] Sec. 8.4)",
    "a2c": "advantage actor-critic with GAE over parallel environments (Mnih et al. 2016; Schulman et al. 2016)",
}
ENVS = ("cartpole", "mountain_car", "acrobot", "gridworld")
DEFAULT_STEPS = {"dqn": 30_000, "reinforce": 300, "a2c": 3_000}


def add_arguments(parser) -> None:
    """Add this family's own flags to the ``mathdl train`` parser."""
    parser.add_argument("--env", default=None, help=f"RL agents: the environment, one of {', '.join(ENVS)} (cartpole)")
    parser.add_argument(
        "--num-envs", type=int, default=None, help="RL agents: environments run in parallel (dqn 1, a2c/reinforce 16)"
    )
    parser.add_argument(
        "--eval-episodes", type=int, default=100, help="RL agents: greedy episodes of the final evaluation (100)"
    )
    parser.add_argument("--render", default=None, help="RL agents: write one greedy episode as a PNG strip here")


def _error(message: str) -> int:
    print(f"mathdl train: {message}", file=sys.stderr)
    return 2


def _environment(name: str):
    from mathdl.rl import envs

    if name == "gridworld":
        return envs.gridworld(onehot=True)
    return {"cartpole": envs.cartpole, "mountain_car": envs.mountain_car, "acrobot": envs.acrobot}[name]


def _agent(model: str, env, num_envs, lr):
    from mathdl import rl

    cls, init, make = {
        "dqn": (rl.DQNConfig, rl.dqn_init, rl.make_dqn_step),
        "reinforce": (rl.ReinforceConfig, rl.reinforce_init, rl.make_reinforce_step),
        "a2c": (rl.A2CConfig, rl.a2c_init, rl.make_a2c_step),
    }[model]
    config = cls()
    if num_envs is not None:
        config = config._replace(num_envs=num_envs)
    if lr is not None:
        config = config._replace(lr=lr)
    return config, init, make(env, config)


def render_episode(env, states, live, path) -> int:
    """Draw the live steps of one episode as a strip of frames (CartPole) or curves (others); returns the length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = int(np.asarray(live).sum())
    if getattr(env, "name", "") == "cartpole":
        s = np.asarray(states.s)[:n]
        frames = np.unique(np.linspace(0, n - 1, min(n, 8)).astype(int))
        fig, axes = plt.subplots(1, len(frames), figsize=(2.0 * len(frames), 2.2), squeeze=False)
        for ax, i in zip(axes[0], frames, strict=True):
            x, theta = s[i, 0], s[i, 2]
            ax.add_patch(plt.Rectangle((x - 0.25, -0.1), 0.5, 0.2, color="tab:blue"))
            ax.plot([x, x + np.sin(theta)], [0.0, np.cos(theta)], color="tab:orange", lw=3)
            ax.axhline(-0.1, color="k", lw=0.5)
            ax.set(xlim=(-2.4, 2.4), ylim=(-0.3, 1.2), title=f"t = {i}", xlabel="x")
            ax.set_yticks([])
        fig.suptitle(f"CartPole, one greedy episode of {n} steps")
    else:
        obs = np.asarray(states.s if hasattr(states, "s") else states)[:n]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(obs.reshape(n, -1))
        ax.set(title=f"{getattr(env, 'name', 'env')}, one greedy episode of {n} steps", xlabel="step",
               ylabel="state")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return n


def run(args) -> int:
    """Train ``args.model``; returns the exit status."""
    t0 = time.perf_counter()
    env_name = args.env or "cartpole"
    if env_name not in ENVS:
        return _error(f"argument --env expected one of {', '.join(ENVS)}, got {env_name!r}.")
    steps = args.steps if args.steps is not None else DEFAULT_STEPS[args.model]
    for flag, value in (("--steps", steps), ("--num-envs", args.num_envs), ("--eval-episodes", args.eval_episodes)):
        if value is not None and value < 1:
            return _error(f"argument {flag} expected a positive integer, got {value}.")
    if args.lr is not None and not args.lr > 0:
        return _error(f"argument --lr expected a positive number, got {args.lr}.")
    import jax
    import numpy as np

    from mathdl import rl, train

    env = _environment(env_name)
    config, init, step = _agent(args.model, env, args.num_envs, args.lr)
    key = jax.random.key(args.seed)
    k_init, k_train, k_eval, k_render = jax.random.split(key, 4)
    state = jax.jit(init, static_argnums=(1, 2))(k_init, env, config)  # one compile, not one per small op
    agent_settings = {k: list(v) if isinstance(v, tuple) else v for k, v in config._asdict().items()}
    settings = {"model": args.model, "env": env_name, **agent_settings, "seed": args.seed}
    try:
        result = train.loop(
            step,
            state,
            key=k_train,
            steps=steps,
            log_every=min(steps, max(1, steps // 20)),
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            restart=args.restart,
            config=settings,
            progress=not args.no_progress,
        )
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    except train.NonFiniteError as exc:
        print(f"mathdl train: {exc}", file=sys.stderr)
        return 1
    params = result.state.params
    returns = np.asarray(jax.jit(lambda p, k: rl.evaluate(env, p, k, num_episodes=args.eval_episodes))(params, k_eval))
    print(f"model {args.model} on {env_name}: {result.step} steps ({result.stop_reason})")
    print(f"evaluation return: mean {returns.mean():.2f} over {len(returns)} greedy episodes "
          f"(min {returns.min():.1f}, max {returns.max():.1f})")  # fmt: skip
    if args.render:
        states, _, live = jax.jit(lambda p, k: rl.greedy_episode(env, p, k))(params, k_render)
        n = render_episode(env, states, live, args.render)
        print(f"rendered an episode of {n} steps to {args.render}")
    print(f"params sha256 {train.tree_digest(params)}")
    print(f"wall time {time.perf_counter() - t0:.2f} s")
    from mathdl.cli._trainers import exit_status  # here: the package imports this module

    return exit_status("train", result)
