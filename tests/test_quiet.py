"""course_utils.quiet: TensorFlow's C++ log lines leave a process's stderr, and nothing else does."""

import subprocess
import sys
import textwrap

from course_utils.quiet import TENSORFLOW_LOG_LINE

# Lines TensorFlow 2.21 writes on this machine (start-up, and a GAN's train step under grappler)
TENSORFLOW_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1764625011.334711   81517 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different "
    "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1764625013.105826   81517 cpu_feature_guard.cc:210] This TensorFlow binary is optimized "
    "to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1764625101.918261   81690 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: "
    "Mutation::Apply error: fanout 'gradient_tape/sequential_1/leaky_re_lu_1/LeakyRelu/LeakyReluGrad' "
    "exist for missing node 'sequential_1/conv2d_1/BiasAdd'.",
    "W0000 00:00:1764625101.1   81690 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
    "2026-12-01 10:00:00.123456: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.",
]
# What a student must still see
KEPT_LINES = [
    "Traceback (most recent call last):",
    "ValueError: Input 0 of layer \"dense\" is incompatible with the layer: expected axis -1 of input shape",
    "/home/me/notebook.py:3: UserWarning: Do not pass an `input_shape`/`input_dim` argument to a layer.",
    "E: my own message starting with E",
    "F0000 00:00:1764625101.918261   81690 cuda_executor.cc:1] Check failed: a fatal error ends the process",
    "Epoch 1/5 I0000 00:00:1.0   1 x.cc:1] (a log line's text inside another line is kept)",
]


def test_the_pattern_matches_tensorflows_lines_and_nothing_of_the_students():
    assert all(TENSORFLOW_LOG_LINE.match(line.encode()) for line in TENSORFLOW_LINES)
    assert not any(TENSORFLOW_LOG_LINE.match(line.encode()) for line in KEPT_LINES)


def test_a_process_behind_the_filter_keeps_all_but_tensorflows_lines(tmp_path):
    """Written to descriptor 2 as C++ writes it, and through sys.stderr as Python does, with a progress
    bar's unfinished lines, an uncaught exception at the end and a child process writing too."""
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(f"""
        import os, subprocess, sys, time
        from course_utils.quiet import filter_tensorflow_logs
        filter_tensorflow_logs()
        tf_lines, kept = {TENSORFLOW_LINES!r}, {KEPT_LINES!r}
        for a, b in zip(tf_lines, kept):
            os.write(2, (a + "\\n").encode())          # as TensorFlow's C++ side writes
            print(b, file=sys.stderr, flush=True)       # as Python writes
        os.write(2, ("\\n".join(tf_lines[:3]) + "\\n" + kept[-1] + "\\n").encode())   # several in one write
        sys.stderr.write("\\r 10%|#   |"); sys.stderr.flush(); time.sleep(0.2)
        sys.stderr.write("\\r100%|####|\\n"); sys.stderr.flush()
        subprocess.run([sys.executable, "-c", "import os, sys; os.write(2, sys.argv[1].encode() + bytes([10])); "
                        "os.write(2, b'child says hello' + bytes([10]))", tf_lines[4]], check=True)
        raise SystemExit("the end: " + "x" * 70000)
    """))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert run.returncode == 1
    pairs = len(KEPT_LINES)   # zip() pairs each kept line with one of TensorFlow's
    assert len(TENSORFLOW_LINES) > pairs
    assert run.stderr.decode() == ("\n".join(KEPT_LINES) + "\n" + KEPT_LINES[-1] + "\n" + "\r 10%|#   |\r100%|####|\n"
                          + "child says hello\n" + "the end: " + "x" * 70000 + "\n")
