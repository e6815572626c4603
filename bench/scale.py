"""Grading a class in shards: M copies of the reference submission graded by 1, 2 and 4 concurrent
`course autograde --shard I/N` processes on this machine, then by a real SLURM array of 2 tasks
merging into a real Postgres gradebook (both started here, as the tests start them).

    .venv/bin/python bench/scale.py [--copies M] [--assignment generative]

Writes bench/results/scale.json:
    {"shards": {"1": {"seconds_per_submission": s}, "2": {"seconds_per_submission": s, "speedup": x}, "4": {..}},
     "overhead_fraction": f, "slurm": {"tasks": 2, "identical_to_unsharded": true, ..},
     "postgres": {"identical_to_sqlite": true}, "projection": {..}}

seconds_per_submission is the wall time from the first shard's start to the last one's end, over M.
A shard's overhead is its wall time outside grading submissions (start, registering the
assignment, merging into the one gradebook, state files); overhead_fraction is the sum over the
2-shard run's shards, over the seconds they spent grading; "overhead" splits it into each
shard's fixed cost (starting, registering the assignment or waiting for the first shard to) and
the merge each submission costs (measured apart), and gives the fraction for a class of 300.
`--merge-cost-from WORKSPACE` measures only the merge, from a workspace a 1-shard run graded,
and updates those figures. The copies' ids are chosen so that
every shard of 1, 2 and 4 gets the same number (shard_of), so the speed-up measures sharding, not
how a small class happens to split; the projection carries the split of a real-sized class.
Every copy must earn the reference's full marks and every run the same grades, or the bench stops.
Goals (issue 18): overhead under 2% per submission, a 2-shard speed-up of at least 1.8 on 2 cores.
Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.config import load_config, repo_root  # noqa: E402
from course_utils.tools import autograde, corpus, grading  # noqa: E402
from course_utils.tools.workspace import Workspace  # noqa: E402
from tests import services  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "scale.json"
WORK = repo_root() / "autograder" / "work"


def balanced_ids(copies: int, shards: int = 4) -> list[str]:
    """`copies` student ids whose shards of `shards` (and so of every divisor) take turns."""
    ids, k = [], 0
    while len(ids) < copies:
        name = f"student{k:03d}"
        if autograde.shard_of(name, shards) == len(ids) % shards:
            ids.append(name)
        k += 1
    return ids


def class_of(assignment: str, ids: list[str]) -> Workspace:
    """A workspace holding the reference submission of `assignment` under every id."""
    ws = Workspace(repo_root(), WORK / "scale-class")
    shutil.rmtree(ws.folder, ignore_errors=True)
    reference = next(c for c in corpus.CASES if c.assignment == assignment and c.name == "reference")
    source = corpus.build(reference, ws)
    for student in ids:
        shutil.copytree(source, ws.submitted(student, assignment))
    shutil.rmtree(ws.submitted(reference.name))
    return ws


def fresh(cls: Workspace, name: str, db_url: str = "") -> Workspace:
    ws = Workspace(cls.root, WORK / f"scale-{name}", db_url)
    shutil.rmtree(ws.folder, ignore_errors=True)
    shutil.copytree(cls.submitted(), ws.submitted())
    return ws


def course(ws: Workspace, *args: str) -> list[str]:
    return [sys.executable, "-m", "course_utils.cli", *args, "--workspace", str(ws.folder),
            *(["--db", ws.db_url] if ws.db_url else [])]


def grade_in_shards(ws: Workspace, assignment: str, n: int) -> dict:
    """Run n shard processes at once, 1 worker each; their wall times and the grading seconds."""
    logs = ws.folder / "logs"
    logs.mkdir(parents=True)
    start = time.perf_counter()
    procs = []
    for i in range(n):
        log = (logs / f"shard-{i}.log").open("w")
        procs.append((i, time.perf_counter(), log, subprocess.Popen(
            course(ws, "autograde", assignment, "--shard", f"{i}/{n}", "--workers", "1"),
            stdout=log, stderr=subprocess.STDOUT, cwd=ws.root)))
    walls = {}
    for i, began, log, proc in procs:
        if proc.wait() != 0:
            raise SystemExit(f"bench: shard {i}/{n} failed: {(logs / f'shard-{i}.log').read_text()[-2000:]}")
        walls[i] = time.perf_counter() - began
        log.close()
    return {"wall": time.perf_counter() - start, "shard_walls": walls}


def grading_seconds(ws: Workspace, assignment: str, ids: list[str], n: int) -> dict[int, float]:
    """Seconds each shard spent grading its submissions (the state files' own measure)."""
    spent = {i: 0.0 for i in range(n)}
    for student in ids:
        state = ws.read_state(assignment, student)
        if state.get("status") != "graded" or not state.get("merged"):
            raise SystemExit(f"bench: {student} is not graded and merged in {ws.folder}: {state.get('reason')}")
        spent[autograde.shard_of(student, n)] += state["seconds"]
    return spent


def grades(ws: Workspace, assignment: str) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook) as gb:
        return {s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(assignment)}


