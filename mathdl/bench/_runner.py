"""The case runner: device limits first, then every case, every implementation, in rotation.

:func:`run_benchmarks` returns one JSON-serialisable dict (the schema is documented in
``benchmarks/README.md``); :mod:`mathdl.bench._report` turns it into markdown and a plot.
"""

import gc
import importlib.util
import math
import shlex
import sys
import time
import traceback

from mathdl.bench import _device, _timing
from mathdl.bench._registry import Case, SkipCase

__all__ = ["LIBRARIES", "SCHEMA", "DEFAULTS", "resolve_compare", "run_benchmarks", "run_case"]

SCHEMA = "mathdl-bench/1"

# Comparison libraries (``--compare``) and the implementation columns each one owns.
# mathdl and jax always run: they are what every ratio is about.
LIBRARIES = {
    "flax": ("flax_nnx", "flax_nnx_split", "flax_linen"),
    "torch": ("torch", "torch_compile"),
    "optax": ("optax",),
    "sklearn": ("sklearn",),
    "scipy": ("scipy",),
    "loop": ("loop",),
    "cudnn": ("jax_cudnn",),
}
ALWAYS = ("mathdl", "jax")
# The module whose absence means a library's columns are skipped with a note.
_MODULES = {"flax": "flax", "torch": "torch", "optax": "optax", "sklearn": "sklearn", "scipy": "scipy"}
_EXTRA_MODULES = {"flax_linen": "flax.linen"}

# Timing parameters: (repeats, window seconds, pause seconds).
DEFAULTS = {"quick": (3, 0.002, 0.001), "full": (11, 0.05, 0.02)}


def resolve_compare(compare: str | None) -> tuple[str, ...]:
    r"""The implementation columns allowed by ``--compare`` (``None``: all of them).

    Args:
      compare: comma-separated library names (``"flax,torch"``) or ``None``.

    Returns:
      Allowed implementation names, mathdl and jax always included.

    Raises:
      ValueError: if a name is not a known library; the message lists the known ones.

    References:
      benchmarks/README.md, "Running".
    """
    if compare is None:
        return ALWAYS + tuple(i for impls in LIBRARIES.values() for i in impls)
    names = [c.strip() for c in compare.split(",") if c.strip()]
    unknown = [c for c in names if c not in LIBRARIES]
    if unknown or not names:
        raise ValueError(
            f"bench: argument `--compare` expected comma-separated names from {sorted(LIBRARIES)}, got {compare!r}."
        )
    return ALWAYS + tuple(i for c in names for i in LIBRARIES[c])


def _missing_libraries(allowed: tuple[str, ...]) -> tuple[set[str], list[str]]:
    """Impl columns whose library is not installed, and a note for each library."""
    missing, notes = set(), []
    for lib, impls in LIBRARIES.items():
        wanted = [i for i in impls if i in allowed]
        if not wanted or lib not in _MODULES:
            continue
        if importlib.util.find_spec(_MODULES[lib]) is None:
            missing.update(wanted)
            notes.append(f"{lib} is not installed: columns {', '.join(wanted)} skipped (pip install {lib}).")
    for impl, module in _EXTRA_MODULES.items():
        if impl in allowed and impl not in missing:
            try:
                found = importlib.util.find_spec(module) is not None
            except ImportError:
                found = False
            if not found:
                missing.add(impl)
                notes.append(f"{module} is not importable: column {impl} skipped.")
    return missing, notes


def _error_text(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}"[:300] + where


