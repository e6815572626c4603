"""A Fréchet distance between image sets, always a real number >= 0 (given to students).

The Fréchet distance between two Gaussians fitted to feature sets a and b is

    d = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2).

With S_a = R_a^T R_a (R_a from a QR of the centred features), the last trace
is the sum of the singular values of R_a R_b^T: a small SVD, no matrix square
root, so no complex parts from rounding noise ("1989424.07 - 0.003j"), and 0 for
identical sets up to rounding. The features come from a small CNN trained on
Fashion-MNIST (penultimate layer), a stand-in for the Inception network of FID:

    score = frechet_score(generated, real)          # images (N, 28, 28[, 1]) or (N, H, W, 3) in [0, 1]
    extractor = load_feature_classifier()           # trains once (about a minute), then cached
    features = extractor.image_features(images)     # (N, 64) float64
"""

import os

import numpy as np

from course_utils.data import _paths

FEATURE_DIM = 64  # size of the penultimate layer: the features
FEATURE_EPOCHS = 2  # training epochs of the feature classifier
FEATURE_BATCH_SIZE = 128
FEATURE_MAX_TRAIN_EXAMPLES = 0  # Fashion-MNIST training images used (0: all)
CACHE_VERSION = 1  # bump when the model or its training changes


def _centred_root(features):
    """R with R^T R = (X - mean)^T (X - mean) / (n - 1), from a QR: (min(n, d), d) float64; and the mean."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"expected features of shape (N, d) with N >= 2, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the features contain NaN or infinity")
    mean = x.mean(axis=0)
    r = np.linalg.qr(x - mean, mode="r")
    return r / np.sqrt(len(x) - 1), mean


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, d), (N_b, d): float >= 0."""
    r_a, mean_a = _centred_root(features_a)
    r_b, mean_b = _centred_root(features_b)
    if mean_a.shape != mean_b.shape:
        raise ValueError(f"features of different sizes: {mean_a.shape[0]} and {mean_b.shape[0]}")
    # tr(S_a) = |R_a|_F^2; tr((S_a^1/2 S_b S_a^1/2)^1/2) = sum of singular values of R_a R_b^T
    cross = np.linalg.svd(r_a @ r_b.T, compute_uv=False).sum()
    d = np.sum((mean_a - mean_b) ** 2) + np.sum(r_a**2) + np.sum(r_b**2) - 2 * cross
    return float(max(d, 0.0))


# ----------------------------------------------------------------------------
# Features from a Fashion-MNIST classifier


def build_feature_classifier(n_classes=10, feature_dim=FEATURE_DIM, compile=True):
    """CNN (compiled unless compile=False): images (N, 28, 28, 1) in [0, 1] -> softmax
    (N, n_classes); its layer "features" gives (N, feature_dim)."""
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"),  # (N, 26, 26, 32)
        layers.MaxPooling2D(),  # (N, 13, 13, 32)
        layers.Conv2D(64, 3, activation="relu"),  # (N, 11, 11, 64)
        layers.MaxPooling2D(),  # (N, 5, 5, 64)
        layers.Flatten(),  # (N, 1600)
        layers.Dense(feature_dim, activation="relu", name="features"),  # (N, feature_dim)
        layers.Dense(n_classes, activation="softmax"),  # (N, n_classes)
    ], name="feature_classifier")
    if compile:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def to_grey28(images):
    """Images (N, h, w), (N, h, w, 1) or (N, h, w, 3), in [0, 1] (or uint8 0..255)
    -> float32 (N, 28, 28, 1) in [0, 1]: RGB averaged to grey (luma), resized."""
    import keras

    x = np.asarray(images)
    x = x.astype(np.float32) / 255 if np.issubdtype(x.dtype, np.integer) else x.astype(np.float32)
    if x.ndim == 3:
        x = x[..., None]  # (N, h, w, 1)
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected images (N, h, w), (N, h, w, 1) or (N, h, w, 3), got {np.shape(images)}")
    if x.shape[-1] == 3:
        x = x @ np.array([[0.299], [0.587], [0.114]], np.float32)  # (N, h, w, 1)
    if x.shape[1:3] != (28, 28):
        x = keras.ops.convert_to_numpy(keras.ops.image.resize(x, (28, 28), antialias=True))
    return np.clip(x, 0, 1)


class FeatureExtractor:
    """Features of images from a trained classifier's layer "features"."""

    def __init__(self, classifier):
        import keras

        self.classifier = classifier
        self.model = keras.Model(classifier.inputs, classifier.get_layer("features").output)

    def image_features(self, images, batch_size=512):
        """Images (N, 28, 28), (N, 28, 28, 1) or (N, H, W, 3) in [0, 1] -> float64 (N, FEATURE_DIM)."""
        x = to_grey28(images)
        return np.asarray(self.model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)

    __call__ = image_features


def train_feature_classifier(x, y, *, epochs=FEATURE_EPOCHS, seed=0, verbose=0):
    """A classifier trained on images x (N, 28, 28) uint8 or [0, 1] with labels y (N,): keras Model."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_feature_classifier()
    model.fit(to_grey28(x), np.asarray(y, np.int64), epochs=epochs, batch_size=FEATURE_BATCH_SIZE,
              verbose=verbose)
    return model


def load_feature_classifier(cache=True, *, epochs=FEATURE_EPOCHS, max_train_examples=FEATURE_MAX_TRAIN_EXAMPLES,
                            download=True, verbose=0):
    """The feature extractor of a classifier trained on the Fashion-MNIST training
    images: FeatureExtractor. With `cache`, its weights are saved in the course
    cache folder (tagged with the version, epochs and examples) and loaded later."""
    from course_utils.data import load_fashion_mnist

    (x, y), _ = load_fashion_mnist(download=download)
    if 0 < max_train_examples < len(x):
        x, y = x[:max_train_examples], y[:max_train_examples]
    path = feature_classifier_path(len(x), epochs)
    if cache and path.is_file():
        model = build_feature_classifier(compile=False)  # for features only
        try:
            model.load_weights(path)
            return FeatureExtractor(model)
        except Exception:  # a corrupt or stale file: train again
            path.unlink(missing_ok=True)
    model = train_feature_classifier(x, y, epochs=epochs, verbose=verbose)
    if cache:  # whole or not at all: another process may be training and reading the same file
        partial = path.with_name(f".{os.getpid()}-{path.name}")
        model.save_weights(partial)
        os.replace(partial, path)
    return FeatureExtractor(model)


def feature_classifier_path(n_examples, epochs=FEATURE_EPOCHS):
    """Where `load_feature_classifier` caches the weights trained on `n_examples` images: Path."""
    return _paths.cache_dir() / f"feature_classifier-v{CACHE_VERSION}-{n_examples}-e{epochs}.weights.h5"


_DEFAULT = {}


def image_features(images, extractor=None):
    """Features of images (see `FeatureExtractor.image_features`): float64 (N, d).
    Without `extractor`, the cached `load_feature_classifier()`."""
    if extractor is None:
        if "extractor" not in _DEFAULT:
            _DEFAULT["extractor"] = load_feature_classifier()
        extractor = _DEFAULT["extractor"]
    return extractor.image_features(images)


def frechet_score(images_a, images_b, extractor=None):
    """Fréchet distance between the features of two image sets (N_a, ...), (N_b, ...): float >= 0.

    Lower is closer; it depends on the set sizes, so compare scores of equal-sized sets."""
    return frechet_distance(image_features(images_a, extractor), image_features(images_b, extractor))
