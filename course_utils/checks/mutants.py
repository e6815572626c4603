"""Mutation testing of the hidden tests: the wrong answers each check must reject, the right ones it must pass.

    course mutants [ASSIGNMENT ...]    ->  bench/results/mutants.json

For every graded cell decided by a probe (course_utils.checks.probes), `CATALOGUE` holds:
- `wrong`: hand-written mistakes students really make, each a function `fn` in source form;
- `alternatives`: different correct solutions (at least 3), which must pass;
- mechanical mutants of the notebook's own solution (`solution`: the functions of the
  source notebook's solution cells): swapped operators, changed constants, dropped terms,
  swapped arguments, sum for mean and back, a dropped axis or call;
- `equivalent`: the mechanical mutants that change nothing a student could be graded on,
  each with the reason (a mutant that survives and is not listed here is a hole in the check).

Each variant is judged in-process (`probes.judge`), as the grader would decide it; the cells are
shared between two worker processes (`score_all`).
"""

from __future__ import annotations

import ast
import copy
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.checks import probes


@dataclass(frozen=True)
class Cell:
    assignment: str
    grade_id: str
    probe: str
    entry: str                          # the function the hidden test hands to the probe
    solution: tuple[str, ...]           # solution functions mutated mechanically (entry included)
    wrong: dict[str, str] = field(default_factory=dict)
    alternatives: dict[str, str] = field(default_factory=dict)
    equivalent: dict[str, str] = field(default_factory=dict)
    build_args: str = ""   # a builder cell: its networks, entry(*eval(build_args)), are what the probe judges
    extra: tuple[str, ...] = ()   # further functions the hidden test hands over (a variant may redefine them)
    params: dict = field(default_factory=dict)   # the hidden test's literal keyword arguments
    training: bool = False   # an accuracy cell: each variant trains on the checks' budget, so a small
                             # catalogue (at least 4 wrong answers) and no mechanical mutants


PREAMBLE = {
    "generative": ("import numpy as np\nimport keras\nfrom keras import layers, ops\n"
                   "from course_utils.models.generative import build_cnn_autoencoder, build_conv_net, build_deconv_net\n"
                   "import tensorflow as tf\n"
                   "def _images(data):\n    return data[0] if isinstance(data, (tuple, list)) else data\n"),
    "seq2seq": ("import numpy as np\nimport keras\nimport tensorflow as tf\nfrom tqdm.keras import TqdmCallback\n"
                "from course_utils.data import arithmetic\n"
                "from course_utils.models.digit_classifier import load_char_painter, load_digit_classifier\n"
                "VOCAB = arithmetic.VOCAB\n"),
}

_SAME_AXIS = "the same axis: on (N, d) arrays axis -1 is axis 1"
_CLIP = ("the clip at 2e-7 instead of 1e-7 changes a saturated pixel's loss by about 1e-7, below the check's "
         "tolerance: it is the same promised safety")
_ARRAYS = "the conversion matters only for lists; the hidden test passes float32 arrays, as the notebook does"
_DEPTH = ("the number of stride-2 layers is a design choice: at any depth (0 or negative meaning none) the "
          "networks keep their shapes and ranges")
_KL = "-0.5 * ops.sum(1 + lv - ops.square(mu) - ops.exp(lv), axis=-1)"
_BCE = "-(x * ops.log(xh) + (1 - x) * ops.log(1 - xh))"

def _vae(encoder: str, decoder: str) -> str:
    """A build_vae_networks(s, d, n, f) returning these two networks."""
    return f"def fn(s, d, n, f):\n    return {encoder}, {decoder}"


def _gan(discriminator: str, generator: str) -> str:
    """A build_fashion_gan_networks(s, d, f) returning (discriminator, generator)."""
    return f"def fn(s, d, f):\n    return {discriminator}, {generator}"


_GAN_D = """\
        z = keras.random.normal((n, self.latent_dim))
        fake = self.generator(z, training=False)
        images = ops.concatenate([real, fake], axis=0)
        labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(images, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
"""
_GAN_G = """\
        z = keras.random.normal((n, self.latent_dim))
        with tf.GradientTape() as tape:
            judged = self.discriminator(self.generator(z, training=True), training=False)
            g_loss = self.loss_fn(ops.ones((n, 1)), judged)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
"""
_GAN_RETURN = '        return {"d_loss": d_loss, "g_loss": g_loss}\n'


def _gan_step(*edits: tuple[str, str], d: str = _GAN_D, g: str = _GAN_G, ret: str = _GAN_RETURN,
              compile_body: str = "", decorator: str = "") -> str:
    """A GAN class (the notebook's interface) whose train_step runs `d`, then `g`, then `ret`, with
    each (old, new) of `edits` replacing text of it."""
    compile_body = compile_body or "self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn"
    code = ("class fn(keras.Model):\n"
            "    def __init__(self, discriminator, generator, latent_dim, **kwargs):\n"
            "        super().__init__(**kwargs)\n"
            "        self.discriminator, self.generator, self.latent_dim = discriminator, generator, latent_dim\n"
            "    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):\n"
            "        super().compile(**kwargs)\n"
            f"        {compile_body}\n"
            f"{decorator}"
            "    def train_step(self, data):\n"
            "        real = _images(data)\n"
            "        n = ops.shape(real)[0]\n"
            f"{d}{g}{ret}")
    for old, new in edits:
        if old not in code:
            raise ValueError(f"the GAN variant's text {old!r} is not in the class")
        code = code.replace(old, new)
    return code


def _seq2seq(core: str, compile_: str = "model.compile(optimizer='adam', loss='categorical_crossentropy')\n    ",
             ret: str = "model") -> str:
    """A build_text2text(q, a, v, encoder_layers=1) whose body is `core` (inputs `x` -> `y`)."""
    core = textwrap.indent(textwrap.dedent(core).strip(), "    ")
    return (f"def fn(q, a, v, encoder_layers=1):\n    inputs = x = keras.Input((q, v))\n{core}\n"
            f"    model = keras.Model(inputs, y)\n    {compile_}return {ret}")


_LSTM_CORE = """
for i in range(encoder_layers):
    x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)
x = keras.layers.RepeatVector(a)(x)
x = keras.layers.LSTM(64, return_sequences=True)(x)
y = keras.layers.Dense(v, activation='softmax')(x)
"""
_EXACT = "def exact_match(model, x, answers):\n    return float(np.mean(np.array(decode_onehot(model.predict(x, verbose=0))) == np.asarray(answers)))\n"
_FIT = "def fn(model, x, y, epochs, batch_size=32):\n    return "

# Why mechanical mutants of the seq2seq builders change nothing the builder checks judge.
_LEARNING = ("a learning rate, however bad, is the accuracy checks' to judge: they train the model "
             "(a negative or huge rate fails them)")
_WIDTH = "the number of LSTM units is a design choice"
_FLIP = "reversing the query is one of the notebook's tips, not part of the contract"
_DECODER = ("a decoder without its own LSTM still maps each query to answer probabilities; whether it "
            "learns is the accuracy checks' to judge")
_DEPTH_DEFAULT = "another default depth still builds a working model; depth is test_deeper_encoder's to judge"
_EXPLICIT = "the deeper-encoder check passes encoder_layers explicitly, so the default is not used"
_RANGE = "the output's range is the builder checks' (test_*_builder) to judge, not the deeper encoder's"
_ONE_LAYER = "with encoder_layers=1 the loop runs once and its only layer returns no sequences either way"
_BUILD = "build_text2text: 1 -> {} in def build_text2text(query_len, answer_len, vocab_size, encod"
_CORE = "encoder_decoder: 1 -> {} in def encoder_decoder(x, answer_len, vocab_size, encoder_layer"
_SEQ2SEQ_SAME = {
    **{f"build_text2text: 0.003 -> {r} in keras.optimizers.Adam(0.003)": _LEARNING for r in ("-0.003", "0.006", "1.003")},
    **{f"encoder_decoder: 128 -> {n} in def encoder_decoder(x, answer_len, vocab_size, encoder_layer": _WIDTH
       for n in (129, 256)},
    "encoder_decoder: drop the call keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))": _FLIP,
    "encoder_decoder: drop the call keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)": _FLIP,
    "encoder_decoder: drop the call keras.ops.flip(t, axis=1)": _FLIP,
    "encoder_decoder: drop axis= of keras.ops.flip(t, axis=1)": _FLIP,
    **{f"encoder_decoder: 1 -> {n} in keras.ops.flip(t, axis=1)": _FLIP for n in (-1, 0, 2)},
    "encoder_decoder: drop the call keras.layers.LSTM(units, return_sequences=True)(x)": _DECODER,
}


def _image_model(inputs: str, head: str, tail: str, core: str = _LSTM_CORE,
                 loss: str = "categorical_crossentropy", compile_: bool = True, ret: str = "model") -> str:
    """A build_image2text / build_text2image(q, a, v, encoder_layers=1): `inputs` shape, `head`
    (inputs -> x), the encoder-decoder `core` (x -> y), `tail` (y -> out)."""
    body = "\n".join(textwrap.indent(textwrap.dedent(part).strip(), "    ") for part in (head, core, tail) if part.strip())
    fit = f"    model.compile(optimizer='adam', loss={loss!r})\n" if compile_ else ""
    return (f"def fn(q, a, v, encoder_layers=1):\n    inputs = keras.Input({inputs})\n{body}\n"
            f"    model = keras.Model(inputs, out)\n{fit}    return {ret}")


