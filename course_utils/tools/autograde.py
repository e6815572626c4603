"""Autograde many submissions in parallel, into one gradebook, resumably.

    autograde(ws, "seq2seq", workers=2)

1. register the assignment's grade cells in the workspace's gradebook (and in one scratch
   SQLite gradebook per worker);
2. grade each submission not yet graded (or changed since) with its own
   `nbgrader autograde` run in a free worker slot, k at a time;
3. merge each finished submission's grades from the worker's gradebook into the main one
   through nbgrader's Gradebook API, then record the state file that marks it done.

A run killed halfway resumes where it stopped: a submission is done only once its state
file says its grades were merged; merging overwrites the autograded fields of that
submission's cells, so nothing is lost or counted twice. Manual grades already given are
kept. A submission graded but not merged (killed in between) is merged by the next run, or
by `merge_left` (`course merge`), from the worker's gradebook its state names.

Shards: `shard=(i, n)` grades only the submissions whose student id hashes to shard i of n
(`shard_of`: the same slice on every run and machine), so n processes on machines that share
the workspace grade a class between them; they merge one at a time (`gradebook_lock`), and
`status` shows, from any of them, what is graded, failed, running and left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.config import load_config
from course_utils.tools import box
from course_utils.tools.nbgrader_run import gradebook, grading_env, nbgrader
from course_utils.tools.workspace import Workspace


@dataclass
class Outcome:
    student: str
    status: str                      # graded | failed | skipped (already graded, unchanged)
    seconds: float = 0.0
    reason: str = ""
    notebooks: list[dict] = field(default_factory=list)   # the grader's report per notebook


def grader_stamp(ws: Workspace, assignment: str) -> str:
    """sha256 over what grades `assignment`: the source notebooks with their hidden tests, the
    nbgrader config, every module of course_utils (the checks, the loaders and models a
    notebook imports, the grader) and the semester config."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in [*sorted((ws.root / "source" / assignment).glob("*.ipynb")), ws.root / "nbgrader_config.py",
                 *sorted(package.rglob("*.py"))]:
        if path.exists():
            digest.update(path.read_bytes())
    digest.update(repr(load_config()).encode())
    digest.update(b"UNSAFE: no sandbox" if box.unsafe() else b"box")  # a demo grade is never kept as real
    return digest.hexdigest()


def fingerprint(ws: Workspace, assignment: str, student: str, stamp: str) -> str:
    """sha256 over the submission's files and the grader's `stamp`: a change to either means grading again."""
    folder = ws.submitted(student, assignment)
    digest = hashlib.sha256(stamp.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N): shard I of N, counted from 0; ValueError saying how to write one."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r} is not I/N: write the shard's number I (from 0) and the number of "
                         f"shards N, e.g. --shard 0/2 and --shard 1/2 for two halves") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: the shard's number must be 0 to N - 1 and N at least 1 "
                         f"(the shards of {max(n, 1)} are {', '.join(f'{k}/{max(n, 1)}' for k in range(min(max(n, 1), 4)))}"
                         f"{', ...' if n > 4 else ''})")
    return i, n


def shard_of(student: str, n: int) -> int:
    """The shard (0 to n - 1) that grades `student`: from the id alone, the same on every run and machine."""
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % n


