"""Benchmark of the generative-models assignment: autoencoders, VAEs and GANs.

Trains, at the course's full model sizes, on subsets and for few epochs (the whole run
takes about 7 minutes on a 2-core CPU), the reference VAE and DCGAN (course_utils.reference.generative)
on the procedural shapes (64x64x3), and the two given autoencoders
(build_dense_autoencoder, build_cnn_autoencoder), the reference VAE and the
reference DCGAN on Fashion-MNIST (28x28x1); writes bench/results/generative.json:

    {"procedural": {"vae": {..}, "gan": {..}},
     "fashion_mnist": {"dense_ae": {..}, "cnn_ae": {..}, "vae": {..}, "dcgan": {..}},
     "machine": ..., "date": ..., "quick": ...}

Each entry has `epochs`, `seconds_per_epoch` and the sizes used (`train_examples`,
`test_examples`, `batch_size`, `latent_dim`, `filters`, `n_layers` where they apply), and:

* `recon` (autoencoders and VAEs): the test reconstruction error, binary
  cross-entropy SUMMED over an image's pixel values and averaged over the test
  images (the course's `reconstruction_loss`; for a VAE through a sampled z);
* `kl` (VAEs): the test KL divergence of q(z|x) from N(0, I), summed over z;
* `frechet` (VAEs and GANs): `frechet_score` of as many samples from N(0, I)
  as there are test images, against the test images (lower is closer).

    COURSE_DATA_DIR=/path/to/data .venv/bin/python bench/generative.py [--quick]

--quick trains on a few hundred examples for one epoch with few filters: a smoke test
of the script (about a minute), not figures to quote.
"""

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as in grading kernels

import keras  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.data import load_fashion_mnist, make_shapes  # noqa: E402
from course_utils.models.frechet import frechet_score, load_feature_classifier  # noqa: E402
from course_utils.models.generative import (  # noqa: E402
    build_cnn_autoencoder, build_dense_autoencoder, sample_latents,
)
from course_utils.reference import generative as ref  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "generative.json"

# Per model: (train examples, test examples, epochs, batch size, filters); --quick overrides.
# The models are at the course's full sizes (the original builders' 128 filters and the course's
# latent sizes and batch sizes; the Fashion-MNIST DCGAN at the notebook's student-mode 64
# filters); the example counts and epochs keep the whole run near 7 minutes on 2 cores.
CONFIG = {
    ("procedural", "vae"): dict(train=1000, test=500, epochs=3, batch_size=ref.VAE_BATCH_SIZE, filters=ref.VAE_FILTERS,
                                latent_dim=ref.VAE_LATENT_DIM),
    ("procedural", "gan"): dict(train=1000, test=500, epochs=5, batch_size=ref.GAN_BATCH_SIZE, filters=ref.GAN_FILTERS,
                                latent_dim=ref.GAN_LATENT_DIM),
    ("fashion_mnist", "dense_ae"): dict(train=10000, test=2000, epochs=5, batch_size=128, latent_dim=128),
    ("fashion_mnist", "cnn_ae"): dict(train=10000, test=2000, epochs=5, batch_size=128, latent_dim=128),
    ("fashion_mnist", "vae"): dict(train=10000, test=2000, epochs=5, batch_size=128, filters=32, latent_dim=128),
    ("fashion_mnist", "dcgan"): dict(train=10000, test=2000, epochs=5, batch_size=ref.GAN_BATCH_SIZE,
                                     filters=64, latent_dim=ref.GAN_LATENT_DIM),
}
QUICK = dict(train=256, test=128, epochs=1, filters=8)


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def recon_error(x, x_hat, batch_size=500):
    """Binary cross-entropy summed over pixels, mean over images (ref.reconstruction_loss), in batches."""
    total = 0.0
    for i in range(0, len(x), batch_size):
        part = float(ref.reconstruction_loss(x[i:i + batch_size], x_hat[i:i + batch_size]))
        total += part * len(x[i:i + batch_size])
    return total / len(x)


def timed_fit(model, *args, epochs, **kwargs):
    start = time.perf_counter()
    history = model.fit(*args, epochs=epochs, verbose=0, **kwargs).history
    return history, (time.perf_counter() - start) / epochs


def entry(cfg, seconds, **values):
    out = {"epochs": cfg["epochs"], "seconds_per_epoch": round(seconds, 2),
           "train_examples": cfg["train"], "test_examples": cfg["test"], "batch_size": cfg["batch_size"]}
    out.update({k: cfg[k] for k in ("filters", "latent_dim", "n_layers") if k in cfg})
    out.update({k: (round(float(v), 3) if isinstance(v, (float, np.floating)) else v) for k, v in values.items()})
    return out


