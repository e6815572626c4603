"""Sample submissions built from the released notebooks, each with its expected score per question.

    course corpus            build them into autograder/work/corpus/, autograde them, compare

A case starts from the release with every solution filled in from source/ (or from the
untouched release), applies its edits (a wrong function appended to a solution cell, a
deleted cell, a tamper trick, ...) and states the points it must earn on every graded
cell: `expect` lists the cells that differ from full marks. A tamper trick is always
paired with a wrong implementation that passes the visible tests, so the hidden check is
the only thing between the trick and the points.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from course_utils.tools.workspace import Workspace

SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)
WORKSPACE = Path("autograder") / "work" / "corpus"   # relative to the course root


def workspace(root: Path | None = None) -> Workspace:
    """The corpus's own workspace and gradebook: grading it never touches the TA's grades."""
    from course_utils.config import repo_root

    root = Path(root or repo_root())
    return Workspace(root, root / WORKSPACE)

# Seconds per cell while grading the corpus: its loops should not cost the full 300 s.
CELL_TIMEOUT = {"generative": 60}

Edit = Callable[[nbformat.NotebookNode], None]


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def append(grade_id: str, code: str) -> Edit:
    def edit(nb):
        _cell(nb, grade_id).source += "\n\n" + code.strip() + "\n"
    return edit


def prepend(grade_id: str, code: str) -> Edit:
    def edit(nb):
        cell = _cell(nb, grade_id)
        cell.source = code.strip() + "\n" + cell.source
    return edit


def replace(grade_id: str, code: str) -> Edit:
    def edit(nb):
        _cell(nb, grade_id).source = code.strip() + "\n"
    return edit


def delete(grade_id: str) -> Edit:
    def edit(nb):
        nb.cells.remove(_cell(nb, grade_id))
    return edit


def duplicate(grade_id: str) -> Edit:
    def edit(nb):
        cell = _cell(nb, grade_id)
        twin = copy.deepcopy(cell)
        twin.id = f"{cell.id}-copy"
        nb.cells.insert(nb.cells.index(cell), twin)
    return edit


@dataclass(frozen=True, eq=False)   # hashed by identity: a case is a key of grade()'s result
class Case:
    name: str
    assignment: str
    what: str
    edits: tuple[Edit, ...] = ()
    expect: dict[str, float] = field(default_factory=dict)   # grade_id -> points, where not full marks
    solved: bool = True                                       # start from the solutions, or the untouched release
    files: dict[str, str] = field(default_factory=dict)       # extra files handed in beside the notebook
    all_zero: bool = False                                    # every autograded point is 0


# Graded by the README's main job, a few minutes' demonstration of what grading catches;
# tests/test_corpus.py and `course corpus --all` grade every case.
IN_MAIN = {("generative", n) for n in ("reference", "untouched", "partly_wrong", "infinite_loop", "memory_hog",
                                       "tamper_checks", "shadowing")} | {("seq2seq", "untouched")}


# --- wrong implementations that pass the visible tests -------------------------------------
WRONG_INTERPOLATE = """
def interpolate(z_a, z_b, steps):   # wrong: |z_b| (the visible test's z_b = 1 cannot tell)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.asarray(z_a) + t * np.abs(np.asarray(z_b))
"""
WRONG_SCALE = """
def scale_latent(z, factors):       # wrong: |factors| (the visible test has no negative factor)
    return np.abs(np.asarray(factors, np.float32))[:, None] * np.asarray(z, np.float32)[None, :]
"""
WRONG_KL = """
def kl_divergence(mu, logvar):      # wrong: 1 + logvar instead of exp(logvar) (equal at logvar = 0)
    return ops.mean(-0.5 * ops.sum(1 + logvar - ops.square(mu) - (1 + logvar), axis=-1))
"""
WRONG_SAMPLING = """
class Sampling(keras.layers.Layer):  # wrong: the same noise at every call (a fixed seed)
    def call(self, inputs):
        mu, logvar = inputs
        return mu + ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu), seed=0)