@contextlib.contextmanager
def gradebook_lock(ws: Workspace):
    """One writer at a time into the workspace's gradebook, across the processes (and machines) that
    share the workspace folder: shards register and merge under it."""
    import fcntl

    with open(ws.folder / "gradebook.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def register(ws: Workspace, assignment: str, db_url: str = "") -> None:
    """Record the assignment's grade cells in a gradebook (nbgrader generate_assignment, release discarded)."""
    with tempfile.TemporaryDirectory() as scratch:
        nbgrader("generate_assignment", assignment, "--force", f"--CourseDirectory.db_url={db_url or ws.gradebook}",
                 f"--CourseDirectory.release_directory={scratch}", root=ws.root)


def registered(ws: Workspace, assignment: str, grader: str) -> Path:
    """Register `assignment` in the workspace's gradebook, once per grader stamp (every shard after
    the first finds it done); the path of an empty SQLite gradebook holding the same registration,
    which each worker's scratch gradebook copies instead of running nbgrader again."""
    folder = ws.folder / "registered" / assignment
    template = folder / f"{grader[:20]}.db"
    done = folder / "gradebook.sha256"     # which gradebook (a hash: its URL may hold a password) and grader
    key = hashlib.sha256(f"{ws.gradebook}\n{grader}".encode()).hexdigest()
    with gradebook_lock(ws), ThreadPoolExecutor(2) as pool:   # two nbgrader runs at once, where both are due
        runs, partial = [], None
        if not template.exists():
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.db"):
                old.unlink()
            partial = folder / f".{os.getpid()}.partial.db"
            partial.unlink(missing_ok=True)
            runs.append(pool.submit(register, ws, assignment, f"sqlite:///{partial}"))
        main = not (done.exists() and done.read_text() == key and _has_assignment(ws.gradebook, assignment))
        if main:
            runs.append(pool.submit(register, ws, assignment))
        for run in runs:
            run.result()
        if partial is not None:
            os.replace(partial, template)
        if main:
            done.write_text(key)
    return template


def _has_assignment(url: str, assignment: str) -> bool:
    """Whether the gradebook at `url` holds `assignment` (a gradebook made anew since holds nothing)."""
    from nbgrader.api import MissingEntry

    with gradebook(url) as gb:
        try:
            return bool(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def submitted_students(ws: Workspace, assignment: str) -> list[str]:
    folder = ws.submitted()
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir()) if folder.is_dir() else []


def merge(src_url: str, dst_url: str, assignment: str, student: str) -> None:
    """Copy one submission's autograded scores and comments from gradebook `src_url` into `dst_url`."""
    import warnings

    from sqlalchemy.exc import SAWarning

    with gradebook(src_url) as src, gradebook(dst_url) as dst, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own add_submission, harmless
        sub = src.find_submission(assignment, student)
        dst.update_or_create_student(student)  # the roster's names and emails stay: the scratch book has none
        dst.update_or_create_submission(assignment, student, timestamp=sub.timestamp)
        for nb in sub.notebooks:
            target = dst.find_submission_notebook(nb.name, assignment, student)
            target.late_submission_penalty = nb.late_submission_penalty
            for grade in nb.grades:
                mine = dst.find_grade(grade.name, nb.name, assignment, student)
                mine.auto_score = grade.auto_score
                if mine.manual_score is None:
                    mine.needs_manual_grade = grade.needs_manual_grade
            for comment in nb.comments:
                dst.find_comment(comment.name, nb.name, assignment, student).auto_comment = comment.auto_comment
        dst.db.commit()


def _read_report(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _grade_one(ws: Workspace, assignment: str, student: str, slot_db: str, threads: int,
               limit_s: float, extra: list[str]) -> Outcome:
    """One `nbgrader autograde` run for one student into a worker's gradebook."""
    report = ws.state_file(assignment, student).with_suffix(".report.jsonl")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    env = grading_env(COURSE_GRADING_REPORT=str(report), COURSE_KERNEL_THREADS=str(threads))
    cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force",
           "--create", *ws.options(slot_db), *extra]
    start = time.perf_counter()
    try:
        run = subprocess.run(cmd, cwd=ws.root, env=env, capture_output=True, text=True, timeout=limit_s)
        failed = run.returncode != 0
        errors = [ln for ln in (run.stdout + run.stderr).splitlines() if "| ERROR]" in ln]
        reason = " / ".join(errors[:3])[:500]
    except subprocess.TimeoutExpired:
        failed, reason = True, f"nbgrader did not finish within {limit_s:.0f} s"
    seconds = time.perf_counter() - start
    return Outcome(student, "failed" if failed else "graded", seconds, reason, _read_report(report))


def default_workers(grading: dict | None = None) -> int:
    """[grading] workers, else as many as the cores hold kernels of kernel_threads threads each."""
    grading = grading or load_config()["grading"]
    return grading["workers"] or max(1, (os.cpu_count() or 1) // grading["kernel_threads"])


def sandbox_or_exit() -> str:
    """What submissions are graded in: the box (bubblewrap's version), or, when explicitly asked
    ($COURSE_UNSAFE_NO_SANDBOX=1), nothing, said loudly. Exits with how to install the box if missing."""
    if box.unsafe():
        print("course autograde: UNSAFE (--unsafe-no-sandbox): student code runs with YOUR privileges, "
              "network and files. Only for trusted notebooks; every state file says so.", file=sys.stderr)
        return "UNSAFE: no sandbox"
    try:
        return f"bubblewrap {box.probe()}"
    except box.BoxUnavailable as err:
        raise SystemExit(f"course autograde: {err}") from None


def warm_shared_cache(ws: Workspace, assignment: str) -> None:
    """Train, once and here (trusted), the models every box of `assignment` would otherwise train for
    itself: the Fréchet feature classifier, on the budget the boxes grade on. Cached in the grader's
    cache, it is bound read-only into each box (box.SHARED_CACHE). A subprocess, so that TensorFlow
    stays out of this one."""
    notebooks = (ws.root / "release" / assignment).glob("*.ipynb")
    if not any("load_feature_classifier" in nb.read_text() for nb in notebooks):
        return
    from course_utils.models.frechet import feature_classifier_path

    mode = os.environ.get("COURSE_BUDGET") or "grading"
    examples = load_config()["generative"]["sizes"]["feature_examples"][mode]
    if examples > 0 and feature_classifier_path(examples).is_file():
        return   # trained by an earlier run: every shard and cluster task would pay ~10 s to load it
    code = ("from course_utils.models.frechet import load_feature_classifier; "
            f"load_feature_classifier(max_train_examples={int(examples)})")
    run = subprocess.run([sys.executable, "-c", code], cwd=ws.root, env=grading_env(), capture_output=True,
                         text=True)
    if run.returncode != 0:  # each box then trains its own: slower, still right
        print(f"course autograde: could not train the Fréchet feature classifier once for all boxes "
              f"({run.stderr.strip().splitlines()[-1:]}); each submission trains its own", file=sys.stderr)


def autograde(ws: Workspace, assignment: str, students: list[str] | None = None, workers: int = 0,
              redo: bool = False, extra: list[str] = (), progress: bool = True,
              grading: dict | None = None, shard: tuple[int, int] | None = None) -> list[Outcome]:
    """Grade the named students' submissions of `assignment` (default: all; with `shard` (i, n), only
    those of shard i of n) with `workers` in parallel, each kernel in a grading box of its own
    (box.py). `grading` holds the limits (course.toml's [grading] by default)."""
    from tqdm.auto import tqdm

    sandbox = sandbox_or_exit()
    grading = grading or load_config()["grading"]
    workers = workers or default_workers(grading)
    reachable_or_exit(ws)
    writable_or_exit(ws)
    available = submitted_students(ws, assignment)
    missing = sorted(set(students or []) - set(available))
    if missing:
        raise SystemExit(f"course autograde: no submission of {assignment} for {', '.join(missing)} "
                         f"in {ws.submitted()} (run `course collect` first)")
    chosen = [s for s in students or available if shard is None or shard_of(s, shard[1]) == shard[0]]
    merge_left(ws, assignment)
    outcomes, todo = [], []
    grader = grader_stamp(ws, assignment)
    for student in chosen:
        stamp = fingerprint(ws, assignment, student, grader)
        state = ws.read_state(assignment, student)
        if (not redo and state.get("status") == "graded" and state.get("merged", True)
                and state.get("fingerprint") == stamp):
            outcomes.append(Outcome(student, "skipped", state.get("seconds", 0.0), "already graded"))
        else:
            todo.append((student, stamp))
    if not todo:
        return outcomes

    template = registered(ws, assignment, grader)
    if not box.unsafe():  # unboxed kernels share the grader's cache anyway
        warm_shared_cache(ws, assignment)
    workers = min(workers, len(todo))
    slots_dir = Path(tempfile.mkdtemp(prefix="slots-", dir=ws.folder))
    slots: queue.Queue[str] = queue.Queue()
    for i in range(workers):   # scratch gradebooks, one per worker
        shutil.copyfile(template, slots_dir / f"worker-{i}.db")
        slots.put(f"sqlite:///{slots_dir / f'worker-{i}.db'}")

    n_notebooks = max(1, len(list((ws.root / "release" / assignment).glob("*.ipynb"))))
    limit_s = grading["notebook_timeout"] * n_notebooks + 300  # the notebook deadline is enforced inside
    threads = grading["kernel_threads"]  # the same for any number of workers: grades must not depend on it

    def job(student: str) -> tuple[Outcome, str]:
        url = slots.get()
        running = ws.running_file(assignment, student)
        running.parent.mkdir(parents=True, exist_ok=True)
        running.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "shard": shard,
                                       "started": time.time()}))
        try:
            return _grade_one(ws, assignment, student, url, threads, limit_s, list(extra)), url
        finally:
            slots.put(url)

    bar = tqdm(total=len(todo), unit="submission", desc=f"autograde {assignment}", disable=not progress)
    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = {pool.submit(job, student): (student, stamp) for student, stamp in todo}
            for future in as_completed(futures):
                student, stamp = futures[future]
                outcome, url = future.result()
                state = {"fingerprint": stamp, "status": outcome.status, "seconds": round(outcome.seconds, 1),
                         "reason": outcome.reason, "sandbox": sandbox, "notebooks": outcome.notebooks,
                         "merged": outcome.status != "graded", "scratch": url}
                ws.write_state(assignment, student, state)   # graded, not yet merged: merge_left finishes it
                if outcome.status == "graded":
                    with gradebook_lock(ws):
                        merge(url, ws.gradebook, assignment, student)
                    ws.write_state(assignment, student, {**state, "merged": True})
                ws.running_file(assignment, student).unlink(missing_ok=True)
                outcomes.append(outcome)
                bar.set_postfix_str(f"{student}: {outcome.status}", refresh=False)
                bar.update(1)
    finally:
        bar.close()
        for student, _ in todo:   # this run's markers go, whatever stopped it
            ws.running_file(assignment, student).unlink(missing_ok=True)
        if not any(not ws.read_state(assignment, s).get("merged", True) for s, _ in todo):
            for path in slots_dir.glob("*"):
                path.unlink()
            slots_dir.rmdir()
        # else (interrupted while merging): the scratch gradebooks stay for merge_left (`course merge`)
    return sorted(outcomes, key=lambda o: o.student)


