"""Reference encoder-decoders of the arithmetic assignment (instructor side).

Three tasks on the queries of `course_utils.data.arithmetic` ("12+7 " ->
"19 "), every model a plain `model(x)` call:

* `build_text2text`:  (N, Tq, V) one-hot      -> (N, Ta, V) one-hot;
* `build_image2text`: (N, Tq, 28, 28) in [0,1] -> (N, Ta, V) one-hot;
* `build_text2image`: (N, Tq, V) one-hot      -> (N, Ta, 28, 28) sigmoid.

Tq, Ta = 5, 3 and V = 13 for numbers up to 99. The recipe on top of the
course template (LSTM -> RepeatVector -> LSTM -> TimeDistributed Dense):

* the query is read as aligned digit columns, units first (`AlignedColumns`:
  "12+7 " -> (2, 7, +), (1, 0, +)), and the encoder-decoder writes the answer
  as columns too, its sign and then its digits units first, which `AnswerText`
  turns back into the course's text. Both are fixed re-encodings, like
  reversing the query, and no arithmetic: the LSTMs learn to add, carry, borrow
  and sign from the examples alone. On 10% of the queries this takes test exact
  match from about 50% (the query text, reversed) to over 95%;
* a bidirectional first encoder layer, so every step sees the whole query;
* the decoder starts from the encoder's state and attends (dot-product
  attention) over the encoder's outputs; dropout 0.3 before the output layer;
* the image tasks put the course's frozen reader and painter around a text-to-text
  model: image2text trains it on the symbols the reader reads in the query images,
  read once (`fit_image2text`); text2image trains it on the symbols the reader reads
  in the target images (`fit_text2image`) and paints the symbols it writes;
* `fit_reference` trains with a small batch, a one-cycle learning rate
  (warm-up, then cosine decay) and early stopping on a validation slice of
  the training data, restoring the best weights.

`RECIPES[task][split]` holds the epochs, batch size, peak learning rate and
5-minute time cap of each run; bench/seq2seq.py measures what they reach
(bench/results/seq2seq.json).

    model = build_text2text()
    recipe = RECIPES["text2text"]["50/50"]
    FITTERS["text2text"](model, data.train.x_text, data.train.y_text, **recipe.fit_kwargs())
    answers = model.predict(data.test.x_text)  # (N, 3, 13) one-hot
"""

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from course_utils.data.arithmetic import INVALID, VOCAB, answers_to_int, decode, format_answers, to_indices

VOCAB_SIZE = len(VOCAB)  # 13
PLUS, MINUS, BLANK = (VOCAB.index(symbol) for symbol in "+- ")  # symbol indices 10, 11, 12
IMAGE_SIZE = 28


# ----------------------------------------------------------------------------
# Layers and metrics


