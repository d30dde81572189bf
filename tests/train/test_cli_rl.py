"""Tests of ``mathdl train`` with the RL agents (tiny runs: the full solve is benchmarks/rl_solve.py)."""

import re

import jax
import pytest

from mathdl.cli import main


@pytest.fixture(autouse=True)
def _as_a_user_runs_it():
    """The command runs in JAX's default configuration (float32, standard promotion), as a user runs it."""
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        yield


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a2c_on_cartpole_prints_return_and_digest_resumes_and_renders_a_png(tmp_path, capsys):
    """A 3-step A2C run with checkpoints prints the evaluation return and the digest and --render writes a PNG;
    the same command again resumes from the last checkpoint and prints the same digest."""
    folder, png = tmp_path / "a2c", tmp_path / "episode.png"
    argv = ["train", "--model", "a2c", "--env", "cartpole", "--num-envs", "2", "--eval-episodes", "3", "--steps",
            "3", "--no-progress", "--checkpoint-dir", str(folder)]  # fmt: skip
    code, out, err = _run(capsys, *argv, "--render", str(png))
    assert code == 0, err
    ret = float(re.search(r"evaluation return: mean ([\d.]+) over 3 greedy episodes", out)[1])
    assert 8 <= ret <= 500
    digest = re.search(r"params sha256 ([0-9a-f]{64})", out)[1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "rendered an episode of" in out
    code, out, err = _run(capsys, *argv)
    assert code == 0 and "resuming from" in err, err
    assert re.search(r"params sha256 ([0-9a-f]{64})", out)[1] == digest


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--env", "pong"], "argument --env expected one of cartpole, mountain_car, acrobot, gridworld, got 'pong'."),
        (["--steps", "0"], "argument --steps expected a positive integer, got 0."),
        (["--num-envs", "0"], "argument --num-envs expected a positive integer, got 0."),
        (["--lr", "-1"], "argument --lr expected a positive number, got -1.0."),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    """A bad argument is one line on stderr and exit status 2, before any training."""
    code, out, err = _run(capsys, "train", "--model", "reinforce", *argv)
    assert code == 2 and err.strip() == f"mathdl train: {message}" and out == ""
