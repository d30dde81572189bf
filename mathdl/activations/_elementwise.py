r"""Scalar activations $\sigma(u)$ applied elementwise, each with its derivative $\dot\sigma(u)$.

[MEDL] writes a vector activation $S(z)$ built from a scalar $\sigma$ and its derivative $\dot\sigma$
(Ch. 3 for the sigmoid, Sec. 5.3 for the alternatives, Sec. 5.4 for backpropagation, where
$\delta^{[\ell]} = \operatorname{diag}(\dot\sigma(z^{[\ell]}))\,W^{[\ell+1]\top}\delta^{[\ell+1]}$).
Every activation ``f`` here has its derivative ``d_f`` (the naming convention of this package), written
by hand from the formula, so explicit backpropagation can use it and tests can compare it with
``jax.grad``.

Kinks. Where the derivative does not exist (ReLU and leaky ReLU at 0, the step at 0) we return the
*left* derivative, which is also what ``jax.grad`` of the function gives: ``d_relu(0) = 0``,
``d_leaky_relu(0) = slope``, ``d_elu(0) = alpha``, ``d_step(u) = 0`` everywhere. The tests pin these.

All functions take a floating array of any shape (a Python float is accepted too), preserve its
dtype, and raise ``TypeError`` for integer or non-numeric input.
"""

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import erf

from mathdl import checks

__all__ = [
    "d_elu",
    "d_gelu",
    "d_leaky_relu",
    "d_relu",
    "d_scaled_sigmoid",
    "d_sigmoid",
    "d_silu",
    "d_softplus",
    "d_step",
    "d_swish",
    "d_tanh",
    "elu",
    "gelu",
    "leaky_relu",
    "relu",
    "scaled_sigmoid",
    "sigmoid",
    "silu",
    "softplus",
    "step",
    "swish",
    "tanh",
]

_GELU_C = 0.044715  # the cubic coefficient of the tanh approximation (Hendrycks & Gimpel, 2016)




def _check_hyper(func: str, name: str, value, *, strict: bool) -> None:
    """A static hyperparameter must be a finite real number (> 0 or >= 0)."""
    if isinstance(value, jax.core.Tracer):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        checks.fail(func, name, "a real number", type(value).__name__, exc=TypeError)
    if not math.isfinite(value):
        checks.fail(func, name, "a finite value", value)
    checks.check_positive(func, name, value, strict=strict)


def _sigmoid_raw(u: jax.Array) -> jax.Array:
    # Stable logistic: exp only ever sees a non-positive argument, so nothing overflows.
    # `where(u >= 0, -u, u)` rather than `-abs(u)`: abs has zero derivative at 0 in JAX,
    # which would make jax.grad(sigmoid)(0) = 0 instead of 1/4.
    e = jnp.exp(jnp.where(u >= 0, -u, u))
    return jnp.where(u >= 0, 1 / (1 + e), e / (1 + e))


@checks.inputs(u="float[*shape]")
def step(u: jax.Array) -> jax.Array:
    r"""The step (sign) activation of the perceptron, with values $\pm 1$.

    $$\sigma_{\text{step}}(u) = \begin{cases} +1 & u \ge 0,\\ -1 & u < 0.\end{cases}$$

    The value at $u = 0$ is $+1$ (a convention: the book's step takes the values $\pm 1$ and
    leaves the tie open). NaN stays NaN.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      $\pm 1$ elementwise, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (step activation, with values $\pm1$).
      Oracle in tests: ``numpy.where(u >= 0, 1, -1)``.
    """
    one = jnp.ones_like(u)
    return jnp.where(jnp.isnan(u), u, jnp.where(u >= 0, one, -one))