@keras.saving.register_keras_serializable(package="course_utils")
class AlignedColumns(layers.Layer):
    """Query text as aligned digit columns, units first: (N, Tq, 13) symbols -> (N, D, 22).

    Column k (k = 0 for the units) holds the one-hot k-th digit of a (10), of b (10) and
    the operator (2: '+', '-'); a number with fewer digits is padded with zeros, so
    "12+7 " reads as the columns (2, 7, +), (1, 0, +). D = (Tq - 1) // 2 digits. A fixed,
    untrained re-encoding of the query (like reversing it): the digits that add up stand
    side by side, in the order in which carries and borrows travel.
    """

    def call(self, x):
        idx = ops.argmax(x, axis=-1)  # (N, Tq) symbol indices
        tq = x.shape[1]
        op_at = ops.argmax(ops.cast((idx == PLUS) | (idx == MINUS), "int32"), axis=-1)  # (N,)
        end = ops.sum(ops.cast(idx != BLANK, "int32"), axis=-1)  # (N,) length of "a op b"
        op = ops.take_along_axis(idx, op_at[:, None], axis=1)[:, 0] - PLUS  # (N,) 0 '+', 1 '-'

        def digit(position, valid):  # (N,) the digit at position, 0 where not valid
            d = ops.take_along_axis(idx, ops.clip(position, 0, tq - 1)[:, None], axis=1)[:, 0]
            return ops.where(valid & (d < 10), d, 0)

        columns = []
        for k in range((tq - 1) // 2):
            a_k = digit(op_at - 1 - k, op_at - 1 - k >= 0)  # (N,)
            b_k = digit(end - 1 - k, end - 1 - k > op_at)  # (N,)
            columns.append(ops.concatenate([ops.one_hot(a_k, 10), ops.one_hot(b_k, 10), ops.one_hot(op, 2)], -1))
        return ops.stack(columns, axis=1)  # (N, D, 22)


@keras.saving.register_keras_serializable(package="course_utils")
class AnswerText(layers.Layer):
    """Answer columns as answer text: (N, Ta + 1, 13) -> (N, Ta, 13) one-hot.

    Step 0 of the columns holds the sign ('+' or '-'), steps 1..Ta the digits of the
    answer's magnitude, units first (`answer_columns` writes them); the text is the number
    as the course writes it, e.g. "-5 ". The most likely symbols are read, so the output is
    one-hot: the fitters train the model before this layer (`fit_text2text`).
    """

    def __init__(self, answer_len, **kwargs):
        super().__init__(**kwargs)
        self.answer_len = answer_len
        self.lowest, self.highest = -(10 ** (answer_len - 1) - 1), 10**answer_len - 1
        values = np.arange(self.lowest, self.highest + 1)
        self.texts = to_indices(format_answers(values, answer_len), width=answer_len)  # (R, Ta)

    def call(self, columns):
        negative = columns[:, 0, MINUS] > columns[:, 0, PLUS]  # (N,)
        digits = ops.argmax(columns[:, 1:, :10], axis=-1)  # (N, Ta), units first
        magnitude = ops.sum(digits * (10 ** np.arange(self.answer_len)), axis=-1)  # (N,)
        value = ops.clip(ops.where(negative, -magnitude, magnitude), self.lowest, self.highest)
        text = ops.take(ops.convert_to_tensor(self.texts), value - self.lowest, axis=0)  # (N, Ta)
        return ops.one_hot(text, VOCAB_SIZE, dtype=columns.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.answer_len, VOCAB_SIZE)

    def get_config(self):
        return {**super().get_config(), "answer_len": self.answer_len}


def answer_columns(values, answer_len):
    """Integer answers as AnswerText's columns: (N,) -> (N, answer_len + 1, 13) one-hot float32,
    step 0 the sign, then the digits of |value|, units first."""
    values = np.asarray(values, dtype=np.int64)
    rows = np.arange(len(values))[:, None]
    steps = np.empty((len(values), answer_len + 1), dtype=np.int64)
    steps[:, 0] = np.where(values < 0, MINUS, PLUS)
    steps[:, 1:] = np.abs(values)[:, None] // 10 ** np.arange(answer_len) % 10
    columns = np.zeros((*steps.shape, VOCAB_SIZE), np.float32)
    columns[rows, np.arange(answer_len + 1), steps] = 1
    return columns


@keras.saving.register_keras_serializable(package="course_utils")
def sequence_accuracy(y_true, y_pred):
    """Whole-sequence exact match per example: (N, T, V) -> (N,) of 0/1."""
    same = ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1))  # (N, T)
    return ops.cast(ops.all(same, axis=-1), "float32")


def _rnn(units, cell="lstm", **kwargs):
    return (layers.LSTM if cell == "lstm" else layers.GRU)(units, **kwargs)


def _encoder_decoder(h, answer_len, *, units, encoder_layers, cell="lstm", attention=True,
                     bidirectional=True, dropout=0.3):
    """Encoder-decoder: (N, Tq, F) -> (N, Ta, D) features.

    Encoder: [Bidirectional RNN] + (encoder_layers - 1) stacked RNNs + an RNN
    whose final state starts the decoder; the decoder attends over the
    encoder's outputs (D = 2 * units with attention, else units).
    """
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


