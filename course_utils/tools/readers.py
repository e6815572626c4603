"""`course train-readers`: train the character reader and painter that students are given,
and write the weights the package ships (course_utils/models/weights/, then `course release`).

Both train on the MNIST sample the package embeds (its 8,000 training digits, seed 0) at one
TensorFlow thread, as grading kernels run, so running this again starts from the same
inputs. The shipped reader is what scores drawn answers in the hidden checks: every grading
machine uses the same one, whatever MNIST it has cached.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from course_utils.grading_kernel import TF_ENV, thread_env


def train_readers(folder: Path | None = None, seed: int = 0) -> dict:
    """Train both models, save them into `folder` (default: the shipped weights folder).

    Returns {"reader_test_accuracy": fraction of the sample's unseen test digits read right,
    "painter_reads": what the reader reads in the painter's 13 one-hot drawings,
    "seconds": training time}.
    """
    os.environ.update({**TF_ENV, **thread_env(1)})  # before TensorFlow starts
    from course_utils.data._paths import EMBEDDED_DIR
    from course_utils.data.mnist import load_mnist
    from course_utils.models import digit_classifier as dc

    folder = Path(folder or dc.WEIGHTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir=EMBEDDED_DIR)
    start = time.perf_counter()
    reader = dc.train_digit_classifier(x_train, y_train, seed=seed)
    painter = dc.train_char_painter(x_train, y_train, seed=seed)
    seconds = time.perf_counter() - start
    dc.save_weights(reader, folder / "digit_classifier.npz")
    dc.save_weights(painter, folder / "char_painter.npz")
    probs = reader.predict(x_test / np.float32(255), verbose=0)  # (N, 13)
    drawn = painter.predict(np.eye(dc.N_CLASSES, dtype=np.float32), verbose=0)  # (13, 28, 28)
    return {"reader_test_accuracy": float(np.mean(probs.argmax(-1) == y_test)),
            "painter_reads": dc.read_images(reader, drawn[None])[0],
            "seconds": round(seconds, 1)}
