"""What a student's feedback shows, and what the TA sees beside a written answer, on the tiny
course of test_grading.py with a figure and a written question: no mark scheme, hidden test
source, path of the grading machine or notice about its data in the feedback; a failed check's
values only where course.toml says so; "not graded yet" (and warnings from feedback and export)
until a TA grades; the roster's names and emails kept through autograding; the student's own
figure beside the question, and nothing of theirs that could run in the TA's browser."""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import io
import secrets
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.config import CONFIG_NAME, read_raw, repo_root, to_toml
from course_utils.tools import as_submitted, autograde, collect, feedback, formgrader, grading
from course_utils.tools.verdicts import VALUES
from tests.test_grading import GOOD, GRADING, hand_in, make_course, submission

# passes the visible assert (3 steps), fails the hidden check's shape: the check has values to show
OFF_BY_ONE = "import numpy as np\ndef interpolate(a, b, n):\n    return np.linspace(a, b, n if n == 3 else n + 1)"
# prints the grader's install path and makes a data loader fall back to its sample, with a notice
NOISY_WORK = ("import os\nimport numpy as np\nprint('numpy at', np.__file__)\nprint('-' * 400)\nos.environ.pop('COURSE_DATA_DIR', None)\n"
              "from course_utils.data import load_mnist\nload_mnist(download=False)\nx = 1")


def _png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2400, 40), (200, 30, 30)).save(buffer, format="PNG")   # a wide row of figures
    return base64.b64encode(buffer.getvalue()).decode()


PNG = _png()


