r"""The dense (fully connected) layer in the book's column orientation.

One layer computes $z = W u + b$ with $W \in \mathbb{R}^{N_\ell \times N_{\ell-1}}$ and
$b \in \mathbb{R}^{N_\ell}$ ([MEDL] Sec. 5.1); the activation is applied by the caller
(``mathdl.models.mlp``) so that the affine map and $S^{[\ell]}$ stay separate, as in the book's
$z^{[\ell]}$ / $a^{[\ell]}$ notation.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.layers._init import resolve_initialiser
from mathdl.layers._specs import one_example, positive_int

__all__ = ["DenseParams", "dense", "init_dense"]


class DenseParams(NamedTuple):
    """Parameters of one dense layer.

    Attributes:
      W: weights, shape ``(N_out, N_in)`` (the book's $W^{[\\ell]}$, column orientation).
      b: bias, shape ``(N_out,)``.
    """

    W: jax.Array
    b: jax.Array


@checks.inputs(key="key[]", d_in=positive_int, d_out=positive_int)
def init_dense(key: jax.Array, d_in: int, d_out: int, *, init="he_normal", dtype=None) -> DenseParams:
    r"""Initialise a dense layer: $W \sim$ ``init``, $b = 0$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      d_in: input width $N_{\ell-1}$ (positive int).
      d_out: output width $N_\ell$ (positive int).
      init: initialiser name (``"he_normal"``, ``"he_uniform"``, ``"glorot_normal"``,
        ``"glorot_uniform"``, ``"lecun_normal"``, ``"lecun_uniform"``) or a callable
        ``(key, shape, dtype) -> array``.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      ``DenseParams(W, b)`` with ``W`` of shape ``(d_out, d_in)`` and ``b`` of shape ``(d_out,)``.

    Raises:
      ValueError: if a width is not a positive int or ``init`` is an unknown name.
      TypeError: if ``key`` is not a typed PRNG key, ``init`` is neither a name nor callable, or
        ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1 (layer shapes) and Sec. 5.5 (initialisation).
    """
    W = resolve_initialiser(checks.public_name(init_dense), init)(key, (d_out, d_in), dtype)
    b = jnp.zeros((d_out,), W.dtype)
    return DenseParams(W, b)


@checks.inputs(params=checks.fields(W="float[N_out N_in]", b="float[N_out]"), x=one_example("float[N_in]"))
def dense(params: DenseParams, x: jax.Array) -> jax.Array:
    r"""Affine map of one dense layer, $z = W x + b$ (a one-example function).

    Args:
      params: ``DenseParams(W, b)`` with ``W`` of shape ``(N_out, N_in)``.
      x: ONE example, shape ``(N_in,)`` (a list is converted); batch with
        ``jax.vmap(dense, in_axes=(None, 0))``.

    Returns:
      $z$, shape ``(N_out,)``.

    Raises:
      ValueError: if ``x`` is not one example of rank 1 (a batch: the message says to use
        ``jax.vmap``), its width differs from ``W.shape[1]``, or ``b``'s shape is not ``(W.shape[0],)``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1: $z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}$.
    """
    return params.W @ x + params.b
