"""Collect an LMS download into nbgrader's submitted/ folder.

    collect(ws, "seq2seq", Path("downloads/seq2seq.zip"), ids)             # the layout detected
    collect(ws, "seq2seq", Path("downloads/seq2seq.zip"), ids, "canvas")   # or named
    collect(ws, "seq2seq", download, ids, worksheet=read_worksheet(Path("Grades-seq2seq.csv")))

A download is a zip or a folder in one of four layouts: the names Brightspace, Canvas or
Moodle give the files of a "download all submissions" (LAYOUTS: one small recogniser each,
a regex and what its groups mean), whose LMS ids of the student are looked up in the
roster's columns (Layout.columns; the name in the file is shown, never matched), or
`plain`: files named `<student>_<anything>` by their course id. `auto` takes the one layout
that fits every file's name; a download that fits none, or several, is a LayoutError naming
what it saw, raised before anything is written.

Moodle's names carry the assignment's participant number, not the user id (roster.py). With
the assignment's grading worksheet (read_worksheet: its Identifier "Participant 77001" and
Email address columns), each number is the student whose roster email is the worksheet's
(compared NFC and case-folded), and the roster's moodle_participant column is not read;
without one, the number is looked up in that column. A worksheet that is not Moodle's, or
one given for another layout, is a WorksheetError, raised before anything is written.

Each student's files go to `submitted/<student>/<assignment>/`, a notebook under the name of
the released notebook it answers, with `timestamp.txt`: the newest file's time, from the
name where the LMS puts it there (Brightspace), else the zip entry's. Nothing is dropped
silently: files of no student on the roster (with the name and ids they carry), files that
match no notebook, older versions of the same file and notebooks that are not valid JSON
are listed in the returned Collected, and so are the submissions the LMS flags as late.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from course_utils.tools.nbgrader_run import gradebook
from course_utils.tools.roster import (COLUMNS, LMS_COLUMNS, MOODLE_PARTICIPANT, Student, read_roster,
                                      save_roster, saved_roster)
from course_utils.tools.workspace import Workspace

CHOICES = ("auto", "plain", "brightspace", "canvas", "moodle")   # --lms
STAMP = "%Y-%m-%d %H:%M:%S.%f UTC"                               # nbgrader's timestamp.txt


class CollectError(ValueError):
    """What stops a collect before it writes anything, for the TA."""


class LayoutError(CollectError):
    """The download's layout is unknown or ambiguous; nothing was written."""


class WorksheetError(CollectError):
    """The --worksheet is not a Moodle grading worksheet, or not for this download; nothing was written."""


@dataclass
class Collected:
    layout: str = "plain"                                           # the layout read
    detected: bool = False                                          # by --lms auto
    students: dict[str, list[str]] = field(default_factory=dict)   # student -> files written
    unmatched: list[str] = field(default_factory=list)             # no student on the roster
    unknown_notebook: list[str] = field(default_factory=list)      # a student's notebook we cannot place
    superseded: list[str] = field(default_factory=list)            # older versions, not used
    unreadable: list[str] = field(default_factory=list)            # not a JSON notebook (copied anyway)
    late: list[str] = field(default_factory=list)                  # students the LMS flags late
    notes: dict[str, str] = field(default_factory=dict)            # file -> why it is unmatched
    worksheet: str = ""                                             # how a Moodle worksheet matched them
    advice: list[str] = field(default_factory=list)                # said once, after the lists

    def summary(self) -> str:
        how = "detected; --lms names another" if self.detected else "--lms"
        lines = [f"layout: {self.layout} ({how})", *([self.worksheet] if self.worksheet else []),
                 f"collected {len(self.students)} student(s): {', '.join(sorted(self.students)) or '-'}"]
        for title, items in (("MATCH NO STUDENT on the roster (not collected)", self.unmatched),
                             ("match no released notebook (not collected)", self.unknown_notebook),
                             ("superseded by a newer file of the same student", self.superseded),
                             ("NOT VALID NOTEBOOKS (collected; autograde will fail them)", self.unreadable)):
            if items:
                lines.append(f"{len(items)} file(s) {title}:")
                lines += [f"  {name}" + (f"  ({self.notes[name]})" if name in self.notes else "")
                          for name in sorted(items)]
        if self.late:
            lines.append(f"{len(self.late)} submission(s) the LMS flags LATE: {', '.join(sorted(self.late))}")
        return "\n".join(lines + self.advice)


