r"""Convolutional-network training steps ([MEDL] Ch. 6): mathdl against hand-written JAX and PyTorch eager.

One Adam step (forward, backward, update; float32) of two networks:

* ``lenet_step``: LeNet-5 (D2L form, ReLU, max pooling) on a batch of 128 ``28x28x1`` images;
* ``small_resnet_step``: the small ResNet-20 (He et al. 2016, Sec. 4.2; batch norm with batch
  statistics, running averages updated) on a batch of 32 ``32x32x3`` images.

Each with mathdl's convolution path ``xla`` (the CPU default) and ``im2col``
(``lenet_step_im2col``, ``small_resnet_step_im2col``). And the way :func:`mathdl.train.fit` runs an
epoch, many steps inside one ``lax.scan``:

* ``lenet_scan_20_steps`` (and ``_im2col``): 20 Adam steps of LeNet-5 on batches of 32 in one
  ``lax.scan`` (``jax``: the hand-written step scanned the same way; ``torch``: 20 eager steps). On
  XLA:CPU the convolution inside a scanned loop is much slower than the same convolution in a step
  called from Python, and the im2col path is not (2 shared cores: 620 ms ``xla`` and 715 ms
  hand-written JAX against 193 ms ``im2col`` for the 20 steps; a 40-epoch LeNet fit took 175 s
  scanned against 60 s step by step on ``xla``, 62 s scanned on ``im2col``). The single-step cases
  cannot see this.

Columns:

* ``mathdl``: :func:`mathdl.models.image_classifier`'s loss (the one-image model under
  ``jax.vmap``) in :func:`mathdl.train.make_train_step`, jitted with donated parameters and
  optimizer state, as :func:`mathdl.train.fit` runs it, with ``optax.adam`` in every JAX column so
  that the ratios compare networks, not optimizers;
* ``jax``: the same network written by hand on NHWC batches (``lax.conv_general_dilated``,
  ``lax.reduce_window``, batched matrix products, batch norm over axes ``(0, 1, 2)``), jitted with
  donation;
* ``torch``: the same network in ``torch.nn`` (NCHW, eager) with ``torch.optim.Adam``;
  ``torch_compile`` the same under ``torch.compile`` (left out when it cannot compile here, and
  with ``--quick``).

FLOPs per step: three times the forward multiply-adds counted twice,
$3 \cdot 2 B \sum_{\text{conv}} H_{out} W_{out} C_{out} K_h K_w C_{in} + 3 \cdot 2 B \sum_{\text{dense}} N_{out} N_{in}$
(pooling, normalisation and the update ignored), compared with the measured matmul peak.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from mathdl.bench._registry import SkipCase, register_case

# name: (batch, input shape, depth or None), full and quick
_LENET = {False: (128, (28, 28, 1)), True: (4, (12, 12, 1))}
_RESNET = {False: (32, (32, 32, 3), 20), True: (2, (8, 8, 3), 8)}
_DN = ("NHWC", "HWIO", "NHWC")


def _data(batch, shape, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, *shape)).astype(np.float32)
    y = rng.integers(0, num_classes, size=batch).astype(np.int32)
    return jnp.asarray(X), jnp.asarray(y)


class _Box:
    """Holds the evolving training state between timed calls (each call is one step)."""

    def __init__(self, *state):
        self.state = state


# ------------------------------------------------------------------ FLOPs from the model's own shapes


def _conv_flops(params, forward, shape, state=None) -> float:
    """2 x multiply-adds of every convolution and dense layer of one example's forward pass.

    A convolution's output size is that of the longest summary row its parameter path starts with
    (``stages.1.0.conv1.conv`` -> the block ``stages.1.0``; ``conv1`` -> ``conv1``), exact for LeNet
    and the basic-block ResNets timed here.
    """
    from mathdl import models
    from mathdl.layers import Conv2dParams, DenseParams

    shapes = {r.name: r.shape for r in models.summary(forward, params, shape, state=state).rows}
    total = 0.0
    leaves = jax.tree_util.tree_flatten_with_path(params, is_leaf=lambda v: isinstance(v, Conv2dParams | DenseParams))
    for path, leaf in leaves[0]:
        if isinstance(leaf, DenseParams):
            total += 2.0 * math.prod(leaf.W.shape)
        elif isinstance(leaf, Conv2dParams):
            parts = [str(getattr(k, "name", getattr(k, "idx", k))) for k in path]
            row = next(".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in shapes)
            K_h, K_w, C_g, C_out = leaf.W.shape
            H_out, W_out = shapes[row][:2]
            total += 2.0 * H_out * W_out * C_out * K_h * K_w * C_g
    return total


def _lenet_flops(quick) -> float:
    from mathdl import models

    batch, shape = _LENET[quick]
    params = jax.eval_shape(lambda k: models.init_lenet(k, input_shape=shape), jax.random.key(0))
    return 3.0 * batch * _conv_flops(params, models.lenet_forward, shape)


def _resnet_flops(quick) -> float:
    from mathdl import models

    batch, shape, depth = _RESNET[quick]
    params, state = jax.eval_shape(lambda k: models.init_small_resnet(k, depth, input_shape=shape), jax.random.key(0))
    fwd = functools.partial(models.resnet_forward, train=False)
    return 3.0 * batch * _conv_flops(params, fwd, shape, state)


# ------------------------------------------------------------------ mathdl


def _mathdl_step(name, shape, path, batch_data):
    try:
        from mathdl import models
        from mathdl.train import make_train_step
    except ImportError as exc:
        raise SkipCase(f"mathdl.models/train not importable ({exc})") from exc
    clf = models.image_classifier(name, num_classes=10, input_shape=shape, conv_path=path, dtype=jnp.float32)
    params, state = jax.jit(clf.init)(jax.random.key(0))
    opt = optax.adam(1e-3)  # the same optimizer in every JAX column
    if clf.has_state:
        step = jax.jit(make_train_step(clf.loss, opt, has_state=True), donate_argnums=(0, 1, 2))
        box = _Box(params, opt.init(params), state)

        def run():
            p, o, s, m = step(*box.state, batch_data, None)
            box.state = (p, o, s)
            return m["loss"]

        return run
    step = jax.jit(make_train_step(clf.loss, opt), donate_argnums=(0, 1))
    box = _Box(params, opt.init(params))

    def run():
        p, o, m = step(*box.state, batch_data, None)
        box.state = (p, o)
        return m["loss"]

    return run


# ------------------------------------------------------------------ hand-written JAX


def _he(key, shape, fan_in):
    return jax.random.normal(key, shape, jnp.float32) * np.sqrt(2.0 / fan_in)


def _ce(z, y):
    return jnp.mean(jax.nn.logsumexp(z, axis=-1) - jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0])


def _maxpool(a, k, s, p=0):
    return lax.reduce_window(a, -jnp.inf, lax.max, (1, k, k, 1), (1, s, s, 1), ((0, 0), (p, p), (p, p), (0, 0)))


def _hand_lenet(shape):
    H, W, C = shape
    k = jax.random.split(jax.random.key(0), 5)
    h = ((H // 2) - 4) // 2
    w = ((W // 2) - 4) // 2
    p = {
        "W1": _he(k[0], (5, 5, C, 6), 25 * C), "b1": jnp.zeros(6),
        "W2": _he(k[1], (5, 5, 6, 16), 150), "b2": jnp.zeros(16),
        "F1": _he(k[2], (16 * h * w, 120), 16 * h * w), "c1": jnp.zeros(120),
        "F2": _he(k[3], (120, 84), 120), "c2": jnp.zeros(84),
        "F3": _he(k[4], (84, 10), 84), "c3": jnp.zeros(10),
    }  # fmt: skip

    def loss(p, X, y):
        a = lax.conv_general_dilated(X, p["W1"], (1, 1), ((2, 2), (2, 2)), dimension_numbers=_DN) + p["b1"]
        a = _maxpool(jax.nn.relu(a), 2, 2)
        a = lax.conv_general_dilated(a, p["W2"], (1, 1), "VALID", dimension_numbers=_DN) + p["b2"]
        a = _maxpool(jax.nn.relu(a), 2, 2).reshape(X.shape[0], -1)
        a = jax.nn.relu(a @ p["F1"] + p["c1"])
        a = jax.nn.relu(a @ p["F2"] + p["c2"])
        return _ce(a @ p["F3"] + p["c3"], y)

    return p, None, loss


def _hand_resnet(shape, depth):
    """ResNet-(6n+2) on NHWC batches: 3x3 stem, three stages of n basic blocks, projections, batch norm."""
    n = (depth - 2) // 6
    widths = (16, 32, 64)
    keys = iter(jax.random.split(jax.random.key(0), 64))

    def conv_bn(c_in, c_out, k):
        return {"W": _he(next(keys), (k, k, c_in, c_out), k * k * c_in), "g": jnp.ones(c_out), "b": jnp.zeros(c_out)}

    def stats(c):
        return {"m": jnp.zeros(c), "v": jnp.ones(c)}

    params = {"stem": conv_bn(shape[-1], 16, 3), "blocks": [], "fc": (_he(next(keys), (64, 10), 64), jnp.zeros(10))}
    state = {"stem": stats(16), "blocks": []}
    c = 16
    strides = []
    for s, w in enumerate(widths):
        for b in range(n):
            stride = 2 if (s > 0 and b == 0) else 1
            blk = {"c1": conv_bn(c, w, 3), "c2": conv_bn(w, w, 3)}
            st = {"c1": stats(w), "c2": stats(w)}
            if stride != 1 or c != w:
                blk["sc"], st["sc"] = conv_bn(c, w, 1), stats(w)
            params["blocks"].append(blk)
            state["blocks"].append(st)
            strides.append(stride)
            c = w

    def cbn(p, s, x, stride, pad):
        z = lax.conv_general_dilated(x, p["W"], (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=_DN)
        mu = jnp.mean(z, axis=(0, 1, 2))
        var = jnp.mean(jnp.square(z - mu), axis=(0, 1, 2))
        out = p["g"] * (z - mu) * lax.rsqrt(var + 1e-5) + p["b"]
        mu, var = lax.stop_gradient(mu), lax.stop_gradient(var)
        return out, {"m": 0.9 * s["m"] + 0.1 * mu, "v": 0.9 * s["v"] + 0.1 * var}

    def loss(p, s, X, y):
        a, s_stem = cbn(p["stem"], s["stem"], X, 1, 1)
        a = jax.nn.relu(a)
        new_blocks = []
        for blk, st, stride in zip(p["blocks"], s["blocks"], strides, strict=True):
            r, s1 = cbn(blk["c1"], st["c1"], a, stride, 1)
            r, s2 = cbn(blk["c2"], st["c2"], jax.nn.relu(r), 1, 1)
            ns = {"c1": s1, "c2": s2}
            if "sc" in blk:
                a, ns["sc"] = cbn(blk["sc"], st["sc"], a, stride, 0)
            a = jax.nn.relu(a + r)
            new_blocks.append(ns)
        z = jnp.mean(a, axis=(1, 2)) @ p["fc"][0] + p["fc"][1]
        return _ce(z, y), {"stem": s_stem, "blocks": new_blocks}

    return params, state, loss


def _hand_step(params, state, loss, X, y):
    opt = optax.adam(1e-3)
    if state is None:

        def step(p, o, X, y):
            value, g = jax.value_and_grad(loss)(p, X, y)
            u, o = opt.update(g, o, p)
            return optax.apply_updates(p, u), o, value

        jstep = jax.jit(step, donate_argnums=(0, 1))
        box = _Box(params, opt.init(params))

        def run():
            p, o, v = jstep(*box.state, X, y)
            box.state = (p, o)
            return v

        return run

    def step(p, o, s, X, y):
        (value, s), g = jax.value_and_grad(loss, has_aux=True)(p, s, X, y)
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), o, s, value

    jstep = jax.jit(step, donate_argnums=(0, 1, 2))
    box = _Box(params, opt.init(params), state)

    def run():
        p, o, s, v = jstep(*box.state, X, y)
        box.state = (p, o, s)
        return v

    return run


# ------------------------------------------------------------------ PyTorch


def _torch_lenet(torch, shape):
    H, W, C = shape
    h, w = ((H // 2) - 4) // 2, ((W // 2) - 4) // 2
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(C, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * h * w, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def _torch_resnet(torch, shape, depth):
    nn = torch.nn
    n = (depth - 2) // 6

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out))
            self.c2 = nn.Sequential(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
            self.sc = None
            if stride != 1 or c_in != c_out:
                self.sc = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

        def forward(self, x):
            r = self.c2(torch.relu(self.c1(x)))
            return torch.relu((x if self.sc is None else self.sc(x)) + r)

    layers, c = [nn.Conv2d(shape[-1], 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for s, w in enumerate((16, 32, 64)):
        for b in range(n):
            layers.append(Block(c, w, 2 if (s > 0 and b == 0) else 1))
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def _torch_impls(build, X, y, quick) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    if jax.devices()[0].platform != "cpu":
        return {}  # torch on CPU is no peer of a GPU run
    torch.manual_seed(0)
    Xt = torch.from_numpy(np.array(X)).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(np.array(y)).long()

    def stepper(net, opt):
        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(Xt), yt)
            loss.backward()
            opt.step()
            return loss.detach()

        return step

    net = build(torch)
    impls = {"torch": stepper(net, torch.optim.Adam(net.parameters(), lr=1e-3))}
    if quick:
        return impls  # torch.compile costs tens of CPU seconds per network: left to the full run
    try:
        net2 = build(torch)
        step = stepper(torch.compile(net2), torch.optim.Adam(net2.parameters(), lr=1e-3))
        step()  # compile now: without a working toolchain this raises and the column is left out
        impls["torch_compile"] = step
    except Exception:  # noqa: BLE001 - inductor needs a C++ toolchain
        pass
    return impls


# ------------------------------------------------------------------ the cases


def _lenet_case(path):
    def make(quick: bool):
        if quick and path != "xla":
            raise SkipCase("the im2col path is timed in the full run only (--quick compiles the default path)")
        batch, shape = _LENET[quick]
        X, y = _data(batch, shape)
        impls = {"mathdl": _mathdl_step("lenet", shape, path, (X, y))}
        params, _, loss = _hand_lenet(shape)
        impls["jax"] = _hand_step(params, None, loss, X, y)
        impls.update(_torch_impls(lambda torch: _torch_lenet(torch, shape), X, y, quick))
        return impls

    make.__doc__ = f"One Adam step of LeNet-5 on 128 MNIST-sized images, mathdl's {path} convolutions."
    return make


def _resnet_case(path):
    def make(quick: bool):
        if quick and path != "xla":
            raise SkipCase("the im2col path is timed in the full run only (--quick compiles the default path)")
        batch, shape, depth = _RESNET[quick]
        X, y = _data(batch, shape)
        impls = {"mathdl": _mathdl_step(f"resnet{depth}", shape, path, (X, y))}
        params, state, loss = _hand_resnet(shape, depth)
        impls["jax"] = _hand_step(params, state, loss, X, y)
        impls.update(_torch_impls(lambda torch: _torch_resnet(torch, shape, depth), X, y, quick))
        return impls

    make.__doc__ = f"One Adam step of the small ResNet-20 on 32 CIFAR-sized images, mathdl's {path} convolutions."
    return make


def _scan_of(step, n):
    """``n`` steps of ``step(carry, batch) -> (carry, loss)`` over stacked batches, in one ``lax.scan``."""

    def many(carry, batches):
        return lax.scan(step, carry, batches)

    return jax.jit(many, donate_argnums=(0,))


_SCAN = {False: (20, 32), True: (2, 4)}


def _lenet_scan_flops(quick) -> float:
    n, batch = _SCAN[quick]
    shape = _LENET[quick][1]
    from mathdl import models

    params = jax.eval_shape(lambda k: models.init_lenet(k, input_shape=shape), jax.random.key(0))
    return 3.0 * n * batch * _conv_flops(params, models.lenet_forward, shape)


def _lenet_scan_case(path):
    def make(quick: bool):
        if quick and path != "xla":
            raise SkipCase("the im2col path is timed in the full run only (--quick compiles the default path)")
        try:
            from mathdl import models
            from mathdl.train import make_train_step
        except ImportError as exc:
            raise SkipCase(f"mathdl.models/train not importable ({exc})") from exc
        n, batch = _SCAN[quick]
        shape = _LENET[quick][1]
        X, y = _data(n * batch, shape)
        Xs, ys = X.reshape(n, batch, *shape), y.reshape(n, batch)
        opt = optax.adam(1e-3)

        clf = models.image_classifier("lenet", num_classes=10, input_shape=shape, conv_path=path, dtype=jnp.float32)
        params, _ = jax.jit(clf.init)(jax.random.key(0))
        one = make_train_step(clf.loss, opt)

        def mathdl_body(carry, b):
            p, o, m = one(*carry, b, None)
            return (p, o), m["loss"]

        many = _scan_of(mathdl_body, n)
        box = _Box(params, opt.init(params))

        def run_mathdl():
            box.state, losses = many(tuple(box.state), (Xs, ys))
            return losses

        hp, _, hloss = _hand_lenet(shape)

        def jax_body(carry, b):
            p, o = carry
            value, g = jax.value_and_grad(hloss)(p, *b)
            u, o = opt.update(g, o, p)
            return (optax.apply_updates(p, u), o), value

        jmany = _scan_of(jax_body, n)
        jbox = _Box(hp, opt.init(hp))

        def run_jax():
            jbox.state, losses = jmany(tuple(jbox.state), (Xs, ys))
            return losses

        impls = {"mathdl": run_mathdl, "jax": run_jax}
        try:
            import torch
        except ImportError:
            return impls
        if jax.devices()[0].platform != "cpu":
            return impls
        torch.manual_seed(0)
        net = _torch_lenet(torch, shape)
        topt = torch.optim.Adam(net.parameters(), lr=1e-3)
        Xt = torch.from_numpy(np.array(X)).permute(0, 3, 1, 2).contiguous().reshape(n, batch, shape[-1], *shape[:2])
        yt = torch.from_numpy(np.array(y)).long().reshape(n, batch)

        def run_torch():
            for i in range(n):
                topt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(net(Xt[i]), yt[i])
                loss.backward()
                topt.step()
            return loss.detach()

        impls["torch"] = run_torch
        return impls

    make.__doc__ = f"20 Adam steps of LeNet-5 (batches of 32) in one lax.scan, mathdl's {path} convolutions."
    return make


register_case("cnn", "lenet_step", flops=_lenet_flops, ratio_floor=0.9)(_lenet_case("xla"))
register_case("cnn", "lenet_step_im2col", flops=_lenet_flops)(_lenet_case("im2col"))
register_case("cnn", "small_resnet_step", flops=_resnet_flops, ratio_floor=0.9)(_resnet_case("xla"))
register_case("cnn", "small_resnet_step_im2col", flops=_resnet_flops)(_resnet_case("im2col"))
register_case("cnn", "lenet_scan_20_steps", flops=_lenet_scan_flops, ratio_floor=0.9)(_lenet_scan_case("xla"))
register_case("cnn", "lenet_scan_20_steps_im2col", flops=_lenet_scan_flops)(_lenet_scan_case("im2col"))
