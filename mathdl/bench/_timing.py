"""Timing primitives shared by the device-limit probes and the case runner.

Everything here is plain Python around zero-argument callables, so the tests can drive it
with fake callables, a fake clock and a fake sleep and check the schedule exactly.

The protocol, for a set of implementations ``{name: fn}``:

1. *compile*: each ``fn`` is called once and blocked on; that wall time is the compile
   time (it includes tracing, compilation and one run);
2. *calibrate*: each ``fn`` is called repeatedly for about ``window_s / 2``; the number of
   calls per timing window is chosen so that a window lasts about ``window_s`` (at least one);
3. *rotation*: ``repeats`` rounds; in each round every implementation, in a fixed order
   (A B C A B C ...), sleeps ``pause_s`` and then runs one timing window. A window calls
   ``fn`` and blocks on the result, ``n`` times; its sample is the window's wall time / ``n``.

Interleaving the implementations means a slow phase of a shared machine lands on all of
them in the same round, so the *ratio* of two samples from one round is far steadier than
either time (see :func:`paired_ratios`).
"""

import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "block",
    "calibrate",
    "paired_ratios",
    "rotation_schedule",
    "run_rotation",
    "summarize",
    "time_first_call",
]


def block(x):
    r"""Wait until ``x`` (a JAX pytree or a torch tensor, or a tuple of them) is computed.

    Args:
      x: what an implementation returned.

    Returns:
      ``x``, after its computation has finished.

    References:
      ``jax.block_until_ready``; ``torch.cuda.synchronize`` (CPU torch is synchronous).
    """
    import jax

    torch = sys.modules.get("torch")
    if torch is not None:
        leaves = jax.tree_util.tree_leaves(x, is_leaf=lambda v: isinstance(v, torch.Tensor))
        if any(isinstance(v, torch.Tensor) and v.is_cuda for v in leaves):
            torch.cuda.synchronize()
        if any(isinstance(v, torch.Tensor) for v in leaves):
            return x
    return jax.block_until_ready(x)


def time_first_call(fn: Callable[[], object], *, clock: Callable[[], float] = time.perf_counter) -> float:
    r"""Wall time of the first (compiling) call of ``fn``, blocked on.

    Args:
      fn: a zero-argument callable.
      clock: a monotonic clock in seconds.

    Returns:
      Seconds for tracing, compilation and one run.

    References:
      benchmarks/README.md, "How a case is timed".
    """
    t0 = clock()
    block(fn())
    return clock() - t0


