"""Tests of the NNX graph modules (mathdl.nn): equal to the pure functions in mathdl.layers, trainable under nnx.jit."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mathdl import layers, nn, optim
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)
S = jnp.array([0, 1, 1, 2, 2, 3])
R = jnp.array([1, 0, 2, 1, 3, 2])


def test_graph_modules_equal_pure_functions():
    """Pinned: each module is its layers function on its own parameters (a path graph of 4 nodes)."""
    h = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)))
    em = jnp.array([True, True, True, True, False, False])
    gcn = nn.GCNConv(3, 2, rngs=nnx.Rngs(0))
    sage = nn.SAGEConv(3, 2, how="max", rngs=nnx.Rngs(1))
    gat = nn.GATConv(3, 2, heads=2, concat=False, rngs=nnx.Rngs(2))

    @jax.jit
    def both(h):
        return (
            gcn(h, S, R, edge_mask=em),
            layers.gcn(gcn.params, h, S, R, edge_mask=em),
            sage(h, S, R),
            layers.graph_sage(sage.params, h, S, R, how="max"),
            gat(h, S, R),
            layers.gat(gat.params, h, S, R, concat=False),
        )

    out = both(h)
    for i in range(0, 6, 2):
        np.testing.assert_allclose(out[i], out[i + 1], **TOL)
    assert out[4].shape == (4, 2) and gat.b.shape == (2,)


def test_gcn_module_trains_under_nnx_jit():
    """Property: a few Adam steps through nnx.jit lower a squared error on one graph."""
    h = jnp.eye(4)
    target = jnp.array([[1.0], [0.0], [0.0], [1.0]])
    model = nn.GCNConv(4, 1, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optim.adam(0.1), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt):
        def loss(m):
            return jnp.mean((m(h, S, R) - target) ** 2)

        value, grads = nnx.value_and_grad(loss)(model)
        opt.update(model, grads)
        return value

    first = step(model, opt)
    for _ in range(20):
        last = step(model, opt)
    assert float(last) < 0.5 * float(first)
