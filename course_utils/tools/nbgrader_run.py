"""Run nbgrader commands in the course folder, with the course's clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from course_utils.config import repo_root
from course_utils.grading_kernel import TF_ENV


def assignments(root: Path | None = None) -> list[str]:
    """Names of the assignment folders under source/ (sorted)."""
    source = (root or repo_root()) / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def grading_env(**extra: str) -> dict[str, str]:
    """The environment nbgrader and its kernels run in: TensorFlow on oneDNN, its C++ log off."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)   # under it ipykernel would hide what a kernel writes to descriptor 2
    # nbgrader calls `alembic` and kernels by name: put this environment's bin/ first.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(TF_ENV)
    env.update(extra)
    return env


def nbgrader(*args: str, root: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in the course root; raise CalledProcessError with its log on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=root or repo_root(), env=grading_env(**env),
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise subprocess.CalledProcessError(result.returncode, cmd, result.stdout, result.stderr)
    return result


def gradebook(db_url: str):
    """nbgrader's Gradebook at `db_url` (a context manager). Creating a new one runs this
    environment's `alembic`, so its bin/ goes on PATH first."""
    from nbgrader.api import Gradebook

    os.environ["PATH"] = grading_env()["PATH"]
    return Gradebook(db_url)