# --- What a name says -------------------------------------------------------------------

@dataclass(frozen=True)
class Named:
    """What an LMS's name for a file says about it."""
    ids: tuple[str, ...]              # the student's LMS ids in the name, looked up in the roster
    who: str                          # the student's name as the file gives it (shown, never matched)
    file: str                         # the student's own file name
    when: dt.datetime | None = None   # the submission time, where the name gives it
    late: bool = False                # the LMS's late flag
    seq: int = 0                      # the LMS's upload order (Canvas's file id): the higher, the newer
    also: tuple[str, ...] = ()        # weaker ids, looked up only when none of `ids` is on the roster


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _brightspace(m: re.Match) -> Named | None:
    """Brightspace: two numbers (its own ids; which one is the user's is not documented, so both
    are looked up), the name (which some sites start with the username or OrgDefinedId: a first
    word with a digit, or in lower case, is looked up too), the time as "Oct 3, 2026 105 PM" (no
    colon, the hour unpadded). None for a date that does not exist."""
    hour = int(m["hour"]) % 12 + (12 if m["ampm"] == "PM" else 0)
    try:
        when = dt.datetime(int(m["year"]), MONTHS.index(m["month"]) + 1, int(m["day"]), hour, int(m["minute"]))
    except ValueError:
        return None
    first = m["who"].split()[0]
    username = any(c.isdigit() for c in first) or first == first.lower()   # not a capitalised name
    return Named((m["a"], m["b"]), m["who"], m["file"], when, also=(first,) if username else ())


def _canvas(m: re.Match) -> Named:
    """Canvas: the sortable name lower-cased, all but letters and digits dropped; LATE (older
    Canvas: late); the user id; the file's id (increasing: a resubmission's is higher; absent for
    a text entry)."""
    return Named((m["id"],), m["who"], m["file"], late=m["late"] is not None, seq=int(m["seq"] or 0))


def _moodle(m: re.Match) -> Named:
    """Moodle: the full name, the assignment's participant number ("Participant N" in its grading
    worksheet; Moodle gives each student another in each assignment), never the user id."""
    return Named((m["id"],), m["who"], m["file"])


@dataclass(frozen=True)
class Layout:
    name: str
    pattern: re.Pattern                     # a file's path in the download, or its tail
    read: Callable[[re.Match], Named | None]
    columns: tuple[str, ...]                # the roster columns its ids are looked up in
    example: str                            # what its names look like, for the error
    id_name: str = "id"                     # what its ids are, for the TA
    hint: str = ""                          # another way to match, for an id on no roster row


LAYOUTS = {layout.name: layout for layout in (
    Layout("brightspace",
           re.compile(r"(?P<a>\d+)-(?P<b>\d+) - (?P<who>.+?) - (?P<month>" + "|".join(MONTHS) + r") "
                      r"(?P<day>\d{1,2}), (?P<year>\d{4}) (?P<hour>\d{1,2})(?P<minute>\d\d) (?P<ampm>[AP]M)"
                      r"(?: - |/)(?P<file>.+)"),
           _brightspace, LMS_COLUMNS["brightspace"],
           "148093-2213367 - First Last - Oct 3, 2026 1020 PM - notebook.ipynb, or that folder "
           "(without ' - notebook.ipynb') holding notebook.ipynb; with index.html"),
    Layout("canvas",
           re.compile(r"(?P<who>[^\W_]+)(?:_(?P<late>LATE|late))?_(?P<id>\d+)_(?:(?P<seq>\d+)_)?(?P<file>[^/]+)"),
           _canvas, LMS_COLUMNS["canvas"],
           "lastfirst[_LATE]_<user id>_<file id>_notebook.ipynb (a resubmitted name as notebook-1.ipynb)"),
    Layout("moodle",
           re.compile(r"(?P<who>[^/_]+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)(?:_/|/|_)(?P<file>.+)"),
           _moodle, (MOODLE_PARTICIPANT,),
           "First Last_<id>_assignsubmission_file_notebook.ipynb, or the folder "
           "First Last_<id>_assignsubmission_file[_]/ holding notebook.ipynb",
           id_name="participant",
           hint="collect again with --worksheet WORKSHEET.csv, the assignment's grading worksheet (see below), "
                "which matches participants by email, or add the number to the roster's moodle_participant column"),
)}
# Where Moodle offers the grading worksheet (the feedback type "Offline grading worksheet" adds it).
WORKSHEET_WHERE = ("on the assignment's View all submissions page, Grading action (newer Moodle: Actions) > "
                   "Download grading worksheet, with no filter and all groups shown; it is there when the "
                   "assignment's feedback types include 'Offline grading worksheet' (its settings)")
