"""The course round trip on the embedded default data: submit the reference
solutions as a student named `reference`, autograde them with nbgrader, read the
grades back from the gradebook.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from course_utils.config import repo_root
from course_utils.tools.nbgrader_run import assignments, nbgrader

REFERENCE_STUDENT = "reference"


@dataclass(frozen=True)
class Grade:
    student: str
    assignment: str
    notebook: str
    code_score: float  # autograded points
    max_code_score: float
    written_max: float  # points of written answers, graded by hand later


def submit_reference(assignment: str, root: Path) -> None:
    """Copy source/<assignment>/*.ipynb to autograder/submitted/reference/<assignment>/."""
    target = root / "autograder" / "submitted" / REFERENCE_STUDENT / assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for notebook in sorted((root / "source" / assignment).glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


def read_grades(student: str, assignment: str, root: Path) -> list[Grade]:
    """One Grade per notebook of `student`'s submission of `assignment`, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return [Grade(student, assignment, nb.name, nb.code_score, nb.max_code_score,
                      nb.max_score - nb.max_code_score)
                for nb in sorted(submission.notebooks, key=lambda nb: nb.name)]


def grade_references(root: Path | None = None) -> list[Grade]:
    """Autograde the reference solutions of every assignment; return their grades."""
    root = root or repo_root()
    grades = []
    for assignment in assignments(root):
        submit_reference(assignment, root)
        print(f"autograding {assignment} (student '{REFERENCE_STUDENT}') ...", flush=True)
        nbgrader("autograde", assignment, "--student", REFERENCE_STUDENT, "--force", "--create", root=root)
        grades += read_grades(REFERENCE_STUDENT, assignment, root)
    return grades


def format_table(grades: list[Grade]) -> str:
    """The grades as an aligned text table."""
    rows = [("student", "assignment", "notebook", "autograded", "of", "written (by hand)")]
    rows += [(g.student, g.assignment, g.notebook, f"{g.code_score:g}", f"{g.max_code_score:g}",
              f"{g.written_max:g}") for g in grades]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def all_full_marks(grades: list[Grade]) -> bool:
    """True when every notebook scored all its autograded points (and there was one)."""
    return bool(grades) and all(g.code_score == g.max_code_score for g in grades)
