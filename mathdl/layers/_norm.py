r"""Batch normalisation ([MEDL] Sec. 5.6) and layer normalisation (Ch. 7), one example at a time.

Batch normalisation needs statistics over the mini-batch, while mathdl's layers see one example:
the batch is a ``jax.vmap`` axis given a name (``axis_name``), and the statistics are taken with
``lax.pmean`` over it, so the same code runs under ``vmap`` and under ``shard_map``/``pmap``:

    y, state = jax.vmap(
        lambda x: batch_norm(params, state, x, axis_name="batch", train=True),
        axis_name="batch", out_axes=(0, None),
    )(X)

The variances are the biased $1/n$ ones, as in the book.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks

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


def _check_width(func: str, name: str, d) -> None:
    if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
        checks.fail(func, name, "a positive int", d)


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
    _check_width("layers.init_batch_norm", "num_features", num_features)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    ones, zeros = jnp.ones((num_features,), dtype), jnp.zeros((num_features,), dtype)
    return BatchNormParams(ones, zeros), BatchNormState(zeros, ones)


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
    _check_width("layers.init_layer_norm", "num_features", num_features)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    return LayerNormParams(jnp.ones((num_features,), dtype), jnp.zeros((num_features,), dtype))


def _bc(v: jax.Array, ndim: int) -> jax.Array:
    """Give a per-channel vector ``(C,)`` explicit leading unit axes to broadcast against ``(..., C)``."""
    return v.reshape((1,) * (ndim - 1) + v.shape)


def _check_affine(func: str, params, x) -> None:
    checks.check_dtype_floating(func, "x", x)
    checks.check_rank(func, "x", x, tuple(range(1, 8)))
    C = x.shape[-1]
    checks.check_shape(func, "params.gamma", params.gamma, (C,))
    checks.check_shape(func, "params.beta", params.beta, (C,))


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
    r"""Batch normalisation of one example inside a named (vmapped) batch.

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
    unchanged.

    Args:
      params: ``BatchNormParams(gamma, beta)``, shape ``(C,)`` each.
      state: ``BatchNormState(mean, var)``, shape ``(C,)`` each.
      x: one example, shape ``(..., C)`` (channels last).
      axis_name: name of the vmapped (or mapped) batch axis; ``None`` means the statistics are
        taken over the leading axes of ``x`` only.
      train: batch statistics (``True``) or running statistics (``False``).
      momentum: weight of the old running statistic, in ``[0, 1]``.
      eps: $\varepsilon > 0$ added to the variance inside the square root.

    Returns:
      ``(y, new_state)``: ``y`` of the shape of ``x``; ``new_state`` a ``BatchNormState`` (the
      same for every example in the batch: use ``out_axes=(0, None)`` in ``vmap``).

    Raises:
      ValueError: on mismatched shapes, ``momentum`` outside ``[0, 1]``, ``eps <= 0``, or, in train
        mode, one value per channel (a batch of size 1 with no other axes), whose variance is 0.
      TypeError: if ``x`` is not floating or ``train`` is not a bool.
      NameError: if ``axis_name`` is not bound by an enclosing ``vmap``/``pmap`` (JAX's error).

    References:
      [MEDL] Ch. 5, Sec. 5.6 (biased variance, gradient through the statistics); Ioffe & Szegedy
      (2015). Oracles in tests: ``torch.nn.BatchNorm1d``, ``flax.nnx.BatchNorm``, a NumPy loop.
    """
    func = "layers.batch_norm"
    _check_affine(func, params, x)
    checks.check_shape(func, "state.mean", state.mean, (x.shape[-1],))
    checks.check_shape(func, "state.var", state.var, (x.shape[-1],))
    if not isinstance(train, bool):
        checks.fail(func, "train", "a bool", type(train).__name__, exc=TypeError)
    checks.check_range(func, "momentum", momentum, 0.0, 1.0, high_closed=True)
    checks.check_positive(func, "eps", eps)
    d = x.ndim
    gamma, beta = _bc(params.gamma, d), _bc(params.beta, d)
    if not train:
        y = gamma * (x - _bc(state.mean, d)) * lax.rsqrt(_bc(state.var, d) + eps) + beta
        return y, state
    axes = tuple(range(x.ndim - 1))  # the example's own leading axes (e.g. H, W)
    per_example = 1
    for s in x.shape[:-1]:
        per_example *= s
    n_batch = 1 if axis_name is None else lax.psum(1, axis_name)  # a static int: the axis size
    if per_example * n_batch < 2:
        checks.fail(
            func,
            "x",
            "at least 2 values per channel in train mode (batch statistics of one value have variance 0)",
            f"batch size {n_batch} with example shape {tuple(x.shape)}",
        )

    def mean(v):
        m = jnp.mean(v, axis=axes) if axes else v
        return m if axis_name is None else lax.pmean(m, axis_name)

    mu = mean(x)  # shape (C,)
    var = mean(jnp.square(x - _bc(mu, d)))  # two-pass, biased (1/n_b) as in the book
    y = gamma * (x - _bc(mu, d)) * lax.rsqrt(_bc(var, d) + eps) + beta
    new_mean = momentum * state.mean + (1 - momentum) * lax.stop_gradient(mu)
    new_var = momentum * state.var + (1 - momentum) * lax.stop_gradient(var)
    return y, BatchNormState(new_mean, new_var)


def layer_norm(params: LayerNormParams, x: jax.Array, *, eps: float = 1e-5) -> jax.Array:
    r"""Layer normalisation of one example over its last axis (the $p$ features).

    $$\mu = \frac1p\sum_{j=1}^p x_j, \quad \sigma^2 = \frac1p\sum_{j=1}^p (x_j - \mu)^2, \quad
    y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta$$

    (biased $1/p$ variance, as the book's transformer chapter). Leading axes of ``x`` (e.g.
    positions of a sequence) are normalised independently.

    Args:
      params: ``LayerNormParams(gamma, beta)``, shape ``(p,)`` each.
      x: shape ``(..., p)``.
      eps: $\varepsilon > 0$.

    Returns:
      Array of the shape of ``x``.

    Raises:
      ValueError: on mismatched shapes or ``eps <= 0``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 7 (LayerNorm with 1/p variance); Ba, Kiros & Hinton (2016).
      Oracle in tests: ``torch.nn.LayerNorm``.
    """
    func = "layers.layer_norm"
    _check_affine(func, params, x)
    checks.check_positive(func, "eps", eps)
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    d = x.ndim
    return _bc(params.gamma, d) * ((x - mu) * lax.rsqrt(var + eps)) + _bc(params.beta, d)
