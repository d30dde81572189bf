"""The training engine: one train step and one fit loop for every model in mathdl.

``make_train_step`` builds the pure step; ``fit`` runs shuffled epochs through it with
verified checkpoints, exact resume, signal handling, a non-finite guard, early stopping,
progress and metrics logs, and data parallelism over a ``jax.sharding.Mesh``.
"""

from mathdl.train._checkpoint import CheckpointError, list_checkpoints, restore_checkpoint, save_checkpoint, tree_digest
from mathdl.train._evaluate import evaluate
from mathdl.train._loop import EarlyStopping, FitResult, NonFiniteError, fit
from mathdl.train._parallel import initialize_distributed, make_mesh
from mathdl.train._step import make_train_step, mean_loss

__all__ = [
    "CheckpointError",
    "EarlyStopping",
    "FitResult",
    "NonFiniteError",
    "evaluate",
    "fit",
    "initialize_distributed",
    "list_checkpoints",
    "make_mesh",
    "make_train_step",
    "mean_loss",
    "restore_checkpoint",
    "save_checkpoint",
    "tree_digest",
]
