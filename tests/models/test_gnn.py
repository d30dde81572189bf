"""Tests of mathdl.models graph networks ([MEDL] Ch. 8, Sec. 8.5): GCN/GAT node classifiers, graph classifier, links."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl import data, models, optim
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


def _np_gcn_layer(A, H, W, b):
    At = A + np.eye(A.shape[0])
    Dm = np.diag(1 / np.sqrt(At.sum(1)))
    return Dm @ At @ Dm @ H @ W.T + b


@pytest.fixture(scope="module")
def karate():
    return data.karate_club()


def test_gcn_classifier_equals_numpy_two_layers(karate):
    """Oracle: Z = A^ ReLU(A^ X W1^T + b1) W2^T + b2 in dense NumPy on the karate club."""
    g = karate.graph
    params = models.init_gcn_classifier(jax.random.key(0), 34, 4, 2)
    z, (h1,) = jax.jit(models.gcn_classifier, static_argnames="return_hidden")(
        params, g.nodes, g.senders, g.receivers, return_hidden=True
    )
    A = np.asarray(data.adjacency_matrix(g))
    (W1, b1), (W2, b2) = ((np.asarray(p.W), np.asarray(p.b)) for p in params)
    want_h = np.maximum(_np_gcn_layer(A, np.asarray(g.nodes), W1, b1), 0)
    np.testing.assert_allclose(h1, want_h, **TOL)
    np.testing.assert_allclose(z, _np_gcn_layer(A, want_h, W2, b2), **TOL)


def test_gat_classifier_vs_torch_geometric(karate):
    """Oracle: two PyG GATConv layers (4 concatenated heads, ELU, 1 averaged head) with the weights copied."""
    torch = need("torch")
    pyg = need("torch_geometric.nn")
    g = karate.graph
    params = models.init_gat_classifier(jax.random.key(1), 34, 3, 2, heads=4)
    ours = jax.jit(models.gat_classifier)(params, g.nodes, g.senders, g.receivers)
    convs = [pyg.GATConv(34, 3, heads=4).double(), pyg.GATConv(12, 2, heads=1, concat=False).double()]
    with torch.no_grad():
        for conv, p in zip(convs, params, strict=True):
            for name, value in zip(("lin.weight", "att_src", "att_dst", "bias"), p, strict=True):
                param = conv.get_parameter(name)
                param.copy_(torch.from_numpy(np.array(value).reshape(param.shape)))
    ei = torch.from_numpy(np.stack([np.asarray(g.senders), np.asarray(g.receivers)]).astype(np.int64))
    x = torch.from_numpy(np.array(g.nodes))
    want = convs[1](torch.nn.functional.elu(convs[0](x, ei)), ei).detach().numpy()
    np.testing.assert_allclose(ours, want, **TOL)


def test_karate_semi_supervised_training(karate):
    """Property: 60 Adam steps on the two labelled leaders classify most of the other 32 members."""
    g, y = karate.graph, karate.labels
    params = models.init_gcn_classifier(jax.random.key(0), 34, 16, 2)
    opt = optim.adam(0.02)

    def loss(p):
        z = models.gcn_classifier(p, g.nodes, g.senders, g.receivers)
        nll = jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.sum(jnp.where(karate.train_mask, nll, 0.0)) / 2.0

    def run(p):
        def step(carry, _):
            p, s = carry
            v, grad = jax.value_and_grad(loss)(p)
            u, s = opt.update(grad, s, p)
            return (optax.apply_updates(p, u), s), v

        (p, _), losses = jax.lax.scan(step, (p, opt.init(p)), None, length=60)
        return p, losses

    params, losses = jax.jit(run)(params)
    pred = jnp.argmax(models.gcn_classifier(params, g.nodes, g.senders, g.receivers), axis=1)
    accuracy = float(jnp.mean((pred == y.astype(pred.dtype))[karate.test_mask]))
    assert losses[-1] < 0.1 * losses[0]
    assert accuracy >= 0.8


def test_graph_classifier_batch_equals_each_graph():
    """Property: on a padded batch each graph's output equals the graph alone (no edge joins components)."""
    task = data.cycles_vs_trees(jax.random.key(3), 4, n_min=4, n_max=6)
    single = data.unbatch_graphs(task.graphs)
    padded = data.pad_graph(task.graphs, 30, 60)
    fn = jax.jit(models.graph_classifier, static_argnames=("n_graph", "how"))
    for conv, how in (("sage", "max"),):  # one compile; gcn with the mean readout runs in the tour
        params = models.init_graph_classifier(jax.random.key(4), 1, (5, 5), 2, conv=conv)
        G = padded
        out = fn(
            params,
            G.nodes,
            G.senders,
            G.receivers,
            G.node_graph,
            4,
            how=how,
            node_mask=G.node_mask,
            edge_mask=G.edge_mask,
        )
        for i, g in enumerate(single):
            B = data.pad_graph(g, 30, 60)  # the same shapes: one compile
            alone = fn(
                params,
                B.nodes,
                B.senders,
                B.receivers,
                B.node_graph,
                4,
                how=how,
                node_mask=B.node_mask,
                edge_mask=B.edge_mask,
            )
            np.testing.assert_allclose(out[i], alone[0], **TOL)


def test_link_predictor_and_gradients(karate):
    """Oracle: the scores are dot products of the encoder's embeddings; gradients are finite on all layers."""
    g = karate.graph
    params = models.init_link_predictor(jax.random.key(5), 34, (8, 4))
    ps, pr = jnp.array([0, 5, 33]), jnp.array([33, 6, 32])
    A = np.asarray(data.adjacency_matrix(g))
    (W1, b1), (W2, b2) = ((np.asarray(p.W), np.asarray(p.b)) for p in params)
    H = _np_gcn_layer(A, np.maximum(_np_gcn_layer(A, np.asarray(g.nodes), W1, b1), 0), W2, b2)

    def f(p):
        return models.link_predictor(p, g.nodes, g.senders, g.receivers, ps, pr)

    scores, vjp = jax.vjp(jax.jit(f), params)
    np.testing.assert_allclose(scores, np.sum(H[np.asarray(ps)] * H[np.asarray(pr)], axis=1), **TOL)
    (grads,) = vjp(jnp.ones(3))
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(grads))


def test_bad_input():
    """Bad input: widths, the conv kind, the readout, and an edge index outside the graph."""
    with pytest.raises(ValueError, match="argument `hidden` expected a positive int, got 0"):
        models.init_gcn_classifier(jax.random.key(0), 3, (4, 0), 2)
    with pytest.raises(ValueError, match="argument `conv` expected one of"):
        models.init_graph_classifier(jax.random.key(0), 3, 4, 2, conv="gin")
    g = data.message_passing_example()
    gp = models.init_graph_classifier(jax.random.key(0), 2, 3, 2)
    with pytest.raises(ValueError, match="argument `how` expected one of"):
        models.graph_classifier(gp, g.nodes, g.senders, g.receivers, g.node_graph, 1, how="min")
