"""Datasets of the course, as NumPy arrays (no TensorFlow).

Every loader looks at an explicit `data_dir=` first, then $COURSE_DATA_DIR, then its
cache ($COURSE_CACHE_DIR, default ~/.cache/course_utils), then downloads with a
sha256 check, and where it must, falls back to a sample shipped in `embedded/`.
"""

from course_utils.data import arithmetic
from course_utils.data._paths import cache_dir, data_dir
from course_utils.data.download import ChecksumError, DownloadError, fetch
from course_utils.data.fashion_mnist import FASHION_CLASSES, load_fashion_mnist, read_idx
from course_utils.data.image_folder import load_image_folder
from course_utils.data.mnist import load_mnist
from course_utils.data.shapes import SHAPE_NAMES, make_shapes

__all__ = [
    "arithmetic", "cache_dir", "data_dir", "ChecksumError", "DownloadError", "fetch",
    "FASHION_CLASSES", "load_fashion_mnist", "read_idx", "load_image_folder", "load_mnist",
    "SHAPE_NAMES", "make_shapes",
]
