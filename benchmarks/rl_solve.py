"""Train DQN and A2C on the JAX CartPole until they solve it; report the steps and the wall time.

Criterion: the greedy policy's average return over 100 evaluation episodes (fresh start states each
time) is at least 475 (CartPole-v1's threshold; the maximum is 500). Training runs through
``mathdl.train.loop`` with the library's default configurations (``rl.DQNConfig()``,
``rl.A2CConfig()``); every ``--eval-every`` agent steps the current network is evaluated, and the run
stops at the first evaluation that meets the criterion (that network is the solution). A run that
has not solved within ``--max-steps`` counts as a failure.

    .venv/bin/python benchmarks/rl_solve.py --agents dqn,a2c --seeds 0,1,2

Wall time counts everything after the agent's initial state exists: compilation, training and the
evaluations. Environment steps: DQN takes ``num_envs`` (1) per agent step, A2C ``num_envs x rollout``
(16 x 16 = 256).
"""

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp

from mathdl import rl, train
from mathdl.rl import envs

SETTINGS = {
    # agent: (config, init, make_step, env steps per agent step, eval every, max agent steps)
    "dqn": (rl.DQNConfig(), rl.dqn_init, rl.make_dqn_step, lambda c: c.num_envs, 1000, 50_000),
    "a2c": (rl.A2CConfig(), rl.a2c_init, rl.make_a2c_step, lambda c: c.num_envs * c.rollout, 100, 6_000),
}


class _Solved(Exception):
    def __init__(self, state, score):
        self.state, self.score = state, score


def solve(agent: str, seed: int, *, eval_every=None, max_steps=None, threshold=475.0, episodes=100) -> dict:
    config, init, make, per_step, every, limit = SETTINGS[agent]
    every, limit = eval_every or every, max_steps or limit
    env = envs.cartpole
    key = jax.random.key(seed)
    k_init, k_train, k_eval = jax.random.split(key, 3)
    state = jax.jit(init, static_argnums=(1, 2))(k_init, env, config)
    step = make(env, config)
    evaluate = jax.jit(lambda p, k: jnp.mean(rl.evaluate(env, p, k, num_episodes=episodes)))
    scores, eval_s = [], [0.0]

    def eval_fn(st):
        t = time.perf_counter()
        score = float(evaluate(st.params, jax.random.fold_in(k_eval, int(st.t))))
        eval_s[0] += time.perf_counter() - t
        scores.append((int(st.t), score))
        if score >= threshold:
            raise _Solved(st, score)
        return {"return": score}

    t0 = time.perf_counter()
    solved = None
    try:
        train.loop(step, state, key=k_train, steps=limit, eval_fn=eval_fn, eval_every=every, log_every=every,
                   progress=False, handle_signals=False)  # fmt: skip
    except _Solved as s:
        solved = s
    wall = time.perf_counter() - t0
    agent_steps = scores[-1][0] if solved else None
    return {
        "agent": agent,
        "seed": seed,
        "solved": solved is not None,
        "agent_steps": agent_steps,
        "env_steps": agent_steps * per_step(config) if solved else None,
        "score": solved.score if solved else max(s for _, s in scores),
        "wall_s": round(wall, 1),
        "eval_s": round(eval_s[0], 1),
        "curve": scores,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="dqn,a2c")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--json", default=None, help="append one JSON line per run here")
    args = parser.parse_args()
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, cpus {os.cpu_count()}, load {os.getloadavg()}")
    for agent in args.agents.split(","):
        for seed in map(int, args.seeds.split(",")):
            out = solve(agent, seed, max_steps=args.max_steps)
            curve = out.pop("curve")
            print(json.dumps(out), "load", tuple(round(x, 1) for x in os.getloadavg()), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps({**out, "curve": curve}) + "\n")


if __name__ == "__main__":
    main()
