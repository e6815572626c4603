"""Every source notebook runs top to bottom, solutions and hidden tests included, under every
semester config (course.toml and semesters/*.toml) on the ci budget: the reference passes
every hidden test whatever the semester. The same runs on the grading budget:
`course semester-check --budget grading` (README, Instructors)."""

import pytest

from course_utils.config import repo_root
from course_utils.tools.semesters import run_notebook, semester_configs

NOTEBOOKS = sorted((repo_root() / "source").rglob("*.ipynb"))
CONFIGS = semester_configs()


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_source_notebook_passes_its_hidden_tests_under_every_semester(config, notebook):
    run = run_notebook(notebook, config, budget="ci")
    assert run.ok, f"{notebook.name} under {config.name} ({run.seconds:.0f} s):\n{run.error[-6000:]}"
