# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Generative models: autoencoders, VAEs and GANs
#
# A generative model learns where the data lives, so that it can *make* new examples. In
# this assignment we build three families of them and compare what they learn:
#
# **Part A** (64x64 colour images)
# 1. a **convolutional autoencoder** (CAE): compress an image to a short code and rebuild it;
# 2. a **variational autoencoder** (VAE): the code becomes a probability distribution, and
#    the decoder a generator of new images; you write its sampling layer and its loss;
# 3. a **DCGAN**: a generator and a discriminator play a game; you write one round of it;
# 4. a walk through the **latent spaces**: scaling, truncation and interpolation.
#
# **Part B** (Fashion-MNIST, 28x28 grey): a dense and a convolutional autoencoder with a
# short code, a VAE grown from the convolutional one, a DCGAN, and a **Fréchet score** that
# puts a number on how close generated images are to real ones.
#
# Cells that say `YOUR CODE HERE` are yours; the `assert` cells below them give quick
# feedback, and hidden tests check your functions in more detail (on their own inputs,
# so they do not depend on how well your models trained). Written questions are graded by
# hand: answer them in the cell below each question, using your own figures and numbers.
# Sizes quoted below (latent codes of 64, 256 and 128 numbers) are the course's defaults;
# this semester's come from the course config (`VAE_LATENT`, `GAN_LATENT`, `FASHION_LATENT`).
# Training budgets come from the course config: on your laptop each model trains for a few
# minutes (a progress bar shows how far it is).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "e0604d87206c12a2e7cbad8c59ba2b72", "grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
from course_utils.quiet import import_tensorflow

import_tensorflow()   # TensorFlow and Keras, without their start-up notices in this notebook
import math
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops
from tqdm.keras import TqdmCallback

from course_utils import plots
from course_utils.config import budget_mode, load_config
from course_utils.data import load_fashion_mnist, load_image_folder, make_shapes
from course_utils.models.frechet import frechet_score, load_feature_classifier
from course_utils.models.generative import (activation_shapes, build_cnn_autoencoder, build_conv_net,
                                            build_deconv_net, build_dense_autoencoder, colour_kept,
                                            image_grid, sample_latents)

config = load_config()
MODE = budget_mode()                       # 'student' on your laptop, 'grading' under nbgrader
GEN = config["generative"]
SEED = config["semester"]["seed"]
EPOCHS = {model: per_mode[MODE] for model, per_mode in GEN["epochs"].items()}
SIZES = {name: per_mode[MODE] for name, per_mode in GEN["sizes"].items()}
IMAGE_SIZE, N_LAYERS, FILTERS = GEN["image_size"], GEN["n_layers"], SIZES["filters"]
VAE_LATENT, VAE_BATCH, VAE_LR, KL_WEIGHT = (GEN["vae"][k] for k in ("latent_dim", "batch_size",
                                                                    "learning_rate", "kl_weight"))
GAN_LATENT, GAN_BATCH, GAN_LR, GAN_BETA_1 = (GEN["gan"][k] for k in ("latent_dim", "batch_size",
                                                                     "learning_rate", "beta_1"))
keras.utils.set_random_seed(SEED)
tf.get_logger().setLevel("ERROR")          # hide TensorFlow's notices about retracing
print(f"budget: {MODE}; epochs per model {EPOCHS}; {SIZES['images']} images of "
      f"{IMAGE_SIZE}x{IMAGE_SIZE}, {FILTERS} filters per layer; seed {SEED}")

# %% [markdown]
# # Part A: generative models of 64x64 images
#
# ## 1. The data
#
# By default we draw our own dataset on the spot: one coloured circle, square or triangle
# per image, at a random place, size and colour (`make_shapes`). It has few *factors of
# variation* (shape, colour, position, size), which makes it easy to see what a model has
# and has not learned.
#
# **Your own images.** Set `IMAGE_FOLDER` below to a folder of your own pictures (faces,
# flowers, album covers; .jpg/.png/.webp, searched recursively) to train every model of
# part A on them instead: they are centre-cropped and resized to 64x64. A few thousand
# images are enough to see something; the grader always uses the shapes.

# %%
IMAGE_FOLDER = None   # <- e.g. "~/Pictures/faces" to train on your own images

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "14350180d0d1268d004b33fc5618e963", "grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
if IMAGE_FOLDER is not None and MODE == "student":
    images = load_image_folder(IMAGE_FOLDER, size=IMAGE_SIZE)[: SIZES["images"]]
    print(f"{len(images)} images from {IMAGE_FOLDER}")
else:
    images, factors = make_shapes(SIZES["images"], size=IMAGE_SIZE, seed=SEED)
