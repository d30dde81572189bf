"""Tests of the Flax NNX modules (mathdl.nn): equal to the pure functions, NNX oracles, training via to_pure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from mathdl import layers, losses, models, nn, train
from tests._tolerances import tol


def test_linear_and_mlp_equal_pure_functions(getkey):
    """Pinned: nn.Linear == layers.dense and nn.MLP == models.mlp (vmapped) on the module's own parameters."""
    lin = nn.Linear(4, 3, rngs=nnx.Rngs(0))
    X = jax.random.normal(getkey(), (5, 4))
    np.testing.assert_array_equal(lin(X), jax.vmap(lambda x: layers.dense(lin.params, x))(X))
    np.testing.assert_array_equal(lin(X[0]), layers.dense(lin.params, X[0]))
    net = nn.MLP([4, 6, 2], activation=jnp.tanh, rngs=nnx.Rngs(1))
    np.testing.assert_array_equal(net(X), jax.vmap(lambda x: models.mlp(net.params, x, activation=jnp.tanh))(X))
    assert models.count_params([4, 6, 2]) == sum(v.size for v in jax.tree.leaves(nnx.state(net, nnx.Param)))


def test_linear_vs_flax_linear(getkey):
    """Oracle: flax.nnx.Linear with kernel = Wᵀ (Flax stores (in, out)) gives the same outputs."""
    lin = nn.Linear(4, 3, rngs=nnx.Rngs(0))
    ref = nnx.Linear(4, 3, rngs=nnx.Rngs(0), param_dtype=jnp.float64)
    ref.kernel[...] = lin.W[...].T
    ref.bias[...] = jax.random.normal(getkey(), (3,))
    lin.b[...] = ref.bias[...]
    X = jax.random.normal(getkey(), (7, 4))
    np.testing.assert_allclose(lin(X), ref(X), **tol(np.float64))