def calibrate(
    fn: Callable[[], object],
    *,
    window_s: float,
    max_calls: int = 100_000,
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    r"""Number of calls per timing window so that a window lasts about ``window_s``.

    Blocked calls are repeated until they have taken at least ``window_s / 2`` (or
    ``max_calls`` calls were made); with $k$ calls in $T$ seconds,
    $n = \lceil \text{window\_s} \cdot k / T \rceil$, clipped to ``[1, max_calls]``. Timing
    several calls, not one, keeps a single slow call (a busy neighbour, a thread-pool wake-up)
    from shrinking every window to one or two calls.

    Args:
      fn: a compiled zero-argument callable.
      window_s: the target window length in seconds (> 0).
      max_calls: upper bound on calls per window.
      clock: a monotonic clock in seconds.

    Returns:
      Calls per window, an int ``>= 1``.

    Raises:
      ValueError: if ``window_s`` is not positive or ``max_calls < 1``.

    References:
      benchmarks/README.md, "How a case is timed"; the same idea as ``timeit.Timer.autorange``.
    """
    if not window_s > 0:
        raise ValueError(f"bench.calibrate: argument `window_s` expected > 0, got {window_s}.")
    if max_calls < 1:
        raise ValueError(f"bench.calibrate: argument `max_calls` expected >= 1, got {max_calls}.")
    k, t0 = 0, clock()
    while True:
        block(fn())
        k += 1
        elapsed = clock() - t0
        if elapsed >= window_s / 2 or k >= max_calls:
            break
    per_call = max(elapsed / k, 1e-12)
    return int(min(max_calls, max(1, math.ceil(window_s / per_call))))


def rotation_schedule(names: Sequence[str], repeats: int, *, alternate: bool = False) -> list[tuple[int, str]]:
    r"""The order of timing windows: ``repeats`` rounds of ``names``.

    Args:
      names: implementation names, in the order they run within a round.
      repeats: number of rounds (>= 1).
      alternate: reverse every other round (A B C C B A A B C ...), so that a cost tied to a
        position in the round (the first window after the previous round's last) falls on
        every implementation equally. The command uses the fixed order; the regression guard
        uses this counterbalanced one.

    Returns:
      ``[(round, name), ...]`` of length ``repeats * len(names)``: A B C A B C ... (or
      alternating as above).

    Raises:
      ValueError: if ``repeats < 1`` or ``names`` has duplicates.

    References:
      benchmarks/README.md, "How a case is timed".
    """
    if repeats < 1:
        raise ValueError(f"bench.rotation_schedule: argument `repeats` expected >= 1, got {repeats}.")
    if len(set(names)) != len(names):
        raise ValueError(f"bench.rotation_schedule: argument `names` expected distinct names, got {list(names)}.")
    names = list(names)
    return [(r, name) for r in range(repeats) for name in (names[::-1] if alternate and r % 2 else names)]


def run_rotation(
    fns: Mapping[str, Callable[[], object]],
    calls: Mapping[str, int],
    *,
    repeats: int,
    pause_s: float,
    alternate: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, list[float]]:
    r"""Time every implementation in rotation; return seconds per call for each round.

    Args:
      fns: ``{name: fn}``, already compiled; the dict order is the order within a round.
      calls: ``{name: n}`` calls per timing window (from :func:`calibrate`).
      repeats: number of rounds.
      pause_s: seconds slept before each timing window (lets a turbo/thermal or a
        neighbour's burst settle, and keeps windows from running back to back).
      alternate: reverse the order in every other round (see :func:`rotation_schedule`).
      clock: a monotonic clock in seconds.
      sleep: the pause function.

    Returns:
      ``{name: [t_0, ..., t_{repeats-1}]}``, seconds per call; index ``r`` of every list
      comes from round ``r``, so samples with the same index are *paired*.

    Raises:
      ValueError: if ``calls`` lacks a name of ``fns`` or ``repeats < 1``.

    References:
      benchmarks/README.md, "How a case is timed".
    """
    missing = [n for n in fns if n not in calls]
    if missing:
        raise ValueError(f"bench.run_rotation: argument `calls` expected an entry for every impl, missing {missing}.")
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _, name in rotation_schedule(list(fns), repeats, alternate=alternate):
        fn, n = fns[name], calls[name]
        sleep(pause_s)
        t0 = clock()
        for _ in range(n):
            block(fn())
        samples[name].append((clock() - t0) / n)
    return samples


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    # Linear interpolation between order statistics (NumPy's default "linear" method).
    if not sorted_xs:
        return math.nan
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def summarize(xs: Sequence[float]) -> dict[str, float]:
    r"""Median and spread of a list of samples.

    Args:
      xs: samples (seconds or ratios); may be empty; NaN and inf samples are dropped.

    Returns:
      ``{"median", "q25", "q75", "min", "max", "n"}`` over the finite samples (NaN entries
      and ``n = 0`` when none is finite);
      quartiles interpolate linearly between order statistics, as NumPy's default.

    References:
      benchmarks/README.md, "How to read the tables".
    """
    s = sorted(float(x) for x in xs if math.isfinite(float(x)))
    if not s:
        return {"median": math.nan, "q25": math.nan, "q75": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    return {
        "median": statistics.median(s),
        "q25": _quantile(s, 0.25),
        "q75": _quantile(s, 0.75),
        "min": s[0],
        "max": s[-1],
        "n": len(s),
    }


def paired_ratios(t_ref: Sequence[float], t_impl: Sequence[float]) -> list[float]:
    r"""Speed ratios of paired samples: $\rho_r = t_{\mathrm{ref},r} / t_{\mathrm{impl},r}$.

    $\rho > 1$ means the implementation is faster than the reference. Take the median of
    the result (not the ratio of medians): a slow round inflates both times of a pair, and
    their ratio cancels it.

    Args:
      t_ref: reference seconds per call, one per round (e.g. hand-written ``jax``).
      t_impl: the implementation's seconds per call, same rounds, same length.

    Returns:
      The list of per-round ratios (NaN where a time is not positive or not finite).

    Raises:
      ValueError: if the lengths differ.

    References:
      benchmarks/README.md, "What the ratios mean".
    """
    if len(t_ref) != len(t_impl):
        raise ValueError(
            f"bench.paired_ratios: arguments `t_ref` and `t_impl` expected equal lengths, "
            f"got {len(t_ref)} and {len(t_impl)}."
        )
    out = []
    for a, b in zip(t_ref, t_impl, strict=True):
        ok = math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0
        out.append(a / b if ok else math.nan)
    return out
