"""The grade-import CSV of each LMS: `course export --lms brightspace|canvas|moodle`.

    export(ws, "canvas", Path("canvas.csv"), labels={"probe": "Probe (4321)"})   # notes for the TA

One row per student on the roster (roster.py), whether or not they handed anything in, with
the LMS's own id of the student; one column per assignment (or, `per_question`, per graded
cell: "<assignment>: <grade id>"), named as the LMS names a grade item; points, as nbgrader's
own export counts them (the score less any late penalty, at least 0). A student without a
grade gets what `missing` says: "empty" (the default of every LMS here: no grade, which each
import leaves ungraded) or "zero". A roster student without the LMS's id stops the export
before anything is written (an ExportError naming them and the roster column), except on
Moodle, which can match on email. The CSV is written whole or not at all.

The formats, as each LMS documents its import:

Brightspace (D2L), Grades > Enter Grades > Import
    OrgDefinedId (roster column brightspace_id) or, when the roster has only usernames,
    Username (brightspace_username): "You must provide a Username or Org Defined ID (or both)";
    the values start with "#", as Brightspace's own export writes them (not part of the data:
    it stops a spreadsheet from reading 00246 as a number). Then "<item> Points Grade" for each
    numeric grade item, and a last column "End-of-Line Indicator" holding "#" on every row
    (which lets the last grade of a row be empty).
      https://community.d2l.com/brightspace/kb/articles/3538-importing-grades
      https://www2.tntech.edu/ilearn/Instructor/pages/semester-start/instructor-file_format_for_importing_grades.htm
      https://kb.wisc.edu/page.php?id=4330  (the "#" prefixes and the End-of-Line Indicator)
Canvas, Grades > Import
    Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment, titled as
    Canvas exports it: "<title> (<Canvas assignment id>)" matches that assignment, a bare
    title matches the assignment of that exact title or creates a new one (`labels`, from
    `--item`). The importer finds a student by ID (the Canvas user id: roster column
    canvas_id), then SIS User ID, then SIS Login ID, then name; Section may be blank. An
    optional second row whose first cell is "Points Possible" gives each column's points
    (what a new assignment gets); it is written, as Canvas's own export writes it.
      https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
      https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
      https://github.com/instructure/canvas-lms/blob/master/app/models/gradebook_importer.rb
      (the header it accepts, the Points Possible row, how it matches students and "(id)")
Moodle, Grades > Import > CSV file
    Any columns: at import the teacher maps one column to the user ("Map from" a column,
    "Map to" userid, useridnumber, useremail or username) and each other column to a grade
    item or to a new one named after the column. Here: "Moodle user id" (roster column
    moodle_id: the user's id, not the participant number in a download's names, which
    roster.py keeps apart; map it to userid, or to useridnumber if the roster holds ID
    numbers) or, when some student has none, "Email address" for everyone (map it to
    useremail; Moodle compares emails case-sensitively), then one column per grade item. An
    empty cell is no grade. No feedback column: Moodle documents that importing feedback
    overwrites the grades of its item.
      https://docs.moodle.org/311/en/Grade_import
      https://github.com/moodle/moodle/blob/master/grade/import/csv/classes/load_data.php
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.tools.roster import LMS_COLUMNS, Student, roster_file, saved_roster
from course_utils.tools.workspace import Workspace

MISSING = ("empty", "zero")


class ExportError(Exception):
    """What stops an export, for the TA; nothing was written."""


@dataclass(frozen=True)
class Format:
    """How one LMS names a grade item's column, and what else its rows hold."""
    item: str                              # the column of a grade item, from its label
    missing: str = "empty"                 # the LMS's default for a student without a grade
    end: tuple[str, str] | None = None     # a last column: (header, the value on every row)
    points_row: str = ""                   # a second row of points possible, led by this cell


FORMATS = {
    "brightspace": Format(item="{} Points Grade", end=("End-of-Line Indicator", "#")),
    "canvas": Format(item="{}", points_row="Points Possible"),
    "moodle": Format(item="{}"),
}
LMS = tuple(FORMATS)
CANVAS_STUDENT = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class Item:
    """One grade column: an assignment, or one graded cell of it."""
    assignment: str
    key: str                     # "probe", or "probe: test_interp" (per question)
    label: str                   # the LMS's name of the item (--item KEY=LABEL; default: key)
    max_score: float
    scores: dict[str, float]     # student id -> points, for each student with a grade


@dataclass
class Ids:
    """The identifier columns of one LMS: header, each student's values, and what to tell the TA."""
    header: list[str]
    values: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the students, as each LMS knows them

ROSTER_HINT = "`course collect ASSIGNMENT DOWNLOAD --roster roster.csv`"


def _lacking(students: list[Student], column: str) -> list[str]:
    return [s.id for s in students if not s.lms.get(column)]


