"""Checks for the generative-models assignment (hidden tests call these).

The student's pieces follow the stubs' interfaces (conventions as in
`course_utils.reference.generative`):

    Sampling: a keras Layer, Sampling()([mu, logvar]) -> z          mu, logvar, z: (N, d)
    kl_divergence(mu, logvar) -> scalar                             summed over d, mean over N
    vae_loss(x, x_hat, mu, logvar, kl_weight) -> scalar             BCE summed over pixels, mean over N, + kl_weight * KL
    GAN(discriminator, generator, latent_dim); .compile(d_optimizer, g_optimizer, loss_fn);
        .train_step(real_images) -> {"d_loss": ..., "g_loss": ...}  the discriminator outputs P(real)
    interpolate(z_a, z_b, steps) -> (steps, d)                      both endpoints included
    scale_latent(z, factors) -> (len(factors), d)                   row i = factors[i] * z
    networks: encoder/decoder, generator/discriminator pairs, and build_vae_networks

Each check returns a `Verdict`; anything the student's code raises is a failing
verdict naming the exception.
"""

from __future__ import annotations

import math

import numpy as np

from course_utils.checks import _trusted as t
from course_utils.checks import probes as pr
from course_utils.checks._trusted import Verdict, fail, passed
from course_utils.checks.probes import Request, probe

# Captured at import: the NumPy the reference formulas use.
_exp, _log, _sum, _mean, _sqrt, _abs = np.exp, np.log, np.sum, np.mean, np.sqrt, np.abs
_isclose, _default_rng, _all = np.isclose, np.random.default_rng, np.all

# Budgets and tolerances of the checks (to move to course.toml [generative.checks])
SAMPLING_DRAWS = 20_000  # draws per latent dimension in check_sampling
SAMPLING_SIGMAS = 6.0  # statistics may miss the expected value by this many standard errors
GAN_CHECK_IMAGE_SHAPE = (16, 16, 1)  # the tiny DCGAN check_gan_train_step builds
GAN_CHECK_LATENT_DIM = 8
GAN_CHECK_FILTERS = 8
GAN_CHECK_BATCH = 12  # not the image side: a batch size read from the wrong axis fails
GAN_CHECK_MAX_LABEL_GAP = 0.2  # loss_fn's labels within this of 0 or 1 (label noise, one-sided smoothing)
GAN_CHECK_LEARNING_RATE = 2e-4
GAN_CHECK_BETA_1 = 0.5
GAN_CHECK_PROBES = 256  # latent vectors on which the step's effect on D is measured
RTOL = 1e-4  # relative tolerance of the closed-form comparisons


def _raised(what: str, e: Exception) -> Verdict:
    return fail(f"{what} raised {type(e).__name__}: {e}")


def _tensor(x):
    """A float32 backend tensor, as the student's code gets during training."""
    import keras

    return keras.ops.convert_to_tensor(np.asarray(x, np.float32))


def _scalar(value, what: str) -> float:
    out = t.array(value, what, dtype=np.float64)
    if out.size != 1:
        raise ValueError(f"{what} must be a single number (a scalar), got shape {out.shape}")
    return t.as_float(out.reshape(-1)[0])


def _diagnose(got: float, mistakes: dict, *args) -> str:
    """The name of the first known mistake whose value `got` matches, or ''."""
    with np.errstate(all="ignore"):
        for name, formula in mistakes.items():
            value = formula(*args)
            if math.isfinite(value) and _isclose(got, value, rtol=RTOL, atol=1e-6):
                return f" ({name}?)"
    return ""


# ----------------------------------------------------------------------------
# KL divergence and the VAE loss


def _kl(mu, logvar):
    return t.as_float(_mean(-0.5 * _sum(1 + logvar - mu**2 - _exp(logvar), axis=-1)))


_KL_MISTAKES = {
    "the sign is flipped": lambda mu, lv: -_kl(mu, lv),
    "the factor 0.5 is missing": lambda mu, lv: 2 * _kl(mu, lv),
    "it averages over the latent dimensions instead of summing": lambda mu, lv: _kl(mu, lv) / mu.shape[-1],
    "it sums over the batch instead of averaging": lambda mu, lv: _kl(mu, lv) * mu.shape[0],
    "exp is missing: logvar used as the variance":
        lambda mu, lv: _mean(-0.5 * _sum(1 + lv - mu**2 - lv, axis=-1)),
    "logvar used as the standard deviation":
        lambda mu, lv: _mean(-0.5 * _sum(1 + _log(lv**2) - mu**2 - lv**2, axis=-1)),
    "exp(0.5 * logvar), the standard deviation, used where exp(logvar), the variance, belongs":
        lambda mu, lv: _mean(-0.5 * _sum(1 + lv - mu**2 - _exp(0.5 * lv), axis=-1)),
}