"""
SHADOW_CHECKS = "def __getattr__(name):\n    return lambda *args, **kwargs: True\n"

GENERATIVE = "generative"
GEN_FASHION = {"test_fashion_vae_networks": 0, "test_fashion_gan_networks": 0}
CASES = [
    Case("reference", GENERATIVE, "the source's solutions: full marks"),
    Case("untouched", GENERATIVE, "the release as handed out: no autograded point, runs to the end",
         solved=False, all_zero=True),
    Case("partly_wrong", GENERATIVE, "KL term without the 0.5: the KL and VAE-loss tests fail",
         (append("vae_losses", "def kl_divergence(mu, logvar):\n    return ops.mean(-ops.sum("
                 "1 + logvar - ops.square(mu) - ops.exp(logvar), axis=-1))"),),
         {"test_kl": 0, "test_vae_loss": 0}),
    Case("crash", GENERATIVE, "a cell that raises before defining its functions",
         (prepend("latent_tools", "import a_module_that_does_not_exist"),),
         {"test_latent_scaling": 0, "test_interpolation": 0}),
    Case("infinite_loop", GENERATIVE, "a loop interrupted at the cell timeout; later cells still run",
         (prepend("latent_tools", "while True:\n    pass"),),
         {"test_latent_scaling": 0, "test_interpolation": 0}),
    Case("stubborn_loop", GENERATIVE, "a loop that ignores the interrupt: the kernel is restarted",
         (prepend("fashion_gan_networks", "import time\nwhile True:\n    try:\n        time.sleep(0.2)\n"
                                          "    except KeyboardInterrupt:\n        pass"),),
         {"test_fashion_gan_networks": 0}),
    Case("memory_hog", GENERATIVE, "allocates 12.8 GB: killed at the memory cap, the kernel restarted",
         (prepend("fashion_vae_networks", "_hog = np.ones((40_000, 40_000))"),), GEN_FASHION),
    Case("deleted_grade_cell", GENERATIVE, "the KL test cell deleted: restored from the release and run",
         (delete("test_kl"),)),
    Case("duplicated_grade_cell", GENERATIVE, "a solution and a test cell duplicated: graded once",
         (duplicate("sampling"), duplicate("test_interpolation"))),
    Case("edited_test_cell", GENERATIVE, "a wrong interpolate and its test cell replaced by `pass`",
         (append("latent_tools", WRONG_INTERPOLATE), replace("test_interpolation", "pass")),
         {"test_interpolation": 0}),
    Case("tamper_checks", GENERATIVE, "replaces the grading agent's answer by one that sends nothing: "
         "only its own later hidden tests fail",
         (append("latent_tools", WRONG_INTERPOLATE + "\nimport sys, course_utils.grading_agent as _a\n"
                 "_a.answer = lambda *a, **k: 'answered'\n"
                 "sys.modules['course_utils.grading_agent'] = _a"),),
         {"test_latent_scaling": 0, "test_interpolation": 0, **GEN_FASHION}),
    Case("tamper_numpy", GENERATIVE, "replaces numpy's comparison helpers by ones that always agree",
         (append("latent_tools", WRONG_SCALE + "\nnp.allclose = lambda *a, **k: True\n"
                 "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None"),),
         {"test_latent_scaling": 0}),
    Case("tamper_builtins", GENERATIVE, "replaces builtins (abs, float, round): the grading agent's own "
         "arithmetic breaks, so only its own later hidden tests fail",
         (append("vae_losses", WRONG_KL + "\nimport builtins\nbuiltins.abs = lambda x: 0.0\n"
                 "builtins.float = lambda *a: 0.0\nbuiltins.round = lambda *a, **k: 0"),),
         {"test_kl": 0, "test_vae_loss": 0, "test_vae_networks": 0, "test_gan_train_step": 0,
          "test_latent_scaling": 0, "test_interpolation": 0, **GEN_FASHION}),
    Case("tamper_inside", GENERATIVE, "swaps the body of the grading agent's call runner: every later "
         "hidden test it answers fails",
         (append("vae_losses", WRONG_KL + "\nimport course_utils.grading_agent as _a\n"
                 "_a.run_calls.__code__ = (lambda spec, arrays, fn, *extra: {}).__code__"),),
         {"test_kl": 0, "test_vae_loss": 0, "test_latent_scaling": 0, "test_interpolation": 0}),
    Case("tamper_traceback", GENERATIVE, "silences IPython's showtraceback so errors leave no output",
         (append("sampling", WRONG_SAMPLING + "\nget_ipython().showtraceback = lambda *a, **k: None\n"
                 "get_ipython()._showtraceback = lambda *a, **k: None"),),
         {"test_sampling": 0}),
    Case("lying_objects", GENERATIVE, "returns objects whose __eq__ and __bool__ always say True",
         (append("latent_tools", "class _Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
                 "    def __bool__(self):\n        return True\n    def __ne__(self, other):\n        return False\n"
                 "_interpolate = interpolate\n"
                 "def interpolate(z_a, z_b, steps):\n"
                 "    return (np.abs(_interpolate(z_a, z_b, steps)) + 1).view(_Liar)"),),
         {"test_interpolation": 0}),
    Case("sys_exit", GENERATIVE, "scale_latent calls sys.exit", (append("latent_tools", "import sys\n"
         "def scale_latent(z, factors):\n    sys.exit(0)"),), {"test_latent_scaling": 0}),
    Case("os_exit", GENERATIVE, "interpolate calls os._exit: the kernel dies in its test and is restarted",
         (append("latent_tools", "import os\ndef interpolate(z_a, z_b, steps):\n    os._exit(0)"),),
         {"test_interpolation": 0, **GEN_FASHION}),
    Case("shadowing", GENERATIVE, "hands in course_utils/ and numpy.py beside the notebook, and writes a "
         "shadow package at run time, purges sys.modules and puts the folder on sys.path",
         (append("latent_tools", WRONG_SCALE + "\nimport os, sys\nos.makedirs('course_utils/checks', exist_ok=True)\n"
                 "for _f in ('course_utils/__init__.py', 'course_utils/checks/__init__.py'):\n"
                 "    open(_f, 'w').close()\n"
                 f"open('course_utils/checks/generative.py', 'w').write({SHADOW_CHECKS!r})\n"
                 "for _m in [m for m in sys.modules if m.startswith('course_utils')]:\n"
                 "    del sys.modules[_m]\nsys.path.insert(0, os.getcwd())"),),
         {"test_latent_scaling": 0, "test_interpolation": 0, **GEN_FASHION},   # its own later tests: no agent
         files={"course_utils/__init__.py": "", "course_utils/checks/__init__.py": "",
                "course_utils/checks/generative.py": SHADOW_CHECKS, "numpy.py": "raise SystemExit('shadowed')\n"}),
    Case("reference", "seq2seq", "the source's solutions: full marks"),
    Case("untouched", "seq2seq", "the release as handed out: no autograded point, runs to the end",
         solved=False, all_zero=True),
]


def student_id(case: Case) -> str:
    return case.name


def solutions(root: Path, assignment: str) -> dict[tuple[str, str], str]:
    """(notebook, grade_id) -> the source's solution cell without its markers."""
    found = {}
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                found[(path.stem, meta["grade_id"])] = SOLUTION_MARKERS.sub("", cell.source)
    return found


