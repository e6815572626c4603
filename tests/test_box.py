"""The grading box (course_utils/tools/box.py), for real: bubblewrap, run as the grader runs it.

The first tests run small programs in a box and check what it can and cannot do; the
hostile suite (test_hostile.py) grades whole submissions through `course autograde`.
Without bubblewrap these tests are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from course_utils.config import repo_root
from course_utils.tools import autograde, box


def box_or_skip() -> None:
    """Skip (locally) or fail (in CI) when this machine cannot make a box."""
    try:
        box.probe()
    except box.BoxUnavailable as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must grade in the box: {err}")
        pytest.skip(str(err))


@pytest.fixture(autouse=True)
def _needs_box():
    box_or_skip()


def in_box(tmp_path, code: str, limits: box.Limits = box.Limits(disk_mb=32, processes=128),
           env: dict | None = None, timeout: float = 60) -> dict:
    """Run Python `code` in a fresh box; return the JSON it prints last (the box's own report)."""
    comm, submission = tmp_path / "comm", tmp_path / "submission"
    comm.mkdir(exist_ok=True)
    submission.mkdir(exist_ok=True)
    cgroup = box.make_cgroup(limits.processes)
    try:
        cmd = box.box_command([sys.executable, "-c", textwrap.dedent(code)], comm_dir=str(comm),
                              submission=str(submission), env=env or dict(os.environ), limits=limits,
                              cgroup=cgroup)
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        box.remove_cgroup(cgroup)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_box_runs_as_nobody_with_no_capabilities(tmp_path):
    seen = in_box(tmp_path, """
        import json, os
        status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)
        print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'caps': [status[k].strip() for k in
                          ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')], 'pids': os.listdir('/proc')}))
    """)
    assert (seen["uid"], seen["gid"]) == (65534, 65534)
    assert set(seen["caps"]) == {"0000000000000000"}
    pids = [int(p) for p in seen["pids"] if p.isdigit()]
    assert len(pids) <= 3 and os.getpid() not in pids  # its own processes only: bwrap's init and itself


def test_the_box_holds_nothing_instructor_only_and_writes_nowhere_but_its_scratch(tmp_path, monkeypatch):
    repo, cache = repo_root(), tmp_path / "grader-cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"cached")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    seen = in_box(tmp_path, f"""
        import importlib, json, os, sys
        site = [p for p in sys.path if p.endswith('site-packages')][0]
        paths = {{name: os.path.exists(p) for name, p in [('source', {str(repo / 'source')!r}),
                  ('solutions', {str(repo / 'solutions')!r}), ('autograder', {str(repo / 'autograder')!r}),
                  ('repo course_utils', {str(repo / 'course_utils')!r}), ('grader cache', {str(cache)!r})]}}
        modules = {{}}
        for name in ('course_utils.reference', 'course_utils.tools', 'course_utils.cli', 'course_utils.checks',
                     'course_utils.grading_kernel', 'course_utils.data'):
            try:
                importlib.import_module(name)
                modules[name] = True
            except ImportError:
                modules[name] = False
        writes = {{}}
        import course_utils.grading_agent as g
        for name, p in [('root', '/evil'), ('usr', '/usr/evil'), ('site-packages', site + '/evil.pth'),
                        ('agent', g.__file__), ('home', os.path.expanduser('~/ok')), ('tmp', '/tmp/ok'),
                        ('work', os.path.join(os.getcwd(), 'ok'))]:
            try:
                open(p, 'a').close()
                writes[name] = True
            except OSError:
                writes[name] = False
        print(json.dumps({{'paths': paths, 'modules': modules, 'writes': writes, 'cache': os.environ['COURSE_CACHE_DIR']}}))
    """)
    assert not any(seen["paths"].values()), seen["paths"]
    assert seen["modules"] == {"course_utils.reference": False, "course_utils.tools": False, "course_utils.cli": False,
                               "course_utils.checks": False, "course_utils.grading_kernel": True,
                               "course_utils.data": True}
    assert seen["writes"] == {"root": False, "usr": False, "site-packages": False, "agent": False,
                              "home": True, "tmp": True, "work": True}
    assert seen["cache"] != str(cache)
    assert (cache / "mnist.npz").read_bytes() == b"cached" and sorted(os.listdir(cache)) == ["mnist.npz"]


def test_the_box_reads_the_graders_shared_models_and_cannot_change_them(tmp_path, monkeypatch):
    cache = tmp_path / "grader-cache"
    cache.mkdir()
    (cache / "feature_classifier-v1-2000-e2.weights.h5").write_bytes(b"trained once")
    (cache / "mnist.npz").write_bytes(b"not shared")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    seen = in_box(tmp_path, """
        import json, os
        cache = os.environ['COURSE_CACHE_DIR']
        name = os.path.join(cache, 'feature_classifier-v1-2000-e2.weights.h5')
        out = {'files': sorted(os.listdir(cache)), 'read': open(name, 'rb').read().decode()}
        for what, attempt in [('write', lambda: open(name, 'wb').close()), ('unlink', lambda: os.unlink(name))]:
            try:
                attempt()
                out[what] = True
            except OSError:
                out[what] = False
        open(os.path.join(cache, 'mine.npz'), 'w').close()   # the rest of its cache is its own
        print(json.dumps(out))
    """)
    assert seen == {"files": ["feature_classifier-v1-2000-e2.weights.h5"], "read": "trained once",
                    "write": False, "unlink": False}
    assert sorted(os.listdir(cache)) == ["feature_classifier-v1-2000-e2.weights.h5", "mnist.npz"]


def test_the_box_has_no_network_and_no_way_back(tmp_path, http_server):
    url = http_server.add("/secret", b"pong")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    seen = in_box(tmp_path, f"""
        import ctypes, glob, json, os, socket, urllib.request
        libc = ctypes.CDLL(None, use_errno=True)
        out = {{}}
        try:
            out['http'] = urllib.request.urlopen({url!r}, timeout=3).read().decode()
        except OSError as e:
            out['http'] = type(e).__name__
        try:
            socket.create_connection(('127.0.0.1', {port}), timeout=3)
            out['tcp'] = 'connected'
        except OSError as e:
            out['tcp'] = type(e).__name__
        setns = []
        for path in glob.glob('/proc/*/ns/net'):
            fd = os.open(path, os.O_RDONLY)
            setns.append(libc.setns(fd, 0x40000000) == 0)   # CLONE_NEWNET
        out['setns'] = setns
        out['new userns'] = libc.unshare(0x10000000) == 0    # CLONE_NEWUSER: caps in a namespace of its own
        out['interfaces'] = sorted(n for _, n in socket.if_nameindex())
        print(json.dumps(out))
    """)
    assert seen["http"] == "URLError" and seen["tcp"] in ("ConnectionRefusedError", "OSError")
    assert seen["setns"] and not any(seen["setns"]) and seen["new userns"] is False
    assert seen["interfaces"] == ["lo"]
    assert http_server.requests == []


def test_only_allow_listed_variables_reach_the_box(tmp_path):
    env = dict(os.environ, COURSE_DB_URL="postgresql://ta:hunter2@db/grades", AWS_SECRET_ACCESS_KEY="s3cr3t",
               TF_CPP_MIN_LOG_LEVEL="3", COURSE_KERNEL_THREADS="1")
    seen = in_box(tmp_path, "import json, os; print(json.dumps(dict(os.environ)))", env=env)
    assert "hunter2" not in json.dumps(seen) and "s3cr3t" not in json.dumps(seen)
    assert seen["TF_CPP_MIN_LOG_LEVEL"] == "3" and seen["COURSE_KERNEL_THREADS"] == "1"
    assert set(seen) <= set(box.PASSED_ENV) | {"HOME", "TMPDIR", "USER", "PYTHONPATH", "PYTHONNOUSERSITE", "PATH",
                                               "MPLCONFIGDIR", "COURSE_CACHE_DIR", "COURSE_BOX_SUBMISSION",
                                               "COURSE_DATA_DIR", "LANG", "PWD"}


def test_the_disk_cap_covers_all_files_together(tmp_path):
    seen = in_box(tmp_path, """
        import errno, json, os
        n, err = 0, None
        try:
            for n in range(1000):
                with open(f'/tmp/work/f{n}', 'wb') as f:     # 1 MiB each, 1000 of them: far past the cap
                    f.write(b'x' * (1 << 20))
        except OSError as e:
            err = errno.errorcode[e.errno]
        print(json.dumps({'files': n, 'error': err}))
    """, limits=box.Limits(disk_mb=16, processes=128))
    assert seen["error"] == "ENOSPC" and seen["files"] <= 16
    assert os.listdir(tmp_path / "comm") == []


def test_the_processes_of_a_box_are_capped(tmp_path):
    limits = box.Limits(disk_mb=16, processes=96)
    cgroup = box.make_cgroup(limits.processes)
    box.remove_cgroup(cgroup)
    if box.process_cap(cgroup, limits).startswith("none"):
        pytest.skip("root without a writable pids cgroup: no process cap here")
    seen = in_box(tmp_path, """
        import json, subprocess
        children, err = [], None
        try:
            for _ in range(1000):
                children.append(subprocess.Popen(['sleep', '30']))
        except OSError as e:
            err = type(e).__name__
        for c in children:
            c.kill()
        print(json.dumps({'started': len(children), 'error': err}))
    """, limits=limits)
    assert seen["error"] == "BlockingIOError" and 48 < seen["started"] < limits.processes


def _survivors(marker: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if marker in line and "ps -eo" not in line]


def test_nothing_the_box_started_outlives_it(tmp_path):
    in_box(tmp_path, """
        import os, subprocess, sys
        subprocess.Popen(['sleep', '1234.5'], start_new_session=True)          # setsid
        if os.fork() == 0:                                                    # double fork
            os.setsid()
            if os.fork() == 0:
                os.execv('/bin/sleep', ['sleep', '1234.6'])
            os._exit(0)
        print('{}')
    """)
    time.sleep(0.5)
    assert _survivors("sleep 1234.") == []


def test_grading_refuses_to_start_without_bubblewrap(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    box.probe.cache_clear()
    try:
        with pytest.raises(SystemExit, match="apt-get install bubblewrap"):
            autograde.sandbox_or_exit()
        monkeypatch.setenv(box.UNSAFE_ENV, "1")
        assert autograde.sandbox_or_exit().startswith("UNSAFE")
    finally:
        box.probe.cache_clear()