# (batch, latent, logvar range): batch 1, latent 1, large log-variances
_KL_CASES = [(1, 1, 1.0), (1, 8, 2.0), (16, 1, 2.0), (32, 64, 1.0), (8, 16, 8.0)]


def _kl_request(rng) -> Request:
    calls, arrays = [], {}
    for i, (batch, latent, spread) in enumerate(_KL_CASES):
        arrays[f"mu{i}"] = rng.normal(0, 1.5, (batch, latent)).astype(np.float32)
        arrays[f"lv{i}"] = rng.uniform(-spread, spread, (batch, latent)).astype(np.float32)
        calls.append({"args": [f"@mu{i}", f"@lv{i}"], "tensors": True, "grad": {"of": [0, 1]}})
    return Request("call", calls, arrays)


@probe("generative.kl", _kl_request)
def decide_kl(req: Request, results: dict) -> Verdict:
    """`kl_divergence(mu, logvar) -> scalar`: KL(N(mu, exp(logvar)) || N(0, I)), summed over the
    latent dimensions and averaged over the batch, for tensors mu, logvar (N, d), differentiable
    in both (a gradient must reach the encoder)."""
    for i in range(len(req.calls)):
        mu, lv = (req.arrays[f"{k}{i}"].astype(np.float64) for k in ("mu", "lv"))
        where = f"kl_divergence(mu, logvar) for mu, logvar of shape {mu.shape}"
        try:
            got = pr.scalar(results, i)
        except pr.CallFailed as e:
            return fail(f"{where} raised {e}")
        if not _isclose(got, _kl(mu, lv), rtol=RTOL, atol=1e-6):
            return fail(f"{where} is not the KL divergence{_diagnose(got, _KL_MISTAKES, mu, lv)}: "
                        "-0.5 times the sum over the latent axis of (1 + logvar - mu^2 - exp(logvar)), "
                        "then the mean over the batch")
        n = mu.shape[0]
        for arg, name, want in ((0, "mu", mu / n), (1, "logvar", 0.5 * (_exp(lv) - 1) / n)):
            grad = pr.gradient(results, i, arg)
            if grad is None:
                return fail(f"no gradient reaches {name}: compute the KL with tensor operations (keras.ops), "
                            "not NumPy or Python floats, so that training can follow it")
            if grad.shape != want.shape or not t.allclose(grad, want, rtol=1e-3, atol=1e-5):
                return fail(f"the gradient of kl_divergence with respect to {name} is wrong for shape "
                            f"{mu.shape}: is the value computed from {name} itself at every entry?")
    return passed("kl_divergence matches the closed form (sum over latent, mean over batch), gradients included")


