"""The embedding CNN of a Siamese network: shapes, unit norm, transforms, the one-image rule, and the property that
batch-hard triplet training on digits lowers the triplet loss and raises nearest-neighbour accuracy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data, losses, models, optim, train
from tests._tolerances import tol

# init under jit: one compile instead of one per eager random draw
init = jax.jit(models.init_embedding_net, static_argnums=(1, 2), static_argnames=("widths", "dtype"))


@pytest.fixture(scope="module")
def net():
    return init(jax.random.key(0), (8, 8, 1), 4, widths=(4, 8))


def test_shapes_norm_and_transforms(net, transform):
    """Transforms: shape (d,), unit norm, normalize=False is the raw map, vmap equals eager; the parameter count by
    hand."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 8, 8, 1)))
    z = transform(models.embedding_net)(net, x[0])
    assert z.shape == (4,)
    np.testing.assert_allclose(jnp.linalg.norm(z), 1.0, **tol(np.float64))
    g = models.embedding_net(net, x[0], normalize=False)
    np.testing.assert_allclose(z, g / jnp.linalg.norm(g), **tol(np.float64))
    batched = jax.vmap(models.embedding_net, in_axes=(None, 0))(net, x)
    np.testing.assert_allclose(batched[1], models.embedding_net(net, x[1]), **tol(np.float64, composite=True))
    assert sum(leaf.size for leaf in jax.tree.leaves(net)) == (1 * 9 * 4 + 4) + (4 * 9 * 8 + 8) + (2 * 2 * 8 * 4 + 4)


def test_one_image_rule(net):
    """Bad input: a batch, another image size, a non-bool flag and a size not divisible by 2^L are refused."""
    with pytest.raises(ValueError, match=r"models.embedding_net: argument `x` expected one image .* use jax.vmap"):
        models.embedding_net(net, jnp.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="argument `x` expected an image of the shape the parameters were built for"):
        models.embedding_net(net, jnp.zeros((16, 16, 1)))
    with pytest.raises(TypeError, match="argument `normalize` expected a bool"):
        models.embedding_net(net, jnp.zeros((8, 8, 1)), normalize=1)
    with pytest.raises(
        ValueError, match="models.init_embedding_net: argument `input_shape` expected H and W divisible"
    ):
        models.init_embedding_net(jax.random.key(0), (6, 8, 1), 4, widths=(4, 8))


@pytest.mark.slow  # a short training run: 10-30 s on 2 shared cores, most of it compiling
def test_triplet_training_separates_digit_classes():
    """Property: 6 epochs of train.fit with the batch-hard triplet loss on 600 digits lower the held-out triplet
    loss and raise 1-nearest-neighbour accuracy in the embedding well above the untrained network's."""
    ds = data.load("digits")
    X = jnp.asarray(ds.X[:600], jnp.float32).reshape(-1, 8, 8, 1) / 16.0
    y = jnp.asarray(ds.y[:600])
    k_split, k_init, k_fit = jax.random.split(jax.random.key(1), 3)
    (Xtr, ytr), (Xte, yte) = data.split(k_split, (X, y), fractions=(0.7, 0.3))
    params = init(k_init, (8, 8, 1), 8, widths=(16, 32), dtype=jnp.float32)
    embed = jax.jit(jax.vmap(models.embedding_net, in_axes=(None, 0)))

    def loss_fn(p, batch, key):
        x, labels = batch
        z = jax.vmap(models.embedding_net, in_axes=(None, 0))(p, x)
        valid = losses.mine_batch_hard(z, labels).valid
        return jnp.sum(losses.batch_hard_triplet_loss(z, labels)) / jnp.maximum(jnp.sum(valid), 1).astype(z.dtype)

    def nn_accuracy(p):
        a, b = embed(p, Xtr), embed(p, Xte)
        d = jnp.sum((b[:, None, :] - a[None, :, :]) ** 2, axis=-1)
        return float(jnp.mean(ytr[jnp.argmin(d, axis=1)] == yte))

    loss_before, acc_before = float(loss_fn(params, (Xte, yte), None)), nn_accuracy(params)
    result = train.fit(
        loss_fn, optim.adam(3e-3), params, (Xtr, ytr), key=k_fit, epochs=6, batch_size=64, progress=False
    )
    loss_after, acc_after = float(loss_fn(result.params, (Xte, yte), None)), nn_accuracy(result.params)
    assert loss_after < loss_before
    assert acc_after > acc_before + 0.15 and acc_after > 0.8, (acc_before, acc_after)
