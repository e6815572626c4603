"""load_mnist(): the shared data folder, the download, the cache and the embedded sample."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from course_utils.data import mnist
from course_utils.data.download import ChecksumError, sha256sum
from course_utils.data.mnist import load_mnist


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, unreachable_url):
    """An empty cache, and a download URL where nothing listens: no test reaches the internet."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "MNIST_URL", unreachable_url + "mnist.npz")


@pytest.fixture
def shared_data():
    folder = os.environ.get("COURSE_DATA_DIR")
    if not folder or not (Path(folder) / "mnist-10k.npz").is_file():
        pytest.skip("COURSE_DATA_DIR does not point at a folder holding mnist-10k.npz (the shared test data)")
    return Path(folder)


@pytest.fixture
def no_data_dir(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)


def fake_mnist(path, n_train=60, n_test=20, x_shape=(28, 28)):
    """Write a small Keras-format mnist.npz at `path`; return its arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *x_shape), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, *x_shape), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    np.savez(path, **arrays)
    return arrays


def check_split(x, y, n):
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.uint8
    assert x.min() == 0 and x.max() == 255
    assert x.mean() < 64  # white digits on a black background
    assert set(np.unique(y)) == set(range(10))


def test_shared_sample_from_env(shared_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x_train, y_train), (x_test, y_test) = load_mnist()
    check_split(x_train, y_train, 8000)
    check_split(x_test, y_test, 2000)
    assert np.bincount(y_train, minlength=10).min() >= 600
    assert np.bincount(y_test, minlength=10).min() >= 150
    with np.load(shared_data / "mnist-10k.npz") as npz:
        np.testing.assert_array_equal(x_test, npz["x"][8000:])


def test_shared_sample_from_argument(shared_data, no_data_dir):
    (x_train, _), (x_test, _) = load_mnist(shared_data)
    assert len(x_train) == 8000 and len(x_test) == 2000


def test_embedded_sample_when_download_fails(no_data_dir, tmp_path):
    with pytest.warns(UserWarning, match="embedded sample of 10,000 MNIST digits") as record:
        (x_train, y_train), (x_test, y_test) = load_mnist()
    message = str(record[0].message)
    assert "COURSE_DATA_DIR" in message and str(tmp_path / "cache" / "mnist.npz") in message
    check_split(x_train, y_train, 8000)
    check_split(x_test, y_test, 2000)


def test_embedded_sample_without_download(no_data_dir, http_server, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST_URL", http_server.url("/mnist.npz"))
    with pytest.warns(UserWarning, match="download=False"):
        (x_train, _), _ = load_mnist(download=False)
    assert len(x_train) == 8000
    assert http_server.requests == []


def test_download_then_cache(no_data_dir, http_server, monkeypatch, tmp_path):
    arrays = fake_mnist(tmp_path / "served.npz")
    monkeypatch.setattr(mnist, "MNIST_URL", http_server.add("/mnist.npz", (tmp_path / "served.npz").read_bytes()))
    monkeypatch.setattr(mnist, "MNIST_SHA256", sha256sum(tmp_path / "served.npz"))

    (x_train, y_train), (x_test, y_test) = load_mnist()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert (tmp_path / "cache" / "mnist.npz").is_file()

    (x_train, _), _ = load_mnist()
    (x_train, _), _ = load_mnist(download=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert http_server.requests == ["/mnist.npz"]


def test_downloaded_file_with_wrong_checksum(no_data_dir, http_server, monkeypatch, tmp_path):
    fake_mnist(tmp_path / "served.npz")
    monkeypatch.setattr(mnist, "MNIST_URL", http_server.add("/mnist.npz", (tmp_path / "served.npz").read_bytes()))
    with pytest.raises(ChecksumError, match=mnist.MNIST_SHA256):
        load_mnist()
    assert os.listdir(tmp_path / "cache") == []


def test_full_file_in_data_folder(no_data_dir, monkeypatch, tmp_path):
    arrays = fake_mnist(tmp_path / "mnist.npz", n_train=30)
    monkeypatch.setattr(mnist, "MNIST_SHA256", sha256sum(tmp_path / "mnist.npz"))
    (x_train, y_train), _ = load_mnist(tmp_path)
    assert x_train.shape == (30, 28, 28)
    np.testing.assert_array_equal(y_train, arrays["y_train"])


def test_data_folder_file_with_wrong_checksum(no_data_dir, tmp_path):
    fake_mnist(tmp_path / "mnist.npz")
    with pytest.raises(ChecksumError, match="mnist.npz"):
        load_mnist(tmp_path)


def test_bad_shape_is_a_value_error(no_data_dir, monkeypatch, tmp_path):
    fake_mnist(tmp_path / "mnist.npz", x_shape=(784,))
    monkeypatch.setattr(mnist, "MNIST_SHA256", sha256sum(tmp_path / "mnist.npz"))
    with pytest.raises(ValueError, match=r"x_train in .*mnist.npz of dtype uint8 and shape \(N, 28, 28\), got .*\(60, 784\)"):
        load_mnist(tmp_path)


def test_missing_data_folder_is_a_value_error(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="COURSE_DATA_DIR.*nowhere"):
        load_mnist()