def check_kl(kl_fn) -> Verdict:
    """The KL probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.kl", kl_fn)


def _bce_sum(x, x_hat):
    return t.as_float(_mean(_sum(-(x * _log(x_hat) + (1 - x) * _log(1 - x_hat)), axis=(1, 2, 3))))


_LOSS_MISTAKES = {
    "the reconstruction is a mean over pixels, not a sum":
        lambda x, xh, mu, lv, w: _bce_sum(x, xh) / x[0].size + w * _kl(mu, lv),
    "the reconstruction is a squared error, not binary cross-entropy":
        lambda x, xh, mu, lv, w: _mean(_sum((x - xh) ** 2, axis=(1, 2, 3))) + w * _kl(mu, lv),
    "kl_weight multiplies the reconstruction instead of the KL":
        lambda x, xh, mu, lv, w: w * _bce_sum(x, xh) + _kl(mu, lv),
    "kl_weight is ignored": lambda x, xh, mu, lv, w: _bce_sum(x, xh) + _kl(mu, lv),
    "the KL term is missing": lambda x, xh, mu, lv, w: _bce_sum(x, xh),
}


_LOSS_CASES = (((3, 8, 8, 1, 5), 1.0), ((2, 4, 4, 3, 2), 0.0), ((4, 6, 6, 1, 3), 2.5))


def _loss_request(rng) -> Request:
    calls, arrays = [], {}
    for i, ((batch, h, w, c, latent), weight) in enumerate(_LOSS_CASES):
        x = (rng.random((batch, h, w, c)) < 0.5).astype(np.float32)
        x[0] = rng.random((h, w, c))  # grey values too, not only 0 and 1
        arrays.update({f"x{i}": x, f"xh{i}": rng.uniform(0.05, 0.95, x.shape).astype(np.float32),
                       f"mu{i}": rng.normal(0, 1, (batch, latent)).astype(np.float32),
                       f"lv{i}": rng.uniform(-1, 1, (batch, latent)).astype(np.float32)})
        calls.append({"args": [f"@x{i}", f"@xh{i}", f"@mu{i}", f"@lv{i}", weight], "tensors": True,
                      "grad": {"of": [1, 2, 3]}})
    # kl_weight left at its default (1.0, as the notebook's signature says)
    calls.append({"args": ["@x0", "@xh0", "@mu0", "@lv0"], "tensors": True})
    # a saturated decoder: x_hat exactly 0 or 1 where x agrees, which must not give inf or NaN
    i = len(calls)
    x = (rng.random((2, 5, 5, 1)) < 0.5).astype(np.float32)
    xh = rng.uniform(0.05, 0.95, x.shape).astype(np.float32)
    saturated = rng.random(x.shape) < 0.4
    xh[saturated] = x[saturated]
    arrays.update({f"x{i}": x, f"xh{i}": xh, f"mu{i}": rng.normal(0, 1, (2, 3)).astype(np.float32),
                   f"lv{i}": rng.uniform(-1, 1, (2, 3)).astype(np.float32)})
    calls.append({"args": [f"@x{i}", f"@xh{i}", f"@mu{i}", f"@lv{i}", 1.0], "tensors": True})
    return Request("call", calls, arrays)


@probe("generative.vae_loss", _loss_request)
def decide_vae_loss(req: Request, results: dict) -> Verdict:
    """`vae_loss(x, x_hat, mu, logvar, kl_weight=1.0) -> scalar` = binary cross-entropy summed over
    the pixels and averaged over the batch + kl_weight * KL; x, x_hat (N, h, w, c); differentiable
    in x_hat, mu and logvar; finite when x_hat is exactly 0 or 1 (a saturated sigmoid)."""
    for i, call in enumerate(req.calls):
        arrays = [req.arrays[a[1:]].astype(np.float64) for a in call["args"][:4]]
        x, xh, mu, lv = arrays
        weight = call["args"][4] if len(call["args"]) > 4 else 1.0
        saturated = bool(np.any((xh == 0) | (xh == 1)))
        where = (f"vae_loss(x, x_hat, mu, logvar{f', kl_weight={weight}' if len(call['args']) > 4 else ''}) "
                 f"for images {x.shape}{' with some x_hat exactly 0 or 1' if saturated else ''}")
        try:
            got = pr.scalar(results, i)
        except pr.CallFailed as e:
            return fail(f"{where} raised {e}")
        except ValueError as e:
            return fail(f"{where}: {e}" + (": clip x_hat to [1e-7, 1 - 1e-7] before the log" if saturated else ""))
        xh = np.clip(xh, 1e-7, 1 - 1e-7)
        if not _isclose(got, _bce_sum(x, xh) + weight * _kl(mu, lv), rtol=RTOL, atol=1e-4 if saturated else 1e-5):
            return fail(f"{where} is wrong{_diagnose(got, _LOSS_MISTAKES, x, xh, mu, lv, weight)}: binary "
                        "cross-entropy summed over the pixels, averaged over the batch, plus kl_weight * "
                        "kl_divergence")
        if not call.get("grad"):
            continue
        n = x.shape[0]
        wants = ((1, "x_hat", (-(x / xh) + (1 - x) / (1 - xh)) / n), (2, "mu", weight * mu / n),
                 (3, "logvar", weight * 0.5 * (_exp(lv) - 1) / n))
        for arg, name, want in wants:
            grad = pr.gradient(results, i, arg)
            if grad is None and (name == "x_hat" or weight):
                return fail(f"no gradient reaches {name}: compute the loss with tensor operations (keras.ops), "
                            "not NumPy, so that training can follow it")
            if grad is not None and (grad.shape != want.shape or not t.allclose(grad, want, rtol=1e-3, atol=1e-4)):
                return fail(f"the gradient of vae_loss with respect to {name} is wrong for images {x.shape}")
    return passed("vae_loss = summed binary cross-entropy + kl_weight * KL, gradients included")


def check_vae_loss(loss_fn) -> Verdict:
    """The VAE-loss probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.vae_loss", loss_fn)


# ----------------------------------------------------------------------------
# The reparameterisation trick

_SAMPLING_MU = np.array([0.5, -2.0, 0.0, 3.0, 1.0], np.float32)
_SAMPLING_LOGVAR = np.array([0.0, 1.5, -2.0, 0.7, -4.0], np.float32)
# P(|u| < 1) and P(|u| < 2) for a standard normal u
_NORMAL_WITHIN = {1.0: math.erf(1 / math.sqrt(2)), 2.0: math.erf(2 / math.sqrt(2))}


_SAMPLING_GRAD_BATCH = 4


