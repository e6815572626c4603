"""Arithmetic as sequence-to-sequence data: every query `a+b` and `a-b`.

The task of the sequence-modelling assignment (ancestor: the Keras example
"addition_rnn"): an encoder-decoder reads a query such as "12+7 " and writes
its answer "19 ". Queries are every `a+b` and `a-b` for `0 <= a, b <=
max_number`: 2 * 100 * 100 = 20,000 of them for the default `max_number=99`.

Two modalities of the same queries:

* text: one-hot characters over `VOCAB = "0123456789+- "` (13 symbols, space
  pads on the right), queries `(N, 5, 13)`, answers `(N, 3, 13)` float32;
* images: each character drawn as a 28x28 image, queries `(N, 5, 28, 28)`,
  answers `(N, 3, 28, 28)` float32 in [0, 1]. A digit is a random MNIST image
  of that digit, '+' and '-' are procedural glyphs with random jitter, the
  padding space is a blank image. Train-side and test-side queries draw their
  digits from disjoint MNIST pools (`split_digit_pool`).

For `max_number=199` the widths are 7 (query) and 4 (answer: "398", "-199").

Pure NumPy (no TensorFlow), vectorized, reproducible per seed, no `eval`:
answers come from integer arithmetic.

    data = make_dataset(0.5, digits=(x_mnist, y_mnist))
    data.train.x_text   # (10000, 5, 13) float32
    data.test.y_img     # (10000, 3, 28, 28) float32

Memory: images are float32 (what the models consume). All 20,000 queries with
answers in both image arrays take 20,000 * 8 * 784 * 4 B = 0.5 GB. Use
`make_dataset(..., render_images=False)` and `render_split(data, side,
indices)` to render one side, or a subset, later: the images of a subset are
the same rows as those of the whole side (same seed, same draws).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

VOCAB = "0123456789+- "  # index i <-> symbol VOCAB[i]; digits map to their value
PAD = " "
OPERATORS = ("+", "-")  # op code i <-> OPERATORS[i] in the `op` arrays
PLUS, MINUS = 0, 1
TRAIN_FRACTIONS = (0.5, 0.25, 0.1)  # the fractions the assignment compares
INVALID = -(2**31)  # answers_to_int's value for an unparsable answer
IMAGE_SIZE = 28
SIDES = ("train", "test")


# ----------------------------------------------------------------------------
# Queries and answers


def task_widths(max_number=99, operators=OPERATORS):
    """(query_width, answer_width): (5, 3) for 99, (7, 4) for 199."""
    _check_task(max_number, operators)
    query_width = 2 * len(str(max_number)) + 1
    extremes = [max_number]  # a - 0, a + 0
    if "+" in operators:
        extremes.append(2 * max_number)
    if "-" in operators:
        extremes.append(-max_number)
    return query_width, max(len(str(v)) for v in extremes)


def make_queries(max_number=99, operators=OPERATORS):
    """Every query, ordered by operator, a, b: (a, b, op), each int64 (N,).

    N = len(operators) * (max_number + 1) ** 2; op holds codes into OPERATORS.
    """
    _check_task(max_number, operators)
    codes = np.array([OPERATORS.index(o) for o in operators], dtype=np.int64)
    values = np.arange(max_number + 1, dtype=np.int64)
    op, a, b = np.meshgrid(codes, values, values, indexing="ij")
    return a.ravel(), b.ravel(), op.ravel()


def compute_answers(a, b, op):
    """Integer answers of the queries: int64 (N,)."""
    a, b, op = (np.asarray(v, dtype=np.int64) for v in (a, b, op))
    return np.where(op == PLUS, a + b, a - b)


def format_queries(a, b, op, width=None):
    """Query strings like "12+7 ", right-padded with spaces: str array (N,)."""
    ops = np.array(OPERATORS)[np.asarray(op)]
    queries = np.char.add(np.char.add(np.asarray(a).astype(str), ops), np.asarray(b).astype(str))
    return _pad(queries, width)


def format_answers(values, width=None):
    """Answer strings like "19 " or "-5 ", right-padded: str array (N,)."""
    return _pad(np.asarray(values, dtype=np.int64).astype(str), width)


def _pad(strings, width):
    """Right-pad with spaces to exactly `width`: str array (N,) of dtype <U{width}."""
    strings = np.asarray(strings, dtype=str)
    if width is None:
        width = int(np.char.str_len(strings).max(initial=0))
    _check_lengths(strings, width)
    return np.char.ljust(strings, width, PAD).astype(f"<U{max(width, 1)}")


def _check_task(max_number, operators):
    if not isinstance(max_number, (int, np.integer)) or max_number < 0:
        raise ValueError(f"max_number must be an integer >= 0, got {max_number!r}")
    if not operators or set(operators) - set(OPERATORS) or len(set(operators)) != len(operators):
        raise ValueError(f"operators must be distinct symbols out of {OPERATORS}, got {operators!r}")


def _check_lengths(strings, width):
    lengths = np.char.str_len(strings)
    if lengths.size and lengths.max() > width:
        s = strings[int(np.argmax(lengths))]
        raise ValueError(f"{str(s)!r} has {len(s)} characters, more than width {width}")


# ----------------------------------------------------------------------------
# Text modality: one-hot encoding


def to_indices(strings, vocab=VOCAB, width=None):
    """Vocabulary indices of the characters, padded with spaces: int64 (N, T)."""
    strings = np.asarray([strings] if isinstance(strings, str) else strings, dtype=str)
    strings = _pad(strings.reshape(-1), width)
    n, t = len(strings), int(np.char.str_len(strings).max(initial=0))
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"vocabulary {vocab!r} repeats a symbol")
    codes = _code_points(strings, t)  # (N, T) unicode code points
    vocab_codes = np.array([ord(c) for c in vocab], dtype=np.uint32)  # (V,)
    order = np.argsort(vocab_codes)
    pos = np.searchsorted(vocab_codes[order], codes).clip(0, len(vocab) - 1)
    indices = order[pos]
    unknown = vocab_codes[indices] != codes
    if unknown.any():
        i, j = np.argwhere(unknown)[0]
        raise ValueError(
            f"unknown character {chr(codes[i, j])!r} in {str(strings[i])!r} "
            f"(position {j}); the vocabulary is {vocab!r}"
        )
    return indices.astype(np.int64)


def _code_points(strings, width):
    """Unicode code points of equal-width strings: uint32 (N, width)."""
    n = len(strings)
    codes = np.ascontiguousarray(strings).view(np.uint32).reshape(n, -1)
    return codes[:, :width]


def encode(strings, vocab=VOCAB, width=None):
    """One-hot characters: float32 (N, T, len(vocab)), T = width or longest.

    Shorter strings are right-padded with spaces; a longer one, or a character
    not in `vocab`, raises ValueError.
    """
    indices = to_indices(strings, vocab, width)  # (N, T)
    return np.eye(len(vocab), dtype=np.float32)[indices]  # (N, T, V)


def decode(onehot_or_probs, vocab=VOCAB):
    """Strings of the most likely symbols, padding kept: list of N str.

    Accepts one-hot or probabilities (N, T, V); decode(encode(s)) == s for
    strings s of equal (padded) width.
    """
    x = np.asarray(onehot_or_probs)
    if x.ndim != 3 or x.shape[-1] != len(vocab):
        raise ValueError(
            f"expected shape (N, T, V) with V = len(vocab) = {len(vocab)}, got shape {x.shape}"
        )
    n, t, _ = x.shape
    if t == 0:
        return [""] * n
    chars = np.array(list(vocab))[x.argmax(axis=-1)]  # (N, T) of '<U1'
    return np.ascontiguousarray(chars).view(f"<U{t}")[:, 0].tolist()


_NUMBER = re.compile(r"-?[0-9]+ *")


def answer_to_int(answer):
    """The integer of an answer string like "-5 ", or None if unparsable ("1-2")."""
    return int(answer) if _NUMBER.fullmatch(answer) else None


def answers_to_int(answers):
    """Integers of answer strings: int64 (N,), INVALID where unparsable."""
    values = [answer_to_int(s) for s in answers]
    return np.array([INVALID if v is None else v for v in values], dtype=np.int64)


# ----------------------------------------------------------------------------
# Splits


def split_indices(n, train_fraction=0.5, seed=0):
    """Random disjoint split of range(n): (train_idx, test_idx), int64, shuffled.

    len(train_idx) = round(train_fraction * n). The indices come in random
    order (not sorted), so that Keras' `validation_split`, which takes the last
    rows, does not take only '-' queries.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction!r}")
    n_train = int(round(train_fraction * n))
    if not 0 < n_train < n:
        raise ValueError(f"train_fraction={train_fraction} of n={n} leaves a side empty")
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    return perm[:n_train], perm[n_train:]


