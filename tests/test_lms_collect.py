"""`course collect` on the download layouts of Brightspace, Canvas and Moodle, built as each LMS
names its files (synthetic students, notebooks of test_grading.py's tiny probe course): the
students found through the roster's LMS ids, late resubmissions, accented names with spaces
(composed and decomposed, in zips that do or do not flag UTF-8), Moodle's participant numbers
matched by email through its grading worksheet (or the roster's moodle_participant column),
then graded end to end; and the error, with nothing written, on a download of no layout or of
several, and on a worksheet that is not Moodle's."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils import cli
from course_utils.tools import autograde, collect
from course_utils.tools.nbgrader_run import gradebook
from course_utils.tools.roster import Student
from course_utils.tools.workspace import Workspace
from tests.test_grading import GOOD, GRADING, WRONG, make_course, scores, submission

FULL = {"test_interp": 2, "test_after": 1}
HALF = {"test_interp": 0, "test_after": 1}
# id, first_name, last_name, email, brightspace_id, brightspace_username, canvas_id, moodle_id (the Moodle
# user id, for export: never what a download's names carry), moodle_participant (the participant number
# of one or more assignments). Omar's user id is Ana's participant number in probe, as may happen.
ROSTER = [
    ("jane", "Jane", "Doe", "jane@uni.example", "2213367", "jdoe", "", "", ""),
    ("jose", "José María", "Núñez-O'Brien", "jose@uni.example", "2213368", "jnunez", "", "", ""),
    ("kim", "Kim", "Lee", "kim@uni.example", "", "", "123456", "", ""),
    ("zoe", "Zoë", "Ñandú-Weiß", "zoe@uni.example", "", "", "234567", "", ""),
    ("ana", "Ana Lúcia", "Ferreira-Çelik", "ana.ferreira@uni.example", "", "", "", "412", "77001"),
    ("omar", "Omar", "Al-Farsi", "omar@uni.example", "", "", "", "77001", "Participant 66020 77002"),
]
# student -> the scores of the submission collect must keep
EXPECTED = {"jane": FULL, "jose": FULL, "kim": HALF, "zoe": FULL, "ana": FULL, "omar": HALF}


def write_roster(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email", "brightspace_id", "brightspace_username",
                         "canvas_id", "moodle_id", "moodle_participant"])
        writer.writerows(ROSTER)
    return path


def write_zip(path: Path, entries: list[tuple[str, str, tuple]], utf8_flag: bool = True) -> Path:
    """A zip of (name, text, date_time); without `utf8_flag`, UTF-8 names that the zip does not
    flag as UTF-8, as Windows's zipper and some LMSs write them."""
    with zipfile.ZipFile(path, "w") as z:
        for name, text, when in entries:
            z.writestr(zipfile.ZipInfo(name, when), text)
    if not utf8_flag:
        data = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):   # local and central headers
            i = data.find(signature)
            while i >= 0:
                flags = int.from_bytes(data[i + offset:i + offset + 2], "little") & ~0x800
                data[i + offset:i + offset + 2] = flags.to_bytes(2, "little")
                i = data.find(signature, i + 4)
        path.write_bytes(data)
    return path


def run_collect(ws: Workspace, download: Path, *options: str) -> tuple[int, str, str]:
    """`course collect probe DOWNLOAD` on `ws`: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["collect", "probe", str(download), "--course", str(ws.root), "--workspace",
                           str(ws.folder), "--db", ws.gradebook, *options])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The probe course, its notebooks' texts (good and wrong), and the roster file."""
    root = tmp_path_factory.mktemp("lms")
    ws = make_course(root / "course")
    with gradebook(f"sqlite:///{ws.root / EMPTY}"):
        pass
    good, wrong = nbformat.writes(submission(ws, GOOD)), nbformat.writes(submission(ws, WRONG))
    return ws.root, good, wrong, write_roster(root / "roster.csv")


EMPTY = "empty-gradebook.db"   # a new gradebook costs nbgrader an `alembic` run (seconds): made once, copied


def workspace(root: Path, folder: Path) -> Workspace:
    folder.mkdir(parents=True)
    shutil.copy(root / EMPTY, folder / "gradebook.db")
    return Workspace(root, folder, f"sqlite:///{folder / 'gradebook.db'}")