def _sampling_request(rng) -> Request:
    n, d = SAMPLING_DRAWS, len(_SAMPLING_MU)
    mu, lv = np.tile(_SAMPLING_MU, (n, 1)), np.tile(_SAMPLING_LOGVAR, (n, 1))
    k = _SAMPLING_GRAD_BATCH
    arrays = {"mu": mu, "lv": lv, "gmu": rng.normal(0, 1, (k, d)).astype(np.float32),
              "glv": rng.uniform(-2, 1, (k, d)).astype(np.float32),
              "weights": rng.normal(size=(k, d)).astype(np.float32)}
    calls = [{"args": ["@mu", "@lv"], "tensors": True, "pack": True},
             {"args": ["@mu", "@lv"], "tensors": True, "pack": True},
             {"args": ["@gmu", "@glv"], "tensors": True, "pack": True, "grad": {"of": [0, 1], "weights": "@weights"}}]
    return Request("call", calls, arrays, layer=True)


@probe("generative.sampling", _sampling_request)
def decide_sampling(req: Request, results: dict) -> Verdict:
    """`Sampling()([mu, logvar]) -> z` (N, d): z = mu + exp(0.5 * logvar) * eps with eps ~ N(0, I),
    independent across dimensions and examples, new at every call; gradients reach mu and logvar."""
    n, d = req.arrays["mu"].shape
    try:
        z, z2 = pr.value(results, 0), pr.value(results, 1)
    except pr.CallFailed as e:
        return fail(f"Sampling()([mu, logvar]) for mu, logvar of shape {(n, d)} raised {e}")
    if z.shape != (n, d) or z2.shape != (n, d):
        return fail("Sampling()([mu, logvar]) gives z of the wrong shape: z must have the shape of mu",
                    f"mu, logvar of shape {(n, d)} gave z of shape {z.shape}")
    if t.array_equal(z, z2):
        return fail("two calls gave the same z: draw new noise eps at every call")
    std = _exp(0.5 * _SAMPLING_LOGVAR.astype(np.float64))
    k = SAMPLING_SIGMAS
    mean_error = _abs(_mean(z, axis=0) - _SAMPLING_MU) / (std / _sqrt(n))
    std_error = _abs(z.std(axis=0) - std) / (std / _sqrt(2 * n))
    for j in range(d):
        if mean_error[j] > k or std_error[j] > k:
            return fail(f"for mu={_SAMPLING_MU[j]:g}, logvar={_SAMPLING_LOGVAR[j]:g} the samples do not have "
                        "mean mu and standard deviation exp(0.5 * logvar): is eps standard normal, and scaled "
                        "by exp(0.5 * logvar)?")
    eps = (z - _SAMPLING_MU) / std                                    # (n, d), N(0, I) if right
    u = _abs(eps)
    for bound, p in _NORMAL_WITHIN.items():
        share = t.as_float(_mean(u < bound))
        if abs(share - p) > k * math.sqrt(p * (1 - p) / u.size):
            return fail("the noise is not normally distributed: draw eps from N(0, I) (keras.random.normal)",
                        f"{share:.1%} of the noise values lie within {bound:g} standard deviation(s), a normal "
                        f"distribution has {p:.1%}")
    limit = k / math.sqrt(n)
    corr = np.corrcoef(eps, rowvar=False)
    if np.any(_abs(corr[~np.eye(d, dtype=bool)]) > limit):
        return fail("the noise of different latent dimensions is correlated: draw one independent eps per "
                    "dimension (eps of the shape of mu, not (N, 1))")
    lagged = [t.as_float(np.corrcoef(eps[:-1, j], eps[1:, j])[0, 1]) for j in range(d)]
    if any(abs(r) > limit for r in lagged):
        return fail("the noise of different examples is correlated: draw one independent eps per example "
                    "(eps of the shape of mu, not (1, d))")
    x_mu, x_lv, weights = (req.arrays[key].astype(np.float64) for key in ("gmu", "glv", "weights"))
    try:
        zg = pr.value(results, 2)
    except pr.CallFailed as e:
        return fail(f"differentiating Sampling()([mu, logvar]) raised {e}")
    grad_mu, grad_lv = pr.gradient(results, 2, 0), pr.gradient(results, 2, 1)
    for name, grad in (("mu", grad_mu), ("logvar", grad_lv)):
        if grad is None:
            return fail(f"no gradient reaches {name}: compute z from mu and logvar with tensor operations "
                        f"(keras.ops), not NumPy")
    if zg.shape != x_mu.shape or not t.allclose(grad_mu, weights, rtol=1e-4, atol=1e-5):
        return fail("dz/dmu should be 1 for every entry: z = mu + (noise term)")
    if not t.allclose(grad_lv, weights * 0.5 * (zg - x_mu), rtol=1e-3, atol=1e-4):
        return fail("dz/dlogvar should be 0.5 * exp(0.5 * logvar) * eps: scale the noise by exp(0.5 * logvar)")
    return passed("Sampling draws mu + exp(0.5 * logvar) * eps, eps ~ N(0, I) independent per entry, "
                  "with gradients for mu and logvar")


