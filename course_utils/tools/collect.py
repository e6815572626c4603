"""Collect an LMS download into nbgrader's submitted/ folder.

    collect(ws, "seq2seq", Path("downloads/seq2seq.zip"), roster)

The download is a zip or a folder of files named `<student>_<anything>` (the LMS's own
prefix). Each file goes to `submitted/<student>/<assignment>/`, a notebook under the name
of the released notebook it answers, with `timestamp.txt` (the newest file's time).
Nothing is dropped silently: names that match no student on the roster, files that
match no notebook, older versions of the same notebook and notebooks that are not valid
JSON are all listed in the returned Collected.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.tools.nbgrader_run import gradebook
from course_utils.tools.roster import read_roster, save_roster
from course_utils.tools.workspace import Workspace


@dataclass
class Collected:
    students: dict[str, list[str]] = field(default_factory=dict)   # student -> files written
    unmatched: list[str] = field(default_factory=list)             # no student on the roster
    unknown_notebook: list[str] = field(default_factory=list)      # a student's notebook we cannot place
    superseded: list[str] = field(default_factory=list)            # older versions, not used
    unreadable: list[str] = field(default_factory=list)            # not a JSON notebook (copied anyway)

    def summary(self) -> str:
        lines = [f"collected {len(self.students)} student(s): {', '.join(sorted(self.students)) or '-'}"]
        for title, items in (("MATCH NO STUDENT on the roster (not collected)", self.unmatched),
                             ("match no released notebook (not collected)", self.unknown_notebook),
                             ("superseded by a newer file of the same student", self.superseded),
                             ("NOT VALID NOTEBOOKS (collected; autograde will fail them)", self.unreadable)):
            if items:
                lines.append(f"{len(items)} file(s) {title}:")
                lines += [f"  {name}" for name in sorted(items)]
        return "\n".join(lines)


def roster_ids(ws: Workspace, roster: Path | None = None) -> list[str]:
    """The roster's student ids; a roster file given is first saved in the workspace (roster.py)
    and imported into the gradebook."""
    ws.folder.mkdir(parents=True, exist_ok=True)
    students = read_roster(roster) if roster is not None else []
    with gradebook(ws.gradebook) as gb:
        for s in students:
            gb.update_or_create_student(s.id, first_name=s.first_name or None, last_name=s.last_name or None,
                                        email=s.email or None)
        ids = sorted(s.id for s in gb.students)
    if students:
        save_roster(ws, students)
    if not ids:
        raise SystemExit("course collect: no students in the gradebook; give the roster once with "
                         "--roster roster.csv (columns id,first_name,last_name,email)")
    return ids


def _files(download: Path) -> list[tuple[str, bytes, dt.datetime]]:
    """(base name, bytes, modification time) of every file in a zip or folder."""
    if zipfile.is_zipfile(download):
        with zipfile.ZipFile(download) as z:
            return [(Path(i.filename).name, z.read(i), dt.datetime(*i.date_time)) for i in z.infolist()
                    if not i.is_dir() and "__MACOSX" not in i.filename]
    if download.is_dir():
        return [(p.name, p.read_bytes(), dt.datetime.fromtimestamp(p.stat().st_mtime))
                for p in sorted(download.rglob("*")) if p.is_file()]
    raise SystemExit(f"course collect: {download} is neither a zip file nor a folder")


def _student_of(name: str, ids: list[str]) -> str | None:
    """The longest roster id that `name` starts with, followed by '_'."""
    matches = [i for i in ids if name.startswith(i + "_")]
    return max(matches, key=len) if matches else None


def _notebook_of(name: str, student: str, notebooks: list[str]) -> str | None:
    """The released notebook a handed-in notebook answers: the only one, or the one its name contains."""
    if len(notebooks) == 1:
        return notebooks[0]
    rest = name[len(student) + 1:]
    named = [nb for nb in notebooks if nb in rest]
    return max(named, key=len) if named else None


def collect(ws: Workspace, assignment: str, download: Path, ids: list[str]) -> Collected:
    """Copy the download's files into the workspace's submitted/ folder; see the module docstring."""
    notebooks = sorted(p.stem for p in (ws.root / "release" / assignment).glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"course collect: release/{assignment}/ has no notebooks (run `course release`)")
    found = Collected()
    newest: dict[tuple[str, str], tuple[dt.datetime, str, bytes]] = {}
    for name, data, when in _files(Path(download)):
        student = _student_of(name, ids)
        if student is None:
            found.unmatched.append(name)
            continue
        if name.endswith(".ipynb"):
            target = _notebook_of(name, student, notebooks)
            if target is None:
                found.unknown_notebook.append(name)
                continue
            target += ".ipynb"
        else:
            target = name[len(student) + 1:]
        key = (student, target)
        if key in newest:
            older, newer = sorted([newest[key], (when, name, data)], key=lambda t: t[0])
            found.superseded.append(older[1])
            newest[key] = newer
        else:
            newest[key] = (when, name, data)

    by_student: dict[str, dict[str, tuple[dt.datetime, str, bytes]]] = {}
    for (student, target), entry in newest.items():
        by_student.setdefault(student, {})[target] = entry
    for student, files in sorted(by_student.items()):
        folder = ws.submitted(student, assignment)
        shutil.rmtree(folder, ignore_errors=True)  # a new download replaces the old submission
        folder.mkdir(parents=True)
        for target, (_, name, data) in sorted(files.items()):
            (folder / target).write_bytes(data)
            if target.endswith(".ipynb"):
                try:
                    json.loads(data)
                except ValueError:
                    found.unreadable.append(name)
        stamp = max(when for when, _, _ in files.values())
        (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        found.students[student] = sorted(files)
    return found
