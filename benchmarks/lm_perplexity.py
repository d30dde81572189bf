"""Held-out perplexity per character of the four language models of ``mathdl train``, one budget for all.

Each model trains on the first 90 % of ``data.stdlib_text()`` (the standard library's docstrings,
character level) in windows of 64 characters for the same number of epochs (Adam 3e-3, cosine
decay, clipping at 1.0, batches of 32) and is scored on the last 10 %. Writes
``benchmarks/results/cpu/lm_perplexity.md``. Run: ``python benchmarks/lm_perplexity.py [--epochs 4]``.
"""

import argparse
import contextlib
import io
import pathlib
import re
import time

import jax

from mathdl.cli import main

MODELS = ("rnn-lm", "lstm-lm", "gru-lm", "transformer-lm")


def run(model: str, epochs: int) -> dict:
    out = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(["train", "--model", model, "--data", "stdlib-text", "--epochs", str(epochs), "--no-progress"])
    wall = time.perf_counter() - t
    text = out.getvalue()
    if code != 0:
        raise SystemExit(f"{model}: exit {code}\n{text}")
    ppl = re.search(r"perplexity per character: train ([\d.]+)  test ([\d.]+)  \(uniform (\d+)\)", text)
    head = re.search(r"model \S+ ([\d,]+) params, (.*?) on stdlib-text: (\d+) steps", text)
    return {
        "model": model,
        "params": head[1],
        "shape": head[2],
        "steps": int(head[3]),
        "train": float(ppl[1]),
        "test": float(ppl[2]),
        "uniform": int(ppl[3]),
        "wall": wall,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "cpu" / "lm_perplexity.md"))
    args = parser.parse_args()
    rows = [run(m, args.epochs) for m in MODELS]
    lines = [
        f"# Language models on the stdlib docstrings: held-out perplexity per character ({args.epochs} epochs each)",
        "",
        f"`python benchmarks/lm_perplexity.py --epochs {args.epochs}` on {jax.devices()[0].device_kind}, "
        f"jax {jax.__version__}. Defaults of `mathdl train`; the uniform model has perplexity d_V = "
        f"{rows[0]['uniform']}. Wall time includes compilation and evaluation (shared machine: compare loosely).",
        "",
        "| model | params | settings | steps | train ppl | test ppl | wall (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']} | {r['shape']} | {r['steps']} | {r['train']:.2f} | {r['test']:.2f} "
            f"| {r['wall']:.0f} |"
        )
    pathlib.Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
