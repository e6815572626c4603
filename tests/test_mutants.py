"""The checks' mutation tests (course_utils/checks/mutants.py): every probe check rejects every
non-equivalent wrong answer of its catalogue and passes every correct one, and the committed
bench/results/mutants.json is what the catalogue gives today."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from course_utils.checks import mutants, probes
from course_utils.checks._trusted import passed

CELLS = {f"{c.assignment}/{c.grade_id}": c for c in mutants.CATALOGUE}


@pytest.fixture(scope="module")
def scores():
    return dict(zip(CELLS, mutants.score_all(list(CELLS.values()))))


@pytest.mark.parametrize("key", sorted(CELLS))
def test_each_catalogue_has_enough_wrong_and_right_answers(key):
    cell = CELLS[key]
    assert len(cell.wrong) >= (4 if cell.training else 8) and len(cell.alternatives) >= 3
    if not cell.training:  # an accuracy cell trains every variant: no mechanical mutants
        assert len(mutants.mechanical_mutants(cell.entry, mutants.solution_sources(cell.assignment)[cell.entry])) >= 5


@pytest.mark.parametrize("key", sorted(CELLS))
def test_every_wrong_answer_is_rejected_and_every_right_one_passes(scores, key):
    s = scores[key]
    assert s.survivors == [] and s.rejected == []
    assert s.killed + s.equivalent == s.mutants and s.alternatives_passed == s.alternatives


@pytest.mark.parametrize("key", sorted(CELLS))
def test_every_equivalent_mutant_exists_and_says_why(key):
    cell = CELLS[key]
    solution = mutants.solution_sources(cell.assignment)
    made = {d for name in cell.solution for d, _ in mutants.mechanical_mutants(name, solution[name])}
    assert set(cell.equivalent) <= made
    assert all(len(why) > 20 for why in cell.equivalent.values())


def test_a_weak_check_shows_its_survivors(monkeypatch):
    """The machinery can fail: a KL check that passes everything lets every mutant through."""
    kl = probes.get("generative.kl")
    monkeypatch.setitem(probes.PROBES, "generative.kl", replace(kl, decide=lambda req, res: passed("anything")))
    s = mutants.score(CELLS["generative/test_kl"])
    assert s.killed < 5 and len(s.survivors) > 30


def test_the_committed_results_are_current(scores):
    committed = json.loads(mutants.RESULTS.read_text())
    for key, s in scores.items():
        assignment, grade_id = key.split("/")
        assert committed[assignment][grade_id] == s.as_json(), f"run `course mutants` and commit {mutants.RESULTS}"