IMAGE_SHAPE = images.shape[1:]                                   # (64, 64, 3)
n_test = max(16, len(images) // 10)
x_test, x_train = images[:n_test], images[n_test:]               # float32 in [0, 1]
print(f"train {x_train.shape}, test {x_test.shape}, values in [{images.min():.1f}, {images.max():.1f}]")
plots.show_images(x_train[:16], columns=8);

# %% [markdown]
# ## 2. A convolutional autoencoder
#
# An autoencoder is two networks trained together: an **encoder** that squeezes an image
# into a short latent vector (the *code*, here `VAE_LATENT` = 64 numbers for 12,288 pixel values) and a
# **decoder** that rebuilds the image from the code. The only training signal is the
# reconstruction error, so the code must keep whatever the decoder needs.
#
# The course gives both halves (`course_utils.models.generative`): `build_conv_net` is a
# stack of stride-2 convolutions that halve the image at every layer, then a Dense layer;
# `build_deconv_net` mirrors it with stride-2 transposed convolutions that double it:
#
# ```
# encoder: (N, 64, 64, 3) -> conv s2 (N, 32, 32, f) -> ... -> (N, 4, 4, f) -> Dense (N, 64)
# decoder: (N, 64) -> Dense, Reshape (N, 4, 4, f) -> deconv s2 ... (N, 64, 64, f) -> conv sigmoid (N, 64, 64, 3)
# ```
#
# Pixels lie in [0, 1] and the decoder ends with a sigmoid, so we train with the binary
# cross-entropy per pixel.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "c9a3461660fedcf1b34817e47a39c0c7", "grade": false, "grade_id": "cae", "locked": true, "schema_version": 3, "solution": false}
def build_cae(image_shape, latent_dim, n_layers, filters, learning_rate):
    """Compiled convolutional autoencoder (N, *image_shape) -> (N, *image_shape); also its halves."""
    encoder = build_conv_net(image_shape, latent_dim, n_layers, filters, out_activation=None)
    decoder = build_deconv_net(latent_dim, image_shape, n_layers, filters)
    inputs = keras.Input(image_shape)
    cae = keras.Model(inputs, decoder(encoder(inputs)), name="cae")
    cae.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    return cae, encoder, decoder


keras.utils.set_random_seed(SEED)
cae, cae_encoder, cae_decoder = build_cae(IMAGE_SHAPE, VAE_LATENT, N_LAYERS, FILTERS, VAE_LR)
cae_history = cae.fit(x_train, x_train, validation_data=(x_test, x_test), epochs=EPOCHS["cae"],
                      batch_size=VAE_BATCH, verbose=0, callbacks=[TqdmCallback(verbose=0)])
print(f"CAE test reconstruction (binary cross-entropy per pixel): {cae_history.history['val_loss'][-1]:.4f}")
plots.show_rows([x_test[:8], cae.predict(x_test[:8], verbose=0)], ["test image", "CAE"]);

# %% [markdown]
# ## 3. A variational autoencoder
#
# An autoencoder's codes can lie anywhere, so a random code usually decodes to nonsense: it
# is not a generator. A VAE fixes this by making the encoder output a *distribution* over
# codes, a Gaussian $q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag}(\sigma^2))$, and by
# pulling all these Gaussians towards the prior $p(z) = \mathcal{N}(0, I)$. After training,
# decoding $z \sim \mathcal{N}(0, I)$ gives new images. The encoder outputs $\mu$ and
# $\log \sigma^2$ (the *log-variance*, which can be any real number) side by side.
#
# ### The reparameterisation trick
#
# The decoder needs a sample $z \sim q(z \mid x)$, but we cannot back-propagate through a
# random draw. Instead we draw the randomness *outside* the network and shift and scale it:
#
# $$z = \mu + \sigma \odot \varepsilon = \mu + \exp(\tfrac12 \log\sigma^2) \odot \varepsilon,
#   \qquad \varepsilon \sim \mathcal{N}(0, I),$$
#
# so $z$ is a differentiable function of $\mu$ and $\log\sigma^2$. Write the `call` of the
# `Sampling` layer: it receives `[mu, logvar]`, both `(N, d)`, and returns `z`, `(N, d)`,
# with **new noise at every call**. Use tensor operations (`keras.ops`, imported as `ops`)
# and `keras.random.normal(shape, seed=self.seed_generator)`; NumPy would cut the gradients.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "54e141a0eb75410752dba0790d5a11b2", "grade": false, "grade_id": "sampling", "locked": false, "schema_version": 3, "solution": true}
class Sampling(keras.layers.Layer):
    """[mu, logvar], each (N, d) -> z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, I): (N, d)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)   # new noise at every call

    def call(self, inputs):
        mu, logvar = inputs
        # YOUR CODE HERE
        raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "382135229f4f38c481e11c39775c5465", "grade": true, "grade_id": "test_sampling", "locked": true, "points": 3, "schema_version": 3, "solution": false}
z = Sampling()([ops.zeros((1000, 4)), ops.full((1000, 4), np.log(4.0))])   # mu = 0, sigma = 2
z = ops.convert_to_numpy(z)
assert z.shape == (1000, 4), z.shape
assert 1.6 < z.std() < 2.4, f"standard deviation {z.std():.2f}, expected about 2 = exp(0.5 * log 4)"


# %% [markdown]
# ### The loss: reconstruction + KL
#
# A VAE maximises the evidence lower bound (ELBO); we minimise its negative, two terms:
#
# * the **reconstruction** term $-\log p(x \mid z)$: for pixels in [0, 1] the binary
#   cross-entropy $-\sum_{\text{pixels}} \big[x \log \hat x + (1 - x) \log(1 - \hat x)\big]$;
# * the **KL divergence** from the encoder's Gaussian to the prior, in closed form:
#   $$\mathrm{KL}\big(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, I)\big)
#     = -\tfrac12 \sum_{j=1}^{d} \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big).$$
#
# **Conventions (the tests check these).** Both terms are **summed over an example's
# values** (the pixels of one image, the latent dimensions of one code) and **averaged over
# the batch**, so each is a scalar. Then `vae_loss = reconstruction + kl_weight * KL`, and
# `kl_weight = 1` is exactly the negative ELBO. (Keras' `binary_crossentropy` loss *averages*
# over the pixels; with that you would need `kl_weight = 1 / 12288` for the same balance.)
# Clip `x_hat` to `[1e-7, 1 - 1e-7]` before taking logarithms: a saturated decoder outputs
# exactly 0 or 1, and the loss must stay finite. Write both with `keras.ops`, so that
# the gradients reach the encoder and the decoder.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "0fa923fe5eb4c15163ab46235ff25a42", "grade": false, "grade_id": "vae_losses", "locked": false, "schema_version": 3, "solution": true}
def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) for mu, logvar (N, d): a scalar, summed over d, mean over N."""
    # YOUR CODE HERE
    raise NotImplementedError()


def vae_loss(x, x_hat, mu, logvar, kl_weight=1.0):
    """Binary cross-entropy of x_hat against x, (N, h, w, c) in [0, 1], summed over the pixels and
    averaged over the batch, plus kl_weight * kl_divergence(mu, logvar): a scalar."""
    # YOUR CODE HERE
    raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "953ad7b73e557d21ec1651de01f99f76", "grade": true, "grade_id": "test_kl", "locked": true, "points": 2, "schema_version": 3, "solution": false}
zeros = np.zeros((5, 3), np.float32)
assert abs(float(kl_divergence(zeros, zeros))) < 1e-6, "the KL of the prior to itself is 0"
assert abs(float(kl_divergence(zeros + 1, zeros)) - 1.5) < 1e-5, "mu = 1 in 3 dimensions: 3 * 0.5 = 1.5"

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "4ce8796103f092b5c14bf24c83ae9f91", "grade": true, "grade_id": "test_vae_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false}
x = np.full((2, 4, 4, 1), 0.5, np.float32)
mu, logvar = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
loss = float(vae_loss(x, x, mu, logvar, kl_weight=1.0))
assert abs(loss - 16 * np.log(2)) < 1e-3, f"{loss}: 16 pixels of 0.5 cost 16 * log 2 per image"


