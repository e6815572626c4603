"""Checks for the sequence-modelling assignment (hidden tests call these).

Every builder under test follows the assignment's interface:
    build_text2text(query_len, answer_len, vocab_size, encoder_layers=1)   (N, Tq, V) -> (N, Ta, V) softmax
    build_image2text(query_len, answer_len, vocab_size, encoder_layers=1)  (N, Tq, 28, 28) -> (N, Ta, V) softmax
    build_text2image(query_len, answer_len, vocab_size, encoder_layers=1)  (N, Tq, V) -> (N, Ta, 28, 28) in [0, 1]
and returns a compiled Keras model. Accuracy checks are honest: the grader builds a
fresh model, trains it on its own training part of a split (semester seed, budget
from course.toml [seq2seq.checks], or [seq2seq.ci_checks] on the ci budget) and scores
the complement, which the model never saw.
"""

from __future__ import annotations

import time

import numpy as np

from course_utils.checks import _trusted as t
from course_utils.checks import probes as pr
from course_utils.checks._trusted import Verdict, fail, passed
from course_utils.checks.probes import Request, probe
from course_utils.config import budget_mode, load_config, seq2seq_checks
from course_utils.data import arithmetic as _arith

# Captured at import: the grader's own data functions and settings.
_make_dataset = _arith.make_dataset
_render_split = _arith.render_split
_task_widths = _arith.task_widths
_encode = _arith.encode
_decode = _arith.decode
_VOCAB = _arith.VOCAB
_CONFIG = load_config()
_MODE = budget_mode()

MODALITIES = ("text2text", "image2text", "text2image")
# Before any training a fresh model must be near chance: a builder that hands back a model
# which already knows the answers (trained elsewhere, or computing them by hand) is not what
# the assignment asks for. Drawn answers start higher: blanks read as padding by chance.
MAX_SCORE_BEFORE_TRAINING = {"text2text": 0.05, "image2text": 0.05, "text2image": 0.30}
_BEFORE_PROBE = 500  # about this many test queries are scored before training
# Batches run per call into TensorFlow while the grader trains. The seq2seq models are
# small, so one Python round trip per batch dominated; 16 gives the same weights
# (tested) and trains about 20% faster, more when two kernels share the cores.
_STEPS_PER_EXECUTION = 16


# ----------------------------------------------------------------------------
# Encoding and decoding

_ENCODE_CASES = ["12+7 ", "0-99 ", "99+99", "5-5", "", "-98", "198", "7"]
_DECODE_CASES = ["19 ", "-5 ", "198", "0  ", "-99", "   ", "10 "]


_ENCODE_WIDTHS = (5, 7)


def _encode_request(rng) -> Request:
    calls = [{"args": [[c for c in _ENCODE_CASES if len(c) <= width], width]} for width in _ENCODE_WIDTHS]
    return Request("call", calls + [{"args": [["1*2"], 5]}])


@probe("seq2seq.encode", _encode_request)
def decide_encode(req: Request, results: dict) -> Verdict:
    """`encode_fn(strings, width) -> (N, width, 13)` one-hot, padded with ' ' on the right; a
    character outside the vocabulary raises ValueError."""
    for i, width in enumerate(_ENCODE_WIDTHS):
        cases = req.calls[i]["args"][0]
        try:
            got = pr.value(results, i)
        except pr.CallFailed as e:
            return fail(f"encode(strings, width={width}) raised {e}")
        want = _encode(cases, width=width)
        if got.shape != want.shape:
            return fail(f"encode of {len(cases)} strings at width {width} has shape {got.shape}, "
                        f"expected {want.shape} (N, width, {len(_VOCAB)})")
        for j, text in enumerate(cases):
            if not t.array_equal(got[j], want[j]):
                return fail(f"encode({text!r}) is wrong: each position must be one-hot over {_VOCAB!r}, "
                            f"padded with ' ' to width {width}")
    raised = pr.error_type(results, len(_ENCODE_WIDTHS))
    if raised == "ValueError":
        return passed("encode matches the reference, padding included, and rejects unknown characters")
    if raised:
        return fail(f"an unknown character should raise ValueError, got {raised}")
    return fail("encode(['1*2'], 5) should raise ValueError naming the unknown character '*'")


