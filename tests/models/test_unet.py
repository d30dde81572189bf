"""The U-Net: shapes and parameter count by hand, a PyTorch forward written independently, transforms, the
one-image rule, and a short train.fit run on noisy shapes that raises the Dice coefficient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data, layers, losses, metrics, models, optim, train
from tests._oracles import need
from tests._tolerances import tol

# init under jit: one compile instead of one per eager random draw (compiling dominated these tests)
init_unet = jax.jit(models.init_unet, static_argnums=(1, 2), static_argnames=("widths", "dtype"))


@pytest.fixture(scope="module")
def net():
    return init_unet(jax.random.key(0), 1, 2, widths=(4, 8))


def test_shapes_and_parameter_count(net):
    """Worked value: widths (4, 8), 1 -> 2 channels. By hand, K_out (c_in K_h K_w + 1) per layer: encoder 1->4->4: 40 +
    148; bottleneck 4->8->8: 296 + 584; transposed 2x2 8->4: 4 (8 * 4 + 1) = 132; decoder 8->4->4: 292 + 148; head
    1x1 4->2: 10. Total 1650."""
    assert jax.eval_shape(models.unet, net, jnp.zeros((8, 12, 1))).shape == (8, 12, 2)
    count = sum(leaf.size for leaf in jax.tree.leaves(net))
    assert count == 40 + 148 + 296 + 584 + 132 + 292 + 148 + 10 == 1650
    by_layer = [layers.conv_param_count(a, b, k) for a, b, k in [(1, 4, 3), (4, 4, 3), (4, 8, 3), (8, 8, 3)]]
    by_layer += [layers.conv_param_count(8, 4, 2), layers.conv_param_count(8, 4, 3), layers.conv_param_count(4, 4, 3)]
    assert sum(by_layer) + layers.conv_param_count(4, 2, 1) == count
    deeper = jax.eval_shape(lambda k: models.init_unet(k, 3, 1, widths=(2, 4, 8)), jax.random.key(1))
    assert jax.eval_shape(models.unet, deeper, jnp.zeros((16, 8, 3))).shape == (16, 8, 1)


def test_against_torch(net):
    """Oracle: the same architecture written with torch.nn.functional (conv2d, max_pool2d, conv_transpose2d,
    cat) on NCHW tensors, from the same weights (HWIO -> OIHW, and IOHW for the transposed layer)."""
    torch = need("torch")
    F = torch.nn.functional
    x = np.random.default_rng(0).normal(size=(8, 8, 1))

    def conv(p, u, pad=1):
        return F.conv2d(
            u, torch.tensor(np.asarray(p.W)).permute(3, 2, 0, 1), torch.tensor(np.asarray(p.b)), padding=pad
        )

    def double(pair, u):
        for p in pair:
            u = F.relu(conv(p, u))
        return u

    u = torch.tensor(x).permute(2, 0, 1)[None]
    s0 = double(net.down[0], u)
    b = double(net.bottom, F.max_pool2d(s0, 2))
    W_up = torch.tensor(np.asarray(net.up[0].W)).permute(2, 3, 0, 1)  # (C_in, C_out, K_h, K_w)
    up = F.relu(F.conv_transpose2d(b, W_up, torch.tensor(np.asarray(net.up[0].b)), stride=2))
    d = double(net.dec[0], torch.cat([up, s0], dim=1))
    want = conv(net.head, d, pad=0)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(models.unet(net, jnp.asarray(x)), want, **tol(np.float64, composite=True))


def test_transforms(net, transform):
    """Transforms: jit equals the vmapped batch; gradients are finite and reach the first layer."""
    x = jnp.asarray(np.random.default_rng(1).normal(size=(3, 8, 8, 1)))
    batched = jax.vmap(models.unet, in_axes=(None, 0))(net, x)
    np.testing.assert_allclose(transform(models.unet)(net, x[2]), batched[2], **tol(np.float64, composite=True))
    g = jax.jit(jax.grad(lambda p: jnp.sum(models.unet(p, x[0]) ** 2)))(net)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(g))
    assert float(jnp.abs(g.down[0][0].W).sum()) > 0  # the gradient reaches the first layer through the skip


def test_one_image_rule_and_sizes(net):
    """Bad input: a batch, sizes not divisible by 2^L, a channel mismatch, one width and an int image are refused."""
    with pytest.raises(ValueError, match=r"models.unet: argument `x` expected one image .* use jax.vmap"):
        models.unet(net, jnp.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"argument `x` expected H and W divisible by 2\^L = 2"):
        models.unet(net, jnp.zeros((7, 8, 1)))
    with pytest.raises(ValueError, match="argument `x` expected C = 1 channels"):
        models.unet(net, jnp.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="models.init_unet: argument `widths` expected at least 2 positive ints"):
        models.init_unet(jax.random.key(0), 1, 1, widths=(4,))
    with pytest.raises(TypeError, match="argument `x` expected a floating-point array"):
        models.unet(net, jnp.zeros((8, 8, 1), jnp.int32))


def _dice(params, ds):
    z = jax.vmap(models.unet, in_axes=(None, 0))(params, ds.images)[..., 0]
    return float(jnp.mean(metrics.dice_coefficient(z > 0, ds.masks > 0)))


@pytest.mark.slow  # a short training run: 10-30 s on 2 shared cores, most of it compiling
def test_training_through_fit_raises_the_dice():
    """Property: on noisy shapes (sigma = 0.6, where thresholding the pixels is poor) a few epochs of train.fit on
    the pixel-wise logistic loss raise the held-out Dice above both the start and thresholding at 0.5."""
    k_tr, k_te, k_init, k_fit = jax.random.split(jax.random.key(2), 4)
    tr = data.shapes(k_tr, 96, size=16, max_objects=2, noise=0.6)
    te = data.shapes(k_te, 48, size=16, max_objects=2, noise=0.6)
    params = init_unet(k_init, 1, 1, widths=(4, 8))

    def example_loss(p, example):
        x, m = example
        z = models.unet(p, x)[..., 0]
        return jnp.mean(losses.binary_cross_entropy_with_logits(z, (m > 0).astype(z.dtype)))

    before = _dice(params, te)
    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(1e-2),
        params,
        (tr.images, tr.masks),
        key=k_fit,
        epochs=8,
        batch_size=16,
        progress=False,
    )
    after = _dice(result.params, te)
    threshold = float(jnp.mean(metrics.dice_coefficient(te.images[..., 0] > 0.5, te.masks > 0)))
    assert after > before + 0.1 and after > threshold, (before, after, threshold)