def run_vae(cfg, x_train, x_test, extractor, seed=0):
    keras.utils.set_random_seed(seed)
    vae = ref.build_vae(x_train.shape[1:], latent_dim=cfg["latent_dim"], n_layers=cfg["n_layers"],
                        filters=cfg["filters"], seed=seed)
    history, seconds = timed_fit(vae, x_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"])
    test = vae.evaluate(x_test, batch_size=cfg["batch_size"], verbose=0, return_dict=True)
    samples = vae.decoder.predict(sample_latents(len(x_test), cfg["latent_dim"], seed=seed), verbose=0)
    return entry(cfg, seconds, recon=test["reconstruction"], kl=test["kl"],
                 frechet=frechet_score(samples, x_test, extractor),
                 train_loss_last_epoch=history["loss"][-1])


def run_gan(cfg, x_train, x_test, extractor, seed=0):
    keras.utils.set_random_seed(seed)
    gan = ref.build_gan(x_train.shape[1:], latent_dim=cfg["latent_dim"], n_layers=cfg["n_layers"],
                        filters=cfg["filters"], seed=seed)
    history, seconds = timed_fit(gan, x_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"])
    samples = gan.generator.predict(sample_latents(len(x_test), cfg["latent_dim"], seed=seed), verbose=0)
    return entry(cfg, seconds, frechet=frechet_score(samples, x_test, extractor),
                 d_loss=[round(float(v), 3) for v in history["d_loss"]],
                 g_loss=[round(float(v), 3) for v in history["g_loss"]])


def run_autoencoder(builder, cfg, x_train, x_test, seed=0):
    keras.utils.set_random_seed(seed)
    autoencoder, _, _ = builder(x_train.shape[1:], latent_dim=cfg["latent_dim"])
    _, seconds = timed_fit(autoencoder, x_train, x_train, epochs=cfg["epochs"], batch_size=cfg["batch_size"])
    x_hat = autoencoder.predict(x_test, batch_size=500, verbose=0)
    return entry(cfg, seconds, recon=recon_error(x_test, x_hat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: tiny subsets, one epoch")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the JSON ({RESULTS})")
    args = parser.parse_args()

    config = {}
    for key, cfg in CONFIG.items():
        cfg = dict(cfg, n_layers=ref.N_LAYERS if key[0] == "procedural" else 2)
        if args.quick:
            cfg.update({k: v for k, v in QUICK.items() if k != "filters" or "filters" in cfg})
        config[key] = cfg

    start = time.perf_counter()
    log("feature classifier for the Fréchet scores")
    extractor = load_feature_classifier()
    results = {"procedural": {}, "fashion_mnist": {}}

    n_train = max(c["train"] for (d, _), c in config.items() if d == "procedural")
    n_test = max(c["test"] for (d, _), c in config.items() if d == "procedural")
    shapes_train, _ = make_shapes(n_train, 64, seed=0)
    shapes_test, _ = make_shapes(n_test, 64, seed=1)
    for name, run in (("vae", run_vae), ("gan", run_gan)):
        cfg = config[("procedural", name)]
        log(f"procedural {name}", cfg)
        results["procedural"][name] = run(cfg, shapes_train[:cfg["train"]], shapes_test[:cfg["test"]], extractor)
        log(results["procedural"][name])

    (x_train, _), (x_test, _) = load_fashion_mnist()
    x_train = (x_train[..., None] / 255.0).astype(np.float32)  # (N, 28, 28, 1) in [0, 1]
    x_test = (x_test[..., None] / 255.0).astype(np.float32)
    runs = {"dense_ae": lambda c, a, b: run_autoencoder(build_dense_autoencoder, c, a, b),
            "cnn_ae": lambda c, a, b: run_autoencoder(build_cnn_autoencoder, c, a, b),
            "vae": lambda c, a, b: run_vae(c, a, b, extractor),
            "dcgan": lambda c, a, b: run_gan(c, a, b, extractor)}
    for name, run in runs.items():
        cfg = config[("fashion_mnist", name)]
        log(f"fashion_mnist {name}", cfg)
        results["fashion_mnist"][name] = run(cfg, x_train[:cfg["train"]], x_test[:cfg["test"]])
        log(results["fashion_mnist"][name])

    results["fashion_mnist_sizes"] = {"train_available": len(x_train), "test_available": len(x_test)}
    results["machine"] = f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, keras {keras.__version__}"
    results["date"] = datetime.datetime.now().isoformat(timespec="seconds")
    results["quick"] = args.quick
    results["total_seconds"] = round(time.perf_counter() - start, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    log(f"wrote {args.output} in {results['total_seconds']} s")


if __name__ == "__main__":
    main()
