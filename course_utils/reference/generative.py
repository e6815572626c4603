"""Reference solutions of the generative-models assignment (instructor side).

What students write as stubs, with the course's conventions:

* `Sampling()([mu, logvar])`: z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, I),
  all (N, d);
* `kl_divergence(mu, logvar)`: KL(N(mu, exp(logvar)) || N(0, I)) in closed form,
  SUMMED over the d latent dimensions and AVERAGED over the batch: a scalar;
* `reconstruction_loss(x, x_hat)`: binary cross-entropy SUMMED over the h*w*c
  pixel values and AVERAGED over the batch: a scalar;
* `vae_loss(x, x_hat, mu, logvar, kl_weight)` = reconstruction + kl_weight * KL.
  Both terms are sums over an example's values, so kl_weight = 1 is the
  negative ELBO; this is what "KL scaled by image size" means: a per-pixel MEAN
  reconstruction would need kl_weight = 1 / (h*w*c) for the same balance;
* `VAE(encoder, decoder)`, `GAN(discriminator, generator, latent_dim)`: Keras
  models with their own `train_step`; the discriminator outputs the
  probability that an image is REAL (1 real, 0 fake);
* `interpolate(z_a, z_b, steps)` and `scale_latent(z, factors)`.

    vae = build_vae((64, 64, 3)); vae.fit(images, epochs=..., batch_size=VAE_BATCH_SIZE)
    gan = build_gan((64, 64, 3)); gan.fit(images, epochs=..., batch_size=GAN_BATCH_SIZE)
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from course_utils.models.generative import build_conv_net, build_deconv_net

# Course defaults (to move to course.toml [generative])
VAE_LATENT_DIM = 64
VAE_BATCH_SIZE = 8
VAE_LEARNING_RATE = 1e-3
VAE_KL_WEIGHT = 1.0  # with the reconstruction summed over pixels (see above)
# The VAE reads the encoder's second half as log sigma^2 - LOGVAR_SHIFT: an untrained encoder's
# outputs are near 0, so every code starts with sigma = exp(-2.5) = 0.08, not 1, and the decoder
# sees the codes from the first step instead of learning to ignore noise. With sigma = 1 at the
# start (and the summed loss, below) the 64x64 shapes' colours stay grey for the whole laptop budget.
LOGVAR_SHIFT = -5.0
VAE_FILTERS = 128
GAN_LATENT_DIM = 256
GAN_FILTERS = 128
GAN_LEARNING_RATE = 2e-4
GAN_BETA_1 = 0.5
GAN_BATCH_SIZE = 64
GAN_DROPOUT = 0.3  # after each LeakyReLU of the discriminator
N_LAYERS = 4  # stride-2 layers of encoders and decoders at 64x64 (2 at 28x28)


# ----------------------------------------------------------------------------
# VAE pieces


@keras.saving.register_keras_serializable(package="course_utils")
class Sampling(layers.Layer):
    """The reparameterisation trick: [mu, logvar], each (N, d) -> z (N, d),
    z = mu + exp(0.5 * logvar) * eps with eps ~ N(0, I) fresh at every call."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mu, logvar = inputs
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        return mu + ops.exp(0.5 * logvar) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) for mu, logvar (N, d): scalar, summed over d, mean over N."""
    per_example = -0.5 * ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=-1)  # (N,)
    return ops.mean(per_example)


def reconstruction_loss(x, x_hat):
    """Binary cross-entropy of images x, x_hat (N, h, w, c) in [0, 1]: scalar, summed over pixels, mean over N."""
    bce = ops.binary_crossentropy(x, x_hat)  # (N, h, w, c), clipped inside
    return ops.mean(ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=-1))


def vae_loss(x, x_hat, mu, logvar, kl_weight=VAE_KL_WEIGHT):
    """The VAE's loss: reconstruction_loss(x, x_hat) + kl_weight * kl_divergence(mu, logvar), a scalar."""
    return reconstruction_loss(x, x_hat) + kl_weight * kl_divergence(mu, logvar)


def _images(data):
    """The images of a batch: fit(x) gives x, fit(x, y) or a dataset of tuples gives (x, ...)."""
    return data[0] if isinstance(data, (tuple, list)) else data


