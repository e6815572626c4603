"""TensorFlow without its C++ log lines in a student's outputs.

TensorFlow's C++ side writes log lines straight to the process's stderr (file descriptor 2):
absl's "All log messages before absl::InitializeLog() ..." and the oneDNN and CPU-feature
notices as it loads, grappler's "E0000 ... meta_optimizer.cc:967] remapper failed: ..." while a
GAN trains. Jupyter shows them in a red box, where they read as failures, and no log level
silences all of them. `import_tensorflow()` imports TensorFlow and Keras with descriptor 2
behind `StderrFilter`, which drops exactly those lines and passes everything else on: Python's
errors and warnings, a progress bar, and TensorFlow's fatal (F) lines, which end the process.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import sys
import threading

# One C++ log line of TensorFlow (or of a library it loads, through absl), at level I, W or E:
#   absl:   "E0000 00:00:1733000000.123456   41234 meta_optimizer.cc:967] remapper failed: ..."
#   older:  "2026-12-01 10:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom ..."
# and the lines that come without that prefix: absl's preamble and the CPU notice's second line.
TENSORFLOW_LOG_LINE = re.compile(
    rb"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags")

_HOLD_SECONDS = 0.05   # how long an unfinished line waits for the rest of it before it is passed on


class StderrFilter:
    """Descriptor 2 becomes a pipe; a thread copies what arrives to the old descriptor 2, line by
    line, less TensorFlow's log lines. Text without a line end (a progress bar's "\\r") is passed
    on once nothing more arrives for 50 ms. `close()` (also at exit) puts descriptor 2 back."""

    def __init__(self, pattern: re.Pattern = TENSORFLOW_LOG_LINE):
        self.pattern, self.dropped = pattern, 0
        sys.stderr.flush()
        self._target = os.dup(2)              # where kept text goes: the old stderr
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._thread = threading.Thread(target=self._copy, name="stderr-filter", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _keep(self, line: bytes) -> bool:
        if self.pattern.match(line):
            self.dropped += 1
            return False
        return True

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self._target, data):]

    def _copy(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self._read], [], [], _HOLD_SECONDS if pending else None)
            chunk = os.read(self._read, 65536) if ready else b""
            if ready and not chunk:        # every writer closed: the end
                break
            pending += chunk
            *lines, pending = re.split(rb"(?<=[\n\r])", pending)
            kept = b"".join(line for line in lines if self._keep(line))
            if pending and not ready:      # an unfinished line, and nothing more came
                kept += pending if self._keep(pending) else b""
                pending = b""
            if kept:
                self._write(kept)
        if pending and self._keep(pending):
            self._write(pending)

    def close(self) -> None:
        """Put the old stderr back on descriptor 2, after passing on what is still in the pipe."""
        if self._target is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._target, 2)           # closes the pipe's last writer: the thread drains it and ends
        self._thread.join(timeout=2)
        os.close(self._target)
        os.close(self._read)
        self._target = None


_filter: StderrFilter | None = None


def filter_tensorflow_logs() -> StderrFilter:
    """From now on, drop TensorFlow's C++ log lines from this process's stderr (once)."""
    global _filter
    if _filter is None:
        _filter = StderrFilter()
    return _filter


def import_tensorflow():
    """Import TensorFlow and Keras with their log lines filtered out of stderr, now and later;
    return the `tensorflow` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # INFO and WARNING are not even written
    filter_tensorflow_logs()
    import keras  # noqa: F401
    import tensorflow

    return tensorflow
