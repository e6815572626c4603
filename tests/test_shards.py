"""Shards: `course autograde --shard I/N` grades a stable slice of the class by student id, so
that N processes (machines, cluster tasks) sharing one workspace grade it between them, with
the same grades as one run; a shard interrupted between grading and merging loses and
doubles nothing (`course merge`); `course status` shows the progress from the workspace.
On the tiny course of test_grading.py."""

from __future__ import annotations

import csv
import json
import shutil
import threading
from pathlib import Path

import pytest

from course_utils import cli
from course_utils.tools import autograde, grading
from course_utils.tools.workspace import Workspace
from tests.test_grading import GOOD, GRADING, WRONG, course_with, scores

STUDENTS = {f"s{i:02d}": GOOD if i % 2 else WRONG for i in range(4)}   # shard 0 of 2: s01; 1: the rest


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return course_with(tmp_path_factory.mktemp("course") / "course", STUDENTS)


def _workspace(course: Workspace, name: str) -> Workspace:
    """A fresh workspace of the course holding a copy of its submissions."""
    ws = Workspace(course.root, course.root / name)
    shutil.copytree(course.submitted(), ws.submitted())
    return ws


def _submission_rows(ws: Workspace) -> list[str]:
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook) as gb:
        return sorted(s.student.id for s in gb.assignment_submissions("probe"))


def test_a_shard_is_written_i_of_n_and_a_wrong_one_stops_before_writing(tmp_path, capsys):
    assert autograde.parse_shard("1/3") == (1, 3)
    for bad in ("3/2", "0/0", "-1/2", "a/b", "2", "1/2/3"):
        with pytest.raises(ValueError, match="--shard"):
            autograde.parse_shard(bad)
    folder = tmp_path / "untouched"
    assert cli.main(["autograde", "probe", "--shard", "3/2", "--workspace", str(folder)]) == 2
    assert "0/2, 1/2" in capsys.readouterr().err and not folder.exists()


def test_the_shards_split_a_class_the_same_way_everywhere():
    ids = [f"student{i:03d}" for i in range(300)]
    for n in (1, 2, 3, 8):
        shards = [autograde.shard_of(s, n) for s in ids]
        assert set(shards) == set(range(n)) and min(shards.count(k) for k in range(n)) > 300 / n / 2
    assert [autograde.shard_of(s, 4) for s in ("alice", "bob", "s00", "s01")] == [3, 2, 3, 2]   # pinned: stable


