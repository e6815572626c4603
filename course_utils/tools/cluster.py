"""`course cluster slurm`: grade a class as a SLURM job array, one shard per task.

    course cluster slurm ASSIGNMENT --tasks N [--partition P --time T --mem M --cpus C] [--submit]

writes, under <workspace>/cluster/,

    ASSIGNMENT-grade.sbatch   an array of N tasks; task I runs `course autograde ASSIGNMENT
                              --shard I/N` on the shared workspace and records its exit status
    ASSIGNMENT-merge.sbatch   after the array (--dependency=afterany): `course merge`, `course
                              status`, and the tasks that failed, with the sbatch line that
                              reruns just them

and with --submit hands both to sbatch. Every task grades with the same kernel threads and
budgets as one `course autograde`, so the grades are the same; a task cancelled or killed
loses nothing that its rerun does not grade again (autograde.py: state files, merge_left).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course_utils.tools.workspace import Workspace


@dataclass(frozen=True)
class SlurmJob:
    tasks: int
    cpus: int = 1
    partition: str = ""
    time: str = ""
    mem: str = ""


def _course(ws: Workspace, *args: str, shard_of: int = 0) -> str:
    """The shell line that runs `course ARGS` on this course and workspace (with `shard_of` N, also
    --shard "$SLURM_ARRAY_TASK_ID/N", expanded by the task's shell)."""
    where = ["--course", str(ws.root), "--workspace", str(ws.folder)] + (["--db", ws.db_url] if ws.db_url else [])
    line = shlex.join([sys.executable, "-m", "course_utils.cli", *args, *where])
    return line + (f' --shard "$SLURM_ARRAY_TASK_ID/{shard_of}"' if shard_of else "")


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
        _course(ws, "autograde", assignment, "--workers", str(workers), shard_of=job.tasks),
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
