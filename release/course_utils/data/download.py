"""Download a file once into the cache, checked against its SHA-256."""

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from urllib.error import HTTPError

from tqdm import tqdm

from ._paths import CACHE_DIR_ENV, DATA_DIR_ENV, cache_dir

_CHUNK = 1 << 16


class ChecksumError(ValueError):
    """A file's SHA-256 is not the expected one."""


class DownloadError(OSError):
    """A file could not be downloaded; the message says how else to provide it."""

    def __init__(self, url, filename, alternatives, reason=None):
        self.url = url
        self.filename = filename
        self.alternatives = list(alternatives)
        self.reason = reason
        lines = [f"Could not download {filename} from {url}" + (f": {reason}" if reason else "") + "."]
        lines.append("Provide the file in one of these ways:")
        lines += [f"  - {way}" for way in self.alternatives]
        super().__init__("\n".join(lines))

    def __str__(self):
        return self.args[0]


def alternatives(filename, cached_path):
    """Return the ways to provide `filename` by hand, as sentences."""
    return [
        f"put {filename} in a folder and set the environment variable {DATA_DIR_ENV} to that folder",
        f"put {filename} in a folder and pass data_dir='that folder' to the loader",
        f"copy {filename} to {cached_path} (the cache; {CACHE_DIR_ENV} moves it)",
    ]


def sha256sum(path):
    """Return the SHA-256 of the file at `path` as a hex string."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, sha256):
    """Return `path` if its SHA-256 is `sha256` (or one of several), else raise `ChecksumError`."""
    expected = (sha256,) if isinstance(sha256, str) else tuple(sha256)
    actual = sha256sum(path)
    if actual not in expected:
        raise ChecksumError(
            f"{path} has SHA-256 {actual}, expected {' or '.join(expected)}: "
            "the file is damaged or not the expected version; replace or delete it."
        )
    return Path(path)


def fetch(url, sha256, filename, *, cache=None, timeout=30):
    """Return the path of `filename` in the cache, downloading it from `url` if needed.

    A cached file is used only if its SHA-256 is `sha256`. A download goes to a
    temporary file and is renamed into place only once complete and checked, so
    nothing partial or wrong is ever kept. Raises `DownloadError` when the
    transfer fails and `ChecksumError` when the content is not the expected one.
    """
    folder = Path(cache) if cache is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if target.is_file():
        if sha256sum(target) == sha256:
            return target
        target.unlink()

    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            try:
                actual = _stream(url, file, timeout, desc=filename)
            except (OSError, http.client.HTTPException) as error:
                if isinstance(error, HTTPError):
                    error.close()  # it holds the server's error page
                    reason = error
                else:
                    reason = getattr(error, "reason", error)  # URLError wraps the socket's error
                raise DownloadError(url, filename, alternatives(filename, target), reason) from error
        if actual != sha256:
            raise ChecksumError(
                f"The file downloaded from {url} has SHA-256 {actual}, expected {sha256}; "
                "it was not kept. The server may hold a different version of the file."
            )
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a cache file is not secret
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return target


def _stream(url, file, timeout, desc):
    """Copy `url` into `file` and return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    received = 0
    request = urllib.request.Request(url, headers={"User-Agent": "course_utils"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                   file=sys.stderr, disable=total is None, leave=False)
        with bar:
            while chunk := response.read(_CHUNK):
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise ConnectionError(f"the transfer stopped after {received} of {total} bytes")
    return digest.hexdigest()
