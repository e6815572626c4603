"""Coloured shapes on a dark background: a small image dataset made on the spot."""

import numpy as np

SHAPE_NAMES = ("circle", "square", "triangle")

_CHUNK = 256  # images drawn at once, to bound the memory of the coordinate grids
_SIN60 = 3**0.5 / 2


def make_shapes(n=4096, size=64, seed=0):
    """Draw `n` images of one coloured shape each; return `(images, factors)`.

    `images` is float32 `(n, size, size, 3)` in [0, 1]: a black background and
    one anti-aliased circle, square or upright triangle. `factors` is a dict of
    the generating factors, one row per image:

    - `"shape"`: int64 `(n,)`, an index into `SHAPE_NAMES`;
    - `"color"`: float32 `(n, 3)`, the RGB colour in [0, 1];
    - `"x"`, `"y"`: float32 `(n,)`, the centre as a fraction of the width
      (from the left) and of the height (from the top);
    - `"scale"`: float32 `(n,)`, the half-width (circle and square) or
      circumradius (triangle) as a fraction of the image size.

    The result depends only on `n`, `size` and `seed`.
    """
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(SHAPE_NAMES), n)
    scale = rng.uniform(0.12, 0.3, n).astype(np.float32)
    x = rng.uniform(scale, 1 - scale).astype(np.float32)
    y = rng.uniform(scale, 1 - scale).astype(np.float32)
    color = _hsv_to_rgb(rng.uniform(0, 1, n), rng.uniform(0.6, 1, n), rng.uniform(0.7, 1, n))

    images = np.empty((n, size, size, 3), np.float32)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        coverage = _coverage(shape[part], x[part], y[part], scale[part], size)
        images[part] = coverage[..., None] * color[part, None, None, :]
    return images, {"shape": shape, "color": color, "x": x, "y": y, "scale": scale}


def _coverage(shape, x, y, scale, size):
    """Return float32 `(m, size, size)`: how much of each pixel the shape covers."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    dx = (centres[None, None, :] - x[:, None, None]) * size  # (m, 1, size), in pixels
    dy = (centres[None, :, None] - y[:, None, None]) * size  # (m, size, 1), in pixels
    r = (scale * size)[:, None, None]

    # Signed distance to the edge in pixels (negative inside), per shape.
    circle = np.sqrt(dx**2 + dy**2) - r
    square = np.maximum(np.abs(dx), np.abs(dy)) - r
    # An upright equilateral triangle is the intersection of three half-planes,
    # each at the inradius r / 2 from the centre (y grows downwards).
    triangle = np.maximum(np.maximum(dy, _SIN60 * dx - 0.5 * dy), -_SIN60 * dx - 0.5 * dy) - r / 2

    which = shape[:, None, None]
    distance = np.where(which == 0, circle, np.where(which == 1, square, triangle))
    return np.clip(0.5 - distance, 0, 1).astype(np.float32)


def _hsv_to_rgb(h, s, v):
    """Return float32 `(n, 3)` RGB colours for hue, saturation and value in [0, 1]."""
    h = 6 * h
    pure = np.stack([np.abs(h - 3) - 1, 2 - np.abs(h - 2), 2 - np.abs(h - 4)], axis=1).clip(0, 1)
    return (v[:, None] * (1 - s[:, None] + s[:, None] * pure)).astype(np.float32)
