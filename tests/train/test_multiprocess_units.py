"""In-process tests of the multi-process pieces that need no job: the shard batch order (``data_shards``),
``process_shard``, the process count in the run's identity, and the launcher's argument checks."""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data as mdata
from mathdl.cli import _launch
from mathdl.train import CheckpointError, initialize_distributed, loop, process_shard

ROOT = Path(__file__).resolve().parents[2]


def _record_step(state, batch, key):
    """Write batch t into row t of a table (the batch order, as the step saw it)."""
    del key
    seen = jax.lax.dynamic_update_index_in_dim(state["seen"], batch, state["t"], 0)
    return {"seen": seen, "t": state["t"] + 1}, {}


def _table(steps, B):
    return {"seen": np.zeros((steps, B), np.float32), "t": np.int32(0)}


@pytest.mark.parametrize("scan", [True, False], ids=["scan", "step_by_step"])
def test_data_shards_batches_follow_the_documented_order(scan):
    """Oracle: with data_shards=S, shard s is rows [s m, (s+1) m); batch t is, for each shard in order, rows
    i b .. (i+1) b - 1 of epoch_permutation(fold_in(perm_key, s), t // k, m), b = B / S, k = m // b, i = t mod k."""
    n, S, B, E = 14, 2, 4, 2
    m, b = n // S, B // S
    k = m // b
    X = np.arange(n, dtype=np.float32)
    res = loop(_record_step, _table(E * k, B), key=jax.random.key(1), data=X, batch_size=B, epochs=E,
               scan=scan, data_shards=S, progress=False)  # fmt: skip
    perm_key, _ = jax.random.split(jax.random.key(1))
    rows = []
    for t in range(E * k):
        e, i = divmod(t, k)
        parts = []
        for s in range(S):
            order = np.asarray(mdata.epoch_permutation(jax.random.fold_in(perm_key, s), e, m))
            parts.append(X[s * m : (s + 1) * m][order[i * b : (i + 1) * b]])
        rows.append(np.concatenate(parts))
    np.testing.assert_array_equal(res.state["seen"], np.stack(rows))
    assert (res.step, res.epoch) == (E * k, E)


def test_data_shards_resume_and_identity(tmp_path):
    """Property: a data_shards run stopped and resumed ends bitwise where an uninterrupted one does; a folder
    written with data_shards=2 resumed with data_shards=1 is refused, naming both shard counts."""
    X = jnp.arange(16.0, dtype=jnp.float32)
    kw = dict(key=jax.random.key(0), data=X, batch_size=4, data_shards=2, progress=False)
    whole = loop(_record_step, _table(8, 4), epochs=4, **kw)
    loop(_record_step, _table(8, 4), epochs=2, checkpoint_dir=tmp_path, **kw)
    resumed = loop(_record_step, _table(8, 4), epochs=4, checkpoint_dir=tmp_path, **kw)
    np.testing.assert_array_equal(resumed.state["seen"], whole.state["seen"])
    with pytest.raises(CheckpointError, match=r"data shards: checkpoint 2, this run 1"):
        loop(_record_step, _table(8, 4), epochs=4, checkpoint_dir=tmp_path, **{**kw, "data_shards": 1})


def test_process_shard_worked_values():
    """Worked values: 10 rows in 3 shards are rows 0-2, 3-5, 6-8 (the last row is left out); one shard is all."""
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    for i, first in enumerate((0, 3, 6)):
        Xs, ys = process_shard((X, y), index=i, count=3)
        np.testing.assert_array_equal(ys, np.arange(first, first + 3))
        np.testing.assert_array_equal(Xs, X[first : first + 3])
    np.testing.assert_array_equal(process_shard(y)[...], y)  # one process: the whole data


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"index": 3, "count": 3}, r"train.process_shard: argument `index` expected an integer in \[0, 3\), got 3"),
        ({"count": 0}, r"argument `count` expected an integer >= 1, got 0"),
        ({"index": 0, "count": 11}, r"argument `data` expected at least one example per shard \(11 shards\)"),
    ],
)
def test_process_shard_bad_inputs(kw, match):
    """Bad input: an index outside [0, P), no shards, or fewer rows than shards, refused naming the argument."""
    with pytest.raises(ValueError, match=match):
        process_shard(np.arange(10), **kw)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"data_shards": 0}, r"train.loop: argument `data_shards` expected an integer >= 1, got 0"),
        ({"data_shards": 3}, r"argument `data_shards` expected a divisor of the number of examples n = 16, got 3"),
        ({"data_shards": 2, "batch_size": 3}, r"argument `batch_size` expected a multiple of the 2 data shards"),
        ({"data": None, "steps": 2, "batch_size": None, "epochs": None}, r"`data_shards` expected to be omitted"),
    ],
)
def test_data_shards_bad_inputs(kw, match):
    """Bad input: a shard count that is not a positive divisor of n, a batch not divisible among the shards, or
    shards without data, refused before any step."""
    args = {"key": jax.random.key(0), "data": np.arange(16.0, dtype=np.float32), "batch_size": 4, "epochs": 1,
            "data_shards": 2, "progress": False, **kw}  # fmt: skip
    with pytest.raises(ValueError, match=match):
        loop(_record_step, _table(4, 4), **args)


def test_initialize_distributed_refuses_a_bad_environment(monkeypatch):
    """Bad input: an unparsable MATHDL_NUM_PROCESSES or peer timeout is refused before JAX is asked to join."""
    monkeypatch.setenv("MATHDL_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match=r"argument `num_processes` expected a valid value in \$MATHDL_NUM_PROCESSES"):
        initialize_distributed()
    monkeypatch.delenv("MATHDL_NUM_PROCESSES")
    with pytest.raises(ValueError, match=r"argument `peer_timeout` expected a positive number of seconds, got 0"):
        initialize_distributed("127.0.0.1:1", 2, 0, peer_timeout=0)


def _launch_args(*argv):
    parser = argparse.ArgumentParser()
    _launch.configure(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-n", "2"], "expected a command after --"),
        (["--", "mathdl", "devices"], "expected -n N (the processes to start) or --join"),
        (["-n", "0", "--", "true"], "-n expected an integer >= 1, got 0"),
        (["-n", "2", "--cpu-devices", "0", "--", "true"], "--cpu-devices expected an integer >= 1, got 0"),
    ],
)
def test_launch_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    """Bad input: no command, no process count, or counts < 1: exit status 2 and one line naming the argument."""
    assert _launch.run(_launch_args(*argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_launch_reports_a_failing_process_and_its_status():
    """Property: a job whose process 1 exits with 3 (process 0 with 0) ends with 3, naming process 1; each process
    sees the coordinator, the process count and its index in its environment."""
    code = "import os, sys; sys.exit(3 * int(os.environ['MATHDL_PROCESS_ID']))"
    out = subprocess.run(
        [sys.executable, "-m", "mathdl.cli._launch", "-n", "2", "--grace", "5", "--", sys.executable, "-c", code],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 3, out.stderr
    assert "mathdl launch: 2 processes, coordinator 127.0.0.1:" in out.stderr
    assert re.search(r"process 1 \(pid \d+\) exited with status 3", out.stderr)
    env = _launch._child_env({}, address="127.0.0.1:9", n=2, i=1, cpu_devices=4)
    assert env["MATHDL_COORDINATOR_ADDRESS"] == "127.0.0.1:9" and env["MATHDL_PROCESS_ID"] == "1"
    assert env["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"
