"""The grader's side of probe hidden tests (course_utils/tools/verdicts.py): finding the calls,
reading what the kernel saved as untrusted data, and writing verdicts into test cells."""

from __future__ import annotations

import os

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_utils.config import load_config, repo_root
from course_utils.tools import verdicts

LIMIT = 1 << 20
SEED = load_config()["semester"]["seed"]   # the grader's: requests are made again from it to decide


def _cell(source, outputs=(), gid="test_interp"):
    cell = new_code_cell(source, metadata={"nbgrader": {"grade_id": gid, "grade": True, "solution": False,
                                                        "locked": True, "points": 2, "schema_version": 3}})
    cell.outputs = list(outputs)
    return cell


CALL = ("x = 1\n### BEGIN HIDDEN TESTS\nfrom course_utils import grading_agent as _grader\n"
        "_grader.answer('test_interp', 'generative.interpolation', interpolate)\n### END HIDDEN TESTS")


def test_hidden_calls_are_found_in_the_course_notebooks():
    found = {}
    for path in (repo_root() / "source").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            found.update({c.request_id: c.probe for c in verdicts.hidden_calls(cell.source)})
    assert found == {"test_kl": "generative.kl", "test_vae_loss": "generative.vae_loss",
                     "test_sampling": "generative.sampling", "test_vae_networks": "generative.vae_models",
                     "test_vae_networks_builder": "generative.vae_builder",
                     "test_fashion_vae_networks": "generative.fashion_vae_models",
                     "test_fashion_gan_networks": "generative.fashion_gan_models",
                     "test_interpolation": "generative.interpolation",
                     "test_latent_scaling": "generative.latent_scaling", "test_gan_train_step": "generative.gan_step",
                     "test_encode": "seq2seq.encode", "test_decode": "seq2seq.decode",
                     **{f"test_{m}_builder": "seq2seq.builder" for m in ("text2text", "image2text", "text2image")},
                     **{f"test_deeper_encoder_{m}": "seq2seq.deeper_encoder" for m in ("text2text", "image2text", "text2image")},
                     **{f"test_text2text_accuracy_split{k}": "seq2seq.accuracy" for k in (1, 2, 3)},
                     "test_image2text_accuracy": "seq2seq.accuracy", "test_text2image_accuracy": "seq2seq.accuracy",
                     "test_train_evaluate": "seq2seq.train_evaluate"}
    assert verdicts.hidden_calls("answer(name, 'generative.kl', f)") == []   # only literal ids count
    call, = verdicts.hidden_calls("answer('t', 'generative.vae_models', e, d, image_shape=(8, 8, 1), latent_dim=2)")
    assert dict(call.params) == {"image_shape": (8, 8, 1), "latent_dim": 2}


def test_every_hidden_test_of_the_course_is_decided_by_the_grader():
    """No test cell of the course leaves its verdict to the kernel: each holds a probe call named after it."""
    for path in (repo_root() / "source").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            grade = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and grade.get("grade") and not grade.get("solution"):
                ids = [c.request_id for c in verdicts.hidden_calls(cell.source)]
                assert ids and all(i.startswith(grade["grade_id"]) for i in ids), (path.name, grade["grade_id"])
                assert "course_utils.checks" not in cell.source, (path.name, grade["grade_id"])


@pytest.mark.parametrize("make, why", [
    (lambda p: None, "no results came back"),
    (lambda p: os.symlink("/etc/passwd", p), "not a plain file"),
    (lambda p: p.write_bytes(b"x" * (LIMIT + 1)), "larger than"),
    (lambda p: p.write_bytes(b"garbage, not a zip"), "could not be read"),
    (lambda p: np.savez(p, evil=np.zeros(3)), "unexpected entry"),
    (lambda p: np.savez(p, r0=np.array([object()], dtype=object)), "could not be read"),
])
def test_untrusted_results_are_an_error_naming_the_problem(tmp_path, make, why):
    path = tmp_path / "test_interp.npz"
    make(path)
    with pytest.raises(ValueError, match=why):
        verdicts.read_results(path, LIMIT)


def _decide(tmp_path, cell, results=None):
    folder = tmp_path / "probes"
    nb = new_notebook(cells=[cell])
    verdicts.write_requests(nb, folder, seed=SEED)
    if results is not None:
        np.savez(folder / verdicts.RESULTS / "test_interp.npz", **results)
    verdicts.DecideVerdicts().preprocess(nb, {verdicts.RESOURCE: str(folder)})
    assert not folder.exists()   # the probe folder is removed once decided
    return nb.cells[0].outputs


def _right_answers(tmp_path):
    from course_utils import grading_agent
    from course_utils.checks import probes
    from course_utils.reference.generative import interpolate

    req = probes.get("generative.interpolation").request(probes.rng_for("test_interp", SEED))
    return grading_agent.run_calls(req.spec(), req.arrays, interpolate)


def test_a_right_answer_passes_and_numbers_in_the_cell_are_dropped(tmp_path):
    number = new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1)
    outputs = _decide(tmp_path, _cell(CALL, [number]), _right_answers(tmp_path))
    assert [o.output_type for o in outputs] == ["stream"] and "evenly spaced" in outputs[0].text


def test_a_wrong_answer_fails_with_an_error_output(tmp_path):
    results = {k: v + 1 for k, v in _right_answers(tmp_path).items()}
    number = new_output("execute_result", data={"text/plain": "2"}, execution_count=1)
    outputs = _decide(tmp_path, _cell(CALL, [number]), results)
    assert [o.output_type for o in outputs] == ["stream", "error"]
    assert outputs[1].ename == "HiddenTestFailed" and "endpoints" in outputs[1].evalue


def test_no_results_fail_and_a_failing_visible_assert_stays_as_it_is(tmp_path):
    outputs = _decide(tmp_path, _cell(CALL), None)
    assert outputs[-1].output_type == "error" and "no results came back" in outputs[-1].evalue
    error = new_output("error", ename="AssertionError", evalue="visible", traceback=[])
    outputs = _decide(tmp_path, _cell(CALL, [error]), _right_answers(tmp_path))
    assert [o.ename for o in outputs] == ["AssertionError"]
