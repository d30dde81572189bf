"""The Chapter 4 tour demos run, stay inside their expected ranges and save their plots."""

import pytest

import mathdl.tour._ch4  # noqa: F401  (registers the demos)
from mathdl.tour import demos


@pytest.mark.slow
@pytest.mark.parametrize("demo", [d for d in demos() if d.fn.__module__ == "mathdl.tour._ch4"], ids=lambda d: d.title)
def test_ch4_demo(demo, tmp_path):
    """Reference: the tour contract (every metric inside its honest range, a PNG saved)."""
    metrics = demo.fn(tmp_path)
    assert set(metrics) == set(demo.expected)
    for name, (lo, hi) in demo.expected.items():
        assert lo <= float(metrics[name]) <= hi, (name, metrics[name])
    assert list(tmp_path.glob("ch4_*.png"))
