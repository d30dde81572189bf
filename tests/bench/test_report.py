"""Result files: the JSON schema, the markdown table and the PNG, on a synthetic run."""

import json
import math

import jax
import jax.numpy as jnp
import pytest

from mathdl.bench import _report, _runner
from mathdl.bench._registry import Case, SkipCase


def _impls(quick):
    x = jnp.ones((8,), jnp.float32)
    f = jax.jit(lambda v: v + 1.0)
    return {"jax": lambda: f(x), "mathdl": lambda: f(x), "torch": lambda: f(x)}


def _skip(quick):
    raise SkipCase("only on a GPU")


@pytest.fixture(scope="module")
def result():
    cases = [
        Case("synthetic", "add", _impls, flops=lambda q: 8.0, bytes=lambda q: 64.0, ratio_floor=0.5),
        Case("synthetic", "skipped", _skip),
    ]
    return _runner.run_benchmarks(
        cases, quick=True, repeats=3, window_s=1e-4, pause_s=0.0, command="mathdl bench --quick", log=lambda m: None
    )


@pytest.mark.parametrize(
    "t,expected",
    [(1.5, "1.5 s"), (0.0123, "12.3 ms"), (4.56e-6, "4.56 us"), (7e-9, "7 ns"), (None, "n/a"), (math.nan, "n/a")],
)
def test_format_seconds(t, expected):
    """Worked values by hand, including the missing-value edges (None, NaN)."""
    assert _report.format_seconds(t) == expected


def test_json_schema_round_trip(result, tmp_path):
    """Reference: the schema in benchmarks/README.md; the file is strict JSON (NaN stored as null)."""
    paths = _report.write_results(result, tmp_path)
    text = paths["json"].read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["schema"] == "mathdl-bench/1"
    env = data["environment"]
    assert env["command"] == "mathdl bench --quick"
    assert set(env["versions"]) >= {"jax", "jaxlib", "flax", "optax", "torch"}
    assert env["device"]["platform"] == "cpu" and env["host"]["cpu_count"] >= 1
    assert "XLA_FLAGS" in env["flags"] and env["date_utc"].endswith("+00:00")
    assert set(data["limits"]) == {"matmul", "bandwidth", "dispatch"}
    add, skipped = data["cases"]
    assert skipped["status"] == "skipped" and skipped["notes"] == ["only on a GPU"]
    assert list(add["impls"]) == ["jax", "mathdl", "torch"]
    for e in add["impls"].values():
        keys = {"times_s", "median_s", "q25_s", "q75_s", "min_s", "max_s", "compile_s", "memory", "ratio_vs_jax"}
        assert keys <= set(e)
        assert e["memory"]["kind"].startswith("host max-RSS growth")  # CPU: labelled, not a device figure
        assert e["memory"]["bytes"] >= 0
        assert {"median", "q25", "q75", "pairs"} <= set(e["ratio_vs_jax"])
    assert add["floor_ok"] in (True, False)
    assert set(add["mathdl_vs"]) == {"jax", "torch"}


def test_markdown_table(result):
    """Reference: the layout described in benchmarks/README.md; the ratio convention is in the header."""
    md = _report.to_markdown(result)
    assert _report.RATIO_HEADER in md
    assert "t_jax / t_impl" in _report.RATIO_HEADER and "> 1 = faster" in _report.RATIO_HEADER
    cases_section = md.split("## Cases")[1].split("## Headlines")[0]
    rows = [line for line in cases_section.splitlines() if line.startswith("| synthetic/add |")]
    assert [r.split("|")[2].strip() for r in rows] == ["jax", "mathdl", "torch"]
    assert "1 (reference)" in rows[0]
    assert all(r.split("|")[6].strip() in ("n/a (CPU)",) or "RSS growth" in r for r in rows)
    assert "| synthetic/skipped | (skipped) |" in md
    assert "## Device limits" in md and "peak = best round" in md
    assert "matmul peak float32" in md and "dispatch latency" in md
    assert "## Headlines: mathdl against each peer" in md
    assert "- synthetic/skipped: only on a GPU" in md


def test_markdown_from_reloaded_json(result, tmp_path):
    """Edge: the markdown renders from the JSON file too (nulls where NaN was) without crashing."""
    data = json.loads(_report.write_results(result, tmp_path)["json"].read_text())
    data["cases"][0]["impls"]["torch"]["ratio_vs_jax"]["median"] = None
    data["wall_s"] = None
    md = _report.to_markdown(data)
    assert "total wall time: n/a s" in md and "**n/a**" in md


@pytest.mark.parametrize(
    "mem,cell",
    [
        ({"bytes": None, "kind": "n/a"}, "n/a"),
        ({"bytes": 0, "kind": "host max-RSS growth (no device allocator report)"}, "n/a (CPU)"),
        ({"bytes": 3 * 2**20, "kind": "host max-RSS growth (no device allocator report)"}, "3 MiB (RSS growth)"),
        ({"bytes": 5 * 2**30, "kind": "device peak_bytes_in_use (process-wide)"}, "5 GiB"),
        ({}, "n/a"),
    ],
)
def test_memory_cell(mem, cell):
    """Worked values: CPU RSS growth is labelled and hidden below 1 MiB; a device peak is shown as is."""
    assert _report._memory_cell(mem) == cell


def test_png_is_written(result, tmp_path):
    """Reference: PNG signature bytes; the plot exists when there are ratios to draw."""
    path = _report.write_plot(result, tmp_path / "r.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_png_skipped_without_ratios(tmp_path):
    """Edge: with no ratio to plot nothing is written and None is returned."""
    empty = {"cases": [], "environment": {"device": {"platform": "cpu", "kind": "cpu"}}}
    assert _report.write_plot(empty, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_a_failed_save_keeps_the_previous_one(result, tmp_path, monkeypatch):
    """Edge: the disk fills up while a save is written: the previous bench.json stays whole (each file is
    written beside the target and renamed over it), and no partial file is left."""
    _report.write_results(result, tmp_path, plot=False)
    before = (tmp_path / "bench.json").read_text()
    real = _report.Path.write_text

    def half_then_full(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report.Path, "write_text", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        _report.write_results({**result, "wall_s": 1.0}, tmp_path, plot=False)
    monkeypatch.undo()
    assert (tmp_path / "bench.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.md"]
