r"""Transformers ([MEDL] Ch. 7, Sec. 7.5): encoder and decoder blocks, the encoder-decoder, a small GPT.

A sequence is ONE example, a ``(T, p)`` array whose rows are positions (the book's $p \times T$
matrix, transposed so that each row is one $x^{\langle t\rangle}$). The **encoder block** is the
book's post-LN form,

$$u_1 = \mathrm{MHA}(a_{in}),\quad u_2 = \mathrm{LN}(a_{in} + u_1),\quad
  u_3 = W^{[2]}\,\mathrm{ReLU}(W^{[1]} u_2 + b^{[1]}) + b^{[2]},\quad a_{out} = \mathrm{LN}'(u_2 + u_3),$$

with the feed-forward network applied to every position alone (inner width $N_1$). The
**decoder block** puts a causal self-attention, then a cross-attention whose queries are its own
positions and whose keys and values are the encoder's output $z^*$ (eq. 7.33), then the
feed-forward network, each followed by a residual sum and a layer norm. ``norm="pre"`` gives the
pre-LN variant (Xiong et al. 2020; GPT-2): $h = x + \mathrm{MHA}(\mathrm{LN}(x))$,
$a_{out} = h + \mathrm{FFN}(\mathrm{LN}'(h))$, and a final layer norm after the last block.

Attention is :func:`mathdl.layers.multi_head_attention` (heads summed through $W_c^h$), the layer
norms and dense maps are :func:`mathdl.layers.layer_norm` and :func:`mathdl.layers.dense`; this
module only composes them. The decoder-only LM (:func:`transformer_lm`) is a stack of causal
encoder blocks over learned token and position embeddings; its key-value cache
(:func:`transformer_lm_step`) lets :func:`mathdl.models.generate` add a token in time linear in
the length, with the logits of the full recomputation.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers import (
    DenseParams,
    EmbeddingParams,
    LayerNormParams,
    MultiHeadParams,
    dense,
    embedding,
    init_dense,
    init_embedding,
    init_layer_norm,
    init_multi_head_attention,
    layer_norm,
    multi_head_attention,
    multi_head_output,
    multi_head_project,
    one_example,
    scaled_dot_product_attention,
    sinusoidal_positions,
)
from mathdl.models._decode import register_lm

__all__ = [
    "ConditionedTransformer",
    "DecoderBlockParams",
    "EncoderBlockParams",
    "FeedForwardParams",
    "KVCache",
    "TransformerLMParams",
    "TransformerParams",
    "condition_transformer",
    "cross_attention",
    "decoder_block",
    "encoder_block",
    "feed_forward",
    "init_decoder_block",
    "init_encoder_block",
    "init_feed_forward",
    "init_kv_cache",
    "init_transformer",
    "init_transformer_lm",
    "transformer",
    "transformer_block_param_count",
    "transformer_encode",
    "transformer_lm",
    "transformer_lm_step",
]

_NORMS = ("post", "pre")


class FeedForwardParams(NamedTuple):
    """The position-wise feed-forward network $W^{[2]}\\mathrm{ReLU}(W^{[1]} u + b^{[1]}) + b^{[2]}$.

    Attributes:
      hidden: ``DenseParams``, ``W`` of shape ``(N1, p)``.
      out: ``DenseParams``, ``W`` of shape ``(p, N1)``.
    """

    hidden: DenseParams
    out: DenseParams


class EncoderBlockParams(NamedTuple):
    """An encoder block (also the block of the decoder-only LM, used with a causal mask).

    Attributes:
      attn: ``MultiHeadParams`` of the self-attention.
      ln1: ``LayerNormParams`` after (post-LN) or before (pre-LN) the attention.
      ffn: ``FeedForwardParams``.
      ln2: ``LayerNormParams`` of the feed-forward sub-layer.
    """

    attn: MultiHeadParams
    ln1: LayerNormParams
    ffn: FeedForwardParams
    ln2: LayerNormParams


class DecoderBlockParams(NamedTuple):
    """A decoder block: causal self-attention, cross-attention to $z^*$, feed-forward.

    Attributes:
      self_attn: ``MultiHeadParams`` of the causal self-attention.
      ln1: ``LayerNormParams``.
      cross_attn: ``MultiHeadParams`` of the cross-attention (eq. 7.33).
      ln2: ``LayerNormParams``.
      ffn: ``FeedForwardParams``.
      ln3: ``LayerNormParams``.
    """

    self_attn: MultiHeadParams
    ln1: LayerNormParams
    cross_attn: MultiHeadParams
    ln2: LayerNormParams
    ffn: FeedForwardParams
    ln3: LayerNormParams


class TransformerLMParams(NamedTuple):
    """A decoder-only (GPT-style) causal language model.

    Attributes:
      embed: ``EmbeddingParams``, ``E`` of shape ``(d_V, p)``.
      positions: learned position embeddings, shape ``(max_len, p)``.
      blocks: tuple of ``EncoderBlockParams`` (applied with a causal mask).
      final_ln: ``LayerNormParams`` after the last block for a pre-LN model, ``None`` for post-LN
        (so the parameters say which form they are).
      out: ``DenseParams`` of the output layer, ``W`` of shape ``(d_V, p)``.
    """

    embed: EmbeddingParams
    positions: jax.Array
    blocks: tuple
    final_ln: LayerNormParams | None
    out: DenseParams


class TransformerParams(NamedTuple):
    """An encoder-decoder transformer with sinusoidal positions (eq. 7.29, added as in 7.30).

    Attributes:
      src_embed: ``EmbeddingParams`` of the source lexicon, ``(d_V_src, p)``.
      tgt_embed: ``EmbeddingParams`` of the target lexicon, ``(d_V_tgt, p)``.
      encoder: tuple of ``EncoderBlockParams``.
      decoder: tuple of ``DecoderBlockParams``.
      enc_ln: final encoder ``LayerNormParams`` (pre-LN) or ``None`` (post-LN).
      dec_ln: final decoder ``LayerNormParams`` (pre-LN) or ``None`` (post-LN).
      out: ``DenseParams``, ``W`` of shape ``(d_V_tgt, p)``.
    """

    src_embed: EmbeddingParams
    tgt_embed: EmbeddingParams
    encoder: tuple
    decoder: tuple
    enc_ln: LayerNormParams | None
    dec_ln: LayerNormParams | None
    out: DenseParams


class KVCache(NamedTuple):
    """Keys and values of the positions fed so far, one slot per position up to ``max_len``.

    Attributes:
      K: keys, shape ``(L, H, max_len, m)``.
      V: values, shape ``(L, H, max_len, m_v)``.
    """

    K: jax.Array
    V: jax.Array


class ConditionedTransformer(NamedTuple):
    """An encoder-decoder transformer bound to one encoded source, decodable with ``generate``.

    Attributes:
      params: ``TransformerParams``.
      memory: the encoder's output $z^*$, shape ``(S, p)``.
      src_mask: ``(S,)`` bool, the real (non-padding) source positions.
    """

    params: TransformerParams
    memory: jax.Array
    src_mask: jax.Array


# ------------------------------------------------------------------ small pieces


def _count(func: str, name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        checks.fail(func, name, f"an int >= {low}", value)
    return value


def _cast(tree, dtype):
    if dtype is None:
        return tree
    return jax.tree.map(lambda a: a.astype(dtype), tree)


def _rows(fn, params, x):
    """A one-position map applied to every row of ``x`` (T, p)."""
    return jax.vmap(fn, in_axes=(None, 0))(params, x)


def _ln(params: LayerNormParams, x):
    return _rows(layer_norm, params, x)


def _norm_of(func: str, norm: str) -> bool:
    checks.check_choice(func, "norm", norm, _NORMS)
    return norm == "pre"


def _head_dims(func: str, p: int, num_heads: int, m, m_v) -> tuple[int, int]:
    if m is None or m_v is None:
        if p % num_heads:
            checks.fail(func, "num_heads", f"a divisor of p = {p} (or give m and m_v)", num_heads)
    m = p // num_heads if m is None else _count(func, "m", m)
    m_v = p // num_heads if m_v is None else _count(func, "m_v", m_v)
    return m, m_v


def _block_spec(func: str, name: str, value, dims: dict):
    """A block's width ``p`` is that of its first layer norm (checked before the sequence)."""
    ln1 = getattr(value, "ln1", None)
    if ln1 is None:
        checks.fail(func, name, "block parameters with a field ln1", checks.Text(type(value).__name__), exc=TypeError)
    checks.conform(func, f"{name}.ln1.gamma", ln1.gamma, "float[p]", dims)
    return value


