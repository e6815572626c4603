"""Every source notebook runs top to bottom under nbval on the CI budget, hidden tests included."""

import os
import subprocess
import sys

import pytest

from course_utils.config import repo_root

NOTEBOOKS = sorted((repo_root() / "source").rglob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_runs_under_nbval(notebook, tmp_path):
    env = {**os.environ, "COURSE_BUDGET": "ci", "TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "2",
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=900", "-q",
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(notebook)],
        cwd=notebook.parent, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
