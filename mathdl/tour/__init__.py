"""``mathdl tour``: one short demo per chapter, checked against expected ranges.

Each chapter adds a module ``mathdl/tour/_ch<N>.py`` (or ``_appendix_<x>.py``) whose demos
register themselves with :func:`register`; :func:`load_demos` imports every such module, so
adding a chapter needs no edit here.
"""

import importlib
import pkgutil

from mathdl.tour._registry import Demo, demos, register
from mathdl.tour._runner import outside_range, run_tour

__all__ = ["Demo", "demos", "load_demos", "outside_range", "register", "run_tour"]


def load_demos() -> list[Demo]:
    r"""Import every demo module in :mod:`mathdl.tour` and return the demos in chapter order.

    Returns:
      The registered :class:`Demo` objects.

    Raises:
      ImportError: if a demo module fails to import.

    References:
      README, "The tour".
    """
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_ch") or info.name.startswith("_appendix"):
            importlib.import_module(f"{__name__}.{info.name}")
    return demos()
