r"""Denoising diffusion ([MEDL] Ch. 8, Sec. 8.2): the DDPM noise schedule, the forward process in
closed form and one step at a time, the simplified training loss and two samplers.

Notation: the book's latents $z_1, \dots, z_T$ with $z_0 = x$; here arrays are 0-based, so index
``t`` in ``0 .. T-1`` holds the book's step $t + 1$ (``betas[0]`` is $\beta_1$). A denoiser is a
function ``denoiser(z_t, t) -> prediction`` of ONE noisy example and its (0-based) int32 step; it
predicts the noise $\varepsilon$ (the default), the clean $x_0$, or the velocity
$v = \sqrt{\bar\alpha_t}\,\varepsilon - \sqrt{1 - \bar\alpha_t}\,x_0$.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks

__all__ = [
    "DDPMELBOTerms",
    "DDPMSchedule",
    "ddim_sample",
    "ddpm_elbo_terms",
    "ddpm_loss",
    "ddpm_sample",
    "ddpm_schedule",
    "q_sample",
    "q_step",
]

_KINDS = ("linear", "cosine")
_PREDICTIONS = ("epsilon", "x0", "v")
_VARIANCES = ("beta", "beta_tilde")


class DDPMSchedule(NamedTuple):
    r"""A noise schedule: ``betas`` $\beta_t$, ``alphas`` $\alpha_t = 1 - \beta_t$ and
    ``alpha_bars`` $\bar\alpha_t = \prod_{s \le t}\alpha_s$, each of shape ``(T,)``."""

    betas: jax.Array
    alphas: jax.Array
    alpha_bars: jax.Array


_SCHEDULE = checks.fields(betas="float[T]", alphas="float[T]", alpha_bars="float[T]")


def ddpm_schedule(
    T: int = 1000, *, kind: str = "linear", beta_1: float = 1e-4, beta_T: float = 0.02, dtype=None
) -> DDPMSchedule:
    r"""The variance schedule $\beta_1, \dots, \beta_T$ of a DDPM and its products.

    * ``"linear"`` (Ho et al., 2020; the standard form): $\beta_t$ equally spaced from `beta_1` to
      `beta_T` (1e-4 to 0.02 with $T = 1000$ by default).
    * ``"cosine"`` (Nichol & Dhariwal, 2021): $\bar\alpha_t = f(t)/f(0)$ with
      $f(t) = \cos^2\!\big(\frac{t/T + s}{1 + s}\frac\pi2\big)$, $s = 0.008$, and
      $\beta_t = \min(1 - \bar\alpha_t/\bar\alpha_{t-1}, 0.999)$; `beta_1` and `beta_T` are unused.

    Computed in float64 NumPy and cast, so $\bar\alpha_t$ has no float32 round-off from the product.

    Args:
      T: number of steps $T \ge 1$.
      kind: ``"linear"`` or ``"cosine"``.
      beta_1: first variance, in $(0, 1)$ (linear only).
      beta_T: last variance, in $(0, 1)$ (linear only).
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      ``DDPMSchedule(betas, alphas, alpha_bars)``, each of shape ``(T,)``.

    Raises:
      ValueError: if `T` < 1, `kind` is unknown or a beta is outside $(0, 1)$.
      TypeError: if `T` is not an int.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), Sec. 4; Nichol & Dhariwal (2021), Sec. 3.2.
    """
    func = checks.public_name(ddpm_schedule)
    if isinstance(T, bool) or not isinstance(T, int | np.integer):
        checks.fail(func, "T", "a Python int >= 1", checks.Text(type(T).__name__), exc=TypeError)
    if T < 1:
        checks.fail(func, "T", "an int >= 1", T)
    checks.check_choice(func, "kind", kind, _KINDS)
    if kind == "linear":
        checks.check_range(func, "beta_1", beta_1, 0.0, 1.0, low_closed=False, high_closed=False)
        checks.check_range(func, "beta_T", beta_T, 0.0, 1.0, low_closed=False, high_closed=False)
        betas = np.linspace(float(beta_1), float(beta_T), T)
    else:
        s = 0.008
        f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    alphas = 1 - betas
    alpha_bars = np.cumprod(alphas)
    dtype = jnp.result_type(float) if dtype is None else dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", checks.Text(str(dtype)), exc=TypeError)
    return DDPMSchedule(*(jnp.asarray(a, dtype) for a in (betas, alphas, alpha_bars)))


def _steps(func: str, schedule: DDPMSchedule, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The validity of integer timesteps t in [0, T) and t clipped into range (for safe indexing)."""
    if not jnp.issubdtype(t.dtype, jnp.integer):
        checks.fail(func, "t", "an integer timestep", checks.Text(f"dtype {t.dtype}"), exc=TypeError)
    T = schedule.betas.shape[0]
    ok = (t >= 0) & (t < T)
    return ok, jnp.clip(t, 0, T - 1)


