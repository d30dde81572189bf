r"""Graphs as padded edge lists with masks ([MEDL] Ch. 8, Sec. 8.5): building, batching, reading, graph tasks.

A :class:`Graph` holds one graph, or many small graphs batched into one (the jraph layout): node
features ``nodes`` ``(N, d)``, an edge list ``senders``/``receivers`` ``(E,)`` (an undirected edge is
listed both ways), masks ``node_mask`` ``(N,)`` and ``edge_mask`` ``(E,)`` that are ``False`` on
padding, the sizes ``n_node`` and ``n_edge`` of each graph ``(G,)``, and ``node_graph`` ``(N,)``, the
graph each node belongs to. Padding nodes get ``node_graph = G`` (one past the last graph, so
:func:`mathdl.layers.segment_readout` leaves them out) and padding edges join the first padding node
to itself (or node 0 if there is no padding node), masked. The graph layers of
:mod:`mathdl.layers` take these arrays as plain arguments.

* building: :func:`graph`, :func:`from_networkx`, :func:`load_edge_list`, :func:`pad_graph`,
  :func:`batch_graphs` / :func:`unbatch_graphs`, :func:`adjacency_matrix`;
* data: :func:`karate_club` (Zachary 1977, labels the two clubs), :func:`message_passing_example`;
* synthetic tasks from a key: :func:`stochastic_block_model` (community detection),
  :func:`cycles_vs_trees` (graph classification), :func:`triangle_counting` (graph regression).

Building is eager NumPy work (it runs once per data set); the arrays it returns are JAX arrays.
"""

from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text

__all__ = [
    "Graph",
    "GraphTask",
    "NodeTask",
    "adjacency_matrix",
    "batch_graphs",
    "cycles_vs_trees",
    "from_networkx",
    "graph",
    "karate_club",
    "load_edge_list",
    "message_passing_example",
    "pad_graph",
    "stochastic_block_model",
    "triangle_counting",
    "unbatch_graphs",
]


class Graph(NamedTuple):
    """One graph, or a batch of graphs in one padded graph (a pytree: it passes through ``jax.jit``).

    Attributes:
      nodes: node features, shape ``(N, d)``.
      edges: edge features ``(E, d_e)``, or ``None``.
      senders: source node of each edge, ints ``(E,)``.
      receivers: target node of each edge, ints ``(E,)``.
      node_mask: boolean ``(N,)``, ``False`` at padding nodes.
      edge_mask: boolean ``(E,)``, ``False`` at padding edges.
      n_node: the number of real nodes of each graph, ints ``(G,)``.
      n_edge: the number of real edges of each graph, ints ``(G,)``.
      node_graph: the graph of each node, ints ``(N,)``; ``G`` at padding nodes.
    """

    nodes: jax.Array
    edges: jax.Array | None
    senders: jax.Array
    receivers: jax.Array
    node_mask: jax.Array
    edge_mask: jax.Array
    n_node: jax.Array
    n_edge: jax.Array
    node_graph: jax.Array


class NodeTask(NamedTuple):
    """A node-classification data set on one graph (transductive, semi-supervised).

    Attributes:
      graph: the :class:`Graph`.
      labels: the class of each node, ints ``(N,)``.
      train_mask: boolean ``(N,)``: the nodes whose labels the training loss sees.
      test_mask: boolean ``(N,)``: the others (evaluation).
      num_classes: the number of classes.
    """

    graph: Graph
    labels: jax.Array
    train_mask: jax.Array
    test_mask: jax.Array
    num_classes: int


class GraphTask(NamedTuple):
    """A graph-level data set: many small graphs batched into one, one target per graph.

    Attributes:
      graphs: the batched :class:`Graph` (``G`` graphs).
      targets: one target per graph, shape ``(G,)`` (ints for classification, floats for regression).
      num_classes: the number of classes (``0`` for regression).
    """

    graphs: Graph
    targets: jax.Array
    num_classes: int


# ------------------------------------------------------------------ building


