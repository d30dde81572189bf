r"""Scaled dot-product attention ([MEDL] Ch. 7, Sec. 7.5): forward and backward, mathdl against JAX and PyTorch.

One call of multi-head scaled dot-product attention, $H = 4$ heads of width $d = 64$ (float32,
no mask), then the gradient of $\sum U \odot G$ with respect to $Q$, $K$ and $V$, at $T = S = 512$
and $T = S = 2048$:

* ``sdpa_T{T}``: mathdl's default path (:func:`mathdl.layers.default_attention_implementation`:
  on CPU the reference path at $T = 512$ and the blocked path at $T = 2048$);
* ``sdpa_T{T}_blocked``: mathdl's ``"blocked"`` path (flash-style online softmax over key
  blocks under ``lax.scan``, recomputing backward);
* ``sdpa_T{T}_reference``: mathdl's ``"reference"`` path, $\operatorname{softmax}(QK^\top/\sqrt d)V$.

Columns:

* ``mathdl``: :func:`mathdl.layers.scaled_dot_product_attention` on one head ``(T, d)``, mapped
  over the heads with ``jax.vmap``, under ``jax.jit``;
* ``jax``: :func:`jax.nn.dot_product_attention` (``implementation="xla"``) on ``(1, T, H, d)``,
  under ``jax.jit``;
* ``torch``: :func:`torch.nn.functional.scaled_dot_product_attention` on ``(1, H, T, d)``, eager,
  with ``backward`` (CPU only).

Measured with ``mathdl bench --suite attention --compare torch --repeats 7`` on 2 CPU cores shared
with other jobs (load average about 7; medians, so read the ratios, not the times). Ratio =
t_peer / t_mathdl over paired rounds (above 1: mathdl is faster):

=====================  ========  ===========  ========  =============  ===============
case                   mathdl    jax (XLA)    torch     mathdl vs jax  mathdl vs torch
=====================  ========  ===========  ========  =============  ===============
T = 512, default       18.1 ms   37.0 ms      154 ms    2.04           8.42
T = 512, blocked       14.4 ms   26.3 ms      83.4 ms   1.82           5.75
T = 512, reference     12.2 ms   29.0 ms      47.8 ms   2.26           4.13
T = 2048, default      155 ms    593 ms       224 ms    3.85           1.44
T = 2048, blocked      153 ms    580 ms       211 ms    3.83           1.38
T = 2048, reference    324 ms    647 ms       216 ms    1.95           0.67
=====================  ========  ===========  ========  =============  ===============

The default at T = 512 is the reference path and at T = 2048 the blocked one, so each default row
runs the same program as one of the rows below it; their difference is the noise of the shared
machine. The reference path loses to PyTorch at T = 2048, where its $4 \times 2048^2$ float32
scores (64 MiB) and their gradient leave the caches; the blocked path does not.

FLOPs per call: forward $4 H T S d$ (two products), three times that with the backward pass.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from mathdl.bench._registry import SkipCase, register_case

_H, _D = 4, 64
_SIZES = {512: {False: 512, True: 64}, 2048: {False: 2048, True: 96}}


def _flops(size):
    def flops(quick: bool) -> float:
        T = _SIZES[size][quick]
        return 3.0 * 4.0 * _H * T * T * _D

    return flops


def _inputs(T):
    rng = np.random.default_rng(0)
    return [jnp.asarray(rng.normal(size=(_H, T, _D)).astype(np.float32)) for _ in range(4)]


def _fwd_bwd(attn):
    """jit(grad of sum(attn(q, k, v) * g)) for ``attn`` on ``(H, T, d)`` arrays."""

    def loss(q, k, v, g):
        return jnp.sum(attn(q, k, v) * g)

    return jax.jit(jax.value_and_grad(loss, (0, 1, 2)))


def _mathdl_impl(q, k, v, g, implementation):
    try:
        from mathdl.layers import scaled_dot_product_attention
    except ImportError as exc:
        raise SkipCase(f"mathdl.layers.scaled_dot_product_attention is not importable ({exc})") from exc
    one = functools.partial(scaled_dot_product_attention, implementation=implementation)
    f = _fwd_bwd(jax.vmap(one))
    return lambda: f(q, k, v, g)


def _jax_impl(q, k, v, g):
    def attn(q, k, v):
        bthd = [a.transpose(1, 0, 2)[None] for a in (q, k, v)]  # (1, T, H, d)
        return jax.nn.dot_product_attention(*bthd, implementation="xla")[0].transpose(1, 0, 2)

    f = _fwd_bwd(attn)
    return lambda: f(q, k, v, g)


def _torch_impl(q, k, v, g):
    try:
        import torch
    except ImportError:
        return None
    if jax.devices()[0].platform != "cpu":
        return None  # torch on CPU against a GPU would not be a peer
    qt, kt, vt = (torch.from_numpy(np.array(a))[None].requires_grad_(True) for a in (q, k, v))
    gt = torch.from_numpy(np.array(g))[None]

    def run():
        for a in (qt, kt, vt):
            a.grad = None
        out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt)
        out.backward(gt)
        return qt.grad

    return run


def _make(size, implementation):
    def make(quick: bool):
        q, k, v, g = _inputs(_SIZES[size][quick])
        impls = {"mathdl": _mathdl_impl(q, k, v, g, implementation), "jax": _jax_impl(q, k, v, g)}
        t = _torch_impl(q, k, v, g)
        if t is not None:
            impls["torch"] = t
        return impls

    what = "the default path" if implementation is None else f"the {implementation!r} path"
    make.__doc__ = f"Attention forward + backward at T = {size}, mathdl's {what} (see the module docstring)."
    return make


for _size in _SIZES:
    for _suffix, _impl in (("", None), ("_blocked", "blocked"), ("_reference", "reference")):
        register_case("attention", f"sdpa_T{_size}{_suffix}", flops=_flops(_size))(_make(_size, _impl))
