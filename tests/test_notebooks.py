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


def test_the_first_cell_prints_no_tensorflow_start_up_notice(tmp_path, monkeypatch):
    """import_tensorflow(), as the notebooks' first cell calls it, in a real Jupyter kernel, which
    shows what TensorFlow's C++ side writes to the process's stderr (except under pytest: hence
    the variable removed)."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)

    cell = nbformat.v4.new_code_cell("from course_utils.quiet import import_tensorflow\n\ntf = import_tensorflow()\n"
                                     "import keras\nprint(int(tf.reduce_sum(tf.ones(3))))")
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [o.get("text") for o in cell.outputs] == ["3\n"], cell.outputs
