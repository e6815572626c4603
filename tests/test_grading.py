"""The TA pipeline on a tiny course (one notebook, no training): collect, parallel autograde
in the box with limits and verdicts decided outside it, resume, merge into one gradebook, feedback, export.
The real assignments' corpus is graded in test_corpus.py."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils.config import repo_root
from course_utils.tools import autograde, collect
from course_utils.tools.nbgrader_run import nbgrader
from course_utils.tools.workspace import Workspace
from tests.conftest import write_course_config

GRADING = {"cell_timeout": 6, "notebook_timeout": 60, "memory_mb": 1500, "workers": 2, "kernel_threads": 1,
           "disk_mb": 64, "processes": 256}
GOOD = "import numpy as np\ndef interpolate(a, b, n):\n    return np.linspace(a, b, n)"
WRONG = "import numpy as np\ndef interpolate(a, b, n):\n    return np.linspace(a, np.abs(b), n)"


def _meta(gid, **kw):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, **kw}}


FIGURE = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [0, 1])\nplt.show()"
QUESTION = ("**Question.** What does your figure of $y = x$ show?\n\n=== BEGIN MARK SCHEME ===\n"
            "SECRET-SCHEME: 1 point for the slope\n=== END MARK SCHEME ===")


def make_course(root: Path, written: bool = False) -> Workspace:
    """A course with one assignment 'probe': a solution cell, a test with hidden tests, a second pair;
    `written` adds a figure and a written question (a task, with a mark scheme) that refers to it."""
    root.mkdir(parents=True, exist_ok=True)
    config = (repo_root() / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config.replace("course = load_config()", f"course = {{'grading': {GRADING!r}}}"))
    points = {"test_interp": 2, "test_after": 1, **({"q_figure": 2} if written else {})}
    write_course_config(root, {"probe": points})
    question = [
        new_code_cell(FIGURE, metadata=_meta("figure", locked=True)),
        new_markdown_cell(QUESTION, metadata={**_meta("q_figure", task=True, locked=True, points=2),
                                              "course": {"refers_to": ["figure"]}}),
        new_markdown_cell("YOUR ANSWER HERE"),
    ] if written else []
    cells = [
        new_markdown_cell("# Probe", metadata=_meta("intro", locked=True)),
        new_code_cell("### BEGIN SOLUTION\n" + GOOD + "\n### END SOLUTION", metadata=_meta("interp", solution=True)),
        new_code_cell("assert interpolate(np.zeros(2), np.ones(2), 3).shape == (3, 2)\n### BEGIN HIDDEN TESTS\n"
                      "from course_utils import grading_agent as _grader\n"
                      "_grader.answer('test_interp', 'generative.interpolation', interpolate)\n"
                      "### END HIDDEN TESTS", metadata=_meta("test_interp", grade=True, locked=True, points=2)),
        new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", metadata=_meta("work", solution=True)),
        new_code_cell("assert x == 1", metadata=_meta("test_after", grade=True, locked=True, points=1)),
        *question,
    ]
    write_assignment(root, "probe", cells)
    return Workspace(root, root / "grading")


def write_assignment(root: Path, name: str, cells: list) -> None:
    """source/<name>/<name>.ipynb of `cells` (a Python 3 notebook), then its release (nbgrader)."""
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    (root / "source" / name).mkdir(parents=True)
    nbformat.write(nb, root / "source" / name / f"{name}.ipynb")
    nbgrader("generate_assignment", name, "--force", f"--CourseDirectory.db_url=sqlite:///{root}/scratch.db",
             root=root)


def course_with(root: Path, students: dict[str, str]) -> Workspace:
    """make_course, with each student's interpolate code handed in."""
    ws = make_course(root)
    for student, code in students.items():
        hand_in(ws, student, submission(ws, code))
    return ws


