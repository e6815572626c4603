"""Grading on a cluster. SLURM, for real: `course cluster slurm` writes a job array (one shard a
task) and a merge job after it; on a one-node cluster started by the test set-up, an array of 3
tasks grades the tiny course of test_grading.py, one task is cancelled while it grades, the merge
job names it with the line that reruns just it, and after that rerun the gradebook holds exactly
the grades of one unsharded run. Kubernetes, without a cluster: `course cluster k8s` writes an
Indexed Job of the grading image, and the image's entry point (read from the Containerfile, run
here with the pod's environment) grades the pod's shard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils import cli
from course_utils.config import repo_root
from course_utils.tools import autograde, cluster
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
                 "#SBATCH --time=1:00:00", "#SBATCH --mem=8G", " cluster task probe --tasks 4 --workers 2 "):
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


def test_a_task_reads_its_shard_from_the_scheduler_and_a_wrong_one_is_named():
    assert cluster.task_index(3, {"SLURM_ARRAY_TASK_ID": "2"}) == 2
    assert cluster.task_index(3, {"JOB_COMPLETION_INDEX": "0"}) == 0
    with pytest.raises(ValueError, match="SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"):
        cluster.task_index(3, {})
    for bad in ("3", "-1", "x"):
        with pytest.raises(ValueError, match="0 to 2"):
            cluster.task_index(3, {"JOB_COMPLETION_INDEX": bad})


def _manifest(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def test_the_k8s_manifest_is_an_indexed_job_of_the_grading_image(course, tmp_path):
    ws = tmp_path / "ws"
    args = ["cluster", "k8s", "probe", "--tasks", "3", "--image", "registry.example/course-grader:2026",
            "--db-secret", "gradebook", "--cpus", "2", "--mem", "6Gi", "--namespace", "grading",
            "--course", str(course.root), "--workspace", str(ws)]
    assert cli.main(args) == 0
    job = _manifest(ws / "cluster" / "probe-grade.yaml")
    assert (job["apiVersion"], job["kind"], job["metadata"]["namespace"]) == ("batch/v1", "Job", "grading")
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["hostUsers"] is False
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 1000
    [container] = pod["containers"]
    assert container["image"] == "registry.example/course-grader:2026"
    assert container["args"] == ["probe", "--tasks", "3", "--workers", "2"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "6Gi"}
    env = {e["name"]: e for e in container["env"]}
    assert env["COURSE_DB_URL"]["valueFrom"]["secretKeyRef"] == {"name": "gradebook", "key": "url"}
    assert env["COURSE_WORKSPACE"]["value"] == "/shared/workspace"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["shared"] == "/shared" and volumes["shared"]["persistentVolumeClaim"]["claimName"] == "course-grading"
    sec = container["securityContext"]
    assert sec["allowPrivilegeEscalation"] is False and sec["capabilities"]["drop"] == ["ALL"]
    assert sec["procMount"] == "Unmasked" and sec["seccompProfile"]["type"] == "Unconfined"

    assert cli.main(["cluster", "k8s", "probe", "--tasks", "3", "--workspace", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "none").exists()


def _containerfile() -> tuple[dict[str, str], list[str], str]:
    """The grading image's (ENV, ENTRYPOINT, USER), read from the Containerfile."""
    text = (repo_root() / "Containerfile").read_text().replace("\\\n", " ")
    env, entry, user = {}, [], ""
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in rest.split())
        elif word == "ENTRYPOINT":
            entry = json.loads(rest)
        elif word == "USER":
            user = rest.strip()
    return env, entry, user


def test_the_containerfile_installs_what_bootstrap_does():
    text = (repo_root() / "Containerfile").read_text()
    tensorflow = next(w for w in (repo_root() / "bootstrap.sh").read_text().split('"') if w.startswith("tensorflow-cpu=="))
    assert "requirements.lock" in text and tensorflow in text and "bubblewrap" in text
    env, entry, user = _containerfile()
    assert entry[-2:] == ["cluster", "task"] and user == "1000" and "--uid 1000" in text
    assert env["COURSE_WORKSPACE"] == cluster.SHARED + "/workspace"


def test_the_images_entry_point_grades_the_pods_shard(course, tmp_path):
    """The pod's command line (entry point + the manifest's args) with the pod's environment (the
    image's ENV, the manifest's env, the Indexed Job's index), the image's folders mapped here."""
    image_env, entry, _ = _containerfile()
    job = cluster.k8s_manifest("probe", cluster.KubeJob(2, "img"))
    [container] = job["spec"]["template"]["spec"]["containers"]
    shared = tmp_path / "shared"
    folders = {"/course/.venv/bin": str(Path(sys.executable).parent), cluster.SHARED: str(shared),
               "/cache": str(tmp_path / "cache")}

    def here(value: str) -> str:
        for image, local in folders.items():
            value = value.replace(image, local)
        return value.replace("$PATH", os.environ["PATH"])

    env = {**os.environ, **{k: here(v) for k, v in image_env.items()},
           **{e["name"]: here(e["value"]) for e in container["env"] if "value" in e}, "JOB_COMPLETION_INDEX": "1"}
    (shared / "data").mkdir(parents=True)
    shutil.copytree(course.submitted(), shared / "workspace" / "submitted")
    run = subprocess.run([shutil.which(entry[0], path=env["PATH"]), *entry[1:], *container["args"],
                          "--course", str(course.root)], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "shard 1/2 of probe" in run.stdout
    ws = Workspace(course.root, shared / "workspace")
    mine = {s for s in STUDENTS if autograde.shard_of(s, 2) == 1}
    assert mine and mine != set(STUDENTS)
    assert {s for s in STUDENTS if ws.read_state("probe", s).get("merged")} == mine
    assert {s: sum(scores(ws, s).values()) for s in mine} == {s: 3.0 if STUDENTS[s] == GOOD else 1.0 for s in mine}
