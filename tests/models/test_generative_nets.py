"""Generative networks: worked sizes and embeddings, PyTorch float64 forwards (conv encoder/decoder, U-Net
denoiser) and a NumPy forward (MLP denoiser), jit/vmap, order-2 gradients on tiny shapes, the one-example rule
and out-of-range steps (ValueError eagerly, NaN under jit)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from mathdl import models
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


def _fill(init, seed):
    """Parameters of ``init``'s structure filled with N(0, 0.5^2) NumPy draws (no compile, unlike eager inits)."""
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(init, jax.random.key(0))
    return jax.tree.map(lambda sd: jnp.asarray(0.5 * rng.normal(size=sd.shape)), shapes)


@pytest.fixture(scope="module")
def nets():
    return {
        "enc": _fill(lambda k: models.init_conv_encoder(k, (8, 8, 1), 6, widths=(3, 4)), 0),
        "dec": _fill(lambda k: models.init_conv_decoder(k, 3, (8, 8, 1), widths=(4, 3)), 1),
        "mlp": _fill(lambda k: models.init_mlp_denoiser(k, 2, hidden=(5, 4), time_dim=6), 2),
        "unet": _fill(lambda k: models.init_unet_denoiser(k, 1, widths=(2, 3), time_dim=4, time_channels=2), 3),
        "tiny_enc": _fill(lambda k: models.init_conv_encoder(k, (2, 2, 1), 2, widths=(1,)), 4),
        "tiny_dec": _fill(lambda k: models.init_conv_decoder(k, 1, (2, 2, 1), widths=(1,)), 5),
        "tiny_mlp": _fill(lambda k: models.init_mlp_denoiser(k, 2, hidden=(2,), time_dim=2), 6),
    }


def _t(a):
    return np.asarray(a)


def test_sizes_and_time_embedding(nets):
    """Worked values: the conv encoder's kernels are 4x4 (stride 2) and the head covers the 2x2 map; the decoder
    projects a 1x1 latent to 2x2 then doubles twice to 8x8; 28x28 MNIST halves to 7x7. r(0) = (0, 1, 0, 1) and
    r(1) = (sin 1, cos 1, sin(1/100), cos(1/100)) for d = 4, M = 1e4."""
    enc, dec = nets["enc"], nets["dec"]
    assert [c.W.shape for c in enc.convs] == [(4, 4, 1, 3), (4, 4, 3, 4)] and enc.head.W.shape == (2, 2, 4, 6)
    assert dec.project.W.shape == (2, 2, 3, 4) and [u.W.shape for u in dec.ups] == [(4, 4, 4, 3), (4, 4, 3, 1)]
    mnist = jax.eval_shape(lambda k: models.init_conv_encoder(k, (28, 28, 1), 4), jax.random.key(0))
    assert mnist.head.W.shape == (7, 7, 64, 4)
    assert jax.eval_shape(models.conv_encoder, mnist, jnp.zeros((28, 28, 1))).shape == (4,)
    mdec = jax.eval_shape(lambda k: models.init_conv_decoder(k, 4, (28, 28, 1)), jax.random.key(0))
    assert jax.eval_shape(models.conv_decoder, mdec, jnp.zeros(4)).shape == (28, 28, 1)
    np.testing.assert_allclose(models.time_embedding(jnp.int32(0), 4), [0.0, 1.0, 0.0, 1.0], atol=1e-15)
    want = [np.sin(1), np.cos(1), np.sin(0.01), np.cos(0.01)]
    np.testing.assert_allclose(models.time_embedding(jnp.int32(1), 4), want, rtol=1e-14)


