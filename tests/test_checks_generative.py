"""Every generative check passes the reference solution and fails deliberately wrong work."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras import ops  # noqa: E402

from course_utils.checks import generative as checks  # noqa: E402
from course_utils.models.generative import build_conv_net, build_deconv_net  # noqa: E402
from course_utils.reference import generative as ref  # noqa: E402


def _failed(verdict):
    return not verdict and bool(verdict.reason)


# ---------------------------------------------------------------- KL divergence

def _kl_terms(mu, logvar, var, log_var):
    return -0.5 * ops.sum(1 + log_var - ops.square(mu) - var, axis=-1)


KL_WRONG = {
    "wrong sign": lambda mu, lv: -ref.kl_divergence(mu, lv),
    "no 0.5": lambda mu, lv: 2 * ref.kl_divergence(mu, lv),
    "logvar as std": lambda mu, lv: ops.mean(_kl_terms(mu, lv, ops.square(lv), ops.log(ops.square(lv)))),
    "logvar as variance, no exp": lambda mu, lv: ops.mean(_kl_terms(mu, lv, lv, lv)),
    "std for variance": lambda mu, lv: ops.mean(_kl_terms(mu, lv, ops.exp(0.5 * lv), lv)),
    "mean over latent": lambda mu, lv: ops.mean(-0.5 * (1 + lv - ops.square(mu) - ops.exp(lv))),
    "sum over batch": lambda mu, lv: ops.sum(_kl_terms(mu, lv, ops.exp(lv), lv)),
    "per example": lambda mu, lv: _kl_terms(mu, lv, ops.exp(lv), lv),
    "raises": lambda mu, lv: 1 / 0,
}


def test_check_kl_passes_the_reference():
    assert checks.check_kl(ref.kl_divergence)


@pytest.mark.parametrize("name", KL_WRONG)
def test_check_kl_fails_wrong_kl(name):
    assert _failed(checks.check_kl(KL_WRONG[name]))


def test_check_kl_names_the_mistake():
    assert "sign" in checks.check_kl(KL_WRONG["wrong sign"]).reason
    assert "ZeroDivisionError" in checks.check_kl(KL_WRONG["raises"]).reason


# ---------------------------------------------------------------- VAE loss

def _mse_loss(x, x_hat, mu, logvar, w):
    n = ops.shape(x)[0]
    return ops.mean(ops.sum(ops.reshape(ops.square(x - x_hat), (n, -1)), -1)) + w * ref.kl_divergence(mu, logvar)


LOSS_WRONG = {
    "mse": _mse_loss,
    "weight on reconstruction": lambda x, xh, mu, lv, w: w * ref.reconstruction_loss(x, xh) + ref.kl_divergence(mu, lv),
    "pixel mean": lambda x, xh, mu, lv, w: (ops.mean(ops.binary_crossentropy(x, xh))
                                            + w * ref.kl_divergence(mu, lv)),
    "no kl": lambda x, xh, mu, lv, w: ref.reconstruction_loss(x, xh),
    "weight ignored": lambda x, xh, mu, lv, w: ref.vae_loss(x, xh, mu, lv, 1.0),
}


def test_check_vae_loss_passes_the_reference():
    assert checks.check_vae_loss(ref.vae_loss)


@pytest.mark.parametrize("name", LOSS_WRONG)
def test_check_vae_loss_fails_wrong_losses(name):
    assert _failed(checks.check_vae_loss(LOSS_WRONG[name]))


# ---------------------------------------------------------------- sampling

class _WrongSampling(keras.layers.Layer):
    def __init__(self, kind, **kwargs):
        super().__init__(**kwargs)
        self.kind = kind

    def call(self, inputs):
        mu, logvar = inputs
        eps = keras.random.normal(ops.shape(mu))
        if self.kind == "logvar as std":
            return mu + logvar * eps
        if self.kind == "exp(logvar) as std":
            return mu + ops.exp(logvar) * eps
        if self.kind == "no noise":
            return mu + 0 * logvar
        if self.kind == "uniform noise":
            return mu + ops.exp(0.5 * logvar) * keras.random.uniform(ops.shape(mu))
        if self.kind == "uniform noise, unit variance":
            return mu + ops.exp(0.5 * logvar) * keras.random.uniform(ops.shape(mu), -3**0.5, 3**0.5)
        if self.kind == "one eps for the batch":
            return mu + ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu)[1:])
        if self.kind == "numpy noise":
            noise = np.random.default_rng().standard_normal(tuple(mu.shape))
            return np.asarray(mu) + np.exp(0.5 * np.asarray(logvar)) * noise
        raise AssertionError(self.kind)


def test_check_sampling_passes_the_reference_class_and_instance():
    assert checks.check_sampling(ref.Sampling)
    assert checks.check_sampling(ref.Sampling(seed=3))


@pytest.mark.parametrize("kind", ["logvar as std", "exp(logvar) as std", "no noise", "uniform noise",
                                  "uniform noise, unit variance", "one eps for the batch", "numpy noise"])
def test_check_sampling_fails_wrong_sampling(kind):
    assert _failed(checks.check_sampling(_WrongSampling(kind)))


def test_check_sampling_fails_noise_fixed_across_calls():
    eps = np.random.default_rng(0).standard_normal((checks.SAMPLING_DRAWS, 5)).astype(np.float32)
    fixed = lambda inputs: inputs[0] + ops.exp(0.5 * inputs[1]) * eps  # noqa: E731
    assert "same z" in checks.check_sampling(fixed).reason


# ---------------------------------------------------------------- latent space

INTERP_WRONG = {
    "endpoint=False": lambda a, b, s: a + np.linspace(0, 1, s, endpoint=False)[:, None] * (b - a),
    "steps + 1": lambda a, b, s: a + np.linspace(0, 1, s + 1)[:, None] * (b - a),
    "steps - 1": lambda a, b, s: a + np.linspace(0, 1, s - 1)[:, None] * (b - a),
    "not linear": lambda a, b, s: a + np.linspace(0, 1, s)[:, None] ** 2 * (b - a),
    "transposed": lambda a, b, s: ref.interpolate(a, b, s).T,
}


def test_latent_checks_pass_the_reference():
    assert checks.check_interpolation(ref.interpolate)
    assert checks.check_latent_scaling(ref.scale_latent)


@pytest.mark.parametrize("name", INTERP_WRONG)
def test_check_interpolation_fails_wrong_interpolation(name):
    assert _failed(checks.check_interpolation(INTERP_WRONG[name]))


@pytest.mark.parametrize("wrong", [
    lambda z, f: ref.scale_latent(z, f).T,
    lambda z, f: np.asarray(f)[:, None] + z,
    lambda z, f: np.stack([z * f[0]] * len(f)),
    lambda z, f: ref.scale_latent(z, f)[:-1],
])
def test_check_latent_scaling_fails_wrong_scaling(wrong):
    assert _failed(checks.check_latent_scaling(wrong))


# ---------------------------------------------------------------- model shapes

def test_check_models_pass_right_models_and_fail_wrong_ones():
    shape, latent = (16, 16, 3), 4
    encoder = build_conv_net(shape, 2 * latent, 2, 4, out_activation=None)
    decoder = build_deconv_net(latent, shape, 2, 4)
    assert checks.check_vae_models(encoder, decoder, shape, latent)
    assert checks.check_gan_models(decoder, build_conv_net(shape, 1, 2, 4), shape, latent)
    assert _failed(checks.check_vae_models(build_conv_net(shape, latent, 2, 4), decoder, shape, latent))
    linear = build_deconv_net(latent, shape, 2, 4, activation_out=None)
    assert "activation" in checks.check_vae_models(encoder, linear, shape, latent).reason
    assert _failed(checks.check_vae_models(encoder, build_deconv_net(latent, (32, 32, 3), 2, 4), shape, latent))
    assert "keras.Model" in checks.check_vae_models(encoder, lambda x: x, shape, latent).reason


# ---------------------------------------------------------------- GAN train step

def _gan_with_step(kind):
    class StepGAN(ref.GAN):
        def train_step(self, real):
            n = ops.shape(real)[0]
            z = keras.random.normal((n, self.latent_dim))
            fake = self.generator(z)
            ones, zeros = ops.ones((n, 1)), ops.zeros((n, 1))
            real_label, fake_label = (zeros, ones) if kind == "swapped labels" else (ones, zeros)
            with tf.GradientTape() as tape:
                d_loss = (self.loss_fn(real_label, self.discriminator(real))
                          + self.loss_fn(fake_label, self.discriminator(fake)))
                if kind == "D trained on G's loss":
                    d_loss = self.loss_fn(ones, self.discriminator(self.generator(z)))
            d_vars = self.discriminator.trainable_weights
            if kind != "no D update":
                self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
            with tf.GradientTape() as tape:
                g_loss = self.loss_fn(zeros if kind == "G wants to look fake" else ones,
                                      self.discriminator(self.generator(z)))
            g_vars = self.trainable_weights if kind == "G step updates D too" else self.generator.trainable_weights
            if kind == "G grads applied to D":
                self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, d_vars), d_vars))
            elif kind != "no G update":
                self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
            if kind == "nan loss":
                g_loss = g_loss * np.nan
            if kind == "no logs":
                return {"loss": d_loss}
            return {"d_loss": d_loss, "g_loss": g_loss}

    return StepGAN


def test_check_gan_train_step_passes_the_reference():
    verdict = checks.check_gan_train_step(ref.GAN)
    assert verdict, verdict.reason


def test_check_gan_train_step_passes_a_correct_plain_step():
    assert checks.check_gan_train_step(_gan_with_step("correct"))


@pytest.mark.parametrize("kind", ["no G update", "no D update", "D trained on G's loss", "swapped labels",
                                  "G step updates D too", "G grads applied to D", "G wants to look fake",
                                  "nan loss", "no logs"])
def test_check_gan_train_step_fails_wrong_steps(kind):
    assert _failed(checks.check_gan_train_step(_gan_with_step(kind)))