def _with_figure_outputs(nb):
    """The student ran the figure cell: a PNG, a line of text, and HTML with a script."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "figure")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="my own run\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("display_data", data={"text/html": "<script>alert('xss')</script>"})]


def _answer(text):
    def edit(nb):
        _with_figure_outputs(nb)
        cell = next(c for c in nb.cells if c.source == "YOUR ANSWER HERE")
        cell.source = text
    return edit


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    ws = make_course(tmp_path_factory.mktemp("course") / "course", written=True)
    roster = ws.root / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Liddell,alice@uni.example\n"
                      "bob,Bob,Builder,bob@uni.example\n")
    collect.roster_ids(ws, roster)
    hand_in(ws, "alice", submission(ws, GOOD, edit=_answer("A straight line: slope 1.")))
    hand_in(ws, "bob", submission(ws, OFF_BY_ONE, NOISY_WORK, edit=_answer("")))
    outcomes = autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)
    assert {o.status for o in outcomes} == {"graded"}, [o.reason for o in outcomes]
    return ws


def _html(ws, student):
    return next((ws.folder / "feedback" / student / "probe").glob("*.html")).read_text()


def _autograded(ws, student):
    return nbformat.read(ws.folder / "autograded" / student / "probe" / "probe.ipynb", as_version=4)


def test_the_roster_names_survive_autograding_into_the_export(course, tmp_path, capsys):
    assert grading.export(course, tmp_path / "grades.csv") == 0
    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}
    assert (rows["alice"]["first_name"], rows["alice"]["last_name"], rows["alice"]["email"]) == \
        ("Alice", "Liddell", "alice@uni.example")
    assert float(rows["alice"]["score"]) == 3 and float(rows["alice"]["max_score"]) == 5
    assert "2 answer(s) are not graded yet" in capsys.readouterr().err


def test_feedback_and_export_warn_or_refuse_while_answers_are_ungraded(course, tmp_path, capsys):
    assert feedback.ungraded(course.gradebook, "probe") == [("alice", "probe", "q_figure"), ("bob", "probe", "q_figure")]
    assert grading.export(course, tmp_path / "refused.csv", require_manual=True) == 1
    err = capsys.readouterr().err
    assert "--require-manual" in err and "alice: probe/probe q_figure" in err
    assert not (tmp_path / "refused.csv").exists()
    assert grading.write_feedback(course, "probe", ["alice"], require_manual=True) == 1


def test_feedback_hides_the_mark_scheme_the_hidden_tests_and_the_grading_machine(course):
    assert grading.write_feedback(course, "probe") == 0
    bob = _html(course, "bob")
    graded = nbformat.writes(_autograded(course, "bob"))
    assert "SECRET-SCHEME" in graded and "SECRET-SCHEME" not in bob and "MARK SCHEME" not in bob
    assert "grading_agent" not in bob and "generative.interpolation" not in bob
    assert "numpy at" in bob and "&lt;python&gt;" in bob
    for secret in {sys.prefix, sys.base_prefix, str(repo_root()), "/tmp/home", "/opt/course", str(course.root)}:
        assert secret not in bob, secret
    assert "DataFallbackWarning" not in bob and "embedded sample" not in bob
    assert "DataFallbackWarning" in graded   # the TA still sees it


def test_a_failed_checks_values_show_only_where_the_course_says(course):
    cell = next(c for c in _autograded(course, "bob").cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_interp")
    values = [o for o in cell.outputs if o.get("metadata", {}).get(VALUES)]
    assert values and "expected (5, 3)" in values[0].data["text/plain"]
    grading.write_feedback(course, "probe", ["bob"])
    bob = _html(course, "bob")
    assert "wrong shape" in bob and "expected (5, 3)" not in bob and "hidden test values" not in bob
    raw = read_raw(course.root / CONFIG_NAME)
    raw["feedback"]["show_values"] = {"probe": True}
    (course.root / CONFIG_NAME).write_text(to_toml(raw))
    try:
        grading.write_feedback(course, "probe", ["bob"])
        assert "expected (5, 3)" in _html(course, "bob")
    finally:
        raw["feedback"]["show_values"] = {}
        (course.root / CONFIG_NAME).write_text(to_toml(raw))


def test_the_students_own_figure_is_beside_the_question_and_nothing_of_theirs_runs(course):
    cells = _autograded(course, "alice").cells
    at = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "q_figure")
    shown = cells[at + 1]
    assert shown.source.startswith("# As submitted") and "'figure'" in shown.source
    assert [o.output_type for o in shown.outputs] == ["stream", "display_data"]
    assert shown.outputs[0].text == "my own run\n" and shown.outputs[1].data == {"image/png": PNG}
    grading.write_feedback(course, "probe", ["alice"])
    html = _html(course, "alice")
    assert PNG in html and "alert('xss')" not in html


def test_only_png_and_text_pass_and_forged_outputs_are_dropped():
    outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"<svg onload=x>").decode()}),
               nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg onload='alert(1)'/>"}),
               nbformat.v4.new_output("execute_result", data={"text/plain": "x" * 50_000}, execution_count=1)]
    kept = as_submitted.clean_outputs(outputs)
    assert len(kept) == 1 and len(kept[0].data["text/plain"]) < 21_000   # the fake PNG and the SVG are gone
    big = base64.b64encode(as_submitted.PNG + bytes(1 << 20)).decode()   # 1.3 MiB of base64 each
    kept = as_submitted.clean_outputs([nbformat.v4.new_output("display_data", data={"image/png": big})] * 3,
                                      budget=[3 << 20])
    assert [o.output_type for o in kept] == ["display_data", "display_data", "stream"]
    assert "not kept" in kept[2].text


def test_ungraded_answers_say_so_until_a_ta_grades_them(course):
    from nbgrader.api import Gradebook

    grading.write_feedback(course, "probe", ["alice"])
    html = _html(course, "alice")
    assert "not graded yet" in html and "this score will change" in html
    with Gradebook(course.gradebook) as gb:
        grade = gb.find_grade("q_figure", "probe", "probe", "alice")
        grade.manual_score, grade.needs_manual_grade = 2.0, False
        gb.db.commit()
    grading.write_feedback(course, "probe", ["alice"])
    html = _html(course, "alice")
    assert "not graded yet" not in html and "Score: 5.0 / 5.0" in html
    assert feedback.ungraded(course.gradebook, "probe") == [("bob", "probe", "q_figure")]


def test_grader_paths_are_replaced_and_data_notices_removed():
    paths = feedback.grader_paths()
    text = (f"{sys.prefix}/lib/python3.11/site-packages/numpy/core.py\n/tmp/work/model.keras\n"
            "/tmp/course-kernel-abc123/kernel.json\n"
            "/tmp/ipykernel_1/1.py:5: DataFallbackWarning: Using the embedded sample of 10,000 MNIST digits\n"
            "  load_mnist(download=False)\nmy own line\n")
    assert feedback.scrub(text, paths) == ("<python>/lib/python3.11/site-packages/numpy/core.py\n./model.keras\n"
                                          "<kernel>/kernel.json\nmy own line\n")


# --- in a real browser: formgrader for the TA, the feedback page for the student ----------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _formgrader(ws, log_path):
    """A `course formgrader` server on `ws` (a free port, a fresh token); yields (url, token)."""
    import urllib.request

    port, token = _free_port(), secrets.token_hex(16)
    cmd, env = formgrader.server_command(ws, port, token)
    with open(log_path, "w") as log:
        server = subprocess.Popen(cmd, cwd=ws.root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"formgrader did not start:\n{Path(log_path).read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait(browser, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def _post(browser, path):
    """POST `path` from the page, with formgrader's XSRF token, as its buttons do; the JSON reply."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';"
        "fetch(arguments[0], {method: 'POST', headers: {'X-XSRFToken': decodeURIComponent(xsrf)}})"
        ".then(r => r.json()).then(done, e => done({error: String(e)}));", path)


