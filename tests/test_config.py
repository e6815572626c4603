"""course.toml validation: the committed config loads; bad ones fail naming the key."""

import copy
import subprocess
import sys
import tomllib

import pytest

from course_utils.config import ConfigError, budget_mode, load_config, repo_root, validate


@pytest.fixture
def raw():
    with open(repo_root() / "course.toml", "rb") as f:
        return tomllib.load(f)


def test_committed_config_is_valid_and_read_only(raw):
    config = load_config()
    assert config["arithmetic"]["max_number"] == raw["arithmetic"]["max_number"]
    with pytest.raises(TypeError):
        config["semester"]["seed"] = 1  # type: ignore[index]


@pytest.mark.parametrize("section, key, value, message", [
    ("semester", "colour", "red", "unknown key semester.colour"),
    ("arithmetic", "splits", [0.5, 1.5], "arithmetic.splits"),
    ("arithmetic", "splits", [0.5, 0.0], "arithmetic.splits"),
    ("arithmetic", "operators", ["*"], "arithmetic.operators"),
    ("grading", "cell_timeout", 0, "grading.cell_timeout"),
    ("grading", "memory_mb", True, "grading.memory_mb"),
    ("semester", "seed", "2026", "semester.seed"),
])
def test_bad_values_name_the_key(raw, section, key, value, message):
    bad = copy.deepcopy(raw)
    bad[section][key] = value
    with pytest.raises(ConfigError, match=message):
        validate(bad)


def test_missing_key_and_unknown_section(raw):
    bad = copy.deepcopy(raw)
    del bad["grading"]["workers"]
    with pytest.raises(ConfigError, match="grading.workers is missing"):
        validate(bad)
    with pytest.raises(ConfigError, match="unknown key extra"):
        validate({**raw, "extra": {}})


def test_unreadable_config_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="no course config"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[semester\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_budget_mode(monkeypatch):
    monkeypatch.delenv("COURSE_BUDGET", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert budget_mode() == "student"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert budget_mode() == "grading"
    monkeypatch.setenv("COURSE_BUDGET", "ci")
    assert budget_mode() == "ci"
    monkeypatch.setenv("COURSE_BUDGET", "huge")
    with pytest.raises(ConfigError, match="COURSE_BUDGET"):
        budget_mode()


def test_import_is_fast_and_never_imports_tensorflow():
    code = ("import sys, time; t = time.perf_counter(); import course_utils, course_utils.config, "
            "course_utils.data; print(time.perf_counter() - t, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False"], "importing course_utils must not import TensorFlow or Keras"
    assert float(out[0]) < 1.0


@pytest.mark.parametrize("path, value, message", [
    (("generative", "epochs", "gan", "ci"), 0, "generative.epochs.gan.ci"),
    (("generative", "sizes", "images", "grading"), 8, "generative.sizes.images.grading"),
    (("generative", "gan", "lr_comparison"), [2e-4], "generative.gan.lr_comparison"),
    (("generative", "vae", "learning_rate"), 1.5, "generative.vae.learning_rate"),
    (("generative", "image_size"), 60, "generative.image_size"),
])
def test_bad_generative_values_name_the_key(raw, path, value, message):
    bad = copy.deepcopy(raw)
    table = bad
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        validate(bad)


def test_generative_budgets_cover_every_mode(raw):
    generative = load_config()["generative"]
    for table in ("sizes", "epochs"):
        for name, per_mode in generative[table].items():
            assert set(per_mode) == {"student", "grading", "ci"}, f"generative.{table}.{name}"
    del raw["generative"]["epochs"]["vae"]["ci"]
    with pytest.raises(ConfigError, match="generative.epochs.vae.ci is missing"):
        validate(raw)
