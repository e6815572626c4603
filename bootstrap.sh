#!/usr/bin/env bash
# Set up the course on a fresh machine and run its main job.
#   1. a virtual environment at .venv/ with the pinned dependencies and course_utils
#   2. bubblewrap, the sandbox every submission is graded in (installed with apt-get as root)
#   3. `course main`: regenerate release/ and solutions/ from source/, then grade the
#      reference solutions on the embedded default data and print the grade table.
# Needs only Python 3.11 and pip. Safe to run again: it reuses .venv/.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'

start=$(date +%s)
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  tensorflow="tensorflow[and-cuda]==2.21.0"      # a GPU is present
else
  tensorflow="tensorflow-cpu==2.21.0"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock "$tensorflow"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
echo "bootstrap: environment ready in $(( $(date +%s) - start )) s ($tensorflow)"

if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing bubblewrap (the grading sandbox)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "bootstrap: .venv/ is ready for the notebooks, but grading (the main job) needs bubblewrap:" \
         "install it (Debian/Ubuntu: sudo apt-get install bubblewrap) and run this again" >&2
    exit 1
  fi
fi
.venv/bin/course main