def reachable_or_exit(ws: Workspace) -> None:
    """Stop, naming the fix, when the gradebook is a database server this process cannot reach (a
    SQLite file is made where it is missing)."""
    if not ws.db_url or ws.db_url.startswith("sqlite"):
        return
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(ws.db_url)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - any driver's error: a missing driver, a refused connection
        reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        safe = sqlalchemy.engine.make_url(ws.db_url).render_as_string(hide_password=True) if "://" in ws.db_url else ws.db_url
        raise SystemExit(f"course autograde: cannot reach the gradebook {safe} ({reason}): start the database, or "
                         f"fix --db / $COURSE_DB_URL (postgresql+psycopg://user@host:port/database)") from None


def writable_or_exit(ws: Workspace) -> None:
    """Stop, naming the fix, before grading into a workspace this process cannot write."""
    try:
        ws.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=ws.folder, prefix=".writable-"):
            pass
    except OSError as e:
        raise SystemExit(f"course autograde: cannot write the workspace {ws.folder} ({e.strerror}): every shard "
                         f"writes its state and scratch gradebooks there; give this user write access, or pass "
                         f"--workspace a shared folder it can write") from None


def merge_left(ws: Workspace, assignment: str) -> list[str]:
    """Merge every submission that was graded but not merged (a run killed in between), from the
    worker's gradebook its state names; one whose gradebook is gone is left to be graded again.
    Returns the students merged."""
    merged = []
    folder = ws.folder / "state" / assignment
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        state = json.loads(path.read_text())
        if state.get("status") != "graded" or state.get("merged", True):
            continue
        student = path.stem
        scratch = Path(state.get("scratch", "").removeprefix("sqlite:///"))
        if not scratch.is_file():
            ws.write_state(assignment, student, {**state, "status": "lost", "reason": "graded, but its scratch "
                                                 "gradebook is gone before the merge: graded again next run"})
            continue
        with gradebook_lock(ws):
            merge(state["scratch"], ws.gradebook, assignment, student)
        ws.write_state(assignment, student, {**state, "merged": True})
        merged.append(student)
    return merged


