"""Hostile submissions, graded through `course autograde` in the box (part 1 of "grading you can trust").

Each case is a submission that attacks the grader from its notebook as a student who has
read this repository would (it knows every host path), paired with a wrong answer where a
grade is at stake. After the batch, nothing outside the submissions' own boxes may have
changed: the course tree, the environment's site-packages, the grader's data cache, the
other submissions and the gradebook are hashed before and after, no process the boxes
started is still alive, and a correct submission graded afterwards earns full marks.
The tiny course is test_grading's (one notebook, no training).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils.config import repo_root
from course_utils.tools import autograde, box
from tests.test_box import box_or_skip
from tests.test_grading import GRADING, WRONG, hand_in, make_course, outputs, scores, submission

pytestmark = pytest.mark.slow
MARKER = "course-hostile-daemon"


def tree_hashes(*roots: Path) -> dict[str, tuple]:
    """Every file under `roots` -> its size, mtime and (below 1 MiB) sha256; a missing root holds nothing."""
    found = {}
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if st.st_size < 1 << 20 else ""
            found[str(path)] = (st.st_size, st.st_mtime_ns, digest)
    return found


def attacks(ws, cache: Path, port: int) -> dict[str, str]:
    """student -> the code of their graded cell (after `interpolate` is defined)."""
    repo, site = repo_root(), next(p for p in sys.path if p.endswith("site-packages"))
    victim = ws.submitted("victim", "probe")
    gradebook = ws.folder / "gradebook.db"
    targets = [repo / "course_utils" / "checks" / "generative.py", repo / "course_utils" / "__init__.py",
               Path(site) / "zz_evil.pth", cache / "mnist.npz", cache / "evil.npz", gradebook,
               victim / "probe.ipynb", ws.root / "source" / "probe" / "probe.ipynb"]
    secrets = [ws.root / "source" / "probe" / "probe.ipynb", gradebook, repo / "course_utils" / "checks" / "generative.py",
               repo / "course_utils" / "reference" / "generative.py"]
    return {
        "writer": WRONG + f"""
import os, shutil, course_utils.grading_agent as g
for t in {[str(t) for t in targets]!r} + [g.__file__]:
    try:
        with open(t, 'a') as f:
            f.write('\\nimport os; os.system("touch /tmp/pwned")\\n')
        print('WROTE', t)
    except OSError as e:
        print('DENIED', t, type(e).__name__)
for d in {[str(victim.parent), str(cache), str(ws.root / 'source'), str(repo / 'course_utils')]!r}:
    try:
        shutil.rmtree(d)
        print('REMOVED', d)
    except OSError as e:
        print('DENIED', d, type(e).__name__)
""",
        "reader": WRONG + f"""
import os
for p in {[str(s) for s in secrets]!r}:
    try:
        print('READ', p, open(p, 'rb').read(300))
    except OSError as e:
        print('DENIED', p, type(e).__name__)
try:
    import course_utils.reference
    print('IMPORTED reference')
except ImportError:
    print('DENIED reference')
""",
        "daemon": WRONG + f"""
import os, subprocess, sys
code = '''
import os, sys, time
for _ in range(100):
    for p in {[str(gradebook), str(victim / "probe.ipynb")]!r}:
        try:
            open(p, "ab").write(b"owned")
        except OSError:
            pass
    time.sleep(0.1)
'''
subprocess.Popen([sys.executable, '-c', code, '{MARKER}'], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, '-c', code, '{MARKER}'])
    os._exit(0)
print('DETACHED')
""",
        "kernels": WRONG + """
import glob, os
found = glob.glob('/tmp/course-kernel-*') + glob.glob('/tmp/*/kernel.json') + \\
        glob.glob(os.path.expanduser('~/.local/share/jupyter/runtime/*')) + glob.glob('/root/.local/share/jupyter/runtime/*')
print('KERNELS', len(set(os.path.dirname(f) if f.endswith('.json') else f for f in found)), sorted(found))
""",
        "network": WRONG + f"""
