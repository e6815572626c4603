"""course.toml validation: the committed config loads; bad ones fail naming the key."""

import copy
import subprocess
import sys
import tomllib

import pytest

from course_utils.config import (ConfigError, budget_mode, default_config_path, load_config, read_raw, repo_root,
                                 seq2seq_checks, to_toml, validate)
from course_utils.tools.semesters import semester_configs


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
    ("grading", "kernel_threads", 0, "grading.kernel_threads"),
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


def _set(raw, path, value):
    table = raw
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, message", [
    # a threshold above 1
    (("seq2seq", "checks", "image2text", "min_exact"), 1.5, "seq2seq.checks.image2text.min_exact"),
    (("seq2seq", "ci_checks", "text2text", "min_exact"), [0.1, 1.2, 0.1], "seq2seq.ci_checks.text2text.min_exact"),
    (("seq2seq", "checks", "text2image", "min_semantic"), 2, "seq2seq.checks.text2image.min_semantic"),
    # a budget of zero
    (("seq2seq", "epochs", "grading"), 0, "seq2seq.epochs.grading"),
    (("seq2seq", "checks", "text2text", "epochs"), [12, 0, 40], "seq2seq.checks.text2text.epochs"),
    (("seq2seq", "ci_checks", "image2text", "batch_size"), 0, "seq2seq.ci_checks.image2text.batch_size"),
    (("grading", "notebook_timeout"), 0, "grading.notebook_timeout"),
    (("seq2seq", "queries", "images", "ci"), 100, "seq2seq.queries.images.ci"),
    # impossible splits
    (("arithmetic", "splits"), [0.5, 0.5, 0.1], "arithmetic.splits .* repeats"),
    (("arithmetic", "splits"), [0.5, 0.25, 0.00001], "arithmetic.splits: 1e-05 of the 20000 queries leaves"),
    (("arithmetic", "splits"), [0.5, 0.25], "seq2seq.checks.text2text.min_exact has 3 values"),
    (("arithmetic", "splits"), [0.5, 0.25, 1], "arithmetic.splits"),
    (("arithmetic", "max_number"), 1000, "arithmetic.max_number"),
])
def test_impossible_semesters_name_the_key(raw, path, value, message):
    with pytest.raises(ConfigError, match=message):
        validate(_set(copy.deepcopy(raw), path, value))


def test_seq2seq_checks_follow_the_budget_mode():
    config = load_config()
    assert seq2seq_checks(config, "ci") is config["seq2seq"]["ci_checks"]
    assert seq2seq_checks(config, "grading") is config["seq2seq"]["checks"]
    assert seq2seq_checks(config, "student") is config["seq2seq"]["checks"]


# ---------------------------------------------------------------- semester configs

def test_every_semester_config_is_valid_and_a_different_variant():
    configs = [load_config(path) for path in semester_configs()]
    assert len(configs) >= 3
    seeds = [c["semester"]["seed"] for c in configs]
    names = [c["semester"]["name"] for c in configs]
    assert len(set(seeds)) == len(seeds) and len(set(names)) == len(names)
    assert {c["arithmetic"]["max_number"] for c in configs} >= {99, 199}, "the 2-digit task and the 3-digit variant"


def test_a_semester_config_overrides_its_base(tmp_path):
    (tmp_path / "base.toml").write_text((repo_root() / "course.toml").read_text())
    (tmp_path / "variant.toml").write_text(
        'base = "base.toml"\n[semester]\nseed = 7\n[arithmetic]\nmax_number = 199\n'
        '[generative.sizes.images]\nci = 40\n')
    base, variant = load_config(tmp_path / "base.toml"), load_config(tmp_path / "variant.toml")
    assert variant["semester"]["seed"] == 7 and variant["semester"]["name"] == base["semester"]["name"]
    assert variant["arithmetic"]["max_number"] == 199 and variant["arithmetic"]["splits"] == base["arithmetic"]["splits"]
    assert variant["generative"]["sizes"]["images"]["ci"] == 40
    assert variant["generative"]["sizes"]["images"]["student"] == base["generative"]["sizes"]["images"]["student"]


@pytest.mark.parametrize("text, message", [
    ('base = "base.toml"\n[arithmetic]\ndigits = 3\n', r"variant.toml: unknown key arithmetic.digits"),
    ('base = "base.toml"\n[seq2seq.checks.image2text]\nmin_exact = 1.5\n', r"variant.toml: seq2seq.checks.image2text.min_exact"),
    ('base = "missing.toml"\n', r"no course config at .*missing.toml; named as the base of"),
    ('base = 3\n', r"base = 3 is not a path"),
    ('base = "variant.toml"\n', r"lead back to itself"),
])
def test_bad_semester_override_names_the_key(tmp_path, text, message):
    (tmp_path / "base.toml").write_text((repo_root() / "course.toml").read_text())
    (tmp_path / "variant.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "variant.toml")


def test_config_env_selects_the_semester(monkeypatch):
    path = semester_configs()[1]
    monkeypatch.setenv("COURSE_CONFIG", str(path))
    assert default_config_path() == path
    assert load_config() == load_config(path)


@pytest.mark.parametrize("path", semester_configs(), ids=lambda p: p.stem)
def test_resolved_config_written_as_toml_reads_back_equal(path):
    text = to_toml(read_raw(path), header="generated\nfor a test")
    assert text.startswith("# generated\n# for a test\n")
    assert "base" not in tomllib.loads(text)
    assert validate(tomllib.loads(text)) == load_config(path)


def test_semester_check_gives_kernels_the_grading_threads(monkeypatch):
    """On the grading budget a semester check runs TensorFlow as a grading kernel does."""
    from course_utils.tools.semesters import kernel_env

    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    threads = str(load_config()["grading"]["kernel_threads"])
    env = kernel_env(default_config_path(), "grading")
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == threads
    assert "TF_NUM_INTRAOP_THREADS" not in kernel_env(default_config_path(), "ci")
