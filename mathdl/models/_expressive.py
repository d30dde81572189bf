r"""Expressive power of feedforward networks ([MEDL] Sec. 5.2): exact constructions.

* :func:`relu_interpolation` builds the one-hidden-layer ReLU network that interpolates given
  points exactly and is piecewise linear between them.
* :func:`multiplication_gate` multiplies two numbers with four hidden units of a smooth activation
  whose second derivative at 0 is non-zero; :func:`product_tree` multiplies $n$ numbers with a
  binary tree of such gates, a network of depth $\lceil\log_2 n\rceil$.
"""

import math

import jax
import jax.numpy as jnp

from mathdl import activations, checks
from mathdl.layers import DenseParams

__all__ = ["GATE_ACTIVATIONS", "multiplication_gate", "product_tree", "relu_interpolation"]

#: name -> (sigma, sigma''(0)); only activations with a non-zero second derivative at 0 qualify.
GATE_ACTIVATIONS = {
    "softplus": (activations.softplus, 0.25),  # softplus'' = σ(1 - σ), 1/4 at 0
    "silu": (activations.silu, 0.5),  # (u σ(u))'' = 2σ' + u σ'' -> 2 · 1/4 at 0
    "gelu": (activations.gelu, math.sqrt(2.0 / math.pi)),  # (u Φ(u))'' = 2φ + u φ' -> 2/sqrt(2π) at 0
}


@checks.inputs(knots_u="float[r]", values_v="float[r]")
def relu_interpolation(knots_u: jax.Array, values_v: jax.Array) -> tuple[DenseParams, DenseParams]:
    r"""Parameters of the ReLU network that interpolates $(u_i, v_i)$ exactly.

    With knots $u_1 < \dots < u_r$ and slopes $s_i = (v_{i+1} - v_i)/(u_{i+1} - u_i)$, $s_0 = 0$,

    $$f(x) = v_1 + \sum_{i=1}^{r-1} (s_i - s_{i-1})\,\mathrm{ReLU}(x - u_i),$$

    a network with $r - 1$ hidden ReLU units: $W^{[1]} = \mathbf 1$, $b^{[1]} = -(u_1, \dots, u_{r-1})$,
    $W^{[2]} = (s_1 - s_0, \dots, s_{r-1} - s_{r-2})$, $b^{[2]} = v_1$. It equals $v_i$ at every knot,
    is linear between knots, constant ($v_1$) left of $u_1$ and continues with slope $s_{r-1}$ right
    of $u_r$. Evaluate with ``mlp(params, x[None])`` (ReLU hidden layer, linear output).

    Args:
      knots_u: strictly increasing knots $u$, shape ``(r,)``, ``r >= 2``.
      values_v: target values $v_i = f^*(u_i)$, shape ``(r,)``, same dtype.

    Returns:
      ``(DenseParams(W1 (r-1, 1), b1 (r-1,)), DenseParams(W2 (1, r-1), b2 (1,)))``.

    Raises:
      ValueError: if the arrays are not rank 1 of equal length ``>= 2``.
      TypeError: if an argument is not floating.

    Non-increasing knots give NaN parameters (and raise in ``checks.checked`` mode).

    References:
      [MEDL] Ch. 5, Sec. 5.2 (constructive ReLU interpolation).
    """
    func = checks.public_name(relu_interpolation)
    values_v = checks.check_like(func, "knots_u", knots_u, "values_v", values_v)
    r = knots_u.shape[0]
    if r < 2:
        checks.fail(func, "knots_u", "at least 2 knots", f"shape {tuple(knots_u.shape)}")
    du = jnp.diff(knots_u)
    increasing = jnp.all(du > 0)
    checks.value_check(increasing, f"{func}: argument `knots_u` expected strictly increasing knots, got others.")
    s = jnp.diff(values_v) / du  # slopes s_1..s_{r-1}
    s_prev = jnp.concatenate([jnp.zeros((1,), s.dtype), s[:-1]])  # s_0 = 0
    nan_unless = lambda a: jnp.where(increasing, a, jnp.full_like(a, jnp.nan))
    W1 = nan_unless(jnp.ones((r - 1, 1), knots_u.dtype))
    b1 = nan_unless(-knots_u[:-1])
    W2 = nan_unless((s - s_prev)[None, :])
    b2 = nan_unless(values_v[:1])
    return DenseParams(W1, b1), DenseParams(W2, b2)