def check_sampling(sampling) -> Verdict:
    """The sampling probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.sampling", sampling)


# ----------------------------------------------------------------------------
# Latent space


_INTERP_CASES = ((3, 5), (16, 10), (1, 2), (8, 3))
_SCALING_CASES = ((4, [0.0, 0.5, 1.0, 2.0, -1.0]), (1, [3.5]), (16, [0.25, 4.0, 1.5]))


def _interp_request(rng) -> Request:
    arrays = {}
    for i, (d, _) in enumerate(_INTERP_CASES):
        arrays[f"a{i}"], arrays[f"b{i}"] = rng.normal(size=(2, d)).astype(np.float32)
    return Request("call", [{"args": [f"@a{i}", f"@b{i}", steps]} for i, (_, steps) in enumerate(_INTERP_CASES)],
                   arrays)


@probe("generative.interpolation", _interp_request)
def decide_interpolation(req: Request, results: dict) -> Verdict:
    """`interpolate(z_a, z_b, steps) -> (steps, d)`: evenly spaced points from z_a to z_b (d,), both included."""
    for i, (d, steps) in enumerate(_INTERP_CASES):
        z_a, z_b = req.arrays[f"a{i}"].astype(np.float64), req.arrays[f"b{i}"].astype(np.float64)
        where = f"interpolate(z_a, z_b, steps={steps}) with z of shape ({d},)"
        try:
            got = pr.value(results, i)
        except pr.CallFailed as e:
            return fail(f"{where} raised {e}")
        if got.shape != (steps, d):
            hint = " (off by one?)" if got.ndim == 2 and abs(got.shape[0] - steps) == 1 else ""
            return fail(f"{where} has the wrong shape{hint}", f"{got.shape}, expected ({steps}, {d})")
        for row, end, name in ((0, z_a, "first"), (-1, z_b, "last")):
            if not t.allclose(got[row], end, rtol=1e-6, atol=1e-6):
                return fail(f"the {name} row must be {'z_a' if row == 0 else 'z_b'} itself: include both "
                            f"endpoints (np.linspace includes the end unless endpoint=False)")
        frac = np.linspace(0, 1, steps)[:, None]
        if not t.allclose(got, z_a + frac * (z_b - z_a), rtol=1e-5, atol=1e-5):
            return fail(f"interpolate(steps={steps}) must be evenly spaced on the straight line from z_a "
                        f"to z_b: row i = z_a + i / (steps - 1) * (z_b - z_a)")
    return passed("interpolate: evenly spaced, both endpoints exact")


def check_interpolation(interp_fn) -> Verdict:
    """The interpolation probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.interpolation", interp_fn)


def _scaling_request(rng) -> Request:
    arrays = {f"z{i}": rng.normal(size=d).astype(np.float32) for i, (d, _) in enumerate(_SCALING_CASES)}
    return Request("call", [{"args": [f"@z{i}", list(factors)]} for i, (_, factors) in enumerate(_SCALING_CASES)],
                   arrays)


@probe("generative.latent_scaling", _scaling_request)
def decide_latent_scaling(req: Request, results: dict) -> Verdict:
    """`scale_latent(z, factors) -> (len(factors), d)`, row i = factors[i] * z for z (d,)."""
    for i, (d, factors) in enumerate(_SCALING_CASES):
        z = req.arrays[f"z{i}"].astype(np.float64)
        where = f"scale_latent(z, {factors}) with z of shape ({d},)"
        try:
            got = pr.value(results, i)
        except pr.CallFailed as e:
            return fail(f"{where} raised {e}")
        if got.shape != (len(factors), d):
            return fail(f"{where} has the wrong shape: one row per factor", f"{got.shape}, expected ({len(factors)}, {d})")
        if not t.allclose(got, np.asarray(factors, np.float64)[:, None] * z, rtol=1e-5, atol=1e-6):
            return fail(f"{where} is wrong: row i must be factors[i] * z")
    return passed("scale_latent: one row factors[i] * z per factor")


def check_latent_scaling(scale_fn) -> Verdict:
    """The latent-scaling probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.latent_scaling", scale_fn)


# ----------------------------------------------------------------------------
# Model shapes


FAR = 1000.0       # inputs far outside their range: at this scale a network is close to linear in them, so each
FAR_LATENT = 1000.0  # pair (x, -x) drives the last layer's pre-activation far out on one side or the other
FAR_PATTERNS = 64
BUILDER_DRAWS = 3  # fresh networks a builder check makes; each must pass (no lucky initialisation)


def _config_shapes(which: str) -> tuple[tuple, int]:
    """(image shape, latent size) of the notebook's networks, from the semester config as it reads them."""
    from course_utils.config import load_config

    gen = load_config()["generative"]
    fashion = (28, 28, 1)
    return {"vae": ((gen["image_size"], gen["image_size"], 3), gen["vae"]["latent_dim"]),
            "fashion_vae": (fashion, gen["fashion"]["latent_dim"]),
            "fashion_gan": (fashion, gen["gan"]["latent_dim"])}[which]


