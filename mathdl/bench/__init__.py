"""``mathdl bench``: kernels and training steps timed side by side with JAX, Flax and PyTorch.

Suites are modules in :mod:`mathdl.bench.suites`; each registers cases with
:func:`register_case`. :func:`load_cases` imports them all; :func:`run_benchmarks` times
them (device limits first, then every case in rotation) and :func:`write_results` writes
``bench.json``, ``bench.md`` and ``bench.png``. ``benchmarks/README.md`` explains the tables.
"""

import importlib
import pkgutil

from mathdl.bench._registry import IMPLEMENTATIONS, Case, SkipCase, cases, register_case
from mathdl.bench._report import to_markdown, write_results
from mathdl.bench._runner import run_benchmarks

__all__ = [
    "Case",
    "IMPLEMENTATIONS",
    "SkipCase",
    "cases",
    "load_cases",
    "register_case",
    "run_benchmarks",
    "to_markdown",
    "write_results",
]


def load_cases() -> list[Case]:
    r"""Import every suite module under :mod:`mathdl.bench.suites` and return all cases.

    Returns:
      The registered :class:`Case` objects.

    Raises:
      ImportError: if a suite module fails to import.

    References:
      benchmarks/README.md.
    """
    from mathdl.bench import suites

    for info in pkgutil.iter_modules(suites.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{suites.__name__}.{info.name}")
    return cases()