def brightspace_zip(path: Path, good: str, wrong: str) -> Path:
    """Brightspace's "Download" of a folder: `<n>-<n> - First Last - <date> - <file>`, an index.html;
    José handed in on time, then again, late (on a 3-digit time: 1:05 AM is "105 AM"). The zip's
    own times are the download's, later for the older file: the name's date decides."""
    return write_zip(path, [
        ("index.html", "<html><body>Submissions</body></html>", (2026, 10, 6, 9, 0, 0)),
        ("148093-2213367 - Jane Doe - Oct 3, 2026 1020 PM - probe.ipynb", good, (2026, 10, 6, 9, 0, 0)),
        ("148101-2213368 - José María Núñez-O'Brien - Oct 3, 2026 1158 PM - probe.ipynb", wrong,
         (2026, 10, 6, 9, 0, 2)),
        ("148240-2213368 - José María Núñez-O'Brien - Oct 5, 2026 105 AM - probe.ipynb", good,
         (2026, 10, 6, 9, 0, 1)),
        ("148311-2299999 - Mallory Stranger - Oct 4, 2026 900 AM - probe.ipynb", good, (2026, 10, 6, 9, 0, 0)),
    ])


def canvas_zip(path: Path, good: str, wrong: str) -> Path:
    """Canvas's "Download Submissions": `<lastfirst>[_LATE]_<user id>_<file id>_<file>`, made on a
    Mac (names decomposed, NFD). Zoë resubmitted late: Canvas renamed her file probe-1.ipynb and
    gave it a higher file id; the zip's times say nothing (the older file's is later)."""
    nfd = lambda name: unicodedata.normalize("NFD", name)   # noqa: E731
    return write_zip(path, [
        ("leekim_123456_9000010_probe.ipynb", wrong, (2026, 10, 6, 9, 0, 0)),
        (nfd("ñandúweißzoë_LATE_234567_9000001_probe.ipynb"), wrong, (2026, 10, 6, 9, 0, 5)),
        (nfd("ñandúweißzoë_LATE_234567_9000002_probe-1.ipynb"), good, (2026, 10, 6, 9, 0, 0)),
        ("strangermallory_555555_9000003_probe.ipynb", good, (2026, 10, 6, 9, 0, 0)),
    ])


def moodle_zip(path: Path, good: str, wrong: str) -> Path:
    """Moodle's "Download all submissions" in folders (its default): `First Last_<participant
    number>_assignsubmission_file/<file>`, UTF-8 names not flagged as UTF-8. Li Wei is in the
    worksheet but not on the roster; Eve Unknown in neither."""
    return write_zip(path, [
        ("Ana Lúcia Ferreira-Çelik_77001_assignsubmission_file/probe.ipynb", good, (2026, 10, 4, 8, 30, 0)),
        ("Omar Al-Farsi_77002_assignsubmission_file/probe.ipynb", wrong, (2026, 10, 4, 9, 15, 0)),
        ("Li Wei_77003_assignsubmission_file/probe.ipynb", good, (2026, 10, 4, 9, 20, 0)),
        ("Eve Unknown_77999_assignsubmission_file/probe.ipynb", good, (2026, 10, 4, 9, 15, 0)),
    ], utf8_flag=False)


WORKSHEET = "Grades-probe-41.csv"
# Moodle's "Download grading worksheet" (mod/assign/gradingtable.php): a UTF-8 BOM, CRLF, quoted only
# where needed; the emails as the students' Moodle profiles have them (the roster's in another case).
WORKSHEET_ROWS = [
    ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade", "Grade can be changed",
     "Last modified (submission)", "Last modified (grade)", "Feedback comments"],
    ["Participant 77001", "Ana Lúcia Ferreira-Çelik", "Ana.Ferreira@Uni.Example", "Submitted for grading", "",
     "3.00", "Yes", "Sunday, 4 October 2026, 8:30 AM", "-", ""],
    ["Participant 77002", "Omar Al-Farsi", "OMAR@uni.example", "Submitted for grading", "", "3.00", "Yes",
     "Sunday, 4 October 2026, 9:15 AM", "-", "Seen, thanks.\nSee the hint, then resubmit"],
    ["Participant 77003", "Li Wei", "li.wei@uni.example", "Submitted for grading", "", "3.00", "Yes",
     "Sunday, 4 October 2026, 9:20 AM", "-", ""],
    ["Participant 77004", "Sam Absent", "sam@uni.example", "No submission", "", "3.00", "Yes", "-", "-", ""],
]


