"""nbgrader preprocessors that grade untrusted notebooks safely (wired in nbgrader_config.py).

    RestoreMissingCells  sanitize: a grade cell the student deleted comes back from the release
    GuardedExecute       autograde: nbgrader's Execute, plus the limits below

GuardedExecute runs each notebook in the grading kernel (course_utils.grading_kernel),
started by GradingKernelManager in a fresh grading box (box.py: bubblewrap, unprivileged,
no network, a private capped disk, a process cap, nothing of the grader's but the
environment and the box bundle) at every start and restart, and enforces, from outside:
- a per-cell timeout and a whole-notebook deadline: a cell past the deadline is not run
  and gets an error output, so its tests score 0;
- a memory cap: a watchdog thread kills a kernel whose resident memory (children
  included) passes `memory_mb`;
- a dead kernel (os._exit, the memory cap, a segfault) is restarted and the notebook goes
  on; the cell that killed it gets an error output;
- an output cap per cell, and a cap on the hidden tests' results folder;
- the hidden tests' requests are written before the kernel starts (verdicts.py); their
  verdicts are decided after it has gone, by DecideVerdicts.
Each notebook's incidents (timeouts, restarts, peak memory) are appended as a JSON line
to the file named by $COURSE_GRADING_REPORT, when set.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Integer, Unicode

from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from course_utils.tools import box, verdicts
from course_utils.tools.notebooks import released_notebook



def error_output(ename: str, evalue: str) -> NotebookNode:
    """A notebook error output, as a failing cell would have produced."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GradingKernelManager(AsyncKernelManager):
    """Starts course_utils.grading_kernel in a fresh grading box (box.py) at every start and restart.

    The kernel talks to the grader over Unix sockets in a folder of its own (`comm_dir`, with
    the connection file), the only host folder the box can write; the folder and the box's
    pids cgroup are removed when the kernel is gone."""

    disk_mb = Integer(512, help="the box's private disk (tmpfs): all it writes, MiB").tag(config=True)
    processes = Integer(512, help="processes and threads of the box, together").tag(config=True)
    file_mb = Integer(512, help="the largest file the box may write, MiB").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.comm_dir = tempfile.mkdtemp(prefix="course-kernel-")
        self.transport = "ipc"
        self.ip = os.path.join(self.comm_dir, "k")
        self.connection_file = os.path.join(self.comm_dir, "kernel.json")
        self.cgroup = ""
        self.probe_folder = ""  # requests (read-only) and results (writable) of the hidden tests

    @property
    def limits(self) -> box.Limits:
        return box.Limits(disk_mb=self.disk_mb, processes=self.processes, file_mb=self.file_mb)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        kernel = [sys.executable, "-m", "course_utils.grading_kernel", "-f", self.connection_file,
                  *(extra_arguments or [])]
        if box.unsafe():
            return kernel
        # A signal to bwrap would not reach the kernel in its box: interrupt over the control channel.
        self.kernel_spec.interrupt_mode = "message"
        box.remove_cgroup(self.cgroup)  # a restart: the old box is gone, so is its group
        self.cgroup = box.make_cgroup(self.processes)
        launch = self._launch_args or {}
        env = {**os.environ, **(launch.get("env") or {})}
        return box.box_command(kernel, comm_dir=self.comm_dir, submission=str(launch.get("cwd") or os.getcwd()),
                               env=env, limits=self.limits, cgroup=self.cgroup, probe_folder=self.probe_folder)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        box.remove_cgroup(self.cgroup)
        self.cgroup = ""
        if not restart:
            shutil.rmtree(self.comm_dir, ignore_errors=True)

    cleanup_resources = run_sync(_async_cleanup_resources)


