"""Grading on a real SLURM: `course cluster slurm` writes a job array (one shard a task) and a
merge job after it; on a one-node cluster started by the test set-up, an array of 3 tasks
grades the tiny course of test_grading.py, one task is cancelled while it grades, the merge
job names it with the line that reruns just it, and after that rerun the gradebook holds
exactly the grades of one unsharded run."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from course_utils import cli
from course_utils.tools import autograde
from course_utils.tools.workspace import Workspace
from tests.test_grading import GOOD, GRADING, WRONG, course_with, scores

STUDENTS = {f"s{i:02d}": GOOD if i % 2 else WRONG for i in range(5)}
TASKS = 3


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return course_with(tmp_path_factory.mktemp("course") / "course", STUDENTS)


def _squeue(env, job: str) -> list[tuple[str, str]]:
    out = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i %T"], env=env, capture_output=True,
                         text=True).stdout
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


def _wait_gone(env, job: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while _squeue(env, job):
        assert time.monotonic() < deadline, f"job {job} still queued: {_squeue(env, job)}"
        time.sleep(1)


def test_the_scripts_hold_the_array_the_shard_and_the_merge_after_it(course, tmp_path):
    ws = Workspace(course.root, tmp_path / "ws")
    assert cli.main(["cluster", "slurm", "probe", "--tasks", "4", "--cpus", "2", "--partition", "short",
                     "--time", "1:00:00", "--mem", "8G", "--course", str(course.root), "--workspace",
                     str(ws.folder)]) == 0
    grade = (ws.folder / "cluster" / "probe-grade.sbatch").read_text()
    merge = (ws.folder / "cluster" / "probe-merge.sbatch").read_text()
    for line in ("#SBATCH --array=0-3", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=short",
                 "#SBATCH --time=1:00:00", "#SBATCH --mem=8G", '--shard "$SLURM_ARRAY_TASK_ID/4"', "--workers 2"):
        assert line in grade, line
    assert " merge probe " in merge and " status probe " in merge and "rerun just them" in merge
    assert cli.main(["cluster", "slurm", "probe", "--tasks", "0", "--workspace", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "none").exists()


@pytest.mark.slow
def test_a_cancelled_task_rerun_gives_the_grades_of_one_run(course, slurm, tmp_path, capsys, monkeypatch):
    one = Workspace(course.root, course.root / "one")
    shutil.copytree(course.submitted(), one.submitted())
    autograde.autograde(one, "probe", workers=2, progress=False, grading=GRADING)
    ws = Workspace(course.root, course.root / "slurm")
    shutil.copytree(course.submitted(), ws.submitted())

    cancelled = next(i for i in range(TASKS) if any(autograde.shard_of(s, TASKS) == i for s in STUDENTS))
    args = ["cluster", "slurm", "probe", "--tasks", str(TASKS), "--submit", "--course", str(course.root),
            "--workspace", str(ws.folder)]
    monkeypatch.setenv("SLURM_CONF", slurm["SLURM_CONF"])   # what a login node's environment holds
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    array, merge = out.split("submitted: array ")[1].split(",")[0], out.split(", merge ")[1].split()[0]

    deadline = time.monotonic() + 300     # cancel the task while it grades
    while (f"{array}_{cancelled}", "RUNNING") not in _squeue(slurm, array):
        assert time.monotonic() < deadline, _squeue(slurm, array)
        time.sleep(0.2)
    time.sleep(3)
    subprocess.run(["scancel", f"{array}_{cancelled}"], env=slurm, check=True)
    _wait_gone(slurm, array)
    _wait_gone(slurm, merge)

    report = next((ws.folder / "cluster" / "logs").glob(f"probe-merge-{merge}.out")).read_text()
    rerun = f"sbatch --array={cancelled} {ws.folder / 'cluster' / 'probe-grade.sbatch'}"
    assert f"failed tasks: {cancelled}" in report and rerun in report, report
    lost = [s for s in STUDENTS if autograde.shard_of(s, TASKS) == cancelled and not ws.read_state("probe", s).get("merged")]
    assert lost, "the cancelled task had merged everything before it was cancelled"

    job = subprocess.run(["sbatch", "--parsable", *rerun.split()[1:]], env=slurm, capture_output=True, text=True,
                         check=True).stdout.strip().split(";")[0]
    _wait_gone(slurm, job)
    assert cli.main(["merge", "probe", "--course", str(course.root), "--workspace", str(ws.folder)]) == 0
    assert {s: scores(ws, s) for s in STUDENTS} == {s: scores(one, s) for s in STUDENTS}
    st = autograde.status(ws, "probe")
    assert (st["graded"], st["failed"], st["running"], st["left"]) == (len(STUDENTS), [], [], 0)
