"""`course similarity`: copydetect over the students' own code, the release's code left out.

A small course of its own ('sim': three solution cells of 20-40 lines, with given scaffolding
around each answer, a locked setup cell and a test) so winnowing has enough tokens. Five students:
alice and bob hand in the same code (bob renamed every variable, moved a function to another cell,
swapped statements, changed blank lines and comments); carol wrote her own; dave and erin answered
one function each, differently, and left the rest as the release's stubs. No grading: seconds."""

from __future__ import annotations

import csv
import re
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from course_utils.config import repo_root
from course_utils.tools import similarity
from course_utils.tools.workspace import Workspace
from tests.conftest import write_course_config
from tests.test_grading import GRADING, _meta, write_assignment

HOSTILE = '</script><script>alert("pwned")</script><img src=x onerror=alert(1)>'
CAROL_HOSTILE = '</code></pre><img src=y onerror=alert(2)>'

SETUP = '''\
import math

import numpy as np

RNG = np.random.default_rng(0)


def show(values, title=""):
    """Print `values` three decimals each, after `title`."""
    print(title, " ".join(f"{v:.3f}" for v in values))
'''
# The given scaffolding of each solution cell: (before the answer, after it).
SCAFFOLD = {
    "stats": ('''\
def running_stats(values, window):
    """Mean and standard deviation of `values` over each run of `window` items.

    Returns (means, stds): two lists of len(values) - window + 1 floats.
    """
    if window < 1 or window > len(values):
        raise ValueError(f"window must be from 1 to {len(values)}, not {window}")
    means, stds = [], []
''', '''\
    return means, stds
'''),
    "vocab": ('''\
from collections import Counter

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]


def build_vocab(texts, min_count=1):
    """The words of `texts` seen at least `min_count` times, most frequent first, after SPECIALS.

    Returns (word_to_id, id_to_word).
    """
    word_to_id = {word: i for i, word in enumerate(SPECIALS)}
    id_to_word = list(SPECIALS)
''', '''\
    assert len(word_to_id) == len(id_to_word)
    return word_to_id, id_to_word
'''),
    "decode": ('''\
def greedy_decode(step, start, end, max_len):
    """Decode greedily: `step(tokens)` gives the scores of the token after `tokens`.

    Returns the tokens after `start`, up to `end` (left out), at most `max_len` of them.
    """
    tokens = [start]
''', '''\
    return tokens[1:]
'''),
}
REFERENCE = {
    "stats": "window_values = np.lib.stride_tricks.sliding_window_view(np.asarray(values, float), window)\n"
             "means.extend(window_values.mean(axis=1).tolist())\nstds.extend(window_values.std(axis=1).tolist())",
    "vocab": "counts = Counter(w for t in texts for w in t.split())\n"
             "for w, c in counts.most_common():\n    if c >= min_count and w not in word_to_id:\n"
             "        word_to_id[w] = len(id_to_word)\n        id_to_word.append(w)",
    "decode": "for _ in range(max_len):\n    nxt = int(np.argmax(step(tokens)))\n    if nxt == end:\n"
              "        break\n    tokens.append(nxt)",
}