def _missing_ids(ids: list[str], what: str, column: str) -> ExportError:
    shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    return ExportError(f"{len(ids)} student(s) on the roster have no {what}: {shown}. Fill the roster's {column} "
                       f"column for them and give the roster again ({ROSTER_HINT}); nothing was written")


def brightspace(students: list[Student]) -> Ids:
    """OrgDefinedId when every student has a brightspace_id, else Username when every one has a
    brightspace_username; the values prefixed with "#"."""
    org, user = LMS_COLUMNS["brightspace"]
    if not _lacking(students, org):
        return Ids(["OrgDefinedId"], {s.id: ["#" + s.lms[org]] for s in students})
    if not _lacking(students, user):
        some = [s.id for s in students if s.lms.get(org)]
        notes = [f"Brightspace: not every student has an OrgDefinedId ({org}), so every row gives the Username "
                 f"({user})"] if some else []
        return Ids(["Username"], {s.id: ["#" + s.lms[user]] for s in students}, notes)
    raise _missing_ids(_lacking(students, org), f"Brightspace OrgDefinedId ({org}), and not every student has "
                       f"a Username ({user}) to use instead", org)


def canvas(students: list[Student]) -> Ids:
    """Student ("Last, First"), ID (canvas_id); SIS User ID, SIS Login ID and Section blank:
    Canvas finds the student by ID first."""
    (column,) = LMS_COLUMNS["canvas"]
    lacking = _lacking(students, column)
    if lacking:
        raise _missing_ids(lacking, f"Canvas user id ({column}; Canvas matches no other id of ours)", column)
    return Ids(list(CANVAS_STUDENT), {s.id: [_sortable_name(s), s.lms[column], "", "", ""] for s in students})


def moodle(students: list[Student]) -> Ids:
    """Moodle user id (moodle_id) when every student has one, else Email address, said so."""
    (column,) = LMS_COLUMNS["moodle"]
    lacking = _lacking(students, column)
    if not lacking:
        return Ids(["Moodle user id"], {s.id: [s.lms[column]] for s in students})
    no_email = [s.id for s in students if not s.email]
    if no_email:
        raise _missing_ids(lacking, f"Moodle user id ({column}), and Moodle can match on email instead only when "
                           f"every student has one (no email: {', '.join(no_email[:20])})", column)
    return Ids(["Email address"], {s.id: [s.email] for s in students},
               [f"Moodle: {len(lacking)} student(s) have no {column} ({', '.join(lacking[:5])}"
                f"{', ...' if len(lacking) > 5 else ''}), so every row is matched on email instead: at import, "
                f"map 'Email address' to useremail"])


IDS = {"brightspace": brightspace, "canvas": canvas, "moodle": moodle}


def _sortable_name(s: Student) -> str:
    if s.last_name and s.first_name:
        return f"{s.last_name}, {s.first_name}"
    return s.last_name or s.first_name or s.id


# ------------------------------------------------------------------ the grades

def strip_lms_id(label: str) -> str:
    """A label without a trailing Canvas id: "Assignment 1 (4321)" -> "Assignment 1"."""
    return re.sub(r"\s*\(\d+\)$", "", label)


def grade_items(ws: Workspace, assignments: list[str], per_question: bool = False,
                labels: dict[str, str] | None = None) -> tuple[list[Item], list[str]]:
    """The grade columns of `assignments` (in that order) from the gradebook, and notes.
    Per question, a cell's key is "<assignment>: <grade id>" ("<assignment>: <notebook>/<grade id>"
    where two notebooks share a grade id), its cells in the order of the released notebook; its
    label is the assignment's label (less any Canvas id) and the same tail."""
    from nbgrader.api import Gradebook, MissingEntry

    labels = dict(labels or {})
    items, notes, late = [], [], set()
    with Gradebook(ws.gradebook) as gb:
        for name in assignments:
            try:
                assignment = gb.find_assignment(name)
            except MissingEntry:
                raise ExportError(f"no assignment {name!r} in the gradebook "
                                  f"({', '.join(a.name for a in gb.assignments) or 'none yet'})") from None
            submissions = gb.assignment_submissions(name)
            if not per_question:
                items.append(Item(name, name, labels.pop(name, name), assignment.max_score,
                                  {s.student.id: max(0.0, s.score - s.late_submission_penalty) for s in submissions}))
                continue
            cells = [(nb.name, cell.name, cell.max_score) for nb in assignment.notebooks
                     for cell in _in_order(ws, name, nb.name, nb.grade_cells + nb.task_cells)]
            shared = {gid for _, gid, _ in cells if sum(g == gid for _, g, _ in cells) > 1}
            scores = {(nb, gid): {} for nb, gid, _ in cells}
            for sub in submissions:
                late |= {sub.student.id} if sub.late_submission_penalty else set()
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        scores.setdefault((nb.name, grade.name), {})[sub.student.id] = grade.score
            base = strip_lms_id(labels.pop(name, name))
            for nb, gid, max_score in cells:
                tail = f"{nb}/{gid}" if gid in shared else gid
                key = f"{name}: {tail}"
                items.append(Item(name, key, labels.pop(key, f"{base}: {tail}"), max_score, scores[(nb, gid)]))
    if labels:
        known = list(assignments) + [i.key for i in items if i.key not in assignments]
        raise ExportError(f"--item names nothing in this export: {', '.join(sorted(labels))} "
                          f"(its items: {', '.join(known)})")
    if late:
        notes.append(f"per question, the points are before the late penalty, which only an assignment's total "
                     f"carries: {', '.join(sorted(late))} had one")
    return items, notes