def write_worksheet(path: Path, rows: list[list[str]] = WORKSHEET_ROWS) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """One workspace: the three downloads collected through `course collect`, then graded."""
    root, good, wrong, roster = course
    here = tmp_path_factory.mktemp("graded")
    ws = workspace(root, here / "grading")
    worksheet = ("--worksheet", str(write_worksheet(here / WORKSHEET)))
    runs = {lms: run_collect(ws, make(here / f"{lms}.zip", good, wrong), "--roster", str(roster),
                             *(worksheet if lms == "moodle" else ()))
            for lms, make in (("brightspace", brightspace_zip), ("canvas", canvas_zip), ("moodle", moodle_zip))}
    outcomes = {o.student: o for o in autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)}
    return ws, runs, outcomes


def test_each_layout_is_detected_and_says_so(graded):
    _, runs, _ = graded
    for lms, (status, out, err) in runs.items():
        assert f"layout: {lms} (detected" in out, out + err
        assert status == 1, out + err   # each has a student who is not on the roster


def test_the_roster_ids_find_each_student_and_the_newest_file_is_kept(graded):
    ws, runs, _ = graded
    assert sorted(p.name for p in ws.submitted().iterdir()) == sorted(EXPECTED)
    for student in EXPECTED:
        assert sorted(p.name for p in ws.submitted(student, "probe").iterdir()) == ["probe.ipynb", "timestamp.txt"]
    _, out, _ = runs["brightspace"]
    assert "collected 2 student(s): jane, jose" in out
    assert "superseded" in out and "148101-2213368 - José María Núñez-O'Brien - Oct 3, 2026 1158 PM" in out
    _, out, _ = runs["canvas"]
    assert "collected 2 student(s): kim, zoe" in out
    assert "ñandúweißzoë_LATE_234567_9000001_probe.ipynb" in out          # superseded, shown composed
    assert "1 submission(s) the LMS flags LATE: zoe" in out
    _, out, _ = runs["moodle"]   # by the worksheet's emails: 77001 is Ana's, whatever Omar's user id
    assert "collected 2 student(s): ana, omar" in out and "LATE" not in out
    assert f"participants matched by email through the worksheet {WORKSHEET} (4 participant(s), 2 on the roster)" in out


def test_timestamps_come_from_the_download(graded):
    ws, _, _ = graded
    stamp = lambda s: (ws.submitted(s, "probe") / "timestamp.txt").read_text()   # noqa: E731
    assert stamp("jose") == "2026-10-05 01:05:00.000000 UTC"    # Brightspace's date of the kept file
    assert stamp("jane") == "2026-10-03 22:20:00.000000 UTC"
    assert stamp("ana") == "2026-10-04 08:30:00.000000 UTC"     # Moodle, Canvas: the zip entry's time
    assert stamp("zoe") == "2026-10-06 09:00:00.000000 UTC"


def test_a_student_not_on_the_roster_is_listed_with_the_name_in_the_file(graded):
    ws, runs, _ = graded
    for lms, name, ids in (("brightspace", "Mallory Stranger", "148311 / 2299999"),
                           ("canvas", "strangermallory", "555555")):
        _, out, _ = runs[lms]
        assert "1 file(s) MATCH NO STUDENT" in out, out
        assert f"{name}: {lms} id {ids} is on no roster row; add it to the roster's" in out, out
    assert "index.html" not in runs["brightspace"][1]


def test_a_moodle_participant_the_worksheet_cannot_place_is_listed_with_what_to_add(graded):
    _, runs, _ = graded
    _, out, _ = runs["moodle"]
    assert "2 file(s) MATCH NO STUDENT" in out, out
    assert (f"Li Wei_77003_assignsubmission_file/probe.ipynb  (Li Wei: participant 77003 is Li Wei "
            f"<li.wei@uni.example> in the worksheet {WORKSHEET}, an email on no roster row; add a roster row "
            f"with that email") in out, out
    assert (f"Eve Unknown_77999_assignsubmission_file/probe.ipynb  (Eve Unknown: participant 77999 is not in "
            f"the worksheet {WORKSHEET} (4 participant(s))") in out, out
    assert "Download grading worksheet" in out   # where Moodle offers it, said once


