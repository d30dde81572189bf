"""Optimisation (MEDL Ch. 4): first-order optimizers as Optax transformations, schedules, line searches, test problems.

Keep this file a plain import list; each module's ``__all__`` is the source of truth.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_first_order", "_line_search", "_mgh", "_problems", "_run", "_schedules", "_second_order")