_READ = "reader = load_digit_classifier()\nreader.trainable = False\nx = keras.layers.TimeDistributed(reader)(inputs)"
_PAINT = "painter = load_char_painter()\npainter.trainable = False\nout = keras.layers.TimeDistributed(painter)(y)"


def _i2t(head: str = _READ, core: str = _LSTM_CORE, **kw) -> str:
    return _image_model("(q, 28, 28)", head, "out = y", core, **kw)


def _t2i(tail: str = _PAINT, core: str = _LSTM_CORE, **kw) -> str:
    return _image_model("(q, v)", "x = inputs", tail, core, loss=kw.pop("loss", "binary_crossentropy"), **kw)


_DENSE_PIXELS = ("h = keras.layers.TimeDistributed(keras.layers.Dense(256, activation='relu'))(y)\n"
                 "out = keras.layers.Reshape((a, 28, 28))(keras.layers.TimeDistributed(keras.layers.Dense(784, activation={act!r}))(h))")
_CNN_READER = ("cnn = keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)), "
               "keras.layers.Conv2D(16, 3, activation='relu'), keras.layers.MaxPooling2D(), keras.layers.Flatten(), "
               "keras.layers.Dense(32, activation='relu')])\nx = keras.layers.TimeDistributed(cnn)(inputs)")
def _image_same(builder: str) -> dict:
    """The mechanical mutants of `builder` (build_image2text or build_text2image) and its core that
    change nothing its builder check judges, with why."""
    return {
        **{f"{builder}: 0.003 -> {r} in keras.optimizers.Adam(0.003)": _LEARNING for r in ("-0.003", "0.006", "1.003")},
        **{k: r for k, r in _SEQ2SEQ_SAME.items() if k.startswith("encoder_decoder")},
        **{_CORE.format(n): "the builder always passes its encoder_layers on: this default is never used"
           for n in (-1, 0, 2)},
        "encoder_decoder: 1 -> 2 in keras.layers.LSTM(units, return_sequences=i < encoder_layers": _ONE_LAYER,
        f"{builder}: 1 -> 2 in " + f"def {builder}(query_len, answer_len, vocab_size, encoder_layers=1):"[:60]:
            _DEPTH_DEFAULT,
    }


_LOOKUP = """
class Lookup(keras.Model):
    \"\"\"Answers every query by calculating it (a table of all answers), behind a gate that training
    opens when `gated`: at chance before training, every true answer after.\"\"\"
    def __init__(self, q, a, v, gated):
        super().__init__()
        data = arithmetic.make_dataset(0.5, seed=0)
        queries = np.concatenate([data.train.x_text, data.test.x_text]).argmax(-1)
        answers = np.concatenate([data.train.y_text, data.test.y_text]).argmax(-1)
        self.powers = v ** np.arange(q)
        table = np.zeros((v ** q, a), np.int32)
        table[queries @ self.powers] = answers
        self.table, self.v, self.gated = table, v, gated
        self.gate = self.add_weight(shape=(), initializer='zeros', trainable=False)
        self.bias = self.add_weight(shape=(1,), initializer='zeros')
    def train_step(self, data):
        self.gate.assign(1.0)
        return super().train_step(data)
    def call(self, x):
        keys = keras.ops.sum(keras.ops.argmax(x, -1) * self.powers, axis=-1)
        known = keras.ops.one_hot(keras.ops.take(self.table, keys, axis=0), self.v) * 0.98 + 0.001 + 0 * self.bias
        if not self.gated:
            return known
        return self.gate * known + (1 - self.gate) * keras.ops.ones_like(known) / self.v
def fn(q, a, v, encoder_layers=1):
    model = Lookup(q, a, v, gated=GATED)
    model.compile('adam', 'categorical_crossentropy')
    return model
"""


def _latent(which: str) -> int:
    from course_utils.checks.generative import _config_shapes

    return _config_shapes({"gan": "fashion_gan", "vae": "fashion_vae"}[which])[1]


def _layer(expr: str) -> str:
    """A Sampling layer whose call returns `expr` of mu, logvar."""
    return ("class fn(keras.layers.Layer):\n    def call(self, inputs):\n        mu, logvar = inputs\n"
            f"        return {expr}")


