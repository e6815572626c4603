"""make_shapes(): the offline 64x64x3 dataset of coloured shapes."""

import time

import numpy as np
import pytest

from course_utils.data.shapes import SHAPE_NAMES, make_shapes


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(n=600, size=64, seed=0)


def test_shapes_dtypes_and_range(shapes):
    images, factors = shapes
    assert images.shape == (600, 64, 64, 3) and images.dtype == np.float32
    assert images.min() == 0 and images.max() <= 1
    assert SHAPE_NAMES == ("circle", "square", "triangle")
    assert factors["shape"].shape == (600,) and factors["shape"].dtype.kind == "i"
    assert set(np.unique(factors["shape"])) == {0, 1, 2}
    assert factors["color"].shape == (600, 3) and factors["color"].dtype == np.float32
    for name in ("x", "y", "scale"):
        assert factors[name].shape == (600,) and factors[name].dtype == np.float32
    # Each shape lies inside the image.
    assert (factors["x"] - factors["scale"] >= 0).all() and (factors["x"] + factors["scale"] <= 1).all()
    assert (factors["y"] - factors["scale"] >= 0).all() and (factors["y"] + factors["scale"] <= 1).all()


def test_deterministic_per_seed(shapes):
    images, factors = make_shapes(n=600, size=64, seed=0)
    np.testing.assert_array_equal(images, shapes[0])
    for name in factors:
        np.testing.assert_array_equal(factors[name], shapes[1][name])
    other, _ = make_shapes(n=600, size=64, seed=1)
    assert not np.array_equal(other, images)


def test_pixels_match_the_factors(shapes):
    images, factors = shapes
    n, size = len(images), images.shape[1]
    rows = (factors["y"] * size).astype(int)
    cols = (factors["x"] * size).astype(int)
    # The pixel at the shape's centre has the shape's colour.
    np.testing.assert_allclose(images[np.arange(n), rows, cols], factors["color"], atol=1e-6)
    # Outside the box of half-width `scale` around the centre (plus one pixel of
    # anti-aliasing) there is only the black background.
    centres = (np.arange(size) + 0.5) / size
    dx = np.abs(centres[None, None, :] - factors["x"][:, None, None])
    dy = np.abs(centres[None, :, None] - factors["y"][:, None, None])
    outside = np.maximum(dx, dy) > factors["scale"][:, None, None] + 1 / size
    assert outside.any(axis=(1, 2)).all()
    assert (images[outside] == 0).all()
    # The covered area grows with the scale and follows the shape's geometry.
    coverage = images.max(axis=3) / factors["color"].max(axis=1)[:, None, None]
    area = coverage.mean(axis=(1, 2))
    expected = np.array([np.pi, 4.0, 3 * 3**0.5 / 4])[factors["shape"]] * factors["scale"] ** 2
    np.testing.assert_allclose(area, expected, rtol=0.05)


def test_other_sizes_and_seeds():
    images, factors = make_shapes(n=5, size=28, seed=3)
    assert images.shape == (5, 28, 28, 3)
    assert len(factors["shape"]) == 5


def test_default_dataset_is_fast():
    start = time.perf_counter()
    images, _ = make_shapes()
    assert images.shape == (4096, 64, 64, 3)
    assert time.perf_counter() - start < 5