def _ffn_spec(func: str, name: str, value, dims: dict):
    """The feed-forward network's width ``p`` is the inner layer's input width."""
    hidden = getattr(value, "hidden", None)
    if hidden is None:
        checks.fail(func, name, "FeedForwardParams", checks.Text(type(value).__name__), exc=TypeError)
    checks.conform(func, f"{name}.hidden.W", hidden.W, "float[N1 p]", dims)
    return value


# ------------------------------------------------------------------ feed-forward network


def init_feed_forward(key: jax.Array, p: int, n_hidden: int, *, dtype=None) -> FeedForwardParams:
    r"""Initialise the position-wise feed-forward network $p \to N_1 \to p$.

    Args:
      key: a typed PRNG key.
      p: model width $p$.
      n_hidden: inner width $N_1$.
      dtype: floating dtype of the parameters.

    Returns:
      ``FeedForwardParams``: $2 N_1 p + N_1 + p$ parameters (He-normal ``W^{[1]}``,
      Glorot-normal ``W^{[2]}``, zero biases).

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (the encoder block's $u_3$); Vaswani et al. (2017), Sec. 3.3.
    """
    k1, k2 = jax.random.split(key)
    hidden = init_dense(k1, p, n_hidden, dtype=dtype)
    out = init_dense(k2, n_hidden, p, init="glorot_normal", dtype=dtype)
    return FeedForwardParams(hidden, out)