# %% [markdown]
# ### The VAE's networks
#
# The VAE uses the same builders as the autoencoder, with two differences. Write
# `build_vae_networks`: the **encoder** must output $\mu$ and $\log\sigma^2$ side by side,
# `(N, 2 * latent_dim)`, so with no activation (a log-variance can be negative); the
# **decoder** maps `(N, latent_dim)` to images in [0, 1].

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "502d4fac11a8159db154a140ee63b3ae", "grade": false, "grade_id": "vae_networks", "locked": false, "schema_version": 3, "solution": true}
def build_vae_networks(image_shape, latent_dim, n_layers, filters):
    """(encoder, decoder): images (N, *image_shape) -> (N, 2 * latent_dim) [mu | logvar];
    (N, latent_dim) -> images (N, *image_shape) in [0, 1]."""
    # YOUR CODE HERE
    raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "0fe7a37230f2643e09a5401cc58ce2c8", "grade": true, "grade_id": "test_vae_networks", "locked": true, "points": 2, "schema_version": 3, "solution": false}
vae_encoder, vae_decoder = build_vae_networks(IMAGE_SHAPE, VAE_LATENT, N_LAYERS, FILTERS)
assert vae_encoder.output_shape == (None, 2 * VAE_LATENT), vae_encoder.output_shape
assert vae_decoder.output_shape == (None, *IMAGE_SHAPE), vae_decoder.output_shape

# %% [markdown]
# ### Training the VAE
#
# The `VAE` model below puts your pieces together: its `train_step` encodes a batch,
# samples `z` with your `Sampling` layer, decodes it and minimises your `vae_loss`. It
# tracks the loss and both of its terms, so the history shows how the two pull against
# each other.
#
# **Two changes from the textbook VAE, and why.** Trained the textbook way, this VAE draws
# **grey** shapes: it learns where each shape is and how big, never its colour, for all the
# epochs of the laptop budget (and for ten, we tried), while the CAE above picks the colours
# up after about three. Two things hold it back, and the class below removes both:
#
# * *Noise from the first step.* An untrained encoder outputs numbers near 0, so every code
#   starts with $\log\sigma^2 \approx 0$: noise of standard deviation 1, far larger than the
#   differences between the codes. The decoder learns to ignore the codes' fine detail, and
#   the encoder gets no reason to put the colour in them. The VAE reads the encoder's second
#   half as $\log\sigma^2$ shifted by `LOGVAR_SHIFT = -5`, so codes start with $\sigma \approx 0.08$;
#   the KL term still pulls $\sigma$ towards 1 wherever the decoder does not need precision.
# * *The scale of the loss.* Your `vae_loss` sums over the 12,288 values of an image, as the
#   ELBO does; the CAE's Keras loss averages them. Adam is nearly indifferent to the scale of
#   a loss, but not quite: its `epsilon` (1e-7) damps the weights whose gradients are tiny and
#   noisy, and a summed loss makes every gradient 12,288 times larger, so nothing is damped and
#   the noise of batch-8 gradients drowns the weak early signal of the colours. (The CAE
#   trained on a summed loss stays grey too.) `train_step` takes the gradient of the loss per
#   value: the same optimum, another path. The history still reports the summed terms.
#
# Either change alone left the shapes grey in our runs; with both, the VAE keeps about as much colour as
# the CAE (`colour_kept` below measures it).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "37089f30c2a8aecc7a89005fa28f8176", "grade": false, "grade_id": "vae_class", "locked": true, "schema_version": 3, "solution": false}
LOGVAR_SHIFT = -5.0   # the VAE reads the encoder's second half as log sigma^2 - LOGVAR_SHIFT (see above)


def _images(data):
    """The images of a batch: fit(x) hands over x, or a tuple (x, ...)."""
    return data[0] if isinstance(data, (tuple, list)) else data


class VAE(keras.Model):
    """encoder: images -> (N, 2 * latent_dim) [mu | logvar]; decoder: (N, latent_dim) -> images.
    fit() tracks `loss`, `reconstruction` and `kl` (your vae_loss and kl_divergence)."""

    def __init__(self, encoder, decoder, kl_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder, self.kl_weight = encoder, decoder, kl_weight
        self.sampling = Sampling(seed=SEED)
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss", "reconstruction", "kl")]

    @property
    def metrics(self):
        return self.trackers

    def encode(self, x, training=False):
        """Images (N, h, w, c) -> mu (N, d), logvar (N, d): the encoder's halves, the second shifted."""
        mu, logvar = ops.split(self.encoder(x, training=training), 2, axis=-1)
        return mu, logvar + LOGVAR_SHIFT

    def reconstruct(self, x):
        """The decoded means: a deterministic reconstruction (N, h, w, c)."""
        return self.decoder(self.encode(x)[0])

    def call(self, x, training=False):
        mu, logvar = self.encode(x, training)
        return self.decoder(self.sampling([mu, logvar]), training=training)

    def _step(self, x, training):
        mu, logvar = self.encode(x, training)
        x_hat = self.decoder(self.sampling([mu, logvar]), training=training)
        loss = vae_loss(x, x_hat, mu, logvar, self.kl_weight)
        kl = kl_divergence(mu, logvar)
        return loss, loss - self.kl_weight * kl, kl

    def _report(self, values):
        for tracker, value in zip(self.trackers, values):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.trackers}

    def train_step(self, data):
        x = _images(data)
        with tf.GradientTape() as tape:
            values = self._step(x, training=True)
            per_value = values[0] / math.prod(x.shape[1:])      # the loss per pixel value (see above)
        grads = tape.gradient(per_value, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._report(values)

    def test_step(self, data):
        return self._report(self._step(_images(data), training=False))


def train_vae(encoder, decoder, x, x_val, epochs, batch_size, learning_rate=VAE_LR, kl_weight=KL_WEIGHT):
    """A VAE around encoder and decoder, trained on x with x_val for validation: (vae, history)."""
    vae = VAE(encoder, decoder, kl_weight=kl_weight)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    history = vae.fit(x, validation_data=(x_val,), epochs=epochs, batch_size=batch_size, verbose=0,
                      callbacks=[TqdmCallback(verbose=0)])
    return vae, history

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "b8050d95dfe99b306b3cbfa571cf71d0", "grade": false, "grade_id": "run_vae", "locked": true, "schema_version": 3, "solution": false}
keras.utils.set_random_seed(SEED)
vae_encoder, vae_decoder = build_vae_networks(IMAGE_SHAPE, VAE_LATENT, N_LAYERS, FILTERS)
vae, vae_history = train_vae(vae_encoder, vae_decoder, x_train, x_test, EPOCHS["vae"], VAE_BATCH)
logs = vae_history.history
print(f"VAE after {len(logs['loss'])} epoch(s): reconstruction {logs['reconstruction'][-1]:.1f}, "
      f"KL {logs['kl'][-1]:.1f} (per image, summed); test loss {logs['val_loss'][-1]:.1f}")
