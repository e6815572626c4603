"""`course`: the one command line of the course (instructor and TA side).

    course strip [NOTEBOOK ...]       remove outputs from source/ notebooks (before committing)
    course release [ASSIGNMENT ...]   source/ -> release/ (student) and solutions/
    course roundtrip                  autograde the sample submissions, print the grade table
    course main                       release + roundtrip (the README's first command)
"""

from __future__ import annotations

import argparse
import sys
import time

from pathlib import Path

from course_utils.tools import notebooks, release, roundtrip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("strip", help="remove outputs and run-time metadata from notebooks")
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: all of source/)")
    p = sub.add_parser("release", help="regenerate release/ and solutions/ from source/")
    p.add_argument("assignments", nargs="*", help="assignment folders under source/ (default: all)")
    sub.add_parser("roundtrip", help="autograde the sample submissions and print the grades")
    sub.add_parser("main", help="release, then roundtrip")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command == "strip":
        for path in notebooks.strip_files(args.notebooks or None):
            print(f"stripped {path}")
    if args.command in ("release", "main"):
        release.release_all(getattr(args, "assignments", None) or None)
    if args.command in ("roundtrip", "main"):
        grades = roundtrip.grade_samples()
        print(roundtrip.format_table(grades))
        if not roundtrip.all_as_expected(grades):
            print("course: a sample submission did not score what it should (see 'expected')",
                  file=sys.stderr)
            return 1
    print(f"course {args.command}: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
