"""The grading box: one disposable, unprivileged bubblewrap sandbox per grading kernel.

    cmd = box_command(kernel_cmd, comm_dir=..., submission=..., limits=...)

wraps a kernel command line so that the kernel, and everything it starts, runs

- as uid 65534 (`nobody`) in a user namespace of its own, with no capabilities and no
  way to make another user namespace (`--disable-userns`);
- in its own PID, network, IPC and UTS namespaces: it sees only its own processes, has
  no network at all (not even the host's loopback), and every process it started dies
  with it (bwrap is PID 1 of the box; `--die-with-parent` ties it to the grader);
- on a file system that holds only what the kernel needs, read-only: the system's
  /usr, the Python installation and the virtual environment, the *box bundle* of
  course_utils (the student bundle plus, until the verdicts leave the kernel, the
  checks and the grading kernel: `BOX` in bundle.py) and the data folder
  ($COURSE_DATA_DIR). Nothing else of the grader's: no source/, solutions/, autograder/
  (other submissions, gradebooks, state), data cache, other kernels' files;
- with one private, size-capped tmpfs at /tmp as its only writable disk: home, the data
  cache and the working folder (/tmp/work, where the submission's files are copied at start);
  in its cache, read-only, the models the grader trained once for every box (`SHARED_CACHE`:
  the Fréchet score's feature classifier), so no box spends its time training them again;
- with a short allow-list of environment variables;
- with a cap on its processes and threads: a pids cgroup of its own where the grader can
  make one (root), else RLIMIT_NPROC, which a user namespace counts per box;
- talking to the grader only through the Unix sockets and connection file of its own
  `comm_dir`, the one host folder bound writable.

The memory cap, the timeouts and the output cap stay in the grader (sandbox.py), which
watches the box's whole process tree from outside.

    python -m course_utils.tools.box --cgroup DIR --nproc N --file-mb M -- CMD ...

is the trusted launcher the box command starts with: it joins the cgroup, sets the
limits every process of the box inherits, and execs bubblewrap.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

BOX_UID = 65534
SCRATCH = "/tmp"                 # the box's one writable disk (tmpfs): home, cache, working folder
HOME = f"{SCRATCH}/home"
WORK = f"{SCRATCH}/work"
SUBMISSION = "/submission"       # the submission's files, read-only; copied into WORK at start
BUNDLE = "/opt/course"           # the box bundle of course_utils, read-only, on PYTHONPATH
GRADER = "/grader"               # the hidden tests' requests (read-only) and results (writable)
UNSAFE_ENV = "COURSE_UNSAFE_NO_SANDBOX"
# Variables that reach the kernel; every other variable of the grader stays outside.
PASSED_ENV = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL", "PYTHONHASHSEED", "OMP_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "COURSE_KERNEL_THREADS", "NBGRADER_EXECUTION",
              "COURSE_BUDGET", "LANG", "LC_ALL", "TZ")
# Files of the grader's cache that every box reads, read-only: trusted models the grader made
# once (autograde.warm_shared_cache) that the notebooks would otherwise each train again.
SHARED_CACHE = ("feature_classifier-v*.weights.h5",)
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
       "fonts", "mime.types")
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
                "bubblewrap`; `bash bootstrap.sh` does it when run as root) and allow user namespaces "
                "(`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 also "
                "`sysctl kernel.apparmor_restrict_unprivileged_userns=0`). For a trusted demo only, "
                "`course autograde --unsafe-no-sandbox` grades without the box")


class BoxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot make a box here; the message says how to fix it."""


@dataclass(frozen=True)
class Limits:
    disk_mb: int = 512       # the tmpfs: every file the box writes, together
    processes: int = 512     # processes and threads of the box, together
    file_mb: int = 512       # one file (RLIMIT_FSIZE)


def unsafe() -> bool:
    """Whether grading was explicitly asked to run without the box (a trusted demo)."""
    return os.environ.get(UNSAFE_ENV) == "1"


def bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise BoxUnavailable(f"grading needs its sandbox, but `bwrap` is not installed: {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=1)
def probe() -> str:
    """Make one box that runs `true`; return bwrap's version, or raise BoxUnavailable saying why not."""
    cmd = [bwrap(), *_namespaces(), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "true"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise BoxUnavailable(f"bubblewrap cannot make a sandbox here ({run.stderr.strip() or run.returncode}): "
                             f"{INSTALL_HINT}")
    return subprocess.run([bwrap(), "--version"], capture_output=True, text=True).stdout.strip()


def _namespaces() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(BOX_UID), "--gid", str(BOX_UID),
            "--cap-drop", "ALL", "--die-with-parent", "--new-session"]


# --- what the box holds -------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def bundle_dir() -> Path:
    """The box bundle of course_utils for this process, written once into a fresh temporary folder
    (readable by all, removed when the process exits)."""
    import atexit

    from course_utils.tools.bundle import write_box_bundle

    folder = Path(tempfile.mkdtemp(prefix="course-box-bundle-"))
    atexit.register(shutil.rmtree, folder, True)
    write_box_bundle(folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _system_binds() -> list[str]:
    """/usr and its merged-/usr links, a few files of /etc, the Python installation, the venv."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]  # core counts, read-only
    for prefix in dict.fromkeys(os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)):
        if not prefix.startswith("/usr/"):
            args += ["--ro-bind", prefix, prefix]
    if os.path.realpath(sys.prefix) != sys.prefix:  # a venv reached through a symlink
        args += ["--symlink", os.path.realpath(sys.prefix), sys.prefix]
    return args


def shared_cache_files() -> list[Path]:
    """The grader's cached files that match `SHARED_CACHE`."""
    from course_utils.data._paths import cache_dir

    return sorted(p for pattern in SHARED_CACHE for p in cache_dir().glob(pattern) if p.is_file())


def _shared_cache_binds(box_cache: str) -> list[str]:
    args = []
    for path in shared_cache_files():
        args += ["--ro-bind", str(path), f"{box_cache}/{path.name}"]
    return args


def box_env(env: dict[str, str]) -> dict[str, str]:
    """The kernel's whole environment: the allow-listed variables of `env`, and the box's own."""
    kept = {k: env[k] for k in PASSED_ENV if k in env}
    kept.update(HOME=HOME, TMPDIR=SCRATCH, USER="student", PYTHONPATH=BUNDLE, PYTHONNOUSERSITE="1",
                PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
                MPLCONFIGDIR=f"{HOME}/.config/matplotlib", COURSE_CACHE_DIR=f"{HOME}/.cache/course_utils",
                COURSE_BOX_SUBMISSION=SUBMISSION, LANG=kept.get("LANG", "C.UTF-8"))
    data = env.get("COURSE_DATA_DIR")
    if data and os.path.isdir(data):
        kept["COURSE_DATA_DIR"] = os.path.realpath(data)
    return kept


def box_command(kernel_cmd: list[str], *, comm_dir: str, submission: str, env: dict[str, str],
                limits: Limits, cgroup: str = "", probe_folder: str = "") -> list[str]:
    """The command line that runs `kernel_cmd` in a fresh box (see the module docstring). The hidden
    tests' requests (`probe_folder`/requests) are bound read-only, their results folder writable."""
    inner_env = box_env(env)
    if probe_folder:
        inner_env.update(COURSE_PROBE_REQUESTS=f"{GRADER}/requests", COURSE_PROBE_RESULTS=f"{GRADER}/results")
    args = [bwrap(), *_namespaces(), "--clearenv"]
    for key, value in sorted(inner_env.items()):
        args += ["--setenv", key, value]
    # The tmpfs first: a venv, data folder or socket folder under /tmp is then bound inside it, not hidden.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.disk_mb << 20), "--tmpfs", SCRATCH, "--dir", HOME, "--dir", WORK]
    args += _system_binds()
    args += _shared_cache_binds(inner_env["COURSE_CACHE_DIR"])
    args += ["--ro-bind", str(bundle_dir()), BUNDLE,
             "--ro-bind", submission, SUBMISSION,
             "--bind", comm_dir, comm_dir]
    if "COURSE_DATA_DIR" in inner_env:
        args += ["--ro-bind", inner_env["COURSE_DATA_DIR"], inner_env["COURSE_DATA_DIR"]]
    if probe_folder:
        args += ["--ro-bind", f"{probe_folder}/requests", f"{GRADER}/requests",
                 "--bind", f"{probe_folder}/results", f"{GRADER}/results"]
    args += ["--remount-ro", "/", "--chdir", WORK, "--", *kernel_cmd]
    launcher = [sys.executable, "-m", "course_utils.tools.box", "--nproc", str(limits.processes),
                "--file-mb", str(limits.file_mb)]
    if cgroup:
        launcher += ["--cgroup", cgroup]
    return [*launcher, "--", *args]


# --- the process cap ----------------------------------------------------------------
def _pids_root() -> Path | None:
    """The pids cgroup folder this process is in, where it can make child groups (cgroup v1 or v2)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = Path("/sys/fs/cgroup/pids")
        elif controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            base = Path("/sys/fs/cgroup")
            if "pids" not in (base / path.lstrip("/") / "cgroup.controllers").read_text().split():
                continue
        else:
            continue
        folder = base / path.lstrip("/")
        if os.access(folder, os.W_OK):
            return folder
    return None


def make_cgroup(processes: int) -> str:
    """A fresh pids cgroup capped at `processes` tasks, or '' where this grader cannot make one."""
    try:
        root = _pids_root()
        if root is None:
            return ""
        for stale in root.glob("course-box-*"):  # left by a grader that was killed
            owner = stale.name.split("-")[2]
            if not (owner.isdigit() and _alive(int(owner))):
                remove_cgroup(str(stale))
        folder = root / f"course-box-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        folder.mkdir()
        (folder / "pids.max").write_text(str(processes))
        return str(folder)
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_cgroup(folder: str) -> None:
    """Kill whatever is still in the cgroup, then remove it."""
    if not folder:
        return
    import signal
    import time

    for _ in range(50):
        try:
            pids = [int(p) for p in Path(folder, "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    try:
        os.rmdir(folder)
    except OSError:
        pass


def process_cap(cgroup: str, limits: Limits) -> str:
    """How the box's processes are capped, for the grading report."""
    if cgroup:
        return f"cgroup pids.max={limits.processes}"
    if os.geteuid() == 0:  # root's processes are exempt from RLIMIT_NPROC
        return "none (root, and no pids cgroup this grader can write)"
    return f"RLIMIT_NPROC={limits.processes}"


def launch(argv: list[str]) -> None:
    """The trusted launcher: join the cgroup, set the inherited limits, exec the box."""
    import argparse
    import resource

    parser = argparse.ArgumentParser(prog="python -m course_utils.tools.box")
    parser.add_argument("--cgroup", default="")
    parser.add_argument("--nproc", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if args.cgroup:
        Path(args.cgroup, "cgroup.procs").write_text(str(os.getpid()))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_mb << 20,) * 2)
    if not args.cgroup:
        # Counted per user namespace: the box's own processes, not the grader's.
        resource.setrlimit(resource.RLIMIT_NPROC, (args.nproc,) * 2)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    launch(sys.argv[1:])
