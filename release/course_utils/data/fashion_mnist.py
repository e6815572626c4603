"""Fashion-MNIST (Zalando): 28x28 greyscale images of clothes in 10 classes."""

import gzip
import warnings
import zlib
from pathlib import Path

import numpy as np

from . import _paths
from ._validate import check_images, check_labels
from .download import DownloadError, fetch, sha256sum, verify

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# The original files (served at FASHION_MNIST_URL) and Debian's package
# dataset-fashion-mnist hold the same data, but Debian recompressed them,
# so each file has two accepted SHA-256 sums: (original, Debian).
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ),
}
# Zalando's download host; it serves plain HTTP only (the SHA-256 checks the content).
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SYSTEM_DIRS = [Path("/usr/share/datasets/fashion-mnist")]

SAMPLE_FILE = "fashion-mnist-sample.npz"
SAMPLE_SHA256 = "da091cad03bf6ee4282c8d62262c1f3ac3c3960342e622ad52734aa92d73d233"

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read an IDX file (gzip-compressed or not) and return its array.

    The dtype and shape come from the file's header, e.g. uint8 `(60000, 28, 28)`
    for the training images. A truncated or malformed file is a `ValueError`.
    """
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path} is not a valid gzip file ({error})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file: its header is {data[:4]!r}")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(f"{path} is truncated: its header ends after {len(data)} bytes")
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path} is truncated or damaged: a {shape} array of {dtype.name} needs "
            f"{expected} bytes, the file has {len(data)}"
        )
    array = np.frombuffer(data, dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def load_fashion_mnist(data_dir=None, *, download=True):
    """Load Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`.

    `x` is uint8 of shape `(N, 28, 28)`, 0..255, white on black; `y` is uint8 of
    shape `(N,)`, an index into `FASHION_CLASSES`. The four original IDX files
    are looked for in this order:

    1. the data folder (`data_dir`, else the environment variable
       `COURSE_DATA_DIR`), directly or in its `fashion-mnist/` subfolder;
    2. the folders in `SYSTEM_DIRS` (Debian's package `dataset-fashion-mnist`);
    3. the cache, files downloaded earlier;
    4. a download from `FASHION_MNIST_URL`, unless `download=False`;
    5. the small sample shipped with this package (2,000 train and 500 test
       images, balanced over the classes), with a warning.

    Every file is checked against its SHA-256 (`ChecksumError` if it differs).
    """
    folders = [Path(folder) for folder in SYSTEM_DIRS]
    folder = _paths.data_dir(data_dir)
    if folder is not None:
        folders = [folder, folder / "fashion-mnist", *folders]
    for folder in folders:
        paths = {name: folder / name for name in FASHION_MNIST_FILES}
        if all(path.is_file() for path in paths.values()):
            return _read_files({name: verify(path, FASHION_MNIST_FILES[name]) for name, path in paths.items()})

    cache = _paths.cache_dir() / "fashion-mnist"
    if download:
        try:
            return _read_files({name: fetch(FASHION_MNIST_URL + name, sums[0], name, cache=cache)
                                for name, sums in FASHION_MNIST_FILES.items()})
        except DownloadError as error:
            reason = f"downloading {error.filename} failed ({error.reason})"
    elif all((cache / name).is_file() and sha256sum(cache / name) == sums[0]
             for name, sums in FASHION_MNIST_FILES.items()):
        return _read_files({name: cache / name for name in FASHION_MNIST_FILES})
    else:
        reason = "download=False was passed"

    warnings.warn(
        f"Using the embedded sample of Fashion-MNIST (2,000 train and 500 test images): "
        f"the full set was not found and {reason}. To use all 70,000 images, get the 4 files "
        f"{', '.join(FASHION_MNIST_FILES)} from {FASHION_MNIST_URL} and put them in a folder "
        f"named by the environment variable {_paths.DATA_DIR_ENV}, or pass data_dir=that folder, "
        f"or copy them to {cache}; on Debian or Ubuntu, `apt install dataset-fashion-mnist` also works.",
        _paths.DataFallbackWarning,
        stacklevel=2,
    )
    return _read_sample(verify(_paths.EMBEDDED_DIR / SAMPLE_FILE, SAMPLE_SHA256))


def _read_split(x_path, y_path):
    x = check_images(read_idx(x_path), (28, 28), np.uint8, f"images in {x_path}")
    return x, check_labels(read_idx(y_path), len(x), f"labels in {y_path}")


def _read_files(paths):
    return (
        _read_split(paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"]),
        _read_split(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"]),
    )


def _read_sample(path):
    with np.load(path, allow_pickle=False) as npz:
        splits = []
        for split in ("train", "test"):
            x = check_images(npz[f"x_{split}"], (28, 28), np.uint8, f"x_{split} in {path}")
            splits.append((x, check_labels(npz[f"y_{split}"], len(x), f"y_{split} in {path}")))
    return tuple(splits)


def _make_sample(folder, path, train_per_class=200, test_per_class=50):
    """Write the embedded sample from the full files in `folder`.

    It keeps the first `train_per_class` training and `test_per_class` test
    images of each class, in the files' order.
    """
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(folder)
    arrays = {}
    for split, x, y, per_class in (("train", x_train, y_train, train_per_class),
                                   ("test", x_test, y_test, test_per_class)):
        keep = np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)]))
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x[keep], y[keep]
    np.savez_compressed(path, **arrays)
