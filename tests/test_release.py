"""The committed release/ and solutions/ are current and hold nothing instructor-only."""

import re
import shutil
from pathlib import Path

import pytest

from course_utils.config import repo_root
from course_utils.tools import release
from course_utils.tools.notebooks import has_outputs

ROOT = repo_root()
INSTRUCTOR_ONLY = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|"
                             r"MARK SCHEME|course_utils\.checks|course_utils\.reference|_checks\b")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """release/ and solutions/ regenerated from the committed source/ in a temporary course."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source", root / "source")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    release.release_all(root=root)
    return root


@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_committed_folder_is_current(regenerated, folder):
    committed, fresh = _files(ROOT / folder), _files(regenerated / folder)
    assert committed.keys() == fresh.keys(), f"run `course release`: {folder}/ lists other files"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"run `course release` and commit: {folder}/ is out of date for {stale}"


def test_release_holds_nothing_instructor_only():
    for path in (ROOT / "release").rglob("*"):
        if path.is_file():
            found = INSTRUCTOR_ONLY.search(path.read_text(errors="replace"))
            assert not found, f"{path} contains {found.group(0)!r}"


def test_solutions_hold_no_hidden_tests_or_mark_schemes():
    for path in (ROOT / "solutions").rglob("*.ipynb"):
        text = path.read_text()
        assert "HIDDEN TESTS" not in text and "MARK SCHEME" not in text and "_checks" not in text, path


@pytest.mark.parametrize("folder", ["source", "release", "solutions"])
def test_notebooks_carry_no_outputs(folder):
    notebooks = sorted((ROOT / folder).rglob("*.ipynb"))
    assert notebooks, f"no notebooks in {folder}/"
    with_outputs = [str(p.relative_to(ROOT)) for p in notebooks if has_outputs(p)]
    assert not with_outputs, f"strip them with `course strip`: {with_outputs}"