def status(ws: Workspace, assignment: str) -> dict:
    """What is graded, failed, running and left of `assignment`, from the workspace alone (any machine
    that shares it): counts, the running students, and an ETA from the mean seconds of those graded."""
    states = {s: ws.read_state(assignment, s) for s in submitted_students(ws, assignment)}
    running_dir = ws.folder / "running" / assignment
    running = sorted(p.stem for p in running_dir.glob("*.json") if _alive(p)) if running_dir.is_dir() else []
    graded = [s for s, st in states.items() if st.get("status") == "graded" and st.get("merged", True)]
    failed = [s for s, st in states.items() if st.get("status") == "failed" and s not in running]
    left = [s for s in states if s not in graded and s not in failed and s not in running]
    seconds = [states[s]["seconds"] for s in graded if states[s].get("seconds")]
    mean = sum(seconds) / len(seconds) if seconds else None
    eta = None if mean is None else mean * (len(left) + len(running) / 2) / max(1, len(running))
    return {"assignment": assignment, "submissions": len(states), "graded": len(graded), "failed": failed,
            "running": running, "left": len(left), "mean_seconds": mean, "eta_seconds": eta}


def _alive(marker: Path) -> bool:
    """Whether the grader that wrote a running marker may still run: on this host, its pid lives;
    on another host there is no telling, so yes."""
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if info.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(info.get("pid", 0)), 0)
    except (OSError, ValueError):
        return False
    return True


