"""The TA's commands: collect, autograde, merge, status, cluster, formgrader, feedback, export,
similarity, report (wired into `course`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_utils.tools import autograde, box, collect, feedback, lms_export, similarity
from course_utils.tools.nbgrader_run import nbgrader
from course_utils.tools.workspace import Workspace

COMMANDS = ("collect", "autograde", "merge", "status", "cluster", "formgrader", "feedback", "export", "similarity",
            "report")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    ws = argparse.ArgumentParser(add_help=False, parents=[common])
    ws.add_argument("--workspace", type=Path, help="grading folder (default: autograder/)")
    ws.add_argument("--db", default="", help="gradebook URL (default: $COURSE_DB_URL, else the workspace's SQLite)")
    ws.add_argument("--course", type=Path, help="the course folder: source/, release/, nbgrader_config.py "
                                                "(default: this repository)")
    p = sub.add_parser("collect", parents=[ws], help="an LMS download (zip or folder) -> submitted/")
    p.add_argument("assignment")
    p.add_argument("download", type=Path, help="zip or folder: a Brightspace, Canvas or Moodle download, or "
                                               "files named <student>_<anything>")
    p.add_argument("--roster", type=Path, help="CSV id,first_name,last_name,email and the LMS ids brightspace_id,"
                                               "brightspace_username,canvas_id,moodle_id,moodle_participant "
                                               "(imported into the gradebook, kept in the workspace)")
    p.add_argument("--worksheet", type=Path, help="Moodle: the assignment's grading worksheet (its Download "
                                                  "grading worksheet CSV): a download's participant numbers are "
                                                  "matched to the roster by its emails")
    p.add_argument("--lms", choices=collect.CHOICES, default="auto",
                   help="the download's layout (default: auto, detected from its file names; plain: "
                        "<student>_<anything>)")
    p = sub.add_parser("autograde", parents=[ws], help="grade submissions in parallel, resumably")
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="student ids (default: every submission)")
    p.add_argument("--workers", type=int, default=0, help="parallel graders (default: [grading] workers, or cores)")
    p.add_argument("--redo", action="store_true", help="grade again even what is graded and unchanged")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade WITHOUT the bubblewrap box (a trusted demo only: marked in the output and state)")
    p.add_argument("--shard", help="I/N: grade only shard I (from 0) of N, by student id (one per machine "
                                   "or cluster task, all on one shared workspace)")
    p = sub.add_parser("merge", parents=[ws], help="merge what killed shards graded but did not merge")
    p.add_argument("assignment")
    p = sub.add_parser("status", parents=[ws], help="graded, failed, running and left, with an ETA")
    p.add_argument("assignment")
    p = sub.add_parser("cluster", parents=[ws], help="grade on a cluster, one shard a task: SLURM job-array "
                                                     "scripts, a Kubernetes Indexed Job, or the task itself")
    p.add_argument("kind", choices=["slurm", "k8s", "task"],
                   help="slurm: write (and --submit) the sbatch scripts; k8s: write (and --submit) the Job "
                        "manifest; task: grade this task's shard (what each array task or pod runs)")
    p.add_argument("assignment")
    p.add_argument("--tasks", type=int, required=True, help="tasks (array tasks, pods), one shard each")
    p.add_argument("--cpus", type=int, default=1, help="CPUs per task (default 1)")
    p.add_argument("--workers", type=int, default=0, help="task: parallel graders (default: [grading] workers)")
    p.add_argument("--partition", default="", help="slurm: the partition")
    p.add_argument("--time", default="", help="slurm: time limit per task, as sbatch takes it (e.g. 2:00:00)")
    p.add_argument("--mem", default="", help="memory per task, as sbatch (8G) or Kubernetes (8Gi) takes it")
    p.add_argument("--image", default="", help="k8s: the grading image, built from the Containerfile")
    p.add_argument("--claim", default="course-grading",
                   help="k8s: the PersistentVolumeClaim with workspace/ and data/ (default: course-grading)")
    p.add_argument("--db-secret", default="", help="k8s: a Secret whose key `url` is the Postgres gradebook URL")
    p.add_argument("--namespace", default="", help="k8s: the namespace")
    p.add_argument("--submit", action="store_true", help="sbatch the array and the merge job after it, or "
                                                         "kubectl apply the Job")
    p = sub.add_parser("formgrader", parents=[ws], help="grade written answers in nbgrader's formgrader, "
                                                        "on this workspace's gradebook")
    p.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default: 8866)")
    manual = argparse.ArgumentParser(add_help=False)
    manual.add_argument("--require-manual", action="store_true",
                        help="refuse while a written answer is not graded yet (default: warn and go on)")
    p = sub.add_parser("feedback", parents=[ws, manual], help="HTML feedback per student (hidden tests hidden)")
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="student ids (default: all autograded)")
    p = sub.add_parser("export", parents=[ws, manual], help="write the grades CSV for the LMS")
    p.add_argument("--lms", choices=("nbgrader", *lms_export.LMS), default="nbgrader",
                   help="nbgrader: nbgrader's own CSV (default); brightspace, canvas, moodle: that LMS's grade-import "
                        "CSV, a row per roster student (autograder/README.md)")
    p.add_argument("--to", type=Path, help="CSV path (default: grades.csv, or grades-<lms>.csv)")
    p.add_argument("--assignment", dest="assignments", action="extend", nargs="+", metavar="A",
                   help="only these assignments (default: every assignment in the gradebook)")
    p.add_argument("--per-question", action="store_true",
                   help="a column per graded cell ('<assignment>: <grade id>') instead of per assignment")
    p.add_argument("--missing", choices=lms_export.MISSING,
                   help="the grade of a student without one: empty (no grade: the default) or zero")
    p.add_argument("--item", dest="items", action="append", default=[], metavar="KEY=LABEL",
                   help="the LMS's name of an assignment (or, with --per-question, of '<assignment>: <grade id>'), "
                        "e.g. generative='Generative models (12345)' for Canvas's assignment 12345")
    p = sub.add_parser("similarity", parents=[ws], help="the most similar pairs of submissions (copydetect), "
                                                        "an HTML report and a CSV: it flags, never decides")
    p.add_argument("assignment")
    p.add_argument("--to", type=Path, help="folder for ASSIGNMENT.html and ASSIGNMENT.csv "
                                           "(default: <workspace>/similarity/)")
    p.add_argument("--top", type=_positive, default=similarity.TOP,
                   help=f"pairs shown and printed, at most (default: {similarity.TOP})")
    p.add_argument("--threshold", type=_fraction, default=similarity.THRESHOLD,
                   help="show the pairs whose score (the larger of A->B and B->A) is at least this, from 0 "
                        f"to 1 (default: {similarity.THRESHOLD})")
    p = sub.add_parser("report", parents=[ws], help="one HTML page: scores, questions, why tests failed, time, "
                                                    "memory, incidents, ungraded answers, failed submissions")
    p.add_argument("assignment")
    p.add_argument("--to", type=Path, help="HTML path (default: <workspace>/reports/ASSIGNMENT.html)")


def run(args) -> int:
    """Run one TA command; return the exit status."""
    ws = Workspace.default(args.workspace, args.db, args.course)
    if args.command == "collect":
        try:
            sheet = collect.read_worksheet(args.worksheet) if args.worksheet else None   # before the roster import
            ids = collect.roster_ids(ws, args.roster)
            found = collect.collect(ws, args.assignment, args.download, ids, args.lms, worksheet=sheet)
        except collect.CollectError as e:
            print(f"course collect: {e}", file=sys.stderr)
            return 2
        print(found.summary())
        return 1 if found.unmatched or found.unknown_notebook or found.unreadable else 0
    if args.command == "autograde":
        if args.unsafe_no_sandbox:
            os.environ[box.UNSAFE_ENV] = "1"  # read by this process and by nbgrader's, which inherit it
        try:
            shard = autograde.parse_shard(args.shard) if args.shard else None
        except ValueError as e:
            print(f"course autograde: {e}", file=sys.stderr)
            return 2
        outcomes = autograde.autograde(ws, args.assignment, args.students or None, args.workers, args.redo,
                                       shard=shard)
        print(autograde.format_outcomes(outcomes))
        failed = [o.student for o in outcomes if o.status == "failed"]
        if failed:
            print(f"course autograde: {len(failed)} submission(s) could not be graded: {', '.join(failed)} "
                  "(see the reasons above; fix and run again: graded ones are skipped)", file=sys.stderr)
            return 1
        return 0
    if args.command == "merge":
        merged = autograde.merge_left(ws, args.assignment)
        print(f"merged {len(merged)} submission(s){': ' + ', '.join(merged) if merged else ''}")
        return 0
    if args.command == "status":
        print(autograde.format_status(autograde.status(ws, args.assignment)))
        return 0
    if args.command == "cluster":
        return run_cluster(ws, args)
    if args.command == "formgrader":
        from course_utils.tools import formgrader

        return formgrader.serve(ws, args.port)
    if args.command == "feedback":
        return write_feedback(ws, args.assignment, args.students or None, args.require_manual)
    if args.command == "export":
        return export(ws, args.to or Path("grades.csv" if args.lms == "nbgrader" else f"grades-{args.lms}.csv"),
                      args.require_manual, args.lms, args.assignments, args.per_question, args.missing, args.items)
    if args.command == "similarity":
        return run_similarity(ws, args)
    if args.command == "report":
        from course_utils.tools import report

        try:
            print(report.write_report(ws, args.assignment, args.to))
        except ValueError as e:
            print(f"course report: {e}", file=sys.stderr)
            return 2
        return 0
    raise ValueError(args.command)


def run_cluster(ws: Workspace, args) -> int:
    """`course cluster slurm|k8s|task`; the exit status."""
    from course_utils.config import load_config
    from course_utils.tools import cluster

    threads = load_config()["grading"]["kernel_threads"]
    try:
        if args.kind == "task":
            return cluster.run_task(ws, args.assignment, args.tasks, args.workers)
        if args.kind == "k8s":
            path = cluster.write_k8s(ws, args.assignment, cluster.KubeJob(
                args.tasks, args.image, args.claim, args.db_secret, args.namespace, args.cpus,
                args.mem or "4Gi"), threads)
            print(f"wrote {path} (an Indexed Job of {args.tasks} pods)")
            if args.submit:
                print(cluster.apply(path))
                print(f"follow with `kubectl get pods -l assignment={args.assignment}`, and `course status "
                      f"{args.assignment}` where the claim {args.claim} is mounted")
            return 0
        grade, merge = cluster.write_slurm(ws, args.assignment, cluster.SlurmJob(
            args.tasks, args.cpus, args.partition, args.time, args.mem), threads)
    except ValueError as e:
        print(f"course cluster {args.kind}: {e}", file=sys.stderr)
        return 2
    print(f"wrote {grade} ({args.tasks} tasks) and {merge}")
    if args.submit:   # register here, once: a course nbgrader cannot read fails now, not in N tasks
        autograde.reachable_or_exit(ws)
        autograde.registered(ws, args.assignment, autograde.grader_stamp(ws, args.assignment))
        array, after = cluster.submit(grade, merge)
        print(f"submitted: array {array}, merge {after} after it; follow with `course status "
              f"{args.assignment}` or `squeue -j {array}`")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {value}")
    return value


def run_similarity(ws: Workspace, args) -> int:
    """`course similarity ASSIGNMENT`: the report and the CSV; exit status (2: nothing to compare)."""
    try:
        report = similarity.similarity(ws, args.assignment, args.to, args.top, args.threshold)
    except similarity.SimilarityError as e:
        print(f"course similarity: {e}", file=sys.stderr)
        return 2
    print(similarity.format_report(report))
    return 0


def write_feedback(ws: Workspace, assignment: str, students: list[str] | None = None,
                   require_manual: bool = False) -> int:
    """`course feedback`: HTML per student under <workspace>/feedback/; exit status."""
    if not ungraded_ok(ws, "feedback", [assignment], students, require_manual):
        return 1
    for only in [["--student", s] for s in students or []] or [[]]:
        nbgrader("generate_feedback", assignment, "--force", *only, *ws.options(), root=ws.root)
    print(f"feedback: {ws.folder / 'feedback'}/<student>/{assignment}/*.html")
    return 0


def export(ws: Workspace, to: Path, require_manual: bool = False, lms: str = "nbgrader",
           assignments: list[str] | None = None, per_question: bool = False, missing: str | None = None,
           items: list[str] | None = None) -> int:
    """`course export`: nbgrader's grades CSV (with the roster's names and emails), or with `lms`
    that LMS's grade-import CSV (lms_export.py); exit status."""
    from nbgrader.api import Gradebook

    def refuse(message: str) -> int:
        print(f"course export: {message}", file=sys.stderr)
        return 2

    if lms == "nbgrader" and (per_question or items or missing == "empty"):
        return refuse("--per-question, --item and --missing empty are for --lms brightspace, canvas or moodle "
                      "(nbgrader's CSV has a row per assignment, and 0 for no submission)")
    try:
        labels = dict(_label(item) for item in items or [])
    except ValueError as e:
        return refuse(str(e))
    with Gradebook(ws.gradebook) as gb:
        known = [a.name for a in gb.assignments]
    unknown = [a for a in assignments or [] if a not in known]
    if unknown:
        return refuse(f"no assignment {', '.join(unknown)} in the gradebook ({', '.join(known) or 'none yet'})")
    chosen = list(dict.fromkeys(assignments or known))
    if not ungraded_ok(ws, "export", chosen, None, require_manual):
        return 1
    if lms == "nbgrader":
        only = [f"--ExportPlugin.assignment={a}" for a in chosen] if assignments else []
        nbgrader("export", f"--CsvExportPlugin.to={Path(to).resolve()}", *only, *ws.options(), root=ws.root)
    else:
        try:
            notes = lms_export.export(ws, lms, Path(to), chosen, per_question, missing, labels)
        except lms_export.ExportError as e:
            return refuse(str(e))
        for note in notes:
            print(f"course export: note: {note}", file=sys.stderr)
    print(f"grades: {to}")
    return 0


