"""TensorFlow, imported without its start-up notices.

As it loads, TensorFlow's C++ side writes notices straight to the process's stderr (absl's
"All log messages before absl::InitializeLog() ...", "oneDNN custom operations are on ...",
CPU feature lines). Jupyter shows them, in red, under the first cell that imports it, and no
log level silences the oneDNN one. `import_tensorflow()` imports TensorFlow and Keras with the
process's stderr pointed at /dev/null, then puts it back: Python errors, and anything
TensorFlow writes later, still show.
"""

from __future__ import annotations

import os
import sys


def import_tensorflow():
    """Import TensorFlow and Keras quietly (once); return the `tensorflow` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # INFO and WARNING C++ logs off later too
    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return sys.modules["tensorflow"]
