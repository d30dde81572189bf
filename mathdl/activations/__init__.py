r"""Activations $\sigma$ and their derivatives $\dot\sigma$ ([MEDL] Ch. 3, Sec. 5.3).

Naming: every activation ``f`` has its derivative ``d_f`` (``sigmoid`` / ``d_sigmoid``); the softmax,
which is not elementwise, has its Jacobian ``softmax_jacobian``. Kinks take the left derivative:
``d_relu(0) = 0``, ``d_leaky_relu(0) = slope``, ``d_elu(0) = alpha``; ``step(0) = +1``.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_elementwise", "_softmax")
