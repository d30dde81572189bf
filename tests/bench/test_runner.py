"""The case runner on synthetic cases: filtering, skipping, errors, ratios and fractions of peak."""

import math

import jax
import jax.numpy as jnp
import pytest

from mathdl.bench import _runner, _timing
from mathdl.bench._registry import Case, SkipCase

FAST = {"repeats": 3, "window_s": 1e-4, "pause_s": 0.0}


def _device():
    return jax.devices("cpu")[0]


def _case(make, name="c", **kw):
    return Case("synthetic", name, make, **kw)


def _const_impls(*names):
    x = jnp.ones((4,), jnp.float32)
    f = jax.jit(lambda v: v * 2.0)
    return {n: (lambda: f(x)) for n in names}


def _run(case, allowed=None, missing=frozenset(), limits=None, quick=True):
    allowed = allowed or _runner.resolve_compare(None)
    return _runner.run_case(
        case, device=_device(), quick=quick, allowed=allowed, missing=missing, limits=limits, **FAST
    )


def test_resolve_compare_always_keeps_mathdl_and_jax():
    """Reference: benchmarks/README.md; `--compare flax,torch` limits the peers, mathdl and jax always run."""
    got = _runner.resolve_compare("flax,torch")
    assert got == ("mathdl", "jax", "flax_nnx", "flax_nnx_split", "flax_linen", "torch", "torch_compile")
    assert set(_runner.resolve_compare(None)) >= {"mathdl", "jax", "torch", "flax_nnx", "optax", "sklearn"}


@pytest.mark.parametrize("bad", ["tensorflow", "flax,nope", "", ",", "Torch"])
def test_resolve_compare_unknown_library(bad):
    """Bad input: unknown, empty or wrongly cased names raise, listing the known libraries."""
    with pytest.raises(ValueError, match=r"argument `--compare` expected comma-separated names from \['cudnn'"):
        _runner.resolve_compare(bad)


def test_run_case_orders_jax_then_mathdl_and_computes_ratios():
    """Reference: definition of the speed ratio t_jax / t_impl per round, then the median."""
    res = _run(_case(lambda q: _const_impls("torch", "mathdl", "jax"), flops=lambda q: 8.0))
    assert res["status"] == "ok"
    assert list(res["impls"]) == ["jax", "mathdl", "torch"]
    t_jax = res["impls"]["jax"]["times_s"]
    for e in res["impls"].values():
        assert len(e["times_s"]) == FAST["repeats"]
        expected = _timing.summarize(_timing.paired_ratios(t_jax, e["times_s"]))["median"]
        assert e["ratio_vs_jax"]["median"] == pytest.approx(expected)
        assert e["compile_s"] > 0 and e["calls_per_window"] >= 1
    assert res["impls"]["jax"]["ratio_vs_jax"]["pairs"] == [1.0] * FAST["repeats"]
    # mathdl against a peer is t_peer / t_mathdl, so against jax it is mathdl's own ratio.
    assert res["mathdl_vs"]["jax"]["median"] == res["impls"]["mathdl"]["ratio_vs_jax"]["median"]
    torch_vs = _timing.paired_ratios(res["impls"]["torch"]["times_s"], res["impls"]["mathdl"]["times_s"])
    assert res["mathdl_vs"]["torch"]["median"] == _timing.summarize(torch_vs)["median"]
    assert "floor_ok" not in res


def test_run_case_fraction_of_peak_and_bandwidth():
    """Reference: by hand, flops / median time / measured peak (and the same for bytes)."""
    limits = {"matmul": {"float32": {"peak_flops": 1e9}}, "bandwidth": {"peak_bytes_per_s": 1e10}}
    res = _run(_case(lambda q: _const_impls("jax", "mathdl"), flops=lambda q: 1e3, bytes=lambda q: 32.0), limits=limits)
    e = res["impls"]["mathdl"]
    assert e["flops_per_s"] == pytest.approx(1e3 / e["median_s"])
    assert e["frac_peak_flops"] == pytest.approx(e["flops_per_s"] / 1e9)
    assert e["frac_peak_bandwidth"] == pytest.approx(32.0 / e["median_s"] / 1e10)


def test_run_case_floor_flag():
    """Reference: floor_ok is the comparison of the median paired ratio with ratio_floor."""
    res = _run(_case(lambda q: _const_impls("jax", "mathdl"), ratio_floor=0.01))
    assert res["floor_ok"] is True
    res = _run(_case(lambda q: _const_impls("jax", "mathdl"), ratio_floor=1e6))
    assert res["floor_ok"] is False
    res = _run(_case(lambda q: _const_impls("mathdl"), ratio_floor=0.5))
    assert res["floor_ok"] is None  # no jax column: no ratio, so no verdict (not a fake pass)


def test_skipcase_is_a_note_not_a_failure():
    """Edge: make raising SkipCase gives status 'skipped' and its message as the note."""

    def make(quick):
        raise SkipCase("needs a GPU")

    res = _run(_case(make))
    assert res["status"] == "skipped" and res["notes"] == ["needs a GPU"] and res["impls"] == {}


def test_device_restricted_case_does_not_call_make():
    """Edge: a case declared for GPU is skipped on CPU without building its inputs."""

    def make(quick):
        raise AssertionError("make must not be called")

    res = _run(_case(make, devices=("gpu",)))
    assert res["status"] == "skipped"
    assert res["notes"] == ["runs only on gpu; this device is cpu."]


