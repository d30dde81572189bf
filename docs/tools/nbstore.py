"""A pytest plugin that keeps the notebooks nbmake executes, for the documentation site.

``pytest --nbmake -p nbstore notebooks`` (with ``docs/tools`` on ``PYTHONPATH``) runs each notebook
exactly as nbmake does and, when it passes, also writes the executed copy (outputs and plots
included) to ``$MATHDL_EXECUTED_NOTEBOOKS/<name>.ipynb`` (default ``docs/_build/executed``). The
tracked notebooks are never written to. The docs build (``docs/conf.py``) reads these copies with
execution off, so CI executes every notebook once.

A copy records the hash of the source notebook's code cells in its metadata
(``mathdl_docs.source_hash``): the docs build uses it only while the source is unchanged.
"""

import hashlib
import json
import os
from pathlib import Path

import nbformat

STORE_ENV = "MATHDL_EXECUTED_NOTEBOOKS"


def code_hash(nb) -> str:
    """The SHA-256 of a notebook's code cells' sources, the key that ties an executed copy to its source."""
    cells = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]]
    kinds = [c["cell_type"] for c in nb["cells"]]
    return hashlib.sha256(json.dumps([kinds, cells]).encode()).hexdigest()


def store_dir(rootdir) -> Path:
    return Path(os.environ.get(STORE_ENV) or Path(rootdir) / "docs" / "_build" / "executed")


def pytest_configure(config):
    try:
        from nbmake import pytest_items
    except ImportError:  # nbmake absent: nothing to keep
        return
    base = pytest_items.NotebookRun
    if getattr(base, "_mathdl_keeps_copies", False):
        return
    out = store_dir(config.rootpath)

    class KeepingRun(base):
        _mathdl_keeps_copies = True

        def execute(self):
            # The kernel draws inline, as Jupyter does, so the executed copy holds the plots (a
            # suite-wide MPLBACKEND=Agg would leave the figures out); the test process keeps its own.
            saved = os.environ.get("MPLBACKEND")
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
            try:
                result = super().execute()
            finally:
                if saved is None:
                    os.environ.pop("MPLBACKEND", None)
                else:
                    os.environ["MPLBACKEND"] = saved
            if result.error is None:
                source = nbformat.read(str(self.filename), nbformat.NO_CONVERT)
                result.nb.metadata["mathdl_docs"] = {"source_hash": code_hash(source)}
                out.mkdir(parents=True, exist_ok=True)
                target = out / Path(self.filename).name
                tmp = target.with_suffix(f".tmp{os.getpid()}")
                nbformat.write(result.nb, str(tmp))
                os.replace(tmp, target)
            return result

    pytest_items.NotebookRun = KeepingRun
