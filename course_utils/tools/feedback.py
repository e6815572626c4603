"""A student's feedback: nbgrader's GenerateFeedback with the course's steps (wired in
nbgrader_config.py, in this order) and its own template:

    HideHiddenTests    hidden tests show their verdict and points, never their source
    ClearMarkScheme    (nbgrader's) the written answers' mark schemes are removed
    HideGraderDetails  no path of the grading machine, no notice about the grader's data
    HideValues         a failed check's values (what the code gave, what was expected) only
                       where course.toml [feedback] show_values says so
    GetGrades          nbgrader's scores and comments, and "not graded yet" where a written
                       answer still waits for a TA
    FeedbackExporter   nbgrader's feedback page (templates/course_feedback) with that marker,
                       and figures and long lines that fit the page

`ungraded(...)` lists the answers still waiting for a TA; `course feedback` and `course
export` warn about them (and refuse with --require-manual).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import GetGrades as NbGraderGetGrades
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode, default

from course_utils.tools import box
from course_utils.tools.verdicts import VALUES

TEMPLATES = Path(__file__).resolve().parent / "templates"
NBGRADER_TEMPLATES = os.path.join(os.path.dirname(utils.__file__), "server_extensions", "formgrader", "templates")
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS?[^\n]*\n?", re.S | re.M)
TF_NOISE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+\] .*|"
                      r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+\] .*|.*oneDNN custom operations.*|"
                      r"WARNING: All log messages before absl::InitializeLog.*)\n?", re.M)
# Python's warning format: "<file>:<line>: DataFallbackWarning: <message>" and the source line, indented.
DATA_NOTICE = re.compile(r"^[^\n]*\bDataFallbackWarning: [^\n]*\n?(?:[ \t]+[^\n]*\n?)?", re.M)
KERNEL_FOLDER = re.compile(r"/tmp/course-kernel-[\w.-]*")


class HideHiddenTests(NbGraderPreprocessor):
    """Hidden test code replaced by a note, test cells' errors cut to their last line (the check's
    message, written for students), TensorFlow's log lines removed from every output."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        if is_test:
            cell.source = HIDDEN.sub("# (hidden tests: the grader ran them; their result is below)\n", cell.source)
        outputs = []
        for out in cell.outputs:
            if out.output_type == "error" and is_test:
                out.traceback = [f"{out.ename}: {out.evalue}"]
            if out.output_type == "stream":
                out.text = TF_NOISE.sub("", out.text)
                if not out.text:
                    continue
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


def grader_paths() -> list[tuple[re.Pattern, str]]:
    """(pattern, placeholder) for every folder of the grading machine an output may name, longest
    first: the Python installation and the environment, the course, the data, the caches, the
    grading box's own folders and the kernels' connection folders."""
    from course_utils.config import repo_root
    from course_utils.data import _paths

    named: dict[str, str] = {}

    def add(path: str | None, placeholder: str) -> None:
        if path and len(path) > 1:
            for p in (path, os.path.realpath(path)):
                named.setdefault(p.rstrip("/"), placeholder)

    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        add(prefix, "<python>")
    add(os.environ.get(_paths.DATA_DIR_ENV), "<data>")
    add(os.environ.get(_paths.CACHE_DIR_ENV), "<cache>")
    add(str(Path.home() / ".cache"), "<cache>")
    add(str(repo_root()), "<course>")
    add(box.BUNDLE, "<course>")
    add(box.WORK, ".")
    add(box.HOME, "~")
    add(box.SCRATCH, "<tmp>")
    add(str(Path.home()), "~")
    pairs = [(re.compile(re.escape(p) + r"(?![\w.-])"), name) for p, name in named.items()]
    return [(KERNEL_FOLDER, "<kernel>")] + sorted(pairs, key=lambda pair: -len(pair[0].pattern))


def scrub(text: str, paths: list[tuple[re.Pattern, str]]) -> str:
    """`text` without the grader's data notices, its folders replaced by placeholders."""
    text = DATA_NOTICE.sub("", text)
    for pattern, placeholder in paths:
        text = pattern.sub(placeholder, text)
    return text


class HideGraderDetails(NbGraderPreprocessor):
    """No path or data notice of the grading machine in any output: a student learns what went wrong
    in their code, not how the grader is installed (the paths come out as <python>, <course>, ...)."""

    def preprocess(self, nb, resources):
        self._paths = grader_paths()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for out in cell.outputs:
            if out.output_type == "stream":
                out.text = scrub(out.text, self._paths)
                if not out.text:
                    continue
            elif out.output_type == "error":
                out.evalue = scrub(out.evalue, self._paths)
                out.traceback = [scrub(line, self._paths) for line in out.traceback]
            else:
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if isinstance(out.get("data", {}).get(mime), str):
                        out.data[mime] = scrub(out.data[mime], self._paths)
            outputs.append(out)
        cell.outputs = outputs
        return cell, resources


def shows_values(assignment: str, course_root: str | None = None) -> bool:
    """Whether `assignment`'s feedback shows a failed check's values (course.toml [feedback] show_values)."""
    from course_utils.config import load_config
    from course_utils.tools.points import course_config_path

    config = load_config(course_config_path(Path(course_root) if course_root else None))
    return bool(config["feedback"]["show_values"].get(assignment, False))


class HideValues(NbGraderPreprocessor):
    """A failed check's values (what the code gave, what was expected) leave the feedback, unless the
    course shows them for this assignment: by default a student reads what is wrong, not the answer."""

    course_root = Unicode("", help="the course folder, whose course.toml says what to show").tag(config=True)

    def preprocess(self, nb, resources):
        if shows_values(resources["nbgrader"]["assignment"], self.course_root):
            return nb, resources
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if not o.get("metadata", {}).get(VALUES)]
        return nb, resources


class GetGrades(NbGraderGetGrades):
    """nbgrader's scores and comments; a cell whose grade still needs a TA is marked `ungraded`, and
    resources["nbgrader"]["ungraded"] counts them, so the page says "not graded yet", not 0."""

    def preprocess(self, nb, resources):
        self._ungraded = 0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["ungraded"] = self._ungraded
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata.nbgrader["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        if grade.needs_manual_grade:
            cell.metadata.nbgrader["ungraded"] = True
            self._ungraded += 1


def ungraded(db_url: str, assignment: str, students: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(student, notebook, grade id) of every grade of `assignment` that still needs a TA."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return sorted((sub.student.id, nb.name, grade.name)
                      for sub in gb.assignment_submissions(assignment)
                      if not students or sub.student.id in students
                      for nb in sub.notebooks for grade in nb.grades if grade.needs_manual_grade)


def describe_ungraded(missing: list[tuple[str, str, str]], limit: int = 10) -> str:
    """One line per ungraded answer (at most `limit`), for a warning."""
    lines = [f"  {student}: {notebook} {grade_id}" for student, notebook, grade_id in missing[:limit]]
    if len(missing) > limit:
        lines.append(f"  ... and {len(missing) - limit} more")
    return "\n".join(lines)


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, extended by templates/course_feedback (whose base template is
    nbgrader's `feedback`): "not graded yet" where due, and outputs that fit the page. Its
    template name and folders are set in nbgrader_config.py, above nbgrader's own choice."""

    @default("template_file")
    def _template_file_default(self):
        return "course_feedback.html.j2"
