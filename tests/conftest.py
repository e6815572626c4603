# --- Loopback HTTP server, for the download tests --------------------------------
# A real HTTP server on 127.0.0.1 (a free port) that serves in-memory files, so the
# download code is exercised for real without reaching the internet.

import http.server
import os
import shutil
import socket
import subprocess
import threading

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.files:
            self.send_error(404)
            return
        body, length = self.server.files[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)  # HTTP/1.0: the connection is closed after this

    def log_message(self, *args):
        pass


class LoopbackServer:
    """Serves files added with `add`; `requests` lists the paths asked for."""

    def __init__(self):
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.files = {}
        self._httpd.requests = []
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def requests(self):
        return self._httpd.requests

    def url(self, path):
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def add(self, path, body, *, content_length=None):
        """Serve `body` at `path` and return its URL.

        A `content_length` larger than the body makes an interrupted transfer:
        the server announces that many bytes, sends the body and hangs up.
        """
        self._httpd.files[path] = (body, len(body) if content_length is None else content_length)
        return self.url(path)

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def http_server(monkeypatch):
    """A `LoopbackServer` on 127.0.0.1, stopped after the test."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def unreachable_url(monkeypatch):
    """A URL on 127.0.0.1 where nothing listens (a port just found free)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def write_course_config(root, points):
    """root/course.toml: the committed config with `points` ({assignment: {grade_id: points}}) as its
    [points] tables, for a test course whose assignments are not the course's own."""
    from course_utils.config import CONFIG_NAME, read_raw, repo_root, to_toml

    raw = read_raw(repo_root() / CONFIG_NAME)
    raw["points"] = points
    (root / CONFIG_NAME).write_text(to_toml(raw))
    return root / CONFIG_NAME


# --- A real browser, for the web UIs ------------------------------------------------------
# Debian's Chromium and its driver, driven by Selenium. The set-up installs them with apt-get
# when it can (root); without them a test is skipped locally and fails in CI.

BROWSER_PACKAGES = ("chromium", "chromium-driver")


def apt_install(packages, ready) -> bool:
    """`ready()`, after installing Debian `packages` with apt-get when it is false and this is root
    (first from the package lists there are, then after refreshing them)."""
    if ready():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    for cmd in (install, ["apt-get", "update", "-qq"], install):
        subprocess.run(cmd, env=env, capture_output=True, timeout=1800)
        if ready():
            return True
    return False


def _chromium() -> tuple[str, str] | None:
    def found():
        return shutil.which("chromium") and shutil.which("chromedriver")

    return (shutil.which("chromium"), shutil.which("chromedriver")) if apt_install(BROWSER_PACKAGES, found) else None


@pytest.fixture(scope="session")
def chromium():
    """(browser, driver) paths of a headless-capable Chromium; skip locally, fail in CI without one."""
    found = _chromium()
    if found is None:
        message = f"no Chromium and chromedriver (Debian: apt-get install {' '.join(BROWSER_PACKAGES)})"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(message)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a browser fixture knows the test failed."""
    outcome = yield
    setattr(item, f"report_{call.when}", outcome.get_result())


@pytest.fixture
def browser(chromium, request, tmp_path):
    """A headless Chromium driven by Selenium, on loopback only; on failure a screenshot of the
    page it is on goes to the test's output folder (tmp_path/screenshots)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--proxy-server=direct://", "--proxy-bypass-list=*"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromium[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shots = tmp_path / "screenshots"
        shots.mkdir(exist_ok=True)
        driver.save_screenshot(str(shots / f"{request.node.name}.png"))
        print(f"screenshot: {shots / (request.node.name + '.png')}")
    driver.quit()


# --- A real Postgres, for the gradebook -----------------------------------------------------
# Debian's postgresql, a cluster of the test session's own on 127.0.0.1 (a free port), run by
# the postgres system user; installed with apt-get when it can (root); without it a test is
# skipped locally and fails in CI.

def _postgres_bin():
    import glob

    def found():
        return sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))

    return os.path.dirname(found()[-1]) if apt_install(["postgresql"], found) else None


@pytest.fixture(scope="session")
def postgres():
    """A function that creates a fresh database on a real Postgres and returns its SQLAlchemy URL."""
    import tempfile

    bindir = _postgres_bin()
    if bindir is None or os.geteuid() != 0:
        message = "no Postgres to start (Debian: apt-get install postgresql, as root)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the Postgres gradebook: {message}")
        pytest.skip(message)
    folder = tempfile.mkdtemp(prefix="course-postgres-")
    os.chmod(folder, 0o755)
    shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def as_postgres(*cmd):
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True, text=True,
                              timeout=120, check=True)

    as_postgres(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "course", "--no-sync")
    as_postgres(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(folder, "log"), "-w", "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    import psycopg

    def create(name: str) -> str:
        with psycopg.connect(f"host=127.0.0.1 port={port} user=course dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://course@127.0.0.1:{port}/{name}"

    yield create
    as_postgres(f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    shutil.rmtree(folder, ignore_errors=True)


# --- A real SLURM, single node --------------------------------------------------------------
# Debian's slurm-wlm and munge: slurmctld and slurmd of the test session's own (a config, state
# and logs in a temporary folder, their own ports), started as root and stopped afterwards;
# installed with apt-get when they are missing. Without them a test is skipped locally and
# fails in CI.

def _slurm_installed() -> bool:
    return apt_install(["slurm-wlm", "munge"],
                       lambda: all(shutil.which(b) for b in ("slurmctld", "slurmd", "sbatch", "munged")))


@pytest.fixture(scope="session")
def slurm():
    """The environment (SLURM_CONF) under which sbatch, squeue and scancel reach a fresh one-node cluster."""
    import tempfile
    import time

    if os.geteuid() != 0 or not _slurm_installed():
        message = "no SLURM to start (Debian: apt-get install slurm-wlm munge, as root)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test grading on SLURM: {message}")
        pytest.skip(message)
    folder = tempfile.mkdtemp(prefix="course-slurm-")
    host = socket.gethostname().split(".")[0]
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    conf = os.path.join(folder, "slurm.conf")
    with open(conf, "w") as f:
        f.write(f"""ClusterName=course
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    for sub in ("state", "spool"):
        os.makedirs(os.path.join(folder, sub))
    started_munge = subprocess.run(["munge", "-n"], capture_output=True).returncode != 0
    if started_munge:
        if not os.path.exists("/etc/munge/munge.key"):
            subprocess.run(["mungekey", "--create"], capture_output=True, check=True)
        os.makedirs("/run/munge", exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], capture_output=True, check=True)
    env = dict(os.environ, SLURM_CONF=conf)
    subprocess.run(["slurmctld", "-f", conf], env=env, capture_output=True, check=True)
    subprocess.run(["slurmd", "-f", conf], env=env, capture_output=True, check=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout.strip() != "idle":
        if time.monotonic() > deadline:
            pytest.fail(f"SLURM did not come up: {open(os.path.join(folder, 'slurmctld.log')).read()[-2000:]}")
        time.sleep(0.5)
    yield env
    subprocess.run(["scancel", "--full", "-u", "root"], env=env, capture_output=True)
    for name in ("slurmd", "slurmctld"):
        try:
            with open(os.path.join(folder, f"{name}.pid")) as f:
                os.kill(int(f.read().strip()), 15)
        except (OSError, ValueError):
            pass
    if started_munge:
        subprocess.run(["pkill", "-x", "munged"], capture_output=True)
    time.sleep(1)
    shutil.rmtree(folder, ignore_errors=True)
