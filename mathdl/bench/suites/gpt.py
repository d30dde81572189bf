r"""A small GPT's training step ([MEDL] Ch. 7, Sec. 7.5): mathdl against hand-written JAX and PyTorch eager.

``gpt_step``: one Adam step (forward, backward, update; float32) of a decoder-only causal LM with
post-LN blocks (the book's form), learned positions and an untied output layer: batch 16 of 64
tokens, $d_V = 96$, $p = 128$, 4 heads, 4 blocks, $N_1 = 512$ (``--quick``: 2 x 8 tokens, $p = 16$,
one block). Tokens per second are $16 \cdot 64$ divided by the step time in the table.

Columns:

* ``mathdl``: :func:`mathdl.models.transformer_lm` (one sequence, ``jax.vmap`` over the batch) and
  :func:`mathdl.models.lm_loss` in :func:`mathdl.train.make_train_step`, jitted with donated
  parameters and optimizer state, as :func:`mathdl.train.fit` runs it;
* ``jax``: the same network written by hand on ``(B, T, p)`` batches with ``einsum`` (heads as an
  axis, a causal ``where`` before the softmax), jitted with donation;
* ``torch``: ``torch.nn.TransformerEncoderLayer`` (post-LN, ReLU, dropout 0, attention with biases)
  under a causal mask, eager, with ``torch.optim.Adam`` (CPU only).

Every JAX column uses ``optax.adam``. FLOPs per step: three times the forward matrix products,
$3 \cdot 2 B T \big(L(4p^2 + 2pN_1 + 2Tp) + p\,d_V\big)$ (the $2Tp$ of the scores and the weighted sum
counted over all $T$ keys, as the dense masked computation does; layer norms, softmax and the update
ignored), compared with the measured matmul peak (model-FLOPs utilisation).

Measured on the 2-core development machine while it was shared (load average about 7, so every
figure is pessimistic and torch's threads suffered most): mathdl 102 ms a step (about 10,000
tokens/s, 52 GFLOP/s, 41% of the best-round float32 matmul peak of 128 GFLOP/s), hand-written JAX
152 ms (27%), torch eager 2.5 s (2%).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl.bench._registry import SkipCase, register_case

# (batch, T, vocab, p, heads, layers, N1), full and quick
_SIZES = {False: (16, 64, 96, 128, 4, 4, 512), True: (2, 8, 16, 16, 2, 1, 32)}


def _flops(quick: bool) -> float:
    B, T, V, p, _, L, N1 = _SIZES[quick]
    return 3.0 * 2.0 * B * T * (L * (4 * p * p + 2 * p * N1 + 2 * T * p) + p * V)


def _tokens(quick: bool):
    B, T, V, *_ = _SIZES[quick]
    rng = np.random.default_rng(0)
    seq = rng.integers(0, V, size=(B, T + 1)).astype(np.int32)
    return jnp.asarray(seq[:, :-1]), jnp.asarray(seq[:, 1:])


class _Box:
    """Holds the evolving training state between timed calls."""

    def __init__(self, *state):
        self.state = state


def _runner(step, *state):
    box = _Box(*state)

    def run():
        *new, loss = step(*box.state)
        box.state = tuple(new)
        return loss

    return run


def _mathdl(quick, X, Y):
    try:
        from mathdl import models
        from mathdl.train import make_train_step, mean_loss
    except ImportError as exc:
        raise SkipCase(f"mathdl.models/train not importable ({exc})") from exc
    _, T, V, p, H, L, N1 = _SIZES[quick]
    init = lambda k: models.init_transformer_lm(  # noqa: E731
        k, V, p=p, num_heads=H, num_layers=L, n_hidden=N1, max_len=T, dtype=jnp.float32
    )
    params = jax.jit(init)(jax.random.key(0))
    opt = optax.adam(1e-3)
    loss = mean_loss(lambda params, ex: models.lm_loss(models.transformer_lm(params, ex[0]), ex[1]))
    step = jax.jit(make_train_step(loss, opt), donate_argnums=(0, 1))

    def one(params, opt_state):
        params, opt_state, metrics = step(params, opt_state, (X, Y), None)
        return params, opt_state, metrics["loss"]

    return _runner(one, params, opt.init(params))


def _hand_params(quick):
    _, T, V, p, H, L, N1 = _SIZES[quick]
    keys = iter(jax.random.split(jax.random.key(1), 4 + 6 * L))
    n = lambda shape, fan: jax.random.normal(next(keys), shape, jnp.float32) / np.sqrt(fan)  # noqa: E731
    blocks = [
        {
            "qkv": n((p, 3 * p), p),
            "o": n((p, p), p),
            "w1": n((p, N1), p),
            "b1": jnp.zeros(N1),
            "w2": n((N1, p), N1),
            "b2": jnp.zeros(p),
            "g1": jnp.ones(p),
            "e1": jnp.zeros(p),
            "g2": jnp.ones(p),
            "e2": jnp.zeros(p),
        }  # fmt: skip
        for _ in range(L)
    ]
    return {"E": 0.02 * n((V, p), 1), "P": 0.02 * n((T, p), 1), "blocks": blocks, "W": n((p, V), p), "b": jnp.zeros(V)}


def _ln(x, g, b):
    mu = jnp.mean(x, -1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), -1, keepdims=True)
    return g * (x - mu) * jax.lax.rsqrt(var + 1e-5) + b


def _hand_loss(params, X, Y, H):
    B, T = X.shape
    h = params["E"][X] + params["P"][None, :T]
    p = h.shape[-1]
    causal = jnp.tril(jnp.ones((T, T), bool))
    for blk in params["blocks"]:
        q, k, v = jnp.split(h @ blk["qkv"], 3, axis=-1)
        q, k, v = (a.reshape(B, T, H, p // H) for a in (q, k, v))
        s = jnp.einsum("bthd,bshd->bhts", q, k) / np.sqrt(p // H)
        a = jax.nn.softmax(jnp.where(causal, s, -jnp.inf), axis=-1)
        u = jnp.einsum("bhts,bshd->bthd", a, v).reshape(B, T, p) @ blk["o"]
        h = _ln(h + u, blk["g1"], blk["e1"])
        f = jax.nn.relu(h @ blk["w1"] + blk["b1"]) @ blk["w2"] + blk["b2"]
        h = _ln(h + f, blk["g2"], blk["e2"])
    z = h @ params["W"] + params["b"]
    return jnp.mean(jax.nn.logsumexp(z, -1) - jnp.take_along_axis(z, Y[..., None], -1)[..., 0])


def _hand(quick, X, Y):
    H = _SIZES[quick][4]
    opt = optax.adam(1e-3)

    def step(params, opt_state):
        value, g = jax.value_and_grad(_hand_loss)(params, X, Y, H)
        updates, opt_state = opt.update(g, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    params = _hand_params(quick)
    return _runner(jax.jit(step, donate_argnums=(0, 1)), params, opt.init(params))


def _torch(quick, X, Y):
    try:
        import torch
    except ImportError:
        return {}
    if jax.devices()[0].platform != "cpu":
        return {}  # torch on CPU is no peer of an accelerator run
    _, T, V, p, H, L, N1 = _SIZES[quick]
    torch.manual_seed(0)
    nn = torch.nn

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.E, self.P = nn.Embedding(V, p), nn.Parameter(0.02 * torch.randn(T, p))
            layer = nn.TransformerEncoderLayer(p, H, N1, dropout=0.0, batch_first=True)
            self.blocks = nn.TransformerEncoder(layer, L, enable_nested_tensor=False)
            self.out = nn.Linear(p, V)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

        def forward(self, x):
            return self.out(self.blocks(self.E(x) + self.P, mask=self.mask, is_causal=True))

    net = GPT()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, Yt = torch.from_numpy(np.array(X)).long(), torch.from_numpy(np.array(Y)).long()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(net(Xt).reshape(-1, V), Yt.reshape(-1))
        loss.backward()
        opt.step()
        return loss.detach()

    return {"torch": step}


@register_case("gpt", "gpt_step", flops=_flops)
def gpt_step(quick: bool):
    """One Adam step of a 4-block post-LN GPT (p = 128) on 16 sequences of 64 tokens."""
    X, Y = _tokens(quick)
    impls = {"mathdl": _mathdl(quick, X, Y), "jax": _hand(quick, X, Y)}
    impls.update(_torch(quick, X, Y))
    return impls
