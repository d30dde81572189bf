"""Multi-process jobs on the loopback address: 2 processes x 2 simulated CPU devices (gloo collectives).

Each job is started by the launcher (``mathdl launch -n 2 --cpu-devices 2``) running
``tests/train/_multiprocess_script.py``; every process it starts is ended at the end of each test,
on failure too. The job's tiny digits MLP (64-16-10, 512 examples, 64 Adam steps of global batch 32,
a checkpoint every 8 steps) is compared with one process of 4 devices, resumed after SIGKILL of the
whole job, and broken by SIGKILL of one process.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mathdl.train import list_checkpoints
from mathdl.train._checkpoint import _read_manifest, _verify_files

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 64

pytestmark = [pytest.mark.multidevice, pytest.mark.xdist_group("multiprocess")]


def _env(**extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


def _job_cmd(directory, cli=False):
    launcher = ["-m", "mathdl.cli", "launch"] if cli else ["-m", "mathdl.cli._launch"]
    script = [sys.executable, "-m", "tests.train._multiprocess_script", "job", str(directory)]
    return [sys.executable, *launcher, "-n", "2", "--cpu-devices", "2", "--", *script]


class Started:
    """A process writing to files; on exit it and every process of its job (named on its stderr) are killed."""

    def __init__(self, cmd, out: Path, **env):
        self.out, self.err = out.with_suffix(".out"), out.with_suffix(".err")
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(**env), stdout=o, stderr=e, start_new_session=True)

    def pids(self) -> dict:
        return {int(i): int(p) for i, p in re.findall(r"process (\d+) pid (\d+)", self.err.read_text())}

    def wait(self, timeout):
        self.proc.wait(timeout=timeout)
        return self.proc.returncode, self.out.read_text(), self.err.read_text()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for pid in self.pids().values():
            _kill_if_ours(pid)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


def _kill_if_ours(pid: int) -> None:
    try:
        if b"_multiprocess_script" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _complete(directory) -> list[int]:
    return [s for s, p in list_checkpoints(directory) if os.path.exists(os.path.join(p, "manifest.json"))]


def _wait_for_checkpoint(job: Started, directory, min_step, timeout=120) -> int:
    start = time.time()
    while time.time() - start < timeout:
        done = [s for s in _complete(directory) if s >= min_step]
        if done:
            return max(done)
        if job.proc.poll() is not None:
            pytest.fail(f"the job ended before a checkpoint at step >= {min_step}: {job.err.read_text()[-2000:]}")
        time.sleep(0.02)
    pytest.fail("no checkpoint appeared in time")


def _tagged(stdout: str, tag: str) -> dict:
    return {p[1]: " ".join(p[2:]) for p in (line.split() for line in stdout.splitlines()) if p and p[0] == tag}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """An uninterrupted job (through the `mathdl launch` command) and, beside it, the one-process reference."""
    root = tmp_path_factory.mktemp("multiprocess")
    (root / "job").mkdir()
    with (
        Started(_job_cmd(root / "job", cli=True), root / "job_run") as launched,
        Started(
            [sys.executable, "-m", "tests.train._multiprocess_script", "reference", str(root)],
            root / "reference_run",
            XLA_FLAGS="--xla_force_host_platform_device_count=4",
        ) as reference,
    ):
        rc, out, err = launched.wait(180)
        assert rc == 0, err[-3000:]
        rc_ref, out_ref, err_ref = reference.wait(180)
        assert rc_ref == 0, err_ref[-3000:]
    return {"root": root, "out": out, "err": err, "reference": out_ref}


def test_two_processes_of_two_devices_train_as_one_process_of_four(job):
    """Property: 2 processes x 2 devices, each batching its own shard, train the same MLP as 1 process x 4 devices
    with `data_shards=2` (the same global batches): both processes end bitwise equal to each other, and equal to
    the one-process run within 1e-5 absolute. Not bitwise: the gradient's all-reduce sums the four devices' partial
    sums in gloo's order across processes, XLA's own order within one process, and float32 addition is not
    associative (after 64 Adam steps the largest difference seen is ~1.3e-7, about one ulp of parameters ~1).
    One metrics log and one progress line per job (process 0), and both processes' throughputs at the end."""
    digests = _tagged(job["out"], "DIGEST")
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    a, b = np.load(job["root"] / "job" / "params.npz"), np.load(job["root"] / "reference.npz")
    for name in a:
        assert a[name].shape == b[name].shape
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-5)
    assert max(float(np.abs(a[k]).max()) for k in a) > 0.5  # trained parameters, not zeros
    lines = (job["root"] / "job" / "metrics.jsonl").read_text().splitlines()
    steps = [int(m) for m in re.findall(r'"step": (\d+), "epoch"', "\n".join(lines))]
    assert steps == [16, 32, 48, 64]  # written once, by process 0
    assert re.search(r"process 0: \d+ examples/s on 2 device", job["err"])
    assert re.search(r"process 1: \d+ examples/s on 2 device", job["err"])


