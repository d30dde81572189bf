r"""Recurrent language models ([MEDL] Ch. 7, Sec. 7.2-7.3): embedding, stacked RNN/LSTM/GRU, softmax over the lexicon.

For ONE sequence of token ids $x_1, \dots, x_T$ (shape ``(T,)``),

$$\tilde x^{\langle t\rangle} = E^\top e_{x_t},\qquad
h_{[\ell]}^{\langle t\rangle} = \mathrm{cell}^{[\ell]}(h_{[\ell]}^{\langle t-1\rangle},
  h_{[\ell-1]}^{\langle t\rangle}),\qquad
\hat y^{\langle t\rangle} = S_{\mathrm{Softmax}}(W_{yh} h_{[L]}^{\langle t\rangle} + b_y),$$

and :func:`rnn_lm` returns the logits $W_{yh} h_{[L]}^{\langle t\rangle} + b_y$, shape ``(T, d_V)``.
The model is self-supervised: the target at step $t$ is the next token, $y^{\langle t\rangle} =
x^{\langle t+1\rangle}$ (eqs. (7.4)-(7.5)).

Training uses **teacher forcing**: the input at step $t$ is the true previous token, so a
whole known text is one forward pass (``rnn_lm(params, tokens[:-1])`` against
``tokens[1:]``, loss :func:`lm_loss`); only generation feeds the model its own samples, one step
at a time with :func:`rnn_lm_step` (registered with :func:`mathdl.models.generate` and
:func:`mathdl.models.beam_search`).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, losses
from mathdl.layers import (
    DenseParams,
    EmbeddingParams,
    GRUParams,
    LSTMParams,
    RNNParams,
    embedding,
    gru_step,
    init_dense,
    init_embedding,
    init_stacked,
    lstm_step,
    one_example,
    rnn_step,
    stacked,
)
from mathdl.models._bptt import positive_int
from mathdl.models._decode import register_lm

__all__ = ["RNNLMParams", "init_rnn_lm", "lm_loss", "rnn_lm", "rnn_lm_init_state", "rnn_lm_step"]

_CELLS = ("rnn", "lstm", "gru")


class RNNLMParams(NamedTuple):
    """Parameters of a recurrent language model.

    Attributes:
      embed: ``EmbeddingParams(E (d_V, p))``.
      cells: the recurrent layers, bottom first (a tuple of ``RNNParams``, ``LSTMParams`` or
        ``GRUParams``, all of one kind).
      out: ``DenseParams(W (d_V, m), b (d_V,))``, the book's $W_{yh}$, $b_y$.
    """

    embed: EmbeddingParams
    cells: tuple
    out: DenseParams


@checks.inputs(
    key="key[]", vocab_size=positive_int, embed_dim=positive_int, hidden=positive_int, num_layers=positive_int
)
def init_rnn_lm(
    key: jax.Array,
    vocab_size: int,
    *,
    cell: str = "rnn",
    embed_dim: int,
    hidden: int,
    num_layers: int = 1,
    dtype=None,
) -> RNNLMParams:
    r"""Initialise a recurrent LM: embedding $d_V \times p$, ``num_layers`` cells of width $m$, output $d_V \times m$.

    Args:
      key: a typed PRNG key.
      vocab_size: lexicon size $d_V$.
      cell: ``"rnn"`` (Elman), ``"lstm"`` or ``"gru"`` (the book's GRU).
      embed_dim: embedding width $p$.
      hidden: state width $m$ of every layer.
      num_layers: number of stacked layers $L$ (eq. (7.15)).
      dtype: floating dtype.

    Returns:
      ``RNNLMParams(embed, cells, out)``.

    Raises:
      ValueError: if a size is not a positive int or ``cell`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.2-7.3.
    """
    checks.check_choice(checks.public_name(init_rnn_lm), "cell", cell, list(_CELLS))
    ke, kc, ko = jax.random.split(key, 3)
    embed = init_embedding(ke, vocab_size, embed_dim, dtype=dtype)
    cells = init_stacked(kc, embed_dim, (hidden,) * num_layers, cell=cell, dtype=dtype)
    out = init_dense(ko, hidden, vocab_size, init="glorot_normal", dtype=dtype)
    return RNNLMParams(embed, cells, out)


def _lm_spec(func, name, value, dims):
    if not isinstance(value, RNNLMParams):
        checks.fail(
            func, name, "RNNLMParams (from models.init_rnn_lm)", checks.Text(type(value).__name__), exc=TypeError
        )
    return value


def _logits(params, H):
    return H @ params.out.W.T + params.out.b[None, :]


@checks.inputs(params=_lm_spec, tokens=one_example("int[T]"), mask="bool[T]?")
def rnn_lm(params: RNNLMParams, tokens: jax.Array, *, mask=None, unroll: int = 1) -> jax.Array:
    r"""Logits of the next token at every position of ONE sequence: $W_{yh} h_{[L]}^{\langle t\rangle} + b_y$.

    Args:
      params: ``RNNLMParams``.
      tokens: ONE sequence of token ids, shape ``(T,)`` in $[0, d_V)$ (one-example group; batch
        with ``jax.vmap(rnn_lm, in_axes=(None, 0))``).
      mask: shape ``(T,)`` bool, False at padding (those steps keep the state).
      unroll: steps per scan iteration.

    Returns:
      Logits, shape ``(T, d_V)``: row $t$ scores $x^{\langle t+1\rangle}$.

    Raises:
      ValueError: if ``tokens`` is not one sequence (a batch: use ``jax.vmap``); eagerly, if an
        id is outside $[0, d_V)$ (NaN logits under ``jax.jit``).
      TypeError: if ``params`` is not ``RNNLMParams`` or ``tokens`` is not integer.

    References:
      [MEDL] Ch. 7, Sec. 7.2, eqs. (7.1)-(7.5).

    Example:
      >>> params = init_rnn_lm(jax.random.key(0), 10, cell="lstm", embed_dim=4, hidden=8)
      >>> rnn_lm(params, jnp.array([1, 2, 3])).shape
      (3, 10)
    """
    H, _ = stacked(params.cells, embedding(params.embed, tokens), mask=mask, unroll=unroll)
    return _logits(params, H)


def rnn_lm_init_state(params: RNNLMParams) -> tuple:
    r"""The zero state of every layer ($h = 0$, and $c = 0$ for an LSTM), bottom first.

    Args:
      params: ``RNNLMParams``.

    Returns:
      A tuple with one state per layer: an ``(m,)`` array, or ``(h, c)`` for an LSTM layer.

    References:
      [MEDL] Ch. 7, Sec. 7.2 ($h^{\langle 0\rangle} = 0$).
    """
    _lm_spec(checks.public_name(rnn_lm_init_state), "params", params, {})
    states = []
    for cell in params.cells:
        z = jnp.zeros((cell[1].shape[-1],), cell[1].dtype)
        states.append((z, z) if isinstance(cell, LSTMParams) else z)
    return tuple(states)


def _cell_step(cell, state, x):
    if isinstance(cell, RNNParams):
        return rnn_step(cell, state, x), None
    if isinstance(cell, LSTMParams):
        new = lstm_step(cell, state, x)
        return new, new[0]
    if isinstance(cell, GRUParams):
        return gru_step(cell, state, x, convention="book" if cell.b_hn is None else "pytorch"), None
    raise TypeError(f"models.rnn_lm_step: a cell of type {type(cell).__name__} is not a recurrent cell")


@checks.inputs(params=_lm_spec, token="int[]")
def rnn_lm_step(params: RNNLMParams, state: tuple, token: jax.Array) -> tuple[jax.Array, tuple]:
    r"""One decoding step: read ``token``, update every layer's state, return the next-token logits.

    Iterating it over a sequence gives the rows of :func:`rnn_lm` (the tests pin it).

    Args:
      params: ``RNNLMParams``.
      state: from :func:`rnn_lm_init_state` or the previous step.
      token: one token id, an int scalar.

    Returns:
      ``(logits (d_V,), new_state)``.

    Raises:
      TypeError: if ``params`` is not ``RNNLMParams`` or ``token`` is not an integer.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (generation, one-to-many).
    """
    u = embedding(params.embed, token[None])[0]
    new = []
    for cell, s in zip(params.cells, state, strict=True):
        s_new, h = _cell_step(cell, s, u)
        new.append(s_new)
        u = s_new if h is None else h  # stacking passes h upward, never c
    return _logits(params, u[None, :])[0], tuple(new)


register_lm(
    RNNLMParams,
    init_state=lambda params, max_len: rnn_lm_init_state(params),
    step=lambda params, state, token, t: rnn_lm_step(params, state, token),
)


@checks.inputs(logits="float[T V]", targets="int[T]", mask="bool[T]?")
def lm_loss(logits: jax.Array, targets: jax.Array, *, mask=None) -> jax.Array:
    r"""Per-token cross-entropy of a language model, averaged over the counted positions.

    $$C = \frac{\sum_t \mathbb 1[\text{mask}_t]\, C^{\langle t\rangle}}{\max(1, \sum_t \mathbb 1[\text{mask}_t])},\qquad
    C^{\langle t\rangle} = \operatorname{logsumexp}(z^{\langle t\rangle}) - z^{\langle t\rangle}_{y_t},$$
    (``losses.softmax_cross_entropy``); with no mask, $\frac1T\sum_t C^{\langle t\rangle}$ (eq. (7.5)).
    A fully masked sequence (all padding) gives loss 0 and a zero gradient. A masked position's
    target is never read, so padding ids may be anything in range.

    Args:
      logits: shape ``(T, d_V)``.
      targets: next-token ids, shape ``(T,)``.
      mask: shape ``(T,)`` bool, False where no loss is counted (``<empty>`` padding).

    Returns:
      $C$ in nats, a scalar (``exp`` of it is the perplexity).

    Raises:
      ValueError: if the shapes disagree.
      TypeError: if the dtypes are wrong.

    References:
      [MEDL] Ch. 7, Sec. 7.2, eqs. (7.4)-(7.5).
    """
    if mask is None:
        mask = jnp.ones(targets.shape, bool)
    safe = jnp.where(mask, targets, jnp.zeros_like(targets))
    per = jnp.where(mask, losses.softmax_cross_entropy(logits, safe), jnp.zeros((), logits.dtype))
    n = jnp.maximum(jnp.sum(mask), 1).astype(logits.dtype)
    return jnp.sum(per) / n
