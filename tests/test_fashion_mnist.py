"""read_idx() and load_fashion_mnist(): data folder, system folder, download, embedded sample."""

import gzip
import os
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from course_utils.data import fashion_mnist as fm
from course_utils.data.download import ChecksumError, sha256sum
from course_utils.data.fashion_mnist import FASHION_CLASSES, load_fashion_mnist, read_idx

FILES = list(fm.FASHION_MNIST_FILES)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, unreachable_url):
    """An empty cache, no system folder and a download URL where nothing listens."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fm, "SYSTEM_DIRS", [tmp_path / "no-system-folder"])
    monkeypatch.setattr(fm, "FASHION_MNIST_URL", unreachable_url)


@pytest.fixture
def no_data_dir(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)


@pytest.fixture
def shared_files():
    """The folder holding the 4 real files: $COURSE_DATA_DIR/fashion-mnist."""
    folder = Path(os.environ.get("COURSE_DATA_DIR") or "/nonexistent") / "fashion-mnist"
    if not all((folder / name).is_file() for name in FILES):
        pytest.skip("COURSE_DATA_DIR does not point at a folder holding fashion-mnist/*.gz (the shared test data)")
    return folder


def write_idx(path, array, compress=True):
    codes = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    Path(path).write_bytes(gzip.compress(data) if compress else data)


def fake_files(folder, n_train=50, n_test=10):
    """Write small files with the real names into `folder`; return the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return arrays


def check_full(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert (np.bincount(y_train) == 6000).all() and (np.bincount(y_test) == 1000).all()


def test_class_names():
    assert len(FASHION_CLASSES) == 10 and FASHION_CLASSES[0] == "T-shirt/top" and FASHION_CLASSES[9] == "Ankle boot"


def test_read_idx_real_files(shared_files):
    images = read_idx(shared_files / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    labels = read_idx(shared_files / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (60000,) and labels.dtype == np.uint8 and labels.max() == 9


def test_read_idx_uncompressed_and_other_dtypes(tmp_path):
    for array in (np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5, np.linspace(-1, 1, 7, dtype=np.float32),
                  np.arange(6, dtype=np.int16).reshape(3, 2)):
        write_idx(tmp_path / "a.idx", array, compress=False)
        result = read_idx(tmp_path / "a.idx")
        assert result.dtype == array.dtype and result.dtype.isnative
        np.testing.assert_array_equal(result, array)


def test_read_idx_truncated_or_malformed(tmp_path):
    write_idx(tmp_path / "raw.idx", np.zeros((10, 28, 28), np.uint8), compress=False)
    (tmp_path / "raw-cut.idx").write_bytes((tmp_path / "raw.idx").read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"raw-cut.idx is truncated"):
        read_idx(tmp_path / "raw-cut.idx")

    write_idx(tmp_path / "a.gz", np.arange(1000, dtype=np.int32))
    (tmp_path / "cut.gz").write_bytes((tmp_path / "a.gz").read_bytes()[:-30])
    with pytest.raises(ValueError, match=r"cut.gz is not a valid gzip file"):
        read_idx(tmp_path / "cut.gz")

    (tmp_path / "short.idx").write_bytes(b"\0\0\x08\x03\0\0")
    with pytest.raises(ValueError, match=r"short.idx is truncated"):
        read_idx(tmp_path / "short.idx")

    (tmp_path / "text.idx").write_bytes(b"hello world")
    with pytest.raises(ValueError, match=r"text.idx is not an IDX file"):
        read_idx(tmp_path / "text.idx")


def test_load_from_data_dir_env(shared_files, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_files.parent))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_full(load_fashion_mnist())


def test_load_from_files_directly_in_data_dir(shared_files, no_data_dir, tmp_path):
    for name in FILES:
        (tmp_path / name).symlink_to(shared_files / name)
    (x_train, _), (x_test, _) = load_fashion_mnist(tmp_path)
    assert len(x_train) == 60000 and len(x_test) == 10000


def test_load_from_system_dir(shared_files, no_data_dir, monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "SYSTEM_DIRS", [tmp_path / "absent", shared_files])
    check_full(load_fashion_mnist())


def test_embedded_sample_when_nothing_is_found(no_data_dir, tmp_path):
    with pytest.warns(UserWarning, match="embedded sample of Fashion-MNIST") as record:
        (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    assert str(tmp_path / "cache" / "fashion-mnist") in str(record[0].message)
    assert x_train.shape == (2000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (500, 28, 28) and x_test.dtype == np.uint8
    assert (np.bincount(y_train) == 200).all() and (np.bincount(y_test) == 50).all()
    assert x_train.max() == 255 and x_train.mean() < 128


def test_embedded_sample_is_taken_from_the_real_files(shared_files, no_data_dir):
    with pytest.warns(UserWarning, match="download=False"):
        (x_sample, y_sample), _ = load_fashion_mnist(download=False)
    y_train = read_idx(shared_files / "train-labels-idx1-ubyte.gz")
    keep = np.sort(np.concatenate([np.flatnonzero(y_train == c)[:200] for c in range(10)]))
    np.testing.assert_array_equal(y_sample, y_train[keep])


def test_wrong_file_in_data_dir_is_a_checksum_error(no_data_dir, tmp_path):
    fake_files(tmp_path / "data" / "fashion-mnist")
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz has SHA-256"):
        load_fashion_mnist(tmp_path / "data")


def test_download_then_cache(no_data_dir, http_server, monkeypatch, tmp_path):
    arrays = fake_files(tmp_path / "served")
    for name in FILES:
        http_server.add(f"/fashion/{name}", (tmp_path / "served" / name).read_bytes())
    sums = {name: (sha256sum(tmp_path / "served" / name), "unused") for name in FILES}
    monkeypatch.setattr(fm, "FASHION_MNIST_FILES", sums)
    monkeypatch.setattr(fm, "FASHION_MNIST_URL", http_server.url("/fashion/"))

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(os.listdir(tmp_path / "cache" / "fashion-mnist")) == sorted(FILES)

    load_fashion_mnist()
    (x_train, _), _ = load_fashion_mnist(download=False)
    assert len(x_train) == 50
    assert len(http_server.requests) == 4
