r"""Flax NNX modules for attention and positional embeddings (layer 3, no mathematics here).

Each module holds its parameters as ``nnx.Param`` and delegates to the pure function in
:mod:`mathdl.layers` (:func:`~mathdl.layers.multi_head_attention`,
:func:`~mathdl.layers.additive_attention`, :func:`~mathdl.layers.learned_positions`); the tests pin
equal outputs. Inputs are one sequence ``(T, p)`` or any leading batch axes ``(*batch, T, p)``: the
one-example function is ``jax.vmap``-ed over them.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

from mathdl.layers import (
    AdditiveAttentionParams,
    LearnedPositionParams,
    MultiHeadParams,
    additive_attention,
    init_additive_attention,
    init_learned_positions,
    init_multi_head_attention,
    learned_positions,
    multi_head_attention,
)

__all__ = ["AdditiveAttention", "LearnedPositions", "MultiHeadAttention"]


def _flat(x, example_ndim):
    """``x`` of shape ``(*batch, *example)`` as ``(prod(batch), *example)``, and the batch shape."""
    batch = x.shape[: x.ndim - example_ndim]
    return x.reshape((math.prod(batch), *x.shape[x.ndim - example_ndim :])), batch


def _batched_mask(mask, batch, B):
    """A ``(T, S)`` mask shared by the batch, or one per example ``(*batch, T, S)``, as ``(B, T, S)``."""
    if mask is None:
        return None
    mask = jnp.asarray(mask)
    if mask.ndim == 2:
        return jnp.broadcast_to(mask[None], (B, *mask.shape))
    return mask.reshape((B, *mask.shape[len(batch) :]))


def _param(a):
    return None if a is None else nnx.Param(a)


def _value(p):
    return None if p is None else p[...]


class MultiHeadAttention(nnx.Module):
    r"""Multi-head attention (7.25, 7.26), $u^{\langle t\rangle} = \sum_h W_c^h u^{h,\langle t\rangle}$.

    Delegates to :func:`mathdl.layers.multi_head_attention`. Called on ``x_q`` of shape
    ``(T, p)`` or ``(*batch, T, p)`` and optionally ``x_kv`` of shape ``(*batch, S, p)``
    (cross-attention); ``None`` is self-attention.

    Args:
      p: model width.
      num_heads: $H$.
      m: query/key width per head (default ``p // num_heads``).
      m_v: value width per head (default ``m``).
      bias: with the biases of :class:`torch.nn.MultiheadAttention`.
      init: initialiser name or callable.
      implementation: as :func:`mathdl.layers.scaled_dot_product_attention` (``None``: the default).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.25)-(7.27).
    """

    def __init__(
        self,
        p: int,
        num_heads: int,
        *,
        m: int | None = None,
        m_v: int | None = None,
        bias: bool = False,
        init="glorot_uniform",
        implementation: str | None = None,
        dtype=None,
        rngs: nnx.Rngs,
    ):
        params = init_multi_head_attention(rngs.params(), p, num_heads, m=m, m_v=m_v, bias=bias, init=init, dtype=dtype)
        self.W_q, self.W_k, self.W_v, self.W_c = (nnx.Param(a) for a in params[:4])
        self.b_q, self.b_k, self.b_v, self.b_c = (_param(a) for a in params[4:])
        self.implementation = implementation

    @property
    def params(self) -> MultiHeadParams:
        """The pure :class:`mathdl.layers.MultiHeadParams` view of this module."""
        fields = (self.W_q, self.W_k, self.W_v, self.W_c, self.b_q, self.b_k, self.b_v, self.b_c)
        return MultiHeadParams(*(_value(f) for f in fields))

    def __call__(self, x_q: jax.Array, x_kv: jax.Array | None = None, *, mask=None, is_causal: bool = False):
        """Attention of ``x_q`` over ``x_kv`` (default ``x_q``); ``mask`` is ``(T, S)`` or ``(*batch, T, S)``."""
        P, impl = self.params, self.implementation
        if x_q.ndim == 2:
            return multi_head_attention(P, x_q, x_kv, mask=mask, is_causal=is_causal, implementation=impl)
        xq, batch = _flat(x_q, 2)
        xkv = xq if x_kv is None else _flat(x_kv, 2)[0]
        m = _batched_mask(mask, batch, xq.shape[0])

        def one(a, b, c):
            return multi_head_attention(P, a, b, mask=c, is_causal=is_causal, implementation=impl)

        out = jax.vmap(one, in_axes=(0, 0, None if m is None else 0))(xq, xkv, m)
        return out.reshape((*batch, *out.shape[1:]))


class AdditiveAttention(nnx.Module):
    r"""Additive (Bahdanau) attention $u^{\langle t\rangle} = \sum_\tau \alpha_\tau^{\langle t\rangle} v_\tau$.

    Delegates to :func:`mathdl.layers.additive_attention`. Called on ``q`` ``(*batch, T, m_q)``,
    ``k`` ``(*batch, S, m_k)`` and ``v`` ``(*batch, S, m_v)``.

    Args:
      m_q: query width.
      m_k: key width.
      n_hidden: hidden width of the score.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.4, (7.22); Bahdanau, Cho and Bengio (2015).
    """

    def __init__(self, m_q: int, m_k: int, n_hidden: int, *, dtype=None, rngs: nnx.Rngs):
        p = init_additive_attention(rngs.params(), m_q, m_k, n_hidden, dtype=dtype)
        self.W_q, self.W_k, self.w = nnx.Param(p.W_q), nnx.Param(p.W_k), nnx.Param(p.w)

    @property
    def params(self) -> AdditiveAttentionParams:
        """The pure :class:`mathdl.layers.AdditiveAttentionParams` view of this module."""
        return AdditiveAttentionParams(self.W_q[...], self.W_k[...], self.w[...])

    def __call__(self, q: jax.Array, k: jax.Array, v: jax.Array, *, mask=None) -> jax.Array:
        """Attention outputs, ``(*batch, T, m_v)``."""
        P = self.params
        if q.ndim == 2:
            return additive_attention(P, q, k, v, mask=mask)
        qf, batch = _flat(q, 2)
        kf, vf = _flat(k, 2)[0], _flat(v, 2)[0]
        m = _batched_mask(mask, batch, qf.shape[0])
        f = jax.vmap(
            lambda a, b, c, d: additive_attention(P, a, b, c, mask=d), in_axes=(0, 0, 0, None if m is None else 0)
        )
        out = f(qf, kf, vf, m)
        return out.reshape((*batch, *out.shape[1:]))


class LearnedPositions(nnx.Module):
    r"""The learned positional embedding (7.28), $\tilde x^{\langle t\rangle} = W_1 S(W_2 x + W_3 e_t + b)$.

    Delegates to :func:`mathdl.layers.learned_positions`; ``x`` is ``(*batch, T, p)``.

    Args:
      p: input width.
      max_len: the longest sequence $T_{max}$.
      n_hidden: hidden width.
      p_out: output width (default ``p``).
      activation: $S$ (default ReLU).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.28).
    """

    def __init__(
        self, p: int, max_len: int, n_hidden: int, *, p_out=None, activation=jax.nn.relu, dtype=None, rngs: nnx.Rngs
    ):
        params = init_learned_positions(rngs.params(), p, max_len, n_hidden, p_out=p_out, dtype=dtype)
        self.W1, self.W2, self.W3, self.b = (nnx.Param(a) for a in params)
        self.activation = activation

    @property
    def params(self) -> LearnedPositionParams:
        """The pure :class:`mathdl.layers.LearnedPositionParams` view of this module."""
        return LearnedPositionParams(self.W1[...], self.W2[...], self.W3[...], self.b[...])

    def __call__(self, x: jax.Array) -> jax.Array:
        """Embedded sequence, ``(*batch, T, p_out)``."""
        P, act = self.params, self.activation
        if x.ndim == 2:
            return learned_positions(P, x, activation=act)
        xf, batch = _flat(x, 2)
        out = jax.vmap(lambda a: learned_positions(P, a, activation=act))(xf)
        return out.reshape((*batch, *out.shape[1:]))
