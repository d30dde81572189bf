r"""Whole models as pure functions ([MEDL] Ch. 5): the fully connected network and its explicit backprop."""

from mathdl.models._mlp import MLPTrace, count_params, init_mlp, mlp, mlp_forward

__all__ = ["MLPTrace", "count_params", "init_mlp", "mlp", "mlp_forward"]
