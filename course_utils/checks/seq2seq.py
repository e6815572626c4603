"""Probes for the sequence-modelling assignment (hidden tests call them through the grading agent).

Every builder under test follows the assignment's interface:
    build_text2text(query_len, answer_len, vocab_size, encoder_layers=1)   (N, Tq, V) -> (N, Ta, V) softmax
    build_image2text(query_len, answer_len, vocab_size, encoder_layers=1)  (N, Tq, 28, 28) -> (N, Ta, V) softmax
    build_text2image(query_len, answer_len, vocab_size, encoder_layers=1)  (N, Tq, V) -> (N, Ta, 28, 28) in [0, 1]
and returns a compiled Keras model. Accuracy checks are honest: the kernel builds a fresh
model and trains it with Keras' fit on the grader's training part of a split (semester
seed, budget from course.toml [seq2seq.checks], or [seq2seq.ci_checks] on the ci budget,
the answers' digits relabelled), and sends back its outputs on the test part, whose
answers only the grader has.
"""

from __future__ import annotations

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
            return fail(f"encode of {len(cases)} strings at width {width} has the wrong shape: (N, width, "
                        f"{len(_VOCAB)})", f"{got.shape}, expected {want.shape}")
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
                return fail(f"decode of the {name} gives a wrong answer (keep padding spaces; "
                            f"use the argmax, so probabilities work too)", f"{g!r}, expected {want!r}")
    return passed("decode gives every answer back, negative answers and padding included")


def check_decode(decode_fn) -> Verdict:
    """The decoding probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("seq2seq.decode", decode_fn)


# ----------------------------------------------------------------------------
# Model builders: shapes, ranges, and an output that depends on the input

_RANGE_SCALE = 30.0  # extreme inputs: valid ones times this, which saturate the first layers
_WEIGHT_SCALE = 20.0  # and the model's weights times this (put back after), which saturates the last ones:
                      # a bound that training could cross (relu or linear pixels) shows here
_INPUTS_PER_BUILD = 3  # valid, extreme, valid with scaled weights


def _input_shape(modality, query_len):
    return (query_len, 28, 28) if modality == "image2text" else (query_len, len(_VOCAB))


def _output_shape(modality, answer_len):
    return (answer_len, 28, 28) if modality == "text2image" else (answer_len, len(_VOCAB))


def _probe_inputs(rng, modality, max_number, n=6) -> np.ndarray:
    """n different valid inputs of the task: one-hot queries, or images in [0, 1]."""
    query_len, _ = _task_widths(max_number, ("+", "-"))
    if modality == "image2text":
        return rng.random((n, query_len, 28, 28)).astype(np.float32)
    a, b = rng.integers(0, max_number + 1, n), rng.integers(0, max_number + 1, n)
    queries = [f"{x}{'+-'[i % 2]}{y}" for i, (x, y) in enumerate(zip(a, b))]
    return _encode(queries, width=query_len)


def _builder_request(rng, modality: str) -> Request:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}")
    builds, inputs, arrays = [], [], {}
    for b, max_number in enumerate((99, 199)):  # the 2-digit task with the default depth, the 3-digit one with 1
        builds.append({"args": list(_task_widths(max_number, ("+", "-"))) + [len(_VOCAB)],
                       "kwargs": {"encoder_layers": 1} if b else {}})
        valid = _probe_inputs(rng, modality, max_number)
        arrays[f"valid{b}"], arrays[f"extreme{b}"] = valid, valid * _RANGE_SCALE
        inputs += [[b, f"valid{b}"], [b, f"extreme{b}"], [b, f"valid{b}", _WEIGHT_SCALE]]
    return Request("model", [], arrays, params={"modality": modality},
                   setup={"builds": builds, "inputs": inputs, "seed": int(rng.integers(2**31))})


def _in_range(modality, y) -> str:
    """'' when `y` keeps the modality's output contract, else what is wrong."""
    if modality == "text2image":
        return "" if y.min() >= 0 and y.max() <= 1 else "text2image outputs must be pixel values in [0, 1] (a sigmoid output)"
    if y.min() >= -1e-6 and t.allclose(y.sum(-1), 1, atol=1e-3):
        return ""
    return (f"{modality} outputs must be probabilities over the {len(_VOCAB)} symbols at each answer "
            f"position (a softmax over the last axis)")


def _outputs(results, k) -> np.ndarray:
    if f"fail{k}" in results:
        raise pr.CallFailed(str(results[f"fail{k}"]))
    return pr.named(results, f"out{k}")