def check_encode(encode_fn) -> Verdict:
    """The encoding probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("seq2seq.encode", encode_fn)


def _decode_request(rng) -> Request:
    onehot = _encode(_DECODE_CASES, width=3)
    noisy = onehot * 1.5 + rng.random(onehot.shape).astype(np.float32)  # argmax unchanged; max prob ~0.3
    probs = (np.exp(noisy) / np.exp(noisy).sum(-1, keepdims=True)).astype(np.float32)
    return Request("call", [{"args": ["@onehot"]}, {"args": ["@probs"]}], {"onehot": onehot, "probs": probs})


@probe("seq2seq.decode", _decode_request)
def decide_decode(req: Request, results: dict) -> Verdict:
    """`decode_fn(probs (N, T, 13)) -> list of N strings`, argmax per position, padding kept."""
    for i, name in enumerate(("one-hot", "probabilities")):
        try:
            got = [str(g) for g in pr.value(results, i, dtype=str).reshape(-1)]
        except pr.CallFailed as e:
            return fail(f"decode of {name} raised {e}")
        except TypeError:
            return fail(f"decode of {name} must return a list of strings")
        if len(got) != len(_DECODE_CASES):
            return fail(f"decode of {len(_DECODE_CASES)} {name} returned {len(got)} strings")
        for g, want in zip(got, _DECODE_CASES):
            if g != want:
                return fail(f"decode of the {name} for one answer gave {g!r} (keep padding spaces; "
                            f"use the argmax, so probabilities work too)")
    return passed("decode gives every answer back, negative answers and padding included")


def check_decode(decode_fn) -> Verdict:
    """The decoding probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("seq2seq.decode", decode_fn)


# ----------------------------------------------------------------------------
# Model shapes


def _input_shape(modality, query_len):
    return (query_len, 28, 28) if modality == "image2text" else (query_len, len(_VOCAB))


def _output_shape(modality, answer_len):
    return (answer_len, 28, 28) if modality == "text2image" else (answer_len, len(_VOCAB))


def _build(build_fn, modality, max_number=99, encoder_layers=1, operators=("+", "-")):
    """A fresh model from the student's builder (Keras session cleared first)."""
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # no retracing notices in the student's feedback
    keras.backend.clear_session()
    query_len, answer_len = _task_widths(max_number, operators)
    model = build_fn(query_len, answer_len, len(_VOCAB), encoder_layers=encoder_layers)
    if not isinstance(model, keras.Model):
        raise TypeError(f"the builder returned {type(model).__name__}, not a keras.Model")
    return model


def _predict(model, x):
    import keras

    return t.array(keras.Model.predict(model, x, verbose=0, batch_size=256), "the model's output")


def check_builder(build_fn, modality: str, encoder_layers: int = 1) -> Verdict:
    """The builder makes a compiled model of the right input and output shapes, for the
    2-digit task and the 3-digit variant (max 199), with outputs in the right range."""
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}")
    for max_number in (99, 199):
        query_len, answer_len = _task_widths(max_number, ("+", "-"))
        try:
            model = _build(build_fn, modality, max_number, encoder_layers)
        except Exception as e:  # noqa: BLE001
            return fail(f"{modality} builder (max number {max_number}) raised {type(e).__name__}: {e}")
        if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
            return fail(f"{modality} builder must return a compiled model (call model.compile)")
        x = np.random.default_rng(1).random((4, *_input_shape(modality, query_len)), dtype=np.float32)
        try:
            y = _predict(model, x)
        except Exception as e:  # noqa: BLE001
            return fail(f"{modality} model failed on input of shape {x.shape}: {type(e).__name__}: {e}")
        want = (4, *_output_shape(modality, answer_len))
        if y.shape != want:
            return fail(f"{modality} model maps {x.shape} to {y.shape}, expected {want}")
        if modality == "text2image":
            if y.min() < 0 or y.max() > 1:
                return fail("text2image outputs must be pixel values in [0, 1] (a sigmoid output)")
        elif not t.allclose(y.sum(-1), 1, atol=1e-3) or y.min() < 0:
            return fail(f"{modality} outputs must be probabilities over the {len(_VOCAB)} symbols "
                        f"at each answer position (a softmax over the last axis)")
    return passed(f"{modality} builder: shapes and ranges right for 2 and 3 digits")


