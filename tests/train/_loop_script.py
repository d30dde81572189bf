"""The two worked steps of _worked_steps.py run by train.loop with checkpoints, for the SIGKILL test.

Usage: python -m tests.train._loop_script DIR [--reference]
  Runs the GAN step (with data, step by step) in DIR/gan, then the replay-buffer step (no data, a
  lax.scan per 5 steps) in DIR/replay, each 400 steps with a checkpoint every 5 and a 3 ms host
  sleep per step (so a test can kill it mid-run); prints "DIGEST <name> <sha256>" after each. A
  run killed with SIGKILL and started again resumes from the last good checkpoint. With
  --reference it then runs both again, uninterrupted, in fresh folders, and prints "REF <name> <sha256>".
"""

import functools
import sys
import tempfile
import time


def _sleep(_):
    time.sleep(0.003)


def _slow(step, state, batch, key):
    import jax

    jax.debug.callback(_sleep, key)
    return step(state, batch, key)


def main() -> int:
    import jax

    from mathdl.train import loop, tree_digest
    from tests.train import _worked_steps as W

    runs = {
        "gan": dict(step=W.gan_step, init=W.gan_init, data=W.gan_data(64), batch_size=16, scan=False),
        "replay": dict(step=W.replay_step, init=W.replay_init, data=None, batch_size=None, scan=True),
    }
    # one step function object per run, so the reference run reuses the compiled code (the same program)
    steps = {name: functools.partial(_slow, spec["step"]) for name, spec in runs.items()}

    def run(name, folder):
        spec = runs[name]
        res = loop(
            steps[name],
            spec["init"](),
            key=jax.random.key(11),
            data=spec["data"],
            batch_size=spec["batch_size"],
            steps=400,
            log_every=5,
            checkpoint_dir=folder,
            checkpoint_every=5,
            keep=2,
            scan=spec["scan"],
            progress=False,
        )
        assert res.step == 400, res
        return tree_digest(res.state)

    root = sys.argv[1]
    for name in runs:
        print("DIGEST", name, run(name, f"{root}/{name}"), flush=True)
    if "--reference" in sys.argv:
        for name in runs:
            with tempfile.TemporaryDirectory() as folder:
                print("REF", name, run(name, folder), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
