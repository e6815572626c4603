"""The course round trip on the embedded default data: hand in two sample submissions
per assignment, autograde them with nbgrader, read the grades back from the gradebook.

    reference  the source notebooks (solutions filled in): every autograded point
    untouched  the student release as handed out: no autograded point, and it still runs
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from course_utils.config import repo_root
from course_utils.tools.nbgrader_run import assignments, nbgrader

# student id -> the folder (relative to the course root) its notebooks are copied from
SAMPLES = {"reference": "source", "untouched": "release"}


@dataclass(frozen=True)
class Grade:
    student: str
    assignment: str
    notebook: str
    code_score: float  # autograded points
    max_code_score: float
    written_max: float  # points of written answers, graded by hand later

    @property
    def as_expected(self) -> bool:
        """The reference earns every autograded point; the untouched release none."""
        want = self.max_code_score if self.student == "reference" else 0
        return self.code_score == want


def workspace(root: Path) -> Path:
    """The round trip's own folder, gradebook included: it never touches the TA's grades."""
    return root / "autograder" / "work" / "roundtrip"


def _course_options(work: Path) -> list[str]:
    """nbgrader options that point submissions, autograded copies and the gradebook at `work`."""
    return [f"--CourseDirectory.db_url=sqlite:///{work / 'gradebook.db'}",
            f"--CourseDirectory.submitted_directory={work / 'submitted'}",
            f"--CourseDirectory.autograded_directory={work / 'autograded'}",
            f"--CourseDirectory.release_directory={work / 'release'}"]


def submit(student: str, assignment: str, origin: str, root: Path) -> None:
    """Copy <origin>/<assignment>/*.ipynb into the workspace's submitted/<student>/<assignment>/."""
    target = workspace(root) / "submitted" / student / assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for notebook in sorted((root / origin / assignment).glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


def read_grades(student: str, assignment: str, root: Path) -> list[Grade]:
    """One Grade per notebook of `student`'s submission of `assignment`, from the workspace's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{workspace(root) / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return [Grade(student, assignment, nb.name, nb.code_score, nb.max_code_score,
                      nb.max_score - nb.max_code_score)
                for nb in sorted(submission.notebooks, key=lambda nb: nb.name)]


def grade_samples(root: Path | None = None) -> list[Grade]:
    """Autograde the sample submissions of every assignment in a fresh workspace; return their grades."""
    root = root or repo_root()
    work = workspace(root)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    options = _course_options(work)
    grades = []
    for assignment in assignments(root):
        nbgrader("generate_assignment", assignment, "--force", *options, root=root)  # registers its grade cells
        for student, origin in SAMPLES.items():
            submit(student, assignment, origin, root)
            print(f"autograding {assignment} for '{student}' ({origin}/) ...", flush=True)
            nbgrader("autograde", assignment, "--student", student, "--force", "--create", *options, root=root)
            grades += read_grades(student, assignment, root)
    return grades


def format_table(grades: list[Grade]) -> str:
    """The grades as an aligned text table."""
    rows = [("student", "assignment", "notebook", "autograded", "of", "written (by hand)", "expected")]
    rows += [(g.student, g.assignment, g.notebook, f"{g.code_score:g}", f"{g.max_code_score:g}",
              f"{g.written_max:g}", "yes" if g.as_expected else "NO") for g in grades]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def all_as_expected(grades: list[Grade]) -> bool:
    """True when there were grades and every one is what its sample should score."""
    return bool(grades) and all(g.as_expected for g in grades)
