r"""An embedding network for Siamese training: one CNN applied to every input, sharing its weights.

A Siamese network ([MEDL] Fig. 6.17) runs the same $f_\theta$ on two (or three) inputs and
compares the embeddings, $D(x, x') = \lVert f_\theta(x) - f_\theta(x') \rVert_2$; training with
``mathdl.losses.contrastive_loss``, ``triplet_loss`` or ``batch_hard_triplet_loss`` makes $D$
small within a class and large across classes. $f_\theta$ here is the conv stack of the
localisation head (3x3 conv, ReLU, 2x2 max pool per block), flattened, then a dense map to
$\mathbb{R}^d$ and, by default, a projection onto the unit sphere (FaceNet's
$\lVert f(x) \rVert_2 = 1$).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.layers import DenseParams, dense, init_dense
from mathdl.models._image import conv_stack, init_conv_stack, one_image, positive_int, positive_ints

__all__ = ["EmbeddingParams", "embedding_net", "init_embedding_net"]


class EmbeddingParams(NamedTuple):
    """Parameters of :func:`embedding_net`.

    Attributes:
      convs: the conv blocks, a tuple of ``Conv2dParams``.
      out: ``DenseParams`` from the flattened features to the embedding dimension $d$.
    """

    convs: tuple
    out: DenseParams


def init_embedding_net(
    key: jax.Array, input_shape, embedding_dim: int, *, widths=(8, 16), dtype=None
) -> EmbeddingParams:
    r"""Initialise the embedding CNN for images of shape ``input_shape``.

    Args:
      key: a typed PRNG key.
      input_shape: ``(H, W, C)`` of one image, $H$ and $W$ divisible by $2^L$, $L$ = ``len(widths)``.
      embedding_dim: $d$, the embedding dimension.
      widths: output channels of the conv blocks.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`EmbeddingParams`.

    Raises:
      ValueError: if a size is not a positive int or $H$, $W$ are not divisible by $2^L$.
      TypeError: if ``input_shape`` or ``widths`` is not a sequence.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (Siamese networks); Bromley et al. (1993), "Signature verification
      using a Siamese time delay neural network".
    """
    func = checks.public_name(init_embedding_net)
    shape = positive_ints(func, "input_shape", input_shape, at_least=3)
    if len(shape) != 3:
        checks.fail(func, "input_shape", "(H, W, C) of one image", shape)
    H, W, C = shape
    widths = positive_ints(func, "widths", widths)
    d = positive_int(func, "embedding_dim", embedding_dim)
    f = 2 ** len(widths)
    if H % f or W % f:
        checks.fail(func, "input_shape", f"H and W divisible by 2^L = {f} (L = {len(widths)} pooling blocks)", shape)
    k_conv, k_out = jax.random.split(key)
    convs = init_conv_stack(k_conv, C, widths, dtype=dtype)
    out = init_dense(k_out, (H // f) * (W // f) * widths[-1], d, init="glorot_normal", dtype=dtype)
    return EmbeddingParams(convs, out)


@checks.inputs(x=one_image)
def embedding_net(params: EmbeddingParams, x: jax.Array, *, normalize: bool = True) -> jax.Array:
    r"""Embed one image: $f_\theta(x) = g / \lVert g \rVert_2$ with $g = W \operatorname{vec}(\mathrm{CNN}(x)) + b$.

    Args:
      params: :class:`EmbeddingParams` from :func:`init_embedding_net`.
      x: ONE image, shape ``(H, W, C)``. Use ``jax.vmap`` for a batch (and for the two or three
        branches of a Siamese network: the weights are shared by construction).
      normalize: project onto the unit sphere (default) or return $g$.

    Returns:
      The embedding, shape ``(d,)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image of the parameters' shape.
      TypeError: if ``x`` is not floating or ``normalize`` is not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.6, Fig. 6.17; Schroff et al. (2015), "FaceNet" (unit-norm embeddings).
    """
    func = checks.public_name(embedding_net)
    if not isinstance(normalize, bool):
        checks.fail(func, "normalize", "a bool", checks.Text(type(normalize).__name__), exc=TypeError)
    feats = conv_stack(params.convs, x).ravel()
    if feats.shape[0] != params.out.W.shape[1]:
        checks.fail(func, "x", "an image of the shape the parameters were built for", checks.Text(f"shape {x.shape}"))
    g = dense(params.out, feats)
    if not normalize:
        return g
    n2 = jnp.sum(g * g)
    return g / jnp.sqrt(jnp.where(n2 > 0, n2, jnp.ones_like(n2)))
