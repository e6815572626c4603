"""Building blocks of the generative-models assignment (given to students).

Convolutional networks for autoencoders, VAEs and GANs, two autoencoders for
the Fashion-MNIST practical, and helpers to explore a latent space:

    encoder = build_conv_net((64, 64, 3), 2 * 64, out_activation=None)  # (N, 64, 64, 3) -> (N, 128)
    decoder = build_deconv_net(64, (64, 64, 3))                         # (N, 64) -> (N, 64, 64, 3)
    z = sample_latents(16, 64, seed=0, truncation=2.0)                  # (16, 64)
    mosaic = image_grid(decoder.predict(z), 4, 4)                       # (256, 256, 3)
    colour_kept(images, decoder.predict(encoder.predict(images)))      # 1: all colour kept, 0: grey

Every convolution is 3x3 with "same" padding, so a stride-2 layer halves the
height and width (rounding up) and a stride-2 transposed convolution doubles them.
"""

import numpy as np

ACTIVATIONS = ("relu", "leaky_relu")
LEAKY_SLOPE = 0.2  # the slope of "leaky_relu" for x < 0, as in DCGAN
# Momentum of the moving mean and variance of batch_norm=True layers. Low, so that they follow
# the batch statistics within a few steps: a GAN whose discriminator step calls the generator
# with training=False then sees the same images as the generator's own step (with Keras's 0.99
# the two differ for hundreds of steps; the discriminator learns to reject the inference-mode
# images while the training-mode ones fool it, d_loss and g_loss both -> 0, grey noise).
BN_MOMENTUM = 0.5


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def _add_activation(model, activation, batch_norm, dropout, name):
    """Append [BatchNorm] -> activation [-> Dropout] to model (each keeps the shape)."""
    from keras import layers

    if batch_norm:
        model.add(layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn"))
    if activation == "leaky_relu":
        model.add(layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"{name}_leaky_relu"))
    else:
        model.add(layers.ReLU(name=f"{name}_relu"))
    if dropout:
        model.add(layers.Dropout(dropout, name=f"{name}_dropout"))


def _filters(filters, filter_growth, n_layers):
    """Filters of each of n layers: filters, filters*growth, filters*growth**2, ..."""
    if filters < 1 or filter_growth < 1:
        raise ValueError(f"filters ({filters}) and filter_growth ({filter_growth}) must be >= 1")
    return [int(filters * filter_growth**i) for i in range(n_layers)]


def build_conv_net(in_shape, out_shape, n_downsampling_layers=4, filters=128, out_activation="sigmoid",
                   *, filter_growth=1, activation="relu", batch_norm=False, dropout=0.0):
    """Encoder or discriminator: images (N, *in_shape) -> (N, out_shape).

    n stride-2 3x3 ReLU convolutions, then Flatten and a Dense layer of
    `out_shape` units (an int, or a shape such as (1,) or (8, 8)) with
    `out_activation` (None: linear, e.g. for the mean and log-variance of a VAE).
    Layer i has filters * filter_growth**i filters (filter_growth=2 doubles them).

    For in_shape=(64, 64, 3), 4 layers of 128 filters and out_shape=128:
        (N, 64, 64, 3) -> (N, 32, 32, 128) -> (N, 16, 16, 128) -> (N, 8, 8, 128)
        -> (N, 4, 4, 128) -> Flatten (N, 2048) -> Dense (N, 128)

    Options (keyword-only; the defaults give the plain ReLU network above):
    `activation="leaky_relu"` uses LeakyReLU (slope 0.2) instead of ReLU, as a DCGAN
    discriminator does; `batch_norm=True` puts a BatchNormalization between each
    convolution and its activation; `dropout` > 0 adds Dropout after each activation.
    None of them changes a shape: conv_i (N, h/2, w/2, f) -> [conv_i_bn] -> conv_i_relu
    or conv_i_leaky_relu -> [conv_i_dropout], all (N, h/2, w/2, f).
    """
    import keras
    from keras import layers

    _check_activation(activation)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    out_shape = (out_shape,) if np.ndim(out_shape) == 0 else tuple(out_shape)
    model = keras.Sequential([keras.Input(tuple(in_shape))], name="conv_net")
    plain = activation == "relu" and not batch_norm and not dropout  # the course's default layers
    for i, f in enumerate(_filters(filters, filter_growth, n_downsampling_layers)):
        # (N, h, w, c) -> (N, ceil(h / 2), ceil(w / 2), f)
        if plain:
            model.add(layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}"))
        else:  # no bias before BatchNorm (its beta replaces it)
            model.add(layers.Conv2D(f, 3, strides=2, padding="same", use_bias=not batch_norm, name=f"conv_{i}"))
            _add_activation(model, activation, batch_norm, dropout, f"conv_{i}")  # same shape
    model.add(layers.Flatten(name="flatten"))  # (N, h * w * f)
    model.add(layers.Dense(int(np.prod(out_shape)), activation=out_activation, name="out"))  # (N, units)
    if len(out_shape) > 1:
        model.add(layers.Reshape(out_shape, name="reshape"))  # (N, *out_shape)
    return model


