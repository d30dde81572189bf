"""The training engine: one train step and one fit loop for every model in mathdl."""

from mathdl.train._step import make_train_step

__all__ = ["make_train_step"]
