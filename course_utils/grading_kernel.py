"""The kernel that runs a student notebook while grading, and its in-kernel guard.

    python -m course_utils.grading_kernel -f CONNECTION_FILE

runs inside the grading box (course_utils/tools/box.py: bubblewrap, unprivileged, no
network, only the box bundle of course_utils) and starts ipykernel after three steps
that student code cannot undo in time:

1. the environment: TensorFlow on oneDNN (its default, as on students' laptops, and
   about 20% faster on convolutions) with its C++ log off, and the thread count the
   autograde worker was given (`COURSE_KERNEL_THREADS`); the submission's files are
   copied from the box's read-only `/submission` into its working folder;
2. imports: the working folder is not on `sys.path`, and numpy, TensorFlow/Keras and
   course_utils (checks included) are imported from the installed environment, so a
   `course_utils/` or `numpy.py` handed in beside the notebook shadows nothing;
3. (called by the grader once the kernel is up) a snapshot of what the hidden tests rely on:
   builtins, the functions and classes of course_utils and numpy, their entries in
   `sys.modules`, the code, defaults and closures inside those functions, the settings of
   the checks modules (thresholds, the semester config, the budget), IPython's traceback
   and cell-running methods, the import machinery.

Before every hidden-test cell the grader (course_utils.tools.sandbox) calls `restore()`
silently: it puts back every snapshotted object that student code replaced and returns
the list of what it found replaced, which the grader records as suspected tampering.
The memory cap, timeouts, file, disk and process limits are applied from outside the
kernel (sandbox.py, box.py), where student code cannot reach them.
"""

from __future__ import annotations

import builtins
import os
import pickle
import sys
import types

TRUSTED_PACKAGES = ("course_utils", "numpy")
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                 "run_ast_nodes", "run_code", "transform_cell", "transform_ast")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
KERNEL_MANAGED = ("input", "raw_input", "exit", "quit")  # ipykernel rebinds these on every request
CHECKS_PACKAGE = "course_utils.checks"  # whose plain values (thresholds, config, budget) are guarded too
_SNAPSHOT: dict = {}
# Captured at import, before any student code: pickle compares and rebuilds the checks' settings.
_dumps, _loads = pickle.dumps, pickle.loads
_MappingProxy = types.MappingProxyType
_PROXY = "course_utils.grading_kernel: read-only mapping"  # marks a thawed read-only mapping
_EMPTY = object()  # an empty closure cell
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


def _functions(values) -> list[types.FunctionType]:
    """The Python functions behind `values`: plain, methods, numpy dispatchers, functools wrappers."""
    found = []
    for value in values:
        for _ in range(4):
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            elif isinstance(value, property):
                found += [f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)]
                break
            if isinstance(value, types.FunctionType):
                found.append(value)
            inner = getattr(value, "_implementation", None) or getattr(value, "__wrapped__", None) \
                if not isinstance(value, type) else None
            if inner is None or inner is value:
                break
            value = inner
    return found


def _insides(fn: types.FunctionType) -> tuple:
    """What student code could swap inside a function while its identity stays the same."""
    cells = tuple(c.cell_contents if _cell_full(c) else _EMPTY for c in fn.__closure__ or ())
    return fn.__code__, fn.__defaults__, fn.__kwdefaults__, cells



