r"""Sequence-to-sequence GRU encoder-decoders ([MEDL] Ch. 7, Sec. 7.4), plain and with Bahdanau attention.

**Plain** (the book's Fig. 7.9b): a GRU encoder reads the source (optionally reversed, as in
Sutskever et al. 2014) and its last state is the code $z^*$. The decoder is a GRU that starts from
$s^{\langle 0\rangle} = z^*$ and receives $z^*$ at every step, in its input and in its output:

$$s^{\langle t\rangle} = \mathrm{GRU}\big(s^{\langle t-1\rangle}, [E\,y^{\langle t-1\rangle}; z^*]\big), \qquad
  z^{\langle t\rangle} = W_{yh} [s^{\langle t\rangle}; z^*] + b_y .$$

**Attention** (eq. 7.22, Bahdanau et al. 2015): a bidirectional GRU encoder gives
$v^{\langle \tau\rangle} = [h_f^{\langle\tau\rangle}; h_r^{\langle\tau\rangle}]$; the decoder's query is its
previous state and keys = values = $v$:

$$\alpha^{\langle t\rangle} = \mathrm{softmax}_\tau\, w^\top\tanh(W_q s^{\langle t-1\rangle}
  + W_k v^{\langle\tau\rangle}), \quad
  u^{\langle t\rangle} = \sum_\tau \alpha_\tau^{\langle t\rangle} v^{\langle\tau\rangle}, \quad
  s^{\langle t\rangle} = \mathrm{GRU}\big(s^{\langle t-1\rangle},
  [E\,y^{\langle t-1\rangle}; u^{\langle t\rangle}]\big),$$

$z^{\langle t\rangle} = W_{yh}[s^{\langle t\rangle}; u^{\langle t\rangle}] + b_y$, with
$s^{\langle 0\rangle} = \tanh(W_s [h_f^{\langle S\rangle}; h_r^{\langle 1\rangle}] + b_s)$.

Training is teacher forcing: the decoder reads ``tgt_in`` $= (\langle start\rangle, y_1, \dots)$ and
row $t$ of :func:`seq2seq` gives the logits of $y_{t+1}$. Inference binds one source with
:func:`condition_seq2seq` and decodes it with :func:`mathdl.models.generate` (greedy or sampled) or
:func:`mathdl.models.beam_search`; both run the very step function that teacher forcing scans.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers import (
    AdditiveAttentionParams,
    BidirectionalParams,
    DenseParams,
    EmbeddingParams,
    GRUParams,
    additive_attention_weights,
    bidirectional,
    dense,
    embedding,
    gru,
    gru_step,
    init_additive_attention,
    init_bidirectional,
    init_dense,
    init_embedding,
    init_gru,
    one_example,
)
from mathdl.models._decode import register_lm

__all__ = [
    "ConditionedSeq2Seq",
    "Seq2SeqParams",
    "condition_seq2seq",
    "init_seq2seq",
    "seq2seq",
    "seq2seq_forward",
    "sequence_exact_match",
]


class Seq2SeqParams(NamedTuple):
    """A GRU encoder-decoder.

    Attributes:
      src_embed: ``EmbeddingParams`` of the source lexicon, ``(d_V_src, p)``.
      tgt_embed: ``EmbeddingParams`` of the target lexicon, ``(d_V, p)``.
      encoder: ``GRUParams`` (plain) or ``BidirectionalParams`` of two GRUs (attention).
      bridge: ``DenseParams`` giving $s^{\\langle 0\\rangle}$ from $[h_f; h_r]$ (attention), or ``None``.
      attention: ``AdditiveAttentionParams`` (attention), or ``None`` (plain).
      decoder: ``GRUParams`` of the decoder, input width ``p + m`` (plain) or ``p + 2m``.
      out: ``DenseParams`` of the output layer, ``W`` of shape ``(d_V, 2m)`` or ``(d_V, 3m)``.
    """

    src_embed: EmbeddingParams
    tgt_embed: EmbeddingParams
    encoder: GRUParams | BidirectionalParams
    bridge: DenseParams | None
    attention: AdditiveAttentionParams | None
    decoder: GRUParams
    out: DenseParams


class ConditionedSeq2Seq(NamedTuple):
    """A seq2seq model bound to one encoded source, decodable with ``generate`` and ``beam_search``.

    Attributes:
      params: ``Seq2SeqParams``.
      memory: the code $z^*$ ``(m,)`` (plain) or the encoder's $v$ ``(S, 2m)`` (attention).
      src_mask: ``(S,)`` bool, the real source positions.
      s0: the decoder's initial state, ``(m,)``.
    """

    params: Seq2SeqParams
    memory: jax.Array
    src_mask: jax.Array
    s0: jax.Array


def _count(func: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        checks.fail(func, name, "a positive int", value)
    return value


def init_seq2seq(
    key: jax.Array,
    src_vocab_size: int,
    tgt_vocab_size: int,
    *,
    embed_dim: int,
    hidden: int,
    attention: bool = False,
    attention_hidden: int | None = None,
    dtype=None,
) -> Seq2SeqParams:
    r"""Initialise a GRU encoder-decoder, plain (code $z^*$ at every step) or with Bahdanau attention.

    Args:
      key: a typed PRNG key.
      src_vocab_size: source lexicon size.
      tgt_vocab_size: target lexicon size $d_V$.
      embed_dim: embedding width $p$ (source and target).
      hidden: GRU state width $m$ (encoder, each direction, and decoder).
      attention: a bidirectional encoder and additive attention (eq. 7.22).
      attention_hidden: the additive score's hidden width (default ``hidden``).
      dtype: floating dtype of the parameters.

    Returns:
      ``Seq2SeqParams``.

    Raises:
      ValueError: if a size is not a positive int.
      TypeError: if ``attention`` is not a bool.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Cho et al. (2014); Sutskever, Vinyals & Le (2014); Bahdanau, Cho &
      Bengio, "Neural machine translation by jointly learning to align and translate", ICLR (2015).
    """
    func = checks.public_name(init_seq2seq)
    for name, v in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size)):
        _count(func, name, v)
    p, m = _count(func, "embed_dim", embed_dim), _count(func, "hidden", hidden)
    if not isinstance(attention, bool):
        checks.fail(func, "attention", "a bool", type(attention).__name__, exc=TypeError)
    n_a = m if attention_hidden is None else _count(func, "attention_hidden", attention_hidden)
    k_s, k_t, k_e, k_b, k_a, k_d, k_o = jax.random.split(key, 7)
    src = init_embedding(k_s, src_vocab_size, p, dtype=dtype)
    tgt = init_embedding(k_t, tgt_vocab_size, p, dtype=dtype)
    dt = src.E.dtype
    if attention:
        encoder = init_bidirectional(k_e, p, m, cell="gru", dtype=dt)
        bridge = init_dense(k_b, 2 * m, m, init="glorot_normal", dtype=dt)
        attn = init_additive_attention(k_a, m, 2 * m, n_a, dtype=dt)
        ctx = 2 * m
    else:
        encoder, bridge, attn, ctx = init_gru(k_e, p, m, dtype=dt), None, None, m
    decoder = init_gru(k_d, p + ctx, m, dtype=dt)
    out = init_dense(k_o, m + ctx, tgt_vocab_size, init="glorot_normal", dtype=dt)
    return Seq2SeqParams(src, tgt, encoder, bridge, attn, decoder, out)


def _encode(func, params: Seq2SeqParams, src, src_mask, reverse_source):
    """``(memory, src_mask, s0)`` of one source (see :class:`ConditionedSeq2Seq`)."""
    if not isinstance(reverse_source, bool):
        checks.fail(func, "reverse_source", "a bool", type(reverse_source).__name__, exc=TypeError)
    mask = jnp.ones(src.shape, bool) if src_mask is None else src_mask
    x = embedding(params.src_embed, src)
    if params.attention is None:
        if reverse_source:  # the padding comes first and is skipped: masked steps keep the state
            x, mask_in = x[::-1], mask[::-1]
        else:
            mask_in = mask
        _, z = gru(params.encoder, x, mask=mask_in)
        return z, mask, z
    if reverse_source:
        checks.fail(func, "reverse_source", "False with attention (the encoder is bidirectional)", True)
    v, (h_f, h_r) = bidirectional(params.encoder, x, mask=mask)
    s0 = jnp.tanh(dense(params.bridge, jnp.concatenate([h_f, h_r])))
    return v, mask, s0


def _step(params: Seq2SeqParams, memory, src_mask, s, token):
    """One decoder step: ``(logits (d_V,), s_t, alpha (S,) or None)`` from ``s_{t-1}`` and ``y_{t-1}``."""
    e = embedding(params.tgt_embed, token[None])[0]
    if params.attention is None:
        context, alpha = memory, None
    else:
        alpha = additive_attention_weights(params.attention, s[None], memory, mask=src_mask[None])[0]
        context = alpha @ memory  # u = sum_tau alpha_tau v_tau (eq. 7.21)
    s = gru_step(params.decoder, s, jnp.concatenate([e, context]))
    return dense(params.out, jnp.concatenate([s, context])), s, alpha


@checks.inputs(src=one_example("int[S]"), tgt_in=one_example("int[T]"), src_mask="bool[S]?")
def seq2seq_forward(
    params: Seq2SeqParams,
    src: jax.Array,
    tgt_in: jax.Array,
    *,
    src_mask: jax.Array | None = None,
    reverse_source: bool = False,
) -> dict:
    r"""Teacher-forced pass with its intermediates: logits, decoder states and attention weights.

    Args:
      params: ``Seq2SeqParams``.
      src: source token ids, shape ``(S,)`` (one example).
      tgt_in: decoder input ids $(\langle start\rangle, y_1, \dots, y_{T-1})$, shape ``(T,)``.
      src_mask: ``(S,)`` bool, True at the real source positions (``None``: all).
      reverse_source: feed the source reversed (plain variant only).

    Returns:
      A dict: ``"logits"`` ``(T, d_V)``, ``"states"`` ``(T, m)`` (the $s^{\langle t\rangle}$),
      ``"code"`` (``(m,)``, $z^*$, or the encoder's $v$ ``(S, 2m)`` with attention) and, with
      attention, ``"attention"`` ``(T, S)``: row $t$ is $\alpha^{\langle t\rangle}$ over the source
      positions (zero at padding), the heat map of Bahdanau et al.'s Fig. 3.

    Raises:
      ValueError: if an input is not one sequence, ``src_mask`` has another length, or
        ``reverse_source`` is asked with attention; ids out of range raise eagerly (NaN under jit).
      TypeError: if the ids are not integer or ``reverse_source`` not a bool.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (teacher forcing, eq. 7.22); Bahdanau et al. (2015).
    """
    memory, mask, s0 = _encode(checks.public_name(seq2seq_forward), params, src, src_mask, reverse_source)

    def body(s, token):
        logits, s, alpha = _step(params, memory, mask, s, token)
        return s, (logits, s) if alpha is None else (logits, s, alpha)

    _, outs = lax.scan(body, s0, tgt_in)
    result = {"logits": outs[0], "states": outs[1], "code": memory}
    if params.attention is not None:
        result["attention"] = outs[2]
    return result


def seq2seq(
    params: Seq2SeqParams,
    src: jax.Array,
    tgt_in: jax.Array,
    *,
    src_mask: jax.Array | None = None,
    reverse_source: bool = False,
) -> jax.Array:
    r"""Teacher-forced logits of the encoder-decoder: row $t$ predicts $y_{t+1}$ (a one-example function).

    See the module docstring for both variants; ``jax.vmap`` batches over examples.

    Args:
      params: ``Seq2SeqParams``.
      src: source token ids, shape ``(S,)``.
      tgt_in: decoder input ids, shape ``(T,)``.
      src_mask: ``(S,)`` bool, True at real source positions (``None``: all).
      reverse_source: feed the source reversed (plain variant only).

    Returns:
      Logits, shape ``(T, d_V)``.

    Raises:
      ValueError: as :func:`seq2seq_forward`.
      TypeError: as :func:`seq2seq_forward`.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Cho et al. (2014); Bahdanau et al. (2015).
    """
    return seq2seq_forward(params, src, tgt_in, src_mask=src_mask, reverse_source=reverse_source)["logits"]


@checks.inputs(src=one_example("int[S]"), src_mask="bool[S]?")
def condition_seq2seq(
    params: Seq2SeqParams, src: jax.Array, *, src_mask: jax.Array | None = None, reverse_source: bool = False
) -> ConditionedSeq2Seq:
    r"""Encode one source and bind it to the decoder, for :func:`mathdl.models.generate` / ``beam_search``.

    ``generate(key, condition_seq2seq(params, src), jnp.array([start_id]), max_len=T + 1,
    temperature=0.0, stop_id=stop_id)`` is greedy decoding from ``<start>``; its steps are those
    :func:`seq2seq` scans under teacher forcing.

    Args:
      params: ``Seq2SeqParams``.
      src: source token ids, shape ``(S,)``.
      src_mask: ``(S,)`` bool, True at real source positions (``None``: all).
      reverse_source: feed the source reversed (plain variant only).

    Returns:
      ``ConditionedSeq2Seq(params, memory, src_mask, s0)``.

    Raises:
      ValueError: as :func:`seq2seq_forward`.

    References:
      [MEDL] Ch. 7, Sec. 7.4 and Sec. 7.5 (eq. 7.34, inference from ``<start>``).
    """
    memory, mask, s0 = _encode(checks.public_name(condition_seq2seq), params, src, src_mask, reverse_source)
    return ConditionedSeq2Seq(params, memory, mask, s0)


def _conditioned_step(bound: ConditionedSeq2Seq, s, token, t):
    del t
    logits, s, _ = _step(bound.params, bound.memory, bound.src_mask, s, jnp.asarray(token, jnp.int32))
    return logits, s


register_lm(ConditionedSeq2Seq, init_state=lambda bound, max_len: bound.s0, step=_conditioned_step)


@checks.inputs(pred="int[T]", target="int[T]", mask="bool[T]?")
def sequence_exact_match(pred: jax.Array, target: jax.Array, *, mask: jax.Array | None = None) -> jax.Array:
    r"""Sequence exact match of one example: 1 if every (unmasked) token agrees, else 0.

    $\mathrm{EM} = \prod_t \mathbb 1[\hat y_t = y_t \text{ or not } \mathrm{mask}_t]$; the data-set
    accuracy is the mean over examples (``jax.vmap`` it, or pass it to ``train.evaluate``).

    Args:
      pred: predicted ids, shape ``(T,)``.
      target: true ids, shape ``(T,)``.
      mask: ``(T,)`` bool, the positions that count (e.g. ``target != pad_id``); ``None``: all.

    Returns:
      A float scalar, 1.0 or 0.0 (in JAX's default float dtype).

    Raises:
      ValueError: if the shapes differ.
      TypeError: if the ids are not integer or the mask not boolean.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (judging translations); Rajpurkar et al. (2016) (exact match).
    """
    same = pred == target
    if mask is not None:
        same = same | ~mask
    return jnp.all(same).astype(jnp.result_type(float))
