"""``mathdl bench``: kernels and training steps timed side by side with JAX, Flax and PyTorch.

Suites are modules in :mod:`mathdl.bench.suites`; each registers cases with
:func:`register_case`. :func:`load_cases` imports them all.
"""

import importlib
import pkgutil

from mathdl.bench._registry import IMPLEMENTATIONS, Case, cases, register_case

__all__ = ["Case", "IMPLEMENTATIONS", "cases", "load_cases", "register_case"]


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
