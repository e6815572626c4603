"""What the student saw, next to each written question (wired in nbgrader_config.py).

Autograding clears the submitted outputs and reruns the notebook on the small grading budget,
so the graded notebook's figures are the grader's, not the student's. A written question
whose mark scheme awards points for the student's figures names the cells it refers to in
the source notebook's metadata, `{"course": {"refers_to": ["<grade id>", ...]}}`; then

    KeepSubmittedOutputs  sanitize, first: the submitted outputs of the cells referred to,
                          cleaned (PNG figures and plain text only), into the notebook's metadata
    ShowSubmittedOutputs  autograde, last: after each such question, one cell per cell referred
                          to, holding the outputs the student's own notebook had there

so formgrader and the feedback show them beside the answer. The outputs are the student's own
(untrusted): only PNG images that decode as PNG and plain text pass, each capped, so nothing
from them runs in the TA's browser; the question's references come from the release, not the
submission.
"""

from __future__ import annotations

import base64
import binascii

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from course_utils.tools.notebooks import released_notebook

KEY = "course_submitted_outputs"   # notebook metadata: {grade id: [outputs]} between the two steps
MARK = "as_submitted"              # metadata of an inserted cell: {"course": {MARK: grade id}}
PNG = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 20_000                  # characters of text kept per output
MAX_IMAGE = 2 << 20                # bytes of one PNG figure
MAX_OUTPUTS = 12                   # outputs kept per cell
MAX_TOTAL = 20 << 20               # bytes kept per notebook, all cells together


def _text(value) -> str:
    text = "".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n[... cut]"


def _png(value) -> str | None:
    """`value` if it is base64 of a PNG no larger than MAX_IMAGE, else None."""
    if not isinstance(value, str) or len(value) > MAX_IMAGE * 4 // 3 + 8:
        return None
    try:
        data = base64.b64decode(value.replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(data).decode() if data.startswith(PNG) else None


def clean_outputs(outputs, budget: list[int] | None = None) -> list[NotebookNode]:
    """The outputs a TA may see of a student's cell: streams and plain text, PNG figures, error
    names and messages; nothing else (no HTML, JavaScript or SVG), each capped; a figure past the
    bytes left in `budget` ([bytes], shared by a notebook's cells) is replaced by a note."""
    budget = budget if budget is not None else [MAX_TOTAL]
    kept = []
    for out in list(outputs)[:MAX_OUTPUTS]:
        kind = out.get("output_type")
        if kind == "stream":
            kept.append(NotebookNode(output_type="stream", name="stderr" if out.get("name") == "stderr" else "stdout",
                                     text=_text(out.get("text", ""))))
        elif kind == "error":
            line = _text(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
            kept.append(NotebookNode(output_type="error", ename=_text(out.get("ename", "Error"))[:200],
                                     evalue=_text(out.get("evalue", "")), traceback=[line]))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data", {})
            png = _png(data.get("image/png"))
            if png and len(png) > budget[0]:
                kept.append(NotebookNode(output_type="stream", name="stdout",
                                         text=f"[a figure of {len(png) >> 10} KiB not kept: the submitted "
                                              f"figures exceed {MAX_TOTAL >> 20} MiB]\n"))
            elif png:
                budget[0] -= len(png)
                kept.append(NotebookNode(output_type="display_data", data={"image/png": png}, metadata={}))
            elif "text/plain" in data:
                kept.append(NotebookNode(output_type="display_data", data={"text/plain": _text(data["text/plain"])},
                                         metadata={}))
    return kept


class KeepSubmittedOutputs(NbGraderPreprocessor):
    """Sanitize, before ClearOutput: the submitted outputs of every cell a written question refers
    to, cleaned, into the notebook's metadata (whatever the submission had there is replaced)."""

    release_directory = Unicode("", help="the course's release/ folder").tag(config=True)

    def preprocess(self, nb, resources):
        wanted = {ref for refs in released_references(self.release_directory, resources).values() for ref in refs}
        kept, budget = {}, [MAX_TOTAL]
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            gid = str(meta.get("grade_id", ""))
            if cell.cell_type == "code" and meta.get("locked") and gid in wanted and gid not in kept:
                kept[gid] = clean_outputs(cell.get("outputs", []), budget)
        nb.metadata[KEY] = kept
        return nb, resources


def references(release_nb) -> dict[str, list[str]]:
    """{question grade id: the grade ids of the cells it refers to} of a release notebook."""
    out = {}
    for cell in release_nb.cells:
        refers = cell.metadata.get("course", {}).get("refers_to")
        if refers and (utils.is_task(cell) or (utils.is_grade(cell) and utils.is_solution(cell))):
            out[cell.metadata.nbgrader["grade_id"]] = [str(r) for r in refers]
    return out


def released_references(release_directory: str, resources) -> dict[str, list[str]]:
    """`references` of the release notebook that this submission answers ({} if there is none)."""
    release = released_notebook(release_directory, resources)
    return references(release) if release is not None else {}


def submitted_cell(grade_id: str, outputs: list) -> NotebookNode:
    """A cell holding the outputs the student's notebook had at `grade_id` (never run)."""
    note = (f"# As submitted: the outputs of cell '{grade_id}' in the student's own notebook "
            f"(this graded copy reran it on the grading budget)")
    if not outputs:
        note += "\n# (the submitted notebook had no outputs here: it was saved without running this cell)"
    cell = nbformat.v4.new_code_cell(note, metadata={"course": {MARK: grade_id}})
    cell.outputs = outputs
    return cell


class ShowSubmittedOutputs(NbGraderPreprocessor):
    """Autograde, after the verdicts: after each written question the release says refers to cells,
    the outputs the student's notebook had in those cells."""

    release_directory = Unicode("", help="the course's release/ folder").tag(config=True)

    def preprocess(self, nb, resources):
        kept = nb.metadata.pop(KEY, None) or {}   # cleaned by KeepSubmittedOutputs; the kernel never sees it
        refers = released_references(self.release_directory, resources)
        cells = []
        for cell in nb.cells:
            if cell.metadata.get("course", {}).get(MARK):
                continue  # an inserted cell from an earlier run, or one the student forged
            cells.append(cell)
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in refers and (utils.is_task(cell) or utils.is_grade(cell)):
                cells += [submitted_cell(ref, kept.get(ref, [])) for ref in refers[gid]]
        nb.cells = cells
        return nb, resources
