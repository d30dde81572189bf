"""Data sets bundled with scikit-learn (no network)."""

from typing import NamedTuple

import numpy as np

__all__ = ["Dataset", "load", "DATASETS"]


class Dataset(NamedTuple):
    """An in-memory data set.

    Attributes:
      X: features, shape ``(n, p)``, float32.
      y: targets, shape ``(n,)``: int32 class labels, or float32 for regression.
      name: the data set's name.
      num_classes: number of classes (0 for regression).
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    num_classes: int


DATASETS = ("digits", "iris", "breast_cancer", "wine", "diabetes")


def load(name: str) -> Dataset:
    r"""Load a data set bundled with scikit-learn, with no network access.

    Args:
      name: one of ``"digits"`` (1797 x 64, 10 classes, pixels scaled to [0, 1]),
        ``"iris"`` (150 x 4, 3 classes), ``"breast_cancer"`` (569 x 30, 2 classes),
        ``"wine"`` (178 x 13, 3 classes), ``"diabetes"`` (442 x 10, regression).

    Returns:
      A :class:`Dataset` with NumPy arrays (``X`` float32, ``y`` int32 or float32).

    Raises:
      ValueError: if ``name`` is not one of the bundled data sets.

    References:
      scikit-learn, ``sklearn.datasets``; [MEDL] Ch. 2 (breast cancer, MNIST-like digits).
    """
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        raise ValueError(f"data.load: argument `name` expected one of {list(loaders)}, got {name!r}.")
    raw = loaders[name]()
    X = np.asarray(raw.data, dtype=np.float32)
    if name == "digits":
        X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    if name == "diabetes":
        return Dataset(X, np.asarray(raw.target, dtype=np.float32), name, 0)
    y = np.asarray(raw.target, dtype=np.int32)
    return Dataset(X, y, name, int(y.max()) + 1)