ALICE = {
    "stats": '''\
total = 0.0
squares = 0.0
for i, value in enumerate(values):
    total += value
    squares += value * value
    if i >= window:
        old = values[i - window]
        total -= old
        squares -= old * old
    if i >= window - 1:
        mean = total / window
        variance = max(squares / window - mean * mean, 0.0)
        means.append(mean)
        stds.append(math.sqrt(variance))
''',
    "vocab": '''\
counts = Counter()
for text in texts:
    for word in text.lower().split():
        word = word.strip(".,;:!?\\"'()")
        if word:
            counts[word] += 1
ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
for word, count in ranked:
    if count < min_count:
        break
    if word in word_to_id:
        continue
    word_to_id[word] = len(id_to_word)
    id_to_word.append(word)
''',
    "decode": f'''\
while len(tokens) <= max_len:
    scores = step(tokens)
    best = 0
    best_score = scores[0]
    for index in range(1, len(scores)):
        if scores[index] > best_score:
            best_score = scores[index]
            best = index
    if best == end:
        break
    tokens.append(best)
banner = {HOSTILE!r}
assert banner
''',
    "encode": '''\
def encode(text, word_to_id, max_len):
    """Ids of the words of `text` between <start> and <end>, padded to max_len."""
    ids = [word_to_id["<start>"]]
    for word in text.lower().split():
        word = word.strip(".,;:!?\\"'()")
        if not word:
            continue
        ids.append(word_to_id.get(word, word_to_id["<unk>"]))
        if len(ids) == max_len - 1:
            break
    ids.append(word_to_id["<end>"])
    padding = [word_to_id["<pad>"]] * (max_len - len(ids))
    return ids + padding
''',
}
# alice's code, every name changed, statements swapped, blank lines and comments changed, and encode
# moved from its own cell after build_vocab to one after greedy_decode.
BOB = {
    "stats": '''\
# keep a running sum and a running sum of squares
acc_sq = 0.0
acc = 0.0

for k, x in enumerate(values):
    acc += x
    acc_sq += x * x

    if k >= window:
        leaving = values[k - window]
        acc -= leaving
        acc_sq -= leaving * leaving
    if k >= window - 1:
        mu = acc / window
        var = max(acc_sq / window - mu * mu, 0.0)
        stds.append(math.sqrt(var))
        means.append(mu)
''',
    "vocab": '''\
freq = Counter()
for sentence in texts:
    for w in sentence.lower().split():
        w = w.strip(".,;:!?\\"'()")
        if w:
            freq[w] += 1

order = sorted(freq.items(), key=lambda pair: (-pair[1], pair[0]))
for w, n in order:
    if n < min_count:
        break
    if w in word_to_id:
        continue
    word_to_id[w] = len(id_to_word)
    id_to_word.append(w)
''',
    "decode": f'''\
while len(tokens) <= max_len:
    logits = step(tokens)

    top_score = logits[0]
    arg = 0
    for j in range(1, len(logits)):
        if logits[j] > top_score:
            top_score = logits[j]
            arg = j
    if arg == end:
        break  # done
    tokens.append(arg)
msg = {HOSTILE!r}
assert msg
''',
    "encode": '''\
def encode(sentence, vocab, length):
    seq = [vocab["<start>"]]

    for w in sentence.lower().split():
        w = w.strip(".,;:!?\\"'()")
        if not w:
            continue
        seq.append(vocab.get(w, vocab["<unk>"]))
        if len(seq) == length - 1:
            break
    seq.append(vocab["<end>"])
    pad = [vocab["<pad>"]] * (length - len(seq))
    return seq + pad
''',
}
CAROL = {
    "stats": '''\
data = np.asarray(values, dtype=float)
kernel = np.ones(window) / window
means.extend(np.convolve(data, kernel, mode="valid").tolist())
squared = np.convolve(data ** 2, kernel, mode="valid")
spread = np.sqrt(np.clip(squared - np.asarray(means) ** 2, 0, None))
stds.extend(float(s) for s in spread)
''',
    "vocab": '''\
seen = {}
order = []
for line in texts:
    cleaned = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in line.lower())
    for token in cleaned.split():
        if token not in seen:
            seen[token] = 0
            order.append(token)
        seen[token] += 1
keep = [t for t in order if seen[t] >= min_count and t not in word_to_id]
keep.sort(key=lambda t: (-seen[t], t))
id_to_word.extend(keep)
word_to_id.update({t: len(SPECIALS) + n for n, t in enumerate(keep)})
''',
    "decode": f'''\
# {CAROL_HOSTILE}
for _ in range(max_len):
    scores = np.asarray(step(tokens))
    nxt = int(scores.argmax())
    if nxt == end:
        break
    tokens = tokens + [nxt]
''',
    "encode": '''\
def encode(text, vocab, length):
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()
    body = [vocab.get(w, vocab["<unk>"]) for w in words][: length - 2]
    seq = [vocab["<start>"], *body, vocab["<end>"]]
    return seq + [vocab["<pad>"]] * (length - len(seq))
''',
}
# one small answer each, different; the other cells as the release hands them out
DAVE = {"stats": '''\
for first in range(len(values) - window + 1):
    chunk = values[first:first + window]
    means.append(sum(chunk) / window)
    stds.append(float(np.std(chunk)))
'''}
ERIN = {"stats": '''\
import statistics
k = 0
while k + window <= len(values):
    part = values[k:k + window]
    means.append(statistics.fmean(part))
    stds.append(statistics.pstdev(part))
    k += 1
'''}
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _cell(gid: str, answer: str) -> str:
    before, after = SCAFFOLD[gid]
    return before + textwrap.indent(answer.rstrip() + "\n", "    ") + after


