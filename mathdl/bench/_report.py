"""Turn a benchmark result (the dict of :func:`run_benchmarks`) into JSON, markdown and a PNG."""

import json
import math
import os
from pathlib import Path

__all__ = ["RATIO_HEADER", "format_seconds", "to_markdown", "write_plot", "write_results"]

RATIO_HEADER = "speed ratio t_jax / t_impl (median of paired rounds; > 1 = faster than hand-written jax)"


def format_seconds(t: float | None) -> str:
    r"""A time in the unit that keeps 3 significant digits readable (ns, us, ms, s).

    Args:
      t: seconds, or ``None``/NaN.

    Returns:
      E.g. ``"12.3 us"``; ``"n/a"`` for a missing value.

    References:
      benchmarks/README.md, "How to read the tables".
    """
    if t is None or not math.isfinite(t):
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(t) >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def _num(x, fmt="{:.3g}", none="n/a"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return none
    return fmt.format(x)


def _div(x, d):
    return None if x is None else x / d


def _bytes(b):
    if b is None:
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b} B"


def to_markdown(result: dict) -> str:
    r"""The markdown report: environment, device limits, the per-case table, headlines, notes.

    Args:
      result: what :func:`mathdl.bench.run_benchmarks` returned (or its JSON, reloaded).

    Returns:
      Markdown text.

    References:
      benchmarks/README.md, "How to read the tables".
    """
    env, st = result["environment"], result["settings"]
    dev, v = env["device"], env["versions"]
    lines = [
        f"# mathdl bench: {dev['platform']} ({dev['kind']})",
        "",
        f"- date (UTC): {env['date_utc']}; command: `{env['command']}`",
        f"- host: {env['host']['machine']}, {env['host']['cpus_usable']} usable CPUs of {env['host']['cpu_count']}, "
        f"Python {env['host']['python']}, {env['host']['system']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val is not None),
        f"- flags: {', '.join(f'{k}={val!r}' for k, val in env['flags'].items())}",
        f"- settings: quick={st['quick']}, repeats={st['repeats']}, window {format_seconds(st['window_s'])}, "
        f"pause {format_seconds(st['pause_s'])}, compare={st['compare'] or 'all'}",
        f"- total wall time: {_num(result.get('wall_s'), '{:.1f}')} s",
        "",
    ]
    lim = result.get("limits")
    if lim:
        lines += [
            "## Device limits (measured in this run; peak = best round)",
            "",
            "| probe | figure | detail |",
            "|---|---|---|",
        ]
        for dt, m in lim["matmul"].items():
            sizes = ", ".join(
                f"n={n}: {_num(_div(s.get('median_flops_per_s'), 1e9))} median, "
                f"{_num(_div(s.get('best_flops_per_s'), 1e9))} best"
                for n, s in m["sizes"].items()
            )
            peak = m.get("peak_flops")
            lines.append(f"| matmul peak {dt} | {_num(_div(peak, 1e9))} GFLOP/s | {sizes} |")
            if m.get("note"):
                lines.append(f"| | | {m['note']} |")
        bw = lim["bandwidth"]
        for k, b in bw.items():
            if isinstance(b, dict):
                lines.append(
                    f"| bandwidth {k} | {_num(_div(b.get('best_bytes_per_s'), 1e9))} GB/s best, "
                    f"{_num(_div(b['bytes_per_s'], 1e9))} median | {b['what']}, N={b['n']} |"
                )
        if bw.get("note"):
            lines.append(f"| | | {bw['note']} |")
        lines.append(
            f"| dispatch latency | {format_seconds(lim['dispatch']['median_s'])} | {lim['dispatch']['what']} |"
        )
        lines.append("")

    lines += [
        "## Cases",
        "",
        f"Ratio column: **{RATIO_HEADER}**; [q25, q75] of the paired ratios in brackets. "
        "Time: median seconds per call, [q25, q75] across rounds. Compile: first call (trace, compile, one run). "
        "FLOP/s and bandwidth: at the median time, as a % of the peak (best round) measured above. "
        "Memory: device peak on GPU/TPU; on CPU the host's max-RSS growth when at least 1 MiB, else n/a.",
        "",
        f"| case | impl | time (median) | [q25, q75] | compile | memory | GFLOP/s (% peak) | GB/s (% peak) "
        f"| {RATIO_HEADER} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["cases"]:
        label = f"{c['suite']}/{c['name']}"
        if c["status"] != "ok" and not c["impls"]:
            lines.append(f"| {label} | ({c['status']}) | | | | | | | {'; '.join(c['notes'])[:200]} |")
            continue
        for impl, e in c["impls"].items():
            if e.get("status") != "ok" or "median_s" not in e:
                lines.append(f"| {label} | {impl} | error | | | | | | {e.get('error', '')[:150]} |")
                continue
            mem_s = _memory_cell(e.get("memory") or {})
            fl = (
                f"{_num(e['flops_per_s'] / 1e9)} ({_num(100 * e['frac_peak_flops'], '{:.0f}')}%)"
                if e.get("flops_per_s") and e.get("frac_peak_flops") is not None
                else (_num(e["flops_per_s"] / 1e9) if e.get("flops_per_s") else "")
            )
            bw = (
                f"{_num(e['bytes_per_s'] / 1e9)} ({_num(100 * e['frac_peak_bandwidth'], '{:.0f}')}%)"
                if e.get("bytes_per_s") and e.get("frac_peak_bandwidth") is not None
                else (_num(e["bytes_per_s"] / 1e9) if e.get("bytes_per_s") else "")
            )
            r = e.get("ratio_vs_jax")
            if r is None:
                ratio = "n/a (no jax impl)"
            elif impl == "jax":
                ratio = "1 (reference)"
            else:
                ratio = f"**{_num(r['median'], '{:.3f}')}** [{_num(r['q25'], '{:.2f}')}, {_num(r['q75'], '{:.2f}')}]"
            lines.append(
                f"| {label} | {impl} | {format_seconds(e['median_s'])} | "
                f"[{format_seconds(e['q25_s'])}, {format_seconds(e['q75_s'])}] | {format_seconds(e.get('compile_s'))} "
                f"| {mem_s} | {fl} | {bw} | {ratio} |"
            )
    lines.append("")

    heads = [c for c in result["cases"] if c.get("mathdl_vs")]
    if heads:
        lines += [
            "## Headlines: mathdl against each peer",
            "",
            "Each cell: t_peer / t_mathdl, median over paired rounds (> 1: mathdl is faster; < 1: the peer is "
            "faster, shown as it is).",
            "",
        ]
        peers = [p for p in _peer_order(heads)]
        lines.append("| case | " + " | ".join(peers) + " | floor (vs jax) |")
        lines.append("|---|" + "---|" * len(peers) + "---|")
        for c in heads:
            cells = [_num(c["mathdl_vs"].get(p, {}).get("median"), "{:.3f}", "") for p in peers]
            floor = "" if c.get("ratio_floor") is None else f"{c['ratio_floor']} ({_ok(c.get('floor_ok'))})"
            lines.append(f"| {c['suite']}/{c['name']} | " + " | ".join(cells) + f" | {floor} |")
        lines.append("")
    notes = list(result.get("notes", []))
    for c in result["cases"]:
        notes += [f"{c['suite']}/{c['name']}: {n}" for n in c["notes"]]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def _memory_cell(mem: dict) -> str:
    if mem.get("bytes") is None:
        return "n/a"
    if "RSS" in mem.get("kind", ""):
        # Host RSS growth under 1 MiB is allocator noise (memory reused from earlier cases).
        return f"{_bytes(mem['bytes'])} (RSS growth)" if mem["bytes"] >= 2**20 else "n/a (CPU)"
    return _bytes(mem["bytes"])


def _ok(flag):
    return {True: "ok", False: "BELOW", None: "n/a"}[flag]


def _peer_order(cases):
    from mathdl.bench._registry import IMPLEMENTATIONS

    seen = {p for c in cases for p in c["mathdl_vs"]}
    return [p for p in IMPLEMENTATIONS if p in seen]


def write_plot(result: dict, path: str | Path) -> Path | None:
    r"""A horizontal bar chart of the speed ratios ``t_jax / t_impl`` per case and implementation.

    Args:
      result: the benchmark result.
      path: the PNG file to write.

    Returns:
      The path, or ``None`` when no case has a ratio to plot (nothing is written then).

    References:
      benchmarks/README.md, "The plot".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for c in result["cases"]:
        for impl, e in c["impls"].items():
            r = (e.get("ratio_vs_jax") or {}).get("median")
            if impl != "jax" and r is not None and math.isfinite(r):
                rows.append((f"{c['suite']}/{c['name']}", impl, r, e["ratio_vs_jax"]["q25"], e["ratio_vs_jax"]["q75"]))
    if not rows:
        return None
    from mathdl.bench._registry import IMPLEMENTATIONS

    impls = sorted({r[1] for r in rows}, key=lambda i: IMPLEMENTATIONS.index(i) if i in IMPLEMENTATIONS else 99)
    colors = {i: plt.cm.tab10(k % 10) for k, i in enumerate(impls)}
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.6))
    y = list(range(len(rows)))[::-1]
    for yi, (_case, impl, r, q25, q75) in zip(y, rows, strict=True):
        ax.barh(yi, r, color=colors[impl], xerr=[[max(r - q25, 0)], [max(q75 - r, 0)]], capsize=2)
    ax.set_yticks(y, [f"{case}  [{impl}]" for case, impl, *_ in rows], fontsize=7)
    ax.axvline(1.0, color="k", lw=1)
    ax.axvline(0.97, color="r", lw=0.8, ls="--", label="0.97 (mathdl target)")
    ax.set_xscale("log")
    ax.set_xlabel("speed ratio t_jax / t_impl (log scale; > 1 = faster than hand-written jax)")
    dev = result["environment"]["device"]
    ax.set_title(f"mathdl bench on {dev['platform']} ({dev['kind']}): median of paired ratios, bars = IQR", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_results(result: dict, out_dir: str | Path, *, stem: str = "bench", plot: bool = True) -> dict[str, Path]:
    r"""Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png`` under ``out_dir``.

    Args:
      result: the benchmark result.
      out_dir: folder (created if missing).
      stem: file name stem.
      plot: also draw the PNG (the command skips it for the partial saves after each case).

    Returns:
      ``{"json": path, "markdown": path, "png": path or None}``.

    Raises:
      OSError: if ``out_dir`` cannot be created or written (a file written before stays whole:
        each is replaced by a rename).

    References:
      benchmarks/README.md, "What a result file holds".
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md"}
    # NaN is not JSON; store null so any JSON reader can load the file.
    _replace_text(paths["json"], json.dumps(_clean(result), indent=1, sort_keys=False) + "\n")
    _replace_text(paths["markdown"], to_markdown(result))
    paths["png"] = write_plot(result, out / f"{stem}.png") if plot else None
    return paths


def _replace_text(path: Path, text: str) -> None:
    # Written beside the target, then renamed over it: a run killed mid-write (or a full disk)
    # leaves the previous save whole instead of a truncated file.
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _clean(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x
