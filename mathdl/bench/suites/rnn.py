r"""Recurrent layers ([MEDL] Ch. 7, Sec. 7.3): LSTM and GRU forward + backward, mathdl against a naive scan and PyTorch.

One call is the loss $\frac{1}{BTm}\sum h^2$ of a layer over a batch of sequences AND its gradient
with respect to every parameter (float32):

* ``lstm_fwd_bwd``: an LSTM, batch 32, $T = 100$, $p = m = 256$;
* ``gru_fwd_bwd``: a GRU in PyTorch's convention (so that ``torch.nn.GRU`` computes the same
  model), same sizes.

Columns:

* ``mathdl``: :func:`mathdl.layers.lstm` / :func:`~mathdl.layers.gru` on one sequence under
  ``jax.vmap`` over the batch, jitted: the input projection for all $T$ steps is ONE matrix
  product before the ``lax.scan``;
* ``jax``: the naive hand-written ``lax.scan`` over time on ``(B, p)`` slices, with the input
  projection $x^{\langle t\rangle} W_x^\top$ INSIDE the loop (one small product per step, and per
  step again in the backward pass), jitted;
* ``torch``: ``torch.nn.LSTM`` / ``torch.nn.GRU`` (eager, CPU, its fused kernels), forward and
  ``backward()``.

Measured on an otherwise idle machine (``mathdl bench --suite rnn --repeats 7``, 2 CPU cores,
``benchmarks/results/cpu/ch6_ch7/bench.md``): LSTM 70.8 ms mathdl, 66.6 ms naive scan (ratio 0.89
[0.88, 0.92]: the hoisted form is slower here), 42.4 ms ``torch.nn.LSTM`` (torch 1.67x faster); GRU
50.2 ms, 47.2 ms (0.95), 57.0 ms ``torch.nn.GRU`` (mathdl 1.15x faster). Earlier, with the 2 cores
shared with other jobs (load ~7, 11 paired rounds), where torch's threads suffer most:
LSTM 212 ms mathdl, 220 ms naive scan (ratio 1.04 [0.98, 1.06]), 360 ms ``torch.nn.LSTM``
(mathdl 1.6x faster); GRU 127 ms, 145 ms (ratio 1.26 [0.99, 1.31]), 1.07 s ``torch.nn.GRU``. On
XLA:CPU the step is compute bound (~50 GFLOP/s on a loaded machine) and a ``(32, 256) x (256, 1024)``
product per step is already efficient, so hoisting gains little; under ``jax.vmap`` the hoisted
``(B, T, 4m)`` input term is also transposed to time-major for the scan (13 MB here), which costs
back part of the gain (a forward pass alone measured slower than the naive scan, ~40 ms against
~30 ms). Process CPU time per call, steadier than wall time on a shared machine: fwd+bwd 126 ms
naive, 141 ms mathdl, 123-156 ms a hand-written batched hoisted scan (einsum straight to
time-major), so on XLA:CPU hoisting itself buys nothing at these sizes; its gain is expected on
accelerators, where each in-loop product is a kernel launch (not measured here). The hoisted form
keeps less memory (RSS growth 23 MiB against 81 MiB).

FLOPs per call: three times the forward multiply-adds counted twice,
$3 \cdot 2 B T\, G m (p + m)$ with $G = 4$ gates (LSTM) or $3$ (GRU).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl.bench._registry import SkipCase, register_case

_SIZES = {False: (32, 100, 256, 256), True: (4, 12, 16, 16)}  # B, T, p, m


def _flops(G):
    def flops(quick: bool) -> float:
        B, T, p, m = _SIZES[quick]
        return 3.0 * 2.0 * B * T * G * m * (p + m)

    return flops


def _data(quick, seed=0):
    B, T, p, m = _SIZES[quick]
    X = np.random.default_rng(seed).normal(size=(B, T, p)).astype(np.float32)
    return X, B, T, p, m


def _mathdl(cell, X, p, m):
    try:
        from mathdl import layers
    except ImportError as exc:  # pragma: no cover
        raise SkipCase(f"mathdl.layers not importable ({exc})") from exc
    key = jax.random.key(0)
    if cell == "lstm":
        params = layers.init_lstm(key, p, m, dtype=jnp.float32)

        def one(q, x):
            return layers.lstm(q, x)[0]
    else:
        params = layers.init_gru(key, p, m, convention="pytorch", dtype=jnp.float32)

        def one(q, x):
            return layers.gru(q, x, convention="pytorch")[0]

    def loss(q, X):
        return jnp.mean(jax.vmap(one, in_axes=(None, 0))(q, X) ** 2)

    step = jax.jit(jax.value_and_grad(loss))
    Xj = jnp.asarray(X)
    return params, lambda: step(params, Xj)


def _naive(cell, params, X):
    """The textbook scan: every step multiplies its own input slice (no hoisting)."""
    W_x, W_h, b = (jnp.asarray(v) for v in params[:3])
    G, m, p = W_x.shape
    W_x, W_h, b = W_x.reshape(G * m, p), W_h.reshape(G * m, m), b.reshape(G * m)
    b_hn = None if cell == "lstm" else jnp.asarray(params.b_hn)
    Xt = jnp.asarray(np.ascontiguousarray(np.swapaxes(X, 0, 1)))  # (T, B, p)
    B = X.shape[0]

    def loss(W_x, W_h, b, b_hn, Xt):
        def lstm_step(carry, x_t):
            h, c = carry
            a = x_t @ W_x.T + h @ W_h.T + b
            f, i, o, g = jnp.split(a, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        def gru_step(h, x_t):
            a_x = x_t @ W_x.T + b
            a_h = h @ W_h.T
            r = jax.nn.sigmoid(a_x[:, :m] + a_h[:, :m])
            z = jax.nn.sigmoid(a_x[:, m : 2 * m] + a_h[:, m : 2 * m])
            n = jnp.tanh(a_x[:, 2 * m :] + r * (a_h[:, 2 * m :] + b_hn))
            h = (1 - z) * n + z * h
            return h, h

        h0 = jnp.zeros((B, m), Xt.dtype)
        if cell == "lstm":
            _, H = lax.scan(lstm_step, (h0, h0), Xt)
        else:
            _, H = lax.scan(gru_step, h0, Xt)
        return jnp.mean(H**2)

    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    return lambda: step(W_x, W_h, b, b_hn, Xt)


def _torch(cell, X, p, m, quick):
    try:
        import torch
    except ImportError:
        return {}
    if jax.default_backend() != "cpu":
        return {}  # torch on CPU is no peer of a GPU run
    torch.manual_seed(0)
    net = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(p, m, batch_first=True)
    Xt = torch.from_numpy(np.array(X))

    def step():
        net.zero_grad(set_to_none=True)
        H, _ = net(Xt)
        loss = (H**2).mean()
        loss.backward()
        return loss.detach()

    return {"torch": step}


def _case(cell):
    def make(quick: bool):
        X, B, T, p, m = _data(quick)
        params, run = _mathdl(cell, X, p, m)
        impls = {"mathdl": run, "jax": _naive(cell, params, X)}
        impls.update(_torch(cell, X, p, m, quick))
        return impls

    make.__doc__ = (
        f"{cell.upper()} forward + backward over 32 sequences of 100 steps (p = m = 256, float32): the hoisted "
        "input projection against a naive scan and torch.nn."
    )
    return make


register_case("rnn", "lstm_fwd_bwd", flops=_flops(4))(_case("lstm"))
register_case("rnn", "gru_fwd_bwd", flops=_flops(3))(_case("gru"))