WORKSHEET_ADVICE = (f"Moodle's grading worksheet of the assignment (--worksheet WORKSHEET.csv maps its participant "
                    f"numbers to the roster by email) is {WORKSHEET_WHERE}")
PLAIN_EXAMPLE = "<roster id>_notebook.ipynb"
MARKS = {"brightspace": "index.html"}   # a file the LMS adds beside the submissions (not collected)


def _named(layout: Layout, path: str) -> Named | None:
    """What `layout` reads in `path` (or in its tail, below a folder the TA added), or None."""
    parts = path.split("/")
    for start in range(len(parts)):
        m = layout.pattern.fullmatch("/".join(parts[start:]))
        if m:
            return layout.read(m)
    return None


def _plain(name: str, ids: list[str]) -> Named | None:
    """plain: the longest roster id that the file's base name starts with, followed by '_'."""
    matches = [i for i in ids if name.startswith(i + "_")]
    if not matches:
        return None
    student = max(matches, key=len)
    return Named((student,), "", name[len(student) + 1:])


# --- Reading the download --------------------------------------------------------------

@dataclass(frozen=True)
class File:
    path: str             # in the download, '/'-separated, NFC
    data: bytes
    when: dt.datetime     # the zip entry's time (a folder's file: its modification time)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


def _nfc(name: str) -> str:
    """Unicode NFC: macOS writes names decomposed (NFD), the roster and the LMS composed."""
    return unicodedata.normalize("NFC", name)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: UTF-8 even when the zip does not flag it (zipfile then reads cp437)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except UnicodeError:
            pass
    return _nfc(name)


def _ignored(path: str) -> bool:
    return "__MACOSX" in path.split("/") or PurePosixPath(path).name in (".DS_Store", "Thumbs.db")


def _files(download: Path) -> list[File]:
    """Every file in a zip or folder."""
    if zipfile.is_zipfile(download):
        with zipfile.ZipFile(download) as z:
            return [File(_zip_name(i), z.read(i), dt.datetime(*i.date_time)) for i in z.infolist()
                    if not i.is_dir() and not _ignored(_zip_name(i))]
    if download.is_dir():
        paths = [(p, _nfc(p.relative_to(download).as_posix())) for p in sorted(download.rglob("*")) if p.is_file()]
        return [File(path, p.read_bytes(), dt.datetime.fromtimestamp(p.stat().st_mtime))
                for p, path in paths if not _ignored(path)]
    raise SystemExit(f"course collect: {download} is neither a zip file nor a folder")


# --- Which layout -------------------------------------------------------------------------

def detect(files: list[File], ids: list[str]) -> str:
    """The one layout that reads every file's name (LMS marks such as index.html aside), else
    `plain` where no LMS layout reads any and some name starts with a roster id; LayoutError
    otherwise, listing some names and what each layout expected."""
    names = [f for f in files if f.name not in MARKS.values()] or files
    read = {n: [f.path for f in names if _named(layout, f.path)] for n, layout in LAYOUTS.items()}
    fits = [n for n, paths in read.items() if paths]
    if len(fits) == 1 and len(read[fits[0]]) == len(names):
        return fits[0]
    plain = [f.path for f in names if _plain(f.name, ids)]
    if not fits and plain:
        return "plain"
    read["plain"] = plain
    if len(fits) > 1:
        what = "mixes the names of " + " and ".join(fits)
    elif fits:
        what = f"has names that {fits[0]} does not read"
    else:
        what = "has names of no layout" if names else "holds no file"
    shown = sorted(names, key=lambda f: (bool([n for n in read if f.path in read[n]]), f.path))[:8]
    lines = [f"cannot tell which LMS made this download: it {what} (--lms auto); nothing was written "
             f"to submitted/.", f"{len(names)} file(s), for example:"]
    lines += [f"  {f.path}   [{', '.join(n for n in read if f.path in read[n]) or 'no layout'}]" for f in shown]
    lines.append("each layout expects names like (and how many of these it read):")
    examples = {**{n: layout.example for n, layout in LAYOUTS.items()}, "plain": PLAIN_EXAMPLE}
    lines += [f"  {n:<12} {len(read[n])} of {len(names)}: {examples[n]}" for n in (*LAYOUTS, "plain")]
    lines.append("name the layout with --lms " + "|".join(CHOICES[1:]) + " to collect what it reads "
                 "(the other files are then listed as matching no student)")
    raise LayoutError("\n".join(lines))


