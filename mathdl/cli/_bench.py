"""time kernels and training steps side by side with hand-written JAX, Flax and PyTorch.

``mathdl bench [--suite NAME] [--case NAME] [--quick] [--out DIR] [--compare flax,torch]
[--device cpu|gpu|tpu] [--repeats N] [--window S] [--pause S] [--exclude TEXT] [--list]``. Exit codes:
0 done; 2 bad arguments, one line on stderr (unknown suite, case, device or comparison library: the
available ones are printed; a ``--out`` that is a file or cannot be written; a non-positive
``--repeats`` or ``--window``, a negative ``--pause``), checked before anything runs; 1 when the
results could not be written at the end (the table is printed first); 130 when interrupted, with
the cases finished so far saved.
"""

import math
import shlex
import sys
from pathlib import Path

from mathdl.cli import _output_dir_problem

__all__ = ["configure", "run"]


def configure(parser) -> None:
    r"""Add the ``bench`` arguments to ``parser``.

    Args:
      parser: the ``argparse`` sub-parser of ``bench``.

    Returns:
      None.

    References:
      benchmarks/README.md, "Running".
    """
    parser.add_argument(
        "--suite", action="append", help="run only this suite (repeatable or comma-separated); default: all"
    )
    parser.add_argument("--case", action="append", help="run only cases whose name contains this (repeatable)")
    parser.add_argument(
        "--exclude", action="append", help="leave out cases whose suite/name contains this (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats: a smoke test")
    parser.add_argument("--out", default="mathdl-bench-out", help="folder for bench.json/.md/.png")
    parser.add_argument(
        "--compare",
        default=None,
        help="peer libraries to time besides mathdl and jax, comma-separated (flax,torch,optax,sklearn,scipy,"
        "loop,cudnn); default: every one installed",
    )
    parser.add_argument("--device", default=None, help="JAX backend: cpu, gpu or tpu (default: JAX's default)")
    parser.add_argument("--repeats", type=int, default=None, help="rotation rounds (default 3 quick, 11 full)")
    parser.add_argument("--window", type=float, default=None, help="seconds per timing window (default 0.002/0.05)")
    parser.add_argument("--pause", type=float, default=None, help="seconds slept before each window")
    parser.add_argument("--no-limits", action="store_true", help="skip the device-limit probes")
    parser.add_argument("--list", action="store_true", help="list suites and cases, then exit")


def _error(msg: str) -> int:
    print(f"mathdl bench: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    r"""Run ``mathdl bench`` with parsed ``args``; print the markdown table and write the results.

    Args:
      args: the parsed ``argparse`` namespace.

    Returns:
      0 on success, 2 on a bad argument (one line; unknown names list the available choices), 1 if
      the results cannot be written at the end, 130 when interrupted.

    References:
      benchmarks/README.md, "Running".
    """
    from mathdl.bench import _device, _report, _runner, load_cases

    all_cases = load_cases()
    suites = sorted({c.suite for c in all_cases})
    if args.list:
        for s in suites:
            print(f"{s}: " + ", ".join(c.name for c in all_cases if c.suite == s))
        return 0
    chosen = all_cases
    if args.suite:
        wanted = [s.strip() for arg in args.suite for s in arg.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in suites]
        if unknown:
            return _error(f"unknown suite {', '.join(unknown)}; available suites: {', '.join(suites)}.")
        chosen = [c for c in chosen if c.suite in wanted]
    if args.case:
        chosen = [c for c in chosen if any(k in c.name for k in args.case)]
        if not chosen:
            names = ", ".join(f"{c.suite}/{c.name}" for c in all_cases)
            return _error(f"no case matches --case {args.case}; available cases: {names}.")
    if args.exclude:
        chosen = [c for c in chosen if not any(k in f"{c.suite}/{c.name}" for k in args.exclude)]
        if not chosen:
            return _error(f"--exclude {args.exclude} leaves no case to run.")
    try:
        _runner.resolve_compare(args.compare)
    except ValueError:
        return _error(
            f"unknown comparison library in --compare {args.compare!r}; available: {', '.join(_runner.LIBRARIES)} "
            "(mathdl and jax always run)."
        )
    if args.repeats is not None and args.repeats < 1:
        return _error(f"argument `--repeats` expected an integer >= 1, got {args.repeats}.")
    if args.window is not None and not (math.isfinite(args.window) and args.window > 0):
        return _error(f"argument `--window` expected a number of seconds > 0, got {args.window}.")
    if args.pause is not None and not (math.isfinite(args.pause) and args.pause >= 0):
        return _error(f"argument `--pause` expected a number of seconds >= 0, got {args.pause}.")
    try:
        device = _device.select_device(args.device)
    except ValueError:
        return _error(
            f"unknown or unavailable device {args.device!r}; available here: "
            f"{', '.join(_device.available_backends())} (known: {', '.join(_device.BACKENDS)})."
        )
    problem = _output_dir_problem(args.out)
    if problem is not None:
        return _error(f"argument `--out` expected a folder to write bench.json/.md/.png in, {problem}.")
    saved = {"cases": 0, "failed": None}

    def save_partial(partial):
        # Saved after every case, so a run that is interrupted or killed keeps what it measured.
        try:
            _report.write_results(partial, args.out, plot=False)
            saved["cases"] = len(partial["cases"])
        except OSError as exc:
            if saved["failed"] is None:
                saved["failed"] = exc.strerror or str(exc)
                print(f"mathdl bench: cannot save in {args.out!r} ({saved['failed']}); going on.", file=sys.stderr)

    try:
        result = _runner.run_benchmarks(
            chosen,
            device=device,
            quick=args.quick,
            compare=args.compare,
            repeats=args.repeats,
            window_s=args.window,
            pause_s=args.pause,
            measure_device=not args.no_limits,
            command=_reconstruct(args),
            on_case=save_partial,
        )
    except KeyboardInterrupt:
        where = f"{Path(args.out) / 'bench.json'}" if saved["cases"] else "nothing was saved"
        print(f"mathdl bench: interrupted after {saved['cases']} of {len(chosen)} cases; {where}.", file=sys.stderr)
        return 130
    print(_report.to_markdown(result))
    try:
        paths = _report.write_results(result, args.out)
    except OSError as exc:  # the table above is the only copy
        print(f"mathdl bench: cannot write the results in {args.out!r} ({exc.strerror or exc}).", file=sys.stderr)
        return 1
    written = ", ".join(str(p) for p in paths.values() if p is not None)
    print(f"\nwrote {written} in {result['wall_s']:.1f} s", file=sys.stderr)
    return 0


def _reconstruct(args) -> str:
    parts = ["mathdl", "bench"]
    for name in ("suite", "case", "exclude"):
        for v in getattr(args, name) or []:
            parts += [f"--{name}", v]
    if args.quick:
        parts.append("--quick")
    parts += ["--out", args.out]
    for name in ("compare", "device", "repeats", "window", "pause"):
        v = getattr(args, name)
        if v is not None:
            parts += [f"--{name}", str(v)]
    if args.no_limits:
        parts.append("--no-limits")
    return shlex.join(parts)
