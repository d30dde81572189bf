"""Tour, Chapter 8.4 (deep reinforcement learning): CartPole in JAX, many episodes at once; A2C with GAE
learns to balance the pole; GAE's advantages by hand."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "8",
    "CartPole in JAX: 1,024 vmapped episodes; random play lasts about 22 steps, a hand-set linear "
    "controller balances the pole for the full 500",
    expected={"random_return": (18.0, 27.0), "controller_return": (499.0, 500.0), "env_steps_per_s": (1e5, 1e12)},
)
def cartpole_many_episodes(out_dir: Path) -> dict[str, float]:
    """Average returns of a random policy and of a PD controller on the pole, 1,024 episodes in one scan."""
    import time

    import jax
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl.rl import envs

    env, n = envs.cartpole, 1024

    def episodes(policy, key):
        k_reset, k_act = jax.random.split(key)
        states, obs = jax.vmap(env.reset)(jax.random.split(k_reset, n))

        def body(carry, k):
            st, o, ret, live = carry
            a = policy(o, k)
            st, o, r, done = jax.vmap(env.step)(st, a)
            return (st, o, ret + jnp.where(live, r, 0.0), live & ~done), live

        init = (states, obs, jnp.zeros(n), jnp.ones(n, bool))
        (_, _, ret, _), live = jax.lax.scan(body, init, jax.random.split(k_act, env.max_steps))
        return ret, live

    def random_policy(o, k):
        return jax.random.randint(k, (n,), 0, 2, jnp.int32)

    def controller(o, k):  # push towards the side the pole is falling to
        return (o[:, 2] + 0.5 * o[:, 3] + 0.01 * o[:, 0] + 0.05 * o[:, 1] > 0).astype(jnp.int32)

    run_random = jax.jit(lambda k: episodes(random_policy, k))
    run_control = jax.jit(lambda k: episodes(controller, k))
    jax.block_until_ready(run_random(jax.random.key(0)))
    t0 = time.perf_counter()
    ret_random, _ = jax.block_until_ready(run_random(jax.random.key(1)))
    seconds = time.perf_counter() - t0
    ret_control, _ = run_control(jax.random.key(2))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(ret_random, bins=40, color="tab:blue")
    ax.set(title="CartPole: returns of 1,024 random-policy episodes", xlabel="return (steps balanced)",
           ylabel="episodes")  # fmt: skip
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_cartpole_random_returns.png", dpi=80)
    plt.close(fig)
    return {
        "random_return": float(jnp.mean(ret_random)),
        "controller_return": float(jnp.mean(ret_control)),
        "env_steps_per_s": n * env.max_steps / seconds,
    }


@register(
    "8",
    "A2C with GAE (16 environments x 16 steps per update, 400 updates through train.loop) learns CartPole: "
    "the greedy policy's average return over 100 episodes rises from about 30 to about 270",
    expected={"greedy_return_before": (5.0, 60.0), "greedy_return_after": (150.0, 500.0)},
)
def a2c_cartpole(out_dir: Path) -> dict[str, float]:
    """Train A2C for 400 updates; plot the training return against environment steps."""
    import jax
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import rl, train
    from mathdl.rl import envs

    env, cfg = envs.cartpole, rl.A2CConfig()
    state = jax.jit(rl.a2c_init, static_argnums=(1, 2))(jax.random.key(0), env, cfg)
    evaluate = jax.jit(lambda p: jnp.mean(rl.evaluate(env, p, jax.random.key(7), num_episodes=100)))
    before = float(evaluate(state.params))
    res = train.loop(rl.make_a2c_step(env, cfg), state, key=jax.random.key(1), steps=400, log_every=20,
                     progress=False)  # fmt: skip
    after = float(evaluate(res.state.params))
    rows = [h for h in res.history if "return" in h]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot([h["step"] * cfg.num_envs * cfg.rollout for h in rows], [h["return"] for h in rows])
    ax.set(title="A2C on CartPole: return of the last finished episodes", xlabel="environment steps",
           ylabel="episode return")  # fmt: skip
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_a2c_cartpole.png", dpi=80)
    plt.close(fig)
    return {"greedy_return_before": before, "greedy_return_after": after}


@register(
    "8",
    "GAE by hand: rewards (1, 1, 1), V = 0, gamma = 0.9; lambda = 1 gives the returns (2.71, 1.9, 1), "
    "lambda = 0 the TD errors (1, 1, 1)",
    expected={"A0_lambda_1": (2.709, 2.711), "A0_lambda_0": (0.999, 1.001), "A0_lambda_0.5": (1.6524, 1.6526)},
)
def gae_by_hand(out_dir: Path) -> dict[str, float]:
    """A_0 = sum_k (gamma lambda)^k delta_k: 1 + 0.45 + 0.2025 = 1.6525 at lambda = 0.5."""
    import jax.numpy as jnp

    from mathdl import rl

    r, d, v = jnp.ones(3), jnp.full(3, 0.9), jnp.zeros(4)
    return {f"A0_lambda_{lam:g}": float(rl.gae(r, d, v, lam)[0]) for lam in (1.0, 0.0, 0.5)}