def _edges_np(func, senders, receivers, n):
    s = np.asarray(senders).reshape(-1)
    r = np.asarray(receivers).reshape(-1)
    for name, v, raw in (("senders", s, senders), ("receivers", r, receivers)):
        if np.ndim(raw) != 1:
            checks.fail(func, name, "a rank-1 array of node indices", Text(f"shape {np.shape(raw)}"))
        if v.size and not np.issubdtype(v.dtype, np.integer):
            checks.fail(func, name, "integer node indices", Text(f"dtype {v.dtype}"), exc=TypeError)
        bad = (v < 0) | (v >= n)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            checks.fail(func, name, f"node indices in [0, {n}) (the graph has {n} nodes)", Text(f"{v[i]} at index {i}"))
    if s.shape != r.shape:
        checks.fail(func, "receivers", f"shape {s.shape} like `senders`", Text(f"shape {r.shape}"))
    return s.astype(np.int32), r.astype(np.int32)


def graph(nodes, senders, receivers, *, edges=None, undirected: bool = False) -> Graph:
    r"""One graph from node features and an edge list (no padding: every mask is ``True``).

    Args:
      nodes: node features, shape ``(n, d)`` (a list is converted; ints become floats).
      senders: source node of each edge, ints ``(E,)`` in ``[0, n)``.
      receivers: target node of each edge, ints ``(E,)``.
      edges: optional edge features ``(E, d_e)``.
      undirected: list each edge also the other way (``senders`` and ``receivers`` swapped, edge
        features repeated).

    Returns:
      A :class:`Graph` with ``G = 1``.

    Raises:
      ValueError: if ``nodes`` is not of rank 2, the edge arrays differ in shape, or an index lies
        outside ``[0, n)`` (the message names the index and the node count).
      TypeError: if the indices are not integers.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (graphs, adjacency and edge lists).
    """
    func = checks.public_name(graph)
    x = np.asarray(nodes)
    if x.ndim != 2:
        checks.fail(func, "nodes", "node features of shape (n, d)", Text(f"shape {x.shape}"))
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(jnp.zeros(()).dtype)
    n = x.shape[0]
    s, r = _edges_np(func, senders, receivers, n)
    e = None if edges is None else np.asarray(edges)
    if e is not None and (e.ndim != 2 or e.shape[0] != s.shape[0]):
        checks.fail(func, "edges", f"edge features of shape ({s.shape[0]}, d_e)", Text(f"shape {e.shape}"))
    if undirected:
        s, r = np.concatenate([s, r]), np.concatenate([r, s])
        e = None if e is None else np.concatenate([e, e])
    E = s.shape[0]
    return Graph(
        jnp.asarray(x),
        None if e is None else jnp.asarray(e),
        jnp.asarray(s),
        jnp.asarray(r),
        jnp.ones((n,), bool),
        jnp.ones((E,), bool),
        jnp.asarray([n], jnp.int32),
        jnp.asarray([E], jnp.int32),
        jnp.zeros((n,), jnp.int32),
    )


def _one_hot(n):
    return np.eye(n, dtype=jnp.zeros(()).dtype)


def from_networkx(G, *, node_features: str | None = None) -> Graph:
    r"""A :class:`Graph` from a networkx graph, nodes numbered in ``G.nodes`` order.

    An undirected graph lists each edge both ways; a directed one as given.

    Args:
      G: a ``networkx.Graph`` or ``networkx.DiGraph``.
      node_features: the node attribute holding each node's feature vector (or number); ``None``
        gives one-hot identity features ``(n, n)``, as the GCN paper's karate-club demo.

    Returns:
      A :class:`Graph` with ``G = 1``.

    Raises:
      ValueError: if a node lacks the ``node_features`` attribute.

    References:
      networkx documentation, ``Graph.nodes`` and ``Graph.edges``; Kipf & Welling 2017, Sec. 6
      (featureless inputs as the identity).
    """
    func = checks.public_name(from_networkx)
    order = list(G.nodes)
    index = {v: i for i, v in enumerate(order)}
    if node_features is None:
        x = _one_hot(len(order))
    else:
        missing = [v for v in order if node_features not in G.nodes[v]]
        if missing:
            checks.fail(func, "node_features", "an attribute of every node", Text(f"node {missing[0]!r} without it"))
        x = np.asarray([np.atleast_1d(G.nodes[v][node_features]) for v in order], dtype=jnp.zeros(()).dtype)
    pairs = np.asarray([(index[u], index[v]) for u, v in G.edges()], dtype=np.int64).reshape(-1, 2)
    return graph(x, pairs[:, 0], pairs[:, 1], undirected=not G.is_directed())


