r"""The softmax family: softmax, log-softmax, its Jacobian, and a masked softmax.

[MEDL] eq. (3.25): $S_{\text{Softmax}}(z)_i = e^{z_i} / \sum_{j=1}^{K} e^{z_j}$. All forms subtract
$\max_j z_j$ first (the value is unchanged, the exponentials cannot overflow); the maximum is wrapped
in ``stop_gradient``, which changes nothing mathematically because the result does not depend on it.
"""

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text

__all__ = ["log_softmax", "masked_softmax", "softmax", "softmax_jacobian"]


def _check_axis(func: str, name: str, z: jax.Array, axis) -> int:
    """The class axis: an int in range, of size K >= 1 (a softmax over no classes is undefined)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        checks.fail(func, "axis", "an int", type(axis).__name__, exc=TypeError)
    if z.ndim == 0:
        checks.fail(func, name, "rank >= 1", "shape () (rank 0)")
    if not -z.ndim <= axis < z.ndim:
        checks.fail(func, "axis", f"an axis in [-{z.ndim}, {z.ndim})", axis)
    if z.shape[axis] == 0:
        checks.fail(func, name, f"at least one class (K >= 1) along axis {axis}", Text(f"shape {z.shape}"))
    return axis % z.ndim


def _shifted(z: jax.Array, axis: int) -> jax.Array:
    # Shift by the max for stability. An all -inf slice would give -inf - (-inf) = NaN, the
    # honest answer for an undefined softmax; masked_softmax handles the fully masked case.
    m = jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))
    return z - m


@checks.inputs(z="float[*shape]")
def softmax(z: jax.Array, *, axis: int = -1) -> jax.Array:
    r"""Softmax $S_{\text{Softmax}}(z)_i = e^{z_i} / \sum_{j} e^{z_j}$ along ``axis``.

    Args:
      z: logits, shape `(*batch, K)` (broadcasting: leading axes are a batch; any rank >= 1, K >= 1),
        floating dtype.
      axis: the axis holding the $K$ classes.

    Returns:
      Probabilities summing to 1 along ``axis``, same shape and dtype as ``z``. A slice that is
      entirely $-\infty$ (or contains $+\infty$ or NaN) gives NaN.

    Raises:
      TypeError: if ``z`` is not a floating array or ``axis`` is not an int.
      ValueError: if ``z`` is a scalar, ``axis`` is out of range or the class axis is empty.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.25).
      Oracle in tests: ``scipy.special.softmax``, ``torch.softmax``.
    """
    return _softmax(z, _check_axis(checks.public_name(softmax), "z", z, axis))


def _softmax(z: jax.Array, axis: int) -> jax.Array:
    e = jnp.exp(_shifted(z, axis))
    return e / jnp.sum(e, axis=axis, keepdims=True)


@checks.inputs(z="float[*shape]")
def log_softmax(z: jax.Array, *, axis: int = -1) -> jax.Array:
    r"""Log-softmax $z_i - \log\sum_j e^{z_j}$, computed through log-sum-exp.

    Use this (not ``log(softmax(z))``) inside cross-entropies: it stays finite where the softmax
    underflows to 0.

    Args:
      z: logits, shape `(*batch, K)` (broadcasting: leading axes are a batch; any rank >= 1, K >= 1),
        floating dtype.
      axis: the axis holding the $K$ classes.

    Returns:
      Log-probabilities, same shape and dtype as ``z``; $-\infty$ where $z_i = -\infty$.

    Raises:
      TypeError: if ``z`` is not a floating array or ``axis`` is not an int.
      ValueError: if ``z`` is a scalar, ``axis`` is out of range or the class axis is empty.

    References:
      [MEDL] Ch. 3, Sec. 3.3 (stable log-softmax inside the cross-entropy (3.30)).
      Oracle in tests: ``scipy.special.log_softmax``, ``torch.log_softmax``.
    """
    axis = _check_axis(checks.public_name(log_softmax), "z", z, axis)
    s = _shifted(z, axis)
    return s - jnp.log(jnp.sum(jnp.exp(s), axis=axis, keepdims=True))


@checks.inputs(z="float[*shape]")
def softmax_jacobian(z: jax.Array) -> jax.Array:
    r"""Jacobian of the softmax, $\partial S(z)_i / \partial z_j = S_i(\delta_{ij} - S_j)$.

    In matrix form $\dot S(z) = \operatorname{diag}(s) - s s^\top$ with $s = S_{\text{Softmax}}(z)$:
    symmetric, positive semi-definite, and with $\mathbf 1$ in its null space. This is the
    softmax's "σ̇" for explicit backpropagation (the softmax is not elementwise).

    Args:
      z: logits, shape `(*batch, K)` (broadcasting: leading axes are a batch); the classes are on
        the last axis, K >= 1.

    Returns:
      The Jacobian, shape `(*batch, K, K)`, same dtype as ``z``.

    Raises:
      TypeError: if ``z`` is not a floating array.
      ValueError: if ``z`` is a scalar or has no classes (K = 0).

    References:
      [MEDL] Ch. 3, Sec. 3.3 and Ch. 5, Sec. 5.4 (the Jacobian $\dot S$ in backpropagation).
      Oracle in tests: ``jax.jacobian(jax.nn.softmax)``.
    """
    s = _softmax(z, _check_axis(checks.public_name(softmax_jacobian), "z", z, -1))
    K = z.shape[-1]
    eye = jnp.broadcast_to(jnp.eye(K, dtype=z.dtype), (*z.shape[:-1], K, K))  # explicit: strict rank promotion
    diag = s[..., :, None] * eye
    return diag - s[..., :, None] * s[..., None, :]


def _mask(func: str, name: str, mask, dims: dict) -> jax.Array:
    """Spec: a boolean array (True = keep); its broadcast against x is checked in the body."""
    del dims
    if isinstance(mask, str | bytes) or mask is None:
        checks.fail(func, name, "a boolean array", type(mask).__name__, exc=TypeError)
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        checks.fail(func, name, "a boolean array (True = keep)", f"dtype {mask.dtype}", exc=TypeError)
    return mask


@checks.inputs(x="float[*shape]", mask=_mask)
def masked_softmax(x: jax.Array, mask: jax.Array, *, axis: int = -1) -> jax.Array:
    r"""Softmax over the entries where ``mask`` is True; masked entries get probability 0.

    $$S(x; m)_i = \frac{m_i\, e^{x_i}}{\sum_j m_j\, e^{x_j}},$$

    the additive-mask form of attention (entries set to $-\infty$ before the softmax, [MEDL]
    eq. (7.27)) written so that no $-\infty$ is ever formed: masked logits are replaced by the
    dtype's most negative finite value and their exponentials by exact zeros. A **fully masked**
    slice has no defined softmax; it returns zeros and has zero gradient (never NaN), so a padded
    query in attention contributes nothing. Masked entries of ``x`` may hold anything, even NaN
    or inf: they never reach the result or its gradient.

    Args:
      x: logits, shape `(*batch, K)` (broadcasting: leading axes are a batch; any rank >= 1, K >= 1),
        floating dtype.
      mask: boolean, True = keep; any shape that broadcasts to ``x.shape`` (e.g. a `(T, T)`
        causal mask for `(H, T, T)` scores).
      axis: the axis to normalise over.

    Returns:
      Same shape and dtype as ``x``; each slice sums to 1, or to 0 when fully masked.

    Raises:
      TypeError: if ``x`` is not floating, ``mask`` is not boolean, or ``axis`` is not an int.
      ValueError: if ``mask`` does not broadcast to ``x.shape``, ``x`` is a scalar, ``axis`` is
        out of range or the class axis is empty.

    References:
      [MEDL] Ch. 7 (causal masking, eq. (7.27)) and Ch. 3, eq. (3.25).
      Oracle in tests: ``torch.softmax`` on the unmasked entries.
    """
    func = checks.public_name(masked_softmax)
    axis = _check_axis(func, "x", x, axis)
    try:
        ok = jnp.broadcast_shapes(mask.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        checks.fail(func, "mask", f"a shape that broadcasts to {x.shape}", f"shape {mask.shape}")
    mask = jnp.broadcast_to(mask, x.shape)
    # Dtype-aware mask value: the most negative *finite* number of x's dtype (not -inf, which
    # would give -inf - (-inf) = NaN in a fully masked slice, and not -1e9, which overflows float16).
    lowest = jnp.finfo(x.dtype).min
    xm = jnp.where(mask, x, lowest)
    m = jax.lax.stop_gradient(jnp.max(xm, axis=axis, keepdims=True))
    e = jnp.where(mask, jnp.exp(xm - m), jnp.zeros_like(x))
    denom = jnp.sum(e, axis=axis, keepdims=True)
    # Double where: a fully masked slice has denom 0; divide by 1 there (e is 0 anyway).
    safe = jnp.where(denom > 0, denom, jnp.ones_like(denom))
    return e / safe
