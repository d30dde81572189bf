"""Scaling of an MLP training step from one process to a job of two processes on this host (CPU, gloo).

Configurations, as ``processes x devices per process``: ``1 x 1``; ``1 x 2`` (two simulated CPU
devices in one process); ``2 x 1`` (a job of two processes started by ``mathdl launch`` and joined
through ``train.initialize_distributed``); and, as the baseline for the job, ``2 x 1 apart``: the
same two processes started together but not joined (each trains alone on its own batch), which
costs what two processes sharing this host's cores cost, without any collective.

Every run trains the same MLP (256-512-512-10, float32, Adam) with ``train.fit`` on synthetic data,
each process on its own shard, with a fixed batch per device (weak scaling: perfect scaling keeps
the examples per second per device constant), through the host-fed sharded path
(``data_shards=1`` in one process), as a job does. Then each process times the bare compiled
``make_train_step`` on one global batch (median of 50 steps), and one all-reduce of the gradient's
leaves over the mesh's ``data`` axis alone (a jitted sum over a leading device axis of arrays shaped
like the gradient: XLA makes it one tuple all-reduce, as in the step).

The all-reduce's share of the step is the job's step time less the ``apart`` step time (what the
collective adds inside the step, waiting for the peer included), against the job's step time; the
all-reduce timed alone is shown beside it.

Usage::

    .venv/bin/python benchmarks/distributed_scaling.py                       # prints the table
    .venv/bin/python benchmarks/distributed_scaling.py --out benchmarks/results/cpu/distributed.md
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTHS = (256, 512, 512, 10)
PER_DEVICE_BATCH = 128
STEPS_PER_EPOCH = 25
EPOCHS = 8
CONFIGS = (("1 x 1", 1, 1, False), ("1 x 2", 1, 2, False), ("2 x 1", 2, 1, False), ("2 x 1 apart", 2, 1, True))


def _median_ms(fn, repeats=50):
    import jax
    import numpy as np

    for _ in range(5):
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def worker() -> None:
    import numpy as np

    from mathdl.train import initialize_distributed

    if "MATHDL_NUM_PROCESSES" in os.environ:
        initialize_distributed()
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding, PartitionSpec

    from mathdl import models, optim, train
    from mathdl.train._parallel import to_global

    p, n_proc = jax.process_index(), jax.process_count()
    n_dev, n_local = len(jax.devices()), len(jax.local_devices())
    batch = PER_DEVICE_BATCH * n_dev
    rows = PER_DEVICE_BATCH * n_local * STEPS_PER_EPOCH
    rng = np.random.default_rng(int(os.environ.get("BENCH_SEED", p)))
    X = rng.normal(size=(rows, WIDTHS[0])).astype(np.float32)
    y = rng.integers(0, WIDTHS[-1], size=rows).astype(np.int32)
    params = jax.jit(lambda k: models.init_mlp(k, list(WIDTHS), dtype=np.float32))(jax.random.key(0))

    def loss(theta, b, key):
        del key
        z = jax.vmap(models.mlp, in_axes=(None, 0))(theta, b[0])
        return jnp.mean(jax.nn.logsumexp(z, axis=-1) - jnp.take_along_axis(z, b[1][:, None], axis=-1)[:, 0])

    opt = optim.adam(1e-3)
    result = train.fit(
        loss, opt, params, (X, y), key=jax.random.key(1), epochs=EPOCHS, batch_size=batch, progress=False,
        data_shards=None if n_proc > 1 else 1, devices=None if n_proc > 1 else n_dev,
    )  # fmt: skip
    rates = [h["examples_per_s"] for h in result.history if "examples_per_s" in h][1:]
    examples_per_s = float(np.mean(rates))

    mesh = train.make_mesh()
    rep, rows_sharded = NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("data"))
    step = train.make_train_step(loss, opt)
    state = to_global((params, jax.jit(opt.init)(params)), rep)
    b = PER_DEVICE_BATCH * n_local
    Xb = jax.make_array_from_process_local_data(rows_sharded, X[:b], (batch, WIDTHS[0]))
    yb = jax.make_array_from_process_local_data(rows_sharded, y[:b], (batch,))
    compiled = jax.jit(lambda s, bt, k: step(*s, bt, k)[:2], donate_argnums=(0,))
    key, holder = jax.random.key(2), [state]

    def one_step():
        holder[0] = compiled(holder[0], (Xb, yb), key)
        return holder[0]

    step_ms = _median_ms(one_step)

    leaves = jax.tree.leaves(params)
    stacked = [
        jax.make_array_from_process_local_data(
            NamedSharding(mesh, PartitionSpec("data")), np.ones((n_local, *a.shape), np.float32), (n_dev, *a.shape)
        )
        for a in leaves
    ]
    reduce = jax.jit(lambda gs: [g.sum(0) for g in gs], out_shardings=rep)
    allreduce_ms = _median_ms(lambda: reduce(stacked))
    if p == 0:
        out = {
            "processes": n_proc,
            "devices": n_dev,
            "batch": batch,
            "params": sum(int(a.size) for a in leaves),
            "examples_per_s": examples_per_s,
            "fit_step_ms": 1e3 * batch / examples_per_s,
            "step_ms": step_ms,
            "allreduce_ms": allreduce_ms,
        }
        print("RESULT " + json.dumps(out), flush=True)


def _run(processes: int, devices: int, apart: bool) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    me = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    if processes == 1 or apart:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        procs = [
            subprocess.Popen(me, cwd=ROOT, env={**env, "BENCH_SEED": str(i)}, stdout=subprocess.PIPE, text=True)
            for i in range(processes)
        ]
        outs = [pr.communicate(timeout=900)[0] for pr in procs]
        if any(pr.returncode for pr in procs):
            raise RuntimeError(f"{processes} x {devices} (apart) failed")
        found = [json.loads(ln[7:]) for out in outs for ln in out.splitlines() if ln.startswith("RESULT ")]
        merged = {k: (sum(f[k] for f in found) / len(found)) for k in found[0] if k not in ("processes", "devices")}
        merged.update(processes=processes, devices=devices * processes, batch=found[0]["batch"])
        merged["examples_per_s"] = sum(f["examples_per_s"] for f in found)  # the two together
        merged["fit_step_ms"] = sum(f["fit_step_ms"] for f in found) / len(found)
        return merged
    launcher = [sys.executable, "-m", "mathdl.cli._launch", "-n", str(processes), "--cpu-devices", str(devices)]
    out = subprocess.run([*launcher, "--", *me], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{processes} x {devices} failed:\n{out.stderr[-3000:]}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def table(results: dict) -> str:
    base = results["1 x 1"]["examples_per_s"] / results["1 x 1"]["devices"]
    lines = [
        "| processes x devices | global batch | step in fit (ms) | bare step (ms) | examples/s | per device "
        "| vs 1 x 1 | all-reduce alone (ms) | all-reduce in the step (ms) | share of the step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    apart = results["2 x 1 apart"]["step_ms"]
    for name, r in results.items():
        per_dev = r["examples_per_s"] / r["devices"]
        if name == "2 x 1":
            inside = r["step_ms"] - apart
            in_step, share = f"{inside:.2f}", f"{100 * inside / r['step_ms']:.0f} %"
        else:
            in_step = share = "-"
        alone = "-" if name.endswith("apart") else f"{r['allreduce_ms']:.2f}"
        lines.append(
            f"| {name} | {r['batch']} | {r['fit_step_ms']:.2f} | {r['step_ms']:.2f} | {r['examples_per_s']:.0f} "
            f"| {per_dev:.0f} | {per_dev / base:.2f} | {alone} | {in_step} | {share} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="write the Markdown report here")
    args = parser.parse_args()
    if args.worker:
        worker()
        return 0
    load0 = os.getloadavg()[0]
    results = {name: _run(p, d, apart) for name, p, d, apart in CONFIGS}
    import jax

    load = os.getloadavg()
    text = "\n".join(
        [
            "# Multi-process scaling of an MLP step on CPU (`benchmarks/distributed_scaling.py`)",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; jax {jax.__version__}; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average {load0:.1f} "
            f"before and {load[0]:.1f} after (a machine shared with other work).",
            f"MLP {'-'.join(map(str, WIDTHS))} ({int(results['1 x 1']['params']):,} parameters), float32, Adam, "
            f"{PER_DEVICE_BATCH} examples per device per step, {EPOCHS * STEPS_PER_EPOCH} steps through "
            "`train.fit`; collectives between processes through gloo on the loopback address.",
            "",
            table(results),
            "",
            "`step in fit`: global batch over the examples per second of `fit`'s log (after the first "
            "interval, which compiles); `bare step`: median of 50 calls of the compiled `make_train_step` on "
            "one global batch; `vs 1 x 1`: examples per second per device against one process with one device "
            "(1.00 is perfect weak scaling); `2 x 1 apart`: two processes at once, not joined, each alone "
            "(examples/s of the two together); `all-reduce alone`: median of 50 jitted all-reduces of the "
            "gradient's leaves; `all-reduce in the step`: the job's bare step less the apart one.",
            "",
        ]
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
