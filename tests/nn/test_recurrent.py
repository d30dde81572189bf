"""Tests of the NNX recurrent modules (mathdl.nn.RNN, LSTM, GRU): equal to the pure functions in
mathdl.layers on one sequence and on a batch (B, T, p), Flax's nnx.GRUCell as an oracle of the
PyTorch convention, trainable through to_pure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from mathdl import layers, nn
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    """Test data from NumPy: no PRNG program to compile per shape."""
    return np.random.default_rng(0)


def test_modules_equal_pure_functions(rng):
    """Pinned: each module is its layers function, vmapped over the batch; mask and return_state pass through."""
    X = jnp.asarray(rng.normal(size=(2, 5, 3)))
    mask = jnp.asarray([[True] * 5, [True] * 3 + [False] * 2])
    gru_pt = nn.GRU(3, 4, convention="pytorch", rngs=nnx.Rngs(2))
    for mod, fn in (
        (nn.RNN(3, 4, rngs=nnx.Rngs(0)), layers.rnn),
        (nn.LSTM(3, 4, rngs=nnx.Rngs(1)), layers.lstm),
        (gru_pt, lambda p, x, **k: layers.gru(p, x, convention="pytorch", **k)),
    ):
        H, final = jax.jit(lambda X, mk, mod=mod: mod(X, mask=mk, return_state=True))(X, mask)
        one = jax.jit(lambda x, mk, mod=mod, fn=fn: fn(mod.params, x, mask=mk))
        for b in range(2):
            want_H, want_final = one(X[b], mask[b])
            np.testing.assert_allclose(H[b], want_H, **TOL)
            jax.tree.map(lambda a, w, b=b: np.testing.assert_allclose(a[b], w, **TOL), final, want_final)
        assert jax.eval_shape(mod, X[None]).shape == (1, 2, 5, 4)  # any leading batch axes
        assert jax.eval_shape(mod, X[0]).shape == (5, 4)  # or one sequence (T, p)
    assert gru_pt.b_hn is not None and nn.GRU(3, 4, rngs=nnx.Rngs(3)).b_hn is None


def test_gru_pytorch_convention_vs_flax_gru_cell(rng):
    """Oracle: flax.nnx.GRUCell (r, z, n; reset after the product) equals convention="pytorch" step by step."""
    ref = nnx.GRUCell(3, 4, rngs=nnx.Rngs(0), param_dtype=jnp.float64)
    # Flax stores row-orientation kernels (in, out): ours are their transposes, gates r, z, n
    W_x = jnp.stack([ref.dense_i.kernel[...][:, k * 4 : (k + 1) * 4].T for k in range(3)])
    W_h = jnp.stack([ref.dense_h.kernel[...][:, k * 4 : (k + 1) * 4].T for k in range(3)])
    assert ref.dense_h.bias is None  # Flax's recurrent product has no bias: b_hn = 0
    params = layers.GRUParams(W_x, W_h, ref.dense_i.bias[...].reshape(3, 4), jnp.zeros(4))
    X = jnp.asarray(rng.normal(size=(5, 3)))
    h = jnp.zeros(4)
    for x_t in X:
        h, _ = ref(h, x_t)
    np.testing.assert_allclose(layers.gru(params, X, convention="pytorch")[1], h, **TOL)


def test_trains_through_to_pure(rng):
    """An LSTM -> last state -> Linear model trained by a jitted pure step through nn.to_pure lowers its loss."""

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.lstm = nn.LSTM(2, 6, rngs=rngs)
            self.head = nnx.Linear(6, 1, rngs=rngs, param_dtype=jnp.float64)

        def __call__(self, x):
            return self.head(self.lstm(x)[:, -1])

    net = Net(nnx.Rngs(0))
    X = jnp.asarray(rng.normal(size=(8, 5, 2)))
    y = X[:, :, 0].sum(axis=1, keepdims=True)  # a many-to-one target
    apply, params, state = nn.to_pure(net)
    opt = optax.sgd(0.1)

    @jax.jit
    def step(params, opt_state):
        loss, g = jax.value_and_grad(lambda q: jnp.mean((apply(q, state, X)[0] - y) ** 2))(params)
        u, opt_state = opt.update(g, opt_state, params)
        return optax.apply_updates(params, u), opt_state, loss

    opt_state = opt.init(params)
    losses = []
    for _ in range(15):
        params, opt_state, loss = step(params, opt_state)
        losses.append(float(loss))
    assert losses[-1] < 0.7 * losses[0]
