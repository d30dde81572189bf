"""Tour, Chapter 8.5 (graph neural networks): a GCN on the karate club from two labels; cycles against trees."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "8",
    "GCN on Zachary's karate club from the two leaders' labels (semi-supervised, 100 Adam steps): test accuracy",
    expected={"test_accuracy": (0.8, 1.0), "final_train_loss": (0.0, 0.1)},
)
def karate_gcn(out_dir: Path) -> dict[str, float]:
    """Train a 2-layer GCN (width 16) on one-hot features with nodes 0 and 33 labelled; plot its 2-D output."""
    import jax
    import jax.numpy as jnp
    import matplotlib
    import numpy as np
    import optax

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, models

    task = data.karate_club()
    g, y = task.graph, task.labels
    params = models.init_gcn_classifier(jax.random.key(0), 34, 16, 2, dtype=jnp.float32)
    opt = optax.adam(0.02)

    def loss(p):
        z = models.gcn_classifier(p, g.nodes, g.senders, g.receivers)
        nll = jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        return jnp.sum(jnp.where(task.train_mask, nll, 0.0)) / 2.0

    @jax.jit
    def fit(p):
        def step(carry, _):
            p, s = carry
            v, grad = jax.value_and_grad(loss)(p)
            u, s = opt.update(grad, s, p)
            return (optax.apply_updates(p, u), s), v

        (p, _), losses = jax.lax.scan(step, (p, opt.init(p)), None, length=100)
        return p, losses

    params, losses = fit(params)
    z = models.gcn_classifier(params, g.nodes, g.senders, g.receivers)
    accuracy = float(jnp.mean((jnp.argmax(z, axis=1) == y)[task.test_mask]))

    emb = np.asarray(z)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    s, r = np.asarray(g.senders), np.asarray(g.receivers)
    for u, v in zip(s, r, strict=True):
        ax.plot(emb[[u, v], 0], emb[[u, v], 1], color="0.85", lw=0.5, zorder=0)
    ax.scatter(emb[:, 0], emb[:, 1], c=np.asarray(y), cmap="coolwarm", s=25)
    ax.scatter(emb[[0, 33], 0], emb[[0, 33], 1], facecolors="none", edgecolors="k", s=90, label="labelled")
    ax.set_title("Karate club: GCN output z (2-D)")
    ax.set_xlabel("z_1")
    ax.set_ylabel("z_2")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch8_karate_gcn.png", dpi=120)
    plt.close(fig)
    return {"test_accuracy": accuracy, "final_train_loss": float(losses[-1])}


@register(
    "8",
    "graph classification, cycles against random trees (GCN, max readout, 150 Adam steps): held-out accuracy",
    expected={"test_accuracy": (0.9, 1.0)},
)
def cycles_vs_trees(out_dir: Path) -> dict[str, float]:
    """Train a 2-layer GCN graph classifier on 96 batched graphs of 4-10 nodes; test on 64 new ones.

    With constant features every node of a cycle gets the same GCN output (all degrees are 2), while
    a tree's leaves differ; the max readout sees that (the mean and sum readouts learned far less here).
    """
    import jax
    import jax.numpy as jnp
    import optax

    from mathdl import data, models

    del out_dir
    train = data.cycles_vs_trees(jax.random.key(0), 96)
    test = data.cycles_vs_trees(jax.random.key(1), 64)
    params = models.init_graph_classifier(jax.random.key(2), 1, (16, 16), 2, dtype=jnp.float32)
    opt = optax.adam(0.01)

    def logits(p, t):
        G = t.graphs
        return models.graph_classifier(p, G.nodes, G.senders, G.receivers, G.node_graph, t.targets.shape[0], how="max")

    def loss(p):
        z = logits(p, train)
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, train.targets[:, None], axis=1)[:, 0])

    @jax.jit
    def fit(p):
        def step(carry, _):
            p, s = carry
            u, s = opt.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(step, (p, opt.init(p)), None, length=150)[0][0]

    params = fit(params)
    pred = jnp.argmax(jax.jit(logits)(params, test), axis=1)
    return {"test_accuracy": float(jnp.mean(pred == test.targets))}
