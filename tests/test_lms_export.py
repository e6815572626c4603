"""`course export --lms brightspace|canvas|moodle`: each LMS's grade-import CSV, column by column
as the LMS documents it (course_utils/tools/lms_export.py cites where), for every student on
the roster: graded, handed in but not graded, and never handed in. On the tiny course of
test_grading.py, graded once for the module."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from course_utils import cli
from course_utils.tools import autograde, collect, grading, lms_export
from course_utils.tools.roster import Student, read_roster, save_roster
from course_utils.tools.workspace import Workspace
from tests.test_grading import GOOD, GRADING, WRONG, course_with, hand_in, submission

ROSTER = """id,first_name,last_name,email,brightspace_id,brightspace_username,canvas_id,moodle_id
alice,Alice,Liddell,alice@uni.example,00246,alice.liddell,1001,51
bob,Bob,Builder,bob@uni.example,00247,bob.builder,1002,52
carol,Carol,Danvers,carol@uni.example,00248,carol.danvers,1003,53
dave,Dave,Bowman,dave@uni.example,00249,dave.bowman,1004,54
"""
# alice: 3 of 3 (test_interp 2, test_after 1); bob: 1 (0, 1); carol hands in after grading; dave never does.


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    ws = course_with(tmp_path_factory.mktemp("lms") / "course", {"alice": GOOD, "bob": WRONG})
    (ws.root / "roster.csv").write_text(ROSTER)
    collect.roster_ids(ws, ws.root / "roster.csv")
    outcomes = autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)
    assert {o.student: o.status for o in outcomes} == {"alice": "graded", "bob": "graded"}
    hand_in(ws, "carol", submission(ws, GOOD))
    return ws


def _export(ws: Workspace, path: Path, *options: str, folder: Path | None = None) -> int:
    """`course export OPTIONS --to PATH` on the course, as a TA runs it."""
    return cli.main(["export", *options, "--to", str(path), "--workspace", str(folder or ws.folder),
                     "--db", ws.gradebook, "--course", str(ws.root)])


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _with_roster(ws: Workspace, tmp_path: Path, edit) -> Path:
    """A workspace folder sharing the course's gradebook, whose saved roster is ROSTER edited."""
    other = Workspace(ws.root, tmp_path / "other", ws.gradebook)
    save_roster(other, [edit(s) for s in read_roster(ws.root / "roster.csv")])
    return other.folder


def _without(column: str, *students: str):
    def edit(s: Student) -> Student:
        lms = {k: v for k, v in s.lms.items() if not (k == column and s.id in students)}
        return Student(s.id, s.first_name, s.last_name, s.email, lms)
    return edit


def test_brightspace_org_defined_id_points_grade_and_the_end_of_line_indicator(course, tmp_path, capsys):
    out = tmp_path / "brightspace.csv"
    assert _export(course, out, "--lms", "brightspace") == 0
    assert _rows(out) == [
        ["OrgDefinedId", "probe Points Grade", "End-of-Line Indicator"],
        ["#00246", "3", "#"],       # '#': Brightspace's own prefix, which keeps the leading zeros
        ["#00247", "1", "#"],
        ["#00248", "", "#"],        # handed in, not graded yet: no grade, and said so
        ["#00249", "", "#"],        # never handed in: a row all the same, with no grade
    ]
    err = capsys.readouterr().err
    assert "carol/probe" in err and "course autograde" in err and "dave" not in err


def test_brightspace_per_question_with_zero_for_no_grade(course, tmp_path):
    out = tmp_path / "questions.csv"
    assert _export(course, out, "--lms", "brightspace", "--per-question", "--missing", "zero",
                   "--assignment", "probe") == 0
    assert _rows(out) == [
        ["OrgDefinedId", "probe: test_interp Points Grade", "probe: test_after Points Grade", "End-of-Line Indicator"],
        ["#00246", "2", "1", "#"],
        ["#00247", "0", "1", "#"],
        ["#00248", "0", "0", "#"],
        ["#00249", "0", "0", "#"],
    ]


def test_brightspace_uses_the_username_when_the_roster_has_only_usernames(course, tmp_path):
    folder = _with_roster(course, tmp_path, _without("brightspace_id", "alice", "bob", "carol", "dave"))
    out = tmp_path / "usernames.csv"
    assert _export(course, out, "--lms", "brightspace", folder=folder) == 0
    assert [row[0] for row in _rows(out)] == ["Username", "#alice.liddell", "#bob.builder", "#carol.danvers",
                                              "#dave.bowman"]


def test_canvas_gradebook_columns_points_possible_and_the_assignment_id(course, tmp_path):
    out = tmp_path / "canvas.csv"
    assert _export(course, out, "--lms", "canvas", "--item", "probe=Probe (4321)") == 0
    assert _rows(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Probe (4321)"],
        ["Points Possible", "", "", "", "", "3"],
        ["Liddell, Alice", "1001", "", "", "", "3"],
        ["Builder, Bob", "1002", "", "", "", "1"],
        ["Danvers, Carol", "1003", "", "", "", ""],
        ["Bowman, Dave", "1004", "", "", "", ""],
    ]
    assert _export(course, out, "--lms", "canvas") == 0   # no --item: the assignment's name, which Canvas matches
    assert _rows(out)[0][5] == "probe"