def test_two_concurrent_shards_give_the_grades_of_one_run(course):
    one = _one_run(course)
    two = _workspace(course, "two")
    graded = {}

    def shard(i):
        outcomes = autograde.autograde(two, "probe", workers=1, progress=False, grading=GRADING, shard=(i, 2))
        graded[i] = {o.student for o in outcomes if o.status == "graded"}

    threads = [threading.Thread(target=shard, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert graded[0] and graded[1] and not graded[0] & graded[1] and graded[0] | graded[1] == set(STUDENTS)
    assert {s: scores(two, s) for s in STUDENTS} == {s: scores(one, s) for s in STUDENTS}
    assert _submission_rows(two) == sorted(STUDENTS)
    st = autograde.status(two, "probe")
    assert (st["graded"], st["failed"], st["running"], st["left"]) == (4, [], [], 0)


def _one_run(course: Workspace) -> Workspace:
    """The unsharded run on SQLite (graded once per module)."""
    one = Workspace(course.root, course.root / "one")
    if not one.folder.exists():
        shutil.copytree(course.submitted(), one.submitted())
    autograde.autograde(one, "probe", workers=2, progress=False, grading=GRADING)
    return one


def _export_rows(ws: Workspace, path: Path) -> list[dict]:
    assert grading.export(ws, path) == 0
    return sorted(({k: v for k, v in row.items() if k != "timestamp"} for row in csv.DictReader(path.open())),
                  key=lambda row: row["student_id"])


@pytest.mark.slow
def test_concurrent_shards_merge_into_a_real_postgres_gradebook_as_into_sqlite(course, postgres, tmp_path):
    one = _one_run(course)
    pg = Workspace(course.root, course.root / "postgres", postgres("shards"))
    shutil.copytree(course.submitted(), pg.submitted())
    threads = [threading.Thread(target=autograde.autograde, args=(pg, "probe"),
                                kwargs=dict(workers=1, progress=False, grading=GRADING, shard=(i, 2)))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {s: scores(pg, s) for s in STUDENTS} == {s: scores(one, s) for s in STUDENTS}
    assert _submission_rows(pg) == sorted(STUDENTS)
    assert _export_rows(pg, tmp_path / "pg.csv") == _export_rows(one, tmp_path / "sqlite.csv")


def test_a_shard_stopped_while_merging_loses_and_doubles_nothing(course, monkeypatch):
    ws = _workspace(course, "interrupted")
    real_merge, calls = autograde.merge, []

    def merge_then_stop(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt   # the TA's Ctrl-C, or a cluster's SIGINT, in the middle of the merges
        return real_merge(*args)

    monkeypatch.setattr(autograde, "merge", merge_then_stop)
    with pytest.raises(KeyboardInterrupt):
        autograde.autograde(ws, "probe", workers=1, progress=False, grading=GRADING, shard=(1, 2))
    monkeypatch.setattr(autograde, "merge", real_merge)
    first, stopped = calls[0][3], calls[1][3]
    state = ws.read_state("probe", stopped)
    assert state["status"] == "graded" and state["merged"] is False and Path(state["scratch"][10:]).is_file()
    assert stopped not in _submission_rows(ws)
    st = autograde.status(ws, "probe")
    assert st["graded"] == 1 and st["left"] == 3

    assert cli.main(["merge", "probe", "--workspace", str(ws.folder)]) == 0   # what `course merge` does
    assert ws.read_state("probe", stopped)["merged"] is True
    assert scores(ws, stopped) == {"test_interp": 2 if STUDENTS[stopped] == GOOD else 0, "test_after": 1}
    again = autograde.autograde(ws, "probe", workers=2, progress=False, grading=GRADING)
    assert {o.student for o in again if o.status == "graded"} == set(STUDENTS) - {first, stopped}
    assert _submission_rows(ws) == sorted(STUDENTS)   # one row each: nothing doubled


def test_status_counts_a_dead_graders_marker_as_left(course, tmp_path):
    ws = _workspace(course, "status")
    marker = ws.running_file("probe", "s00")
    marker.parent.mkdir(parents=True)
    import socket

    marker.write_text(json.dumps({"host": socket.gethostname(), "pid": 2 ** 22 + 7, "shard": [0, 2]}))
    st = autograde.status(ws, "probe")
    assert st["running"] == [] and st["left"] == 4 and st["eta_seconds"] is None
    assert "4 left" in autograde.format_status(st)


def test_a_workspace_the_shard_cannot_write_is_an_error_naming_the_fix(course, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(SystemExit, match="cannot write the workspace"):
        autograde.autograde(Workspace(course.root, blocked / "ws"), "probe", progress=False, grading=GRADING)


def test_a_gradebook_server_that_cannot_be_reached_is_an_error_naming_the_fix(course, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ws = Workspace(course.root, tmp_path / "ws", f"postgresql+psycopg://course:secret@127.0.0.1:{port}/grades")
    with pytest.raises(SystemExit, match="cannot reach the gradebook") as stopped:
        autograde.autograde(ws, "probe", progress=False, grading=GRADING)
    assert "secret" not in str(stopped.value) and "--db" in str(stopped.value)
    assert not ws.folder.exists()   # nothing written


def test_submitting_without_slurm_says_where_to_run_it(course, tmp_path, monkeypatch, capsys):
    from course_utils.tools import cluster

    grade, merge = cluster.write_slurm(Workspace(course.root, tmp_path / "ws"), "probe", cluster.SlurmJob(2))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="sbatch is not on PATH"):
        cluster.submit(grade, merge)