plots.plot_history(vae_history, metrics=("reconstruction", "kl"), title="VAE: the two terms of the loss");

# %% [markdown]
# How do its reconstructions compare with the autoencoder's, and what do random codes
# from the prior decode to? (For the VAE we decode $\mu$, the centre of each code's
# Gaussian.)

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "a85daa06409364944b2fe1788efbe241", "grade": false, "grade_id": "vae_figures", "locked": true, "schema_version": 3, "solution": false}
originals = x_test[:8]
test_codes = vae_encoder.predict(x_test, verbose=0)[:, :VAE_LATENT]               # mu of each test image, (N, d)
reconstructions = {"CAE": cae.predict(x_test, verbose=0), "VAE": vae_decoder.predict(test_codes, verbose=0)}
colour = {name: colour_kept(x_test, images) for name, images in reconstructions.items()}   # 1: all of it, 0: grey
print("colour kept in the test reconstructions: " + ", ".join(f"{name} {c:.0%}" for name, c in colour.items()))
plots.show_rows([originals] + [images[:8] for images in reconstructions.values()], ["test image", *reconstructions])
prior = sample_latents(16, VAE_LATENT, seed=SEED)
plots.show_rows([vae_decoder.predict(prior, verbose=0), cae_decoder.predict(prior, verbose=0)],
                ["VAE decoder", "CAE decoder"], size=0.8)
plt.suptitle("decoding random codes z ~ N(0, I)", y=1.02);

# %% [markdown]
# **What a healthy run looks like** (the reference solution on a 2-core laptop, on this
# budget): the CAE keeps about 43% of the colour, the VAE about 41%; both put each shape in its
# place, the VAE's edges softer. Random codes decode to plausible shapes with the VAE and to
# smudges with the CAE. A VAE at 0% (grey shapes) while the CAE keeps colour, or the same image
# for every input, points to a bug: a KL term far too strong, or codes the decoder never sees.

# %% [markdown] course={"refers_to": ["cae", "run_vae", "vae_figures"]} deletable=false editable=false nbgrader={"cell_type": "markdown", "checksum": "38ccc910ca95ecc4b3039128a1974899", "grade": false, "grade_id": "q_ae_vs_vae", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": true}
# **Question 1 (3 points).** Compare the reconstructions of the autoencoder and of the
# VAE, and what their decoders make of random codes $z \sim \mathcal N(0, I)$. Why are VAE
# reconstructions usually blurrier, and what does the KL term do to the latent space (use
# your plot of the two loss terms)?
#

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown]
# ## 4. A generative adversarial network (DCGAN)
#
# A GAN trains a **generator** $G$, which turns noise $z \sim \mathcal N(0, I)$ into an image,
# against a **discriminator** $D$, which tells real images from generated ones. Neither is
# ever shown a "correct" output: $D$ learns from real and fake examples, and $G$ learns from
# $D$'s gradients how to make its images look more real. The course's DCGAN uses the same
# builders: the discriminator is a conv net with one sigmoid output, the generator a deconv
# net from a `GAN_LATENT`-d (256-d) latent vector. Here are the shapes, layer by layer:

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "c0cfbd97b31ecf57fb801fa71953daf0", "grade": false, "grade_id": "gan_networks", "locked": true, "schema_version": 3, "solution": false}
def build_gan_networks(image_shape, latent_dim, n_layers, filters):
    """(discriminator, generator): images -> (N, 1) P(real); (N, latent_dim) -> images in [0, 1].

    As in DCGAN: LeakyReLU (slope 0.2) and dropout in the discriminator, BatchNorm + ReLU in the
    generator. With plain ReLU and no normalisation, the discriminator wins at once on these mostly
    black images and the generator's samples stay black."""
    discriminator = build_conv_net(image_shape, 1, n_layers, filters, out_activation="sigmoid",
                                   activation="leaky_relu", dropout=0.3)
    generator = build_deconv_net(latent_dim, image_shape, n_layers, filters, activation_out="sigmoid",
                                 batch_norm=True)
    return discriminator, generator


def print_shapes(*models):
    """The activation shapes of each model, one layer a line, and its parameter count."""
    for model in models:
        print(f"{model.name}: {model.count_params():,} parameters")
        for layer, shape in activation_shapes(model):
            print(f"    {layer:<10} {str(shape):<22}")


discriminator, generator = build_gan_networks(IMAGE_SHAPE, GAN_LATENT, N_LAYERS, FILTERS)
print_shapes(generator, discriminator)

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "556f8128e6d982a3bc9569269b1fe042", "grade": false, "grade_id": "gan_networks_shapes", "locked": true, "schema_version": 3, "solution": false}
assert generator.output_shape == (None, *IMAGE_SHAPE) and discriminator.output_shape == (None, 1)