def stratified_split(labels, test_fraction=0.5, seed=0):
    """Split per label, round(test_fraction * count) of each label to test.

    Returns (train_idx, test_idx), int64, disjoint, covering, each sorted.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        test.append(rng.permutation(members)[: int(round(test_fraction * len(members)))])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(len(labels)), test, assume_unique=True)
    return train.astype(np.int64), test.astype(np.int64)


def split_digit_pool(images, labels, test_fraction=0.5, seed=0):
    """Disjoint digit pools, stratified per digit.

    Returns ((train_images, train_labels), (test_images, test_labels)),
    images (P, 28, 28) as given, labels (P,).
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    train, test = stratified_split(labels, test_fraction, seed)
    return (images[train], labels[train]), (images[test], labels[test])


# ----------------------------------------------------------------------------
# Image modality


def draw_glyphs(symbol, n, rng=None, size=IMAGE_SIZE):
    """n jittered '+' or '-' glyphs: float32 (n, size, size) in [0, 1]."""
    rng = np.random.default_rng(rng)
    return _glyphs(symbol, rng.random((n, 5)), size)


def _glyphs(symbol, u, size=IMAGE_SIZE):
    """Glyphs from uniforms u (n, 5): offset y, x, arm lengths, thickness."""
    if symbol not in OPERATORS:
        raise ValueError(f"no glyph for {symbol!r}, only for {OPERATORS}")
    s = size / IMAGE_SIZE
    u = u.astype(np.float32)[:, :, None, None]  # (n, 5, 1, 1)
    cy = (size - 1) / 2 + s * (6 * u[:, 0] - 3)  # centre jitter of +-3 px
    cx = (size - 1) / 2 + s * (6 * u[:, 1] - 3)
    half_w = s * (5 + 4 * u[:, 2])  # horizontal arm: 10 to 18 px long
    half_h = s * (5 + 4 * u[:, 3])  # vertical arm (for '+')
    half_t = s * (0.9 + 0.9 * u[:, 4])  # stroke: about 2 to 4 px thick
    y = np.arange(size, dtype=np.float32)[:, None]  # (size, 1)
    x = np.arange(size, dtype=np.float32)[None, :]  # (1, size)
    dy, dx = np.abs(y - cy), np.abs(x - cx)  # (n, size, size)

    def bar(along, across, half_len):  # anti-aliased edges, 1 inside
        return np.clip(half_len + 0.5 - along, 0, 1) * np.clip(half_t + 0.5 - across, 0, 1)

    image = bar(dx, dy, half_w)
    if symbol == "+":
        image = np.maximum(image, bar(dy, dx, half_h))
    return image.astype(np.float32)


