r"""Flax NNX modules that hold parameters and delegate every computation to mathdl's pure functions.

The classes keep NNX's conventions (``rngs=`` keyword, batched inputs, ``module.train()`` /
``module.eval()`` toggling ``deterministic`` and ``use_running_average``), while the math lives
in :mod:`mathdl.layers` and :mod:`mathdl.models`; tests pin equal outputs. Inputs may carry any
leading batch axes: the one-example function is ``jax.vmap``-ed over them. Each module checks its
own inputs and hyperparameters, so a message names the module (``nn.Linear``), not the function it
delegates to.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

from mathdl import checks
from mathdl.layers import (
    INITIALISERS,
    BatchNormParams,
    BatchNormState,
    DenseParams,
    LayerNormParams,
    batch_norm,
    dense,
    dropout,
    init_batch_norm,
    init_dense,
    init_layer_norm,
    layer_norm,
)
from mathdl.models import mlp, resolve_activations

__all__ = ["MLP", "BatchNorm", "Dropout", "LayerNorm", "Linear"]


def _over_batch(fn, x: jax.Array, example_ndim: int) -> jax.Array:
    """Apply a one-example ``fn`` to ``x`` of shape ``(*batch, *example)`` by nested vmaps."""
    for _ in range(x.ndim - example_ndim):
        fn = jax.vmap(fn)
    return fn(x)


def _width(func: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        checks.fail(func, name, "a positive int", value)


def _init(func: str, init) -> None:
    """The initialiser: a name or a callable."""
    if isinstance(init, str):
        checks.check_choice(func, "init", init, sorted(INITIALISERS))
    elif not callable(init):
        checks.fail(func, "init", "an initialiser name or a callable", type(init).__name__, exc=TypeError)


def _dtype(func: str, dtype) -> None:
    """The parameter dtype: floating or None (JAX's default float)."""
    if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", checks.Text(f"dtype {jnp.dtype(dtype)}"), exc=TypeError)


class Linear(nnx.Module):
    r"""Dense layer $z = W x + b$ (``W`` of shape ``(d_out, d_in)``, the book's orientation).

    Delegates to :func:`mathdl.layers.dense`; ``x`` may be ``(d_in,)`` or ``(*batch, d_in)``.

    Args:
      d_in: input width.
      d_out: output width.
      init: initialiser name or callable (``mathdl.layers.init_dense``).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 5, Sec. 5.1.
    """

    def __init__(self, d_in: int, d_out: int, *, init="he_normal", dtype=None, rngs: nnx.Rngs):
        func = checks.public_name(Linear)
        _width(func, "d_in", d_in)
        _width(func, "d_out", d_out)
        _init(func, init)
        _dtype(func, dtype)
        p = init_dense(rngs.params(), d_in, d_out, init=init, dtype=dtype)
        self.W = nnx.Param(p.W)
        self.b = nnx.Param(p.b)

    @property
    def params(self) -> DenseParams:
        """The pure ``DenseParams(W, b)`` view of this module."""
        return DenseParams(self.W[...], self.b[...])

    def __call__(self, x: jax.Array) -> jax.Array:
        p = self.params
        x = checks.conform(checks.public_name(Linear), "x", x, f"float[*batch {p.W.shape[1]}]")
        return _over_batch(lambda v: dense(p, v), x, 1)


class MLP(nnx.Module):
    r"""Fully connected network with widths $(N_0, \dots, N_L)$; delegates to :func:`mathdl.models.mlp`.

    Args:
      widths: $(N_0, \dots, N_L)$.
      activation: hidden activation(s), as in ``mathdl.models.mlp``.
      init: initialiser for every layer.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 5, Sec. 5.1.
    """

    def __init__(self, widths, *, activation=jax.nn.relu, init="he_normal", dtype=None, rngs: nnx.Rngs):
        func = checks.public_name(MLP)
        widths = checks.as_widths(func, "widths", widths)
        resolve_activations(func, activation, len(widths) - 1)  # refuse a bad activation now, naming nn.MLP
        _init(func, init)
        _dtype(func, dtype)
        self.layers = nnx.List(
            [Linear(m, n, init=init, dtype=dtype, rngs=rngs) for m, n in zip(widths[:-1], widths[1:], strict=True)]
        )
        self.activation = activation

    @property
    def params(self) -> tuple[DenseParams, ...]:
        """The pure parameter tuple, as ``mathdl.models.init_mlp`` returns it."""
        return tuple(layer.params for layer in self.layers)

    def __call__(self, x: jax.Array) -> jax.Array:
        p, act = self.params, self.activation
        x = checks.conform(checks.public_name(MLP), "x", x, f"float[*batch {p[0].W.shape[1]}]")
        return _over_batch(lambda v: mlp(p, v, activation=act), x, 1)


class BatchNorm(nnx.Module):
    r"""Batch normalisation over the leading batch axis; delegates to :func:`mathdl.layers.batch_norm`.

    ``x`` has shape ``(n, ..., C)`` (the first axis is the batch). In train mode
    (``use_running_average=False``, set by ``module.train()``) it normalises with the batch
    statistics (biased variance) and updates the running ones held in ``nnx.BatchStat``
    variables; in eval mode (``module.eval()``) it uses the running statistics.

    Args:
      num_features: channels $C$.
      momentum: weight of the old running statistic.
      eps: $\varepsilon$.
      use_running_average: start in eval mode.
      dtype: parameter dtype.
      rngs: accepted for NNX uniformity (unused: the initial values are deterministic).

    References:
      [MEDL] Ch. 5, Sec. 5.6.
    """

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.9,
        eps: float = 1e-5,
        use_running_average: bool = False,
        dtype=None,
        rngs: nnx.Rngs | None = None,
    ):
        del rngs
        func = checks.public_name(BatchNorm)
        _width(func, "num_features", num_features)
        checks.check_range(func, "momentum", momentum, 0.0, 1.0, high_closed=True)
        checks.check_positive(func, "eps", eps)
        _dtype(func, dtype)
        params, state = init_batch_norm(num_features, dtype=dtype)
        self.gamma, self.beta = nnx.Param(params.gamma), nnx.Param(params.beta)
        self.mean, self.var = nnx.BatchStat(state.mean), nnx.BatchStat(state.var)
        self.momentum, self.eps = momentum, eps
        self.use_running_average = use_running_average

    def __call__(self, x: jax.Array) -> jax.Array:
        func = checks.public_name(BatchNorm)
        C = self.gamma[...].shape[0]
        if jnp.ndim(x) < 2:
            checks.fail(func, "x", "a batch of shape (n, ..., C)", f"shape {tuple(jnp.shape(x))}")
        x = checks.conform(func, "x", x, f"float[n *example {C}]")
        train = not self.use_running_average
        if train and math.prod(x.shape[:-1]) < 2:
            got = f"shape {tuple(x.shape)}"
            checks.fail(func, "x", "at least 2 values per channel in train mode (one value has variance 0)", got)
        params = BatchNormParams(self.gamma[...], self.beta[...])
        state = BatchNormState(self.mean[...], self.var[...])
        y, new = jax.vmap(
            lambda v: batch_norm(
                params, state, v, axis_name="batch", train=train, momentum=self.momentum, eps=self.eps
            ),
            axis_name="batch",
            out_axes=(0, None),
        )(x)
        if train:
            self.mean[...] = new.mean
            self.var[...] = new.var
        return y


