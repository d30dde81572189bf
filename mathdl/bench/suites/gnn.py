r"""Graph-network training epochs ([MEDL] Ch. 8, Sec. 8.5): mathdl against hand-written JAX and PyTorch Geometric.

One full-batch epoch (forward, backward, Adam update; float32) of a node classifier with a masked
cross-entropy on the labelled nodes:

* ``gcn_epoch_karate`` / ``gat_epoch_karate``: Zachary's karate club (34 nodes, 156 directed edges,
  one-hot features), a 2-layer GCN of width 16 and a 2-layer GAT (8 heads of 8, then 1 averaged head);
* ``gcn_epoch_sbm`` / ``gat_epoch_sbm``: a stochastic block model with two blocks of 1000 nodes
  (``p_in = 0.01``, ``p_out = 0.001``, about 22,000 directed edges, 32 features; quick: 2 x 50
  nodes), the same networks; the full run only (``--quick`` times the karate cases).

Columns:

* ``mathdl``: :func:`mathdl.models.gcn_classifier` / :func:`mathdl.models.gat_classifier` in a
  jitted step with donated parameters and optimizer state (``optax.adam`` in every JAX column);
* ``jax``: the same network written by hand with ``jax.ops.segment_sum`` / ``segment_max``, the
  normalisation computed inside the step as the library does;
* ``torch``: PyTorch Geometric's ``GCNConv`` / ``GATConv`` (eager) with ``torch.optim.Adam``.

FLOPs per epoch: three times the forward matrix products $2 n d_{in} d_{out}$ of every layer (the
sparse aggregation and the update ignored).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl.bench._registry import SkipCase, register_case

_SBM = {False: (1000, 0.01, 0.001, 32), True: (50, 0.1, 0.01, 8)}
_GCN_HIDDEN = 16
_GAT_HIDDEN, _GAT_HEADS = 8, 8


def _graph(which, quick):
    from mathdl import data

    if which == "karate":
        task = data.karate_club()
    else:
        m, p_in, p_out, d = _SBM[quick]
        task = data.stochastic_block_model(jax.random.key(0), (m, m), p_in, p_out, d=d, train_fraction=0.1)
    g = task.graph
    x = np.asarray(g.nodes, np.float32)
    return x, np.asarray(g.senders), np.asarray(g.receivers), np.asarray(task.labels), np.asarray(task.train_mask), 2


def _flops(kind, which):
    def flops(quick):
        x, s, _, _, _, K = _graph(which, quick)
        n, d = x.shape
        if kind == "gcn":
            sizes = [(d, _GCN_HIDDEN), (_GCN_HIDDEN, K)]
        else:
            sizes = [(d, _GAT_HIDDEN * _GAT_HEADS), (_GAT_HIDDEN * _GAT_HEADS, K)]
        return 3.0 * sum(2.0 * n * a * b for a, b in sizes)

    return flops


class _Box:
    def __init__(self, *state):
        self.state = state


def _ce(z, y, mask):
    nll = jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
    return jnp.sum(jnp.where(mask, nll, jnp.zeros((), z.dtype))) / jnp.sum(mask).astype(z.dtype)


def _stepper(loss, params, batch):
    opt = optax.adam(1e-2)

    def step(p, o, *batch):
        value, g = jax.value_and_grad(loss)(p, *batch)
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), o, value

    jstep = jax.jit(step, donate_argnums=(0, 1))
    box = _Box(params, opt.init(params))

    def run():
        p, o, v = jstep(*box.state, *batch)
        box.state = (p, o)
        return v

    return run


# ------------------------------------------------------------------ mathdl


def _mathdl(kind, x, s, r, y, mask, K):
    try:
        from mathdl import models
    except ImportError as exc:
        raise SkipCase(f"mathdl.models not importable ({exc})") from exc
    key = jax.random.key(0)
    d = x.shape[1]
    if kind == "gcn":
        params = models.init_gcn_classifier(key, d, _GCN_HIDDEN, K, dtype=jnp.float32)
        net = models.gcn_classifier
    else:
        params = models.init_gat_classifier(key, d, _GAT_HIDDEN, K, heads=_GAT_HEADS, dtype=jnp.float32)
        net = models.gat_classifier

    def loss(p, x, s, r, y, mask):
        return _ce(net(p, x, s, r), y, mask)

    return _stepper(loss, params, tuple(jnp.asarray(a) for a in (x, s, r, y, mask)))


# ------------------------------------------------------------------ hand-written JAX


def _glorot(key, shape):
    a = np.sqrt(6.0 / sum(shape[-2:]))
    return jax.random.uniform(key, shape, jnp.float32, -a, a)


def _hand_gcn(x, s, r, y, mask, K):
    k1, k2 = jax.random.split(jax.random.key(0))
    d = x.shape[1]
    params = {"W1": _glorot(k1, (d, _GCN_HIDDEN)), "b1": jnp.zeros(_GCN_HIDDEN), "W2": _glorot(k2, (_GCN_HIDDEN, K)),
              "b2": jnp.zeros(K)}  # fmt: skip

    def propagate(h, s, r):
        n = h.shape[0]
        deg = jax.ops.segment_sum(jnp.ones(s.shape[0], h.dtype), r, num_segments=n) + 1.0
        inv = jax.lax.rsqrt(deg)
        return jax.ops.segment_sum((inv[s] * inv[r])[:, None] * h[s], r, num_segments=n) + h / deg[:, None]

    def loss(p, x, s, r, y, mask):
        h = jax.nn.relu(propagate(x @ p["W1"], s, r) + p["b1"])
        return _ce(propagate(h @ p["W2"], s, r) + p["b2"], y, mask)

    return _stepper(loss, params, tuple(jnp.asarray(a) for a in (x, s, r, y, mask)))


def _hand_gat(x, s, r, y, mask, K):
    keys = jax.random.split(jax.random.key(0), 6)
    d, H, C = x.shape[1], _GAT_HEADS, _GAT_HIDDEN
    params = [
        {"W": _glorot(keys[0], (d, H * C)), "as": _glorot(keys[1], (H, C)), "ad": _glorot(keys[2], (H, C)),
         "b": jnp.zeros(H * C)},
        {"W": _glorot(keys[3], (H * C, K)), "as": _glorot(keys[4], (1, K)), "ad": _glorot(keys[5], (1, K)),
         "b": jnp.zeros(K)},
    ]  # fmt: skip

    def layer(p, h, s, r, heads, concat):
        n = h.shape[0]
        loops = jnp.arange(n, dtype=s.dtype)
        s, r = jnp.concatenate([s, loops]), jnp.concatenate([r, loops])
        z = (h @ p["W"]).reshape(n, heads, -1)
        e = jax.nn.leaky_relu((z * p["as"]).sum(-1)[s] + (z * p["ad"]).sum(-1)[r], 0.2)
        e = jnp.exp(e - jax.lax.stop_gradient(jax.ops.segment_max(e, r, num_segments=n))[r])
        alpha = e / jax.ops.segment_sum(e, r, num_segments=n)[r]
        out = jax.ops.segment_sum(alpha[:, :, None] * z[s], r, num_segments=n)
        return (out.reshape(n, -1) if concat else out.mean(1)) + p["b"]

    def loss(p, x, s, r, y, mask):
        h = jax.nn.elu(layer(p[0], x, s, r, H, True))
        return _ce(layer(p[1], h, s, r, 1, False), y, mask)

    return _stepper(loss, params, tuple(jnp.asarray(a) for a in (x, s, r, y, mask)))


# ------------------------------------------------------------------ PyTorch Geometric


def _torch(kind, x, s, r, y, mask, K):
    try:
        import torch
        from torch_geometric.nn import GATConv, GCNConv
    except ImportError:
        return {}
    if jax.devices()[0].platform != "cpu":
        return {}  # torch on CPU is no peer of an accelerator run
    torch.manual_seed(0)
    d = x.shape[1]
    if kind == "gcn":
        convs = torch.nn.ModuleList([GCNConv(d, _GCN_HIDDEN), GCNConv(_GCN_HIDDEN, K)])
        act = torch.relu
    else:
        convs = torch.nn.ModuleList(
            [GATConv(d, _GAT_HIDDEN, heads=_GAT_HEADS), GATConv(_GAT_HIDDEN * _GAT_HEADS, K, heads=1, concat=False)]
        )
        act = torch.nn.functional.elu
    opt = torch.optim.Adam(convs.parameters(), lr=1e-2)
    xt = torch.from_numpy(np.array(x))
    ei = torch.from_numpy(np.stack([s, r]).astype(np.int64))
    yt = torch.from_numpy(np.array(y)).long()
    mt = torch.from_numpy(np.array(mask))

    def run():
        opt.zero_grad(set_to_none=True)
        z = convs[1](act(convs[0](xt, ei)), ei)
        loss = torch.nn.functional.cross_entropy(z[mt], yt[mt])
        loss.backward()
        opt.step()
        return loss.detach()

    return {"torch": run}


def _case(kind, which):
    def make(quick: bool):
        if quick and which != "karate":
            raise SkipCase("the block model is timed in the full run only (--quick compiles the karate cases)")
        x, s, r, y, mask, K = _graph(which, quick)
        impls = {"mathdl": _mathdl(kind, x, s, r, y, mask, K)}
        impls["jax"] = (_hand_gcn if kind == "gcn" else _hand_gat)(x, s, r, y, mask, K)
        impls.update(_torch(kind, x, s, r, y, mask, K))
        return impls

    what = "the karate club" if which == "karate" else "a 2000-node stochastic block model"
    make.__doc__ = f"One full-batch Adam epoch of a 2-layer {kind.upper()} node classifier on {what}."
    return make


for _kind in ("gcn", "gat"):
    for _which in ("karate", "sbm"):
        register_case("gnn", f"{_kind}_epoch_{_which}", flops=_flops(_kind, _which))(_case(_kind, _which))
