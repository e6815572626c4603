"""Where grading happens: a folder with nbgrader's submitted/, autograded/ and feedback/,
a gradebook, and the grading state (one JSON file per graded submission).

The TA's workspace is `autograder/` (as in nbgrader_config.py); the sample corpus and the
tests use workspaces of their own, so they never touch the TA's grades.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from course_utils.config import repo_root

WORKSPACE_ENV = "COURSE_WORKSPACE"   # the grading folder, when no --workspace is given
DB_ENV = "COURSE_DB_URL"             # the gradebook, when no --db is given


@dataclass(frozen=True)
class Workspace:
    root: Path            # the course: source/, release/, nbgrader_config.py
    folder: Path          # submitted/, autograded/, feedback/, state/, gradebook.db
    db_url: str = ""      # the gradebook; default sqlite:///<folder>/gradebook.db (a Postgres URL works too)

    @classmethod
    def default(cls, folder: Path | None = None, db_url: str = "", root: Path | None = None) -> Workspace:
        """The TA's workspace: `folder`, else $COURSE_WORKSPACE, else autograder/ (relative to the
        course root), and the gradebook `db_url`, else $COURSE_DB_URL, else the SQLite file in the
        folder. nbgrader_config.py reads the same, so plain nbgrader and formgrader agree."""
        root = Path(root or repo_root())
        folder = folder or os.environ.get(WORKSPACE_ENV) or "autograder"
        return cls(root, (root / folder).resolve(), db_url or os.environ.get(DB_ENV, ""))

    @property
    def gradebook(self) -> str:
        return self.db_url or f"sqlite:///{self.folder / 'gradebook.db'}"

    def submitted(self, student: str = "", assignment: str = "") -> Path:
        return self.folder.joinpath("submitted", student, assignment)

    def state_file(self, assignment: str, student: str) -> Path:
        return self.folder / "state" / assignment / f"{student}.json"

    def running_file(self, assignment: str, student: str) -> Path:
        """Written while a submission is being graded (host, pid, shard, start), removed when done."""
        return self.folder / "running" / assignment / f"{student}.json"

    def read_state(self, assignment: str, student: str) -> dict:
        path = self.state_file(assignment, student)
        return json.loads(path.read_text()) if path.exists() else {}

    def write_state(self, assignment: str, student: str, state: dict) -> None:
        """Atomic: a run killed while writing leaves the old state or the new one, never half."""
        path = self.state_file(assignment, student)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)

    def options(self, db_url: str = "") -> list[str]:
        """nbgrader options that point it at this workspace (and at `db_url` instead of its gradebook)."""
        return [f"--CourseDirectory.db_url={db_url or self.gradebook}",
                f"--CourseDirectory.submitted_directory={self.folder / 'submitted'}",
                f"--CourseDirectory.autograded_directory={self.folder / 'autograded'}",
                f"--CourseDirectory.feedback_directory={self.folder / 'feedback'}"]
