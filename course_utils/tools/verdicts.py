"""Hidden-test verdicts decided by the grader, outside the student's kernel and its box.

A hidden test written as a probe call,

    from course_utils import grading_agent as _grader
    _grader.answer("test_kl", "generative.kl", kl_divergence)

is graded in three steps (course_utils.checks.probes has the probes):

1. before the kernel starts, `write_requests` finds every such call in the notebook's
   hidden tests (the cells nbgrader restored from the gradebook, so the calls are the
   instructor's) and writes each probe's request (inputs, never answers) to a folder the
   box reads;
2. in the kernel, `grading_agent.answer` runs the student's function on them and saves the
   results to a second folder, the box's only other writable one (capped by sandbox.py);
3. after the kernel has gone, `DecideVerdicts` reads the results as untrusted data (size
   and names checked, no pickles), asks each probe for its verdict, and rewrites every test
   cell's outputs: the kernel's `execute_result` and display outputs are dropped (nbgrader
   would read a number there as partial credit), the cell's streams and errors are kept
   (a failing visible assert still scores 0), and the verdict is added: its reason as
   text, its values (what the code gave, what was expected) as a marked output the
   feedback may hide, and an error output when it failed, which nbgrader scores 0.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nbformat.notebooknode import NotebookNode
from traitlets import Integer

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from course_utils.grading_agent import RESULT_NAMES

REQUESTS, RESULTS = "requests", "results"
RESULT_KEY = re.compile(rf"^(?:(?:{'|'.join(RESULT_NAMES)})\d{{0,4}}|g\d{{1,4}}_\d{{1,2}})$")  # r0, judged, g0_1
RESOURCE = "course_probe_folder"   # resources[...] -> the notebook's probe folder


@dataclass(frozen=True)
class HiddenCall:
    request_id: str
    probe: str
    params: tuple = ()      # (name, literal value) of the call's keyword arguments


def hidden_calls(source: str) -> list[HiddenCall]:
    """The probe calls `*.answer("<request id>", "<probe>", ...)` in a cell's source, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "answer"
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                for a in node.args[:2])):
            try:
                params = tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords if k.arg)
            except ValueError:
                continue  # a keyword that is not a literal: not a call the grader can prepare
            calls.append(HiddenCall(node.args[0].value, node.args[1].value, params))
    return sorted(calls, key=lambda c: c.request_id)


def _test_cells(nb):
    for cell in nb.cells:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            yield cell


def write_requests(nb, folder: Path, seed: int) -> int:
    """Write the request of every probe call in `nb`'s test cells into `folder`/requests; return how many."""
    from course_utils.checks import probes

    target = folder / REQUESTS
    target.mkdir(parents=True, exist_ok=True)
    (folder / RESULTS).mkdir(exist_ok=True)
    n = 0
    for cell in _test_cells(nb):
        for call in hidden_calls(cell.source):
            req = probes.get(call.probe).request(probes.rng_for(call.request_id, seed), **dict(call.params))
            (target / f"{call.request_id}.json").write_text(json.dumps(req.spec()))
            np.savez(target / f"{call.request_id}.npz", **req.arrays)
            n += 1
    for path in [folder, target, folder / RESULTS, *target.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return n


def read_results(path: Path, max_bytes: int) -> dict[str, np.ndarray]:
    """The results the kernel saved at `path`, as plain arrays; ValueError naming what is wrong."""
    if not path.exists():
        raise ValueError("no results came back from the kernel (the cell stopped before its hidden test ran, "
                         "or the kernel died)")
    if path.is_symlink() or not path.is_file():
        raise ValueError("the results are not a plain file")
    if path.stat().st_size > max_bytes:
        raise ValueError(f"the results are larger than {max_bytes >> 20} MiB")
    out = {}
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - whatever the file holds, it is the kernel's
        raise ValueError(f"the results could not be read ({type(e).__name__})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError("the results are not an .npz archive")
    with npz:
        for key in npz.files:
            if not RESULT_KEY.match(key):
                raise ValueError(f"unexpected entry {key[:40]!r} in the results")
            try:
                value = npz[key]
            except Exception as e:  # noqa: BLE001 - object arrays (pickles), corrupt members
                raise ValueError(f"entry {key} of the results could not be read ({type(e).__name__})") from None
            if value.dtype.kind not in "biufU" or value.size > 10_000_000:
                raise ValueError(f"entry {key} of the results is not a plain array of numbers or strings")
            out[key] = value
    return out


VALUES = "course_values"   # output metadata key: the output says what the code gave and what was expected


def verdict_outputs(verdicts: list) -> list[NotebookNode]:
    """The outputs that carry the grader's verdicts into the cell: the reasons as text, each
    failure's values (what the code gave, what was expected) as an output marked VALUES, which
    the feedback keeps only where the course says so, and an error when one failed."""
    text = "".join(f"hidden test: {v.reason if v else 'FAILED: ' + v.reason}\n" for v in verdicts)
    outputs = [NotebookNode(output_type="stream", name="stdout", text=text)]
    outputs += [NotebookNode(output_type="display_data", data={"text/plain": f"hidden test values: {v.values}"},
                             metadata={VALUES: True}) for v in verdicts if not v and v.values]
    failed = [v for v in verdicts if not v]
    if failed:
        reason = failed[0].reason
        outputs.append(NotebookNode(output_type="error", ename="HiddenTestFailed", evalue=reason,
                                    traceback=[f"HiddenTestFailed: {reason}"]))
    return outputs


class DecideVerdicts(NbGraderPreprocessor):
    """After the kernel has gone: decide every probe's verdict and write it into its test cell."""

    max_result_mb = Integer(64, help="largest results file read from the kernel, MiB").tag(config=True)

    def preprocess(self, nb, resources):
        from course_utils.config import load_config

        folder = resources.get(RESOURCE)
        try:
            self._decide(nb, folder, load_config()["semester"]["seed"])
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        return nb, resources

    def _decide(self, nb, folder: str | None, seed: int) -> None:
        from course_utils.checks import probes

        for cell in _test_cells(nb):
            cell.outputs = [o for o in cell.outputs if o.output_type in ("stream", "error")]
            calls = hidden_calls(cell.source)
            if not calls or any(o.output_type == "error" for o in cell.outputs):
                continue  # no probe, or the cell failed in the kernel already: nbgrader scores it 0
            verdicts = []
            for call in calls:
                try:
                    if not folder:
                        raise ValueError("the grader prepared no requests for this notebook")
                    p = probes.get(call.probe)
                    req = p.request(probes.rng_for(call.request_id, seed), **dict(call.params))
                    results = read_results(Path(folder) / RESULTS / f"{call.request_id}.npz",
                                           self.max_result_mb << 20)
                    verdict = probes.decide_safely(p, req, results)
                except ValueError as e:
                    verdict = probes.fail(str(e))
                verdicts.append(verdict)
            cell.outputs += verdict_outputs(verdicts)
