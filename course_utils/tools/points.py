"""The semester's points: course.toml [points.<assignment>] sets what every graded cell is worth.

A graded cell is a hidden-test cell (nbgrader "grade") or a written answer ("task"); the
config names each by its grade id. `SemesterPoints`, the first step of nbgrader's
generate_assignment and generate_solution (nbgrader_config.py), writes those points into
the notebooks, so the release, the solutions and the gradebook that autograding registers
all agree; the points in the source notebooks' metadata are only what nbgrader's toolbar
shows while writing them. Every graded cell must have its points in the config, and every
id in the config must be a graded cell of that assignment: otherwise `check_points` raises
a ConfigError naming the ids, before anything is released.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from course_utils.config import CONFIG_ENV, CONFIG_NAME, ConfigError, default_config_path, load_config, repo_root
from course_utils.tools.nbgrader_run import assignments


def course_config_path(root: Path | None = None) -> Path:
    """The config of the course folder `root`: $COURSE_CONFIG, else its own course.toml,
    else the default (`default_config_path`)."""
    if root is not None and not os.environ.get(CONFIG_ENV) and (root / CONFIG_NAME).is_file():
        return root / CONFIG_NAME
    return default_config_path()


def graded_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """The notebook's graded cells (tests and written answers) by grade id."""
    return {cell.metadata.nbgrader["grade_id"]: cell for cell in notebook.cells
            if utils.is_grade(cell) or utils.is_task(cell)}


def source_grade_ids(assignment: str, root: Path) -> set[str]:
    """The grade ids of every graded cell in <root>/source/<assignment>/*.ipynb."""
    folder = root / "source" / assignment
    return {gid for path in sorted(folder.glob("*.ipynb")) for gid in graded_cells(nbformat.read(path, 4))}


def check_points(config: Mapping, root: Path | None = None, source: str = "course config") -> None:
    """Raise ConfigError unless config's [points] gives points to exactly the graded cells of
    every assignment in <root>/source/ (root: the repository)."""
    root = root or repo_root()
    known = assignments(root)
    strays = sorted(set(config["points"]) - set(known))
    if strays:
        raise ConfigError(f"{source}: [points.{strays[0]}] names no assignment in source/ ({', '.join(known)}); "
                          f"rename or remove it")
    for assignment in known:
        given = set(config["points"].get(assignment, {}))
        graded = source_grade_ids(assignment, root)
        missing, unknown = sorted(graded - given), sorted(given - graded)
        if missing:
            raise ConfigError(f"{source}: no points for {', '.join(missing)} in [points.{assignment}]; "
                              f"add a line such as {missing[0]} = 2 for each")
        if unknown:
            raise ConfigError(f"{source}: [points.{assignment}] names {', '.join(unknown)}, which no graded "
                              f"cell of source/{assignment}/ has; the graded cells are {', '.join(sorted(graded))}")


class SemesterPoints(NbGraderPreprocessor):
    """Set each graded cell's points to the semester config's [points.<assignment>] value."""

    course_root = Unicode("", help="the course folder, which holds source/").tag(config=True)

    def preprocess(self, nb, resources):
        root = Path(self.course_root) if self.course_root else None
        path = course_config_path(root)
        config = load_config(path)
        assignment = resources["nbgrader"]["assignment"]
        check_points(config, root, source=str(path))
        points = config["points"][assignment]
        for grade_id, cell in graded_cells(nb).items():
            cell.metadata.nbgrader["points"] = points[grade_id]
        return nb, resources