def _check_t(func: str, ok: jax.Array, t: jax.Array, T: int, out):
    return checks.ensure(ok, out, func, "t", f"timesteps in [0, {T})", checks.first_bad(t, ok))


def _coef(a: jax.Array, t: jax.Array, like: jax.Array) -> jax.Array:
    return a[t].astype(like.dtype)


def _q_sample(schedule: DDPMSchedule, x: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    ab = _coef(schedule.alpha_bars, t, x)
    return jnp.sqrt(ab) * x + jnp.sqrt(1 - ab) * eps


@checks.inputs(key="key[]", schedule=_SCHEDULE, x="float[*s]", t="int[]")
def q_sample(key: jax.Array, schedule: DDPMSchedule, x: jax.Array, t) -> jax.Array:
    r"""A draw of $z_t \sim q(z_t \mid x)$, the forward process in closed form.

    $q(z_t \mid x) = \mathcal{N}(\sqrt{\bar\alpha_t}\,x, (1 - \bar\alpha_t) I)$:

    $z_t = \sqrt{\bar\alpha_t}\,x + \sqrt{1 - \bar\alpha_t}\,\varepsilon$ with $\varepsilon \sim
    \mathcal{N}(0, I)$: $t$ steps of :func:`q_step` in one.

    Args:
      key: a typed PRNG key.
      schedule: a ``DDPMSchedule`` of length $T$.
      x: ONE clean example $x = z_0$, any shape (``jax.vmap`` for a batch).
      t: the 0-based step, an integer scalar in $[0, T)$.

    Returns:
      $z_t$, with the shape and dtype of `x`. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside $[0, T)$.
      TypeError: if `x` is not floating or `t` not an integer.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), eq. (4).
    """
    func = checks.public_name(q_sample)
    ok, ts = _steps(func, schedule, t)
    z = _q_sample(schedule, x, ts, jax.random.normal(key, x.shape, x.dtype))
    return _check_t(func, ok, t, schedule.betas.shape[0], z)


@checks.inputs(key="key[]", schedule=_SCHEDULE, z_prev="float[*s]", t="int[]")
def q_step(key: jax.Array, schedule: DDPMSchedule, z_prev: jax.Array, t) -> jax.Array:
    r"""One step of the forward (encoder) chain, $z_t \sim q(z_t \mid z_{t-1})$.

    $q(z_t \mid z_{t-1}) = \mathcal{N}(\sqrt{1-\beta_t}\,z_{t-1}, \beta_t I)$.

    Args:
      key: a typed PRNG key.
      schedule: a ``DDPMSchedule`` of length $T$.
      z_prev: $z_{t-1}$ (the clean example for ``t = 0``), any shape.
      t: the 0-based step, an integer scalar in $[0, T)$.

    Returns:
      $z_t$, with the shape and dtype of `z_prev`. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside $[0, T)$.
      TypeError: if `z_prev` is not floating or `t` not an integer.

    References:
      [MEDL] Ch. 8, Sec. 8.2, Fig. 8.4; Ho, Jain & Abbeel (2020), eq. (2).
    """
    func = checks.public_name(q_step)
    ok, ts = _steps(func, schedule, t)
    b = _coef(schedule.betas, ts, z_prev)
    z = jnp.sqrt(1 - b) * z_prev + jnp.sqrt(b) * jax.random.normal(key, z_prev.shape, z_prev.dtype)
    return _check_t(func, ok, t, schedule.betas.shape[0], z)


def _eps_from(pred: jax.Array, z: jax.Array, ab: jax.Array, prediction: str) -> jax.Array:
    """The noise estimate implied by an epsilon-, x0- or v-prediction at z_t = sqrt(ab) x + sqrt(1-ab) eps."""
    if prediction == "epsilon":
        return pred
    if prediction == "x0":
        return (z - jnp.sqrt(ab) * pred) / jnp.sqrt(1 - ab)
    return jnp.sqrt(ab) * pred + jnp.sqrt(1 - ab) * z  # v = sqrt(ab) eps - sqrt(1 - ab) x


def _check_callable(func: str, name: str, fn) -> None:
    if not callable(fn):
        checks.fail(func, name, "a callable", checks.Text(type(fn).__name__), exc=TypeError)


@checks.inputs(key="key[]", schedule=_SCHEDULE, x="float[*s]")
def ddpm_loss(
    key: jax.Array,
    denoiser: Callable[[jax.Array, jax.Array], jax.Array],
    schedule: DDPMSchedule,
    x: jax.Array,
    *,
    t=None,
    prediction: str = "epsilon",
) -> jax.Array:
    r"""The simplified DDPM loss of one example (epsilon-prediction by default).

    $$\mathcal{C}(x) = \lVert \varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}\,x
      + \sqrt{1-\bar\alpha_t}\,\varepsilon, t)\rVert^2 .$$

    $t$ is uniform on the $T$ steps (unless given) and $\varepsilon \sim \mathcal{N}(0, I)$; the
    training objective averages this over examples. With ``prediction="x0"`` the target is $x$,
    with ``"v"`` it is $v = \sqrt{\bar\alpha_t}\varepsilon - \sqrt{1-\bar\alpha_t}x$ (Salimans &
    Ho, 2022). The norm is the sum of squares over every coordinate (the book's form; divide by
    ``x.size`` for the per-pixel mean that some codes use).

    Args:
      key: a typed PRNG key (the step, when `t` is None, and the noise).
      denoiser: ``denoiser(z_t, t) -> prediction`` of ONE example, with `t` an int32 scalar
        (close over its parameters to differentiate them).
      schedule: a ``DDPMSchedule`` of length $T$.
      x: ONE clean example, any shape (``jax.vmap`` with split keys for a batch).
      t: a fixed 0-based step in $[0, T)$ (integer scalar), or None to draw one.
      prediction: ``"epsilon"``, ``"x0"`` or ``"v"``: what the denoiser predicts.

    Returns:
      The loss, a scalar. NaN under ``jax.jit`` when `t` is out of range.

    Raises:
      ValueError: eagerly, if `t` is outside $[0, T)$, or `prediction` is unknown.
      TypeError: if `denoiser` is not callable, `x` not floating or `t` not an integer.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), eq. (14) and Algorithm 1; Salimans & Ho
      (2022), Sec. 4 (v-prediction).
    """
    func = checks.public_name(ddpm_loss)
    _check_callable(func, "denoiser", denoiser)
    checks.check_choice(func, "prediction", prediction, _PREDICTIONS)
    T = schedule.betas.shape[0]
    k_t, k_eps = jax.random.split(key)
    if t is None:
        t = jax.random.randint(k_t, (), 0, T, dtype=jnp.int32)
    t = checks.conform(func, "t", t, "int[]")
    ok, ts = _steps(func, schedule, t)
    ts = ts.astype(jnp.int32)
    eps = jax.random.normal(k_eps, x.shape, x.dtype)
    z = _q_sample(schedule, x, ts, eps)
    pred = denoiser(z, ts)
    ab = _coef(schedule.alpha_bars, ts, x)
    if prediction == "epsilon":
        target = eps
    elif prediction == "x0":
        target = x
    else:
        target = jnp.sqrt(ab) * eps - jnp.sqrt(1 - ab) * x
    r = target - pred
    return _check_t(func, ok, t, T, jnp.sum(r * r))


def _shape(func: str, shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        checks.fail(func, "shape", "a tuple of ints", checks.Text(type(shape).__name__), exc=TypeError)
    if any(s < 1 for s in shape):
        checks.fail(func, "shape", "positive sizes", shape)
    return shape


@checks.inputs(key="key[]", schedule=_SCHEDULE)
def ddpm_sample(
    key: jax.Array,
    denoiser: Callable[[jax.Array, jax.Array], jax.Array],
    schedule: DDPMSchedule,
    shape,
    *,
    variance: str = "beta",
    prediction: str = "epsilon",
    return_chain: bool = False,
    dtype=None,
):
    r"""Ancestral sampling of ONE example through the reverse chain $p_\theta(z_{t-1} \mid z_t)$.

    From $z_T \sim \mathcal{N}(0, I)$, for $t = T, \dots, 1$:

    $$z_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(z_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,
      \varepsilon_\theta(z_t, t)\Big) + \sigma_t\,\xi, \qquad \xi \sim \mathcal{N}(0, I),$$

    with $\sigma_t^2 = \beta_t$ (``"beta"``) or $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t$
    (``"beta_tilde"``), and no noise in the last step. The whole chain is one ``lax.scan``
    (the denoiser is traced once). An x0- or v-prediction is turned into the noise it implies.
    The key is split in two: the first draws $z_T$, the noise of scan step $j$ uses
    ``fold_in(second, j)`` (the same layout as :func:`ddim_sample`).

    Args:
      key: a typed PRNG key.
      denoiser: ``denoiser(z_t, t) -> prediction`` of ONE example, `t` a 0-based int32 scalar.
      schedule: a ``DDPMSchedule`` of length $T$.
      shape: the shape of one example (a tuple of ints); ``jax.vmap`` over keys for many.
      variance: ``"beta"`` or ``"beta_tilde"``.
      prediction: ``"epsilon"``, ``"x0"`` or ``"v"``.
      return_chain: also return every $z_{t-1}$, shape ``(T, *shape)`` (last row the sample).
      dtype: floating dtype of the sample (default: the schedule's).

    Returns:
      The sample $z_0$ of shape `shape`, or ``(sample, chain)`` when `return_chain`.

    Raises:
      ValueError: on an unknown `variance` or `prediction`, or a bad `shape`.
      TypeError: if `denoiser` is not callable.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Ho, Jain & Abbeel (2020), Algorithm 2 and Sec. 3.2.
    """
    func = checks.public_name(ddpm_sample)
    _check_callable(func, "denoiser", denoiser)
    checks.check_choice(func, "variance", variance, _VARIANCES)
    checks.check_choice(func, "prediction", prediction, _PREDICTIONS)
    shape = _shape(func, shape)
    dtype = schedule.betas.dtype if dtype is None else dtype
    T = schedule.betas.shape[0]
    b, a, ab = (v.astype(dtype) for v in schedule)
    ab_prev = jnp.concatenate([jnp.ones((1,), dtype), ab[:-1]])
    sigma2 = b if variance == "beta" else (1 - ab_prev) / (1 - ab) * b
    k_T, k_steps = jax.random.split(key)
    z_T = jax.random.normal(k_T, shape, dtype)

    def step(z, inp):
        j, t = inp
        k = jax.random.fold_in(k_steps, j)
        eps = _eps_from(denoiser(z, t), z, ab[t], prediction)
        mean = (z - b[t] / jnp.sqrt(1 - ab[t]) * eps) / jnp.sqrt(a[t])
        noise = jnp.where(t > 0, jnp.sqrt(sigma2[t]), jnp.zeros((), dtype)) * jax.random.normal(k, shape, dtype)
        z_prev = mean + noise
        return z_prev, (z_prev if return_chain else None)

    ts = jnp.arange(T - 1, -1, -1, dtype=jnp.int32)
    z0, chain = lax.scan(step, z_T, (jnp.arange(T), ts))
    return (z0, chain) if return_chain else z0


@checks.inputs(key="key[]", schedule=_SCHEDULE)
def ddim_sample(
    key: jax.Array,
    denoiser: Callable[[jax.Array, jax.Array], jax.Array],
    schedule: DDPMSchedule,
    shape,
    *,
    num_steps: int = 50,
    eta: float = 0.0,
    prediction: str = "epsilon",
    dtype=None,
) -> jax.Array:
    r"""DDIM sampling of ONE example on a subsequence of $S \le T$ steps (deterministic at $\eta = 0$).

    On the steps $\tau_S > \dots > \tau_1$ (equally spaced in $[0, T)$, rounded), with
    $\hat x_0 = (z_\tau - \sqrt{1-\bar\alpha_\tau}\,\hat\varepsilon)/\sqrt{\bar\alpha_\tau}$:

    $$z_{\tau'} = \sqrt{\bar\alpha_{\tau'}}\,\hat x_0 + \sqrt{1 - \bar\alpha_{\tau'} - \sigma^2}\,\hat\varepsilon
      + \sigma\,\xi, \quad \sigma = \eta\sqrt{\tfrac{1-\bar\alpha_{\tau'}}{1-\bar\alpha_\tau}}
      \sqrt{1 - \tfrac{\bar\alpha_\tau}{\bar\alpha_{\tau'}}},$$

    with $\bar\alpha = 1$ after the last step. $\eta = 0$ is the deterministic DDIM map from
    $z_T$ to $x$; $\eta = 1$ with $S = T$ is DDPM ancestral sampling with variance $\tilde\beta_t$.
    The keys are laid out like :func:`ddpm_sample`'s; one ``lax.scan``.

    Args:
      key: a typed PRNG key.
      denoiser: ``denoiser(z_t, t) -> prediction`` of ONE example, `t` a 0-based int32 scalar.
      schedule: a ``DDPMSchedule`` of length $T$.
      shape: the shape of one example (a tuple of ints).
      num_steps: $S$, with $1 \le S \le T$ (a Python int).
      eta: $\eta \ge 0$, the stochasticity (a Python float).
      prediction: ``"epsilon"``, ``"x0"`` or ``"v"``.
      dtype: floating dtype of the sample (default: the schedule's).

    Returns:
      The sample, shape `shape`.

    Raises:
      ValueError: if `num_steps` is outside $[1, T]$, `eta` < 0, or `prediction`/`shape` is bad.
      TypeError: if `denoiser` is not callable or `num_steps` not an int.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Song, Meng & Ermon (2021), "Denoising Diffusion Implicit Models", eq. (12).
    """
    func = checks.public_name(ddim_sample)
    _check_callable(func, "denoiser", denoiser)
    checks.check_choice(func, "prediction", prediction, _PREDICTIONS)
    checks.check_positive(func, "eta", eta, strict=False)
    shape = _shape(func, shape)
    T = schedule.betas.shape[0]
    if isinstance(num_steps, bool) or not isinstance(num_steps, int | np.integer):
        checks.fail(func, "num_steps", "a Python int", checks.Text(type(num_steps).__name__), exc=TypeError)
    if not 1 <= num_steps <= T:
        checks.fail(func, "num_steps", f"an int in [1, {T}]", num_steps)
    dtype = schedule.betas.dtype if dtype is None else dtype
    taus = np.unique(np.round(np.linspace(0, T - 1, num_steps)).astype(np.int32))
    ab = schedule.alpha_bars.astype(dtype)
    ab_t = ab[taus[::-1]]
    ab_prev = jnp.concatenate([ab[taus[::-1][1:]], jnp.ones((1,), dtype)])
    k_T, k_steps = jax.random.split(key)
    z_T = jax.random.normal(k_T, shape, dtype)

    def step(z, inp):
        j, t, a_t, a_prev = inp
        eps = _eps_from(denoiser(z, t), z, a_t, prediction)
        x0 = (z - jnp.sqrt(1 - a_t) * eps) / jnp.sqrt(a_t)
        sigma2 = eta**2 * (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
        dir_coef = jnp.sqrt(jnp.maximum(1 - a_prev - sigma2, 0))
        z_prev = jnp.sqrt(a_prev) * x0 + dir_coef * eps
        if eta != 0:
            z_prev = z_prev + jnp.sqrt(sigma2) * jax.random.normal(jax.random.fold_in(k_steps, j), shape, dtype)
        return z_prev, None

    ts = jnp.asarray(taus[::-1], jnp.int32)
    z0, _ = lax.scan(step, z_T, (jnp.arange(len(taus)), ts, ab_t, ab_prev))
    return z0


class DDPMELBOTerms(NamedTuple):
    r"""The terms of a DDPM's negative ELBO for one example, in nats (see :func:`ddpm_elbo_terms`).

    Attributes:
      prior: $L_T = D_{\mathrm{KL}}(q(z_T \mid x)\,\|\,\mathcal{N}(0, I))$, a scalar.
      steps: $L_{t-1}$ for the book's $t = 2, \dots, T$ (0-based index ``t - 2``), shape ``(T - 1,)``.
      reconstruction: $L_0 = -\log p_\theta(x \mid z_1)$, a scalar.
      nelbo: $L_T + \sum_t L_{t-1} + L_0 \ge -\log p_\theta(x)$ (in expectation).
    """

    prior: jax.Array
    steps: jax.Array
    reconstruction: jax.Array
    nelbo: jax.Array


@checks.inputs(key="key[]", schedule=_SCHEDULE, x="float[*s]")
def ddpm_elbo_terms(
    key: jax.Array,
    denoiser: Callable[[jax.Array, jax.Array], jax.Array],
    schedule: DDPMSchedule,
    x: jax.Array,
    *,
    variance: str = "beta_tilde",
    prediction: str = "epsilon",
) -> DDPMELBOTerms:
    r"""The DDPM as a Markovian hierarchical VAE: the terms of its negative ELBO for one example.

    With the encoder chain $q(z_{1:T} \mid x)$ fixed and the decoder chain
    $p_\theta(z_{t-1} \mid z_t) = \mathcal{N}(\mu_\theta(z_t, t), \sigma_t^2 I)$,
    $\mu_\theta = \frac{1}{\sqrt{\alpha_t}}\big(z_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\hat\varepsilon\big)$,

    $$-\mathrm{ELBO}(x) = \underbrace{D_{\mathrm{KL}}(q(z_T \mid x)\,\|\,p(z_T))}_{L_T}
      + \sum_{t=2}^{T}\underbrace{\mathbb{E}_{q(z_t \mid x)} D_{\mathrm{KL}}\big(q(z_{t-1} \mid z_t, x)
      \,\|\,p_\theta(z_{t-1} \mid z_t)\big)}_{L_{t-1}}
      \underbrace{- \mathbb{E}_{q(z_1 \mid x)}\log p_\theta(x \mid z_1)}_{L_0} \;\ge\; -\log p_\theta(x).$$

    The posterior is $q(z_{t-1} \mid z_t, x) = \mathcal{N}(\tilde\mu_t, \tilde\beta_t I)$ with

    $$\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t}x
      + \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}z_t,$$

    and $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t$; each KL between the two
    Gaussians is computed in closed form. For $z_t = \sqrt{\bar\alpha_t}x + \sqrt{1-\bar\alpha_t}\varepsilon$,
    $\tilde\mu_t - \mu_\theta = \frac{\beta_t}{\sqrt{\alpha_t}\sqrt{1-\bar\alpha_t}}(\hat\varepsilon - \varepsilon)$,
    so with $\sigma_t^2 = \tilde\beta_t$ the step term is the weighted noise error
    $L_{t-1} = \frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}\lVert\varepsilon - \hat\varepsilon\rVert^2$,
    the simplified loss of :func:`ddpm_loss` up to its weight. The last decoder is the Gaussian
    $p_\theta(x \mid z_1) = \mathcal{N}(\mu_\theta(z_1, 1), \beta_1 I)$ (continuous data; Ho et al.
    discretise it for 8-bit images). Each expectation is a one-sample estimate with its own $z_t$:
    0-based step ``t`` draws its noise $\varepsilon$ with key ``jax.random.split(key, T)[t]``, so
    ``nelbo`` is an unbiased estimate of $-\mathrm{ELBO}(x)$.

    Args:
      key: a typed PRNG key.
      denoiser: ``denoiser(z_t, t) -> prediction`` of ONE example, `t` a 0-based int32 scalar.
      schedule: a ``DDPMSchedule`` of length $T \ge 2$.
      x: ONE clean example, any shape (``jax.vmap`` with split keys for a batch).
      variance: the decoder's $\sigma_t^2$ for $t \ge 2$: ``"beta_tilde"`` ($\tilde\beta_t$) or ``"beta"``.
      prediction: ``"epsilon"``, ``"x0"`` or ``"v"`` (turned into the noise it implies).

    Returns:
      :class:`DDPMELBOTerms` ``(prior, steps, reconstruction, nelbo)``, in nats.

    Raises:
      ValueError: if $T < 2$, or `variance` / `prediction` is unknown.
      TypeError: if `denoiser` is not callable or `x` not floating.

    References:
      [MEDL] Ch. 8, Sec. 8.2, Fig. 8.4; Ho, Jain & Abbeel (2020), eqs. (5)-(8) and (12); Sohl-Dickstein
      et al. (2015); Kingma et al. (2021), "Variational Diffusion Models".
    """
    func = checks.public_name(ddpm_elbo_terms)
    _check_callable(func, "denoiser", denoiser)
    checks.check_choice(func, "variance", variance, _VARIANCES)
    checks.check_choice(func, "prediction", prediction, _PREDICTIONS)
    T = schedule.betas.shape[0]
    if T < 2:
        checks.fail(func, "schedule", "a schedule of T >= 2 steps", checks.Text(f"T = {T}"))
    dtype = x.dtype
    b, a, ab = (v.astype(dtype) for v in schedule)
    ab_prev = jnp.concatenate([jnp.ones((1,), dtype), ab[:-1]])
    n = x.size

    # L_T: KL(N(sqrt(ab_T) x, (1 - ab_T) I) || N(0, I)), coordinate by coordinate
    v_T = 1 - ab[-1]
    prior = 0.5 * (n * (v_T - 1 - jnp.log(v_T)) + ab[-1] * jnp.sum(x * x))

    def mean_theta(z, t, eps_hat):
        return (z - b[t] / jnp.sqrt(1 - ab[t]) * eps_hat) / jnp.sqrt(a[t])

    def draw(k, t):
        eps = jax.random.normal(k, x.shape, dtype)
        z = jnp.sqrt(ab[t]) * x + jnp.sqrt(1 - ab[t]) * eps
        eps_hat = _eps_from(denoiser(z, t), z, ab[t], prediction)
        return z, eps_hat

    keys = jax.random.split(key, T)

    def step_term(k, t):
        z, eps_hat = draw(k, t)
        bt = (1 - ab_prev[t]) / (1 - ab[t]) * b[t]
        mu_q = jnp.sqrt(ab_prev[t]) * b[t] / (1 - ab[t]) * x + jnp.sqrt(a[t]) * (1 - ab_prev[t]) / (1 - ab[t]) * z
        s2 = bt if variance == "beta_tilde" else b[t]
        d = mu_q - mean_theta(z, t, eps_hat)
        return 0.5 * n * (jnp.log(s2 / bt) + bt / s2 - 1) + 0.5 * jnp.sum(d * d) / s2

    ts = jnp.arange(1, T, dtype=jnp.int32)
    steps = jax.vmap(step_term)(keys[1:], ts)
    t0 = jnp.zeros((), jnp.int32)
    z1, eps_hat = draw(keys[0], t0)
    r = x - mean_theta(z1, t0, eps_hat)
    rec = 0.5 * jnp.sum(r * r) / b[0] + 0.5 * n * jnp.log(2 * math.pi * b[0])
    return DDPMELBOTerms(prior, steps, rec, prior + jnp.sum(steps) + rec)