def test_canvas_per_question_columns_drop_the_assignment_id_and_take_their_own(course, tmp_path):
    out = tmp_path / "canvas-questions.csv"
    assert _export(course, out, "--lms", "canvas", "--per-question", "--missing", "zero",
                   "--item", "probe=Probe (4321)", "--item", "probe:test_after=After (77)") == 0
    rows = _rows(out)
    assert rows[0][5:] == ["Probe: test_interp", "After (77)"]
    assert rows[1][5:] == ["2", "1"] and rows[2][5:] == ["2", "1"] and rows[3][5:] == ["0", "1"]
    assert rows[5] == ["Bowman, Dave", "1004", "", "", "", "0", "0"]


def test_moodle_an_id_column_and_a_grade_column_else_email(course, tmp_path, capsys):
    out = tmp_path / "moodle.csv"
    assert _export(course, out, "--lms", "moodle") == 0
    assert _rows(out) == [["Moodle user id", "probe"], ["51", "3"], ["52", "1"], ["53", ""], ["54", ""]]
    capsys.readouterr()

    folder = _with_roster(course, tmp_path, _without("moodle_id", "bob"))
    assert _export(course, out, "--lms", "moodle", "--missing", "zero", folder=folder) == 0
    assert _rows(out) == [["Email address", "probe"], ["alice@uni.example", "3"], ["bob@uni.example", "1"],
                          ["carol@uni.example", "0"], ["dave@uni.example", "0"]]
    err = capsys.readouterr().err
    assert "no moodle_id (bob)" in err and "useremail" in err


@pytest.mark.parametrize("lms, column, fallback", [("canvas", "canvas_id", None),
                                                    ("brightspace", "brightspace_id", "brightspace_username"),
                                                    ("moodle", "moodle_id", "email")])
def test_a_student_without_the_lms_id_is_an_error_naming_them_and_nothing_is_written(course, tmp_path, capsys, lms,
                                                                                       column, fallback):
    def edit(s: Student) -> Student:
        s = _without(column, "bob", "dave")(s)
        if fallback == "email":
            return Student(s.id, s.first_name, s.last_name, "" if s.id == "dave" else s.email, s.lms)
        return _without(fallback, "dave")(s) if fallback else s

    folder = _with_roster(course, tmp_path, edit)
    out = tmp_path / "out" / "grades.csv"
    out.parent.mkdir()
    capsys.readouterr()
    assert _export(course, out, "--lms", lms, folder=folder) == 2
    err = capsys.readouterr().err
    assert "bob, dave" in err and f"roster's {column} column" in err and "nothing was written" in err
    assert list(out.parent.iterdir()) == []


def test_graded_students_missing_from_the_roster_stop_the_export(course, tmp_path):
    alice = next(s for s in read_roster(course.root / "roster.csv") if s.id == "alice")
    with pytest.raises(lms_export.ExportError, match="not on the roster.*: bob"):
        lms_export.export(course, "canvas", tmp_path / "x.csv", ["probe"], students=[alice])
    assert not (tmp_path / "x.csv").exists()


def test_the_csv_is_replaced_whole_or_not_at_all(course, tmp_path, monkeypatch, capsys):
    out = tmp_path / "grades.csv"
    out.write_text("the last export\n")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lms_export.os, "replace", fail)
    assert _export(course, out, "--lms", "moodle") == 2
    assert "No space left on device" in capsys.readouterr().err
    assert out.read_text() == "the last export\n" and [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_ungraded_written_answers_warn_or_with_require_manual_refuse(course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grading.feedback, "ungraded", lambda db, assignment, students: [("bob", "probe", "q_figure")])
    out = tmp_path / "canvas.csv"
    assert _export(course, out, "--lms", "canvas", "--require-manual") == 1
    assert "--require-manual" in capsys.readouterr().err and not out.exists()
    assert _export(course, out, "--lms", "canvas") == 0
    assert "1 answer(s) are not graded yet" in capsys.readouterr().err and out.exists()


def test_nbgrader_stays_the_default_and_the_options_are_checked(course, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert _export(course, out) == 0
    assert _rows(out)[0] == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                             "raw_score", "late_submission_penalty", "score", "max_score"]
    assert sorted(row[3] for row in _rows(out)[1:]) == ["alice", "bob", "carol", "dave"]
    before = _rows(out)
    assert _export(course, out, "--assignment", "probe") == 0   # passed on to nbgrader's own filter
    assert _rows(out) == before
    for options in (["--per-question"], ["--item", "probe=P"], ["--missing", "empty"]):
        assert _export(course, tmp_path / "no.csv", *options) == 2
    assert _export(course, tmp_path / "no.csv", "--lms", "canvas", "--assignment", "nope") == 2
    assert "no assignment nope" in capsys.readouterr().err
    assert _export(course, tmp_path / "no.csv", "--lms", "canvas", "--item", "nope=X") == 2
    assert _export(course, tmp_path / "no.csv", "--lms", "canvas", "--item", "probe") == 2
    assert "--item names nothing in this export: nope" in capsys.readouterr().err
    assert not (tmp_path / "no.csv").exists()


def test_points_are_written_plainly():
    assert [lms_export.points(x) for x in (3.0, 1.5, 1 / 3, -0.0, 12.0)] == ["3", "1.5", "0.3333", "0", "12"]
