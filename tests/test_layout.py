"""The layout rules of docs/architecture.md: layer order, no private imports across packages, names once."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "mathdl"

LAYER = {
    "checks": 0,
    "typing": 0,
    "_api": 0,
    "calculus": 0,
    "info": 0,
    "activations": 0,
    "losses": 0,
    "layers": 1,
    "models": 1,
    "estimators": 1,
    "optim": 1,
    "autodiff": 1,
    "generative": 1,
    "rl": 1,
    "train": 2,
    "data": 2,
    "metrics": 2,
    "nn": 3,
    "cli": 3,
    "tour": 3,
    "bench": 3,
}
# Within layer 1, `models` builds on `layers` and never the reverse.
FORBIDDEN_SAME_LAYER = {("layers", "models")}
# `data` sits in layer 2 but may be used by layer-1 fitting code, so it imports layer 0 only.
DATA_MAX_LAYER = 0


def _package_of(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mathdl"):
            parts = node.module.split(".")
            if len(parts) == 1:  # from mathdl import a, b
                for alias in node.names:
                    yield node.lineno, [alias.name]
            else:
                yield node.lineno, parts[1:] + [a.name for a in node.names if parts[-1].startswith("_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mathdl."):
                    yield node.lineno, alias.name.split(".")[1:]


FILES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def _violations():
    for path in FILES:
        pkg = _package_of(path)
        for lineno, parts in _imports(path):
            target = parts[0]
            if target == "__version__" or target not in LAYER:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{lineno}"
            if target != pkg and any(p.startswith("_") for p in parts[1:2]) and target != "_api":
                yield f"{where} imports the private module mathdl.{'.'.join(parts[:2])}"
            if target == pkg:
                continue
            if LAYER[target] > LAYER.get(pkg, 3) and target != "data":  # data is importable from layer 1
                yield f"{where}: {pkg} (layer {LAYER[pkg]}) imports {target} (layer {LAYER[target]})"
            if (pkg, target) in FORBIDDEN_SAME_LAYER:
                yield f"{where}: {pkg} must not import {target}"
            if pkg == "data" and LAYER[target] > DATA_MAX_LAYER:
                yield f"{where}: data imports {target}; data may import layer 0 only"


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYER), f"packages missing from the layer table: {sorted(packages - set(LAYER))}"


def test_import_rules():
    bad = list(_violations())
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("init", sorted(p for p in ROOT.glob("*/__init__.py")), ids=lambda p: p.parent.name)
def test_package_init_names_modules_not_names(init):
    """A package `__init__` writes no public name: it re-exports its modules' `__all__`."""
    if init.parent.name in {"cli", "tour", "bench"}:
        pytest.skip("surfaces define their entry points in __init__")
    tree = ast.parse(init.read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"mathdl.{init.parent.name}._"):
            pytest.fail(f"{init}: imports names from {node.module}; use reexport(__name__, ...)")


def test_no_references_outside_the_repository():
    """Docstrings cite the book, papers and docs/, never a design file that is not in the repository."""
    offenders = []
    for path in [*FILES, *sorted((ROOT.parent / "tests").rglob("*.py"))]:
        if path.name == "test_layout.py":
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if "DESIGN.md" in line or "STYLE.md" in line:
                offenders.append(f"{path.relative_to(ROOT.parent)}:{lineno}")
    assert not offenders, "cites a file outside the repository:\n" + "\n".join(offenders)