def _gate_activation(func: str, activation):
    if isinstance(activation, str):
        checks.check_choice(func, "activation", activation, sorted(GATE_ACTIVATIONS))
        return GATE_ACTIVATIONS[activation]
    checks.fail(func, "activation", f"one of {sorted(GATE_ACTIVATIONS)} (sigma''(0) != 0)", activation, exc=TypeError)


def _gate(sigma, sdd0, x1, x2, lam):
    mu = 1.0 / (4.0 * lam * lam * sdd0)
    p, m = lam * (x1 + x2), lam * (x1 - x2)
    return mu * (sigma(p) + sigma(-p) - sigma(m) - sigma(-m))


def _check_lam(func: str, lam) -> None:
    if isinstance(lam, bool) or not isinstance(lam, int | float):
        checks.fail(func, "lam", "a Python float", type(lam).__name__, exc=TypeError)
    checks.check_positive(func, "lam", lam)


@checks.inputs(x1="float[*shape]", x2="float[*shape]")
def multiplication_gate(x1: jax.Array, x2: jax.Array, *, lam: float, activation: str = "softplus") -> jax.Array:
    r"""Approximate $x_1 x_2$ with a four-unit network (the book's multiplication gate).

    $$x_1 x_2 \approx \mu\big[\sigma(\lambda(x_1 + x_2)) + \sigma(-\lambda(x_1 + x_2))
    - \sigma(\lambda(x_1 - x_2)) - \sigma(-\lambda(x_1 - x_2))\big], \qquad
    \mu = \frac{1}{4\lambda^2\sigma''(0)}.$$

    A Taylor expansion at 0 (the odd terms cancel) shows the error is $O(\lambda^2)$ as
    $\lambda \to 0$; it needs $\sigma''(0) \ne 0$, so ReLU, tanh and the sigmoid do not qualify
    (for tanh and sigmoid $\sigma''(0) = 0$). Very small $\lambda$ loses digits to cancellation.

    Args:
      x1: first factor, any shape, floating.
      x2: second factor, same shape and dtype.
      lam: $\lambda > 0$ (Python float), the input scale.
      activation: ``"softplus"`` (default, $\sigma''(0) = 1/4$), ``"silu"`` ($1/2$) or ``"gelu"``
        ($\sqrt{2/\pi}$).

    Returns:
      The approximate product, shape of ``x1``.

    Raises:
      ValueError: if shapes differ, ``lam <= 0`` or the activation is unknown.
      TypeError: if an argument is not floating, ``lam`` is not a Python number, or ``activation``
        is not a name.

    References:
      [MEDL] Ch. 5, Sec. 5.2 (multiplication gate, Fig. 5.4).
    """
    func = checks.public_name(multiplication_gate)
    x2 = checks.check_like(func, "x1", x1, "x2", x2)
    _check_lam(func, lam)
    sigma, sdd0 = _gate_activation(func, activation)
    return _gate(sigma, sdd0, x1, x2, lam)


@checks.inputs(xs="float[n]")
def product_tree(xs: jax.Array, *, lam: float, activation: str = "softplus") -> jax.Array:
    r"""Approximate $\prod_{i=1}^n x_i$ with a binary tree of multiplication gates.

    Level $k$ multiplies neighbouring pairs of level $k - 1$ with :func:`multiplication_gate`
    (an odd element out is paired with $1$), so the network has depth $\lceil\log_2 n\rceil$
    gate layers (each gate is one hidden layer of 4 units): for $n = 1000$ inputs, 10 levels,
    the book's depth-efficiency example. The error vanishes as $\lambda \to 0$.

    Args:
      xs: the $n$ factors, shape ``(n,)``, floating, ``n >= 1``.
      lam: $\lambda > 0$ (Python float).
      activation: as in :func:`multiplication_gate`.

    Returns:
      Scalar approximation of the product.

    Raises:
      ValueError: if ``xs`` is not rank 1 or empty, ``lam <= 0`` or the activation is unknown.
      TypeError: if ``xs`` is not floating or ``lam`` is not a Python number.

    References:
      [MEDL] Ch. 5, Sec. 5.2 (product of many inputs by a deep network, Fig. 5.5).
    """
    func = checks.public_name(product_tree)
    if xs.shape[0] == 0:
        checks.fail(func, "xs", "at least one factor", "shape (0,)")
    _check_lam(func, lam)
    sigma, sdd0 = _gate_activation(func, activation)
    level = xs
    while level.shape[0] > 1:  # ceil(log2 n) levels, unrolled at trace time (n is static)
        if level.shape[0] % 2:
            level = jnp.concatenate([level, jnp.ones((1,), level.dtype)])
        level = _gate(sigma, sdd0, level[0::2], level[1::2], lam)
    return level[0]
