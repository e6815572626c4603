"""The reference seq2seq models and the digit classifier: shapes, ranges, quick training."""

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_utils.data.arithmetic import VOCAB, encode, format_answers, make_dataset, render  # noqa: E402
from course_utils.models import digit_classifier as dc  # noqa: E402
from course_utils.reference import seq2seq as ref  # noqa: E402

RNG = np.random.default_rng(0)
VARIANTS = [  # (query_len, answer_len, encoder_layers)
    (5, 3, 1),
    (7, 4, 1),
    (5, 3, 2),
]


def _text(n, t):
    return np.eye(13, dtype=np.float32)[RNG.integers(0, 13, (n, t))]  # (n, t, 13)


def _answers(n, t=3):
    return encode(format_answers(RNG.integers(-99, 199, n), t), width=t)  # (n, t, 13)


@pytest.mark.parametrize("tq, ta, layers", VARIANTS)
def test_text2text_shapes(tq, ta, layers):
    model = ref.build_text2text(tq, ta, encoder_layers=layers)
    assert model.input_shape == (None, tq, 13) and model.output_shape == (None, ta, 13)
    y = model.predict(_text(4, tq), verbose=0)
    assert y.shape == (4, ta, 13)
    np.testing.assert_allclose(y.sum(-1), 1, atol=1e-4)
    assert model.optimizer is not None  # compiled


@pytest.mark.parametrize("tq, ta, layers", VARIANTS)
def test_image2text_shapes(tq, ta, layers):
    model = ref.build_image2text(tq, ta, encoder_layers=layers)
    assert model.output_shape == (None, ta, 13)
    y = model.predict(RNG.random((4, tq, 28, 28), dtype=np.float32), verbose=0)
    assert y.shape == (4, ta, 13)
    np.testing.assert_allclose(y.sum(-1), 1, atol=1e-4)


@pytest.mark.parametrize("tq, ta, layers", VARIANTS)
def test_text2image_shapes(tq, ta, layers):
    model = ref.build_text2image(tq, ta, encoder_layers=layers)
    y = model.predict(_text(4, tq), verbose=0)
    assert y.shape == (4, ta, 28, 28)
    assert y.min() >= 0 and y.max() <= 1


def _columns(queries):
    """AlignedColumns as (a digits, b digits, operator symbols), units first."""
    columns = keras.ops.convert_to_numpy(ref.AlignedColumns()(encode(queries)))  # (N, D, 22)
    ops = np.array(["+", "-"])[columns[..., 20:].argmax(-1)]
    return columns[..., :10].argmax(-1), columns[..., 10:20].argmax(-1), ops


def test_aligned_columns_put_digits_of_the_same_place_side_by_side():
    a, b, ops = _columns(["12+7 ", "3-45 ", "0+0  ", "99-99"])
    np.testing.assert_array_equal(a, [[2, 1], [3, 0], [0, 0], [9, 9]])
    np.testing.assert_array_equal(b, [[7, 0], [5, 4], [0, 0], [9, 9]])
    np.testing.assert_array_equal(ops, [["+", "+"], ["-", "-"], ["+", "+"], ["-", "-"]])
    a, b, _ = _columns(["199+7  ", "5-120  "])  # the 3-digit variant: 3 columns
    np.testing.assert_array_equal(a, [[9, 9, 1], [5, 0, 0]])
    np.testing.assert_array_equal(b, [[7, 0, 0], [0, 2, 1]])


def test_answer_text_reads_every_answer_back():
    for width, values in ((3, np.arange(-99, 999)), (4, np.arange(-999, 9999))):
        columns = ref.answer_columns(values, width)  # (N, width + 1, 13)
        assert columns.shape == (len(values), width + 1, 13)
        text = keras.ops.convert_to_numpy(ref.AnswerText(width)(columns))
        np.testing.assert_array_equal(text, encode(format_answers(values, width), width=width))


def test_answer_columns_hold_the_sign_then_digits_units_first():
    columns = ref.answer_columns([-45, 198], 3)
    assert ["".join(VOCAB[i] for i in row) for row in columns.argmax(-1)] == ["-540", "+891"]