def make_sim_course(root: Path) -> Path:
    """A course with one assignment 'sim' (released with nbgrader, as `course release` does)."""
    root.mkdir(parents=True, exist_ok=True)
    config = (repo_root() / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config.replace("course = load_config()",
                                                            f"course = {{'grading': {GRADING!r}}}"))
    write_course_config(root, {"sim": {"test_stats": 1}})
    cells = [
        new_markdown_cell("# Sequences\n\nA hint:\n\n```python\nmeans.append(sum(values[:window]) / window)\n```",
                          metadata=_meta("intro", locked=True)),
        new_code_cell(SETUP, metadata=_meta("setup", locked=True)),
    ]
    for gid in SCAFFOLD:
        cells.append(new_code_cell(_cell(gid, f"### BEGIN SOLUTION\n{REFERENCE[gid]}\n### END SOLUTION"),
                                   metadata=_meta(gid, solution=True)))
        if gid == "stats":
            cells.append(new_code_cell("means, stds = running_stats([1.0, 2.0, 4.0], 2)\n"
                                       "assert np.allclose(means, [1.5, 3.0])\nassert np.allclose(stds, [0.5, 1.0])",
                                       metadata=_meta("test_stats", grade=True, locked=True, points=1)))
    write_assignment(root, "sim", cells)
    return root


