"""Reference encoder-decoders of the arithmetic assignment (instructor side).

Three tasks on the queries of `course_utils.data.arithmetic` ("12+7 " ->
"19 "), every model a plain `model(x)` call:

* `build_text2text`:  (N, Tq, V) one-hot      -> (N, Ta, V) softmax;
* `build_image2text`: (N, Tq, 28, 28) in [0,1] -> (N, Ta, V) softmax;
* `build_text2image`: (N, Tq, V) one-hot      -> (N, Ta, 28, 28) sigmoid.

Tq, Ta = 5, 3 and V = 13 for numbers up to 99. The recipe on top of the
course template (LSTM -> RepeatVector -> LSTM -> TimeDistributed Dense):

* the query is reversed inside the model (`ReverseTime`), so the last digits
  of the numbers, which decide the first answer digits, are read last;
* a bidirectional first encoder layer, so every step sees the whole query;
* the decoder starts from the encoder's state and attends (dot-product
  attention) over the encoder's outputs; dropout 0.3 before the output layer;
* the image tasks work in symbol space with the course's frozen reader and
  painter: image2text trains its encoder-decoder on the symbols the reader reads
  in the query images, read once (`fit_image2text`); text2image trains it on the
  symbols the reader reads in the target images (`fit_text2image`) and paints the
  most likely symbol (`HardSymbols`);
* `fit_reference` trains with a small batch, a one-cycle learning rate
  (warm-up, then cosine decay) and early stopping on a validation slice of
  the training data, restoring the best weights.

`RECIPES[task][split]` holds the epochs, batch size, peak learning rate and
5-minute time cap of each run; bench/seq2seq.py measures what they reach
(bench/results/seq2seq.json).

    model = build_text2text()
    recipe = RECIPES["text2text"]["50/50"]
    FITTERS["text2text"](model, data.train.x_text, data.train.y_text, **recipe.fit_kwargs())
    probs = model.predict(data.test.x_text)  # (N, 3, 13)
"""

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

VOCAB_SIZE = 13
IMAGE_SIZE = 28


# ----------------------------------------------------------------------------
# Layers and metrics


@keras.saving.register_keras_serializable(package="course_utils")
class ReverseTime(layers.Layer):
    """Flips the time axis: (N, T, ...) -> (N, T, ...), step t <- step T-1-t."""

    def call(self, x):
        return ops.flip(x, axis=1)


@keras.saving.register_keras_serializable(package="course_utils")
class HardSymbols(layers.Layer):
    """At inference, one-hot symbols: (N, T, V) probabilities -> (N, T, V) one-hot of the
    argmax; while training, the probabilities themselves (the fitters train the part
    before or after it alone).

    Trained on images alone, the probabilities learn to blend symbols that fit a given
    handwriting best; painted as they are, such blends are unreadable, while their argmax
    is nearly always the right symbol, which the painter then draws clean.
    """

    def call(self, probs, training=None):
        if training:
            return probs
        return ops.one_hot(ops.argmax(probs, axis=-1), ops.shape(probs)[-1], dtype=probs.dtype)


@keras.saving.register_keras_serializable(package="course_utils")
def sequence_accuracy(y_true, y_pred):
    """Whole-sequence exact match per example: (N, T, V) -> (N,) of 0/1."""
    same = ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1))  # (N, T)
    return ops.cast(ops.all(same, axis=-1), "float32")


def _rnn(units, cell="lstm", **kwargs):
    return (layers.LSTM if cell == "lstm" else layers.GRU)(units, **kwargs)


