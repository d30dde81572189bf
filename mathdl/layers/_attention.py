r"""Attention in the book's notation ([MEDL] Ch. 7, Sec. 7.4-7.5): scores, masked softmax, pooling, heads.

General attention (7.20, 7.21): a query $z_q^{\langle t\rangle}$ scores every key $z_k^{\langle\tau\rangle}$ with
a score function $s$, the scores go through a softmax over $\tau$, and the output is the weighted sum of
the values,

$$\alpha^{\langle t\rangle} = \operatorname{softmax}_\tau\, s(z_q^{\langle t\rangle}, z_k^{\langle\tau\rangle}),
\qquad u^{\langle t\rangle} = \sum_\tau \alpha_\tau^{\langle t\rangle} v^{\langle\tau\rangle}.$$

Layout (the batching rule of docs/architecture.md): ONE example. Queries are rows of ``q`` of shape
``(T, d)``, keys rows of ``k`` of shape ``(S, d)``, values rows of ``v`` of shape ``(S, d_v)``; the output
``(T, d_v)`` has one row per query. Masks are boolean, ``True`` = may attend. A batch is refused: use
``jax.vmap``. Multi-head parameters keep the book's column orientation (``W_q^h`` of shape ``(m, p)``
maps a column $x \in \mathbb{R}^p$ to $W_q^h x \in \mathbb{R}^m$), stacked over heads on axis 0.

Three implementations of scaled dot-product attention compute the same numbers (the tests pin them
equal):

* ``"reference"``: $\operatorname{softmax}(Q K^\top / \sqrt d)\, V$ from the definition, the $T \times S$
  score matrix in memory;
* ``"blocked"``: a flash-style pass over blocks of keys with an online softmax under ``lax.scan``
  (Dao et al. 2022), never holding more than ``T x block`` scores; its backward pass (a
  ``jax.custom_vjp``) recomputes the blocks from the saved log-sum-exp, so memory grows linearly in
  $T$ forward and backward;
* ``"xla"``: :func:`jax.nn.dot_product_attention` with ``implementation="xla"``.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.checks import Text
from mathdl.layers._init import resolve_initialiser
from mathdl.layers._specs import one_example, positive_int

__all__ = [
    "ATTENTION_IMPLEMENTATIONS",
    "AdditiveAttentionParams",
    "ConcatScoreParams",
    "MultiHeadParams",
    "additive_attention",
    "additive_attention_weights",
    "additive_score",
    "attention_weights",
    "causal_mask",
    "concat_score",
    "default_attention_implementation",
    "dot_score",
    "general_score",
    "init_additive_attention",
    "init_concat_score",
    "init_multi_head_attention",
    "masked_softmax",
    "multi_head_attention",
    "multi_head_output",
    "multi_head_param_count",
    "multi_head_project",
    "nadaraya_watson",
    "nadaraya_watson_weights",
    "padding_mask",
    "scaled_dot_product_attention",
    "scaled_dot_score",
]

#: The values of the attention functions' ``implementation`` argument.
ATTENTION_IMPLEMENTATIONS = ("reference", "blocked", "xla")

# The default implementation per backend: the fastest in `mathdl bench --suite attention`
# (forward + backward); default_attention_implementation's docstring gives the figures.
_DEFAULT_IMPLEMENTATION = {"cpu": "blocked", "gpu": "xla", "cuda": "xla", "rocm": "xla", "tpu": "xla"}
_BLOCKED_ABOVE = 2**19  # on CPU, T S at most this uses the reference path (faster while the scores fit in cache)

_BLOCK = 256  # the largest number of keys per block of the blocked path

_KERNELS = ("gaussian", "boxcar", "epanechnikov", "triangular")


# ------------------------------------------------------------------ masks and the masked softmax


def _int(func: str, name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        checks.fail(func, name, "a positive int" if minimum == 1 else f"an int >= {minimum}", value)
    return int(value)


def causal_mask(T: int, S: int | None = None, *, offset: int = 0) -> jax.Array:
    r"""The causal mask of (7.27): query $t$ may attend to key $\tau$ iff $\tau \le t + \text{offset}$.

    The book sets the scores of keys after $t$ to $-\infty$ before the softmax; as a boolean mask
    (``True`` = may attend) that is the lower triangle. With ``S > T`` and ``offset = S - T`` the
    queries are the last ``T`` positions of a sequence of ``S`` (decoding with a key-value cache);
    the default ``offset = 0`` aligns the first query with the first key, as
    :func:`torch.nn.functional.scaled_dot_product_attention` and :func:`jax.nn.dot_product_attention`
    do with ``is_causal=True``.

    Args:
      T: number of queries (positive int).
      S: number of keys (default ``T``).
      offset: shift of the diagonal (an int; may be negative).

    Returns:
      Boolean mask of shape ``(T, S)``.

    Raises:
      ValueError: if ``T`` or ``S`` is not a positive int, or ``offset`` is not an int.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.27).
    """
    func = checks.public_name(causal_mask)
    T = _int(func, "T", T)
    S = T if S is None else _int(func, "S", S)
    if isinstance(offset, bool) or not isinstance(offset, int):
        checks.fail(func, "offset", "an int", offset)
    return jnp.arange(S)[None, :] <= jnp.arange(T)[:, None] + offset


def padding_mask(valid, T: int) -> jax.Array:
    r"""The mask that hides padded keys: every one of ``T`` queries may attend to key $\tau$ iff ``valid[τ]``.

    Args:
      valid: boolean, shape ``(S,)``: which keys are real (``False`` at ``<empty>`` padding).
      T: number of queries (positive int).

    Returns:
      Boolean mask of shape ``(T, S)``; combine with :func:`causal_mask` by ``&``.

    Raises:
      ValueError: if ``valid`` is not boolean of rank 1 or ``T`` is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (padding with ``<empty>``); D2L Sec. 11.3 (masked softmax).
    """
    func = checks.public_name(padding_mask)
    valid = checks.conform(func, "valid", valid, "bool[S]")
    T = _int(func, "T", T)
    return jnp.broadcast_to(valid[None, :], (T, valid.shape[0]))


def _masked_softmax(scores, mask, axis=-1):
    """Unchecked kernel: softmax over ``axis`` of the entries where ``mask``; a fully masked row is 0.

    The masked entries are replaced by a finite number before the exponential and their
    exponentials by 0 (a ``where``, not a product), so a fully masked row divides 0 by 1 and its
    gradient is exactly zero; no ``-inf`` or NaN appears forward or backward.
    """
    if mask is None:
        return jax.nn.softmax(scores, axis=axis)
    low = jnp.asarray(jnp.finfo(scores.dtype).min, scores.dtype)
    s = jnp.where(mask, scores, low)
    top = lax.stop_gradient(jnp.max(s, axis=axis, keepdims=True))  # the softmax does not depend on it
    e = jnp.where(mask, jnp.exp(s - top), jnp.zeros((), scores.dtype))
    total = jnp.sum(e, axis=axis, keepdims=True)
    return e / jnp.where(total > 0, total, jnp.ones((), scores.dtype))


def masked_softmax(scores, mask=None, axis: int = -1) -> jax.Array:
    r"""Softmax over the unmasked entries only (a fully masked row gives zeros, with zero gradient).

    $$\alpha_\tau = e^{s_\tau} 1\{m_\tau\} / \textstyle\sum_{\tau'} e^{s_{\tau'}} 1\{m_{\tau'}\}.$$

    Equivalent to adding $-\infty$ to the masked scores (the additive mask of (7.27)), except that a
    row with every entry masked gives zeros (an empty weighted sum), with a zero gradient, instead
    of NaN. A broadcasting function: any leading axes.

    Args:
      scores: floating scores, shape ``(..., S)`` (the softmax runs along ``axis``).
      mask: boolean, ``True`` = keep, broadcastable to ``scores`` (e.g. ``(S,)`` or ``(T, S)``);
        ``None`` keeps every entry (the plain softmax).
      axis: the axis normalised over.

    Returns:
      Weights of the shape of ``scores``; each row sums to 1, or is all zeros if fully masked.

    Raises:
      ValueError: if ``mask`` does not broadcast to ``scores``, or ``axis`` is out of range.
      TypeError: if ``scores`` is not floating or ``mask`` is not boolean.

    References:
      [MEDL] Ch. 7, Sec. 7.4, (7.20) and (7.27); D2L Sec. 11.3.2 (masked softmax).
    """
    func = checks.public_name(masked_softmax)
    scores = checks.conform(func, "scores", scores, "float[*shape]")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -scores.ndim <= axis < max(scores.ndim, 1):
        checks.fail(func, "axis", f"an axis of scores of rank {scores.ndim}", axis)
    if mask is not None:
        mask = checks.conform(func, "mask", mask, "bool[*mshape]")
        try:
            shape = jnp.broadcast_shapes(mask.shape, scores.shape)
        except ValueError:
            shape = None
        if shape != scores.shape:
            checks.fail(
                func,
                "mask",
                f"a shape that broadcasts to the scores' shape {tuple(scores.shape)}",
                Text(f"shape {tuple(mask.shape)}"),
            )
        mask = jnp.broadcast_to(mask, scores.shape)
    return _masked_softmax(scores, mask, axis)


# ------------------------------------------------------------------ Nadaraya-Watson kernel regression


def _as_rows(func, name, x, dims, sym):
    """A ``(n,)`` or ``(n, d)`` floating array as ``(n, d)`` rows."""
    x = checks.conform(func, name, x, "float[*shape]")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        checks.fail(func, name, f"shape ({sym},) or ({sym}, d)", Text(f"shape {tuple(x.shape)}"))
    return x


def _nw_setup(func, queries, keys, values, kernel, bandwidth):
    q = _as_rows(func, "queries", queries, {}, "T")
    k = _as_rows(func, "keys", keys, {}, "S")
    if q.shape[1] != k.shape[1]:
        checks.fail(
            func,
            "keys",
            f"points of the queries' dimension d = {q.shape[1]} (queries of shape {tuple(jnp.shape(queries))})",
            Text(f"shape {tuple(jnp.shape(keys))}"),
        )
    checks.check_choice(func, "kernel", kernel, list(_KERNELS))
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or not bandwidth > 0:
        checks.fail(func, "bandwidth", "a positive number", bandwidth)
    if values is not None:
        v = checks.conform(func, "values", values, "float[*shape]")
        if v.ndim not in (1, 2) or v.shape[0] != k.shape[0]:
            checks.fail(
                func,
                "values",
                f"shape (S,) or (S, d_v) with S = {k.shape[0]} (keys of shape {tuple(jnp.shape(keys))})",
                Text(f"shape {tuple(v.shape)}"),
            )
        values = v
    dtype = jnp.result_type(q, k)
    return q.astype(dtype), k.astype(dtype), values


def _nw_weights(q, k, kernel, bandwidth):
    diff = (q[:, None, :] - k[None, :, :]) / jnp.asarray(bandwidth, q.dtype)
    u2 = jnp.sum(diff * diff, axis=-1)  # squared scaled distance ||q - k||^2 / h^2, shape (T, S)
    if kernel == "gaussian":
        return jax.nn.softmax(-0.5 * u2, axis=-1)
    zero = jnp.zeros((), q.dtype)
    if kernel == "boxcar":
        raw = jnp.where(u2 <= 1, jnp.ones((), q.dtype), zero)
    elif kernel == "epanechnikov":
        raw = jnp.maximum(1 - u2, zero)
    else:  # triangular: max(0, 1 - u), with a sqrt whose derivative is finite where u = 0
        pos = u2 > 0
        u = jnp.where(pos, jnp.sqrt(jnp.where(pos, u2, jnp.ones((), q.dtype))), zero)
        raw = jnp.maximum(1 - u, zero)
    raw = jnp.where(jnp.isnan(u2), u2, raw)  # a NaN point gives NaN weights, not a finite wrong answer
    total = jnp.sum(raw, axis=-1, keepdims=True)
    return raw / jnp.where(total > 0, total, jnp.ones((), q.dtype))


def nadaraya_watson_weights(queries, keys, *, kernel: str = "gaussian", bandwidth: float = 1.0) -> jax.Array:
    r"""The Nadaraya-Watson attention weights $\alpha(q, k_i) = K(\|q - k_i\|/h) / \sum_j K(\|q - k_j\|/h)$.

    Kernels of $u = \|q - k\|/h$ (normalising constants cancel):

    * ``"gaussian"``: $K(u) = e^{-u^2/2}$ (computed as a softmax of $-u^2/2$, so no query underflows);
    * ``"boxcar"``: $K(u) = 1\{u \le 1\}$;
    * ``"epanechnikov"``: $K(u) = \max(0, 1 - u^2)$ (Epanechnikov 1969);
    * ``"triangular"``: $K(u) = \max(0, 1 - u)$ (the kernel D2L prints under the name Epanechnikov).

    A query with no key inside a compact kernel's support gets all-zero weights.

    Args:
      queries: points, shape ``(T,)`` (scalars) or ``(T, d)``.
      keys: points, shape ``(S,)`` or ``(S, d)``.
      kernel: one of ``"gaussian"``, ``"boxcar"``, ``"epanechnikov"``, ``"triangular"``.
      bandwidth: $h > 0$.

    Returns:
      Weights of shape ``(T, S)``; each row sums to 1 (or is 0, see above).

    Raises:
      ValueError: if the points' dimensions differ (both shapes named), ``kernel`` is unknown or
        ``bandwidth`` is not positive.

    References:
      Nadaraya (1964), Watson (1964); D2L Sec. 11.2 (attention pooling by similarity);
      [MEDL] Ch. 7, Sec. 7.4 (attention as a weighted average of values).
    """
    func = checks.public_name(nadaraya_watson_weights)
    q, k, _ = _nw_setup(func, queries, keys, None, kernel, bandwidth)
    return _nw_weights(q, k, kernel, bandwidth)


def nadaraya_watson(queries, keys, values, *, kernel: str = "gaussian", bandwidth: float = 1.0) -> jax.Array:
    r"""Nadaraya-Watson kernel regression: $\hat f(q) = \sum_i \alpha(q, k_i)\, v_i$, attention with a fixed kernel.

    The weights are those of :func:`nadaraya_watson_weights`; the keys are the training inputs
    $x_i$ and the values their targets $y_i$.

    Args:
      queries: points to predict at, shape ``(T,)`` or ``(T, d)``.
      keys: training inputs, shape ``(S,)`` or ``(S, d)``.
      values: training targets, shape ``(S,)`` or ``(S, d_v)``.
      kernel: ``"gaussian"`` (default), ``"boxcar"``, ``"epanechnikov"`` or ``"triangular"``.
      bandwidth: $h > 0$.

    Returns:
      Predictions, shape ``(T,)`` for ``values`` of shape ``(S,)``, else ``(T, d_v)``.

    Raises:
      ValueError: if the points' dimensions differ, ``values`` has a number of rows other than
        ``S`` (both shapes named), ``kernel`` is unknown or ``bandwidth`` is not positive.

    References:
      Nadaraya (1964), Watson (1964); D2L Sec. 11.2; [MEDL] Ch. 7, Sec. 7.4.
    """
    func = checks.public_name(nadaraya_watson)
    q, k, v = _nw_setup(func, queries, keys, values, kernel, bandwidth)
    alpha = _nw_weights(q, k, kernel, bandwidth)
    return alpha.astype(jnp.result_type(alpha, v)) @ v.astype(jnp.result_type(alpha, v))


# ------------------------------------------------------------------ score functions


def _qk(func, q, k):
    q = checks.conform(func, "q", q, "float[T m_q]")
    k = checks.conform(func, "k", k, "float[S m_k]")
    dtype = jnp.result_type(q, k)
    return q.astype(dtype), k.astype(dtype)


def _same_width(func, q, k, qname="q", kname="k"):
    if q.shape[-1] != k.shape[-1]:
        checks.fail(
            func,
            kname,
            f"the width d = {q.shape[-1]} of {qname} ({qname} of shape {tuple(q.shape)})",
            Text(f"shape {tuple(k.shape)} (width {k.shape[-1]})"),
        )


def dot_score(q, k) -> jax.Array:
    r"""Inner-product scores $s(z_q, z_k) = z_q^\top z_k$ for every query-key pair.

    Args:
      q: queries, shape ``(T, m)`` (one example; batch with ``jax.vmap``).
      k: keys, shape ``(S, m)``.

    Returns:
      Scores $Q K^\top$, shape ``(T, S)``.

    Raises:
      ValueError: if the widths differ (both shapes named) or an input is not a matrix.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (score functions after (7.21)).
    """
    func = checks.public_name(dot_score)
    q, k = _qk(func, q, k)
    _same_width(func, q, k)
    return q @ k.T


def scaled_dot_score(q, k) -> jax.Array:
    r"""Scaled inner-product scores $s(z_q, z_k) = z_q^\top z_k / \sqrt{m}$ (Vaswani et al. 2017).

    The book scales by $1/\sqrt{\max(m_q, m_k)}$; an inner product needs $m_q = m_k = m$.

    Args:
      q: queries, shape ``(T, m)``.
      k: keys, shape ``(S, m)``.

    Returns:
      Scores, shape ``(T, S)``.

    Raises:
      ValueError: if the widths differ (both shapes named).

    References:
      [MEDL] Ch. 7, Sec. 7.4; Vaswani et al. (2017), Sec. 3.2.1.
    """
    func = checks.public_name(scaled_dot_score)
    q, k = _qk(func, q, k)
    _same_width(func, q, k)
    return (q @ k.T) / jnp.sqrt(jnp.asarray(q.shape[1], q.dtype))


def general_score(W, q, k) -> jax.Array:
    r"""General (bilinear) scores $s(z_q, z_k) = z_q^\top W_s z_k$ (Luong et al. 2015).

    Args:
      W: $W_s$, shape ``(m_q, m_k)``.
      q: queries, shape ``(T, m_q)``.
      k: keys, shape ``(S, m_k)``.

    Returns:
      Scores $Q W_s K^\top$, shape ``(T, S)``.

    Raises:
      ValueError: if ``W``'s shape is not ``(m_q, m_k)``.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Luong, Pham and Manning (2015).
    """
    func = checks.public_name(general_score)
    q, k = _qk(func, q, k)
    W = checks.conform(func, "W", W, "float[a b]")
    if W.shape != (q.shape[1], k.shape[1]):
        checks.fail(
            func,
            "W",
            f"shape (m_q, m_k) = ({q.shape[1]}, {k.shape[1]}) for q of shape {tuple(q.shape)} and k of "
            f"shape {tuple(k.shape)}",
            Text(f"shape {tuple(W.shape)}"),
        )
    W = W.astype(q.dtype)
    return q @ W @ k.T


class ConcatScoreParams(NamedTuple):
    r"""Parameters of the concatenation score $w_s^\top \tanh(\tilde W_s [z_q; z_k])$.

    Attributes:
      W: $\tilde W_s$, shape ``(n, m_q + m_k)`` (the first ``m_q`` columns multiply $z_q$).
      w: $w_s$, shape ``(n,)``.
    """

    W: jax.Array
    w: jax.Array


class AdditiveAttentionParams(NamedTuple):
    r"""Parameters of additive (Bahdanau) attention, $s(z_q, z_k) = w^\top \tanh(W_q z_q + W_k z_k)$.

    Attributes:
      W_q: $W_{sa}$, shape ``(n, m_q)``.
      W_k: $W_{sb}$, shape ``(n, m_k)``.
      w: $w_s$, shape ``(n,)``.
    """

    W_q: jax.Array
    W_k: jax.Array
    w: jax.Array


def _additive(W_q, W_k, w, q, k):
    """Unchecked kernel: (T, S) scores w^T tanh(W_q q_t + W_k k_tau); W z computed once per row."""
    a = q @ W_q.T  # (T, n)
    b = k @ W_k.T  # (S, n)
    return jnp.tanh(a[:, None, :] + b[None, :, :]) @ w


def concat_score(params: ConcatScoreParams, q, k) -> jax.Array:
    r"""Concatenation scores $s(z_q, z_k) = w_s^\top \tanh(\tilde W_s [z_q; z_k])$ for every pair.

    $\tilde W_s [z_q; z_k] = \tilde W_s^{(q)} z_q + \tilde W_s^{(k)} z_k$ with the column blocks of
    $\tilde W_s$, so each product is taken once per query and once per key, not per pair.

    Args:
      params: ``ConcatScoreParams(W (n, m_q + m_k), w (n,))``.
      q: queries, shape ``(T, m_q)``.
      k: keys, shape ``(S, m_k)``.

    Returns:
      Scores, shape ``(T, S)``.

    Raises:
      ValueError: if ``params.W`` does not have ``m_q + m_k`` columns or ``params.w`` does not have
        its ``n`` rows.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Luong, Pham and Manning (2015), "concat".
    """
    func = checks.public_name(concat_score)
    q, k = _qk(func, q, k)
    params = checks.fields(W="float[n c]", w="float[n]").conform(func, "params", params, {})
    m_q, m_k = q.shape[1], k.shape[1]
    if params.W.shape[1] != m_q + m_k:
        checks.fail(
            func,
            "params.W",
            f"m_q + m_k = {m_q} + {m_k} = {m_q + m_k} columns (q of shape {tuple(q.shape)}, k of shape "
            f"{tuple(k.shape)})",
            Text(f"shape {tuple(params.W.shape)}"),
        )
    W = params.W.astype(q.dtype)
    return _additive(W[:, :m_q], W[:, m_q:], params.w.astype(q.dtype), q, k)


_ADDITIVE_FIELDS = checks.fields(W_q="float[n m_q]", W_k="float[n m_k]", w="float[n]")


def additive_score(params: AdditiveAttentionParams, q, k) -> jax.Array:
    r"""Additive scores $s(z_q, z_k) = w_s^\top \tanh(W_{sa} z_q + W_{sb} z_k)$ (Bahdanau et al. 2015).

    Args:
      params: ``AdditiveAttentionParams(W_q (n, m_q), W_k (n, m_k), w (n,))``.
      q: queries, shape ``(T, m_q)``.
      k: keys, shape ``(S, m_k)``.

    Returns:
      Scores, shape ``(T, S)``.

    Raises:
      ValueError: if a parameter's shape disagrees with ``q``, ``k`` or the others.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Bahdanau, Cho and Bengio (2015); D2L Sec. 11.3.2.
    """
    func = checks.public_name(additive_score)
    return _additive_checked(func, params, q, k)


def _additive_checked(func, params, q, k, mask=None):
    q, k = _qk(func, q, k)
    dims = {"m_q": q.shape[1], "m_k": k.shape[1]}
    params = _ADDITIVE_FIELDS.conform(func, "params", params, dims)
    dt = q.dtype
    return _additive(params.W_q.astype(dt), params.W_k.astype(dt), params.w.astype(dt), q, k)


def _mask_arg(func, mask, T, S, name="mask"):
    if mask is None:
        return None
    mask = checks.conform(func, name, mask, "bool[*shape]")
    if mask.shape != (T, S):
        checks.fail(func, name, f"shape (T, S) = ({T}, {S})", Text(f"shape {tuple(mask.shape)}"))
    return mask


@checks.inputs(key="key[]", m_q=positive_int, m_k=positive_int, n_hidden=positive_int)
def init_additive_attention(
    key: jax.Array, m_q: int, m_k: int, n_hidden: int, *, init="glorot_uniform", dtype=None
) -> AdditiveAttentionParams:
    r"""Initialise additive (Bahdanau) attention: $W_q, W_k \sim$ ``init``, $w \sim U(-1/\sqrt n, 1/\sqrt n)$.

    Args:
      key: a typed PRNG key.
      m_q: query width.
      m_k: key width.
      n_hidden: hidden width $n$ of the score network.
      init: initialiser name or callable for ``W_q`` and ``W_k``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``AdditiveAttentionParams(W_q (n, m_q), W_k (n, m_k), w (n,))``.

    Raises:
      ValueError: if a width is not a positive int or ``init`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.4; Bahdanau, Cho and Bengio (2015).
    """
    func = checks.public_name(init_additive_attention)
    kq, kk, kw = jax.random.split(key, 3)
    draw = resolve_initialiser(func, init)
    W_q = draw(kq, (n_hidden, m_q), dtype)
    W_k = draw(kk, (n_hidden, m_k), W_q.dtype)
    bound = 1.0 / math.sqrt(n_hidden)
    w = jax.random.uniform(kw, (n_hidden,), W_q.dtype, -bound, bound)
    return AdditiveAttentionParams(W_q, W_k, w)


@checks.inputs(key="key[]", m_q=positive_int, m_k=positive_int, n_hidden=positive_int)
def init_concat_score(key: jax.Array, m_q: int, m_k: int, n_hidden: int, *, dtype=None) -> ConcatScoreParams:
    r"""Initialise the concatenation score: $\tilde W_s$ Glorot-uniform, $w_s \sim U(-1/\sqrt n, 1/\sqrt n)$.

    Args:
      key: a typed PRNG key.
      m_q: query width.
      m_k: key width.
      n_hidden: hidden width $n$.
      dtype: floating dtype.

    Returns:
      ``ConcatScoreParams(W (n, m_q + m_k), w (n,))``.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.4.
    """
    func = checks.public_name(init_concat_score)
    kW, kw = jax.random.split(key)
    W = resolve_initialiser(func, "glorot_uniform")(kW, (n_hidden, m_q + m_k), dtype)
    bound = 1.0 / math.sqrt(n_hidden)
    return ConcatScoreParams(W, jax.random.uniform(kw, (n_hidden,), W.dtype, -bound, bound))


def additive_attention_weights(params: AdditiveAttentionParams, q, k, *, mask=None) -> jax.Array:
    r"""The weights of additive attention, $\alpha^{\langle t\rangle} = \operatorname{softmax}_\tau s(q_t, k_\tau)$.

    Args:
      params: ``AdditiveAttentionParams`` (see :func:`init_additive_attention`).
      q: queries, shape ``(T, m_q)`` (one example).
      k: keys, shape ``(S, m_k)``.
      mask: optional boolean ``(T, S)``, ``True`` = may attend.

    Returns:
      $\alpha$, shape ``(T, S)``; rows sum to 1 (zeros for a fully masked row).

    Raises:
      ValueError: if a shape disagrees (the message names both).

    References:
      [MEDL] Ch. 7, Sec. 7.4, (7.20) and (7.22); Bahdanau, Cho and Bengio (2015).
    """
    func = checks.public_name(additive_attention_weights)
    s = _additive_checked(func, params, q, k)
    mask = _mask_arg(func, mask, s.shape[0], s.shape[1])
    return _masked_softmax(s, mask)


def additive_attention(params: AdditiveAttentionParams, q, k, v, *, mask=None) -> jax.Array:
    r"""Additive (Bahdanau) attention, $u^{\langle t\rangle} = \sum_\tau \alpha_\tau^{\langle t\rangle} v_\tau$.

    The weights $\alpha$ come from the additive score $w^\top \tanh(W_q q_t + W_k k_\tau)$ through
    the masked softmax; :func:`additive_attention_weights` returns them on their own.

    Args:
      params: ``AdditiveAttentionParams(W_q (n, m_q), W_k (n, m_k), w (n,))``.
      q: queries, shape ``(T, m_q)`` (one example; in the decoder of (7.22), the states
        $s^{\langle t-1\rangle}$).
      k: keys, shape ``(S, m_k)``.
      v: values, shape ``(S, m_v)`` (often ``k`` itself).
      mask: optional boolean ``(T, S)``.

    Returns:
      $u$, shape ``(T, m_v)``.

    Raises:
      ValueError: if a shape disagrees (the message names both shapes).

    References:
      [MEDL] Ch. 7, Sec. 7.4, (7.21)-(7.22); Bahdanau, Cho and Bengio (2015); D2L Sec. 11.4.
    """
    func = checks.public_name(additive_attention)
    s = _additive_checked(func, params, q, k)
    v = checks.conform(func, "v", v, "float[R m_v]")
    if v.shape[0] != s.shape[1]:
        checks.fail(
            func,
            "v",
            f"one value per key, S = {s.shape[1]} rows (k of shape {tuple(jnp.shape(k))})",
            Text(f"shape {tuple(v.shape)}"),
        )
    mask = _mask_arg(func, mask, s.shape[0], s.shape[1])
    alpha = _masked_softmax(s, mask)
    dt = jnp.result_type(alpha, v)
    return alpha.astype(dt) @ v.astype(dt)


# ------------------------------------------------------------------ scaled dot-product attention


def default_attention_implementation(backend: str | None = None, *, T: int | None = None, S: int | None = None) -> str:
    r"""The implementation of :func:`scaled_dot_product_attention` used when ``implementation=None``.

    The fastest measured on the backend. On CPU: forward plus backward, 4 heads under
    ``jax.vmap``, $d = 64$, float32, ``jax.jit``, best of 30 on 2 CPU cores shared with other jobs
    (ms; ``"blocked"`` with blocks of at most 256 keys):

    ===========  =========  =======  ======================================
    T x S        reference  blocked  ``jax.nn.dot_product_attention`` (XLA)
    ===========  =========  =======  ======================================
    1 x 1024     0.14       0.45     0.23
    1 x 4096     0.55       2.17     0.79
    64 x 1024    1.95       2.08     2.83
    256 x 256    1.61       1.86     2.36
    512 x 512    9.7        11.7     14.6
    256 x 2048   19.9       21.4     128
    1024 x 1024  125        38.5     81.5
    2048 x 2048  456        148      ~ 1100
    ===========  =========  =======  ======================================

    The reference path is fastest while one head's $T \times S$ scores stay in cache; past
    $T S = 2^{19}$ (2 MiB of float32 scores per head) it is bound by memory traffic and the blocked
    path wins by 3x, and it also needs memory linear in $T$ (``benchmarks/attention_memory.py``).
    So on CPU the default is ``"blocked"`` when $T S > 2^{19}$ and ``"reference"`` below, which also
    keeps forward-mode derivatives (``jax.jvp``, ``jax.jacfwd``) for short sequences and for
    decoding one query at a time; the blocked path's ``custom_vjp`` has reverse mode only.
    ``mathdl bench --suite attention`` (medians under load, t_peer / t_mathdl with the default):
    2.0x ``jax.nn.dot_product_attention`` and 8.4x PyTorch SDPA at $T = S = 512$ (reference);
    3.8x and 1.4x at $T = S = 2048$ (blocked). On GPU and TPU ``"xla"`` (not measured here).

    Args:
      backend: ``"cpu"``, ``"gpu"``, ``"tpu"``; default ``jax.default_backend()``.
      T: the number of queries (``None``: the choice for long sequences).
      S: the number of keys (``None``: the choice for long sequences).

    Returns:
      One of :data:`ATTENTION_IMPLEMENTATIONS`.

    References:
      ``mathdl bench --suite attention``; ``benchmarks/attention_memory.py``.
    """
    backend = jax.default_backend() if backend is None else backend
    impl = _DEFAULT_IMPLEMENTATION.get(backend, "xla")
    if impl == "blocked" and T is not None and S is not None and T * S <= _BLOCKED_ABOVE:
        return "reference"
    return impl


def _sdpa_reference(q, k, v, mask, is_causal):
    scale = jnp.asarray(1.0 / math.sqrt(q.shape[-1]), q.dtype)
    s = (q * scale) @ k.T
    if is_causal:
        c = causal_mask(q.shape[0], k.shape[0])
        mask = c if mask is None else mask & c
    return _masked_softmax(s, mask) @ v


def _sdpa_xla(q, k, v, mask, is_causal):
    m = None if mask is None else mask[None, None]
    d, d_v = q.shape[1], v.shape[1]
    w = max(d, d_v)  # jax.nn.dot_product_attention needs one head width: pad with zeros (dots unchanged)
    q4, k4, v4 = (jnp.pad(a, ((0, 0), (0, w - a.shape[1])))[None, :, None, :] for a in (q, k, v))
    with jax.numpy_dtype_promotion("standard"):  # JAX promotes float64 with float32 inside
        out = jax.nn.dot_product_attention(
            q4, k4, v4, mask=m, scale=1.0 / math.sqrt(d), is_causal=is_causal, implementation="xla"
        )[0, :, 0, :d_v]
    if mask is None:
        return out
    # XLA gives a fully masked row the mean of the values; the other paths give the empty sum 0
    keep = jnp.any(mask if not is_causal else mask & causal_mask(q.shape[0], k.shape[0]), axis=-1)
    return jnp.where(keep[:, None], out, jnp.zeros((), out.dtype))


# --- the blocked (flash-style) path: online softmax over key blocks, recomputing backward


def _blocks(k, v, mask, block):
    """Keys, values and the mask cut into ``nb`` blocks of ``block`` keys (padded keys masked out)."""
    S = k.shape[0]
    nb = -(-S // block)
    pad = nb * block - S
    kb = jnp.pad(k, ((0, pad), (0, 0))).reshape(nb, block, k.shape[1])
    vb = jnp.pad(v, ((0, pad), (0, 0))).reshape(nb, block, v.shape[1])
    mb = None if mask is None else jnp.pad(mask, ((0, 0), (0, pad))).reshape(mask.shape[0], nb, block).swapaxes(0, 1)
    return kb, vb, mb, nb


def _block_mask(j, mb, T, S, block, is_causal):
    """The (T, block) mask of key block ``j``: the given mask, causality, and keys past ``S``."""
    cols = j * block + jnp.arange(block)
    keep = jnp.broadcast_to((cols < S)[None, :], (T, block))
    if is_causal:
        keep = keep & (cols[None, :] <= jnp.arange(T)[:, None])
    if mb is not None:
        keep = keep & mb[j]
    return keep


def _flash_forward(q, k, v, mask, is_causal, block):
    T, d = q.shape
    S = k.shape[0]
    dt = q.dtype
    scale = jnp.asarray(1.0 / math.sqrt(d), dt)
    qs = q * scale
    kb, vb, mb, nb = _blocks(k, v, mask, block)
    neg = jnp.asarray(-jnp.inf, dt)
    zero = jnp.zeros((), dt)

    def step(carry, j):
        m, l, acc = carry
        s = qs @ kb[j].T  # (T, block): the only scores held at once
        keep = _block_mask(j, mb, T, S, block, is_causal)
        s = jnp.where(keep, s, neg)
        m_new = jnp.maximum(m, jnp.max(s, axis=1))
        m_safe = jnp.where(jnp.isfinite(m_new), m_new, zero)
        p = jnp.where(keep, jnp.exp(s - m_safe[:, None]), zero)
        corr = jnp.exp(m - m_safe)
        l = corr * l + jnp.sum(p, axis=1)
        acc = corr[:, None] * acc + p @ vb[j]
        return (m_new, l, acc), None

    init = (jnp.full((T,), neg), jnp.zeros((T,), dt), jnp.zeros((T, v.shape[1]), dt))
    (m, l, acc), _ = lax.scan(step, init, jnp.arange(nb))
    ok = l != 0  # l = 0: every key masked (the empty sum); a NaN l passes through as NaN
    out = jnp.where(ok[:, None], acc / jnp.where(ok, l, jnp.ones((), dt))[:, None], zero)
    lse = jnp.where(ok, jnp.where(jnp.isfinite(m), m, zero) + jnp.log(jnp.where(ok, l, jnp.ones((), dt))), jnp.inf)
    return out, lse


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _flash(q, k, v, mask, is_causal, block):
    return _flash_forward(q, k, v, mask, is_causal, block)[0]


def _flash_fwd(q, k, v, mask, is_causal, block):
    out, lse = _flash_forward(q, k, v, mask, is_causal, block)
    return out, (q, k, v, mask, out, lse)


def _flash_bwd(is_causal, block, res, g):
    q, k, v, mask, out, lse = res
    T, d = q.shape
    S = k.shape[0]
    dt = q.dtype
    scale = jnp.asarray(1.0 / math.sqrt(d), dt)
    qs = q * scale
    kb, vb, mb, nb = _blocks(k, v, mask, block)
    g = g.astype(dt)
    D = jnp.sum(g * out, axis=1)  # rowsum(dO * O) = rowsum(P * dP), without the T x S product
    zero = jnp.zeros((), dt)

    def step(dq, j):
        s = qs @ kb[j].T
        keep = _block_mask(j, mb, T, S, block, is_causal)
        p = jnp.where(keep, jnp.exp(s - lse[:, None]), zero)  # the forward weights, recomputed
        dv = p.T @ g
        dp = g @ vb[j].T
        ds = p * (dp - D[:, None])
        dq = dq + ds @ kb[j]
        dk = ds.T @ qs
        return dq, (dk, dv)

    dq, (dk, dv) = lax.scan(step, jnp.zeros((T, d), dt), jnp.arange(nb))
    dk = dk.reshape(nb * block, d)[:S]
    dv = dv.reshape(nb * block, v.shape[1])[:S]
    return dq * scale, dk, dv, None


_flash.defvjp(_flash_fwd, _flash_bwd)


def _sdpa_blocked(q, k, v, mask, is_causal, block=_BLOCK):
    S = k.shape[0]
    nb = -(-S // max(1, min(block, S)))
    return _flash(q, k, v, mask, is_causal, -(-S // nb))  # nb equal blocks: the least padding


_SDPA = {"reference": _sdpa_reference, "blocked": _sdpa_blocked, "xla": _sdpa_xla}


def _sdpa(q, k, v, mask, is_causal, implementation):
    """Unchecked kernel shared by the public attention functions."""
    dtype = jnp.result_type(q, k, v)
    # bfloat16/float16: the scores, the softmax and the running sums in float32, the output cast back
    work = jnp.float32 if jnp.finfo(dtype).bits < 32 and implementation != "xla" else dtype
    q, k, v = q.astype(work), k.astype(work), v.astype(work)
    return _SDPA[implementation](q, k, v, mask, is_causal).astype(dtype)


def _implementation(func, implementation, T, S):
    if implementation is None:
        return default_attention_implementation(T=T, S=S)
    checks.check_choice(func, "implementation", implementation, list(ATTENTION_IMPLEMENTATIONS))
    return implementation


def _check_causal(func, is_causal):
    if not isinstance(is_causal, bool):
        checks.fail(func, "is_causal", "a bool", type(is_causal).__name__, exc=TypeError)


def _sdpa_args(func, q, k, v, mask, is_causal, implementation):
    q = one_example("float[T d]")(func, "q", q, {})
    k = one_example("float[S e]")(func, "k", k, {})
    v = one_example("float[R d_v]")(func, "v", v, {})
    _same_width(func, q, k)
    if v.shape[0] != k.shape[0]:
        checks.fail(
            func,
            "v",
            f"one value per key, S = {k.shape[0]} rows (k of shape {tuple(k.shape)})",
            Text(f"shape {tuple(v.shape)}"),
        )
    mask = _mask_arg(func, mask, q.shape[0], k.shape[0])
    _check_causal(func, is_causal)
    return q, k, v, mask, _implementation(func, implementation, q.shape[0], k.shape[0])


def scaled_dot_product_attention(q, k, v, *, mask=None, is_causal: bool = False, implementation=None) -> jax.Array:
    r"""Scaled dot-product attention, $U = \operatorname{softmax}(Q K^\top / \sqrt d)\, V$ row by row.

    Row $t$ of the output is $u^{\langle t\rangle} = \sum_\tau \alpha^{\langle t\rangle}_\tau v^{\langle\tau\rangle}$
    with $\alpha^{\langle t\rangle} = \operatorname{softmax}_\tau(q_t^\top k_\tau / \sqrt d)$ over the keys
    the mask allows ((7.20)-(7.21) with the scaled inner-product score); ``is_causal`` adds the mask
    of (7.27) (:func:`causal_mask`, first query aligned with the first key). A query whose keys are
    all masked gets the zero vector (the empty weighted sum), with a zero gradient, on every path.

    Args:
      q: queries, shape ``(T, d)`` (ONE example; batch or heads with ``jax.vmap``).
      k: keys, shape ``(S, d)``.
      v: values, shape ``(S, d_v)``.
      mask: optional boolean ``(T, S)``, ``True`` = query $t$ may attend to key $\tau$.
      is_causal: also mask the keys after each query.
      implementation: ``"reference"``, ``"blocked"`` (linear memory; reverse-mode derivatives only,
        a ``jax.custom_vjp``), ``"xla"``; ``None`` picks
        :func:`default_attention_implementation` (on CPU the blocked path once $T S > 2^{19}$:
        pass ``"reference"`` for ``jax.jvp``/``jax.jacfwd`` through long sequences).

    Returns:
      $U$, shape ``(T, d_v)``, in the promoted dtype of the inputs.

    Raises:
      ValueError: if an input is not a matrix (a batch: use ``jax.vmap``), ``q`` and ``k`` have
        different widths or ``v`` a number of rows other than ``S`` (both shapes named), ``mask``
        is not ``(T, S)``, or ``implementation`` is unknown.
      TypeError: if an input is not floating, ``mask`` not boolean or ``is_causal`` not a bool.

    References:
      [MEDL] Ch. 7, Sec. 7.4-7.5, (7.20), (7.21), (7.27); Vaswani et al. (2017); Dao et al. (2022),
      FlashAttention (the blocked path).
    """
    func = checks.public_name(scaled_dot_product_attention)
    q, k, v, mask, impl = _sdpa_args(func, q, k, v, mask, is_causal, implementation)
    return _sdpa(q, k, v, mask, is_causal, impl)


def attention_weights(q, k, *, mask=None, is_causal: bool = False) -> jax.Array:
    r"""The weights $\operatorname{softmax}(Q K^\top / \sqrt d)$ of scaled dot-product attention (rows sum to 1).

    Args:
      q: queries, shape ``(T, d)``.
      k: keys, shape ``(S, d)``.
      mask: optional boolean ``(T, S)``.
      is_causal: also mask the keys after each query.

    Returns:
      $\alpha$, shape ``(T, S)`` (a fully masked row is zeros).

    Raises:
      ValueError: if the widths differ (both shapes named) or ``mask`` is not ``(T, S)``.

    References:
      [MEDL] Ch. 7, Sec. 7.4, (7.20).
    """
    func = checks.public_name(attention_weights)
    q = one_example("float[T d]")(func, "q", q, {})
    k = one_example("float[S e]")(func, "k", k, {})
    _same_width(func, q, k)
    mask = _mask_arg(func, mask, q.shape[0], k.shape[0])
    _check_causal(func, is_causal)
    dt = jnp.result_type(q, k)
    q, k = q.astype(dt), k.astype(dt)
    if is_causal:
        c = causal_mask(q.shape[0], k.shape[0])
        mask = c if mask is None else mask & c
    return _masked_softmax((q @ k.T) / jnp.sqrt(jnp.asarray(q.shape[1], dt)), mask)


# ------------------------------------------------------------------ multi-head attention


class MultiHeadParams(NamedTuple):
    r"""Parameters of multi-head attention (7.25, 7.26), stacked over the $H$ heads on axis 0.

    Attributes:
      W_q: $W_q^h$, shape ``(H, m, p)``.
      W_k: $W_k^h$, shape ``(H, m, p)``.
      W_v: $W_v^h$, shape ``(H, m_v, p)``.
      W_c: $W_c^h$, shape ``(H, p, m_v)``: head $h$'s share of the output, $\sum_h W_c^h u^h$.
      b_q: query bias, shape ``(H, m)``, or ``None`` (the book's form has no biases).
      b_k: key bias, shape ``(H, m)``, or ``None``.
      b_v: value bias, shape ``(H, m_v)``, or ``None``.
      b_c: output bias, shape ``(p,)``, or ``None``.
    """

    W_q: jax.Array
    W_k: jax.Array
    W_v: jax.Array
    W_c: jax.Array
    b_q: jax.Array | None = None
    b_k: jax.Array | None = None
    b_v: jax.Array | None = None
    b_c: jax.Array | None = None


_MHA_FIELDS = checks.fields(
    W_q="float[H m p]",
    W_k="float[H m p]",
    W_v="float[H m_v p]",
    W_c="float[H p m_v]",
    b_q="float[H m]?",
    b_k="float[H m]?",
    b_v="float[H m_v]?",
    b_c="float[p]?",
)


def init_multi_head_attention(
    key: jax.Array,
    p: int,
    num_heads: int,
    *,
    m: int | None = None,
    m_v: int | None = None,
    bias: bool = False,
    init="glorot_uniform",
    dtype=None,
) -> MultiHeadParams:
    r"""Initialise multi-head attention with $H$ heads on width $p$.

    By default $m = m_v = p / H$ (so the parameter count $H(2mp + 2m_v p) = 4p^2$ matches one
    $p \times p$ matrix for each of $W_Q, W_K, W_V, W_O$). Each stacked matrix is drawn as the
    corresponding unsplit matrix (``W_q`` as one ``(H m, p)`` matrix, ``W_c`` as one
    ``(p, H m_v)`` matrix), as :class:`torch.nn.MultiheadAttention` draws its projections.

    Args:
      key: a typed PRNG key.
      p: model width (positive int).
      num_heads: $H$ (positive int); must divide ``p`` unless ``m`` and ``m_v`` are given.
      m: query/key width per head (default ``p // num_heads``).
      m_v: value width per head (default ``m``).
      bias: add the biases ``b_q, b_k, b_v, b_c`` (zeros), as PyTorch does.
      init: initialiser name or callable.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      :class:`MultiHeadParams`.

    Raises:
      ValueError: if ``num_heads`` does not divide ``p`` (both named) and ``m`` is not given, or a
        width is not a positive int.
      TypeError: if ``key`` is not a typed key or ``bias`` not a bool.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.25)-(7.26) and (7.32); Vaswani et al. (2017), Sec. 3.2.2.
    """
    func = checks.public_name(init_multi_head_attention)
    key = checks.conform(func, "key", key, "key[]")
    p = positive_int(func, "p", p, {})
    H = positive_int(func, "num_heads", num_heads, {})
    if m is None:
        if p % H:
            checks.fail(func, "num_heads", f"a divisor of the width p = {p} (or give the head width m)", H)
        m = p // H
    m = positive_int(func, "m", m, {})
    m_v = m if m_v is None else positive_int(func, "m_v", m_v, {})
    if not isinstance(bias, bool):
        checks.fail(func, "bias", "a bool", type(bias).__name__, exc=TypeError)
    draw = resolve_initialiser(func, init)
    kq, kk, kv, kc = jax.random.split(key, 4)
    W_q = draw(kq, (H * m, p), dtype).reshape(H, m, p)
    dt = W_q.dtype
    W_k = draw(kk, (H * m, p), dt).reshape(H, m, p)
    W_v = draw(kv, (H * m_v, p), dt).reshape(H, m_v, p)
    W_c = draw(kc, (p, H * m_v), dt).reshape(p, H, m_v).transpose(1, 0, 2)
    if not bias:
        return MultiHeadParams(W_q, W_k, W_v, W_c)
    z = functools.partial(jnp.zeros, dtype=dt)
    return MultiHeadParams(W_q, W_k, W_v, W_c, z((H, m)), z((H, m)), z((H, m_v)), z((p,)))


def multi_head_param_count(p: int, num_heads: int, *, m: int | None = None, m_v: int | None = None, bias=False) -> int:
    r"""The number of parameters of multi-head attention, $H(2mp + 2m_v p)$ (plus biases).

    Args:
      p: model width.
      num_heads: $H$.
      m: query/key width per head (default ``p // num_heads``).
      m_v: value width per head (default ``m``).
      bias: count the biases $H(2m + m_v) + p$.

    Returns:
      The count (an int).

    Raises:
      ValueError: as :func:`init_multi_head_attention`.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.32).
    """
    func = checks.public_name(multi_head_param_count)
    p = positive_int(func, "p", p, {})
    H = positive_int(func, "num_heads", num_heads, {})
    if m is None:
        if p % H:
            checks.fail(func, "num_heads", f"a divisor of the width p = {p} (or give the head width m)", H)
        m = p // H
    m_v = m if m_v is None else m_v
    return H * (2 * m * p + 2 * m_v * p) + (H * (2 * m + m_v) + p if bias else 0)


def _project(params, x_q, x_kv):
    """Unchecked kernel: Q (H, T, m), K (H, S, m), V (H, S, m_v)."""

    def proj(W, b, x):
        y = jnp.einsum("hmp,tp->htm", W, x)
        return y if b is None else y + b[:, None, :]

    return proj(params.W_q, params.b_q, x_q), proj(params.W_k, params.b_k, x_kv), proj(params.W_v, params.b_v, x_kv)


def _output(params, U):
    """Unchecked kernel: sum_h W_c^h u^h for every t, (T, p)."""
    y = jnp.einsum("hpv,htv->tp", params.W_c, U)
    return y if params.b_c is None else y + params.b_c[None, :]


def _mha_args(func, params, x_q, x_kv):
    dims: dict = {}
    params = _MHA_FIELDS.conform(func, "params", params, dims)
    x_q = one_example("float[T p]")(func, "x_q", x_q, dims)
    x_kv = x_q if x_kv is None else one_example("float[S p]")(func, "x_kv", x_kv, dims)
    dt = jnp.result_type(*[a for a in params if a is not None], x_q, x_kv)
    params = MultiHeadParams(*[None if a is None else a.astype(dt) for a in params])
    return params, x_q.astype(dt), x_kv.astype(dt)


def multi_head_project(params: MultiHeadParams, x_q, x_kv=None):
    r"""The per-head projections of multi-head attention: $q^{h,\langle t\rangle} = W_q^h x_q^{\langle t\rangle}$, etc.

    With biases, $W_q^h x + b_q^h$ and likewise for keys and values.

    The first half of :func:`multi_head_attention`; a decoder with a key-value cache projects the
    new positions with it and appends to the cached ``K`` and ``V``.

    Args:
      params: :class:`MultiHeadParams`.
      x_q: the sequence the queries come from, shape ``(T, p)`` (one example).
      x_kv: the sequence the keys and values come from, shape ``(S, p)``; default ``x_q``
        (self-attention).

    Returns:
      ``(Q, K, V)`` of shapes ``(H, T, m)``, ``(H, S, m)``, ``(H, S, m_v)``.

    Raises:
      ValueError: if a width disagrees with the parameters (both shapes named) or an input is a
        batch (use ``jax.vmap``).

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.24)-(7.25).
    """
    func = checks.public_name(multi_head_project)
    params, x_q, x_kv = _mha_args(func, params, x_q, x_kv)
    return _project(params, x_q, x_kv)


def multi_head_output(params: MultiHeadParams, U) -> jax.Array:
    r"""The output map of multi-head attention, $u^{\langle t\rangle} = \sum_h W_c^h u^{h,\langle t\rangle}$ (+ $b_c$).

    Equal to concatenating the heads, $[u^{1}; \dots; u^{H}]$, and multiplying by
    $W_O = [W_c^1 \cdots W_c^H]$ of shape ``(p, H m_v)``.

    Args:
      params: :class:`MultiHeadParams`.
      U: the heads' attention outputs, shape ``(H, T, m_v)``.

    Returns:
      Shape ``(T, p)``.

    Raises:
      ValueError: if ``U``'s shape disagrees with ``params.W_c`` (both named).

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.26).
    """
    func = checks.public_name(multi_head_output)
    dims: dict = {}
    params = _MHA_FIELDS.conform(func, "params", params, dims)
    U = checks.conform(func, "U", U, "float[H T m_v]", dims)
    dt = jnp.result_type(*[a for a in params if a is not None], U)
    params = MultiHeadParams(*[None if a is None else a.astype(dt) for a in params])
    return _output(params, U.astype(dt))


def multi_head_attention(
    params: MultiHeadParams, x_q, x_kv=None, *, mask=None, is_causal: bool = False, implementation=None
) -> jax.Array:
    r"""Multi-head attention (7.25, 7.26), $u^{\langle t\rangle} = \sum_h W_c^h u^{h,\langle t\rangle}$.

    Head $h$ attends with queries $W_q^h x_q$, keys $W_k^h x_{kv}$ and values $W_v^h x_{kv}$ by
    scaled dot-product attention (scale $1/\sqrt m$), and its output $u^{h}$ is mapped back to
    width $p$ by $W_c^h$; the heads' contributions are summed. The sum equals the concatenation of
    the heads times $W_O = [W_c^1 \cdots W_c^H]$. For non-causal attention the softmax normalises
    over all keys (the draft's denominator $\sum_{t' \le t}$ is the causal case).

    Args:
      params: :class:`MultiHeadParams` (see :func:`init_multi_head_attention`).
      x_q: ONE sequence, shape ``(T, p)``: the queries' source.
      x_kv: keys' and values' source, shape ``(S, p)``; ``None`` = ``x_q`` (self-attention).
      mask: optional boolean ``(T, S)`` shared by every head.
      is_causal: the causal mask of (7.27).
      implementation: as :func:`scaled_dot_product_attention`.

    Returns:
      Shape ``(T, p)``.

    Raises:
      ValueError: if a width disagrees with the parameters (both shapes named), ``mask`` is not
        ``(T, S)``, or an input is a batch (use ``jax.vmap``).

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.25)-(7.27); Vaswani et al. (2017), Sec. 3.2.2.
    """
    func = checks.public_name(multi_head_attention)
    params, x_q, x_kv = _mha_args(func, params, x_q, x_kv)
    mask = _mask_arg(func, mask, x_q.shape[0], x_kv.shape[0])
    _check_causal(func, is_causal)
    impl = _implementation(func, implementation, x_q.shape[0], x_kv.shape[0])
    Q, K, V = _project(params, x_q, x_kv)
    U = jax.vmap(lambda a, b, c: _sdpa(a, b, c, mask, is_causal, impl))(Q, K, V)
    return _output(params, U)