def build(case: Case, ws: Workspace) -> Path:
    """Write the case's submission into the workspace's submitted/ folder; return that folder."""
    import shutil

    folder = ws.submitted(student_id(case), case.assignment)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    answers = solutions(ws.root, case.assignment) if case.solved else {}
    for path in sorted((ws.root / "release" / case.assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if (path.stem, gid) in answers:
                cell.source = answers[(path.stem, gid)]
        for edit in case.edits:
            edit(nb)
        nbformat.write(nb, folder / path.name)
    for name, text in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    return folder


def expected(case: Case, ws: Workspace) -> dict[tuple[str, str], float]:
    """(notebook, grade_id) -> the points the case must earn on every autograded cell."""
    points = {}
    for path in sorted((ws.root / "source" / case.assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                full = float(meta.get("points", 0))
                points[(path.stem, meta["grade_id"])] = 0.0 if case.all_zero else case.expect.get(meta["grade_id"], full)
    return points


def actual(case: Case, ws: Workspace) -> dict[tuple[str, str], float | None]:
    """(notebook, grade_id) -> the autograded points in the workspace's gradebook."""
    from course_utils.tools.nbgrader_run import gradebook

    with gradebook(ws.gradebook) as gb:
        sub = gb.find_submission(case.assignment, student_id(case))
        return {(nb.name, g.name): g.auto_score for nb in sub.notebooks for g in nb.grades
                if g.cell_type == "code"}


def compare(case: Case, ws: Workspace) -> list[str]:
    """Every question where the case did not earn what it should ('' list: as expected)."""
    want, got = expected(case, ws), actual(case, ws)
    return [f"{gid}: {got.get((nb, gid))} of {pts:g} expected" for (nb, gid), pts in sorted(want.items())
            if got.get((nb, gid)) != pts]


def grade(ws: Workspace, assignments: list[str] | None = None, workers: int = 0,
          progress: bool = True, everything: bool = False) -> dict[Case, list[str]]:
    """Build the cases of `assignments` (default: all; only IN_MAIN unless `everything`), autograde
    them, return each case's mismatches."""
    from course_utils.tools.autograde import autograde, format_outcomes

    cases = [c for c in CASES if (assignments is None or c.assignment in assignments)
             and (everything or (c.assignment, c.name) in IN_MAIN)]
    for case in cases:
        build(case, ws)
    for assignment in sorted({c.assignment for c in cases}):
        names = [student_id(c) for c in cases if c.assignment == assignment]
        extra = [f"--GuardedExecute.timeout={CELL_TIMEOUT[assignment]}"] if assignment in CELL_TIMEOUT else []
        outcomes = autograde(ws, assignment, names, workers=workers, extra=extra, progress=progress)
        print(format_outcomes(outcomes), flush=True)
    return {case: compare(case, ws) for case in cases}


def format_table(results: dict[Case, list[str]]) -> str:
    """One row per case: assignment, case, as expected or the questions that were not."""
    rows = [("assignment", "case", "as expected", "what it is")]
    rows += [(c.assignment, c.name, "yes" if not bad else "NO: " + "; ".join(bad), c.what)
             for c, bad in results.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows)