def count_recurrent_layers(model) -> int:
    """Recurrent layers in `model`, nested models and wrappers included."""
    import keras

    def walk(layer):
        if isinstance(layer, keras.layers.RNN) or type(layer).__name__ in ("LSTM", "GRU", "SimpleRNN"):
            yield layer
        for attr in ("layers", "layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            for sub in (inner if isinstance(inner, (list, tuple)) else [inner] if inner is not None else []):
                if sub is not layer:
                    yield from walk(sub)

    return len({id(layer) for layer in walk(model)})


def check_deeper_encoder(build_fn, modality: str) -> Verdict:
    """encoder_layers=2 builds a working model with more recurrent layers than encoder_layers=1."""
    try:
        shallow = count_recurrent_layers(_build(build_fn, modality, encoder_layers=1))
        deep_model = _build(build_fn, modality, encoder_layers=2)
    except Exception as e:  # noqa: BLE001
        return fail(f"{modality} builder raised {type(e).__name__}: {e}")
    query_len, answer_len = _task_widths(99, ("+", "-"))
    x = np.zeros((2, *_input_shape(modality, query_len)), np.float32)
    try:
        shape = _predict(deep_model, x).shape
    except Exception as e:  # noqa: BLE001
        return fail(f"{modality} model with encoder_layers=2 failed: {type(e).__name__}: {e}")
    if shape != (2, *_output_shape(modality, answer_len)):
        return fail(f"{modality} model with encoder_layers=2 maps {x.shape} to {shape}")
    deep = count_recurrent_layers(deep_model)
    if deep <= shallow:
        return fail(f"encoder_layers=2 should stack another recurrent layer in the encoder "
                    f"(found {shallow} recurrent layers with 1 and {deep} with 2)")
    return passed(f"{modality}: encoder_layers=2 stacks {deep - shallow} more recurrent layer(s)")


# ----------------------------------------------------------------------------
# Accuracy on the grader's own split


def _budget(modality: str):
    """This modality's check budget and threshold, for the budget mode the checks run on."""
    return seq2seq_checks(_CONFIG, _MODE)[modality]


def _task():
    """The semester's task: (max_number, operators)."""
    return _CONFIG["arithmetic"]["max_number"], tuple(_CONFIG["arithmetic"]["operators"])


def grading_data(train_fraction: float, modality: str, max_train_examples: int = 0, max_test_examples: int = 0):
    """(x_train, y_train, x_test, test_answers) for one split, built by the grader.

    Text arrays (N, T, 13); images (N, T, 28, 28) from disjoint digit pools (test-side
    handwriting is never seen in training). `max_train_examples` > 0 takes a seeded subset
    of the training part, `max_test_examples` > 0 of the test part.
    """
    seed = _CONFIG["semester"]["seed"]
    pools = None
    if modality != "text2text":
        from course_utils.data._paths import EMBEDDED_DIR
        from course_utils.data.mnist import load_mnist

        # Always the digits shipped with the package (checksummed), so every grading machine
        # draws the same handwriting whatever MNIST it has cached: MNIST's training digits
        # write the training queries, its test digits the test queries.
        pools = load_mnist(data_dir=EMBEDDED_DIR)
    max_number, operators = _task()
    data = _make_dataset(train_fraction, seed=seed, digit_pools=pools, render_images=False,
                         max_number=max_number, operators=operators)
    rng = np.random.default_rng(seed)
    rows = {}
    for side, limit in (("train", max_train_examples), ("test", max_test_examples)):
        rows[side] = np.arange(len(getattr(data, side)))
        if 0 < limit < len(rows[side]):
            rows[side] = rng.choice(rows[side], limit, replace=False)
    train, test = rows["train"], rows["test"]
    if modality == "text2text":
        return data.train.x_text[train], data.train.y_text[train], data.test.x_text[test], data.test.answers[test]
    x_train_img, y_train_img = _render_split(data, "train", train)
    if modality == "image2text":
        x_test_img, _ = _render_split(data, "test", test)
        return x_train_img, data.train.y_text[train], x_test_img, data.test.answers[test]
    return data.train.x_text[train], y_train_img, data.test.x_text[test], data.test.answers[test]


def _score(modality, outputs, answers) -> float:
    """Exact-match fraction of whole answers (text), or semantic accuracy (images)."""
    if modality == "text2image":
        from course_utils.models.digit_classifier import load_digit_classifier, semantic_accuracy

        return t.as_float(semantic_accuracy(load_digit_classifier(), outputs, answers))
    predicted = _decode(outputs)
    return t.as_float(t.np_mean(np.array(predicted) == np.array(answers, dtype=str)))


def evaluate_builder(build_fn, modality: str, train_fraction: float) -> dict:
    """Train a fresh model from `build_fn` on the grader's split; return its scores.

    Returns {"before": score before training, "after": score after, "seconds": training time}.
    """
    import keras

    budget = _budget(modality)
    epochs = budget["epochs"]
    if modality == "text2text":  # one budget per split
        epochs = epochs[list(_CONFIG["arithmetic"]["splits"]).index(train_fraction)]
    x_train, y_train, x_test, answers = grading_data(train_fraction, modality, budget["max_train_examples"],
                                                     budget["max_test_examples"])
    keras.utils.set_random_seed(_CONFIG["semester"]["seed"])
    max_number, operators = _task()
    model = _build(build_fn, modality, max_number, operators=operators)
    probe = slice(None, None, max(1, len(x_test) // _BEFORE_PROBE))  # a spread-out sample is enough
    before = _score(modality, _predict(model, x_test[probe]), answers[probe])
    students_steps = model.steps_per_execution  # predict() above was traced with it
    model.steps_per_execution, model.train_function = _STEPS_PER_EXECUTION, None  # traced afresh
    start = time.perf_counter()
    keras.Model.fit(model, **_fit_data(x_train, y_train, budget["batch_size"]), epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    model.steps_per_execution = students_steps  # a traced function and its batching must agree
    after = _score(modality, _predict(model, x_test), answers)
    return {"before": before, "after": after, "seconds": seconds}


def _fit_data(x, y, batch_size) -> dict:
    """fit()'s data arguments: the batches fit(x, y, shuffle=True) would draw, as a dataset
    with tf.data's autotuning off (or the arrays, where this Keras has no ArrayDataAdapter).

    Same batches, same weights. Autotuning's thread can hold the end of every epoch for
    seconds when a kernel shares its cores (measured: image2text 9.3 s an epoch on one core,
    5.9 s without it; two image2text checks side by side 95 and 103 s, 71 and 76 s without).
    """
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:  # a Keras that moved it: slower, still right
        return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True}
    import tensorflow as tf

    adapter = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    batches = adapter.get_tf_dataset().with_options(options)
    batches = batches.apply(tf.data.experimental.assert_cardinality(adapter.num_batches))  # no run-out warning
    return {"x": batches, "shuffle": False}  # already shuffled: True would only make Keras warn


def required_score(modality: str, train_fraction: float) -> float:
    """The minimum score course.toml sets for this modality at this split."""
    budget = _budget(modality)
    if modality == "text2text":
        splits = list(_CONFIG["arithmetic"]["splits"])
        if train_fraction not in splits:
            raise ValueError(f"no threshold for split {train_fraction}; course.toml has {splits}")
        return budget["min_exact"][splits.index(train_fraction)]
    return budget["min_exact" if modality == "image2text" else "min_semantic"]


def check_accuracy(build_fn, modality: str, train_fraction: float | None = None) -> Verdict:
    """A fresh model trained by the grader reaches the configured score on unseen queries."""
    train_fraction = _CONFIG["arithmetic"]["splits"][0] if train_fraction is None else train_fraction
    need = required_score(modality, train_fraction)  # also rejects a split with no budget
    what = "semantic accuracy" if modality == "text2image" else "exact match"
    split = f"{train_fraction:.0%}/{1 - train_fraction:.0%}"
    try:
        scores = evaluate_builder(build_fn, modality, train_fraction)
    except Exception as e:  # noqa: BLE001
        return fail(f"{modality} at {split}: building or training failed: {type(e).__name__}: {e}")
    if scores["before"] > MAX_SCORE_BEFORE_TRAINING[modality]:
        return fail(f"{modality}: a fresh model already scores {scores['before']:.1%} before training; "
                    f"the builder must return a new, untrained model")
    verdict = (f"{modality} at {split}: {what} {scores['after']:.1%} on unseen test queries "
               f"(required {need:.0%}; trained {scores['seconds']:.0f} s)")
    return passed(verdict) if scores["after"] >= need else fail(verdict)


# ----------------------------------------------------------------------------
# The training call and the score


class _FixedModel:
    """Stands in for a trained model: predict(x) and model(x) give fixed probabilities."""

    def __init__(self, probs):
        self._probs = probs

    def predict(self, x, *args, **kwargs):
        return self._probs[: len(x)].copy()

    def __call__(self, x, *args, **kwargs):
        return self.predict(x)


def check_training_and_scoring(train_fn, exact_match_fn) -> Verdict:
    """`exact_match_fn(model, x, answers)` scores whole answers; `train_fn(model, x, y, epochs)`
    fits the model with a validation part held out of the training data and returns the History."""
    import keras

    answers = ["19 ", "-5 ", "198", "0  ", "-99"]
    predicted = ["19 ", "-5 ", "189", "0  ", "-9 "]  # 3 of 5 exactly right, the others mostly right
    model = _FixedModel(_encode(predicted, width=3))
    x = np.zeros((5, 5, len(_VOCAB)), np.float32)
    try:
        score = t.as_float(exact_match_fn(model, x, list(answers)))
    except Exception as e:  # noqa: BLE001
        return fail(f"exact_match raised {type(e).__name__}: {e}")
    if abs(score - 0.6) > 1e-6:
        return fail(f"exact_match of 3 right answers out of 5 gave {score}, expected 0.6 "
                    f"(whole answers, not characters)")

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    tiny = keras.Sequential([keras.Input((5, len(_VOCAB))), keras.layers.Flatten(),
                             keras.layers.Dense(3 * len(_VOCAB)), keras.layers.Reshape((3, len(_VOCAB))),
                             keras.layers.Softmax()])
    tiny.compile(optimizer="adam", loss="categorical_crossentropy")
    data = _make_dataset(0.5, seed=0)
    before = [w.copy() for w in tiny.get_weights()]
    try:
        history = train_fn(tiny, data.train.x_text[:200], data.train.y_text[:200], epochs=2)
    except Exception as e:  # noqa: BLE001
        return fail(f"train raised {type(e).__name__}: {e}")
    if not isinstance(history, keras.callbacks.History):
        return fail(f"train must return the History that model.fit returns, got {type(history).__name__}")
    logs = history.history
    if len(logs.get("loss", [])) != 2:
        return fail("train(..., epochs=2) must train for exactly 2 epochs")
    if "val_loss" not in logs:
        return fail("train must hold out part of the training data for validation (validation_split)")
    if all(t.array_equal(b, a) for b, a in zip(before, tiny.get_weights())):
        return fail("train did not change the model's weights")
    return passed("train fits with a validation part; exact_match counts whole answers")