def _encoder_decoder(h, answer_len, *, units, encoder_layers, cell="lstm", attention=True,
                     bidirectional=True, dropout=0.3):
    """Encoder-decoder over the reversed sequence: (N, Tq, F) -> (N, Ta, D) features.

    Encoder: [Bidirectional RNN] + (encoder_layers - 1) stacked RNNs + an RNN
    whose final state starts the decoder; the decoder attends over the
    encoder's outputs (D = 2 * units with attention, else units).
    """
    h = ReverseTime()(h)  # (N, Tq, F), last query step first
    if bidirectional:
        h = layers.Bidirectional(_rnn(units // 2, cell, return_sequences=True))(h)  # (N, Tq, units)
    for _ in range(encoder_layers - 1):  # deeper encoder: stacked sequences
        h = _rnn(units, cell, return_sequences=True)(h)  # (N, Tq, units)
    h, *state = _rnn(units, cell, return_sequences=True, return_state=True)(h)
    # h: (N, Tq, units); state: [h_T, c_T] for LSTM, [h_T] for GRU, (N, units) each
    d = layers.RepeatVector(answer_len)(state[0])  # (N, Ta, units)
    d = _rnn(units, cell, return_sequences=True)(d, initial_state=state)  # (N, Ta, units)
    if attention:
        context = layers.Attention()([d, h])  # (N, Ta, units): weighted query steps
        d = layers.Concatenate()([d, context])  # (N, Ta, 2 * units)
    return layers.Dropout(dropout)(d) if dropout else d


def _answer_symbols(h, answer_len, vocab_size, **encoder_decoder):
    """The encoder-decoder and a per-step softmax: (N, Tq, F) -> (N, answer_len, vocab_size)."""
    d = _encoder_decoder(h, answer_len, **encoder_decoder)  # (N, Ta, D)
    return layers.TimeDistributed(layers.Dense(vocab_size, activation="softmax"))(d)  # (N, Ta, V)


def _compile(model, loss, learning_rate, metrics):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss=loss, metrics=metrics
    )
    return model


# ----------------------------------------------------------------------------
# Builders


def _symbols_model(query_len, in_dim, answer_len, out_dim, name, *, units, encoder_layers, learning_rate,
                   **options):
    """Compiled encoder-decoder on symbols: (N, query_len, in_dim) -> softmax (N, answer_len, out_dim)."""
    x = keras.Input((query_len, in_dim))  # (N, Tq, in_dim)
    y = _answer_symbols(x, answer_len, out_dim, units=units, encoder_layers=encoder_layers, **options)
    model = keras.Model(x, y, name=name)
    return _compile(model, "categorical_crossentropy", learning_rate, ["accuracy", sequence_accuracy])


def build_text2text(
    query_len=5, answer_len=3, vocab_size=VOCAB_SIZE, *, encoder_layers=1, units=256,
    learning_rate=2e-3, **options,
):
    """Compiled text-to-text model: one-hot (N, query_len, vocab_size) ->
    softmax (N, answer_len, vocab_size)."""
    return _symbols_model(query_len, vocab_size, answer_len, vocab_size, "text2text", units=units,
                          encoder_layers=encoder_layers, learning_rate=learning_rate, **options)


def build_image2text(
    query_len=5, answer_len=3, vocab_size=VOCAB_SIZE, *, encoder_layers=1, units=256,
    learning_rate=2e-3, **options,
):
    """Compiled image-to-text model: images (N, query_len, 28, 28) in [0, 1] ->
    softmax (N, answer_len, vocab_size).

    Each character image is read by the course's frozen character reader
    (`load_digit_classifier`, trained on MNIST's training digits only, layer
    "reader"); its most likely symbols, one-hot, feed a text-to-text encoder-decoder
    (the sub-model layer "symbols2text", compiled too: `fit_image2text` trains it alone).
    """
    from course_utils.models.digit_classifier import load_digit_classifier

    reader = load_digit_classifier()  # (N, 28, 28) -> (N, 13)
    reader.trainable = False
    head = _symbols_model(query_len, VOCAB_SIZE, answer_len, vocab_size, "symbols2text", units=units,
                          encoder_layers=encoder_layers, learning_rate=learning_rate, **options)
    x = keras.Input((query_len, IMAGE_SIZE, IMAGE_SIZE))  # (N, Tq, 28, 28)
    h = layers.TimeDistributed(reader, name="reader")(x)  # (N, Tq, 13)
    model = keras.Model(x, head(HardSymbols()(h)), name="image2text")  # the head reads one-hot symbols
    return _compile(model, "categorical_crossentropy", learning_rate, ["accuracy", sequence_accuracy])


def build_text2image(
    query_len=5, answer_len=3, vocab_size=VOCAB_SIZE, *, encoder_layers=1, units=256,
    learning_rate=2e-3, **options,
):
    """Compiled text-to-image model: one-hot (N, query_len, vocab_size) ->
    images (N, answer_len, 28, 28) sigmoid in [0, 1].

    A text-to-text encoder-decoder (the sub-model layer "text2symbols", compiled too:
    `fit_text2image` trains it alone) writes symbol probabilities, one-hot at inference
    (`HardSymbols`); the course's frozen character painter (`load_char_painter`, layer
    "painter") draws each at 28x28.
    """
    from course_utils.models.digit_classifier import load_char_painter

    painter = load_char_painter()  # (N, 13) -> (N, 28, 28)
    painter.trainable = False
    head = _symbols_model(query_len, vocab_size, answer_len, VOCAB_SIZE, "text2symbols", units=units,
                          encoder_layers=encoder_layers, learning_rate=learning_rate, **options)
    x = keras.Input((query_len, vocab_size))  # (N, Tq, V)
    y = layers.TimeDistributed(painter, name="painter")(HardSymbols()(head(x)))  # (N, Ta, 28, 28)
    model = keras.Model(x, y, name="text2image")
    return _compile(model, "binary_crossentropy", learning_rate, None)


BUILDERS = {"text2text": build_text2text, "image2text": build_image2text, "text2image": build_text2image}


# ----------------------------------------------------------------------------
# Training recipe


class OneCycle(keras.callbacks.Callback):
    """Learning rate per batch: linear warm-up to `peak` over `warmup` of the
    run, then cosine decay to `peak * final`.

    The run's progress is the larger of steps / total_steps and, with
    `seconds`, elapsed / seconds: under a time budget the schedule still
    completes, and training stops when the budget is spent.
    """

    def __init__(self, peak, total_steps, seconds=None, warmup=0.05, final=0.01):
        super().__init__()
        self.peak, self.total, self.seconds = peak, max(int(total_steps), 1), seconds
        self.warmup, self.final = warmup, final

    def rate(self, progress):
        """Learning rate at progress in [0, 1]."""
        if progress < self.warmup:
            return self.peak * (progress / self.warmup + 1e-2)
        cos = 0.5 * (1 + math.cos(math.pi * min((progress - self.warmup) / (1 - self.warmup), 1.0)))
        return self.peak * (self.final + (1 - self.final) * cos)

    def on_train_begin(self, logs=None):
        self.step, self.start = 0, time.perf_counter()

    def progress(self):
        p = self.step / self.total
        if self.seconds:
            p = max(p, (time.perf_counter() - self.start) / self.seconds)
        return p

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(self.rate(self.progress()))
        self.step += 1

    def on_train_batch_end(self, batch, logs=None):
        if self.progress() >= 1:
            self.model.stop_training = True


def fit_reference(
    model, x, y, *, epochs, batch_size, validation_fraction=0.1, seed=0, verbose=0,
    learning_rate=None, patience=10, max_seconds=None,
):
    """Train with the reference recipe; returns the Keras `History`.

    A random `validation_fraction` of (x, y) is held out (never the test
    data); the learning rate follows a one-cycle schedule peaking at
    `learning_rate` (default: the model's compiled rate); early stopping on
    the validation exact match (else loss; `patience` epochs) restores the best weights;
    `max_seconds` caps the training time (the schedule is squeezed to fit it).
    """
    x, y = np.asarray(x), np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(validation_fraction * len(x)))
    val, train = order[:n_val], order[n_val:]
    peak = learning_rate or float(ops.convert_to_numpy(model.optimizer.learning_rate))
    steps = epochs * math.ceil(len(train) / batch_size)
    callbacks = [OneCycle(peak, steps, max_seconds)]
    validation = None
    if n_val:
        validation = (x[val], y[val])
        # Exact match where the model reports it (text output), else the loss.
        monitor = "val_sequence_accuracy" if "sequence_accuracy" in _metric_names(model) else "val_loss"
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor, patience=patience, mode="min" if monitor == "val_loss" else "max",
                                          restore_best_weights=True)
        )
    history = model.fit(
        x[train], y[train], epochs=epochs, batch_size=batch_size, validation_data=validation,
        callbacks=callbacks, verbose=verbose, shuffle=True,
    )
    model.optimizer.learning_rate.assign(peak)  # leave the model as compiled
    return history