def submission(ws: Workspace, interp: str = GOOD, work: str = "x = 1", edit=None) -> nbformat.NotebookNode:
    nb = nbformat.read(ws.root / "release" / "probe" / "probe.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.source = {"interp": interp, "work": work}.get(gid, cell.source)
    if edit:
        edit(nb)
    return nb


def hand_in(ws: Workspace, student: str, nb, files: dict[str, str] | None = None) -> None:
    folder = ws.submitted(student, "probe")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "probe.ipynb")
    for name, text in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def scores(ws: Workspace, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook) as gb:
        return {g.name: g.score for g in gb.find_submission_notebook("probe", "probe", student).grades}


def outputs(ws: Workspace, student: str) -> list[list[str]]:
    nb = nbformat.read(ws.folder / "autograded" / student / "probe" / "probe.ipynb", as_version=4)
    return [[o.get("ename") or o.get("text", "") for o in c.outputs] for c in nb.cells if c.cell_type == "code"]


def _remove(gid):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != gid]
    return edit


def _duplicate(gid):
    def edit(nb):
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        nb.cells.insert(nb.cells.index(cell), nbformat.from_dict(json.loads(json.dumps(cell))))
    return edit


TAMPER = WRONG + """
import sys, builtins, course_utils.grading_agent as agent
agent.run_calls = lambda *a, **k: {}
np.allclose = lambda *a, **k: True
get_ipython().showtraceback = lambda *a, **k: None
builtins.abs = lambda x: 0
"""
TAMPER_INSIDE = WRONG + """
import course_utils.grading_agent as agent
agent.answer.__code__ = (lambda *a, **k: 'answered').__code__
"""
SHADOW = WRONG + """
import os, sys
os.makedirs('course_utils/checks', exist_ok=True)
for f in ('course_utils/__init__.py', 'course_utils/checks/__init__.py'):
    open(f, 'w').close()
open('course_utils/checks/generative.py', 'w').write('def __getattr__(n):\\n    return lambda *a, **k: True\\n')
for m in [m for m in sys.modules if m.startswith('course_utils')]:
    del sys.modules[m]
sys.path.insert(0, os.getcwd())
"""
# The kernel hands the grader results it computed itself (no interpolate at all): zeros.
FAKE_RESULTS = WRONG + """
import os, numpy as np, course_utils.grading_agent as agent
def answer(request_id, probe, fn, *extra):
    out = os.path.join(os.environ[agent.RESULTS_ENV], request_id + '.npz')
    np.savez(out, **{f'r{i}': np.zeros((s, d)) for i, (d, s) in enumerate([(3, 5), (16, 10), (1, 2), (8, 3)])})
agent.answer = answer
"""
# A number as the test cell's result: nbgrader would read it as partial credit, here full marks.
EXECUTE_RESULT = WRONG + """
_wrong = interpolate
def interpolate(a, b, n):
    get_ipython().displayhook(2.0)
    return _wrong(a, b, n)
"""
# student -> (interp cell, work cell, edit, expected scores)
CASES = {
    "ref": (GOOD, "x = 1", None, {"test_interp": 2, "test_after": 1}),
    "wrong": (WRONG, "x = 1", None, {"test_interp": 0, "test_after": 1}),
    "tamper": (TAMPER, "x = 1", None, {"test_interp": 0, "test_after": 1}),
    "tamper_inside": (TAMPER_INSIDE, "x = 1", None, {"test_interp": 0, "test_after": 1}),
    "shadow": (SHADOW, "x = 1", None, {"test_interp": 0, "test_after": 1}),
    # breaking its own imports costs the student only its own later hidden tests
    "shadow_right": (SHADOW.replace(WRONG, GOOD), "x = 1", None, {"test_interp": 0, "test_after": 1}),
    "lying": (GOOD + "\nclass L(np.ndarray):\n    __eq__ = lambda s, o: True\n    __bool__ = lambda s: True\n"
              "_i = interpolate\ninterpolate = lambda a, b, n: (_i(a, b, n) + 1).view(L)", "x = 1", None,
              {"test_interp": 0, "test_after": 1}),
    "warns": ("import sys, warnings\nimport numpy as np\ndef interpolate(a, b, n):\n"
              "    warnings.warn('a warning in a test cell')\n    print('log', file=sys.stderr)\n"
              "    return np.linspace(a, b, n)", "x = 1", None, {"test_interp": 2, "test_after": 1}),
    "sys_exit": ("import sys\ndef interpolate(a, b, n):\n    sys.exit(0)", "x = 1", None,
                 {"test_interp": 0, "test_after": 1}),
    "os_exit": (GOOD, "import os\nos._exit(0)", None, {"test_interp": 2, "test_after": 0}),
    "loop": (GOOD, "while True:\n    pass\nx = 1", None, {"test_interp": 2, "test_after": 0}),
    "stubborn": (GOOD, "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n    except KeyboardInterrupt:\n"
                 "        pass", None, {"test_interp": 2, "test_after": 0}),
    "hog": (GOOD, "import numpy as np\nhog = np.ones((40_000, 40_000))\nx = 1", None, {"test_interp": 2, "test_after": 0}),
    "deleted": (GOOD, "x = 1", _remove("test_interp"), {"test_interp": 2, "test_after": 1}),
    "duplicated": (GOOD, "x = 1", _duplicate("test_interp"), {"test_interp": 2, "test_after": 1}),
    "edited": (WRONG, "x = 1", lambda nb: setattr(nb.cells[2], "source", "pass"), {"test_interp": 0, "test_after": 1}),
    "fake_results": (FAKE_RESULTS, "x = 1", None, {"test_interp": 0, "test_after": 1}),
    "execute_result": (EXECUTE_RESULT, "x = 1", None, {"test_interp": 0, "test_after": 1}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ws = make_course(tmp_path_factory.mktemp("course"))
    for student, (interp, work, edit, _) in CASES.items():
        files = {"course_utils/__init__.py": "", "numpy.py": "raise SystemExit('shadowed')"} if student == "shadow" else None
        hand_in(ws, student, submission(ws, interp, work, edit), files)
    outcomes = autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)
    return ws, {o.student: o for o in outcomes}


@pytest.mark.parametrize("student", sorted(CASES))
def test_every_submission_scores_what_it_should(graded, student):
    ws, outcomes = graded
    assert outcomes[student].status == "graded", outcomes[student].reason
    assert scores(ws, student) == CASES[student][3], outputs(ws, student)


def test_limits_are_reported_per_notebook(graded):
    ws, outcomes = graded
    incidents = {s: " ".join(i for nb in o.notebooks for i in nb["incidents"]) for s, o in outcomes.items()}
    assert "MemoryLimitExceeded" in incidents["hog"]
    assert "KernelDied" in incidents["os_exit"]
    assert "timed out" in incidents["loop"] and "restarted" not in incidents["loop"]
    assert "KernelUnresponsive" in incidents["stubborn"] or "restarted" in incidents["stubborn"]
    assert incidents["ref"] == ""
    assert any("MemoryLimitExceeded" in o for o in sum(outputs(ws, "hog"), []))
    peak = max(nb["peak_rss_mb"] for nb in outcomes["ref"].notebooks)
    assert 20 < peak < GRADING["memory_mb"]


def test_kernel_threads_come_from_the_config_not_the_worker_count(graded):
    """TensorFlow's thread count changes what a conv net learns, so it must not follow -k;
    it runs on oneDNN, as on students' laptops, and its notices reach no cell."""
    ws, _ = graded
    probe = GOOD + ("\nimport os\nimport tensorflow as tf\nprint('THREADS', os.environ.get('OMP_NUM_THREADS'), "
                    "os.environ.get('TF_NUM_INTRAOP_THREADS'), os.environ.get('TF_ENABLE_ONEDNN_OPTS'))\n"
                    "print(int(tf.reduce_sum(tf.nn.conv2d(tf.ones((1, 8, 8, 1)), tf.ones((3, 3, 1, 2)), 1, 'SAME'))))")
    hand_in(ws, "threads", submission(ws, probe))
    autograde.autograde(ws, "probe", ["threads"], workers=1, progress=False, grading=dict(GRADING, kernel_threads=3))
    printed = outputs(ws, "threads")
    assert "THREADS 3 3 1" in printed[0][0] and "968" in printed[0][0]
    assert not any("oneDNN" in text or "absl" in text for cell in printed for text in cell), printed
    assert autograde.default_workers(dict(GRADING, workers=0, kernel_threads=1)) == (os.cpu_count() or 1)
    assert autograde.default_workers(dict(GRADING, workers=0, kernel_threads=10**6)) == 1


def test_a_second_run_resumes(graded):
    ws, _ = graded
    again = autograde.autograde(ws, "probe", ["ref", "wrong"], workers=2, progress=False, grading=GRADING)
    assert {o.status for o in again} == {"skipped"}
    # killed after merging 'wrong' but before its state was written: it is graded again, once
    ws.state_file("probe", "wrong").unlink()
    hand_in(ws, "ref", submission(ws, WRONG))   # and a changed submission is graded again
    again = autograde.autograde(ws, "probe", ["ref", "wrong"], workers=2, progress=False, grading=GRADING)
    assert {o.student: o.status for o in again} == {"ref": "graded", "wrong": "graded"}
    assert scores(ws, "ref") == {"test_interp": 0, "test_after": 1}
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook) as gb:
        assert len([s for s in gb.assignment_submissions("probe") if s.student.id == "wrong"]) == 1


