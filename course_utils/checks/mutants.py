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

Each variant is judged in this process (`probes.judge`), as the grader would decide it.
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


PREAMBLE = {
    "generative": ("import numpy as np\nimport keras\nfrom keras import layers, ops\n"
                   "from course_utils.models.generative import build_cnn_autoencoder, build_conv_net, build_deconv_net\n"),
    "seq2seq": "import numpy as np\nfrom course_utils.data import arithmetic\nVOCAB = arithmetic.VOCAB\n",
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
        "a hard-sigmoid generator": _gan("build_conv_net(s, 1, 2, f, out_activation='sigmoid')",
                                         "build_deconv_net(d, s, 2, f, activation_out='hard_sigmoid')"),
    }, equivalent={
        f"build_fashion_gan_networks: 2 -> {n} in build_conv_net(image_shape, 1, 2, filters, out_activation='s": _DEPTH
        for n in (-2, 0, 3, 4)} | {
        "build_fashion_gan_networks: 2 -> 0 in build_deconv_net(latent_dim, image_shape, 2, filters, activa": _DEPTH}),
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


def _compile(assignment: str, sources: dict[str, str], entry: str, code: str | None = None):
    """The function a variant defines (`fn` in `code`), or the solution's `entry` with `sources` in scope."""
    namespace: dict = {}
    exec(PREAMBLE[assignment], namespace)  # noqa: S102 - the course's own catalogue
    for source in sources.values():
        exec(source, namespace)  # noqa: S102
    if code is None:
        return namespace[entry]
    exec(textwrap.dedent(code), namespace)  # noqa: S102
    return namespace["fn"]


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
    verdict = _judge(cell, _compile(cell.assignment, solution, cell.entry))
    if not verdict:
        result.rejected.append(f"the notebook's solution: {verdict.reason}")
    wrong = [(f"hand-written: {name}", _compile(cell.assignment, solution, cell.entry, code))
             for name, code in cell.wrong.items()]
    for fname, source in sources.items():
        for description, mutated in mechanical_mutants(fname, source):
            try:
                wrong.append((description, _compile(cell.assignment, {**solution, fname: mutated}, cell.entry)))
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
            verdict = _judge(cell, _compile(cell.assignment, solution, cell.entry, code))
        except Exception as e:  # noqa: BLE001 - a correct answer the grader cannot even run is rejected
            verdict = probes.fail(f"{type(e).__name__}: {e}")
        if verdict:
            result.alternatives_passed += 1
        else:
            result.rejected.append(f"{name}: {verdict.reason}")
    return result


def _judge(cell: Cell, fn):
    """The probe's verdict on `fn`, or, for a builder cell, on the networks `fn` builds."""
    if cell.build_args:
        return probes.judge(cell.probe, *fn(*eval(cell.build_args)))  # noqa: S307 - the catalogue's own
    return probes.judge(cell.probe, fn)


def _judged(cell: Cell, fn) -> bool:
    try:
        return bool(_judge(cell, fn))
    except Exception:  # noqa: BLE001 - the grader's own failure on a mutant counts as rejecting it
        return False


def run(assignments: list[str] | None = None, root: Path | None = None, log=print) -> tuple[dict, int]:
    """Score every catalogued cell (of `assignments`); return ({assignment: {grade_id: counts}}, the
    number of cells with a survivor or a rejected correct answer)."""
    table: dict[str, dict] = {}
    holes = 0
    for cell in CATALOGUE:
        if assignments and cell.assignment not in assignments:
            continue
        s = score(cell, root)
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
