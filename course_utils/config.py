"""The course config (`course.toml` at the repository root): one semester's numbers.

`load_config()` returns a read-only nested mapping validated against `SCHEMA`; an
unknown key or an impossible value raises `ConfigError` naming the key and the fix.
`budget_mode()` says which training budget a notebook runs on.

Which config: $COURSE_CONFIG when set (`course --config PATH` sets it), else the copy a
student bundle carries beside this module, else the repository's course.toml. A config
may start with `base = "other.toml"` (relative to itself) and then holds only what
differs from that one: tables merge key by key, any other value replaces the base's.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

CONFIG_ENV = "COURSE_CONFIG"
BASE_KEY = "base"
CONFIG_NAME = "course.toml"
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
        "workers": (int, _non_negative, "0 (one per kernel_threads cores) or a positive count"),
        "kernel_threads": (int, _positive, "TensorFlow threads per grading kernel, > 0"),
        "disk_mb": (int, _positive, "megabytes > 0 of the grading box's private disk"),
        "processes": (int, lambda n: n >= 64, "processes and threads of one grading box, >= 64"),
    },
    "arithmetic": {
        "max_number": (int, lambda n: 9 <= n <= 999, "an integer from 9 to 999"),
        "operators": (list, lambda ops: bool(ops) and set(ops) <= {"+", "-"} and len(set(ops)) == len(ops),
                      "a non-empty list of distinct operators from '+', '-'"),
        "splits": (list, lambda s: bool(s) and all(isinstance(f, float) and _fraction(f) for f in s),
                   "a non-empty list of training fractions, each strictly between 0 and 1"),
    },
}


def _unit(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x <= 1


_EPOCHS = (int, _positive, "a number of epochs > 0")
_BATCH = (int, _positive, "a batch size > 0")
_EXAMPLES = (int, _non_negative, "a number of training examples (0: all of the training part)")
_TEST_EXAMPLES = (int, _non_negative, "a number of test examples (0: all of the test part)")


def _per_mode(rule: tuple) -> dict:
    """One value per budget mode, each following `rule`."""
    return {mode: rule for mode in BUDGET_MODES}


def _check_budget(score_key: str, score_rule: tuple, epochs_rule: tuple = _EPOCHS) -> dict:
    """The schema of one hidden accuracy check: its training budget and the score it requires."""
    return {"epochs": epochs_rule, "batch_size": _BATCH, "max_train_examples": _EXAMPLES,
            "max_test_examples": _TEST_EXAMPLES, score_key: score_rule}


_PER_SPLIT_EPOCHS = (list, lambda v: bool(v) and all(isinstance(e, int) and not isinstance(e, bool) and e > 0
                                                     for e in v),
                     "a list of epochs > 0, one per split")


_CHECKS = {
    "text2text": _check_budget("min_exact", (list, lambda v: bool(v) and all(_unit(x) for x in v),
                                             "a list of exact-match fractions in [0, 1], one per split"),
                               _PER_SPLIT_EPOCHS),
    "image2text": _check_budget("min_exact", ((int, float), _unit, "an exact-match fraction in [0, 1]")),
    "text2image": _check_budget("min_semantic", ((int, float), _unit, "a fraction in [0, 1]")),
}

SCHEMA["seq2seq"] = {
    # epochs of the notebook's own training cells per budget mode (the hidden checks train on their own)
    "epochs": _per_mode(_EPOCHS),
    # queries per side (training, test) of the notebook's own text and image data sets, per budget mode
    "queries": {kind: _per_mode((int, lambda n: n == 0 or n >= 256, "0 (all queries) or a number >= 256"))
                for kind in ("text", "images")},
    "checks": _CHECKS,     # the hidden accuracy checks (student and grading budgets)
    "ci_checks": _CHECKS,  # the same checks on the ci budget: a smoke run with its own thresholds
}


def seq2seq_checks(config: Mapping[str, Any], mode: str | None = None) -> Mapping[str, Any]:
    """The hidden accuracy checks' budgets and thresholds for budget `mode` (default: `budget_mode()`)."""
    return config["seq2seq"]["ci_checks" if (mode or budget_mode()) == "ci" else "checks"]


_RATE = ((int, float), lambda x: not isinstance(x, bool) and 0 < x < 1, "a learning rate strictly between 0 and 1")
_COUNT = (int, _positive, "an integer > 0")

