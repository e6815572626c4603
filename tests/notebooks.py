"""Load the solution functions of a source notebook, to test the checks against them."""

from __future__ import annotations

import nbformat

from course_utils.config import repo_root


def solution_namespace(assignment: str, notebook: str, setup_ids=("setup",)) -> dict:
    """Run the notebook's setup cells and its solution code cells; return their namespace."""
    nb = nbformat.read(repo_root() / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    namespace: dict = {"__name__": f"solution_{notebook}"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade_id") in setup_ids):
            exec(compile(cell.source, f"<{notebook}:{meta.get('grade_id')}>", "exec"), namespace)
    return namespace
