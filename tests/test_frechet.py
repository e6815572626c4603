"""The Fréchet distance is real, >= 0, 0 for identical sets, and grows with noise."""

import warnings

import numpy as np
import pytest

from course_utils.models import frechet
from course_utils.models.frechet import frechet_distance


def _features(n=400, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)


def _reference_distance(a, b):
    """The textbook formula, with the matrix square root from an eigendecomposition."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)
    return np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(middle).sum()


def test_matches_the_textbook_formula_and_is_symmetric():
    a, b = _features(seed=0), _features(300, seed=1)
    d = frechet_distance(a, b)
    assert isinstance(d, float) and d > 0
    assert d == pytest.approx(_reference_distance(a, b), rel=1e-8)
    assert frechet_distance(b, a) == pytest.approx(d, rel=1e-10)


@pytest.mark.parametrize("n, d, scale", [(400, 16, 1.0), (10, 64, 30.0), (2000, 64, 100.0), (3, 128, 1.0)])
def test_zero_for_identical_sets(n, d, scale):
    a = np.random.default_rng(n).normal(size=(n, d)) * scale
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(a, a.copy()) == pytest.approx(0, abs=1e-6)


def test_always_a_real_number_at_least_zero():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n_a, n_b, d = rng.integers(2, 40, size=3)
        a = rng.normal(size=(n_a, d)) * rng.uniform(0.1, 1000)
        b = a[: n_b] + rng.normal(size=(min(n_a, n_b), d)) * rng.uniform(0, 1e-3)
        value = frechet_distance(a, b)
        assert type(value) is float and np.isfinite(value) and value >= 0


def test_tiny_sets_with_fewer_samples_than_features():
    a, b = np.random.default_rng(0).normal(size=(2, 2, 100))
    assert np.isfinite(frechet_distance(a, b)) and frechet_distance(a, b) > 0


def test_grows_with_the_noise_added_to_one_set():
    a, b = _features(1000, seed=0), _features(1000, seed=0)[::-1]
    noise = np.random.default_rng(1).normal(size=b.shape)
    scores = [frechet_distance(a, b + s * noise) for s in (0, 0.1, 0.3, 1, 3)]
    assert scores[0] == pytest.approx(0, abs=1e-6)
    assert all(x < y for x, y in zip(scores, scores[1:]))


def test_rejects_bad_features():
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="different sizes"):
        frechet_distance(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((3, 4), np.nan), np.zeros((3, 4)))


# ---------------------------------------------------------------- image features

def _fashion():
    from course_utils.data import load_fashion_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the embedded sample is enough here
        return load_fashion_mnist(download=False)


@pytest.fixture(scope="module")
def extractor():
    """A barely trained extractor (1 epoch on 2,000 images): the plumbing, not the quality."""
    pytest.importorskip("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the embedded sample is enough here
        return frechet.load_feature_classifier(cache=False, epochs=1, max_train_examples=2000, download=False)


def test_image_features_accept_grey_and_rgb_images(extractor):
    (x, _), _ = _fashion()
    grey = x[:5] / 255
    f = extractor.image_features(grey)
    assert f.shape == (5, frechet.FEATURE_DIM) and f.dtype == np.float64
    assert np.allclose(extractor(grey[..., None]), f, atol=1e-5)
    assert np.allclose(extractor(x[:5]), f, atol=1e-5)  # uint8 0..255
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    assert np.allclose(extractor(rgb), f, atol=1e-4)  # equal channels: the same grey
    assert extractor(np.random.default_rng(0).random((3, 64, 64, 3))).shape == (3, frechet.FEATURE_DIM)
    with pytest.raises(ValueError):
        extractor(np.zeros((2, 28, 28, 2)))


def test_frechet_score_grows_with_image_noise(extractor):
    _, (x, _) = _fashion()
    a, b = x[:200] / 255, x[200:400] / 255
    noise = np.random.default_rng(0).normal(size=b.shape)
    assert frechet.frechet_score(a, a, extractor) == pytest.approx(0, abs=1e-6)
    scores = [frechet.frechet_score(a, np.clip(b + s * noise, 0, 1), extractor) for s in (0, 0.2, 0.5, 1.0)]
    assert all(x < y for x, y in zip(scores, scores[1:])), scores


@pytest.mark.slow
def test_the_cached_classifier_is_trained_once_and_reads_clothes(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    first = frechet.load_feature_classifier()
    assert len(list(tmp_path.glob(f"feature_classifier-v{frechet.CACHE_VERSION}-*.weights.h5"))) == 1
    (x_train, _), (x, y) = _fashion()
    accuracy = np.mean(first.classifier.predict(x[:, :, :, None] / 255, verbose=0).argmax(-1) == y)
    assert accuracy > (0.85 if len(x_train) == 60_000 else 0.6)  # the full set, or the embedded sample
    again = frechet.load_feature_classifier()
    assert np.allclose(again.image_features(x[:10]), first.image_features(x[:10]), atol=1e-5)