def test_metrics():
    y = encode(["19 ", "-5 "])
    p = encode(["19 ", "-6 "])
    assert ref.exact_match(y, p) == 0.5
    assert ref.char_accuracy(y, p) == pytest.approx(5 / 6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ref.sequence_accuracy(y, p)), [1, 0])


def test_one_cycle_schedule():
    schedule = ref.OneCycle(1e-3, 100)
    rates = [schedule.rate(s / 100) for s in range(100)]
    assert max(rates) == pytest.approx(1e-3, rel=0.05)
    assert rates[0] < 1e-4 and rates[-1] < 5e-5


def test_recipes_cover_the_tasks():
    assert set(ref.RECIPES["text2text"]) == {"50/50", "25/75", "10/90"}
    for task, recipes in ref.RECIPES.items():
        assert task in ref.BUILDERS
        for recipe in recipes.values():
            assert recipe.epochs > 0 and recipe.batch_size > 0 and recipe.learning_rate > 0


def test_fit_reference_decreases_the_loss():
    data = make_dataset(0.03, render_images=False)  # 600 training queries
    keras.utils.set_random_seed(0)
    model = ref.build_text2text(units=32)
    before = model.predict(data.test.x_text, verbose=0)
    history = ref.fit_text2text(model, data.train.x_text, data.train.y_text, epochs=3, batch_size=64)
    loss = history.history["loss"]
    assert len(loss) == 3 and loss[-1] < loss[0]
    assert "val_loss" in history.history  # a validation slice of the training data
    assert not np.array_equal(model.predict(data.test.x_text, verbose=0), before)  # the model itself learned
    history = ref.fit_text2text(model, data.train.x_text, data.train.y_text, epochs=100, batch_size=64,
                                max_seconds=1)
    assert len(history.history["loss"]) < 100  # the time budget stops it


def test_fit_text2text_leaves_out_answers_that_are_no_number():
    keras.utils.set_random_seed(0)
    model = ref.build_text2text(units=16)
    x = encode(["12+7 ", "3-45 ", "50+50", "9-9  "] * 8)
    y = encode(["19 ", "   ", "100", "-+0"] * 8)  # misread answers: a blank, a stray sign
    history = ref.fit_text2text(model, x, y, epochs=1, batch_size=8, validation_fraction=0)
    assert history.history["loss"]  # trained on the 16 answers that read as numbers
    with pytest.raises(ValueError):  # nothing left to train on
        ref.fit_text2text(model, x[:1], encode(["   "]), epochs=1, batch_size=8, validation_fraction=0)


def test_fit_image2text_trains_the_head_the_model_uses():
    keras.utils.set_random_seed(0)
    model = ref.build_image2text(units=32)
    x = RNG.random((64, 5, 28, 28), dtype=np.float32)
    y = _answers(64)
    before = model.get_layer("symbols2text").get_layer("arithmetic").get_weights()
    history = ref.fit_image2text(model, x, y, epochs=2, batch_size=16)
    assert len(history.history["loss"]) == 2
    after = model.get_layer("symbols2text").get_layer("arithmetic").get_weights()
    assert not all(np.array_equal(u, v) for u, v in zip(before, after))  # the head is shared, not a copy
    assert not model.get_layer("reader").trainable_weights  # the reader stays frozen


def test_text2image_paints_clean_symbols_at_inference():
    model = ref.build_text2image(units=32)
    images = model.predict(_text(3, 5), verbose=0)  # (3, 3, 28, 28)
    painter = dc.load_char_painter()
    clean = painter.predict(np.eye(13, dtype=np.float32), verbose=0)  # (13, 28, 28)
    for image in images.reshape(-1, 28, 28):  # each one of the 13 clean symbols, never a blend
        assert np.abs(clean - image).reshape(13, -1).max(axis=1).min() < 1e-5


# ----------------------------------------------------------------------------
# Digit classifier


def test_digit_classifier_shapes():
    model = dc.build_digit_classifier()
    assert model.output_shape == (None, len(VOCAB))
    assert len(dc.read_images(model, np.zeros((2, 3, 28, 28), np.float32))) == 2


