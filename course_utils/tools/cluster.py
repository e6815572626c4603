"""`course cluster`: grade a class on a cluster, one shard of the class per task.

    course cluster task ASSIGNMENT --tasks N      what every task runs: shard I/N, I read from
                                                  $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX
    course cluster slurm ASSIGNMENT --tasks N [--partition P --time T --mem M --cpus C] [--submit]
    course cluster k8s ASSIGNMENT --tasks N --image IMAGE [--claim PVC --db-secret S
                                                  --namespace NS --cpus C --mem M] [--submit]

`slurm` writes, under <workspace>/cluster/,

    ASSIGNMENT-grade.sbatch   an array of N tasks; task I runs `course cluster task` (shard I/N)
                              on the shared workspace and records its exit status
    ASSIGNMENT-merge.sbatch   after the array (--dependency=afterany): `course merge`, `course
                              status`, and the tasks that failed, with the sbatch line that
                              reruns just them

`k8s` writes ASSIGNMENT-grade.yaml: an Indexed Job of N pods of the grading image (built from
the repository's Containerfile, whose entry point is `course cluster task`), the shared folder
a volume. With --submit both hand their files to sbatch or kubectl.

Every task grades with the same kernel threads and budgets as one `course autograde`, so the
grades are the same; a task cancelled or killed loses nothing that its rerun does not grade
again (autograde.py: state files, merge_left), and each task merges what it graded.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course_utils.tools import autograde
from course_utils.tools.workspace import Workspace

# Where a task learns its number: SLURM's job arrays, Kubernetes' Indexed Jobs.
INDEX_ENV = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")


def task_index(tasks: int, env=os.environ) -> int:
    """This task's shard (0 to tasks - 1), from the scheduler's variable; ValueError naming the fix."""
    found = [(name, env[name]) for name in INDEX_ENV if env.get(name, "") != ""]
    if not found:
        raise ValueError(f"no task number: `course cluster task` runs inside a SLURM array task or an Indexed "
                         f"Job's pod, which set {' or '.join(INDEX_ENV)}; elsewhere run `course autograde "
                         f"ASSIGNMENT --shard I/{tasks}`")
    name, value = found[0]
    if not value.isdigit() or int(value) >= tasks:
        raise ValueError(f"${name}={value!r} is not a task of --tasks {tasks} (0 to {tasks - 1}): give "
                         f"--tasks the array's size")
    return int(value)


def run_task(ws: Workspace, assignment: str, tasks: int, workers: int = 0) -> int:
    """Grade this task's shard, merge what is left, print both; the exit status of `course autograde`."""
    index = task_index(tasks)
    print(f"course cluster task: shard {index}/{tasks} of {assignment} on {ws.folder}", flush=True)
    outcomes = autograde.autograde(ws, assignment, workers=workers, shard=(index, tasks), progress=False)
    print(autograde.format_outcomes(outcomes))
    autograde.merge_left(ws, assignment)
    failed = [o.student for o in outcomes if o.status == "failed"]
    if failed:
        print(f"course cluster task: {len(failed)} submission(s) could not be graded: {', '.join(failed)}",
              file=sys.stderr)
    return 1 if failed else 0


@dataclass(frozen=True)
class SlurmJob:
    tasks: int
    cpus: int = 1
    partition: str = ""
    time: str = ""
    mem: str = ""


def _course(ws: Workspace, *args: str) -> str:
    """The shell line that runs `course ARGS` on this course and workspace."""
    where = ["--course", str(ws.root), "--workspace", str(ws.folder)] + (["--db", ws.db_url] if ws.db_url else [])
    return shlex.join([sys.executable, "-m", "course_utils.cli", *args, *where])


def _header(name: str, output: str, job: SlurmJob, extra: list[str]) -> list[str]:
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", f"#SBATCH --output={output}",
             f"#SBATCH --cpus-per-task={job.cpus}", *extra]
    lines += [f"#SBATCH --{key}={value}" for key, value in
              (("partition", job.partition), ("time", job.time), ("mem", job.mem)) if value]
    return lines