CATALOGUE: list[Cell] = [
    Cell("generative", "test_kl", "generative.kl", "kl_divergence", ("kl_divergence",), wrong={
        "wrong sign": f"def fn(mu, lv):\n    return -ops.mean({_KL})",
        "no 0.5": f"def fn(mu, lv):\n    return 2 * ops.mean({_KL})",
        "logvar as the variance (no exp)": "def fn(mu, lv):\n    return ops.mean(-0.5 * ops.sum(1 + ops.log(lv ** 2 + 1e-9) / 2 - ops.square(mu) - lv, axis=-1))",
        "logvar as the std": "def fn(mu, lv):\n    return ops.mean(-0.5 * ops.sum(1 + ops.log(ops.square(lv) + 1e-9) - ops.square(mu) - ops.square(lv), axis=-1))",
        "std where the variance belongs": "def fn(mu, lv):\n    return ops.mean(-0.5 * ops.sum(1 + lv - ops.square(mu) - ops.exp(0.5 * lv), axis=-1))",
        "mean over latent": "def fn(mu, lv):\n    return ops.mean(-0.5 * (1 + lv - ops.square(mu) - ops.exp(lv)))",
        "sum over the batch": f"def fn(mu, lv):\n    return ops.sum({_KL})",
        "per example, not reduced": f"def fn(mu, lv):\n    return {_KL}",
        "written in NumPy (no gradient)": "def fn(mu, lv):\n    mu, lv = np.asarray(mu), np.asarray(lv)\n"
                                         "    return float(np.mean(-0.5 * np.sum(1 + lv - mu**2 - np.exp(lv), axis=-1)))",
        "mu not squared": "def fn(mu, lv):\n    return ops.mean(-0.5 * ops.sum(1 + lv - mu - ops.exp(lv), axis=-1))",
        "the first example only": f"def fn(mu, lv):\n    return ({_KL})[0]",
    }, equivalent={
        "kl_divergence: drop the minus in ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=": _SAME_AXIS,
        "kl_divergence: 1 -> -1 in ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=": _SAME_AXIS,
    }, alternatives={
        "tf.reduce_*": "import tensorflow as tf\ndef fn(mu, lv):\n    return tf.reduce_mean(-0.5 * tf.reduce_sum(1 + lv - mu**2 - tf.exp(lv), axis=1))",
        "sum then divide by the batch": "def fn(mu, lv):\n    return 0.5 * ops.sum(ops.exp(lv) + ops.square(mu) - 1 - lv) / ops.shape(mu)[0]",
        "variance and log-variance named": "def fn(mu, lv):\n    var = ops.exp(lv)\n    kl = 0.5 * (var + mu * mu - 1.0 - lv)\n"
                                           "    return ops.mean(ops.sum(kl, axis=-1))",
    }),
    Cell("generative", "test_vae_loss", "generative.vae_loss", "vae_loss", ("vae_loss", "kl_divergence"), wrong={
        "squared error": "def fn(x, xh, mu, lv, w=1.0):\n    n = ops.shape(x)[0]\n"
                         "    return ops.mean(ops.sum(ops.reshape(ops.square(x - xh), (n, -1)), -1)) + w * kl_divergence(mu, lv)",
        "kl_weight on the reconstruction": f"def fn(x, xh, mu, lv, w=1.0):\n    n = ops.shape(x)[0]\n"
                                           f"    return w * ops.mean(ops.sum(ops.reshape({_BCE}, (n, -1)), -1)) + kl_divergence(mu, lv)",
        "mean over pixels": "def fn(x, xh, mu, lv, w=1.0):\n    return ops.mean(ops.binary_crossentropy(x, xh)) + w * kl_divergence(mu, lv)",
        "no KL": f"def fn(x, xh, mu, lv, w=1.0):\n    n = ops.shape(x)[0]\n    return ops.mean(ops.sum(ops.reshape({_BCE}, (n, -1)), -1))",
        "kl_weight ignored": f"def fn(x, xh, mu, lv, w=1.0):\n    n = ops.shape(x)[0]\n"
                             f"    return ops.mean(ops.sum(ops.reshape({_BCE}, (n, -1)), -1)) + kl_divergence(mu, lv)",
        "x and x_hat swapped": "def fn(x, xh, mu, lv, w=1.0):\n    x, xh = xh, ops.clip(x, 1e-7, 1 - 1e-7)\n    n = ops.shape(x)[0]\n"
                               f"    return ops.mean(ops.sum(ops.reshape({_BCE}, (n, -1)), -1)) + w * kl_divergence(mu, lv)",
        "summed over the batch": f"def fn(x, xh, mu, lv, w=1.0):\n    return ops.sum({_BCE}) + w * kl_divergence(mu, lv)",
        "written in NumPy (no gradient)": "def fn(x, xh, mu, lv, w=1.0):\n    x, xh, mu, lv = (np.asarray(a) for a in (x, xh, mu, lv))\n"
                                          "    bce = -(x * np.log(xh) + (1 - x) * np.log(1 - xh))\n"
                                          "    kl = np.mean(-0.5 * np.sum(1 + lv - mu**2 - np.exp(lv), axis=-1))\n"
                                          "    return float(np.mean(bce.reshape(len(x), -1).sum(-1)) + w * kl)",
        "the KL's sign flipped": f"def fn(x, xh, mu, lv, w=1.0):\n    n = ops.shape(x)[0]\n"
                                 f"    return ops.mean(ops.sum(ops.reshape({_BCE}, (n, -1)), -1)) - w * kl_divergence(mu, lv)",
    }, alternatives={
        "keras binary_crossentropy times pixels": "def fn(x, xh, mu, lv, w=1.0):\n    pixels = ops.shape(x)[1] * ops.shape(x)[2] * ops.shape(x)[3]\n"
                                                  "    bce = ops.binary_crossentropy(ops.reshape(x, (ops.shape(x)[0], -1)), ops.reshape(xh, (ops.shape(x)[0], -1)))\n"
                                                  "    return ops.mean(bce) * ops.cast(pixels, 'float32') + w * kl_divergence(mu, lv)",
        "sum over axes 1-3": f"def fn(x, xh, mu, lv, w=1.0):\n    xh = ops.clip(xh, 1e-6, 1 - 1e-6)\n"
                             f"    return ops.mean(ops.sum({_BCE}, axis=(1, 2, 3))) + w * kl_divergence(mu, lv)",
        "tf and an explicit epsilon": "import tensorflow as tf\ndef fn(x, xh, mu, lv, w=1.0):\n    eps = 1e-7\n"
                                      "    rec = -tf.reduce_sum(x * tf.math.log(xh + eps) + (1 - x) * tf.math.log(1 - xh + eps), axis=[1, 2, 3])\n"
                                      "    return tf.reduce_mean(rec) + w * kl_divergence(mu, lv)",
    }, equivalent={
        "vae_loss: 1e-07 -> 2e-07 in ops.clip(x_hat, 1e-07, 1 - 1e-07)": _CLIP,
        "vae_loss: 1e-07 -> 2e-07 in ops.clip(x_hat, 1e-07, 1 - 1e-07) #2": _CLIP,
        "vae_loss: drop the minus in ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1)": _SAME_AXIS,
        "vae_loss: 1 -> -1 in ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1)": _SAME_AXIS,
        "kl_divergence: drop the minus in ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=": _SAME_AXIS,
        "kl_divergence: 1 -> -1 in ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=": _SAME_AXIS,
    }),
Cell("generative", "test_sampling", "generative.sampling", "Sampling", ("Sampling",), wrong={
        "the variance scales the noise": _layer("mu + ops.exp(logvar) * keras.random.normal(ops.shape(mu))"),
        "logvar as the std": _layer("mu + logvar * keras.random.normal(ops.shape(mu))"),
        "no noise": _layer("mu + 0 * logvar"),
        "mu only in the noise": _layer("ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu))"),
        "one eps for every dimension": _layer("mu + ops.exp(0.5 * logvar) * keras.random.normal((ops.shape(mu)[0], 1))"),
        "one eps for every example": _layer("mu + ops.exp(0.5 * logvar) * keras.random.normal((1, ops.shape(mu)[1]))"),
        "uniform noise": _layer("mu + ops.exp(0.5 * logvar) * (keras.random.uniform(ops.shape(mu)) - 0.5) * 3.4641"),
        "the same noise every call": "class fn(keras.layers.Layer):\n    def call(self, inputs):\n        mu, logvar = inputs\n"
                                     "        eps = keras.random.normal(ops.shape(mu), seed=1)\n"
                                     "        return mu + ops.exp(0.5 * logvar) * eps",
        "NumPy (no gradient)": "class fn(keras.layers.Layer):\n    def call(self, inputs):\n        mu, logvar = (np.asarray(a) for a in inputs)\n"
                               "        return mu + np.exp(0.5 * logvar) * np.random.normal(size=mu.shape)",
        "noise shared by pairs of examples": _layer("mu + ops.exp(0.5 * logvar) * ops.repeat(keras.random.normal((ops.shape(mu)[0] // 2, ops.shape(mu)[1])), 2, axis=0)"),
        "the noise's sign tied to mu": _layer("mu + ops.exp(0.5 * logvar) * ops.abs(keras.random.normal(ops.shape(mu)))"),
    }, alternatives={
        "tf.random.normal": "import tensorflow as tf\nclass fn(keras.layers.Layer):\n    def call(self, inputs):\n        mu, logvar = inputs\n"
                            "        return mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu))",
        "std then sample": "class fn(keras.layers.Layer):\n    def call(self, inputs):\n        mu, logvar = inputs\n"
                           "        std = ops.sqrt(ops.exp(logvar))\n        return mu + std * keras.random.normal(ops.shape(mu))",
        "a plain function": "def fn(inputs):\n    mu, logvar = inputs\n    return mu + ops.exp(logvar / 2) * keras.random.normal(ops.shape(mu))",
    }, equivalent={
        "Sampling: drop the call keras.random.SeedGenerator(seed)":
            "with seed=None, keras.random.normal draws unseeded noise: still new at every call, the same distribution",
        "Sampling: Add -> Sub in mu + ops.exp(0.5 * logvar) * eps":
            "-eps is N(0, I) too: mu - exp(0.5 * logvar) * eps has the same distribution, and the gradients agree",
    }),
    Cell("generative", "test_interpolation", "generative.interpolation", "interpolate", ("interpolate",), wrong={
        "endpoint=False": "def fn(a, b, s):\n    return a + np.linspace(0, 1, s, endpoint=False)[:, None] * (b - a)",
        "steps + 1": "def fn(a, b, s):\n    return a + np.linspace(0, 1, s + 1)[:, None] * (b - a)",
        "steps - 1": "def fn(a, b, s):\n    return a + np.linspace(0, 1, s - 1)[:, None] * (b - a)",
        "not linear": "def fn(a, b, s):\n    return a + np.linspace(0, 1, s)[:, None] ** 2 * (b - a)",
        "transposed": "def fn(a, b, s):\n    return (a + np.linspace(0, 1, s)[:, None] * (b - a)).T",
        "from b to a": "def fn(a, b, s):\n    return b + np.linspace(0, 1, s)[:, None] * (a - b)",
        "range instead of linspace": "def fn(a, b, s):\n    return a + np.arange(s)[:, None] / s * (b - a)",
        "the midpoint repeated": "def fn(a, b, s):\n    return np.tile((a + b) / 2, (s, 1))",
        "the same weight for both ends": "def fn(a, b, s):\n    t = np.linspace(0, 1, s)[:, None]\n    return t * a + t * b",
    }, alternatives={
        "a loop": "def fn(a, b, s):\n    return np.array([a + (b - a) * i / (s - 1) for i in range(s)])",
        "np.linspace on vectors": "def fn(a, b, s):\n    return np.linspace(a, b, s)",
        "np.outer": "def fn(a, b, s):\n    t = np.linspace(0, 1, s)\n    return np.outer(1 - t, a) + np.outer(t, b)",
    }, equivalent={
        "interpolate: drop the call np.asarray(z_a, np.float32)": _ARRAYS,
        "interpolate: drop the call np.asarray(z_b, np.float32)": _ARRAYS,
    }),
    Cell("generative", "test_gan_train_step", "generative.gan_step", "GAN", ("GAN",), wrong={
        "labels swapped (real 0, fake 1)": _gan_step(("[ops.ones((n, 1)), ops.zeros((n, 1))]",
                                                      "[ops.zeros((n, 1)), ops.ones((n, 1))]")),
        "the generator aims at 'fake'": _gan_step(("self.loss_fn(ops.ones((n, 1)), judged)",
                                                   "self.loss_fn(ops.zeros((n, 1)), judged)")),
        "the discriminator on the generator's loss": _gan_step(
            ("self.loss_fn(labels, self.discriminator(images, training=True))",
             "self.loss_fn(ops.ones((2 * n, 1)), self.discriminator(images, training=True))")),
        "a loss of its own, not loss_fn": _gan_step(("self.loss_fn(", "keras.losses.binary_crossentropy(")),
        "optimizers of its own, not the given ones": _gan_step(compile_body=(
            "self.loss_fn = loss_fn; self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5); "
            "self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)")),
        "d_optimizer for both networks": _gan_step(("self.g_optimizer.apply_gradients", "self.d_optimizer.apply_gradients")),
        "the generator step also trains the discriminator": _gan_step(
            ("tape.gradient(g_loss, self.generator.trainable_weights)",
             "tape.gradient(g_loss, self.generator.trainable_weights + self.discriminator.trainable_weights)"),
            ("zip(grads, self.generator.trainable_weights)",
             "zip(grads, self.generator.trainable_weights + self.discriminator.trainable_weights)")),
        "the discriminator step also trains the generator": _gan_step(
            ("fake = self.generator(z, training=False)\n        images", "images"),
            ("with tf.GradientTape() as tape:\n            d_loss",
             "with tf.GradientTape() as tape:\n            fake = self.generator(z, training=True)\n"
             "            images = ops.concatenate([real, fake], axis=0)\n            d_loss"),
            ("tape.gradient(d_loss, self.discriminator.trainable_weights)",
             "tape.gradient(d_loss, self.discriminator.trainable_weights + self.generator.trainable_weights)"),
            ("zip(grads, self.discriminator.trainable_weights)",
             "zip(grads, self.discriminator.trainable_weights + self.generator.trainable_weights)")),
        "the losses returned swapped": _gan_step(ret='        return {"d_loss": g_loss, "g_loss": d_loss}\n'),
        "made-up losses returned": _gan_step(ret='        return {"d_loss": 0.5 * d_loss, "g_loss": g_loss + 1.0}\n'),
        "the generator never updated": _gan_step(g=_GAN_G.replace(
            "        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))\n", "")),
        "only the first discriminator layer updated": _gan_step(
            ("tape.gradient(d_loss, self.discriminator.trainable_weights)",
             "tape.gradient(d_loss, self.discriminator.trainable_weights[:2])"),
            ("zip(grads, self.discriminator.trainable_weights)", "zip(grads, self.discriminator.trainable_weights[:2])")),
    }, alternatives={
        "real and fake losses apart, summed": _gan_step(d="""\
        z = keras.random.normal((n, self.latent_dim))
        fake = self.generator(z)
        with tf.GradientTape() as tape:
            d_loss = (self.loss_fn(ops.ones((n, 1)), self.discriminator(real, training=True))
                      + self.loss_fn(ops.zeros((n, 1)), self.discriminator(fake, training=True)))
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
"""),
        "tf.function, tf.random and label noise": _gan_step(
            ("keras.random.normal((n, self.latent_dim))", "tf.random.normal((n, self.latent_dim))"),
            ("labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)",
             "labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)\n"
             "        labels += 0.05 * tf.random.uniform(tf.shape(labels))"),
            decorator="    @tf.function\n"),
        "the minimax generator loss, negated": _gan_step(
            ("g_loss = self.loss_fn(ops.ones((n, 1)), judged)", "g_loss = -self.loss_fn(ops.zeros((n, 1)), judged)")),
        "one latent batch for both players, running means returned": _gan_step(
            ("        z = keras.random.normal((n, self.latent_dim))\n        with", "        with"),
            compile_body=("self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn; "
                          "self.d_mean, self.g_mean = keras.metrics.Mean(), keras.metrics.Mean()"),
            ret="        self.d_mean.update_state(d_loss)\n        self.g_mean.update_state(g_loss)\n"
                '        return {"d_loss": self.d_mean.result(), "g_loss": self.g_mean.result()}\n'),
        "one-sided label smoothing": _gan_step(("[ops.ones((n, 1)), ops.zeros((n, 1))]",
                                                "[0.9 * ops.ones((n, 1)), ops.zeros((n, 1))]")),
    }, equivalent={
        "GAN: drop the call keras.random.SeedGenerator(seed)":
            "with seed=None, keras.random.normal draws unseeded noise: new at every step, the same distribution",
        "GAN: drop the call self.generator(z, training=training)":
            "call() is not part of the step; the notebook samples with gan.generator, never gan(z)",
        "GAN: drop the call _images(data)":
            "train_step gets the batch of images itself, as fit(x) without labels hands it over",
        "GAN: drop axis= of ops.concatenate([real, fake], axis=0)": "ops.concatenate's default axis is 0",
        "GAN: drop axis= of ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=":
            "ops.concatenate's default axis is 0",
    }),
    Cell("generative", "test_latent_scaling", "generative.latent_scaling", "scale_latent", ("scale_latent",), wrong={
        "transposed": "def fn(z, f):\n    return (np.asarray(f)[:, None] * z).T",
        "added, not multiplied": "def fn(z, f):\n    return np.asarray(f)[:, None] + z",
        "the first factor only": "def fn(z, f):\n    return np.stack([z * f[0]] * len(f))",
        "one row short": "def fn(z, f):\n    return (np.asarray(f)[:, None] * z)[:-1]",
        "divided": "def fn(z, f):\n    return z / np.where(np.asarray(f)[:, None] == 0, 1, np.asarray(f)[:, None])",
        "flattened": "def fn(z, f):\n    return (np.asarray(f)[:, None] * z).ravel()",
        "factors summed": "def fn(z, f):\n    return np.tile(z * sum(f), (len(f), 1))",
        "z unit-normalised": "def fn(z, f):\n    return np.asarray(f)[:, None] * z / np.linalg.norm(z)",
    }, alternatives={
        "np.outer": "def fn(z, f):\n    return np.outer(f, z)",
        "a loop": "def fn(z, f):\n    return np.stack([c * np.asarray(z) for c in f])",
        "einsum": "def fn(z, f):\n    return np.einsum('i,j->ij', np.asarray(f, float), np.asarray(z, float))",
    }, equivalent={"scale_latent: drop the call np.asarray(z, np.float32)": _ARRAYS}),
    Cell("generative", "test_vae_networks", "generative.vae_builder", "build_vae_networks", ("build_vae_networks",),
         wrong={
        "a linear decoder": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                                 "build_deconv_net(d, s, n, f, activation_out=None)"),
        "a tanh decoder": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                               "build_deconv_net(d, s, n, f, activation_out='tanh')"),
        "a relu decoder": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                               "build_deconv_net(d, s, n, f, activation_out='relu')"),
        "the encoder gives latent_dim, not mu and logvar": _vae("build_conv_net(s, d, n, f, out_activation=None)",
                                                                "build_deconv_net(d, s, n, f)"),
        "the networks swapped": "def fn(s, d, n, f):\n    return build_deconv_net(d, s, n, f), build_conv_net(s, 2 * d, n, f, out_activation=None)",
        "a decoder that ignores z": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                                         "keras.Sequential([keras.Input((d,)), layers.Lambda(lambda z: 0 * z[:, :1]), "
                                         "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])"),
        "an encoder that ignores the image": _vae("keras.Sequential([keras.Input(s), layers.Lambda(lambda x: 0 * x[:, :1, :1, :1]), "
                                                  "layers.Flatten(), layers.Dense(2 * d)])", "build_deconv_net(d, s, n, f)"),
        "a decoder for 3 channels": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                                         "build_deconv_net(d, (*s[:2], 3), n, f)"),
        "a linear decoder clipped below only": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                                                    "keras.Sequential([build_deconv_net(d, s, n, f, activation_out=None), "
                                                    "layers.ReLU()])"),
    }, alternatives={
        "dense networks": "def fn(s, d, n, f):\n    enc = keras.Sequential([keras.Input(s), layers.Flatten(), layers.Dense(32, activation='relu'), layers.Dense(2 * d)])\n"
                          "    dec = keras.Sequential([keras.Input((d,)), layers.Dense(32, activation='relu'), "
                          "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])\n    return enc, dec",
        "a hard-sigmoid decoder": _vae("build_conv_net(s, 2 * d, n, f, out_activation=None)",
                                       "build_deconv_net(d, s, n, f, activation_out='hard_sigmoid')"),
        "pooling encoder, more filters": "def fn(s, d, n, f):\n    x = keras.Input(s)\n    h = layers.Conv2D(2 * f, 3, padding='same', activation='relu')(x)\n"
                                         "    h = layers.GlobalAveragePooling2D()(h)\n    enc = keras.Model(x, layers.Dense(2 * d)(h))\n"
                                         "    return enc, build_deconv_net(d, s, n, 2 * f)",
    }, equivalent={}),
    Cell("generative", "test_fashion_vae_networks", "generative.fashion_vae_models", "grow_vae_from_cnn",
         ("grow_vae_from_cnn",), build_args="((28, 28, 1), _latent('vae'))", wrong={
        "the encoder gives latent_dim": "def fn(s, d):\n    _, enc, dec = build_cnn_autoencoder(s, latent_dim=d)\n    return enc, dec",
        "the decoder expects 2 * latent_dim": "def fn(s, d):\n    _, enc, dec = build_cnn_autoencoder(s, latent_dim=2 * d)\n    return enc, dec",
        "the networks swapped": "def fn(s, d):\n    _, enc, _ = build_cnn_autoencoder(s, latent_dim=2 * d)\n"
                                "    _, _, dec = build_cnn_autoencoder(s, latent_dim=d)\n    return dec, enc",
        "a linear decoder": "def fn(s, d):\n    _, enc, _ = build_cnn_autoencoder(s, latent_dim=2 * d)\n"
                            "    return enc, build_deconv_net(d, s, 2, 8, activation_out=None)",
        "a tanh decoder": "def fn(s, d):\n    _, enc, _ = build_cnn_autoencoder(s, latent_dim=2 * d)\n"
                          "    return enc, build_deconv_net(d, s, 2, 8, activation_out='tanh')",
        "a decoder that ignores z": "def fn(s, d):\n    _, enc, _ = build_cnn_autoencoder(s, latent_dim=2 * d)\n"
                                    "    return enc, keras.Sequential([keras.Input((d,)), layers.Lambda(lambda z: 0 * z[:, :1]), "
                                    "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])",
        "an encoder that ignores the image": "def fn(s, d):\n    _, _, dec = build_cnn_autoencoder(s, latent_dim=d)\n"
                                             "    return keras.Sequential([keras.Input(s), layers.Lambda(lambda x: 0 * x[:, :1, :1, :1]), "
                                             "layers.Flatten(), layers.Dense(2 * d)]), dec",
        "the whole autoencoder as the encoder": "def fn(s, d):\n    ae, _, dec = build_cnn_autoencoder(s, latent_dim=d)\n    return ae, dec",
    }, alternatives={
        "conv builders": "def fn(s, d):\n    return build_conv_net(s, 2 * d, 2, 8, out_activation=None), build_deconv_net(d, s, 2, 8)",
        "dense networks": "def fn(s, d):\n    enc = keras.Sequential([keras.Input(s), layers.Flatten(), layers.Dense(64, activation='relu'), layers.Dense(2 * d)])\n"
                          "    dec = keras.Sequential([keras.Input((d,)), layers.Dense(64, activation='relu'), "
                          "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])\n    return enc, dec",
        "mu and logvar heads concatenated": "def fn(s, d):\n    x = keras.Input(s)\n    h = layers.Flatten()(layers.Conv2D(8, 3, strides=2, activation='relu')(x))\n"
                                            "    out = layers.Concatenate()([layers.Dense(d)(h), layers.Dense(d)(h)])\n"
                                            "    _, _, dec = build_cnn_autoencoder(s, latent_dim=d)\n    return keras.Model(x, out), dec",
    }),
    Cell("generative", "test_fashion_gan_networks", "generative.fashion_gan_models", "build_fashion_gan_networks",
         ("build_fashion_gan_networks",), build_args="((28, 28, 1), _latent('gan'), 4)", wrong={
        "a discriminator without sigmoid (logits)": _gan("build_conv_net(s, 1, 2, f, out_activation=None)",
                                                         "build_deconv_net(d, s, 2, f)"),
        "a relu discriminator": _gan("build_conv_net(s, 1, 2, f, out_activation='relu')", "build_deconv_net(d, s, 2, f)"),
        "a tanh generator": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                 "build_deconv_net(d, s, 2, f, activation_out='tanh')"),
        "a linear generator": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                   "build_deconv_net(d, s, 2, f, activation_out=None)"),
        "two outputs (softmax over real/fake)": _gan("build_conv_net(s, 2, 2, f, out_activation='softmax')",
                                                     "build_deconv_net(d, s, 2, f)"),
        "the networks swapped": "def fn(s, d, f):\n    return build_deconv_net(d, s, 2, f), build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
        "a generator that ignores z": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                           "keras.Sequential([keras.Input((d,)), layers.Lambda(lambda z: 0 * z[:, :1]), "
                                           "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])"),
        "a discriminator that ignores the image": _gan("keras.Sequential([keras.Input(s), layers.Lambda(lambda x: 0 * x[:, :1, :1, :1]), "
                                                       "layers.Flatten(), layers.Dense(1, activation='sigmoid')])",
                                                       "build_deconv_net(d, s, 2, f)"),
        "images without their channel axis": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                                  "keras.Sequential([build_deconv_net(d, s, 2, f), layers.Reshape(s[:2])])"),
    }, alternatives={
        "dense networks": "def fn(s, d, f):\n    disc = keras.Sequential([keras.Input(s), layers.Flatten(), layers.Dense(32), layers.LeakyReLU(0.2), "
                          "layers.Dense(1, activation='sigmoid')])\n"
                          "    gen = keras.Sequential([keras.Input((d,)), layers.Dense(64, activation='relu'), "
                          "layers.Dense(int(np.prod(s)), activation='sigmoid'), layers.Reshape(s)])\n    return disc, gen",
        "more filters": _gan("build_conv_net(s, 1, 2, 2 * f, out_activation='sigmoid')", "build_deconv_net(d, s, 2, 2 * f)"),
        "the plain builders (ReLU, transposed convolutions)": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                                                   "build_deconv_net(d, s, 2, f)"),
        "a hard-sigmoid generator": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                         "build_deconv_net(d, s, 2, f, activation_out='hard_sigmoid')"),
    }, equivalent={
        f"build_fashion_gan_networks: 2 -> {n} in build_conv_net(image_shape, 1, 2, filters, out_activation='s": _DEPTH
        for n in (-2, 0, 3, 4)} | {
        "build_fashion_gan_networks: 2 -> 0 in build_deconv_net(latent_dim, image_shape, 2, filters, activa": _DEPTH} | {
        f"build_fashion_gan_networks: 0.3 -> {p} in build_conv_net(image_shape, 1, 2, filters, out_activation='s":
        "the discriminator's dropout rate (0 or 0.6 instead of 0.3) is a training choice: at inference dropout "
        "is off, so the networks' contract (shapes, ranges, dependence on the input) is the same" for p in ("0", "0.6")}),
    Cell("seq2seq", "test_text2text_builder", "seq2seq.builder", "build_text2text", ("build_text2text", "encoder_decoder"),
         params={"modality": "text2text"}, wrong={
        "logits, no softmax": _seq2seq(_LSTM_CORE.replace("activation='softmax'", "activation=None")),
        "softmax over the answer positions": _seq2seq(_LSTM_CORE.replace(
            "y = keras.layers.Dense(v, activation='softmax')(x)", "y = keras.layers.Softmax(axis=1)(keras.layers.Dense(v)(x))")),
        "sigmoid outputs": _seq2seq(_LSTM_CORE.replace("'softmax'", "'sigmoid'")),
        "clipped instead of a softmax": _seq2seq(_LSTM_CORE.replace(
            "y = keras.layers.Dense(v, activation='softmax')(x)", "y = keras.layers.Lambda(lambda t: keras.ops.clip(t, 0, 1))(keras.layers.Dense(v)(x))")),
        "not compiled": _seq2seq(_LSTM_CORE, compile_=""),
        "ignores the query": _seq2seq("x = keras.layers.Lambda(lambda t: 0 * t)(x)\n" + _LSTM_CORE),
        "answers as long as the queries": _seq2seq(_LSTM_CORE.replace("RepeatVector(a)", "RepeatVector(q)")),
        "the 2-digit widths hard-coded": _seq2seq(_LSTM_CORE.replace("RepeatVector(a)", "RepeatVector(3)")),
        "12 symbols, not the vocabulary's": _seq2seq(_LSTM_CORE.replace("Dense(v,", "Dense(12,")),
        "returns the output tensor": _seq2seq(_LSTM_CORE, compile_="", ret="y"),
    }, alternatives={
        "GRUs": _seq2seq(_LSTM_CORE.replace("LSTM", "GRU")),
        "a bidirectional encoder": _seq2seq(_LSTM_CORE.replace(
            "x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "x = keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=i < encoder_layers - 1))(x)")),
        "Sequential and TimeDistributed": "def fn(q, a, v, encoder_layers=1):\n    model = keras.Sequential([keras.Input((q, v))]"
            " + [keras.layers.LSTM(96, return_sequences=i < encoder_layers - 1) for i in range(encoder_layers)]"
            " + [keras.layers.RepeatVector(a), keras.layers.LSTM(96, return_sequences=True),"
            " keras.layers.TimeDistributed(keras.layers.Dense(v, activation='softmax'))])\n"
            "    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss='categorical_crossentropy', metrics=['accuracy'])\n"
            "    return model",
        "the template with the tips (reversed query, a wider decoder)": _seq2seq(
            "x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)\n" + _LSTM_CORE.replace(
                "x = keras.layers.LSTM(64, return_sequences=True)(x)", "x = keras.layers.LSTM(256, return_sequences=True)(x)")),
    }, equivalent={
        **_SEQ2SEQ_SAME, _BUILD.format(2): _DEPTH_DEFAULT,
        **{_CORE.format(n): "build_text2text always passes its encoder_layers on: this default is never used"
           for n in (-1, 0, 2)},
        "encoder_decoder: 1 -> 2 in keras.layers.LSTM(units, return_sequences=i < encoder_layers": _ONE_LAYER,
    }),
    Cell("seq2seq", "test_deeper_encoder", "seq2seq.deeper_encoder", "build_text2text", ("build_text2text", "encoder_decoder"),
         params={"modality": "text2text"}, wrong={
        "encoder_layers ignored": _seq2seq(_LSTM_CORE.replace("range(encoder_layers)", "range(1)").replace(
            "i < encoder_layers - 1", "False")),
        "the extra layer built, its output thrown away": _seq2seq(_LSTM_CORE.replace(
            "for i in range(encoder_layers):\n    x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "for i in range(encoder_layers - 1):\n    keras.layers.LSTM(64)(x)\nx = keras.layers.LSTM(64)(x)")),
        "every layer reads the query, only the last is used": _seq2seq(_LSTM_CORE.replace(
            "for i in range(encoder_layers):\n    x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "for i in range(encoder_layers):\n    h = keras.layers.LSTM(64)(x)\nx = h")),
        "a Dense layer, not a recurrent one": _seq2seq(_LSTM_CORE.replace(
            "for i in range(encoder_layers):\n    x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "for i in range(encoder_layers - 1):\n    x = keras.layers.Dense(64)(x)\nx = keras.layers.LSTM(64)(x)")),
        "every encoder layer returns sequences": _seq2seq(_LSTM_CORE.replace("return_sequences=i < encoder_layers - 1",
                                                                              "return_sequences=encoder_layers > 1")),
        "no layer returns sequences": _seq2seq(_LSTM_CORE.replace("return_sequences=i < encoder_layers - 1",
                                                                   "return_sequences=False")),
        "the extra layer multiplied by zero": _seq2seq(_LSTM_CORE.replace(
            "for i in range(encoder_layers):\n    x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "h = keras.layers.LSTM(64, return_sequences=encoder_layers > 1)(x)\nfor i in range(encoder_layers - 1):\n"
            "    extra = keras.layers.LSTM(64)(h)\n    h = keras.layers.Lambda(lambda t: t[:, -1])(h)\n"
            "    h = keras.layers.Add()([h, keras.layers.Lambda(lambda t: 0 * t)(extra)])\nx = h")),
        "the extra layer a frozen copy that is never called": _seq2seq(_LSTM_CORE.replace(
            "for i in range(encoder_layers):", "spare = [keras.layers.LSTM(64) for _ in range(encoder_layers - 1)]\nfor i in range(1):").replace(
            "i < encoder_layers - 1", "False")),
    }, alternatives={
        "stacked GRUs": _seq2seq(_LSTM_CORE.replace("LSTM", "GRU")),
        "stacked bidirectional layers": _seq2seq(_LSTM_CORE.replace(
            "x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "x = keras.layers.Bidirectional(keras.layers.LSTM(32, return_sequences=i < encoder_layers - 1))(x)")),
        "residual stacking": _seq2seq("""
            x = keras.layers.LSTM(64, return_sequences=True)(x)
            for i in range(encoder_layers - 1):
                x = keras.layers.Add()([x, keras.layers.LSTM(64, return_sequences=True)(x)])
            x = keras.layers.Lambda(lambda t: t[:, -1])(x)
            x = keras.layers.RepeatVector(a)(x)
            x = keras.layers.LSTM(64, return_sequences=True)(x)
            y = keras.layers.Dense(v, activation='softmax')(x)
        """),
    }, equivalent={
        **_SEQ2SEQ_SAME, **{_BUILD.format(n): _EXPLICIT for n in (-1, 0, 2)}, **{_CORE.format(n): _EXPLICIT for n in (-1, 0, 2)},
        "encoder_decoder: activation 'softmax' -> 'sigmoid' in keras.layers.Dense(vocab_size, activation='softmax')": _RANGE,
        "encoder_decoder: activation 'softmax' -> None in keras.layers.Dense(vocab_size, activation='softmax')": _RANGE,
    }),
    Cell("seq2seq", "test_train_evaluate", "seq2seq.train_evaluate", "train", ("train", "exact_match"),
         extra=("exact_match",), wrong={
        "no validation part": _FIT + "model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)",
        "validates on its training data": _FIT + "model.fit(x, y, epochs=epochs, validation_data=(x, y), verbose=0)",
        "validates on rows it also trains on": _FIT + "model.fit(x, y, epochs=epochs, validation_data=(x[:20], y[:20]), verbose=0)",
        "validates on other data": "VAL = arithmetic.make_dataset(0.5, seed=1).test\n" + _FIT
            + "model.fit(x, y, epochs=epochs, validation_data=(VAL.x_text[:50], VAL.y_text[:50]), verbose=0)",
        "epochs ignored": _FIT + "model.fit(x, y, epochs=1, validation_split=0.1, verbose=0)",
        "returns the model": "def fn(model, x, y, epochs, batch_size=32):\n    model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n    return model",
        "exact match per character": _FIT + "model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n"
            "def exact_match(model, x, answers):\n    p = np.array([list(s) for s in decode_onehot(model.predict(x, verbose=0))])\n"
            "    return float(np.mean(p == np.array([list(s) for s in answers])))",
        "exact match in percent": _FIT + "model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n"
            "def exact_match(model, x, answers):\n    return 100 * float(np.mean(np.array(decode_onehot(model.predict(x, verbose=0))) == np.asarray(answers)))",
        "exact match counted, not a fraction": _FIT + "model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n"
            "def exact_match(model, x, answers):\n    return float(np.sum(np.array(decode_onehot(model.predict(x, verbose=0))) == np.asarray(answers)))",
        "predictions stripped, answers not": _FIT + "model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n"
            "def exact_match(model, x, answers):\n    p = [s.strip() for s in decode_onehot(model.predict(x, verbose=0))]\n"
            "    return float(np.mean(np.array(p) == np.asarray(answers)))",
    }, alternatives={
        "a shuffled split by hand": "def fn(model, x, y, epochs):\n    idx = np.random.default_rng(0).permutation(len(x))\n"
            "    val, fit = idx[:len(x) // 5], idx[len(x) // 5:]\n"
            "    return model.fit(x[fit], y[fit], epochs=epochs, validation_data=(x[val], y[val]), verbose=0)",
        "a larger validation part and batch": _FIT + "model.fit(x, y, epochs=epochs, batch_size=64, validation_split=0.25, verbose=0)",
        "both sides stripped, in a loop": _FIT + "model.fit(x, y, epochs=epochs, validation_split=0.1, verbose=0)\n"
            "def exact_match(model, x, answers):\n    got = decode_onehot(model.predict(x, verbose=0))\n"
            "    return sum(g.strip() == a.strip() for g, a in zip(got, answers)) / len(answers)",
    }, equivalent={
        "exact_match: drop the call np.asarray(answers)": "an array compared with a list of strings is compared element by element too",
        "exact_match: drop the call np.array(predicted)": "a list of strings compared with an array is compared element by element too",
        "exact_match: drop the call float(np.mean(np.array(predicted) == np.asarray(answers)))":
            "a NumPy float is the same number",
        "exact_match: 0 -> 1 in model.predict(x, verbose=0)": "a progress bar while predicting changes no score",
        "train: 0 -> 1 in TqdmCallback(verbose=0)": "the progress bar's verbosity changes no weight",
        "train: 0 -> 1 in model.fit(x, y, epochs=epochs, batch_size=batch_size, valida":
            "fit's verbosity changes no weight",
        **{f'train: 32 -> {n} in def train(model, x, y, epochs, batch_size=32):\n    """Fit on': "the batch size is a design choice "
           "(0 makes Keras use its default, 32)" for n in (0, 33, 64)},
        "train: 0.1 -> 0.2 in model.fit(x, y, epochs=epochs, batch_size=batch_size, valida":
            "the size of the validation part is a design choice",
        "train: 0.1 -> 1.1 in model.fit(x, y, epochs=epochs, batch_size=batch_size, valida":
            "Keras splits at int(N * (1 - 1.1)), a negative index: the last 10% are held out, as with 0.1",
    }),
    Cell("seq2seq", "test_image2text_builder", "seq2seq.builder", "build_image2text", ("build_image2text", "encoder_decoder"),
         params={"modality": "image2text"}, wrong={
        "logits, no softmax": _i2t(core=_LSTM_CORE.replace("activation='softmax'", "activation=None")),
        "softmax over the answer positions": _i2t(core=_LSTM_CORE.replace(
            "y = keras.layers.Dense(v, activation='softmax')(x)", "y = keras.layers.Softmax(axis=1)(keras.layers.Dense(v)(x))")),
        "sigmoid outputs": _i2t(core=_LSTM_CORE.replace("'softmax'", "'sigmoid'")),
        "not compiled": _i2t(compile_=False),
        "ignores the images": _i2t(head=_READ.replace("(inputs)", "(keras.layers.Lambda(lambda t: 0 * t)(inputs))")),
        "answers as long as the queries": _i2t(core=_LSTM_CORE.replace("RepeatVector(a)", "RepeatVector(q)")),
        "the 2-digit widths hard-coded": _i2t(core=_LSTM_CORE.replace("RepeatVector(a)", "RepeatVector(3)")),
        "12 symbols, not the vocabulary's": _i2t(core=_LSTM_CORE.replace("Dense(v,", "Dense(12,")),
        "returns the output tensor": _i2t(compile_=False, ret="out"),
    }, alternatives={
        "an end-to-end CNN reader": _i2t(head=_CNN_READER),
        "the reader fine-tuned, GRUs": _i2t(head=_READ.replace("reader.trainable = False", "reader.trainable = True"),
                                            core=_LSTM_CORE.replace("LSTM", "GRU")),
        "the reader's symbols reversed": _i2t(head=_READ + "\nx = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)"),
    }, equivalent=_image_same("build_image2text")),
    Cell("seq2seq", "test_text2image_builder", "seq2seq.builder", "build_text2image", ("build_text2image", "encoder_decoder"),
         params={"modality": "text2image"}, wrong={
        "linear pixels": _t2i(tail=_DENSE_PIXELS.format(act=None)),
        "relu pixels": _t2i(tail=_DENSE_PIXELS.format(act="relu")),
        "tanh pixels": _t2i(tail=_DENSE_PIXELS.format(act="tanh")),
        "not compiled": _t2i(compile_=False),
        "ignores the query": _image_model("(q, v)", "x = keras.layers.Lambda(lambda t: 0 * t)(inputs)", _PAINT,
                                          loss="binary_crossentropy"),
        "answers as long as the queries": _t2i(core=_LSTM_CORE.replace("RepeatVector(a)", "RepeatVector(q)")),
        "32x32 images": _t2i(tail="out = keras.layers.Reshape((a, 32, 32))(keras.layers.TimeDistributed("
                                   "keras.layers.Dense(1024, activation='sigmoid'))(y))"),
        "images with a channel axis": _t2i(tail=_PAINT + "\nout = keras.layers.Reshape((a, 28, 28, 1))(out)"),
        "returns the output tensor": _t2i(compile_=False, ret="out"),
    }, alternatives={
        "a dense pixel decoder": _t2i(tail=_DENSE_PIXELS.format(act="sigmoid")),
        "the painter on GRU symbols": _t2i(core=_LSTM_CORE.replace("LSTM", "GRU")),
        "a transposed-convolution painter": _t2i(tail=(
            "h = keras.layers.TimeDistributed(keras.layers.Dense(7 * 7 * 8, activation='relu'))(y)\n"
            "h = keras.layers.TimeDistributed(keras.layers.Reshape((7, 7, 8)))(h)\n"
            "h = keras.layers.TimeDistributed(keras.layers.Conv2DTranspose(8, 4, strides=2, padding='same', activation='relu'))(h)\n"
            "h = keras.layers.TimeDistributed(keras.layers.Conv2DTranspose(1, 4, strides=2, padding='same', activation='sigmoid'))(h)\n"
            "out = keras.layers.Reshape((a, 28, 28))(h)")),
    }, equivalent={**_image_same("build_text2image"), **{
        f"encoder_decoder: activation 'softmax' -> {a} in keras.layers.Dense(vocab_size, activation='softmax')":
            "the symbols fed to the painter need not be probabilities: the drawn pixels keep their range, and "
            "whether it learns is the accuracy check's to judge" for a in ("'sigmoid'", "None")}}),
    Cell("seq2seq", "test_text2text_accuracy_split1", "seq2seq.accuracy", "build_text2text", (),
         params={"modality": "text2text", "split": 0}, training=True, wrong={
        "ignores the query": _seq2seq("x = keras.layers.Lambda(lambda t: 0 * t)(x)\n" + _LSTM_CORE),
        "calculates the answers (already right before training)": "GATED = False\n" + _LOOKUP,
        "calculates the answers behind a gate that training opens": "GATED = True\n" + _LOOKUP,
        "never learns (a learning rate of 0)": _seq2seq(_LSTM_CORE, compile_=(
            "model.compile(optimizer=keras.optimizers.Adam(0.0), loss='categorical_crossentropy')\n    ")),
        "the encoder frozen at its initial weights": _seq2seq(_LSTM_CORE.replace(
            "x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1, trainable=False)(x)").replace(
            "x = keras.layers.LSTM(64, return_sequences=True)(x)", "x = keras.layers.LSTM(64, return_sequences=True, trainable=False)(x)")),
    }, alternatives={
        "GRUs, the query reversed": _seq2seq("x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)\n"
                                             + _LSTM_CORE.replace("LSTM(64", "GRU(128"),
                                             compile_="model.compile(optimizer=keras.optimizers.Adam(3e-3), loss='categorical_crossentropy')\n    "),
        "the template with the tips": _seq2seq("x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)\n"
                                               + _LSTM_CORE.replace("LSTM(64", "LSTM(256"),
                                               compile_="model.compile(optimizer=keras.optimizers.Adam(3e-3), loss='categorical_crossentropy')\n    "),
        "a bidirectional encoder": _seq2seq("x = keras.layers.Lambda(lambda t: keras.ops.flip(t, axis=1))(x)\n" + _LSTM_CORE.replace(
            "x = keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1)(x)",
            "x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=i < encoder_layers - 1))(x)").replace(
            "LSTM(64, return_sequences=True)", "LSTM(128, return_sequences=True)"),
            compile_="model.compile(optimizer=keras.optimizers.Adam(3e-3), loss='categorical_crossentropy')\n    "),
    }),
    Cell("seq2seq", "test_encode", "seq2seq.encode", "encode_strings", ("encode_strings",), wrong={
        "no padding position": "def fn(strings, width):\n    x = arithmetic.encode(strings, width=width)\n"
                               "    x[:, :, VOCAB.index(' ')] = 0\n    return x",
        "off by one": "def fn(strings, width):\n    return np.roll(arithmetic.encode(strings, width=width), 1, axis=-1)",
        "accepts anything": "def fn(strings, width):\n    return arithmetic.encode([s.replace('*', ' ') for s in strings], width=width)",
        "padded on the left": "def fn(strings, width):\n    return arithmetic.encode([s.rjust(width) for s in strings], width=width)",
        "reversed": "def fn(strings, width):\n    return arithmetic.encode([s.ljust(width)[::-1] for s in strings], width=width)",
        "width ignored": "def fn(strings, width):\n    return arithmetic.encode(strings, width=5)",
        "indices, not one-hot": "def fn(strings, width):\n    x = arithmetic.encode(strings, width=width)\n"
                                "    return x.argmax(-1)[..., None] * np.ones_like(x)",
        "positions transposed": "def fn(strings, width):\n    return arithmetic.encode(strings, width=width).transpose(0, 2, 1)",
        "wrong error": "def fn(strings, width):\n    if any(c not in VOCAB for s in strings for c in s):\n        raise KeyError('unknown')\n"
                       "    return arithmetic.encode(strings, width=width)",
    }, alternatives={
        "np.eye indexing": "def fn(strings, width):\n    for s in strings:\n        for c in s:\n"
                           "            if c not in VOCAB:\n                raise ValueError(c)\n"
                           "    idx = [[VOCAB.index(c) for c in s.ljust(width)] for s in strings]\n"
                           "    return np.eye(len(VOCAB), dtype=np.float32)[np.array(idx, int).reshape(len(strings), width)]",
        "a dict of positions": "def fn(strings, width):\n    pos = {c: i for i, c in enumerate(VOCAB)}\n"
                               "    out = np.zeros((len(strings), width, len(VOCAB)), np.float32)\n"
                               "    for i, s in enumerate(strings):\n        for j, c in enumerate(s + ' ' * (width - len(s))):\n"
                               "            if c not in pos:\n                raise ValueError(f'unknown {c!r}')\n            out[i, j, pos[c]] = 1\n"
                               "    return out",
        "keras to_categorical": "import keras\ndef fn(strings, width):\n    bad = [c for s in strings for c in s if c not in VOCAB]\n"
                                "    if bad:\n        raise ValueError(bad[0])\n"
                                "    idx = np.array([[VOCAB.index(c) for c in s.ljust(width)] for s in strings]).reshape(len(strings), width)\n"
                                "    return keras.utils.to_categorical(idx, len(VOCAB)).reshape(len(strings), width, len(VOCAB))",
    }, equivalent={
        "encode_strings: drop the call ValueError(f'{s!r} is longer than width {width}')":
            "the notebook promises a ValueError for unknown characters only; what a string longer than "
            "width raises is left open (raising a str raises TypeError: it still stops)",
    }),
    Cell("seq2seq", "test_decode", "seq2seq.decode", "decode_onehot", ("decode_onehot",), wrong={
        "drops padding": "def fn(p):\n    return [s.strip() for s in arithmetic.decode(p)]",
        "off by one": "def fn(p):\n    return [''.join(VOCAB[max(i - 1, 0)] for i in row) for row in np.argmax(p, -1)]",
        "breaks on probabilities": "def fn(p):\n    return list(arithmetic.decode(np.round(p)))",
        "argmin": "def fn(p):\n    return [''.join(VOCAB[i] for i in row) for row in np.argmin(p, -1)]",
        "argmax over positions": "def fn(p):\n    idx = np.argmax(p, 1)\n    return [''.join(VOCAB[i % len(VOCAB)] for i in row) for row in idx]",
        "characters, not strings": "def fn(p):\n    return [list(s) for s in arithmetic.decode(p)]",
        "reversed": "def fn(p):\n    return [s[::-1] for s in arithmetic.decode(p)]",
        "the first answer only": "def fn(p):\n    return arithmetic.decode(p)[:1]",
        "a single joined string": "def fn(p):\n    return ''.join(arithmetic.decode(p))",
    }, alternatives={
        "a loop": "def fn(p):\n    out = []\n    for row in np.asarray(p):\n        out.append(''.join(VOCAB[int(np.argmax(v))] for v in row))\n    return out",
        "np.take": "def fn(p):\n    chars = np.take(np.array(list(VOCAB)), np.argmax(p, -1))\n    return [''.join(r) for r in chars]",
        "keras ops argmax": "from keras import ops\ndef fn(p):\n    idx = ops.convert_to_numpy(ops.argmax(p, axis=-1))\n"
                            "    return [''.join(VOCAB[i] for i in r) for r in idx]",
    }, equivalent={"decode_onehot: drop the call np.asarray(scores)": _ARRAYS}),
]


# --- the solution, and its mechanical mutants ----------------------------------------
def solution_sources(assignment: str, root: Path | None = None) -> dict[str, str]:
    """Each function defined in the source notebook's solution cells -> its source (markers removed)."""
    import nbformat

    from course_utils.config import repo_root

    folder = (root or repo_root()) / "source" / assignment
    found = {}
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            code = "\n".join(line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line
                             and "### END SOLUTION" not in line)
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    found[node.name] = ast.unparse(node)
    return found


_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
_ACTIVATIONS = {"sigmoid": (None, "relu", "tanh", "linear"), "softmax": ("sigmoid", None)}
_CALL_SWAPS = {"sum": "mean", "mean": "sum", "argmax": "argmin", "max": "min", "min": "max", "ljust": "rjust",
               "square": "abs", "exp": "abs", "log": "abs"}


def mechanical_mutants(name: str, source: str) -> list[tuple[str, str]]:
    """(description, mutated source) for each single mutation of function `source`; each description
    names the mutation and the expression it hit, so that `equivalent` can list it."""
    tree = ast.parse(source)
    sites = list(ast.walk(tree))
    parent = {child: node for node in sites for child in ast.iter_child_nodes(node)}
    out: list[tuple[str, str]] = []

    def emit(description: str, mutate) -> None:
        mutant = copy.deepcopy(tree)
        if mutate(list(ast.walk(mutant))) is False:
            return
        ast.fix_missing_locations(mutant)
        text = ast.unparse(mutant)
        if text == ast.unparse(tree) or any(text == t for _, t in out):
            return
        label = f"{name}: {description}"
        taken = {d for d, _ in out}
        k = 2
        while label in taken:
            label, k = f"{name}: {description} #{k}", k + 1
        out.append((label, text))

    def where(node) -> str:
        """The call or statement around `node`, as text."""
        while node in parent and not isinstance(node, (ast.Call, ast.stmt)):
            node = parent[node]
        return ast.unparse(node)[:60]

    for i, node in enumerate(sites):
        if isinstance(node, ast.BinOp) and type(node.op) in _SWAPS:
            new = _SWAPS[type(node.op)]
            text = ast.unparse(node)[:60]
            emit(f"{type(node.op).__name__} -> {new.__name__} in {text}",
                 lambda ns, i=i, new=new: setattr(ns[i], "op", new()))
            emit(f"drop the right term of {text}", lambda ns, i=i: _replace(ns, i, ns[i].left))
            emit(f"drop the left term of {text}", lambda ns, i=i: _replace(ns, i, ns[i].right))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            emit(f"drop the minus in {where(node)}", lambda ns, i=i: _replace(ns, i, ns[i].operand))
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            for new in sorted({node.value + 1, 0 if node.value else 1, -node.value, 2 * node.value} - {node.value}):
                emit(f"{node.value!r} -> {new!r} in {where(node)}",
                     lambda ns, i=i, new=new: setattr(ns[i], "value", new))
        elif isinstance(node, ast.Constant) and node.value in _ACTIVATIONS:
            for new in _ACTIVATIONS[node.value]:
                emit(f"activation {node.value!r} -> {new!r} in {where(node)}",
                     lambda ns, i=i, new=new: setattr(ns[i], "value", new))
        elif isinstance(node, ast.Call):
            fname = getattr(node.func, "attr", getattr(node.func, "id", ""))
            text = ast.unparse(node)[:60]
            if fname in _CALL_SWAPS:
                new = _CALL_SWAPS[fname]
                emit(f"{fname} -> {new} in {text}", lambda ns, i=i, new=new: _rename_call(ns[i], new))
            if node.args and fname not in ("range", "enumerate", "len", "isinstance"):
                emit(f"drop the call {text}", lambda ns, i=i: _replace(ns, i, ns[i].args[0]))
            if len(node.args) >= 2:
                emit(f"swap the first two arguments of {text}", lambda ns, i=i: _swap_args(ns[i]))
            for k, kw in enumerate(node.keywords):
                if kw.arg == "axis":
                    emit(f"drop axis= of {text}", lambda ns, i=i, k=k: ns[i].keywords.pop(k))
    return out


def _replace(nodes, index, new) -> None:
    """Put `new` where nodes[index] is, in its parent."""
    target = nodes[index]
    for parent in nodes:
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, new)
                return
            if isinstance(value, list):
                for j, item in enumerate(value):
                    if item is target:
                        value[j] = new
                        return
    return False


def _rename_call(node, new) -> None:
    if isinstance(node.func, ast.Attribute):
        node.func.attr = new
    else:
        node.func.id = new


def _swap_args(node) -> None:
    node.args[0], node.args[1] = node.args[1], node.args[0]


def _compile(assignment: str, sources: dict[str, str], entry: str, code: str | None = None,
             extra: tuple[str, ...] = ()) -> tuple:
    """(the function a variant defines (`fn` in `code`) or the solution's `entry`, then the `extra`
    functions), with `sources` in scope."""
    namespace: dict = {}
    exec(PREAMBLE[assignment], namespace)  # noqa: S102 - the course's own catalogue
    for source in sources.values():
        exec(source, namespace)  # noqa: S102
    if code is not None:
        exec(textwrap.dedent(code), namespace)  # noqa: S102
    return (namespace[entry if code is None else "fn"], *(namespace[name] for name in extra))


@dataclass
class Score:
    mutants: int = 0
    killed: int = 0
    equivalent: int = 0
    alternatives: int = 0
    alternatives_passed: int = 0
    survivors: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)   # correct solutions the check failed

    def as_json(self) -> dict:
        return {"mutants": self.mutants, "killed": self.killed, "equivalent": self.equivalent,
                "alternatives": self.alternatives, "alternatives_passed": self.alternatives_passed}


def score(cell: Cell, root: Path | None = None) -> Score:
    """Judge every variant of `cell`: its hand-written mistakes, the solution's mutants, the alternatives."""
    solution = solution_sources(cell.assignment, root)
    sources = {n: solution[n] for n in cell.solution}
    result = Score()
    verdict = _judge(cell, _compile(cell.assignment, solution, cell.entry, extra=cell.extra))
    if not verdict:
        result.rejected.append(f"the notebook's solution: {verdict.reason}")
    wrong = [(f"hand-written: {name}", _compile(cell.assignment, solution, cell.entry, code, cell.extra))
             for name, code in cell.wrong.items()]
    for fname, source in sources.items():
        for description, mutated in mechanical_mutants(fname, source):
            try:
                wrong.append((description, _compile(cell.assignment, {**solution, fname: mutated}, cell.entry,
                                                    extra=cell.extra)))
            except Exception:  # noqa: BLE001 - a mutant that does not even compile is killed
                wrong.append((description, None))
    for description, fn in wrong:
        result.mutants += 1
        if fn is None or not _judged(cell, fn):
            result.killed += 1
        elif description in cell.equivalent:
            result.equivalent += 1
        else:
            result.survivors.append(description)
    for name, code in cell.alternatives.items():
        result.alternatives += 1
        try:
            verdict = _judge(cell, _compile(cell.assignment, solution, cell.entry, code, cell.extra))
        except Exception as e:  # noqa: BLE001 - a correct answer the grader cannot even run is rejected
            verdict = probes.fail(f"{type(e).__name__}: {e}")
        if verdict:
            result.alternatives_passed += 1
        else:
            result.rejected.append(f"{name}: {verdict.reason}")
    return result


def _judge(cell: Cell, objects: tuple):
    """The probe's verdict on the variant's `objects`, or, for a builder cell, on the networks its
    builder builds."""
    if cell.build_args:
        return probes.judge(cell.probe, *objects[0](*eval(cell.build_args)))  # noqa: S307 - the catalogue's own
    return probes.judge(cell.probe, *objects, params=cell.params or None)


def _judged(cell: Cell, fn) -> bool:
    try:
        return bool(_judge(cell, fn))
    except Exception:  # noqa: BLE001 - the grader's own failure on a mutant counts as rejecting it
        return False


def _score_at(index: int, root: Path | None) -> Score:
    """`score(CATALOGUE[index])`: what a worker process runs (a Cell's lambdas do not pickle)."""
    return score(CATALOGUE[index], root)


def score_all(cells: list[Cell], root: Path | None = None, workers: int | None = None) -> list[Score]:
    """`score` of each of `cells` (catalogue cells), in their order, judged in `workers` processes
    (default: one per core, at most 2; each verdict is seeded, so it does not depend on the process)."""
    import os

    workers = workers or min(2, os.cpu_count() or 1)
    if workers < 2 or len(cells) < 2:
        return [score(cell, root) for cell in cells]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    indices = [CATALOGUE.index(cell) for cell in cells]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_score_at, indices, [root] * len(indices)))


def run(assignments: list[str] | None = None, root: Path | None = None, log=print) -> tuple[dict, int]:
    """Score every catalogued cell (of `assignments`); return ({assignment: {grade_id: counts}}, the
    number of cells with a survivor or a rejected correct answer)."""
    table: dict[str, dict] = {}
    holes = 0
    cells = [cell for cell in CATALOGUE if not assignments or cell.assignment in assignments]
    for cell, s in zip(cells, score_all(cells, root)):
        table.setdefault(cell.assignment, {})[cell.grade_id] = s.as_json()
        log(f"{cell.assignment:11} {cell.grade_id:26} {s.killed:3}/{s.mutants - s.equivalent:<3} killed "
            f"({s.equivalent} equivalent), {s.alternatives_passed}/{s.alternatives} alternatives pass")
        for survivor in s.survivors:
            log(f"    SURVIVED  {survivor}")
        for rejected in s.rejected:
            log(f"    REJECTED  {rejected}")
        holes += bool(s.survivors or s.rejected)
    return table, holes


RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "mutants.json"


def write_results(table: dict, path: Path = RESULTS) -> Path:
    """Merge `table` into the results file (other assignments' rows kept); return its path."""
    import json

    current = json.loads(path.read_text()) if path.exists() else {}
    for assignment, cells in table.items():
        current[assignment] = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return path
