"""`course report ASSIGNMENT`: one self-contained HTML page about how the class did and how
grading went, for the TAs and the instructor.

    data = gather(ws, "probe")            # plain data (Report): testable without HTML
    html = render(data)                   # the page: figures as base64 PNG, nothing fetched
    path = write_report(ws, "probe")      # <workspace>/reports/probe.html

Everything comes from the workspace: the gradebook (scores per question), the autograded
notebooks (why a test failed: the grader's verdict, the HiddenTestFailed error DecideVerdicts
writes, or the kernel's own error), the state files autograde writes (status, seconds, the
grader's incidents and peak memory per notebook) and the submitted notebooks (test cells
edited or deleted). The grader does not decide "tampering"; the page lists as *suspected*
what only a kernel that broke the grading agent (or a notebook whose test cells were
changed) produces (`TAMPER_SIGNS`, `tampered_cells`). Every student-derived string is
escaped by the template (jinja2 autoescape): student code is hostile.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_utils.tools import feedback
from course_utils.tools.autograde import submitted_students
from course_utils.tools.feedback import TEMPLATES
from course_utils.tools.workspace import Workspace

TEMPLATE = "course_report/report.html.j2"
REASON_CHARS = 300   # a failure reason is cut there: a student's error message may be long
TOP_REASONS = 5      # reasons shown per question
TOP_STUDENTS = 5     # slowest / largest submissions named

TIMEOUT, RESTART, MEMORY, TAMPERING, OTHER = "timeout", "restart", "memory cap", "suspected tampering", "other"
KINDS = (TIMEOUT, RESTART, MEMORY, TAMPERING, OTHER)

# What a hidden test's verdict says when the grading agent in the kernel did not do its job: it
# returned without saving results (replaced or broken), saved something that is not the agent's
# plain arrays, or asked for a request the grader never wrote. Honest code that fails raises in
# its cell (an error output: the grader decides nothing there), so it never reads like these.
# The messages are verdicts.read_results' and grading_agent.answer's (tests/test_report.py checks them).
TAMPER_SIGNS = re.compile(
    r"no results came back from the kernel|the results are not a plain file|the results are larger than|"
    r"the results could not be read|the results are not an \.npz archive|unexpected entry .* in the results|"
    r"of the results could not be read|of the results is not a plain array|the grader sent no request")


@dataclass(frozen=True)
class Incident:
    student: str
    kind: str        # one of KINDS
    notebook: str
    detail: str


@dataclass
class Question:
    notebook: str
    grade_id: str
    max_points: float
    written: bool                                        # graded by a TA (a task or markdown cell)
    points: list[float] = field(default_factory=list)    # one per submission graded on it
    ungraded: list[str] = field(default_factory=list)    # students whose answer no TA has graded yet
    failures: dict[str, list[str]] = field(default_factory=dict)   # reason -> students

    @property
    def passed(self) -> int:
        return sum(p >= self.max_points for p in self.points)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / len(self.points) if self.points else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.points) if self.points else None

    def top_reasons(self, n: int = TOP_REASONS) -> list[tuple[str, list[str]]]:
        """The `n` most frequent failure reasons with their students, most students first."""
        return sorted(self.failures.items(), key=lambda item: (-len(item[1]), item[0]))[:n]


@dataclass
class Submission:
    student: str
    status: str                  # graded | failed | lost | not merged | not graded (no state yet)
    score: float | None = None   # total points in the gradebook
    seconds: float | None = None
    peak_mb: float | None = None
    reason: str = ""             # why it could not be graded
    sandbox: str = ""


@dataclass
class Report:
    assignment: str
    max_score: float
    questions: list[Question]
    submissions: dict[str, Submission]
    incidents: list[Incident]
    ungraded: list[tuple[str, str, str]]     # (student, notebook, grade id), as feedback.ungraded
    generated: str = ""

    @property
    def scores(self) -> dict[str, float]:
        return {s: sub.score for s, sub in self.submissions.items() if sub.score is not None}

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores.values()) if self.scores else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores.values()) if self.scores else None

    @property
    def failed(self) -> list[Submission]:
        return [s for s in self.submissions.values() if s.status in ("failed", "lost")]

    @property
    def waiting(self) -> list[str]:
        return [s.student for s in self.submissions.values() if s.status in ("not graded", "not merged")]

    @property
    def unsafe(self) -> list[str]:
        return [s.student for s in self.submissions.values() if s.sandbox.startswith("UNSAFE")]

    def timed(self, key: str) -> list[Submission]:
        """Submissions with a `key` (seconds, peak_mb), largest first."""
        return sorted((s for s in self.submissions.values() if getattr(s, key) is not None),
                      key=lambda s: (-getattr(s, key), s.student))

    def summary(self, key: str, top: int = TOP_STUDENTS) -> dict | None:
        """median, max and total of `key` (seconds, peak_mb) over the submissions, and the `top`
        largest as (student, value); None when no submission has one."""
        ranked = self.timed(key)
        values = [getattr(s, key) for s in ranked]
        if not values:
            return None
        return {"median": statistics.median(values), "max": values[0], "total": sum(values),
                "largest": [(s.student, getattr(s, key)) for s in ranked[:top]]}

    def by_student(self) -> dict[str, list[Incident]]:
        out: dict[str, list[Incident]] = defaultdict(list)
        for incident in self.incidents:
            out[incident.student].append(incident)
        return dict(sorted(out.items()))

    def ungraded_by_student(self) -> dict[str, list[str]]:
        notebooks = {q.notebook for q in self.questions}
        out: dict[str, list[str]] = defaultdict(list)
        for student, notebook, grade_id in self.ungraded:
            out[student].append(grade_id if len(notebooks) < 2 else f"{notebook}: {grade_id}")
        return dict(sorted(out.items()))


# --- gathering ----------------------------------------------------------------------------
def incident_kind(text: str) -> str:
    """The kind of one of the grader's incidents (sandbox.GuardedExecute's wording)."""
    if "MemoryLimitExceeded" in text:
        return MEMORY
    if "ResultsTooLarge" in text:
        return TAMPERING
    if "timed out" in text or "time limit" in text:
        return TIMEOUT
    if "restarted" in text or "KernelDied" in text or "KernelUnresponsive" in text:
        return RESTART
    return OTHER


def failure_reason(cell) -> str:
    """Why a test cell scored less than full marks: the grader's verdict (HiddenTestFailed) or the
    kernel's error, on one line and cut to REASON_CHARS."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "no error output (scored below full marks)"
    last = errors[-1]
    name, value = str(last.get("ename", "")), str(last.get("evalue", ""))
    text = value if name == "HiddenTestFailed" else f"{name}: {value}" if value else name
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."