@checks.inputs(params=_ffn_spec, x=one_example("float[T p]"))
def feed_forward(params: FeedForwardParams, x: jax.Array) -> jax.Array:
    r"""The position-wise feed-forward network, $u_3 = W^{[2]}\mathrm{ReLU}(W^{[1]} u + b^{[1]}) + b^{[2]}$ per row.

    Args:
      params: ``FeedForwardParams``.
      x: ONE sequence, shape ``(T, p)`` (a one-example function).

    Returns:
      Shape ``(T, p)``.

    Raises:
      ValueError: if ``x`` is not one ``(T, p)`` sequence of the parameters' width.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.5.
    """
    return _ffn(params, x)


def _ffn(params: FeedForwardParams, x):
    return _rows(dense, params.out, jax.nn.relu(_rows(dense, params.hidden, x)))


# ------------------------------------------------------------------ blocks


def init_encoder_block(
    key: jax.Array, p: int, num_heads: int, n_hidden: int, *, m: int | None = None, m_v: int | None = None, dtype=None
) -> EncoderBlockParams:
    r"""Initialise an encoder block (multi-head self-attention, two layer norms, feed-forward).

    Args:
      key: a typed PRNG key.
      p: model width $p$.
      num_heads: $H$.
      n_hidden: feed-forward inner width $N_1$.
      m: query/key width per head (default ``p // H``).
      m_v: value width per head (default ``p // H``).
      dtype: floating dtype of the parameters.

    Returns:
      ``EncoderBlockParams`` with :func:`transformer_block_param_count` parameters.

    Raises:
      ValueError: if a width is not a positive int, or ``H`` does not divide ``p`` when ``m`` or
        ``m_v`` is left to its default.

    References:
      [MEDL] Ch. 7, Sec. 7.5, eq. (7.32).
    """
    func = checks.public_name(init_encoder_block)
    for name, v in (("p", p), ("num_heads", num_heads), ("n_hidden", n_hidden)):
        _count(func, name, v)
    m, m_v = _head_dims(func, p, num_heads, m, m_v)
    k1, k2 = jax.random.split(key)
    attn = init_multi_head_attention(k1, p, num_heads, m=m, m_v=m_v)
    ffn = init_feed_forward(k2, p, n_hidden, dtype=dtype)
    dt = ffn.hidden.W.dtype
    return EncoderBlockParams(_cast(attn, dt), init_layer_norm(p, dtype=dt), ffn, init_layer_norm(p, dtype=dt))


def _encoder_block(params: EncoderBlockParams, x, attend, pre: bool):
    """The block around an attention ``attend(attn_params, a) -> (u1, aux)``; returns ``(a_out, aux)``."""
    if pre:
        u1, aux = attend(params.attn, _ln(params.ln1, x))
        h = x + u1
        return h + _ffn(params.ffn, _ln(params.ln2, h)), aux
    u1, aux = attend(params.attn, x)
    u2 = _ln(params.ln1, x + u1)
    return _ln(params.ln2, u2 + _ffn(params.ffn, u2)), aux


def _self_attend(mask, causal):
    def attend(attn, a):
        return multi_head_attention(attn, a, a, mask=mask, is_causal=causal), None

    return attend


@checks.inputs(params=_block_spec, x=one_example("float[T p]"), mask="bool[T T]?")
def encoder_block(
    params: EncoderBlockParams,
    x: jax.Array,
    *,
    mask: jax.Array | None = None,
    is_causal: bool = False,
    norm: str = "post",
) -> jax.Array:
    r"""One encoder block on one sequence: post-LN as in the book, or pre-LN.

    Post-LN: $u_1 = \mathrm{MHA}(x)$, $u_2 = \mathrm{LN}(x + u_1)$, $a_{out} = \mathrm{LN}'(u_2 +
    \mathrm{FFN}(u_2))$. Pre-LN: $h = x + \mathrm{MHA}(\mathrm{LN}(x))$,
    $a_{out} = h + \mathrm{FFN}(\mathrm{LN}'(h))$.

    Args:
      params: ``EncoderBlockParams``.
      x: ONE sequence $a_{in}$, shape ``(T, p)`` (a one-example function).
      mask: ``(T, T)`` bool, True where position $t$ may attend to $\tau$ (``None``: all).
      is_causal: attend only to $\tau \le t$ (the decoder-only LM's block).
      norm: ``"post"`` (the book) or ``"pre"``.

    Returns:
      $a_{out}$, shape ``(T, p)``.

    Raises:
      ValueError: if ``x`` is not one sequence of width ``p``, the mask's shape is not
        ``(T, T)``, or ``norm`` is unknown.
      TypeError: if ``x`` is not floating or ``mask`` not boolean.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (the encoder block); Vaswani et al., "Attention is all you need",
      NeurIPS (2017); Xiong et al., "On layer normalization in the transformer architecture",
      ICML (2020) (pre-LN). Oracle in tests: ``torch.nn.TransformerEncoderLayer``.
    """
    pre = _norm_of(checks.public_name(encoder_block), norm)
    return _encoder_block(params, x, _self_attend(mask, is_causal), pre)[0]


