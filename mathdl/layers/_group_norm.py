r"""Group normalisation of one example ([MEDL] Ch. 6, Sec. 6.4; Wu & He, 2018).

The $C$ channels are split into $G$ groups of $C/G$ consecutive channels; each group is normalised
with the mean and variance over all its entries (every position and every channel of the group),
then scaled and shifted per channel. Unlike batch norm it uses no batch statistics, so it behaves
the same in training and evaluation and for any batch size. ``G = 1`` is layer norm over the whole
example; ``G = C`` is instance norm.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks

__all__ = ["GroupNormParams", "group_norm", "init_group_norm"]


class GroupNormParams(NamedTuple):
    r"""Per-channel scale and shift of a group norm.

    Attributes:
      gamma: scale $\gamma$, shape ``(C,)``.
      beta: shift $\beta$, shape ``(C,)``.
    """

    gamma: jax.Array
    beta: jax.Array


def init_group_norm(num_features: int, *, dtype=None) -> GroupNormParams:
    r"""Initialise a group norm: $\gamma = 1$, $\beta = 0$.

    Args:
      num_features: number of channels $C$ (positive int).
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``GroupNormParams(gamma, beta)``, shape ``(C,)`` each.

    Raises:
      ValueError: if ``num_features`` is not a positive int.
      TypeError: if ``dtype`` is not floating.

    References:
      Wu & He (2018), "Group Normalization".
    """
    func = checks.public_name(init_group_norm)
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
        checks.fail(func, "num_features", "a positive int", num_features)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", checks.Text(f"dtype {dtype}"), exc=TypeError)
    return GroupNormParams(jnp.ones((num_features,), dtype), jnp.zeros((num_features,), dtype))


@checks.inputs(params=checks.fields(gamma="float[C]", beta="float[C]"), x="float[*spatial C]")
def group_norm(params: GroupNormParams, x: jax.Array, *, num_groups: int, eps: float = 1e-5) -> jax.Array:
    r"""Group normalisation of one example, channels last.

    For group $g$ (channels $gC/G, \dots, (g+1)C/G - 1$) with its $n_g = (C/G)\prod(\text{spatial})$
    entries,

    $$\mu_g = \frac{1}{n_g}\sum_{(p, c) \in g} x_{p,c}, \quad
    \sigma_g^2 = \frac{1}{n_g}\sum_{(p, c) \in g} (x_{p,c} - \mu_g)^2, \quad
    y_{p,c} = \gamma_c \frac{x_{p,c} - \mu_g}{\sqrt{\sigma_g^2 + \varepsilon}} + \beta_c.$$

    The statistics are computed in at least float32 (a bfloat16 or float16 input is promoted for
    them, as Flax does) and the result is cast back to the input's dtype.

    Args:
      params: ``GroupNormParams(gamma, beta)``, shape ``(C,)`` each.
      x: ONE example, shape ``(..., C)``: an image ``(H, W, C)``, a sequence ``(T, C)`` or a vector
        ``(C,)``; channels last. Use ``jax.vmap`` for a batch (the statistics never mix examples).
      num_groups: $G$, a positive divisor of $C$.
      eps: $\varepsilon > 0$ added to the variance.

    Returns:
      $y$, the shape and dtype of ``x``.

    Raises:
      ValueError: if ``C`` is not divisible by ``num_groups``, ``num_groups`` is not a positive int,
        the shapes of ``gamma``/``beta`` differ from ``(C,)``, or ``eps <= 0``.
      TypeError: if ``x`` or the parameters are not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.4 (normalisation in CNNs); Wu & He (2018), "Group Normalization".
      Oracle in tests: ``torch.nn.functional.group_norm``.
    """
    func = checks.public_name(group_norm)
    C = x.shape[-1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        checks.fail(func, "num_groups", "a positive int", num_groups)
    if C % num_groups:
        checks.fail(
            func,
            "num_groups",
            f"a divisor of the channels C = {C} (last axis of x, shape {tuple(x.shape)}, channels last)",
            num_groups,
        )
    checks.check_positive(func, "eps", eps)
    stat_dtype = x.dtype if jnp.finfo(x.dtype).bits >= 32 else jnp.dtype(jnp.float32)
    xs = x.astype(stat_dtype).reshape(*x.shape[:-1], num_groups, C // num_groups)
    axes = tuple(range(x.ndim - 1)) + (x.ndim,)  # every position and the channels inside a group
    mu = jnp.mean(xs, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(xs - mu), axis=axes, keepdims=True)  # two-pass, biased, as batch norm
    y = ((xs - mu) * lax.rsqrt(var + eps)).reshape(x.shape)
    lead = (1,) * (x.ndim - 1)
    y = y * params.gamma.astype(stat_dtype).reshape(*lead, C) + params.beta.astype(stat_dtype).reshape(*lead, C)
    return y.astype(x.dtype)
