"""build the documentation site (Sphinx, offline) and print where to open it.

``mathdl docs [--out DIR] [--strict] [--clean]`` runs ``sphinx-build`` on the repository's
``docs/`` folder (a source checkout is needed: the site renders the notebooks and benchmark results
of the repository). Notebooks come from the executed copies the notebook tests keep
(``docs/tools/nbstore.py``); one without an up-to-date copy is executed during the build.
"""

import subprocess
import sys
from pathlib import Path

__all__ = []


def configure(parser) -> None:
    """Add the ``mathdl docs`` arguments to ``parser``."""
    parser.add_argument("--out", default=None, help="output folder (default: docs/_build/html)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors (-W), as CI does")
    parser.add_argument("--clean", action="store_true", help="rebuild every page (sphinx-build -E)")


def _docs_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2] / "docs"
    return here if (here / "conf.py").exists() else None


def run(args) -> int:
    """Build the site; return sphinx-build's exit code (2 when no docs folder or Sphinx is found)."""
    docs = _docs_dir()
    if docs is None:
        print(
            "mathdl docs: no docs/conf.py next to this mathdl (install from a source checkout: pip install -e .)",
            file=sys.stderr,
        )
        return 2
    try:
        import myst_nb  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError as exc:
        print(f"mathdl docs: {exc.name} is missing; install the docs extra: pip install -e '.[docs]'", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else docs / "_build" / "html"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        str(docs),
        str(out),
        "-d",
        str(docs / "_build" / "doctrees"),
    ]
    if args.strict:
        cmd += ["-W", "--keep-going"]
    if args.clean:
        cmd.append("-E")
    rc = subprocess.call(cmd)
    if rc == 0:
        print(f"mathdl docs: built; open {(out / 'index.html').resolve().as_uri()}")
    return rc
