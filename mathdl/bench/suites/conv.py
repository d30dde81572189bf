r"""Convolution layers ([MEDL] Ch. 6): mathdl's paths against hand-written JAX and PyTorch eager.

Two layer sizes, float32, channels last for JAX and channels first for PyTorch (each in its
native layout, so neither pays for a transpose):

* ``lenet``: LeNet-5's second convolution, a batch of 128 images ``14x14x6`` through a ``5x5``
  kernel to 16 channels (valid padding, output ``10x10x16``);
* ``resnet``: a small-ResNet (CIFAR-size) convolution, a batch of 16 images ``32x32x64`` through a
  ``3x3`` kernel to 64 channels (padding 1, no bias, as before a batch norm).

For each size, four operations, one case each, and one case per mathdl path (``xla``,
``im2col``; the ``reference`` path is the definition, gathered window by window, and is far too
slow and memory-hungry at these sizes to time):

* ``fwd``: $z = W \star x + b$;
* ``bwd_input``: the input gradient $\partial C/\partial x$ given the adjoint of $z$ (a vjp;
  the convolution is linear in $x$, so no forward pass is needed and XLA runs none);
* ``bwd_kernel``: the kernel (and bias) gradient given the adjoint;
* ``step``: forward and both gradients (what a training step runs for one layer).

Columns: ``mathdl`` is ``jax.vmap(lambda x: mathdl.layers.conv2d(params, x, path=...))`` under
``jax.jit`` (the one-image layer batched by vmap); ``jax`` is ``lax.conv_general_dilated`` on the
NHWC batch written by hand; ``torch`` is ``torch.nn.functional.conv2d`` on NCHW (eager), with
``torch.ops.aten.convolution_backward`` for the two backward operations (exactly the kernels
autograd calls) and ``backward()`` for the step. FLOPs: forward
$2 B H_{out} W_{out} C_{out} K_h K_w C_{in}$, each backward the same, the step three times that.

``<size>_bwd_kernel_nnx``: the parameter gradient of the same layer through the NNX surfaces, as
for the MLP: ``flax_nnx`` is Flax's own ``nnx.Conv`` differentiated with ``nnx.grad`` under
``nnx.jit`` (the default NNX way), ``flax_nnx_split`` is :class:`mathdl.nn.Conv` through
:func:`mathdl.nn.to_pure` under ``jax.jit``; ``mathdl`` and ``jax`` as in ``bwd_kernel``.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl.bench._registry import SkipCase, register_case

# name: (batch, H, W, C_in, C_out, K, padding, bias), full and quick
_SIZES = {
    "lenet": {False: (128, 14, 14, 6, 16, 5, 0, True), True: (4, 14, 14, 6, 16, 5, 0, True)},
    "resnet": {False: (16, 32, 32, 64, 64, 3, 1, False), True: (2, 8, 8, 16, 16, 3, 1, False)},
}
_OPS = ("fwd", "bwd_input", "bwd_kernel", "step")
_PATHS = ("xla", "im2col")


def _forward_flops(size, quick) -> float:
    B, H, W, C, O, K, P, _ = _SIZES[size][quick]
    Ho, Wo = H + 2 * P - K + 1, W + 2 * P - K + 1
    return 2.0 * B * Ho * Wo * O * K * K * C


def _flops(size, op):
    factor = 3.0 if op == "step" else 1.0
    return lambda quick: factor * _forward_flops(size, quick)


def _inputs(size, quick):
    B, H, W, C, O, K, P, bias = _SIZES[size][quick]
    kx, kw, kb, kd = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (B, H, W, C), jnp.float32)
    Wk = jax.random.normal(kw, (K, K, C, O), jnp.float32) * np.sqrt(2.0 / (K * K * C))
    b = jax.random.normal(kb, (O,), jnp.float32) if bias else None
    Ho, Wo = H + 2 * P - K + 1, W + 2 * P - K + 1
    dz = jax.random.normal(kd, (B, Ho, Wo, O), jnp.float32)
    return x, Wk, b, dz, P


def _jax_impls(op, x, Wk, b, dz, P):
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(W, b, x):
        z = lax.conv_general_dilated(x, W, (1, 1), ((P, P), (P, P)), dimension_numbers=dn)
        return z if b is None else z + b[None, None, None, :]

    return _ops(op, conv, Wk, b, x, dz)


def _ops(op, conv, W, b, x, dz):
    """The four operations of one convolution ``conv(W, b, x)``, each jitted."""
    if op == "fwd":
        f = jax.jit(conv)
        return lambda: f(W, b, x)
    if op == "bwd_input":
        f = jax.jit(lambda W, b, x, dz: jax.vjp(lambda v: conv(W, b, v), x)[1](dz)[0])
        return lambda: f(W, b, x, dz)
    if op == "bwd_kernel":
        f = jax.jit(lambda W, b, x, dz: jax.vjp(lambda w, c: conv(w, c, x), W, b)[1](dz))
        return lambda: f(W, b, x, dz)
    f = jax.jit(lambda W, b, x, dz: jax.value_and_grad(lambda w, c, v: jnp.sum(conv(w, c, v) * dz), (0, 1, 2))(W, b, x))
    return lambda: f(W, b, x, dz)


def _mathdl_impl(op, path, x, Wk, b, dz, P):
    try:
        from mathdl.layers import Conv2dParams, conv2d
    except ImportError as exc:
        raise SkipCase(f"mathdl.layers.conv2d is not importable ({exc})") from exc

    def conv(W, b, x):
        params = Conv2dParams(W, b)
        return jax.vmap(lambda v: conv2d(params, v, padding=P, path=path))(x)

    return _ops(op, conv, Wk, b, x, dz)


def _torch_impl(op, x, Wk, b, dz, P):
    try:
        import torch
    except ImportError:
        return None
    if jax.devices()[0].platform != "cpu":
        return None  # torch on CPU against a GPU would not be a peer; the GPU comparison is cuDNN's
    xt = torch.from_numpy(np.array(x)).permute(0, 3, 1, 2).contiguous()
    wt = torch.from_numpy(np.array(Wk)).permute(3, 2, 0, 1).contiguous()
    bt = None if b is None else torch.from_numpy(np.array(b))
    dzt = torch.from_numpy(np.array(dz)).permute(0, 3, 1, 2).contiguous()
    bias_sizes = None if b is None else [b.shape[0]]
    args = ([1, 1], [P, P], [1, 1], False, [0, 0], 1)

    if op == "fwd":

        def run():
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, bt, 1, P)

        return run
    if op in ("bwd_input", "bwd_kernel"):
        mask = [True, False, False] if op == "bwd_input" else [False, True, b is not None]

        def run():
            with torch.no_grad():
                out = torch.ops.aten.convolution_backward(dzt, xt, wt, bias_sizes, *args, mask)
            return next(t for t in out if t is not None)

        return run
    xg, wg = xt.clone().requires_grad_(True), wt.clone().requires_grad_(True)
    bg = None if bt is None else bt.clone().requires_grad_(True)

    def run():
        xg.grad = wg.grad = None
        if bg is not None:
            bg.grad = None
        z = torch.nn.functional.conv2d(xg, wg, bg, 1, P)
        z.backward(dzt)
        return wg.grad

    return run


def _make(size, op, path):
    def make(quick: bool):
        x, Wk, b, dz, P = _inputs(size, quick)
        impls = {
            "mathdl": _mathdl_impl(op, path, x, Wk, b, dz, P),
            "jax": _jax_impls(op, x, Wk, b, dz, P),
        }
        t = _torch_impl(op, x, Wk, b, dz, P)
        if t is not None:
            impls["torch"] = t
        return impls

    make.__doc__ = f"The {size} convolution, {op}, mathdl's {path} path (see the module docstring)."
    return make


for _size in _SIZES:
    for _op in _OPS:
        for _path in _PATHS:
            register_case("conv", f"{_size}_{_op}_{_path}", flops=_flops(_size, _op))(_make(_size, _op, _path))


def _nnx_grads(size, quick):
    """One conv layer's parameter gradients the NNX ways: Flax's own ``nnx.Conv`` under ``nnx.jit``
    (``flax_nnx``) and :class:`mathdl.nn.Conv` through :func:`mathdl.nn.to_pure` under ``jax.jit``
    (``flax_nnx_split``), against mathdl's pure function and hand-written JAX."""
    try:
        from flax import nnx

        from mathdl import nn
    except ImportError as exc:
        raise SkipCase(f"flax.nnx or mathdl.nn is not importable ({exc})") from exc
    x, Wk, b, dz, P = _inputs(size, quick)
    B, H, W, C, O, K, _, bias = _SIZES[size][quick]
    impls = {
        "mathdl": _mathdl_impl("bwd_kernel", "xla", x, Wk, b, dz, P),
        "jax": _jax_impls("bwd_kernel", x, Wk, b, dz, P),
    }
    ref = nnx.Conv(C, O, (K, K), padding=((P, P), (P, P)), use_bias=bias, rngs=nnx.Rngs(0))

    @nnx.jit
    def nnx_grads(model, x, dz):
        return nnx.grad(lambda m: jnp.sum(m(x) * dz))(model)

    impls["flax_nnx"] = lambda: nnx_grads(ref, x, dz)
    module = nn.Conv(C, O, K, padding=P, bias=bias, rngs=nnx.Rngs(0))
    apply, params, state = nn.to_pure(module)
    split = jax.jit(jax.grad(lambda p, x, dz: jnp.sum(apply(p, state, x)[0] * dz)))
    impls["flax_nnx_split"] = lambda: split(params, x, dz)
    return impls


for _size in _SIZES:
    register_case("conv", f"{_size}_bwd_kernel_nnx", flops=_flops(_size, "bwd_kernel"))(
        lambda quick, _size=_size: _nnx_grads(_size, quick)
    )