def test_reader_is_augmented_only_while_it_is_trained():
    import keras

    model = dc.build_digit_classifier(compile=False)
    trainer = dc.augmented(model)
    x = RNG.random((4, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(trainer(x, training=False), model(x, training=False), atol=1e-6)
    assert {id(w) for w in trainer.trainable_weights} == {id(w) for w in model.trainable_weights}
    random_layers = (keras.layers.RandomTranslation, keras.layers.RandomRotation)
    assert not any(isinstance(layer, random_layers) for layer in model.layers)
    assert any(isinstance(layer, random_layers) for layer in trainer.layers)


def test_training_data_has_every_symbol():
    digits = RNG.integers(0, 256, (100, 28, 28), dtype=np.uint8)
    x, y = dc.training_data(digits, np.arange(100) % 10)
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(13))


@pytest.fixture(scope="module")
def mnist():
    from course_utils.data.mnist import load_mnist

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_mnist(download=False)


@pytest.fixture(scope="module")
def classifier():
    return dc.load_digit_classifier()  # the shipped reader


def test_classifier_reads_mnist_test_digits(classifier, mnist):
    _, (x, y) = mnist
    probs = classifier.predict(x / np.float32(255), verbose=0)
    assert np.mean(probs.argmax(-1) == y) >= 0.98  # 98.6% when it was trained (course train-readers)


def test_classifier_reads_rendered_answers(classifier, mnist):
    _, (x, y) = mnist
    answers = np.array(["19 ", "-5 ", "198", "0  ", "-99", "7  "] * 50)
    images = render(answers, x, y, rng=0)  # (300, 3, 28, 28), unseen digits
    assert dc.semantic_accuracy(classifier, images, answers) >= 0.97
    assert dc.semantic_accuracy(classifier, images, answers, per="answer") >= 0.9
    blank = dc.read_images(classifier, np.zeros((1, 3, 28, 28), np.float32))
    assert blank == ["   "]


def test_weights_round_trip_and_a_mismatch_names_the_fix(tmp_path):
    model = dc.build_digit_classifier(compile=False)
    dc.save_weights(model, tmp_path / "reader.npz")
    again = dc.load_weights(dc.build_digit_classifier(compile=False), tmp_path / "reader.npz")
    x = RNG.random((3, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    with pytest.raises(ValueError, match="course train-readers"):
        dc.load_weights(dc.build_char_painter(compile=False), tmp_path / "reader.npz")


def test_training_a_reader_from_scratch_learns_digits(mnist):
    (x, y), (x_test, y_test) = mnist
    reader = dc.train_digit_classifier(x[:2000], y[:2000], epochs=2)  # what course train-readers runs, shortened
    probs = reader.predict(x_test[:500] / np.float32(255), verbose=0)
    assert np.mean(probs.argmax(-1) == y_test[:500]) >= 0.85


def test_char_painter_draws_every_symbol_readably(classifier):
    drawn = dc.load_char_painter().predict(np.eye(len(VOCAB), dtype=np.float32), verbose=0)  # (13, 28, 28)
    assert drawn.shape == (13, 28, 28) and drawn.min() >= 0 and drawn.max() <= 1
    assert dc.read_images(classifier, drawn[None])[0] == VOCAB


def test_train_readers_writes_weights_the_loaders_read(monkeypatch, tmp_path):
    from course_utils.tools import readers
    from course_utils.grading_kernel import TF_ENV, thread_env

    for name, value in {**TF_ENV, **thread_env(1)}.items():  # what it sets, undone after the test
        monkeypatch.setenv(name, value)
    def shortened(train):
        return lambda x, y, seed: train(x[:500], y[:500], epochs=1, seed=seed)

    for name in ("train_digit_classifier", "train_char_painter"):
        monkeypatch.setattr(dc, name, shortened(getattr(dc, name)))
    trained = readers.train_readers(tmp_path)
    assert 0 <= trained["reader_test_accuracy"] <= 1 and len(trained["painter_reads"]) == len(VOCAB)
    monkeypatch.setattr(dc, "WEIGHTS_DIR", tmp_path)
    assert dc.load_digit_classifier().output_shape == (None, len(VOCAB))
    assert dc.load_char_painter().output_shape == (None, 28, 28)
