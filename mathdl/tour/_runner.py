"""Runs the tour demos and prints one table."""

import math
import time
from pathlib import Path

__all__ = ["outside_range", "run_tour"]


def outside_range(demo, metrics: dict[str, float]) -> dict[str, float]:
    r"""The metrics of ``demo`` that are missing from ``metrics`` or outside their expected range.

    This is the check ``mathdl tour`` applies to each demo (and the tests apply to every demo).

    Args:
      demo: a registered :class:`mathdl.tour.Demo`.
      metrics: what ``demo.fn`` returned, metric name -> value.

    Returns:
      Metric name -> value (NaN for a missing one) for each expected metric not inside its
      inclusive ``(low, high)`` range; empty when the demo passed. NaN is never inside a range.

    References:
      README, "The tour".
    """
    bad = {}
    for name, (lo, hi) in demo.expected.items():
        value = float(metrics.get(name, math.nan))
        if not lo <= value <= hi:
            bad[name] = value
    return bad


def run_tour(out_dir: str | Path = "mathdl-out", *, chapters: list[str] | None = None) -> int:
    r"""Run every registered demo, print the table and return an exit code.

    Args:
      out_dir: where demos save their plots (created if missing).
      chapters: run only these chapter labels (default: all).

    Returns:
      0 if every metric is inside its expected range, 1 otherwise.

    Raises:
      ValueError: if ``chapters`` names a chapter that has no demo.

    References:
      README, "The tour".
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from mathdl.tour import load_demos

    all_demos = load_demos()
    if chapters:
        known = sorted({d.chapter for d in all_demos})
        unknown = [c for c in chapters if c not in known]
        if unknown:
            raise ValueError(f"tour: argument `--chapter` expected some of {known}, got {unknown}.")
        all_demos = [d for d in all_demos if d.chapter in chapters]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    if not console.is_terminal:  # logs and CI: do not wrap the table at 80 columns
        console = Console(width=160)
    table = Table(title=f"mathdl tour (plots in {out}/)")
    for col in ("chapter", "what ran", "metric", "value", "expected", "seconds", "ok"):
        table.add_column(col, justify="right" if col in ("value", "seconds") else "left")
    failures = 0
    total = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("tour", total=len(all_demos))
        for demo in all_demos:
            progress.update(task, description=f"Ch {demo.chapter}: {demo.title}")
            start = time.perf_counter()
            try:
                metrics = {k: float(v) for k, v in demo.fn(out).items()}
                error = None
            except Exception as exc:  # a broken demo is reported as a failure, not a crash
                metrics, error = {}, f"{type(exc).__name__}: {exc}"
            seconds = time.perf_counter() - start
            if error is not None:
                failures += 1
                table.add_row(demo.chapter, demo.title, "error", error[:60], "-", f"{seconds:.1f}", "FAIL")
            bad = outside_range(demo, metrics)
            failures += len(bad)
            for name, (lo, hi) in demo.expected.items():
                value = metrics.get(name, math.nan)
                ok = name not in bad
                table.add_row(
                    demo.chapter,
                    demo.title,
                    name,
                    f"{value:.4g}",
                    f"[{lo:g}, {hi:g}]",
                    f"{seconds:.1f}",
                    "ok" if ok else "FAIL",
                )
            progress.advance(task)
    console.print(table)
    console.print(f"{len(all_demos)} demos in {time.perf_counter() - total:.1f} s; {failures} outside range.")
    return 1 if failures else 0