def _metric_names(model):
    metrics = getattr(model, "_compile_config", None)
    metrics = (metrics.config.get("metrics") if metrics else None) or []
    return [m if isinstance(m, str) else getattr(m, "__name__", "") for m in metrics]


def _read_symbols(reader, images):
    """The reader's most likely symbol per image, one-hot: (N, T, 28, 28) -> (N, T, 13)."""
    images = np.asarray(images, np.float32)
    probs = reader.predict(images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), batch_size=1024, verbose=0)  # (N * T, 13)
    return np.eye(VOCAB_SIZE, dtype=np.float32)[probs.argmax(-1)].reshape(*images.shape[:2], VOCAB_SIZE)


def fit_image2text(model, x, y, **fit):
    """Train an image2text model's encoder-decoder on what its frozen reader reads, read once:
    the same model trained by fit_reference, five times faster. Returns the Keras `History`."""
    symbols = _read_symbols(model.get_layer("reader").layer, x)  # (N, Tq, 13)
    return fit_reference(model.get_layer("symbols2text"), symbols, y, **fit)


def fit_text2image(model, x, y, **fit):
    """Train a text2image model's encoder-decoder on the symbols the course's reader
    (`load_digit_classifier`, trained on MNIST's training digits) reads in the target images
    y (N, Ta, 28, 28). Trained on the images' pixels instead, the symbol probabilities learn
    to blend symbols and the model paints some 70% of characters right. Returns the `History`."""
    from course_utils.models.digit_classifier import load_digit_classifier

    labels = _read_symbols(load_digit_classifier(), y)  # (N, Ta, 13)
    return fit_reference(model.get_layer("text2symbols"), x, labels, **fit)


