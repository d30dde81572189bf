"""mathdl: the mathematics of deep learning as pure, tested JAX functions.

Each subpackage follows a chapter or appendix of *The Mathematical Engineering of Deep
Learning* (Liquet, Moka & Nazarathy, 2024), cited as [MEDL]. Subpackages are imported
lazily so that ``import mathdl`` stays fast; ``mathdl.info`` and friends load on first use.

Layers (a lower layer never imports a higher one):

=====  ==========================================  =========================================
layer  packages                                    contents
=====  ==========================================  =========================================
0      calculus, info, activations, losses         Appendix A-B, activations, losses
1      linear, unsupervised, autoencoders,         Ch 2-8 models and algorithms
       layers, models, optim, autodiff
2      train, data, metrics, validation            one train step, one fit loop, data sets
3      nn, cli, tour, bench                        Flax NNX modules, the ``mathdl`` command
=====  ==========================================  =========================================
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "autodiff",
    "autoencoders",
    "bench",
    "calculus",
    "checks",
    "data",
    "info",
    "layers",
    "linear",
    "losses",
    "metrics",
    "models",
    "nn",
    "optim",
    "tour",
    "train",
    "typing",
    "unsupervised",
    "validation",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"mathdl.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mathdl' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for static analysers only
    from mathdl import (  # noqa: F401
        activations,
        autodiff,
        autoencoders,
        bench,
        calculus,
        checks,
        data,
        info,
        layers,
        linear,
        losses,
        metrics,
        models,
        nn,
        optim,
        tour,
        train,
        unsupervised,
        validation,
    )
