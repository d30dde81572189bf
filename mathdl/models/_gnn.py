r"""Graph neural networks as init/apply pairs on one graph ([MEDL] Ch. 8, Sec. 8.5).

* node classification: :func:`gcn_classifier` (Kipf & Welling 2017, two GCN layers with ReLU) and
  :func:`gat_classifier` (Veličković et al. 2018, multi-head GAT layers with ELU, the heads of the
  last layer averaged);
* graph classification or regression: :func:`graph_classifier`, GCN or GraphSAGE layers, a readout
  over each graph's nodes, then a dense head;
* link prediction: :func:`link_predictor`, a GCN encoder and the dot-product decoder
  $s_{uv} = h_u^\top h_v$ (Kipf & Welling 2016).

Every network takes ONE graph (possibly many small graphs batched into one by
:func:`mathdl.data.batch_graphs`) as plain arrays: node features ``x`` ``(n, d)``, ``senders`` and
``receivers`` ``(E,)``, and optional ``node_mask``/``edge_mask``. The layers do the maths
(:func:`mathdl.layers.gcn`, :func:`mathdl.layers.gat`, :func:`mathdl.layers.graph_sage`,
:func:`mathdl.layers.segment_readout`, :func:`mathdl.layers.link_scores`), so the edge-index
checks and the masking rules are theirs.
"""

from collections.abc import Sequence
from typing import NamedTuple

import jax

from mathdl import checks
from mathdl.layers import (
    AGGREGATIONS,
    DenseParams,
    GATParams,
    GCNParams,
    SAGEParams,
    dense,
    dropout,
    gat,
    gcn,
    graph_sage,
    init_dense,
    init_gat,
    init_gcn,
    init_graph_sage,
    link_scores,
    segment_readout,
)

__all__ = [
    "GraphClassifierParams",
    "gat_classifier",
    "gcn_classifier",
    "graph_classifier",
    "init_gat_classifier",
    "init_gcn_classifier",
    "init_graph_classifier",
    "init_link_predictor",
    "link_predictor",
]


def _widths(func, d_in, hidden, out):
    hidden = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else tuple(hidden)
    sizes = (d_in, *hidden, out)
    for name, v in zip(("d_in", *["hidden"] * len(hidden), "num_classes"), sizes, strict=True):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            checks.fail(func, name, "a positive int", v)
    return sizes


def _drop(key, h, rate, i):
    if key is None or rate == 0.0:
        return h
    return dropout(jax.random.fold_in(key, i), h, rate=rate, train=True)


# ------------------------------------------------------------------ GCN node classifier


def init_gcn_classifier(key: jax.Array, d_in: int, hidden=16, num_classes: int = 2, *, dtype=None):
    r"""Initialise a GCN node classifier: GCN layers of widths ``d_in -> *hidden -> num_classes``.

    Args:
      key: a typed PRNG key.
      d_in: the node feature width.
      hidden: a width or a sequence of hidden widths (16 in the GCN paper).
      num_classes: the number of classes $K$.
      dtype: floating dtype of the parameters.

    Returns:
      A tuple of :class:`mathdl.layers.GCNParams`, one per layer.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, Sec. 3.1.
    """
    sizes = _widths(checks.public_name(init_gcn_classifier), d_in, hidden, num_classes)
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(init_gcn(k, a, b, dtype=dtype) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True))


def gcn_classifier(
    params: Sequence[GCNParams],
    x,
    senders,
    receivers,
    *,
    node_mask=None,
    edge_mask=None,
    key=None,
    dropout_rate: float = 0.0,
    return_hidden: bool = False,
):
    r"""GCN node classifier: $H^{(\ell)} = \text{ReLU}(\hat A H^{(\ell-1)} W^{(\ell)\top} + b^{(\ell)})$, logits last.

    $$Z = \hat A\, \text{ReLU}(\hat A X W^{(1)\top}) W^{(2)\top}$$ for two layers (biases omitted), with
    $\hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}$; the softmax of each row of $Z$ is the class
    distribution of that node.

    Args:
      params: the tuple from :func:`init_gcn_classifier`.
      x: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      node_mask: boolean ``(n,)`` (padding nodes give zero rows).
      edge_mask: boolean ``(E,)``.
      key: a typed PRNG key for dropout on each layer's input (``None``: no dropout).
      dropout_rate: the dropout rate (0.5 in the GCN paper).
      return_hidden: also return the hidden representations.

    Returns:
      Logits $Z$, shape ``(n, K)``; with ``return_hidden``, also the tuple of hidden layers'
      outputs (after the ReLU), each ``(n, width)``.

    Raises:
      ValueError: as :func:`mathdl.layers.gcn` (shapes, edge indices).

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, eq. (9).
    """
    h, hidden = x, []
    for i, p in enumerate(params):
        h = gcn(p, _drop(key, h, dropout_rate, i), senders, receivers, node_mask=node_mask, edge_mask=edge_mask)
        if i < len(params) - 1:
            h = jax.nn.relu(h)
            hidden.append(h)
    return (h, tuple(hidden)) if return_hidden else h


