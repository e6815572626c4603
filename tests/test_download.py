"""fetch() against a real HTTP server on 127.0.0.1 (fixtures in conftest.py)."""

import hashlib
import os

import pytest

from course_utils.data import _paths
from course_utils.data.download import ChecksumError, DownloadError, fetch, sha256sum

BODY = bytes(range(256)) * 1000  # 256 kB, several read chunks
BODY_SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_CACHE_DIR", str(folder))
    return folder


def test_good_file_is_cached_and_not_downloaded_twice(http_server, cache):
    url = http_server.add("/good.bin", BODY)
    path = fetch(url, BODY_SHA256, "good.bin")
    assert path == cache / "good.bin"
    assert path.read_bytes() == BODY
    assert sha256sum(path) == BODY_SHA256
    assert fetch(url, BODY_SHA256, "good.bin") == path
    assert http_server.requests == ["/good.bin"]
    assert os.listdir(cache) == ["good.bin"]


def test_explicit_cache_folder(http_server, tmp_path):
    url = http_server.add("/good.bin", BODY)
    path = fetch(url, BODY_SHA256, "good.bin", cache=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "good.bin"


def test_damaged_cached_file_is_downloaded_again(http_server, cache):
    cache.mkdir()
    (cache / "good.bin").write_bytes(b"damaged")
    url = http_server.add("/good.bin", BODY)
    assert fetch(url, BODY_SHA256, "good.bin").read_bytes() == BODY
    assert http_server.requests == ["/good.bin"]


def test_wrong_content_is_a_checksum_error_and_not_kept(http_server, cache):
    url = http_server.add("/bad.bin", BODY[:-1] + b"!")
    with pytest.raises(ChecksumError) as error:
        fetch(url, BODY_SHA256, "bad.bin")
    message = str(error.value)
    assert BODY_SHA256 in message and url in message
    assert hashlib.sha256(BODY[:-1] + b"!").hexdigest() in message
    assert os.listdir(cache) == []


def test_interrupted_transfer_is_a_download_error_and_not_kept(http_server, cache):
    url = http_server.add("/cut.bin", BODY[:5000], content_length=len(BODY))
    with pytest.raises(DownloadError, match="5000 of 256000 bytes"):
        fetch(url, BODY_SHA256, "cut.bin")
    assert os.listdir(cache) == []


def test_missing_file_is_a_download_error(http_server, cache):
    with pytest.raises(DownloadError, match="404"):
        fetch(http_server.url("/missing.bin"), BODY_SHA256, "missing.bin")
    assert os.listdir(cache) == []


def test_unreachable_server_says_how_to_provide_the_file(unreachable_url, cache):
    with pytest.raises(DownloadError) as error:
        fetch(unreachable_url + "data.bin", BODY_SHA256, "data.bin")
    message = str(error.value)
    assert isinstance(error.value, OSError)
    assert unreachable_url + "data.bin" in message
    assert "COURSE_DATA_DIR" in message
    assert "data_dir=" in message
    assert str(cache / "data.bin") in message
    assert os.listdir(cache) == []


def test_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    assert _paths.data_dir() is None
    assert _paths.data_dir(tmp_path) == tmp_path
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert _paths.data_dir() == tmp_path
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="COURSE_DATA_DIR.*nowhere"):
        _paths.data_dir()
    with pytest.raises(ValueError, match="data_dir argument.*absent"):
        _paths.data_dir(tmp_path / "absent")


def test_cache_dir_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "a" / "b"))
    assert _paths.cache_dir() == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
