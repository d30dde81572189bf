"""One process of the multi-process tests (tests/train/test_multiprocess.py): a tiny digits MLP.

Usage:
  python -m tests.train._multiprocess_script job DIR
      a process of a job started by ``mathdl launch -n 2 --cpu-devices 2``: joins the job, trains on
      its shard (``train.process_shard``) with checkpoints in DIR, prints ``DIGEST <p> <sha256>``;
      then fits shards of unequal lengths (process 1 drops a row) and prints ``UNEQUAL <p> <error>``;
      process 0 writes DIR/params.npz and DIR/done last.
  python -m tests.train._multiprocess_script reference DIR
      one process with 4 simulated devices (XLA_FLAGS): the same training with ``data_shards=2``,
      prints ``DIGEST ref <sha256>`` and writes DIR/reference.npz; then waits for DIR/done (the job's
      end) and resumes the job's folder as one process, which must be refused: ``REFUSED <error>``.

Every step sleeps 15 ms on the host (a debug callback) so a test can stop a job between
checkpoints; the sleep changes no number.
"""

import os
import sys
import time

N, WIDTHS, BATCH, EPOCHS, EVERY = 512, (64, 16, 10), 32, 4, 8


def _problem():
    import jax
    import numpy as np

    from mathdl.data import load
    from mathdl.train import mean_loss

    ds = load("digits")
    X, y = ds.X[:N].astype(np.float32), ds.y[:N]
    rng = np.random.default_rng(0)
    params = tuple(
        {"W": (rng.normal(size=(o, i)) / np.sqrt(i)).astype(np.float32), "b": np.zeros(o, np.float32)}
        for i, o in zip(WIDTHS[:-1], WIDTHS[1:], strict=True)
    )

    def example_loss(theta, ex):
        x, t = ex
        a = jax.nn.relu(theta[0]["W"] @ x + theta[0]["b"])
        z = theta[1]["W"] @ a + theta[1]["b"]
        return jax.nn.logsumexp(z) - z[t]

    loss = mean_loss(example_loss)

    def slow_loss(theta, batch, key):
        jax.debug.callback(lambda _: time.sleep(0.015), batch[1][0])
        return loss(theta, batch, key)

    return slow_loss, params, (X, y)


def _fit(data, directory, **kw):
    import jax

    from mathdl import optim
    from mathdl.train import fit

    loss, params, _ = _problem()
    return fit(
        loss, optim.adam(1e-2), params, data, key=jax.random.key(0), epochs=EPOCHS, batch_size=BATCH,
        checkpoint_dir=directory, checkpoint_every=EVERY, keep=2, progress=False, **kw,
    )  # fmt: skip


def _save(path, params):
    import jax
    import numpy as np

    np.savez(path, *[np.asarray(a) for a in jax.tree.leaves(params)])


def main() -> int:
    mode, directory = sys.argv[1], sys.argv[2]
    if mode == "job":
        from mathdl.train import initialize_distributed, process_shard, tree_digest

        p, _ = initialize_distributed()
        _, _, data = _problem()
        result = _fit(process_shard(data), directory)
        print("DIGEST", p, tree_digest(result.params), flush=True)
        X, y = process_shard(data)
        try:
            _fit((X[: len(X) - p], y[: len(y) - p]), None)
        except ValueError as exc:
            print("UNEQUAL", p, str(exc).replace("\n", " "), flush=True)
        if p == 0:
            _save(os.path.join(directory, "params.npz"), result.params)
            open(os.path.join(directory, "done"), "w").close()
        return 0
    from mathdl.train import CheckpointError, tree_digest

    _, _, data = _problem()
    result = _fit(data, None, data_shards=2, devices=4)
    print("DIGEST ref", tree_digest(result.params), flush=True)
    _save(os.path.join(directory, "reference.npz"), result.params)
    job_dir = os.path.join(directory, "job")
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(job_dir, "done")) and time.time() < deadline:
        time.sleep(0.1)
    try:
        _fit(data, job_dir, data_shards=2, devices=4)
        print("REFUSED none", flush=True)
    except CheckpointError as exc:
        print("REFUSED", str(exc).replace("\n", " "), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