# %% [markdown]
# ### One round of the game
#
# Write the GAN's `train_step`, which gets a batch of real images `(N, h, w, c)` and plays
# one round:
#
# 1. **The discriminator.** Draw `N` latent vectors (`keras.random.normal(...,
#    seed=self.seed_generator)`), generate `N` fake images, and train $D$ on the real and the
#    fake images together. **Label convention:** $D$ outputs the probability that an image
#    is *real*; real images have label **1**, generated ones label **0**. Compute
#    `self.loss_fn(labels, D(images))` under a `tf.GradientTape` and update **only**
#    `self.discriminator.trainable_weights` with `self.d_optimizer`.
# 2. **The generator, through the discriminator.** Draw fresh latent vectors, generate
#    images and let $D$ judge them, this time with the label **1** ("real"): $G$ is rewarded
#    when it fools $D$ (the *non-saturating* generator loss). Differentiate through $D$, but
#    update **only** `self.generator.trainable_weights`, with `self.g_optimizer`.
# 3. Record both losses in the trackers and return `{"d_loss": ..., "g_loss": ...}`.
#
# Use `optimizer.apply_gradients(zip(grads, weights))`. The two optimizers and `loss_fn`
# (binary cross-entropy) are given to `compile`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "7836e6f7ad0eeb9cfced95dcb1a58afd", "grade": false, "grade_id": "gan_class", "locked": false, "schema_version": 3, "solution": true}
class GAN(keras.Model):
    """DCGAN. discriminator: images (N, h, w, c) -> (N, 1), P(real); generator: (N, latent_dim) -> images.
    fit() tracks `d_loss` and `g_loss`."""

    def __init__(self, discriminator, generator, latent_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.discriminator, self.generator, self.latent_dim = discriminator, generator, latent_dim
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
        real = _images(data)                    # (N, h, w, c)
        n = ops.shape(real)[0]
        # YOUR CODE HERE
        raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "3cf05f616714e0bd5cf3a019cfa4e7dd", "grade": true, "grade_id": "test_gan_train_step", "locked": true, "points": 3, "schema_version": 3, "solution": false}
_d, _g = build_gan_networks((16, 16, 1), 8, 2, 8)
_gan = GAN(_d, _g, latent_dim=8)
_gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
             loss_fn=keras.losses.BinaryCrossentropy())
_logs = _gan.train_step(ops.convert_to_tensor(np.random.default_rng(0).random((8, 16, 16, 1)), "float32"))
assert {"d_loss", "g_loss"} <= set(_logs), "return a dict with 'd_loss' and 'g_loss'"
assert np.isfinite(float(_logs["d_loss"])) and np.isfinite(float(_logs["g_loss"]))

# %% [markdown]
# ### Training the DCGAN
#
# GAN losses say little about image quality (each network's loss depends on the other), so
# we *look*: every few epochs the callback below draws an 8x8 mosaic from the **same** 64
# latent vectors and saves it in `gan_mosaics/`. Watching one latent vector's image
# change from mosaic to mosaic shows how the generator evolves. On a laptop budget a GAN
# may not get far: if the mosaics stay uniform (all black, say) while `d_loss` heads to 0,
# the discriminator has won the game and the generator gets no useful gradient any more;
# keep that run, it is evidence for Question 3.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "73cbc99db4865fa69b814415b1c203fe", "grade": false, "grade_id": "run_gan", "locked": true, "schema_version": 3, "solution": false}
MOSAIC_DIR = Path("gan_mosaics")
SIDE = GEN["mosaic_side"]
FIXED_Z = sample_latents(SIDE * SIDE, GAN_LATENT, seed=SEED)    # the same latents for every mosaic


class MosaicCallback(keras.callbacks.Callback):
    """Every `every` epochs (and after the last), an image_grid of generator(FIXED_Z), kept and saved."""

    def __init__(self, generator, z, every, prefix):
        super().__init__()
        self.generator_net, self.z, self.every, self.prefix = generator, z, every, prefix
        self.mosaics, self.epochs = [], []

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every == 0 or done == self.params["epochs"]:
            mosaic = image_grid(self.generator_net.predict(self.z, verbose=0), SIDE, SIDE)
            MOSAIC_DIR.mkdir(exist_ok=True)
            plt.imsave(MOSAIC_DIR / f"{self.prefix}_epoch{done:03d}.png", np.clip(mosaic.squeeze(), 0, 1),
                       cmap="gray" if mosaic.shape[-1] == 1 else None)
            self.mosaics.append(mosaic)
            self.epochs.append(done)


def train_gan(x, image_shape, epochs, learning_rate=GAN_LR, filters=FILTERS, n_layers=N_LAYERS,
              prefix="gan", every=GEN["mosaic_every"]):
    """A fresh DCGAN trained on x: (gan, history, mosaic callback)."""
    keras.utils.set_random_seed(SEED)
    d, g = build_gan_networks(image_shape, GAN_LATENT, n_layers, filters)
    gan = GAN(d, g, GAN_LATENT, seed=SEED)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=GAN_BETA_1),
                g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=GAN_BETA_1),
                loss_fn=keras.losses.BinaryCrossentropy())
    mosaics = MosaicCallback(g, FIXED_Z, every, prefix)
    history = gan.fit(x, epochs=epochs, batch_size=GAN_BATCH, verbose=0,
                      callbacks=[mosaics, TqdmCallback(verbose=0)])
    return gan, history, mosaics


gan, gan_history, gan_mosaics = train_gan(x_train, IMAGE_SHAPE, EPOCHS["gan"])
generator, discriminator = gan.generator, gan.discriminator
print(f"saved {len(gan_mosaics.mosaics)} mosaic(s) in {MOSAIC_DIR}/")
plots.show_images(gan_mosaics.mosaics[-4:], titles=[f"epoch {e}" for e in gan_mosaics.epochs[-4:]],
                  columns=min(4, len(gan_mosaics.mosaics)), size=3.2)
plots.plot_history(gan_history, metrics=("d_loss", "g_loss"), title="DCGAN losses");

# %% [markdown]
# **Healthy:** the first mosaic is blurry blobs, the last one shapes of different colours and
# sizes on black (not all alike); `d_loss` stays well away from 0 and `g_loss` from growing
# without bound. A mosaic that stays one uniform colour while `d_loss` heads to 0 is the
# discriminator winning (see above).

# %% [markdown]
# ### How sensitive is the game to the learning rate?
#
# Train two short GANs from the same start, one per learning rate of the course config, and
# compare their losses and images.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "4479a20c1059602c1e6399a9e3502add", "grade": false, "grade_id": "gan_lr", "locked": true, "schema_version": 3, "solution": false}
lr_runs = {}
for lr in GEN["gan"]["lr_comparison"]:
    _, history, mosaics = train_gan(x_train, IMAGE_SHAPE, EPOCHS["gan_lr"], learning_rate=lr,
                                    prefix=f"lr{lr:g}", every=EPOCHS["gan_lr"])
    lr_runs[f"lr {lr:g}"] = (history, mosaics.mosaics[-1])
    print(f"lr {lr:g}: d_loss {history.history['d_loss'][-1]:.3f}, g_loss {history.history['g_loss'][-1]:.3f}")