@probe("seq2seq.builder", _builder_request)
def decide_builder(req: Request, results: dict) -> Verdict:
    """`build_<modality>(query_len, answer_len, vocab_size, encoder_layers=1)` returns a compiled
    model mapping (N, Tq, ...) to (N, Ta, ...) for the 2-digit task and the 3-digit variant, whose
    outputs keep their range (softmax probabilities; pixels in [0, 1]) on valid inputs, on inputs
    scaled to saturate the first layers and with weights scaled to saturate the last, and differ
    between different queries."""
    modality = req.params["modality"]
    for b, build in enumerate(req.setup["builds"]):
        query_len, answer_len = build["args"][:2]
        task = f"{modality} builder (max number {(99, 199)[b]})"
        if f"e{b}" in results:
            return fail(f"{task} raised {results[f'e{b}']}")
        if pr.named(results, f"compiled{b}").reshape(-1)[0] != 1:
            return fail(f"{modality} builder must return a compiled model (call model.compile)")
        first = _INPUTS_PER_BUILD * b
        for k in range(first, first + _INPUTS_PER_BUILD):
            x = req.arrays[req.setup["inputs"][k][1]]
            try:
                y = _outputs(results, k)
            except pr.CallFailed as e:
                return fail(f"{modality} model failed on input of shape {x.shape}: {e}")
            want = (len(x), *_output_shape(modality, answer_len))
            if y.shape != want:
                return fail(f"{modality} model gives outputs of the wrong shape", f"{x.shape} -> {y.shape}, expected {want}")
            wrong = _in_range(modality, y)
            if wrong:
                return fail(wrong + ("" if k == first else " (for inputs far from the training data and "
                                     "for trained weights too: a bounded final activation)"))
        valid = _outputs(results, first)
        if float(np.max(np.abs(valid - valid[:1]))) < 1e-6:
            return fail(f"{modality} model gives the same output for every query: the answer must "
                        f"depend on the input (is the encoder's output used by the decoder?)")
    return passed(f"{modality} builder: shapes, ranges and input dependence right for 2 and 3 digits")


