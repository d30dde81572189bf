"""Tests for the MNIST / Fashion-MNIST / CIFAR-10 file loaders, on small files written here."""

import gzip
import struct

import numpy as np
import pytest

from mathdl import data


def _write_idx(path, array, *, magic=None, gz=False):
    """An independent IDX writer (struct, big-endian), not sharing code with the loader."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 + array.ndim) if magic is None else magic
    payload = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def _mnist_dir(tmp_path, n=6, *, kind="train", gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28))
    labels = rng.integers(0, 10, size=n)
    prefix = "train" if kind == "train" else "t10k"
    _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images, gz=gz)
    _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind", ["train", "test"])
def test_mnist_round_trip(tmp_path, gz, kind):
    """IDX format (LeCun): images written with struct come back scaled by 1/255, labels unchanged."""
    images, labels = _mnist_dir(tmp_path, kind=kind, gz=gz)
    ds = data.load_mnist(tmp_path, kind=kind)
    assert ds.X.shape == (6, 28, 28, 1) and ds.X.dtype == np.float32 and ds.num_classes == 10
    np.testing.assert_allclose(ds.X[..., 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, labels)
    flat = data.load_mnist(tmp_path, kind=kind, flatten=True)
    np.testing.assert_array_equal(flat.X, ds.X.reshape(6, 784))


def test_fashion_mnist_uses_env_subdir(tmp_path, monkeypatch):
    """MATHDL_DATA: with no `dir`, files are read from $MATHDL_DATA/fashion_mnist."""
    sub = tmp_path / "fashion_mnist"
    sub.mkdir()
    images, labels = _mnist_dir(sub, n=3, gz=True, seed=1)
    monkeypatch.setenv("MATHDL_DATA", str(tmp_path))
    ds = data.load_fashion_mnist()
    assert ds.name == "fashion_mnist"
    np.testing.assert_array_equal(ds.y, labels)
    assert int(round(ds.X[1, 3, 4, 0] * 255)) == images[1, 3, 4]


def _cifar_file(path, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    pixels = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    with open(path, "wb") as fh:
        for i in range(n):  # record by record, as the format describes: label, R plane, G plane, B plane
            fh.write(bytes([labels[i]]))
            for c in range(3):
                fh.write(pixels[i, c].tobytes())
    return labels, pixels


def test_cifar10_round_trip(tmp_path):
    """CIFAR-10 binary format (Krizhevsky 2009): 5 train batches concatenated in order, channels last."""
    written = [_cifar_file(tmp_path / f"data_batch_{i}.bin", 2, seed=i) for i in range(1, 6)]
    t_labels, t_pixels = _cifar_file(tmp_path / "test_batch.bin", 3, seed=9)
    ds = data.load_cifar10(tmp_path)
    assert ds.X.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(ds.y, np.concatenate([w[0] for w in written]))
    # pixel (row 5, col 7) of the red channel of image 3 (second image of batch 2)
    assert int(round(ds.X[3, 5, 7, 0] * 255)) == written[1][1][1, 0, 5, 7]
    test = data.load_cifar10(tmp_path, kind="test", flatten=True)
    assert test.X.shape == (3, 3072)
    np.testing.assert_array_equal(test.y, t_labels)
    np.testing.assert_allclose(test.X.reshape(3, 32, 32, 3).transpose(0, 3, 1, 2), t_pixels / 255.0, rtol=1e-6)


def test_missing_file_names_it_and_where(tmp_path):
    """Bad input: a missing labels file is named with the path it should be at."""
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28)))
    with pytest.raises(FileNotFoundError, match=r"file 'train-labels-idx1-ubyte' is missing: put it at .*train-labels"):
        data.load_mnist(tmp_path)


def test_no_dir_and_no_env(monkeypatch):
    """Bad input: no `dir` and no MATHDL_DATA says how to point at the files."""
    monkeypatch.delenv("MATHDL_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match=r"data.load_mnist: no directory given: pass `dir=` or set"):
        data.load_mnist()


def test_wrong_magic(tmp_path):
    """Bad input: a labels file with the images' magic number is named as malformed."""
    _mnist_dir(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(6), magic=0x0803)
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte is malformed: expected IDX magic number 0x00000801"):
        data.load_mnist(tmp_path)


def test_truncated_file(tmp_path):
    """Bad input: a truncated images file (header says 6 images, bytes for fewer)."""
    _mnist_dir(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"header declares dimensions \(6, 28, 28\).*holds 4710 bytes"):
        data.load_mnist(tmp_path)


def test_count_mismatch_and_bad_label(tmp_path):
    """Bad input: 6 images with 5 labels; then a label 12 at index 2."""
    _mnist_dir(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5))
    with pytest.raises(ValueError, match=r"disagree: 6 images but 5 labels"):
        data.load_mnist(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", [0, 1, 12, 3, 4, 5])
    with pytest.raises(ValueError, match=r"expected labels in 0..9, got 12 at index 2"):
        data.load_mnist(tmp_path)


def test_wrong_image_size_and_bad_gzip(tmp_path):
    """Bad input: 14x14 images are refused; a .gz file that is not gzip is named."""
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 14, 14)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(2))
    with pytest.raises(ValueError, match=r"expected 28x28 images, got \(14, 14\)"):
        data.load_mnist(tmp_path, kind="test")
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz is not a readable gzip file"):
        data.load_mnist(tmp_path)


def test_cifar_bad_files(tmp_path):
    """Bad input: a CIFAR batch of the wrong size; a missing batch; an unknown kind."""
    for i in range(1, 6):
        _cifar_file(tmp_path / f"data_batch_{i}.bin", 1, seed=i)
    (tmp_path / "data_batch_3.bin").write_bytes(b"\x00" * 3000)
    with pytest.raises(ValueError, match=r"data_batch_3.bin is malformed: expected a positive multiple of 3073"):
        data.load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"file 'test_batch.bin' is missing"):
        data.load_cifar10(tmp_path, kind="test")
    with pytest.raises(ValueError, match=r"data.load_cifar10: argument `kind` expected one of \['train', 'test'\]"):
        data.load_cifar10(tmp_path, kind="val")
