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
from mathdl.layers._norm import (
    BatchNormParams,
    BatchNormState,
    LayerNormParams,
    batch_norm,
    init_batch_norm,
    init_layer_norm,
    layer_norm,
)
from mathdl.layers._regularise import dropout, l1_penalty, l2_penalty

__all__ = [
    "INITIALISERS",
    "BatchNormParams",
    "BatchNormState",
    "DenseParams",
    "LayerNormParams",
    "batch_norm",
    "dense",
    "dropout",
    "init_batch_norm",
    "init_layer_norm",
    "l1_penalty",
    "l2_penalty",
    "layer_norm",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "init_dense",
    "lecun_normal",
    "lecun_uniform",
]