import ctypes, glob, os, socket
libc = ctypes.CDLL(None, use_errno=True)
for path in glob.glob('/proc/*/ns/net'):
    print('SETNS', path, libc.setns(os.open(path, os.O_RDONLY), 0x40000000))
print('UNSHARE', libc.unshare(0x10000000))
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'GET /leak HTTP/1.0\\r\\n\\r\\n')
    print('NET connected')
except OSError as e:
    print('NET', type(e).__name__)
""",
        "filler": WRONG + """
n = 0
try:
    for n in range(10_000):
        with open(f'fill{n}.bin', 'wb') as f:
            f.write(b'x' * (1 << 20))
except OSError as e:
    print('FULL after', n, 'MiB:', type(e).__name__, e.errno)
""",
        "forkbomb": WRONG + """
import os, signal, time
end = time.time() + 3
while time.time() < end:
    try:
        if os.fork() == 0:                       # every child forks on, and ignores interrupts
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.05)
    except OSError:
        time.sleep(0.05)
print('BOMB done')
""",
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, http_server_module):
    box_or_skip()
    ws = make_course(tmp_path_factory.mktemp("course"))
    cache = tmp_path_factory.mktemp("grader-cache")
    (cache / "mnist.npz").write_bytes(b"the grader's cached data")
    decoy = Path("/tmp/course-kernel-decoy")   # another kernel's connection folder, as the grader writes them
    decoy.mkdir(exist_ok=True)
    (decoy / "kernel.json").write_text(json.dumps({"key": "the other kernel's key"}))
    os.environ["COURSE_CACHE_DIR"] = str(cache)  # the grader's cache, for this module
    port = http_server_module.port
    cases = attacks(ws, cache, port)
    hand_in(ws, "victim", submission(ws))
    autograde.autograde(ws, "probe", ["victim"], workers=1, progress=False, grading=GRADING)
    for student, code in cases.items():
        hand_in(ws, student, submission(ws, code))
    watched = (repo_root() / "course_utils", next(p for p in sys.path if p.endswith("site-packages")), cache,
               ws.root / "source", ws.root / "release", ws.submitted("victim"))
    before = tree_hashes(*watched)
    groups = box._pids_root()
    groups_before = set(groups.glob("course-box-*")) if groups else set()
    victim_before = _grades(ws, "victim")
    start = time.perf_counter()
    outcomes = autograde.autograde(ws, "probe", sorted(cases), workers=2, progress=False, grading=GRADING)
    seconds = time.perf_counter() - start
    time.sleep(2)  # a daemon that outlived its box would write now
    hand_in(ws, "after", submission(ws))
    after = autograde.autograde(ws, "probe", ["after"], workers=1, progress=False, grading=GRADING)
    now = tree_hashes(*watched)
    yield {"ws": ws, "cache": cache, "outcomes": {o.student: o for o in outcomes + after}, "seconds": seconds,
           "changed": {p for p in set(before) | set(now) if before.get(p) != now.get(p)},
           "cgroups_left": (set(groups.glob("course-box-*")) - groups_before) if groups else set(),
           "victim": (victim_before, _grades(ws, "victim")), "requests": list(http_server_module.requests)}
    del os.environ["COURSE_CACHE_DIR"]
    (decoy / "kernel.json").unlink()
    decoy.rmdir()


@pytest.fixture(scope="module")
def http_server_module():
    from tests.conftest import LoopbackServer

    server = LoopbackServer()
    server.port = int(server.url("/").rsplit(":", 1)[1].split("/")[0])
    yield server
    server.close()


def _grades(ws, student: str) -> list[tuple]:
    """The gradebook's grades of `student`: (grade id, auto score, manual score, its submission's timestamp)."""
    from nbgrader.api import Gradebook

    with Gradebook(ws.gradebook) as gb:
        nb = gb.find_submission_notebook("probe", "probe", student)
        return sorted((g.name, g.auto_score, g.manual_score, str(nb.assignment.timestamp)) for g in nb.grades)


def printed(ws, student: str) -> str:
    return "\n".join(sum(outputs(ws, student), []))


def test_nothing_outside_the_boxes_changed(hostile):
    assert hostile["changed"] == set()
    assert hostile["victim"][0] == hostile["victim"][1] and hostile["victim"][0]
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize("student", ["writer", "reader", "daemon", "kernels", "network", "filler", "forkbomb"])
def test_each_attack_is_graded_on_its_wrong_answer(hostile, student):
    outcome = hostile["outcomes"][student]
    assert outcome.status == "graded", outcome.reason
    assert scores(hostile["ws"], student)["test_interp"] == 0, printed(hostile["ws"], student)


def test_a_correct_submission_graded_after_them_earns_full_marks(hostile):
    assert scores(hostile["ws"], "after") == {"test_interp": 2, "test_after": 1}


def test_writes_are_denied_everywhere_but_the_scratch(hostile):
    out = printed(hostile["ws"], "writer")
    assert "WROTE" not in out and "REMOVED" not in out and out.count("DENIED") == 13, out


def test_no_instructor_file_or_gradebook_can_be_read(hostile):
    out = printed(hostile["ws"], "reader")
    assert "READ" not in out and "BEGIN HIDDEN TESTS" not in out and "SQLite" not in out, out
    assert "DENIED reference" in out


def test_no_process_outlives_its_box(hostile):
    assert "DETACHED" in printed(hostile["ws"], "daemon")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert MARKER not in ps


def test_a_kernel_sees_its_own_connection_folder_only(hostile):
    out = printed(hostile["ws"], "kernels")
    assert "KERNELS 1 " in out and "decoy" not in out, out


def test_no_network_and_no_way_back_into_the_graders_namespace(hostile):
    out = printed(hostile["ws"], "network")
    assert "SETNS" in out and all(line.endswith(" -1") for line in out.splitlines() if line.startswith("SETNS"))
    assert "UNSHARE -1" in out and ("NET ConnectionRefusedError" in out or "NET OSError" in out), out
    assert hostile["requests"] == []


def test_the_disk_cap_stops_many_files(hostile):
    out = printed(hostile["ws"], "filler")
    assert "FULL after" in out and "28" in out, out   # errno 28: ENOSPC
    n = int(out.split("FULL after ")[1].split()[0])
    assert n <= GRADING["disk_mb"]
    autograded = hostile["ws"].folder / "autograded" / "filler" / "probe"
    assert not list(autograded.glob("fill*.bin"))


def test_a_fork_bomb_is_capped_and_cleaned_up(hostile):
    outcome = hostile["outcomes"]["forkbomb"]
    assert all(nb["process_cap"].startswith(("cgroup", "RLIMIT")) for nb in outcome.notebooks), outcome.notebooks
    assert scores(hostile["ws"], "forkbomb")["test_after"] == 1
    assert hostile["cgroups_left"] == set()   # every box's pids group was emptied and removed


def test_every_state_file_names_the_box(hostile):
    ws = hostile["ws"]
    for student in hostile["outcomes"]:
        state = ws.read_state("probe", student)
        assert state["sandbox"].startswith("bubblewrap"), state
        assert all(nb["box"].startswith("bubblewrap") for nb in state["notebooks"])


def test_unsafe_mode_is_marked_in_the_output_and_the_state(hostile, monkeypatch, capsys):
    ws = hostile["ws"]
    monkeypatch.setenv(box.UNSAFE_ENV, "1")
    outcomes = autograde.autograde(ws, "probe", ["after"], workers=1, progress=False, grading=GRADING)
    assert outcomes[0].status == "graded"        # graded again: an unsafe grade is not the boxed one
    assert "UNSAFE" in capsys.readouterr().err and "UNSAFE" in autograde.format_outcomes(outcomes)
    state = ws.read_state("probe", "after")
    assert state["sandbox"].startswith("UNSAFE") and state["notebooks"][0]["box"].startswith("UNSAFE")
    monkeypatch.delenv(box.UNSAFE_ENV)
    assert autograde.autograde(ws, "probe", ["after"], workers=1, progress=False, grading=GRADING)[0].status == "graded"
    assert ws.read_state("probe", "after")["sandbox"].startswith("bubblewrap")
