r"""Whole models as pure functions ([MEDL] Ch. 5): the fully connected network and its explicit backprop."""

from mathdl.models._activation_table import Activation
from mathdl.models._backprop import LOSSES, adjoint_norms, backprop, linear_adjoint_norms
from mathdl.models._expressive import GATE_ACTIVATIONS, multiplication_gate, product_tree, relu_interpolation
from mathdl.models._mlp import MLPTrace, count_params, init_mlp, mlp, mlp_forward

__all__ = [
    "GATE_ACTIVATIONS",
    "LOSSES",
    "Activation",
    "MLPTrace",
    "adjoint_norms",
    "backprop",
    "count_params",
    "init_mlp",
    "linear_adjoint_norms",
    "mlp",
    "mlp_forward",
    "multiplication_gate",
    "product_tree",
    "relu_interpolation",
]
