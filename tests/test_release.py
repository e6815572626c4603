"""Release hygiene: the committed release/ and solutions/ (notebooks, .py exports, the student
bundle) are current for the committed config and hold nothing instructor-only; a bad config
writes nothing."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_utils import cli
from course_utils.config import CONFIG_NAME, ConfigError, load_config, repo_root
from course_utils.tools import bundle, points, release
from course_utils.tools.nbgrader_run import assignments, gradebook, nbgrader
from course_utils.tools.notebooks import has_outputs

ROOT = repo_root()
MARKERS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|"
                     r"BEGIN MARK SCHEME|END MARK SCHEME|course_utils\.checks|course_utils\.reference|"
                     r"course_utils\.tools|\b_checks\b|\b_verdict\b")
WEIGHTS = ("*.h5", "*.keras", "*.npy", "*.npz", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.joblib", "*.index", "*.data-*")
BUNDLE = ROOT / "release" / "course_utils"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "gan_mosaics" not in p.parts and "__pycache__" not in p.parts}


def _course_copy(root: Path) -> Path:
    """A course folder with the committed source/ and nbgrader settings (release/ built there)."""
    shutil.copytree(ROOT / "source", root / "source", ignore=shutil.ignore_patterns("gan_mosaics"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    return root


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """release/ and solutions/ regenerated from the committed source/ in a temporary course."""
    root = _course_copy(tmp_path_factory.mktemp("course"))
    release.release_all(root=root)
    return root


@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_committed_folder_is_current(regenerated, folder):
    committed, fresh = _files(ROOT / folder), _files(regenerated / folder)
    assert committed.keys() == fresh.keys(), f"run `course semester`: {folder}/ lists other files"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"run `course semester` and commit: {folder}/ is out of date for {stale}"


def test_release_regenerates_byte_identical(regenerated, tmp_path):
    again = _course_copy(tmp_path)
    release.release_all(root=again)
    for folder in release.OUTPUTS:
        assert _files(again / folder) == _files(regenerated / folder), f"{folder}/ differs between two runs"
    assert not list(again.glob(".build-*")), "no temporary build folder may remain"


# ---------------------------------------------------------------- nothing instructor-only

def test_release_holds_no_markers_or_instructor_only_names():
    for path in (ROOT / "release").rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".toml", ".md", ".txt"):
            found = MARKERS.search(path.read_text(errors="replace"))
            assert not found, f"{path.relative_to(ROOT)} contains {found.group(0)!r}"


def _hidden_and_solution_lines() -> set[str]:
    """Distinctive code lines of the hidden tests and solution regions of every source notebook."""
    lines = set()
    for path in (ROOT / "source").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for begin, end in (("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
                               ("### BEGIN SOLUTION", "### END SOLUTION")):
                for block in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end), cell.source, re.S):
                    lines |= {line.strip() for line in block.splitlines() if len(line.strip()) >= 40}
    return lines


def test_release_holds_no_hidden_test_or_solution_code():
    secret = _hidden_and_solution_lines()
    assert len(secret) > 20, "the source notebooks should have hidden tests and solutions to look for"
    for path in (ROOT / "release").rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".toml"):
            text = path.read_text() if path.suffix != ".ipynb" else "\n".join(
                c.source for c in nbformat.read(path, as_version=4).cells)
            leaked = sorted(line for line in secret if line in text)
            assert not leaked, f"{path.relative_to(ROOT)} holds hidden-test or solution code: {leaked[:3]}"


def test_solutions_hold_no_hidden_tests_or_mark_schemes():
    for path in (ROOT / "solutions").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "HIDDEN TESTS" not in text and "MARK SCHEME" not in text, path
            assert not re.search(r"\b_checks\b|course_utils\.checks", text), path


def test_no_weights_or_caches_in_release_or_solutions():
    # Only the package's own binaries travel: the embedded data samples and the weights of
    # the two models students are given (reader, painter); never a solution's trained model.
    shipped = {BUNDLE / p for p in bundle.student_files() if p.match("*.npz")}
    assert {p.relative_to(BUNDLE).as_posix() for p in shipped if "weights" in p.parts} == {
        "models/weights/digit_classifier.npz", "models/weights/char_painter.npz"}
    for folder in release.OUTPUTS:
        found = [str(p.relative_to(ROOT)) for pattern in WEIGHTS for p in (ROOT / folder).rglob(pattern)
                 if p not in shipped]
        assert not found, f"trained weights do not travel with a release: {found}"


def test_every_course_utils_file_is_either_student_facing_or_instructor_only():
    package = bundle.PACKAGE
    tracked = subprocess.run(["git", "ls-files", "course_utils"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    for name in tracked:
        rel = Path(name).relative_to("course_utils")
        owners = [e for e in (*bundle.STUDENT, *bundle.INSTRUCTOR_ONLY) if rel.parts[0] == e or str(rel) == e]
        assert len(owners) == 1, f"course_utils/{rel}: say in tools/bundle.py whether students get it"
    assert not set(bundle.STUDENT) & set(bundle.INSTRUCTOR_ONLY)
    assert all((package / e).exists() for e in (*bundle.STUDENT, *bundle.INSTRUCTOR_ONLY))


def test_bundle_is_exactly_the_student_modules_and_the_semester_config():
    files = {p.relative_to(BUNDLE) for p in BUNDLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files == {*bundle.student_files(), Path(CONFIG_NAME)}
    for rel in bundle.student_files():
        assert (BUNDLE / rel).read_bytes() == (bundle.PACKAGE / rel).read_bytes(), f"{rel} is not a copy"
    assert not {p.parts[0] for p in files} & set(bundle.INSTRUCTOR_ONLY)
    assert load_config(BUNDLE / CONFIG_NAME) == load_config(ROOT / CONFIG_NAME)


def _imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in modules if m.split(".")[0] == "course_utils"}


def _in_bundle(parts: list[str]) -> bool:
    return BUNDLE.joinpath(*parts).with_suffix(".py").is_file() or BUNDLE.joinpath(*parts, "__init__.py").is_file()


def test_bundle_holds_every_course_utils_module_the_release_imports():
    wanted = set()
    for path in (ROOT / "release").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                wanted |= _imported_modules(cell.source)
    for path in BUNDLE.rglob("*.py"):
        wanted |= _imported_modules(path.read_text())
    assert "course_utils.models.digit_classifier" in wanted, "the released notebooks import course_utils"
    for module in sorted(wanted):
        parts = module.split(".")[1:]  # a module, or a name imported from one ("from m import name")
        assert not parts or _in_bundle(parts) or (len(parts) > 1 and _in_bundle(parts[:-1])), \
            f"the released notebooks or the bundle import {module}, which the bundle lacks"


def test_released_notebooks_import_from_the_bundle_alone(tmp_path):
    """The imports of every released notebook run with only release/ on the path: course_utils
    comes from the bundle, and its config is the semester's, without $COURSE_CONFIG."""
    imports = []
    for path in sorted((ROOT / "release").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                imports += [ast.unparse(n) for n in ast.walk(ast.parse(cell.source))
                            if isinstance(n, (ast.Import, ast.ImportFrom))]
    code = "\n".join([*imports, "import course_utils, course_utils.config as c",
                      "print(course_utils.__file__); print(c.default_config_path())",
                      "print(c.load_config()['semester']['name'])"])
    env = {k: v for k, v in os.environ.items() if k != "COURSE_CONFIG"}
    env.update(PYTHONPATH=str(ROOT / "release"), TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    module, config, name = out.stdout.split("\n")[-4:-1]
    assert Path(module).is_relative_to(BUNDLE) and Path(config) == BUNDLE / CONFIG_NAME
    assert name == load_config()["semester"]["name"]


def test_bundle_builds_a_wheel_with_its_data_and_config(tmp_path):
    source = tmp_path / "bundle"
    shutil.copytree(ROOT / "release", source, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                          "--wheel-dir", str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"cannot build wheels here: {out.stderr[-300:]}")
    assert out.returncode == 0, out.stderr[-3000:]
    import zipfile

    [wheel] = (tmp_path / "dist").glob("course_utils_student-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"course_utils/{CONFIG_NAME}", "course_utils/data/embedded/mnist-10k.npz",
            "course_utils/models/digit_classifier.py", "course_utils/models/weights/digit_classifier.npz",
            "course_utils/models/weights/char_painter.npz"} <= names
    assert not any(n.startswith(tuple(f"course_utils/{e}" for e in bundle.INSTRUCTOR_ONLY)) for n in names)


# ---------------------------------------------------------------- notebooks and their exports

@pytest.mark.parametrize("folder", ["source", "release", "solutions"])
def test_notebooks_carry_no_outputs(folder):
    notebooks = sorted((ROOT / folder).rglob("*.ipynb"))
    assert notebooks, f"no notebooks in {folder}/"
    with_outputs = [str(p.relative_to(ROOT)) for p in notebooks if has_outputs(p)]
    assert not with_outputs, f"strip them with `course strip`: {with_outputs}"


@pytest.mark.parametrize("folder", ["release", "solutions"])
def test_every_notebook_has_a_matching_py_export(folder):
    notebooks = sorted(p for name in assignments() for p in (ROOT / folder / name).glob("*.ipynb"))
    exports = sorted(p for name in assignments() for p in (ROOT / folder / name).glob("*.py"))
    assert notebooks
    assert [p.with_suffix(".py") for p in notebooks] == exports, "one .py export beside every notebook, no other"
    for notebook, export in zip(notebooks, exports):
        assert export.read_text() == release.export_text(notebook), f"run `course semester`: {export} is stale"
        nb, back = nbformat.read(notebook, as_version=4), jupytext.read(export)
        assert [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells] == \
               [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in back.cells], f"{export} != {notebook}"


# ---------------------------------------------------------------- a bad config writes nothing

BAD_CONFIGS = {
    "unknown key": ("[arithmetic]\ndigits = 3\n", "unknown key arithmetic.digits"),
    "impossible split": ("[arithmetic]\nsplits = [0.5, 0.25, 1.5]\n", "arithmetic.splits"),
    "threshold above 1": ("[seq2seq.checks.image2text]\nmin_exact = 1.2\n", "seq2seq.checks.image2text.min_exact"),
    "budget of zero": ("[seq2seq.checks.text2text]\nepochs = [12, 0, 40]\n", "seq2seq.checks.text2text.epochs"),
    "negative points": ("[points.seq2seq]\ntest_encode = -1\n", "points.seq2seq.test_encode"),
    "points for no cell": ("[points.seq2seq]\ntest_encdoe = 2\n", r"\[points.seq2seq\] names test_encdoe"),
    "points for no assignment": ("[points.seq2seq_v2]\ntest_encode = 2\n", r"\[points.seq2seq_v2\] names no assignment"),
}


@pytest.fixture(scope="module")
def released_course(tmp_path_factory, regenerated):
    root = tmp_path_factory.mktemp("bad-config")
    shutil.copytree(regenerated, root, dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_config_is_an_error_naming_the_key_and_release_stays_untouched(released_course, monkeypatch, case):
    text, message = BAD_CONFIGS[case]
    bad = released_course / "bad.toml"
    bad.write_text(f'base = "{ROOT / CONFIG_NAME}"\n{text}')
    before = {folder: _files(released_course / folder) for folder in release.OUTPUTS}
    monkeypatch.setenv("COURSE_CONFIG", str(bad))
    with pytest.raises(ConfigError, match=message):
        release.release_all(root=released_course)
    assert {folder: _files(released_course / folder) for folder in release.OUTPUTS} == before
    assert not list(released_course.glob(".build-*")) and not list(released_course.glob("*.old"))


def test_course_semester_refuses_a_bad_config_before_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_CONFIG", str(ROOT / CONFIG_NAME))  # restored after: cli.main exports --config
    bad = tmp_path / "bad.toml"
    bad.write_text(f'base = "{ROOT / CONFIG_NAME}"\n[semester]\nseed = -1\n')
    assert cli.main(["semester", "--config", str(bad)]) == 2
    assert "semester.seed = -1" in capsys.readouterr().err


# ---------------------------------------------------------------- the semester's points


def test_every_graded_cell_needs_points_in_the_config():
    raw = load_config()
    points.check_points(raw)  # the committed config covers every graded cell
    seq2seq = dict(raw["points"]["seq2seq"])
    del seq2seq["q_deeper"]
    with pytest.raises(ConfigError, match=r"no points for q_deeper in \[points.seq2seq\]"):
        points.check_points({"points": {**raw["points"], "seq2seq": seq2seq}})


def test_semester_points_reach_the_release_solutions_and_gradebook(regenerated, tmp_path, monkeypatch):
    root = tmp_path / "course"
    shutil.copytree(regenerated, root)
    config = root / "points.toml"
    config.write_text(f'base = "{ROOT / CONFIG_NAME}"\n[points.seq2seq]\ntest_encode = 7\nq_deeper = 0.5\n')
    monkeypatch.setenv("COURSE_CONFIG", str(config))
    release.release_all(["seq2seq"], root=root)
    for folder in release.OUTPUTS:
        cells = points.graded_cells(nbformat.read(root / folder / "seq2seq" / "seq2seq_arithmetic.ipynb", 4))
        assert cells["test_encode"].metadata.nbgrader["points"] == 7, folder
        assert cells["q_deeper"].metadata.nbgrader["points"] == 0.5, folder
        assert cells["test_decode"].metadata.nbgrader["points"] == 2, folder  # from the base config
    # Grading registers the assignment through the same nbgrader settings.
    db = f"sqlite:///{tmp_path}/gradebook.db"
    nbgrader("generate_assignment", "seq2seq", "--force", f"--CourseDirectory.db_url={db}",
             f"--CourseDirectory.release_directory={tmp_path / 'scratch'}", root=root)
    expected = sum(load_config(config)["points"]["seq2seq"].values())
    with gradebook(db) as gb:
        assert gb.find_assignment("seq2seq").max_score == pytest.approx(expected)
    assert expected == pytest.approx(sum(load_config(ROOT / CONFIG_NAME)["points"]["seq2seq"].values()) + 5 - 2.5)


@pytest.mark.parametrize("path", sorted((repo_root() / "source").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_every_written_question_refers_to_cells_before_it(path):
    """A question's `refers_to` (the cells whose submitted outputs the TA sees beside it,
    as_submitted.py) names locked code cells above it, so autograding can show them."""
    from course_utils.tools.as_submitted import references

    nb = nbformat.read(path, as_version=4)
    seen = []
    refers = references(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in refers:
            assert set(refers[meta["grade_id"]]) <= set(seen), (meta["grade_id"], refers[meta["grade_id"]])
        if cell.cell_type == "code" and meta.get("locked"):
            seen.append(meta["grade_id"])
    assert refers, "no written question of this notebook refers to the student's figures"
