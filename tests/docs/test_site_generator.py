"""The documentation site's generator (docs/_ext/mathdl_docs.py): the parts that must not drift."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
DOCS = Path(__file__).resolve().parents[2] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import mathdl_docs as gen  # noqa: E402


def test_worked_references():
    """Worked value: the book's references as docstrings write them, parsed into (chapter, section): eqs."""
    assert gen.medl_refs("[MEDL] Ch. 5, Sec. 5.3, eqs. (5.12)-(5.14). Glorot & Bengio (2010).") == {
        ("5", "5.3"): ["(5.12)–(5.14)"]
    }
    assert gen.medl_refs("[MEDL] App. A, Sec. A.2 (gradient), eq. (A.15). Oracle in tests: (5.1)") == {
        ("A", "A.2"): ["(A.15)"]
    }
    assert gen.medl_refs("[MEDL] Ch. 5, Sec. 5.1 (layer shapes) and Sec. 5.5 (initialisation).") == {
        ("5", "5.1"): [],
        ("5", "5.5"): [],
    }
    assert gen.medl_refs("[MEDL] App. A, Sec. A.4; Ch. 4 (second-order methods). Pearlmutter (1994)") == {
        ("A", "A.4"): [],
        ("4", ""): [],
    }


def test_edge_other_sources_are_not_the_book():
    """Edge: a D2L or paper section after the book's reference is not taken for one of the book's."""
    assert gen.medl_refs("[MEDL] Ch. 6, Sec. 6.3 (Fig. 6.3); He et al. (2016); DNL Sec. 4.1.") == {("6", "6.3"): []}
    assert gen.medl_refs("D2L Sec. 4.1 only") == {}
    assert gen.medl_refs("[MEDL] Ch. 8.") == {("8", ""): []}


def test_worked_dollar_math():
    """Worked value: $..$ becomes a :math: role, $$..$$ a math block, literals stay literal."""
    assert gen.dollar_math("one layer $z = W u + b$, done") == "one layer :math:`z = W u + b`, done"
    assert gen.dollar_math("``x = $a$`` and $b$s") == "``x = $a$`` and :math:`b`\\ s"
    out = gen.dollar_math("  Update:\n\n  $$v = \\beta v\n    + g .$$\n  next")
    assert ".. math::" in out and "   v = \\beta v + g ." in out


def test_property_notebook_uses_follow_imports():
    """Property: a call is attributed through any import form, and only to public names."""
    nb = {
        "cells": [
            {"cell_type": "code", "source": "from mathdl import layers as L, models\nimport mathdl"},
            {"cell_type": "markdown", "source": "models.mlp is not code here"},
            {"cell_type": "code", "source": "%matplotlib inline\nz = L.dense(p, x)\nmathdl.info.entropy(q)"},
            {"cell_type": "code", "source": "from mathdl.losses import huber\nhuber(1.0)\nmodels.not_a_name"},
        ]
    }
    uses = gen.notebook_uses(nb)
    assert uses["layers.dense"] == [2]
    assert uses["info.entropy"] == [2]
    assert uses["losses.huber"] == [3]
    assert "models.mlp" not in uses and "models.not_a_name" not in uses


def test_edge_docs_command_is_discovered(capsys):
    """Edge: `mathdl docs` is found by the command discovery and documents its options."""
    from mathdl.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["docs", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--strict" in out and "--out" in out


def test_property_every_public_package_gets_a_page(tmp_path, monkeypatch):
    """Property: the API pages are exactly the packages (and public subpackages) that exist, each over its __all__."""
    monkeypatch.setattr(gen, "GEN", tmp_path)
    written = set()
    undocumented = gen.write_api(written)
    pages = {p.stem for p in (tmp_path / "api").glob("*.rst")}
    assert pages == set(gen.packages())
    assert {"layers", "rl.envs"} <= pages
    layers = (tmp_path / "api" / "layers.rst").read_text()
    assert ".. autofunction:: dense" in layers and ".. autoclass:: DenseParams" in layers
    assert all(q.startswith("mathdl.") for q in undocumented)
