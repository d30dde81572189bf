"""Data sets (bundled, synthetic, and file loaders), validation, splits and batching."""

from mathdl.data._bundled import DATASETS, Dataset, load

__all__ = ["DATASETS", "Dataset", "load"]