def _grade_id(cell) -> str | None:
    """A cell's grade id, or None (a submitted notebook may hold anything as its metadata)."""
    try:
        gid = cell["metadata"]["nbgrader"]["grade_id"]
    except (KeyError, TypeError, IndexError):
        return None
    return gid if isinstance(gid, str) else None


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _read(path: Path):
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a submission may be anything; it is reported as failed elsewhere
        return None


def tampered_cells(release, submitted) -> list[str]:
    """The release's test cells that the submission deleted or edited (nbgrader graded the
    gradebook's version anyway): one line each."""
    if release is None or submitted is None:
        return []
    handed_in: dict[str, str] = {}
    for cell in submitted.get("cells", []) if isinstance(submitted.get("cells"), list) else []:
        gid = _grade_id(cell) if isinstance(cell, dict) else None
        if gid and gid not in handed_in:
            handed_in[gid] = str(cell.get("source", ""))
    found = []
    for cell in filter(_is_test, release.cells):
        gid = _grade_id(cell)
        if gid not in handed_in:
            found.append(f"test cell {gid} deleted (restored from the release)")
        elif handed_in[gid].strip() != cell.source.strip():
            found.append(f"test cell {gid} edited (graded as released)")
    return found


def _questions(master, release_dir: Path) -> dict[tuple[str, str], Question]:
    """(notebook, grade id) -> Question, for every grade and task cell of the assignment, in the
    release's order."""
    questions = {}
    for nb in sorted(master.notebooks, key=lambda n: n.name):
        release = _read(release_dir / f"{nb.name}.ipynb")
        order = [_grade_id(c) for c in release.cells] if release else []
        answers = {c.name for c in nb.solution_cells}   # a graded answer cell: a TA grades it
        for cell in sorted([*nb.grade_cells, *nb.task_cells],
                           key=lambda c: (order.index(c.name) if c.name in order else len(order), c.name)):
            written = cell.cell_type == "markdown" or cell.name in answers
            questions[(nb.name, cell.name)] = Question(nb.name, cell.name, float(cell.max_score), written)
    return questions


