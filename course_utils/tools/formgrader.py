"""`course formgrader`: nbgrader's formgrader, for grading written answers, on the course's own
gradebook and folders.

    course formgrader [--workspace DIR] [--db URL] [--port N]

starts a Jupyter server in the course folder, on 127.0.0.1, with nbgrader's formgrader and
this module as a server extension. So that the TA grades in the same gradebook that `course
autograde` filled and `course export` reads:
- nbgrader_config.py reads $COURSE_WORKSPACE and $COURSE_DB_URL, which this command sets from
  its options (plain nbgrader, and formgrader, read only that file);
- this environment's bin/ goes first on PATH: a fresh gradebook runs `alembic` by name, which
  failed on the first load when the server was started from another environment;
- formgrader's Generate and Autograde buttons run the course's own commands (`course release`,
  `course autograde`), not plain nbgrader, which would drop the release's .py exports and
  grade outside the box and its limits;
- maths renders offline: the submission pages load MathJax from this server (the
  jupyter-server-mathjax package), not from a CDN.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from course_utils.tools.feedback import NBGRADER_TEMPLATES, TEMPLATES
from course_utils.tools.nbgrader_run import grading_env
from course_utils.tools.workspace import DB_ENV, WORKSPACE_ENV, Workspace

TEMPLATE = "course_formgrade"   # nbgrader's submission page, with MathJax from this server
EXTENSIONS = {"nbgrader.server_extensions.formgrader": True, "jupyter_server_mathjax": True,
              "course_utils.tools.formgrader": True}


def server_command(ws: Workspace, port: int, token: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a formgrader server on `ws`."""
    env = grading_env(**{WORKSPACE_ENV: str(ws.folder), DB_ENV: ws.gradebook})
    ws.folder.mkdir(parents=True, exist_ok=True)
    config = ws.folder / "formgrader_config.json"   # the server's extensions (a dict: no command-line form)
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": EXTENSIONS}}, indent=1) + "\n")
    cmd = [sys.executable, "-m", "jupyter_server", f"--config={config}", f"--ServerApp.root_dir={ws.root}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.open_browser=False", "--ServerApp.default_url=/formgrader"]
    if os.geteuid() == 0:   # a container's root, as in CI: the server is on loopback only
        cmd.append("--ServerApp.allow_root=True")
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    return cmd, env


def serve(ws: Workspace, port: int) -> int:
    """Run formgrader on `ws` until interrupted; exit status."""
    cmd, env = server_command(ws, port)
    print(f"formgrader: gradebook {ws.gradebook}, submissions in {ws.folder / 'submitted'}\n"
          f"open the URL printed below (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call(cmd, cwd=ws.root, env=env)
    except KeyboardInterrupt:
        return 0


# --- the server extension -------------------------------------------------------------

def _jupyter_server_extension_points():
    return [{"module": "course_utils.tools.formgrader"}]


def _course_command(args: list[str], root: str) -> dict:
    """Run `course ARGS` in the course folder; formgrader's reply {"success", "log", "error"}."""
    run = subprocess.run([sys.executable, "-m", "course_utils.cli", *args], cwd=root, env=grading_env(),
                         capture_output=True, text=True)
    log = f"$ course {' '.join(args)}\n{run.stdout}{run.stderr}"
    reply = {"success": run.returncode == 0, "log": log}
    if run.returncode:
        reply["error"] = f"course {' '.join(args)} failed (exit {run.returncode}); see the log"
    return reply


def _handlers():
    """Handlers that take the place of formgrader's own for its Generate, Autograde and submission
    pages (imported late: they need a running server's classes)."""
    from nbgrader.server_extensions.formgrader.base import BaseApiHandler, check_notebook_dir, check_xsrf
    from nbgrader.server_extensions.formgrader.handlers import SubmissionHandler
    from nbconvert.exporters import HTMLExporter
    from tornado import web

    class GenerateHandler(BaseApiHandler):
        """Generate: `course release ASSIGNMENT` (release/, its .py exports and solutions/)."""

        @web.authenticated
        @check_xsrf
        @check_notebook_dir
        async def post(self, assignment_id):
            reply = await _in_thread(_course_command, ["release", assignment_id], self.coursedir.root)
            self.write(json.dumps(reply))

    class AutogradeHandler(BaseApiHandler):
        """Autograde: `course autograde ASSIGNMENT STUDENT --redo` in this workspace (the box, its limits)."""

        @web.authenticated
        @check_xsrf
        @check_notebook_dir
        async def post(self, assignment_id, student_id):
            args = ["autograde", assignment_id, student_id, "--redo",
                    "--workspace", os.environ.get(WORKSPACE_ENV, "autograder"), "--db", self.db_url]
            self.write(json.dumps(await _in_thread(_course_command, args, self.coursedir.root)))

    class CourseSubmissionHandler(SubmissionHandler):
        """A submission's page, rendered with MathJax from this server."""

        @property
        def exporter(self):
            if "course_exporter" not in self.settings:
                self.settings["course_exporter"] = HTMLExporter(
                    config=self.settings["nbgrader_exporter"].config, template_name=TEMPLATE,
                    template_file=f"{TEMPLATE}.html.j2", extra_template_basedirs=[NBGRADER_TEMPLATES, str(TEMPLATES)],
                    mathjax_url=f"{self.mathjax_url}?config=TeX-AMS-MML_HTMLorMML-full,Safe")
            return self.settings["course_exporter"]

    return [(r"/formgrader/api/assignment/([^/]+)/assign", GenerateHandler),
            (r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde", AutogradeHandler),
            (r"/formgrader/submissions/([^/]+)/?", CourseSubmissionHandler)]


async def _in_thread(fn, *args):
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _load_jupyter_server_extension(serverapp):
    """Put this module's handlers before formgrader's: the first matching rule wins."""
    from jupyter_server.utils import url_path_join

    web_app = serverapp.web_app
    base = web_app.settings["base_url"]
    rules = web_app.default_router.rules
    before = list(rules)
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in _handlers()])
    ours = [rule for rule in rules if rule not in before]
    for rule in ours:
        rules.remove(rule)
    rules[0:0] = ours
    serverapp.log.info("course: formgrader's Generate and Autograde run `course release` and `course autograde`")

