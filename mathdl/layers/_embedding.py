r"""Token encodings ([MEDL] Ch. 7, Sec. 7.1): one-hot vectors, learned embeddings, cosine similarity.

A lexicon of $d_V$ tokens is numbered $0, \dots, d_V - 1$. The one-hot vector of token $k$ is
$e_k \in \{0, 1\}^{d_V}$. An embedding of dimension $p \ll d_V$ stores one row per token in a
matrix $E \in \mathbb{R}^{d_V \times p}$; the embedding of token $k$ is row $k$,

$$\tilde x = E^\top e_k = E_{k,:},$$

so a lookup is the product of the transposed matrix with the one-hot vector, done as an index (no
$d_V$-wide product). The book's column form writes the same map as a $p \times d_V$ matrix times
$e_k$; ``E`` here is its transpose, one row per token, as PyTorch's ``nn.Embedding`` and Flax's
``nnx.Embed`` store it.

A token id outside $[0, d_V)$ is an error, never a silent answer: eagerly a ``ValueError`` names
the first bad id and $d_V$; under ``jax.jit`` the output is NaN (``jax.nn.one_hot`` and a plain
``E[ids]`` would return a zero row or a clamped row, both finite and wrong).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.layers._specs import one_example, positive_int

__all__ = ["EmbeddingParams", "cosine_similarity", "embedding", "init_embedding", "one_hot"]


class EmbeddingParams(NamedTuple):
    """Parameters of an embedding layer.

    Attributes:
      E: the embedding matrix, shape ``(d_V, p)``: row ``k`` is the embedding of token ``k``.
    """

    E: jax.Array


def _float_dtype(dtype):
    return jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)


def _check_ids(func: str, tokens: jax.Array, d_V: int, out):
    ok = (tokens >= 0) & (tokens < d_V)
    return checks.ensure(
        ok, out, func, "tokens", f"token ids in [0, {d_V}) (d_V = {d_V})", checks.first_bad(tokens, ok)
    )


@checks.inputs(key="key[]", d_V=positive_int, p=positive_int)
def init_embedding(key: jax.Array, d_V: int, p: int, *, scale: float | None = None, dtype=None) -> EmbeddingParams:
    r"""Initialise an embedding matrix with independent normal entries, $E_{kj} \sim N(0, s^2)$.

    The default $s = 1/\sqrt{p}$ gives each embedding a squared norm of about 1 (Flax's default
    for ``nnx.Embed``); PyTorch's ``nn.Embedding`` uses $s = 1$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      d_V: lexicon size $d_V$ (positive int).
      p: embedding dimension $p$ (positive int).
      scale: the standard deviation $s$ (default $1/\sqrt{p}$), a positive number.
      dtype: floating dtype of ``E`` (default: JAX's default float).

    Returns:
      ``EmbeddingParams(E)`` with ``E`` of shape ``(d_V, p)``.

    Raises:
      ValueError: if ``d_V`` or ``p`` is not a positive int, or ``scale`` is not positive.
      TypeError: if ``key`` is not a typed PRNG key.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (word embeddings of dimension $p \ll d_V$).
    """
    func = checks.public_name(init_embedding)
    s = 1.0 / p**0.5 if scale is None else scale
    checks.check_positive(func, "scale", s)
    dtype = _float_dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", checks.Text(str(dtype)), exc=TypeError)
    return EmbeddingParams(jnp.asarray(s, dtype) * jax.random.normal(key, (d_V, p), dtype))


@checks.inputs(params=checks.fields(E="float[d_V p]"), tokens=one_example("int[T]"))
def embedding(params: EmbeddingParams, tokens: jax.Array) -> jax.Array:
    r"""Embeddings of one sequence of token ids, $\tilde x^{\langle t\rangle} = E^\top e_{x_t}$ (one example).

    Equal to ``one_hot(tokens, d_V) @ E`` (the tests pin it), computed as a row lookup.

    Args:
      params: ``EmbeddingParams(E)`` with ``E`` of shape ``(d_V, p)``.
      tokens: ONE sequence of integer token ids, shape ``(T,)``, each in $[0, d_V)$; batch with
        ``jax.vmap(embedding, in_axes=(None, 0))``.

    Returns:
      The embeddings, shape ``(T, p)``, in ``E``'s dtype. Under ``jax.jit`` an id outside
      $[0, d_V)$ makes the whole output NaN.

    Raises:
      ValueError: eagerly, if an id is outside $[0, d_V)$ (the message names the first such id
        and $d_V$); if ``tokens`` is not one sequence of rank 1 (a batch: the message says to use
        ``jax.vmap``).
      TypeError: if ``tokens`` is not an integer array or ``E`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (one-hot encoding and embeddings). Oracle in tests:
      ``torch.nn.functional.embedding``.
    """
    E = params.E
    d_V = E.shape[0]
    rows = jnp.take(E, jnp.clip(tokens, 0, d_V - 1), axis=0)
    return _check_ids(checks.public_name(embedding), tokens, d_V, rows)


@checks.inputs(tokens="int[*batch]", d_V=positive_int)
def one_hot(tokens: jax.Array, d_V: int, *, dtype=None) -> jax.Array:
    r"""One-hot vectors $e_{x} \in \{0,1\}^{d_V}$ of token ids (a broadcasting function).

    $[e_x]_k = 1$ if $k = x$ and 0 otherwise. Unlike ``jax.nn.one_hot``, which returns a row of
    zeros for an id outside $[0, d_V)$ (a finite, wrong answer), an id outside the lexicon is an
    error eagerly and NaN under ``jax.jit``.

    Args:
      tokens: integer token ids, shape ``(*batch,)``, each in $[0, d_V)$.
      d_V: lexicon size $d_V$ (positive int).
      dtype: floating dtype of the result (default: JAX's default float).

    Returns:
      The one-hot vectors, shape ``(*batch, d_V)``.

    Raises:
      ValueError: eagerly, if an id is outside $[0, d_V)$ (the first bad id and $d_V$ are named)
        or ``d_V`` is not a positive int.
      TypeError: if ``tokens`` is not an integer array.

    References:
      [MEDL] Ch. 7, Sec. 7.1 (one-hot encoding over a lexicon of size $d_V$).
    """
    dtype = _float_dtype(dtype)
    out = jax.nn.one_hot(tokens, d_V, dtype=dtype)  # zeros for a bad id: poisoned below
    return _check_ids(checks.public_name(one_hot), tokens, d_V, out)


@checks.inputs(u="float[*batch p]", v="float[*batch2 p]")
def cosine_similarity(u: jax.Array, v: jax.Array) -> jax.Array:
    r"""Cosine of the angle between vectors, $\cos\angle(u, v) = u^\top v / (\|u\|\,\|v\|)$ (broadcasting).

    The leading axes of ``u`` and ``v`` broadcast against each other (one word against a whole
    lexicon: ``u`` of shape ``(p,)``, ``v`` of shape ``(d_V, p)``). The value lies in $[-1, 1]$
    up to rounding (it is not clipped).

    Defined value at a zero vector: when $u = 0$ or $v = 0$ the angle is undefined; the result is
    0 (the inner product, which is 0, with the denominator treated as 1), with a zero gradient
    with respect to the zero vector, never NaN.

    Args:
      u: vectors, shape ``(*batch, p)``, floating.
      v: vectors, shape ``(*batch2, p)`` broadcastable against ``u``'s leading axes, floating
        (same dtype as ``u``).

    Returns:
      The cosines, shape ``broadcast(*batch, *batch2)``.

    Raises:
      ValueError: if the last axes differ or the leading axes do not broadcast.
      TypeError: if ``u`` or ``v`` is not floating, or their dtypes differ.

    References:
      [MEDL] Appendix A, Sec. A.1, eq. (A.1); Ch. 7, Sec. 7.1 (similar words have similar
      embeddings). Oracle in tests: ``torch.nn.functional.cosine_similarity`` (which clamps the
      norms with an $\epsilon$ instead).
    """
    func = checks.public_name(cosine_similarity)
    if u.dtype != v.dtype:
        checks.fail(func, "v", f"the dtype of `u` ({u.dtype})", checks.Text(f"dtype {v.dtype}"), exc=TypeError)
    try:
        batch = jnp.broadcast_shapes(u.shape[:-1], v.shape[:-1])
    except ValueError:
        want = f"leading axes broadcastable against `u`'s {u.shape[:-1]}"
        checks.fail(func, "v", want, checks.Text(f"shape {v.shape}"))
    u = jnp.broadcast_to(u, (*batch, u.shape[-1]))
    v = jnp.broadcast_to(v, (*batch, v.shape[-1]))
    uu, vv, uv = (jnp.sum(a * b, axis=-1) for a, b in ((u, u), (v, v), (u, v)))
    nonzero = (uu > 0) & (vv > 0)
    # the double where keeps the gradient finite at a zero vector (sqrt'(0) is infinite)
    denom = jnp.sqrt(jnp.where(nonzero, uu, 1.0)) * jnp.sqrt(jnp.where(nonzero, vv, 1.0))
    return jnp.where(nonzero, uv / denom, jnp.zeros_like(uv))
