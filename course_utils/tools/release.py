"""Regenerate the student releases and the solution notebooks from source/.

Each assignment is generated into a temporary folder first and swapped into place only
when nbgrader succeeded, so a failed run never leaves a half-written release/.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_utils.config import repo_root
from course_utils.tools.nbgrader_run import assignments, nbgrader


def _swap_in(built: Path, target: Path) -> None:
    """Replace folder `target` by `built` (same filesystem: a rename, not a copy)."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    built.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def release(assignment: str, root: Path | None = None) -> None:
    """Write release/<assignment>/ (student version) and solutions/<assignment>/."""
    root = root or repo_root()
    # A throwaway gradebook: a release never touches the TA's grades (grading registers
    # the assignment in its own gradebook when it starts).
    with tempfile.TemporaryDirectory() as scratch:
        db = f"--CourseDirectory.db_url=sqlite:///{scratch}/gradebook.db"
        for command, folder in (("generate_assignment", "release"), ("generate_solution", "solutions")):
            (root / folder).mkdir(exist_ok=True)
            with tempfile.TemporaryDirectory(dir=root / folder, prefix=".build-") as tmp:
                option = "release_directory" if folder == "release" else "solution_directory"
                nbgrader(command, assignment, "--force", db, f"--CourseDirectory.{option}={tmp}", root=root)
                _swap_in(Path(tmp) / assignment, root / folder / assignment)
    print(f"released {assignment}: release/{assignment}/, solutions/{assignment}/")


def release_all(names: list[str] | None = None, root: Path | None = None) -> list[str]:
    """Release the named assignments (default: every folder in source/); return their names."""
    root = root or repo_root()
    known = assignments(root)
    names = names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"course release: no assignment {', '.join(unknown)} in source/ "
                         f"(known: {', '.join(known) or 'none'})")
    for name in names:
        release(name, root)
    return names