def write_slurm(ws: Workspace, assignment: str, job: SlurmJob, kernel_threads: int = 1) -> tuple[Path, Path]:
    """Write the array and merge scripts for `assignment`; (grade script, merge script)."""
    if job.tasks < 1 or job.cpus < 1:
        raise ValueError(f"--tasks {job.tasks} --cpus {job.cpus}: both must be at least 1")
    folder = ws.folder / "cluster"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    grade, merge = folder / f"{assignment}-grade.sbatch", folder / f"{assignment}-merge.sbatch"
    exit_file = f"{folder}/{assignment}-task-$SLURM_ARRAY_TASK_ID.exit"
    workers = max(1, job.cpus // max(1, kernel_threads))
    grade.write_text("\n".join(_header(f"grade-{assignment}", f"{folder}/logs/{assignment}-%A_%a.out", job,
                                       [f"#SBATCH --array=0-{job.tasks - 1}"]) + [
        f"# Written by `course cluster slurm`: task I grades shard I/{job.tasks} of {assignment}.",
        f"cd {shlex.quote(str(ws.root))}",
        f"rm -f {exit_file}",
        _course(ws, "cluster", "task", assignment, "--tasks", str(job.tasks), "--workers", str(workers)),
        "status=$?",
        f'echo "$status" > {exit_file}',
        'exit "$status"', ""]))
    failed_loop = (f"failed=; for i in $(seq 0 {job.tasks - 1}); do "
                   f"[ \"$(cat {folder}/{assignment}-task-$i.exit 2>/dev/null)\" = 0 ] || failed=\"$failed${{failed:+,}}$i\"; "
                   f"done")
    merge.write_text("\n".join(_header(f"merge-{assignment}", f"{folder}/logs/{assignment}-merge-%j.out",
                                       SlurmJob(1, 1, job.partition, job.time, job.mem), []) + [
        "# Written by `course cluster slurm`: after the array, merge what is left and report.",
        f"cd {shlex.quote(str(ws.root))}",
        _course(ws, "merge", assignment),
        _course(ws, "status", assignment),
        failed_loop,
        f'if [ -n "$failed" ]; then echo "failed tasks: $failed; rerun just them: '
        f'sbatch --array=$failed {grade}"; fi', ""]))
    grade.chmod(0o755)
    merge.chmod(0o755)
    return grade, merge


def submit(grade: Path, merge: Path) -> tuple[str, str]:
    """sbatch the array, then the merge job after it (afterany); their job ids."""
    if shutil.which("sbatch") is None:
        raise SystemExit("course cluster slurm: sbatch is not on PATH: run this on a SLURM login node, or "
                         "submit the scripts written above yourself")

    def sbatch(*args: str) -> str:
        run = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"course cluster slurm: sbatch failed: {run.stderr.strip() or run.stdout.strip()} "
                             f"(is slurmctld reachable? `sinfo` says)")
        return re.split(r"[;\s]", run.stdout.strip())[0]

    array = sbatch(str(grade))
    return array, sbatch(f"--dependency=afterany:{array}", str(merge))


@dataclass(frozen=True)
class KubeJob:
    tasks: int
    image: str
    claim: str = "course-grading"   # the PersistentVolumeClaim holding workspace/, data/ (ReadWriteMany)
    db_secret: str = ""             # a Secret whose key `url` is the gradebook's URL (Postgres)
    namespace: str = ""
    cpus: int = 1
    mem: str = "4Gi"


SHARED = "/shared"                  # where the claim is mounted in every pod


