"""Every registered tour demo, one test each: its metrics inside their expected ranges, as ``mathdl tour`` checks.

The demos are found through the registry (:func:`mathdl.tour.load_demos`), so a chapter's new demo
is tested with no edit here. Each runs under the configuration ``mathdl tour`` runs under (JAX's
defaults: float32, standard promotion), not the suite's float64 and strict promotion, since its
ranges are stated for what a user sees. Demos of one module share an xdist group: they share
compiled functions and loaded data, so ``-n 2 --dist loadgroup`` keeps them on one worker.
"""

import contextlib
import math

import jax
import pytest

from mathdl.tour import Demo, load_demos, outside_range

DEMOS = load_demos()


def _demo_param(demo):
    return pytest.param(
        demo, id=f"ch{demo.chapter}-{demo.fn.__name__}", marks=pytest.mark.xdist_group(demo.fn.__module__)
    )


@contextlib.contextmanager
def _as_the_command_runs():
    """JAX's default configuration, as in a fresh ``mathdl tour`` process."""
    with (
        jax.enable_x64(False),
        jax.numpy_dtype_promotion("standard"),
        jax.numpy_rank_promotion("allow"),
        jax.debug_key_reuse(False),
    ):
        yield


def test_every_chapter_with_demos_is_found():
    """Reference: the tour's contract; discovery finds the demo modules' registrations, every one with ranges."""
    assert {d.chapter for d in DEMOS} >= {"2", "3", "4", "5", "A", "B"}
    assert all(d.expected for d in DEMOS)
    ids = [f"ch{d.chapter}-{d.fn.__name__}" for d in DEMOS]
    assert len(set(ids)) == len(ids), "two demos share a test id"


@pytest.mark.parametrize("demo", [_demo_param(d) for d in DEMOS])
def test_demo_metrics_in_range(demo, tmp_path, monkeypatch):
    """Reference: ``mathdl tour`` (every stated metric returned and inside its inclusive range, by the check the
    command applies); the demo writes only into the folder it is given."""
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with _as_the_command_runs():
        metrics = demo.fn(out)
    assert outside_range(demo, metrics) == {}, f"{demo.title}: {metrics} against {demo.expected}"
    assert not list(cwd.iterdir()), "the demo wrote outside its out_dir"


def test_outside_range_flags_wrong_nan_and_missing():
    """Worked values: inclusive ends pass; a value past an end, NaN and a missing metric are each reported."""
    demo = Demo("2", "synthetic", lambda out: {}, {"a": (0.0, 1.0), "b": (2.0, 3.0), "c": (-1.0, 1.0), "d": (0, 0)})
    assert outside_range(demo, {"a": 0.0, "b": 3.0, "c": 1.0, "d": 0}) == {}
    bad = outside_range(demo, {"a": 1.0 + 1e-9, "b": math.nan, "d": 0.0})
    assert bad.keys() == {"a", "b", "c"}
    assert bad["a"] == 1.0 + 1e-9 and math.isnan(bad["b"]) and math.isnan(bad["c"])
