"""The TA's commands: collect, autograde, feedback, export (wired into `course`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_utils.tools import autograde, box, collect
from course_utils.tools.nbgrader_run import nbgrader
from course_utils.tools.workspace import Workspace

COMMANDS = ("collect", "autograde", "feedback", "export")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    ws = argparse.ArgumentParser(add_help=False, parents=[common])
    ws.add_argument("--workspace", type=Path, help="grading folder (default: autograder/)")
    ws.add_argument("--db", default="", help="gradebook URL (default: $COURSE_DB_URL, else the workspace's SQLite)")
    p = sub.add_parser("collect", parents=[ws], help="an LMS download (zip or folder) -> submitted/")
    p.add_argument("assignment")
    p.add_argument("download", type=Path, help="zip or folder of files named <student>_<anything>")
    p.add_argument("--roster", type=Path, help="CSV id,first_name,last_name,email (imported into the gradebook)")
    p = sub.add_parser("autograde", parents=[ws], help="grade submissions in parallel, resumably")
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="student ids (default: every submission)")
    p.add_argument("--workers", type=int, default=0, help="parallel graders (default: [grading] workers, or cores)")
    p.add_argument("--redo", action="store_true", help="grade again even what is graded and unchanged")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade WITHOUT the bubblewrap box (a trusted demo only: marked in the output and state)")
    p = sub.add_parser("feedback", parents=[ws], help="HTML feedback per student (hidden tests hidden)")
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="student ids (default: all autograded)")
    p = sub.add_parser("export", parents=[ws], help="write the grades CSV for the LMS")
    p.add_argument("--to", type=Path, default=Path("grades.csv"), help="CSV path (default: grades.csv)")


def run(args) -> int:
    """Run one TA command; return the exit status."""
    ws = Workspace.default(args.workspace, args.db)
    if args.command == "collect":
        ids = collect.roster_ids(ws, args.roster)
        found = collect.collect(ws, args.assignment, args.download, ids)
        print(found.summary())
        return 1 if found.unmatched or found.unknown_notebook or found.unreadable else 0
    if args.command == "autograde":
        if args.unsafe_no_sandbox:
            os.environ[box.UNSAFE_ENV] = "1"  # read by this process and by nbgrader's, which inherit it
        outcomes = autograde.autograde(ws, args.assignment, args.students or None, args.workers, args.redo)
        print(autograde.format_outcomes(outcomes))
        failed = [o.student for o in outcomes if o.status == "failed"]
        if failed:
            print(f"course autograde: {len(failed)} submission(s) could not be graded: {', '.join(failed)} "
                  "(see the reasons above; fix and run again: graded ones are skipped)", file=sys.stderr)
            return 1
        return 0
    if args.command == "feedback":
        for only in [["--student", s] for s in args.students] or [[]]:
            nbgrader("generate_feedback", args.assignment, "--force", *only, *ws.options(), root=ws.root)
        print(f"feedback: {ws.folder / 'feedback'}/<student>/{args.assignment}/*.html")
        return 0
    if args.command == "export":
        nbgrader("export", f"--CsvExportPlugin.to={args.to.resolve()}", *ws.options(), root=ws.root)
        print(f"grades: {args.to}")
        return 0
    raise ValueError(args.command)