def test_batch_norm_module(getkey):
    """Pinned to layers.batch_norm; oracle flax.nnx.BatchNorm (float32); train() updates, eval() uses running stats."""
    X = jax.random.normal(getkey(), (16, 3), jnp.float32) * 2 + 1
    bn = nn.BatchNorm(3, dtype=jnp.float32)
    ref = nnx.BatchNorm(3, momentum=0.9, epsilon=1e-5, use_running_average=False, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(bn(X), ref(X), **tol(np.float32, composite=True))
    np.testing.assert_allclose(bn.mean[...], ref.mean[...], **tol(np.float32, composite=True))
    np.testing.assert_allclose(bn.var[...], ref.var[...], **tol(np.float32, composite=True))
    bn.eval()
    ref.eval()
    before = np.asarray(bn.mean[...])
    np.testing.assert_allclose(bn(X[:1]), ref(X[:1]), **tol(np.float32, composite=True))  # batch of 1 fine in eval
    np.testing.assert_array_equal(bn.mean[...], before)
    bn.train()
    with pytest.raises(ValueError, match=r"^nn.BatchNorm: argument `x` expected at least 2 values per channel"):
        bn(X[:1])
    with pytest.raises(ValueError, match=r"nn.BatchNorm: argument `x` expected a batch of shape \(n, ..., C\)"):
        bn(X[0])


def test_layer_norm_and_dropout_modules(getkey):
    """Pinned: nn.LayerNorm == layers.layer_norm; nn.Dropout with key= == layers.dropout; eval() is the identity."""
    ln = nn.LayerNorm(5)
    X = jax.random.normal(getkey(), (3, 5))
    np.testing.assert_array_equal(ln(X), jax.vmap(lambda x: layers.layer_norm(layers.init_layer_norm(5), x))(X))
    np.testing.assert_array_equal(ln(X[0]), layers.layer_norm(layers.init_layer_norm(5), X[0]))  # one example too
    d = nn.Dropout(0.25, rngs=nnx.Rngs(dropout=0))
    k = getkey()
    k2 = jax.random.clone(k)  # the same mask twice on purpose
    np.testing.assert_array_equal(d(X, key=k), layers.dropout(k2, X, rate=0.25, train=True))
    y1, y2 = d(X), d(X)  # the module's own stream advances between calls
    assert not np.array_equal(y1, y2)
    d.eval()
    np.testing.assert_array_equal(d(X), X)
    with pytest.raises(ValueError, match=r"nn.Dropout: argument `rate` expected a value in \[0.0, 1.0\), got 1.0"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match=r"nn.Dropout: argument `key` expected a key"):
        nn.Dropout(0.5)(X)


def test_to_pure_jit_equals_module(getkey):
    """Transforms: jax.jit(apply) == the module call; batch-norm running statistics come back as new state."""

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.lin = nn.Linear(3, 4, rngs=rngs)
            self.bn = nn.BatchNorm(4)

        def __call__(self, x):
            return self.bn(self.lin(x))

    model = Net(nnx.Rngs(0))
    apply, params, state = nn.to_pure(model)
    X = jax.random.normal(getkey(), (8, 3))
    out, new_state = jax.jit(apply)(params, state, X)
    np.testing.assert_allclose(out, model(X), **tol(np.float64, composite=True))
    np.testing.assert_allclose(new_state["bn"]["mean"][...], model.bn.mean[...], **tol(np.float64))
    grads = jax.grad(lambda p: jnp.sum(apply(p, state, X)[0] ** 2))(params)
    assert jax.tree.structure(grads) == jax.tree.structure(params)


def test_train_through_engine_and_update(getkey):
    """Property: nn.MLP trained through train.fit via to_pure learns a separable rule; update_module writes it back."""
    model = nn.MLP([2, 16, 2], rngs=nnx.Rngs(0))
    apply, params, state = nn.to_pure(model)
    X = jax.random.normal(getkey(), (128, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(jnp.int64)

    def loss_fn(params, state, batch, key):
        del key
        Xb, yb = batch
        logits, state = apply(params, state, Xb)
        return losses.softmax_cross_entropy(logits, yb).mean(), state

    result = train.fit(
        loss_fn,
        optax.sgd(0.3),  # optax.adam is not strict-dtype-promotion safe (tests run strict)
        params,
        (X, y),
        model_state=state,
        key=getkey(),
        epochs=30,
        batch_size=32,
        progress=False,
    )
    nn.update_module(model, result.params, result.model_state)
    assert float(jnp.mean(model(X).argmax(-1) == y)) > 0.95


def test_bad_inputs():
    """Bad inputs: non-modules to to_pure/update_module; bad widths, hyperparameters and shapes are refused by the
    module, and the message names the module (nn.Linear), not the pure function it delegates to."""
    with pytest.raises(TypeError, match=r"nn.to_pure: argument `module` expected a flax.nnx.Module, got 'dict'"):
        nn.to_pure({})
    with pytest.raises(TypeError, match=r"nn.update_module: argument `module` expected a flax.nnx.Module"):
        nn.update_module(3, {})
    with pytest.raises(ValueError, match=r"nn.MLP: argument `widths` expected at least two widths"):
        nn.MLP([3], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"^nn.Linear: argument `d_in` expected a positive int, got 0"):
        nn.Linear(0, 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"^nn.Linear: argument `init` expected one of"):
        nn.Linear(2, 2, init="orthogonal", rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match=r"^nn.Linear: argument `dtype` expected a floating dtype"):
        nn.Linear(2, 2, dtype=jnp.int32, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"^nn.Linear: argument `x` expected shape \(4, 3\), got shape \(4, 5\)"):
        nn.Linear(3, 2, rngs=nnx.Rngs(0))(jnp.ones((4, 5)))
    with pytest.raises(ValueError, match=r"^nn.MLP: argument `x` expected shape \(4, 3\), got shape \(4, 5\)"):
        nn.MLP([3, 2], rngs=nnx.Rngs(0))(jnp.ones((4, 5)))
    with pytest.raises(ValueError, match=r"^nn.MLP: argument `activation` expected one of"):
        nn.MLP([3, 4, 2], activation="swishy", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"^nn.LayerNorm: argument `x` expected shape \(2, 3\), got shape \(2, 4\)"):
        nn.LayerNorm(3)(jnp.ones((2, 4)))
    with pytest.raises(ValueError, match=r"^nn.LayerNorm: argument `eps` expected a value > 0"):
        nn.LayerNorm(3, eps=0.0)
    with pytest.raises(ValueError, match=r"^nn.BatchNorm: argument `x` expected shape \(5, 3\), got shape \(5, 4\)"):
        nn.BatchNorm(3)(jnp.ones((5, 4)))
    with pytest.raises(ValueError, match=r"^nn.BatchNorm: argument `momentum` expected a value in"):
        nn.BatchNorm(3, momentum=2.0)
    with pytest.raises(TypeError, match=r"^nn.Dropout: argument `x` expected a floating-point array"):
        nn.Dropout(0.5, rngs=nnx.Rngs(dropout=0))(jnp.ones(3, jnp.int32))
    with pytest.raises(TypeError, match=r"^nn.Dropout: argument `key` expected a typed PRNG key"):
        nn.Dropout(0.5)(jnp.ones(3), key=jax.random.PRNGKey(0))
    np.testing.assert_array_equal(nn.Linear(2, 1, rngs=nnx.Rngs(0))([1.0, 2.0]).shape, (1,))  # a list is accepted