def run_case(
    case: Case,
    *,
    device,
    quick: bool,
    allowed: tuple[str, ...],
    missing: set[str] = frozenset(),
    repeats: int,
    window_s: float,
    pause_s: float,
    limits: dict | None = None,
    alternate: bool = False,
) -> dict:
    r"""Build one case, compile each implementation, time them in rotation, compute ratios.

    Args:
      case: the registered case.
      device: the ``jax.Device`` under test (already the default device).
      quick: pass ``quick`` to the case's ``make``.
      allowed: implementation columns to run (see :func:`resolve_compare`).
      missing: columns whose library is absent (dropped with a note if the case offers them).
      repeats: rotation rounds.
      window_s: target seconds per timing window.
      pause_s: seconds slept before each window.
      limits: the measured device limits (for fractions of peak), or ``None``.
      alternate: reverse the rotation order every other round (the regression guard's
        counterbalanced schedule); the command uses the fixed A B C order.

    Returns:
      The case's result dict: ``suite``, ``name``, ``status`` (``ok``, ``skipped`` or
      ``error``), ``notes``, ``flops``, ``bytes``, ``ratio_floor``, ``impls`` (per
      implementation: times, compile time, memory, throughput, ratios).

    References:
      benchmarks/README.md, "How a case is timed".
    """
    res = {
        "suite": case.suite,
        "name": case.name,
        "status": "ok",
        "notes": [],
        "flops": None,
        "bytes": None,
        "ratio_floor": case.ratio_floor,
        "peak_dtype": case.peak_dtype,
        "impls": {},
    }
    if case.devices is not None and device.platform not in case.devices:
        res["status"] = "skipped"
        res["notes"].append(f"runs only on {', '.join(case.devices)}; this device is {device.platform}.")
        return res
    try:
        res["flops"] = float(case.flops(quick)) if case.flops else None
        res["bytes"] = float(case.bytes(quick)) if case.bytes else None
        t0 = time.perf_counter()
        impls = case.make(quick)
        res["make_s"] = time.perf_counter() - t0  # building inputs (and any warm-up a case does in make)
    except SkipCase as exc:
        res["status"] = "skipped"
        res["notes"].append(str(exc))
        return res
    except Exception as exc:  # a broken case is reported, the run goes on
        res["status"] = "error"
        res["notes"].append(f"make failed: {_error_text(exc)}")
        return res
    unknown = [n for n in impls if n not in _known_impls()]
    if unknown:
        res["notes"].append(f"unknown implementation names ignored: {unknown}.")
    absent = [n for n in impls if n in missing]
    if absent:
        res["notes"].append(f"library missing: {', '.join(absent)} skipped.")
    not_asked = [n for n in impls if n not in allowed and n not in missing and n not in unknown]
    if not_asked:
        res["notes"].append(f"not in --compare: {', '.join(not_asked)}.")
    fns = {n: f for n, f in impls.items() if n in allowed and n not in missing and n not in unknown}
    # jax first, mathdl second, then the peers in registry order, so tables line up.
    order = sorted(fns, key=lambda n: (n != "jax", n != "mathdl", _known_impls().index(n)))
    fns = {n: fns[n] for n in order}

    compiled, calls = {}, {}
    for name, fn in fns.items():
        entry = {"status": "ok"}
        res["impls"][name] = entry
        try:
            with _device.memory_probe(device) as probe:
                entry["compile_s"] = _timing.time_first_call(fn)
            entry["memory"] = probe.result
            calls[name] = _timing.calibrate(fn, window_s=window_s)
            entry["calls_per_window"] = calls[name]
            compiled[name] = fn
        except Exception as exc:
            entry["status"] = "error"
            entry["error"] = _error_text(exc)
            res["notes"].append(f"{name} failed: {entry['error']}")
    if not compiled:
        res["status"] = "error" if fns else "skipped"
        if not fns:
            res["notes"].append("no implementation to run.")
        return res

    samples = _timing.run_rotation(compiled, calls, repeats=repeats, pause_s=pause_s, alternate=alternate)
    peak_flops = _get(limits, "matmul", case.peak_dtype, "peak_flops")
    peak_bw = _get(limits, "bandwidth", "peak_bytes_per_s")
    for name, ts in samples.items():
        entry = res["impls"][name]
        s = _timing.summarize(ts)
        entry["times_s"] = ts
        entry.update({f"{k}_s": v for k, v in s.items() if k != "n"})
        if res["flops"]:
            entry["flops_per_s"] = res["flops"] / s["median"]
            entry["frac_peak_flops"] = entry["flops_per_s"] / peak_flops if peak_flops else None
        if res["bytes"]:
            entry["bytes_per_s"] = res["bytes"] / s["median"]
            entry["frac_peak_bandwidth"] = entry["bytes_per_s"] / peak_bw if peak_bw else None
        if "jax" in samples:
            r = _timing.paired_ratios(samples["jax"], ts)
            entry["ratio_vs_jax"] = {**_timing.summarize(r), "pairs": r}
    if "mathdl" in samples:
        # mathdl against each peer, the same way: t_peer / t_mathdl per round (> 1: mathdl faster).
        res["mathdl_vs"] = {
            peer: _timing.summarize(_timing.paired_ratios(ts, samples["mathdl"]))
            for peer, ts in samples.items()
            if peer != "mathdl"
        }
    if case.ratio_floor is not None:
        got = _get(res, "impls", "mathdl", "ratio_vs_jax", "median")
        res["floor_ok"] = None if got is None or math.isnan(got) else bool(got >= case.ratio_floor)
    del compiled, fns, impls
    gc.collect()
    return res


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _known_impls():
    from mathdl.bench._registry import IMPLEMENTATIONS

    return list(IMPLEMENTATIONS)


