"""`course report`: one self-contained HTML page about a graded assignment, on the tiny course of
test_grading.py with a written question, graded once for the module: a right submission, a wrong
one, a timeout whose error message is HTML, a student whose id is HTML and who breaks the grading
agent and edits a test cell, written answers graded and not, and a notebook that cannot be graded."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from markupsafe import escape

from course_utils import cli
from course_utils.tools import autograde, report, verdicts
from tests.test_grading import GOOD, GRADING, WRONG, hand_in, make_course, submission

HOSTILE = "<script>alert(1)"   # a student id (a folder name can be anything but '/')
SCRIPT_ERROR = "import numpy as np\ndef interpolate(a, b, n):\n    raise ValueError(\"<script>alert('x')</script>\")"
BREAKS_AGENT = WRONG + """
import course_utils.grading_agent as agent
agent.answer.__code__ = (lambda *a, **k: 'answered').__code__
"""


def _edit_test_after(nb):
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_after").source = "pass"


# student -> (interp cell, work cell, edit); the points: test_interp 2, test_after 1, q_figure 2 (a TA's)
STUDENTS = {
    "good": (GOOD, "x = 1", None),                                        # 2 + 1 + 2 (TA) = 5
    "wrong": (WRONG, "x = 1", None),                                      # 0 + 1 + 1 (TA) = 2
    "slow": (SCRIPT_ERROR, "while True:\n    pass\nx = 1", None),        # 0 + 0: a timeout, no x
    HOSTILE: (BREAKS_AGENT, "pass", _edit_test_after),                    # 0 + 0: tampering, no x
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from nbgrader.api import Gradebook

    ws = make_course(tmp_path_factory.mktemp("course") / "course", written=True)
    for student, (interp, work, edit) in STUDENTS.items():
        hand_in(ws, student, submission(ws, interp, work, edit))
    broken = ws.submitted("broken", "probe")
    broken.mkdir(parents=True)
    (broken / "probe.ipynb").write_text("not a notebook")
    outcomes = {o.student: o for o in autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)}
    assert {s: o.status for s, o in outcomes.items() if o.status != "graded"} == {"broken": "failed"}, outcomes
    with Gradebook(ws.gradebook) as gb:   # a TA graded two written answers
        for student, points in (("good", 2.0), ("wrong", 1.0)):
            grade = gb.find_grade("q_figure", "probe", "probe", student)
            grade.manual_score, grade.needs_manual_grade = points, False
        gb.db.commit()
    data = report.gather(ws, "probe")
    return ws, data, report.render(data)


def _question(data, grade_id):
    return next(q for q in data.questions if q.grade_id == grade_id)


def _rows(page, cls):
    """<tr class=cls> rows of the page: first cell's text (as escaped in the page) -> the row's HTML."""
    rows = re.findall(rf'<tr class="{cls}">(.*?)</tr>', page, re.S)
    return {re.search(r"<td[^>]*>(.*?)</td>", row, re.S).group(1): row for row in rows}


def test_scores(graded):
    _, data, page = graded
    assert data.scores == {"good": 5, "wrong": 2, "slow": 0, HOSTILE: 0}
    assert data.mean == 1.75 and data.median == 1 and data.max_score == 5
    assert '<td class="n" id="mean">1.75</td>' in page and '<td class="n" id="median">1.00</td>' in page


def test_questions_points_and_pass_rates(graded):
    _, data, page = graded
    assert [q.grade_id for q in data.questions] == ["test_interp", "test_after", "q_figure"]
    interp, after, written = (_question(data, g) for g in ("test_interp", "test_after", "q_figure"))
    assert (interp.passed, len(interp.points), interp.max_points, interp.written) == (1, 4, 2, False)
    assert (after.passed, len(after.points)) == (2, 4)
    assert written.written and sorted(written.points) == [1.0, 2.0] and written.pass_rate == 0.5
    assert sorted(written.ungraded) == sorted(["slow", HOSTILE])
    row = re.search(r'<tr id="q-probe-test_interp">(.*?)</tr>', page, re.S).group(1)
    assert "1 / 4" in row and "25%" in row
    row = re.search(r'<tr id="q-probe-test_after">(.*?)</tr>', page, re.S).group(1)
    assert "2 / 4" in row and "50%" in row


def test_most_frequent_failure_reasons(graded):
    _, data, page = graded
    (reason, who), = _question(data, "test_after").top_reasons()
    assert sorted(who) == sorted(["slow", HOSTILE]) and reason == "NameError: name 'x' is not defined"
    assert f'<td class="reason">{escape(reason)}</td><td class="n">2</td>' in page
    reasons = dict(_question(data, "test_interp").top_reasons())
    assert len(reasons) == 3 and reasons["ValueError: <script>alert('x')</script>"] == ["slow"]
    assert [w for r, w in reasons.items() if "last row must be z_b" in r] == [["wrong"]]
    assert [w for r, w in reasons.items() if "no results came back" in r] == [[HOSTILE]]


def test_incidents_are_listed_under_their_student(graded):
    _, data, page = graded
    kinds = {s: {i.kind for i in found} for s, found in data.by_student().items()}
    assert kinds == {"slow": {report.TIMEOUT}, HOSTILE: {report.TAMPERING}}
    details = [i.detail for i in data.incidents if i.student == HOSTILE]
    assert any("test_interp: no results came back" in d for d in details)
    assert "test cell test_after edited (graded as released)" in details
    rows = _rows(page, "incident")
    assert "timed out" in rows["slow"]
    assert "suspected tampering" in rows[escape(HOSTILE)] and "test_after edited" in rows[escape(HOSTILE)]


def test_grading_time_memory_ungraded_and_failed(graded):
    ws, data, page = graded
    states = {s: ws.read_state("probe", s) for s in [*STUDENTS, "broken"]}
    seconds = data.summary("seconds")
    assert seconds["max"] == max(st["seconds"] for st in states.values())
    assert [v for _, v in seconds["largest"]] == sorted((st["seconds"] for st in states.values()), reverse=True)
    assert {s for s, _ in seconds["largest"]} == set(states)
    peak = data.summary("peak_mb")
    assert len(peak["largest"]) == 4 and GRADING["memory_mb"] > peak["max"] >= peak["median"] > 20
    assert '<tr id="seconds">' in page and '<tr id="peak">' in page
    waiting = _rows(page, "ungraded")
    assert sorted(waiting) == sorted(["slow", escape(HOSTILE)])
    assert all("q_figure" in row for row in waiting.values())
    assert [(s.student, s.status) for s in data.failed] == [("broken", "failed")] and data.failed[0].reason
    assert escape(data.failed[0].reason) in _rows(page, "failed")["broken"]


def test_the_page_is_self_contained_with_its_figures(graded):
    from PIL import Image

    _, _, page = graded
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3
    for data in images:
        png = base64.b64decode(data, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        Image.open(io.BytesIO(png)).verify()
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)
    assert not re.search(r"https?:|<link|@import|url\(|<iframe|<object|<embed", text, re.I)
    assert len(re.findall(r"\s(?:src|href)=", text)) == 3   # nothing else is loaded


def test_student_strings_are_escaped(graded):
    _, _, page = graded
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)" in page            # the id, escaped
    assert "&lt;script&gt;alert(" in page and "&lt;/script&gt;" in page   # the error message, escaped


def test_course_report_writes_the_page_and_prints_its_path(graded, tmp_path, capsys):
    ws, _, _ = graded
    common = ["--course", str(ws.root), "--workspace", str(ws.folder)]
    assert cli.main(["report", "probe", *common]) == 0
    default = ws.folder / "reports" / "probe.html"
    assert str(default) in capsys.readouterr().out and "&lt;script&gt;" in default.read_text()
    assert cli.main(["report", "probe", "--to", str(tmp_path / "r.html"), *common]) == 0
    assert (tmp_path / "r.html").is_file()
    assert cli.main(["report", "nothing", *common]) == 2
    assert "not in the gradebook" in capsys.readouterr().err


def test_what_a_broken_agent_hands_the_grader_reads_as_tampering(tmp_path):
    """Each of read_results' refusals (the grading agent saves only plain .npz files) is a sign;
    the failures of honest code are not."""
    def refusal(path, max_bytes=1 << 20):
        with pytest.raises(ValueError) as e:
            verdicts.read_results(path, max_bytes)
        return str(e.value)

    (tmp_path / "real.npz").write_bytes(b"x" * 100)
    (tmp_path / "link.npz").symlink_to(tmp_path / "real.npz")
    np.save(tmp_path / "array.npy", np.zeros(3))
    np.savez(tmp_path / "odd.npz", evil=np.zeros(1))
    np.savez(tmp_path / "pickle.npz", r0=np.array([{}], dtype=object))
    np.savez(tmp_path / "complex.npz", r0=np.zeros(2, dtype=complex))
    reasons = [refusal(tmp_path / "missing.npz"), refusal(tmp_path / "link.npz"), refusal(tmp_path / "real.npz", 10),
               refusal(tmp_path / "real.npz"), refusal(tmp_path / "array.npy"), refusal(tmp_path / "odd.npz"),
               refusal(tmp_path / "pickle.npz"), refusal(tmp_path / "complex.npz"),
               "RuntimeError: the grader sent no request 'test_x'"]
    assert all(report.TAMPER_SIGNS.search(r) for r in reasons), reasons
    for honest in ("interpolate(z_a, z_b, steps=5) with z of shape (3,) raised ValueError: bad",
                   "the grader could not read your function's results (TypeError: expected numbers, got <U3)",
                   "NameError: name 'x' is not defined", "KernelDied: the kernel stopped"):
        assert not report.TAMPER_SIGNS.search(honest)
    assert [report.incident_kind(t) for t in ("cell 4: timed out", "cell 4: ignored the interrupt, kernel restarted",
                                              "cell 4: MemoryLimitExceeded", "cell 4: KernelDied",
                                              "cell 6: not run (notebook time limit)", "cell 2: ResultsTooLarge")] == [
        report.TIMEOUT, report.RESTART, report.MEMORY, report.RESTART, report.TIMEOUT, report.TAMPERING]
