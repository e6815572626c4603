"""Regenerate what students get, and the solutions, from source/ for one semester config.

    release/<assignment>/      the student notebooks (nbgrader generate_assignment) and a
                               jupytext export (py:percent) beside each one
    solutions/<assignment>/    the solution notebooks (hidden tests and mark schemes
                               removed) and their exports
    release/pyproject.toml,    the student bundle of course_utils (course_utils.tools.bundle),
    release/course_utils/      carrying the semester's config

The config ($COURSE_CONFIG, or the course's course.toml) is validated first, then everything is built in
a temporary folder beside release/ and swapped in only when all of it succeeded, so a bad
config or a failed nbgrader run never leaves a half-written release/ or solutions/.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from course_utils.config import load_config, repo_root
from course_utils.tools import bundle, points
from course_utils.tools.nbgrader_run import assignments, nbgrader

OUTPUTS = ("release", "solutions")
EXPORT_FORMAT = "py:percent"  # the .py export beside every notebook (what students hand in too)


def _swap_in(built: Path, target: Path) -> None:
    """Replace folder `target` by `built` (same filesystem: a rename, not a copy)."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    built.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def export_text(notebook: Path) -> str:
    """The jupytext py:percent text of `notebook` (cells, nbgrader metadata in the cell headers)."""
    import jupytext

    return jupytext.writes(jupytext.read(notebook), fmt=EXPORT_FORMAT)


def export_py(notebook: Path) -> Path:
    """Write the py:percent export of `notebook` beside it; return its path."""
    path = notebook.with_suffix(".py")
    path.write_text(export_text(notebook))
    return path


def _generate(assignment: str, staged: dict[str, Path], root: Path) -> None:
    """nbgrader's student and solution versions of `assignment` into the staged folders, exported."""
    # A throwaway gradebook: a release never touches the TA's grades (grading registers
    # the assignment in its own gradebook when it starts).
    with tempfile.TemporaryDirectory() as scratch:
        db = f"--CourseDirectory.db_url=sqlite:///{scratch}/gradebook.db"
        for command, folder, option in (("generate_assignment", "release", "release_directory"),
                                        ("generate_solution", "solutions", "solution_directory")):
            nbgrader(command, assignment, "--force", db, f"--CourseDirectory.{option}={staged[folder]}", root=root)
            for notebook in sorted((staged[folder] / assignment).glob("*.ipynb")):
                export_py(notebook)


def release_all(names: list[str] | None = None, root: Path | None = None) -> list[str]:
    """Regenerate release/ (with the student bundle) and solutions/ for the named assignments
    (default: every folder in source/) under the current config; return their names."""
    root = root or repo_root()
    known = assignments(root)
    names = names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"course release: no assignment {', '.join(unknown)} in source/ "
                         f"(known: {', '.join(known) or 'none'})")
    config_path = points.course_config_path(root)
    # A bad config is an error naming the key, before anything is built.
    points.check_points(load_config(config_path), root, source=str(config_path))
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
        staged = {folder: Path(tmp) / folder for folder in OUTPUTS}
        for folder, target in staged.items():
            target.mkdir()
            for other in sorted(set(known) - set(names)):  # a partial release keeps the others as they are
                if (root / folder / other).is_dir():
                    shutil.copytree(root / folder / other, target / other, symlinks=True)
        for name in names:
            _generate(name, staged, root)
            print(f"released {name}: release/{name}/, solutions/{name}/ (with .py exports)")
        bundle.write_bundle(staged["release"], config_path)
        for folder in OUTPUTS:
            _swap_in(staged[folder], root / folder)
    print(f"student bundle: release/course_utils/ for semester config {config_path}")
    return names
