r"""Regression losses and the noise models they come from (maximum likelihood).

All losses are **per element** with no hidden reduction (the Optax convention): ``y_hat`` and ``y``
have the same shape `(*batch)` and so does the result. For vector outputs sum over the last axis
yourself. The objective is the average $C(\theta) = \frac1n\sum_i C_i(\theta)$ ([MEDL] Ch. 2).

The maximum-likelihood link (the D2L notes, Sec. "Normal distribution and squared loss"): if
$y = \hat y + \varepsilon$ with Gaussian noise, $-\log p(y \mid \hat y) = \frac{1}{2\sigma^2}(y-\hat y)^2
+ \text{const}$, so minimising the squared error is MLE; with Laplace noise it is the absolute error.
:func:`gaussian_nll` and :func:`laplace_nll` are those negative log-likelihoods with their constants.
"""

import math

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text

__all__ = ["absolute_error", "gaussian_nll", "huber", "laplace_nll", "squared_error"]

# Predictions and targets of one shape (no silent broadcasting: (n, 1) against (n,) is a classic bug).
_PAIR = {"y_hat": "float[*batch]", "y": "float[*batch]"}


def _same_dtype(func: str, ref_name: str, ref: jax.Array, name: str, v: jax.Array) -> None:
    """``v`` must have ``ref``'s dtype (the specs fix kind and shape, not the exact dtype)."""
    if v.dtype != ref.dtype:
        checks.fail(func, name, f"the dtype of `{ref_name}` ({ref.dtype})", Text(f"dtype {v.dtype}"), exc=TypeError)


def _abs0(r: jax.Array) -> jax.Array:
    """|r| as r·sign(r): same value, but the derivative at 0 is sign(0) = 0 (jnp.abs's is 1 in JAX),
    the minimum-norm subgradient, as in PyTorch's l1_loss."""
    return r * jnp.sign(r)


def _scale(func: str, name: str, value, like: jax.Array) -> jax.Array:
    """A positive scale hyperparameter: a Python number (checked now) or an array (checked by value)."""
    if isinstance(value, bool) or isinstance(value, str | bytes) or value is None:
        checks.fail(func, name, "a positive real number or array", type(value).__name__, exc=TypeError)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            checks.fail(func, name, "a finite value", value)
        checks.check_positive(func, name, value)
        return jnp.asarray(value, dtype=like.dtype)
    arr = checks.conform(func, name, value, "float[*shape]")
    if arr.shape not in ((), like.shape):
        checks.fail(func, name, f"a scalar or shape {like.shape}", f"shape {arr.shape}")
    if arr.dtype != like.dtype:
        checks.fail(func, name, f"dtype {like.dtype}", f"dtype {arr.dtype}", exc=TypeError)
    checks.value_check(arr > 0, f"{func}: argument `{name}` expected values > 0, got a non-positive value.")
    return arr


@checks.inputs(**_PAIR)
def squared_error(y_hat: jax.Array, y: jax.Array, *, half: bool = False) -> jax.Array:
    r"""Squared error $(\hat y - y)^2$, or $\tfrac12(\hat y - y)^2$ with ``half=True``.

    The book's figures and least-squares derivations use both scalings; the $\tfrac12$ makes the
    gradient $\hat y - y$. The default (no $\tfrac12$) matches ``optax.losses.squared_error``.

    Args:
      y_hat: predictions $\hat y$, shape `(*batch)` (per element: any shape), floating dtype.
      y: targets $y$, same shape and dtype as ``y_hat``.
      half: multiply by $\tfrac12$.

    Returns:
      Per-element loss, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating, the dtypes differ, or ``half`` is not a bool.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (squared loss, Fig. 2.6).
      Oracle in tests: ``optax.losses.squared_error``, ``torch.nn.functional.mse_loss``.
    """
    func = checks.public_name(squared_error)
    _same_dtype(func, "y_hat", y_hat, "y", y)
    if not isinstance(half, bool):  # not check_choice: 1 == True would slip through
        checks.fail(func, "half", "a bool", half, exc=TypeError)
    r = y_hat - y
    return 0.5 * r * r if half else r * r


@checks.inputs(**_PAIR)
def absolute_error(y_hat: jax.Array, y: jax.Array) -> jax.Array:
    r"""Absolute error $|\hat y - y|$ (its gradient at $\hat y = y$ is taken as 0).

    Args:
      y_hat: predictions $\hat y$, shape `(*batch)` (per element: any shape), floating dtype.
      y: targets $y$, same shape and dtype as ``y_hat``.

    Returns:
      Per-element loss, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating, or the dtypes differ.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (absolute loss, Fig. 2.6).
      Oracle in tests: ``torch.nn.functional.l1_loss``, ``numpy.abs``.
    """
    _same_dtype(checks.public_name(absolute_error), "y_hat", y_hat, "y", y)
    return _abs0(y_hat - y)


