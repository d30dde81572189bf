r"""Loaders for MNIST, Fashion-MNIST (IDX files) and CIFAR-10 (binary batches) on disk.

Nothing is downloaded. The files are looked for in the directory given as ``dir``, or,
when ``dir`` is ``None``, in ``$MATHDL_DATA/<subdir>`` and then ``$MATHDL_DATA`` itself
(``<subdir>`` is ``mnist``, ``fashion_mnist`` or ``cifar-10-batches-bin``). Each file's
header (magic number, dimensions) and size are checked before its contents are used, and
every error names the file and says where it should be.

IDX format (big-endian): a 4-byte magic number ``0x00000801`` (labels, 1-D) or
``0x00000803`` (images, 3-D) — two zero bytes, the type code ``0x08`` (unsigned byte) and
the number of dimensions — then one 4-byte size per dimension, then the bytes.
CIFAR-10 binary: records of 1 label byte and 3072 pixel bytes (1024 red, 1024 green,
1024 blue, each a 32x32 image in row-major order).
"""

import gzip
import os
from pathlib import Path

import numpy as np

from mathdl import checks
from mathdl.data._bundled import Dataset

__all__ = ["load_cifar10", "load_fashion_mnist", "load_mnist"]

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FILES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test": ("test_batch.bin",)}


def _roots(func: str, dir, subdir: str) -> list[Path]:
    if dir is not None:
        return [Path(dir)]
    env = os.environ.get("MATHDL_DATA")
    if not env:
        raise FileNotFoundError(
            f"{func}: no directory given: pass `dir=` or set the MATHDL_DATA environment variable "
            f"(files are looked for in $MATHDL_DATA/{subdir}/ and $MATHDL_DATA/). Nothing is downloaded."
        )
    return [Path(env) / subdir, Path(env)]


def _find(func: str, roots: list[Path], name: str, *, gz: bool) -> Path:
    candidates = [root / n for root in roots for n in ((name, name + ".gz") if gz else (name,))]
    for path in candidates:
        if path.is_file():
            return path
    where = " or ".join(str(roots[0] / n) for n in ((name, name + ".gz") if gz else (name,)))
    also = f" (also looked in {', '.join(str(r) for r in roots[1:])})" if len(roots) > 1 else ""
    raise FileNotFoundError(f"{func}: file {name!r} is missing: put it at {where}{also}. Nothing is downloaded.")


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as fh:
                return fh.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"file {path} is not a readable gzip file ({exc}).") from exc
    return path.read_bytes()


def _read_idx(func: str, path: Path, ndim: int) -> np.ndarray:
    try:
        raw = _read_bytes(path)
    except ValueError as exc:
        raise ValueError(f"{func}: {exc}") from None
    magic = 0x0800 + ndim
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{func}: file {path} is malformed: {len(raw)} bytes is shorter than an IDX header.")
    got_magic = int.from_bytes(raw[:4], "big")
    if got_magic != magic:
        raise ValueError(
            f"{func}: file {path} is malformed: expected IDX magic number 0x{magic:08x} "
            f"(unsigned bytes, {ndim}-D), got 0x{got_magic:08x}."
        )
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(raw) != expected:
        raise ValueError(
            f"{func}: file {path} is malformed: its header declares dimensions {dims}, i.e. {expected} bytes, "
            f"but the file holds {len(raw)} bytes (truncated or corrupted?)."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _load_idx_pair(func: str, dir, subdir: str, kind: str, flatten: bool, name: str) -> Dataset:
    checks.check_choice(func, "kind", kind, tuple(_MNIST_FILES))
    roots = _roots(func, dir, subdir)
    img_name, lab_name = _MNIST_FILES[kind]
    img_path = _find(func, roots, img_name, gz=True)
    lab_path = _find(func, roots, lab_name, gz=True)
    images = _read_idx(func, img_path, 3)
    labels = _read_idx(func, lab_path, 1)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{func}: file {img_path} is malformed: expected 28x28 images, got {images.shape[1:]}.")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{func}: files {img_path} and {lab_path} disagree: {images.shape[0]} images but {labels.shape[0]} labels."
        )
    if labels.size and labels.max() > 9:
        i = int(np.argmax(labels > 9))
        raise ValueError(
            f"{func}: file {lab_path} is malformed: expected labels in 0..9, got {labels[i]} at index {i}."
        )
    X = images.astype(np.float32) / 255.0
    X = X.reshape(X.shape[0], -1) if flatten else X[..., None]
    return Dataset(X, labels.astype(np.int32), name, 10)


