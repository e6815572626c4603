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
    model  the student's model builder, called with each of the request's builds: saves whether
           each model is compiled, its outputs on the request's inputs, and, where asked, how
           much the outputs move when each recurrent layer's weights are perturbed.
    train  the student's builder, trained by Keras' own fit on the request's training arrays
           (the grader's budget) and asked for its outputs on the request's queries before and
           after: symbols (argmax) for text, pixels as uint8 for images. The queries' answers
           never leave the grader.
    train_fn
           the student's train(model, x, y, epochs) on a recording model of its own, and
           exact_match(model, x, answers) on a model of fixed outputs: saves which rows fit
           trained and validated on, the History's keys and lengths, and the score.
    gan    the student's GAN class on tiny networks of its own (seeded, `draws` times): it is
           compiled with recording optimizers and a recording loss, and trained `steps` steps on
           the request's real batches; saves what each step did (see `run_gan`).
"""

from __future__ import annotations

import json
import os

import numpy as np

REQUESTS_ENV, RESULTS_ENV = "COURSE_PROBE_REQUESTS", "COURSE_PROBE_RESULTS"
# The names the runners save results under (each may end in a number: r0, influence1, d_updated2);
# the grader reads nothing else (tools/verdicts.py).
RESULT_NAMES = ("r", "e", "t", "judged", "returned", "losses", "calls", "changed", "label_gaps", "d_updated",
                "g_updated", "compiled", "out", "fail", "influence", "fail_influence", "before", "after", "seconds",
                "trained", "validated", "is_history", "history_keys", "epochs_logged")


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


# --- the GAN runner ------------------------------------------------------------------
_LOSS_CALLS = 16  # loss_fn values recorded per step (more calls than this are counted, not kept)


def _tiny_gan(shape, latent: int, filters: int, seed: int):
    """(discriminator, generator), seeded: images `shape` -> (N, 1) P(real); (N, latent) -> images in [0, 1]."""
    import keras
    from keras import layers

    def init(k):
        return keras.initializers.GlorotUniform(seed=seed * 10 + k)

    h, w, c = shape
    discriminator = keras.Sequential([
        keras.Input(shape),
        layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=init(0)), layers.LeakyReLU(0.2),
        layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=init(1)), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1, activation="sigmoid", kernel_initializer=init(2))])
    generator = keras.Sequential([
        keras.Input((latent,)),
        layers.Dense(h // 4 * (w // 4) * filters, activation="relu", kernel_initializer=init(3)),
        layers.Reshape((h // 4, w // 4, filters)),
        layers.Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu", kernel_initializer=init(4)),
        layers.Conv2DTranspose(c, 4, strides=2, padding="same", activation="sigmoid", kernel_initializer=init(5))])
    return discriminator, generator


def _recording_adam(record: set, learning_rate: float, beta_1: float):
    """Adam that adds the paths of the variables it updates to `record` (at trace time too)."""
    import keras

    class RecordingAdam(keras.optimizers.Adam):
        def apply(self, grads, trainable_variables=None):
            variables = self._trainable_variables if trainable_variables is None else trainable_variables
            record.update(v.path for v in variables)
            return super().apply(grads, trainable_variables)

    return RecordingAdam(learning_rate, beta_1=beta_1)


def _recording_bce():
    """Binary cross-entropy that keeps the values it returns, in variables (eager and in tf.function)."""
    import keras
    import tensorflow as tf

    class RecordingBCE(keras.losses.BinaryCrossentropy):
        def __init__(self):
            super().__init__()
            self.calls = tf.Variable(0, dtype=tf.int32, trainable=False)
            self.values = tf.Variable(tf.fill([_LOSS_CALLS], float("nan")), trainable=False)
            self.label_gaps = tf.Variable(tf.fill([_LOSS_CALLS], float("nan")), trainable=False)

        def __call__(self, y_true, y_pred, sample_weight=None):
            value = super().__call__(y_true, y_pred, sample_weight)
            at = tf.minimum(self.calls.read_value(), _LOSS_CALLS - 1)
            self.values[at].assign(tf.reshape(tf.cast(value, tf.float32), [-1])[0])
            labels = tf.cast(y_true, tf.float32)  # how far the labels are from 0 or 1, at most
            self.label_gaps[at].assign(tf.reduce_max(tf.minimum(tf.abs(labels), tf.abs(1 - labels))))
            self.calls.assign_add(1)
            return value

        def reset(self):
            self.calls.assign(0)
            self.values.assign(tf.fill([_LOSS_CALLS], float("nan")))
            self.label_gaps.assign(tf.fill([_LOSS_CALLS], float("nan")))

    return RecordingBCE()


def run_gan(spec: dict, arrays: dict, gan_class, *extra) -> dict:
    """The `gan` runner. For each draw d and step s (arrays "real" (draws, steps, N, h, w, c), "latent"
    (P, latent) probe vectors): `judged` (d, s, 5) = D's mean P(real) on real and G(probes) before
    the step, and on real, the old G(probes) and the new G(probes) after it; `returned` (d, s, 2) the step's d_loss, g_loss;
    `losses` (d, s, 16) the loss_fn values in order, `calls` (d, s) how many, `label_gaps` (d, s, 16)
    how far each call's labels (its first argument) are from 0 or 1 at most; `d_updated`, `g_updated`
    (d, n_d + n_g + 1): which variables each optimizer updated ([D's..., G's..., any other]);
    `changed` (d, s, 2): whether D's and G's weights changed. `e0`: the first error."""
    import keras

    setup, results = spec["setup"], {}
    real_all, latent_probes = arrays["real"], keras.ops.convert_to_tensor(arrays["latent"])
    draws, steps = real_all.shape[:2]
    judged = np.full((draws, steps, 5), np.nan)
    returned = np.full((draws, steps, 2), np.nan)
    losses, calls = np.full((draws, steps, _LOSS_CALLS), np.nan), np.zeros((draws, steps))
    label_gaps = np.full((draws, steps, _LOSS_CALLS), np.nan)
    changed = np.zeros((draws, steps, 2))
    with _random_state_kept():
        try:
            for d in range(draws):
                discriminator, generator = _tiny_gan(tuple(setup["shape"]), setup["latent"], setup["filters"],
                                                     setup["seeds"][d])
                d_record, g_record = set(), set()
                loss_fn = _recording_bce()
                gan = gan_class(discriminator=discriminator, generator=generator, latent_dim=setup["latent"])
                gan.compile(d_optimizer=_recording_adam(d_record, setup["learning_rate"], setup["beta_1"]),
                            g_optimizer=_recording_adam(g_record, setup["learning_rate"], setup["beta_1"]),
                            loss_fn=loss_fn)

                def mean_p(images):
                    return float(np.mean(keras.ops.convert_to_numpy(discriminator(images, training=False))))

                for s in range(steps):
                    real = keras.ops.convert_to_tensor(real_all[d, s])
                    old_fake = generator(latent_probes, training=False)
                    before = (mean_p(real), mean_p(old_fake))
                    d_weights, g_weights = discriminator.get_weights(), generator.get_weights()
                    loss_fn.reset()
                    if hasattr(gan, "reset_metrics"):
                        gan.reset_metrics()
                    logs = gan.train_step(real)
                    returned[d, s] = [_scalar(logs["d_loss"]), _scalar(logs["g_loss"])]
                    judged[d, s] = [*before, mean_p(real), mean_p(old_fake),
                                    mean_p(generator(latent_probes, training=False))]
                    n = int(loss_fn.calls.numpy())
                    calls[d, s], losses[d, s] = n, loss_fn.values.numpy()
                    label_gaps[d, s] = loss_fn.label_gaps.numpy()
                    changed[d, s] = [_changed(d_weights, discriminator), _changed(g_weights, generator)]
                results[f"d_updated{d}"] = _updated(d_record, discriminator, generator)
                results[f"g_updated{d}"] = _updated(g_record, discriminator, generator)
        except Exception as e:  # noqa: BLE001 - the student's error is part of the answer
            _failed(results, 0, e)
    results.update(judged=judged, returned=returned, losses=losses, calls=calls, changed=changed,
                   label_gaps=label_gaps)
    return results


def _scalar(value) -> float:
    out = np.asarray(value.numpy() if hasattr(value, "numpy") else value, np.float64).reshape(-1)
    if out.size != 1:
        raise ValueError(f"train_step's losses must be single numbers, got {out.size} values")
    return float(out[0])


def _changed(before: list, network) -> bool:
    return any(not np.array_equal(b, a) for b, a in zip(before, network.get_weights()))


def _updated(record: set, discriminator, generator) -> np.ndarray:
    """Which of [D's trainable variables..., G's..., any other variable] are in `record` (0/1)."""
    paths = [v.path for v in discriminator.trainable_weights] + [v.path for v in generator.trainable_weights]
    return np.array([p in record for p in paths] + [bool(record - set(paths))], np.float64)


# --- the seq2seq runners ----------------------------------------------------------------
def _build_model(fn, build: dict):
    import keras

    keras.backend.clear_session()
    model = fn(*build["args"], **build.get("kwargs", {}))
    if not isinstance(model, keras.Model):
        raise TypeError(f"the builder returned {type(model).__name__}, not a keras.Model")
    return model


def _model_outputs(model, x: np.ndarray) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(keras.Model.__call__(model, keras.ops.convert_to_tensor(x),
                                                                      training=False)), np.float64)


def _model_outputs_scaled(model, x: np.ndarray, scale: float) -> np.ndarray:
    """The outputs on `x` with every trainable weight times `scale` (put back after): weights far
    larger than at initialisation drive every activation to its extremes."""
    if scale == 1:
        return _model_outputs(model, x)
    saved = [np.array(v) for v in model.trainable_weights]
    try:
        for v, w in zip(model.trainable_weights, saved):
            v.assign(w * scale)
        return _model_outputs(model, x)
    finally:
        for v, w in zip(model.trainable_weights, saved):
            v.assign(w)


def _recurrent_layers(model) -> list:
    """The recurrent layers of `model`, nested models and wrappers (Bidirectional) included."""
    import keras

    found, seen = [], set()

    def walk(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, keras.layers.RNN) or type(layer).__name__ in ("LSTM", "GRU", "SimpleRNN"):
            found.append(layer)
        for attr in ("layers", "layer", "forward_layer", "backward_layer"):
            inner = getattr(layer, attr, None)
            for sub in inner if isinstance(inner, (list, tuple)) else [inner] if inner is not None else []:
                walk(sub)

    walk(model)
    return found


def _influence(model, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each recurrent layer: the largest change of the outputs on `x` when its weights are perturbed."""
    base = _model_outputs(model, x)
    moved = []
    for layer in _recurrent_layers(model):
        saved = [np.array(w) for w in layer.get_weights()]
        layer.set_weights([w + rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in saved])
        moved.append(float(np.max(np.abs(_model_outputs(model, x) - base))) if saved else 0.0)
        layer.set_weights(saved)
    return np.array(moved, np.float64)


def run_model(spec: dict, arrays: dict, fn, *extra) -> dict:
    """The `model` runner: for build b, `compiled<b>` (1 or 0), `e<b>` its error, `influence<b>` (where
    the request asks) per recurrent layer; for input k ([build, array name, weight scale (optional)]),
    `out<k>` the outputs."""
    setup, results = spec["setup"], {}
    rng = np.random.default_rng(setup.get("seed", 0))
    models = {}
    with _random_state_kept():
        for b, build in enumerate(setup["builds"]):
            try:
                models[b] = model = _build_model(fn, build)
                results[f"compiled{b}"] = np.array(float(bool(getattr(model, "compiled", False))
                                                         and getattr(model, "optimizer", None) is not None))
            except Exception as e:  # noqa: BLE001
                _failed(results, b, e)
        for k, (b, name, *scale) in enumerate(setup["inputs"]):
            if b in models:
                try:
                    results[f"out{k}"] = _model_outputs_scaled(models[b], arrays[name], scale[0] if scale else 1)
                except Exception as e:  # noqa: BLE001
                    results[f"fail{k}"] = np.array(f"{type(e).__name__}: {e}"[:500])
        for b in setup.get("influence", []):
            if b in models:
                try:
                    results[f"influence{b}"] = _influence(models[b], arrays[setup["influence_input"]], rng)
                except Exception as e:  # noqa: BLE001
                    results[f"fail_influence{b}"] = np.array(f"{type(e).__name__}: {e}"[:500])
    return results


def _fit_data(x, y, batch_size) -> dict:
    """fit()'s data arguments: the batches fit(x, y, shuffle=True) would draw, as a dataset with
    tf.data's autotuning off (or the arrays, where this Keras has no ArrayDataAdapter).

    Same batches, same weights. Autotuning's thread can hold the end of every epoch for seconds
    when a kernel shares its cores (measured: image2text 9.3 s an epoch on one core, 5.9 s
    without it; two image2text checks side by side 95 and 103 s, 71 and 76 s without)."""
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:  # a Keras that moved it: slower, still right
        return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True}
    import tensorflow as tf

    adapter = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    batches = adapter.get_tf_dataset().with_options(options)
    batches = batches.apply(tf.data.experimental.assert_cardinality(adapter.num_batches))  # no run-out warning
    return {"x": batches, "shuffle": False}  # already shuffled: True would only make Keras warn


