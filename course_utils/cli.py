"""`course`: the one command line of the course (instructor and TA side).

    course strip [NOTEBOOK ...]       remove outputs from source/ notebooks (before committing)
    course release [ASSIGNMENT ...]   source/ -> release/ (student) and solutions/
    course corpus [ASSIGNMENT ...]    autograde the sample corpus, check every expected score
    course main                       release + corpus (the README's first command)
    course semester                   a new semester: release/ (.py exports, student bundle), solutions/
    course train-readers              retrain the shipped character reader and painter (then release)
    course mutants [ASSIGNMENT ...]   judge every probe check against its catalogue of wrong and right
                                      answers; writes bench/results/mutants.json
    course semester-check [CONFIG ...] [--budget ci|grading]
                                      run every source notebook (solutions, hidden tests) under
                                      each config (default: course.toml and semesters/*.toml)

TAs (autograder/README.md; --workspace DIR grades elsewhere than autograder/):
    course collect ASSIGNMENT DOWNLOAD [--roster CSV] [--lms auto|plain|brightspace|canvas|moodle]
                   [--worksheet CSV]                    an LMS zip or folder -> submitted/ (Moodle: the
                                                        assignment's grading worksheet, to match by email)
    course autograde ASSIGNMENT [STUDENT ...] [--workers K] [--redo] [--shard I/N]
    course merge ASSIGNMENT                             merge what killed shards graded but did not merge
    course status ASSIGNMENT                            graded, failed, running, left, ETA
    course cluster slurm ASSIGNMENT --tasks N [--submit]   the shards as a SLURM job array + merge job
    course cluster k8s ASSIGNMENT --tasks N --image IMG   the shards as a Kubernetes Indexed Job
    course formgrader [--port N]                        grade written answers (nbgrader's formgrader)
    course feedback ASSIGNMENT [STUDENT ...] [--require-manual]   HTML per student, hidden tests hidden
    course export [--lms nbgrader|brightspace|canvas|moodle] [--to FILE] [--assignment A ...]
                  [--per-question] [--missing empty|zero] [--item KEY=LABEL] [--require-manual]
                                                        nbgrader's grades CSV, or an LMS's grade-import CSV
    course similarity ASSIGNMENT [--to DIR] [--top N] [--threshold T]
                                                        the most similar pairs of submissions, HTML and
                                                        CSV (it flags pairs to read; it decides nothing)
    course report ASSIGNMENT [--to report.html]         one HTML page: scores, questions, failures,
                                                        time, memory, incidents, ungraded, failed

Every command takes --config PATH: the semester config to use (default: $COURSE_CONFIG,
else course.toml); nbgrader and the notebooks' kernels inherit it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pathlib import Path

from course_utils.config import CONFIG_ENV, ConfigError, default_config_path, load_config
from course_utils.tools import corpus, grading, notebooks, release, semesters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="semester config (default: $COURSE_CONFIG, else course.toml)")
    p = sub.add_parser("strip", parents=[common], help="remove outputs and run-time metadata from notebooks")
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: all of source/)")
    p = sub.add_parser("release", parents=[common], help="regenerate release/ and solutions/ from source/")
    p.add_argument("assignments", nargs="*", help="assignment folders under source/ (default: all)")
    p = sub.add_parser("corpus", parents=[common], help="autograde the sample corpus and check its scores")
    p.add_argument("assignments", nargs="*", help="assignments (default: all)")
    p.add_argument("--workers", type=int, default=0, help="parallel graders (default: [grading] workers)")
    p.add_argument("--all", action="store_true", help="also the cases not yet confirmed in CI")
    sub.add_parser("main", parents=[common], help="release, then corpus")
    grading.add_commands(sub, common)
    sub.add_parser("semester", parents=[common], help="regenerate every assignment, export and the bundle")
    p = sub.add_parser("semester-check", parents=[common], help="run the source notebooks under semester configs")
    p.add_argument("configs", nargs="*", type=Path, help="configs (default: course.toml, semesters/*.toml)")
    p.add_argument("--budget", choices=("ci", "grading"), default="ci", help="training budget (default: ci)")
    sub.add_parser("train-readers", parents=[common], help="retrain the shipped character reader and painter")
    p = sub.add_parser("mutants", parents=[common], help="mutation-test the checks; write bench/results/mutants.json")
    p.add_argument("assignments", nargs="*", help="assignments (default: all)")
    args = parser.parse_args(argv)

    if args.config:
        os.environ[CONFIG_ENV] = str(args.config.resolve())
    try:  # a bad config is an error naming the key, before anything is written
        config = load_config() if args.command != "strip" else None
        for path in getattr(args, "configs", None) or []:
            load_config(path)
    except ConfigError as e:
        print(f"course: {e}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    if args.command == "strip":
        for path in notebooks.strip_files(args.notebooks or None):
            print(f"stripped {path}")
    if args.command == "semester":
        task = config["arithmetic"]
        print(f"semester {config['semester']['name']} from {default_config_path()}: seed {config['semester']['seed']}, "
              f"operands up to {task['max_number']}, operators {' '.join(task['operators'])}, "
              f"splits {', '.join(map(str, task['splits']))}")
    if args.command in ("release", "main", "semester"):
        release.release_all(getattr(args, "assignments", None) if args.command == "release" else None)
    if args.command == "semester-check":
        runs = semesters.check_semesters(args.configs or ([args.config] if args.config else None), args.budget)
        print(semesters.format_runs(runs))
        if not all(run.ok for run in runs):
            print("course: the reference failed under a semester config (see above)", file=sys.stderr)
            return 1
    if args.command == "train-readers":
        from course_utils.tools.readers import train_readers

        trained = train_readers()
        print(f"reader: {trained['reader_test_accuracy']:.2%} of the embedded sample's unseen test digits; "
              f"the painter's 13 symbols read as {trained['painter_reads']!r}; trained in {trained['seconds']} s")
    if args.command == "mutants":
        from course_utils.checks import mutants

        table, holes = mutants.run(args.assignments or None)
        print(f"mutants: {mutants.write_results(table)}")
        if holes:
            print(f"course: {holes} check(s) let a wrong answer through or failed a right one (see above)",
                  file=sys.stderr)
            return 1
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
