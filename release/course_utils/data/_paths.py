"""Where the data loaders look for files: the data folder and the cache."""

import os
from pathlib import Path

DATA_DIR_ENV = "COURSE_DATA_DIR"
CACHE_DIR_ENV = "COURSE_CACHE_DIR"
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"


class DataFallbackWarning(UserWarning):
    """A loader fell back to the sample shipped with the package: the full data set was not found.
    Its own category, so that a student's feedback can leave out the grading machine's data notices."""


def data_dir(path=None):
    """Return the data folder as a `Path`, or `None` when there is none.

    The folder is `path` when given, else the environment variable
    `COURSE_DATA_DIR` when set. A folder that does not exist is a `ValueError`.
    """
    if path is not None:
        folder, origin = Path(path).expanduser(), "data_dir argument"
        fix = "pass the folder that holds the data files"
    elif os.environ.get(DATA_DIR_ENV):
        folder, origin = Path(os.environ[DATA_DIR_ENV]).expanduser(), DATA_DIR_ENV
        fix = f"set {DATA_DIR_ENV} to the folder that holds the data files, or unset it"
    else:
        return None
    if not folder.is_dir():
        raise ValueError(f"The {origin} is {str(folder)!r}, which is not an existing folder: {fix}.")
    return folder


def cache_dir():
    """Return the cache folder as a `Path`, creating it if needed.

    It is the environment variable `COURSE_CACHE_DIR` when set, else
    `~/.cache/course_utils`.
    """
    if os.environ.get(CACHE_DIR_ENV):
        folder = Path(os.environ[CACHE_DIR_ENV]).expanduser()
    else:
        folder = Path.home() / ".cache" / "course_utils"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