def test_the_collected_submissions_grade_as_handed_in(graded):
    ws, _, outcomes = graded
    for student, expected in EXPECTED.items():
        assert outcomes[student].status == "graded", outcomes[student].reason
        assert scores(ws, student) == expected, student


def test_an_unknown_layout_is_an_error_and_nothing_is_written(course, tmp_path):
    root, good, _, roster = course
    ws = workspace(root, tmp_path / "grading")
    download = write_zip(tmp_path / "odd.zip", [("my notebook.ipynb", good, (2026, 1, 1, 0, 0, 0)),
                                                ("notes.txt", "hi", (2026, 1, 1, 0, 0, 0))])
    status, out, err = run_collect(ws, download, "--roster", str(roster))
    assert status == 2 and "layout:" not in out
    assert "cannot tell which LMS made this download: it has names of no layout" in err
    assert "my notebook.ipynb   [no layout]" in err
    for example in ("148093-2213367 - First Last - Oct 3, 2026 1020 PM", "lastfirst[_LATE]_<user id>",
                    "First Last_<id>_assignsubmission_file", "<roster id>_notebook.ipynb"):
        assert example in err
    assert not ws.submitted().exists()


def test_a_mixed_download_is_an_error_until_the_layout_is_named(course, tmp_path):
    root, good, _, roster = course
    ws = workspace(root, tmp_path / "grading")
    download = write_zip(tmp_path / "mixed.zip", [
        ("leekim_123456_9000010_probe.ipynb", good, (2026, 1, 1, 0, 0, 0)),
        ("Omar Al-Farsi_77002_assignsubmission_file_probe.ipynb", good, (2026, 1, 1, 0, 0, 0))])
    status, _, err = run_collect(ws, download, "--roster", str(roster))
    assert status == 2 and "mixes the names of canvas and moodle" in err, err
    assert "leekim_123456_9000010_probe.ipynb   [canvas]" in err
    assert "Omar Al-Farsi_77002_assignsubmission_file_probe.ipynb   [moodle]" in err
    assert "canvas       1 of 2" in err
    assert not ws.submitted().exists()
    status, out, _ = run_collect(ws, download, "--lms", "canvas")
    assert status == 1 and "layout: canvas (--lms)" in out and "collected 1 student(s): kim" in out
    assert "Omar Al-Farsi_77002_assignsubmission_file_probe.ipynb  (not a canvas name" in out


def test_the_plain_layout_is_still_detected(course, tmp_path):
    root, good, _, roster = course
    ws = workspace(root, tmp_path / "grading")
    download = write_zip(tmp_path / "plain.zip", [("jane_probe.ipynb", good, (2026, 1, 1, 0, 0, 0))])
    status, out, _ = run_collect(ws, download, "--roster", str(roster))
    assert status == 0 and "layout: plain (detected" in out and "collected 1 student(s): jane" in out


def test_a_moodle_folder_unzipped_on_a_mac_has_decomposed_names(course, tmp_path):
    """A folder (not a zip), flat names (Moodle without "download in folders"), in NFD; no
    worksheet, so the roster's moodle_participant column places each number (never moodle_id,
    the user id: Omar's is 77001), and a number on no row says how to match it."""
    root, good, wrong, roster = course
    ws = workspace(root, tmp_path / "grading")
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / unicodedata.normalize("NFD", "Ana Lúcia Ferreira-Çelik_77001_assignsubmission_file_probe.ipynb")
     ).write_text(good)
    (folder / "Omar Al-Farsi_77002_assignsubmission_file_probe.ipynb").write_text(wrong)
    (folder / "Li Wei_77003_assignsubmission_file_probe.ipynb").write_text(good)
    status, out, _ = run_collect(ws, folder, "--roster", str(roster))
    assert status == 1 and "layout: moodle (detected" in out and "collected 2 student(s): ana, omar" in out
    assert (ws.submitted("ana", "probe") / "probe.ipynb").read_text() == good
    assert (ws.submitted("omar", "probe") / "probe.ipynb").read_text() == wrong
    assert ("Li Wei: moodle participant 77003 is on no roster row; collect again with --worksheet WORKSHEET.csv, "
            "the assignment's grading worksheet (see below), which matches participants by email, or add the "
            "number to the roster's moodle_participant column") in out, out
    assert "Grading action (newer Moodle: Actions) > Download grading worksheet" in out


