"""Tests of the ResNet blocks, ResNet-18/34/50, the small ResNets and the ResNeXt block ([MEDL] Sec. 6.5)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import layers, models
from tests._oracles import need
from tests._tolerances import tol
from tests.models._params import normal, random_params


def _abstract(init, *args, **kwargs):
    return jax.eval_shape(lambda k: init(k, *args, **kwargs), jax.random.key(0))


def _train_block(block, params, state, X, **kw):
    """One block in train mode over a batch (the batch is the vmap axis 'batch')."""
    return jax.vmap(
        lambda x: block(params, state, x, train=True, **kw), axis_name="batch", out_axes=(0, None)
    )(X)  # fmt: skip


# ------------------------------------------------------------------ published counts and shapes


@pytest.mark.parametrize("depth, count", [(18, 11689512), (34, 21797672), (50, 25557032)])
def test_resnet_published_counts(depth, count):
    """torchvision's counts (batch-norm gamma and beta included, running statistics excluded), from shapes only."""
    params, state = _abstract(models.init_resnet, depth, num_classes=1000, input_shape=(224, 224, 3))
    assert models.param_count(params) == count
    # the state holds a mean and a variance per batch-norm channel: as many entries as gamma and beta
    gammas = sum(leaf.size for p, leaf in jax.tree_util.tree_leaves_with_path(params) if "gamma" in str(p))
    assert models.param_count(state) == 2 * gammas


def test_resnext50_count():
    """torchvision's resnext50_32x4d: 25,028,904 parameters (groups 32, 4 channels per group at the first stage)."""
    params, _ = _abstract(models.init_resnet, 50, groups=32, width_per_group=4)
    assert models.param_count(params) == 25028904
    assert params.stages[0][0].conv2.conv.W.shape == (3, 3, 4, 128)  # 128 channels in 32 groups of 4


def test_small_resnet20_count_by_hand():
    """ResNet-20 for CIFAR-10 with projection shortcuts, by hand: 272,474.

    stem 3*16*9 + 2*16 = 464; stage 1: 3 (2*9*16*16 + 4*16) = 14016; stage 2: 9*16*32 + 9*32*32 + 4*32
    + (16*32 + 2*32) = 14528, plus 2 (2*9*32*32 + 4*32) = 37120; stage 3: 57728 + 147968; fc 64*10 + 10 = 650.
    """
    params, _ = _abstract(models.init_small_resnet, 20)
    assert models.param_count(params) == 464 + 14016 + 14528 + 37120 + 57728 + 147968 + 650 == 272474


def test_resnet18_shapes():
    """224x224x3 -> stem 112^2 x 64 -> pool 56^2 x 64 -> stages 56^2 x 64, 28^2 x 128, 14^2 x 256, 7^2 x 512 -> 1000."""
    params, state = _abstract(models.init_resnet, 18)
    fwd = functools.partial(models.resnet_forward, train=False)
    out, _ = jax.eval_shape(fwd, params, state, jax.ShapeDtypeStruct((224, 224, 3), jnp.float64))
    assert out["stem"].shape == (112, 112, 64) and out["pool"].shape == (56, 56, 64)
    assert [out[f"stages.{i}.1"].shape for i in range(4)] == [(56, 56, 64), (28, 28, 128), (14, 14, 256), (7, 7, 512)]
    assert out["avgpool"].shape == (512,) and out["fc"].shape == (1000,)
    assert [len(s) for s in params.stages] == [2, 2, 2, 2]
    # the projection shortcut is exactly where the size or the width changes
    assert [[b.shortcut is not None for b in s] for s in params.stages] == [[False, False]] + [[True, False]] * 3


# ------------------------------------------------------------------ oracles: the blocks in torch.nn, float64


def _torch_conv_bn(torch, p, s, *, stride, padding, groups=1):
    K = p.conv.W.shape[0]
    c_g, c_out = p.conv.W.shape[2:]
    conv = torch.nn.Conv2d(c_g * groups, c_out, K, stride=stride, padding=padding, groups=groups, bias=False).double()
    bn = torch.nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.1).double()  # torch's momentum = 1 - ours (0.9)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(np.asarray(p.conv.W).transpose(3, 2, 0, 1)))
        bn.weight.copy_(torch.tensor(np.asarray(p.bn.gamma)))
        bn.bias.copy_(torch.tensor(np.asarray(p.bn.beta)))
        bn.running_mean.copy_(torch.tensor(np.asarray(s.mean)))
        bn.running_var.copy_(torch.tensor(np.asarray(s.var)))
    return torch.nn.Sequential(conv, bn)