def test_broken_make_is_reported():
    """Bad input: a make that raises is recorded as an error with the exception, not raised."""

    def make(quick):
        raise RuntimeError("boom")

    res = _run(_case(make))
    assert res["status"] == "error"
    assert res["notes"][0].startswith("make failed: RuntimeError: boom")


def test_broken_impl_is_reported_and_others_still_run():
    """Bad input: an implementation failing at its first call is an error cell; the others are timed."""

    def bad():
        raise TypeError("bad impl")

    res = _run(_case(lambda q: {**_const_impls("jax", "mathdl"), "torch": bad}))
    assert res["status"] == "ok"
    assert res["impls"]["torch"]["status"] == "error"
    assert "TypeError: bad impl" in res["impls"]["torch"]["error"]
    assert "ratio_vs_jax" in res["impls"]["mathdl"]


def test_compare_filter_and_unknown_impl_names():
    """Edge: a peer outside --compare is noted, an unknown column name is ignored with a note."""
    allowed = _runner.resolve_compare("torch")
    res = _run(_case(lambda q: _const_impls("jax", "mathdl", "flax_nnx", "numba")), allowed=allowed)
    assert list(res["impls"]) == ["jax", "mathdl"]
    assert "unknown implementation names ignored: ['numba']." in res["notes"]
    assert "not in --compare: flax_nnx." in res["notes"]


def test_missing_library_skips_its_columns(monkeypatch):
    """Edge: with torch hidden from importlib, its columns are skipped with a note, the run goes on."""
    real = _runner.importlib.util.find_spec
    monkeypatch.setattr(
        _runner.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    missing, notes = _runner._missing_libraries(_runner.resolve_compare(None))
    assert missing == {"torch", "torch_compile"}
    assert notes == ["torch is not installed: columns torch, torch_compile skipped (pip install torch)."]
    res = _run(_case(lambda q: _const_impls("jax", "mathdl", "torch")), missing=missing)
    assert list(res["impls"]) == ["jax", "mathdl"]
    assert "library missing: torch skipped." in res["notes"]


def test_no_implementation_left():
    """Edge: a case whose every column is filtered out is skipped, saying so."""
    res = _run(_case(lambda q: _const_impls("flax_nnx")), allowed=_runner.resolve_compare("torch"))
    assert res["status"] == "skipped" and "no implementation to run." in res["notes"]


def test_run_benchmarks_goes_on_after_a_broken_case():
    """Reference: benchmarks/README.md (a broken case is reported, the run finishes); settings are recorded."""

    def broken(quick):
        raise ValueError("nope")

    out = _runner.run_benchmarks(
        [_case(broken, "a"), _case(lambda q: _const_impls("jax", "mathdl"), "b")],
        quick=True,
        measure_device=False,
        log=lambda m: None,
        **FAST,
    )
    assert [c["status"] for c in out["cases"]] == ["error", "ok"]
    assert out["schema"] == _runner.SCHEMA and out["limits"] is None
    assert out["settings"]["repeats"] == 3 and "t_jax / t_impl" in out["settings"]["ratio_convention"]


@pytest.mark.parametrize("repeats", [0, -1])
def test_run_benchmarks_bad_repeats(repeats):
    """Bad input: fewer than one round raises, naming --repeats."""
    with pytest.raises(ValueError, match=rf"argument `--repeats` expected >= 1, got {repeats}"):
        _runner.run_benchmarks([], repeats=repeats, measure_device=False, log=lambda m: None)


def test_quick_device_limits_schema():
    """Reference: the probes' definitions (2 n^3 FLOPs, 4N / 8N bytes); figures positive and finite."""
    from mathdl.bench import _device as dev_mod

    lim = dev_mod.measure_limits(_device(), quick=True, repeats=2, window_s=1e-3, pause_s=0.0, log=lambda m: None)
    f32 = lim["matmul"]["float32"]
    (n, s), *_ = f32["sizes"].items()
    assert s["flops"] == 2.0 * int(n) ** 3
    assert f32["peak_flops"] == pytest.approx(max(v["best_flops_per_s"] for v in f32["sizes"].values()))
    assert f32["peak_flops"] >= f32["median_flops"]  # the best round is at least the median one
    assert lim["matmul"]["bfloat16"]["note"].startswith("CPU bfloat16: this CPU reports")
    bw = lim["bandwidth"]
    assert bw["add_one"]["bytes"] == 2 * bw["reduce_sum"]["bytes"]
    assert math.isfinite(bw["peak_bytes_per_s"]) and bw["peak_bytes_per_s"] > 0
    assert 0 < lim["dispatch"]["median_s"] < 1.0


def test_on_case_sees_each_partial_result(tmp_path):
    """Reference: the command's partial saves; on_case gets the result after each case, cases growing."""
    from mathdl.bench import _report

    seen = []

    def on_case(partial):
        seen.append([c["name"] for c in partial["cases"]])
        _report.write_results(partial, tmp_path, plot=False)

    cases = [_case(lambda q: _const_impls("jax", "mathdl"), n) for n in ("a", "b")]
    _runner.run_benchmarks(cases, quick=True, measure_device=False, log=lambda m: None, on_case=on_case, **FAST)
    assert seen == [["a"], ["a", "b"]]
    assert (tmp_path / "bench.json").exists() and not (tmp_path / "bench.png").exists()
