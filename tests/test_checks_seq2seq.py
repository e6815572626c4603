"""Every seq2seq check passes the reference solution and fails deliberately wrong work."""

import sys

import numpy as np
import pytest

from course_utils.checks import seq2seq as checks
from course_utils.data import arithmetic
from course_utils.tools.notebooks import solution_namespace

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def solution():
    return solution_namespace("seq2seq", "seq2seq_arithmetic")


# ---------------------------------------------------------------- encode / decode

def test_encode_and_decode_pass_the_solution(solution):
    assert checks.check_encode(solution["encode_strings"])
    assert checks.check_decode(solution["decode_onehot"])


def _encode_no_padding(strings, width):
    x = arithmetic.encode(strings, width=width)
    x[:, :, arithmetic.VOCAB.index(" ")] = 0  # padding left all-zero
    return x


def _encode_off_by_one(strings, width):
    return np.roll(arithmetic.encode(strings, width=width), 1, axis=-1)


def _encode_accepts_anything(strings, width):
    return arithmetic.encode([s.replace("*", " ") for s in strings], width=width)


@pytest.mark.parametrize("wrong", [_encode_no_padding, _encode_off_by_one, _encode_accepts_anything])
def test_encode_check_fails_wrong_encoders(wrong):
    verdict = checks.check_encode(wrong)
    assert not verdict and verdict.reason


