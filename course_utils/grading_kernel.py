"""The kernel that runs a student notebook while grading.

    python -m course_utils.grading_kernel -f CONNECTION_FILE

runs inside the grading box (course_utils/tools/box.py: bubblewrap, unprivileged, no
network, only the box bundle of course_utils: the student bundle and the grading agent)
and starts ipykernel after two steps:

1. the environment: TensorFlow on oneDNN (its default, as on students' laptops, and
   about 20% faster on convolutions) with its C++ log off, and the thread count the
   autograde worker was given (`COURSE_KERNEL_THREADS`); the submission's files are
   copied from the box's read-only `/submission` into its working folder;
2. imports: the working folder is not on `sys.path`, and numpy, TensorFlow/Keras and the
   grading agent are imported from the installed environment, so a `course_utils/` or
   `numpy.py` handed in beside the notebook shadows nothing.

There is nothing in the kernel to guard: no check and no verdict runs here. Hidden tests
only ask the grading agent to run the student's functions on the grader's inputs; the
grader decides outside the box (course_utils.tools.verdicts), so student code that
rebinds anything in its kernel can change only the outputs it hands in, and breaking its
own imports only fails its own hidden tests. The memory cap, timeouts, file, disk and
process limits are applied from outside the kernel (sandbox.py, box.py).
"""

from __future__ import annotations

import os
import sys

# TensorFlow as on students' laptops (oneDNN), its C++ log off; hashing fixed. Every process
# that runs a graded notebook (nbgrader's, semester-check's kernels) gets these too.
TF_ENV = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}


def thread_env(threads: int | str) -> dict[str, str]:
    """The variables that hold OpenMP and TensorFlow to `threads` threads."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n}


def _set_environment() -> None:
    os.environ.update(TF_ENV)
    threads = os.environ.get("COURSE_KERNEL_THREADS")
    if threads:
        os.environ.update(thread_env(threads))


def _copy_submission() -> None:
    """Copy the submission's files (the box's read-only $COURSE_BOX_SUBMISSION) into the working folder."""
    import shutil

    source = os.environ.pop("COURSE_BOX_SUBMISSION", "")
    if source and os.path.isdir(source):
        shutil.copytree(source, os.getcwd(), symlinks=True, dirs_exist_ok=True)


def _drop_working_folder() -> None:
    """Remove the submission folder ('' or the cwd) from the module search path."""
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != here]


def _preload() -> None:
    import numpy  # noqa: F401

    import course_utils.grading_agent  # noqa: F401
    from course_utils.quiet import import_tensorflow

    tf = import_tensorflow()
    threads = os.environ.get("COURSE_KERNEL_THREADS")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def main() -> None:
    _set_environment()
    _copy_submission()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    _drop_working_folder()
    _preload()
    app.start()


if __name__ == "__main__":
    main()
