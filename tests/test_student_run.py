"""bench/student_run.py: the healthy results the notebooks quote are the ones it measured."""

import importlib.util
import json

from course_utils.config import repo_root

_spec = importlib.util.spec_from_file_location("student_run", repo_root() / "bench" / "student_run.py")
student_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_run)


def test_the_notebooks_quote_the_measured_student_run():
    results = json.loads(student_run.RESULTS.read_text())
    assert set(student_run.NOTEBOOKS) <= set(results), "run bench/student_run.py"
    assert student_run.stale_quotes(results) == [], "run bench/student_run.py and quote what it measured"


def test_a_changed_figure_makes_its_quote_stale():
    results = json.loads(student_run.RESULTS.read_text())
    results["generative"]["figures"]["frechet_gan"] += 7
    assert len(student_run.stale_quotes(results)) == 1


def test_every_quoted_figure_is_recorded():
    names = {figure if isinstance(figure, str) else figure[0] for _, figure, _ in student_run.QUOTES}
    assert names <= {name for figures in student_run.FIGURES.values() for name in figures}