def init_decoder_block(
    key: jax.Array, p: int, num_heads: int, n_hidden: int, *, m: int | None = None, m_v: int | None = None, dtype=None
) -> DecoderBlockParams:
    r"""Initialise a decoder block (causal self-attention, cross-attention, feed-forward, three layer norms).

    Args:
      key: a typed PRNG key.
      p: model width $p$.
      num_heads: $H$.
      n_hidden: feed-forward inner width $N_1$.
      m: query/key width per head (default ``p // H``).
      m_v: value width per head (default ``p // H``).
      dtype: floating dtype of the parameters.

    Returns:
      ``DecoderBlockParams`` with ``transformer_block_param_count(..., decoder=True)`` parameters.

    Raises:
      ValueError: as :func:`init_encoder_block`.

    References:
      [MEDL] Ch. 7, Sec. 7.5, eqs. (7.32) and (7.33).
    """
    func = checks.public_name(init_decoder_block)
    for name, v in (("p", p), ("num_heads", num_heads), ("n_hidden", n_hidden)):
        _count(func, name, v)
    m, m_v = _head_dims(func, p, num_heads, m, m_v)
    k1, k2, k3 = jax.random.split(key, 3)
    ffn = init_feed_forward(k3, p, n_hidden, dtype=dtype)
    dt = ffn.hidden.W.dtype
    sa = _cast(init_multi_head_attention(k1, p, num_heads, m=m, m_v=m_v), dt)
    ca = _cast(init_multi_head_attention(k2, p, num_heads, m=m, m_v=m_v), dt)
    ln = functools.partial(init_layer_norm, p, dtype=dt)
    return DecoderBlockParams(sa, ln(), ca, ln(), ffn, ln())


@checks.inputs(u=one_example("float[T p]"), z=one_example("float[S p]"), mask="bool[T S]?")
def cross_attention(params: MultiHeadParams, u: jax.Array, z: jax.Array, *, mask: jax.Array | None = None):
    r"""Cross-attention (eq. 7.33): queries from the decoder's positions, keys and values from $z^*$.

    $u^{\langle t\rangle} = \sum_h W_c^h \sum_\tau \alpha^{h,\langle t\rangle}_\tau W_v^h z^{*\langle\tau\rangle}$
    with $\alpha^{h,\langle t\rangle} = \mathrm{softmax}_\tau\big((W_q^h \tilde u^{\langle t\rangle})^\top
    W_k^h z^{*\langle\tau\rangle}/\sqrt m\big)$: :func:`mathdl.layers.multi_head_attention` with
    ``x_q = u`` and ``x_kv = z``.

    Args:
      params: ``MultiHeadParams``.
      u: the decoder's sequence $\tilde u$, shape ``(T, p)`` (one example).
      z: the encoder's output $z^*$, shape ``(S, p)``.
      mask: ``(T, S)`` bool, True where $t$ may attend to $\tau$ (e.g. the real source positions).

    Returns:
      Shape ``(T, p)``.

    Raises:
      ValueError: if ``u`` or ``z`` is not one sequence, widths differ, or the mask is not ``(T, S)``.
      TypeError: if an input is not floating (the mask boolean).

    References:
      [MEDL] Ch. 7, Sec. 7.5, eq. (7.33); Vaswani et al. (2017), Sec. 3.2.3.
    """
    return multi_head_attention(params, u, z, mask=mask)


def _decoder_block(params: DecoderBlockParams, y, z, cross_mask, self_attend, pre: bool):
    """The decoder block around a self-attention ``self_attend(attn, a) -> (u, aux)``."""

    def cross(a):
        return multi_head_attention(params.cross_attn, a, z, mask=cross_mask)

    if pre:
        u, aux = self_attend(params.self_attn, _ln(params.ln1, y))
        h1 = y + u
        h2 = h1 + cross(_ln(params.ln2, h1))
        return h2 + _ffn(params.ffn, _ln(params.ln3, h2)), aux
    u, aux = self_attend(params.self_attn, y)
    h1 = _ln(params.ln1, y + u)
    h2 = _ln(params.ln2, h1 + cross(h1))
    return _ln(params.ln3, h2 + _ffn(params.ffn, h2)), aux


