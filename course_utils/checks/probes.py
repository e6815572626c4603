"""Probes: hidden tests whose verdict is decided by the grader, outside the student's kernel.

A probe is the trusted half of a hidden test:

    request(rng) -> Request          inputs for the student's function (never the answers)
    decide(request, results) -> Verdict   from what the function gave back, as plain data

The kernel half is `course_utils.grading_agent`: it runs the request's runner on the
student's function and saves plain results. While grading, the grader
(course_utils.tools.verdicts) writes each request before the kernel starts and decides
after it has gone; `judge(name, fn)` does all three in this process, for tests and
`course mutants`.

    judge("generative.kl", kl_divergence) -> Verdict
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from course_utils.checks._trusted import Verdict, fail

PROBES: dict[str, "Probe"] = {}


@dataclass(frozen=True)
class Request:
    """What the kernel is asked: a runner, its calls (JSON), and the input arrays they name ('@name')."""

    runner: str
    calls: list[dict]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    layer: bool = False      # the student's object is a Layer class: instantiate it once, then call it
    params: dict = field(default_factory=dict)   # the probe's parameters (shapes), for `decide`
    build: dict | None = None  # predict runner: {"args": [...], "draws": n}: call the builder n times
    setup: dict | None = None  # the gan and train runners' settings (JSON)

    def spec(self) -> dict:
        return {"runner": self.runner, "calls": self.calls, "layer": self.layer, "build": self.build,
                "setup": self.setup}


@dataclass(frozen=True)
class Probe:
    name: str
    request: Callable[[np.random.Generator], Request]
    decide: Callable[[Request, dict], Verdict]
    doc: str = ""


def probe(name: str, request: Callable):
    """Register `decide` (the decorated function) with its `request` maker as probe `name`."""
    def register(decide):
        PROBES[name] = Probe(name, request, decide, (decide.__doc__ or "").strip())
        return decide
    return register


def get(name: str) -> Probe:
    """The probe `name` ('<assignment>.<what>'); imports its checks module."""
    import importlib

    module = name.split(".", 1)[0]
    importlib.import_module(f"course_utils.checks.{module}")
    if name not in PROBES:
        raise KeyError(f"no probe {name!r} in course_utils.checks.{module}")
    return PROBES[name]


def rng_for(request_id: str, seed: int) -> np.random.Generator:
    """The inputs' random generator: fixed by the semester's seed and the request, unknown to students."""
    return np.random.default_rng([seed, zlib.crc32(request_id.encode())])


def judge(name: str, fn, *extra, request_id: str = "judge", seed: int = 0, params: dict | None = None) -> Verdict:
    """Request, run (here, in this process) and decide probe `name` on `fn` (and `extra` objects)."""
    from course_utils import grading_agent

    p = get(name)
    req = p.request(rng_for(request_id, seed), **(params or {}))
    results = grading_agent.RUNNERS[req.runner](req.spec(), req.arrays, fn, *extra)
    return decide_safely(p, req, results)


def decide_safely(p: Probe, req: Request, results: dict) -> Verdict:
    """`p.decide`, with malformed results (wrong types or shapes from a tampered kernel) a failed verdict."""
    try:
        return p.decide(req, results)
    except Exception as e:  # noqa: BLE001 - results are untrusted data
        return fail(f"the grader could not read your function's results ({type(e).__name__}: {e})")


# --- reading results ----------------------------------------------------------------
class CallFailed(Exception):
    """The student's function raised in call i; str() is its error."""


def value(results: dict, i: int, dtype=np.float64) -> np.ndarray:
    """Call i's result as a finite array of `dtype` (or its strings); CallFailed with the error if it raised."""
    if f"e{i}" in results:
        raise CallFailed(str(results[f"e{i}"]))
    if f"r{i}" not in results:
        raise CallFailed("no result came back")
    out = np.asarray(results[f"r{i}"])
    if dtype is str:
        if out.dtype.kind != "U":
            raise TypeError(f"expected strings, got an array of {out.dtype}")
        return out
    if out.dtype.kind not in "biuf":
        raise TypeError(f"expected numbers, got {out.dtype}")
    out = out.astype(dtype)
    if not np.all(np.isfinite(out)):
        raise ValueError("the result contains NaN or infinity")
    return out


def named(results: dict, key: str, finite: bool = True) -> np.ndarray:
    """The runner's array `key` as float64 (finite unless `finite` is False); KeyError/TypeError/ValueError
    when the kernel sent none or something else."""
    out = np.asarray(results[key])
    if out.dtype.kind not in "biuf":
        raise TypeError(f"{key} must be numbers, got {out.dtype}")
    out = out.astype(np.float64)
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{key} contains NaN or infinity")
    return out


def scalar(results: dict, i: int) -> float:
    out = value(results, i)
    if out.size != 1:
        raise ValueError(f"must be a single number (a scalar), got shape {out.shape}")
    return float(out.reshape(-1)[0])


def error_type(results: dict, i: int) -> str:
    """The name of the exception call i raised, or '' if it returned."""
    return str(results[f"t{i}"]) if f"t{i}" in results else ""


def gradient(results: dict, i: int, arg: int) -> np.ndarray | None:
    """The gradient the runner took for call i w.r.t. argument `arg`, or None when none reached it."""
    g = results.get(f"g{i}_{arg}")
    if g is None or np.asarray(g).dtype.kind == "U":
        return None
    return np.asarray(g, np.float64)
