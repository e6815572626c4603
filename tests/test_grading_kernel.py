"""The hidden-test guard in-process: take_snapshot(), student-style tampering, restore().

Each test tampers with this very process and relies on restore() to undo it, which is
itself the assertion: a later test would fail if anything were left behind."""

import gc
import os
from types import MappingProxyType

import numpy as np
import pytest

import course_utils.checks.generative as generative
import course_utils.checks.seq2seq as seq2seq
from course_utils import grading_kernel


@pytest.fixture(scope="module", autouse=True)
def snapshot(tmp_path_factory):
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("submission"))  # as in grading: the cwd is not on sys.path
    grading_kernel.take_snapshot()
    yield
    assert grading_kernel.restore() == []
    os.chdir(here)


def test_nothing_changed_reports_nothing():
    generative.check_interpolation(lambda a, b, n: np.linspace(a, b, n))
    assert grading_kernel.restore() == []


def test_a_swapped_function_body_is_put_back():
    original = generative.check_interpolation.__code__
    generative.check_interpolation.__code__ = (lambda interp_fn: True).__code__
    assert generative.check_interpolation(None) is True
    found = grading_kernel.restore()
    assert any("check_interpolation (its code" in f for f in found)
    assert generative.check_interpolation.__code__ is original
    assert not generative.check_interpolation(lambda a, b, n: np.zeros((n, 3)))


def test_numpy_internals_and_defaults_are_put_back():
    np.allclose._implementation.__code__ = (lambda *a, **k: True).__code__
    defaults = np.linspace.__defaults__ if hasattr(np.linspace, "__defaults__") else None
    found = grading_kernel.restore()
    assert any("allclose" in f for f in found)
    assert not np.allclose(1.0, 2.0)
    assert getattr(np.linspace, "__defaults__", None) == defaults


def test_settings_rebound_or_edited_in_place_are_put_back():
    mode, seed, rtol = seq2seq._MODE, seq2seq._CONFIG["semester"]["seed"], generative.RTOL
    seq2seq._MODE = "ci"
    gc.get_referents(seq2seq._CONFIG["semester"])[0]["seed"] = seed + 1  # behind the read-only view
    generative.RTOL = 1e9
    found = grading_kernel.restore()
    assert {"course_utils.checks.seq2seq._MODE", "course_utils.checks.seq2seq._CONFIG",
            "course_utils.checks.generative.RTOL"} <= set(found)
    assert (seq2seq._MODE, seq2seq._CONFIG["semester"]["seed"], generative.RTOL) == (mode, seed, rtol)
    assert type(seq2seq._CONFIG["semester"]) is MappingProxyType


def test_a_lying_setting_is_replaced_not_believed():
    class Liar(dict):
        def __eq__(self, other):
            return True

    generative.SAMPLING_SIGMAS = Liar()
    assert "course_utils.checks.generative.SAMPLING_SIGMAS" in grading_kernel.restore()
    assert type(generative.SAMPLING_SIGMAS) is float


def test_a_setting_emptied_behind_its_read_only_view_comes_back_whole():
    semester = dict(seq2seq._CONFIG["semester"])
    gc.get_referents(seq2seq._CONFIG["semester"])[0].clear()
    assert "course_utils.checks.seq2seq._CONFIG" in grading_kernel.restore()
    assert dict(seq2seq._CONFIG["semester"]) == semester
