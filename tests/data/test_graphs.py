"""Tests of mathdl.data graphs ([MEDL] Ch. 8, Sec. 8.5): building, batching, readers, karate club, graph tasks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data
from tests._oracles import need


def _edge_set(g):
    m = np.asarray(g.edge_mask)
    return sorted(zip(np.asarray(g.senders)[m].tolist(), np.asarray(g.receivers)[m].tolist(), strict=True))


def test_worked_message_passing_example():
    """By hand: 5 nodes, 6 undirected edges (12 listed), node 4's only neighbour is 3; A @ H is the documented sum."""
    g = data.message_passing_example()
    assert g.nodes.shape == (5, 2) and g.senders.shape == (12,)
    A = np.asarray(data.adjacency_matrix(g))
    np.testing.assert_array_equal(A, A.T)
    np.testing.assert_array_equal(A[4], [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(A @ np.asarray(g.nodes), [[3, 2], [5, 3], [4, 3], [7, 3], [3, 1]])


def test_karate_club_vs_networkx():
    """Oracle: networkx's karate_club_graph: the same 78 edges and the 'club' attribute as labels."""
    nx = need("networkx")
    G = nx.karate_club_graph()
    task = data.karate_club()
    g = task.graph
    want = sorted({(u, v) for u, v in G.edges()} | {(v, u) for u, v in G.edges()})
    assert _edge_set(g) == want
    clubs = [int(G.nodes[v]["club"] != "Mr. Hi") for v in G.nodes]
    np.testing.assert_array_equal(task.labels, clubs)
    np.testing.assert_array_equal(np.flatnonzero(task.train_mask), [0, 33])
    assert task.num_classes == 2 and g.nodes.shape == (34, 34) and int(task.test_mask.sum()) == 32
    assert _edge_set(data.from_networkx(G)) == want


def test_from_networkx_features_and_directed():
    """from_networkx keeps a directed graph's direction and reads node features from an attribute."""
    nx = need("networkx")
    G = nx.DiGraph()
    G.add_nodes_from([("a", {"x": [1.0, 2.0]}), ("b", {"x": [3.0, 4.0]}), ("c", {"x": [5.0, 6.0]})])
    G.add_edges_from([("a", "b"), ("c", "a")])
    g = data.from_networkx(G, node_features="x")
    assert _edge_set(g) == [(0, 1), (2, 0)]
    np.testing.assert_array_equal(g.nodes, [[1, 2], [3, 4], [5, 6]])
    with pytest.raises(ValueError, match="argument `node_features` expected an attribute of every node"):
        data.from_networkx(G, node_features="y")


def test_load_edge_list(tmp_path):
    """A text edge list with comments and weights; both directions; an explicit node count."""
    path = tmp_path / "g.txt"
    path.write_text("# a path\n0 1 0.5\n1 2\n\n2 3  # last\n")
    g = data.load_edge_list(path, n_node=6)
    assert g.nodes.shape == (6, 6)
    assert _edge_set(g) == [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    path.write_text("0 x\n")
    with pytest.raises(ValueError, match="expected lines of two integer node numbers, got line 1: '0 x'"):
        data.load_edge_list(path)


def test_batch_and_unbatch_round_trip():
    """Property: unbatch(batch(gs)) gives back every graph; offsets, graph index and padding as documented."""
    a = data.message_passing_example()
    b = data.graph(np.ones((3, 2)), [0, 1], [1, 2], undirected=True)
    batch = data.batch_graphs([a, b, a], n_node=16, n_edge=32)
    assert batch.nodes.shape == (16, 2) and batch.senders.shape == (32,)
    np.testing.assert_array_equal(batch.n_node, [5, 3, 5])
    np.testing.assert_array_equal(batch.node_graph, [0] * 5 + [1] * 3 + [2] * 5 + [3] * 3)
    assert int(batch.edge_mask.sum()) == 12 + 4 + 12 and int(batch.node_mask.sum()) == 13
    assert int(batch.senders[-1]) == 13 and not bool(batch.edge_mask[-1])  # padding edges on the first padding node
    back = data.unbatch_graphs(batch)
    for got, want in zip(back, [a, b, a], strict=True):
        np.testing.assert_array_equal(got.nodes, want.nodes)
        assert _edge_set(got) == _edge_set(want)
    # a batch of batches keeps the graph numbering
    twice = data.batch_graphs([batch, b])
    np.testing.assert_array_equal(np.unique(np.asarray(twice.node_graph)), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(twice.node_graph[13:], [4, 4, 4, 3, 3, 3])  # padding moves to G = 4; b is graph 3


def test_batch_is_a_pytree_through_jit():
    """A Graph passes through jax.jit as a pytree (degrees computed inside)."""
    g = data.batch_graphs([data.message_passing_example()] * 2, n_node=12, n_edge=30)
    deg = jax.jit(lambda g: jax.ops.segment_sum(g.edge_mask.astype(jnp.int32), g.receivers, num_segments=12))(g)
    np.testing.assert_array_equal(deg[:5], [2, 3, 3, 3, 1])
    np.testing.assert_array_equal(deg[10:], [0, 0])


def test_stochastic_block_model():
    """Property: within-block edges are denser; symmetric; the same key gives the same graph; labelled share."""
    t1 = data.stochastic_block_model(jax.random.key(0), (40, 60), 0.3, 0.02, d=4, train_fraction=0.1)
    t2 = data.stochastic_block_model(jax.random.key(0), (40, 60), 0.3, 0.02, d=4, train_fraction=0.1)
    np.testing.assert_array_equal(t1.graph.senders, t2.graph.senders)
    A = np.asarray(data.adjacency_matrix(t1.graph))
    np.testing.assert_array_equal(A, A.T)
    c = np.asarray(t1.labels)
    same = A[c[:, None] == c[None, :]].mean()
    diff = A[c[:, None] != c[None, :]].mean()
    assert 0.2 < same < 0.4 and diff < 0.05
    assert int(t1.train_mask[:40].sum()) == 4 and int(t1.train_mask[40:].sum()) == 6
    assert t1.graph.nodes.shape == (100, 4) and t1.num_classes == 2


def test_cycles_vs_trees_and_triangles():
    """Oracle: a cycle has n edges and all degrees 2, a tree n - 1 and is connected; triangles by networkx."""
    nx = need("networkx")
    task = data.cycles_vs_trees(jax.random.key(1), 12, n_min=4, n_max=7)
    for g, y in zip(data.unbatch_graphs(task.graphs), np.asarray(task.targets), strict=True):
        n = g.nodes.shape[0]
        G = nx.Graph(_edge_set(g))
        assert G.number_of_nodes() == n and nx.is_connected(G)
        assert G.number_of_edges() == (n if y == 1 else n - 1)
        assert (y == 1) == all(d == 2 for _, d in G.degree())
    assert 0 < int(task.targets.sum()) < 12
    tri = data.triangle_counting(jax.random.key(2), 6, n_node_each=7, p=0.5)
    for g, y in zip(data.unbatch_graphs(tri.graphs), np.asarray(tri.targets), strict=True):
        G = nx.Graph()
        G.add_nodes_from(range(7))
        G.add_edges_from(_edge_set(g))
        assert sum(nx.triangles(G).values()) / 3 == y


def test_bad_input():
    """Bad input: an edge index outside the node range names it and the node count; batching widths differ."""
    msg = "data.graph: argument `receivers` expected node indices in [0, 3) (the graph has 3 nodes), got 3 at index 1."
    with pytest.raises(ValueError) as err:
        data.graph(np.ones((3, 1)), [0, 1], [1, 3])
    assert str(err.value) == msg
    with pytest.raises(ValueError, match="expected node features of one width, got widths"):
        data.batch_graphs([data.graph(np.ones((2, 1)), [0], [1]), data.graph(np.ones((2, 2)), [0], [1])])
    with pytest.raises(ValueError, match="argument `n_node` expected at least the graph's 5 nodes, got 4"):
        data.pad_graph(data.message_passing_example(), 4, 20)
    with pytest.raises(ValueError, match="argument `p_in` expected a probability in"):
        data.stochastic_block_model(jax.random.key(0), (5, 5), 1.5)
    with pytest.raises(TypeError, match="typed PRNG key"):
        data.cycles_vs_trees(0, 3)