def test_a_ta_grades_a_written_answer_in_formgrader_and_the_export_carries_it(course, browser, tmp_path):
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with Gradebook(course.gradebook) as gb:
        notebook_id = gb.find_submission_notebook("probe", "probe", "bob").id
    with _formgrader(course, tmp_path / "formgrader.log") as (url, token):
        browser.get(f"{url}/formgrader?token={token}")
        browser.get(f"{url}/formgrader/submissions/{notebook_id}/")
        score = _wait(browser, lambda b: b.find_element(By.ID, "q_figure"))
        page = browser.page_source
        assert "SECRET-SCHEME" in page and PNG in page and "alert('xss')" not in page   # scheme, own figure
        sources = [s.get_attribute("src") or "" for s in browser.find_elements(By.TAG_NAME, "script")]
        assert any("/static/jupyter_server_mathjax/MathJax.js" in s for s in sources)
        assert not any("cdnjs" in s or "cdn." in s for s in sources)
        _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".MathJax, .MathJax_CHTML, .MathJax_Display"))

        score.clear()
        score.send_keys("1.5", Keys.TAB)
        comment = browser.find_element(By.ID, "q_figure-comment")
        comment.send_keys("Right idea; name the slope.", Keys.TAB)

        def saved(_):
            with Gradebook(course.gradebook) as gb:
                grade = gb.find_grade("q_figure", "probe", "probe", "bob")
                text = gb.find_comment("q_figure", "probe", "probe", "bob").manual_comment
                return grade.manual_score == 1.5 and text == "Right idea; name the slope."
        _wait(browser, saved)

        generate = _post(browser, f"{url}/formgrader/api/assignment/probe/assign")
        assert generate["log"].startswith("$ course release probe"), generate
        autograde_reply = _post(browser, f"{url}/formgrader/api/submission/probe/bob/autograde")
        assert autograde_reply["log"].startswith("$ course autograde probe bob --redo"), autograde_reply

    assert grading.export(course, tmp_path / "grades.csv") == 0
    bob = {r["student_id"]: r for r in csv.DictReader((tmp_path / "grades.csv").open())}["bob"]
    assert (bob["first_name"], bob["last_name"], bob["email"]) == ("Bob", "Builder", "bob@uni.example")
    with Gradebook(course.gradebook) as gb:
        auto = gb.find_submission("probe", "bob").score - 1.5
    assert float(bob["score"]) == pytest.approx(auto + 1.5)
    grading.write_feedback(course, "probe", ["bob"])
    html = _html(course, "bob")
    assert "Right idea; name the slope." in html and "not graded yet" not in html


def test_formgrader_works_on_the_first_load_of_a_fresh_workspace(course, browser, tmp_path):
    from selenium.webdriver.common.by import By

    fresh = dataclasses.replace(course, folder=course.root / "fresh", db_url="")
    with _formgrader(fresh, tmp_path / "formgrader.log") as (url, token):
        browser.get(f"{url}/formgrader?token={token}")
        _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#main-table, .panel"))
        assert "alembic" not in browser.page_source and "Traceback" not in browser.page_source
    assert (fresh.folder / "gradebook.db").is_file()


def test_the_feedback_page_shows_no_scheme_source_or_path_and_fits_the_window(course, browser):
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By

    with Gradebook(course.gradebook) as gb:   # alice's answer waits for a TA again
        grade = gb.find_grade("q_figure", "probe", "probe", "alice")
        grade.manual_score, grade.needs_manual_grade = None, True
        gb.db.commit()
    grading.write_feedback(course, "probe")
    for student in ("bob", "alice"):   # bob prints a 400-character line; alice's own figure is 2400 px wide
        page = next((course.folder / "feedback" / student / "probe").glob("*.html"))
        browser.get(page.as_uri())
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "SECRET-SCHEME" not in text and "BEGIN HIDDEN TESTS" not in text and "grading_agent" not in text
        assert sys.prefix not in text and str(course.root) not in text
        assert student == "alice" or "<python>" in text
        assert ("not graded yet" in text) == (student == "alice")
        for width in (1280, 800):
            browser.set_window_size(width, 900)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{student}: {overflow} px of horizontal overflow at a {width} px window"
