"""Independent references shared by tests. Nothing here imports mathdl.

Optional libraries are imported through :func:`need`, which skips the test with a stated
reason when the library is missing (e.g. PyTorch outside CI).
"""

import importlib

import pytest


def need(module: str):
    """Import ``module`` or skip the calling test, saying which oracle is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"oracle `{module}` is not installed (CI installs it; `pip install {module}` here)")