def load_mnist(dir=None, *, kind: str = "train", flatten: bool = False) -> Dataset:
    r"""Read MNIST from its IDX files (plain or gzipped) in a directory you already have.

    Files: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte`` (``kind="train"``) or
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (``kind="test"``), each possibly
    with ``.gz``. Pixels are scaled to $[0, 1]$.

    Args:
      dir: directory holding the files; ``None`` uses ``$MATHDL_DATA/mnist`` then ``$MATHDL_DATA``.
      kind: ``"train"`` or ``"test"``.
      flatten: return ``X`` as ``(n, 784)`` instead of images ``(n, 28, 28, 1)``.

    Returns:
      ``Dataset(X, y, "mnist", 10)``: ``X`` float32, ``y`` int32 of shape ``(n,)``.

    Raises:
      FileNotFoundError: naming the missing file and where it should be (or asking for
        ``dir``/``MATHDL_DATA`` when neither is set).
      ValueError: naming the malformed file: wrong magic number, header/size mismatch,
        images not 28x28, image and label counts that differ, a label above 9, bad gzip,
        or an unknown ``kind``.

    References:
      [MEDL] Ch. 1-2 (MNIST); LeCun et al., "The MNIST database" (IDX format).
    """
    return _load_idx_pair(checks.public_name(load_mnist), dir, "mnist", kind, flatten, "mnist")


def load_fashion_mnist(dir=None, *, kind: str = "train", flatten: bool = False) -> Dataset:
    r"""Read Fashion-MNIST from its IDX files (same names and format as MNIST).

    Args:
      dir: directory holding the files; ``None`` uses ``$MATHDL_DATA/fashion_mnist`` then
        ``$MATHDL_DATA``.
      kind: ``"train"`` or ``"test"``.
      flatten: return ``X`` as ``(n, 784)`` instead of images ``(n, 28, 28, 1)``.

    Returns:
      ``Dataset(X, y, "fashion_mnist", 10)``: ``X`` float32 in $[0, 1]$, ``y`` int32.

    Raises:
      FileNotFoundError: naming the missing file and where it should be.
      ValueError: naming the malformed file (see :func:`load_mnist`).

    References:
      Xiao, Rasul & Vollgraf (2017), Fashion-MNIST; [MEDL] Ch. 1.
    """
    return _load_idx_pair(checks.public_name(load_fashion_mnist), dir, "fashion_mnist", kind, flatten, "fashion_mnist")


def load_cifar10(dir=None, *, kind: str = "train", flatten: bool = False) -> Dataset:
    r"""Read CIFAR-10 from its binary batches (``cifar-10-batches-bin``).

    ``kind="train"`` reads ``data_batch_1.bin`` ... ``data_batch_5.bin`` (concatenated in
    that order), ``kind="test"`` reads ``test_batch.bin``. Each file must hold a whole
    number of 3073-byte records (the official files hold 10,000). Pixels are scaled to
    $[0, 1]$ and laid out channels-last.

    Args:
      dir: directory holding the files; ``None`` uses ``$MATHDL_DATA/cifar-10-batches-bin``
        then ``$MATHDL_DATA``.
      kind: ``"train"`` or ``"test"``.
      flatten: return ``X`` as ``(n, 3072)`` (height, width, channel order) instead of
        images ``(n, 32, 32, 3)``.

    Returns:
      ``Dataset(X, y, "cifar10", 10)``: ``X`` float32, ``y`` int32 of shape ``(n,)``.

    Raises:
      FileNotFoundError: naming the missing batch file and where it should be.
      ValueError: naming the malformed file (empty, size not a multiple of 3073, or a label
        above 9) or an unknown ``kind``.

    References:
      Krizhevsky (2009), "Learning multiple layers of features from tiny images" (binary
      version); [MEDL] Ch. 6.
    """
    func = checks.public_name(load_cifar10)
    checks.check_choice(func, "kind", kind, tuple(_CIFAR_FILES))
    roots = _roots(func, dir, "cifar-10-batches-bin")
    paths = [_find(func, roots, name, gz=False) for name in _CIFAR_FILES[kind]]
    images, labels = [], []
    record = 1 + 3 * 32 * 32
    for path in paths:
        raw = path.read_bytes()
        if len(raw) == 0 or len(raw) % record:
            raise ValueError(
                f"{func}: file {path} is malformed: expected a positive multiple of {record} bytes "
                f"(1 label byte + 3072 pixel bytes per image), got {len(raw)} bytes."
            )
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
        if rows[:, 0].max() > 9:
            i = int(np.argmax(rows[:, 0] > 9))
            raise ValueError(
                f"{func}: file {path} is malformed: expected labels in 0..9, got {rows[i, 0]} at record {i}."
            )
        labels.append(rows[:, 0])
        images.append(rows[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # CHW -> HWC
    X = np.concatenate(images).astype(np.float32) / 255.0
    if flatten:
        X = X.reshape(X.shape[0], -1)
    return Dataset(X, np.concatenate(labels).astype(np.int32), "cifar10", 10)