# --- Moodle's grading worksheet ------------------------------------------------------------

@dataclass(frozen=True)
class Participant:
    number: str     # "77001" of "Participant 77001"
    name: str       # the worksheet's Full name ("" where it has none)
    email: str


@dataclass(frozen=True)
class Worksheet:
    path: Path
    participants: dict[str, Participant]   # participant number -> the worksheet's row


# Moodle's own headers (mod/assign/gradingtable.php: get_string('recordid', 'assign'), then the
# site's identity fields; 'hiddenuser' is "Participant " before the number); the first two are needed.
IDENTIFIER, EMAIL, FULL_NAME = "Identifier", "Email address", "Full name"
WORKSHEET_COLUMNS = (IDENTIFIER, FULL_NAME, EMAIL, "Status", "Grade", "Maximum grade", "Grade can be changed",
                     "Last modified (submission)", "Last modified (grade)", "Feedback comments")


def read_worksheet(path: Path) -> Worksheet:
    """The participants of a Moodle grading worksheet (a CSV, UTF-8 with or without Moodle's BOM;
    comma-separated, or as a spreadsheet saved it, semicolons or tabs); WorksheetError naming what
    a file that is not one lacks."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise WorksheetError(f"--worksheet {path}: not UTF-8 text, as Moodle writes its grading worksheet "
                             f"(a spreadsheet saved it in another encoding? save it as CSV UTF-8, or download "
                             f"it again: it is {WORKSHEET_WHERE}); nothing was written") from None
    except OSError as e:
        raise WorksheetError(f"--worksheet {path}: cannot read it ({e.strerror or e})") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max(",;\t", key=first.count) if first else ","
    try:   # rows, not lines: a feedback comment may hold line breaks
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as e:
        raise WorksheetError(f"--worksheet {path}: not a CSV file ({e}); nothing was written") from None
    header = [_nfc(h).strip() for h in rows[0]] if rows else []
    at = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}   # the first of a name
    lacking = [c for c in (IDENTIFIER, EMAIL) if c.casefold() not in at]
    if lacking:
        shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "") or "none"
        why = (f"Moodle leaves the emails out when the assignment hides identities (blind marking) or the "
               f"site's 'Show user identity' setting does not list email: then fill the roster's "
               f"{MOODLE_PARTICIPANT} column and collect without --worksheet" if lacking == [EMAIL] else
               f"Moodle's has the columns {IDENTIFIER} ('Participant 77001'), {FULL_NAME}, {EMAIL}, Status, "
               f"Grade, ... (as Moodle in English names them: download it with your language set to English); "
               f"it is {WORKSHEET_WHERE}")
        raise WorksheetError(f"--worksheet {path}: not a Moodle grading worksheet: it has no "
                             f"{' and no '.join(map(repr, lacking))} column (its columns: {shown}). {why}. "
                             f"Nothing was written")
    name_at = at.get(FULL_NAME.casefold())
    participants: dict[str, Participant] = {}
    seen: dict[str, int] = {}
    for number_of_row, row in enumerate(rows[1:], start=2):
        cell = lambda i: _nfc(row[i]).strip() if i is not None and i < len(row) else ""   # noqa: E731
        identifier = cell(at[IDENTIFIER.casefold()])
        if not identifier and not any(c.strip() for c in row):
            continue
        number = re.fullmatch(r"\D*?(\d+)", identifier)
        if not number:
            raise WorksheetError(f"--worksheet {path}, row {number_of_row}: the {IDENTIFIER} {identifier!r} is "
                                 f"not Moodle's 'Participant <number>'; download the worksheet again (it is "
                                 f"{WORKSHEET_WHERE}). Nothing was written")
        n = str(int(number[1]))
        if n in participants:
            raise WorksheetError(f"--worksheet {path}: participant {n} is on rows {seen[n]} and {number_of_row}; "
                                 f"download the worksheet again (it is {WORKSHEET_WHERE}). Nothing was written")
        participants[n], seen[n] = Participant(n, cell(name_at), cell(at[EMAIL.casefold()])), number_of_row
    return Worksheet(path, participants)


def _worksheet_index(worksheet: Worksheet, roster: list[Student]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """(participant number -> the students whose roster email is the worksheet's, participant
    number -> why none is, for the TA)."""
    by_email: dict[str, set[str]] = {}
    for s in roster:
        if s.email:
            by_email.setdefault(_key(s.email), set()).add(s.id)
    index, why = {}, {}
    for n, p in worksheet.participants.items():
        who = f"{p.name} <{p.email}>" if p.name else f"<{p.email}>"
        students = by_email.get(_key(p.email), set()) if p.email else set()
        if len(students) == 1:
            index[n] = students
        elif students:
            why[n] = (f"participant {n} is {who} in the worksheet {worksheet.path.name}, an email the roster gives "
                      f"{', '.join(sorted(students))}; give each student their own email on the roster and "
                      f"collect again")
        elif not p.email:
            why[n] = (f"participant {n} is {p.name or 'a student'} in the worksheet {worksheet.path.name}, without "
                      f"an email; write the student's email in the worksheet's {EMAIL} and collect again, or "
                      f"fill the roster's {MOODLE_PARTICIPANT} column and collect without --worksheet")
        else:
            why[n] = (f"participant {n} is {who} in the worksheet {worksheet.path.name}, an email on no roster "
                      f"row; add a roster row with that email (or give the student's row the email Moodle has) "
                      f"and collect again")
    return index, why


def _not_in_worksheet(n: str, worksheet: Worksheet) -> str:
    return (f"participant {n} is not in the worksheet {worksheet.path.name} ({len(worksheet.participants)} "
            f"participant(s)): is it this assignment's? download it again (see below) and collect again")


# --- Whose file -------------------------------------------------------------------------

def _key(value: str) -> str:
    return _nfc(value.strip()).casefold()


def _index(roster: list[Student], columns: tuple[str, ...]) -> dict[str, set[str]]:
    """Each LMS id on the roster (in `columns`, compared NFC and case-folded; every number of a
    moodle_participant cell) -> the students with it."""
    index: dict[str, set[str]] = {}
    for s in roster:
        for column in columns:
            value = s.lms.get(column, "")
            for i in _numbers(value) if column == MOODLE_PARTICIPANT else [_key(value)] if value else []:
                index.setdefault(i, set()).add(s.id)
    return index


def _numbers(value: str) -> list[str]:
    """The numbers in a moodle_participant cell ("77001 88013", "Participant 77001"), or in a name."""
    return [str(int(n)) for n in re.findall(r"\d+", value)]


def _student(named: Named, index: dict[str, set[str]], layout: Layout,
             worksheet: Worksheet | None = None, why: dict[str, str] | None = None) -> tuple[str | None, str]:
    """(the student whose LMS ids `named` carries, "") or (None, why none). With a worksheet, `index`
    and `why` are _worksheet_index's."""
    keys = _numbers if layout.columns == (MOODLE_PARTICIPANT,) else lambda i: [_key(i)]
    for ids in (named.ids, named.also):
        students = set().union(*(index.get(k, set()) for i in ids for k in keys(i)))
        if len(students) == 1:
            return students.pop(), ""
        if students:
            return None, (f"{named.who}: its {layout.id_name}s {', '.join(ids)} are on the roster for "
                          f"{', '.join(sorted(students))}")
    if worksheet is not None:
        n = _numbers(named.ids[0])[0]
        return None, f"{named.who}: {(why or {}).get(n) or _not_in_worksheet(n, worksheet)}"
    todo = layout.hint or f"add it to the roster's {' or '.join(layout.columns)} column and collect again"
    return None, f"{named.who}: {layout.name} {layout.id_name} {' / '.join(named.ids)} is on no roster row; {todo}"


