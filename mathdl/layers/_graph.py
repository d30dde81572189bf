r"""Graph layers on one graph ([MEDL] Ch. 8, Sec. 8.5): message passing, GCN, GraphSAGE, GAT, readouts, links.

A graph is given as plain arrays, never as a data-set object (``mathdl.data`` builds them):

* node features ``h`` of shape ``(n, d)``, one row per node;
* an edge list ``senders``, ``receivers`` of shape ``(E,)``: edge $k$ carries a message from node
  ``senders[k]`` to node ``receivers[k]`` (an undirected graph lists each edge both ways);
* optional masks ``node_mask`` ``(n,)`` and ``edge_mask`` ``(E,)``, ``True`` = real. Padding nodes and
  edges (from batching graphs of different sizes into one fixed shape) contribute nothing, and a
  padding node's output row is zero. An edge touching a padding node is treated as padding.

The neighbourhood of $v$ is $\mathcal N(v) = \{u : u \to v\}$, the senders of the edges into $v$.
Message passing (Gilmer et al. 2017) is

$$h_v^{(k+1)} = \text{UPDATE}\big(h_v^{(k)},\
\text{AGG}_{u \in \mathcal N(v)}\, \text{MSG}(h_u^{(k)}, h_v^{(k)}, e_{uv})\big).$$

Defined values: a node with no neighbours aggregates to zero (sum, mean and max alike), its GCN
output is its own transformed features ($\tilde d_v = 1$, only the self loop) and its GAT attention
is entirely on itself; an empty graph ($n = 0$ or $E = 0$) gives arrays of the right shape.

Edge indices are value-checked: eagerly an index outside ``[0, n)`` on a real edge raises a
``ValueError`` naming the index and the node count; under ``jax.jit`` the output is NaN
(:func:`mathdl.checks.ensure`). Self loops in the edge list are counted as ordinary edges (GCN and
GAT add their own self loop on top of them), so leave them out of the list.

Parameters keep the book's column orientation, as :func:`mathdl.layers.dense`: ``W`` of shape
``(d_out, d_in)`` maps a node's features $h_v$ to $W h_v$; the book's row form $H W$ uses $W^\top$.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers._init import resolve_initialiser
from mathdl.layers._specs import one_example, positive_int

__all__ = [
    "AGGREGATIONS",
    "GATParams",
    "GCNParams",
    "SAGEParams",
    "aggregate",
    "gat",
    "gcn",
    "gcn_normalise",
    "gcn_propagate",
    "graph_sage",
    "init_gat",
    "init_gcn",
    "init_graph_sage",
    "link_scores",
    "message_passing",
    "readout",
    "segment_readout",
    "segment_softmax",
]

#: The values of the ``aggregation`` argument of the message-passing layers ([MEDL] Ch. 8, Sec. 8.5).
AGGREGATIONS = ("sum", "mean", "max")

_GRAPH = {
    "senders": "int[E]",
    "receivers": "int[E]",
    "node_mask": "bool[n]?",
    "edge_mask": "bool[E]?",
}


# ------------------------------------------------------------------ private kernels (unchecked)


def _masks(n, senders, receivers, node_mask, edge_mask):
    """The effective node and edge masks: an edge is real iff it is and both its ends are.

    ``None`` stands for all-``True`` (no padding), so the kernels skip the masking work entirely.
    """
    nm, em = node_mask, edge_mask
    if nm is not None and n > 0 and senders.shape[0] > 0:
        ends = nm[jnp.clip(senders, 0, n - 1)] & nm[jnp.clip(receivers, 0, n - 1)]
        em = ends if em is None else em & ends
    return nm, em


def _ensure_edges(func, out, n, senders, receivers, edge_mask):
    """Value check: every real edge's ends lie in ``[0, n)``; NaN under jit otherwise.

    Eagerly each index array is checked on its own, so the message names the argument, the index
    and the node count. Traced, one :func:`mathdl.checks.ensure` covers both arrays and poisons a
    scalar that is added to every output: a single fused reduction and add per layer (and nothing
    in the backward pass), rather than a select over each output.
    """
    expected = f"node indices in [0, {n}) (the graph has {n} nodes)"
    oks = []
    for idx in (senders, receivers):
        ok = (idx >= 0) & (idx < n)
        oks.append(ok if edge_mask is None else ~edge_mask | ok)
    if not any(isinstance(v, jax.core.Tracer) for v in oks):
        for name, idx, ok in zip(("senders", "receivers"), (senders, receivers), oks, strict=True):
            checks.ensure(ok, None, func, name, expected, checks.first_bad(idx, ok))
        return out
    zero = jnp.zeros((), jax.tree.leaves(out)[0].dtype)
    bad = checks.ensure(oks[0] & oks[1], zero, func, "senders", expected, "an index outside it (or in `receivers`)")
    return jax.tree.map(lambda leaf: leaf + bad, out)


def _aggregate(m, receivers, n, em, how):
    """AGG over the edges into each node of ``m`` (E, d); masked edges dropped; empty nodes give 0."""
    zero = jnp.zeros((), m.dtype)
    if how == "max":
        low = jnp.asarray(-jnp.inf, m.dtype)
        top = jax.ops.segment_max(m if em is None else jnp.where(em[:, None], m, low), receivers, num_segments=n)
        return jnp.where(jnp.isfinite(top), top, zero)
    total = jax.ops.segment_sum(m if em is None else jnp.where(em[:, None], m, zero), receivers, num_segments=n)
    if how == "sum":
        return total
    ones = jnp.ones(receivers.shape, m.dtype) if em is None else em.astype(m.dtype)
    count = jax.ops.segment_sum(ones, receivers, num_segments=n)
    return total / jnp.where(count > 0, count, jnp.ones((), m.dtype))[:, None]


def _segment_softmax(scores, segment_ids, num_segments, mask):
    """Softmax of ``scores`` (E, ...) within each segment; masked entries 0; an empty segment has none."""
    if mask is None:  # every segment that is indexed has an entry: no guard needed
        top = lax.stop_gradient(jax.ops.segment_max(scores, segment_ids, num_segments=num_segments))
        e = jnp.exp(scores - top[segment_ids])
        return e / jax.ops.segment_sum(e, segment_ids, num_segments=num_segments)[segment_ids]
    low = jnp.asarray(jnp.finfo(scores.dtype).min, scores.dtype)
    m = mask.reshape(mask.shape + (1,) * (scores.ndim - 1))
    s = jnp.where(m, scores, low)
    top = lax.stop_gradient(jax.ops.segment_max(s, segment_ids, num_segments=num_segments))
    top = jnp.where(jnp.isfinite(top), top, jnp.zeros((), scores.dtype))
    e = jnp.where(m, jnp.exp(s - top[segment_ids]), jnp.zeros((), scores.dtype))
    total = jax.ops.segment_sum(e, segment_ids, num_segments=num_segments)
    total = jnp.where(total > 0, total, jnp.ones((), scores.dtype))
    return e / total[segment_ids]


def _gcn_weights(n, senders, receivers, nm, em, dtype, self_loops=True):
    """Edge weights $1/\\sqrt{\\tilde d_u \\tilde d_v}$ and self weights $1/\\tilde d_v$ (0 where masked)."""
    one, zero = jnp.ones((), dtype), jnp.zeros((), dtype)
    ones = jnp.ones(receivers.shape, dtype) if em is None else em.astype(dtype)
    deg = jax.ops.segment_sum(ones, receivers, num_segments=n)
    if self_loops:
        deg = deg + (one if nm is None else nm.astype(dtype))
    if self_loops and nm is None:
        inv = lax.rsqrt(deg)  # deg >= 1
    else:
        inv = jnp.where(deg > 0, lax.rsqrt(jnp.where(deg > 0, deg, one)), zero)
    w = inv[senders] * inv[receivers]
    w = w if em is None else jnp.where(em, w, zero)
    if not self_loops:
        return w, jnp.zeros((n,), dtype)
    return w, (inv * inv if nm is None else jnp.where(nm, inv * inv, zero))


def _gcn_propagate(h, senders, receivers, nm, em, self_loops=True):
    n = h.shape[0]
    w, w_self = _gcn_weights(n, senders, receivers, nm, em, h.dtype, self_loops)
    out = jax.ops.segment_sum(w[:, None] * h[senders], receivers, num_segments=n)
    return out + w_self[:, None] * h


def _rows(nm, out):
    return out if nm is None else jnp.where(nm[:, None], out, jnp.zeros((), out.dtype))


# ------------------------------------------------------------------ message passing


def _how(func, how):
    if how not in AGGREGATIONS:
        checks.fail(func, "how", f"one of {AGGREGATIONS}", how)
    return how


@checks.inputs(messages="float[E d]", receivers="int[E]", n_node=positive_int, edge_mask="bool[E]?")
def aggregate(messages, receivers, n_node: int, *, how: str = "sum", edge_mask=None) -> jax.Array:
    r"""AGG of message passing: combine the messages of the edges into each node (sum, mean or max).

    $$a_v = \bigoplus_{k : r_k = v} m_k, \qquad \oplus \in \{\textstyle\sum, \text{mean}, \max\},$$

    with ``jax.ops.segment_sum`` / ``segment_max``. A node no real edge reaches gets $a_v = 0$ for
    every aggregation (the empty sum; the mean and max are defined as 0 there, not NaN or $-\infty$).

    Args:
      messages: one message per edge, shape ``(E, d)`` (one graph).
      receivers: the node each message goes to, ints of shape ``(E,)`` in ``[0, n_node)``.
      n_node: the number of nodes $n$ (positive int).
      how: ``"sum"``, ``"mean"`` or ``"max"``.
      edge_mask: boolean ``(E,)``, ``False`` at padding edges (their messages are dropped).

    Returns:
      The aggregates, shape ``(n_node, d)``.

    Raises:
      ValueError: on shapes that disagree, an unknown ``how``, or (eagerly) a receiver outside
        ``[0, n_node)``; under ``jax.jit`` such an index makes the output NaN.
      TypeError: if ``messages`` is not floating or ``receivers`` not integer.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (message passing); Gilmer et al. 2017, "Neural message passing for
      quantum chemistry"; Hamilton et al. 2017 (mean and max aggregators).
    """
    func = checks.public_name(aggregate)
    how = _how(func, how)
    out = _aggregate(messages, receivers, n_node, edge_mask, how)
    ok = (receivers >= 0) & (receivers < n_node)
    ok = ok if edge_mask is None else ~edge_mask | ok
    got = checks.first_bad(receivers, ok, traced="an index outside it")
    return checks.ensure(ok, out, func, "receivers", f"node indices in [0, {n_node}) (n_node = {n_node})", got)


@checks.inputs(h=one_example("float[n d]"), edges="float[E d_e]?", **_GRAPH)
def message_passing(
    h,
    senders,
    receivers,
    *,
    message_fn=None,
    update_fn=None,
    how: str = "sum",
    edges=None,
    node_mask=None,
    edge_mask=None,
) -> jax.Array:
    r"""One round of message passing on one graph: message, aggregate, update.

    $$m_{uv} = \text{MSG}(h_u, h_v, e_{uv}), \quad a_v = \text{AGG}_{u \in \mathcal N(v)} m_{uv}, \quad
    h_v' = \text{UPDATE}(h_v, a_v).$$

    The defaults give the plain neighbour sum $h_v' = \sum_{u \in \mathcal N(v)} h_u$ (MSG copies the
    sender, UPDATE returns the aggregate).

    Args:
      h: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      message_fn: ``message_fn(h_senders (E, d), h_receivers (E, d), edges (E, d_e) or None) -> (E, d_m)``;
        ``None``: the sender's features.
      update_fn: ``update_fn(h (n, d), a (n, d_m)) -> (n, d')``; ``None``: ``a``.
      how: the aggregation, ``"sum"``, ``"mean"`` or ``"max"`` (see :func:`aggregate`).
      edges: optional edge features, shape ``(E, d_e)``.
      node_mask: boolean ``(n,)``; padding nodes send nothing and output zero rows.
      edge_mask: boolean ``(E,)``; padding edges carry nothing.

    Returns:
      The updated node features, shape ``(n, d')``.

    Raises:
      ValueError: on disagreeing shapes, a batch of graphs (use ``jax.vmap``), an unknown ``how``,
        or (eagerly) an edge index outside ``[0, n)``; under ``jax.jit`` that index gives NaN.
      TypeError: on non-floating features or non-integer indices.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Gilmer et al. 2017, "Neural message passing for quantum chemistry".
    """
    func = checks.public_name(message_passing)
    how = _how(func, how)
    n = h.shape[0]
    nm, em = _masks(n, senders, receivers, node_mask, edge_mask)
    m = h[senders] if message_fn is None else message_fn(h[senders], h[receivers], edges)
    a = _aggregate(m, receivers, n, em, how)
    out = _rows(nm, a if update_fn is None else update_fn(h, a))
    return _ensure_edges(func, out, n, senders, receivers, edge_mask)


# ------------------------------------------------------------------ GCN


@checks.inputs(**{k: v for k, v in _GRAPH.items() if k != "node_mask"}, n_node=positive_int, node_mask="bool[n]?")
def gcn_normalise(senders, receivers, n_node: int, *, node_mask=None, edge_mask=None, self_loops: bool = True):
    r"""The entries of $\hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}$, $\tilde A = A + I$, on the edge list.

    $\tilde d_v = 1 + |\mathcal N(v)|$ (in-degree plus the self loop). Edge $u \to v$ gets weight
    $1/\sqrt{\tilde d_u \tilde d_v}$ and the self loop of $v$ gets $1/\tilde d_v$. With
    ``self_loops=False`` the plain $D^{-1/2} A D^{-1/2}$, where a node of degree 0 gets weight 0.

    Args:
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      n_node: the number of nodes $n$ (positive int).
      node_mask: boolean ``(n,)``; padding nodes have degree 0 and weight 0.
      edge_mask: boolean ``(E,)``; padding edges have weight 0.
      self_loops: add $I$ to $A$ (default, as the GCN paper).

    Returns:
      ``(w, w_self)``: edge weights ``(E,)`` and self-loop weights ``(n,)``.

    Raises:
      ValueError: on disagreeing shapes or (eagerly) an edge index outside ``[0, n_node)``.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, "Semi-supervised classification with graph
      convolutional networks", eq. (2).
    """
    func = checks.public_name(gcn_normalise)
    nm, em = _masks(n_node, senders, receivers, node_mask, edge_mask)
    w, w_self = _gcn_weights(n_node, senders, receivers, nm, em, jnp.zeros(()).dtype, self_loops)
    return _ensure_edges(func, (w, w_self), n_node, senders, receivers, edge_mask)


@checks.inputs(h=one_example("float[n d]"), **_GRAPH)
def gcn_propagate(h, senders, receivers, *, node_mask=None, edge_mask=None, self_loops: bool = True) -> jax.Array:
    r"""GCN propagation without weights: $\hat A H$ with $\hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}$.

    $$(\hat A H)_v = \frac{h_v}{\tilde d_v} + \sum_{u \in \mathcal N(v)} \frac{h_u}{\sqrt{\tilde d_u \tilde d_v}}.$$

    An isolated node keeps its features ($\tilde d_v = 1$); a padding node gives a zero row.

    Args:
      h: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      node_mask: boolean ``(n,)``, ``False`` at padding nodes.
      edge_mask: boolean ``(E,)``, ``False`` at padding edges.
      self_loops: use $\tilde A = A + I$ (default); ``False``: $D^{-1/2} A D^{-1/2}$, isolated nodes 0.

    Returns:
      $\hat A H$, shape ``(n, d)``.

    Raises:
      ValueError: on disagreeing shapes, a batch (use ``jax.vmap``), or (eagerly) an edge index
        outside ``[0, n)``; NaN under ``jax.jit``.
      TypeError: on non-floating features or non-integer indices.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, eq. (2).
    """
    n = h.shape[0]
    nm, em = _masks(n, senders, receivers, node_mask, edge_mask)
    out = _rows(nm, _gcn_propagate(h, senders, receivers, nm, em, self_loops))
    return _ensure_edges(checks.public_name(gcn_propagate), out, n, senders, receivers, edge_mask)


class GCNParams(NamedTuple):
    """Parameters of one GCN layer.

    Attributes:
      W: weights, shape ``(d_out, d_in)`` (the book's $W$ is its transpose).
      b: bias, shape ``(d_out,)``.
    """

    W: jax.Array
    b: jax.Array


@checks.inputs(key="key[]", d_in=positive_int, d_out=positive_int)
def init_gcn(key: jax.Array, d_in: int, d_out: int, *, init="glorot_uniform", dtype=None) -> GCNParams:
    r"""Initialise a GCN layer: $W \sim$ ``init`` (Glorot uniform, as the GCN paper), $b = 0$.

    Args:
      key: a typed PRNG key.
      d_in: input feature width (positive int).
      d_out: output feature width (positive int).
      init: initialiser name or callable ``(key, shape, dtype)`` (see :func:`mathdl.layers.init_dense`).
      dtype: floating dtype of the parameters.

    Returns:
      ``GCNParams(W, b)`` with ``W`` ``(d_out, d_in)`` and ``b`` ``(d_out,)``.

    Raises:
      ValueError: if a width is not a positive int or ``init`` is unknown.
      TypeError: if ``key`` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, Sec. 3.
    """
    W = resolve_initialiser(checks.public_name(init_gcn), init)(key, (d_out, d_in), dtype)
    return GCNParams(W, jnp.zeros((d_out,), W.dtype))


def _gcn(params, h, senders, receivers, nm, em, self_loops=True):
    return _rows(nm, _gcn_propagate(h @ params.W.T, senders, receivers, nm, em, self_loops) + params.b[None, :])


@checks.inputs(params=checks.fields(W="float[d_out d]", b="float[d_out]"), h=one_example("float[n d]"), **_GRAPH)
def gcn(params: GCNParams, h, senders, receivers, *, node_mask=None, edge_mask=None, self_loops: bool = True):
    r"""One graph convolutional layer (before its activation): $H' = \hat A H W^\top + \mathbf 1 b^\top$.

    $$h_v' = \sum_{u \in \mathcal N(v) \cup \{v\}} \frac{1}{\sqrt{\tilde d_u \tilde d_v}}\, W h_u + b,
    \qquad \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2},$$

    the book's $\sigma(\tilde D^{-1/2}\tilde A\tilde D^{-1/2} H W)$ with the activation applied by the
    caller. Equal to PyTorch Geometric's ``GCNConv`` with the same ``W`` (``lin.weight``) and ``b``.

    Args:
      params: ``GCNParams(W, b)``, ``W`` of shape ``(d_out, d)``.
      h: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)`` (an undirected edge is listed both ways).
      receivers: target node of each edge, ints ``(E,)``.
      node_mask: boolean ``(n,)``; padding nodes give zero rows and send nothing.
      edge_mask: boolean ``(E,)``; padding edges carry nothing.
      self_loops: use $\tilde A = A + I$ (default).

    Returns:
      $H'$, shape ``(n, d_out)``; an isolated node gives $W h_v + b$.

    Raises:
      ValueError: on disagreeing shapes, a batch of graphs (use ``jax.vmap``), or (eagerly) an edge
        index outside ``[0, n)``, naming the index and the node count; NaN under ``jax.jit``.
      TypeError: on non-floating features or non-integer indices.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Kipf & Welling 2017, "Semi-supervised classification with graph
      convolutional networks", eq. (2).
    """
    n = h.shape[0]
    nm, em = _masks(n, senders, receivers, node_mask, edge_mask)
    out = _gcn(params, h, senders, receivers, nm, em, self_loops)
    return _ensure_edges(checks.public_name(gcn), out, n, senders, receivers, edge_mask)


# ------------------------------------------------------------------ GraphSAGE


class SAGEParams(NamedTuple):
    """Parameters of one GraphSAGE layer (mean aggregator).

    Attributes:
      W_self: weights on the node's own features, shape ``(d_out, d_in)``.
      W_neigh: weights on the neighbour mean, shape ``(d_out, d_in)``.
      b: bias, shape ``(d_out,)``.
    """

    W_self: jax.Array
    W_neigh: jax.Array
    b: jax.Array


@checks.inputs(key="key[]", d_in=positive_int, d_out=positive_int)
def init_graph_sage(key: jax.Array, d_in: int, d_out: int, *, init="glorot_uniform", dtype=None) -> SAGEParams:
    r"""Initialise a GraphSAGE layer: both weight matrices from ``init``, $b = 0$.

    Args:
      key: a typed PRNG key.
      d_in: input feature width (positive int).
      d_out: output feature width (positive int).
      init: initialiser name or callable.
      dtype: floating dtype of the parameters.

    Returns:
      ``SAGEParams(W_self, W_neigh, b)``.

    Raises:
      ValueError: if a width is not a positive int or ``init`` is unknown.
      TypeError: if ``key`` is not a typed key.

    References:
      Hamilton et al. 2017, "Inductive representation learning on large graphs".
    """
    k1, k2 = jax.random.split(key)
    make = resolve_initialiser(checks.public_name(init_graph_sage), init)
    W_self = make(k1, (d_out, d_in), dtype)
    return SAGEParams(W_self, make(k2, (d_out, d_in), dtype), jnp.zeros((d_out,), W_self.dtype))


def _sage(params, h, senders, receivers, nm, em, how="mean"):
    a = _aggregate(h[senders], receivers, h.shape[0], em, how)
    return _rows(nm, h @ params.W_self.T + a @ params.W_neigh.T + params.b[None, :])


@checks.inputs(
    params=checks.fields(W_self="float[d_out d]", W_neigh="float[d_out d]", b="float[d_out]"),
    h=one_example("float[n d]"),
    **_GRAPH,
)
def graph_sage(params: SAGEParams, h, senders, receivers, *, how: str = "mean", node_mask=None, edge_mask=None):
    r"""One GraphSAGE layer (before its activation): own features plus the neighbours' aggregate.

    $$h_v' = W_{\text{self}}\, h_v + W_{\text{neigh}} \operatorname{mean}_{u \in \mathcal N(v)} h_u + b;$$

    a node with no neighbours has mean 0, so $h_v' = W_{\text{self}} h_v + b$. Equal to PyTorch
    Geometric's ``SAGEConv`` (``lin_r`` = ``W_self``, ``lin_l`` = ``W_neigh`` with ``b``).

    Args:
      params: ``SAGEParams(W_self, W_neigh, b)``.
      h: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      how: the aggregator, ``"mean"`` (default), ``"sum"`` or ``"max"``.
      node_mask: boolean ``(n,)``.
      edge_mask: boolean ``(E,)``.

    Returns:
      $H'$, shape ``(n, d_out)``.

    Raises:
      ValueError: on disagreeing shapes, a batch, an unknown ``how``, or (eagerly) an edge index
        outside ``[0, n)``; NaN under ``jax.jit``.
      TypeError: on non-floating features or non-integer indices.

    References:
      Hamilton et al. 2017, "Inductive representation learning on large graphs", Alg. 1.
    """
    func = checks.public_name(graph_sage)
    how = _how(func, how)
    n = h.shape[0]
    nm, em = _masks(n, senders, receivers, node_mask, edge_mask)
    return _ensure_edges(func, _sage(params, h, senders, receivers, nm, em, how), n, senders, receivers, edge_mask)


# ------------------------------------------------------------------ GAT


@checks.inputs(scores="float[E *rest]", segment_ids="int[E]", num_segments=positive_int, mask="bool[E]?")
def segment_softmax(scores, segment_ids, num_segments: int, *, mask=None) -> jax.Array:
    r"""Softmax within segments: the masked softmax of Ch. 7 over a variable number of entries per group.

    $$\alpha_k = \frac{e^{s_k}\,1\{m_k\}}{\sum_{k' : g_{k'} = g_k} e^{s_{k'}}\,1\{m_{k'}\}},$$

    so the entries of each segment sum to 1 (a segment of only masked entries gives zeros, with zero
    gradient, as :func:`mathdl.layers.masked_softmax` does for a fully masked row). In GAT the
    segments are the receivers: each node's attention over its neighbours.

    Args:
      scores: one score per entry, shape ``(E,)`` or ``(E, *rest)`` (e.g. one per head).
      segment_ids: the segment of each entry, ints ``(E,)`` in ``[0, num_segments)``.
      num_segments: the number of segments (positive int).
      mask: boolean ``(E,)``, ``False`` = left out.

    Returns:
      Weights of the shape of ``scores``.

    Raises:
      ValueError: on disagreeing shapes.
      TypeError: if ``scores`` is not floating or ``segment_ids`` not integer.

    References:
      [MEDL] Ch. 7, Sec. 7.4 (the softmax over keys) and Ch. 8, Sec. 8.5; Veličković et al. 2018, eq. (3).
    """
    if mask is None:  # an id outside [0, num_segments) must not see another segment's maximum
        mask = jnp.ones(segment_ids.shape, bool)
    return _segment_softmax(scores, segment_ids, num_segments, mask)


class GATParams(NamedTuple):
    """Parameters of one multi-head graph attention layer with $K$ heads of width $C$.

    Attributes:
      W: weights, shape ``(K, C, d_in)``; head $k$ maps $h_v$ to $W^k h_v$.
      a_src: attention vector on the sender, shape ``(K, C)``.
      a_dst: attention vector on the receiver, shape ``(K, C)``.
      b: bias, shape ``(K C,)`` when the heads are concatenated, ``(C,)`` when averaged.
    """

    W: jax.Array
    a_src: jax.Array
    a_dst: jax.Array
    b: jax.Array


@checks.inputs(key="key[]", d_in=positive_int, d_out=positive_int, heads=positive_int)
def init_gat(
    key: jax.Array, d_in: int, d_out: int, *, heads: int = 1, concat: bool = True, init="glorot_uniform", dtype=None
) -> GATParams:
    r"""Initialise a GAT layer of ``heads`` heads of width ``d_out``: Glorot weights and attention, $b = 0$.

    Args:
      key: a typed PRNG key.
      d_in: input feature width (positive int).
      d_out: width $C$ of each head (positive int).
      heads: the number of heads $K$.
      concat: whether :func:`gat` concatenates the heads (bias ``(K C,)``) or averages them (``(C,)``).
      init: initialiser name or callable.
      dtype: floating dtype of the parameters.

    Returns:
      ``GATParams(W, a_src, a_dst, b)``.

    Raises:
      ValueError: if a width or ``heads`` is not a positive int, or ``init`` is unknown.
      TypeError: if ``key`` is not a typed key.

    References:
      Veličković et al. 2018, "Graph attention networks", Sec. 2.1.
    """
    make = resolve_initialiser(checks.public_name(init_gat), init)
    k1, k2, k3 = jax.random.split(key, 3)
    W = make(k1, (heads * d_out, d_in), dtype).reshape(heads, d_out, d_in)
    a_src = make(k2, (heads, d_out), dtype)
    a_dst = make(k3, (heads, d_out), dtype)
    return GATParams(W, a_src, a_dst, jnp.zeros((heads * d_out if concat else d_out,), W.dtype))


def _gat(params, h, senders, receivers, nm, em, concat=True, negative_slope=0.2):
    n = h.shape[0]
    loops = jnp.arange(n, dtype=senders.dtype)
    s = jnp.concatenate([senders, loops])
    r = jnp.concatenate([receivers, loops])
    if em is None and nm is None:
        mask = None
    else:
        mask = jnp.concatenate(
            [jnp.ones(senders.shape, bool) if em is None else em, jnp.ones((n,), bool) if nm is None else nm]
        )
    K, C, d = params.W.shape
    z = (h @ params.W.reshape(K * C, d).T).reshape(n, K, C)
    src = jnp.sum(z * params.a_src[None], axis=-1)  # (n, K)
    dst = jnp.sum(z * params.a_dst[None], axis=-1)
    e = jax.nn.leaky_relu(src[s] + dst[r], negative_slope)  # (E + n, K)
    alpha = _segment_softmax(e, r, n, mask)
    out = jax.ops.segment_sum(alpha[:, :, None] * z[s], r, num_segments=n)  # (n, K, C)
    out = out.reshape(n, -1) if concat else jnp.mean(out, axis=1)
    return _rows(nm, out + params.b[None, :]), alpha


@checks.inputs(
    params=checks.fields(W="float[K C d]", a_src="float[K C]", a_dst="float[K C]", b="float[_]"),
    h=one_example("float[n d]"),
    **_GRAPH,
)
def gat(
    params: GATParams,
    h,
    senders,
    receivers,
    *,
    concat: bool = True,
    negative_slope: float = 0.2,
    node_mask=None,
    edge_mask=None,
    return_attention: bool = False,
):
    r"""One multi-head graph attention layer (before its activation).

    For each head $k$, with $z_v = W^k h_v$,

    $$e_{uv} = \text{LeakyReLU}\big(a_{\text{src}}^{k\top} z_u + a_{\text{dst}}^{k\top} z_v\big), \quad
    \alpha_{uv} = \operatorname{softmax}_{u \in \mathcal N(v) \cup \{v\}} e_{uv}, \quad
    h_v'^{\,k} = \sum_{u \in \mathcal N(v) \cup \{v\}} \alpha_{uv} z_u,$$

    the attention of Ch. 7 with the neighbours (and $v$ itself) as keys; the heads are
    concatenated ($K C$ features) or averaged ($C$), then $b$ is added. Each node's weights sum to 1
    (:func:`segment_softmax`); an isolated node attends only to itself. Equal to PyTorch
    Geometric's ``GATConv`` (dropout 0) with ``lin.weight`` = ``W`` reshaped to ``(K C, d)``.

    Args:
      params: ``GATParams(W, a_src, a_dst, b)``, ``W`` of shape ``(K, C, d)``.
      h: node features of ONE graph, shape ``(n, d)``.
      senders: source node of each edge, ints ``(E,)`` (no self loops: one is added per node).
      receivers: target node of each edge, ints ``(E,)``.
      concat: concatenate the heads (``b`` of shape ``(K C,)``) or average them (``(C,)``).
      negative_slope: the LeakyReLU slope (0.2 in the paper).
      node_mask: boolean ``(n,)``.
      edge_mask: boolean ``(E,)``.
      return_attention: also return the weights.

    Returns:
      $H'$, shape ``(n, K C)`` or ``(n, C)``; with ``return_attention``, also $\alpha$ of shape
      ``(E + n, K)``: the given edges first, then the self loop of each node in order.

    Raises:
      ValueError: on disagreeing shapes (``b`` that does not fit ``concat`` included), a batch, or
        (eagerly) an edge index outside ``[0, n)``; NaN under ``jax.jit``.
      TypeError: on non-floating features or non-integer indices.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (attention from Ch. 7); Veličković et al. 2018, "Graph attention
      networks", eqs. (1)-(5).
    """
    func = checks.public_name(gat)
    K, C, _ = params.W.shape
    want = K * C if concat else C
    if params.b.shape != (want,):
        checks.fail(func, "params.b", f"shape ({want},) for concat={concat}", checks.Text(f"shape {params.b.shape}"))
    n = h.shape[0]
    nm, em = _masks(n, senders, receivers, node_mask, edge_mask)
    out, alpha = _gat(params, h, senders, receivers, nm, em, concat, negative_slope)
    result = (out, alpha) if return_attention else out
    return _ensure_edges(func, result, n, senders, receivers, edge_mask)


# ------------------------------------------------------------------ readouts and link scores


def _readout(h, graph_index, n_graph, nm, how):
    return _aggregate(h, graph_index, n_graph, nm, how)


@checks.inputs(h=one_example("float[n d]"), node_mask="bool[n]?")
def readout(h, *, how: str = "sum", node_mask=None) -> jax.Array:
    r"""Graph-level readout of one graph: sum, mean or max of its node features.

    $$h_G = \bigoplus_{v \in G} h_v;$$

    an empty graph (no real nodes) reads out as 0 for every ``how``.

    Args:
      h: node features of ONE graph, shape ``(n, d)``.
      how: ``"sum"``, ``"mean"`` or ``"max"``.
      node_mask: boolean ``(n,)``; padding nodes are left out.

    Returns:
      $h_G$, shape ``(d,)``.

    Raises:
      ValueError: on a batch (use ``jax.vmap`` or :func:`segment_readout`) or an unknown ``how``.
      TypeError: on non-floating features.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (readout for graph-level tasks); Gilmer et al. 2017, Sec. 2.
    """
    how = _how(checks.public_name(readout), how)
    n = h.shape[0]
    return _readout(h, jnp.zeros((n,), jnp.int32), 1, node_mask, how)[0]


@checks.inputs(h=one_example("float[n d]"), graph_index="int[n]", n_graph=positive_int, node_mask="bool[n]?")
def segment_readout(h, graph_index, n_graph: int, *, how: str = "sum", node_mask=None) -> jax.Array:
    r"""Readout of many graphs batched into one: sum, mean or max over each graph's nodes.

    $$h_{G_g} = \bigoplus_{v : g(v) = g} h_v, \qquad g = 0, \dots, n_{\text{graph}} - 1;$$

    a graph without real nodes reads out as 0. Nodes whose index is outside ``[0, n_graph)`` (the
    padding of :func:`mathdl.data.batch_graphs`) are left out.

    Args:
      h: node features of the batched graph, shape ``(n, d)``.
      graph_index: the graph of each node, ints ``(n,)``.
      n_graph: the number of graphs (positive int).
      how: ``"sum"``, ``"mean"`` or ``"max"``.
      node_mask: boolean ``(n,)``; padding nodes are left out.

    Returns:
      One row per graph, shape ``(n_graph, d)``.

    Raises:
      ValueError: on disagreeing shapes or an unknown ``how``.
      TypeError: on non-floating features or a non-integer ``graph_index``.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Gilmer et al. 2017, Sec. 2; jraph's ``segment_*`` readouts.
    """
    how = _how(checks.public_name(segment_readout), how)
    nm = (graph_index >= 0) & (graph_index < n_graph)
    if node_mask is not None:
        nm = nm & node_mask
    return _readout(h, jnp.clip(graph_index, 0, n_graph - 1), n_graph, nm, how)


@checks.inputs(h=one_example("float[n d]"), senders="int[P]", receivers="int[P]")
def link_scores(h, senders, receivers, *, W=None) -> jax.Array:
    r"""Edge-level scores for link prediction: $s_{uv} = h_u^\top h_v$, or $h_u^\top W h_v$ with ``W``.

    Apply :func:`jax.nn.sigmoid` for the probability that the edge $u - v$ exists (the
    graph-autoencoder decoder of Kipf & Welling 2016).

    Args:
      h: node embeddings of ONE graph, shape ``(n, d)``.
      senders: one end of each candidate pair, ints ``(P,)``.
      receivers: the other end, ints ``(P,)``.
      W: optional bilinear form, shape ``(d, d)``.

    Returns:
      One score per pair, shape ``(P,)``.

    Raises:
      ValueError: on disagreeing shapes, or (eagerly) a node index outside ``[0, n)``; NaN under jit.
      TypeError: on non-floating embeddings or non-integer indices.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (edge-level tasks); Kipf & Welling 2016, "Variational graph auto-encoders".
    """
    func = checks.public_name(link_scores)
    n, d = h.shape
    hu = h[senders]
    if W is not None:
        W = checks.conform(func, "W", W, f"float[{d} {d}]")
        hu = hu @ W
    out = jnp.sum(hu * h[receivers], axis=-1)
    return _ensure_edges(func, out, n, senders, receivers, None)
