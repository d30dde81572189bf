"""The Sphinx extension behind mathdl's site: pages generated from the package, never typed by hand.

At ``config-inited`` it writes, under ``docs/generated/`` (ignored by git):

- ``api/<package>.rst``: one page per public package, an ``autofunction``/``autoclass``/``autodata``
  for every name in the package's ``__all__`` (what exists at build time, nothing listed here);
- ``notebooks/<name>.ipynb``: every ``notebooks/*.ipynb``, taken from the executed copies that the
  notebook tests keep (``docs/tools/nbstore.py``) when their code matches the source, otherwise the
  bare source, which myst-nb then executes (or, with ``MATHDL_DOCS_REQUIRE_EXECUTED=1`` as in CI,
  the build fails: CI executes each notebook once);
- ``equations.md``: book section -> function -> notebook cells, parsed from the ``[MEDL] Ch. N, Sec.
  N.x`` references in the docstrings and from the notebook cells that call each function;
- ``chapters.md``: the chapter map, from the same references;
- ``benchmarks/``: ``benchmarks/README.md`` and every results file of ``benchmarks/results/``, one
  section per device.

It also turns the docstrings' ``$...$`` and ``$$...$$`` maths into ``:math:`` roles and ``.. math::``
blocks, warns (an error under ``-W``) about a public symbol without a docstring, gives every notebook
code cell an anchor and a label (``nb-<notebook>-<cell>``) that the index links to, and copies a
local MathJax into the built site so that maths renders offline.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import os
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GEN = DOCS / "generated"
sys.path.insert(0, str(DOCS / "tools"))

from nbstore import code_hash, store_dir  # noqa: E402

CHAPTERS = {
    "1": "Introduction",
    "2": "Principles of Machine Learning",
    "3": "Simple Neural Networks",
    "4": "Optimization Algorithms",
    "5": "Feedforward Deep Networks",
    "6": "Convolutional Neural Networks",
    "7": "Sequence Models",
    "8": "Specialized Architectures and Paradigms",
    "A": "Some Multivariable Calculus",
    "B": "Cross Entropy and Other Expectations with Logarithms",
}
ORDER = list(CHAPTERS)


# --------------------------------------------------------------------------------------------
# writing files only when they change (so that an incremental build rereads only what changed)


def _write(path: Path, text: str, written: set[Path]) -> None:
    written.add(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _copy(src: Path, dst: Path, written: set[Path]) -> None:
    written.add(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


# --------------------------------------------------------------------------------------------
# the public API


def packages() -> list[str]:
    """Each public package, then its public subpackages (``rl.envs``), as names under ``mathdl``."""
    import pkgutil

    import mathdl

    out = []
    for name in (n for n in mathdl.__all__ if n != "__version__"):
        out.append(name)
        module = importlib.import_module(f"mathdl.{name}")
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if info.ispkg and not info.name.startswith("_"):
                out.append(f"{name}.{info.name}")
    return out


def public_objects():
    """Yield ``(package, name, object, kind)`` for every name of every package's ``__all__``."""
    for pkg in packages():
        module = importlib.import_module(f"mathdl.{pkg}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                kind = "class"
            elif callable(obj):
                kind = "function"
            else:
                kind = "data"
            yield pkg, name, obj, kind


def _is_namedtuple(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, tuple) and hasattr(obj, "_fields")


def own_docstring(obj, kind) -> str:
    """The object's own docstring ('' when it has none or only the one Python generates)."""
    if kind == "data":
        return ""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    doc = inspect.cleandoc(doc or "")
    if _is_namedtuple(obj) and doc.startswith(f"{obj.__name__}("):
        return ""  # collections.namedtuple's generated "Name(a, b)"
    return doc


def data_comment(pkg: str, name: str) -> list[str]:
    """A constant's ``#:`` comment (or string after it) in the private module that exports it; [] if none."""
    from sphinx.pycode import ModuleAnalyzer

    package = importlib.import_module(f"mathdl.{pkg}")
    candidates = [m for m in list(sys.modules) if m.startswith(f"mathdl.{pkg}.")] + [package.__name__]
    for modname in candidates:
        module = sys.modules.get(modname)
        if module is None or name not in getattr(module, "__all__", ()) or modname == f"mathdl.{pkg}.{name}":
            continue
        if modname != package.__name__ and modname.count(".") != package.__name__.count(".") + 1:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 - no source to read
            continue
        lines = [line for line in docs.get(("", name), []) if line.strip()]
        if lines:
            return lines
    return []


def write_api(written: set[Path]) -> list[str]:
    """One page per package; returns the names of public symbols that have no documentation."""
    by_pkg = defaultdict(list)
    undocumented = []
    for pkg, name, obj, kind in public_objects():
        by_pkg[pkg].append((name, obj, kind))
        if kind == "data":
            if not data_comment(pkg, name):
                undocumented.append(f"mathdl.{pkg}.{name}")
        elif not own_docstring(obj, kind):
            undocumented.append(f"mathdl.{pkg}.{name}")
    index = ["# API reference", "", "Every public name of every package, generated from the docstrings.", ""]
    index += ["```{toctree}", ":maxdepth: 1", ""] + [f"{pkg}" for pkg in packages()] + ["```", ""]
    _write(GEN / "api" / "index.md", "\n".join(index), written)
    for pkg in packages():
        title = f"mathdl.{pkg}"
        lines = [title, "=" * len(title), "", f".. automodule:: mathdl.{pkg}", "   :no-members:", ""]
        lines += [f".. currentmodule:: mathdl.{pkg}", ""]
        items = sorted(by_pkg[pkg], key=lambda t: t[0].lower())
        if not items:
            lines += ["This package exports nothing yet.", ""]
        else:
            summary = [f"   {n}" for n, _, k in items if k != "data"]  # a constant's summary is its own section
            if summary:
                lines += [".. autosummary::", "   :nosignatures:", ""] + summary + [""]
        for heading, kind in (("Functions", "function"), ("Classes", "class"), ("Constants", "data")):
            group = [(n, o) for n, o, k in items if k == kind]
            if not group:
                continue
            lines += [heading, "-" * len(heading), ""]
            for name, obj in group:
                if kind == "function":
                    lines += [f".. autofunction:: {name}", ""]
                elif kind == "class":
                    lines += [f".. autoclass:: {name}", "   :members:", ""]
                else:  # written here: autodoc would look for the comment in the package, not the module
                    lines += [f".. py:data:: {name}", f"   :type: {type(obj).__name__}", ""]
                    comment = dollar_math("\n".join(data_comment(pkg, name))).split("\n")
                    lines += [f"   {line}" for line in comment] + [""]
                    value = repr(obj)
                    if len(value) <= 200 and "\n" not in value and "<" not in value:
                        lines += [f"   Value: ``{value}``", ""]
        _write(GEN / "api" / f"{pkg}.rst", "\n".join(lines), written)
    return undocumented


# --------------------------------------------------------------------------------------------
# [MEDL] references

_SOURCE_START = re.compile(r"\s*(Ch|Chs|Sec|Secs|App|eq|eqs|Eq|Eqs|Fig|Figs|and|\()\b")
_SEC = re.compile(r"Secs?\.\s*([0-9AB]+\.[0-9]+(?:\.[0-9]+)?)(?:\s*(?:-|–|and)\s*([0-9AB]+\.[0-9]+(?:\.[0-9]+)?))?")
_CH = re.compile(r"\b(?:Ch|App)\.\s*([0-9]+|[AB])\b")
_EQ = re.compile(
    r"(?:eqs?\.\s*)?\(([0-9AB]+\.[0-9]+)\)(?:\s*[-–]\s*\(([0-9AB]+\.[0-9]+)\))?|eqs?\.\s*([0-9AB]+\.[0-9]+)"
)


_ABBREVIATIONS = {
    "Ch",
    "Chs",
    "Sec",
    "Secs",
    "App",
    "Eq",
    "Eqs",
    "eq",
    "eqs",
    "Fig",
    "Figs",
    "al",
    "cf",
    "e",
    "i",
    "A",
    "B",
}


def _medl_clauses(doc: str):
    """The text of each [MEDL] citation in a docstring, up to where another source begins."""
    flat = " ".join(doc.split())
    for m in re.finditer(r"\[MEDL\]", flat):
        rest = flat[m.end() :]
        parts = rest.split(";")
        clause = [parts[0]]
        for more in parts[1:]:
            if _SOURCE_START.match(more) and not re.match(r"\s*\(\d{4}\)", more):
                clause.append(more)
            else:
                break
        text = ";".join(clause)
        # a sentence that starts with a word other than the book's own labels ends the citation
        for cut in re.finditer(r"(\w*)\.\s+([A-Z]\w*)", text):
            if cut.group(1) in _ABBREVIATIONS or cut.group(2) in _ABBREVIATIONS:
                continue
            text = text[: cut.start(0) + len(cut.group(1)) + 1]
            break
        yield text


def medl_refs(doc: str):
    """``{(chapter, section)}: [equations]`` cited in a docstring; section '' for a chapter-only citation."""
    refs: dict[tuple[str, str], list[str]] = {}
    for text in _medl_clauses(doc):
        eqs = []
        for m in _EQ.finditer(text):
            first, last, bare = m.groups()
            eqs.append(f"({first})–({last})" if last else f"({first or bare})")
        sections = []
        for m in _SEC.finditer(text):
            sections.append(m.group(1))
            if m.group(2) and m.group(2) != m.group(1):
                sections.append(m.group(2))
        chapters = [c for c in _CH.findall(text)]
        for sec in sections:
            refs.setdefault((sec.split(".")[0], sec), [])
        for ch in chapters:  # a chapter cited without one of its sections
            if not any(sec.split(".")[0] == ch for sec in sections):
                refs.setdefault((ch, ""), [])
        if not sections and not chapters:
            for eq in eqs:
                refs.setdefault((eq.strip("()").split(".")[0], ""), [])
        # equations go to the section of their own chapter (or the first one cited)
        for eq in eqs:
            ch = eq.strip("()").split(".")[0]
            keys = [k for k in refs if k[0] == ch] or list(refs)
            if keys and eq not in refs[keys[0]]:
                refs[keys[0]].append(eq)
    return {k: v for k, v in refs.items() if k[0] in CHAPTERS}


def _section_key(sec: str):
    return tuple(int(p) if p.isdigit() else ORDER.index(p) for p in sec.split("."))


# --------------------------------------------------------------------------------------------
# notebooks


def notebook_sources() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def _cell_source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def notebook_uses(nb) -> dict[str, list[int]]:
    """``{"layers.dense": [cell indices]}``: which public functions each code cell calls or names."""
    public = {pkg: set(getattr(importlib.import_module(f"mathdl.{pkg}"), "__all__", [])) for pkg in packages()}
    aliases: dict[str, str] = {}  # local name -> "pkg" or "pkg.name"
    uses: dict[str, list[int]] = defaultdict(list)
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line for line in _cell_source(cell).splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] != "mathdl":
                    continue
                base = ".".join(parts[1:])
                for a in node.names:
                    sub = f"{base}.{a.name}" if base else a.name
                    if sub in public:
                        aliases[a.asname or a.name] = sub
                    elif base in public and a.name in public[base]:
                        aliases[a.asname or a.name] = f"{base}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    parts = a.name.split(".")
                    if parts[0] == "mathdl":
                        if a.asname and ".".join(parts[1:]) in public:
                            aliases[a.asname] = ".".join(parts[1:])
                        else:
                            aliases[a.asname or "mathdl"] = "mathdl"
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain = []
                cur = node
                while isinstance(cur, ast.Attribute):
                    chain.append(cur.attr)
                    cur = cur.value
                if not isinstance(cur, ast.Name) or cur.id not in aliases:
                    continue
                chain = [aliases[cur.id]] + chain[::-1]
                path = ".".join(chain).split(".")
                if path[0] == "mathdl":
                    path = path[1:]
                for k in (2, 1):  # the longest package prefix: rl.envs.cartpole before rl.envs
                    pkg = ".".join(path[:k])
                    if len(path) > k and pkg in public and path[k] in public[pkg]:
                        found.add(f"{pkg}.{path[k]}")
                        break
            elif isinstance(node, ast.Name) and "." in aliases.get(node.id, ""):
                found.add(aliases[node.id])
        for name in found:
            uses[name].append(index)
    return uses