def _label(item: str) -> tuple[str, str]:
    """--item KEY=LABEL -> (KEY, LABEL); "probe:test_kl" and "probe: test_kl" are the same KEY."""
    key, eq, label = item.partition("=")
    if not eq or not key.strip() or not label.strip():
        raise ValueError(f"--item {item!r}: give KEY=LABEL, e.g. generative='Generative models (12345)'")
    assignment, colon, cell = key.partition(":")
    return (f"{assignment.strip()}: {cell.strip()}" if colon else key.strip()), label.strip()


def ungraded_ok(ws: Workspace, command: str, assignments: list[str], students: list[str] | None,
                require_manual: bool) -> bool:
    """Warn about answers no TA has graded yet (they count 0 until graded); with --require-manual,
    refuse: False means stop."""
    missing = [(s, f"{a}/{nb}", g) for a in assignments for s, nb, g in feedback.ungraded(ws.gradebook, a, students)]
    if not missing:
        return True
    lines = feedback.describe_ungraded(missing)
    if require_manual:
        print(f"course {command}: {len(missing)} answer(s) are not graded yet, and --require-manual was given; "
              f"grade them in formgrader (`course formgrader`) first:\n{lines}", file=sys.stderr)
        return False
    counted = "in this export" if command == "export" else "and show as 'not graded yet'"
    print(f"course {command}: warning: {len(missing)} answer(s) are not graded yet; they count 0 {counted} "
          f"until a TA grades them in formgrader (`course formgrader`):\n{lines}", file=sys.stderr)
    return True
