"""nbgrader settings for this course; the numbers come from course.toml.

Layout (relative to this folder): instructor notebooks in source/, generated student
versions in release/, solution notebooks (hidden tests and mark schemes removed) in
solutions/, and the TA's working state (submissions, autograded copies, feedback,
the gradebook) under autograder/, which git ignores.
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from course_utils.config import load_config  # noqa: E402  (fast: no TensorFlow)
from nbgrader.converters import GenerateAssignment  # noqa: E402

course = load_config()
c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.root = here
c.CourseDirectory.course_id = "genseq"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.submitted_directory = os.path.join("autograder", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "feedback")
os.makedirs(os.path.join(here, "autograder"), exist_ok=True)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "autograder", "gradebook.db")
# Trained weights, caches and checkpoints never travel into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.keras", "*.h5", "*.npy", "*.py",
                            "*.png", "gan_mosaics"]

# The semester's points (course.toml [points.<assignment>]) go into every graded cell first,
# so the release, the solutions and the gradebook agree (course_utils/tools/points.py).
c.GenerateAssignment.preprocessors = [
    "course_utils.tools.points.SemesterPoints",
    *GenerateAssignment.class_traits()["preprocessors"].default(),  # nbgrader's own steps, in its order
]
c.SemesterPoints.course_root = here

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Solutions are the source minus hidden tests and mark schemes, outputs stripped: no
# training at release time (nbgrader's default would execute every notebook).
c.GenerateSolution.preprocessors = [
    "course_utils.tools.points.SemesterPoints",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
]

# Grading untrusted notebooks (course_utils/tools/sandbox.py, autograder/README.md): the
# grading kernel in a bubblewrap box of its own (course_utils/tools/box.py), a per-cell timeout and a whole-notebook deadline, a memory cap, restarts
# after a dead kernel, the hidden-test guard; deleted grade cells come back from the
# release; feedback never shows hidden test code. The limits come from course.toml [grading].
grading = course["grading"]
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "course_utils.tools.sandbox.RestoreMissingCells",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "course_utils.tools.sandbox.GuardedExecute",
    "course_utils.tools.verdicts.DecideVerdicts",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course_utils.tools.sandbox.WarningsDoNotFail",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.RestoreMissingCells.release_directory = os.path.join(here, "release")
c.GuardedExecute.timeout = grading["cell_timeout"]
c.GuardedExecute.notebook_timeout = grading["notebook_timeout"]
c.GuardedExecute.memory_mb = grading["memory_mb"]
c.GradingKernelManager.disk_mb = grading["disk_mb"]
c.GradingKernelManager.processes = grading["processes"]
c.GuardedExecute.interrupt_on_timeout = True
c.GuardedExecute.execute_retries = 0
c.GenerateFeedback.preprocessors = [
    "course_utils.tools.sandbox.HideHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
