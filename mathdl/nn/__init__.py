r"""Flax NNX modules that hold parameters and delegate to mathdl's pure functions (layer 3).

``Linear``, ``MLP``, ``BatchNorm``, ``LayerNorm`` and ``Dropout`` follow NNX conventions
(``rngs=``, batched inputs, ``.train()``/``.eval()``); :func:`to_pure` turns any NNX module into
a pure apply function so that ``mathdl.train`` can train it under ``jax.jit`` (fast) rather than
``nnx.jit``.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_modules", "_pure", "_conv", "_recurrent", "_attention", "_transformer", "_graph")