def _notebook_title(nb, fallback: str) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in _cell_source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _notebook_chapter(stem: str) -> str | None:
    m = re.match(r"ch0*(\d+)_", stem) or re.match(r"appendix_([a-z])_", stem)
    return m.group(1).upper() if m else None


def write_notebooks(written: set[Path]) -> tuple[dict, dict]:
    """Copy the notebooks into the site; returns ``({stem: title}, {stem: uses})``."""
    require = os.environ.get("MATHDL_DOCS_REQUIRE_EXECUTED") == "1"
    skip = os.environ.get("MATHDL_DOCS_NO_EXECUTE") == "1"  # render sources without outputs (a quick draft)
    store = store_dir(ROOT)
    titles, uses, missing = {}, {}, []
    for src in notebook_sources():
        import nbformat

        nb = nbformat.read(str(src), nbformat.NO_CONVERT)
        key = code_hash(nb)
        executed = store / src.name
        chosen = None
        if executed.exists():
            enb = nbformat.read(str(executed), nbformat.NO_CONVERT)
            if enb.metadata.get("mathdl_docs", {}).get("source_hash") == key:
                chosen = enb
        if chosen is None:
            missing.append(src.name)
            chosen = nb
            chosen.metadata["mystnb"] = {"execution_mode": "off" if skip else "cache"}
        else:
            chosen.metadata["mystnb"] = {"execution_mode": "off"}
        titles[src.stem] = _notebook_title(nb, src.stem)
        uses[src.stem] = notebook_uses(nb)
        _write(GEN / "notebooks" / src.name, nbformat.writes(chosen) + "\n", written)
    if missing:
        msg = "no executed copy (from the notebook tests, docs/tools/nbstore.py) matches the source of " + ", ".join(
            missing
        )
        if require and not skip:
            raise RuntimeError(msg + "; MATHDL_DOCS_REQUIRE_EXECUTED=1 forbids executing them here")
        logger.info(f"mathdl_docs: {msg}; myst-nb executes them")
    lines = ["# Notebooks", "", "One per chapter of the book, rendered with its outputs and plots. Each runs"]
    lines += ["offline in about a minute on 2 CPU cores (`pytest --nbmake notebooks`).", ""]
    lines += ["```{toctree}", ":maxdepth: 1", ""] + [p.stem for p in notebook_sources()] + ["```", ""]
    _write(GEN / "notebooks" / "index.md", "\n".join(lines), written)
    return titles, uses