class _TorchBlock:
    """He et al.'s blocks written in torch.nn from our parameters (the oracle)."""

    def __init__(self, torch, params, state, stride, groups=1):
        self.torch = torch
        p, s = params, state
        if isinstance(p, models.BasicBlockParams):
            self.body = [
                _torch_conv_bn(torch, p.conv1, s.conv1, stride=stride, padding=1),
                _torch_conv_bn(torch, p.conv2, s.conv2, stride=1, padding=1),
            ]
        else:
            self.body = [
                _torch_conv_bn(torch, p.conv1, s.conv1, stride=1, padding=0),
                _torch_conv_bn(torch, p.conv2, s.conv2, stride=stride, padding=1, groups=groups),
                _torch_conv_bn(torch, p.conv3, s.conv3, stride=1, padding=0),
            ]
        self.shortcut = None
        if p.shortcut is not None:
            self.shortcut = _torch_conv_bn(torch, p.shortcut, s.shortcut, stride=stride, padding=0)
        self.modules = self.body + ([self.shortcut] if self.shortcut is not None else [])

    def train(self, mode):
        for m in self.modules:
            m.train(mode)

    def __call__(self, x):
        a = x
        for i, m in enumerate(self.body):
            a = m(a)
            if i < len(self.body) - 1:
                a = self.torch.relu(a)
        u = x if self.shortcut is None else self.shortcut(x)
        return self.torch.relu(u + a)


def _nchw(X):
    return np.asarray(X).transpose(0, 3, 1, 2)


@pytest.mark.parametrize(
    "kind, c_in, c_out, stride, groups",
    [("basic", 4, 4, 1, 1), ("basic", 3, 6, 2, 1), ("bottleneck", 4, 8, 2, 1), ("resnext", 4, 8, 1, 2)],
)
def test_block_torch_oracle_train_and_eval(kind, c_in, c_out, stride, groups):
    """Oracle: the block in torch.nn with copied weights: outputs in train and eval mode, the new running mean
    (torch momentum 0.1), the running variance (torch keeps the unbiased one: ours is its biased form), and the
    gradients of a weighted sum with respect to the input and the first kernel."""
    torch = need("torch")
    if kind == "basic":
        params, state = random_params(models.init_basic_block, c_in, c_out, stride=stride)
        block = models.basic_block
    elif kind == "bottleneck":
        params, state = random_params(models.init_bottleneck_block, c_in, c_out, stride=stride)
        block = models.bottleneck_block
    else:
        params, state = random_params(models.init_resnext_block, c_in, c_out, groups=groups, stride=stride)
        block = models.resnext_block
    B, H, W = 3, 6, 5
    X = normal(11, (B, H, W, c_in))
    tb = _TorchBlock(torch, params, state, stride, groups)
    Xt = torch.tensor(_nchw(X), requires_grad=True)

    tb.train(True)
    yt = tb(Xt)
    y, new_state = jax.jit(functools.partial(_train_block, block, stride=stride))(params, state, X)
    np.testing.assert_allclose(
        np.asarray(y).transpose(0, 3, 1, 2), yt.detach().numpy(), **tol(np.float64, composite=True)
    )
    bn1 = tb.body[0][1]
    np.testing.assert_allclose(new_state.conv1.mean, bn1.running_mean.numpy(), **tol(np.float64, composite=True))
    # values per channel in conv1's output: the strided output for a basic block, the input size for a bottleneck
    n = B * (y.shape[1] * y.shape[2] if kind == "basic" else H * W)
    old_var = 0.9 * np.asarray(state.conv1.var)
    var_biased = old_var + (bn1.running_var.numpy() - old_var) * (n - 1) / n
    np.testing.assert_allclose(new_state.conv1.var, var_biased, **tol(np.float64, composite=True))

    w = normal(12, y.shape)
    (yt * torch.tensor(_nchw(w))).sum().backward()

    def objective(p, x):
        return jnp.sum(w * _train_block(block, p, state, x, stride=stride)[0])

    g_params, g_x = jax.jit(jax.grad(objective, argnums=(0, 1)))(params, X)
    np.testing.assert_allclose(
        np.asarray(g_x).transpose(0, 3, 1, 2), Xt.grad.numpy(), **tol(np.float64, composite=True)
    )
    want_gW = tb.body[0][0].weight.grad.numpy().transpose(2, 3, 1, 0)
    np.testing.assert_allclose(g_params.conv1.conv.W, want_gW, **tol(np.float64, composite=True))

    tb = _TorchBlock(torch, params, state, stride, groups)  # fresh running statistics: the train pass moved them
    tb.train(False)
    y_eval = jax.jit(jax.vmap(lambda x: block(params, state, x, stride=stride, train=False)[0]))(X)
    want = tb(torch.tensor(_nchw(X))).detach().numpy()
    np.testing.assert_allclose(np.asarray(y_eval).transpose(0, 3, 1, 2), want, **tol(np.float64, composite=True))


