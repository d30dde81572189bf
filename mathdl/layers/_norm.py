r"""Batch normalisation ([MEDL] Sec. 5.6) and layer normalisation (Ch. 7), one example at a time.

Batch normalisation needs statistics over the mini-batch, while mathdl's layers see one example:
the batch is a ``jax.vmap`` axis given a name (``axis_name``), and the statistics are taken with
``lax.pmean`` over it, so the same code runs under ``vmap`` and under ``shard_map``/``pmap``:

    y, state = jax.vmap(
        lambda x: batch_norm(params, state, x, axis_name="batch", train=True),
        axis_name="batch", out_axes=(0, None),
    )(X)

The variances are the biased $1/n$ ones, as in the book. Statistics are computed in at least
float32 (as Flax does) and the result is cast back to ``x``'s dtype: in float16 or bfloat16 the
mean of values near 1000 would otherwise lose the very digits that normalisation keeps.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers._specs import one_example, positive_int

__all__ = [
    "BatchNormParams",
    "BatchNormState",
    "LayerNormParams",
    "batch_norm",
    "init_batch_norm",
    "init_layer_norm",
    "layer_norm",
]


class BatchNormParams(NamedTuple):
    """Learned scale and shift of batch normalisation.

    Attributes:
      gamma: scale $\\gamma$, shape ``(C,)``.
      beta: shift $\\beta$, shape ``(C,)``.
    """

    gamma: jax.Array
    beta: jax.Array


class BatchNormState(NamedTuple):
    """Running statistics used in eval mode.

    Attributes:
      mean: running mean, shape ``(C,)``.
      var: running (biased) variance, shape ``(C,)``.
    """

    mean: jax.Array
    var: jax.Array


class LayerNormParams(NamedTuple):
    """Learned scale and shift of layer normalisation.

    Attributes:
      gamma: scale $\\gamma$, shape ``(p,)``.
      beta: shift $\\beta$, shape ``(p,)``.
    """

    gamma: jax.Array
    beta: jax.Array


@checks.inputs(num_features=positive_int)
def init_batch_norm(num_features: int, *, dtype=None) -> tuple[BatchNormParams, BatchNormState]:
    r"""Initial batch-norm parameters ($\gamma = 1$, $\beta = 0$) and running statistics (mean 0, var 1).

    Args:
      num_features: number of channels $C$.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``(BatchNormParams(gamma, beta), BatchNormState(mean, var))``, each leaf of shape ``(C,)``.

    Raises:
      ValueError: if ``num_features`` is not a positive int.

    References:
      [MEDL] Ch. 5, Sec. 5.6.
    """
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    ones, zeros = jnp.ones((num_features,), dtype), jnp.zeros((num_features,), dtype)
    return BatchNormParams(ones, zeros), BatchNormState(zeros, ones)


@checks.inputs(num_features=positive_int)
def init_layer_norm(num_features: int, *, dtype=None) -> LayerNormParams:
    r"""Initial layer-norm parameters, $\gamma = 1$, $\beta = 0$.

    Args:
      num_features: width $p$ of the normalised axis.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``LayerNormParams(gamma, beta)``, each of shape ``(p,)``.

    Raises:
      ValueError: if ``num_features`` is not a positive int.

    References:
      [MEDL] Ch. 7 (layer normalisation in the transformer); Ba, Kiros & Hinton (2016).
    """
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    return LayerNormParams(jnp.ones((num_features,), dtype), jnp.zeros((num_features,), dtype))


def _wide(*arrays):
    """The arrays in the statistics dtype: at least float32 (float64 stays float64)."""
    ct = arrays[0].dtype if jnp.finfo(arrays[0].dtype).bits >= 32 else jnp.float32
    return [a.astype(ct) for a in arrays]


def _normalise(x, mu, var, gamma, beta, eps):
    """gamma * (x - mu) / sqrt(var + eps) + beta, per channel on the last axis (all of one dtype)."""
    d = x.ndim
    bc = lambda v: v.reshape((1,) * (d - 1) + v.shape)  # (C,) -> (1, ..., C): strict rank promotion
    return bc(gamma) * ((x - bc(mu)) * lax.rsqrt(bc(var) + eps)) + bc(beta)


@checks.inputs(
    x="float[*example C]",
    params=checks.fields(gamma="float[C]", beta="float[C]"),
    state=checks.fields(mean="float[C]", var="float[C]"),
)
def batch_norm(
    params: BatchNormParams,
    state: BatchNormState,
    x: jax.Array,
    *,
    axis_name: str | None,
    train: bool,
    momentum: float = 0.9,
    eps: float = 1e-5,
) -> tuple[jax.Array, BatchNormState]:
    r"""Batch normalisation of one example inside a named (vmapped) batch (a one-example function).

    Train mode, per channel $c$, over the $n_b$ values in the batch (and over any leading axes of
    ``x``, e.g. image positions):

    $$\hat\mu = \frac{1}{n_b}\sum_i z_i, \quad \hat\sigma^2 = \frac{1}{n_b}\sum_i (z_i - \hat\mu)^2,
    \quad \bar z = \frac{z - \hat\mu}{\sqrt{\hat\sigma^2 + \varepsilon}}, \quad
    \hat z = \gamma \odot \bar z + \beta,$$

    and the running statistics become $m \leftarrow \text{momentum}\cdot m + (1 - \text{momentum})
    \hat\mu$ (likewise for the variance; the Flax convention; PyTorch's ``momentum`` is
    ``1 - momentum`` here, and PyTorch stores the *unbiased* variance in its running average
    while we keep the book's biased one). Gradients flow through $\hat\mu$ and $\hat\sigma^2$
    (the book's Fig. 5.10 graph). Eval mode uses the running statistics and returns ``state``
    unchanged. The statistics and the normalisation are computed in at least float32 (Flax's
    choice) and ``y`` is cast back to ``x``'s dtype.

    Args:
      params: ``BatchNormParams(gamma, beta)``, shape ``(C,)`` each.
      state: ``BatchNormState(mean, var)``, shape ``(C,)`` each.
      x: ONE example, shape ``(..., C)`` (channels last; leading axes such as image positions
        belong to the example). The batch is the ``jax.vmap`` axis named ``axis_name``.
      axis_name: name of the vmapped (or mapped) batch axis; ``None`` means the statistics are
        taken over the leading axes of ``x`` only.
      train: batch statistics (``True``) or running statistics (``False``).
      momentum: weight of the old running statistic, in ``[0, 1]``.
      eps: $\varepsilon > 0$ added to the variance inside the square root.

    Returns:
      ``(y, new_state)``: ``y`` of the shape and dtype of ``x``; ``new_state`` a
      ``BatchNormState`` of ``state``'s dtype (the same for every example in the batch: use
      ``out_axes=(0, None)`` in ``vmap``).

    Raises:
      ValueError: on mismatched shapes, ``momentum`` outside ``[0, 1]``, ``eps <= 0``, or, in train
        mode, one value per channel (a batch of size 1 with no other axes), whose variance is 0.
      TypeError: if ``x`` is not floating or ``train`` is not a bool.
      NameError: if ``axis_name`` is not bound by an enclosing ``vmap``/``pmap`` (JAX's error).

    References:
      [MEDL] Ch. 5, Sec. 5.6 (biased variance, gradient through the statistics); Ioffe & Szegedy
      (2015). Oracles in tests: ``torch.nn.BatchNorm1d``, ``flax.nnx.BatchNorm``, a NumPy loop.
    """
    func = checks.public_name(batch_norm)
    if not isinstance(train, bool):
        checks.fail(func, "train", "a bool", type(train).__name__, exc=TypeError)
    checks.check_range(func, "momentum", momentum, 0.0, 1.0, high_closed=True)
    checks.check_positive(func, "eps", eps)
    xw, gamma, beta, m, v = _wide(x, params.gamma, params.beta, state.mean, state.var)
    if not train:
        return _normalise(xw, m, v, gamma, beta, eps).astype(x.dtype), state
    n_batch = 1 if axis_name is None else lax.psum(1, axis_name)  # a static int: the axis size
    if math.prod(x.shape[:-1]) * n_batch < 2:
        got = f"batch size {n_batch} with example shape {tuple(x.shape)}"
        checks.fail(func, "x", "at least 2 values per channel in train mode (one value has variance 0)", got)

    def mean(u):  # over the example's own leading axes (e.g. H, W), then over the named batch axis
        u = jnp.mean(u, axis=tuple(range(x.ndim - 1))) if x.ndim > 1 else u
        return u if axis_name is None else lax.pmean(u, axis_name)

    mu = mean(xw)  # shape (C,)
    var = mean(jnp.square(xw - mu.reshape((1,) * (x.ndim - 1) + mu.shape)))  # two-pass, biased (1/n_b)
    y = _normalise(xw, mu, var, gamma, beta, eps).astype(x.dtype)
    new_mean = momentum * m + (1 - momentum) * lax.stop_gradient(mu)
    new_var = momentum * v + (1 - momentum) * lax.stop_gradient(var)
    return y, BatchNormState(new_mean.astype(state.mean.dtype), new_var.astype(state.var.dtype))


@checks.inputs(x=one_example("float[p]"), params=checks.fields(gamma="float[p]", beta="float[p]"))
def layer_norm(params: LayerNormParams, x: jax.Array, *, eps: float = 1e-5) -> jax.Array:
    r"""Layer normalisation of one example over its $p$ features (a one-example function).

    $$\mu = \frac1p\sum_{j=1}^p x_j, \quad \sigma^2 = \frac1p\sum_{j=1}^p (x_j - \mu)^2, \quad
    y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta$$

    (biased $1/p$ variance, as the book's transformer chapter), computed in at least float32
    (Flax's choice; the two-pass variance) and cast back to ``x``'s dtype.

    Args:
      params: ``LayerNormParams(gamma, beta)``, shape ``(p,)`` each.
      x: ONE example, shape ``(p,)``. A sequence ``(T, p)`` or a batch is normalised row by row
        with ``jax.vmap(lambda v: layer_norm(params, v))``; a higher-rank ``x`` is refused.
      eps: $\varepsilon > 0$.

    Returns:
      Array of the shape and dtype of ``x``.

    Raises:
      ValueError: if ``x`` is not of rank 1 (the message says to use ``jax.vmap``), on
        mismatched shapes, or if ``eps <= 0``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 7 (LayerNorm with 1/p variance); Ba, Kiros & Hinton (2016).
      Oracles in tests: ``torch.nn.LayerNorm``, ``flax.nnx.LayerNorm`` (float16).
    """
    checks.check_positive(checks.public_name(layer_norm), "eps", eps)
    xw, gamma, beta = _wide(x, params.gamma, params.beta)
    mu = jnp.mean(xw, keepdims=True)
    var = jnp.mean(jnp.square(xw - mu), keepdims=True)  # two-pass, biased (1/p)
    return _normalise(xw, mu, var, gamma, beta, eps).astype(x.dtype)
