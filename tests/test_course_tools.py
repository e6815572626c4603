"""The `course` command's release, on a tiny nbgrader course in a temp folder."""

import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils.config import repo_root
from course_utils.tools import release
from tests.conftest import write_course_config


def _cell(source, grade_id, *, solution=False, grade=False, points=0, kind="code"):
    make = new_code_cell if kind == "code" else new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade": grade, "solution": solution, "locked": not solution,
                                 "grade_id": grade_id, "schema_version": 3,
                                 **({"points": points} if grade else {})}
    return cell


def tiny_notebook():
    return new_notebook(cells=[
        new_markdown_cell("# Tiny assignment"),
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        _cell("assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
              "test_double", grade=True, points=2),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture
def course(tmp_path):
    shutil.copy(repo_root() / "nbgrader_config.py", tmp_path)
    write_course_config(tmp_path, {"tiny": {"test_double": 2}})
    (tmp_path / "source" / "tiny").mkdir(parents=True)
    nbformat.write(tiny_notebook(), tmp_path / "source" / "tiny" / "tiny.ipynb")
    return tmp_path


def test_release_strips_solutions_and_hidden_tests_and_is_reproducible(course):
    release.release_all(root=course)
    student = (course / "release" / "tiny" / "tiny.ipynb").read_text()
    assert "BEGIN SOLUTION" not in student and "return 2 * x" not in student
    assert "HIDDEN TESTS" not in student and "double(-3)" not in student
    assert "raise NotImplementedError()" in student
    solution = (course / "solutions" / "tiny" / "tiny.ipynb").read_text()
    assert "return 2 * x" in solution and "double(-3)" not in solution
    first = {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()}
    release.release_all(root=course)
    again = {p: p.read_bytes() for p in (course / "release").rglob("*") if p.is_file()}
    assert first == again, "releases must regenerate byte-identical"
    assert not list(course.glob(".build-*")), "no temporary build folder may remain"


def test_release_of_unknown_assignment_names_it(course):
    with pytest.raises(SystemExit, match="no assignment nope"):
        release.release_all(["nope"], root=course)


def test_failed_release_keeps_the_previous_one(course):
    release.release_all(root=course)
    before = (course / "release" / "tiny" / "tiny.ipynb").read_bytes()
    broken = json.loads((course / "source" / "tiny" / "tiny.ipynb").read_text())
    broken["cells"][1]["metadata"]["nbgrader"]["grade_id"] = "test_double"  # duplicate grade id
    (course / "source" / "tiny" / "tiny.ipynb").write_text(json.dumps(broken))
    with pytest.raises(Exception):
        release.release_all(root=course)
    assert (course / "release" / "tiny" / "tiny.ipynb").read_bytes() == before
