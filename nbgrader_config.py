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
from course_utils.tools.workspace import Workspace  # noqa: E402
from nbgrader.converters import GenerateAssignment  # noqa: E402

course = load_config()
c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.root = here
c.CourseDirectory.course_id = "genseq"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.solution_directory = "solutions"
# The TA's workspace: autograder/, or $COURSE_WORKSPACE and $COURSE_DB_URL, as `course` reads
# them (`course formgrader --workspace DIR --db URL` sets them for formgrader).
workspace = Workspace.default(root=here)
c.CourseDirectory.submitted_directory = str(workspace.folder / "submitted")
c.CourseDirectory.autograded_directory = str(workspace.folder / "autograded")
c.CourseDirectory.feedback_directory = str(workspace.folder / "feedback")
workspace.folder.mkdir(parents=True, exist_ok=True)
c.CourseDirectory.db_url = workspace.gradebook
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
# after a dead kernel; deleted grade cells come back from the release; next to each written
# question, the outputs the student's own notebook had in the cells it refers to (as_submitted.py). The limits come from course.toml [grading].
grading = course["grading"]
c.Autograde.sanitize_preprocessors = [
    "course_utils.tools.as_submitted.KeepSubmittedOutputs",
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
    "course_utils.tools.as_submitted.ShowSubmittedOutputs",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course_utils.tools.sandbox.WarningsDoNotFail",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.RestoreMissingCells.release_directory = os.path.join(here, "release")
c.KeepSubmittedOutputs.release_directory = c.ShowSubmittedOutputs.release_directory = os.path.join(here, "release")
c.GuardedExecute.timeout = grading["cell_timeout"]
c.GuardedExecute.notebook_timeout = grading["notebook_timeout"]
c.GuardedExecute.memory_mb = grading["memory_mb"]
c.GradingKernelManager.disk_mb = grading["disk_mb"]
c.GradingKernelManager.processes = grading["processes"]
c.GuardedExecute.interrupt_on_timeout = True
c.GuardedExecute.execute_retries = 0
# A student's feedback (course_utils/tools/feedback.py): no hidden test source, no mark
# scheme, no path or data notice of the grading machine, a failed check's values only where
# course.toml [feedback] says so, "not graded yet" where a TA has still to grade; figures fit.
c.GenerateFeedback.preprocessors = [
    "course_utils.tools.feedback.HideHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "course_utils.tools.feedback.HideGraderDetails",
    "course_utils.tools.feedback.HideValues",
    "course_utils.tools.feedback.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
from course_utils.tools import feedback  # noqa: E402  (fast: no TensorFlow)

c.HideValues.course_root = here
c.GenerateFeedback.exporter_class = feedback.FeedbackExporter
c.FeedbackExporter.template_name = "course_feedback"   # these two above nbgrader's own for HTMLExporter
c.FeedbackExporter.extra_template_basedirs = [feedback.NBGRADER_TEMPLATES, str(feedback.TEMPLATES)]