def _network_inputs(rng, image_shape, latent_dim) -> dict:
    """Typical inputs (4 images in [0, 1], 4 latent vectors from N(0, I)) and far ones: +-FAR everywhere,
    FAR_PATTERNS random sign patterns with their negations and 32 scaled Gaussian ones, so that an
    output activation without a bound shows on one side or the other whatever the initialisation
    (on a ReLU discriminator at initialisation, 6% to 67% of such inputs give a negative logit)."""
    image_shape = tuple(image_shape)

    def far(shape, scale):
        signs = rng.choice([-1.0, 1.0], (FAR_PATTERNS, *shape))
        return (scale * np.concatenate([np.ones((1, *shape)), -np.ones((1, *shape)), signs, -signs,
                                        rng.normal(size=(32, *shape))])).astype(np.float32)

    return {"images": rng.random((4, *image_shape)).astype(np.float32), "far_images": far(image_shape, FAR),
            "z": rng.normal(size=(4, latent_dim)).astype(np.float32), "far_z": far((latent_dim,), FAR_LATENT)}


# (what, object, input, output shape: "latent2" | "image" | "one", value range) per prediction
_VAE_VIEWS = (("the encoder", 0, "images", "latent2", None), ("the decoder", 1, "z", "image", (0, 1)),
              ("the decoder", 1, "far_z", "image", (0, 1)))
_GAN_VIEWS = (("the discriminator", 0, "images", "one", (0, 1)), ("the discriminator", 0, "far_images", "one", (0, 1)),
              ("the generator", 1, "z", "image", (0, 1)), ("the generator", 1, "far_z", "image", (0, 1)))
_INPUTS = {"images": "images in [0, 1]", "far_images": f"inputs of +-{FAR:g} (far outside [0, 1])",
           "z": "latent vectors from N(0, I)", "far_z": f"latent vectors of +-{FAR_LATENT:g}"}


def _networks_request(views, image_shape, latent_dim, build=None):
    def request(rng, **_):
        calls = [{"object": obj, "args": [f"@{inp}"]} for _, obj, inp, _, _ in views]
        return Request("predict", calls, _network_inputs(rng, image_shape, latent_dim),
                       params={"image_shape": list(image_shape), "latent_dim": latent_dim}, build=build)
    return request


def _decide_networks(views, req: Request, results: dict, base: int = 0) -> Verdict:
    image_shape, latent_dim = tuple(req.params["image_shape"]), req.params["latent_dim"]
    shapes = {"latent2": (2 * latent_dim,), "image": image_shape, "one": (1,)}
    for j, (what, _, inp, out, value_range) in enumerate(views):
        x = req.arrays[inp]
        try:
            y = pr.value(results, base + j)
        except pr.CallFailed as e:
            return fail(f"{what} on {_INPUTS[inp]} of shape {x.shape} raised {e}")
        except ValueError:
            return fail(f"{what} gives NaN or infinity on {_INPUTS[inp]}")
        if y.shape != (len(x), *shapes[out]):
            return fail(f"{what} gives outputs of the wrong shape on {_INPUTS[inp]}",
                        f"{x.shape} -> {y.shape}, expected {(len(x), *shapes[out])}")
        if value_range and (y.min() < value_range[0] - 1e-6 or y.max() > value_range[1] + 1e-6):
            return fail(f"{what}'s outputs leave [{value_range[0]:g}, {value_range[1]:g}] on {_INPUTS[inp]}: "
                        "its output activation must keep every value in range (sigmoid)")
        if inp in ("images", "z") and np.max(np.abs(y - y[:1])) < 1e-7:
            return fail(f"{what} gives the same output for different {_INPUTS[inp]}: its output must depend "
                        "on its input")
    return passed("")


def _networks_probe(name: str, views, which: str, doc: str):
    def request(rng, **params):
        shape, latent = _config_shapes(which)
        return _networks_request(views, params.get("image_shape", shape), params.get("latent_dim", latent))(rng)

    def decide(req: Request, results: dict) -> Verdict:
        verdict = _decide_networks(views, req, results)
        return verdict if not verdict else passed(doc)
    decide.__doc__ = doc
    probe(name, request)(decide)


_networks_probe("generative.vae_models", _VAE_VIEWS, "vae",
                "encoder: images -> (N, 2 * latent_dim); decoder: (N, latent_dim) -> images in [0, 1] for any "
                "latent vector, both depending on their input")