def render(strings, digit_images, digit_labels, rng=None, *, return_sources=False):
    """Strings drawn as images: float32 (N, T, 28, 28) in [0, 1].

    Each digit is a random pool image of that digit (uint8 images are divided
    by 255), '+' and '-' are jittered glyphs, the space is blank. With
    return_sources, also returns int64 (N, T): the pool index of each digit,
    -1 for the other symbols.
    """
    indices = to_indices(strings)  # (N, T)
    rng = np.random.default_rng(rng)
    u_digit, u_glyph = _draws(rng, indices.shape)
    return _render(indices, digit_images, digit_labels, u_digit, u_glyph, return_sources)


def _draws(rng, shape):
    """The randomness of rendering: a uniform per slot for the digit draw and
    5 for the glyph, drawn for every slot so that a subset of rows renders as
    the same rows of the whole."""
    return rng.random(shape), rng.random((*shape, 5))  # (N, T), (N, T, 5)


def _render(indices, images, labels, u_digit, u_glyph, return_sources=False):
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(
            f"expected digit images (P, H, W) and labels (P,), got {images.shape} and {labels.shape}"
        )
    size = images.shape[1]
    pool = images.astype(np.float32) / np.float32(255 if images.dtype == np.uint8 else 1)  # (P, H, W)

    # Digits (VOCAB index = digit value): pick a pool image of that label.
    is_digit = indices < 10  # (N, T)
    counts = np.bincount(labels.astype(np.int64), minlength=10)[:10]  # (10,)
    missing = np.setdiff1d(np.unique(indices[is_digit]), np.flatnonzero(counts))
    if missing.size:
        raise ValueError(f"the digit pool has no image of digit(s) {missing.tolist()}")
    by_label = np.argsort(labels, kind="stable")  # pool indices grouped by label
    starts = np.cumsum(counts) - counts  # (10,)
    d = np.where(is_digit, indices, 0)
    pick = np.minimum((u_digit * counts[d]).astype(np.int64), counts[d] - 1)
    sources = np.where(is_digit, by_label[(starts[d] + pick).clip(0, len(labels) - 1)], -1)

    # Atlas of every image used: the pool, then one glyph per operator slot,
    # then a blank; a single gather then draws all N * T slots.
    atlas, slot = [pool], sources.copy()
    offset = len(pool)
    for symbol in OPERATORS:
        mask = indices == VOCAB.index(symbol)  # (N, T)
        k = int(mask.sum())
        atlas.append(_glyphs(symbol, u_glyph[mask], size))  # (k, H, W)
        slot[mask] = offset + np.arange(k)
        offset += k
    atlas.append(np.zeros((1, size, size), np.float32))
    slot[indices == VOCAB.index(PAD)] = offset
    out = np.concatenate(atlas)[slot]  # (N, T, H, W)
    return (out, sources) if return_sources else out