def test_shards_of_unequal_length_are_refused_in_every_process(job):
    """Bad input: process 1 holding one example fewer is refused before training, in both processes, naming both."""
    refused = _tagged(job["out"], "UNEQUAL")
    assert set(refused) == {"0", "1"}
    for message in refused.values():
        assert "a shard of the same length in every process of the job" in message
        assert "256 in process 0, 255 in process 1" in message


def test_a_job_of_another_size_is_refused_naming_both_counts(job):
    """Bad input: the 2-process job's checkpoints resumed by one process are refused, naming both counts."""
    message = _tagged(job["reference"], "REFUSED")
    assert "is from a different run (number of processes: checkpoint 2, this run 1" in " ".join(message.values())


def test_sigkill_of_the_whole_job_then_the_same_command_resumes_bitwise(job, tmp_path):
    """SIGKILL of the launcher after a checkpoint at step >= 16 (of 64) takes every process down at once (they die
    with it); the same command again resumes from the last good checkpoint in both processes and ends with
    parameters bitwise equal to the uninterrupted job's (SHA-256)."""
    with Started(_job_cmd(tmp_path), tmp_path / "first") as first:
        _wait_for_checkpoint(first, tmp_path, 16)
        pids = first.pids()
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(timeout=30)
        deadline = time.time() + 30
        while any(_alive(p) for p in pids.values()) and time.time() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids.values()), "a process outlived the killed launcher"
    assert max(_complete(tmp_path)) < TOTAL
    with Started(_job_cmd(tmp_path), tmp_path / "second") as second:
        rc, out, err = second.wait(180)
    assert rc == 0, err[-3000:]
    assert re.search(r"resuming from \S+step_\d+", err)
    digests = _tagged(out, "DIGEST")
    assert digests["0"] == digests["1"] == _tagged(job["out"], "DIGEST")["0"]


def test_sigkill_of_one_process_stops_the_other_within_60_s_naming_it(tmp_path):
    """SIGKILL of process 1 mid-run: process 0 exits with status 75 within 60 s, saying it lost peer process 1;
    the launcher names both ends and exits with 128 + 9. Every checkpoint left with a manifest verifies against
    it, and the newest is at or after the one complete before the kill."""
    with Started(_job_cmd(tmp_path), tmp_path / "run") as run:
        before = _wait_for_checkpoint(run, tmp_path, 16)
        os.kill(run.pids()[1], signal.SIGKILL)
        killed_at = time.time()
        rc, _, err = run.wait(60)
        elapsed = time.time() - killed_at
    assert elapsed < 60
    assert rc == 128 + signal.SIGKILL
    assert "process 0 of 2: lost peer process 1" in err
    assert re.search(r"process 1 \(pid \d+\) was killed by SIGKILL", err)
    assert re.search(r"process 0 \(pid \d+\) exited with status 75", err)
    complete = _complete(tmp_path)
    assert complete and before <= max(complete) < TOTAL
    for _, path in list_checkpoints(tmp_path):
        if os.path.exists(os.path.join(path, "manifest.json")):
            _verify_files(path, _read_manifest(path)["files"])


def test_mathdl_train_in_a_job_trains_on_shards_and_prints_one_summary(tmp_path):
    """`mathdl launch -n 2 -- mathdl train ...`: each process trains on its half of the training rows (1437 in
    digits' 80 % split: 718 each, 22 steps of global batch 64 per epoch, the same count as one process), and the
    job prints one summary. A path to the command (`.../bin/mathdl`) is recognised as mathdl too."""
    mathdl = str(Path(sys.executable).with_name("mathdl"))
    program = mathdl if os.path.exists(mathdl) else "mathdl"
    cmd = [sys.executable, "-m", "mathdl.cli", "launch", "-n", "2", "--cpu-devices", "2", "--", program, "train",
           "--model", "mlp", "--data", "digits", "--widths", "64,16,10", "--epochs", "1", "--batch-size", "64",
           "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("params sha256") == 1, done.stdout
    assert "on digits: 22 steps, 1 epochs (completed)" in done.stdout