@checks.inputs(**_PAIR)
def huber(y_hat: jax.Array, y: jax.Array, *, delta: float = 1.0) -> jax.Array:
    r"""Huber loss: quadratic near zero, linear in the tails.

    With $r = \hat y - y$ and $\delta$ = ``delta``,
    $$\ell_\delta(r) = \begin{cases}\tfrac12 r^2 & |r| \le \delta,\\
      \delta\,(|r| - \tfrac12\delta) & |r| > \delta.\end{cases}$$
    With $\delta = 1$ this is the book's $u^2/2$ for $|u| < 1$, else $|u| - 1/2$.

    Args:
      y_hat: predictions $\hat y$, shape `(*batch)` (per element: any shape), floating dtype.
      y: targets $y$, same shape and dtype as ``y_hat``.
      delta: $\delta > 0$, where the quadratic turns linear.

    Returns:
      Per-element loss, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating, the dtypes differ, or ``delta`` is not a number.
      ValueError: if the shapes differ or ``delta`` is not positive and finite.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (Huber loss with δ = 1, Fig. 2.6); Huber (1964).
      Oracle in tests: ``optax.losses.huber_loss``, ``torch.nn.functional.huber_loss``.
    """
    func = checks.public_name(huber)
    _same_dtype(func, "y_hat", y_hat, "y", y)
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        checks.fail(func, "delta", "a real number", type(delta).__name__, exc=TypeError)
    if not math.isfinite(delta):
        checks.fail(func, "delta", "a finite value", delta)
    checks.check_positive(func, "delta", delta)
    a = jnp.abs(y_hat - y)
    # min(|r|, δ) form: ½q² + δ(|r| - q) with q = min(|r|, δ) equals both branches and has a
    # continuous derivative; jnp.minimum's tie at |r| = δ is harmless since both sides agree.
    q = jnp.where(a <= delta, a, jnp.full_like(a, delta))
    return 0.5 * q * q + delta * (a - q)


@checks.inputs(**_PAIR)
def gaussian_nll(y_hat: jax.Array, y: jax.Array, *, sigma: float | jax.Array = 1.0) -> jax.Array:
    r"""Negative log-likelihood of $y$ under Gaussian noise $y \sim \mathcal N(\hat y, \sigma^2)$.

    $$-\log p(y \mid \hat y) = \tfrac12\log(2\pi\sigma^2) + \frac{(y - \hat y)^2}{2\sigma^2}.$$

    For fixed $\sigma$ it is an affine function of the squared error, so both have the same
    minimiser (the mean, for a constant prediction).

    Args:
      y_hat: the mean $\hat y$, shape `(*batch)`, floating dtype.
      y: observations $y$, same shape and dtype.
      sigma: noise standard deviation $\sigma > 0$: a Python number, or an array of shape `()` or
        `(*batch)` (heteroscedastic noise; non-positive entries give NaN).

    Returns:
      Per-element NLL (in nats), shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating or the dtypes differ.
      ValueError: if the shapes differ, or a Python ``sigma`` is not positive and finite.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (squared loss ↔ Gaussian noise); D2L notes, "Normal distribution
      and squared loss". Oracle in tests: ``scipy.stats.norm.logpdf``,
      ``torch.nn.functional.gaussian_nll_loss(full=True)``.
    """
    func = checks.public_name(gaussian_nll)
    _same_dtype(func, "y_hat", y_hat, "y", y)
    s = _scale(func, "sigma", sigma, y)
    ok = s > 0
    s_safe = jnp.where(ok, s, jnp.ones_like(s))  # double where: no log of a non-positive sigma
    r = (y - y_hat) / s_safe
    nll = 0.5 * math.log(2 * math.pi) + jnp.log(s_safe) + 0.5 * r * r
    return jnp.where(ok, nll, jnp.full_like(nll, jnp.nan))


@checks.inputs(**_PAIR)
def laplace_nll(y_hat: jax.Array, y: jax.Array, *, b: float | jax.Array = 1.0) -> jax.Array:
    r"""Negative log-likelihood of $y$ under Laplace noise with location $\hat y$ and scale $b$.

    $$-\log p(y \mid \hat y) = \log(2b) + \frac{|y - \hat y|}{b}.$$

    For fixed $b$ it is an affine function of the absolute error, so both have the same
    minimiser (a median, for a constant prediction).

    Args:
      y_hat: the location $\hat y$, shape `(*batch)`, floating dtype.
      y: observations $y$, same shape and dtype.
      b: scale $b > 0$: a Python number, or an array of shape `()` or `(*batch)` (non-positive
        entries give NaN).

    Returns:
      Per-element NLL (in nats), shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating or the dtypes differ.
      ValueError: if the shapes differ, or a Python ``b`` is not positive and finite.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (absolute loss ↔ Laplace noise); D2L notes (maximum likelihood).
      Oracle in tests: ``scipy.stats.laplace.logpdf``.
    """
    func = checks.public_name(laplace_nll)
    _same_dtype(func, "y_hat", y_hat, "y", y)
    scale = _scale(func, "b", b, y)
    ok = scale > 0
    b_safe = jnp.where(ok, scale, jnp.ones_like(scale))
    nll = jnp.log(2 * b_safe) + _abs0(y - y_hat) / b_safe
    return jnp.where(ok, nll, jnp.full_like(nll, jnp.nan))