def load_edge_list(path, *, n_node: int | None = None, undirected: bool = True, comments: str = "#") -> Graph:
    r"""A :class:`Graph` from a text file with one edge ``u v`` (node numbers from 0) per line.

    Blank lines and text after ``comments`` are ignored; extra columns (weights) are ignored.
    Features are one-hot identity ``(n, n)``.

    Args:
      path: the file.
      n_node: the number of nodes (default: the largest index plus one).
      undirected: list each edge both ways (default).
      comments: the comment marker.

    Returns:
      A :class:`Graph` with ``G = 1``.

    Raises:
      FileNotFoundError: if ``path`` does not exist.
      ValueError: on a line that is not two integers, or an index outside ``[0, n_node)``.

    References:
      The edge-list format of networkx's ``read_edgelist`` and SNAP's data sets.
    """
    func = checks.public_name(load_edge_list)
    pairs = []
    for i, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.split(comments, 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            pairs.append((int(parts[0]), int(parts[1])))
        except (ValueError, IndexError):
            checks.fail(func, "path", "lines of two integer node numbers", Text(f"line {i}: {line!r}"))
    e = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n = (int(e.max()) + 1 if e.size else 0) if n_node is None else int(n_node)
    return graph(_one_hot(n), e[:, 0], e[:, 1], undirected=undirected)


def pad_graph(g: Graph, n_node: int, n_edge: int) -> Graph:
    r"""Pad a (batched) graph to ``n_node`` nodes and ``n_edge`` edges, for a fixed compiled shape.

    Padding nodes have zero features, ``node_mask = False`` and ``node_graph = G``; padding edges
    join the first padding node to itself (node 0 if there is none) with ``edge_mask = False``.

    Args:
      g: a :class:`Graph`.
      n_node: the padded node count (at least ``g``'s).
      n_edge: the padded edge count (at least ``g``'s).

    Returns:
      The padded :class:`Graph`.

    Raises:
      ValueError: if ``n_node`` or ``n_edge`` is smaller than the graph's.

    References:
      jraph's ``pad_with_graphs`` (the same layout, without the extra padding graph).
    """
    func = checks.public_name(pad_graph)
    N, E = g.nodes.shape[0], g.senders.shape[0]
    if n_node < N:
        checks.fail(func, "n_node", f"at least the graph's {N} nodes", n_node)
    if n_edge < E:
        checks.fail(func, "n_edge", f"at least the graph's {E} edges", n_edge)
    G = g.n_node.shape[0]
    pn, pe = n_node - N, n_edge - E
    fill = N if pn > 0 else 0
    d = g.nodes.shape[1]
    return Graph(
        jnp.concatenate([g.nodes, jnp.zeros((pn, d), g.nodes.dtype)]),
        None if g.edges is None else jnp.concatenate([g.edges, jnp.zeros((pe, g.edges.shape[1]), g.edges.dtype)]),
        jnp.concatenate([g.senders, jnp.full((pe,), fill, g.senders.dtype)]),
        jnp.concatenate([g.receivers, jnp.full((pe,), fill, g.receivers.dtype)]),
        jnp.concatenate([g.node_mask, jnp.zeros((pn,), bool)]),
        jnp.concatenate([g.edge_mask, jnp.zeros((pe,), bool)]),
        g.n_node,
        g.n_edge,
        jnp.concatenate([g.node_graph, jnp.full((pn,), G, g.node_graph.dtype)]),
    )


def batch_graphs(graphs, *, n_node: int | None = None, n_edge: int | None = None) -> Graph:
    r"""Batch many graphs into one graph with disjoint components (the jraph layout), optionally padded.

    The node arrays are concatenated; the edge indices of graph $g$ are offset by the number of
    nodes before it; ``n_node``/``n_edge``/``node_graph`` record which node and edge belongs to
    which graph. Message passing on the batch equals message passing on each graph, because no
    edge joins two components. Each input's own padding is kept (masked).

    Args:
      graphs: a sequence of :class:`Graph` (each with ``G = 1`` or itself a batch), with the same
        feature width (and all or none with edge features).
      n_node: pad the batch to this many nodes (default: no padding).
      n_edge: pad the batch to this many edges.

    Returns:
      The batched :class:`Graph` (``G`` = the total number of graphs).

    Raises:
      ValueError: if ``graphs`` is empty, the feature widths differ, or the padding is too small.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (inductive setting: many small graphs); jraph's ``batch``.
    """
    func = checks.public_name(batch_graphs)
    graphs = list(graphs)
    if not graphs:
        checks.fail(func, "graphs", "at least one graph", Text("an empty sequence"))
    widths = {int(g.nodes.shape[1]) for g in graphs}
    if len(widths) > 1:
        checks.fail(func, "graphs", "node features of one width", Text(f"widths {sorted(widths)}"))
    if len({g.edges is None for g in graphs}) > 1:
        checks.fail(func, "graphs", "edge features on all graphs or on none", Text("a mixture"))
    offsets = np.cumsum([0] + [int(g.nodes.shape[0]) for g in graphs])
    goffsets = np.cumsum([0] + [int(g.n_node.shape[0]) for g in graphs])
    node_graph = []
    for g, go in zip(graphs, goffsets, strict=False):
        ng = np.asarray(g.node_graph)
        Gi = g.n_node.shape[0]
        node_graph.append(np.where(ng < Gi, ng + go, goffsets[-1]))
    out = Graph(
        jnp.concatenate([g.nodes for g in graphs]),
        None if graphs[0].edges is None else jnp.concatenate([g.edges for g in graphs]),
        jnp.concatenate([g.senders + int(o) for g, o in zip(graphs, offsets, strict=False)]).astype(jnp.int32),
        jnp.concatenate([g.receivers + int(o) for g, o in zip(graphs, offsets, strict=False)]).astype(jnp.int32),
        jnp.concatenate([g.node_mask for g in graphs]),
        jnp.concatenate([g.edge_mask for g in graphs]),
        jnp.concatenate([g.n_node for g in graphs]),
        jnp.concatenate([g.n_edge for g in graphs]),
        jnp.asarray(np.concatenate(node_graph), jnp.int32),
    )
    if n_node is None and n_edge is None:
        return out
    N, E = out.nodes.shape[0], out.senders.shape[0]
    return pad_graph(out, N if n_node is None else n_node, E if n_edge is None else n_edge)


def unbatch_graphs(g: Graph) -> list[Graph]:
    r"""Split a batch made by :func:`batch_graphs` back into its graphs, padding removed.

    Args:
      g: a batched :class:`Graph` (eager arrays).

    Returns:
      A list of ``G`` graphs, each with its nodes renumbered from 0 and every mask ``True``.

    Raises:
      ValueError: if ``g`` is traced (call it outside ``jax.jit``).

    References:
      jraph's ``unbatch``.
    """
    func = checks.public_name(unbatch_graphs)
    try:
        ng, nm, em = np.asarray(g.node_graph), np.asarray(g.node_mask), np.asarray(g.edge_mask)
    except jax.errors.TracerArrayConversionError:
        checks.fail(func, "g", "a concrete graph (call it outside jax.jit)", Text("a traced graph"))
    s, r = np.asarray(g.senders), np.asarray(g.receivers)
    graphs = []
    for i in range(g.n_node.shape[0]):
        keep = np.flatnonzero((ng == i) & nm)
        new = -np.ones(ng.shape[0], np.int64)
        new[keep] = np.arange(keep.size)
        ek = np.flatnonzero(em & (ng[s] == i) & nm[s] & nm[r])
        graphs.append(
            graph(
                np.asarray(g.nodes)[keep],
                new[s[ek]],
                new[r[ek]],
                edges=None if g.edges is None else np.asarray(g.edges)[ek],
            )
        )
    return graphs


def adjacency_matrix(g: Graph) -> jax.Array:
    r"""The dense adjacency matrix $A$ with $A_{vu}$ = the number of real edges $u \to v$.

    Rows are receivers, so $(A H)_v = \sum_{u \in \mathcal N(v)} h_u$, the sum aggregation.

    Args:
      g: a :class:`Graph` with ``N`` nodes.

    Returns:
      $A$, shape ``(N, N)`` (floating).

    References:
      [MEDL] Ch. 8, Sec. 8.5 (adjacency matrix).
    """
    N = g.nodes.shape[0]
    w = (g.edge_mask & g.node_mask[g.senders] & g.node_mask[g.receivers]).astype(g.nodes.dtype)
    return jnp.zeros((N, N), g.nodes.dtype).at[g.receivers, g.senders].add(w)


# ------------------------------------------------------------------ data sets

# Zachary's karate club (1977) as networkx ships it: 34 members, 78 friendships, and the club each
# member joined after the split (0 = Mr. Hi, node 0; 1 = the Officer, node 33).
_KARATE_EDGES = (
    "0-1 0-2 0-3 0-4 0-5 0-6 0-7 0-8 0-10 0-11 0-12 0-13 0-17 0-19 0-21 0-31 1-2 1-3 1-7 1-13 1-17 "
    "1-19 1-21 1-30 2-3 2-7 2-8 2-9 2-13 2-27 2-28 2-32 3-7 3-12 3-13 4-6 4-10 5-6 5-10 5-16 6-16 "
    "8-30 8-32 8-33 9-33 13-33 14-32 14-33 15-32 15-33 18-32 18-33 19-33 20-32 20-33 22-32 22-33 "
    "23-25 23-27 23-29 23-32 23-33 24-25 24-27 24-31 25-31 26-29 26-33 27-33 28-31 28-33 29-32 "
    "29-33 30-32 30-33 31-32 31-33 32-33"
)
_KARATE_CLUBS = "0000000001000011001010111111111111"


def karate_club() -> NodeTask:
    r"""Zachary's karate club for semi-supervised node classification, as in the GCN paper's demo.

    34 members (nodes), 78 friendships (156 directed edges), one-hot identity features ``(34, 34)``
    (the graph has no features of its own); the label of a member is the club they joined after the
    split (0: Mr. Hi's, 1: the Officer's; 17 and 17 members). The training mask holds one labelled
    node per club, the two leaders 0 and 33; the test mask holds the other 32.

    Returns:
      A :class:`NodeTask` with ``num_classes = 2``.

    References:
      [MEDL] Ch. 8, Sec. 8.5; Zachary 1977, "An information flow model for conflict and fission in
      small groups"; Kipf & Welling 2017 (the karate-club demo); networkx's ``karate_club_graph``.
    """
    pairs = np.asarray([tuple(map(int, p.split("-"))) for p in _KARATE_EDGES.split()])
    g = graph(_one_hot(34), pairs[:, 0], pairs[:, 1], undirected=True)
    labels = jnp.asarray([int(c) for c in _KARATE_CLUBS], jnp.int32)
    train = np.zeros(34, bool)
    train[[0, 33]] = True
    return NodeTask(g, labels, jnp.asarray(train), jnp.asarray(~train), 2)


def message_passing_example() -> Graph:
    r"""A small documented graph for working message passing by hand (the book's figure data is not available).

    Five nodes, features $h_v = (v, 1)$ for $v = 0, \dots, 4$, and six undirected edges
    ``0-1, 0-2, 1-2, 2-3, 3-4`` plus ``1-3`` (twelve directed edges), so node 4 has the single
    neighbour 3 and node 2 the neighbours 0, 1, 3. The neighbour sum is
    $\sum_{u \in \mathcal N(v)} h_u$ = ``[[3, 2], [5, 3], [4, 3], [7, 3], [3, 1]]``.

    Returns:
      A :class:`Graph` with 5 nodes, 12 edges and features ``(5, 2)``.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (message passing; this graph is our own small example, not the book's figure).
    """
    x = np.stack([np.arange(5.0), np.ones(5)], axis=1)
    pairs = np.asarray([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (1, 3)])
    return graph(x, pairs[:, 0], pairs[:, 1], undirected=True)


# ------------------------------------------------------------------ synthetic tasks from a key


def _generator(func, key) -> np.random.Generator:
    key = checks.conform(func, "key", key, "key[]")
    seed = np.asarray(jax.random.bits(key, (2,), dtype=np.uint32)).astype(np.uint64)
    return np.random.Generator(np.random.PCG64(int(seed[0]) << 32 | int(seed[1])))


def _count(func, name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        checks.fail(func, name, f"an int >= {minimum}", value)
    return int(value)


def _prob(func, name, value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        checks.fail(func, name, "a probability in [0, 1]", value)
    return float(value)


def stochastic_block_model(
    key: jax.Array,
    sizes=(50, 50),
    p_in: float = 0.2,
    p_out: float = 0.02,
    *,
    d: int = 8,
    signal: float = 0.5,
    train_fraction: float = 0.1,
) -> NodeTask:
    r"""Community detection on a stochastic block model: recover each node's block.

    Blocks of the given sizes; an undirected edge joins two nodes of one block with probability
    ``p_in`` and of different blocks with ``p_out``. Features are weak and noisy,
    $x_v = s\,\mu_{c(v)} + \varepsilon_v$ with $\mu_c$ a random unit vector per block,
    $\varepsilon_v \sim N(0, I_d)$ and $s$ = ``signal``, so a model needs the graph to do well.
    A random ``train_fraction`` of each block is labelled (at least one node).

    Args:
      key: a typed PRNG key.
      sizes: the block sizes (positive ints; the number of classes is ``len(sizes)``).
      p_in: the edge probability within a block.
      p_out: the edge probability between blocks.
      d: the feature width (positive int).
      signal: the feature signal strength $s \ge 0$.
      train_fraction: the labelled share of each block, in ``[0, 1]``.

    Returns:
      A :class:`NodeTask`.

    Raises:
      ValueError: on a size or ``d`` that is not a positive int, or a probability outside ``[0, 1]``.
      TypeError: if ``key`` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (node-level tasks); Holland, Laskey & Leinhardt 1983 (block models).
    """
    func = checks.public_name(stochastic_block_model)
    sizes = [_count(func, "sizes", s) for s in sizes]
    p_in, p_out, train_fraction = (
        _prob(func, "p_in", p_in),
        _prob(func, "p_out", p_out),
        _prob(func, "train_fraction", train_fraction),
    )
    d = _count(func, "d", d)
    rng = _generator(func, key)
    c = np.repeat(np.arange(len(sizes)), sizes)
    n = c.size
    P = np.where(c[:, None] == c[None, :], p_in, p_out)
    A = np.triu(rng.random((n, n)) < P, 1)
    u, v = np.nonzero(A)
    mu = rng.normal(size=(len(sizes), d))
    mu /= np.linalg.norm(mu, axis=1, keepdims=True)
    x = float(signal) * mu[c] + rng.normal(size=(n, d))
    train = np.zeros(n, bool)
    for k in range(len(sizes)):
        idx = np.flatnonzero(c == k)
        train[rng.choice(idx, max(1, round(train_fraction * idx.size)), replace=False)] = True
    g = graph(x.astype(jnp.zeros(()).dtype), u, v, undirected=True)
    return NodeTask(g, jnp.asarray(c, jnp.int32), jnp.asarray(train), jnp.asarray(~train), len(sizes))


def _random_tree(rng, n):
    """Edges of a uniform random recursive tree: node i joins a uniform earlier node."""
    return [(int(rng.integers(0, i)), i) for i in range(1, n)]


def cycles_vs_trees(
    key: jax.Array, n_graphs: int = 64, *, n_min: int = 4, n_max: int = 10, n_node=None, n_edge=None
) -> GraphTask:
    r"""Graph classification: a cycle $C_n$ (label 1) or a random tree on $n$ nodes (label 0).

    Half the graphs (at random) are cycles on a random permutation of their nodes, the others random
    recursive trees; $n$ is uniform in ``[n_min, n_max]``. Node features are the constant 1 (width
    1), so only the structure tells them apart (every node of a cycle has degree 2; a tree has
    leaves). The graphs are batched with :func:`batch_graphs`.

    Args:
      key: a typed PRNG key.
      n_graphs: the number of graphs (positive int).
      n_min: the smallest graph (at least 3).
      n_max: the largest graph.
      n_node: pad the batch to this many nodes (default none).
      n_edge: pad the batch to this many edges.

    Returns:
      A :class:`GraphTask` with integer targets and ``num_classes = 2``.

    Raises:
      ValueError: on counts that are not ints in range.
      TypeError: if ``key`` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (graph-level tasks and readout).
    """
    func = checks.public_name(cycles_vs_trees)
    n_graphs = _count(func, "n_graphs", n_graphs)
    n_min = _count(func, "n_min", n_min, 3)
    n_max = _count(func, "n_max", n_max, n_min)
    rng = _generator(func, key)
    graphs, labels = [], []
    for _ in range(n_graphs):
        n = int(rng.integers(n_min, n_max + 1))
        cycle = bool(rng.random() < 0.5)
        if cycle:
            perm = rng.permutation(n)
            pairs = [(int(perm[i]), int(perm[(i + 1) % n])) for i in range(n)]
        else:
            pairs = _random_tree(rng, n)
        e = np.asarray(pairs).reshape(-1, 2)
        graphs.append(graph(np.ones((n, 1)), e[:, 0], e[:, 1], undirected=True))
        labels.append(int(cycle))
    return GraphTask(batch_graphs(graphs, n_node=n_node, n_edge=n_edge), jnp.asarray(labels, jnp.int32), 2)


def triangle_counting(
    key: jax.Array, n_graphs: int = 64, *, n_node_each: int = 8, p: float = 0.35, n_node=None, n_edge=None
) -> GraphTask:
    r"""Graph regression: the number of triangles of an Erdős–Rényi graph $G(n, p)$.

    The target is $\operatorname{tr}(A^3)/6$. Node features are the constant 1 (width 1).

    Args:
      key: a typed PRNG key.
      n_graphs: the number of graphs (positive int).
      n_node_each: the nodes of each graph (at least 3).
      p: the edge probability.
      n_node: pad the batch to this many nodes (default none).
      n_edge: pad the batch to this many edges.

    Returns:
      A :class:`GraphTask` with float targets and ``num_classes = 0``.

    Raises:
      ValueError: on counts that are not ints in range or ``p`` outside ``[0, 1]``.
      TypeError: if ``key`` is not a typed key.

    References:
      [MEDL] Ch. 8, Sec. 8.5 (graph-level tasks); Chen et al. 2020, "Can graph neural networks count
      substructures?".
    """
    func = checks.public_name(triangle_counting)
    n_graphs = _count(func, "n_graphs", n_graphs)
    m = _count(func, "n_node_each", n_node_each, 3)
    p = _prob(func, "p", p)
    rng = _generator(func, key)
    graphs, counts = [], []
    for _ in range(n_graphs):
        A = np.triu(rng.random((m, m)) < p, 1)
        u, v = np.nonzero(A)
        S = (A | A.T).astype(np.int64)
        counts.append(np.trace(S @ S @ S) / 6.0)
        graphs.append(graph(np.ones((m, 1)), u, v, undirected=True))
    targets = jnp.asarray(counts, jnp.zeros(()).dtype)
    return GraphTask(batch_graphs(graphs, n_node=n_node, n_edge=n_edge), targets, 0)