def test_small_resnet_eval_equals_composition():
    """resnet (eval mode) is the stem, the blocks with the stage strides, the average pooling and the dense layer."""
    params, state = random_params(models.init_small_resnet, 8, num_classes=3, input_shape=(8, 8, 2))
    x = normal(13, (8, 8, 2))

    def by_hand(p, s, x):
        a = jax.nn.relu(layers.batch_norm(p.stem.bn, s.stem, layers.conv2d(p.stem.conv, x, padding=1),
                                          axis_name=None, train=False)[0])  # fmt: skip
        for i, (stage, sstate) in enumerate(zip(p.stages, s.stages, strict=True)):
            a, _ = models.basic_block(stage[0], sstate[0], a, stride=1 if i == 0 else 2, train=False)
        return layers.dense(p.fc, layers.global_avg_pool(a))

    got, same_state = jax.jit(functools.partial(models.resnet, train=False))(params, state, x)
    np.testing.assert_allclose(got, jax.jit(by_hand)(params, state, x), **tol(np.float64, composite=True))
    jax.tree.map(np.testing.assert_array_equal, same_state, state)  # eval mode leaves the state alone


# ------------------------------------------------------------------ transforms and properties


def test_resnet_train_mode_under_vmap_and_grad():
    """Train mode: batch statistics make the logits depend on the rest of the batch; the state moves; grads finite."""
    params, state = random_params(models.init_small_resnet, 8, num_classes=4, input_shape=(8, 8, 1))
    X = normal(14, (6, 8, 8, 1))
    run = jax.jit(
        lambda p, s, X: jax.vmap(
            lambda x: models.resnet(p, s, x, train=True), axis_name="batch", out_axes=(0, None)
        )(X)
    )  # fmt: skip
    logits, new_state = run(params, state, X)
    logits_half, _ = run(params, state, X[:3])
    assert not np.allclose(logits[:3], logits_half)  # other examples changed the statistics
    assert not np.allclose(new_state.stages[1][0].conv1.mean, state.stages[1][0].conv1.mean)

    def loss(p):
        z, _ = jax.vmap(lambda x: models.resnet(p, state, x, train=True), axis_name="batch", out_axes=(0, None))(X)
        return jnp.mean(z**2)

    grads = jax.jit(jax.grad(loss))(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert models.param_count(grads) == models.param_count(params)


def test_zero_last_gamma_makes_identity_block_relu():
    """Property (the 'zero-init residual' trick): with gamma = beta = 0 on the last batch norm, an identity block
    computes ReLU(x), whatever its other weights."""
    params, state = random_params(models.init_basic_block, 5, 5)
    c2 = params.conv2
    zero = c2._replace(bn=layers.BatchNormParams(jnp.zeros_like(c2.bn.gamma), jnp.zeros_like(c2.bn.beta)))
    params = params._replace(conv2=zero)
    x = normal(15, (4, 4, 5))
    y, _ = jax.jit(functools.partial(models.basic_block, train=False))(params, state, x)
    np.testing.assert_allclose(y, jax.nn.relu(x), **tol(np.float64))


def test_imagenet_resnet_small_input_runs():
    """ResNet-18 at 32x32 (the smallest allowed): 16 -> 8 -> 8, 4, 2, 1; batch-norm eval mode on one image."""
    params, state = _abstract(models.init_resnet, 18, num_classes=10, input_shape=(32, 32, 3))
    out, _ = jax.eval_shape(
        functools.partial(models.resnet_forward, train=False),
        params,
        state,
        jax.ShapeDtypeStruct((32, 32, 3), jnp.float64),
    )
    assert out["stages.3.1"].shape == (1, 1, 512) and out["fc"].shape == (10,)


def test_resnet_bad_input():
    params, state = _abstract(models.init_basic_block, 4, 4)
    with pytest.raises(ValueError, match="stride"):
        jax.eval_shape(functools.partial(models.basic_block, stride=2, train=False), params, state, jnp.ones((4, 4, 4)))
    with pytest.raises(TypeError, match="train"):
        jax.eval_shape(functools.partial(models.basic_block, train=1), params, state, jnp.ones((4, 4, 4)))
    with pytest.raises(ValueError, match="for a batch use jax.vmap"):
        jax.eval_shape(functools.partial(models.basic_block, train=False), params, state, jnp.ones((2, 4, 4, 4)))
    with pytest.raises(ValueError, match="depth"):
        models.init_resnet(jax.random.key(0), 20)
    with pytest.raises(ValueError, match="depth"):
        models.init_small_resnet(jax.random.key(0), 18)
    with pytest.raises(ValueError, match="groups"):
        models.init_resnet(jax.random.key(0), 18, groups=2)
    with pytest.raises(ValueError, match="groups"):
        models.init_bottleneck_block(jax.random.key(0), 8, 16, groups=3)
    with pytest.raises(ValueError, match="input_shape"):
        models.init_resnet(jax.random.key(0), 18, input_shape=(16, 16, 3))