class MemoryWatchdog:
    """Polls a process tree's resident memory; kills it past `limit_mb`, or when the files in
    `folder` (the hidden tests' results) pass `folder_mb` or 1,000 files. Records the peak."""

    def __init__(self, limit_mb: int, interval: float = 0.1, folder: Path | None = None, folder_mb: int = 64):
        self.limit, self.interval = limit_mb << 20, interval
        self.folder, self.folder_limit = folder, folder_mb << 20
        self.too_many_results = False
        self.peak = 0
        self.killed_pid: int | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, pid: int) -> None:
        self._pid = pid
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(self.interval):
            pid = self._pid
            try:
                root = psutil.Process(pid)
                tree = [root, *root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in tree)
            except (psutil.Error, TypeError, ValueError):
                continue
            self.peak = max(self.peak, rss)
            if self._results_too_large():
                self.too_many_results = True
            if self.too_many_results or (self.limit > 0 and rss > self.limit):
                for p in reversed(tree):
                    try:
                        p.kill()
                    except psutil.Error:
                        pass
                self.killed_pid = pid

    def _results_too_large(self) -> bool:
        if self.folder is None:
            return False
        try:
            entries = list(os.scandir(self.folder))
            return len(entries) > 1000 or sum(e.stat(follow_symlinks=False).st_size for e in entries) > self.folder_limit
        except OSError:
            return False


