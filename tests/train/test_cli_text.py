"""Tests of ``mathdl train`` with the character-level language models and of ``mathdl generate``."""

import json
import re

import jax
import pytest

from mathdl import data
from mathdl.cli import main


@pytest.fixture(autouse=True)
def _as_a_user_runs_it():
    """The commands run in JAX's default configuration (float32, standard promotion), not the tests' strict
    float64 one: optax's schedules mix Python floats with int32 step counts, which strict promotion refuses."""
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        yield


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


SMALL = ["--max-chars", "30000", "--seq-len", "32", "--width", "48", "--batch-size", "32", "--no-progress"]


@pytest.fixture(scope="module")
def gru_run(tmp_path_factory):
    """One small GRU LM run on the stdlib docstrings (3 epochs), shared by the generate tests."""
    folder = tmp_path_factory.mktemp("gru-lm")
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):
        code = main(["train", "--model", "gru-lm", "--data", "stdlib-text", "--epochs", "3", *SMALL,
                     "--checkpoint-dir", str(folder)])  # fmt: skip
    assert code == 0
    return folder


def test_gru_lm_beats_the_uniform_model_and_records_how_to_rebuild_it(gru_run, capsys):
    """The run's perplexity per character on the held-out 10 % is far below the uniform model's d_V, and
    language_model.json holds the vocabulary of the text it was trained on (a uniform model has perplexity d_V)."""
    settings = json.loads((gru_run / "language_model.json").read_text())
    vocab = data.vocabulary(data.stdlib_text()[:30000], level="char")
    assert settings["vocabulary"] == list(vocab.tokens)
    assert settings["model"] == "gru-lm" and settings["seq_len"] == 32 and settings["width"] == 48
    # the same command again resumes from the finished checkpoint and prints the perplexities
    code, out, err = _run(capsys, "train", "--model", "gru-lm", "--data", "stdlib-text", "--epochs", "3", *SMALL,
                          "--checkpoint-dir", str(gru_run))  # fmt: skip
    assert code == 0 and "resuming from" in err, err
    test_ppl = float(re.search(r"perplexity per character: train [\d.]+  test ([\d.]+)  \(uniform (\d+)\)", out)[1])
    assert test_ppl < 0.3 * len(vocab), out


def test_generate_continues_the_prompt_greedy_and_beam_width_1_agree(gru_run, capsys):
    """generate prints the prompt and its continuation; greedy decoding (temperature 0) is deterministic and
    equals beam search of width 1; sampling with two seeds gives two texts."""
    base = ["generate", "--checkpoint-dir", str(gru_run), "--prompt", "Return the ", "--length", "30"]
    outs = []
    for extra in (["--temperature", "0"], ["--temperature", "0"], ["--beam-width", "1"]):
        code, out, err = _run(capsys, *base, *extra)
        assert code == 0, err
        outs.append(out)
    assert outs[0].startswith("Return the ") and len(outs[0].rstrip("\n")) == len("Return the ") + 30
    assert outs[0] == outs[1] == outs[2]
    samples = {_run(capsys, *base, "--seed", str(s), "--top-k", "5")[1] for s in (1, 2)}
    assert len(samples) == 2


def test_transformer_lm_on_a_text_file_and_its_length_limit(tmp_path, capsys):
    """A small GPT trains on a user's text file; generating past its --seq-len positions is refused (exit 2)."""
    text = tmp_path / "poem.txt"
    text.write_text("the cat sat on the mat. the dog sat on the log. " * 80, encoding="utf-8")
    folder = tmp_path / "gpt"
    code, out, err = _run(capsys, "train", "--model", "transformer-lm", "--text-file", str(text), "--epochs", "4",
                          "--seq-len", "16", "--width", "32", "--heads", "2", "--layers", "1", "--batch-size", "16",
                          "--no-progress", "--checkpoint-dir", str(folder))  # fmt: skip
    assert code == 0, err
    ppl = float(re.search(r"test ([\d.]+)  \(uniform", out)[1])
    assert ppl < 4.0, out  # a short repeated text is nearly predictable (d_V = 4 specials + 14 characters)
    code, _, err = _run(capsys, "generate", "--checkpoint-dir", str(folder), "--prompt", "the ", "--length", "40")
    assert code == 2 and "exceeds the transformer's 16 positions" in err, err
    code, out, err = _run(capsys, "generate", "--checkpoint-dir", str(folder), "--prompt", "the ", "--length", "12")
    assert code == 0 and out.startswith("the "), err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--model", "mlp", "--data", "stdlib-text"], r"'stdlib-text' is text: train a language model"),
        (["train", "--model", "gru-lm", "--data", "digits"], r"'digits' is not text; the language models train on"),
        (["train", "--model", "mlp", "--seq-len", "8"], r"--seq-len applies to the language models"),
        (["train", "--model", "transformer-lm", "--width", "30", "--heads", "4"], r"--width 30 must be a multiple"),
        (["train", "--model", "gru-lm", "--text-file", "/nonexistent.txt"], r"nonexistent.txt"),
        (["train", "--model", "transformer-lm", "--norm", "middle"], r"--norm expected post or pre"),
        (["generate", "--checkpoint-dir", "/"], r"holds no language_model.json"),
    ],
)
def test_language_model_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    """Text for a non-LM, an LM on non-text, LM flags elsewhere, heads that do not divide the width, a missing
    text file, a bad norm, a folder without a language model: exit 2 and one line naming it."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
