"""``mathdl bench`` as a user runs it: argument errors exit 2 listing the choices; a run writes files."""

import json
import math

import pytest

from mathdl.bench import _report, _runner
from mathdl.cli import main

# A run that reaches the timing: one tiny case, no device probes, one round.
TINY = ["bench", "--suite", "kernels", "--case", "dispatch", "--quick", "--no-limits", "--repeats", "1"]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--suite", "no_such_suite"], "unknown suite no_such_suite; available suites: "),
        (["--suite", "kernels,nope"], "unknown suite nope; available suites: "),
        (["--device", "quantum"], "unknown or unavailable device 'quantum'; available here: cpu"),
        (["--device", "tpu"], "unknown or unavailable device 'tpu'; available here: cpu"),
        (["--compare", "tensorflow"], "unknown comparison library in --compare 'tensorflow'; available: flax, torch"),
        (["--compare", "flax,jaxlib"], "available: flax, torch, optax, sklearn, scipy, loop, cudnn"),
        (["--case", "no_such_case"], "no case matches --case ['no_such_case']; available cases: "),
        (["--repeats", "0"], "argument `--repeats` expected an integer >= 1, got 0."),
        (["--case", "dispatch", "--exclude", "kernels/dispatch"], "--exclude ['kernels/dispatch'] leaves no case"),
    ],
)
def test_bad_arguments_exit_2_and_list_choices(argv, needle, capsys, tmp_path):
    """Reference: benchmarks/README.md (unknown suite, device or comparison library: the available ones are printed,
    exit 2)."""
    assert main(["bench", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err
    if "suite" in needle:
        assert "kernels" in err  # the listing names real suites
    assert not (tmp_path / "bench.json").exists()  # nothing was run


def test_list(capsys):
    """Reference: the registry; --list prints every suite with its cases and exits 0."""
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("kernels: ")]
    assert {"matmul_f32", "matmul_bf16", "dispatch_dense_tiny", "attention_cudnn"} <= set(line[9:].split(", "))


def test_run_writes_results_and_skips_missing_library(monkeypatch, tmp_path, capsys):
    """Edge: torch hidden from importlib: its columns are skipped with a note, the run still exits 0."""
    real = _runner.importlib.util.find_spec
    monkeypatch.setattr(
        _runner.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    argv = ["bench", "--suite", "kernels", "--case", "dispatch", "--quick", "--no-limits", "--repeats", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    (case,) = data["cases"]
    assert case["name"] == "dispatch_dense_tiny" and list(case["impls"]) == ["jax", "mathdl"]
    assert "torch is not installed: columns torch, torch_compile skipped (pip install torch)." in data["notes"]
    assert data["environment"]["command"].startswith("mathdl bench --suite kernels --case dispatch --quick")
    assert (tmp_path / "bench.md").read_text().startswith("# mathdl bench: cpu")
    assert (tmp_path / "bench.png").exists()
    assert "speed ratio t_jax / t_impl" in capsys.readouterr().out


def test_compare_limits_peer_columns(tmp_path):
    """Reference: benchmarks/README.md; --compare flax drops the torch column, mathdl and jax stay."""
    argv = ["bench", "--suite", "kernels", "--case", "dispatch", "--quick", "--no-limits", "--repeats", "1"]
    assert main([*argv, "--compare", "flax", "--out", str(tmp_path)]) == 0
    (case,) = json.loads((tmp_path / "bench.json").read_text())["cases"]
    assert list(case["impls"]) == ["jax", "mathdl"]
    assert "not in --compare: torch." in case["notes"]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def never_runs(monkeypatch):
    """``run_benchmarks`` replaced by a tripwire: a test using it shows the command stopped before timing."""
    calls = []
    monkeypatch.setattr(_runner, "run_benchmarks", lambda *a, **k: calls.append(a) or pytest.fail("the run started"))
    return calls


@pytest.mark.parametrize(
    "flag,value,needle",
    [
        ("--pause", "-1", "argument `--pause` expected a number of seconds >= 0, got -1.0."),
        ("--pause", "inf", "argument `--pause` expected a number of seconds >= 0, got inf."),
        ("--window", "-1", "argument `--window` expected a number of seconds > 0, got -1.0."),
        ("--window", "0", "argument `--window` expected a number of seconds > 0, got 0.0."),
        ("--window", "nan", "argument `--window` expected a number of seconds > 0, got nan."),
    ],
)
def test_bad_timing_settings_exit_2_before_running(flag, value, needle, never_runs, capsys, tmp_path):
    """Edge: a negative pause used to reach ``time.sleep`` (a traceback), a negative window was accepted and every
    column failed; both now stop with one line naming the argument, before anything runs."""
    assert main([*TINY, flag, value, "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == f"mathdl bench: {needle}"
    assert not (tmp_path / "out").exists() and not never_runs


def test_out_is_a_file_exit_2_and_file_kept(never_runs, capsys, tmp_path):
    """Edge: ``--out`` names a file: one line, exit 2, the file keeps its bytes (it used to be found only after the
    whole run, when saving raised)."""
    target = tmp_path / "results.txt"
    target.write_text("an earlier result\n")
    assert main([*TINY, "--out", str(target)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        f"mathdl bench: argument `--out` expected a folder to write bench.json/.md/.png in, got {str(target)!r}, "
        "which is a file (left untouched)."
    )
    assert target.read_text() == "an earlier result\n" and not never_runs


def test_out_inside_a_file_exit_2(never_runs, capsys, tmp_path):
    """Edge: a parent of ``--out`` is a file, so the folder can never be made."""
    parent = tmp_path / "notes.txt"
    parent.write_text("kept")
    assert main([*TINY, "--out", str(parent / "bench")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("mathdl bench: argument `--out` expected a folder") and "which is a file." in line
    assert parent.read_text() == "kept" and not never_runs


@pytest.mark.parametrize("inside", [False, True], ids=["the-folder", "a-new-subfolder"])
def test_out_unwritable_exit_2(inside, read_only_dir, never_runs, capsys):
    """Edge: ``--out`` (or the folder it would be made in) refuses writes: one line before anything runs, and
    nothing is created there."""
    out = read_only_dir / "mathdl-bench-out" if inside else read_only_dir
    before = sorted(p.name for p in read_only_dir.iterdir())
    assert main([*TINY, "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    expected = f"mathdl bench: argument `--out` expected a folder to write bench.json/.md/.png in, got {str(out)!r}"
    assert line.startswith(expected)
    assert "where nothing can be written (" in line and not never_runs
    assert sorted(p.name for p in read_only_dir.iterdir()) == before


def _fake_result(n_cases):
    return {"cases": [{"suite": "s", "name": f"c{i}"} for i in range(n_cases)], "wall_s": 0.5}


def test_interrupt_keeps_the_finished_cases(monkeypatch, capsys, tmp_path):
    """Edge: Ctrl-C during the third case: exit 130, one line, and the two finished cases stay saved."""

    def interrupted(cases, *, on_case, **kwargs):
        on_case(_fake_result(1))
        on_case(_fake_result(2))
        raise KeyboardInterrupt

    monkeypatch.setattr(_runner, "run_benchmarks", interrupted)
    monkeypatch.setattr(_report, "to_markdown", lambda result: "table\n")
    argv = ["bench", "--suite", "kernels", "--no-limits", "--out", str(tmp_path)]
    assert main(argv) == 130
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("mathdl bench: interrupted after 2 of ") and line.endswith(f"{tmp_path / 'bench.json'}.")
    assert [c["name"] for c in json.loads((tmp_path / "bench.json").read_text())["cases"]] == ["c0", "c1"]


def test_final_write_failure_prints_the_table_first(monkeypatch, capsys, tmp_path):
    """Edge: the disk fills up at the end: the table is printed (the only copy), then one line, exit 1."""
    monkeypatch.setattr(_runner, "run_benchmarks", lambda cases, **kwargs: _fake_result(1))
    monkeypatch.setattr(_report, "to_markdown", lambda result: "| the table |\n")

    def full(result, out_dir, *, plot=True):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_report, "write_results", full)
    assert main([*TINY, "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "| the table |" in captured.out
    line = _one_line(captured.err)
    assert line == f"mathdl bench: cannot write the results in {str(tmp_path)!r} (No space left on device)."


@pytest.mark.parametrize(
    "name,value", [("window_s", -1.0), ("window_s", 0.0), ("pause_s", -0.5), ("pause_s", math.nan)]
)
def test_run_benchmarks_refuses_bad_timing(name, value):
    """Edge: the library function states the same rules as the command, before any case runs."""
    with pytest.raises(ValueError, match=rf"bench.run_benchmarks: argument `{name}` expected seconds"):
        _runner.run_benchmarks([], measure_device=False, log=lambda m: None, **{name: value})
