r"""Layers as pure functions ([MEDL] Ch. 5): dense layers, initialisers, normalisation, dropout, penalties.

Every layer follows ``init_<layer>(key, ...) -> params`` and ``<layer>(params, x, ...)`` on ONE
example; batch with ``jax.vmap``. Layers with state (batch normalisation) return ``(y, new_state)``.
"""

from mathdl.layers._dense import DenseParams, dense, init_dense
from mathdl.layers._init import (
    INITIALISERS,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
)

__all__ = [
    "INITIALISERS",
    "DenseParams",
    "dense",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "init_dense",
    "lecun_normal",
    "lecun_uniform",
]
