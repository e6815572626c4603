"""Tests of course_utils.data.arithmetic: the arithmetic seq2seq data (no TensorFlow)."""

import dataclasses
import io
import os
import re
import subprocess
import sys
import time
import tokenize
from pathlib import Path

import numpy as np
import pytest

from course_utils.data import arithmetic as ar

QUERY = re.compile(r"([0-9]+)([+-])([0-9]+) *")


def mnist_10k():
    """Real digits from $COURSE_DATA_DIR/mnist-10k.npz: x uint8 (10000, 28, 28), y uint8."""
    path = Path(os.environ.get("COURSE_DATA_DIR", "/nonexistent")) / "mnist-10k.npz"
    if not path.exists():
        pytest.skip(f"real MNIST digits not found at {path} (set COURSE_DATA_DIR)")
    with np.load(path) as f:
        return f["x"], f["y"]


def fake_digits(per_digit=5, seed=0):
    """Synthetic pool whose images are all distinct: uint8 (10 * per_digit, 28, 28), labels."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10, dtype=np.uint8), per_digit)
    images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(len(labels))  # unique per image
    return images, labels


@pytest.fixture(scope="module")
def data():
    return ar.make_dataset(0.5)


@pytest.fixture(scope="module")
def image_data():
    return ar.make_dataset(0.5, digits=fake_digits(20), seed=3)


def as_key(img):
    """A [0, 1] float image back to its uint8 bytes, to compare with pool images."""
    return np.rint(np.asarray(img) * 255).astype(np.uint8).tobytes()


# ---------------------------------------------------------------------------
# Queries, answers, widths


def test_vocab():
    assert ar.VOCAB == "0123456789+- " and len(ar.VOCAB) == 13


@pytest.mark.parametrize(
    "max_number, operators, widths",
    [(99, ("+", "-"), (5, 3)), (199, ("+", "-"), (7, 4)), (99, ("+",), (5, 3)), (9, ("-",), (3, 2)), (9, ("+",), (3, 2))],
)
def test_task_widths(max_number, operators, widths):
    assert ar.task_widths(max_number, operators) == widths


def test_counts_and_widths_default(data):
    assert len(data.train) + len(data.test) == 20_000
    assert len(data.train) == len(data.test) == 10_000
    assert (data.query_width, data.answer_width) == (5, 3)
    for split in (data.train, data.test):
        n = len(split)
        assert split.x_text.shape == (n, 5, 13) and split.x_text.dtype == np.float32
        assert split.y_text.shape == (n, 3, 13) and split.y_text.dtype == np.float32
        assert split.a.shape == split.b.shape == split.op.shape == (n,)
        assert split.x_img is None and split.y_img is None


def test_counts_and_widths_199():
    data = ar.make_dataset(0.25, max_number=199)
    assert len(data.train) + len(data.test) == 2 * 200 * 200
    assert len(data.train) == 20_000
    assert data.train.x_text.shape[1:] == (7, 13) and data.test.y_text.shape[1:] == (4, 13)
    answers = np.concatenate([data.train.answers, data.test.answers])
    assert "398 " in answers and "-199" in answers
    assert all(len(s) == 4 for s in answers)


def test_all_queries_once_and_operators():
    a, b, op = ar.make_queries()
    assert len(a) == 20_000
    assert len(set(zip(a.tolist(), b.tolist(), op.tolist()))) == 20_000
    a, b, op = ar.make_queries(99, ("+",))
    assert len(a) == 10_000 and np.all(op == ar.PLUS)
    with pytest.raises(ValueError, match="operators"):
        ar.make_queries(99, ("*",))
    with pytest.raises(ValueError, match="max_number"):
        ar.make_queries(-1)
    with pytest.raises(ValueError, match="max_number"):
        ar.make_queries(99.0)


def test_padding(data):
    for split in (data.train, data.test):
        assert all(len(q) == 5 for q in split.queries)
        assert all(len(s) == 3 for s in split.answers)
        for q, s, a, b, op in zip(split.queries, split.answers, split.a, split.b, split.op):
            assert q == f"{a}{ar.OPERATORS[op]}{b}".ljust(5)  # right-padded, no leading space
            assert not s.startswith(" ") and s.rstrip() == s.strip()


def test_every_answer_correct_by_parsing(data):
    checked = 0
    for split in (data.train, data.test):
        for q, s in zip(split.queries, split.answers):
            a, op, b = QUERY.fullmatch(q).groups()
            expected = int(a) + int(b) if op == "+" else int(a) - int(b)
            assert ar.answer_to_int(s) == expected, (q, s)
            checked += 1
        assert np.array_equal(ar.answers_to_int(split.answers), split.answer_values)
    assert checked == 20_000


def test_answer_to_int():
    assert ar.answer_to_int("19 ") == 19
    assert ar.answer_to_int("-5 ") == -5
    assert ar.answer_to_int("198") == 198
    for bad in ("1-2", "", "   ", "-  ", " 5 ", "1 2", "+5 ", "5+"):
        assert ar.answer_to_int(bad) is None, bad
    values = ar.answers_to_int(["19 ", "1-2", "-99"])
    assert values.dtype == np.int64 and values.tolist() == [19, ar.INVALID, -99]


def test_determinism_per_seed():
    one, two, other = ar.make_dataset(0.25, seed=7), ar.make_dataset(0.25, seed=7), ar.make_dataset(0.25, seed=8)
    assert np.array_equal(one.train.queries, two.train.queries)
    assert np.array_equal(one.test.x_text, two.test.x_text)
    assert not np.array_equal(one.train.queries, other.train.queries)


def test_no_eval_in_source():
    source = Path(ar.__file__).read_text()
    names = {tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.NAME}
    assert "eval" not in names and "exec" not in names


def test_import_is_light():
    code = "import sys, course_utils.data.arithmetic; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(ar.__file__).parents[2])


def test_data_is_frozen(data):
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.train = data.test
    assert "10000 queries" in repr(data)


# ---------------------------------------------------------------------------
# One-hot text


def test_encode_decode_round_trip(data):
    for split in (data.train, data.test):
        assert ar.decode(split.x_text) == split.queries.tolist()
        assert ar.decode(split.y_text) == split.answers.tolist()
    x = ar.encode(["1+2", "99-99"])  # width = longest, shorter padded with spaces
    assert x.shape == (2, 5, 13) and x.dtype == np.float32
    assert ar.decode(x) == ["1+2  ", "99-99"]
    assert np.all(x.sum(-1) == 1)
    assert ar.decode(ar.encode("7", width=3)) == ["7  "]


def test_decode_probabilities(data):
    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 2, data.test.y_text.shape)  # less than the margin 3: argmax kept
    logits = 3 * data.test.y_text + noise
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    assert probs.max() < 0.9  # truly spread, not one-hot
    assert ar.decode(probs.astype(np.float32)) == data.test.answers.tolist()


def test_encode_errors():
    with pytest.raises(ValueError, match=r"unknown character '\*' in '12\*3'"):
        ar.encode(["1+2", "12*3"])
    with pytest.raises(ValueError, match="'x'"):
        ar.encode(["x"])
    with pytest.raises(ValueError, match="more than width 5"):
        ar.encode(["123+456"], width=5)


def test_decode_errors():
    with pytest.raises(ValueError, match=r"expected shape \(N, T, V\)"):
        ar.decode(np.zeros((5, 13)))
    with pytest.raises(ValueError, match=r"\(N, T, V\)"):
        ar.decode(np.zeros((2, 5, 12)))


# ---------------------------------------------------------------------------
# Splits


@pytest.mark.parametrize("fraction", ar.TRAIN_FRACTIONS)
def test_split_indices(fraction):
    train, test = ar.split_indices(20_000, fraction, seed=1)
    assert len(train) == round(fraction * 20_000) and len(train) + len(test) == 20_000
    assert not np.intersect1d(train, test).size
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(20_000))
    again = ar.split_indices(20_000, fraction, seed=1)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(train, ar.split_indices(20_000, fraction, seed=2)[0])
    data = ar.make_dataset(fraction)
    assert len(data.train) == round(fraction * 20_000)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_fraction_out_of_range(fraction):
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        ar.split_indices(100, fraction)
    with pytest.raises(ValueError):
        ar.make_dataset(fraction)


def test_split_mixes_operators_in_last_rows(data):
    # Keras' validation_split takes the last rows: they must not all be '-'.
    assert 0.3 < data.train.op[-1000:].mean() < 0.7


def test_stratified_digit_pools():
    images, labels = fake_digits(per_digit=10)
    train_idx, test_idx = ar.stratified_split(labels, 0.3, seed=0)
    assert not np.intersect1d(train_idx, test_idx).size
    assert np.array_equal(np.sort(np.concatenate([train_idx, test_idx])), np.arange(len(labels)))
    assert np.array_equal(np.bincount(labels[test_idx], minlength=10), np.full(10, 3))
    (tr_x, tr_y), (te_x, te_y) = ar.split_digit_pool(images, labels, 0.3, seed=0)
    assert np.array_equal(te_x, images[test_idx]) and np.array_equal(tr_y, labels[train_idx])
    assert not {x.tobytes() for x in tr_x} & {x.tobytes() for x in te_x}
    again = ar.split_digit_pool(images, labels, 0.3, seed=0)
    assert np.array_equal(again[1][0], te_x)
    assert not np.array_equal(ar.split_digit_pool(images, labels, 0.3, seed=1)[1][0], te_x)


def test_stratified_real_mnist_pools():
    x, y = mnist_10k()
    train_idx, test_idx = ar.stratified_split(y, 0.5, seed=0)
    assert not np.intersect1d(train_idx, test_idx).size and len(train_idx) + len(test_idx) == len(y)
    share = np.bincount(y[test_idx], minlength=10) / np.bincount(y, minlength=10)
    assert np.all(np.abs(share - 0.5) < 0.01)


# ---------------------------------------------------------------------------
# Images


def test_render_uses_pool_images_and_blanks():
    images, labels = fake_digits(per_digit=4)
    strings = ["12+7 ", "99-98", "0-1  "]
    out, sources = ar.render(strings, images, labels, rng=0, return_sources=True)
    assert out.shape == (3, 5, 28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    for i, s in enumerate(strings):
        for j, ch in enumerate(s):
            if ch.isdigit():
                assert labels[sources[i, j]] == int(ch)
                np.testing.assert_array_equal(out[i, j], images[sources[i, j]] / np.float32(255))
            else:
                assert sources[i, j] == -1
                assert (out[i, j].max() == 0) == (ch == " ")  # glyphs have ink, padding none
    again = ar.render(strings, images, labels, rng=0)
    assert np.array_equal(out, again)
    assert not np.array_equal(out, ar.render(strings, images, labels, rng=1))


def test_render_missing_digit():
    images, labels = fake_digits(per_digit=2)
    keep = labels != 7
    with pytest.raises(ValueError, match=r"\[7\]"):
        ar.render(["17+1 "], images[keep], labels[keep], rng=0)
    ar.render(["18+1 "], images[keep], labels[keep], rng=0)  # no 7 needed: fine


def test_glyph_jitter_varies():
    for symbol in ar.OPERATORS:
        glyphs = ar.draw_glyphs(symbol, 50, rng=0)
        assert glyphs.shape == (50, 28, 28) and glyphs.dtype == np.float32
        assert glyphs.min() >= 0 and glyphs.max() <= 1 and np.all(glyphs.max(axis=(1, 2)) > 0.9)
        assert len({g.tobytes() for g in glyphs}) == 50
        ink = glyphs.sum(axis=(1, 2))
        assert ink.std() > 0.1 * ink.mean()  # stroke length and thickness vary
        centres = np.array([np.argwhere(g > 0.5).mean(0) for g in glyphs])
        assert np.all(centres.std(0) > 0.5)  # position varies
    minus, plus = ar.draw_glyphs("-", 50, rng=1), ar.draw_glyphs("+", 50, rng=1)
    rows_with_ink = (minus > 0.5).any(axis=2).sum(axis=1)
    assert rows_with_ink.max() <= 5  # '-' is a thin horizontal bar
    assert plus.sum() > minus.sum()
    with pytest.raises(ValueError):
        ar.draw_glyphs("*", 1)


def test_image_data_shapes_and_pools(image_data):
    data = image_data
    train_keys = {x.tobytes() for x in data.train_pool[0]}
    test_keys = {x.tobytes() for x in data.test_pool[0]}
    assert not train_keys & test_keys
    for split, keys, other in ((data.train, train_keys, test_keys), (data.test, test_keys, train_keys)):
        n = len(split)
        assert split.x_img.shape == (n, 5, 28, 28) and split.y_img.shape == (n, 3, 28, 28)
        assert split.x_img.dtype == split.y_img.dtype == np.float32
        for strings, imgs in ((split.queries[:300], split.x_img[:300]), (split.answers[:300], split.y_img[:300])):
            for s, row in zip(strings, imgs):
                for ch, img in zip(s, row):
                    if ch.isdigit():
                        assert as_key(img) in keys and as_key(img) not in other
                    elif ch == " ":
                        assert not img.any()


def test_real_mnist_pools_disjoint_in_images():
    x, y = mnist_10k()
    data = ar.make_dataset(0.1, digits=(x, y), render_images=False, seed=5)
    pool_keys = {}
    for side in ar.SIDES:
        images, labels = getattr(data, f"{side}_pool")
        pool_keys[side] = {(img.tobytes(), int(lab)) for img, lab in zip(images, labels)}
    assert not {k for k, _ in pool_keys["train"]} & {k for k, _ in pool_keys["test"]}
    for side in ar.SIDES:
        split = getattr(data, side)
        x_img, y_img = ar.render_split(data, side, np.arange(200))
        for strings, imgs in ((split.queries[:200], x_img), (split.answers[:200], y_img)):
            for s, row in zip(strings, imgs):
                for ch, img in zip(s, row):
                    if ch.isdigit():  # one of this side's pool images, of that label
                        assert (as_key(img), int(ch)) in pool_keys[side]


def test_render_split_subset_and_lazy(image_data):
    data = image_data
    lazy = ar.make_dataset(0.5, digits=fake_digits(20), seed=3, render_images=False)
    assert lazy.train.x_img is None
    rows = np.array([3, 0, 9999, 42])
    x_img, y_img = ar.render_split(lazy, "test", rows)
    assert x_img.shape == (4, 5, 28, 28) and y_img.shape == (4, 3, 28, 28)
    assert np.array_equal(x_img, data.test.x_img[rows]) and np.array_equal(y_img, data.test.y_img[rows])
    x_all, _ = ar.render_split(lazy, "train")
    assert np.array_equal(x_all, data.train.x_img)
    with pytest.raises(ValueError, match="side"):
        ar.render_split(lazy, "valid")
    with pytest.raises(ValueError, match="digit pool"):
        ar.render_split(ar.make_dataset(0.5), "train")


def test_samples_of_each_side():
    whole = ar.make_dataset(0.25, max_number=199, seed=4, render_images=False)
    small = ar.make_dataset(0.25, max_number=199, seed=4, digits=fake_digits(20), max_train=300, max_test=200)
    assert (len(small.train), len(small.test)) == (300, 200)
    assert small.train.x_img.shape == (300, 7, 28, 28) and small.test.y_img.shape == (200, 4, 28, 28)
    assert list(small.train.queries) == list(whole.train.queries[:300]), "the first queries of the shuffled side"
    assert list(small.test.answers) == list(whole.test.answers[:200])
    assert len(ar.make_dataset(0.25, max_train=10**6).train) == 5000, "a limit above the side keeps all of it"
    with pytest.raises(ValueError, match="max_test"):
        ar.make_dataset(0.25, max_test=-1)


def test_image_determinism_per_seed():
    digits = fake_digits(5)
    one = ar.make_dataset(0.5, digits=digits, seed=1, render_images=False)
    two = ar.make_dataset(0.5, digits=digits, seed=2, render_images=False)
    rows = np.arange(50)
    assert np.array_equal(ar.render_split(one, "train", rows)[0], ar.render_split(one, "train", rows)[0])
    assert not np.array_equal(ar.render_split(one, "train", rows)[0], ar.render_split(two, "train", rows)[0])


def test_make_dataset_timing_both_modalities():
    try:
        digits = mnist_10k()
        source = "real MNIST 10k"
    except pytest.skip.Exception:
        digits, source = fake_digits(500), "synthetic digits"
    start = time.perf_counter()
    data = ar.make_dataset(0.5, digits=digits)
    seconds = time.perf_counter() - start
    n = len(data.train) + len(data.test)
    nbytes = sum(getattr(s, k).nbytes for s in (data.train, data.test) for k in ("x_img", "y_img", "x_text", "y_text"))
    print(f"\nmake_dataset: {n} queries, text + images ({source}): {seconds:.2f} s, {nbytes / 1e6:.0f} MB")
    assert n == 20_000 and data.test.y_img.shape == (10_000, 3, 28, 28)
    assert seconds < 10


# ---------------------------------------------------------------------------
# Error analysis


def column_reference(a, b, subtract):
    """Per-column carry/borrow the written way, one query at a time."""
    if subtract:
        a, b = max(a, b), min(a, b)
    flag, any_flag = 0, False
    while a or b:
        if subtract:
            flag = int(a % 10 - b % 10 - flag < 0)
        else:
            flag = int(a % 10 + b % 10 + flag >= 10)
        any_flag |= bool(flag)
        a, b = a // 10, b // 10
    return any_flag


def test_carry_and_borrow():
    assert ar.has_carry([15, 12, 95, 0], [5, 7, 5, 0]).tolist() == [True, False, True, False]
    assert ar.has_borrow([50, 7, 45, 100, 3], [7, 50, 23, 1, 3]).tolist() == [True, True, False, True, False]
    a, b, _ = ar.make_queries(199, ("+",))
    assert ar.has_carry(a, b).tolist() == [column_reference(x, y, False) for x, y in zip(a.tolist(), b.tolist())]
    assert ar.has_borrow(a, b).tolist() == [column_reference(x, y, True) for x, y in zip(a.tolist(), b.tolist())]


def test_error_categories_hand_made():
    a = np.array([12, 15, 50, 3, 7, 40])
    b = np.array([7, 5, 7, 5, 9, 2])
    op = np.array([ar.PLUS, ar.PLUS, ar.MINUS, ar.MINUS, ar.MINUS, ar.PLUS])
    # true:        19      20      43      -2      -2      42
    predicted = ["19 ", "21 ", "44 ", "2  ", "1-2", "24 "]
    cats = ar.error_categories(a, b, op, predicted)
    assert cats["wrong"].tolist() == [False, True, True, True, True, True]
    assert cats["invalid"].tolist() == [False, False, False, False, True, False]
    assert cats["plus"].tolist() == [True, True, False, False, False, True]
    assert cats["minus"].tolist() == [False, False, True, True, True, False]
    assert cats["carry"].tolist() == [False, True, False, False, False, False]
    assert cats["borrow"].tolist() == [False, False, True, False, False, False]
    assert cats["negative"].tolist() == [False, False, False, True, True, False]
    assert cats["sign_wrong"].tolist() == [False, False, False, True, False, False]
    assert cats["off_by_one"].tolist() == [False, True, True, False, False, False]
    assert cats["position"].shape == (6, 3)
    assert cats["position"].tolist() == [
        [False, False, False],
        [False, True, False],  # "21 " vs "20 "
        [False, True, False],  # "44 " vs "43 "
        [True, True, False],  # "2  " vs "-2 "
        [True, True, True],  # "1-2" vs "-2 "
        [True, True, False],  # "24 " vs "42 "
    ]
    ints = ar.error_categories(a, b, op, [19, 21, 44, 2, -2, 24])  # integer predictions work too
    assert ints["wrong"].tolist() == [False, True, True, True, False, True]


def test_error_categories_of_perfect_predictions(data):
    cats = ar.error_categories(data.test.a, data.test.b, data.test.op, ar.decode(data.test.y_text))
    assert not cats["wrong"].any() and not cats["position"].any() and not cats["invalid"].any()
    assert cats["carry"].sum() > 0 and cats["borrow"].sum() > 0


def test_given_digit_pools_are_used_as_they_are():
    rng = np.random.default_rng(0)
    train_pool = (rng.integers(0, 255, (50, 28, 28), dtype=np.uint8), np.arange(50) % 10)
    test_pool = (rng.integers(0, 255, (30, 28, 28), dtype=np.uint8), np.arange(30) % 10)
    data = ar.make_dataset(0.5, digit_pools=(train_pool, test_pool), seed=1)
    assert data.train_pool[0] is not None and len(data.train_pool[0]) == 50 and len(data.test_pool[0]) == 30
    assert data.test.x_img.shape == (10000, 5, 28, 28)
    with pytest.raises(ValueError, match="not both"):
        ar.make_dataset(0.5, digits=train_pool, digit_pools=(train_pool, test_pool))