def hand_in(ws: Workspace, student: str, answers: dict[str, str], encode_after: str = "vocab") -> None:
    """The release notebook with `answers` in its solution cells (the stub where none), and an
    `encode` answer in a cell of the student's own after the cell `encode_after`."""
    nb = nbformat.read(ws.root / "release" / "sim" / "sim.ipynb", as_version=4)
    for cell in list(nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers and gid in SCAFFOLD:
            cell.source = _cell(gid, answers[gid])
        if gid == encode_after and "encode" in answers:
            nb.cells.insert(nb.cells.index(cell) + 1, new_code_cell(answers["encode"]))
    folder = ws.submitted(student, "sim")
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "sim.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_sim_course(tmp_path_factory.mktemp("similarity") / "course")


@pytest.fixture(scope="module")
def ws(course) -> Workspace:
    ws = Workspace(course, course / "grading")
    hand_in(ws, "alice", ALICE)
    hand_in(ws, "bob", BOB, encode_after="decode")
    hand_in(ws, "carol", CAROL)
    hand_in(ws, "dave", DAVE)
    hand_in(ws, "erin", ERIN)
    hand_in(ws, "frank", {})  # the release as it came: nothing of his own
    mallory = ws.submitted("mallory", "sim")
    mallory.mkdir(parents=True)
    (mallory / "sim.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x = 1"')  # cut short
    oscar = ws.submitted("oscar", "sim")
    oscar.mkdir(parents=True)
    (oscar / "sim.ipynb").write_text('{"cells": [{"cell_type": "code", "source": 5}]}')  # JSON, no notebook
    return ws


@pytest.fixture(scope="module")
def report(ws) -> similarity.Report:
    return similarity.similarity(ws, "sim", threshold=0.0, top=20)  # every pair shown


def _pair(report, a, b) -> similarity.Pair:
    return next(p for p in report.pairs if {p.a, p.b} == {a, b})


def test_copies_rank_first_and_independent_code_low(report):
    scores = {(p.a, p.b): round(p.max, 3) for p in report.pairs}
    print("similarity scores:", scores)
    first = report.pairs[0]
    assert (first.a, first.b) == ("alice", "bob"), scores
    assert first.a_to_b > 0.8 and first.b_to_a > 0.8, scores
    assert first.tokens > 300
    for other in ("alice", "bob"):
        assert _pair(report, "carol", other).max < 0.25, scores
    assert report.pairs[1].max < 0.5 * first.max


def test_the_release_code_is_left_out(ws, report):
    """dave and erin share only the release's code (stubs, scaffolding): near 0, though that code
    alone makes them look alike when it is not left out."""
    shared = _pair(report, "dave", "erin")
    assert shared.max < 0.1, shared
    from copydetect import compare_files

    release, locked = similarity.release_code(ws.root / "release" / "sim")
    codes = {s: similarity.student_code(similarity.read_cells(ws.submitted(s, "sim") / "sim.ipynb"), "sim.ipynb",
                                        locked) for s in ("dave", "erin")}
    _, (a_to_b, b_to_a), _ = compare_files(*similarity.fingerprints(codes, {}).values())
    print(f"dave/erin: {shared.max:.3f} with the release left out, {max(a_to_b, b_to_a):.3f} without")
    assert max(a_to_b, b_to_a) > 0.5
    # the locked cells are not compared at all: the setup's helper is in nobody's code
    assert "def show(values" not in similarity.student_code(
        similarity.read_cells(ws.submitted("alice", "sim") / "sim.ipynb"), "sim.ipynb", locked)
    assert report.no_own_code == ["frank"]
    assert all(p.max == 0 for p in report.pairs if "frank" in (p.a, p.b))


def test_invalid_notebooks_are_listed_and_skipped(report):
    assert report.no_notebook == ["mallory", "oscar"] and not {"mallory", "oscar"} & set(report.students)
    assert len(report.skipped) == 2 and report.skipped[0].startswith("mallory/sim.ipynb: not valid JSON")
    assert report.skipped[1] == "oscar/sim.ipynb: JSON, but cell 0 is not a notebook cell"
    printed = similarity.format_report(report)
    assert "mallory/sim.ipynb: not valid JSON" in printed and "oscar/sim.ipynb" in printed
    page = report.html.read_text()
    assert "mallory/sim.ipynb: not valid JSON" in page and "oscar" in page


def test_a_run_a_submission_holds_twice_is_kept(tmp_path):
    """copydetect's own boilerplate removal (CodeFingerprint(boilerplate=...)) drops one occurrence
    of every run a file holds twice, even runs the boilerplate does not hold; similarity's keeps them."""
    from copydetect import CodeFingerprint

    twice = tmp_path / "twice.py"
    twice.write_text("def f(a, b):\n    return [x * a + b for x in range(a) if x % 3 == 1]\n" * 2)
    given = tmp_path / "given.py"
    given.write_text("for i in range(10):\n    print('given', i, i ** 2, sep=', ')\n")
    boilerplate = CodeFingerprint(str(given), similarity.NOISE_T, 1).hashes
    plain = CodeFingerprint(str(twice), similarity.NOISE_T, similarity.WINDOW)
    theirs = CodeFingerprint(str(twice), similarity.NOISE_T, similarity.WINDOW,
                             boilerplate=np.array(sorted(boilerplate)))
    ours = similarity._fingerprint(twice, {int(h) for h in boilerplate})
    assert not plain.hashes & boilerplate                             # nothing in common with the given code
    assert theirs.token_coverage < plain.token_coverage == ours.token_coverage
    assert ours.hash_idx == plain.hash_idx


def test_csv_columns_and_ranking(report):
    with open(report.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student_a", "student_b", "a_to_b", "b_to_a", "max", "tokens_overlapping"]
    n = len(report.students)
    assert n == 6 and len(rows) == n * (n - 1) // 2
    assert (rows[0]["student_a"], rows[0]["student_b"]) == ("alice", "bob")
    maxima = [float(r["max"]) for r in rows]
    assert maxima == sorted(maxima, reverse=True)
    for r in rows:
        assert float(r["max"]) == max(float(r["a_to_b"]), float(r["b_to_a"]))
        assert int(r["tokens_overlapping"]) >= 0 and r["student_a"] < r["student_b"]


def test_html_marks_both_sides_and_escapes_student_text(report):
    page = report.html.read_text()
    head = page[:page.index("<h1")]
    assert "it does not decide" in head                          # said first, above everything
    assert "<script" not in page.lower() and "<img" not in page.lower()   # no tag a student wrote
    assert "&lt;/script&gt;&lt;script&gt;alert(&#34;pwned&#34;)" in page   # shown as text instead
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;img src=y onerror=alert(2)&gt;" in page   # carol's comment
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)   # offline: nothing fetched
    first = page.index('id="pair-1"')
    section = page[first:page.index('id="pair-2"')]
    assert "alice" in section and "bob" in section
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", section, re.S))
    for alice_only, bob_only in (("squares", "acc_sq"), ("best_score", "top_score"), ("word_to_id", "vocab")):
        assert alice_only in marked and bob_only in marked, (alice_only, bob_only)
    assert len(re.findall(r"<mark>", page)) == len(re.findall(r"</mark>", page))


def test_cli_writes_into_the_workspace_and_prints_the_top_pairs(ws, capsys):
    from course_utils.cli import main

    status = main(["similarity", "sim", "--workspace", str(ws.folder), "--course", str(ws.root), "--top", "2",
                   "--threshold", "0.1"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert (ws.folder / "similarity" / "sim.html").is_file() and (ws.folder / "similarity" / "sim.csv").is_file()
    ranks = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+\d\.\d\d\s", line)]
    assert 1 <= len(ranks) <= 2 and ranks[0][0] == "1" and ranks[0][-2:] == ["alice", "bob"], out
    assert "decides nothing" in out and "mallory/sim.ipynb: not valid JSON" in out


def test_clear_errors(course, tmp_path, capsys):
    from course_utils.cli import main

    one = Workspace(course, tmp_path / "one")
    hand_in(one, "alice", ALICE)
    with pytest.raises(similarity.SimilarityError, match="at least 2 submissions"):
        similarity.similarity(one, "sim")
    assert main(["similarity", "sim", "--workspace", str(one.folder), "--course", str(course)]) == 2
    assert "at least 2 submissions" in capsys.readouterr().err
    with pytest.raises(similarity.SimilarityError, match="no released notebooks"):
        similarity.similarity(one, "nothing")
    assert main(["similarity", "nothing", "--workspace", str(one.folder), "--course", str(course)]) == 2
    assert "course release" in capsys.readouterr().err
