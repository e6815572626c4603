"""What a hidden test runs in the student's kernel: the student's function on the grader's inputs.

    __import__("course_utils.grading_agent").grading_agent.answer("test_kl", "generative.kl", kl_divergence)

While grading, the grader (course_utils.tools.verdicts, outside the kernel and its box) wrote, before the
kernel started, one request per call: `<request_id>.json` (what to run) and `.npz` (the
inputs, never the expected outputs) in $COURSE_PROBE_REQUESTS, read-only in the box.
`answer` runs the request's runner on the student's function and saves what came out, as
plain arrays and strings, to `<request_id>.npz` in $COURSE_PROBE_RESULTS. The grader reads
that file after the kernel has gone and decides the verdict there. Nothing this module
returns, prints or raises decides a verdict: student code may replace it, and gains only
the power to hand in outputs it computed itself. Outside grading ($COURSE_PROBE_REQUESTS
unset: an instructor running the source notebook), `answer` judges in its own process and
raises AssertionError with the reason when the function fails.

Runners (the request's "runner"):
    call   each call: fn(*args, **kwargs) with the request's arrays (as backend tensors where
           the call says so) and literals, or fn([args]) where it says "pack"; saves the
           result, the call's error, and, where the call asks, the gradient of the result
           (summed with the request's weights) for the arguments it names. With "layer", a
           class is instantiated once first (a Keras Layer) and the instance is called.
    predict
           the objects handed in (fn, *extra: Keras models), or, where the request says
           "build", those its builder `fn(*args)` returns, made `draws` times afresh: each call
           predicts with object k on an input array. The kernel's random state (Python, NumPy,
           Keras' global seed generator) is put back afterwards.
"""

from __future__ import annotations

import json
import os

import numpy as np

REQUESTS_ENV, RESULTS_ENV = "COURSE_PROBE_REQUESTS", "COURSE_PROBE_RESULTS"