SCHEMA["generative"] = {
    "image_size": (int, lambda n: n >= 16 and n % 16 == 0, "an image size in pixels, a multiple of 16"),
    "n_layers": (int, lambda n: 1 <= n <= 6, "a number of stride-2 layers from 1 to 6"),
    "fashion_n_layers": (int, lambda n: n in (1, 2), "1 or 2 (28 = 7 * 2**2)"),
    "mosaic_every": (int, _positive, "a number of epochs > 0"),
    "mosaic_side": (int, _positive, "images per side of the GAN mosaic, > 0"),
    "strip_steps": (int, lambda n: n >= 2, "a number of images >= 2"),
    "vae": {
        "latent_dim": (int, _positive, "a latent size > 0"),
        "batch_size": _BATCH,
        "learning_rate": _RATE,
        "kl_weight": ((int, float), lambda x: not isinstance(x, bool) and x >= 0, "a weight >= 0"),
    },
    "gan": {
        "latent_dim": (int, _positive, "a latent size > 0"),
        "batch_size": _BATCH,
        "learning_rate": _RATE,
        "beta_1": ((int, float), lambda x: not isinstance(x, bool) and 0 <= x < 1, "Adam's beta_1 in [0, 1)"),
        "lr_comparison": (list, lambda v: len(v) >= 2 and all(_RATE[1](x) for x in v),
                          "a list of at least two learning rates, each strictly between 0 and 1"),
    },
    "fashion": {
        "latent_dim": (int, lambda n: n > 0 and n % 16 == 0, "a latent size > 0, a multiple of 16"),
        "batch_size": _BATCH,
        "gan_batch_size": _BATCH,
    },
    "sizes": {
        "images": _per_mode((int, lambda n: n >= 32, "a number of images >= 32")),
        "filters": _per_mode((int, _positive, "a number of filters > 0")),
        "fashion_train": _per_mode(_COUNT),
        "fashion_test": _per_mode((int, lambda n: n >= 2, "a number of test images >= 2")),
        "fashion_filters": _per_mode((int, _positive, "a number of filters > 0")),
        "frechet_samples": _per_mode((int, lambda n: n >= 2, "a number of images >= 2")),
        "feature_examples": _per_mode(_EXAMPLES),
    },
    # epochs of the notebook's own training cells, per model and budget mode
    "epochs": {name: _per_mode(_EPOCHS) for name in
               ("cae", "vae", "gan", "gan_lr", "fashion_ae", "fashion_vae", "fashion_gan")},
}


# [points.<assignment>]: the points of every graded cell (a hidden-test cell or a written
# answer), by grade id. That the ids are those of the assignment's graded cells is checked
# against its source notebooks when it is released; here only the shape and the numbers.
_POINTS = (dict, lambda table: bool(table) and all(isinstance(t, dict) and t for t in table.values()),
           "a table [points.<assignment>] per assignment, each mapping grade ids to points")


def _check_points(points: Mapping[str, Any], source: str) -> None:
    for assignment, table in points.items():
        for grade_id, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ConfigError(f"{source}: points.{assignment}.{grade_id} = {value!r} is not a number of "
                                  f"points >= 0")


SCHEMA["points"] = _POINTS

# [feedback] show_values: per assignment, whether a student's feedback shows a failed check's
# values (what the code gave, what was expected) or only what is wrong.
SCHEMA["feedback"] = {
    "show_values": (dict, lambda table: all(isinstance(v, bool) for v in table.values()),
                    "a table mapping assignments to true (show the values) or false (say only what is wrong)"),
}


def _check_consistency(config: Mapping[str, Any], source: str) -> None:
    """Rules that tie several keys together."""
    _check_points(config["points"], source)
    task = config["arithmetic"]
    splits = task["splits"]
    if len(set(splits)) != len(splits):
        raise ConfigError(f"{source}: arithmetic.splits = {list(splits)} repeats a fraction; give distinct ones")
    queries = len(task["operators"]) * (task["max_number"] + 1) ** 2
    for fraction in splits:
        if not 0 < round(fraction * queries) < queries:
            raise ConfigError(f"{source}: arithmetic.splits: {fraction} of the {queries} queries leaves the "
                              f"training or the test part empty; choose a fraction that keeps both")
    for table in ("checks", "ci_checks"):
        for key in ("min_exact", "epochs"):
            values = config["seq2seq"][table]["text2text"][key]
            if len(values) != len(splits):
                raise ConfigError(f"{source}: seq2seq.{table}.text2text.{key} has {len(values)} values but "
                                  f"arithmetic.splits has {len(splits)}; give one per split")


def repo_root() -> Path:
    """The repository root (the folder holding course.toml and nbgrader_config.py)."""
    return Path(__file__).resolve().parent.parent