def test_a_worksheet_that_is_not_moodles_is_an_error_and_nothing_is_written(course, tmp_path):
    root, good, wrong, roster = course
    ws = workspace(root, tmp_path / "grading")
    download = moodle_zip(tmp_path / "moodle.zip", good, wrong)
    roster_export = write_worksheet(tmp_path / "roster-export.csv", [["id", "email", "Grade"], ["ana", "a@b", "3"]])
    status, out, err = run_collect(ws, download, "--roster", str(roster), "--worksheet", str(roster_export))
    assert status == 2 and not out, out
    assert (f"--worksheet {roster_export}: not a Moodle grading worksheet: it has no 'Identifier' and no "
            f"'Email address' column (its columns: 'id', 'email', 'Grade')") in err, err
    assert "Download grading worksheet" in err and "Nothing was written" in err
    assert not ws.submitted().exists() and not (ws.folder / "roster.csv").exists()


def test_worksheet_errors_name_what_is_wrong(course, tmp_path):
    root, good, wrong, _ = course
    header, ana, omar = WORKSHEET_ROWS[:3]

    def error(rows: list[list[str]]) -> str:
        with pytest.raises(collect.WorksheetError) as e:
            collect.read_worksheet(write_worksheet(tmp_path / "w.csv", rows))
        return str(e.value)

    # blind marking, or a site that shows no emails: Identifier without the Email address
    blind = [[row[0], *row[3:]] for row in (header, ana)]
    assert "it has no 'Email address' column" in error(blind) and "fill the roster's moodle_participant" in error(blind)
    assert "row 3: the Identifier 'Omar' is not Moodle's 'Participant <number>'" in error(
        [header, ana, ["Omar", *omar[1:]]])
    assert "participant 77001 is on rows 2 and 3" in error([header, ana, ana])
    # a spreadsheet's re-save: semicolons, no BOM, other case in the header
    (tmp_path / "semi.csv").write_text("IDENTIFIER;full name;Email Address\nParticipant 77001;Ana;ana@x\n")
    assert collect.read_worksheet(tmp_path / "semi.csv").participants == {
        "77001": collect.Participant("77001", "Ana", "ana@x")}
    # a worksheet for a download of another LMS
    ws = workspace(root, tmp_path / "grading")
    with pytest.raises(collect.WorksheetError, match="this download is canvas's"):
        collect.collect(ws, "probe", canvas_zip(tmp_path / "canvas.zip", good, wrong), ["kim"], roster=[],
                        worksheet=write_worksheet(tmp_path / WORKSHEET))
    assert not ws.submitted().exists()


def test_the_worksheet_matches_emails_nfc_and_case_folded():
    sheet = collect.Worksheet(Path("w.csv"), {
        "77001": collect.Participant("77001", "Zoë Ñandú", "ZOË@uni.example"),
        "77002": collect.Participant("77002", "Twin", "twin@uni.example"),
        "77003": collect.Participant("77003", "No Mail", "")})
    roster = [Student("zoe", email=unicodedata.normalize("NFD", "zoë@Uni.Example"), lms={"moodle_id": "77002"}),
              Student("t1", email="twin@uni.example"), Student("t2", email="Twin@uni.example")]
    index, why = collect._worksheet_index(sheet, roster)
    assert index == {"77001": {"zoe"}}
    assert "an email the roster gives t1, t2" in why["77002"] and "without an email" in why["77003"]
    layout = collect.LAYOUTS["moodle"]
    find = lambda path: collect._student(collect._named(layout, path), index, layout, sheet, why)   # noqa: E731
    assert find("Zoë Ñandú_77001_assignsubmission_file_a.ipynb") == ("zoe", "")
    assert find("Twin_77002_assignsubmission_file_a.ipynb")[0] is None   # not Zoë's user id either