def exported(ws: Workspace, path: Path) -> list[dict]:
    if grading.export(ws, path) != 0:
        raise SystemExit(f"bench: export from {ws.gradebook} failed")
    return sorted(({k: v for k, v in row.items() if k != "timestamp"} for row in csv.DictReader(path.open())),
                  key=lambda row: (row["student_id"], row["assignment"]))


def full_marks(ws: Workspace, assignment: str, ids: list[str]) -> None:
    reference = next(c for c in corpus.CASES if c.assignment == assignment and c.name == "reference")
    for student in ids:
        lost = corpus.compare(dataclasses.replace(reference, name=student), ws)
        if lost:
            raise SystemExit(f"bench: {student} lost points in {ws.folder}: {'; '.join(lost)}")


def squeue_empty(env: dict, *jobs: str) -> bool:
    out = subprocess.run(["squeue", "-h", "-j", ",".join(jobs)], env=env, capture_output=True, text=True).stdout
    return not out.strip()


def slurm_on_postgres(cls: Workspace, assignment: str, tasks: int) -> tuple[Workspace, float, dict]:
    """Grade the class as a SLURM array of `tasks` on a Postgres gradebook; (workspace, wall seconds,
    its grades and export, read while Postgres runs)."""
    with services.slurm_cluster() as env, services.postgres_server() as create:
        ws = fresh(cls, "slurm", create("scale"))
        start = time.perf_counter()
        out = subprocess.run(course(ws, "cluster", "slurm", assignment, "--tasks", str(tasks), "--submit"),
                             env=env, capture_output=True, text=True, cwd=ws.root)
        if out.returncode != 0:
            raise SystemExit(f"bench: course cluster slurm failed: {out.stderr}")
        array, merge = out.stdout.split("submitted: array ")[1].split(",")[0], out.stdout.split(", merge ")[1].split()[0]
        while not squeue_empty(env, array, merge):
            time.sleep(1)
        wall = time.perf_counter() - start
        logs = ws.folder / "cluster" / "logs"
        report = "\n".join(p.read_text() for p in sorted(logs.glob("*")))
        if "failed tasks" in report:
            raise SystemExit(f"bench: a SLURM task failed:\n{report[-3000:]}")
        snapshot = {"grades": grades(ws, assignment), "export": exported(ws, ws.folder / "grades.csv")}
        full_marks(ws, assignment, list(snapshot["grades"]))
    return ws, wall, snapshot


def merge_cost(ws: Workspace, assignment: str, ids: list[str]) -> float:
    """Mean seconds of merging one graded submission into a gradebook (what every shard does per
    submission), measured by merging each of `ids` from the graded workspace into a fresh copy of
    its registered gradebook."""
    import tempfile

    [template] = (ws.folder / "registered" / assignment).glob("*.db")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "gradebook.db"
        shutil.copyfile(template, target)
        autograde.merge(ws.gradebook, f"sqlite:///{target}", assignment, ids[0])   # imports, first connection
        start = time.perf_counter()
        for student in ids[1:]:
            autograde.merge(ws.gradebook, f"sqlite:///{target}", assignment, student)
        return (time.perf_counter() - start) / max(1, len(ids) - 1)


def overheads(result: dict, merge_s: float, grading_s: float) -> None:
    """The overhead per submission, apart: a shard's fixed cost (starting, registering or waiting for
    the first shard to register) and the merge every submission costs; and the fraction they add
    for a class of 300 in 2 shards."""
    two = result["shards"]["2"]
    per_shard = two["overhead_fraction"] * two["grading_seconds_per_submission"] * result["copies"] / 2
    fixed = per_shard - merge_s * result["copies"] / 2
    result["overhead"] = {
        "merge_seconds_per_submission": round(merge_s, 3),
        "merge_fraction": round(merge_s / grading_s, 4),
        "fixed_seconds_per_shard": round(fixed, 1),
        "fraction_300_students_2_shards": round((2 * fixed + 300 * merge_s) / (300 * grading_s), 4),
    }


def largest_shard(students: int, shards: int) -> int:
    """The size of the largest shard of a class of `students` ids (student000 ...) in `shards`."""
    sizes = [0] * shards
    for k in range(students):
        sizes[autograde.shard_of(f"student{k:03d}", shards)] += 1
    return max(sizes)