# --------------------------------------------------------------------------------------------
# the equation index and the chapter map


def _chapter_name(ch: str) -> str:
    return f"Appendix {ch}" if ch.isalpha() else f"Chapter {ch}"


def _short(stem: str) -> str:
    """``ch02_principles_of_ml`` -> ``ch02_principles``: short, and distinct for two notebooks of one chapter."""
    return "_".join(stem.split("_")[:2])


def write_index(written: set[Path], titles: dict, uses: dict) -> None:
    table: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    per_chapter_pkgs: dict[str, set] = defaultdict(set)
    for pkg, name, obj, kind in public_objects():
        doc = own_docstring(obj, kind)
        if not doc:
            continue
        for (ch, sec), eqs in medl_refs(doc).items():
            table[ch][sec].append((pkg, name, eqs))
            per_chapter_pkgs[ch].add(pkg)
    cells_of = defaultdict(list)  # "pkg.name" -> [(stem, index)]
    for stem, u in uses.items():
        for qual, idx in u.items():
            cells_of[qual] += [(stem, i) for i in idx]

    out = ["(equation-index)=", "# Which function for which equation", ""]
    out += [
        "Book section → mathdl function → the notebook cells that call it (`notebook [cell number]`).",
        "This page is generated at",
        "every build from the `[MEDL] Ch. N, Sec. N.x` references in the docstrings and from the notebook",
        "cells, so it lists exactly what the code cites. Equation numbers are the ones the docstring gives.",
        "",
    ]
    for ch in sorted(table, key=ORDER.index):
        out += [f"## {_chapter_name(ch)}: {CHAPTERS[ch]}", ""]
        out += ["| section | function | equations | notebook cells |", "|---|---|---|---|"]
        for sec in sorted(table[ch], key=lambda s: (s != "", _section_key(s) if s else ())):
            for pkg, name, eqs in sorted(table[ch][sec], key=lambda t: (t[0], t[1])):
                cells = cells_of.get(f"{pkg}.{name}", [])
                shown = ", ".join(f"{{ref}}`{_short(stem)} [{i + 1}] <nb-{stem}-{i}>`" for stem, i in cells[:4])
                if len(cells) > 4:
                    shown += f" (+{len(cells) - 4})"
                label = sec or "(chapter)"
                out.append(f"| {label} | {{py:obj}}`mathdl.{pkg}.{name}` | {', '.join(eqs)} | {shown} |")
        out.append("")
    _write(GEN / "equations.md", "\n".join(out), written)

    nb_of = defaultdict(list)
    for stem in titles:
        ch = _notebook_chapter(stem)
        if ch:
            nb_of[ch].append(stem)
    out = ["# The chapter map", ""]
    out += [
        "Each chapter of *The Mathematical Engineering of Deep Learning* with the packages whose functions",
        "cite it, how many functions do, and its notebook. Generated from the docstrings at every build;",
        "the function by function view is {ref}`equation-index`.",
        "",
        "| chapter | title | packages | functions | notebook |",
        "|---|---|---|---|---|",
    ]
    for ch in ORDER:
        count = sum(len(v) for v in table.get(ch, {}).values())
        pk = ", ".join(f"{{doc}}`mathdl.{p} <api/{p}>`" for p in sorted(per_chapter_pkgs.get(ch, ())))
        nbs = ", ".join(f"{{doc}}`{titles[s]} <notebooks/{s}>`" for s in nb_of.get(ch, []))
        out.append(f"| {_chapter_name(ch)} | {CHAPTERS[ch]} | {pk or '—'} | {count or '—'} | {nbs or '—'} |")
    out.append("")
    _write(GEN / "chapters.md", "\n".join(out), written)