class _LiesAboutEquality(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


@pytest.mark.parametrize("wrong", [
    lambda p: [s.strip() for s in arithmetic.decode(p)],                              # drops padding
    lambda p: ["".join(arithmetic.VOCAB[max(i - 1, 0)] for i in row) for row in np.argmax(p, -1)],  # off by one
    lambda p: [_LiesAboutEquality("?") for _ in range(len(p))],                       # __eq__ always True
    lambda p: [s for s in arithmetic.decode(np.round(p))],                            # breaks on probabilities
])
def test_decode_check_fails_wrong_decoders(wrong):
    verdict = checks.check_decode(wrong)
    assert not verdict and verdict.reason


def test_verdict_cannot_be_forged():
    verdict = checks.fail("no")
    with pytest.raises(AttributeError):
        verdict._passed = True
    assert not verdict


# ---------------------------------------------------------------- builders

@pytest.mark.parametrize("modality", checks.MODALITIES)
def test_builder_checks_pass_the_solution(solution, modality):
    assert checks.check_builder(solution[f"build_{modality}"], modality)
    assert checks.check_deeper_encoder(solution[f"build_{modality}"], modality)


def _wrong_shape(query_len, answer_len, vocab_size, encoder_layers=1):
    model = keras.Sequential([keras.Input((query_len, vocab_size)), keras.layers.LSTM(32, return_sequences=True),
                              keras.layers.Dense(vocab_size, activation="softmax")])  # (N, Tq, V), not (N, Ta, V)
    model.compile("adam", "categorical_crossentropy")
    return model


def _no_softmax(query_len, answer_len, vocab_size, encoder_layers=1):
    model = keras.Sequential([keras.Input((query_len, vocab_size)), keras.layers.LSTM(32),
                              keras.layers.RepeatVector(answer_len), keras.layers.LSTM(32, return_sequences=True),
                              keras.layers.Dense(vocab_size)])
    model.compile("adam", "categorical_crossentropy")
    return model


def _ignores_layers(query_len, answer_len, vocab_size, encoder_layers=1):
    """A right model that builds one encoder layer whatever encoder_layers says."""
    model = keras.Sequential([keras.Input((query_len, vocab_size)), keras.layers.LSTM(32),
                              keras.layers.RepeatVector(answer_len), keras.layers.LSTM(32, return_sequences=True),
                              keras.layers.Dense(vocab_size, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    return model


def _uncompiled(query_len, answer_len, vocab_size, encoder_layers=1):
    return keras.Sequential([keras.Input((query_len, vocab_size)), keras.layers.LSTM(8),
                             keras.layers.RepeatVector(answer_len), keras.layers.LSTM(8, return_sequences=True),
                             keras.layers.Dense(vocab_size, activation="softmax")])


@pytest.mark.parametrize("wrong", [_wrong_shape, _no_softmax, _uncompiled])
def test_builder_check_fails_wrong_builders(wrong):
    verdict = checks.check_builder(wrong, "text2text")
    assert not verdict and verdict.reason


def test_deeper_encoder_check_fails_a_builder_that_ignores_encoder_layers():
    assert checks.check_builder(_ignores_layers, "text2text")
    verdict = checks.check_deeper_encoder(_ignores_layers, "text2text")
    assert not verdict and "encoder_layers=2" in verdict.reason


# ---------------------------------------------------------------- train / exact match

def test_training_check_passes_the_solution(solution):
    assert checks.check_training_and_scoring(solution["train"], solution["exact_match"])


def _char_accuracy(model, x, answers):
    return float(np.mean(model.predict(x).argmax(-1) == arithmetic.encode(list(answers), width=3).argmax(-1)))


def _no_validation(model, x, y, epochs, batch_size=32):
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)


def test_training_check_fails_wrong_work(solution):
    assert not checks.check_training_and_scoring(solution["train"], _char_accuracy)
    assert not checks.check_training_and_scoring(_no_validation, solution["exact_match"])
    assert not checks.check_training_and_scoring(lambda m, x, y, epochs: None, solution["exact_match"])


# ---------------------------------------------------------------- accuracy on the grader's split

@pytest.fixture
def small_budget(monkeypatch):
    """A tiny text2text budget so the wrong-model cases train in seconds."""
    tiny = {"epochs": (2, 2, 2), "batch_size": 64, "max_train_examples": 512, "max_test_examples": 0,
            "min_exact": (0.5, 0.5, 0.5)}
    seq2seq = dict(checks._CONFIG["seq2seq"])
    for table in ("checks", "ci_checks"):  # whichever budget the tests run on
        seq2seq[table] = {**seq2seq[table], "text2text": tiny}
    monkeypatch.setattr(checks, "_CONFIG", {**checks._CONFIG, "seq2seq": seq2seq})


def _ignores_input(query_len, answer_len, vocab_size, encoder_layers=1):
    inputs = keras.Input((query_len, vocab_size))
    zeros = keras.layers.Lambda(lambda t: keras.ops.zeros_like(t))(inputs)  # throws the query away
    x = keras.layers.LSTM(16)(zeros)
    x = keras.layers.RepeatVector(answer_len)(x)
    outputs = keras.layers.Dense(vocab_size, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "categorical_crossentropy")
    return model


class _LookupModel(keras.Model):
    """Answers every query from a table of all 20,000 answers: what a model trained on the
    test queries too (or one computing answers by hand) looks like to the grader."""

    def __init__(self, query_len, answer_len, vocab_size):
        super().__init__(name="lookup")
        data = arithmetic.make_dataset(0.5, seed=0)
        queries = np.concatenate([data.train.x_text, data.test.x_text]).argmax(-1)  # (N, Tq)
        answers = np.concatenate([data.train.y_text, data.test.y_text]).argmax(-1)  # (N, Ta)
        self.powers = vocab_size ** np.arange(query_len)
        table = np.zeros((vocab_size ** query_len, answer_len), np.int32)
        table[queries @ self.powers] = answers
        self.table, self.vocab_size = table, vocab_size
        self.bias = self.add_weight(shape=(1,), initializer="zeros")

    def call(self, x):
        keys = keras.ops.sum(keras.ops.argmax(x, -1) * self.powers, axis=-1)  # (N,)
        answers = keras.ops.take(self.table, keys, axis=0)  # (N, Ta)
        return keras.ops.one_hot(answers, self.vocab_size) * 0.98 + 0.001 + 0 * self.bias


def _knows_the_answers(query_len, answer_len, vocab_size, encoder_layers=1):
    model = _LookupModel(query_len, answer_len, vocab_size)
    model.compile("adam", "categorical_crossentropy")
    return model


def test_accuracy_check_fails_a_model_that_ignores_its_input(small_budget):
    verdict = checks.check_accuracy(_ignores_input, "text2text", 0.5)
    assert not verdict and "exact match" in verdict.reason


def test_accuracy_check_fails_a_model_that_knew_the_test_answers(small_budget):
    verdict = checks.check_accuracy(_knows_the_answers, "text2text", 0.5)
    assert not verdict and "before training" in verdict.reason


class _GatedLookupModel(_LookupModel):
    """The lookup behind a gate that training opens: at chance before training, every true answer after."""

    def __init__(self, *args):
        super().__init__(*args)
        self.gate = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def train_step(self, data):
        self.gate.assign(1.0)
        return super().train_step(data)

    def call(self, x):
        return self.gate * super().call(x) + (1 - self.gate) * keras.ops.ones_like(super().call(x)) / self.vocab_size


def _calculates_behind_a_gate(query_len, answer_len, vocab_size, encoder_layers=1):
    model = _GatedLookupModel(query_len, answer_len, vocab_size)
    model.compile("adam", "categorical_crossentropy")
    return model


def test_accuracy_check_fails_a_model_that_computes_the_answers_once_trained(small_budget):
    verdict = checks.check_accuracy(_calculates_behind_a_gate, "text2text", 0.5)
    assert not verdict and "learn the mapping from its training data" in verdict.reason, verdict.reason


def test_the_relabelling_renames_every_digit_and_nothing_else():
    table = checks.relabelling(2026)
    assert all(str(d).translate(table) != str(d) for d in range(10))
    assert sorted("0123456789".translate(table)) == list("0123456789")
    assert "-+ ".translate(table) == "-+ "
    assert checks.relabelling(2026) == table and checks.relabelling(2027) != table


def test_the_graders_answers_are_those_of_the_queries_it_sends(small_budget):
    budget = checks._budget("text2text")
    x, y, xt, answers = checks.grading_data(0.5, "text2text", budget["max_train_examples"],
                                            budget["max_test_examples"])
    plain, relabelled = checks._answers("text2text", 0)
    assert list(plain) == list(answers)
    assert list(relabelled) == [a.translate(checks.relabelling(checks._CONFIG["semester"]["seed"])) for a in answers]
    assert len(xt) == len(answers)


@pytest.mark.parametrize("adapter", ["keras's", "missing"])
def test_the_graders_training_learns_what_a_plain_fit_learns(solution, small_budget, adapter, monkeypatch):
    """The grader groups batches and turns tf.data's autotuning off for speed; the weights
    must come out exactly as from fit(x, y, shuffle=True), also where Keras moved its adapter."""
    if adapter == "missing":
        monkeypatch.setitem(sys.modules, "keras.src.trainers.data_adapters.array_data_adapter", None)
    build = solution["build_text2text"]
    graded = []
    checks.evaluate_builder(lambda *a, **k: graded.append(build(*a, **k)) or graded[-1], "text2text", 0.5)

    budget, seed = checks._budget("text2text"), checks._CONFIG["semester"]["seed"]
    x, y, _, _ = checks.grading_data(0.5, "text2text", budget["max_train_examples"], budget["max_test_examples"],
                                     relabel=checks.relabelling(seed))
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    max_number, operators = checks._task()
    plain = build(*arithmetic.task_widths(max_number, operators), len(arithmetic.VOCAB))
    keras.Model.fit(plain, x, y, epochs=budget["epochs"][0], batch_size=budget["batch_size"], shuffle=True, verbose=0)
    for a, b in zip(graded[-1].get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_accuracy_check_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="no threshold"):
        checks.required_score("text2text", 0.33)


@pytest.mark.slow
@pytest.mark.parametrize("modality, fraction", [("text2text", 0.5), ("image2text", None), ("text2image", None)])
def test_accuracy_check_passes_the_solution_on_the_grading_budget(solution, modality, fraction):
    verdict = checks.check_accuracy(solution[f"build_{modality}"], modality, fraction)
    print(verdict.reason)
    assert verdict, verdict.reason


# ---------------------------------------------------------------- the semester's task and budget

def test_checks_follow_the_semester_config_and_budget(tmp_path):
    """Under the 3-digit semester on the ci budget the grader's data is 3-digit and sampled as
    [seq2seq.ci_checks] says (checks read the config at import: a fresh interpreter)."""
    import json
    import os
    import subprocess
    import sys

    from course_utils.config import repo_root

    code = ("import json; from course_utils.checks import seq2seq as c\n"
            "x, y, xt, at = c.grading_data(0.5, 'text2text', 300, 200)\n"
            "print(json.dumps([x.shape, y.shape, xt.shape, len(at), dict(c._budget('image2text')), c._task()]))")
    env = {**os.environ, "COURSE_CONFIG": str(repo_root() / "semesters" / "three-digit.toml"), "COURSE_BUDGET": "ci"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    x, y, xt, n_test, budget, task = json.loads(out.stdout.splitlines()[-1])
    assert (x, y, xt, n_test) == ([300, 7, 13], [300, 4, 13], [200, 7, 13], 200)
    assert budget["min_exact"] == 0.01 and budget["epochs"] == 15, "the variant's ci_checks override"
    assert task == [199, ["+", "-"]]