_networks_probe("generative.fashion_vae_models", _VAE_VIEWS, "fashion_vae",
                "the Fashion-MNIST VAE's encoder and decoder keep their shapes and the decoder's [0, 1]")
_networks_probe("generative.fashion_gan_models", _GAN_VIEWS, "fashion_gan",
                "discriminator: images -> (N, 1) in [0, 1] for any input; generator: (N, latent_dim) -> "
                "images in [0, 1]; both depending on their input")

_BUILDER_ARGS = ((32, 32, 1), 6, 2, 4)   # build_vae_networks(image_shape, latent_dim, n_layers, filters)


def _vae_builder_request(rng, **_):
    shape, latent, layers, filters = _BUILDER_ARGS
    return _networks_request(_VAE_VIEWS, shape, latent, build={"args": [list(shape), latent, layers, filters],
                                                               "draws": BUILDER_DRAWS})(rng)


@probe("generative.vae_builder", _vae_builder_request)
def decide_vae_builder(req: Request, results: dict) -> Verdict:
    """build_vae_networks((32, 32, 1), 6, 2, 4), built 3 times afresh: each pair keeps the VAE contract."""
    for draw in range(BUILDER_DRAWS):
        verdict = _decide_networks(_VAE_VIEWS, req, results, base=draw * len(_VAE_VIEWS))
        if not verdict:
            return fail(f"build_vae_networks{_BUILDER_ARGS}: {verdict.reason}", verdict.values)
    return passed(f"build_vae_networks makes encoders and decoders that keep the contract at other sizes "
                  f"({BUILDER_DRAWS} fresh builds)")


def check_vae_models(encoder, decoder, image_shape, latent_dim) -> Verdict:
    """The VAE networks probe on these networks and shapes, judged in this process (tests)."""
    return pr.judge("generative.vae_models", encoder, decoder,
                    params={"image_shape": list(image_shape), "latent_dim": latent_dim})


def check_gan_models(generator, discriminator, image_shape, latent_dim) -> Verdict:
    """The GAN networks probe on these networks and shapes, judged in this process (tests)."""
    return pr.judge("generative.fashion_gan_models", discriminator, generator,
                    params={"image_shape": list(image_shape), "latent_dim": latent_dim})


# ----------------------------------------------------------------------------
# One GAN training step


GAN_CHECK_DRAWS = 3      # freshly seeded tiny DCGANs the step is tried on
GAN_CHECK_STEPS = 4      # steps on each: 12 in all
GAN_CHECK_MIN_RIGHT = 10  # steps (of 12) in which each player must move the right way
GAN_CHECK_D_VARIABLES = 6  # trainable variables of the runner's tiny discriminator (2 convolutions, a dense layer)


def _gan_request(rng) -> Request:
    draws, steps, shape = GAN_CHECK_DRAWS, GAN_CHECK_STEPS, GAN_CHECK_IMAGE_SHAPE
    real = rng.random((draws, steps, GAN_CHECK_BATCH, *shape)).astype(np.float32) ** 2  # darker than noise
    latent = rng.normal(size=(GAN_CHECK_PROBES, GAN_CHECK_LATENT_DIM)).astype(np.float32)
    setup = {"shape": list(shape), "latent": GAN_CHECK_LATENT_DIM, "filters": GAN_CHECK_FILTERS,
             "learning_rate": GAN_CHECK_LEARNING_RATE, "beta_1": GAN_CHECK_BETA_1,
             "seeds": [int(x) for x in rng.integers(1, 2**20, draws)]}
    return Request("gan", [], {"real": real, "latent": latent}, setup=setup)


def _reported(got: float, values: np.ndarray, signs=(1,)) -> bool:
    """`got` is the sum or the mean of `values` (times one of `signs`)."""
    return any(_isclose(got, sign * total, rtol=RTOL, atol=1e-5)
               for sign in signs for total in (_sum(values), _mean(values)))


def _returns_its_losses(returned: np.ndarray, losses: np.ndarray, calls: np.ndarray) -> bool:
    """At every step the returned (d_loss, g_loss) are the step's loss_fn values split in two, the
    discriminator's first: each the sum or the mean of its part (a generator loss may be negated: the
    minimax form). Running means over the steps (metrics trackers) count as returned too."""
    draws, steps = calls.shape
    for d in range(draws):
        n = int(calls[d, 0])
        if not (2 <= n <= losses.shape[-1] and _all(calls[d] == n)):
            return False
        for s in range(steps):
            def ok(k, past):
                rows = losses[d, :s + 1] if past else losses[d, s:s + 1]
                d_part, g_part = rows[:, :k], rows[:, k:n]
                return (_reported(returned[d, s, 0], d_part.mean(0) if past else d_part[0]) and
                        _reported(returned[d, s, 1], g_part.mean(0) if past else g_part[0], (1, -1)))
            if not any(ok(k, past) for k in range(1, n) for past in (False, True)):
                return False
    return True