def check_builder(build_fn, modality: str) -> Verdict:
    """The builder probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("seq2seq.builder", build_fn, params={"modality": modality})


def _deeper_request(rng, modality: str) -> Request:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}")
    args = list(_task_widths(99, ("+", "-"))) + [len(_VOCAB)]
    builds = [{"args": args, "kwargs": {"encoder_layers": n}} for n in (1, 2)]
    arrays = {"valid": _probe_inputs(rng, modality, 99)}
    setup = {"builds": builds, "inputs": [[1, "valid"]], "influence": [0, 1], "influence_input": "valid",
             "seed": int(rng.integers(2**31))}
    return Request("model", [], arrays, params={"modality": modality}, setup=setup)


INFLUENCE_MIN = 1e-4  # a perturbed layer moves some output by more than this, or it contributes nothing


@probe("seq2seq.deeper_encoder", _deeper_request)
def decide_deeper_encoder(req: Request, results: dict) -> Verdict:
    """encoder_layers=2 builds a working model with more recurrent layers that change the output
    (perturbing a layer's weights moves the outputs) than encoder_layers=1."""
    modality = req.params["modality"]
    for b in (0, 1):
        if f"e{b}" in results:
            return fail(f"{modality} builder with encoder_layers={b + 1} raised {results[f'e{b}']}")
    try:
        y = _outputs(results, 0)
    except pr.CallFailed as e:
        return fail(f"{modality} model with encoder_layers=2 failed: {e}")
    x = req.arrays["valid"]
    want = (len(x), *_output_shape(modality, req.setup["builds"][1]["args"][1]))
    if y.shape != want:
        return fail(f"{modality} model with encoder_layers=2 gives outputs of the wrong shape",
                    f"{x.shape} -> {y.shape}, expected {want}")
    counts = []
    for b in (0, 1):
        if f"fail_influence{b}" in results:
            return fail(f"{modality}: perturbing the recurrent layers failed: {results[f'fail_influence{b}']}")
        counts.append(int(np.sum(pr.named(results, f"influence{b}") > INFLUENCE_MIN)))
    shallow, deep = counts
    if deep <= shallow:
        return fail(f"encoder_layers=2 should stack another recurrent layer in the encoder that the output "
                    f"depends on (found {shallow} such layers with 1 and {deep} with 2; a layer whose output "
                    f"is not passed on counts for nothing)")
    return passed(f"{modality}: encoder_layers=2 stacks {deep - shallow} more recurrent layer(s) that shape the output")


def check_deeper_encoder(build_fn, modality: str) -> Verdict:
    """The deeper-encoder probe, judged in this process."""
    return pr.judge("seq2seq.deeper_encoder", build_fn, params={"modality": modality})


# ----------------------------------------------------------------------------
# Accuracy on the grader's own split, with the answers' digits relabelled

def _budget(modality: str):
    """This modality's check budget and threshold, for the budget mode the checks run on."""
    return seq2seq_checks(_CONFIG, _MODE)[modality]


def _task():
    """The semester's task: (max_number, operators)."""
    return _CONFIG["arithmetic"]["max_number"], tuple(_CONFIG["arithmetic"]["operators"])


def relabelling(seed: int) -> dict:
    """The accuracy checks' hidden relabelling of the answers' digits: a derangement of 0-9 (every
    digit becomes another), fixed by the semester's seed: a str.translate table. A model that learns
    from its training data learns the relabelled task as well as the plain one (the output symbols
    are only renamed); one that computes the answers itself gets nearly every answer wrong."""
    rng = pr.rng_for("relabelling", seed)
    digits = np.arange(10)
    while True:
        order = rng.permutation(10)
        if not np.any(order == digits):
            return str.maketrans("0123456789", "".join(str(d) for d in order))


def _relabelled(strings, table) -> np.ndarray:
    return np.array([str(s).translate(table) for s in strings], dtype=str)


def grading_data(train_fraction: float, modality: str, max_train_examples: int = 0, max_test_examples: int = 0,
                 relabel: dict | None = None):
    """(x_train, y_train, x_test, test_answers) for one split, built by the grader.

    Text arrays (N, T, 13); images (N, T, 28, 28) from disjoint digit pools (test-side
    handwriting is never seen in training). `max_train_examples` > 0 takes a seeded subset
    of the training part, `max_test_examples` > 0 of the test part. With `relabel` (a
    `relabelling` table) the answers, as text or drawn, are relabelled.
    """
    import dataclasses

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
    if relabel is not None:
        answers = {side: _relabelled(getattr(data, side).answers, relabel) for side in ("train", "test")}
        data = dataclasses.replace(data, **{side: dataclasses.replace(
            getattr(data, side), answers=answers[side], y_text=_encode(list(answers[side]), width=data.answer_width))
            for side in ("train", "test")})
    train, test = _rows(data, max_train_examples, max_test_examples)
    if modality == "text2text":
        return data.train.x_text[train], data.train.y_text[train], data.test.x_text[test], data.test.answers[test]
    x_train_img, y_train_img = _render_split(data, "train", train)
    if modality == "image2text":
        x_test_img, _ = _render_split(data, "test", test)
        return x_train_img, data.train.y_text[train], x_test_img, data.test.answers[test]
    return data.train.x_text[train], y_train_img, data.test.x_text[test], data.test.answers[test]


def _rows(data, max_train_examples: int, max_test_examples: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the training and test parts the checks use: all, or seeded samples of the given sizes."""
    rng = np.random.default_rng(_CONFIG["semester"]["seed"])
    rows = []
    for side, limit in (("train", max_train_examples), ("test", max_test_examples)):
        rows.append(np.arange(len(getattr(data, side))))
        if 0 < limit < len(rows[-1]):
            rows[-1] = rng.choice(rows[-1], limit, replace=False)
    return rows[0], rows[1]


def _split_fraction(split: int) -> float:
    splits = list(_CONFIG["arithmetic"]["splits"])
    if not 0 <= split < len(splits):
        raise ValueError(f"no split {split}; course.toml has {len(splits)}: {splits}")
    return splits[split]


def _as_uint8(x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as uint8 pixels (what the kernel is sent); text as it is."""
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8) if x.ndim == 4 else x


def _before_rows(n: int) -> slice:
    return slice(None, None, max(1, n // _BEFORE_PROBE))  # a spread-out sample is enough


def _accuracy_request(rng, modality: str, split: int = 0) -> Request:
    fraction, budget = _split_fraction(split), _budget(modality)
    epochs = budget["epochs"][split] if modality == "text2text" else budget["epochs"]
    seed = _CONFIG["semester"]["seed"]
    x_train, y_train, x_test, _ = grading_data(fraction, modality, budget["max_train_examples"],
                                               budget["max_test_examples"], relabel=relabelling(seed))
    max_number, operators = _task()
    setup = {"build": {"args": [*_task_widths(max_number, operators), len(_VOCAB)]}, "epochs": epochs,
             "batch_size": budget["batch_size"], "steps_per_execution": _STEPS_PER_EXECUTION, "seed": seed,
             "images_out": modality == "text2image"}
    arrays = {"x_train": _as_uint8(x_train), "y_train": _as_uint8(y_train), "x_test": _as_uint8(x_test),
              "x_before": _as_uint8(x_test[_before_rows(len(x_test))])}
    return Request("train", [], arrays, params={"modality": modality, "split": split}, setup=setup)


def _answers(modality: str, split: int):
    """(plain, relabelled) answers of the accuracy request's test queries (the grader's alone)."""
    budget = _budget(modality)
    fraction, seed = _split_fraction(split), _CONFIG["semester"]["seed"]
    max_number, operators = _task()
    data = _make_dataset(fraction, seed=seed, render_images=False, max_number=max_number, operators=operators)
    plain = data.test.answers[_rows(data, budget["max_train_examples"], budget["max_test_examples"])[1]]
    return plain, _relabelled(plain, relabelling(seed))


def _score(modality, outputs: np.ndarray, answers) -> float:
    """Exact-match fraction of whole answers (symbols (N, T)), or semantic accuracy (pixels uint8)."""
    answers = np.asarray(answers, dtype=str)
    if modality == "text2image":
        from course_utils.models.digit_classifier import load_digit_classifier, semantic_accuracy

        return t.as_float(semantic_accuracy(load_digit_classifier(), outputs.astype(np.float32) / 255, answers))
    if outputs.min() < 0 or outputs.max() >= len(_VOCAB):
        raise ValueError("the symbols sent back are not indices into the vocabulary")
    vocab = np.array(list(_VOCAB))
    predicted = np.array(["".join(row) for row in vocab[outputs.astype(np.int64)]])
    return t.as_float(t.np_mean(predicted == answers))


def scores(req: Request, results: dict) -> dict:
    """{"before": score before training (plain answers), "after": after, on the relabelled answers,
    "after_plain": after, on the plain ones, "seconds": training time}; CallFailed if it raised."""
    if "e0" in results:
        raise pr.CallFailed(str(results["e0"]))
    modality = req.params["modality"]
    plain, relabelled = _answers(modality, req.params["split"])
    before, after = np.asarray(results["before"]), np.asarray(results["after"])
    n_before = len(req.arrays["x_before"])
    width = req.setup["build"]["args"][1]
    for name, got, n in (("before", before, n_before), ("after", after, len(plain))):
        want = (n, width, 28, 28) if modality == "text2image" else (n, width)
        if got.shape != want or got.dtype != np.uint8:
            raise ValueError(f"the outputs {name} training have shape {got.shape}, expected {want}")
    return {"before": _score(modality, before, plain[_before_rows(len(plain))]),
            "after": _score(modality, after, relabelled), "after_plain": _score(modality, after, plain),
            "seconds": float(pr.named(results, "seconds").reshape(-1)[0])}


def required_score(modality: str, train_fraction: float) -> float:
    """The minimum score course.toml sets for this modality at this split."""
    budget = _budget(modality)
    if modality == "text2text":
        splits = list(_CONFIG["arithmetic"]["splits"])
        if train_fraction not in splits:
            raise ValueError(f"no threshold for split {train_fraction}; course.toml has {splits}")
        return budget["min_exact"][splits.index(train_fraction)]
    return budget["min_exact" if modality == "image2text" else "min_semantic"]


@probe("seq2seq.accuracy", _accuracy_request)
def decide_accuracy(req: Request, results: dict) -> Verdict:
    """A fresh model from the builder, trained in the kernel on the grader's training part of a
    split (answers' digits relabelled by a hidden derangement) on the grader's budget, reaches the
    configured score on the test part, which it never saw, and was near chance before training."""
    modality, fraction = req.params["modality"], _split_fraction(req.params["split"])
    need = required_score(modality, fraction)
    what = "semantic accuracy" if modality == "text2image" else "exact match"
    split = f"{fraction:.0%}/{1 - fraction:.0%}"
    try:
        got = scores(req, results)
    except pr.CallFailed as e:
        return fail(f"{modality} at {split}: building or training failed: {e}")
    if got["before"] > MAX_SCORE_BEFORE_TRAINING[modality]:
        return fail(f"{modality}: a fresh model already scores {got['before']:.1%} before training; "
                    f"the builder must return a new, untrained model")
    verdict = (f"{modality} at {split}: {what} {got['after']:.1%} on unseen test queries "
               f"(required {need:.0%}; trained {got['seconds']:.0f} s)")
    if got["after"] < need and got["after_plain"] >= need:
        return fail(f"{modality}: the model gives the true answers ({got['after_plain']:.1%}) where its training "
                    f"data taught other symbols ({got['after']:.1%}): it must learn the mapping from its "
                    f"training data, not compute it")
    return passed(verdict) if got["after"] >= need else fail(verdict)


def _split_index(train_fraction: float | None) -> int:
    splits = list(_CONFIG["arithmetic"]["splits"])
    if train_fraction is None:
        return 0
    if train_fraction not in splits:
        raise ValueError(f"no threshold for split {train_fraction}; course.toml has {splits}")
    return splits.index(train_fraction)


def evaluate_builder(build_fn, modality: str, train_fraction: float | None = None) -> dict:
    """Train a fresh model from `build_fn` on the grader's split, in this process: `scores`."""
    from course_utils import grading_agent

    req = pr.get("seq2seq.accuracy").request(pr.rng_for("evaluate", 0), modality=modality,
                                             split=_split_index(train_fraction))
    return scores(req, grading_agent.run_train(req.spec(), req.arrays, build_fn))


def check_accuracy(build_fn, modality: str, train_fraction: float | None = None) -> Verdict:
    """The accuracy probe at the split of `train_fraction` (default: the first), judged in this process."""
    return pr.judge("seq2seq.accuracy", build_fn, params={"modality": modality, "split": _split_index(train_fraction)})


# ----------------------------------------------------------------------------
# The training call and the score

_SCORE_ANSWERS = ["19 ", "-5 ", "198", "0  ", "-99"]
_SCORE_PREDICTED = ["19 ", "-5 ", "189", "0  ", "-9 "]  # 3 of 5 exactly right, the others mostly right
_TRAIN_ROWS, _TRAIN_EPOCHS = 200, 2


def _train_request(rng) -> Request:
    data = _make_dataset(0.5, seed=int(rng.integers(2**31)))
    rows = rng.choice(len(data.train), _TRAIN_ROWS, replace=False)
    arrays = {"probs": _encode(_SCORE_PREDICTED, width=3), "x_score": np.zeros((5, 5, len(_VOCAB)), np.float32),
              "answers": np.array(_SCORE_ANSWERS), "x": data.train.x_text[rows], "y": data.train.y_text[rows]}
    return Request("train_fn", [], arrays, setup={"epochs": _TRAIN_EPOCHS, "seed": int(rng.integers(2**31))})


@probe("seq2seq.train_evaluate", _train_request)
def decide_train_evaluate(req: Request, results: dict) -> Verdict:
    """`exact_match(model, x, answers)` scores whole answers (3 right of 5 is 0.6); `train(model, x,
    y, epochs)` fits the model for `epochs` epochs on part of (x, y) and validates on the rest of
    (x, y) only (no row both trained and validated on, none from elsewhere), and returns the History."""
    try:
        score = pr.scalar(results, 0)
    except pr.CallFailed as e:
        return fail(f"exact_match raised {e}")
    if abs(score - 0.6) > 1e-6:
        return fail("exact_match is wrong: it scores whole answers, not characters",
                    f"3 right answers out of 5 gave {score}, expected 0.6")
    if "e1" in results:
        return fail(f"train raised {results['e1']}")
    if pr.named(results, "is_history").reshape(-1)[0] != 1:
        return fail("train must return the History that model.fit returns")
    epochs = int(pr.named(results, "epochs_logged").reshape(-1)[0])
    if epochs != _TRAIN_EPOCHS:
        return fail(f"train(..., epochs={_TRAIN_EPOCHS}) must train for exactly {_TRAIN_EPOCHS} epochs",
                    f"{epochs} epochs")
    trained, validated = pr.named(results, "trained"), pr.named(results, "validated")
    if trained.shape != (_TRAIN_ROWS + 1,) or validated.shape != (_TRAIN_ROWS + 1,):
        return fail("the grader could not read which rows train used")
    if "val_loss" not in [str(k) for k in np.asarray(results["history_keys"]).reshape(-1)]:
        return fail("train must hold out part of the training data for validation (validation_split)")
    if validated[-1] > 0:
        return fail("train validated on data other than the x and y it was given: hold out part of "
                    "its own training data (validation_split), never the test data")
    if trained[-1] > 0:
        return fail("train trained on data other than the x and y it was given")
    if not validated[:-1].any():
        return fail("train must hold out part of the training data for validation (validation_split)")
    if (trained[:-1] > 0).sum() == 0 or ((trained[:-1] > 0) & (validated[:-1] > 0)).any():
        return fail("train validated on rows it also trained on: the validation part must be held out")
    if pr.named(results, "changed").reshape(-1)[0] != 1:
        return fail("train did not change the model's weights")
    return passed("train fits on part of its data and validates on the rest; exact_match counts whole answers")


def check_training_and_scoring(train_fn, exact_match_fn) -> Verdict:
    """The train-and-score probe, judged in this process."""
    return pr.judge("seq2seq.train_evaluate", train_fn, exact_match_fn)
