"""``mathdl tour`` as a user runs it: a folder that cannot take the plots is one line and exit 2, before any demo."""

import pytest

import mathdl.tour
from mathdl.cli import main


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def never_runs(monkeypatch):
    """``run_tour`` replaced by a tripwire: a test using it shows the command stopped before any demo."""
    calls = []
    monkeypatch.setattr(mathdl.tour, "run_tour", lambda *a, **k: calls.append(a) or pytest.fail("the tour started"))
    return calls


def test_read_only_current_folder_exit_2(read_only_dir, monkeypatch, never_runs, capsys):
    """Edge: the default ``--out`` (./mathdl-out) in a folder that refuses writes used to end in a PermissionError
    traceback; now one line names the folder and the fix, and nothing is created."""
    monkeypatch.chdir(read_only_dir)
    before = sorted(p.name for p in read_only_dir.iterdir())
    assert main(["tour", "--chapter", "2"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(
        "mathdl tour: argument `--out` expected a folder to save plots in, got 'mathdl-out', which would be created "
        f"in {str(read_only_dir)!r}, where nothing can be written ("
    )
    assert sorted(p.name for p in read_only_dir.iterdir()) == before and not never_runs


def test_out_is_a_file_exit_2_and_file_kept(tmp_path, never_runs, capsys):
    """Edge: ``--out`` names a file (it used to raise FileExistsError): one line, exit 2, the file unchanged."""
    target = tmp_path / "plots"
    target.write_bytes(b"\x89PNG an earlier plot")
    assert main(["tour", "--out", str(target)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        f"mathdl tour: argument `--out` expected a folder to save plots in, got {str(target)!r}, "
        "which is a file (left untouched)."
    )
    assert target.read_bytes() == b"\x89PNG an earlier plot" and not never_runs


def test_write_failure_during_the_tour_is_one_line(tmp_path, monkeypatch, capsys):
    """Edge: the folder fills up while the demos run: one line, exit 1 (a run-time failure, not a usage error)."""

    def full(out, *, chapters=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mathdl.tour, "run_tour", full)
    assert main(["tour", "--out", str(tmp_path)]) == 1
    assert (
        _one_line(capsys.readouterr().err)
        == f"mathdl tour: could not write in {str(tmp_path)!r}: No space left on device."
    )


def test_interrupt_is_one_line(tmp_path, monkeypatch, capsys):
    """Edge: Ctrl-C during a demo: exit 130 and one line, not a KeyboardInterrupt traceback."""

    def interrupted(out, *, chapters=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(mathdl.tour, "run_tour", interrupted)
    assert main(["tour", "--out", str(tmp_path)]) == 130
    assert _one_line(capsys.readouterr().err) == "mathdl tour: interrupted."


def test_unknown_chapter_exit_2(tmp_path, capsys):
    """Edge: a chapter with no demo is named with the known ones; no folder is made."""
    assert main(["tour", "--chapter", "9", "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("tour: argument `--chapter` expected some of [") and line.endswith("got ['9'].")
    assert not (tmp_path / "out").exists()
