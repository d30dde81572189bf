"""``mathdl bench`` as a user runs it: argument errors exit 2 listing the choices; a run writes files."""

import json

import pytest

from mathdl.bench import _runner
from mathdl.cli import main


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
        (["--repeats", "0"], "--repeats expected >= 1, got 0."),
        (["--case", "dispatch", "--exclude", "kernels/dispatch"], "--exclude ['kernels/dispatch'] leaves no case"),
    ],
)
def test_bad_arguments_exit_2_and_list_choices(argv, needle, capsys, tmp_path):
    """Reference: the issue (unknown suite, device or comparison library: print the available ones, exit non-zero)."""
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
    """Reference: the issue; --compare flax drops the torch column, mathdl and jax stay."""
    argv = ["bench", "--suite", "kernels", "--case", "dispatch", "--quick", "--no-limits", "--repeats", "1"]
    assert main([*argv, "--compare", "flax", "--out", str(tmp_path)]) == 0
    (case,) = json.loads((tmp_path / "bench.json").read_text())["cases"]
    assert list(case["impls"]) == ["jax", "mathdl"]
    assert "not in --compare: torch." in case["notes"]