def _pixels(x: np.ndarray) -> np.ndarray:
    """Images sent as uint8 -> float32 in [0, 1]; other arrays as they are."""
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x


def _reduced(outputs: np.ndarray, images: bool) -> np.ndarray:
    """Text outputs (N, T, V) -> symbols (N, T) uint8; images (N, T, 28, 28) -> pixels uint8."""
    if images:
        return np.round(np.clip(np.nan_to_num(outputs, nan=0.0), 0, 1) * 255).astype(np.uint8)
    return np.argmax(np.nan_to_num(outputs, nan=-1.0), axis=-1).astype(np.uint8)


def run_train(spec: dict, arrays: dict, fn, *extra) -> dict:
    """The `train` runner: `before` and `after` (the reduced outputs on x_before and x_test), `seconds`."""
    import time

    import keras

    setup, results = spec["setup"], {}
    with _random_state_kept():
        try:
            keras.utils.set_random_seed(setup["seed"])
            model = _build_model(fn, setup["build"])
            predict = lambda x: np.asarray(keras.Model.predict(model, _pixels(x), verbose=0, batch_size=256))  # noqa: E731
            results["before"] = _reduced(predict(arrays["x_before"]), setup["images_out"])
            students_steps = model.steps_per_execution  # predict() above was traced with it
            model.steps_per_execution, model.train_function = setup["steps_per_execution"], None
            start = time.perf_counter()
            keras.Model.fit(model, **_fit_data(_pixels(arrays["x_train"]), _pixels(arrays["y_train"]),
                                               setup["batch_size"]), epochs=setup["epochs"], verbose=0)
            results["seconds"] = np.array(time.perf_counter() - start)
            model.steps_per_execution = students_steps  # a traced function and its batching must agree
            results["after"] = _reduced(predict(arrays["x_test"]), setup["images_out"])
        except Exception as e:  # noqa: BLE001
            _failed(results, 0, e)
    return results


