"""Tests of ``mathdl train`` with the image models (LeNet, the ResNets), in-process through ``mathdl.cli.main``."""

import os
import re
import signal
import struct
import threading
import time

import jax
import numpy as np
import pytest

from mathdl.cli import main


@pytest.fixture(autouse=True)
def _as_a_user_runs_it():
    """The command runs in JAX's default configuration (float32, standard promotion), not the tests' strict
    float64 one: optax's schedules mix Python floats with int32 step counts, which strict promotion refuses."""
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        yield


def _train(capsys, *args):
    code = main(["train", "--no-progress", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _digest(out):
    return re.search(r"params sha256 ([0-9a-f]{64})", out).group(1)


def _accuracy(out, part="test "):
    return float(re.search(rf"{part} accuracy (\d\.\d+)", out).group(1))


def _write_idx(path, array):
    """IDX (big-endian magic 0x08 0x0N, the N dimensions, the bytes): written here with struct, not by mathdl."""
    array = np.asarray(array, np.uint8)
    path.write_bytes(
        struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )


def _synthetic_mnist(folder, n_train=96, n_test=32):
    """A learnable MNIST-format set: class k is a bright 6x6 square at one of 4 places, plus noise."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 4, size=n)
        X = rng.integers(0, 40, size=(n, 28, 28))
        for i, k in enumerate(y):
            r, c = 4 + 14 * (k // 2), 4 + 14 * (k % 2)
            X[i, r : r + 6, c : c + 6] = 250
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", X)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", y)


def test_lenet_on_digits_upsamples_to_16x16_and_learns(capsys):
    """LeNet needs at least 12x12: the 8x8 digits are upsampled to 16x16 (said in the output); three epochs of
    Adam with affine augmentation (the default for digit images) give a test accuracy above 0.85."""
    code, out, err = _train(capsys, "--model", "lenet", "--data", "digits", "--epochs", "3", "--batch-size", "32")
    assert code == 0, err
    assert "model lenet 21,386 params, input 16x16x1, augment affine on digits" in out
    assert _accuracy(out) > 0.85


def test_lenet_on_mnist_files_from_data_dir(tmp_path, capsys):
    """MNIST read from the user's IDX files (train and t10k parts, no split): LeNet at 28x28 learns a
    4-class synthetic set written in that format to 100 % on its own test file."""
    _synthetic_mnist(tmp_path)
    args = ["--model", "lenet", "--data", "mnist", "--data-dir", str(tmp_path), "--epochs", "8", "--augment", "none"]
    code, out, err = _train(capsys, *args, "--batch-size", "16", "--lr", "3e-3")
    assert code == 0, err
    assert "input 28x28x1, augment none on mnist: 48 steps" in out
    assert _accuracy(out) == 1.0


@pytest.mark.slow
def test_resnet_with_batch_norm_resumes_bitwise_after_sigterm(tmp_path, capsys):
    """A batch-norm model (resnet8) stopped by SIGTERM after its first checkpoint and run again ends with
    the digest of the uninterrupted run: the running statistics are saved and restored with the params."""
    base = ["--model", "resnet8", "--data", "digits", "--epochs", "2", "--batch-size", "128", "--augment", "none"]
    base += ["--checkpoint-every", "3"]
    code, out, err = _train(capsys, *base, "--checkpoint-dir", str(tmp_path / "whole"))
    assert code == 0, err
    whole = _digest(out)

    folder = tmp_path / "stopped"
    args = [*base, "--checkpoint-dir", str(folder)]

    done = threading.Event()

    def stop_after_first_checkpoint():
        deadline = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < deadline:
            if any(folder.glob("step_*")):  # a checkpoint is being (or has been) written: the loop is running
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.01)

    stopper = threading.Thread(target=stop_after_first_checkpoint, daemon=True)
    stopper.start()
    try:
        code, out, err = _train(capsys, *args)
    finally:
        done.set()
        stopper.join()
    if code == 0:  # the run ended before the signal arrived: nothing to resume, the test says nothing
        pytest.skip("the run finished before SIGTERM was delivered")
    assert code == 128 + signal.SIGTERM and "run the same command to resume" in err
    code, out, err = _train(capsys, *args)
    assert code == 0 and "resuming from" in err, err
    assert _digest(out) == whole


def test_image_run_records_its_augmentation_and_schedule(tmp_path, capsys):
    """The checkpoint of an image run records augmentation and schedule: another --augment or --epochs (which
    changes the cosine schedule) is refused, naming both values; exit 2, one line."""
    base = [
        "--model",
        "lenet",
        "--data",
        "digits",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--checkpoint-dir",
        str(tmp_path),
    ]
    code, _, err = _train(capsys, *base)
    assert code == 0, err
    code, _, err = _train(capsys, *base, "--augment", "none")
    assert code == 2 and re.search(r'augment: checkpoint \["affine"\], this run \[\]', err), err
    code, _, err = _train(capsys, *[a if a != "1" else "2" for a in base])
    assert code == 2 and re.search(r"schedule_steps: checkpoint 5, this run 10", err), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "lenet", "--data", "iris"], r"'iris' holds feature vectors, not images; .*use --model mlp"),
        (["--model", "lenet", "--data", "diabetes"], r"'diabetes' holds feature vectors"),
        (["--model", "resnet7"], r"depth` expected 6n \+ 2 with n >= 1 .* got 7"),
        (["--model", "lenet", "--augment", "rotate"], r"--augment expected a comma-separated list of none, affine"),
        (["--model", "lenet", "--conv-path", "fft"], r"--conv-path expected one of xla, im2col, reference, got 'fft'"),
        (["--model", "lenet", "--widths", "64,10"], r"--widths applies to mlp and linear, not to 'lenet'"),
        (["--model", "mlp", "--augment", "flip"], r"--augment applies to the image models"),
        (["--model", "lenet", "--schedule", "step"], r"--schedule expected one of constant, cosine, got 'step'"),
        (["--data", "digits", "--data-dir", "."], r"--data-dir applies to mnist, fashion_mnist, cifar10"),
        (
            ["--model", "lenet", "--data", "cifar10", "--data-dir", "/nonexistent"],
            r"data_batch_1.bin.*Nothing is downloaded",
        ),
        (["--model", "lenet", "--image-size", "0"], r"--image-size expected an integer >= 1, got 0"),
    ],
)
def test_image_model_bad_arguments_exit_2_with_one_line(capsys, args, message):
    """Images asked of a feature-vector set, a bad ResNet depth, augmentation, path, schedule or size, flags of
    the other model family, missing files: exit 2 and one line on stderr naming the problem, before training."""
    code, out, err = _train(capsys, *args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert "params sha256" not in out
