"""Checks of arrays read from files, with messages that say what was expected."""

import numpy as np


def _describe(x):
    if not isinstance(x, np.ndarray):
        return f"a {type(x).__name__}"
    return f"dtype {x.dtype} and shape {x.shape}"


def check_images(x, shape_tail, dtype, name):
    """Return `x` if it is an array of `dtype` and shape `(N, *shape_tail)`.

    Otherwise raise a `ValueError` that names `name`, what was expected and
    what was found.
    """
    shape_tail = tuple(shape_tail)
    dtype = np.dtype(dtype)
    if (
        not isinstance(x, np.ndarray)
        or x.dtype != dtype
        or x.ndim != 1 + len(shape_tail)
        or x.shape[1:] != shape_tail
    ):
        expected = ", ".join(["N", *map(str, shape_tail)])
        raise ValueError(f"expected {name} of dtype {dtype} and shape ({expected}), got {_describe(x)}")
    return x


def check_labels(y, n, name, num_classes=10):
    """Return `y` as uint8 if it holds `n` integer labels in `0..num_classes-1`.

    Otherwise raise a `ValueError` that names `name`, what was expected and
    what was found.
    """
    expected = f"expected {name} of an integer dtype, shape ({n},) and values 0..{num_classes - 1}"
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.shape != (n,):
        raise ValueError(f"{expected}, got {_describe(y)}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{expected}, got values {y.min()}..{y.max()}")
    return y.astype(np.uint8, copy=False)