class VAE(keras.Model):
    """Variational autoencoder: images (N, h, w, c) -> reconstructions (N, h, w, c).

    encoder: images -> (N, 2 * latent_dim), the mean and the log-variance side by side;
    decoder: (N, latent_dim) -> images in [0, 1]. fit() tracks `loss`, `reconstruction`, `kl`.
    """

    def __init__(self, encoder, decoder, kl_weight=VAE_KL_WEIGHT, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_weight = kl_weight
        self.sampling = Sampling(seed=seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def encode(self, x, training=False):
        """Images (N, h, w, c) -> mu (N, d), logvar (N, d): the encoder's two halves, the second
        shifted by LOGVAR_SHIFT."""
        mu, logvar = ops.split(self.encoder(x, training=training), 2, axis=-1)
        return mu, logvar + LOGVAR_SHIFT

    def call(self, x, training=False):
        mu, logvar = self.encode(x, training)
        return self.decoder(self.sampling([mu, logvar]), training=training)

    def _loss_terms(self, x, training):
        mu, logvar = self.encode(x, training)
        x_hat = self.decoder(self.sampling([mu, logvar]), training=training)
        reconstruction = reconstruction_loss(x, x_hat)
        kl = kl_divergence(mu, logvar)
        return reconstruction + self.kl_weight * kl, reconstruction, kl

    def _update_trackers(self, loss, reconstruction, kl):
        for tracker, value in zip(self.metrics, (loss, reconstruction, kl)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = _images(data)
        with tf.GradientTape() as tape:
            losses = self._loss_terms(x, training=True)
            # The gradient of the loss per pixel value: the same optimum, but Adam's epsilon
            # damps noisy tiny gradients again, as for a mean loss (a summed loss makes them all
            # h*w*c times larger); with both fixes the colours come (tests/test_models_generative.py).
            per_value = losses[0] / math.prod(x.shape[1:])
        grads = tape.gradient(per_value, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update_trackers(*losses)

    def test_step(self, data):
        return self._update_trackers(*self._loss_terms(_images(data), training=False))


def build_vae(image_shape=(64, 64, 3), latent_dim=VAE_LATENT_DIM, n_layers=N_LAYERS, filters=VAE_FILTERS,
              learning_rate=VAE_LEARNING_RATE, kl_weight=VAE_KL_WEIGHT, seed=None):
    """A VAE compiled with Adam, its encoder and decoder from build_conv_net / build_deconv_net."""
    encoder = build_conv_net(image_shape, 2 * latent_dim, n_layers, filters, out_activation=None)
    decoder = build_deconv_net(latent_dim, image_shape, n_layers, filters)
    vae = VAE(encoder, decoder, kl_weight=kl_weight, seed=seed)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae


# ----------------------------------------------------------------------------
# GAN


class GAN(keras.Model):
    """DCGAN. discriminator: images (N, h, w, c) -> (N, 1), the probability of REAL;
    generator: (N, latent_dim) -> images. fit() tracks `d_loss` and `g_loss`."""

    def __init__(self, discriminator, generator, latent_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.discriminator, self.generator = discriminator, generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real = _images(data)  # (N, h, w, c)
        n = ops.shape(real)[0]

        # 1. Discriminator: real images labelled 1, generated ones 0.
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=False)  # (N, h, w, c)
        images = ops.concatenate([real, fake], axis=0)  # (2N, h, w, c)
        labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)  # (2N, 1)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(images, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # 2. Generator, through the (fixed) discriminator: non-saturating loss, fakes labelled 1.
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            judged = self.discriminator(self.generator(z, training=True), training=False)  # (N, 1)
            g_loss = self.loss_fn(ops.ones((n, 1)), judged)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def gan_optimizers(learning_rate=GAN_LEARNING_RATE, beta_1=GAN_BETA_1):
    """The course's (d_optimizer, g_optimizer): two Adam optimizers."""
    return (keras.optimizers.Adam(learning_rate, beta_1=beta_1),
            keras.optimizers.Adam(learning_rate, beta_1=beta_1))


def build_gan_networks(image_shape=(64, 64, 3), latent_dim=GAN_LATENT_DIM, n_layers=N_LAYERS,
                       filters=GAN_FILTERS, dropout=GAN_DROPOUT):
    """(discriminator, generator) as DCGAN builds them: a LeakyReLU (slope 0.2) discriminator
    with dropout, images -> (N, 1) P(real), and a BatchNorm + ReLU generator, (N, latent_dim)
    -> images in [0, 1]. With plain ReLU and no normalisation the discriminator wins at once
    on the mostly black shapes images and the generator stays black."""
    discriminator = build_conv_net(image_shape, 1, n_layers, filters, out_activation="sigmoid",
                                   activation="leaky_relu", dropout=dropout)
    generator = build_deconv_net(latent_dim, image_shape, n_layers, filters, activation_out="sigmoid",
                                 batch_norm=True)
    return discriminator, generator


def build_gan(image_shape=(64, 64, 3), latent_dim=GAN_LATENT_DIM, n_layers=N_LAYERS, filters=GAN_FILTERS,
              learning_rate=GAN_LEARNING_RATE, beta_1=GAN_BETA_1, seed=None, dropout=GAN_DROPOUT):
    """A DCGAN (networks from build_gan_networks) compiled with two Adam optimizers and binary cross-entropy."""
    discriminator, generator = build_gan_networks(image_shape, latent_dim, n_layers, filters, dropout)
    gan = GAN(discriminator, generator, latent_dim, seed=seed)
    d_optimizer, g_optimizer = gan_optimizers(learning_rate, beta_1)
    gan.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, loss_fn=keras.losses.BinaryCrossentropy())
    return gan


# ----------------------------------------------------------------------------
# Latent space


def interpolate(z_a, z_b, steps):
    """steps points on the line from z_a to z_b (d,), both included: (steps, d), row 0 = z_a, row -1 = z_b."""
    z_a, z_b = np.asarray(z_a), np.asarray(z_b)
    t = np.linspace(0, 1, steps)[:, None]  # (steps, 1): 0, ..., 1
    return ((1 - t) * z_a + t * z_b).astype(np.result_type(z_a, z_b, np.float32))


def scale_latent(z, factors):
    """z (d,) scaled by each factor: (len(factors), d), row i = factors[i] * z."""
    z = np.asarray(z)
    return (np.asarray(factors, dtype=np.float64)[:, None] * z).astype(np.result_type(z, np.float32))