# --------------------------------------------------------------------------------------------
# benchmark results

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def _fix_links(text: str, src: Path, site_files: set[Path]) -> str:
    """Keep links that stay inside the site; turn the others into text naming the file."""

    def sub(m):
        bang, label, target = m.groups()
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return m.group(0)
        path = (src.parent / target.split("#")[0]).resolve()
        if path in site_files or (bang and path.exists()):
            return m.group(0)
        rel = os.path.relpath(path, ROOT)
        return f"{label} (`{rel}`)" if label.strip("`") != rel else f"`{rel}`"

    return _LINK.sub(sub, text)


def write_benchmarks(written: set[Path]) -> None:
    bench = ROOT / "benchmarks"
    results = bench / "results"
    md_files = [bench / "README.md"] if (bench / "README.md").exists() else []
    md_files += sorted(results.rglob("*.md")) if results.exists() else []
    site = {p.resolve() for p in md_files}
    for src in md_files:
        rel = src.relative_to(bench)
        text = _fix_links(src.read_text(encoding="utf-8"), src, site)
        if not text.lstrip().startswith("# "):
            text = f"# {rel.with_suffix('').as_posix()}\n\n" + text
        _write(GEN / "benchmarks" / rel, text, written)
    for img in sorted(results.rglob("*")) if results.exists() else []:
        if img.suffix.lower() in {".png", ".svg", ".jpg"}:
            _copy(img, GEN / "benchmarks" / img.relative_to(bench), written)
    out = ["# Benchmark results", "", "The tables and plots of `benchmarks/results/`, per device, as committed."]
    out += ["How the harness measures and how to read a ratio: {doc}`/benchmarks`.", ""]
    out += ["```{toctree}", ":maxdepth: 2", ""]
    if (bench / "README.md").exists():
        out.append("README")
    if (results / "README.md").exists():
        out.append("results/README")
    out += ["```", ""]
    devices = sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    for dev in devices:
        pages = sorted(dev.rglob("*.md"))
        texts = " ".join(p.read_text(encoding="utf-8") for p in pages)
        embedded = " ".join(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", texts))
        images = [p for p in sorted(dev.rglob("*.png")) if p.name not in embedded]  # plots no table page shows
        if not pages and not images:
            continue
        dev_lines = [f"# {dev.name}", "", f"Results measured on `{dev.name}`.", ""]
        dev_lines += ["```{toctree}", ":maxdepth: 1", ""]
        dev_lines += [p.relative_to(dev).with_suffix("").as_posix() for p in pages] + ["```", ""]
        if images:
            dev_lines += ["## Plots", ""]
        for img in images:
            rel = img.relative_to(dev).as_posix()
            dev_lines += [f"### {rel}", "", f"![{rel}]({rel})", ""]
        _write(GEN / "benchmarks" / "results" / dev.name / "index.md", "\n".join(dev_lines), written)
        out.insert(-2, f"results/{dev.name}/index")
    _write(GEN / "benchmarks" / "index.md", "\n".join(out), written)


# --------------------------------------------------------------------------------------------
# the Sphinx hooks


def generate(app, config) -> None:
    written: set[Path] = set()
    undocumented = write_api(written)
    titles, uses = write_notebooks(written)
    write_index(written, titles, uses)
    write_benchmarks(written)
    for path in sorted(GEN.rglob("*"), reverse=True):  # remove pages of things that went away
        if path.is_file() and path not in written:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    app.mathdl_undocumented = undocumented


def report_undocumented(app) -> None:
    allowed = app.config.mathdl_undocumented_ok
    for qual in getattr(app, "mathdl_undocumented", []):
        if qual in allowed:
            logger.info(f"mathdl_docs: {qual} has no documentation; allowed in conf.py: {allowed[qual]}")
            continue
        logger.warning(
            f"public symbol {qual} has no documentation (a docstring; for a constant a `#:` comment)",
            type="mathdl",
            subtype="undocumented",
        )


_LITERAL = re.compile(r"(``.+?``|:math:`[^`]*`|`[^`]*`_?)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$[ \t]*", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$]+?)(?<![\s\\])\$(?!\$)")