def test_feedback_hides_hidden_tests_and_export_lists_grades(graded):
    ws, _ = graded
    nbgrader("generate_feedback", "probe", "--force", "--student", "wrong", *ws.options(), root=ws.root)
    html = next((ws.folder / "feedback" / "wrong" / "probe").glob("*.html")).read_text()
    assert "grading_agent" not in html and "generative.interpolation" not in html
    assert "hidden tests" in html and "HiddenTestFailed" in html
    assert "oneDNN" not in html
    out = ws.root / "grades.csv"
    nbgrader("export", f"--CsvExportPlugin.to={out}", *ws.options(), root=ws.root)
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert float(rows["wrong"]["score"]) == 1 and float(rows["wrong"]["max_score"]) == 3


def test_collect_lists_what_it_cannot_place(tmp_path):
    ws = make_course(tmp_path / "course")
    good = nbformat.writes(submission(ws))
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as z:
        z.writestr(zipfile.ZipInfo("alice_probe.ipynb", (2026, 1, 1, 10, 0, 0)), "{}")
        z.writestr(zipfile.ZipInfo("alice_probe (2).ipynb", (2026, 1, 2, 10, 0, 0)), good)
        z.writestr(zipfile.ZipInfo("sub/bob_smith_probe.ipynb", (2026, 1, 1, 9, 0, 0)), good)
        z.writestr(zipfile.ZipInfo("bob_smith_probe.py", (2026, 1, 1, 9, 0, 0)), "x = 1\n")
        z.writestr(zipfile.ZipInfo("carol_probe.ipynb", (2026, 1, 1, 9, 0, 0)), "not json")
        z.writestr(zipfile.ZipInfo("mallory_probe.ipynb", (2026, 1, 1, 9, 0, 0)), good)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,A,,\nbob_smith,B,,\ncarol,C,,\n")
    ids = collect.roster_ids(ws, roster)
    found = collect.collect(ws, "probe", download, ids)
    assert sorted(found.students) == ["alice", "bob_smith", "carol"]
    assert found.unmatched == ["mallory_probe.ipynb"]
    assert found.superseded == ["alice_probe.ipynb"]
    assert found.unreadable == ["carol_probe.ipynb"]
    assert (ws.submitted("alice", "probe") / "probe.ipynb").read_text() == good
    assert (ws.submitted("bob_smith", "probe") / "probe.py").exists()
    assert (ws.submitted("alice", "probe") / "timestamp.txt").read_text().startswith("2026-01-02 10:00:00")
    assert "mallory_probe.ipynb" in found.summary()


def test_collect_without_roster_says_how_to_give_one(tmp_path):
    ws = make_course(tmp_path / "course")
    with pytest.raises(SystemExit, match="--roster"):
        collect.roster_ids(ws)


def test_the_cli_lists_the_ta_commands():
    out = subprocess.run([sys.executable, "-m", "course_utils.cli", "--help"], capture_output=True, text=True).stdout
    for command in ("collect", "autograde", "feedback", "export", "corpus", "similarity", "report", "cluster"):
        assert command in out