def _in_order(ws: Workspace, assignment: str, notebook: str, cells: list) -> list:
    """Graded cells in the order of the released (else source) notebook; by name if neither reads."""
    import nbformat

    from course_utils.tools.points import graded_cells

    for folder in ("release", "source"):
        path = ws.root / folder / assignment / f"{notebook}.ipynb"
        try:
            order = list(graded_cells(nbformat.read(path, as_version=4)))
        except (OSError, ValueError, KeyError, AttributeError):
            continue
        return sorted(cells, key=lambda c: (order.index(c.name) if c.name in order else len(order), c.name))
    return sorted(cells, key=lambda c: c.name)


def points(x: float) -> str:
    """Points as every LMS reads them: 2, 1.5, 0.3333 (no exponent, no trailing zeros)."""
    return f"{round(float(x), 4) + 0.0:.4f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ the CSV

def table(lms: str, students: list[Student], items: list[Item],
          missing: str | None = None) -> tuple[list[list[str]], list[str]]:
    """The rows of `lms`'s CSV (its header first) and notes; ExportError for a missing id."""
    fmt = FORMATS[lms]
    missing = missing or fmt.missing
    if missing not in MISSING:
        raise ExportError(f"--missing {missing}: choose one of {', '.join(MISSING)}")
    ids = IDS[lms](students)
    columns = [fmt.item.format(i.label) for i in items]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ExportError(f"two grade items would both be the column {twice[0]!r}: name them apart with "
                          f"--item KEY=LABEL")
    end_header, end = ([fmt.end[0]], [fmt.end[1]]) if fmt.end else ([], [])
    rows = [ids.header + columns + end_header]
    if fmt.points_row:
        rows.append([fmt.points_row] + [""] * (len(ids.header) - 1) + [points(i.max_score) for i in items] + end)
    empty = "" if missing == "empty" else "0"
    for s in students:
        rows.append(ids.values[s.id] + [points(i.scores[s.id]) if s.id in i.scores else empty for i in items] + end)
    return rows, ids.notes


def write_csv(path: Path, rows: list[list[str]]) -> None:
    """Write the CSV whole or not at all (a temporary file beside it, then a rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None


def export(ws: Workspace, lms: str, to: Path, assignments: list[str], per_question: bool = False,
           missing: str | None = None, labels: dict[str, str] | None = None,
           students: list[Student] | None = None) -> list[str]:
    """Write `lms`'s grade-import CSV of `assignments` for the roster's students (default: the
    workspace's roster); the notes for the TA. ExportError, with nothing written, for what stops it."""
    if lms not in FORMATS:
        raise ExportError(f"no format for {lms!r}: choose one of {', '.join(LMS)}")
    students = saved_roster(ws) if students is None else students
    if not students:
        raise ExportError(f"--lms {lms} writes a row for every student on the roster, and there is none in "
                          f"{roster_file(ws)}: give the class list once ({ROSTER_HINT}; columns "
                          f"id,first_name,last_name,email,{','.join(LMS_COLUMNS[lms])})")
    items, notes = grade_items(ws, assignments, per_question, labels)
    on_roster = [s.id for s in students]
    strays = sorted({sid for i in items for sid in i.scores} - set(on_roster))
    if strays:
        raise ExportError(f"{len(strays)} student(s) have grades but are not on the roster, so {lms} could not "
                          f"tell who they are: {', '.join(strays)}. Add them to the roster (with their "
                          f"{' or '.join(LMS_COLUMNS[lms])}) and give it again ({ROSTER_HINT}); nothing was written")
    rows, id_notes = table(lms, students, items, missing)
    graded = {(sid, i.assignment) for i in items for sid in i.scores}
    ungraded = [f"{sid}/{a}" for a in assignments for sid in on_roster
                if (sid, a) not in graded and ws.submitted(sid, a).is_dir()]
    if ungraded:
        shown = "no grade" if (missing or FORMATS[lms].missing) == "empty" else "0"
        notes.append(f"{len(ungraded)} submission(s) were handed in but have no grade, and are written as {shown}: "
                     f"{', '.join(ungraded)} (see `course status ASSIGNMENT`; `course autograde ASSIGNMENT` "
                     f"grades them)")
    write_csv(to, rows)
    return id_notes + notes