@checks.inputs(params=_block_spec, y=one_example("float[T p]"), z=one_example("float[S p]"), mask="bool[T S]?")
def decoder_block(
    params: DecoderBlockParams, y: jax.Array, z: jax.Array, *, mask: jax.Array | None = None, norm: str = "post"
) -> jax.Array:
    r"""One decoder block on one target sequence, attending causally to itself and fully to $z^*$.

    Post-LN: $h_1 = \mathrm{LN}_1(y + \mathrm{MHA}_{causal}(y))$,
    $h_2 = \mathrm{LN}_2(h_1 + \mathrm{MHA}(h_1, z^*))$, $a_{out} = \mathrm{LN}_3(h_2 + \mathrm{FFN}(h_2))$;
    pre-LN puts each layer norm on the sub-layer's input instead.

    Args:
      params: ``DecoderBlockParams``.
      y: ONE target sequence, shape ``(T, p)``.
      z: the encoder's output $z^*$, shape ``(S, p)``.
      mask: ``(T, S)`` bool for the cross-attention (``None``: every source position).
      norm: ``"post"`` (the book) or ``"pre"``.

    Returns:
      Shape ``(T, p)``.

    Raises:
      ValueError: if a sequence is not one example of width ``p``, the mask is not ``(T, S)``,
        or ``norm`` is unknown.
      TypeError: if an input is not floating (the mask boolean).

    References:
      [MEDL] Ch. 7, Sec. 7.5 (the decoder block, eq. 7.33); Vaswani et al. (2017). Oracle in
      tests: ``torch.nn.TransformerDecoderLayer``.
    """
    pre = _norm_of(checks.public_name(decoder_block), norm)
    return _decoder_block(params, y, z, mask, _self_attend(None, True), pre)[0]


def transformer_block_param_count(
    p: int, n_hidden: int, num_heads: int, *, m: int | None = None, m_v: int | None = None, decoder: bool = False
) -> int:
    r"""The parameter count of a transformer block, eq. (7.32).

    $$4p + 2 N_1 p + N_1 + p + H(2mp + 2m_v p)$$

    for the encoder block (two layer norms, the feed-forward network, the attention heads'
    $W_q^h, W_k^h \in \mathbb{R}^{m\times p}$, $W_v^h \in \mathbb{R}^{m_v\times p}$,
    $W_c^h \in \mathbb{R}^{p\times m_v}$); the decoder block adds the cross-attention and a third
    layer norm, $H(2mp + 2m_v p) + 2p$.

    Args:
      p: model width.
      n_hidden: feed-forward inner width $N_1$.
      num_heads: $H$.
      m: query/key width per head (default ``p // H``).
      m_v: value width per head (default ``p // H``).
      decoder: count a decoder block.

    Returns:
      The count (a Python int); equal to ``param_count`` of :func:`init_encoder_block`
      (:func:`init_decoder_block`).

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.5, eq. (7.32).
    """
    func = checks.public_name(transformer_block_param_count)
    for name, v in (("p", p), ("n_hidden", n_hidden), ("num_heads", num_heads)):
        _count(func, name, v)
    m, m_v = _head_dims(func, p, num_heads, m, m_v)
    heads = num_heads * (2 * m * p + 2 * m_v * p)
    count = 4 * p + 2 * n_hidden * p + n_hidden + p + heads
    return count + heads + 2 * p if decoder else count


# ------------------------------------------------------------------ the decoder-only LM (a small GPT)


def init_transformer_lm(
    key: jax.Array,
    vocab_size: int,
    *,
    p: int,
    num_heads: int,
    num_layers: int,
    n_hidden: int,
    max_len: int,
    norm: str = "post",
    dtype=None,
) -> TransformerLMParams:
    r"""Initialise a decoder-only causal transformer LM (a small GPT).

    Token embeddings $E \in \mathbb{R}^{d_V\times p}$ and learned positions
    $P \in \mathbb{R}^{\text{max\_len}\times p}$ (both $\mathcal N(0, 0.02^2)$ as in GPT-2), ``num_layers``
    causal blocks, a final layer norm when ``norm="pre"``, and the output layer $d_V \times p$.

    Args:
      key: a typed PRNG key.
      vocab_size: $d_V$.
      p: model width.
      num_heads: $H$ (dividing ``p``).
      num_layers: number of blocks $L$.
      n_hidden: feed-forward inner width $N_1$.
      max_len: the longest sequence (number of learned positions).
      norm: ``"post"`` (the book) or ``"pre"`` (GPT-2).
      dtype: floating dtype of the parameters.

    Returns:
      ``TransformerLMParams``.

    Raises:
      ValueError: if a size is not a positive int, ``H`` does not divide ``p``, or ``norm`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.5; Radford et al., "Language models are unsupervised multitask
      learners" (2019) (GPT-2); Karpathy, nanoGPT.
    """
    func = checks.public_name(init_transformer_lm)
    for name, v in (("vocab_size", vocab_size), ("num_layers", num_layers), ("max_len", max_len), ("p", p)):
        _count(func, name, v)
    pre = _norm_of(func, norm)
    k_e, k_p, k_o, *k_b = jax.random.split(key, 3 + num_layers)
    blocks = tuple(init_encoder_block(k, p, num_heads, n_hidden, dtype=dtype) for k in k_b)
    dt = blocks[0].ln1.gamma.dtype
    E = 0.02 * jax.random.normal(k_e, (vocab_size, p), dt)
    P = 0.02 * jax.random.normal(k_p, (max_len, p), dt)
    out = init_dense(k_o, p, vocab_size, init="glorot_normal", dtype=dt)
    return TransformerLMParams(EmbeddingParams(E), P, blocks, init_layer_norm(p, dtype=dt) if pre else None, out)


