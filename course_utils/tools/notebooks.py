"""Keep notebooks clean: no outputs, no execution counts, one canonical kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat

from course_utils.config import repo_root

KERNEL_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` without outputs, execution counts or run-time metadata (changed in place), and no
    cell ending in blank lines (which its .py export could not give back)."""
    nb.metadata = nbformat.from_dict(KERNEL_METADATA)
    for cell in nb.cells:
        cell.source = cell.source.rstrip("\n")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
    return nb


def has_outputs(path: Path) -> bool:
    """True when the notebook at `path` stores any output or execution count."""
    nb = nbformat.read(path, as_version=4)
    return any(c.cell_type == "code" and (c.outputs or c.execution_count) for c in nb.cells)


def strip_files(paths: list[Path] | None = None) -> list[Path]:
    """Strip the notebooks at `paths` (default: all of source/); return those that changed."""
    paths = paths or sorted((repo_root() / "source").rglob("*.ipynb"))
    changed = []
    for path in paths:
        before = Path(path).read_text()
        nb = strip(nbformat.read(path, as_version=4))
        after = nbformat.writes(nb) + "\n"
        if after != before:
            Path(path).write_text(after)
            changed.append(Path(path))
    return changed


def solution_namespace(assignment: str, notebook: str, setup_ids=("setup",), root: Path | None = None) -> dict:
    """Run a source notebook's setup cells and solution code cells; return their namespace.

    Gives the reference solution's functions (builders, losses...) to tests and benchmarks.
    """
    nb = nbformat.read((root or repo_root()) / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    namespace: dict = {"__name__": f"solution_{notebook}"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade_id") in setup_ids):
            exec(compile(cell.source, f"<{notebook}:{meta.get('grade_id')}>", "exec"), namespace)
    return namespace


def released_notebook(release_directory: str, resources) -> nbformat.NotebookNode | None:
    """The release notebook that the submission nbgrader is converting answers (resources["nbgrader"]
    names it), or None when the release has none."""
    info = resources["nbgrader"]
    path = Path(release_directory) / info["assignment"] / f"{info['notebook']}.ipynb"
    return nbformat.read(path, as_version=4) if path.exists() else None

