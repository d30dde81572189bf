r"""Layers as pure functions ([MEDL] Ch. 5): dense layers, initialisers, normalisation, dropout, penalties.

Every layer follows ``init_<layer>(key, ...) -> params`` and ``<layer>(params, x, ...)`` on ONE
example; batch with ``jax.vmap``. Layers with state (batch normalisation) return ``(y, new_state)``.
"""

from mathdl._api import reexport

__all__ = reexport(
    __name__,
    "_dense",
    "_init",
    "_norm",
    "_regularise",
    "_conv",
    "_pool",
    "_group_norm",
    "_specs",
    "_recurrent",
    "_attention",
    "_positional",
    "_embedding",
    "_graph",
)