class _FixedModel:
    """Stands in for a trained model: predict(x) and model(x) give fixed probabilities."""

    def __init__(self, probs):
        self._probs = probs

    def predict(self, x, *args, **kwargs):
        return self._probs[: len(x)].copy()

    def __call__(self, x, *args, **kwargs):
        return self.predict(x)


def _recording_model(x: np.ndarray, y_shape: tuple):
    """A small compiled model that counts, per row of `x`, how often fit trained on it (`trained`)
    and validated on it (`validated`); the last entry counts rows that are not rows of `x`."""
    import keras
    import tensorflow as tf

    n, flat = len(x), int(np.prod(x.shape[1:]))
    projection = np.random.default_rng(0).normal(size=flat).astype(np.float64)
    keys = x.reshape(n, flat).astype(np.float64) @ projection

    class Recording(keras.Model):
        def __init__(self):
            inputs = keras.Input(x.shape[1:])
            h = keras.layers.Dense(int(np.prod(y_shape)))(keras.layers.Flatten()(inputs))
            outputs = keras.layers.Softmax()(keras.layers.Reshape(y_shape)(h))
            super().__init__(inputs, outputs)
            self.keys = tf.constant(keys, tf.float64)
            self.projection = tf.constant(projection, tf.float64)
            self.trained = tf.Variable(tf.zeros(n + 1, tf.float32), trainable=False)
            self.validated = tf.Variable(tf.zeros(n + 1, tf.float32), trainable=False)

        def _count(self, counts, data):
            batch = data[0] if isinstance(data, (tuple, list)) else data
            key = tf.linalg.matvec(tf.reshape(tf.cast(batch, tf.float64), [-1, flat]), self.projection)
            gap = tf.abs(key[:, None] - self.keys[None, :])
            row = tf.argmin(gap, axis=1, output_type=tf.int32)
            row = tf.where(tf.reduce_min(gap, axis=1) < 1e-6, row, n)
            counts.scatter_nd_add(row[:, None], tf.ones_like(row, tf.float32))

        def train_step(self, data):
            self._count(self.trained, data)
            return super().train_step(data)

        def test_step(self, data):
            self._count(self.validated, data)
            return super().test_step(data)

    model = Recording()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def run_train_fn(spec: dict, arrays: dict, train_fn, exact_match_fn=None, *extra) -> dict:
    """The `train_fn` runner: `r0` the exact-match score (`e0` its error); `trained`, `validated` (rows
    of x counted, the last entry rows not of x), `history_keys`, `epochs_logged`, `is_history`,
    `changed` (`e1` the training's error)."""
    import keras

    setup, results = spec["setup"], {}
    with _random_state_kept():
        try:
            score = exact_match_fn(_FixedModel(arrays["probs"]), arrays["x_score"].copy(),
                                   [str(a) for a in arrays["answers"]])
            results["r0"] = _plain(score)
        except Exception as e:  # noqa: BLE001
            _failed(results, 0, e)
        try:
            keras.backend.clear_session()
            keras.utils.set_random_seed(setup["seed"])
            model = _recording_model(arrays["x"], tuple(arrays["y"].shape[1:]))
            before = [np.array(w) for w in model.get_weights()]
            history = train_fn(model, arrays["x"].copy(), arrays["y"].copy(), epochs=setup["epochs"])
            results["trained"] = model.trained.numpy().astype(np.float64)
            results["validated"] = model.validated.numpy().astype(np.float64)
            results["is_history"] = np.array(float(isinstance(history, keras.callbacks.History)))
            logs = getattr(history, "history", {}) if isinstance(getattr(history, "history", None), dict) else {}
            results["history_keys"] = np.array(sorted(str(k) for k in logs) or [""], dtype=str)
            results["epochs_logged"] = np.array(float(len(logs.get("loss", []))))
            results["changed"] = np.array(float(_changed(before, model)))
        except Exception as e:  # noqa: BLE001
            _failed(results, 1, e)
    return results


RUNNERS = {"call": run_calls, "predict": run_predict, "gan": run_gan, "model": run_model, "train": run_train,
           "train_fn": run_train_fn}
