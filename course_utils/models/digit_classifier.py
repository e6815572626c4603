"""Two small per-character models: a CNN that reads a 28x28 character image, and a
decoder that draws one. Both are given to students pre-trained: their weights ship with
the package (`weights/`), so every laptop and every grading machine reads and draws with
the same two models, whatever MNIST it has, with no training to wait for.

The reader tells whether a text-to-image model draws the right answer, and can serve
an image-to-text model as a ready-made character encoder; the painter can serve a
text-to-image model as a ready-made character decoder.

It tells whether a text-to-image model draws the right answer: each 28x28
image is classified as one of the 13 symbols of the arithmetic vocabulary
`VOCAB = "0123456789+- "`, class i being the symbol VOCAB[i]. It learns the
digits from the MNIST training digits, '+' and '-' from the same jittered
glyphs the data set draws, and the padding space ' ' from blank images (black,
or with faint noise), so a near-empty image reads as ' ' by classification,
with no brightness threshold.

    classifier = load_digit_classifier()           # the shipped reader
    read_images(classifier, images)                # (N, 3, 28, 28) -> ["19 ", "-5 ", ...]
    semantic_accuracy(classifier, images, answers)  # fraction of characters read right
    painter = load_char_painter()                  # (N, 13) symbol probabilities -> (N, 28, 28)
"""

from pathlib import Path

import numpy as np

from course_utils.data.arithmetic import OPERATORS, PAD, VOCAB, draw_glyphs

N_CLASSES = len(VOCAB)  # 13: ten digits, '+', '-', ' '
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the shipped weights, one .npz per model


def build_digit_classifier(n_classes=N_CLASSES, compile=True, learning_rate=1e-3):
    """CNN (compiled unless compile=False): images (N, 28, 28) in [0, 1] -> softmax (N, n_classes).

    It pools early (about 6.5 M multiply-adds per image, half those of two 3x3
    convolutions at full size, for the same accuracy), because a model that wraps it in
    `TimeDistributed` runs it on every query image of every training step. For the same
    reason its augmentation is not part of it: `train_digit_classifier` puts it around
    the model while training it (`augmented`).
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            layers.Reshape((28, 28, 1)),  # (N, 28, 28, 1)
            layers.Conv2D(32, 5, padding="same", activation="relu"),  # (N, 28, 28, 32)
            layers.MaxPooling2D(),  # (N, 14, 14, 32)
            layers.Conv2D(64, 3, padding="same", activation="relu"),  # (N, 14, 14, 64)
            layers.MaxPooling2D(),  # (N, 7, 7, 64)
            layers.Conv2D(128, 3, activation="relu"),  # (N, 5, 5, 128)
            layers.Flatten(),  # (N, 3200)
            layers.Dropout(0.4),
            layers.Dense(128, activation="relu"),  # (N, 128)
            layers.Dropout(0.3),
            layers.Dense(n_classes, activation="softmax"),  # (N, n_classes)
        ],
        name="digit_classifier",
    )
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def augmented(model):
    """`model` behind random shifts (up to 10%) and turns (up to 10 degrees), applied while
    training only: keras Model (N, 28, 28) -> the model's output. With 8,000 digits this
    lifts the reader's unseen-handwriting accuracy from about 97% to about 98.6%."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28)),
            layers.Reshape((28, 28, 1)),  # (N, 28, 28, 1)
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
            layers.RandomRotation(0.03, fill_mode="constant"),
            layers.Reshape((28, 28)),  # (N, 28, 28)
            model,
        ],
        name=f"augmented_{model.name}",
    )


