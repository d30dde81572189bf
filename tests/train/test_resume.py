"""Subprocess tests: resume after SIGKILL and SIGTERM is bitwise exact; 1 vs 8 simulated CPU devices.

Each run is a fresh Python process (``tests/train/_fit_script.py``), since the main test process
has one device and float64 on, and a killed process must be a real one.
"""

import json
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

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    env.pop("XLA_FLAGS", None)
    env.update(extra)
    return env


def _cmd(*args):
    return [sys.executable, "-m", "tests.train._fit_script", *args]


def _run(*args, **env):
    out = subprocess.run(_cmd(*args), cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _digest(stdout: str) -> str:
    return next(line.split()[1] for line in stdout.splitlines() if line.startswith("DIGEST"))


def _complete_steps(directory) -> list[int]:
    return [s for s, p in list_checkpoints(directory) if os.path.exists(os.path.join(p, "manifest.json"))]


def _wait_for_checkpoint(proc, directory, min_step, timeout=240):
    start = time.time()
    while time.time() - start < timeout:
        if any(s >= min_step for s in _complete_steps(directory)):
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before a checkpoint at step >= {min_step}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail("no checkpoint appeared in time")


@pytest.fixture(scope="module")
def reference_digest(tmp_path_factory):
    """The digest of an uninterrupted run (its own checkpoint folder)."""
    return _digest(_run("resume", str(tmp_path_factory.mktemp("ref"))).stdout)


@pytest.mark.slow
def test_sigkill_mid_run_then_same_command_resumes_bitwise(tmp_path, reference_digest):
    """A run killed with SIGKILL after its checkpoint at step >= 20 (of 240), started again with the same
    command, resumes from its last good checkpoint and ends with bitwise the same parameters (SHA-256)."""
    proc = subprocess.Popen(
        _cmd("resume", str(tmp_path)), cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_checkpoint(proc, tmp_path, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert max(_complete_steps(tmp_path)) < 240
    out = _run("resume", str(tmp_path))
    assert "resuming from" in out.stderr
    assert _digest(out.stdout) == reference_digest


@pytest.mark.slow
def test_sigterm_saves_at_the_next_step_and_exits_cleanly(tmp_path, reference_digest):
    """SIGTERM: the run saves a checkpoint at the next step boundary and exits normally (status 0 from the
    script, stop reason SIGTERM); the same command then resumes to the reference parameters."""
    proc = subprocess.Popen(
        _cmd("resume", str(tmp_path)), cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _wait_for_checkpoint(proc, tmp_path, 10)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    stop = next(line.split() for line in stdout.splitlines() if line.startswith("STOP"))
    assert stop[1] == "SIGTERM"
    step = int(stop[2])
    assert step < 240 and step in _complete_steps(tmp_path)  # saved at the step where it stopped
    out = _run("resume", str(tmp_path))
    assert _digest(out.stdout) == reference_digest


@pytest.mark.slow
@pytest.mark.multidevice
def test_one_and_eight_devices_agree():
    """The same float64 training on 1 and on 8 simulated CPU devices (batch sharded on `data`, params replicated).

    devices=1 is bitwise equal to no mesh. With 8 devices each computes a partial sum of the batch gradient and
    XLA all-reduces them, a different summation order than one device's, so parameters agree to rounding only:
    we allow 1e-12 absolute on parameters of size ~0.5 after 20 Adam steps (float64 eps is 2.2e-16)."""
    out = _run("devices", XLA_FLAGS="--xla_force_host_platform_device_count=8")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n_devices"] == 8
    assert result["sharding_8"] == 8 and result["sharding_1"] == 1
    assert result["digest_none"] == result["digest_1"]
    assert result["max_abs_diff_8_vs_1"] < 1e-12
    assert np.isfinite(result["max_abs_param"]) and result["max_abs_param"] > 0.1


def _digests(stdout: str, tag: str) -> dict:
    return {p[1]: p[2] for p in (line.split() for line in stdout.splitlines()) if p and p[0] == tag}


@pytest.mark.slow
def test_gan_and_replay_steps_resume_bitwise_after_sigkill(tmp_path):
    """train.loop's own steps: a GAN step (data, step by step) and a replay-buffer step (no data, scanned), each
    checkpointed every 5 of 400 steps. The first process is killed (SIGKILL) in the GAN run; the second resumes
    it, finishes it, and is killed in the replay run; the third resumes that. Both end bitwise equal (SHA-256)
    to uninterrupted runs of the same steps."""
    cmd = [sys.executable, "-m", "tests.train._loop_script", str(tmp_path)]

    def start():
        return subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start()
    _wait_for_checkpoint(first, tmp_path / "gan", 20)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert max(_complete_steps(tmp_path / "gan")) < 400

    second = start()
    _wait_for_checkpoint(second, tmp_path / "replay", 20)
    second.send_signal(signal.SIGKILL)
    out2, err2 = second.communicate(timeout=60)
    assert second.returncode == -signal.SIGKILL
    assert re.search(r"resuming from \S*gan\S*step_\d+", err2), err2[-2000:]
    assert max(_complete_steps(tmp_path / "replay")) < 400

    third = subprocess.run([*cmd, "--reference"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr[-3000:]
    assert re.search(r"resuming from \S*replay\S*step_\d+", third.stderr)
    resumed, ref = _digests(third.stdout, "DIGEST"), _digests(third.stdout, "REF")
    assert _digests(out2, "DIGEST")["gan"] == resumed["gan"] == ref["gan"]
    assert resumed["replay"] == ref["replay"]
