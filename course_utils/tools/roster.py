"""The class roster: who the students are, and who each one is on the LMS.

    students = read_roster(Path("roster.csv"))     # [Student]; SystemExit naming a bad row
    save_roster(ws, students)                      # into <workspace>/roster.csv, merged by id
    saved_roster(ws)                               # [Student]: what collect and export read

A roster is a CSV with a header row: `id` (the student's id in the course, the name of their
submitted/ folder), then optionally first_name, last_name, email (nbgrader's own columns) and
one column per LMS id (LMS_COLUMNS): Brightspace's OrgDefinedId or username, Canvas's user id,
Moodle's user id. Collect matches an LMS download's names to students through these; export
writes the LMS's id in its grade-import CSV.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.tools.workspace import Workspace

NAME_COLUMNS = ("first_name", "last_name", "email")
# The roster columns that hold each LMS's ids of the students. Collect looks up in them the ids
# an LMS's download names carry (collect.LAYOUTS): Brightspace's two numbers "148093-2213367",
# else the first word of the name (the username, where a site shows it); Canvas's user id;
# Moodle's number, which is the assignment's participant id ("Participant 77001" in its grading
# worksheet), not the user id.
LMS_COLUMNS = {
    "brightspace": ("brightspace_id", "brightspace_username"),   # OrgDefinedId, Username
    "canvas": ("canvas_id",),                                     # the Canvas user id
    "moodle": ("moodle_id",),                                     # the Moodle user id (or email)
}
COLUMNS = ("id", *NAME_COLUMNS, *(c for cols in LMS_COLUMNS.values() for c in cols))


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
