"""Tests of the ``mathdl train`` command (run in-process through ``mathdl.cli.main``)."""

import os
import re
import sys

import pytest

from mathdl import train
from mathdl.cli import main


def _train(capsys, *args):
    code = main(["train", "--no-progress", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_train_digits_end_to_end_and_resume(tmp_path, capsys):
    """End to end on digits (3 epochs): exit 0, test accuracy above 0.9, a 64-hex SHA-256 digest; the same
    command again resumes from the finished checkpoint and prints the same digest."""
    args = ["--model", "mlp", "--data", "digits", "--epochs", "3", "--seed", "1", "--checkpoint-dir", str(tmp_path)]
    code, out, _ = _train(capsys, *args)
    assert code == 0
    acc = float(re.search(r"test  accuracy (\d\.\d+)", out).group(1))
    assert acc > 0.9
    digest = re.search(r"params sha256 ([0-9a-f]{64})", out).group(1)
    code, out2, err2 = _train(capsys, *args)
    assert code == 0 and "resuming from" in err2
    assert re.search(r"params sha256 ([0-9a-f]{64})", out2).group(1) == digest


@pytest.mark.slow
def test_train_regression_data_set(capsys):
    """A regression data set (diabetes) trains a linear model and reports the mean squared error."""
    code, out, _ = _train(capsys, "--model", "linear", "--data", "diabetes", "--epochs", "2")
    assert code == 0 and "test  mse" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "vgg"], r"unknown model 'vgg'; available models:\n  mlp: .*\n  linear: .*\n  lenet: "),
        (["--data", "cifar"], r"unknown data set 'cifar'; available data sets: digits, iris, .*, cifar10"),
        (["--optimizer", "lbfgs"], r"unknown optimizer 'lbfgs'; available: adam, adamw, sgd"),
        (["--widths", "64,32,5"], r"--widths expected to start with the 64 features and end with 10 outputs"),
        (["--widths", "64,x,10"], r"--widths expected comma-separated integers, got '64,x,10'"),
        (["--epochs", "0"], r"--epochs expected an integer >= 1, got 0"),
        (["--batch-size", "0"], r"--batch-size expected an integer >= 1, got 0"),
        (["--model", "linear", "--widths", "64,32,10"], r"two widths \(p,K\) for the linear model"),
        (["--widths", "64,0,10"], r"^mathdl train: --widths expected positive integers, got '64,0,10'\n$"),
    ],
)
def test_train_bad_arguments_exit_2_with_a_message(capsys, args, message):
    """Unknown model, data set or optimizer (listing the available ones), bad widths, epochs or batch size:
    exit status 2 and a message on stderr, before any training."""
    code, out, err = _train(capsys, *args)
    assert code == 2
    assert re.search(message, err), err
    assert "params sha256" not in out


def _one_line_error(code, err, *patterns):
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    for pattern in patterns:
        assert re.search(pattern, err), err


def test_checkpoint_dir_that_is_a_file_or_under_a_file_is_one_line_exit_2(tmp_path, capsys):
    """A --checkpoint-dir that is a file, or lies under a file: one line naming it, exit 2, nothing trained."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, out, err = _train(capsys, "--epochs", "1", "--checkpoint-dir", str(afile))
    _one_line_error(
        code, err, r"argument `checkpoint_dir` expected a folder that can be created and written", "which is a file"
    )
    code, out, err = _train(capsys, "--epochs", "1", "--checkpoint-dir", str(afile / "sub"))
    _one_line_error(code, err, r"which is under a file \('.*afile'\)")
    assert "params sha256" not in out and afile.read_text() == "x"


def _unwritable(tmp_path):
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        return str(folder / "ckpt")
    if sys.platform.startswith("linux") and os.path.isdir("/sys"):
        return "/sys/mathdl-test-checkpoints"  # sysfs refuses mkdir even to root
    pytest.skip("no unwritable folder for root on this platform")


def test_unwritable_checkpoint_dir_is_one_line_exit_2(tmp_path, capsys):
    """A --checkpoint-dir that cannot be created or written: one line saying so, exit 2."""
    code, _, err = _train(capsys, "--epochs", "1", "--checkpoint-dir", _unwritable(tmp_path))
    _one_line_error(code, err, r"which cannot be written \(")


def test_ctrl_c_outside_the_loop_is_one_line_exit_130(capsys, monkeypatch):
    """Ctrl-C where the loop is not catching it (a second quick Ctrl-C after the loop returned, or before it
    started): one line, exit status 128 + SIGINT, no KeyboardInterrupt traceback."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", interrupted)
    try:
        code = main(["train", "--no-progress", "--epochs", "1"])
    except KeyboardInterrupt:  # caught here so that the regression fails this test, not the whole session
        pytest.fail("KeyboardInterrupt escaped `mathdl train`")
    err = capsys.readouterr().err
    assert code == 130
    assert err == "mathdl train: interrupted.\n"


@pytest.mark.slow
def test_resume_with_another_seed_lr_or_optimizer_is_refused_naming_it(tmp_path, capsys):
    """A checkpoint folder written with --seed 0 (Adam, lr 1e-3) refuses --seed 7, --lr 0.01 and --optimizer sgd:
    exit 2 and one line naming the setting with both values; --restart starts over and trains."""
    base = ["--epochs", "1", "--batch-size", "128", "--widths", "64,16,10", "--checkpoint-dir", str(tmp_path)]
    code, _, _ = _train(capsys, *base, "--seed", "0")
    assert code == 0
    code, _, err = _train(capsys, *base, "--seed", "7")
    _one_line_error(code, err, r"from a different run \(seed: checkpoint 0, this run 7;", r"--restart")
    code, _, err = _train(capsys, *base, "--lr", "0.01")
    _one_line_error(code, err, r"lr: checkpoint 0.001, this run 0.01")
    code, _, err = _train(capsys, *base, "--optimizer", "sgd")
    _one_line_error(code, err, r"optimizer: checkpoint adam, this run sgd")
    code, out, err = _train(capsys, *base, "--seed", "7", "--restart")
    assert code == 0 and "removed 1 checkpoint" in err and "params sha256" in out