def max_upsampling_layers(height, width):
    """The most stride-2 upsampling layers that reach (height, width) exactly."""
    n = 0
    while height % 2 ** (n + 1) == 0 and width % 2 ** (n + 1) == 0:
        n += 1
    return n


UPSAMPLING = ("transpose", "nearest", "bilinear")


def build_deconv_net(latent_dim, out_shape=(64, 64, 3), n_upsampling_layers=4, filters=128,
                     activation_out="sigmoid", *, filter_growth=1, activation="relu", batch_norm=False,
                     upsampling="transpose"):
    """Decoder or generator: latent vectors (N, latent_dim) -> images (N, *out_shape).

    A Dense ReLU layer reshaped to (h / 2**n, w / 2**n, f0), n stride-2 3x3 ReLU
    transposed convolutions that double the size, and a 3x3 convolution to the
    image's channels with `activation_out` ("sigmoid": pixels in [0, 1]).
    The filters mirror `build_conv_net`: the last transposed convolution has
    `filters`, each earlier one filter_growth times more (f0 is the first's).

    For latent_dim=64, out_shape=(64, 64, 3), 4 layers of 128 filters:
        (N, 64) -> Dense (N, 2048) -> Reshape (N, 4, 4, 128) -> (N, 8, 8, 128)
        -> (N, 16, 16, 128) -> (N, 32, 32, 128) -> (N, 64, 64, 128) -> Conv (N, 64, 64, 3)
    For out_shape=(28, 28, 1) use n_upsampling_layers=2: (N, 7, 7, f) -> ... -> (N, 28, 28, 1).

    Options (keyword-only; the defaults give the plain ReLU network above):
    `batch_norm=True` puts a BatchNormalization between the Dense layer and each
    transposed convolution and their activation, as a DCGAN generator does;
    `activation="leaky_relu"` uses LeakyReLU (slope 0.2) instead of ReLU. Neither
    changes a shape: dense (N, h0 * w0 * f0) -> [dense_bn] -> dense_relu, and
    deconv_i (N, 2h, 2w, f) -> [deconv_i_bn] -> deconv_i_relu, each the same shape.
    The output convolution keeps `activation_out` and no normalisation.
    `upsampling="nearest"` (or "bilinear") doubles the size by resizing and then applies a 3x3
    convolution, instead of a stride-2 transposed convolution: upsample_i (N, 2h, 2w, c) ->
    conv_up_i (N, 2h, 2w, f). A stride-2 3x3 transposed convolution adds up overlapping kernels
    unevenly (some output pixels get 4 kernel taps, some 1): the checkerboard patterns of
    a briefly trained generator. Resizing first spreads every input pixel evenly.
    """
    import keras
    from keras import layers

    _check_activation(activation)
    if upsampling not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
    height, width, channels = out_shape
    if height % 2**n_upsampling_layers or width % 2**n_upsampling_layers:
        n_max = max_upsampling_layers(height, width)
        raise ValueError(
            f"out_shape {tuple(out_shape)}: height and width must be divisible by 2**n_upsampling_layers "
            f"= {2**n_upsampling_layers} to be reached by stride-2 upsampling; use n_upsampling_layers="
            f"{n_max} or fewer for this shape ({height} = {height // 2**n_max} * 2**{n_max}), or resize "
            f"the images")
    sizes = _filters(filters, filter_growth, n_upsampling_layers)[::-1]  # most filters first
    h0, w0 = height // 2**n_upsampling_layers, width // 2**n_upsampling_layers
    f0 = sizes[0] if sizes else filters
    plain = activation == "relu" and not batch_norm  # the course's default layers
    model = keras.Sequential([keras.Input((latent_dim,))], name="deconv_net")
    if plain:
        model.add(layers.Dense(h0 * w0 * f0, activation="relu", name="dense"))  # (N, h0 * w0 * f0)
    else:
        model.add(layers.Dense(h0 * w0 * f0, use_bias=not batch_norm, name="dense"))  # (N, h0 * w0 * f0)
        _add_activation(model, activation, batch_norm, 0.0, "dense")  # same shape
    model.add(layers.Reshape((h0, w0, f0), name="reshape"))  # (N, h0, w0, f0)
    for i, f in enumerate(sizes):
        # (N, h, w, c) -> (N, 2h, 2w, f)
        if upsampling == "transpose":
            name = f"deconv_{i}"
            layer = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu" if plain else None,
                                           use_bias=not batch_norm, name=name)
        else:
            name = f"conv_up_{i}"
            model.add(layers.UpSampling2D(2, interpolation=upsampling, name=f"upsample_{i}"))  # (N, 2h, 2w, c)
            layer = layers.Conv2D(f, 3, padding="same", activation="relu" if plain else None,
                                  use_bias=not batch_norm, name=name)
        model.add(layer)
        if not plain:
            _add_activation(model, activation, batch_norm, 0.0, name)  # same shape
    model.add(layers.Conv2D(channels, 3, padding="same", activation=activation_out, name="out"))  # (N, h, w, c)
    return model