def _inline(m, text):
    body = " ".join(m.group(1).split())
    before = text[m.start() - 1] if m.start() > 0 else " "
    after = text[m.end()] if m.end() < len(text) else " "
    pre = "\\ " if before.isalnum() or before in "_)]}" else ""
    post = "\\ " if after.isalnum() or after in "_([{" else ""
    return f"{pre}:math:`{body}`{post}"


def dollar_math(text: str) -> str:
    """Rewrite ``$a$`` as ``:math:`a``` and ``$$a$$`` as a ``.. math::`` block (literals untouched)."""
    pieces = _LITERAL.split(text)
    for i in range(0, len(pieces), 2):
        piece = pieces[i]

        def display(m, piece=piece):
            line_start = piece.rfind("\n", 0, m.start()) + 1
            indent = re.match(r"[ \t]*", piece[line_start:]).group(0)
            body = " ".join(m.group(1).split())
            return f"\n\n{indent}.. math::\n\n{indent}   {body}\n\n{indent}"

        piece = _DISPLAY.sub(display, piece)
        piece = _INLINE.sub(lambda m, p=piece: _inline(m, p), piece)
        pieces[i] = piece
    return "".join(pieces)


def process_docstring(app, what, name, obj, options, lines) -> None:
    if not name.startswith("mathdl"):
        return
    text = dollar_math("\n".join(lines))
    lines[:] = text.split("\n")


