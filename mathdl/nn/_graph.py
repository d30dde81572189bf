r"""Flax NNX modules for graph layers (layer 3, no mathematics here).

Each module holds its parameters as ``nnx.Param`` and delegates to the pure function in
:mod:`mathdl.layers` (:func:`~mathdl.layers.gcn`, :func:`~mathdl.layers.graph_sage`,
:func:`~mathdl.layers.gat`); the tests pin equal outputs. A module is called on ONE graph (possibly
many small graphs batched into one by :func:`mathdl.data.batch_graphs`): node features ``h``
``(n, d)``, ``senders`` and ``receivers`` ``(E,)``, optional ``node_mask`` and ``edge_mask``. For a
stack of equal-size padded graphs use ``nnx.vmap`` or :func:`mathdl.nn.to_pure` with ``jax.vmap``.
"""

from flax import nnx

from mathdl.layers import GATParams, GCNParams, SAGEParams, gat, gcn, graph_sage, init_gat, init_gcn, init_graph_sage

__all__ = ["GATConv", "GCNConv", "SAGEConv"]


class GCNConv(nnx.Module):
    r"""Graph convolution $H' = \tilde D^{-1/2} \tilde A \tilde D^{-1/2} H W^\top + b$ (:func:`mathdl.layers.gcn`).

    Args:
      d_in: input feature width.
      d_out: output feature width.
      init: initialiser name or callable (:func:`mathdl.layers.init_gcn`).
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017.
    """

    def __init__(self, d_in: int, d_out: int, *, init="glorot_uniform", dtype=None, rngs: nnx.Rngs):
        p = init_gcn(rngs.params(), d_in, d_out, init=init, dtype=dtype)
        self.W, self.b = nnx.Param(p.W), nnx.Param(p.b)

    @property
    def params(self) -> GCNParams:
        """The pure ``GCNParams(W, b)`` view of this module."""
        return GCNParams(self.W[...], self.b[...])

    def __call__(self, h, senders, receivers, *, node_mask=None, edge_mask=None):
        return gcn(self.params, h, senders, receivers, node_mask=node_mask, edge_mask=edge_mask)


class SAGEConv(nnx.Module):
    r"""GraphSAGE layer $h_v' = W_{\text{self}} h_v + W_{\text{neigh}} \operatorname{mean}_u h_u + b$.

    Delegates to :func:`mathdl.layers.graph_sage`.

    Args:
      d_in: input feature width.
      d_out: output feature width.
      how: the aggregator (``"mean"``, ``"sum"`` or ``"max"``).
      init: initialiser name or callable.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      Hamilton et al. 2017.
    """

    def __init__(self, d_in: int, d_out: int, *, how: str = "mean", init="glorot_uniform", dtype=None, rngs: nnx.Rngs):
        p = init_graph_sage(rngs.params(), d_in, d_out, init=init, dtype=dtype)
        self.W_self, self.W_neigh, self.b = nnx.Param(p.W_self), nnx.Param(p.W_neigh), nnx.Param(p.b)
        self.how = how

    @property
    def params(self) -> SAGEParams:
        """The pure ``SAGEParams`` view of this module."""
        return SAGEParams(self.W_self[...], self.W_neigh[...], self.b[...])

    def __call__(self, h, senders, receivers, *, node_mask=None, edge_mask=None):
        return graph_sage(self.params, h, senders, receivers, how=self.how, node_mask=node_mask, edge_mask=edge_mask)


class GATConv(nnx.Module):
    r"""Multi-head graph attention; delegates to :func:`mathdl.layers.gat`.

    Args:
      d_in: input feature width.
      d_out: the width $C$ of each head.
      heads: the number of heads $K$.
      concat: concatenate the heads (output ``K C``) or average them (``C``).
      negative_slope: the LeakyReLU slope of the scores.
      init: initialiser name or callable.
      dtype: parameter dtype.
      rngs: ``nnx.Rngs`` supplying the ``params`` stream.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Veličković et al. 2018.
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        init="glorot_uniform",
        dtype=None,
        rngs: nnx.Rngs,
    ):
        p = init_gat(rngs.params(), d_in, d_out, heads=heads, concat=concat, init=init, dtype=dtype)
        self.W, self.a_src, self.a_dst, self.b = (nnx.Param(v) for v in p)
        self.concat, self.negative_slope = concat, negative_slope

    @property
    def params(self) -> GATParams:
        """The pure ``GATParams`` view of this module."""
        return GATParams(self.W[...], self.a_src[...], self.a_dst[...], self.b[...])

    def __call__(self, h, senders, receivers, *, node_mask=None, edge_mask=None, return_attention: bool = False):
        return gat(
            self.params,
            h,
            senders,
            receivers,
            concat=self.concat,
            negative_slope=self.negative_slope,
            node_mask=node_mask,
            edge_mask=edge_mask,
            return_attention=return_attention,
        )
