"""The checks that hidden tests call (instructor side; never in a student bundle).

A check takes what the student built (a function, a model builder), runs it on the
grader's own data and budget, and returns a `Verdict`; the hidden test asserts it:

    verdict = seq2seq.check_decode(decode_onehot)
    assert verdict, verdict.reason

Checks are pure and trusted: every function they rely on is captured when this
package is imported (`_trusted`), so a student who rebinds `np.array_equal`,
course_utils functions or builtins afterwards changes nothing here, and values the
student returns are converted to plain NumPy arrays and Python strings before any
comparison, so an object whose `__eq__` or `__bool__` lies fools nothing.
"""

from __future__ import annotations

from course_utils.checks._trusted import Verdict, fail, passed

__all__ = ["Verdict", "fail", "passed"]