def _lm_input(params: TransformerLMParams, tokens, positions):
    return embedding(params.embed, tokens) + params.positions[positions]


def _lm_head(params, h):
    if params.final_ln is not None:
        h = _ln(params.final_ln, h)
    return _rows(dense, params.out, h)


@checks.inputs(tokens=one_example("int[T]"))
def transformer_lm(params: TransformerLMParams, tokens: jax.Array) -> jax.Array:
    r"""Next-token logits of the decoder-only LM at every position (teacher forcing, all in parallel).

    $a^{[0]} = E[y_{1..T}] + P_{1..T}$, $a^{[\ell]} = \mathrm{block}_\ell(a^{[\ell-1]})$ with causal
    self-attention, $z^{\langle t\rangle} = W_{out} a^{[L]\langle t\rangle} + b_{out}$: row $t$ predicts
    token $t+1$ from tokens $1..t$ only.

    Args:
      params: ``TransformerLMParams`` (post- or pre-LN, as initialised).
      tokens: ONE sequence of token ids, shape ``(T,)`` with ``T <= max_len``.

    Returns:
      Logits, shape ``(T, d_V)``.

    Raises:
      ValueError: if ``tokens`` is not one sequence or is longer than ``max_len``; an id outside
        ``[0, d_V)`` raises eagerly and gives NaN under ``jax.jit`` (the embedding's check).
      TypeError: if ``tokens`` is not integer.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (causal masking, eq. 7.27; training with teacher forcing).
    """
    func = checks.public_name(transformer_lm)
    T, max_len = tokens.shape[0], params.positions.shape[0]
    if T > max_len:
        checks.fail(func, "tokens", f"at most max_len = {max_len} tokens", checks.Text(f"shape {tokens.shape}"))
    pre = params.final_ln is not None
    h = _lm_input(params, tokens, jnp.arange(T))
    for blk in params.blocks:
        h, _ = _encoder_block(blk, h, _self_attend(None, True), pre)
    return _lm_head(params, h)


def init_kv_cache(params: TransformerLMParams, max_len: int | None = None) -> KVCache:
    r"""An empty key-value cache for :func:`transformer_lm_step` (zeros, ``max_len`` slots per layer).

    Args:
      params: ``TransformerLMParams``.
      max_len: slots per layer (default: the model's ``max_len``).

    Returns:
      ``KVCache(K (L, H, max_len, m), V (L, H, max_len, m_v))``.

    Raises:
      ValueError: if ``max_len`` exceeds the model's positions.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (eq. 7.34); Pope et al., "Efficiently scaling transformer
      inference", MLSys (2023) (the KV cache).
    """
    cap = params.positions.shape[0]
    max_len = cap if max_len is None else _count(checks.public_name(init_kv_cache), "max_len", max_len)
    if max_len > cap:
        checks.fail(checks.public_name(init_kv_cache), "max_len", f"at most the model's {cap} positions", max_len)
    W_q, W_v = params.blocks[0].attn.W_q, params.blocks[0].attn.W_v
    L, (H, m, _), m_v = len(params.blocks), W_q.shape, W_v.shape[1]
    return KVCache(jnp.zeros((L, H, max_len, m), W_q.dtype), jnp.zeros((L, H, max_len, m_v), W_q.dtype))


def _cached_attend(K_l, V_l, t):
    """Self-attention of one new position ``t`` over the cache slots ``<= t``; writes its key and value."""
    slots = K_l.shape[1]
    mask = (jnp.arange(slots, dtype=t.dtype) <= t)[None, :]  # (1, slots)

    def attend(attn, a):
        Q, K1, V1 = multi_head_project(attn, a, a)  # (H, 1, m), (H, 1, m), (H, 1, m_v)
        K = lax.dynamic_update_slice(K_l, K1.astype(K_l.dtype), (jnp.int32(0), t, jnp.int32(0)))
        V = lax.dynamic_update_slice(V_l, V1.astype(V_l.dtype), (jnp.int32(0), t, jnp.int32(0)))
        U = jax.vmap(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask))(Q, K, V)
        return multi_head_output(attn, U), (K, V)

    return attend