def answer(request_id: str, probe: str, fn, *extra, **params) -> str:
    """Run the grader's request `request_id` on `fn` (and the `extra` objects); save the results.
    `params` (literal shapes) are the grader's: it read them from the hidden test's own text."""
    folder = os.environ.get(REQUESTS_ENV, "")
    if not folder:  # not being graded: the instructor's own run (course semester-check) judges here
        from course_utils.checks.probes import judge
        from course_utils.config import load_config

        verdict = judge(probe, fn, *extra, request_id=request_id, seed=load_config()["semester"]["seed"],
                        params=params)
        assert verdict, verdict.reason
        return verdict.reason
    spec_path = os.path.join(folder, f"{request_id}.json")
    if not os.path.exists(spec_path):
        raise RuntimeError(f"the grader sent no request {request_id!r}")
    with open(spec_path) as f:
        spec = json.load(f)
    with np.load(os.path.join(folder, f"{request_id}.npz"), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    results = RUNNERS[spec["runner"]](spec, arrays, fn, *extra)
    out = os.path.join(os.environ[RESULTS_ENV], f"{request_id}.npz")
    np.savez(out, **results)
    return f"{probe}: answered"


def _plain(value) -> np.ndarray:
    """A result as a plain array: numbers as float64, strings as a unicode array."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.array([str(v) for v in value], dtype=str)
    if isinstance(value, str):
        return np.array(str(value), dtype=str)
    out = np.asarray(value)
    if out.dtype.kind in "OV":
        out = np.asarray(out.tolist(), dtype=np.float64)
    return out.astype(np.float64) if out.dtype.kind in "biuf" else out.astype(str)


def _failed(results: dict, i: int, e: BaseException) -> None:
    """Record that call i raised `e`: `e<i>` its message, `t<i>` its type's name."""
    results[f"e{i}"] = np.array(f"{type(e).__name__}: {e}"[:500])
    results[f"t{i}"] = np.array(type(e).__name__)


def _arguments(call: dict, arrays: dict, tensor):
    args = [tensor(arrays[a[1:]]) if isinstance(a, str) and a.startswith("@") and call.get("tensors") else
            arrays[a[1:]].copy() if isinstance(a, str) and a.startswith("@") else a for a in call["args"]]
    kwargs = dict(call.get("kwargs", {}))
    return args, kwargs


def run_calls(spec: dict, arrays: dict, fn, *extra) -> dict:
    """The `call` runner: every call of the request; `r<i>` result, `e<i>` error, `g<i>_<arg>` gradient."""
    tensor = _tensor_maker() if any(c.get("tensors") for c in spec["calls"]) else None
    results: dict[str, np.ndarray] = {}
    if spec.get("layer"):
        try:
            fn = fn() if isinstance(fn, type) else fn
        except Exception as e:  # noqa: BLE001
            for i in range(len(spec["calls"])):
                _failed(results, i, e)
            return results
    for i, call in enumerate(spec["calls"]):
        try:
            args, kwargs = _arguments(call, arrays, tensor)
            target = (lambda *a, _fn=fn: _fn(list(a))) if call.get("pack") else fn
            if call.get("grad"):
                value, grads = _with_gradients(target, args, kwargs, call["grad"], arrays)
                for index, grad in grads.items():
                    results[f"g{i}_{index}"] = np.asarray(grad, np.float64) if grad is not None else np.array("none")
            else:
                value = target(*args, **kwargs)
            results[f"r{i}"] = _plain(value)
        except Exception as e:  # noqa: BLE001 - the student's error is part of the answer
            _failed(results, i, e)
    return results


def _tensor_maker():
    import keras

    return lambda x: keras.ops.convert_to_tensor(np.asarray(x, np.float32))


def _with_gradients(fn, args, kwargs, grad: dict, arrays: dict):
    """fn(*args) and the gradients of sum(result * arrays[grad['weights']]) w.r.t. args[i], i in grad['of']."""
    import tensorflow as tf

    watched = {i: tf.convert_to_tensor(args[i]) for i in grad["of"]}
    args = [watched.get(i, a) for i, a in enumerate(args)]
    with tf.GradientTape() as tape:
        for t in watched.values():
            tape.watch(t)
        value = fn(*args, **kwargs)
        weights = tf.constant(arrays[grad["weights"][1:]], tf.float32) if grad.get("weights") else 1.0
        total = tf.reduce_sum(tf.cast(tf.convert_to_tensor(value), tf.float32) * weights)
    found = tape.gradient(total, list(watched.values()))
    return value, {i: (None if g is None else g.numpy()) for i, g in zip(watched, found)}


def run_predict(spec: dict, arrays: dict, fn, *extra) -> dict:
    """The `predict` runner: `r<i>` the output of call i (of draw d: i = d * len(calls) + j)."""
    results: dict[str, np.ndarray] = {}
    calls, build = spec["calls"], spec.get("build")
    with _random_state_kept():
        for draw in range(build["draws"] if build else 1):
            base = draw * len(calls)
            try:
                args = [tuple(a) if isinstance(a, list) else a for a in build["args"]] if build else []
                objects = list(fn(*args)) if build else [fn, *extra]
            except Exception as e:  # noqa: BLE001
                for j in range(len(calls)):
                    _failed(results, base + j, e)
                continue
            for j, call in enumerate(calls):
                try:
                    model = objects[call["object"]]
                    results[f"r{base + j}"] = _plain(_predict(model, arrays[call["args"][0][1:]]))
                except Exception as e:  # noqa: BLE001
                    _failed(results, base + j, e)
    return results


def _predict(model, x):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    # A plain call in inference mode: predict() would trace a function per model, and say so.
    return keras.Model.__call__(model, keras.ops.convert_to_tensor(x), training=False)


class _random_state_kept:
    """Put back Python's, NumPy's and Keras' global random state on exit."""

    def __enter__(self):
        import random

        self._python, self._numpy = random.getstate(), np.random.get_state()
        self._keras = self._generator()
        if self._keras is not None:
            import keras

            self._keras_state = keras.ops.convert_to_numpy(self._keras.state)
        return self

    def __exit__(self, *exc):
        import random

        random.setstate(self._python)
        np.random.set_state(self._numpy)
        if self._keras is not None:
            self._keras.state.assign(self._keras_state)
        return False

    @staticmethod
    def _generator():
        try:
            from keras.src.random.seed_generator import global_seed_generator

            return global_seed_generator()
        except Exception:  # noqa: BLE001 - another Keras: its initialisers draw as they like
            return None


RUNNERS = {"call": run_calls, "predict": run_predict}
