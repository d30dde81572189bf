"""Tests of mathdl.layers graph layers ([MEDL] Ch. 8, Sec. 8.5): message passing, GCN, GraphSAGE, GAT, readouts."""

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import layers
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)

# a small graph worked by hand: undirected edges 0-1 0-2 1-2 2-3 3-4 1-3, listed both ways
PAIRS = np.array([(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (1, 3)])
S = jnp.asarray(np.concatenate([PAIRS[:, 0], PAIRS[:, 1]]))
R = jnp.asarray(np.concatenate([PAIRS[:, 1], PAIRS[:, 0]]))
H = jnp.stack([jnp.arange(5.0), jnp.ones(5)], axis=1)  # h_v = (v, 1)


# jitted once per module: a jitted call compiles one program, an eager call compiles every op (far slower here)
GCN = jax.jit(layers.gcn, static_argnames=("self_loops",))
GAT = jax.jit(layers.gat, static_argnames=("concat", "negative_slope", "return_attention"))
SAGE = jax.jit(layers.graph_sage, static_argnames=("how",))
MP = jax.jit(layers.message_passing, static_argnames=("how", "message_fn", "update_fn"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _random_graph(rng, n, p=0.4):
    A = np.triu(rng.random((n, n)) < p, 1)
    A = A | A.T
    s, r = np.nonzero(A.T)  # A[r, s]: rows are receivers
    return jnp.asarray(s), jnp.asarray(r)


def _random_graph_78(rng):
    """34 nodes and 78 undirected edges, the karate club's shapes (so the jitted layers compile once)."""
    iu = np.transpose(np.triu_indices(34, 1))
    e = iu[rng.choice(iu.shape[0], 78, replace=False)]
    return jnp.asarray(np.concatenate([e[:, 0], e[:, 1]])), jnp.asarray(np.concatenate([e[:, 1], e[:, 0]]))


def _dense_adjacency(s, r, n):
    A = np.zeros((n, n))
    for u, v in zip(np.asarray(s), np.asarray(r), strict=True):
        A[v, u] += 1.0
    return A


def _karate():
    nx = need("networkx")
    G = nx.karate_club_graph()
    e = np.array(list(G.edges()))
    return jnp.asarray(np.concatenate([e[:, 0], e[:, 1]])), jnp.asarray(np.concatenate([e[:, 1], e[:, 0]]))


def test_worked_neighbour_sum_mean_max():
    """By hand: the neighbours of 0..4 are {1,2}, {0,2,3}, {0,1,3}, {1,2,4}, {3}."""
    np.testing.assert_allclose(layers.message_passing(H, S, R), [[3, 2], [5, 3], [4, 3], [7, 3], [3, 1]])
    mean = MP(H, S, R, how="mean")
    np.testing.assert_allclose(mean, [[1.5, 1], [5 / 3, 1], [4 / 3, 1], [7 / 3, 1], [3, 1]], **tol(np.float64))
    np.testing.assert_allclose(MP(H, S, R, how="max"), [[2, 1], [3, 1], [3, 1], [4, 1], [3, 1]])


def test_worked_gcn_normalisation():
    """By hand: degrees with the self loop are d~ = (3, 4, 4, 4, 2); edge 3->4 weighs 1/sqrt(8), node 4's loop 1/2."""
    w, w_self = layers.gcn_normalise(S, R, 5)
    np.testing.assert_allclose(w_self, [1 / 3, 1 / 4, 1 / 4, 1 / 4, 1 / 2], **tol(np.float64))
    k = int(np.flatnonzero((np.asarray(S) == 3) & (np.asarray(R) == 4))[0])
    np.testing.assert_allclose(w[k], 1 / np.sqrt(8.0), **tol(np.float64))


def test_message_passing_custom_functions_and_edge_features(rng):
    """Oracle: a NumPy loop over edges for MSG(h_u, h_v, e) = e * (h_u - h_v), UPDATE = h + a."""
    e = jnp.asarray(rng.normal(size=(S.shape[0], 1)))
    out = layers.message_passing(
        H, S, R, edges=e, message_fn=lambda hs, hr, ed: ed * (hs - hr), update_fn=lambda h, a: h + a
    )
    want = np.array(H)
    for k, (u, v) in enumerate(zip(np.asarray(S), np.asarray(R), strict=True)):
        want[v] += np.asarray(e)[k] * (np.asarray(H)[u] - np.asarray(H)[v])
    np.testing.assert_allclose(out, want, **TOL)


@pytest.mark.parametrize("n", [6, 11])
def test_gcn_equals_dense_formula(rng, n):
    """Oracle: D~^{-1/2} (A + I) D~^{-1/2} H W^T + b in dense NumPy, with an isolated node (the last)."""
    s, r = _random_graph(rng, n - 1)
    h = jnp.asarray(rng.normal(size=(n, 3)))
    p = layers.GCNParams(jnp.asarray(rng.normal(size=(4, 3))), jnp.asarray(rng.normal(size=4)))
    A = _dense_adjacency(s, r, n) + np.eye(n)
    Dm = np.diag(1 / np.sqrt(A.sum(1)))
    want = Dm @ A @ Dm @ np.asarray(h) @ np.asarray(p.W).T + np.asarray(p.b)
    np.testing.assert_allclose(GCN(p, h, s, r), want, **TOL)
    np.testing.assert_allclose(layers.gcn_propagate(h, s, r), Dm @ A @ Dm @ np.asarray(h), **TOL)
    np.testing.assert_allclose(GCN(p, h, s, r)[-1], np.asarray(p.W) @ np.asarray(h)[-1] + np.asarray(p.b), **TOL)


def _torch_graph(torch, s, r):
    return torch.from_numpy(np.stack([np.asarray(s), np.asarray(r)]).astype(np.int64))


def _copy(torch, param, value):
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.array(value).reshape(param.shape)))


@pytest.mark.parametrize("graph", ["karate", "random"])
def test_gcn_sage_gat_vs_torch_geometric(rng, graph):
    """Oracle: PyTorch Geometric's GCNConv, SAGEConv and GATConv (3 heads, concat and mean) in float64."""
    torch = need("torch")
    pyg = need("torch_geometric.nn")
    s, r = _karate() if graph == "karate" else _random_graph_78(rng)
    n = 34
    x = rng.normal(size=(n, 5))
    xt, ei = torch.from_numpy(x), _torch_graph(torch, s, r)
    p = layers.GCNParams(jnp.asarray(rng.normal(size=(4, 5))), jnp.asarray(rng.normal(size=4)))
    conv = pyg.GCNConv(5, 4).double()
    _copy(torch, conv.lin.weight, p.W)
    _copy(torch, conv.bias, p.b)
    np.testing.assert_allclose(GCN(p, x, s, r), conv(xt, ei).detach().numpy(), **TOL)

    sp = layers.SAGEParams(*(jnp.asarray(rng.normal(size=sh)) for sh in ((4, 5), (4, 5), (4,))))
    sage = pyg.SAGEConv(5, 4).double()
    _copy(torch, sage.lin_r.weight, sp.W_self)
    _copy(torch, sage.lin_l.weight, sp.W_neigh)
    _copy(torch, sage.lin_l.bias, sp.b)
    np.testing.assert_allclose(SAGE(sp, x, s, r), sage(xt, ei).detach().numpy(), **TOL)

    for concat in (True, False):
        gp = layers.GATParams(
            *(jnp.asarray(rng.normal(size=sh)) for sh in ((3, 2, 5), (3, 2), (3, 2), (6 if concat else 2,)))
        )
        att = pyg.GATConv(5, 2, heads=3, concat=concat).double()
        for name, value in zip(("lin.weight", "att_src", "att_dst", "bias"), gp, strict=True):
            _copy(torch, att.get_parameter(name), value)
        out, (ei_t, alpha_t) = att(xt, ei, return_attention_weights=True)
        ours, alpha = GAT(gp, x, s, r, concat=concat, return_attention=True)
        np.testing.assert_allclose(ours, out.detach().numpy(), **TOL)
        # PyG appends one self loop per node after the edges, as gat does
        np.testing.assert_array_equal(ei_t.numpy()[1], np.concatenate([np.asarray(r), np.arange(n)]))
        np.testing.assert_allclose(alpha, alpha_t.detach().numpy(), **TOL)


def test_gat_attention_rows_sum_to_one(rng):
    """Property: over a node's neighbours and itself the weights sum to 1 per head; an isolated node: itself."""
    n = 10
    for _ in range(2):
        s, r = _random_graph(rng, n - 1, p=0.3)
        gp = layers.init_gat(jax.random.key(0), 3, 4, heads=2)
        _, alpha = GAT(gp, jnp.asarray(rng.normal(size=(n, 3))), s, r, return_attention=True)
        rr = np.concatenate([np.asarray(r), np.arange(n)])
        sums = np.stack([np.asarray(alpha)[rr == v].sum(0) for v in range(n)])
        np.testing.assert_allclose(sums, np.ones((n, 2)), **TOL)
        np.testing.assert_allclose(alpha[-1], [1.0, 1.0], **TOL)  # the isolated last node's self loop
        assert np.all(np.asarray(alpha) >= 0)


def test_segment_softmax_and_masks():
    """Oracle: softmax per segment in NumPy; a masked entry is 0, a fully masked segment all zeros."""
    scores = jnp.array([1.0, 2.0, 0.5, -1.0, 3.0])
    seg = jnp.array([0, 0, 1, 1, 2])
    mask = jnp.array([True, True, True, False, False])
    out = layers.segment_softmax(scores, seg, 4, mask=mask)
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(out, [*(e / e.sum()), 1.0, 0.0, 0.0], **tol(np.float64))


def test_padding_contributes_nothing(rng):
    """Property: a graph padded with masked nodes and edges gives the same rows on real nodes, zeros on padding."""
    s, r = _random_graph(rng, 6)
    x = jnp.asarray(rng.normal(size=(6, 3)))
    pad_n = 3
    xp = jnp.concatenate([x, jnp.asarray(rng.normal(size=(pad_n, 3)))])  # padding features are not zero
    sp = jnp.concatenate([s, jnp.array([6, 7, 0, 8])])  # padding edges touch real node 0 too
    rp = jnp.concatenate([r, jnp.array([7, 0, 6, 8])])
    nm = jnp.arange(9) < 6
    em = jnp.arange(sp.shape[0]) < s.shape[0]
    gp = layers.init_gat(jax.random.key(0), 3, 2, heads=2)
    p = layers.init_gcn(jax.random.key(1), 3, 2)
    for fn, params in ((GCN, p), (GAT, gp)):  # SAGE masks through the same aggregation as MP
        full = fn(params, x, s, r)
        padded = fn(params, xp, sp, rp, node_mask=nm, edge_mask=em)
        np.testing.assert_allclose(padded[:6], full, **TOL)
        np.testing.assert_array_equal(padded[6:], 0.0)
    # an edge between a real node and a padding node is padding even if edge_mask says True
    np.testing.assert_allclose(GCN(p, xp, sp, rp, node_mask=nm)[:6], GCN(p, x, s, r), **TOL)


def test_vmap_over_padded_graphs_equals_loop(rng):
    """Transforms: jax.jit(jax.vmap(gcn / gat)) over 3 equal-size padded graphs equals a loop."""
    graphs = [_random_graph(rng, 5) for _ in range(3)]
    E = max(g[0].shape[0] for g in graphs)
    Sb = jnp.stack([jnp.concatenate([s, jnp.zeros(E - s.shape[0], s.dtype)]) for s, _ in graphs])
    Rb = jnp.stack([jnp.concatenate([r, jnp.zeros(E - r.shape[0], r.dtype)]) for _, r in graphs])
    Mb = jnp.stack([jnp.arange(E) < s.shape[0] for s, _ in graphs])
    Xb = jnp.asarray(rng.normal(size=(3, 5, 2)))
    p = layers.init_gcn(jax.random.key(0), 2, 3)
    gp = layers.init_gat(jax.random.key(1), 2, 3, heads=2, concat=False)

    def both(x, s, r, m):
        return GCN(p, x, s, r, edge_mask=m), GAT(gp, x, s, r, edge_mask=m, concat=False)

    got = jax.jit(jax.vmap(both))(Xb, Sb, Rb, Mb)
    jboth = jax.jit(both)
    for i in range(3):
        want = jboth(Xb[i], Sb[i], Rb[i], Mb[i])
        np.testing.assert_allclose(got[0][i], want[0], **TOL)
        np.testing.assert_allclose(got[1][i], want[1], **TOL)


def test_check_grads_order_2(rng):
    """Transforms: check_grads to order 2 (float64) through gat, the nonlinear layer (gcn and graph_sage are linear)."""
    s, r = jnp.array([0, 1, 1, 2]), jnp.array([1, 0, 2, 1])
    x = jnp.asarray(rng.normal(size=(3, 2)))
    gp = layers.init_gat(jax.random.key(2), 2, 2, heads=2)

    def f(x, W, a):
        return jnp.sum(jnp.sin(layers.gat(gp._replace(W=W, a_src=a), x, s, r)))

    jax.test_util.check_grads(jax.jit(f), (x, gp.W, gp.a_src), order=2, modes=["rev"])


def test_edge_cases_isolated_and_empty():
    """Edge: no edges at all gives W h + b (GCN), W_self h + b (SAGE), zero aggregates; no real nodes reads out 0."""
    x = jnp.array([[1.0, 2.0], [3.0, -1.0]])
    none = jnp.zeros((0,), jnp.int32)
    p = layers.GCNParams(jnp.array([[1.0, 0.5]]), jnp.array([0.25]))
    np.testing.assert_allclose(GCN(p, x, none, none), [[2.25], [2.75]], **tol(np.float64))
    for how in layers.AGGREGATIONS:
        np.testing.assert_array_equal(MP(x, none, none, how=how), 0.0)
        empty = jax.jit(layers.readout, static_argnames="how")(x, how=how, node_mask=jnp.array([False, False]))
        np.testing.assert_array_equal(empty, [0.0, 0.0])
    gp = layers.init_gat(jax.random.key(0), 2, 3)
    out = GAT(gp, x, none, none)
    np.testing.assert_allclose(out, x @ gp.W[0].T, **TOL)  # attends only to itself
    assert GCN(p, jnp.zeros((0, 2)), none, none).shape == (0, 1)
    assert not np.isnan(
        np.asarray(jax.jit(layers.gcn_propagate, static_argnames="self_loops")(x, none, none, self_loops=False))
    ).any()


def test_readouts_and_link_scores(rng):
    """Oracle: NumPy sums, means and maxima per graph; dot and bilinear scores."""
    h = jnp.asarray(rng.normal(size=(7, 3)))
    gi = jnp.array([0, 0, 1, 1, 1, 3, 3])  # graph 2 is empty; index 3 = padding of 3 graphs
    hn = np.asarray(h)
    seg = jax.jit(layers.segment_readout, static_argnames=("n_graph", "how"))
    one = jax.jit(layers.readout, static_argnames=("how",))
    for how, f in (("sum", np.sum), ("mean", np.mean), ("max", np.max)):
        got = seg(h, gi, 3, how=how)
        want = np.stack([f(hn[:2], 0), f(hn[2:5], 0), np.zeros(3)])
        np.testing.assert_allclose(got, want, **TOL)
        np.testing.assert_allclose(one(h, how=how), f(hn, 0), **TOL)
    W = jnp.asarray(rng.normal(size=(3, 3)))
    su, sv = jnp.array([0, 4]), jnp.array([6, 2])
    np.testing.assert_allclose(layers.link_scores(h, su, sv), [hn[0] @ hn[6], hn[4] @ hn[2]], **TOL)
    want = [hn[0] @ np.asarray(W) @ hn[6], hn[4] @ np.asarray(W) @ hn[2]]
    np.testing.assert_allclose(layers.link_scores(h, su, sv, W=W), want, **TOL)


def test_bad_input_edge_index_eager_and_jit():
    """Bad input: an index outside [0, n) is refused eagerly, naming it and the node count; NaN under jit."""
    p = layers.init_gcn(jax.random.key(0), 2, 3)
    bad = S.at[3].set(7)
    msg = "layers.gcn: argument `senders` expected node indices in [0, 5) (the graph has 5 nodes), got 7 at index 3."
    with pytest.raises(ValueError) as err:
        layers.gcn(p, H, bad, R)
    assert str(err.value) == msg
    with pytest.raises(ValueError, match=r"argument `receivers` expected node indices in \[0, 5\).*-1 at index 0"):
        layers.message_passing(H, S, R.at[0].set(-1))
    assert np.isnan(np.asarray(jax.jit(layers.gcn)(p, H, bad, R))).all()
    # a padding edge may hold any index
    em = jnp.arange(S.shape[0]) != 3
    assert np.isfinite(np.asarray(layers.gcn(p, H, bad, R, edge_mask=em))).all()


def test_bad_input_shapes():
    """Bad input: a batch of graphs points to jax.vmap; unknown aggregation; a bias that does not fit concat."""
    p = layers.init_gcn(jax.random.key(0), 2, 3)
    with pytest.raises(ValueError, match="for a batch use jax.vmap"):
        layers.gcn(p, H[None], S, R)
    with pytest.raises(ValueError, match="argument `receivers` expected shape"):
        layers.gcn(p, H, S, R[:-1])
    with pytest.raises(TypeError, match="argument `senders` expected an integer array"):
        layers.gcn(p, H, S.astype(float), R)
    with pytest.raises(ValueError, match=r"argument `how` expected one of \('sum', 'mean', 'max'\), got 'min'"):
        layers.message_passing(H, S, R, how="min")
    gp = layers.init_gat(jax.random.key(1), 2, 3, heads=2, concat=True)
    with pytest.raises(ValueError, match=r"argument `params.b` expected shape \(3,\) for concat=False"):
        layers.gat(gp, H, S, R, concat=False)
