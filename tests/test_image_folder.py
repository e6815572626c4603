"""load_image_folder(): a folder tree of mixed images, unreadable files and the cache."""

import warnings

import numpy as np
import pytest
from PIL import Image

from course_utils.data import image_folder
from course_utils.data.image_folder import load_image_folder

RED, GREEN, BLUE, GREY, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (255, 255, 0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "image_folders"


@pytest.fixture
def tree(tmp_path):
    """Four readable images of various sizes and formats, one unreadable, one text file."""
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "c" / "d").mkdir(parents=True)
    # 100x60, green in the middle square, red and blue bands that the crop removes.
    wide = np.zeros((60, 100, 4), np.uint8)
    wide[:, :20], wide[:, 20:80], wide[:, 80:] = (*RED, 255), (*GREEN, 255), (*BLUE, 255)
    Image.fromarray(wide, "RGBA").save(root / "a" / "1.png")
    Image.new("RGB", (40, 80), BLUE).save(root / "b" / "2.JPG", quality=95)
    Image.new("RGB", (64, 64), YELLOW).save(root / "c" / "d" / "3.webp", quality=95)
    Image.new("L", (50, 50), 128).save(root / "4.jpeg", quality=95)
    (root / "broken.png").write_bytes(b"not an image at all")
    (root / "notes.txt").write_text("not an image either")
    return root


def test_tree_is_read_cropped_and_resized(tree, cache):
    with pytest.warns(UserWarning) as record:
        images = load_image_folder(tree, size=32)
    assert len(record) == 1
    assert "Skipped 1 unreadable image file(s) of 5" in str(record[0].message)
    assert "broken.png" in str(record[0].message)

    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    # Sorted by relative path: 4.jpeg, a/1.png, b/2.JPG, c/d/3.webp.
    means = images.mean(axis=(1, 2)) * 255
    np.testing.assert_allclose(means, [GREY, GREEN, BLUE, YELLOW], atol=4)
    np.testing.assert_allclose(images[1] * 255, np.broadcast_to(GREEN, (32, 32, 3)), atol=1)


def test_second_call_reads_the_cache(tree, cache, monkeypatch):
    with pytest.warns(UserWarning):
        first = load_image_folder(tree, size=16)
    assert len(list(cache.glob("*.npy"))) == 1

    def fail(*args):
        raise AssertionError("the images were read again instead of the cache")

    monkeypatch.setattr(image_folder, "_read_image", fail)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_image_folder(tree, size=16), first)


def test_changed_folder_or_size_is_read_again(tree, cache):
    with pytest.warns(UserWarning):
        load_image_folder(tree, size=16)
    Image.new("RGB", (20, 30), RED).save(tree / "b" / "5.png")
    with pytest.warns(UserWarning):
        images = load_image_folder(tree, size=16)
    assert len(images) == 5
    with pytest.warns(UserWarning):
        load_image_folder(tree, size=8)
    assert len(list(cache.glob("*.npy"))) == 3


def test_no_cache(tree, cache):
    with pytest.warns(UserWarning):
        load_image_folder(tree, size=8, cache=False)
    assert not cache.exists() or not list(cache.iterdir())


def test_empty_folder_names_the_path(tmp_path, cache):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"empty holds no image files; expected .*\.jpg"):
        load_image_folder(tmp_path / "empty")


def test_missing_folder(tmp_path, cache):
    with pytest.raises(FileNotFoundError, match="nowhere is not an existing folder"):
        load_image_folder(tmp_path / "nowhere")


def test_only_unreadable_files(tmp_path, cache):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.warns(UserWarning, match="Skipped 1"), pytest.raises(ValueError, match="none of the 1 image files"):
        load_image_folder(tmp_path / "bad")
