"""End to end: the sample corpus (course_utils/tools/corpus.py) autograded by `course autograde`
in its own workspace; every case must earn exactly the points written beside it. After the
README's main job (which grades some of the same cases) the graded submissions are reused: they are
graded again only when a submission or anything that grades it changed."""

import pytest

from course_utils.tools import corpus


@pytest.fixture(scope="module")
def results():
    graded = corpus.grade(corpus.workspace(), progress=False, everything=True)
    return {(c.assignment, c.name): bad for c, bad in graded.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", corpus.CASES,
                         ids=lambda c: f"{c.assignment}-{c.name}")
def test_case_scores_as_expected(results, case):
    assert results[(case.assignment, case.name)] == [], case.what


def test_every_tamper_case_pairs_its_trick_with_a_wrong_answer():
    for case in corpus.CASES:
        if case.name.startswith("tamper") or case.name in ("lying_objects", "shadowing", "edited_test_cell"):
            assert case.expect and set(case.expect.values()) == {0}, case.name


def test_results_are_keyed_by_case_and_tabulate():
    table = corpus.format_table({case: [] for case in corpus.CASES})
    assert len(table.splitlines()) == len(corpus.CASES) + 1
