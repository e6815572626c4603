"""References captured at import, and the Verdict a check returns."""

from __future__ import annotations

import builtins

import numpy as np

# Captured once: later rebinding by student code does not reach the checks.
asarray = np.asarray
array_equal = np.array_equal
allclose = np.allclose
isfinite = np.isfinite
np_all = np.all
np_mean = np.mean
float32 = np.float32
ndarray = np.ndarray
is_instance = builtins.isinstance
type_of = builtins.type
length = builtins.len
as_str = builtins.str
as_float = builtins.float
as_bool = builtins.bool


class Verdict:
    """The outcome of a check: truthy exactly when it passed; `reason` says what is wrong (or
    right), `values` what the code gave and what was expected, which a student's feedback shows
    only where the course says so (course.toml [feedback] show_values)."""

    __slots__ = ("_passed", "reason", "values")

    def __init__(self, passed: bool, reason: str = "", values: str = ""):
        object.__setattr__(self, "_passed", passed is True)
        object.__setattr__(self, "reason", as_str(reason))
        object.__setattr__(self, "values", as_str(values))

    def __setattr__(self, name, value):
        raise AttributeError("a Verdict is read-only")

    def __bool__(self) -> bool:
        return self._passed

    def __repr__(self) -> str:
        return f"Verdict({'passed' if self._passed else 'failed'}: {self.reason})"


def passed(reason: str = "ok") -> Verdict:
    return Verdict(True, reason)


def fail(reason: str, values: str = "") -> Verdict:
    return Verdict(False, reason, values)


def strings(values, what: str) -> list[str]:
    """`values` as a list of genuine Python str; TypeError naming `what` otherwise."""
    out = []
    for v in values:
        if type_of(v) is not str and not is_instance(v, np.str_):
            raise TypeError(f"{what} must be strings, got {type_of(v).__name__}")
        out.append(as_str.__new__(as_str, v))
    return out


def array(value, what: str, dtype=float32) -> np.ndarray:
    """`value` as a plain finite NumPy array of `dtype`; TypeError/ValueError naming `what`."""
    if hasattr(value, "numpy") and not is_instance(value, ndarray):
        value = value.numpy()  # a TensorFlow tensor
    out = asarray(value, dtype=dtype)
    if type_of(out) is not ndarray:
        out = out.view(ndarray)
    if not np_all(isfinite(out)):
        raise ValueError(f"{what} contains NaN or infinity")
    return out