def transformer_lm_step(params: TransformerLMParams, cache: KVCache, token: jax.Array, t: jax.Array):
    r"""Feed one token at position ``t`` through the LM with a key-value cache.

    The keys $W_k^h a^{\langle t\rangle}$ and values $W_v^h a^{\langle t\rangle}$ of every layer are
    written into slot ``t``; the query of position ``t`` attends to slots $0..t$. After feeding
    tokens $0..t$ one by one, the logits equal row ``t`` of :func:`transformer_lm` on them (the
    tests check this), at a cost linear in ``t`` instead of quadratic.

    Args:
      params: ``TransformerLMParams``.
      cache: ``KVCache`` holding positions ``0..t-1``.
      token: the token id at position ``t``, an int scalar.
      t: its 0-based position, an int scalar (traced is fine), below the cache's slots.

    Returns:
      ``(logits (d_V,), cache)``: the next token's logits and the cache with slot ``t`` written.

    Raises:
      ValueError: an id outside ``[0, d_V)`` (eagerly; NaN under ``jax.jit``).

    References:
      [MEDL] Ch. 7, Sec. 7.5 (eq. 7.34); Pope et al. (2023).
    """
    token, t = jnp.asarray(token, jnp.int32), jnp.asarray(t, jnp.int32)
    pre = params.final_ln is not None
    h = _lm_input(params, token[None], t[None])
    Ks, Vs = [], []
    for l, blk in enumerate(params.blocks):
        h, (K, V) = _encoder_block(blk, h, _cached_attend(cache.K[l], cache.V[l], t), pre)
        Ks.append(K)
        Vs.append(V)
    return _lm_head(params, h)[0], KVCache(jnp.stack(Ks), jnp.stack(Vs))


register_lm(
    TransformerLMParams,
    init_state=init_kv_cache,
    step=transformer_lm_step,
    capacity=lambda params: params.positions.shape[0],
)


# ------------------------------------------------------------------ the encoder-decoder


def init_transformer(
    key: jax.Array,
    src_vocab_size: int,
    tgt_vocab_size: int,
    *,
    p: int,
    num_heads: int,
    num_layers: int,
    n_hidden: int,
    num_decoder_layers: int | None = None,
    norm: str = "post",
    dtype=None,
) -> TransformerParams:
    r"""Initialise an encoder-decoder transformer (source and target lexicons of their own).

    Args:
      key: a typed PRNG key.
      src_vocab_size: source lexicon size.
      tgt_vocab_size: target lexicon size $d_V$.
      p: model width.
      num_heads: $H$ (dividing ``p``).
      num_layers: encoder blocks (and decoder blocks unless ``num_decoder_layers`` is given).
      n_hidden: feed-forward inner width $N_1$.
      num_decoder_layers: decoder blocks (default ``num_layers``).
      norm: ``"post"`` (the book) or ``"pre"`` (then each stack ends with a layer norm).
      dtype: floating dtype of the parameters.

    Returns:
      ``TransformerParams``.

    Raises:
      ValueError: if a size is not a positive int, ``H`` does not divide ``p``, or ``norm`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.5; Vaswani et al. (2017).
    """
    func = checks.public_name(init_transformer)
    n_dec = num_layers if num_decoder_layers is None else num_decoder_layers
    for name, v in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size), ("p", p)):
        _count(func, name, v)
    _count(func, "num_layers", num_layers)
    _count(func, "num_decoder_layers", n_dec)
    pre = _norm_of(func, norm)
    k_s, k_t, k_o, k_enc, k_dec = jax.random.split(key, 5)
    enc = tuple(init_encoder_block(k, p, num_heads, n_hidden, dtype=dtype) for k in jax.random.split(k_enc, num_layers))
    dec = tuple(init_decoder_block(k, p, num_heads, n_hidden, dtype=dtype) for k in jax.random.split(k_dec, n_dec))
    dt = enc[0].ln1.gamma.dtype
    src = _cast(init_embedding(k_s, src_vocab_size, p), dt)
    tgt = _cast(init_embedding(k_t, tgt_vocab_size, p), dt)
    ln = (lambda: init_layer_norm(p, dtype=dt)) if pre else (lambda: None)
    out = init_dense(k_o, p, tgt_vocab_size, init="glorot_normal", dtype=dt)
    return TransformerParams(src, tgt, enc, dec, ln(), ln(), out)


def _embed_with_positions(params: EmbeddingParams, tokens, offset=0):
    x = embedding(params, tokens)
    p = x.shape[-1]
    r = sinusoidal_positions(offset + tokens.shape[0], p).astype(x.dtype)[offset:]
    return x * jnp.asarray(math.sqrt(p), x.dtype) + r  # Vaswani et al. scale the embedding by sqrt(p)


def _src_mask(func, src, src_mask):
    if src_mask is None:
        return jnp.ones(src.shape, bool)
    return checks.conform(func, "src_mask", src_mask, f"bool[{src.shape[0]}]")


