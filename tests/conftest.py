# --- Loopback HTTP server, for the download tests --------------------------------
# A real HTTP server on 127.0.0.1 (a free port) that serves in-memory files, so the
# download code is exercised for real without reaching the internet.

import http.server
import os
import shutil
import socket
import threading

import pytest

from tests import services
from tests.services import apt_install


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


# --- The real Postgres and SLURM (tests/services.py): skipped locally, a failure in CI, when missing.

def _started(service, what: str):
    try:
        with service() as started:
            yield started
    except services.Unavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test {what}: {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def postgres():
    """A function that creates a fresh database on a real Postgres and returns its SQLAlchemy URL."""
    yield from _started(services.postgres_server, "the Postgres gradebook")


@pytest.fixture(scope="session")
def slurm():
    """The environment (SLURM_CONF) under which sbatch, squeue and scancel reach a fresh one-node cluster."""
    yield from _started(services.slurm_cluster, "grading on SLURM")