def _scores(ws: Workspace, gb, assignment: str, questions: dict) -> tuple[dict[str, Submission], list[Incident]]:
    """Each submission's total from the gradebook; each question's points and, from the autograded
    notebooks, why its tests failed (and the failures that only a broken grading agent gives)."""
    submissions, incidents = {}, []
    for sub in gb.assignment_submissions(assignment):
        student = sub.student.id
        submissions[student] = Submission(student, "graded", float(sub.score))
        for snb in sub.notebooks:
            autograded = None
            for grade in snb.grades:
                q = questions.get((snb.name, grade.name))
                if q is None:
                    continue
                if grade.needs_manual_grade:
                    q.ungraded.append(student)
                    continue
                q.points.append(float(grade.score))
                if q.written or grade.score >= q.max_points:
                    continue
                if autograded is None:
                    autograded = _read(ws.folder / "autograded" / student / assignment / f"{snb.name}.ipynb")
                cell = next((c for c in autograded.cells if _grade_id(c) == grade.name), None) if autograded else None
                reason = failure_reason(cell) if cell is not None else "no autograded notebook with this cell"
                q.failures.setdefault(reason, []).append(student)
                if TAMPER_SIGNS.search(reason):
                    incidents.append(Incident(student, TAMPERING, snb.name, f"{grade.name}: {reason}"))
    return submissions, incidents


def _grading(ws: Workspace, assignment: str, sub: Submission, state: dict, notebooks: list[str]) -> list[Incident]:
    """Fill in `sub` from its state file (status, seconds, peak memory, sandbox); its incidents."""
    if state.get("status") in ("failed", "lost"):   # a score from an earlier grading may stay
        sub.status, sub.reason = state["status"], str(state.get("reason", ""))
    elif state.get("status") == "graded" and not state.get("merged", True):
        sub.status = "not merged"   # a run killed between grading and merging: `course merge`
    graded = state.get("notebooks", [])
    sub.seconds = state.get("seconds") if state else None
    sub.peak_mb = max((nb.get("peak_rss_mb", 0) for nb in graded), default=None)
    sub.sandbox = str(state.get("sandbox", ""))
    incidents = []
    for nb in graded:
        name = str(nb.get("notebook", ""))
        incidents += [Incident(sub.student, incident_kind(str(i)), name, str(i)) for i in nb.get("incidents", [])]
        incidents += [Incident(sub.student, TAMPERING, name, str(i)) for i in nb.get("tampering", [])]  # older graders
    if state.get("status") == "graded":
        for name in notebooks:
            found = tampered_cells(_read(ws.root / "release" / assignment / f"{name}.ipynb"),
                                   _read(ws.submitted(sub.student, assignment) / f"{name}.ipynb"))
            incidents += [Incident(sub.student, TAMPERING, name, line) for line in found]
    return incidents


def gather(ws: Workspace, assignment: str) -> Report:
    """Everything the page shows, as plain data: the gradebook, the autograded and submitted
    notebooks, the state files."""
    from nbgrader.api import Gradebook, MissingEntry

    if not ws.db_url and not (ws.folder / "gradebook.db").is_file():
        raise ValueError(f"no gradebook in {ws.folder}: run `course autograde {assignment}` first")
    with Gradebook(ws.gradebook) as gb:
        try:
            master = gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"{assignment} is not in the gradebook {ws.gradebook}: run `course autograde "
                             f"{assignment}` first") from None
        max_score = float(master.max_score)
        questions = _questions(master, ws.root / "release" / assignment)
        submissions, incidents = _scores(ws, gb, assignment, questions)
    state_dir = ws.folder / "state" / assignment
    states = {p.stem: ws.read_state(assignment, p.stem) for p in sorted(state_dir.glob("*.json"))}
    notebooks = sorted({q.notebook for q in questions.values()})
    for student in sorted({*submitted_students(ws, assignment), *states, *submissions}):
        sub = submissions.setdefault(student, Submission(student, "not graded"))
        incidents += _grading(ws, assignment, sub, states.get(student, {}), notebooks)
    incidents.sort(key=lambda i: (i.student, KINDS.index(i.kind), i.notebook))
    return Report(assignment, max_score, list(questions.values()), dict(sorted(submissions.items())), incidents,
                  feedback.ungraded(ws.gradebook, assignment), time.strftime("%Y-%m-%d %H:%M"))