plots.plot_histories({name: h for name, (h, _) in lr_runs.items()}, metrics=("d_loss", "g_loss"),
                     title=f"DCGAN, {EPOCHS['gan_lr']} epoch(s) per learning rate")
plots.show_images([m for _, m in lr_runs.values()], titles=list(lr_runs), columns=len(lr_runs), size=3.2);

# %% [markdown]
# **Healthy:** the two runs differ visibly. At the course's rate the losses stay in the same
# range as above; at the ten times larger one they swing far more from step to step, and its
# mosaic is noisier or collapsed. Both are valid evidence for Question 3; what matters is that
# you describe what *your* runs did.

# %% [markdown] deletable=false editable=false nbgrader={"cell_type": "markdown", "checksum": "25680539d01fe5317478aba7a8d0abef", "grade": false, "grade_id": "q_principles", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": true}
# **Question 2 (3 points).** Explain the working principle of each of the three models you
# trained: the autoencoder, the VAE and the GAN. For each: what is trained, on which
# objective, and how does one get a new image out of it (if one can)?
#

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown] course={"refers_to": ["run_gan", "gan_lr"]} deletable=false editable=false nbgrader={"cell_type": "markdown", "checksum": "1b7620ffe4ac60ddefba8c4878b87c44", "grade": false, "grade_id": "q_gan_fragility", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": true}
# **Question 3 (3 points).** GAN training is known to be fragile. Explain why, naming mode
# collapse and the non-stationary game between the two networks, and what the balance
# between generator and discriminator has to do with it. Use your learning-rate comparison
# and your loss curves: what happened at each learning rate?
#

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown]
# ## 5. Walking through the latent spaces
#
# A generative model's latent space has structure: nearby codes decode to similar images.
# Three ways to look at it:
#
# * **Scaling and truncation.** Codes far from the origin are rare under $\mathcal N(0, I)$,
#   so the decoder saw few of them. `sample_latents(n, d, scale=s)` draws $s \cdot z$, and
#   `truncation=t` redraws every entry with $|z_j| > t$: *fewer but more typical* samples.
# * **Scaling one code.** `scale_latent(z, factors)` returns the rows $t \cdot z$ for each
#   factor $t$: from the origin ($t = 0$) through the code itself ($t = 1$) and beyond.
# * **Interpolation.** `interpolate(z_a, z_b, steps)` returns `steps` evenly spaced points
#   on the straight line from $z_a$ to $z_b$, **both endpoints included**: row 0 is $z_a$, the
#   last row is $z_b$.
#
# Write both functions with NumPy: `z`, `z_a`, `z_b` are vectors `(d,)`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "29520267c868c09bf8589002ae6e7e75", "grade": false, "grade_id": "latent_tools", "locked": false, "schema_version": 3, "solution": true}
def scale_latent(z, factors):
    """z (d,) scaled by each factor: (len(factors), d), row i = factors[i] * z."""
    # YOUR CODE HERE
    raise NotImplementedError()


def interpolate(z_a, z_b, steps):
    """steps evenly spaced points from z_a to z_b (d,), both included: (steps, d)."""
    # YOUR CODE HERE
    raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "e7e7020730c020a15ed606d9b1b1f490", "grade": true, "grade_id": "test_latent_scaling", "locked": true, "points": 2, "schema_version": 3, "solution": false}
assert np.allclose(scale_latent(np.array([1.0, -2.0]), [0, 2]), [[0, 0], [2, -4]])
assert scale_latent(np.ones(5), [0.5, 1.0, 2.0]).shape == (3, 5)

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "6719a03c0949a50857dde20b538ce1f3", "grade": true, "grade_id": "test_interpolation", "locked": true, "points": 2, "schema_version": 3, "solution": false}
line = interpolate(np.zeros(3), np.ones(3), 5)
assert line.shape == (5, 3), line.shape
assert np.allclose(line[:, 0], [0, 0.25, 0.5, 0.75, 1]), "evenly spaced, both endpoints included"

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "4b629af3801d8d0e8bca74daebcae98e", "grade": false, "grade_id": "prior_samples", "locked": true, "schema_version": 3, "solution": false}
STEPS = GEN["strip_steps"]
settings = {"scale 0.5": dict(scale=0.5), "scale 1": dict(scale=1.0), "scale 2": dict(scale=2.0),
            "truncated at 1": dict(truncation=1.0)}
rows = {name: vae_decoder.predict(sample_latents(STEPS, VAE_LATENT, seed=SEED, **kw), verbose=0)
        for name, kw in settings.items()}
plots.show_rows(list(rows.values()), list(rows), size=0.9)
plt.suptitle("VAE: decoded samples of N(0, I), scaled or truncated (same seed in every row)", y=1.02);

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "2b75b1bc3b98497b74eb650a148ab728", "grade": false, "grade_id": "latent_strips", "locked": true, "schema_version": 3, "solution": false}
mu_test = ops.convert_to_numpy(vae.encode(x_test[:2])[0])        # the codes of two test images, (2, d)
factors = np.linspace(0, 3, STEPS)
strips = {
    "VAE: t * z": vae_decoder.predict(scale_latent(mu_test[0], factors), verbose=0),
    "VAE: z_a -> z_b": vae_decoder.predict(interpolate(mu_test[0], mu_test[1], STEPS), verbose=0),
}
z_a, z_b = sample_latents(2, GAN_LATENT, seed=SEED + 1)
strips["GAN: z_a -> z_b"] = generator.predict(interpolate(z_a, z_b, STEPS), verbose=0)
strips["GAN: t * z_a"] = generator.predict(scale_latent(z_a, factors), verbose=0)
plots.show_rows(list(strips.values()), list(strips), size=0.9)
plt.suptitle(f"scaling (t = {', '.join(f'{t:.2g}' for t in factors)}) and interpolation", y=1.02)
plots.show_rows([x_test[:2]], ["VAE's z_a, z_b\nencode these"], size=0.9);

