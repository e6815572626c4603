"""`course similarity ASSIGNMENT`: the most similar pairs of submissions, for a person to read.

    report = similarity(ws, "seq2seq", top=20, threshold=0.33)

Each submission's own code -- its code cells, except the cells the release locks (tests and given
code, which nbgrader overwrites when it grades) -- is written, notebook after notebook, into one
`.py` per student in a temporary folder, and every pair is compared with copydetect
(https://github.com/blingenf/copydetect): the code is tokenized, names, strings and layout
normalised away, and runs of `NOISE_T` normalised characters hashed (winnowing). Every run the
release's own code holds (its code cells, the solution stubs' signatures, docstrings and `# YOUR
CODE HERE`, code blocks in its text) is boilerplate: it matches nobody; so is a run across two cells
(each student keeps the end of one given cell and the start of the next). It writes

    <workspace>/similarity/ASSIGNMENT.html   the most similar pairs, their shared code marked side by
                                             side (self-contained, offline, no script; all student
                                             text escaped)
    <workspace>/similarity/ASSIGNMENT.csv    every pair: student_a, student_b, a_to_b, b_to_a, max,
                                             tokens_overlapping

It flags pairs to look at; it decides nothing (autograder/README.md, "Similarity: how to read it").
Notebooks that are not valid JSON notebooks are listed and skipped.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.tools.workspace import Workspace

# copydetect's defaults: a run must be 25 normalised characters long to count (each name is one
# character, so about a line of code), and every run that long is found (window 1: all k-grams kept).
NOISE_T = 25
GUARANTEE_T = 25
WINDOW = GUARANTEE_T - NOISE_T + 1
TOP = 20
THRESHOLD = 0.33           # copydetect's own display threshold
MAX_CODE_CHARS = 400_000   # per student: a pasted data dump must not stall the whole report
# Before every cell: a number no code holds (it survives copydetect's normalisation), so runs across
# two cells can be found and dropped (_fingerprint); random for every run.
SEP = f"0x{secrets.token_hex(8)}"
FENCED = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
TEMPLATE = Path(__file__).resolve().parent / "templates" / "similarity" / "report.html.j2"


class SimilarityError(ValueError):
    """What the TA must fix first (no release, fewer than two submissions)."""


@dataclass
class Pair:
    a: str
    b: str
    a_to_b: float   # the share of a's own code found in runs it shares with b
    b_to_a: float
    tokens: int     # normalised characters of a's code in those runs

    @property
    def max(self) -> float:
        return max(self.a_to_b, self.b_to_a)


@dataclass
class Report:
    assignment: str
    students: list[str]                                   # compared
    pairs: list[Pair]                                     # every pair, most similar first
    shown: list[Pair]                                     # in the HTML (and printed)
    html: Path
    csv: Path
    threshold: float
    top: int
    skipped: list[str] = field(default_factory=list)      # "student/notebook.ipynb: why" (not compared)
    no_notebook: list[str] = field(default_factory=list)  # submitted nothing readable: not compared
    no_own_code: list[str] = field(default_factory=list)  # nothing beyond the release's code
    truncated: list[str] = field(default_factory=list)    # over MAX_CODE_CHARS: only the start compared


def read_cells(path: Path) -> list[tuple[str, dict, str]]:
    """(cell_type, nbgrader metadata, source) of each cell; ValueError when `path` is not a JSON
    notebook. Read by hand, not validated: a submission is untrusted and may be any JSON."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("JSON, but not a notebook (no list of cells)")
    cells = []
    for i, cell in enumerate(data["cells"]):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ValueError(f"JSON, but cell {i} is not a notebook cell")
        meta = cell.get("metadata")
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        cells.append((str(cell.get("cell_type", "")), nbgrader if isinstance(nbgrader, dict) else {}, source))
    return cells