def _cell_full(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _settings(module) -> dict[str, tuple[object, bytes | None]]:
    """A checks module's plain values -> (the object, its pickle or None when it has none)."""
    return {key: (value, _pickle_or_none(value)) for key, value in vars(module).items()
            if not key.startswith("__") and not _guarded(value)}


def _thawed(value):
    """`value` with each read-only mapping (the frozen config) as a marked dict, so that it pickles."""
    if type(value) is _MappingProxy:
        return (_PROXY, {k: _thawed(v) for k, v in value.items()})
    if type(value) is dict:
        return {k: _thawed(v) for k, v in value.items()}
    if type(value) in (tuple, list):
        return type(value)(_thawed(v) for v in value)
    return value


def _refrozen(value):
    """The unpickled `_thawed` value, its marked dicts read-only again."""
    if type(value) is tuple and len(value) == 2 and value[0] == _PROXY:
        return _MappingProxy({k: _refrozen(v) for k, v in value[1].items()})
    if type(value) is dict:
        return {k: _refrozen(v) for k, v in value.items()}
    if type(value) in (tuple, list):
        return type(value)(_refrozen(v) for v in value)
    return value


def take_snapshot() -> None:
    """Record the trusted objects. The grader calls it once the kernel is up, before any student code."""
    from IPython import get_ipython

    shell = get_ipython()
    sys._course_restore = restore  # where the grader's guard finds it (sandbox.GUARD_CODE)
    modules = {name: mod for name, mod in sys.modules.items() if _is_trusted(name) and mod is not None}
    dicts = {name: {k: v for k, v in vars(mod).items() if _guarded(v)} for name, mod in modules.items()}
    classes = {cls: dict(vars(cls)) for mod in modules.values() if mod.__name__.startswith("course_utils")
               for cls in vars(mod).values() if isinstance(cls, type) and cls.__module__ == mod.__name__}
    functions = _functions([v for d in dicts.values() for v in d.values()]
                           + [v for saved in classes.values() for v in saved.values()])
    _SNAPSHOT.update(
        functions={fn: _insides(fn) for fn in functions},
        builtins={k: v for k, v in vars(builtins).items() if _guarded(v) and k not in KERNEL_MANAGED},
        modules=modules,
        dicts=dicts,
        classes=classes,
        settings={name: _settings(mod) for name, mod in modules.items() if _is_checks(name)},
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
    # Settings first: pickling a planted object may run its code, which the steps below then undo.
    for name, saved in snap["settings"].items():
        current = vars(snap["modules"][name])
        for key, (value, pickled) in saved.items():
            now = current.get(key, _EMPTY)
            if now is value and (pickled is None or _pickle_or_none(now) == pickled):
                continue
            found.append(f"{name}.{key}")
            fresh = value if pickled is None else _refrozen(_loads(pickled))
            current[key] = fresh
            saved[key] = (fresh, pickled)
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
        for key in [k for k in vars(cls) if k not in saved and k != "__slotnames__"]:  # pickle's own cache
            found.append(f"{cls.__module__}.{cls.__qualname__}.{key} (added)")
            type.__delattr__(cls, key)
        for key, value in saved.items():
            if key not in ("__dict__", "__weakref__") and vars(cls).get(key) is not value:
                found.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
                type.__setattr__(cls, key, value)
    for fn, (code, defaults, kwdefaults, cells) in snap["functions"].items():
        if _replaced_inside(fn, code, defaults, kwdefaults, cells):
            found.append(f"{fn.__module__}.{fn.__qualname__} (its code, defaults or closure)")
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
            for cell, value in zip(fn.__closure__ or (), cells):
                if value is _EMPTY:
                    del cell.cell_contents
                else:
                    cell.cell_contents = value
    for key, value in snap["sys"].items():
        if getattr(sys, key) is not value:
            found.append(f"sys.{key}")
            setattr(sys, key, value)
    if not _same_items(sys.meta_path, snap["meta_path"]):
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
            if not _same_items(getattr(shell, key), saved):
                found.append(f"IPython shell.{key}")
                setattr(shell, key, list(saved))
    return found


def _replaced_inside(fn, code, defaults, kwdefaults, cells) -> bool:
    """True when anything inside `fn` is not the very object recorded (== alone could be lied to)."""
    now = _insides(fn)
    return (now[0] is not code or now[1] is not defaults or now[2] is not kwdefaults
            or len(now[3]) != len(cells) or any(a is not b for a, b in zip(now[3], cells)))


def _same_items(now, saved: list) -> bool:
    """The same objects in the same order, compared by identity (a planted __eq__ could lie)."""
    now = list(now)
    return len(now) == len(saved) and all(a is b for a, b in zip(now, saved))


def _is_plain(value, depth: int = 0) -> bool:
    """Data only (numbers, strings, containers of them, NumPy arrays): what may be pickled to compare.
    Pickling anything else can import modules, which student code may have replaced."""
    kind = type(value)
    if kind in (type(None), bool, int, float, complex, str, bytes):
        return True
    if depth > 8:
        return False
    if kind in (tuple, list, frozenset, set):
        return all(_is_plain(v, depth + 1) for v in value)
    if kind in (dict, _MappingProxy):
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in value.items())
    return kind.__module__ == "numpy" and kind.__name__ in ("ndarray", "float32", "float64", "int64", "bool_")


def _pickle_or_none(value) -> bytes | None:
    if not _is_plain(value):
        return None
    try:
        return _dumps(_thawed(value))
    except Exception:  # noqa: BLE001 - a student object that cannot be pickled is a replacement
        return None


def _is_checks(name: str) -> bool:
    return name == CHECKS_PACKAGE or name.startswith(CHECKS_PACKAGE + ".")


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
    # Run the imported module's main, not this __main__ copy: restore() must find the snapshot.
    from course_utils.grading_kernel import main as _main

    _main()
