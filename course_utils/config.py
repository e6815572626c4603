"""The course config (`course.toml` at the repository root): one semester's numbers.

`load_config()` returns a `Config`, a read-only nested mapping validated against
`SCHEMA`; an unknown key or an impossible value raises `ConfigError` naming the key
and the fix. `budget_mode()` says which training budget a notebook runs on.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

CONFIG_ENV = "COURSE_CONFIG"
BUDGET_ENV = "COURSE_BUDGET"
BUDGET_MODES = ("student", "grading", "ci")


class ConfigError(ValueError):
    """A course config that cannot be used; the message names the key and the fix."""


def _positive(x) -> bool:
    return x > 0


def _fraction(x) -> bool:
    return 0 < x < 1


def _non_negative(x) -> bool:
    return x >= 0


# key -> (type, check, what the check means). Every key is required: the config
# file is the one place a number lives, so nothing hides in a default here.
SCHEMA: dict[str, dict[str, tuple[type | tuple, Callable[[Any], bool] | None, str]]] = {
    "semester": {
        "name": (str, bool, "a non-empty name such as '2026-autumn'"),
        "seed": (int, _non_negative, "an integer >= 0"),
    },
    "grading": {
        "cell_timeout": (int, _positive, "seconds > 0"),
        "notebook_timeout": (int, _positive, "seconds > 0"),
        "memory_mb": (int, _positive, "megabytes > 0"),
        "workers": (int, _non_negative, "0 (one per core) or a positive count"),
    },
    "arithmetic": {
        "max_number": (int, lambda n: 9 <= n <= 999, "an integer from 9 to 999"),
        "operators": (list, lambda ops: bool(ops) and set(ops) <= {"+", "-"} and len(set(ops)) == len(ops),
                      "a non-empty list of distinct operators from '+', '-'"),
        "splits": (list, lambda s: bool(s) and all(isinstance(f, float) and _fraction(f) for f in s),
                   "a non-empty list of training fractions, each strictly between 0 and 1"),
    },
}


def repo_root() -> Path:
    """The repository root (the folder holding course.toml and nbgrader_config.py)."""
    return Path(__file__).resolve().parent.parent


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or repo_root() / "course.toml")


def _freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def validate(raw: Mapping[str, Any], source: str = "course config") -> Mapping[str, Any]:
    """Return `raw` frozen (read-only mappings, tuples) if it matches SCHEMA, else raise ConfigError."""
    for section in raw:
        if section not in SCHEMA:
            raise ConfigError(f"{source}: unknown section [{section}]; known sections: {', '.join(SCHEMA)}")
    for section, keys in SCHEMA.items():
        given = raw.get(section)
        if not isinstance(given, Mapping):
            raise ConfigError(f"{source}: section [{section}] is missing; add it with keys {', '.join(keys)}")
        for key in given:
            if key not in keys:
                raise ConfigError(f"{source}: unknown key {section}.{key}; known keys: {', '.join(keys)}")
        for key, (kind, check, meaning) in keys.items():
            if key not in given:
                raise ConfigError(f"{source}: {section}.{key} is missing; set it to {meaning}")
            value = given[key]
            wrong_type = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
            if wrong_type or (check is not None and not check(value)):
                raise ConfigError(f"{source}: {section}.{key} = {value!r} is not {meaning}")
    return _freeze(dict(raw))


def load_config(path: str | os.PathLike | None = None) -> Mapping[str, Any]:
    """Read and validate the course config (default: $COURSE_CONFIG or <repo>/course.toml)."""
    path = Path(path) if path is not None else default_config_path()
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"no course config at {path}; create it from the repository's course.toml "
                          f"or point ${CONFIG_ENV} at one") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    return validate(raw, source=str(path))


def budget_mode() -> str:
    """'grading' under nbgrader (NBGRADER_EXECUTION set), else $COURSE_BUDGET, else 'student'."""
    mode = os.environ.get(BUDGET_ENV) or ("grading" if os.environ.get("NBGRADER_EXECUTION") else "student")
    if mode not in BUDGET_MODES:
        raise ConfigError(f"${BUDGET_ENV}={mode!r} is not one of {', '.join(BUDGET_MODES)}")
    return mode