# %% [markdown]
# # Part B: Fashion-MNIST
#
# The same ideas on a real dataset: 28x28 grey images of ten kinds of clothing. We use a
# part of the 60,000 training and 10,000 test images (the budget says how many).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "f47c1f55a84cc07ad60dbb8ea5f92be0", "grade": false, "grade_id": "fashion_data", "locked": true, "schema_version": 3, "solution": false}
(fx_train, fy_train), (fx_test, fy_test) = load_fashion_mnist()
fx_train = (fx_train[: SIZES["fashion_train"], ..., None] / 255).astype(np.float32)    # (N, 28, 28, 1)
fx_test = (fx_test[: SIZES["fashion_test"], ..., None] / 255).astype(np.float32)
FASHION_SHAPE, FASHION_LATENT = fx_train.shape[1:], GEN["fashion"]["latent_dim"]
print(f"Fashion-MNIST: train {fx_train.shape}, test {fx_test.shape}")
plots.show_images(fx_train[:16, ..., 0], columns=8, size=0.9);

# %% [markdown]
# ## 6. Dense or convolutional?
#
# Two autoencoders with the same `FASHION_LATENT`-d (128-d) code: one with only Dense layers (it sees the image
# as 784 unrelated numbers), one with only convolutions (it knows which pixels are
# neighbours, and shares its weights across the image). We track the reconstruction error
# (binary cross-entropy per pixel) on the training and on the test images after every epoch.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "570f03b7fd4595bbff05719caf24432c", "grade": false, "grade_id": "fashion_autoencoders", "locked": true, "schema_version": 3, "solution": false}
ae_histories, autoencoders = {}, {}
for name, build in (("dense", build_dense_autoencoder), ("CNN", build_cnn_autoencoder)):
    keras.utils.set_random_seed(SEED)
    autoencoder, _, _ = build(FASHION_SHAPE, latent_dim=FASHION_LATENT)
    ae_histories[name] = autoencoder.fit(fx_train, fx_train, validation_data=(fx_test, fx_test),
                                         epochs=EPOCHS["fashion_ae"], batch_size=GEN["fashion"]["batch_size"],
                                         verbose=0, callbacks=[TqdmCallback(verbose=0)])
    autoencoders[name] = autoencoder
    print(f"{name:>5} autoencoder: {autoencoder.count_params():>7,} parameters, test reconstruction "
          f"{ae_histories[name].history['val_loss'][-1]:.4f}")
plots.plot_histories(ae_histories, metrics=("loss",), title="reconstruction error: train (solid), test (dashed)")
plots.show_rows([fx_test[:10]] + [ae.predict(fx_test[:10], verbose=0) for ae in autoencoders.values()],
                ["test image"] + list(autoencoders), size=0.9);

# %% [markdown]
# ## 7. A VAE grown from the CNN autoencoder
#
# Turn the convolutional autoencoder into a `FASHION_LATENT`-d VAE. Its encoder must output
# $\mu$ and $\log\sigma^2$ side by side, `2 * FASHION_LATENT` numbers, so: take the **encoder** of a CNN autoencoder
# with a code of `2 * latent_dim` and the **decoder** of one with a code of `latent_dim`
# (`build_cnn_autoencoder` returns `(autoencoder, encoder, decoder)`). The VAE model and
# your loss do the rest.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "7d128d7085df918e10aac12ac827d0c1", "grade": false, "grade_id": "fashion_vae_networks", "locked": false, "schema_version": 3, "solution": true}
def grow_vae_from_cnn(image_shape, latent_dim):
    """(encoder, decoder) of a VAE from build_cnn_autoencoder: images -> (N, 2 * latent_dim);
    (N, latent_dim) -> images in [0, 1]."""
    # YOUR CODE HERE
    raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "c2e0104d7f8c65d5e7dc362b2e680577", "grade": true, "grade_id": "test_fashion_vae_networks", "locked": true, "points": 2, "schema_version": 3, "solution": false}
f_encoder, f_decoder = grow_vae_from_cnn(FASHION_SHAPE, FASHION_LATENT)
assert f_encoder.output_shape == (None, 2 * FASHION_LATENT), f_encoder.output_shape

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "9dc191238544c519573c7f89aa0683de", "grade": false, "grade_id": "run_fashion_vae", "locked": true, "schema_version": 3, "solution": false}
keras.utils.set_random_seed(SEED)
f_encoder, f_decoder = grow_vae_from_cnn(FASHION_SHAPE, FASHION_LATENT)
f_vae, f_vae_history = train_vae(f_encoder, f_decoder, fx_train, fx_test, EPOCHS["fashion_vae"],
                                 GEN["fashion"]["batch_size"])
plots.plot_history(f_vae_history, metrics=("reconstruction", "kl"), title="Fashion-MNIST VAE")
plots.show_rows([fx_test[:10], ops.convert_to_numpy(f_vae.reconstruct(fx_test[:10])),
                 f_decoder.predict(sample_latents(10, FASHION_LATENT, seed=SEED), verbose=0)],
                ["test image", "VAE", "from N(0, I)"], size=0.9);