# How each task's reference is trained: fitter(model, x, y, **recipe.fit_kwargs()).
FITTERS = {"text2text": fit_reference, "image2text": fit_image2text, "text2image": fit_text2image}


@dataclass(frozen=True)
class Recipe:
    """Training settings of one task and split, read by the benchmark and checks."""

    epochs: int
    batch_size: int
    learning_rate: float
    max_seconds: float = 300  # the 5-minute cap of a training run

    def fit_kwargs(self):
        """Keyword arguments of fit_reference."""
        return {"epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_seconds": self.max_seconds}


# RECIPES[task][split], split = "train%/test%" of the 20,000 queries.
RECIPES = {
    "text2text": {
        "50/50": Recipe(epochs=30, batch_size=64, learning_rate=2e-3),
        "25/75": Recipe(epochs=60, batch_size=32, learning_rate=2e-3),
        "10/90": Recipe(epochs=80, batch_size=32, learning_rate=2e-3),
    },
    "image2text": {"50/50": Recipe(epochs=40, batch_size=64, learning_rate=2e-3)},
    "text2image": {"50/50": Recipe(epochs=30, batch_size=64, learning_rate=2e-3)},
}


# ----------------------------------------------------------------------------
# Evaluation


def exact_match(y_true, y_pred):
    """Fraction of whole answers right: (N, Ta, V) one-hot and probabilities -> float."""
    return float(np.mean(np.all(np.argmax(y_true, -1) == np.argmax(y_pred, -1), axis=-1)))


def char_accuracy(y_true, y_pred):
    """Fraction of answer characters right, padding included: -> float."""
    return float(np.mean(np.argmax(y_true, -1) == np.argmax(y_pred, -1)))