@probe("generative.gan_step", _gan_request)
def decide_gan_step(req: Request, results: dict) -> Verdict:
    """`gan_class(discriminator=, generator=, latent_dim=)`, compiled with `d_optimizer`,
    `g_optimizer` (Adam) and `loss_fn` (binary cross-entropy), on freshly seeded tiny DCGANs
    (GAN_CHECK_DRAWS of them, GAN_CHECK_STEPS steps each): every step computes its losses with
    loss_fn and returns them; d_optimizer updates all of the discriminator's weights and nothing
    else, g_optimizer all of the generator's and nothing else; and, in at least GAN_CHECK_MIN_RIGHT
    of the steps, the discriminator tells real from (the old generator's) fake images better after
    the step and the new generator's images look more real to it than the old one's."""
    if "e0" in results:
        return fail(f"GAN(discriminator=..., generator=..., latent_dim=...), compile(d_optimizer=..., "
                    f"g_optimizer=..., loss_fn=...) and train_step(real_images) raised {results['e0']} "
                    f"(train_step must return a dict with 'd_loss' and 'g_loss')")
    judged, returned = pr.named(results, "judged"), pr.named(results, "returned")
    losses, calls = pr.named(results, "losses", finite=False), pr.named(results, "calls")
    changed = pr.named(results, "changed")
    draws, steps = calls.shape
    if judged.shape != (draws, steps, 5) or returned.shape != (draws, steps, 2):
        return fail("the grader could not read the GAN's results")
    if _all(calls == 0):
        return fail("train_step never called self.loss_fn: compute both losses with the loss given to compile")
    n_d = GAN_CHECK_D_VARIABLES
    for d in range(draws):
        d_up, g_up = pr.named(results, f"d_updated{d}"), pr.named(results, f"g_updated{d}")  # [D's, G's, other]
        total = len(d_up) - 1
        want_d = np.r_[np.ones(n_d), np.zeros(total - n_d + 1)]
        want_g = np.r_[np.zeros(n_d), np.ones(total - n_d), 0]
        if not d_up.any():
            return fail("train_step must update the discriminator with self.d_optimizer (the one given to compile)")
        if not g_up.any():
            return fail("train_step must update the generator with self.g_optimizer (the one given to compile)")
        if (d_up[n_d:] > 0).any():
            return fail("d_optimizer updated variables outside the discriminator: apply it to "
                        "discriminator.trainable_weights only")
        if (g_up[:n_d] > 0).any() or g_up[-1] > 0:
            return fail("g_optimizer updated variables outside the generator (the discriminator too?): apply "
                        "it to generator.trainable_weights only")
        if not (np.array_equal(d_up, want_d) and np.array_equal(g_up, want_g)):
            return fail("each optimizer must update all of its network's trainable weights "
                        "(discriminator.trainable_weights, generator.trainable_weights)")
    if not (changed[..., 0] > 0).all() or not (changed[..., 1] > 0).all():
        return fail("a train_step left the discriminator's or the generator's weights unchanged")
    gaps = pr.named(results, "label_gaps", finite=False)
    if np.nanmax(gaps, initial=0.0) > GAN_CHECK_MAX_LABEL_GAP:
        return fail("loss_fn was called with predictions where the labels belong: a Keras loss takes "
                    "(y_true, y_pred), the labels (1 real, 0 fake) first")
    if not _returns_its_losses(returned, losses, calls):
        return fail("train_step must return the losses it computed: d_loss the discriminator's loss "
                    "(from loss_fn), g_loss the generator's, at every step")
    d_right = int(_sum(judged[..., 2] - judged[..., 3] > judged[..., 0] - judged[..., 1]))
    g_right = int(_sum(judged[..., 4] > judged[..., 3]))
    n = draws * steps
    if d_right < GAN_CHECK_MIN_RIGHT:
        return fail(f"after only {d_right} of {n} steps did the discriminator tell real from fake images "
                    f"better: train it with label 1 for real and 0 for generated images, on its own loss")
    if g_right < GAN_CHECK_MIN_RIGHT:
        return fail(f"after only {g_right} of {n} steps did the discriminator find the new generator's images "
                    f"more real: train the generator to make the discriminator output 1 (real) for them")
    return passed(f"train_step uses loss_fn and both optimizers on their own networks, returns its losses, "
                  f"and moves both players the right way ({d_right} and {g_right} of {n} steps)")


def check_gan_train_step(gan_class) -> Verdict:
    """The GAN step probe, judged in this process (tests, `course mutants`)."""
    return pr.judge("generative.gan_step", gan_class)
