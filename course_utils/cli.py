"""`course`: the one command line of the course (instructor and TA side).

    course release [ASSIGNMENT ...]   source/ -> release/ (student) and solutions/
    course roundtrip                  grade the reference solutions, print the grade table
    course main                       release + roundtrip (the README's first command)
"""

from __future__ import annotations

import argparse
import sys
import time

from course_utils.tools import release, roundtrip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate release/ and solutions/ from source/")
    p.add_argument("assignments", nargs="*", help="assignment folders under source/ (default: all)")
    sub.add_parser("roundtrip", help="autograde the reference solutions and print the grades")
    sub.add_parser("main", help="release, then roundtrip")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.command in ("release", "main"):
        release.release_all(getattr(args, "assignments", None) or None)
    if args.command in ("roundtrip", "main"):
        table = roundtrip.grade_references()
        print(roundtrip.format_table(table))
        if not roundtrip.all_full_marks(table):
            print("course: the reference solutions did not score full marks", file=sys.stderr)
            return 1
    print(f"course {args.command}: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