def test_conv_encoder_decoder_against_torch(nets):
    """Oracle: torch.nn.functional.conv2d (stride 2, padding 1; then the full-map head) and conv_transpose2d (the
    1x1 latent projected, then stride 2, padding 1) in float64, from the same weights (HWIO -> OIHW / IOHW)."""
    torch = need("torch")
    F = torch.nn.functional
    enc, dec = nets["enc"], nets["dec"]
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(8, 8, 1)), rng.normal(size=3)
    u = torch.tensor(x).permute(2, 0, 1)[None]
    for c in enc.convs:
        u = F.relu(F.conv2d(u, torch.tensor(_t(c.W)).permute(3, 2, 0, 1), torch.tensor(_t(c.b)), stride=2, padding=1))
    want = F.conv2d(u, torch.tensor(_t(enc.head.W)).permute(3, 2, 0, 1), torch.tensor(_t(enc.head.b))).reshape(-1)
    np.testing.assert_allclose(models.conv_encoder(enc, jnp.asarray(x)), want.numpy(), **TOL)

    def up(p, v, **kw):
        return F.conv_transpose2d(v, torch.tensor(_t(p.W)).permute(2, 3, 0, 1), torch.tensor(_t(p.b)), **kw)

    v = F.relu(up(dec.project, torch.tensor(z).reshape(1, 3, 1, 1)))
    v = F.relu(up(dec.ups[0], v, stride=2, padding=1))
    v = up(dec.ups[1], v, stride=2, padding=1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(models.conv_decoder(dec, jnp.asarray(z)), v, **TOL)


def _sinusoid(t, d):
    i2 = 2 * (np.arange(d) // 2)
    ang = t / 1e4 ** (i2 / d)
    return np.where(np.arange(d) % 2 == 0, np.sin(ang), np.cos(ang))


def test_mlp_denoiser_against_numpy(nets):
    """Oracle: a NumPy forward of [z; r(t)] through the SiLU MLP, with r(t) written from (7.29)."""
    p = nets["mlp"]
    z = np.array([0.3, -1.2])
    h = np.concatenate([z, _sinusoid(17, 6)])
    for i, layer in enumerate(p.mlp):
        h = _t(layer.W) @ h + _t(layer.b)
        if i < len(p.mlp) - 1:
            h = h / (1 + np.exp(-h))
    np.testing.assert_allclose(models.mlp_denoiser(p, jnp.asarray(z), jnp.int32(17)), h, **TOL)


def test_unet_denoiser_against_torch(nets):
    """Oracle: the time channels (A r(t) + a, broadcast) concatenated to z_t and a U-Net written with
    torch.nn.functional (3x3 convs, max_pool2d, conv_transpose2d, skip concatenation, 1x1 head) in float64."""
    torch = need("torch")
    F = torch.nn.functional
    p = nets["unet"]
    net = p.unet
    x = np.random.default_rng(1).normal(size=(4, 4, 1))
    c = _t(p.time.W) @ _sinusoid(5, 4) + _t(p.time.b)
    inp = np.concatenate([x, np.broadcast_to(c, (4, 4, 2))], axis=-1)

    def conv(q, u, pad=1):
        return F.conv2d(u, torch.tensor(_t(q.W)).permute(3, 2, 0, 1), torch.tensor(_t(q.b)), padding=pad)

    def double(pair, u):
        for q in pair:
            u = F.relu(conv(q, u))
        return u

    u = torch.tensor(inp).permute(2, 0, 1)[None]
    s0 = double(net.down[0], u)
    b = double(net.bottom, F.max_pool2d(s0, 2))
    W_up = torch.tensor(_t(net.up[0].W)).permute(2, 3, 0, 1)
    upv = F.relu(F.conv_transpose2d(b, W_up, torch.tensor(_t(net.up[0].b)), stride=2))
    want = conv(net.head, double(net.dec[0], torch.cat([upv, s0], dim=1)), pad=0)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(models.unet_denoiser(p, jnp.asarray(x), jnp.int32(5)), want, **TOL)


def test_jit_vmap_and_second_order_gradients(nets):
    """Transforms: jit of a vmapped batch equals the eager one-example call; check_grads order 2 (float64) on tiny
    networks with smooth activations (tanh) with respect to inputs and parameters."""
    rng = np.random.default_rng(2)
    z = jnp.asarray(rng.normal(size=(3, 2)))
    t = jnp.array([0, 4, 999], jnp.int32)
    batched = jax.jit(jax.vmap(models.mlp_denoiser, in_axes=(None, 0, 0)))(nets["mlp"], z, t)
    np.testing.assert_allclose(batched[1], models.mlp_denoiser(nets["mlp"], z[1], t[1]), **TOL)
    imgs = jnp.asarray(rng.normal(size=(2, 8, 8, 1)))
    enc = jax.jit(jax.vmap(models.conv_encoder, in_axes=(None, 0)))(nets["enc"], imgs)
    np.testing.assert_allclose(enc[1], models.conv_encoder(nets["enc"], imgs[1]), **TOL)
    tiny_enc, tiny_dec, tiny_mlp = nets["tiny_enc"], nets["tiny_dec"], nets["tiny_mlp"]
    x0 = jnp.asarray(rng.normal(size=(2, 2, 1)))
    # jitted: check_grads calls the function many times, and eager convolutions dispatch op by op
    check_grads(
        jax.jit(lambda p, x: models.conv_encoder(p, x, activation="tanh")), (tiny_enc, x0), order=2, modes=["rev"]
    )
    check_grads(
        jax.jit(lambda p, v: models.conv_decoder(p, v, activation="tanh")),
        (tiny_dec, jnp.ones(1)),
        order=2,
        modes=["rev"],
    )
    check_grads(
        jax.jit(lambda p, v: models.mlp_denoiser(p, v, jnp.int32(3), activation="tanh")), (tiny_mlp, z[0]), order=2
    )


def test_gan_networks():
    """Worked value: a generator and discriminator are MLPs with one output logit; the conv discriminator is the
    encoder with one output, and a batch gives one logit per image under vmap."""
    g = _fill(lambda k: models.init_mlp_generator(k, 3, 2, hidden=(4,)), 7)
    d = _fill(lambda k: models.init_mlp_discriminator(k, 2, hidden=(4,)), 8)
    assert [layer.W.shape for layer in g] == [(4, 3), (2, 4)] and d[-1].W.shape == (1, 4)
    x = models.mlp_generator(g, jnp.ones(3))
    want = _t(d[1].W) @ np.where((h := _t(d[0].W) @ _t(x) + _t(d[0].b)) > 0, h, 0.01 * h) + _t(d[1].b)
    np.testing.assert_allclose(models.mlp_discriminator(d, x), want[0], **TOL)
    cd = _fill(lambda k: models.init_conv_discriminator(k, (8, 8, 1), widths=(2,)), 9)
    assert jax.vmap(models.conv_discriminator, in_axes=(None, 0))(cd, jnp.zeros((5, 8, 8, 1))).shape == (5,)


def test_bad_inputs(nets):
    """Bad input: batches are refused with a vmap hint, wrong shapes and channels named, a step outside
    [0, max_steps) raises eagerly and is NaN under jit, non-divisible sizes refused at init."""
    with pytest.raises(ValueError, match=r"models.conv_encoder: argument `x` expected one image .* use jax.vmap"):
        models.conv_encoder(nets["enc"], jnp.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"argument `x` expected an image of shape \(8, 8, 1\)"):
        models.conv_encoder(nets["enc"], jnp.zeros((16, 16, 1)))
    with pytest.raises(ValueError, match=r"models.conv_decoder: argument `z` expected one example .* use jax.vmap"):
        models.conv_decoder(nets["dec"], jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"models.mlp_denoiser: argument `t` expected steps in \[0, 1000\), got 1000"):
        models.mlp_denoiser(nets["mlp"], jnp.zeros(2), jnp.int32(1000))
    with pytest.raises(ValueError, match=r"models.unet_denoiser: argument `t` expected steps in \[0, 8\), got -1"):
        models.unet_denoiser(nets["unet"], jnp.zeros((4, 4, 1)), jnp.int32(-1), max_steps=8)
    out = jax.jit(models.mlp_denoiser)(nets["mlp"], jnp.zeros(2), jnp.int32(1000))
    assert np.all(np.isnan(out))
    with pytest.raises(ValueError, match=r"argument `z_t` expected C = 1 channels"):
        models.unet_denoiser(nets["unet"], jnp.zeros((4, 4, 3)), jnp.int32(0))
    with pytest.raises(TypeError, match="argument `t` expected an integer"):
        models.mlp_denoiser(nets["mlp"], jnp.zeros(2), jnp.float32(1.0))
    with pytest.raises(
        ValueError, match=r"models.init_conv_encoder: argument `input_shape` expected H and W divisible"
    ):
        models.init_conv_encoder(jax.random.key(0), (28, 28, 1), 2, widths=(4, 4, 4))
    with pytest.raises(ValueError, match="argument `params` expected a last layer with one output"):
        models.mlp_discriminator(models.init_mlp_generator(jax.random.key(0), 2, 2), jnp.zeros(2))