def skip_member(app, what, name, obj, skip, options):
    # NamedTuple fields are documented by the class's "Attributes:" section
    if what == "class" and isinstance(obj, property) is False and type(obj).__name__ == "_tuplegetter":
        return True
    return None


def anchor_cells(app, doctree) -> None:
    """An id and a label ``nb-<notebook>-<cell index>`` on each code cell of a notebook page."""
    docname = app.env.docname
    if not docname.startswith("generated/notebooks/"):
        return
    stem = docname.rsplit("/", 1)[-1]
    std = app.env.domains.standard_domain
    title = next(iter(doctree.findall(nodes.title)), None)
    for node in doctree.findall(nodes.container):
        if node.get("nb_element") != "cell_code":
            continue
        label = f"nb-{stem}-{node['cell_index']}"
        node["ids"].append(label)
        text = f"{title.astext() if title else stem}, cell {node['cell_index'] + 1}"
        std.anonlabels[label] = (docname, label)
        std.labels[label] = (docname, label, text)


def public_alias(app, env, node, contnode):
    """Resolve ``mathdl.pkg._module.Name`` (an annotation) to the public ``mathdl.pkg.Name`` it is exported as."""
    target = node.get("reftarget", "")
    m = re.fullmatch(r"(mathdl(?:\.[a-z]\w*)+)(?:\._\w+)+\.(\w+)", target)
    if node.get("refdomain") != "py" or not m:
        return None
    public = f"{m.group(1)}.{m.group(2)}"
    py = env.domains.python_domain
    node["reftarget"] = public
    try:
        found = py.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], public, node, contnode)
    finally:
        node["reftarget"] = target
    # a private class in a public signature (an annotation, not a reference someone wrote): plain text
    return found if found is not None else contnode


