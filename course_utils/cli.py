"""`course`: the one command line of the course (instructor and TA side).

    course strip [NOTEBOOK ...]       remove outputs from source/ notebooks (before committing)
    course release [ASSIGNMENT ...]   source/ -> release/ (student) and solutions/
    course corpus [ASSIGNMENT ...]    autograde the sample corpus, check every expected score
    course main                       release + corpus (the README's first command)

TAs (autograder/README.md; --workspace DIR grades elsewhere than autograder/):
    course collect ASSIGNMENT DOWNLOAD [--roster CSV]   an LMS zip or folder -> submitted/
    course autograde ASSIGNMENT [STUDENT ...] [--workers K] [--redo]
    course feedback ASSIGNMENT [STUDENT ...]            HTML per student, hidden tests hidden
    course export [--to grades.csv]                     the grades CSV for the LMS
"""

from __future__ import annotations

import argparse
import sys
import time

from pathlib import Path

from course_utils.tools import corpus, grading, notebooks, release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("strip", help="remove outputs and run-time metadata from notebooks")
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: all of source/)")
    p = sub.add_parser("release", help="regenerate release/ and solutions/ from source/")
    p.add_argument("assignments", nargs="*", help="assignment folders under source/ (default: all)")
    p = sub.add_parser("corpus", help="autograde the sample corpus and check its scores")
    p.add_argument("assignments", nargs="*", help="assignments (default: all)")
    p.add_argument("--workers", type=int, default=0, help="parallel graders (default: [grading] workers)")
    p.add_argument("--all", action="store_true", help="also the cases not yet confirmed in CI")
    sub.add_parser("main", help="release, then corpus")
    grading.add_commands(sub, argparse.ArgumentParser(add_help=False))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command == "strip":
        for path in notebooks.strip_files(args.notebooks or None):
            print(f"stripped {path}")
    if args.command in ("release", "main"):
        release.release_all(getattr(args, "assignments", None) if args.command == "release" else None)
    if args.command in ("corpus", "main"):
        results = corpus.grade(corpus.workspace(), getattr(args, "assignments", None) or None,
                               workers=getattr(args, "workers", 0), everything=getattr(args, "all", False))
        print(corpus.format_table(results))
        if any(results.values()):
            print("course: a sample submission did not score what it should (see 'as expected')", file=sys.stderr)
            return 1
    if args.command in grading.COMMANDS:
        status = grading.run(args)
        if status:
            return status
    print(f"course {args.command}: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