def _arithmetic_model(digits, answer_len, *, units, encoder_layers, learning_rate, **options):
    """Compiled encoder-decoder "arithmetic" on AlignedColumns: (N, digits, 22) ->
    softmax (N, answer_len + 1, 13), the columns AnswerText reads."""
    x = keras.Input((digits, 22))  # (N, D, 22)
    y = _answer_symbols(x, answer_len + 1, VOCAB_SIZE, units=units, encoder_layers=encoder_layers, **options)
    model = keras.Model(x, y, name="arithmetic")
    return _compile(model, "categorical_crossentropy", learning_rate, ["accuracy", sequence_accuracy])


def _text_model(query_len, answer_len, name, *, learning_rate, **arithmetic):
    """Compiled text-to-text model `name`: one-hot (N, query_len, 13) -> one-hot (N, answer_len, 13).

    AlignedColumns -> the encoder-decoder "arithmetic" (a compiled sub-model:
    `fit_text2text` trains it alone) -> AnswerText.
    """
    x = keras.Input((query_len, VOCAB_SIZE))  # (N, Tq, 13)
    columns = AlignedColumns()(x)  # (N, D, 22)
    arithmetic = _arithmetic_model((query_len - 1) // 2, answer_len, learning_rate=learning_rate, **arithmetic)
    y = AnswerText(answer_len)(arithmetic(columns))  # (N, Ta, 13)
    model = keras.Model(x, y, name=name)
    return _compile(model, "categorical_crossentropy", learning_rate, ["accuracy", sequence_accuracy])


def build_text2text(query_len=5, answer_len=3, *, encoder_layers=1, units=128, learning_rate=2e-3, **options):
    """Compiled text-to-text model: one-hot (N, query_len, 13) -> one-hot (N, answer_len, 13).
    Train it with `fit_text2text`."""
    return _text_model(query_len, answer_len, "text2text", units=units, encoder_layers=encoder_layers,
                       learning_rate=learning_rate, **options)


def build_image2text(query_len=5, answer_len=3, *, encoder_layers=1, units=128, learning_rate=2e-3, **options):
    """Compiled image-to-text model: images (N, query_len, 28, 28) in [0, 1] ->
    one-hot (N, answer_len, 13). Train it with `fit_image2text`.

    Each character image is read by the course's frozen character reader
    (`load_digit_classifier`, trained on MNIST's training digits only, layer
    "reader"); its symbol probabilities feed a text-to-text model (layer "symbols2text"),
    which reads the most likely symbol of each.
    """
    from course_utils.models.digit_classifier import load_digit_classifier

    reader = load_digit_classifier()  # (N, 28, 28) -> (N, 13)
    reader.trainable = False
    head = _text_model(query_len, answer_len, "symbols2text", units=units, encoder_layers=encoder_layers,
                       learning_rate=learning_rate, **options)
    x = keras.Input((query_len, IMAGE_SIZE, IMAGE_SIZE))  # (N, Tq, 28, 28)
    h = layers.TimeDistributed(reader, name="reader")(x)  # (N, Tq, 13)
    model = keras.Model(x, head(h), name="image2text")  # (N, Ta, 13)
    return _compile(model, "categorical_crossentropy", learning_rate, ["accuracy", sequence_accuracy])


def build_text2image(query_len=5, answer_len=3, *, encoder_layers=1, units=128, learning_rate=2e-3, **options):
    """Compiled text-to-image model: one-hot (N, query_len, 13) ->
    images (N, answer_len, 28, 28) sigmoid in [0, 1]. Train it with `fit_text2image`.

    A text-to-text model (layer "text2symbols") writes the answer's symbols, one-hot; the
    course's frozen character painter (`load_char_painter`, layer "painter") draws each
    at 28x28, so every character drawn is one clean symbol.
    """
    from course_utils.models.digit_classifier import load_char_painter

    painter = load_char_painter()  # (N, 13) -> (N, 28, 28)
    painter.trainable = False
    head = _text_model(query_len, answer_len, "text2symbols", units=units, encoder_layers=encoder_layers,
                       learning_rate=learning_rate, **options)
    x = keras.Input((query_len, VOCAB_SIZE))  # (N, Tq, 13)
    y = layers.TimeDistributed(painter, name="painter")(head(x))  # (N, Ta, 28, 28)
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


def fit_text2text(model, x, y, **fit):
    """Train a text-to-text model's encoder-decoder ("arithmetic") on the aligned columns of
    the queries x (N, Tq, 13) and the answer columns of y (N, Ta, 13) with fit_reference.
    Answers that are no number (misread ones, see fit_text2image) are left out.
    Returns the Keras `History`."""
    values = answers_to_int(decode(y))  # (N,) int64, INVALID where unparsable
    keep = values != INVALID
    if not keep.any():
        raise ValueError(f"none of the {len(values)} answers in y reads as a number (such as '19 ' or '-5 '); "
                         f"pass one-hot answers (N, Ta, 13) in the course's format")
    columns = ops.convert_to_numpy(AlignedColumns()(np.asarray(x, np.float32)[keep]))  # (n, D, 22)
    return fit_reference(model.get_layer("arithmetic"), columns, answer_columns(values[keep], y.shape[1]), **fit)


def fit_image2text(model, x, y, **fit):
    """Train an image2text model's text-to-text head on what its frozen reader reads in the
    query images x (N, Tq, 28, 28), read once. Returns the Keras `History`."""
    symbols = _read_symbols(model.get_layer("reader").layer, x)  # (N, Tq, 13)
    return fit_text2text(model.get_layer("symbols2text"), symbols, y, **fit)


def fit_text2image(model, x, y, **fit):
    """Train a text2image model's text-to-text head on the symbols the course's reader
    (`load_digit_classifier`, trained on MNIST's training digits) reads in the target images
    y (N, Ta, 28, 28). Trained on the images' pixels through the painter instead, symbol
    probabilities learn to blend symbols and some 70% of characters come out right.
    Returns the Keras `History`."""
    from course_utils.models.digit_classifier import load_digit_classifier

    labels = _read_symbols(load_digit_classifier(), y)  # (N, Ta, 13)
    return fit_text2text(model.get_layer("text2symbols"), x, labels, **fit)


# How each task's reference is trained: fitter(model, x, y, **recipe.fit_kwargs()).
FITTERS = {"text2text": fit_text2text, "image2text": fit_image2text, "text2image": fit_text2image}


@dataclass(frozen=True)
class Recipe:
    """Training settings of one task and split, read by the benchmark and checks."""

    epochs: int
    batch_size: int
    learning_rate: float
    patience: int = 30  # epochs without a better validation exact match before stopping
    max_seconds: float = 300  # the 5-minute cap of a training run

    def fit_kwargs(self):
        """Keyword arguments of fit_reference."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                "patience": self.patience, "max_seconds": self.max_seconds}


# RECIPES[task][split], split = "train%/test%" of the 20,000 queries. Learning to carry
# comes late and suddenly on small splits: hence many epochs and a long patience.
RECIPES = {
    "text2text": {
        "50/50": Recipe(epochs=100, batch_size=32, learning_rate=2e-3),
        "25/75": Recipe(epochs=150, batch_size=32, learning_rate=2e-3),
        "10/90": Recipe(epochs=300, batch_size=32, learning_rate=2e-3),
    },
    "image2text": {"50/50": Recipe(epochs=100, batch_size=32, learning_rate=2e-3)},
    "text2image": {"50/50": Recipe(epochs=100, batch_size=32, learning_rate=2e-3)},
}


# ----------------------------------------------------------------------------
# Evaluation


def exact_match(y_true, y_pred):
    """Fraction of whole answers right: (N, Ta, V) one-hot and probabilities -> float."""
    return float(np.mean(np.all(np.argmax(y_true, -1) == np.argmax(y_pred, -1), axis=-1)))


def char_accuracy(y_true, y_pred):
    """Fraction of answer characters right, padding included: -> float."""
    return float(np.mean(np.argmax(y_true, -1) == np.argmax(y_pred, -1)))