class GuardedExecute(Execute):
    """nbgrader's Execute with a notebook deadline, a memory cap, restarts and the hidden-test guard."""

    notebook_timeout = Integer(900, help="seconds the whole notebook may run").tag(config=True)
    memory_mb = Integer(4096, help="resident memory cap of the kernel, MiB (0: none)").tag(config=True)
    output_limit_kb = Integer(256, help="output kept per cell, KiB").tag(config=True)
    results_mb = Integer(64, help="all the hidden tests' results of one notebook together, MiB").tag(config=True)
    report_path = Unicode(os.environ.get("COURSE_GRADING_REPORT", ""),
                          help="append one JSON line per notebook here").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(**kwargs)

    # --- the notebook ------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        from course_utils.config import load_config
        from course_utils.grading_agent import REQUESTS_ENV, RESULTS_ENV

        self._probe_folder = Path(tempfile.mkdtemp(prefix="course-probes-"))
        verdicts.write_requests(nb, self._probe_folder, load_config()["semester"]["seed"])
        resources = resources if resources is not None else {}
        resources[verdicts.RESOURCE] = str(self._probe_folder)
        os.environ[REQUESTS_ENV] = str(self._probe_folder / verdicts.REQUESTS)  # a kernel without the box
        os.environ[RESULTS_ENV] = str(self._probe_folder / verdicts.RESULTS)
        self._process_cap = "none"
        self._box = "UNSAFE: no sandbox (--unsafe-no-sandbox)" if box.unsafe() else f"bubblewrap ({box.probe()})"
        self._deadline = time.monotonic() + self.notebook_timeout
        self._started = time.monotonic()
        self._incidents: list[str] = []
        self._output_bytes: dict[int, int] = {}
        self._watchdog = MemoryWatchdog(self.memory_mb, folder=self._probe_folder / verdicts.RESULTS,
                                        folder_mb=self.results_mb)
        self.timeout_func = self._cell_timeout
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._watchdog.stop()
            self._report(resources)

    def _cell_timeout(self, cell) -> int:
        remaining = int(self._deadline - time.monotonic()) + 1
        return max(1, min(self.timeout or remaining, remaining))

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        self._watch_kernel()

    start_new_kernel = run_sync(async_start_new_kernel)  # the sync path nbconvert calls

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, GradingKernelManager):
            km.probe_folder = str(self._probe_folder)
        return km

    def _watch_kernel(self) -> None:
        if isinstance(self.km, GradingKernelManager) and not box.unsafe():
            self._process_cap = box.process_cap(self.km.cgroup, self.km.limits)
        process = getattr(self.km.provisioner, "process", None)
        if process is not None:
            self._watchdog.watch(process.pid)

    # --- each cell ---------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if time.monotonic() >= self._deadline:
            cell.outputs = [error_output("NotebookTimeout", f"not run: the notebook reached its "
                                         f"{self.notebook_timeout} s limit")]
            self._incidents.append(f"cell {index}: not run (notebook time limit)")
            return cell, resources
        self._output_bytes[index] = 0
        self._timed_out = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if self._timed_out:
                self._after_timeout(index)
            return cell, resources
        except (DeadKernelError, CellTimeoutError) as err:
            if self._watchdog.too_many_results:
                name, why = "ResultsTooLarge", "the hidden tests' results grew past the grader's cap"
            elif self._watchdog.killed_pid is not None:
                name, why = "MemoryLimitExceeded", f"the kernel used more than {self.memory_mb} MiB and was stopped"
            elif isinstance(err, CellTimeoutError):
                name, why = "KernelUnresponsive", "the kernel stopped sending output (its machinery was broken)"
            else:
                name, why = "KernelDied", "the kernel stopped (os._exit, a crash or a signal)"
            cell.outputs.append(error_output(name, why + "; the grader restarted it for the next cells"))
            self._incidents.append(f"cell {index}: {name}")
            self._restart_kernel()
            return cell, self.resources

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        if kwargs["execute_reply"]["content"].get("ename") == "CellTimeoutError":
            self._timed_out = True

    def _after_timeout(self, index) -> None:
        """The kernel was interrupted: restart it if it does not answer within 10 s."""
        self._incidents.append(f"cell {index}: timed out")
        if not run_sync(self._responds)(10):
            self._incidents.append(f"cell {index}: ignored the interrupt, kernel restarted")
            self._restart_kernel()

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most `output_limit_kb` of output per cell; note the cut once."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        limit = self.output_limit_kb << 10
        if used + size > limit and msg["msg_type"] != "error":
            if used <= limit:
                outs.append(NotebookNode(output_type="stream", name="stderr",
                                         text=f"\n[grader: output beyond {self.output_limit_kb} KiB dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # --- restarts -----------------------------------------------------------------------
    async def _responds(self, seconds: float) -> bool:
        """Whether the kernel answers a kernel_info request on the shell channel within `seconds`."""
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Exception:  # noqa: BLE001  (queue.Empty: no answer in time)
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    def _restart_kernel(self) -> None:
        async def restart():
            if self.kc is not None:
                await ensure_async(self.kc.stop_channels())
                self.kc = None
            self._watchdog.killed_pid = None
            await ensure_async(self.km.restart_kernel(now=True))
            self._watch_kernel()
            await self.async_start_new_kernel_client()
        run_sync(restart)()

    def _report(self, resources) -> None:
        if not self.report_path:
            return
        info = (resources or {}).get("nbgrader", {})
        line = {"student": info.get("student"), "assignment": info.get("assignment"),
                "notebook": info.get("notebook"), "seconds": round(time.monotonic() - self._started, 1),
                "peak_rss_mb": round(self._watchdog.peak / 2**20), "incidents": self._incidents,
                "box": self._box, "process_cap": self._process_cap}
        with open(self.report_path, "a") as f:
            f.write(json.dumps(line) + "\n")


class RestoreMissingCells(NbGraderPreprocessor):
    """Put back, from the release, every grade or locked cell that the submission lacks; drop the
    empty nbgrader metadata DeduplicateIds leaves on a duplicate (nbgrader then rejects it as old)."""

    release_directory = Unicode("", help="the course's release/ folder").tag(config=True)

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
        release = released_notebook(self.release_directory, resources)
        if release is None:
            return nb, resources
        released = release.cells
        present = {c.metadata.nbgrader["grade_id"] for c in nb.cells if _grade_id(c)}
        for position, cell in enumerate(released):
            gid = _grade_id(cell)
            if gid and gid not in present:
                anchor = next((_grade_id(c) for c in reversed(released[:position]) if _grade_id(c) in present), None)
                at = 0 if anchor is None else 1 + next(i for i, c in enumerate(nb.cells) if _grade_id(c) == anchor)
                nb.cells.insert(at, cell)
                present.add(gid)
                self.log.warning("Cell %s was missing from the submission: restored from the release", gid)
        return nb, resources


class WarningsDoNotFail(NbGraderPreprocessor):
    """Relabel the stderr output of test cells as stdout, before SaveAutoGrades scores them.

    nbgrader scores a test cell 0 when it wrote anything to stderr. In a Python kernel a
    failure is an `error` output; stderr carries warnings and logs (TensorFlow's, a data
    loader's fallback notice), which must not cost points. The text is kept.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr":
                    out.name = "stdout"
        return cell, resources


def _grade_id(cell) -> str | None:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade_id") if (meta.get("grade") or meta.get("solution") or meta.get("locked")) else None