def _printable(text: str, limit: int = 80) -> str:
    """`text` fit for a one-line comment (a grade id from a submission may hold a newline)."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))[:limit]


def _clean(code: str) -> str:
    """Code as UTF-8 can write it (JSON may carry lone surrogates)."""
    return code.encode("utf-8", "replace").decode("utf-8")


def _header(notebook: str, cell: str) -> str:
    """The line before each cell: SEP, then a comment naming the cell (SEP is cut from the page)."""
    return f"{SEP}  # ---- {_printable(notebook)}, cell {_printable(cell)}\n"


def release_code(release: Path) -> tuple[dict[str, str], set[str]]:
    """The release's code per notebook (its code cells and the code blocks of its text, each after
    a _header) and the grade ids of the cells it locks."""
    notebooks = sorted(release.glob("*.ipynb")) if release.is_dir() else []
    if not notebooks:
        raise SimilarityError(f"{release} has no released notebooks (run `course release` first): the "
                              f"release's code is what the comparison leaves out")
    code, locked = {}, set()
    for path in notebooks:
        parts = []
        for i, (kind, meta, source) in enumerate(read_cells(path)):
            gid = str(meta.get("grade_id") or i + 1)
            if kind == "code":
                parts.append(_header(path.name, gid) + source)
                if meta.get("locked") and not meta.get("solution") and meta.get("grade_id"):
                    locked.add(str(meta["grade_id"]))
            elif kind == "markdown":
                parts += [_header(path.name, f"{gid} (text)") + block for block in FENCED.findall(source)]
        code[path.name] = _clean("\n".join(parts))
    return code, locked


def student_code(cells: list[tuple[str, dict, str]], notebook: str, locked: set[str]) -> str:
    """A notebook's code for the comparison: every code cell but those the release locks (nbgrader
    puts the release's back when it grades), each after a _header."""
    parts = []
    for i, (kind, meta, source) in enumerate(cells):
        gid = str(meta.get("grade_id") or "")
        if kind == "code" and gid not in locked and source.strip():
            parts.append(_header(notebook, gid or f"{i + 1} (no grade id)") + source.rstrip() + "\n")
    return "\n".join(parts)


def _fingerprint(path: Path, boilerplate: set[int], window: int = WINDOW):
    """copydetect's fingerprint of `path`, without the runs in `boilerplate` and the runs across
    two cells (those that touch a SEP).

    Both are removed here, not by CodeFingerprint: its own boilerplate removal (np.intersect1d with
    assume_unique on hashes that repeat) also drops one occurrence of any run a file holds twice,
    boilerplate or not. A run across cells is not code anyone wrote: every student keeps the end
    of one given cell and the start of the next, and concatenating the cells makes it a shared run."""
    import numpy as np
    from copydetect import CodeFingerprint
    from copydetect.utils import get_token_coverage

    fp = CodeFingerprint(str(path), NOISE_T, window, language="python")
    across = np.zeros(len(fp.filtered_code) + 1, dtype=bool)  # runs starting here touch a SEP
    at = fp.filtered_code.find(SEP)
    while at >= 0:
        across[max(0, at - fp.k + 1):at + len(SEP)] = True
        at = fp.filtered_code.find(SEP, at + len(SEP))
    kept = {}
    for h, where in fp.hash_idx.items():
        where = [i for i in where if not across[i]]
        if where and int(h) not in boilerplate:
            kept[h] = where
    fp.hash_idx, fp.hashes = kept, set(kept)
    fp.token_coverage = get_token_coverage(kept, fp.k, len(fp.filtered_code))
    return fp


def fingerprints(codes: dict[str, str], release: dict[str, str]) -> dict:
    """Each student's fingerprint (`codes`: student -> code from student_code), every run of the
    `release`'s code (release_code) left out, as copydetect takes boilerplate: all its runs, window 1."""
    with tempfile.TemporaryDirectory(prefix="course-similarity-") as tmp:
        boilerplate: set[int] = set()
        for i, code in enumerate(release.values()):
            path = Path(tmp) / f"release-{i}.py"
            path.write_text(code, encoding="utf-8")
            boilerplate |= {int(h) for h in _fingerprint(path, set(), window=1).hashes}
        fps = {}
        for i, (student, code) in enumerate(codes.items()):
            path = Path(tmp) / f"{i:05d}.py"  # not the student's id: ids are names, not paths
            path.write_text(code, encoding="utf-8")
            fps[student] = _fingerprint(path, boilerplate)
    return fps


def _marked(fp, slices):
    """`fp`'s code, HTML-escaped, with the runs in `slices` in <mark>, without the SEPs."""
    from copydetect.utils import highlight_overlap
    from markupsafe import Markup, escape

    if getattr(slices, "ndim", 0) != 2 or slices.shape[1] == 0:
        text = str(escape(fp.raw_code))
    else:  # highlight_overlap escapes every piece of the student's text
        text, _ = highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>", escape_html=True)
    return Markup(text.replace(f"{SEP}  ", ""))


def submissions(ws: Workspace, assignment: str) -> list[str]:
    root = ws.submitted()
    return sorted(p.parent.name for p in root.glob(f"*/{assignment}") if p.is_dir()) if root.is_dir() else []