# %% [markdown]
# ## 8. A DCGAN on Fashion-MNIST
#
# Write `build_fashion_gan_networks`: the DCGAN's discriminator and generator for 28x28x1
# images, from the same builders. Only **2** stride-2 layers fit (28 = 7 x 2 x 2; a third
# would need 3.5x3.5 feature maps). The discriminator outputs $P(\text{real})$, the generator
# images in [0, 1].
#
# Two tips, both from practice. Give them the DCGAN layers of part A's `build_gan_networks`
# (LeakyReLU and dropout in the discriminator, BatchNorm in the generator). And let the
# generator double its size by **resizing and then convolving** (`upsampling="nearest"`)
# rather than by a stride-2 transposed convolution: a 3x3 transposed convolution with stride 2
# gives alternate pixels 1, 2 or 4 kernel taps, and after a few epochs that unevenness shows as
# a **checkerboard** on every garment (it did in this notebook's first release: a Fréchet score
# of 28.5, against about 10 now, and silhouettes hard to tell apart). Resizing spreads each pixel
# evenly. ([Odena et al., *Deconvolution and checkerboard artifacts*, Distill
# 2016](https://distill.pub/2016/deconv-checkerboard/).)

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "4ab8c1ae2b3d93b5c23488760f8ceda3", "grade": false, "grade_id": "fashion_gan_networks", "locked": false, "schema_version": 3, "solution": true}
def build_fashion_gan_networks(image_shape, latent_dim, filters):
    """(discriminator, generator) for 28x28 images: images -> (N, 1) P(real); (N, latent_dim) -> images."""
    # YOUR CODE HERE
    raise NotImplementedError()

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "34efb3ef134515ef3b044068f921e1dd", "grade": true, "grade_id": "test_fashion_gan_networks", "locked": true, "points": 2, "schema_version": 3, "solution": false}
f_discriminator, f_generator = build_fashion_gan_networks(FASHION_SHAPE, GAN_LATENT, SIZES["fashion_filters"])
assert f_generator.output_shape == (None, *FASHION_SHAPE), f_generator.output_shape
assert f_discriminator.output_shape == (None, 1), f_discriminator.output_shape

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "6ee2e2055ae26fd43ff8910a98f9ff59", "grade": false, "grade_id": "run_fashion_gan", "locked": true, "schema_version": 3, "solution": false}
keras.utils.set_random_seed(SEED)
f_discriminator, f_generator = build_fashion_gan_networks(FASHION_SHAPE, GAN_LATENT, SIZES["fashion_filters"])
f_gan = GAN(f_discriminator, f_generator, GAN_LATENT, seed=SEED)
f_gan.compile(d_optimizer=keras.optimizers.Adam(GAN_LR, beta_1=GAN_BETA_1),
              g_optimizer=keras.optimizers.Adam(GAN_LR, beta_1=GAN_BETA_1),
              loss_fn=keras.losses.BinaryCrossentropy())
f_mosaics = MosaicCallback(f_generator, FIXED_Z, GEN["mosaic_every"], "fashion_gan")
f_gan_history = f_gan.fit(fx_train, epochs=EPOCHS["fashion_gan"], batch_size=GEN["fashion"]["gan_batch_size"], verbose=0,
                          callbacks=[f_mosaics, TqdmCallback(verbose=0)])
plots.plot_history(f_gan_history, metrics=("d_loss", "g_loss"), title="Fashion-MNIST DCGAN losses")
plots.show_images([m[..., 0] for m in f_mosaics.mosaics[-4:]], titles=[f"epoch {e}" for e in f_mosaics.epochs[-4:]],
                  columns=min(4, len(f_mosaics.mosaics)), size=3.2);

# %% [markdown]
# ## 9. How good are the samples? A Fréchet score
#
# Looking at samples is subjective. The **Fréchet Inception Distance** (FID) puts a number on
# it: feed real and generated images through a trained classifier, take the activations of a
# late layer as *features*, fit a Gaussian to each set of features, and measure the Fréchet
# distance between the two Gaussians,
# $\|\mu_r - \mu_g\|^2 + \operatorname{tr}\big(\Sigma_r + \Sigma_g - 2(\Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2})^{1/2}\big)$.
# It compares both *quality* (the means: do the features look like real ones?) and
# *diversity* (the covariances: is the spread as wide as the real data's?). `frechet_score`
# does this with a small CNN trained on Fashion-MNIST instead of Inception (trained once and
# cached, about a minute the first time). Lower is better, 0 means identical statistics; the
# value depends on the number of images, so compare only sets of equal size, and read it
# against the score of **real training images** against the test images: the best a model
# could hope for.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "7ab0b0995e8e25f326539eb1aae5a110", "grade": false, "grade_id": "frechet", "locked": true, "schema_version": 3, "solution": false}
extractor = load_feature_classifier(max_train_examples=SIZES["feature_examples"])
n = min(SIZES["frechet_samples"], len(fx_test), len(fx_train))
samples = {
    "real (train)": fx_train[-n:],
    "VAE": f_decoder.predict(sample_latents(n, FASHION_LATENT, seed=SEED), verbose=0),
    "GAN": f_generator.predict(sample_latents(n, GAN_LATENT, seed=SEED), verbose=0),
}
scores = {name: frechet_score(images, fx_test[:n], extractor) for name, images in samples.items()}
for name, score in scores.items():
    print(f"Fréchet score of {n} {name} images against {n} test images: {score:8.2f}")
plots.show_rows([images[:10] for images in samples.values()],
                [f"{name}\nFréchet {scores[name]:.1f}" for name in samples], size=0.9);

# %% [markdown]
# **Healthy** (the reference on a 2-core laptop, 2,000 images per set): real images score
# about 0.4, the VAE about 105, the DCGAN about 10. Scores are comparable only between sets of
# the same size scored with the same feature network. A DCGAN far above the VAE after all its
# epochs has collapsed or not trained: look at its mosaics.

# %% [markdown]
# The Fréchet score measures how far the *distribution* of generated images is from that of
# real ones, in the feature space of a classifier: a sample set scores well only if its
# images look like clothing to the classifier *and* are as varied as the real ones; it says
# nothing about any single image, and it is only comparable between sets of the same size
# scored with the same feature network.

# %% [markdown] course={"refers_to": ["run_fashion_vae", "run_fashion_gan", "frechet"]} deletable=false editable=false nbgrader={"cell_type": "markdown", "checksum": "19162e01d554becbc6c8ee21e207d23f", "grade": false, "grade_id": "q_vae_vs_gan", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": true}
# **Question 4 (3 points).** Compare the VAE and the GAN on Fashion-MNIST and on the 64x64
# images: sample quality (sharpness), diversity, whether the model gives a likelihood (or a
# bound on it), and how stable the training was. Use your samples and Fréchet scores; what
# does the Fréchet score capture, and what does it miss?
#

# %% [markdown]
# YOUR ANSWER HERE

# %% [markdown] deletable=false editable=false nbgrader={"cell_type": "markdown", "checksum": "ba4bfe59b9e185475150c6081c951a15", "grade": false, "grade_id": "q_diffusion", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": true}
# **Question 5 (3 points).** Diffusion models now generate most state-of-the-art images.
# Explain how they work (the forward and the reverse process, what the network learns and
# how a sample is made) and what they cost compared with a VAE or a GAN.
#

# %% [markdown]
# YOUR ANSWER HERE
