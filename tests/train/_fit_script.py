"""A small training run for the subprocess tests (resume after SIGKILL/SIGTERM, 1 vs 8 devices).

Usage: python -m tests.train._fit_script MODE [CHECKPOINT_DIR]
  MODE = "resume"  : digits MLP, step-by-step loop, checkpoint every 5 steps, a 2 ms host sleep per step
                     (so a test can interrupt it mid-run); prints "DIGEST <sha256>" and "STOP <reason>".
  MODE = "devices" : float64 digits MLP trained with no mesh, devices=1 and devices=8 (run it with
                     XLA_FLAGS=--xla_force_host_platform_device_count=8); prints one JSON line.
"""

import json
import sys
import time


def main() -> int:
    mode = sys.argv[1]
    import jax

    if mode == "devices":
        jax.config.update("jax_enable_x64", True)
    import numpy as np

    from mathdl import optim
    from mathdl.data import load
    from mathdl.train import fit, mean_loss, tree_digest

    ds = load("digits")
    X, y = ds.X[:640], ds.y[:640]
    rng = np.random.default_rng(0)
    widths = [64, 32, 10]
    dtype = np.float64 if mode == "devices" else np.float32
    X = X.astype(dtype)
    params = tuple(
        {"W": (rng.normal(size=(o, i)) / np.sqrt(i)).astype(dtype), "b": np.zeros(o, dtype)}
        for i, o in zip(widths[:-1], widths[1:], strict=True)
    )

    def net(theta, x):
        a = x
        for layer in theta[:-1]:
            a = jax.nn.relu(layer["W"] @ a + layer["b"])
        return theta[-1]["W"] @ a + theta[-1]["b"]

    def example_loss(theta, ex):
        x, t = ex
        z = net(theta, x)
        return jax.nn.logsumexp(z) - z[t]

    if mode == "resume":
        loss = mean_loss(example_loss)

        def slow_loss(theta, batch, key):
            jax.debug.callback(lambda _: time.sleep(0.002), batch[1][0])
            return loss(theta, batch, key)

        res = fit(
            slow_loss,
            optim.adam(1e-2),
            params,
            (X, y),
            key=jax.random.key(0),
            epochs=6,
            batch_size=16,
            checkpoint_dir=sys.argv[2],
            checkpoint_every=5,
            keep=2,
            scan_epoch=False,
            progress=False,
        )
        print("DIGEST", tree_digest(res.params), flush=True)
        print("STOP", res.stop_reason, res.step, flush=True)
        return 0

    out = {"n_devices": len(jax.devices())}
    results = {}
    for name, devices in (("none", None), ("1", 1), ("8", 8)):
        res = fit(
            mean_loss(example_loss),
            optim.adam(1e-2),
            params,
            (X, y),
            key=jax.random.key(0),
            epochs=2,
            batch_size=64,
            devices=devices,
            progress=False,
        )
        results[name] = res.params
        out[f"digest_{name}"] = tree_digest(res.params)
        out[f"sharding_{name}"] = len(jax.tree.leaves(res.params)[0].sharding.device_set)
    out["max_abs_diff_8_vs_1"] = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(results["8"]), jax.tree.leaves(results["1"]), strict=True)
    )
    out["max_abs_param"] = max(float(np.max(np.abs(np.asarray(a)))) for a in jax.tree.leaves(results["1"]))
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
