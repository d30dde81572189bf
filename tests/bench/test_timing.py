"""The timing protocol on synthetic callables, a fake clock and a fake sleep (no real timing)."""

import math

import jax.numpy as jnp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mathdl.bench import _timing


class FakeClock:
    """A clock that advances only when a fake implementation 'runs'."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _impls(clock, costs, log):
    def make(name, cost):
        def fn():
            log.append(name)
            clock.t += cost[0] if isinstance(cost, list) else cost
            if isinstance(cost, list):
                cost.append(cost.pop(0))
            return jnp.zeros(())

        return fn

    return {n: make(n, c) for n, c in costs.items()}


def test_rotation_schedule_interleaves_rounds():
    """Reference: benchmarks/README.md, the A B C A B C order; every round holds each impl exactly once."""
    assert _timing.rotation_schedule(["A", "B", "C"], 2) == [(0, "A"), (0, "B"), (0, "C"), (1, "A"), (1, "B"), (1, "C")]


def test_rotation_schedule_alternate_counterbalances():
    """Reference: ABBA counterbalancing by hand; over two rounds each impl holds each position once."""
    got = _timing.rotation_schedule(["A", "B", "C"], 3, alternate=True)
    assert [n for _, n in got] == list("ABCCBAABC")


@pytest.mark.parametrize(
    "names,repeats,match",
    [
        (["A"], 0, r"argument `repeats` expected >= 1, got 0"),
        (["A"], -3, r"argument `repeats` expected >= 1, got -3"),
        (["A", "A"], 2, r"argument `names` expected distinct names"),
    ],
)
def test_rotation_schedule_bad_input(names, repeats, match):
    """Bad input: non-positive rounds and duplicate names raise with the argument named."""
    with pytest.raises(ValueError, match=match):
        _timing.rotation_schedule(names, repeats)


def test_rotation_schedule_empty_names():
    """Edge: no implementation gives an empty schedule (nothing to time), not an error."""
    assert _timing.rotation_schedule([], 3) == []


def test_run_rotation_order_pauses_and_per_call_time():
    """Reference: hand-computed. Each window = n calls of a fixed cost, so the sample is that cost;
    the call log shows the windows in A B A B order, each preceded by one pause."""
    clock, log, pauses = FakeClock(), [], []

    def sleep(s):
        pauses.append((len(log), s))

    fns = _impls(clock, {"A": 0.002, "B": 0.005}, log)
    samples = _timing.run_rotation(fns, {"A": 3, "B": 2}, repeats=2, pause_s=0.01, clock=clock, sleep=sleep)
    assert log == ["A"] * 3 + ["B"] * 2 + ["A"] * 3 + ["B"] * 2
    assert pauses == [(0, 0.01), (3, 0.01), (5, 0.01), (8, 0.01)]
    assert samples["A"] == pytest.approx([0.002, 0.002])
    assert samples["B"] == pytest.approx([0.005, 0.005])


def test_run_rotation_missing_calls_entry():
    """Bad input: an impl without a calls-per-window entry is named in the error."""
    with pytest.raises(ValueError, match=r"missing \['B'\]"):
        _timing.run_rotation({"A": lambda: 0, "B": lambda: 0}, {"A": 1}, repeats=1, pause_s=0)


def test_paired_ratios_cancel_a_slow_round():
    """Reference: by hand. Round 2 is 10x slower for both impls (a noisy neighbour); each paired ratio
    is still 2, while the ratio of the two medians would be distorted if rounds were unpaired."""
    t_jax = [2.0, 20.0, 2.0]
    t_impl = [1.0, 10.0, 1.0]
    assert _timing.paired_ratios(t_jax, t_impl) == [2.0, 2.0, 2.0]


def test_paired_ratio_median_differs_from_ratio_of_medians():
    """Reference: by hand. Pairs (1,2),(4,2),(10,20): ratios 0.5, 2, 0.5, median 0.5; the ratio of
    medians 4/2 = 2 would hide that the impl lost two rounds of three."""
    r = _timing.paired_ratios([1.0, 4.0, 10.0], [2.0, 2.0, 20.0])
    assert _timing.summarize(r)["median"] == 0.5


@pytest.mark.parametrize(
    "t_ref,t_impl,expected",
    [
        ([0.0], [1.0], [math.nan]),  # a zero time is not a speed
        ([1.0], [0.0], [math.nan]),
        ([math.inf], [1.0], [math.nan]),
        ([math.nan], [1.0], [math.nan]),
        ([-1.0], [1.0], [math.nan]),
    ],
)
def test_paired_ratios_undefined_pairs_are_nan(t_ref, t_impl, expected):
    """Edge values: non-positive or non-finite times give NaN, never a finite wrong ratio."""
    out = _timing.paired_ratios(t_ref, t_impl)
    assert all(math.isnan(x) for x in out) and len(out) == len(expected)


def test_paired_ratios_length_mismatch():
    """Bad input: unpaired samples raise, naming both lengths."""
    with pytest.raises(ValueError, match=r"expected equal lengths, got 2 and 1"):
        _timing.paired_ratios([1.0, 2.0], [1.0])


def test_summarize_matches_numpy_quantiles():
    """Oracle: numpy.percentile (linear interpolation) and numpy.median, independent of mathdl."""
    import numpy as np

    xs = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    s = _timing.summarize(xs)
    assert s["median"] == pytest.approx(np.median(xs))
    assert s["q25"] == pytest.approx(np.percentile(xs, 25))
    assert s["q75"] == pytest.approx(np.percentile(xs, 75))
    assert (s["min"], s["max"], s["n"]) == (1.0, 9.0, 6)


def test_summarize_empty_and_nonfinite():
    """Edge: an empty list and an all-NaN list give NaN statistics with n = 0; NaNs are dropped."""
    for xs in ([], [math.nan, math.inf]):
        s = _timing.summarize(xs)
        assert s["n"] == 0 and math.isnan(s["median"])
    assert _timing.summarize([math.nan, 2.0, 4.0])["median"] == 3.0


@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=20), st.floats(0.1, 10.0))
def test_paired_ratio_of_scaled_times_is_the_scale(ts, k):
    """Property: if the impl is exactly k times faster in every round, every paired ratio is k,
    whatever the round-to-round noise."""
    r = _timing.paired_ratios(ts, [t / k for t in ts])
    assert _timing.summarize(r)["median"] == pytest.approx(k, rel=1e-9)


def test_calibrate_fills_the_window():
    """Reference: by hand; a call costing 1 ms and a 10 ms window gives 10 calls; bounds hold."""
    clock, log = FakeClock(), []
    fn = _impls(clock, {"A": 0.001}, log)["A"]
    assert _timing.calibrate(fn, window_s=0.010, clock=clock) == 10
    assert _timing.calibrate(fn, window_s=1e-9, clock=clock) == 1
    assert _timing.calibrate(fn, window_s=100.0, max_calls=50, clock=clock) == 50


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"window_s": 0.0}, r"argument `window_s` expected > 0, got 0.0"),
        ({"window_s": -1.0}, r"argument `window_s` expected > 0, got -1.0"),
        ({"window_s": math.nan}, r"argument `window_s` expected > 0, got nan"),
        ({"window_s": 0.1, "max_calls": 0}, r"argument `max_calls` expected >= 1, got 0"),
    ],
)
def test_calibrate_bad_input(kw, match):
    """Bad input: a non-positive or NaN window, or no calls allowed, raises with the argument named."""
    with pytest.raises(ValueError, match=match):
        _timing.calibrate(lambda: jnp.zeros(()), **kw)


def test_block_waits_for_jax_and_torch():
    """Transforms: block() returns its argument for a JAX pytree and for a torch tensor."""
    from tests._oracles import need

    tree = {"a": jnp.ones(3), "b": (jnp.zeros(()),)}
    assert _timing.block(tree) is tree
    torch = need("torch")
    t = torch.ones(3)
    assert _timing.block(t) is t
    assert _timing.time_first_call(lambda: t) >= 0.0