def run_benchmarks(
    cases: list[Case],
    *,
    device=None,
    quick: bool = False,
    compare: str | None = None,
    repeats: int | None = None,
    window_s: float | None = None,
    pause_s: float | None = None,
    measure_device: bool = True,
    command: str | None = None,
    log=None,
    on_case=None,
) -> dict:
    r"""Measure the device's limits, then run ``cases`` and return the whole result.

    Args:
      cases: the cases to run, in order.
      device: the ``jax.Device`` under test (default: JAX's default device).
      quick: tiny sizes and short windows (the smoke test).
      compare: ``--compare`` value (``None``: every peer present).
      repeats: rotation rounds (default 3 quick, 11 full).
      window_s: seconds per timing window (default 2 ms quick, 50 ms full).
      pause_s: seconds slept before each window (default 1 ms quick, 20 ms full).
      measure_device: measure matmul peak, bandwidth and dispatch first.
      command: the command line, stored in the result.
      log: a ``print``-like progress function (default: print to stderr).
      on_case: called with the partial result after each case (the command saves it, so a run
        that hangs or is killed still leaves the cases it finished).

    Returns:
      ``{"schema", "environment", "settings", "notes", "limits", "cases", "wall_s"}``.

    Raises:
      ValueError: if ``compare`` names an unknown library, ``repeats < 1``, ``window_s <= 0`` or
        ``pause_s < 0`` (checked before anything runs).

    References:
      benchmarks/README.md.
    """
    import jax

    if log is None:

        def log(msg):
            print(msg, file=sys.stderr, flush=True)

    allowed = resolve_compare(compare)
    d_rep, d_win, d_pause = DEFAULTS["quick" if quick else "full"]
    repeats = d_rep if repeats is None else int(repeats)
    if repeats < 1:
        raise ValueError(f"bench: argument `--repeats` expected >= 1, got {repeats}.")
    window_s = d_win if window_s is None else float(window_s)
    pause_s = d_pause if pause_s is None else float(pause_s)
    if not (math.isfinite(window_s) and window_s > 0):
        raise ValueError(f"bench.run_benchmarks: argument `window_s` expected seconds > 0, got {window_s}.")
    if not (math.isfinite(pause_s) and pause_s >= 0):
        raise ValueError(f"bench.run_benchmarks: argument `pause_s` expected seconds >= 0, got {pause_s}.")
    device = device or jax.devices()[0]
    start = time.perf_counter()
    missing, notes = _missing_libraries(allowed)
    for note in notes:
        log(f"note: {note}")
    out = {
        "schema": SCHEMA,
        "environment": _device.environment(device, command or shlex.join(sys.argv)),
        "settings": {
            "quick": quick,
            "repeats": repeats,
            "window_s": window_s,
            "pause_s": pause_s,
            "compare": compare,
            "ratio_convention": "speed ratio = t_jax / t_impl per round, then the median (>= 1: faster than jax)",
        },
        "notes": notes,
        "limits": None,
        "cases": [],
    }
    with jax.default_device(device):
        if measure_device:
            log(f"measuring device limits on {device.platform} ({device.device_kind}) ...")
            out["limits"] = _device.measure_limits(
                device, quick=quick, repeats=repeats, window_s=window_s, pause_s=pause_s, log=log
            )
        for i, case in enumerate(cases, 1):
            t0 = time.perf_counter()
            res = run_case(
                case,
                device=device,
                quick=quick,
                allowed=allowed,
                missing=missing,
                repeats=repeats,
                window_s=window_s,
                pause_s=pause_s,
                limits=out["limits"],
            )
            res["wall_s"] = time.perf_counter() - t0
            out["cases"].append(res)
            if on_case is not None:
                out["wall_s"] = time.perf_counter() - start
                on_case(out)
            r = _get(res, "impls", "mathdl", "ratio_vs_jax", "median")
            extra = f", mathdl/jax ratio {r:.3f}" if r is not None and not math.isnan(r) else ""
            log(f"[{i}/{len(cases)}] {case.suite}/{case.name}: {res['status']} in {res['wall_s']:.1f} s{extra}")
            for note in res["notes"]:
                log(f"    note: {note}")
    out["wall_s"] = time.perf_counter() - start
    return out