# ------------------------------------------------------------------ GAT node classifier


def init_gat_classifier(
    key: jax.Array, d_in: int, hidden=8, num_classes: int = 2, *, heads: int = 8, out_heads: int = 1, dtype=None
):
    r"""Initialise a GAT node classifier: hidden layers of ``heads`` concatenated heads, an averaged output layer.

    Args:
      key: a typed PRNG key.
      d_in: the node feature width.
      hidden: the width of each head of a hidden layer (an int or a sequence, one per layer; 8 in
        the GAT paper).
      num_classes: the number of classes $K$.
      heads: the heads of each hidden layer (8 in the paper).
      out_heads: the heads of the output layer, averaged (1 in the paper's Cora model).
      dtype: floating dtype of the parameters.

    Returns:
      A tuple of :class:`mathdl.layers.GATParams`.

    Raises:
      ValueError: if a width or head count is not a positive int.

    References:
      Veličković et al. 2018, "Graph attention networks", Sec. 3.3.
    """
    func = checks.public_name(init_gat_classifier)
    sizes = _widths(func, d_in, hidden, num_classes)
    keys = jax.random.split(key, len(sizes) - 1)
    params, width = [], d_in
    for i, (k, c) in enumerate(zip(keys, sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        params.append(init_gat(k, width, c, heads=out_heads if last else heads, concat=not last, dtype=dtype))
        width = c * heads
    return tuple(params)


def gat_classifier(params: Sequence[GATParams], x, senders, receivers, *, node_mask=None, edge_mask=None):
    r"""GAT node classifier: concatenated multi-head layers with ELU, then an averaged-heads output layer.

    $$h_v^{(\ell)} = \big\Vert_{k=1}^{K} \text{ELU}\Big(\sum_{u \in \mathcal N(v) \cup \{v\}}
    \alpha_{uv}^{k} W^{k} h_u^{(\ell-1)}\Big), \qquad
    z_v = \frac1{K'} \sum_{k=1}^{K'} \sum_{u} \alpha^k_{uv} W^k h_u^{(L-1)}.$$

    Args:
      params: the tuple from :func:`init_gat_classifier`.
      x: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)`` (no self loops).
      receivers: target node of each edge, ints ``(E,)``.
      node_mask: boolean ``(n,)``.
      edge_mask: boolean ``(E,)``.

    Returns:
      Logits, shape ``(n, K)``.

    Raises:
      ValueError: as :func:`mathdl.layers.gat`.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Veličković et al. 2018, eqs. (5)-(6).
    """
    h = x
    for i, p in enumerate(params):
        last = i == len(params) - 1
        h = gat(p, h, senders, receivers, concat=not last, node_mask=node_mask, edge_mask=edge_mask)
        if not last:
            h = jax.nn.elu(h)
    return h


# ------------------------------------------------------------------ graph classifier


class GraphClassifierParams(NamedTuple):
    """Parameters of :func:`graph_classifier`.

    Attributes:
      convs: a tuple of :class:`mathdl.layers.GCNParams` or :class:`mathdl.layers.SAGEParams`.
      head: the dense output layer :class:`mathdl.layers.DenseParams` on the readout.
    """

    convs: tuple
    head: DenseParams


def init_graph_classifier(
    key: jax.Array, d_in: int, hidden=32, num_outputs: int = 2, *, conv: str = "gcn", dtype=None
) -> GraphClassifierParams:
    r"""Initialise a graph-level network: ``conv`` layers of widths ``hidden``, then a dense head.

    Args:
      key: a typed PRNG key.
      d_in: the node feature width.
      hidden: a width or a sequence of widths of the message-passing layers.
      num_outputs: the number of classes (or 1 for regression).
      conv: ``"gcn"`` or ``"sage"``.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`GraphClassifierParams`.

    Raises:
      ValueError: if a width is not a positive int or ``conv`` is unknown.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (readout); Xu et al. 2019, "How powerful are graph neural networks?".
    """
    func = checks.public_name(init_graph_classifier)
    checks.check_choice(func, "conv", conv, ("gcn", "sage"))
    sizes = _widths(func, d_in, hidden, num_outputs)
    keys = jax.random.split(key, len(sizes) - 1)
    make = init_gcn if conv == "gcn" else init_graph_sage
    convs = tuple(make(k, a, b, dtype=dtype) for k, a, b in zip(keys[:-1], sizes[:-2], sizes[1:-1], strict=True))
    return GraphClassifierParams(convs, init_dense(keys[-1], sizes[-2], sizes[-1], init="glorot_uniform", dtype=dtype))


def graph_classifier(
    params: GraphClassifierParams,
    x,
    senders,
    receivers,
    node_graph,
    n_graph: int,
    *,
    how: str = "mean",
    node_mask=None,
    edge_mask=None,
):
    r"""Graph-level outputs: message-passing layers with ReLU, a readout per graph, a dense head.

    $$h_G = \operatorname{READOUT}_{v \in G}\, h_v^{(L)}, \qquad \hat y_G = W h_G + b.$$

    Args:
      params: :class:`GraphClassifierParams`.
      x: node features of the batched graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      node_graph: the graph of each node, ints ``(n,)`` (``n_graph`` at padding nodes).
      n_graph: the number of graphs (a Python int).
      how: the readout, ``"sum"``, ``"mean"`` or ``"max"``.
      node_mask: boolean ``(n,)``.
      edge_mask: boolean ``(E,)``.

    Returns:
      Logits (or predictions), shape ``(n_graph, num_outputs)``.

    Raises:
      ValueError: as the layers (shapes, edge indices, an unknown ``how``).

    References:
      [MEDL] Ch. 8, Sec. 8.5; Gilmer et al. 2017 (readout); Hamilton et al. 2017.
    """
    func = checks.public_name(graph_classifier)
    if how not in AGGREGATIONS:
        checks.fail(func, "how", f"one of {AGGREGATIONS}", how)
    h = x
    for p in params.convs:
        layer = gcn if isinstance(p, GCNParams) else graph_sage
        if not isinstance(p, GCNParams | SAGEParams):
            checks.fail(func, "params.convs", "GCNParams or SAGEParams", checks.Text(type(p).__name__), exc=TypeError)
        h = jax.nn.relu(layer(p, h, senders, receivers, node_mask=node_mask, edge_mask=edge_mask))
    pooled = segment_readout(h, node_graph, n_graph, how=how, node_mask=node_mask)
    return jax.vmap(lambda v: dense(params.head, v))(pooled)


# ------------------------------------------------------------------ link predictor


def init_link_predictor(key: jax.Array, d_in: int, hidden=(32, 16), *, dtype=None):
    r"""Initialise a link predictor's GCN encoder of widths ``d_in -> *hidden``.

    Args:
      key: a typed PRNG key.
      d_in: the node feature width.
      hidden: the encoder widths; the last is the embedding width.
      dtype: floating dtype of the parameters.

    Returns:
      A tuple of :class:`mathdl.layers.GCNParams`.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      Kipf & Welling 2016, "Variational graph auto-encoders" (the graph autoencoder).
    """
    hidden = (hidden,) if isinstance(hidden, int) and not isinstance(hidden, bool) else tuple(hidden)
    sizes = _widths(checks.public_name(init_link_predictor), d_in, hidden[:-1], hidden[-1])
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(init_gcn(k, a, b, dtype=dtype) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True))


def link_predictor(
    params: Sequence[GCNParams], x, senders, receivers, pair_senders, pair_receivers, *, node_mask=None, edge_mask=None
):
    r"""Link scores from a GCN encoder: $H = \text{GCN}(X)$, then $s_{uv} = h_u^\top h_v$ for each pair.

    The encoder's hidden layers use ReLU and its last layer is linear; $\sigma(s_{uv})$ is the
    probability of the edge $u - v$ (train with binary cross-entropy against sampled non-edges).

    Args:
      params: the tuple from :func:`init_link_predictor`.
      x: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each (message) edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      pair_senders: one end of each candidate pair, ints ``(P,)``.
      pair_receivers: the other end, ints ``(P,)``.
      node_mask: boolean ``(n,)``.
      edge_mask: boolean ``(E,)``.

    Returns:
      Scores (logits), shape ``(P,)``.

    Raises:
      ValueError: as :func:`mathdl.layers.gcn` and :func:`mathdl.layers.link_scores`.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (edge-level tasks); Kipf & Welling 2016, eq. (2).
    """
    h = x
    for i, p in enumerate(params):
        h = gcn(p, h, senders, receivers, node_mask=node_mask, edge_mask=edge_mask)
        if i < len(params) - 1:
            h = jax.nn.relu(h)
    return link_scores(h, pair_senders, pair_receivers)