def projection(per_submission: dict[str, float], efficiency: float, fixed_s: float) -> dict:
    """Hours to grade a class of 300 handing in every assignment, on n nodes of c cores (one shard a
    node, c workers each, the assignments one after the other), from the measured costs: the
    1-worker seconds per submission, the parallel efficiency measured here (2-shard speed-up / 2),
    each shard's fixed cost, and the largest of the n shards 300 ids split into."""
    students, rows = 300, []
    for nodes, cores in ((1, 2), (1, 32), (4, 32), (10, 32), (75, 4)):
        largest = largest_shard(students, nodes)
        rounds = -(-largest // cores)   # a worker grades one submission at a time
        seconds = sum(rounds * s / efficiency + fixed_s for s in per_submission.values())
        rows.append({"nodes": nodes, "cores_per_node": cores, "largest_shard": largest,
                     "hours": round(seconds / 3600, 2)})
    return {"class": students, "seconds_per_submission_1_worker": {a: round(s, 1) for a, s in per_submission.items()},
            "efficiency": round(efficiency, 3), "fixed_seconds_per_shard": round(fixed_s, 1), "rows": rows,
            "memory_note": "each worker's kernel peaks at the peak_kernel_rss_mb of autograde.json: give a "
                           "node that much memory per core it grades on"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--assignment", default="generative")
    parser.add_argument("--merge-cost-from", type=Path, metavar="WORKSPACE",
                        help="only measure the merge cost from a workspace a 1-shard run graded, and update "
                             "the overhead figures of the results with it")
    args = parser.parse_args()
    if args.merge_cost_from:
        result = json.loads(RESULTS.read_text())
        ws = Workspace(repo_root(), args.merge_cost_from.resolve())
        ids = sorted(p.stem for p in (ws.folder / "state" / args.assignment).glob("*.json"))
        overheads(result, merge_cost(ws, args.assignment, ids), result["shards"]["1"]["grading_seconds_per_submission"])
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        return print(json.dumps(result["overhead"], indent=2))
    autograde.sandbox_or_exit()
    ids = balanced_ids(args.copies)
    cls = class_of(args.assignment, ids)

    runs, result = {}, {"shards": {}}
    slurm_ws = None
    for n in (1, 2, 4):
        ws = fresh(cls, f"{n}-shards")
        run = grade_in_shards(ws, args.assignment, n)
        spent = grading_seconds(ws, args.assignment, ids, n)
        full_marks(ws, args.assignment, ids)
        overhead = sum(run["shard_walls"][i] - spent[i] for i in range(n))
        runs[n] = {"ws": ws, **run, "grades": grades(ws, args.assignment), "overhead_s": overhead,
                   "grading_s": sum(spent.values())}
        entry = {"seconds_per_submission": round(run["wall"] / len(ids), 1),
                 "wall_s": round(run["wall"], 1),
                 "grading_seconds_per_submission": round(sum(spent.values()) / len(ids), 1),
                 "overhead_fraction": round(overhead / sum(spent.values()), 4)}
        if n > 1:
            entry["speedup"] = round(runs[1]["wall"] / run["wall"], 2)
            entry["identical_to_unsharded"] = runs[n]["grades"] == runs[1]["grades"]
            if not entry["identical_to_unsharded"]:
                raise SystemExit(f"bench: {n} shards gave other grades than 1")
        result["shards"][str(n)] = entry
        print(f"{n} shard(s): {entry}", flush=True)
        if n == 1:   # the cluster next, so that a cluster that will not start fails early
            merge_s = merge_cost(ws, args.assignment, ids)
            slurm_ws, slurm_wall, snapshot = slurm_on_postgres(cls, args.assignment, 2)
            sqlite_export = exported(ws, ws.folder / "grades.csv")
            result["slurm"] = {"tasks": 2, "gradebook": "postgres", "wall_s": round(slurm_wall, 1),
                               "seconds_per_submission": round(slurm_wall / len(ids), 1),
                               "speedup": round(run["wall"] / slurm_wall, 2),
                               "identical_to_unsharded": snapshot["grades"] == runs[1]["grades"]}
            result["postgres"] = {"shards": 2, "identical_to_sqlite": snapshot["export"] == sqlite_export,
                                  "exported_rows": len(snapshot["export"])}
            print(f"slurm: {result['slurm']}\npostgres: {result['postgres']}", flush=True)

    two = runs[2]
    result["overhead_fraction"] = round(two["overhead_s"] / two["grading_s"], 4)
    fixed = two["overhead_s"] / 2
    per_submission = {args.assignment: runs[1]["grading_s"] / len(ids)}
    previous = json.loads((RESULTS.parent / "autograde.json").read_text())["seconds_per_submission"]
    per_submission.update({a: s for a, s in previous.items() if a != args.assignment})
    result["projection"] = projection(per_submission, result["shards"]["2"]["speedup"] / 2, fixed)
    result.update({"assignment": args.assignment, "copies": len(ids), "workers_per_shard": 1,
                   "kernel_threads": load_config()["grading"]["kernel_threads"],
                   "goals": {"overhead_fraction_max": 0.02, "speedup_2_shards_min": 1.8},
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                   "sandbox": autograde.sandbox_or_exit()})
    overheads(result, merge_s, runs[1]["grading_s"] / len(ids))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    for n in runs:
        shutil.rmtree(runs[n]["ws"].folder, ignore_errors=True)
    shutil.rmtree(slurm_ws.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
