"""The class roster: who the students are, and who each one is on the LMS.

    students = read_roster(Path("roster.csv"))     # [Student]; SystemExit naming a bad row
    save_roster(ws, students)                      # into <workspace>/roster.csv, merged by id
    saved_roster(ws)                               # [Student]: what collect and export read

A roster is a CSV with a header row: `id` (the student's id in the course, the name of their
submitted/ folder), then optionally first_name, last_name, email (nbgrader's own columns), the
LMS user ids (LMS_COLUMNS) and Moodle's participant numbers (MOODLE_PARTICIPANT):

    brightspace_id        Brightspace's OrgDefinedId       collect (either number of a download name), export
    brightspace_username  Brightspace's Username           collect (a name's first word), export
    canvas_id             Canvas's user id                 collect (the number of a download name), export
    moodle_id             Moodle's user id (user.id)       export only: Moodle's download names do not carry it
    moodle_participant    Moodle's participant number(s)   collect of a Moodle download without --worksheet
    email                 the student's email              export to Moodle when moodle_id is missing; collect
                                                           of a Moodle download with --worksheet

Moodle names a download's files after the participant number of that assignment ("Participant
77001" in its grading worksheet), a number of its own for each student in each assignment:
moodle_participant holds one or more of them (any separators, e.g. "77001 88013"; Moodle never
gives one number to two students, so the numbers of several assignments can share the column).
Simpler: `course collect --worksheet` maps them to emails through the assignment's grading
worksheet, and the column can stay empty.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.tools.workspace import Workspace

NAME_COLUMNS = ("first_name", "last_name", "email")
# The roster columns of each LMS's user ids, which export writes in the LMS's grade-import CSV
# (lms_export.py). Collect looks up in Brightspace's and Canvas's the ids their download names
# carry (collect.LAYOUTS: Brightspace's two numbers "148093-2213367", else the first word of the
# name, the username where a site shows it; Canvas's user id), never in Moodle's: its names carry
# a participant number instead (MOODLE_PARTICIPANT).
LMS_COLUMNS = {
    "brightspace": ("brightspace_id", "brightspace_username"),   # OrgDefinedId, Username
    "canvas": ("canvas_id",),                                     # the Canvas user id
    "moodle": ("moodle_id",),                                     # the Moodle user id (else export uses email)
}
# Moodle's participant numbers of the student, one per assignment (assign_user_mapping's id, the
# number in a Moodle download's names and "Participant N" in the grading worksheet): collect of a
# Moodle download without --worksheet looks the name's number up among them.
MOODLE_PARTICIPANT = "moodle_participant"
COLUMNS = ("id", *NAME_COLUMNS, *(c for cols in LMS_COLUMNS.values() for c in cols), MOODLE_PARTICIPANT)


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms: dict[str, str] = field(default_factory=dict)   # LMS column (e.g. canvas_id) -> value

    def row(self) -> dict[str, str]:
        return {"id": self.id, "first_name": self.first_name, "last_name": self.last_name,
                "email": self.email, **self.lms}


def read_roster(path: Path) -> list[Student]:
    """The students of a roster CSV (see the module docstring); SystemExit naming what is wrong."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SystemExit(f"{path}: cannot read the roster ({e})") from None
    if "id" not in header:
        raise SystemExit(f"{path}: a roster needs a header row with an 'id' column "
                         f"({','.join(COLUMNS[:4])}, and optionally {','.join(COLUMNS[4:])})")
    students, seen = [], set()
    for line, row in enumerate(rows, start=2):
        sid = (row.get("id") or "").strip()
        if not sid or "/" in sid or sid.startswith("."):
            raise SystemExit(f"{path}, line {line}: the id {sid!r} cannot name a student's folder: give each "
                             f"student a non-empty id without '/'")
        if sid in seen:
            raise SystemExit(f"{path}, line {line}: the id {sid!r} is on the roster twice")
        seen.add(sid)
        value = {k: (row.get(k) or "").strip() for k in COLUMNS}
        students.append(Student(sid, value["first_name"], value["last_name"], value["email"],
                                {k: value[k] for k in COLUMNS[4:] if value[k]}))
    return students


def roster_file(ws: Workspace) -> Path:
    return ws.folder / "roster.csv"


def saved_roster(ws: Workspace) -> list[Student]:
    """The workspace's roster (every roster collect was given, merged); [] before the first."""
    path = roster_file(ws)
    return read_roster(path) if path.exists() else []


def save_roster(ws: Workspace, students: list[Student]) -> list[Student]:
    """Merge `students` into the workspace's roster (a row given replaces the row of its id); the
    merged roster. Written whole or not at all."""
    merged = {s.id: s for s in saved_roster(ws)}
    merged.update({s.id: s for s in students})
    path = roster_file(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(s.row() for s in sorted(merged.values(), key=lambda s: s.id))
    os.replace(tmp, path)
    return sorted(merged.values(), key=lambda s: s.id)
