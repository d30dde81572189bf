r"""Flax NNX modules for the recurrent layers (layer 3, no mathematics here).

:class:`RNN`, :class:`LSTM` and :class:`GRU` hold their parameters as ``nnx.Param`` and delegate
to :func:`mathdl.layers.rnn`, :func:`~mathdl.layers.lstm` and :func:`~mathdl.layers.gru`; the tests
pin equal outputs. Inputs are batched as NNX users expect, ``(B, T, p)`` (any leading batch
axes, or one sequence ``(T, p)``): the one-sequence function is ``jax.vmap``-ed over them. A call
returns the states ``H`` of shape ``(*batch, T, m)``; ``return_state=True`` also returns the
final state (``(h, c)`` for the LSTM), as the pure functions do.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from mathdl.layers import GRUParams, LSTMParams, RNNParams, gru, init_gru, init_lstm, init_rnn, lstm, rnn

__all__ = ["GRU", "LSTM", "RNN"]


def _batched(fn, x: jax.Array, mask, state0):
    """Apply a one-sequence ``fn(x, mask, state0)`` over the leading axes of ``x`` ``(*batch, T, p)``."""
    lead = x.ndim - 2
    m_ax = None if mask is None else 0
    s_ax = None if state0 is None else 0
    for _ in range(max(lead, 0)):
        fn = jax.vmap(fn, in_axes=(0, m_ax, s_ax))
    return fn(x, mask, state0)


class _Recurrent(nnx.Module):
    def __call__(self, x: jax.Array, *, mask: jax.Array | None = None, initial_state=None, return_state: bool = False):
        """Run over ``x`` ``(*batch, T, p)``; ``mask`` ``(*batch, T)`` bool; ``initial_state`` batched like ``x``."""
        p = self.params
        H, final = _batched(lambda v, mk, s0: self._apply(p, v, mk, s0), jnp.asarray(x), mask, initial_state)
        return (H, final) if return_state else H


class RNN(_Recurrent):
    r"""Elman RNN layer $h^{\langle t\rangle} = S_h(W_{hh} h^{\langle t-1\rangle} + W_{hx} x^{\langle t\rangle} + b_h)$.

    Delegates to :func:`mathdl.layers.rnn`.

    Args:
      in_features: input width $p$.
      hidden: state width $m$.
      activation: $S_h$ (default tanh).
      reverse: run $t = T, \dots, 1$.
      unroll: steps per scan iteration.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.2.
    """

    def __init__(
        self, in_features: int, hidden: int, *, activation=jnp.tanh, reverse=False, unroll=1, dtype=None, rngs: nnx.Rngs
    ):
        q = init_rnn(rngs.params(), in_features, hidden, dtype=dtype)
        self.W_hx, self.W_hh, self.b_h = nnx.Param(q.W_hx), nnx.Param(q.W_hh), nnx.Param(q.b_h)
        self.activation, self.reverse, self.unroll = activation, reverse, unroll

    @property
    def params(self) -> RNNParams:
        """The pure ``RNNParams`` view of this module."""
        return RNNParams(self.W_hx[...], self.W_hh[...], self.b_h[...])

    def _apply(self, p, x, mask, h0):
        return rnn(p, x, h0=h0, mask=mask, reverse=self.reverse, activation=self.activation, unroll=self.unroll)


class LSTM(_Recurrent):
    r"""LSTM layer ([MEDL] eqs. (7.16)-(7.17)), gates $f, i, o, \tilde c$; delegates to :func:`mathdl.layers.lstm`.

    Args:
      in_features: input width $p$.
      hidden: state width $m$.
      forget_bias: initial $b_f$.
      reverse: run $t = T, \dots, 1$.
      unroll: steps per scan iteration.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """

    def __init__(
        self, in_features: int, hidden: int, *, forget_bias=1.0, reverse=False, unroll=1, dtype=None, rngs: nnx.Rngs
    ):
        q = init_lstm(rngs.params(), in_features, hidden, forget_bias=forget_bias, dtype=dtype)
        self.W_x, self.W_h, self.b = nnx.Param(q.W_x), nnx.Param(q.W_h), nnx.Param(q.b)
        self.reverse, self.unroll = reverse, unroll

    @property
    def params(self) -> LSTMParams:
        """The pure ``LSTMParams`` view of this module."""
        return LSTMParams(self.W_x[...], self.W_h[...], self.b[...])

    def _apply(self, p, x, mask, state0):
        state0 = None if state0 is None else tuple(state0)
        return lstm(p, x, state0=state0, mask=mask, reverse=self.reverse, unroll=self.unroll)


class GRU(_Recurrent):
    r"""GRU layer in the book's convention ([MEDL] eqs. (7.18)-(7.19)) or PyTorch's; see :func:`mathdl.layers.gru`.

    Args:
      in_features: input width $p$.
      hidden: state width $m$.
      convention: ``"book"`` (reset before the product, $g_u$ weights the candidate) or
        ``"pytorch"`` (reset after the product with its own bias ``b_hn``, $z$ weights the old state).
      reverse: run $t = T, \dots, 1$.
      unroll: steps per scan iteration.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """

    def __init__(
        self, in_features: int, hidden: int, *, convention="book", reverse=False, unroll=1, dtype=None, rngs: nnx.Rngs
    ):
        q = init_gru(rngs.params(), in_features, hidden, convention=convention, dtype=dtype)
        self.W_x, self.W_h, self.b = nnx.Param(q.W_x), nnx.Param(q.W_h), nnx.Param(q.b)
        self.b_hn = None if q.b_hn is None else nnx.Param(q.b_hn)
        self.convention, self.reverse, self.unroll = convention, reverse, unroll

    @property
    def params(self) -> GRUParams:
        """The pure ``GRUParams`` view of this module."""
        return GRUParams(self.W_x[...], self.W_h[...], self.b[...], None if self.b_hn is None else self.b_hn[...])

    def _apply(self, p, x, mask, h0):
        return gru(p, x, h0=h0, mask=mask, reverse=self.reverse, convention=self.convention, unroll=self.unroll)
