"""The kernel that runs a student notebook while grading, and its in-kernel guard.

    python -m course_utils.tools.grading_kernel -f CONNECTION_FILE

starts ipykernel after four steps that student code cannot undo in time:

1. the environment: TensorFlow's start-up noise off (`TF_ENABLE_ONEDNN_OPTS=0`), the
   thread count the autograde worker was given (`COURSE_KERNEL_THREADS`);
2. limits: no core dumps, files written at most `COURSE_KERNEL_FILE_MB`;
3. imports: the submission folder is not on `sys.path`, and numpy, TensorFlow/Keras and
   course_utils (checks included) are imported from the installed environment, so a
   `course_utils/` or `numpy.py` handed in beside the notebook shadows nothing;
4. (called by the grader once the kernel is up) a snapshot of what the hidden tests rely on: builtins, the functions and classes of
   course_utils and numpy, their entries in `sys.modules`, IPython's traceback and
   cell-running methods, the import machinery.

Before every hidden-test cell the grader (course_utils.tools.sandbox) calls `restore()`
silently: it puts back every snapshotted object that student code replaced and returns
the list of what it found replaced, which the grader records as suspected tampering.
The memory cap, timeouts and network isolation are applied from outside the kernel
(sandbox.py), where student code cannot reach them.
"""

from __future__ import annotations

import builtins
import os
import sys

TRUSTED_PACKAGES = ("course_utils", "numpy")
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                 "run_ast_nodes", "run_code", "transform_cell", "transform_ast")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
KERNEL_MANAGED = ("input", "raw_input", "exit", "quit")  # ipykernel rebinds these on every request
_SNAPSHOT: dict = {}


def _set_environment() -> None:
    os.environ.update(TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    threads = os.environ.get("COURSE_KERNEL_THREADS")
    if threads:
        os.environ.update(OMP_NUM_THREADS=threads, TF_NUM_INTRAOP_THREADS=threads,
                          TF_NUM_INTEROP_THREADS=threads)


def _set_limits() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    file_mb = int(os.environ.get("COURSE_KERNEL_FILE_MB", "512"))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))


def _drop_working_folder() -> None:
    """Remove the submission folder ('' or the cwd) from the module search path."""
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != here]


def _preload() -> None:
    import numpy  # noqa: F401

    import course_utils.checks.generative  # noqa: F401  (imports keras and TensorFlow)
    import course_utils.checks.seq2seq  # noqa: F401
    threads = os.environ.get("COURSE_KERNEL_THREADS")
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def _is_trusted(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in TRUSTED_PACKAGES)


def _guarded(value) -> bool:
    """Only functions, classes and modules are restored: plain values are the student's state."""
    return callable(value) or type(value).__name__ == "module"


def take_snapshot() -> None:
    """Record the trusted objects. The grader calls it once the kernel is up, before any student code."""
    from IPython import get_ipython

    shell = get_ipython()
    modules = {name: mod for name, mod in sys.modules.items() if _is_trusted(name) and mod is not None}
    _SNAPSHOT.update(
        builtins={k: v for k, v in vars(builtins).items() if _guarded(v) and k not in KERNEL_MANAGED},
        modules=modules,
        dicts={name: {k: v for k, v in vars(mod).items() if _guarded(v)} for name, mod in modules.items()},
        classes={cls: dict(vars(cls)) for mod in modules.values() if mod.__name__.startswith("course_utils")
                 for cls in vars(mod).values() if isinstance(cls, type) and cls.__module__ == mod.__name__},
        sys={"exit": sys.exit},
        meta_path=list(sys.meta_path), path=list(sys.path),
        shell=shell,
        shell_class={k: getattr(type(shell), k) for k in SHELL_METHODS if hasattr(type(shell), k)} if shell else {},
        shell_own={k: vars(shell).get(k) for k in SHELL_METHODS} if shell else {},
        shell_lists={k: list(getattr(shell, k)) for k in SHELL_LISTS if hasattr(shell, k)} if shell else {},
    )


def restore() -> list[str]:
    """Put back every snapshotted object that was replaced; return what was (empty: nothing)."""
    found: list[str] = []
    snap = _SNAPSHOT
    sys.settrace(None)
    sys.setprofile(None)
    for key, value in snap["builtins"].items():
        if vars(builtins).get(key) is not value:
            found.append(f"builtins.{key}")
            setattr(builtins, key, value)
    for name, mod in snap["modules"].items():
        if sys.modules.get(name) is not mod:
            found.append(f"sys.modules[{name!r}]")
            sys.modules[name] = mod
        saved, current = snap["dicts"][name], vars(mod)
        for key, value in saved.items():
            if current.get(key) is not value:
                found.append(f"{name}.{key}")
                current[key] = value
    for cls, saved in snap["classes"].items():
        for key in [k for k in vars(cls) if k not in saved]:
            found.append(f"{cls.__module__}.{cls.__qualname__}.{key} (added)")
            type.__delattr__(cls, key)
        for key, value in saved.items():
            if key not in ("__dict__", "__weakref__") and vars(cls).get(key) is not value:
                found.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
                type.__setattr__(cls, key, value)
    for key, value in snap["sys"].items():
        if getattr(sys, key) is not value:
            found.append(f"sys.{key}")
            setattr(sys, key, value)
    if sys.meta_path != snap["meta_path"]:
        found.append("sys.meta_path")
        sys.meta_path[:] = snap["meta_path"]
    here = os.getcwd()
    if any(p in ("", ".") or os.path.abspath(p) == here for p in sys.path):
        found.append("sys.path (the submission folder)")
        _drop_working_folder()
    shell = snap["shell"]
    if shell is not None:
        for key, value in snap["shell_class"].items():
            if getattr(type(shell), key) is not value:
                found.append(f"IPython {type(shell).__name__}.{key}")
                setattr(type(shell), key, value)
        for key, value in snap["shell_own"].items():
            if vars(shell).get(key) is not value:
                found.append(f"IPython shell.{key}")
                if value is None:
                    delattr(shell, key)
                else:
                    setattr(shell, key, value)
        for key, saved in snap["shell_lists"].items():
            if list(getattr(shell, key)) != saved:
                found.append(f"IPython shell.{key}")
                setattr(shell, key, list(saved))
    return found


def main() -> None:
    _set_environment()
    _set_limits()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    _drop_working_folder()
    _preload()
    app.start()


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: restore() must find the snapshot.
    from course_utils.tools.grading_kernel import main as _main

    _main()
