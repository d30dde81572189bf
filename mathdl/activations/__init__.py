r"""Activations $\sigma$ and their derivatives $\dot\sigma$ ([MEDL] Ch. 3, Sec. 5.3).

Naming: every activation ``f`` has its derivative ``d_f`` (``sigmoid`` / ``d_sigmoid``); the softmax,
which is not elementwise, has its Jacobian ``softmax_jacobian``. Kinks take the left derivative:
``d_relu(0) = 0``, ``d_leaky_relu(0) = slope``, ``d_elu(0) = alpha``; ``step(0) = +1``.
"""

from mathdl.activations._elementwise import (
    d_elu,
    d_gelu,
    d_leaky_relu,
    d_relu,
    d_scaled_sigmoid,
    d_sigmoid,
    d_silu,
    d_softplus,
    d_step,
    d_swish,
    d_tanh,
    elu,
    gelu,
    leaky_relu,
    relu,
    scaled_sigmoid,
    sigmoid,
    silu,
    softplus,
    step,
    swish,
    tanh,
)
from mathdl.activations._softmax import log_softmax, masked_softmax, softmax, softmax_jacobian

__all__ = [
    "d_elu",
    "d_gelu",
    "d_leaky_relu",
    "d_relu",
    "d_scaled_sigmoid",
    "d_sigmoid",
    "d_silu",
    "d_softplus",
    "d_step",
    "d_swish",
    "d_tanh",
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "masked_softmax",
    "relu",
    "scaled_sigmoid",
    "sigmoid",
    "silu",
    "softmax",
    "softmax_jacobian",
    "softplus",
    "step",
    "swish",
    "tanh",
]