def build_char_painter(n_classes=N_CLASSES, compile=True):
    """Decoder (compiled unless compile=False): symbol probabilities (N, n_classes) -> image (N, 28, 28)."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((n_classes,)),
            layers.Dense(7 * 7 * 32, activation="relu"),  # (N, 1568)
            layers.Reshape((7, 7, 32)),  # (N, 7, 7, 32)
            layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),  # (N, 14, 14, 32)
            layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),  # (N, 28, 28, 1)
            layers.Reshape((28, 28)),  # (N, 28, 28)
        ],
        name="char_painter",
    )
    if compile:
        model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def training_data(digits, labels, seed=0):
    """Images (M, 28, 28) float32 in [0, 1] and labels (M,) int64 (indices into VOCAB).

    The digits (uint8 or [0, 1]) plus as many '+', '-' and blank images as
    the average digit class has.
    """
    rng = np.random.default_rng(seed)
    digits = np.asarray(digits, dtype=np.float32)
    if digits.max(initial=0) > 1:
        digits = digits / 255
    n = max(len(digits) // 10, 1)  # images per non-digit class
    blanks = np.zeros((n, 28, 28), np.float32)
    faint = rng.random(n)[:, None, None] * 0.1  # half the blanks carry noise up to 0.1
    blanks[n // 2 :] = (rng.random((n - n // 2, 28, 28)) * faint[n // 2 :]).astype(np.float32)
    images = [digits] + [draw_glyphs(op, n, rng) for op in OPERATORS] + [blanks]
    labels = [np.asarray(labels, np.int64)] + [
        np.full(n, VOCAB.index(s), np.int64) for s in (*OPERATORS, PAD)
    ]
    images, labels = np.concatenate(images), np.concatenate(labels)
    order = rng.permutation(len(images))
    return images[order], labels[order]


def train_digit_classifier(digits, labels, *, epochs=10, seed=0, verbose=0):
    """A classifier trained on the digits plus glyphs and blanks, augmented, with a
    cosine-decayed learning rate: keras Model (uncompiled), as `build_digit_classifier`."""
    import keras

    keras.utils.set_random_seed(seed)
    x, y = training_data(digits, labels, seed)  # (M, 28, 28), (M,)
    steps = epochs * -(-len(x) // 64)
    model = build_digit_classifier(compile=False)
    trainer = augmented(model)
    trainer.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    trainer.fit(x, y, epochs=epochs, batch_size=64, verbose=verbose)
    return model


def train_char_painter(digits, labels, *, epochs=5, seed=0, verbose=0):
    """A painter trained to draw each symbol as the digits, glyphs and blanks show it: keras Model.

    With one-hot inputs it draws the typical (average) handwriting of each symbol.
    """
    import keras

    keras.utils.set_random_seed(seed)
    images, y = training_data(digits, labels, seed)  # (M, 28, 28), (M,)
    onehot = np.eye(N_CLASSES, dtype=np.float32)[y]  # (M, 13)
    model = build_char_painter()
    model.fit(onehot, images, epochs=epochs, batch_size=64, verbose=verbose)
    return model


def save_weights(model, path):
    """Write the model's weights to an .npz file, in `model.get_weights()` order."""
    np.savez(path, *model.get_weights())


def load_weights(model, path):
    """`model` with the weights `save_weights` wrote to `path`; returns the model."""
    with np.load(path) as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    wanted = [tuple(w.shape) for w in model.get_weights()]
    if [a.shape for a in arrays] != wanted:
        raise ValueError(f"{path} holds weights of shapes {[a.shape for a in arrays]}, but {model.name} "
                         f"needs {wanted}: the file is from another version of the model; the course "
                         f"staff regenerates it with `course train-readers`")
    model.set_weights(arrays)
    return model


def load_digit_classifier():
    """The shipped character reader: keras Model (N, 28, 28) in [0, 1] -> (N, 13) softmax.

    Trained (`train_digit_classifier`) on the 8,000 training digits of the MNIST sample
    the package embeds, plus '+', '-' and blanks; it reads the sample's 2,000 unseen test
    digits at about 98.5%.
    """
    return load_weights(build_digit_classifier(compile=False), WEIGHTS_DIR / "digit_classifier.npz")


def load_char_painter():
    """The shipped character painter, trained like the reader: keras Model (N, 13) -> (N, 28, 28) in [0, 1]."""
    return load_weights(build_char_painter(compile=False), WEIGHTS_DIR / "char_painter.npz")


def read_images(classifier, images, batch_size=1024):
    """The symbols drawn in the images: (N, T, 28, 28) -> list of N strings of length T."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[2:] != (28, 28):
        raise ValueError(f"expected images of shape (N, T, 28, 28), got {images.shape}")
    n, t = images.shape[:2]
    probs = classifier.predict(images.reshape(n * t, 28, 28), batch_size=batch_size, verbose=0)
    chars = np.array(list(VOCAB))[probs.argmax(-1)].reshape(n, t)  # (N, T)
    return ["".join(row) for row in chars]


def semantic_accuracy(classifier, images, answers, *, per="char"):
    """How often the classifier reads the intended answer: float in [0, 1].

    images (N, T, 28, 28); answers: N strings padded to width T ("19 ").
    per="char": fraction of the N * T characters read right, padding included;
    per="answer": fraction of whole answers read right.
    """
    if per not in ("char", "answer"):
        raise ValueError(f"per must be 'char' or 'answer', got {per!r}")
    read = np.array(read_images(classifier, images))
    answers = np.asarray(answers, dtype=str)
    if per == "answer":
        return float(np.mean(read == answers))
    read_chars = np.array([list(s) for s in read])  # (N, T)
    true_chars = np.array([list(s) for s in answers])  # (N, T)
    if read_chars.shape != true_chars.shape:
        raise ValueError(f"answers of shape {true_chars.shape} for images read as {read_chars.shape}")
    return float(np.mean(read_chars == true_chars))
