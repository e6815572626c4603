"""Run the source notebooks (solutions and hidden tests) under one or more semester configs.

The reference solutions must pass every hidden test whatever the semester: its seed,
task (2 or 3 digits, operators), splits, latent sizes and budgets. `check_semesters`
executes every notebook of source/ top to bottom once per config, in a scratch folder,
with $COURSE_CONFIG pointing at the config and $COURSE_BUDGET at the budget, and
reports the time and the first failing cell of each run.

    ci       the notebooks' own training and the hidden checks on their smoke budgets
             ([seq2seq.ci_checks]); what CI runs (tests/test_notebooks.py)
    grading  the budgets students are graded on, under the config's [grading] time limits
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from course_utils.config import BUDGET_ENV, CONFIG_ENV, load_config, repo_root
from course_utils.grading_kernel import thread_env
from course_utils.tools.nbgrader_run import grading_env

SEMESTERS_DIR = "semesters"
CI_CELL_TIMEOUT = 900  # seconds; the ci budget is about speed of CI, not about grading limits


def semester_configs(root: Path | None = None) -> list[Path]:
    """The course's own config and every example semester: course.toml, semesters/*.toml."""
    root = root or repo_root()
    return [root / "course.toml", *sorted((root / SEMESTERS_DIR).glob("*.toml"))]


@dataclass
class Run:
    config: Path
    notebook: Path
    budget: str
    seconds: float = 0.0
    error: str | None = None  # the failing cell and its error, None when every cell ran
    cell_seconds: dict[str, float] = field(default_factory=dict)  # grade_id (or cell index) -> seconds
    executed: object = None  # the notebook as it ran (nbformat), every cell's outputs in it

    @property
    def ok(self) -> bool:
        return self.error is None


def _cell_seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def kernel_env(config: Path, budget: str) -> dict[str, str]:
    """The kernel's environment: the grading environment with the config and budget set and
    not under nbgrader; on the grading budget, TensorFlow on the grading kernels'
    [grading] kernel_threads threads; on the others, TensorFlow's C++ log level as a student has it."""
    env = grading_env(**{CONFIG_ENV: str(Path(config).resolve()), BUDGET_ENV: budget})
    env.pop("NBGRADER_EXECUTION", None)
    if budget == "grading":
        env.update(thread_env(load_config(config)["grading"]["kernel_threads"]))
    else:  # a student's kernel: TensorFlow's error lines are written, and the notebook must keep them out
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def run_notebook(notebook: Path, config: Path, budget: str = "ci") -> Run:
    """Execute `notebook` top to bottom in a scratch folder under `config` and `budget`.

    On the grading budget each cell gets the config's [grading] cell_timeout and the
    whole notebook its notebook_timeout, as under nbgrader.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    limits = load_config(config)["grading"]  # also validates the config before any kernel starts
    cell_timeout = limits["cell_timeout"] if budget == "grading" else CI_CELL_TIMEOUT
    run = Run(Path(config), Path(notebook), budget)
    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="semester-") as scratch:
        client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=False,
                                record_timing=True, resources={"metadata": {"path": scratch}})
        start = time.perf_counter()
        try:
            client.execute(env=kernel_env(config, budget))
        except (CellExecutionError, CellTimeoutError) as e:
            run.error = str(e)
        run.seconds = time.perf_counter() - start
    run.executed = nb
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}")
            run.cell_seconds[name] = _cell_seconds(cell)
            if run.error and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                run.error = f"cell {name!r}: {run.error.strip().splitlines()[-1]}\n{run.error}"
    if run.ok and budget == "grading" and run.seconds > limits["notebook_timeout"]:
        run.error = (f"ran {run.seconds:.0f} s, over the grading limit of {limits['notebook_timeout']} s "
                     f"(grading.notebook_timeout)")
    return run


def check_semesters(configs: list[Path] | None = None, budget: str = "ci",
                    notebooks: list[Path] | None = None, root: Path | None = None, log=print) -> list[Run]:
    """Run every notebook (default: all of source/) under every config (default: `semester_configs`)."""
    root = root or repo_root()
    configs = configs or semester_configs(root)
    for config in configs:
        load_config(config)  # a bad config fails here, before hours of runs
    notebooks = notebooks or sorted((root / "source").rglob("*.ipynb"))
    runs = []
    for config in configs:
        for notebook in notebooks:
            log(f"running {notebook.relative_to(root) if notebook.is_relative_to(root) else notebook} "
                f"under {config.name} on the {budget} budget ...", flush=True)
            runs.append(run_notebook(notebook, config, budget))
            log(f"  {'ok' if runs[-1].ok else 'FAILED'} in {runs[-1].seconds:.0f} s", flush=True)
    return runs


def format_runs(runs: list[Run], slowest: int = 3) -> str:
    """One line per run (config, notebook, verdict, seconds, slowest cells), then the errors."""
    lines = []
    for r in runs:
        top = sorted(r.cell_seconds.items(), key=lambda kv: -kv[1])[:slowest]
        cells = ", ".join(f"{name} {s:.0f} s" for name, s in top)
        lines.append(f"{r.config.name:<24} {r.notebook.stem:<22} {'ok' if r.ok else 'FAILED':<6} "
                     f"{r.seconds:6.0f} s  (slowest: {cells})")
    for r in runs:
        if not r.ok:
            lines += ["", f"{r.config.name} / {r.notebook.name}:", r.error[-4000:]]
    return "\n".join(lines)


# Any C++ log line (absl's "E0000 00:00:..." or the older dated form) and the notices students met:
# written apart from course_utils.quiet's pattern, so that a line the filter misses is caught
TENSORFLOW_LOG = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |WARNING: All log "
                      r"messages before absl)|meta_optimizer|remapper failed|oneDNN custom operations|"
                      r"cpu_feature_guard|rebuild TensorFlow with the appropriate compiler flags", re.M)


def tensorflow_log_lines(nb) -> list[tuple[int, str]]:
    """(cell index, line) of every TensorFlow log line in the notebook's stream and text outputs."""
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else \
                output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            found += [(i, line) for line in text.splitlines() if TENSORFLOW_LOG.search(line)]
    return found


def test_the_first_cell_prints_no_tensorflow_start_up_notice(tmp_path, monkeypatch):
    """import_tensorflow(), as the notebooks' first cell calls it, in a real Jupyter kernel, which
    shows what TensorFlow's C++ side writes to the process's stderr (except under pytest: hence
    the variable removed)."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)

    cell = nbformat.v4.new_code_cell("from course_utils.quiet import import_tensorflow\n\ntf = import_tensorflow()\n"
                                     "import keras\nprint(int(tf.reduce_sum(tf.ones(3))))")
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert [o.get("text") for o in cell.outputs] == ["3\n"], cell.outputs