def default_config_path() -> Path:
    """$COURSE_CONFIG, else the config a student bundle carries, else <repo>/course.toml."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    bundled = Path(__file__).resolve().parent / CONFIG_NAME
    return bundled if bundled.is_file() else repo_root() / CONFIG_NAME


def _freeze(value):
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _check_table(given: Any, schema: Mapping[str, Any], where: str, source: str) -> None:
    """Raise ConfigError for the first unknown, missing or impossible key of table `where`."""
    label = where or "the top level"
    if not isinstance(given, Mapping):
        raise ConfigError(f"{source}: [{where}] must be a table with keys {', '.join(schema)}")
    for key in given:
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {where + '.' if where else ''}{key} in {label}; "
                              f"known keys: {', '.join(schema)}")
    for key, rule in schema.items():
        name = f"{where}.{key}" if where else key
        if key not in given:
            fix = f"add the table [{name}]" if isinstance(rule, dict) else f"set it to {rule[2]}"
            raise ConfigError(f"{source}: {name} is missing; {fix}")
        if isinstance(rule, dict):
            _check_table(given[key], rule, name, source)
            continue
        kind, check, meaning = rule
        value = given[key]
        wrong_type = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if wrong_type or (check is not None and not check(value)):
            raise ConfigError(f"{source}: {name} = {value!r} is not {meaning}")


def validate(raw: Mapping[str, Any], source: str = "course config") -> Mapping[str, Any]:
    """Return `raw` frozen (read-only mappings, tuples) if it matches SCHEMA, else raise ConfigError."""
    _check_table(raw, SCHEMA, "", source)
    _check_consistency(raw, source)
    return _freeze(dict(raw))


def _merge(base: dict, over: Mapping) -> dict:
    """`base` with `over` laid on top: tables merge key by key, other values replace."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def read_raw(path: str | os.PathLike, _chain: tuple = ()) -> dict[str, Any]:
    """The TOML at `path` as plain data, merged over its `base` config if it names one (not validated)."""
    path = Path(path)
    if path.resolve() in _chain:
        raise ConfigError(f"{path}: its base configs lead back to itself ({' -> '.join(map(str, _chain))})")
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        where = f"named as the base of {_chain[-1]}" if _chain else f"create it from the repository's {CONFIG_NAME}"
        raise ConfigError(f"no course config at {path}; {where} or point ${CONFIG_ENV} at one") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    base = raw.pop(BASE_KEY, None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: {BASE_KEY} = {base!r} is not a path to another config "
                          f"(relative to this file), such as '../{CONFIG_NAME}'")
    return _merge(read_raw(path.parent / base, (*_chain, path.resolve())), raw)


def load_config(path: str | os.PathLike | None = None) -> Mapping[str, Any]:
    """Read and validate the course config (default: `default_config_path()`)."""
    path = Path(path) if path is not None else default_config_path()
    return validate(read_raw(path), source=str(path))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def to_toml(raw: Mapping[str, Any], header: str = "") -> str:
    """`raw` (plain or frozen config data) as TOML text that `tomllib` reads back equal.

    Values of scalars and lists first, then one [table] section per nested table;
    `header` becomes comment lines at the top.
    """
    def key(k: str) -> str:
        return k if _BARE_KEY.fullmatch(k) else json.dumps(k)

    def value(v: Any, name: str) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)  # a float's repr (0.0002, 1e-05) is valid TOML
        if isinstance(v, str):
            return json.dumps(v)  # JSON's escapes are TOML's basic-string escapes
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x, name) for x in v) + "]"
        raise ConfigError(f"{name}: cannot write {type(v).__name__} {v!r} as TOML")

    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def table(data: Mapping[str, Any], name: str) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
        if name and (scalars or not data):
            lines.extend(["", f"[{name}]"])
        lines.extend(f"{key(k)} = {value(v, f'{name}.{k}'.strip('.'))}" for k, v in scalars.items())
        for k, v in data.items():
            if isinstance(v, Mapping):
                table(v, f"{name}.{key(k)}" if name else key(k))

    table(raw, "")
    return "\n".join(lines).lstrip("\n") + "\n"


def budget_mode() -> str:
    """'grading' under nbgrader (NBGRADER_EXECUTION set), else $COURSE_BUDGET, else 'student'."""
    mode = os.environ.get(BUDGET_ENV) or ("grading" if os.environ.get("NBGRADER_EXECUTION") else "student")
    if mode not in BUDGET_MODES:
        raise ConfigError(f"${BUDGET_ENV}={mode!r} is not one of {', '.join(BUDGET_MODES)}")
    return mode
