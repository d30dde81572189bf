r"""Peak memory of scaled dot-product attention, forward and backward: the blocked path against the reference.

For each sequence length $T = S$ the forward pass and the gradient with respect to $Q$, $K$ and $V$
of one attention head ($d = 64$, float32, causal) are compiled with ``jax.jit`` for each of
mathdl's three implementations, and XLA's own accounting of the compiled program is read
(``compiled.memory_analysis()``): ``temp_size_in_bytes``, the scratch buffers the program needs
beyond its arguments and outputs. Nothing is run, so the figure does not depend on the load of the
machine. The reference path holds the $T \times S$ scores and their gradient (quadratic in $T$);
the blocked path holds one ``T x block`` tile of scores and the saved log-sum-exp (linear in $T$).

Usage::

    .venv/bin/python benchmarks/attention_memory.py                       # T = 256 ... 16384
    .venv/bin/python benchmarks/attention_memory.py --max-T 4096 --out benchmarks/results/cpu

Writes ``attention_memory.md`` (a table) and ``attention_memory.png`` (log-log plot) in ``--out``.
"""

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from mathdl import layers  # noqa: E402

PATHS = ("reference", "blocked", "xla")


def temp_bytes(implementation: str, T: int, d: int = 64) -> int:
    """XLA's temp bytes of jit(forward + grad) of one causal attention head of length ``T``."""
    x = jax.ShapeDtypeStruct((T, d), jnp.float32)

    def fwd_bwd(q, k, v):
        def loss(q, k, v):
            return jnp.sum(layers.scaled_dot_product_attention(q, k, v, is_causal=True, implementation=implementation))

        return jax.value_and_grad(loss, (0, 1, 2))(q, k, v)

    return int(jax.jit(fwd_bwd).lower(x, x, x).compile().memory_analysis().temp_size_in_bytes)


def _mib(b: float) -> str:
    return f"{b / 2**20:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-T", type=int, default=16384)
    parser.add_argument("--out", default="benchmarks/results/cpu")
    args = parser.parse_args(argv)
    Ts = [256 * 2**i for i in range(20) if 256 * 2**i <= args.max_T]
    rows = {p: [temp_bytes(p, T) for T in Ts] for p in PATHS}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # growth exponent between the two largest lengths: 1 = linear, 2 = quadratic
    def slope(b):
        return float(np.log(b[-1] / b[-2]) / np.log(Ts[-1] / Ts[-2])) if len(b) > 1 and b[-2] > 0 else float("nan")

    lines = [
        "# Attention memory: XLA temp bytes of jit(forward + backward), one causal head, d = 64, float32",
        "",
        f"Command: `.venv/bin/python benchmarks/attention_memory.py --max-T {args.max_T}`; "
        f"jax {jax.__version__}, backend {jax.default_backend()}, Python {platform.python_version()}. "
        "Read from `compiled.memory_analysis().temp_size_in_bytes` (nothing is run).",
        "",
        "| T = S | reference (MiB) | blocked (MiB) | xla (MiB) | reference / blocked | T x S scores, float32 (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for i, T in enumerate(Ts):
        r, b, x = rows["reference"][i], rows["blocked"][i], rows["xla"][i]
        lines.append(f"| {T} | {_mib(r)} | {_mib(b)} | {_mib(x)} | {r / max(b, 1):.1f} | {_mib(4 * T * T)} |")
    lines += [
        "",
        f"Growth exponent from T = {Ts[-2]} to {Ts[-1]} (1 = linear, 2 = quadratic): "
        + ", ".join(f"{p} {slope(rows[p]):.2f}" for p in PATHS)
        + ".",
        "",
    ]
    (out / "attention_memory.md").write_text("\n".join(lines))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for p, marker in zip(PATHS, "os^", strict=True):
        ax.loglog(Ts, np.asarray(rows[p]) / 2**20, marker=marker, label=p)
    ax.loglog(Ts, 4.0 * np.asarray(Ts, float) ** 2 / 2**20, "k:", label="one T x S float32 matrix")
    ax.set_xlabel("sequence length T = S")
    ax.set_ylabel("XLA temp memory (MiB)")
    ax.set_title("attention forward + backward, d = 64, float32")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "attention_memory.png", dpi=100)
    plt.close(fig)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
