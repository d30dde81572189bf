"""Tests of ``mathdl train`` with the generative models and of ``mathdl sample``."""

import contextlib
import io
import json
import re
import shutil

import jax
import pytest

from mathdl.cli import main


@pytest.fixture(autouse=True)
def _as_a_user_runs_it(tmp_path, monkeypatch):
    """The commands run in JAX's default configuration (float32, standard promotion), not the tests' strict
    float64 one; the metrics' classifier is cached in a temporary folder."""
    monkeypatch.setenv("MATHDL_CACHE", str(tmp_path / "cache"))
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        yield


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _digest(out: str) -> str:
    return re.search(r"params sha256 ([0-9a-f]{64})", out)[1]


TINY_DDPM = ["train", "--model", "ddpm", "--data", "moons", "--steps", "2", "--timesteps", "8", "--toy-points", "32",
             "--batch-size", "16", "--net-widths", "16", "--checkpoint-every", "1", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def ddpm_run(tmp_path_factory):
    """One tiny DDPM run on the moons (2 steps, T = 8) with checkpoints and sample PNGs, shared below."""
    folder = tmp_path_factory.mktemp("ddpm")
    out = io.StringIO()
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"), contextlib.redirect_stdout(out):
        code = main([*TINY_DDPM, "--checkpoint-dir", str(folder / "run"), "--sample-every", "2"])
    assert code == 0
    return folder / "run", out.getvalue()


def test_ddpm_run_reports_metrics_writes_pngs_and_sample_restores_it(ddpm_run, capsys):
    """The settings file and a PNG per --sample-every are written; `mathdl sample` (DDIM, 4 steps) restores the
    newest checkpoint, writes its PNG and prints the digest that training printed."""
    ddpm_run, printed = ddpm_run
    settings = json.loads((ddpm_run / "generative_model.json").read_text())
    assert settings["model"] == "ddpm" and settings["timesteps"] == 8 and settings["widths"] == [16]
    assert (ddpm_run / "samples_step000002.png").is_file() and (ddpm_run / "samples.png").is_file()
    assert re.search(r"sliced Wasserstein [\d.]+  MMD -?[\d.]+", printed), printed
    trained = _digest(printed)
    png = ddpm_run.parent / "ddim.png"
    code, out, err = _run(capsys, "sample", "--checkpoint-dir", str(ddpm_run), "-n", "16", "--out", str(png),
                          "--sampler", "ddim", "--steps", "4")  # fmt: skip
    assert code == 0, err
    assert png.is_file() and _digest(out) == trained and "step_000000002" in out


def test_resume_after_losing_the_last_checkpoint_is_bitwise(ddpm_run, tmp_path, capsys):
    """A copy of the run without its last checkpoint resumes from step 1 and ends with the same digest."""
    ddpm_run, printed = ddpm_run
    whole = _digest(printed)
    copy = tmp_path / "copy"
    shutil.copytree(ddpm_run, copy)
    shutil.rmtree(copy / "step_000000002")
    code, out, err = _run(capsys, *TINY_DDPM, "--checkpoint-dir", str(copy))
    assert code == 0 and "(step 1)" in err, err
    assert _digest(out) == whole


@pytest.mark.slow
def test_vae_on_digits_reports_elbo_bpd_and_the_classifier_frechet_distance(tmp_path, capsys):
    """A conv VAE on the digits: negative ELBO in nats and bits per dimension, the classifier's Frechet
    distance and its accuracy on held-out digits; the classifier is trained once and then read from the cache."""
    args = ["train", "--model", "vae", "--data", "digits", "--steps", "3", "--batch-size", "32", "--net-widths", "8",
            "--latent-dim", "2", "--no-progress"]  # fmt: skip
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    nats, bpd = (float(v) for v in re.search(r"negative ELBO ([\d.]+) nats per example, ([\d.]+) bits", out).groups())
    assert bpd == pytest.approx(nats / (64 * 0.6931471805599453), rel=1e-3)
    acc = float(re.search(r"accuracy on held-out images ([\d.]+)", out)[1])
    assert acc > 0.85 and "trained now and cached" in out, out
    assert float(re.search(r"classifier Frechet distance ([\d.]+)", out)[1]) > 0
    assert any((tmp_path / "cache" / "classifiers").iterdir())


def test_bad_arguments_are_refused_with_one_line(tmp_path, capsys):
    """Exit 2 and a message naming the flag, before any training."""
    cases = [
        (["train", "--model", "gan", "--data", "iris"], "--data 'iris'"),
        (["train", "--model", "gan", "--timesteps", "5"], "--timesteps applies to ddpm"),
        (["train", "--model", "vae", "--epochs", "3"], "--epochs"),
        (["train", "--model", "ddpm", "--net-widths", "8,x"], "--net-widths"),
        (["train", "--model", "wgan-gp", "--sample-every", "5"], "--sample-every needs"),
        (["sample", "--checkpoint-dir", str(tmp_path)], "holds no generative_model.json"),
    ]
    for argv, message in cases:
        code, _, err = _run(capsys, *argv)
        assert code == 2 and message in err, (argv, err)