# ----------------------------------------------------------------------------
# The two autoencoders of the Fashion-MNIST practical


def _compiled_autoencoder(encoder, decoder, in_shape, name):
    import keras

    inputs = keras.Input(tuple(in_shape))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name=name)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    return autoencoder, encoder, decoder


def build_dense_autoencoder(in_shape=(28, 28, 1), latent_dim=128, hidden=512):
    """Dense-only autoencoder: (autoencoder, encoder, decoder), the first compiled
    (Adam, binary cross-entropy).

    encoder: (N, 28, 28, 1) -> Flatten (N, 784) -> Dense ReLU (N, 512) -> Dense (N, 128)
    decoder: (N, 128) -> Dense ReLU (N, 512) -> Dense sigmoid (N, 784) -> Reshape (N, 28, 28, 1)
    """
    import keras
    from keras import layers

    pixels = int(np.prod(in_shape))
    encoder = keras.Sequential([
        keras.Input(tuple(in_shape)),
        layers.Flatten(),  # (N, pixels)
        layers.Dense(hidden, activation="relu"),  # (N, hidden)
        layers.Dense(latent_dim),  # (N, latent_dim)
    ], name="dense_encoder")
    decoder = keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(hidden, activation="relu"),  # (N, hidden)
        layers.Dense(pixels, activation="sigmoid"),  # (N, pixels) in [0, 1]
        layers.Reshape(tuple(in_shape)),  # (N, *in_shape)
    ], name="dense_decoder")
    return _compiled_autoencoder(encoder, decoder, in_shape, "dense_autoencoder")


