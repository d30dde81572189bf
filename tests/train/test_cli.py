"""Tests of the ``mathdl train`` command (run in-process through ``mathdl.cli.main``)."""

import re

import pytest

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
        (["--model", "resnet"], r"unknown model 'resnet'; available models:\n  mlp: .*\n  linear: "),
        (["--data", "cifar"], r"unknown data set 'cifar'; available data sets: digits, iris, breast_cancer"),
        (["--optimizer", "lbfgs"], r"unknown optimizer 'lbfgs'; available: adam, adamw, sgd"),
        (["--widths", "64,32,5"], r"--widths expected to start with the 64 features and end with 10 outputs"),
        (["--widths", "64,x,10"], r"--widths expected comma-separated integers, got '64,x,10'"),
        (["--epochs", "0"], r"--epochs expected an integer >= 1, got 0"),
        (["--batch-size", "0"], r"--batch-size expected an integer >= 1, got 0"),
        (["--model", "linear", "--widths", "64,32,10"], r"two widths \(p,K\) for the linear model"),
    ],
)
def test_train_bad_arguments_exit_2_with_a_message(capsys, args, message):
    """Unknown model, data set or optimizer (listing the available ones), bad widths, epochs or batch size:
    exit status 2 and a message on stderr, before any training."""
    code, out, err = _train(capsys, *args)
    assert code == 2
    assert re.search(message, err), err
    assert "params sha256" not in out