# ----------------------------------------------------------------------------
# The dataset


@dataclass(frozen=True, eq=False)
class Split:
    """One side (train or test) of the task; Tq = query width, Ta = answer width."""

    queries: np.ndarray  # (N,) str, e.g. "12+7 "
    answers: np.ndarray  # (N,) str, e.g. "19 ", "-5 "
    a: np.ndarray  # (N,) int64
    b: np.ndarray  # (N,) int64
    op: np.ndarray  # (N,) int64, code into OPERATORS (PLUS=0, MINUS=1)
    x_text: np.ndarray  # (N, Tq, 13) float32 one-hot
    y_text: np.ndarray  # (N, Ta, 13) float32 one-hot
    x_img: np.ndarray | None = None  # (N, Tq, 28, 28) float32 in [0, 1]
    y_img: np.ndarray | None = None  # (N, Ta, 28, 28) float32 in [0, 1]

    def __len__(self):
        return len(self.queries)

    @property
    def answer_values(self):
        """Integer answers: int64 (N,)."""
        return compute_answers(self.a, self.b, self.op)

    def __repr__(self):
        images = "with images" if self.x_img is not None else "no images"
        return f"Split({len(self)} queries, x_text {self.x_text.shape}, {images})"


@dataclass(frozen=True, eq=False)
class ArithmeticData:
    """The task in both modalities: `train` and `test` Splits and its settings."""

    train: Split
    test: Split
    max_number: int
    operators: tuple
    query_width: int  # 5 for max_number 99, 7 for 199
    answer_width: int  # 3 for max_number 99, 4 for 199
    seed: int
    train_pool: tuple | None = None  # (images (P, 28, 28), labels (P,)) for train queries
    test_pool: tuple | None = None  # disjoint from train_pool, for test queries
    vocab: str = VOCAB

    def __repr__(self):
        return (
            f"ArithmeticData(max_number={self.max_number}, operators={self.operators}, "
            f"train={self.train!r}, test={self.test!r})"
        )


