"""A folder of your own images, as one array of square RGB images."""

import hashlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from ._paths import cache_dir

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
_UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


def load_image_folder(path, size=64, *, cache=True):
    """Load every image under the folder `path` as float32 `(N, size, size, 3)` in [0, 1].

    The folder is searched recursively, in sorted order, for .jpg, .jpeg, .png
    and .webp files. Each image is converted to RGB, center-cropped to a square
    and resized to `size` x `size`. Unreadable files are skipped with a warning.
    With `cache=True` the result is kept in the cache and read from there until
    a file in the folder is added, removed or changed.
    """
    root = Path(path).expanduser()
    expected = f"a folder of {', '.join(IMAGE_EXTENSIONS)} images (searched recursively)"
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not an existing folder; expected {expected}")
    files = sorted(
        (file for file in root.rglob("*") if file.suffix.lower() in IMAGE_EXTENSIONS and file.is_file()),
        key=lambda file: file.relative_to(root).as_posix(),
    )
    if not files:
        raise ValueError(f"{root} holds no image files; expected {expected}")

    cached = cache_dir() / "image_folders" / f"{_cache_key(root, files, size)}.npy"
    if cache and cached.is_file():
        try:
            return _to_float(np.load(cached, allow_pickle=False), size)
        except (OSError, ValueError):
            pass  # a damaged cache file is read again from the images

    images, skipped = [], []
    bar = tqdm(files, desc=f"Reading {root.name}", unit="image", file=sys.stderr,
               disable=len(files) < 100, leave=False)
    for file in bar:
        try:
            images.append(_read_image(file, size))
        except _UNREADABLE:
            skipped.append(file.relative_to(root).as_posix())
    if skipped:
        more = ", ..." if len(skipped) > 5 else ""
        warnings.warn(
            f"Skipped {len(skipped)} unreadable image file(s) of {len(files)} in {root}: "
            f"{', '.join(skipped[:5])}{more}",
            stacklevel=2,
        )
    if not images:
        raise ValueError(f"none of the {len(files)} image files in {root} could be read; expected {expected}")

    images = np.stack(images)
    if cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        temporary = cached.with_name(f".{cached.stem}.{os.getpid()}.npy")
        np.save(temporary, images)
        os.replace(temporary, cached)
    return _to_float(images, size)


def _read_image(file, size):
    """Return the image in `file` as uint8 `(size, size, 3)`: RGB, center-cropped, resized."""
    with Image.open(file) as image:
        image.draft("RGB", (2 * size, 2 * size))  # JPEG only: decode big photos at a smaller scale
        image = ImageOps.exif_transpose(image).convert("RGB")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _cache_key(root, files, size):
    """Hash the folder's location, each file's relative path, byte size and mtime, and `size`."""
    digest = hashlib.sha256(f"image_folder v1\n{root.resolve()}\n{size}\n".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(root).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def _to_float(images, size):
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ValueError(f"unexpected cached array of dtype {images.dtype} and shape {images.shape}")
    return images.astype(np.float32) / np.float32(255)