def link_generated_copies(app, docname, source) -> None:
    """In a tracked page, a link to a repository file the site copies (benchmarks/...) goes to the copy."""
    if docname.startswith("generated/"):
        return
    page = DOCS / docname

    def sub(m):
        bang, label, target = m.groups()
        if bang or re.match(r"[a-z]+:", target) or target.startswith("#"):
            return m.group(0)
        path = (page.parent / target.split("#")[0]).resolve()
        try:
            rel = path.relative_to(ROOT / "benchmarks")
        except ValueError:
            return m.group(0)
        copy = GEN / "benchmarks" / rel
        if copy.is_dir() and (copy / "index.md").exists():
            copy = copy / "index.md"
        elif path.is_dir() and rel == Path("results"):
            copy = GEN / "benchmarks" / "index.md"
        if not copy.is_file():
            return m.group(0)
        return f"[{label}]({os.path.relpath(copy, page.parent)})"

    source[0] = _LINK.sub(sub, source[0])


def copy_mathjax(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    source = app.config.mathdl_mathjax_dir
    if not source:
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    digest = hashlib.sha256(str(source).encode()).hexdigest()
    stamp = target / ".source"
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(target, ignore_errors=True)
    src = Path(source)
    for rel in MATHJAX2_FILES:
        path = src / rel
        if path.is_dir():
            shutil.copytree(path, target / rel, dirs_exist_ok=True)
        elif path.exists():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / rel)
    stamp.write_text(digest)


# the parts of MathJax 2 that TeX input with CommonHTML output loads (about 2 MB of 54)
MATHJAX2_FILES = [
    "MathJax.js",
    "config/TeX-AMS_CHTML.js",
    "config/local",
    "extensions",
    "jax/input/TeX",
    "jax/output/CommonHTML",
    "jax/output/PreviewHTML",
    "jax/element",
    "localization/en",
    "fonts/HTML-CSS/TeX/woff",
    "fonts/HTML-CSS/TeX/otf",
]


def find_mathjax() -> str | None:
    """A local MathJax 2 folder: ``$MATHDL_MATHJAX``, else Debian's libjs-mathjax."""
    for candidate in (os.environ.get("MATHDL_MATHJAX"), "/usr/share/javascript/mathjax", "/usr/share/mathjax"):
        if candidate and (Path(candidate) / "MathJax.js").exists():
            return str(Path(candidate).resolve())
    return None


def setup(app):
    app.add_config_value("mathdl_mathjax_dir", None, "html")
    app.add_config_value("mathdl_undocumented_ok", {}, "env")
    app.connect("config-inited", generate)
    app.connect("builder-inited", report_undocumented)
    app.connect("autodoc-process-docstring", process_docstring, priority=600)
    app.connect("missing-reference", public_alias)
    app.connect("source-read", link_generated_copies)
    app.connect("autodoc-skip-member", skip_member)
    app.connect("doctree-read", anchor_cells)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
