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

__all__ = ["DenseParams", "dense", "init_dense"]


class DenseParams(NamedTuple):
    """Parameters of one dense layer.

    Attributes:
      W: weights, shape ``(N_out, N_in)`` (the book's $W^{[\\ell]}$, column orientation).
      b: bias, shape ``(N_out,)``.
    """

    W: jax.Array
    b: jax.Array


def init_dense(key: jax.Array, d_in: int, d_out: int, *, init="he_normal", dtype=None) -> DenseParams:
    r"""Initialise a dense layer: $W \sim$ ``init``, $b = 0$.

    Args:
      key: a typed PRNG key.
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
      TypeError: if ``init`` is neither a name nor callable, or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1 (layer shapes) and Sec. 5.5 (initialisation).
    """
    func = "layers.init_dense"
    for name, value in (("d_in", d_in), ("d_out", d_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    initialiser = resolve_initialiser(func, init)
    W = initialiser(key, (d_out, d_in), dtype)
    b = jnp.zeros((d_out,), W.dtype)
    return DenseParams(W, b)


@checks.inputs(params=checks.fields(W="float[N_out N_in]", b="float[N_out]"), x="float[N_in]")
def dense(params: DenseParams, x: jax.Array) -> jax.Array:
    r"""Affine map of one dense layer, $z = W x + b$.

    Args:
      params: ``DenseParams(W, b)`` with ``W`` of shape ``(N_out, N_in)``.
      x: one example, shape ``(N_in,)``. Use ``jax.vmap`` for batches.

    Returns:
      $z$, shape ``(N_out,)``.

    Raises:
      ValueError: if ``x`` is not rank 1, its width differs from ``W.shape[1]``, or ``b``'s
        shape is not ``(W.shape[0],)``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1: $z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}$.
    """
    return params.W @ x + params.b