def k8s_manifest(assignment: str, job: KubeJob, kernel_threads: int = 1) -> dict:
    """The Indexed Job that grades `assignment` in job.tasks pods, pod I grading shard I/tasks."""
    if job.tasks < 1 or job.cpus < 1:
        raise ValueError(f"--tasks {job.tasks} --cpus {job.cpus}: both must be at least 1")
    if not job.image:
        raise ValueError("--image is missing: build the grading image from the repository's Containerfile, "
                         "push it where the cluster pulls from, and name it here")
    env = [{"name": "COURSE_WORKSPACE", "value": f"{SHARED}/workspace"},
           {"name": "COURSE_DATA_DIR", "value": f"{SHARED}/data"}]
    if job.db_secret:
        env.append({"name": "COURSE_DB_URL", "valueFrom": {"secretKeyRef": {"name": job.db_secret, "key": "url"}}})
    workers = max(1, job.cpus // max(1, kernel_threads))
    container = {
        "name": "grade",
        "image": job.image,
        # the image's entry point is `course cluster task`; the pod's index is $JOB_COMPLETION_INDEX
        "args": [assignment, "--tasks", str(job.tasks), "--workers", str(workers)],
        "env": env,
        "resources": {"requests": {"cpu": str(job.cpus), "memory": job.mem},
                      "limits": {"cpu": str(job.cpus), "memory": job.mem}},
        "volumeMounts": [{"name": "shared", "mountPath": SHARED}, {"name": "cache", "mountPath": "/cache"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            # The grading box (bubblewrap) makes user, PID and mount namespaces and mounts a fresh
            # /proc: the runtime's default seccomp and AppArmor profiles forbid the first, its masked
            # /proc the last. The pod itself runs in a user namespace of its own (hostUsers: false),
            # which is what lets Kubernetes unmask its /proc.
            "procMount": "Unmasked",
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
    }
    meta = {"name": f"grade-{assignment}", "labels": {"app": "course-grading", "assignment": assignment}}
    if job.namespace:
        meta["namespace"] = job.namespace
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "completionMode": "Indexed",
            "completions": job.tasks,
            "parallelism": job.tasks,
            "backoffLimitPerIndex": 2,       # a pod that died is retried; its shard skips what is graded
            "ttlSecondsAfterFinished": 7 * 24 * 3600,
            "template": {
                "metadata": {"labels": meta["labels"]},
                "spec": {
                    "restartPolicy": "Never",
                    "hostUsers": False,
                    "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "runAsNonRoot": True,
                                        "fsGroup": 1000},
                    "containers": [container],
                    "volumes": [{"name": "shared", "persistentVolumeClaim": {"claimName": job.claim}},
                                {"name": "cache", "emptyDir": {}}],
                },
            },
        },
    }


def write_k8s(ws: Workspace, assignment: str, job: KubeJob, kernel_threads: int = 1) -> Path:
    """Write the Indexed Job to <workspace>/cluster/ASSIGNMENT-grade.yaml; its path."""
    import yaml

    manifest = k8s_manifest(assignment, job, kernel_threads)
    folder = ws.folder / "cluster"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}-grade.yaml"
    path.write_text(f"# Written by `course cluster k8s`: pod I grades shard I/{job.tasks} of {assignment}.\n"
                    f"# The claim {job.claim} holds workspace/ (submitted/ from `course collect`) and data/.\n"
                    f"# Follow with `course status {assignment}` where the claim is mounted, or\n"
                    f"# `kubectl get pods -l assignment={assignment}`; `course merge {assignment}` after it.\n"
                    + yaml.safe_dump(manifest, sort_keys=False))
    return path


def apply(path: Path) -> str:
    """kubectl apply the manifest; kubectl's reply."""
    if shutil.which("kubectl") is None:
        raise SystemExit("course cluster k8s: kubectl is not on PATH: install it and point it at the cluster, "
                         "or apply the manifest written above yourself")
    run = subprocess.run(["kubectl", "apply", "-f", str(path)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"course cluster k8s: kubectl apply failed: {run.stderr.strip() or run.stdout.strip()} "
                         f"(is the cluster reachable? `kubectl cluster-info` says)")
    return run.stdout.strip()
