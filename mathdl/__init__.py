"""mathdl: the mathematics of deep learning as pure, tested JAX functions.

Each subpackage holds one kind of thing (layers, models, estimators, optimizers, ...) from
*The Mathematical Engineering of Deep Learning* (Liquet, Moka & Nazarathy, 2024), cited as
[MEDL]. Subpackages are imported
lazily so that ``import mathdl`` stays fast; ``mathdl.info`` and friends load on first use.

Layers (a lower layer never imports a higher one):

=====  ==========================================  =========================================
layer  packages                                    contents
=====  ==========================================  =========================================
0      checks, calculus, info, activations,        Appendix A-B, activations, losses
       losses
1      layers, models, estimators, optim,          Ch 2-8 models and algorithms
       autodiff
2      train, data, metrics                        the train loop, data sets, evaluation
3      nn, cli, tour, bench                        Flax NNX modules, the ``mathdl`` command
=====  ==========================================  =========================================
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "autodiff",
    "bench",
    "calculus",
    "checks",
    "data",
    "estimators",
    "generative",
    "info",
    "layers",
    "losses",
    "metrics",
    "models",
    "nn",
    "optim",
    "rl",
    "tour",
    "train",
    "typing",
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
        bench,
        calculus,
        checks,
        data,
        estimators,
        info,
        layers,
        losses,
        metrics,
        models,
        nn,
        optim,
        tour,
        train,
    )
