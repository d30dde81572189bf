"""Smoke test: ``mathdl bench --quick`` over every registered suite, in its own process."""

import json
import os
import resource
import subprocess
import sys
import time

import pytest

QUICK_LIMIT_S = 180  # benchmarks/README.md: --quick finishes in under 3 minutes on 2 CPU cores


@pytest.mark.slow
def test_quick_bench_runs_every_suite(tmp_path):
    """Reference: the --quick contract: every registered case of every suite runs or is skipped with a reason,
    none errors, results are written, and the run fits in 3 minutes of CPU.

    The test uses ``--repeats 1 --no-limits`` (every case still builds, compiles and runs each column) to
    stay short; CI's bench-smoke job runs the full ``mathdl bench --quick``. The time check is on the
    child's CPU time (user + sys), not wall time: on a 2-core machine shared with other jobs the wall
    clock measures the neighbours (a quick run took 195 s of wall for 57 s of CPU here)."""
    from mathdl.bench import load_cases

    registered = {f"{c.suite}/{c.name}" for c in load_cases()}  # what the command will find
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "mathdl.cli", "bench", "--quick", "--repeats", "1", "--no-limits"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([*cmd, "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads((tmp_path / "bench.json").read_text())
    assert (tmp_path / "bench.md").exists() and (tmp_path / "bench.png").exists()
    errors = [f"{c['suite']}/{c['name']}: {c['notes']}" for c in data["cases"] if c["status"] == "error"]
    broken = [
        f"{c['suite']}/{c['name']}[{i}]: {e.get('error')}"
        for c in data["cases"]
        for i, e in c["impls"].items()
        if e.get("status") == "error"
    ]
    assert not errors and not broken, "\n".join(errors + broken)
    skipped_silently = [c["name"] for c in data["cases"] if c["status"] == "skipped" and not c["notes"]]
    assert not skipped_silently
    ran = {f"{c['suite']}/{c['name']}" for c in data["cases"]}
    assert ran == registered, f"registered but not run: {sorted(registered - ran)}; unknown: {sorted(ran - registered)}"
    slowest = sorted(data["cases"], key=lambda c: -c["wall_s"])[:3]
    detail = ", ".join(f"{c['suite']}/{c['name']} {c['wall_s']:.0f} s" for c in slowest)
    assert cpu < QUICK_LIMIT_S, f"mathdl bench --quick used {cpu:.0f} s of CPU ({wall:.0f} s wall); slowest: {detail}"