# --- figures ------------------------------------------------------------------------------
def _whole(top: float) -> bool:
    """Whether points up to `top` are drawn one bar per point (whole points, at most 40)."""
    return top <= 40 and float(top).is_integer()


def _bins(top: float):
    import numpy as np

    top = max(top, 1.0)
    return np.arange(-0.5, top + 1.5, 1.0) if _whole(top) else np.linspace(0, top, 21)


def _png(fig) -> str:
    """A matplotlib Figure as a base64 PNG (Agg, no pyplot: no global state, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(report: Report) -> dict[str, str]:
    """name -> base64 PNG: scores, questions, time (each only when there is something to draw)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    def counts(ax, top: float | None = None):   # submissions are whole, and so are points up to 40
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if top is not None and _whole(max(top, 1.0)):
            ax.set_xlim(-0.5, max(top, 1.0) + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        elif top is not None:
            ax.set_xlim(0, top)

    out = {}
    scores = list(report.scores.values())
    if scores:
        fig = Figure(figsize=(7, 3.2), layout="constrained")
        ax = fig.add_subplot()
        ax.hist(scores, bins=_bins(report.max_score), color="#4c72b0", edgecolor="white")
        ax.axvline(report.mean, color="#c44e52", label=f"mean {report.mean:.2f}")
        ax.axvline(report.median, color="#dd8452", linestyle="--", label=f"median {report.median:.2f}")
        ax.axvline(report.max_score, color="#55a868", linestyle=":", label=f"max possible {report.max_score:g}")
        ax.set(xlabel="total points", ylabel="submissions", title=f"{report.assignment}: total points")
        fig.legend(loc="outside right upper", fontsize="small")
        counts(ax, report.max_score)
        out["scores"] = _png(fig)
    questions = [q for q in report.questions if q.points]
    if questions:
        cols = min(4, len(questions))
        rows = -(-len(questions) // cols)
        fig = Figure(figsize=(3 * cols, 2.4 * rows), layout="constrained")
        for i, q in enumerate(questions):
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.hist(q.points, bins=_bins(q.max_points), color="#8172b3" if q.written else "#4c72b0",
                    edgecolor="white")
            ax.set_title(f"{q.grade_id}: {q.pass_rate:.0%} full marks", fontsize="small")
            ax.set_xlabel(f"points (of {q.max_points:g})", fontsize="small")
            counts(ax, q.max_points)
        out["questions"] = _png(fig)
    seconds = [s.seconds for s in report.timed("seconds")]
    peaks = [s.peak_mb for s in report.timed("peak_mb")]
    if seconds:
        fig = Figure(figsize=(9, 3), layout="constrained")
        for i, (values, label, unit) in enumerate(((seconds, "grading time per submission", "s"),
                                                   (peaks, "peak memory per submission", "MiB"))):
            ax = fig.add_subplot(1, 2, i + 1)
            if values:
                median = statistics.median(values)
                ax.hist(values, bins=20, range=(0, 1.05 * max(values) or 1), color="#64b5cd", edgecolor="white")
                ax.axvline(median, color="#c44e52", label=f"median {median:.3g} {unit}")
                ax.legend(loc="best", fontsize="small")
            ax.set(xlabel=f"{label} ({unit})", ylabel="submissions")
            counts(ax)
        out["time"] = _png(fig)
    return out


# --- the page -----------------------------------------------------------------------------
def render(report: Report) -> str:
    """The page, every string from the workspace escaped (autoescape)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).render(r=report, figures=figures(report), kinds=KINDS)


def write_report(ws: Workspace, assignment: str, to: Path | None = None) -> Path:
    """Write the page to `to` (default <workspace>/reports/ASSIGNMENT.html); return its path."""
    path = Path(to) if to else ws.folder / "reports" / f"{assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(gather(ws, assignment)), encoding="utf-8")
    return path