def make_dataset(
    train_fraction=0.5,
    *,
    max_number=99,
    operators=OPERATORS,
    seed=0,
    digits=None,
    digit_test_fraction=0.5,
    digit_pools=None,
    render_images=True,
    max_train=0,
    max_test=0,
):
    """Every query, split into train and test: an ArithmeticData.

    Text arrays always: `data.train.x_text` (N_train, 5, 13), `y_text`
    (N_train, 3, 13) float32 for max_number=99. With `digits=(images,
    labels)` (MNIST, uint8 (P, 28, 28) and (P,)), the digits are split into
    disjoint pools (`digit_test_fraction` to test); or pass the two pools
    yourself as `digit_pools=((train_images, train_labels), (test_images,
    test_labels))`, e.g. MNIST's own train and test digits. Then, unless
    render_images=False, `x_img` (N, 5, 28, 28) and `y_img` (N, 3, 28, 28)
    float32 are rendered, train side from the train pool, test side from the
    test pool. `render_split` renders them later, or a subset.

    `max_train` / `max_test` > 0 keep only that many queries of the training /
    test part: the first of that side, which is in random order, so a random
    sample of it (a 3-digit task has 80,000 queries; their images take 2.8 GB).
    """
    query_width, answer_width = task_widths(max_number, operators)
    a, b, op = make_queries(max_number, operators)  # (N,) each
    queries = format_queries(a, b, op, query_width)  # (N,) str
    answers = format_answers(compute_answers(a, b, op), answer_width)  # (N,) str
    splits = split_indices(len(a), train_fraction, seed)
    for limit, name in ((max_train, "max_train"), (max_test, "max_test")):
        if not isinstance(limit, (int, np.integer)) or limit < 0:
            raise ValueError(f"{name} must be an integer >= 0 (0: the whole side), got {limit!r}")
    splits = tuple(idx[:limit] if limit else idx for idx, limit in zip(splits, (max_train, max_test)))

    def side(idx):
        return Split(
            queries=queries[idx],
            answers=answers[idx],
            a=a[idx],
            b=b[idx],
            op=op[idx],
            x_text=encode(queries[idx], width=query_width),  # (N_side, Tq, 13)
            y_text=encode(answers[idx], width=answer_width),  # (N_side, Ta, 13)
        )

    pools = (None, None)
    if digits is not None and digit_pools is not None:
        raise ValueError("pass either digits=(images, labels) or digit_pools=(train_pool, test_pool), not both")
    if digits is not None:
        pools = split_digit_pool(*digits, test_fraction=digit_test_fraction, seed=seed)
    elif digit_pools is not None:
        (train_x, train_y), (test_x, test_y) = digit_pools
        pools = ((np.asarray(train_x), np.asarray(train_y)), (np.asarray(test_x), np.asarray(test_y)))
    data = ArithmeticData(
        train=side(splits[0]),
        test=side(splits[1]),
        max_number=max_number,
        operators=tuple(operators),
        query_width=query_width,
        answer_width=answer_width,
        seed=seed,
        train_pool=pools[0],
        test_pool=pools[1],
    )
    if pools[0] is None or not render_images:
        return data
    images = {}
    for name in SIDES:
        x_img, y_img = render_split(data, name)
        images[name] = dataclasses.replace(getattr(data, name), x_img=x_img, y_img=y_img)
    return dataclasses.replace(data, **images)


