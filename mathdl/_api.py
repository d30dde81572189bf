"""How packages export their names: each private module's ``__all__`` is the one list.

A package's ``__init__`` names its private modules once::

    from mathdl._api import reexport

    __all__ = reexport(__name__, "_dense", "_norm")

:func:`reexport` imports each module, copies the names of its ``__all__`` into the package
and returns their union, so a public name is written in exactly one place: the ``__all__``
of the module that defines it. Two modules of one package exporting the same name is an
error.
"""

import importlib
import sys

__all__ = ["reexport"]


def reexport(package: str, *modules: str) -> list[str]:
    """Copy the ``__all__`` names of ``package``'s private ``modules`` into ``package``.

    Args:
      package: the package's ``__name__``, e.g. ``"mathdl.layers"``.
      *modules: its private module names, e.g. ``"_dense"``.

    Returns:
      The package's ``__all__``: every exported name, sorted.

    Raises:
      ImportError: if two modules export the same name, or a module lacks ``__all__``.

    References:
      docs/architecture.md, "Layout".
    """
    namespace = vars(sys.modules[package])
    owner: dict[str, str] = {}
    for name in modules:
        module = importlib.import_module(f"{package}.{name}")
        if not hasattr(module, "__all__"):
            raise ImportError(f"{module.__name__} has no __all__; every private module states its exports")
        for public in module.__all__:
            if public in owner:
                raise ImportError(f"{package}: {public!r} is exported by both {owner[public]} and {name}")
            owner[public] = name
            namespace[public] = getattr(module, public)
    return sorted(owner)