def format_status(st: dict) -> str:
    """`status` as the lines `course status` prints."""
    eta = "unknown (nothing graded yet)" if st["eta_seconds"] is None else (
        f"about {st['eta_seconds'] / 60:.0f} min at {max(1, len(st['running']))} running "
        f"({st['mean_seconds']:.0f} s per submission)")
    lines = [f"{st['assignment']}: {st['submissions']} submissions: {st['graded']} graded, {len(st['failed'])} failed, "
             f"{len(st['running'])} running, {st['left']} left; done in {eta}"]
    if st["running"]:
        lines.append(f"running: {', '.join(st['running'])}")
    if st["failed"]:
        lines.append(f"failed (course autograde {st['assignment']} {' '.join(st['failed'])} grades them again): "
                     f"{', '.join(st['failed'])}")
    return "\n".join(lines)


def format_outcomes(outcomes: list[Outcome]) -> str:
    """One line per submission: status, seconds, and what the grader noticed."""
    lines = []
    for o in outcomes:
        notes = [o.reason] if o.reason and o.status != "skipped" else []
        for nb in o.notebooks:
            notes += [f"{nb['notebook']}: {i}" for i in nb.get("incidents", [])]
        if any(nb.get("box", "").startswith("UNSAFE") for nb in o.notebooks):
            notes.insert(0, "UNSAFE: graded without the sandbox")
        lines.append(f"{o.student:24} {o.status:8} {o.seconds:7.1f} s  " + "; ".join(notes))
    return "\n".join(lines)