class LayerNorm(nnx.Module):
    r"""Layer normalisation over the last axis; delegates to :func:`mathdl.layers.layer_norm`.

    ``x`` may be ``(p,)`` or ``(*batch, p)`` (a sequence ``(T, p)``, a batch of them): the
    one-example layer is ``jax.vmap``-ed over the leading axes.

    Args:
      num_features: width $p$ of the last axis.
      eps: $\varepsilon$.
      dtype: parameter dtype.
      rngs: accepted for NNX uniformity (unused).

    References:
      [MEDL] Ch. 7 (layer normalisation).
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, dtype=None, rngs: nnx.Rngs | None = None):
        del rngs
        func = checks.public_name(LayerNorm)
        _width(func, "num_features", num_features)
        checks.check_positive(func, "eps", eps)
        _dtype(func, dtype)
        p = init_layer_norm(num_features, dtype=dtype)
        self.gamma, self.beta = nnx.Param(p.gamma), nnx.Param(p.beta)
        self.eps = eps

    def __call__(self, x: jax.Array) -> jax.Array:
        p = LayerNormParams(self.gamma[...], self.beta[...])
        x = checks.conform(checks.public_name(LayerNorm), "x", x, f"float[*batch {p.gamma.shape[0]}]")
        return _over_batch(lambda v: layer_norm(p, v, eps=self.eps), x, 1)  # one example (p,) per call


class Dropout(nnx.Module):
    r"""Inverted dropout with ``rate`` = probability of dropping; delegates to :func:`mathdl.layers.dropout`.

    The mask key comes from ``key=`` when given (the pure, explicit form), else from the
    ``dropout`` stream of the ``rngs`` held by the module. ``module.eval()`` sets
    ``deterministic=True`` (identity).

    Args:
      rate: probability of dropping, in ``[0, 1)``.
      deterministic: start in eval mode.
      rngs: ``nnx.Rngs`` with a ``dropout`` stream (needed unless every call passes ``key=``).

    References:
      [MEDL] Ch. 5, Sec. 5.7.
    """

    def __init__(self, rate: float, *, deterministic: bool = False, rngs: nnx.Rngs | None = None):
        checks.check_range(checks.public_name(Dropout), "rate", rate, 0.0, 1.0)
        self.rate = rate
        self.deterministic = deterministic
        self.rngs = rngs

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        func = checks.public_name(Dropout)
        x = checks.conform(func, "x", x, "float[*shape]")
        key = checks.conform(func, "key", key, "key[]?")
        train = not self.deterministic
        if train and key is None:
            if self.rngs is None:
                checks.fail(func, "key", "a key (or rngs= at construction) in train mode", None)
            key = self.rngs.dropout()
        return dropout(key, x, rate=self.rate, train=train)