def test_the_participant_column_holds_the_numbers_of_several_assignments():
    layout = collect.LAYOUTS["moodle"]
    roster = [Student("ana", lms={"moodle_participant": "77001 88013", "moodle_id": "77002"}),
              Student("omar", lms={"moodle_participant": "Participant 77002; Participant 88014"})]
    index = collect._index(roster, layout.columns)
    find = lambda path: collect._student(collect._named(layout, path), index, layout)[0]   # noqa: E731
    assert [find(f"X_{n}_assignsubmission_file_a.ipynb") for n in (77001, 88013, 77002, 88014, 412)] == [
        "ana", "ana", "omar", "omar", None]


@pytest.mark.parametrize("time, hour, minute", [("1020 PM", 22, 20), ("105 AM", 1, 5), ("1205 AM", 0, 5),
                                                ("1259 PM", 12, 59), ("900 AM", 9, 0)])
def test_brightspace_times(time, hour, minute):
    named = collect._named(collect.LAYOUTS["brightspace"], f"1-2 - A B - Oct 3, 2026 {time} - x.ipynb")
    assert (named.when.hour, named.when.minute) == (hour, minute)


def test_the_names_of_each_layout():
    read = lambda lms, path: collect._named(collect.LAYOUTS[lms], path)   # noqa: E731
    # Brightspace in folders, below a folder of the TA's; a date that does not exist is no Brightspace name
    named = read("brightspace", "Lab 1/148093-2213367 - jdoe01 Jane Doe - Oct 3, 2026 1020 PM/probe.ipynb")
    assert (named.ids, named.also, named.who, named.file) == (("148093", "2213367"), ("jdoe01",),
                                                              "jdoe01 Jane Doe", "probe.ipynb")
    assert read("brightspace", "1-2 - A B - Feb 29, 2026 1020 PM - x.ipynb") is None
    # Canvas: older Canvas wrote "late"; a text entry has no file id
    named = read("canvas", "doejane_late_123456_7890123_probe.ipynb")
    assert (named.ids, named.late, named.seq, named.file) == (("123456",), True, 7890123, "probe.ipynb")
    assert read("canvas", "doejane_123456_text.html").file == "text.html"
    assert read("canvas", "Jane Doe_123456_assignsubmission_file_2026_10_x.ipynb") is None
    # Moodle: flat, and the folders of Moodle before 4 ("..._file_/")
    for path in ("Jane Doe_77001_assignsubmission_file_probe.ipynb",
                 "Jane Doe_77001_assignsubmission_file_/probe.ipynb"):
        assert (read("moodle", path).ids, read("moodle", path).file) == (("77001",), "probe.ipynb")


def test_ids_not_names_find_the_student():
    layout = collect.LAYOUTS["brightspace"]
    roster = [Student("jane", "Jane", "Doe", lms={"brightspace_username": "jdoe01"}),
              Student("jose", lms={"brightspace_id": "2213368"}), Student("twin", lms={"brightspace_id": "148093"})]
    index = collect._index(roster, layout.columns)
    find = lambda path: collect._student(collect._named(layout, path), index, layout)   # noqa: E731
    # the username some sites put before the name, when neither number is on the roster
    assert find("1-2 - JDOE01 Jane Doe - Oct 3, 2026 1020 PM - a.ipynb") == ("jane", "")
    # the numbers first: the name says Jane, the id is José's
    assert find("7-2213368 - jdoe01 Jane Doe - Oct 3, 2026 1020 PM - a.ipynb") == ("jose", "")
    student, why = find("148093-2213368 - Jane Doe - Oct 3, 2026 1020 PM - a.ipynb")
    assert student is None and "on the roster for jose, twin" in why
    # a capitalised first word is a name, not a username
    roster.append(Student("kim", lms={"brightspace_username": "Kim"}))
    index = collect._index(roster, layout.columns)
    student, why = find("1-2 - Kim Lee - Oct 3, 2026 1020 PM - a.ipynb")
    assert student is None and "Kim Lee: brightspace id 1 / 2 is on no roster row" in why


def test_a_canvas_resubmission_keeps_the_name_of_a_released_file():
    named = collect.Named(("1",), "doejane", "helper-1.py")
    assert collect._target(named, "canvas", ["probe"], {"helper.py"}) == "helper.py"
    assert collect._target(collect.Named(("1",), "", "part-2.py"), "canvas", ["probe"], {"helper.py"}) == "part-2.py"
    assert collect._target(collect.Named(("1",), "", "probe-2.ipynb"), "canvas", ["probe"], set()) == "probe.ipynb"