def render_split(data, side, indices=None):
    """Images of one side's queries and answers, from that side's digit pool.

    Returns (x_img (n, Tq, 28, 28), y_img (n, Ta, 28, 28)) float32 for the
    rows `indices` (default: all); reproducible: the rows of a subset equal
    those rows of the whole side.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    pool = data.train_pool if side == "train" else data.test_pool
    if pool is None:
        raise ValueError("no digit pool: build the data with make_dataset(..., digits=(images, labels))")
    split = getattr(data, side)
    rng = np.random.default_rng([data.seed, SIDES.index(side)])
    rows = slice(None) if indices is None else np.asarray(indices)
    out = []
    for strings, width in ((split.queries, data.query_width), (split.answers, data.answer_width)):
        u_digit, u_glyph = _draws(rng, (len(split), width))  # drawn for all rows
        chars = to_indices(strings, width=width)[rows]  # (n, T)
        out.append(_render(chars, *pool, u_digit[rows], u_glyph[rows]))
    return tuple(out)


# ----------------------------------------------------------------------------
# Error analysis


def has_carry(a, b):
    """Whether a + b carries in any decimal column: bool (N,)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    carry = np.zeros(np.broadcast(a, b).shape, dtype=bool)
    out = carry.copy()
    while np.any((a > 0) | (b > 0)):  # one pass per decimal column
        carry = a % 10 + b % 10 + carry >= 10
        out |= carry
        a, b = a // 10, b // 10
    return out


def has_borrow(a, b):
    """Whether a - b borrows in any decimal column: bool (N,).

    For a < b the written method computes b - a and negates, so the borrow is
    that of the larger minus the smaller.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    big, small = np.maximum(a, b), np.minimum(a, b)
    borrow = np.zeros(np.broadcast(a, b).shape, dtype=bool)
    out = borrow.copy()
    while np.any(small > 0):
        borrow = big % 10 - small % 10 - borrow < 0
        out |= borrow
        big, small = big // 10, small // 10
    return out


def error_categories(a, b, op, predicted_answers):
    """Which predictions are wrong and how: dict of bool arrays.

    predicted_answers: N strings (e.g. decode(model output)) or ints. Keys,
    each (N,) unless said: "wrong" (string differs), "invalid" (unparsable),
    "plus", "minus" (operator), "carry" ('+' with a carry), "borrow" ('-' with
    a borrow), "negative" (true answer < 0), "sign_wrong", "off_by_one"
    (|pred - true| == 1), "position" (N, Ta): which characters differ.
    """
    a, b, op = (np.asarray(v, dtype=np.int64) for v in (a, b, op))
    pred = np.asarray(predicted_answers)
    if pred.dtype.kind in "iu":
        pred = format_answers(pred)
    pred = np.asarray(pred, dtype=str)
    true_values = compute_answers(a, b, op)
    true = format_answers(true_values)
    width = int(max(np.char.str_len(pred).max(initial=0), np.char.str_len(true).max(initial=0)))
    pred, true = _pad(pred, width), _pad(true, width)
    if pred.shape != true.shape:
        raise ValueError(f"{len(pred)} predicted answers for {len(true)} queries")
    values = answers_to_int(pred)
    valid = values != INVALID
    return {
        "wrong": pred != true,
        "invalid": ~valid,
        "plus": op == PLUS,
        "minus": op == MINUS,
        "carry": (op == PLUS) & has_carry(a, b),
        "borrow": (op == MINUS) & has_borrow(a, b),
        "negative": true_values < 0,
        "sign_wrong": valid & ((values < 0) != (true_values < 0)),
        "off_by_one": valid & (np.abs(values - true_values) == 1),
        "position": _code_points(pred, width) != _code_points(true, width),  # (N, Ta)
    }
