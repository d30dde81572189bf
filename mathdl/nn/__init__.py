r"""Flax NNX modules that hold parameters and delegate to mathdl's pure functions (layer 3).

``Linear``, ``MLP``, ``BatchNorm``, ``LayerNorm`` and ``Dropout`` follow NNX conventions
(``rngs=``, batched inputs, ``.train()``/``.eval()``); :func:`to_pure` turns any NNX module into
a pure apply function so that ``mathdl.train`` can train it under ``jax.jit`` (fast) rather than
``nnx.jit``.
"""

from mathdl.nn._modules import MLP, BatchNorm, Dropout, LayerNorm, Linear
from mathdl.nn._pure import to_pure, update_module

__all__ = ["MLP", "BatchNorm", "Dropout", "LayerNorm", "Linear", "to_pure", "update_module"]
