r"""Flax NNX modules for the transformer blocks and the causal LM (layer 3, no mathematics here).

Each module keeps the pure parameter NamedTuple of :mod:`mathdl.models` with every array leaf an
``nnx.Param`` and delegates to the pure function (:func:`~mathdl.models.encoder_block`,
:func:`~mathdl.models.decoder_block`, :func:`~mathdl.models.transformer_lm`); the tests pin equal
outputs. Inputs are one sequence (``(T, p)``, token ids ``(T,)``) or any leading batch axes: the
one-example function is ``jax.vmap``-ed over them. ``.params`` gives the pure parameters back, so
:func:`mathdl.models.generate` decodes a trained :class:`TransformerLM`.
"""

import jax
from flax import nnx

from mathdl import models

__all__ = ["TransformerDecoderBlock", "TransformerEncoderBlock", "TransformerLM"]


def _is_var(x) -> bool:
    return isinstance(x, nnx.Variable)


def _batched(fn, example_ndim: int, *xs):
    """Apply a one-example ``fn`` to arrays of shape ``(*batch, *example)`` by nested vmaps (shared batch)."""
    for _ in range(max(xs[0].ndim - example_ndim, 0)):
        fn = jax.vmap(fn)
    return fn(*xs)


class _Pure(nnx.Module):
    def _hold(self, params) -> None:
        self.tree = nnx.data(jax.tree.map(nnx.Param, params))

    @property
    def params(self):
        """The pure parameter NamedTuple (``mathdl.models``) of this module."""
        return jax.tree.map(lambda v: v[...], self.tree, is_leaf=_is_var)


class TransformerEncoderBlock(_Pure):
    r"""A transformer encoder block; delegates to :func:`mathdl.models.encoder_block`.

    Called on ``x`` of shape ``(T, p)`` or ``(*batch, T, p)``.

    Args:
      p: model width.
      num_heads: $H$.
      n_hidden: feed-forward width $N_1$.
      norm: ``"post"`` (the book) or ``"pre"``.
      is_causal: attend only to earlier positions (a decoder-only LM's block).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.5.
    """

    def __init__(
        self, p: int, num_heads: int, n_hidden: int, *, norm: str = "post", is_causal: bool = False, dtype=None,
        rngs: nnx.Rngs,
    ):  # fmt: skip
        self._hold(models.init_encoder_block(rngs.params(), p, num_heads, n_hidden, dtype=dtype))
        self.norm, self.is_causal = norm, is_causal

    def __call__(self, x: jax.Array, *, mask: jax.Array | None = None) -> jax.Array:
        """The block on one sequence or a batch; ``mask`` is ``(T, T)`` shared by the batch."""
        P = self.params
        return _batched(lambda a: models.encoder_block(P, a, mask=mask, is_causal=self.is_causal, norm=self.norm), 2, x)


class TransformerDecoderBlock(_Pure):
    r"""A transformer decoder block (self- and cross-attention); delegates to :func:`mathdl.models.decoder_block`.

    Called on ``y`` ``(T, p)`` and ``z`` ``(S, p)``, or both with the same leading batch axes.

    Args:
      p: model width.
      num_heads: $H$.
      n_hidden: feed-forward width $N_1$.
      norm: ``"post"`` (the book) or ``"pre"``.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.5, eq. (7.33).
    """

    def __init__(self, p: int, num_heads: int, n_hidden: int, *, norm: str = "post", dtype=None, rngs: nnx.Rngs):
        self._hold(models.init_decoder_block(rngs.params(), p, num_heads, n_hidden, dtype=dtype))
        self.norm = norm

    def __call__(self, y: jax.Array, z: jax.Array, *, mask: jax.Array | None = None) -> jax.Array:
        """The block on one target sequence and its encoder output (or a batch of both)."""
        P = self.params
        return _batched(lambda a, b: models.decoder_block(P, a, b, mask=mask, norm=self.norm), 2, y, z)


class TransformerLM(_Pure):
    r"""A decoder-only causal LM (a small GPT); delegates to :func:`mathdl.models.transformer_lm`.

    Called on token ids ``(T,)`` or ``(*batch, T)``; returns logits ``(*batch, T, d_V)``.

    Args:
      vocab_size: $d_V$.
      p: model width.
      num_heads: $H$.
      num_layers: number of blocks.
      n_hidden: feed-forward width $N_1$.
      max_len: number of learned positions.
      norm: ``"post"`` or ``"pre"``.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 7, Sec. 7.5; Radford et al. (2019).
    """

    def __init__(
        self, vocab_size: int, *, p: int, num_heads: int, num_layers: int, n_hidden: int, max_len: int,
        norm: str = "post", dtype=None, rngs: nnx.Rngs,
    ):  # fmt: skip
        self._hold(
            models.init_transformer_lm(
                rngs.params(),
                vocab_size,
                p=p,
                num_heads=num_heads,
                num_layers=num_layers,
                n_hidden=n_hidden,
                max_len=max_len,
                norm=norm,
                dtype=dtype,
            )  # fmt: skip
        )

    def __call__(self, tokens: jax.Array) -> jax.Array:
        """Next-token logits at every position."""
        P = self.params
        return _batched(lambda t: models.transformer_lm(P, t), 1, tokens)