def _target(named: Named, layout: str, notebooks: list[str], released: set[str]) -> str | None:
    """The name a file gets in submitted/: a notebook, the released notebook it answers (the only
    one, or the one its name contains; None if none); another file, its own name, less Canvas's
    "-1" of a resubmission where that gives a released file's name."""
    name = PurePosixPath(named.file).name
    if name.endswith(".ipynb"):
        named_in = [nb for nb in notebooks if _nfc(nb) in name]
        target = notebooks[0] if len(notebooks) == 1 else max(named_in, key=len) if named_in else None
        return target and target + ".ipynb"
    if layout == "canvas":
        plain = re.sub(r"-\d+(?=\.[^.]+$)", "", name)
        if plain in released:
            return plain
    return name


# --- Collecting -------------------------------------------------------------------------

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
                         "--roster roster.csv (columns id,first_name,last_name,email, and the LMS's ids: "
                         f"{','.join(COLUMNS[4:])})")
    return ids


def collect(ws: Workspace, assignment: str, download: Path, ids: list[str], lms: str = "auto",
            roster: list[Student] | None = None, worksheet: Worksheet | Path | None = None) -> Collected:
    """Copy the download's files into the workspace's submitted/ folder (see the module docstring);
    `roster` (default: the workspace's) holds the LMS ids; `worksheet` (Moodle's grading worksheet,
    read or a path) maps a Moodle download's participant numbers to emails. A CollectError
    (LayoutError, WorksheetError) before writing anything."""
    if lms not in CHOICES:
        raise LayoutError(f"--lms {lms}: choose one of {', '.join(CHOICES)}")
    if worksheet is not None and not isinstance(worksheet, Worksheet):
        worksheet = read_worksheet(worksheet)
    release = ws.root / "release" / assignment
    notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"course collect: release/{assignment}/ has no notebooks (run `course release`)")
    released = {_nfc(p.name) for p in release.iterdir() if p.is_file()}
    files = _files(Path(download))
    found = Collected(layout=detect(files, ids) if lms == "auto" else lms, detected=lms == "auto")
    layout = LAYOUTS.get(found.layout)
    if worksheet is not None and found.layout != "moodle":
        raise WorksheetError(f"--worksheet is Moodle's grading worksheet, and this download is {found.layout}'s"
                             f"{' (detected)' if found.detected else ''}: collect it without --worksheet "
                             f"(nothing was written)")
    roster = saved_roster(ws) if roster is None else roster
    why: dict[str, str] = {}
    if worksheet is not None:
        index, why = _worksheet_index(worksheet, roster)
        found.worksheet = (f"participants matched by email through the worksheet {worksheet.path.name} "
                           f"({len(worksheet.participants)} participant(s), {len(index)} on the roster)")
    else:
        index = _index(roster, layout.columns) if layout else {}

    newest: dict[tuple[str, str], tuple[tuple, File, Named]] = {}
    for f in files:
        if layout and f.name == MARKS.get(layout.name):
            continue
        named = _named(layout, f.path) if layout else _plain(f.name, ids)
        if named is None:
            found.unmatched.append(f.path)
            if layout:
                found.notes[f.path] = f"not a {layout.name} name: {layout.example}"
            continue
        student, note = (named.ids[0], "") if layout is None else _student(named, index, layout, worksheet, why)
        if student is None:
            found.unmatched.append(f.path)
            found.notes[f.path] = note
            if layout.name == "moodle" and WORKSHEET_ADVICE not in found.advice:
                found.advice.append(WORKSHEET_ADVICE)
            continue
        target = _target(named, found.layout, notebooks, released)
        if target is None:
            found.unknown_notebook.append(f.path)
            continue
        entry = ((named.seq, named.when or f.when), f, named)
        key = (student, target)
        if key in newest:
            older, newer = sorted([newest[key], entry], key=lambda e: e[0])
            found.superseded.append(older[1].path)
            newest[key] = newer
        else:
            newest[key] = entry

    by_student: dict[str, dict[str, tuple[tuple, File, Named]]] = {}
    for (student, target), entry in newest.items():
        by_student.setdefault(student, {})[target] = entry
    for student, kept in sorted(by_student.items()):
        folder = ws.submitted(student, assignment)
        shutil.rmtree(folder, ignore_errors=True)  # a new download replaces the old submission
        folder.mkdir(parents=True)
        for target, (_, f, _) in sorted(kept.items()):
            (folder / target).write_bytes(f.data)
            if target.endswith(".ipynb"):
                try:
                    json.loads(f.data)
                except ValueError:
                    found.unreadable.append(f.path)
        stamp = max(when for (_, when), _, _ in kept.values())
        (folder / "timestamp.txt").write_text(stamp.strftime(STAMP))
        found.students[student] = sorted(kept)
        if any(named.late for _, _, named in kept.values()):
            found.late.append(student)
    return found
