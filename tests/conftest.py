# --- Loopback HTTP server, for the download tests --------------------------------
# A real HTTP server on 127.0.0.1 (a free port) that serves in-memory files, so the
# download code is exercised for real without reaching the internet.

import http.server
import socket
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
