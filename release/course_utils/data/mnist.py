"""MNIST handwritten digits, in the arrays Keras returns."""

import warnings

import numpy as np

from . import _paths
from ._validate import check_images, check_labels
from .download import DownloadError, fetch, sha256sum, verify

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_FILE = "mnist.npz"

SAMPLE_FILE = "mnist-10k.npz"
SAMPLE_SHA256 = "c03d6af810269a0b25ef8e8971f521767d52b05849e4fd977d6ca9528003c0b3"
SAMPLE_TRAIN = 8000


def load_mnist(data_dir=None, *, download=True):
    """Load MNIST as `(x_train, y_train), (x_test, y_test)`.

    `x` is uint8 of shape `(N, 28, 28)`, 0..255, white digits on black; `y` is
    uint8 of shape `(N,)`, the digit 0..9. The files are looked for in this order:

    1. the data folder (`data_dir`, else the environment variable
       `COURSE_DATA_DIR`): `mnist.npz` (60,000 + 10,000 digits), else
       `mnist-10k.npz` (8,000 + 2,000 digits);
    2. the cache, `mnist.npz` downloaded earlier;
    3. a download of `mnist.npz` from `MNIST_URL`, unless `download=False`;
    4. the 10,000-digit sample shipped with this package, with a warning.

    Every file is checked against its SHA-256 (`ChecksumError` if it differs).
    """
    folder = _paths.data_dir(data_dir)
    if folder is not None:
        if (folder / MNIST_FILE).is_file():
            return _read_full(verify(folder / MNIST_FILE, MNIST_SHA256))
        if (folder / SAMPLE_FILE).is_file():
            return _read_sample(verify(folder / SAMPLE_FILE, SAMPLE_SHA256))

    cached = _paths.cache_dir() / MNIST_FILE
    if download:
        try:
            return _read_full(fetch(MNIST_URL, MNIST_SHA256, MNIST_FILE))
        except DownloadError as error:
            reason = f"its download failed ({error.reason})"
    elif cached.is_file() and sha256sum(cached) == MNIST_SHA256:
        return _read_full(cached)
    else:
        reason = "download=False was passed"

    warnings.warn(
        f"Using the embedded sample of 10,000 MNIST digits (8,000 train, 2,000 test): "
        f"the full MNIST was not found and {reason}. To use all 70,000 digits, get "
        f"{MNIST_FILE} from {MNIST_URL} and put it in a folder named by the environment "
        f"variable {_paths.DATA_DIR_ENV}, or pass data_dir=that folder, or copy it to {cached}.",
        _paths.DataFallbackWarning,
        stacklevel=2,
    )
    return _read_sample(verify(_paths.EMBEDDED_DIR / SAMPLE_FILE, SAMPLE_SHA256))


def _read_npz(path, keys):
    with np.load(path, allow_pickle=False) as npz:
        missing = [key for key in keys if key not in npz.files]
        if missing:
            raise ValueError(f"expected arrays {', '.join(keys)} in {path}, found {', '.join(npz.files)}")
        return [npz[key] for key in keys]


def _checked(x, y, suffix, path):
    x = check_images(x, (28, 28), np.uint8, f"x{suffix} in {path}")
    y = check_labels(y, len(x), f"y{suffix} in {path}")
    return x, y


def _read_full(path):
    """Read a Keras `mnist.npz`."""
    x_train, y_train, x_test, y_test = _read_npz(path, ["x_train", "y_train", "x_test", "y_test"])
    return _checked(x_train, y_train, "_train", path), _checked(x_test, y_test, "_test", path)


def _read_sample(path):
    """Read `mnist-10k.npz` (keys `x`, `y`) and split it: first 8,000 train, the rest test."""
    x, y = _read_npz(path, ["x", "y"])
    x, y = _checked(x, y, "", path)
    return (x[:SAMPLE_TRAIN], y[:SAMPLE_TRAIN]), (x[SAMPLE_TRAIN:], y[SAMPLE_TRAIN:])