def similarity(ws: Workspace, assignment: str, to: Path | None = None, top: int = TOP,
               threshold: float = THRESHOLD) -> Report:
    """Compare every pair of `assignment`'s submissions; write the HTML and CSV into `to` (default
    <workspace>/similarity/); return the Report. SimilarityError when there is no release or fewer
    than two submissions with code to compare."""
    release, locked = release_code(ws.root / "release" / assignment)
    to = Path(to) if to else ws.folder / "similarity"
    report = Report(assignment, [], [], [], to / f"{assignment}.html", to / f"{assignment}.csv", threshold, top)
    codes: dict[str, str] = {}
    for student in submissions(ws, assignment):
        parts = []
        for notebook in release:
            path = ws.submitted(student, assignment) / notebook
            if not path.is_file():
                continue
            try:
                parts.append(student_code(read_cells(path), notebook, locked))
            except (OSError, ValueError) as e:
                report.skipped.append(f"{student}/{notebook}: {e}")
        if not parts:
            report.no_notebook.append(student)
            continue
        code = _clean("\n".join(parts))
        if len(code) > MAX_CODE_CHARS:
            report.truncated.append(student)
            code = code[:MAX_CODE_CHARS]
        codes[student] = code
    if len(codes) < 2:
        found = f"{len(codes)}: {', '.join(codes)}" if codes else "none"
        others = f"; not compared: {', '.join(report.no_notebook)}" if report.no_notebook else ""
        raise SimilarityError(f"similarity needs at least 2 submissions of {assignment} with a readable "
                              f"notebook in {ws.submitted()}/<student>/{assignment}/; found {found}{others}")

    fps = fingerprints(codes, release)
    report.students = list(codes)
    report.no_own_code = [s for s, fp in fps.items() if fp.token_coverage == 0]
    report.pairs = rank(compare(fps))
    report.shown = [p for p in report.pairs if p.max >= threshold][:top]
    write_csv(report.pairs, report.csv)
    write_html(report, fps)
    return report


def compare(fps: dict) -> list[Pair]:
    from copydetect import compare_files

    pairs = []
    for a, b in itertools.combinations(sorted(fps), 2):
        overlap, (a_to_b, b_to_a), _ = compare_files(fps[a], fps[b])
        pairs.append(Pair(a, b, float(a_to_b), float(b_to_a), int(overlap)))
    return pairs


def rank(pairs: list[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.max, -p.tokens, p.a, p.b))


def write_csv(pairs: list[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["student_a", "student_b", "a_to_b", "b_to_a", "max", "tokens_overlapping"])
        for p in pairs:
            out.writerow([p.a, p.b, f"{p.a_to_b:.4f}", f"{p.b_to_a:.4f}", f"{p.max:.4f}", p.tokens])


def write_html(report: Report, fps: dict) -> None:
    from copydetect import __version__, compare_files
    from jinja2 import Environment

    shown = []
    for p in report.shown:
        _, _, (slices_a, slices_b) = compare_files(fps[p.a], fps[p.b])
        shown.append({"pair": p, "code_a": _marked(fps[p.a], slices_a), "code_b": _marked(fps[p.b], slices_b)})
    env = Environment(autoescape=True, keep_trailing_newline=True)
    page = env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        r=report, shown=shown, noise_t=NOISE_T, guarantee_t=GUARANTEE_T, version=__version__,
        pair_count=len(report.pairs), highest=report.pairs[0] if report.pairs else None)
    report.html.parent.mkdir(parents=True, exist_ok=True)
    report.html.write_text(page, encoding="utf-8")


def format_report(report: Report) -> str:
    """What `course similarity` prints: the shown pairs, what was not compared, where the files are."""
    lines = [f"similarity {report.assignment}: {len(report.students)} submission(s), {len(report.pairs)} pair(s) "
             f"compared, the release's code left out"]
    if report.shown:
        lines.append(f"the {len(report.shown)} most similar pair(s) at or above {report.threshold:g}:")
        lines.append(f"  {'rank':>4}  {'max':>5}  {'a->b':>5}  {'b->a':>5}  {'tokens':>6}  pair")
        lines += [f"  {i:>4}  {p.max:5.2f}  {p.a_to_b:5.2f}  {p.b_to_a:5.2f}  {p.tokens:>6}  {p.a}  {p.b}"
                  for i, p in enumerate(report.shown, 1)]
    else:
        best = report.pairs[0]
        lines.append(f"no pair at or above {report.threshold:g}; the most similar: {best.a} and {best.b}, "
                     f"{best.max:.2f}")
    for title, items in (("notebook(s) not valid, skipped", report.skipped),
                         ("submission(s) without a readable notebook, not compared", report.no_notebook),
                         ("submission(s) with no code beyond the release's (score 0 with everyone)",
                          report.no_own_code),
                         (f"submission(s) over {MAX_CODE_CHARS} characters of code, only the start compared",
                          report.truncated)):
        if items:
            lines.append(f"{len(items)} {title}:")
            lines += [f"  {item}" for item in items]
    lines.append(f"report: {report.html} (it flags pairs to read; it decides nothing)")
    lines.append(f"scores: {report.csv} (every pair)")
    return "\n".join(lines)