@checks.inputs(u="float[*shape]")
def d_step(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`step`: zero wherever it exists; we also return 0 at $u = 0$.

    $$\dot\sigma_{\text{step}}(u) = 0 \quad (u \ne 0).$$

    The step has no useful gradient, which is why the book replaces it by smooth activations.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Zeros (NaN where ``u`` is NaN), same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    return jnp.where(jnp.isnan(u), u, jnp.zeros_like(u))


@checks.inputs(u="float[*shape]")
def sigmoid(u: jax.Array) -> jax.Array:
    r"""The logistic sigmoid $\sigma_{\text{Sig}}(u) = 1/(1 + e^{-u})$.

    Computed as $1/(1+e^{-u})$ for $u \ge 0$ and $e^{u}/(1+e^{u})$ for $u < 0$, so the
    exponential never overflows: ``sigmoid(-1000.) == 0`` and ``sigmoid(1000.) == 1`` exactly.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[0, 1]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 3, Sec. 3.1 (logistic regression) and Sec. 5.3.
      Oracle in tests: ``scipy.special.expit``, ``torch.sigmoid``.
    """
    return _sigmoid_raw(u)


@checks.inputs(u="float[*shape]")
def d_sigmoid(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`sigmoid`: $\dot\sigma_{\text{Sig}}(u) = \sigma(u)\,(1 - \sigma(u))$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[0, 1/4]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 3, Sec. 3.1; Ch. 5, Sec. 5.4 (σ̇ in backpropagation).
    """
    s = _sigmoid_raw(u)
    return s * (1 - s)


@checks.inputs(u="float[*shape]")
def tanh(u: jax.Array) -> jax.Array:
    r"""Hyperbolic tangent $\sigma_{\text{Tanh}}(u) = (e^{u} - e^{-u})/(e^{u} + e^{-u})$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[-1, 1]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
      Oracle in tests: ``numpy.tanh``, ``torch.tanh``.
    """
    return jnp.tanh(u)


@checks.inputs(u="float[*shape]")
def d_tanh(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`tanh`: $\dot\sigma_{\text{Tanh}}(u) = 1 - \tanh^2(u)$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[0, 1]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    t = jnp.tanh(u)
    return 1 - t * t


@checks.inputs(u="float[*shape]")
def scaled_sigmoid(u: jax.Array) -> jax.Array:
    r"""The sigmoid rescaled to $(-1, 1)$: $2\sigma(u) - 1$ (which equals $\tanh(u/2)$).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[-1, 1]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (scaled sigmoid).
    """
    return 2 * _sigmoid_raw(u) - 1


@checks.inputs(u="float[*shape]")
def d_scaled_sigmoid(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`scaled_sigmoid`: $2\sigma(u)(1 - \sigma(u))$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[0, 1/2]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    s = _sigmoid_raw(u)
    return 2 * s * (1 - s)


@checks.inputs(u="float[*shape]")
def relu(u: jax.Array) -> jax.Array:
    r"""Rectified linear unit $\sigma_{\text{ReLU}}(u) = \max(0, u)$.

    Written as ``where(u > 0, u, 0)`` so that ``jax.grad`` gives $0$ at the kink, matching
    :func:`d_relu` (``jnp.maximum`` would split the tie and give $1/2$).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      $\max(0, u)$, same shape and dtype as ``u`` (NaN stays NaN).

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
      Oracle in tests: ``jax.nn.relu``, ``torch.relu``.
    """
    return jnp.where((u > 0) | jnp.isnan(u), u, jnp.zeros_like(u))


@checks.inputs(u="float[*shape]")
def d_relu(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`relu`: $1$ for $u > 0$, $0$ for $u \le 0$ (so ``d_relu(0) = 0``).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      $0$ or $1$ (NaN where ``u`` is NaN), same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3. The value at 0 matches PyTorch's and ``jax.nn.relu``'s gradient.
    """
    return jnp.where(jnp.isnan(u), u, (u > 0).astype(u.dtype))


@checks.inputs(u="float[*shape]")
def leaky_relu(u: jax.Array, *, slope: float = 0.01) -> jax.Array:
    r"""Leaky ReLU: $u$ for $u > 0$, $\varepsilon u$ otherwise, with $\varepsilon$ = ``slope``.

    The book's figures use $\varepsilon \in \{0.05, 0.1\}$; the default 0.01 is the framework one
    (PyTorch, ``jax.nn``).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      slope: $\varepsilon \ge 0$, the slope for negative inputs.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``slope`` is not a real number.
      ValueError: if ``slope`` is negative or not finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (leaky ReLU with parameter ε).
      Oracle in tests: ``torch.nn.functional.leaky_relu``.
    """
    _check_hyper(checks.public_name(leaky_relu), "slope", slope, strict=False)
    return jnp.where(u > 0, u, slope * u)


@checks.inputs(u="float[*shape]")
def d_leaky_relu(u: jax.Array, *, slope: float = 0.01) -> jax.Array:
    r"""Derivative of :func:`leaky_relu`: $1$ for $u > 0$, $\varepsilon$ for $u \le 0$.

    At the kink we return ``slope`` (the left derivative), consistent with ``d_relu(0) = 0``
    (the case ``slope = 0``) and with PyTorch.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      slope: $\varepsilon \ge 0$.

    Returns:
      Same shape and dtype as ``u`` (NaN where ``u`` is NaN).

    Raises:
      TypeError: if ``u`` is not a floating array or ``slope`` is not a real number.
      ValueError: if ``slope`` is negative or not finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    _check_hyper(checks.public_name(d_leaky_relu), "slope", slope, strict=False)
    d = jnp.where(u > 0, jnp.ones_like(u), jnp.full_like(u, slope))
    return jnp.where(jnp.isnan(u), u, d)


@checks.inputs(u="float[*shape]")
def elu(u: jax.Array, *, alpha: float = 1.0) -> jax.Array:
    r"""Exponential linear unit: $u$ for $u > 0$, $\alpha(e^{u} - 1)$ otherwise.

    Uses ``expm1`` on a clamped argument (double ``where``), so large positive inputs never
    produce an ``inf`` in the branch that is thrown away (which would poison the gradient).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      alpha: $\alpha > 0$, the negative saturation level is $-\alpha$.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``alpha`` is not a real number.
      ValueError: if ``alpha`` is not positive and finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (listed among the alternatives); Clevert et al. (2016).
      Oracle in tests: ``jax.nn.elu``, ``torch.nn.functional.elu``.
    """
    _check_hyper(checks.public_name(elu), "alpha", alpha, strict=True)
    neg = jnp.where(u > 0, jnp.zeros_like(u), u)
    return jnp.where(u > 0, u, alpha * jnp.expm1(neg))


@checks.inputs(u="float[*shape]")
def d_elu(u: jax.Array, *, alpha: float = 1.0) -> jax.Array:
    r"""Derivative of :func:`elu`: $1$ for $u > 0$, $\alpha e^{u}$ for $u \le 0$ ($\alpha$ at 0).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      alpha: $\alpha > 0$.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``alpha`` is not a real number.
      ValueError: if ``alpha`` is not positive and finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3; Clevert et al. (2016).
    """
    _check_hyper(checks.public_name(d_elu), "alpha", alpha, strict=True)
    neg = jnp.where(u > 0, jnp.zeros_like(u), u)
    return jnp.where(u > 0, jnp.ones_like(u), alpha * jnp.exp(neg))


def _finite_times(u: jax.Array, v: jax.Array) -> jax.Array:
    """u·v where v -> 0 as |u| -> inf faster than u grows: the limit 0 at u = ±inf instead of inf·0 = NaN."""
    return jnp.where(jnp.isinf(u), jnp.zeros_like(u), u * v)


def _saturating(u: jax.Array, f, large: jax.Array) -> jax.Array:
    """f(u), except where ``large``: there u (gradient 1) for u > 0 and 0 (gradient 0) for u < 0.

    For u·Φ(u)-shaped activations (GELU, SiLU, swish) whose value is exactly u or 0 once the gate
    rounds to 1 or 0. f only sees u with the large entries replaced by 0 (double where), so neither
    the value nor the gradient meets inf·0 = NaN at ±inf, or an overflowing u² or u³. NaN is not
    large and stays NaN.
    """
    y = f(jnp.where(large, jnp.zeros_like(u), u))
    return jnp.where(large, jnp.where(u > 0, u, jnp.zeros_like(u)), y)


# |u| (|beta u| for swish) from which the gate Phi, tanh or sigma is exactly 0 or 1 in float16, float32 and
# float64, so _saturating returns the function's own rounded value there. For the tanh approximation 10 also keeps
# u**3 and 3u**2 finite in float16 (u**3 overflows float16 from u = 41).
_SATURATED = 1e3
_SATURATED_TANH = 10.0


def _gelu_inner(u):
    k = math.sqrt(2 / math.pi)
    return k * (u + _GELU_C * u**3)


@checks.inputs(u="float[*shape]")
def gelu(u: jax.Array, *, approximate: bool = False) -> jax.Array:
    r"""Gaussian error linear unit $u\,\Phi(u)$, exact or with the tanh approximation.

    Exact: $\operatorname{GELU}(u) = u\,\Phi(u) = \tfrac{u}{2}\bigl(1 + \operatorname{erf}(u/\sqrt2)\bigr)$.
    Approximate (``approximate=True``):
    $\tfrac{u}{2}\bigl(1 + \tanh(\sqrt{2/\pi}\,(u + 0.044715\,u^3))\bigr)$.

    Note the default differs from ``jax.nn.gelu`` (whose default is the approximation) and
    matches PyTorch (whose default is exact).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      approximate: use the tanh approximation.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``approximate`` is not a bool.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (alternatives); Hendrycks & Gimpel (2016), "Gaussian Error Linear Units".
      Oracle in tests: ``torch.nn.functional.gelu``, ``scipy.special.ndtr``.
    """
    if not isinstance(approximate, bool):  # not check_choice: 1 == True would slip through
        checks.fail(checks.public_name(gelu), "approximate", "a bool", approximate, exc=TypeError)
    # At u = ±inf the product u·Φ(u) has the limits +inf and 0 (gradients 1 and 0): _saturating returns them.
    if approximate:
        return _saturating(u, lambda v: 0.5 * v * (1 + jnp.tanh(_gelu_inner(v))), jnp.abs(u) >= _SATURATED_TANH)
    return _saturating(u, lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2))), jnp.abs(u) >= _SATURATED)


@checks.inputs(u="float[*shape]")
def d_gelu(u: jax.Array, *, approximate: bool = False) -> jax.Array:
    r"""Derivative of :func:`gelu`.

    Exact: $\Phi(u) + u\,\varphi(u)$ with $\varphi$ the standard normal density.
    Approximate: with $t = \tanh(k(u + c u^3))$, $k = \sqrt{2/\pi}$, $c = 0.044715$,
    $\tfrac12(1 + t) + \tfrac12 u (1 - t^2)\,k\,(1 + 3 c u^2)$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      approximate: differentiate the tanh approximation instead.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``approximate`` is not a bool.

    References:
      [MEDL] Ch. 5, Sec. 5.3; Hendrycks & Gimpel (2016).
    """
    if not isinstance(approximate, bool):  # not check_choice: 1 == True would slip through
        checks.fail(checks.public_name(d_gelu), "approximate", "a bool", approximate, exc=TypeError)
    if approximate:
        k = math.sqrt(2 / math.pi)
        t = jnp.tanh(_gelu_inner(u))
        # For |u| >= 10, tanh is exactly ±1 in float16, float32 and float64, so the second term is 0; zeroing
        # u there avoids u² (float16) or u³ overflowing into inf·0 = NaN.
        uc = jnp.where(jnp.abs(u) < _SATURATED_TANH, u, jnp.zeros_like(u))
        return 0.5 * (1 + t) + 0.5 * uc * (1 - t * t) * k * (1 + 3 * _GELU_C * uc * uc)
    Phi = 0.5 * (1 + erf(u / math.sqrt(2)))
    phi = jnp.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
    return Phi + _finite_times(u, phi)


@checks.inputs(u="float[*shape]")
def swish(u: jax.Array, *, beta: float = 1.0) -> jax.Array:
    r"""Swish $u\,\sigma(\beta u)$; with $\beta = 1$ it is SiLU (see :func:`silu`).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      beta: $\beta > 0$, the sharpness ($\beta \to \infty$ tends to ReLU).

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``beta`` is not a real number.
      ValueError: if ``beta`` is not positive and finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (alternatives); Ramachandran, Zoph & Le (2017), "Searching for
      Activation Functions". Oracle in tests: ``torch.nn.functional.silu``, ``jax.nn.swish``.
    """
    _check_hyper(checks.public_name(swish), "beta", beta, strict=True)
    return _saturating(u, lambda v: v * _sigmoid_raw(beta * v), jnp.abs(beta * u) >= _SATURATED)  # limits at ±inf


@checks.inputs(u="float[*shape]")
def d_swish(u: jax.Array, *, beta: float = 1.0) -> jax.Array:
    r"""Derivative of :func:`swish`: $\sigma(\beta u) + \beta u\,\sigma(\beta u)(1 - \sigma(\beta u))$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.
      beta: $\beta > 0$.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array or ``beta`` is not a real number.
      ValueError: if ``beta`` is not positive and finite.

    References:
      [MEDL] Ch. 5, Sec. 5.3; Ramachandran, Zoph & Le (2017).
    """
    _check_hyper(checks.public_name(d_swish), "beta", beta, strict=True)
    s = _sigmoid_raw(beta * u)
    return s + beta * _finite_times(u, s * (1 - s))


@checks.inputs(u="float[*shape]")
def silu(u: jax.Array) -> jax.Array:
    r"""Sigmoid linear unit $u\,\sigma(u)$ (swish with $\beta = 1$).

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3; Elfwing, Uchibe & Doya (2018).
      Oracle in tests: ``torch.nn.functional.silu``.
    """
    return _saturating(u, lambda v: v * _sigmoid_raw(v), jnp.abs(u) >= _SATURATED)  # limits +inf, 0 at ±inf


@checks.inputs(u="float[*shape]")
def d_silu(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`silu`: $\sigma(u)\,(1 + u(1 - \sigma(u)))$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    s = _sigmoid_raw(u)
    return s * (1 + _finite_times(u, 1 - s))


@checks.inputs(u="float[*shape]")
def softplus(u: jax.Array) -> jax.Array:
    r"""Softplus $\log(1 + e^{u})$, a smooth ReLU.

    Computed as $\max(u, 0) + \log(1 + e^{-|u|})$ (with ``log1p``), which never overflows:
    ``softplus(1000.) == 1000.`` and ``softplus(-1000.) == 0``.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Positive values, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3 (alternatives).
      Oracle in tests: ``numpy.logaddexp(0, u)``, ``torch.nn.functional.softplus``.
    """
    pos = jnp.where(u > 0, u, jnp.zeros_like(u))
    # -|u| written with where, not abs, so that the derivative at 0 is 1/2 (see _sigmoid_raw).
    return pos + jnp.log1p(jnp.exp(jnp.where(u > 0, -u, u)))


@checks.inputs(u="float[*shape]")
def d_softplus(u: jax.Array) -> jax.Array:
    r"""Derivative of :func:`softplus`: the sigmoid, $\sigma(u)$.

    Args:
      u: pre-activation, any shape (elementwise: a batch ``(*batch, K)`` broadcasts), floating
        dtype; a list or Python float is converted.

    Returns:
      Values in $[0, 1]$, same shape and dtype as ``u``.

    Raises:
      TypeError: if ``u`` is not a floating array.

    References:
      [MEDL] Ch. 5, Sec. 5.3.
    """
    return _sigmoid_raw(u)