@checks.inputs(src=one_example("int[S]"), src_mask="bool[S]?")
def transformer_encode(params: TransformerParams, src: jax.Array, *, src_mask: jax.Array | None = None) -> jax.Array:
    r"""The encoder's output $z^*$ for one source sequence.

    Args:
      params: ``TransformerParams``.
      src: source token ids, shape ``(S,)``.
      src_mask: ``(S,)`` bool, True at the real (non-padding) positions (``None``: all).

    Returns:
      $z^*$, shape ``(S, p)``.

    Raises:
      ValueError: if ``src`` is not one sequence or ``src_mask`` has another length.
      TypeError: if ``src`` is not integer or ``src_mask`` not boolean.

    References:
      [MEDL] Ch. 7, Sec. 7.5.
    """
    src_mask = _src_mask(checks.public_name(transformer_encode), src, src_mask)
    pre = params.enc_ln is not None
    mask = jnp.broadcast_to(src_mask[None, :], (src.shape[0], src.shape[0]))
    h = _embed_with_positions(params.src_embed, src)
    for blk in params.encoder:
        h, _ = _encoder_block(blk, h, _self_attend(mask, False), pre)
    return _ln(params.enc_ln, h) if pre else h


def _decode_all(params: TransformerParams, memory, src_mask, tgt_in):
    pre = params.dec_ln is not None
    cross_mask = jnp.broadcast_to(src_mask[None, :], (tgt_in.shape[0], src_mask.shape[0]))
    h = _embed_with_positions(params.tgt_embed, tgt_in)
    for blk in params.decoder:
        h, _ = _decoder_block(blk, h, memory, cross_mask, _self_attend(None, True), pre)
    if pre:
        h = _ln(params.dec_ln, h)
    return _rows(dense, params.out, h)


@checks.inputs(src=one_example("int[S]"), tgt_in=one_example("int[T]"), src_mask="bool[S]?")
def transformer(
    params: TransformerParams, src: jax.Array, tgt_in: jax.Array, *, src_mask: jax.Array | None = None
) -> jax.Array:
    r"""Teacher-forced logits of the encoder-decoder: every target position in parallel.

    $z^* = \mathrm{encoder}(x)$; the decoder reads ``tgt_in`` $= (\langle start\rangle, y_1, \dots,
    y_{T-1})$ with causal self-attention and cross-attention to $z^*$; row $t$ gives the logits of
    $y_{t+1}$.

    Args:
      params: ``TransformerParams``.
      src: source token ids, shape ``(S,)`` (one example).
      tgt_in: decoder input ids, shape ``(T,)``.
      src_mask: ``(S,)`` bool, True at real source positions (``None``: all).

    Returns:
      Logits, shape ``(T, d_V_tgt)``.

    Raises:
      ValueError: if an input is not one sequence or ``src_mask`` has another length; ids out of
        range raise eagerly (NaN under ``jax.jit``).
      TypeError: if the ids are not integer.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (training with teacher forcing); Vaswani et al. (2017).
    """
    src_mask = _src_mask(checks.public_name(transformer), src, src_mask)
    memory = transformer_encode(params, src, src_mask=src_mask)
    return _decode_all(params, memory, src_mask, tgt_in)


@checks.inputs(src=one_example("int[S]"), src_mask="bool[S]?")
def condition_transformer(
    params: TransformerParams, src: jax.Array, *, src_mask: jax.Array | None = None
) -> ConditionedTransformer:
    r"""Encode one source once and bind it to the decoder, for :func:`mathdl.models.generate` and ``beam_search``.

    ``generate(key, condition_transformer(params, src), jnp.array([start_id]), max_len=T + 1,
    temperature=0.0)`` is greedy translation (eq. 7.34); each step recomputes the decoder over the
    tokens so far (a target of tens of tokens; the LM has the key-value cache).

    Args:
      params: ``TransformerParams``.
      src: source token ids, shape ``(S,)``.
      src_mask: ``(S,)`` bool, True at real source positions (``None``: all).

    Returns:
      ``ConditionedTransformer(params, memory (S, p), src_mask (S,))``.

    Raises:
      ValueError: as :func:`transformer_encode`.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (eq. 7.34).
    """
    src_mask = _src_mask(checks.public_name(condition_transformer), src, src_mask)
    return ConditionedTransformer(params, transformer_encode(params, src, src_mask=src_mask), src_mask)


def _conditioned_init(bound: ConditionedTransformer, max_len: int):
    return jnp.zeros((max_len,), jnp.int32)  # the target tokens fed so far


def _conditioned_step(bound: ConditionedTransformer, tokens, token, t):
    tokens = tokens.at[t].set(jnp.asarray(token, jnp.int32))
    logits = _decode_all(bound.params, bound.memory, bound.src_mask, tokens)  # causal: later slots unseen
    return logits[t], tokens


register_lm(ConditionedTransformer, init_state=_conditioned_init, step=_conditioned_step)