def build_cnn_autoencoder(in_shape=(28, 28, 1), latent_dim=128):
    """Convolution-only autoencoder (no Dense layer): (autoencoder, encoder, decoder),
    the first compiled (Adam, binary cross-entropy).

    The latent code is a 4x4 grid of latent_dim / 16 channels, flattened:
    encoder: (N, 28, 28, 1) -> conv s2 (N, 14, 14, 32) -> conv s2 (N, 7, 7, 64)
             -> conv 4x4 valid (N, 4, 4, 8) -> Flatten (N, 128)
    decoder: (N, 128) -> Reshape (N, 4, 4, 8) -> deconv 4x4 valid (N, 7, 7, 64)
             -> deconv s2 (N, 14, 14, 32) -> deconv s2 sigmoid (N, 28, 28, 1)
    Height and width must be multiples of 4 (at least 16); latent_dim a multiple of 16.
    """
    import keras
    from keras import layers

    height, width, channels = in_shape
    if height % 4 or width % 4 or min(height, width) < 16 or latent_dim % 16:
        raise ValueError(f"build_cnn_autoencoder needs height and width multiples of 4 and >= 16 "
                         f"(got {tuple(in_shape)}) and latent_dim a multiple of 16 (got {latent_dim})")
    kernel = (height // 4 - 3, width // 4 - 3)  # (h/4, w/4) -> (4, 4) with "valid" padding
    code = (4, 4, latent_dim // 16)
    encoder = keras.Sequential([
        keras.Input(tuple(in_shape)),
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # (N, h/2, w/2, 32)
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),  # (N, h/4, w/4, 64)
        layers.Conv2D(code[-1], kernel),  # (N, 4, 4, latent_dim / 16)
        layers.Flatten(),  # (N, latent_dim)
    ], name="cnn_encoder")
    decoder = keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Reshape(code),  # (N, 4, 4, latent_dim / 16)
        layers.Conv2DTranspose(64, kernel, activation="relu"),  # (N, h/4, w/4, 64)
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),  # (N, h/2, w/2, 32)
        layers.Conv2DTranspose(channels, 3, strides=2, padding="same", activation="sigmoid"),  # (N, h, w, c)
    ], name="cnn_decoder")
    return _compiled_autoencoder(encoder, decoder, in_shape, "cnn_autoencoder")


# ----------------------------------------------------------------------------
# Exploring a latent space


def sample_latents(n, latent_dim, seed=None, scale=1.0, truncation=None):
    """n latent vectors drawn from N(0, I), times `scale`: float32 (n, latent_dim).

    With `truncation` (> 0), entries with |z| > truncation are drawn again until
    none is left (the truncation trick: fewer, but more typical, samples), before scaling.
    """
    if truncation is not None and truncation <= 0:
        raise ValueError(f"truncation must be > 0 (or None), got {truncation}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim))
    if truncation is not None:
        outside = np.abs(z) > truncation
        while outside.any():
            z[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(z) > truncation
    return (z * scale).astype(np.float32)


def colour_kept(images, reconstructions):
    """How much of the images' colour the reconstructions keep: 1 for the exact colours, 0 for
    grey ones (or colours as far off as grey), below 0 for worse. A pixel's colour is its
    difference from its own grey level (the mean of its channels), so a model that gets the
    brightness right but draws grey scores 0. Both (N, h, w, 3) in [0, 1]; nan for grey images."""
    x, r = np.asarray(images, np.float64), np.asarray(reconstructions, np.float64)
    if x.shape != r.shape or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected two batches of colour images (N, h, w, 3) of one shape, got {x.shape} "
                         f"and {r.shape}")
    colour = x - x.mean(-1, keepdims=True)  # (N, h, w, 3)
    error = (r - r.mean(-1, keepdims=True)) - colour
    total = np.sum(colour**2)
    return float(1 - np.sum(error**2) / total) if total > 0 else float("nan")


def activation_shapes(model):
    """The output shape of every layer, for a table: [(layer name, shape), ...],
    the input first; shapes as tuples with None for the batch, e.g. ("conv_0", (None, 32, 32, 128))."""
    try:
        rows = [("input", tuple(model.inputs[0].shape))]
        rows += [(layer.name, tuple(layer.output.shape)) for layer in model.layers]
    except (AttributeError, ValueError, TypeError, IndexError) as error:
        raise ValueError(f"{model.name} has no defined shapes: give it a keras.Input "
                         f"or call it on data first ({error})") from None
    return rows


def image_grid(images, rows, cols):
    """A mosaic of images, row by row: (N, h, w, c) -> (rows * h, cols * w, c), or
    (N, h, w) -> (rows * h, cols * w). Fewer than rows * cols images leave blank cells."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"expected images of shape (N, h, w) or (N, h, w, c), got {images.shape}")
    if len(images) > rows * cols:
        raise ValueError(f"{len(images)} images do not fit in a {rows}x{cols} grid; pass images[:{rows * cols}]")
    cells = np.zeros((rows * cols, *images.shape[1:]), images.dtype)
    cells[: len(images)] = images
    h, w = images.shape[1:3]
    grid = cells.reshape(rows, cols, h, w, -1).swapaxes(1, 2)  # (rows, h, cols, w, c)
    return grid.reshape(rows * h, cols * w, *images.shape[3:])
