r"""Generative-model training steps and samplers ([MEDL] Ch. 8, Sec. 8.1-8.3): mathdl against hand-written JAX and
PyTorch eager (float32, CPU).

Training steps (one Adam update each, ``optax.adam(1e-3)`` in every JAX column):

* ``vae_mlp_step``: the MLP VAE 784 -> 512 -> 2x32, decoder 32 -> 512 -> 784, Bernoulli likelihood, on a batch
  of 128 (:func:`mathdl.generative.make_vae_step` with :func:`mathdl.generative.init_vae`);
* ``vae_conv_step``: the conv VAE on 64 images 28x28x1 (encoder 4x4 stride-2 convolutions 1 -> 32 -> 64 and a 7x7
  head to 2x16; decoder 7x7 projection 16 -> 64, transposed 4x4 stride-2 64 -> 32 -> 1)
  (:func:`mathdl.generative.init_conv_vae`);
* ``ddpm_mlp_step``: the DDPM step (a step and noise per example, epsilon target) of the 2-D MLP denoiser
  [z; r(t)] (2 + 32) -> 128 -> 128 -> 2 (SiLU), T = 1000, batch 512 (:func:`mathdl.generative.make_ddpm_step`
  with :func:`mathdl.models.mlp_denoiser`);
* ``ddpm_unet_step``: the same with the U-Net denoiser (widths 16, 32, 64; 4 time channels) on 32 images 28x28x1
  (:func:`mathdl.models.unet_denoiser`);
* ``gan_mlp_step``: one discriminator and one generator update (non-saturating) of two 2-D MLPs 2 -> 128 -> 128 ->
  2 and 2 -> 128 -> 128 -> 1 (leaky ReLU), batch 256 (:func:`mathdl.generative.make_gan_step`, ``k = 1``).

Samplers (the 2-D MLP denoiser, 1000 samples per call; samples/s = 1000 / time):

* ``ddpm_sample_1000``: ancestral sampling through all T = 1000 steps, the whole reverse chain one ``lax.scan``
  (:func:`mathdl.generative.ddpm_sample` under ``jax.vmap``), ``jax``: the same chain hand-written on the batch;
* ``ddim_sample_1000``: DDIM with S = 50 steps, eta = 0 (:func:`mathdl.generative.ddim_sample`).

Smoke mode (``--quick``) runs ``vae_mlp_step`` and ``ddpm_sample_1000`` at tiny sizes and skips the others
(compiling three columns dominates a smoke run; the tests cover the library side of every case).

Columns: ``mathdl`` is the library's step or sampler under ``jax.jit`` (state donated); ``jax`` the same
mathematics written by hand on batched arrays (``lax.conv_general_dilated``, ``lax.conv_transpose``, batched
matrix products) under ``jax.jit``; ``torch`` the same network in ``torch.nn`` (eager, ``torch.optim.Adam``;
samplers under ``torch.no_grad`` in a Python loop over the steps).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from mathdl.bench._registry import SkipCase, register_case

_DN = ("NHWC", "HWIO", "NHWC")
_T = {True: 10, False: 1000}
_VAE_MLP = {True: (16, 8, 4, 4), False: (784, 512, 32, 128)}  # p, hidden, latent, batch
_VAE_CONV = {True: ((8, 8, 1), (2, 3), 2, 2), False: ((28, 28, 1), (32, 64), 16, 64)}  # shape, widths, m, batch
_DDPM_MLP = {True: (8, 4, 4), False: (128, 32, 512)}  # hidden, time_dim, batch
_DDPM_UNET = {True: ((8, 8, 1), (2, 4), 2), False: ((28, 28, 1), (16, 32, 64), 32)}
_GAN = {True: (8, 4), False: (128, 256)}
_SAMPLES = {True: 8, False: 1000}


class _Box:
    def __init__(self, state):
        self.state = state


def _mathdl():
    try:
        from mathdl import generative, models
    except ImportError as exc:  # pragma: no cover
        raise SkipCase(f"mathdl.generative not importable ({exc})") from exc
    return generative, models


def _runner(step, state, batch, key):
    jstep = jax.jit(step, donate_argnums=(0,))
    box = _Box(state)

    def run():  # the same key every call, cloned so that JAX's key-reuse checker accepts it
        box.state, m = jstep(box.state, batch, jax.random.clone(key))
        return m

    return run


def _clone_keys(a):
    is_key = isinstance(a, jax.Array) and jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key)
    return jax.random.clone(a) if is_key else a


def _adam_runner(loss, params, *args):
    """A hand-written step: value_and_grad of ``loss(params, *args)`` and an Adam update, jitted with donation."""
    opt = optax.adam(1e-3)

    def step(p, o, *a):
        value, g = jax.value_and_grad(loss)(p, *a)
        u, o = opt.update(g, o, p)
        return optax.apply_updates(p, u), o, value

    jstep = jax.jit(step, donate_argnums=(0, 1))
    box = _Box((params, opt.init(params)))

    def run():  # keys among ``args`` are cloned per call (see _runner)
        p, o, v = jstep(*box.state, *(_clone_keys(a) for a in args))
        box.state = (p, o)
        return v

    return run


def _torch():
    try:
        import torch
    except ImportError:
        return None
    if jax.devices()[0].platform != "cpu":
        return None  # torch on CPU is no peer of a GPU run
    torch.manual_seed(0)
    return torch


def _torch_runner(torch, modules, loss):
    opt = torch.optim.Adam([p for m in modules for p in m.parameters()], lr=1e-3)

    def run():
        opt.zero_grad(set_to_none=True)
        value = loss()
        value.backward()
        opt.step()
        return value.detach()

    return run


def _normal(key, shape, scale):
    return jax.random.normal(key, shape, jnp.float32) * scale


def _dense_init(keys, widths):
    return [
        (_normal(k, (a, b), math.sqrt(2.0 / a)), jnp.zeros(b, jnp.float32))
        for k, a, b in zip(keys, widths[:-1], widths[1:], strict=False)
    ]


def _mlp_fwd(layers, h, act=jax.nn.relu):
    for i, (W, b) in enumerate(layers):
        h = h @ W + b
        if i < len(layers) - 1:
            h = act(h)
    return h


def _torch_mlp(torch, widths, act):
    mods = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        mods.append(torch.nn.Linear(a, b))
        if i < len(widths) - 2:
            mods.append(act())
    return torch.nn.Sequential(*mods)


def _sinusoid_table(T, d):
    i2 = 2 * (np.arange(d) // 2)
    ang = np.arange(T)[:, None] / 1e4 ** (i2 / d)[None, :]
    return np.where(np.arange(d) % 2 == 0, np.sin(ang), np.cos(ang)).astype(np.float32)


def _schedule(T):
    betas = np.linspace(1e-4, 0.02, T)
    return betas.astype(np.float32), np.cumprod(1 - betas).astype(np.float32)


def _bce_kl(logits, x, mu, lv):
    rec = jnp.sum(jax.nn.softplus(logits) - x * logits, axis=tuple(range(1, x.ndim)))
    kl = -0.5 * jnp.sum(1 + lv - mu * mu - jnp.exp(lv), axis=-1)
    return jnp.mean(rec + kl)


def _torch_bce_kl(torch, logits, x, mu, lv):
    rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = -0.5 * torch.sum(1 + lv - mu * mu - torch.exp(lv), dim=-1)
    return torch.mean(rec + kl)


# ------------------------------------------------------------------ VAE (MLP)


@register_case("generative", "vae_mlp_step", ratio_floor=0.9)
def _vae_mlp(quick: bool):
    """One Adam step of the MLP VAE 784-512-2x32 (Bernoulli) on a batch of 128."""
    G, M = _mathdl()
    p, h, m, B = _VAE_MLP[quick]
    X = jnp.asarray(np.random.default_rng(0).uniform(size=(B, p)).astype(np.float32))
    opt = optax.adam(1e-3)
    params = G.init_vae(jax.random.key(0), p, m, (h,), dtype=jnp.float32)
    impls = {"mathdl": _runner(G.make_vae_step(opt, likelihood="bernoulli"), G.init_vae_state(params, opt), X,
                               jax.random.key(1))}  # fmt: skip
    k = jax.random.split(jax.random.key(0), 4)
    hand = {"enc": _dense_init(k[:2], (p, h, 2 * m)), "dec": _dense_init(k[2:], (m, h, p))}

    def loss(q, X, key):
        out = _mlp_fwd(q["enc"], X)
        mu, lv = out[:, :m], out[:, m:]
        z = mu + jnp.exp(0.5 * lv) * jax.random.normal(key, mu.shape, mu.dtype)
        return _bce_kl(_mlp_fwd(q["dec"], z), X, mu, lv)

    impls["jax"] = _adam_runner(loss, hand, X, jax.random.key(1))
    torch = _torch()
    if torch is not None:
        enc = _torch_mlp(torch, (p, h, 2 * m), torch.nn.ReLU)
        dec = _torch_mlp(torch, (m, h, p), torch.nn.ReLU)
        Xt = torch.from_numpy(np.array(X))

        def tloss():
            out = enc(Xt)
            mu, lv = out[:, :m], out[:, m:]
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            return _torch_bce_kl(torch, dec(z), Xt, mu, lv)

        impls["torch"] = _torch_runner(torch, (enc, dec), tloss)
    return impls


# ------------------------------------------------------------------ VAE (conv)


def _conv(x, W, b, stride=1, pad=0):
    return lax.conv_general_dilated(x, W, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=_DN) + b


def _convT(x, W, b, stride=1, pad=0):
    K = W.shape[0]
    q = K - 1 - pad
    return lax.conv_transpose(x, W, (stride, stride), ((q, q), (q, q)), dimension_numbers=_DN) + b


def _he_conv(key, k, c_in, c_out):
    return _normal(key, (k, k, c_in, c_out), math.sqrt(2.0 / (k * k * c_in))), jnp.zeros(c_out, jnp.float32)


@register_case("generative", "vae_conv_step", ratio_floor=0.9)
def _vae_conv(quick: bool):
    """One Adam step of the conv VAE (28x28x1, widths 32-64, latent 16, Bernoulli) on a batch of 64."""
    if quick:
        raise SkipCase("timed in the full run only (its three columns compile for seconds each; tests cover the model)")
    G, M = _mathdl()
    shape, widths, m, B = _VAE_CONV[quick]
    H, W, C = shape
    L = len(widths)
    h0, w0 = H // 2**L, W // 2**L
    X = jnp.asarray(np.random.default_rng(0).uniform(size=(B, *shape)).astype(np.float32))
    opt = optax.adam(1e-3)
    params = G.init_conv_vae(jax.random.key(0), shape, m, widths=widths, dtype=jnp.float32)
    step = G.make_vae_step(opt, likelihood="bernoulli")
    impls = {"mathdl": _runner(step, G.init_vae_state(params, opt), X, jax.random.key(1))}
    ks = iter(jax.random.split(jax.random.key(0), 2 * L + 2))
    chans = (C, *widths)
    enc = [_he_conv(next(ks), 4, a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)]
    head = (_normal(next(ks), (h0, w0, widths[-1], 2 * m), math.sqrt(2.0 / (h0 * w0 * widths[-1]))), jnp.zeros(2 * m))
    dchans = (*widths[::-1], C)
    proj = (_normal(next(ks), (h0, w0, m, dchans[0]), math.sqrt(2.0 / m)), jnp.zeros(dchans[0]))
    ups = [_he_conv(next(ks), 4, a, b) for a, b in zip(dchans[:-1], dchans[1:], strict=True)]
    hand = {"enc": enc, "head": head, "proj": proj, "ups": ups}

    def loss(q, X, key):
        a = X
        for Wc, bc in q["enc"]:
            a = jax.nn.relu(_conv(a, Wc, bc, 2, 1))
        out = _conv(a, *q["head"]).reshape(X.shape[0], -1)
        mu, lv = out[:, :m], out[:, m:]
        z = mu + jnp.exp(0.5 * lv) * jax.random.normal(key, mu.shape, mu.dtype)
        d = jax.nn.relu(_convT(z.reshape(-1, 1, 1, m), *q["proj"]))
        for i, (Wc, bc) in enumerate(q["ups"]):
            d = _convT(d, Wc, bc, 2, 1)
            if i < len(q["ups"]) - 1:
                d = jax.nn.relu(d)
        return _bce_kl(d, X, mu, lv)

    impls["jax"] = _adam_runner(loss, hand, X, jax.random.key(1))
    torch = _torch()
    if torch is not None:
        nn = torch.nn
        layers = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.ReLU()]
        tenc = nn.Sequential(*layers, nn.Conv2d(widths[-1], 2 * m, (h0, w0)), nn.Flatten())
        dl = [nn.ConvTranspose2d(m, dchans[0], (h0, w0)), nn.ReLU()]
        for i, (a, b) in enumerate(zip(dchans[:-1], dchans[1:], strict=True)):
            dl.append(nn.ConvTranspose2d(a, b, 4, 2, 1))
            if i < L - 1:
                dl.append(nn.ReLU())
        tdec = nn.Sequential(*dl)
        Xt = torch.from_numpy(np.array(X)).permute(0, 3, 1, 2).contiguous()

        def tloss():
            out = tenc(Xt)
            mu, lv = out[:, :m], out[:, m:]
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            return _torch_bce_kl(torch, tdec(z.reshape(-1, m, 1, 1)), Xt, mu, lv)

        impls["torch"] = _torch_runner(torch, (tenc, tdec), tloss)
    return impls


# ------------------------------------------------------------------ DDPM steps


def _ddpm_hand_loss(denoise, T):
    _, ab = _schedule(T)
    ab = jnp.asarray(ab)

    def loss(q, X, key):
        k_t, k_e = jax.random.split(key)
        t = jax.random.randint(k_t, (X.shape[0],), 0, T, jnp.int32)
        eps = jax.random.normal(k_e, X.shape, X.dtype)
        a = ab[t].reshape((-1,) + (1,) * (X.ndim - 1))
        z = jnp.sqrt(a) * X + jnp.sqrt(1 - a) * eps
        r = eps - denoise(q, z, t)
        return jnp.mean(jnp.sum(r * r, axis=tuple(range(1, X.ndim))))

    return loss


def _torch_ddpm_loss(torch, denoise, X, T):
    _, ab = _schedule(T)
    ab = torch.from_numpy(ab)

    def tloss():
        t = torch.randint(0, T, (X.shape[0],))
        eps = torch.randn_like(X)
        a = ab[t].reshape((-1,) + (1,) * (X.ndim - 1))
        r = eps - denoise(torch.sqrt(a) * X + torch.sqrt(1 - a) * eps, t)
        return torch.mean(torch.sum((r * r).flatten(1), dim=1))

    return tloss


@register_case("generative", "ddpm_mlp_step", ratio_floor=0.9)
def _ddpm_mlp(quick: bool):
    """One Adam DDPM step of the 2-D MLP denoiser (34-128-128-2, SiLU, T = 1000) on a batch of 512."""
    if quick:
        raise SkipCase("timed in the full run only (the smoke run keeps two cases: compiling dominates it)")
    G, M = _mathdl()
    h, d, B = _DDPM_MLP[quick]
    T = _T[quick]
    X = jnp.asarray(np.random.default_rng(0).normal(size=(B, 2)).astype(np.float32))
    opt = optax.adam(1e-3)
    sched = G.ddpm_schedule(T, dtype=jnp.float32)
    params = M.init_mlp_denoiser(jax.random.key(0), 2, hidden=(h, h), time_dim=d, dtype=jnp.float32)
    step = G.make_ddpm_step(M.mlp_denoiser, opt, sched)
    impls = {"mathdl": _runner(step, G.init_ddpm_state(params, opt), X, jax.random.key(1))}
    table = jnp.asarray(_sinusoid_table(1000, d))
    hand = _dense_init(jax.random.split(jax.random.key(0), 3), (2 + d, h, h, 2))

    def denoise(q, z, t):
        return _mlp_fwd(q, jnp.concatenate([z, table[t]], axis=-1), jax.nn.silu)

    impls["jax"] = _adam_runner(_ddpm_hand_loss(denoise, T), hand, X, jax.random.key(1))
    torch = _torch()
    if torch is not None:
        net = _torch_mlp(torch, (2 + d, h, h, 2), torch.nn.SiLU)
        ttable = torch.from_numpy(np.array(table))
        Xt = torch.from_numpy(np.array(X))
        impls["torch"] = _torch_runner(
            torch, (net,), _torch_ddpm_loss(torch, lambda z, t: net(torch.cat([z, ttable[t]], dim=1)), Xt, T)
        )
    return impls


def _hand_unet(key, C, widths, d, c_t):
    L = len(widths) - 1
    ks = iter(jax.random.split(key, 5 * L + 4))

    def pair(a, b):
        return [_he_conv(next(ks), 3, a, b), _he_conv(next(ks), 3, b, b)]

    down, c = [], C + c_t
    for w in widths[:-1]:
        down.append(pair(c, w))
        c = w
    return {
        "time": (_normal(next(ks), (d, c_t), math.sqrt(1.0 / d)), jnp.zeros(c_t)),
        "down": down,
        "bottom": pair(c, widths[-1]),
        "up": [_he_conv(next(ks), 2, widths[i + 1], widths[i]) for i in range(L)],
        "dec": [pair(2 * widths[i], widths[i]) for i in range(L)],
        "head": _he_conv(next(ks), 1, widths[0], C),
    }


def _hand_unet_fwd(q, z, t, table):
    c = table[t] @ q["time"][0] + q["time"][1]
    B, H, W, _ = z.shape
    x = jnp.concatenate([z, jnp.broadcast_to(c[:, None, None, :], (B, H, W, c.shape[-1]))], axis=-1)

    def double(pair, x):
        for Wc, bc in pair:
            x = jax.nn.relu(_conv(x, Wc, bc, 1, 1))
        return x

    skips = []
    for pair in q["down"]:
        x = double(pair, x)
        skips.append(x)
        x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    x = double(q["bottom"], x)
    for lvl in reversed(range(len(q["down"]))):
        x = jax.nn.relu(_convT(x, *q["up"][lvl], 2, 0))
        x = double(q["dec"][lvl], jnp.concatenate([x, skips[lvl]], axis=-1))
    return _conv(x, *q["head"])


def _torch_unet(torch, C, widths, d, c_t):
    nn = torch.nn
    L = len(widths) - 1

    def pair(a, b):
        return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.Conv2d(b, b, 3, padding=1), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.time = nn.Linear(d, c_t)
            chans = (C + c_t, *widths[:-1])
            self.down = nn.ModuleList([pair(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)])
            self.bottom = pair(widths[-2], widths[-1])
            self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, 2) for i in range(L)])
            self.dec = nn.ModuleList([pair(2 * widths[i], widths[i]) for i in range(L)])
            self.head = nn.Conv2d(widths[0], C, 1)

        def forward(self, z, emb):
            c = self.time(emb)[:, :, None, None].expand(-1, -1, z.shape[2], z.shape[3])
            x = torch.cat([z, c], dim=1)
            skips = []
            for blk in self.down:
                x = blk(x)
                skips.append(x)
                x = torch.nn.functional.max_pool2d(x, 2)
            x = self.bottom(x)
            for lvl in reversed(range(L)):
                x = torch.relu(self.up[lvl](x))
                x = self.dec[lvl](torch.cat([x, skips[lvl]], dim=1))
            return self.head(x)

    return UNet()


@register_case("generative", "ddpm_unet_step", ratio_floor=0.9)
def _ddpm_unet(quick: bool):
    """One Adam DDPM step of the U-Net denoiser (widths 16-32-64) on 32 images 28x28x1, T = 1000."""
    if quick:
        raise SkipCase("timed in the full run only (its three columns compile for seconds each; tests cover the model)")
    G, M = _mathdl()
    shape, widths, B = _DDPM_UNET[quick]
    T, d, c_t = _T[quick], 32, 4
    X = jnp.asarray(np.random.default_rng(0).normal(size=(B, *shape)).astype(np.float32))
    opt = optax.adam(1e-3)
    sched = G.ddpm_schedule(T, dtype=jnp.float32)
    params = M.init_unet_denoiser(jax.random.key(0), shape[-1], widths=widths, time_dim=d, time_channels=c_t,
                                  dtype=jnp.float32)  # fmt: skip
    step = G.make_ddpm_step(M.unet_denoiser, opt, sched)
    impls = {"mathdl": _runner(step, G.init_ddpm_state(params, opt), X, jax.random.key(1))}
    table = jnp.asarray(_sinusoid_table(1000, d))
    hand = _hand_unet(jax.random.key(0), shape[-1], widths, d, c_t)
    impls["jax"] = _adam_runner(
        _ddpm_hand_loss(lambda q, z, t: _hand_unet_fwd(q, z, t, table), T), hand, X, jax.random.key(1)
    )
    torch = _torch()
    if torch is not None:
        net = _torch_unet(torch, shape[-1], widths, d, c_t)
        ttable = torch.from_numpy(np.array(table))
        Xt = torch.from_numpy(np.array(X)).permute(0, 3, 1, 2).contiguous()
        impls["torch"] = _torch_runner(torch, (net,), _torch_ddpm_loss(torch, lambda z, t: net(z, ttable[t]), Xt, T))
    return impls


# ------------------------------------------------------------------ GAN


@register_case("generative", "gan_mlp_step", ratio_floor=0.9)
def _gan_mlp(quick: bool):
    """One discriminator and one generator Adam update of 2-D MLP GANs (128-128 hidden) on a batch of 256."""
    if quick:
        raise SkipCase("timed in the full run only (the smoke run keeps two cases: compiling dominates it)")
    G, M = _mathdl()
    h, B = _GAN[quick]
    X = jnp.asarray(np.random.default_rng(0).normal(size=(B, 2)).astype(np.float32))
    opt = optax.adam(1e-3)
    kg, kd = jax.random.split(jax.random.key(0))
    g = M.init_mlp_generator(kg, 2, 2, hidden=(h, h), dtype=jnp.float32)
    d = M.init_mlp_discriminator(kd, 2, hidden=(h, h), dtype=jnp.float32)
    step = G.make_gan_step(M.mlp_generator, M.mlp_discriminator, opt, opt, latent_dim=2)
    impls = {"mathdl": _runner(step, G.init_gan_state(g, d, opt, opt), X, jax.random.key(1))}
    k = jax.random.split(jax.random.key(0), 6)
    hg, hd = _dense_init(k[:3], (2, h, h, 2)), _dense_init(k[3:], (2, h, h, 1))
    lrelu = jax.nn.leaky_relu

    def hand_step(state, X, key):
        hg, hd, og, od = state
        k1, k2 = jax.random.split(key)
        fake = lax.stop_gradient(_mlp_fwd(hg, jax.random.normal(k1, X.shape, X.dtype)))

        def d_loss(q):
            return jnp.mean(jax.nn.softplus(-_mlp_fwd(q, X, lrelu)) + jax.nn.softplus(_mlp_fwd(q, fake, lrelu)))

        dl, gd = jax.value_and_grad(d_loss)(hd)
        u, od = opt.update(gd, od, hd)
        hd = optax.apply_updates(hd, u)

        def g_loss(q):
            return jnp.mean(jax.nn.softplus(-_mlp_fwd(hd, _mlp_fwd(q, jax.random.normal(k2, X.shape, X.dtype)), lrelu)))

        gl, gg = jax.value_and_grad(g_loss)(hg)
        u, og = opt.update(gg, og, hg)
        return (optax.apply_updates(hg, u), hd, og, od), (dl, gl)

    impls["jax"] = _runner(hand_step, (hg, hd, opt.init(hg), opt.init(hd)), X, jax.random.key(1))
    torch = _torch()
    if torch is not None:
        tg = _torch_mlp(torch, (2, h, h, 2), torch.nn.ReLU)
        td = _torch_mlp(torch, (2, h, h, 1), lambda: torch.nn.LeakyReLU(0.01))
        og_t, od_t = torch.optim.Adam(tg.parameters(), lr=1e-3), torch.optim.Adam(td.parameters(), lr=1e-3)
        Xt = torch.from_numpy(np.array(X))
        sp = torch.nn.functional.softplus

        def run_torch():
            od_t.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake = tg(torch.randn_like(Xt))
            dl = torch.mean(sp(-td(Xt)) + sp(td(fake)))
            dl.backward()
            od_t.step()
            og_t.zero_grad(set_to_none=True)
            gl = torch.mean(sp(-td(tg(torch.randn_like(Xt)))))
            gl.backward()
            og_t.step()
            return gl.detach()

        impls["torch"] = run_torch
    return impls


# ------------------------------------------------------------------ samplers


def _sampler_case(kind):
    def make(quick: bool):
        if quick and kind == "ddim":
            raise SkipCase("timed in the full run only (the DDPM sampler case covers the smoke run)")
        G, M = _mathdl()
        T, n = _T[quick], _SAMPLES[quick]
        S = 50 if not quick else 4
        h, d, _ = _DDPM_MLP[quick]
        sched = G.ddpm_schedule(T, dtype=jnp.float32)
        params = M.init_mlp_denoiser(jax.random.key(0), 2, hidden=(h, h), time_dim=d, dtype=jnp.float32)
        keys = jax.random.split(jax.random.key(1), n)

        def den(z, t):
            return M.mlp_denoiser(params, z, t)

        if kind == "ddpm":
            one = lambda k: G.ddpm_sample(k, den, sched, (2,))  # noqa: E731
        else:
            one = lambda k: G.ddim_sample(k, den, sched, (2,), num_steps=S)  # noqa: E731
        sample = jax.jit(jax.vmap(one))
        impls = {"mathdl": lambda: sample(keys)}

        # hand-written: the same denoiser (mathdl's weights) on the batch, one lax.scan over the chain
        layers = [(W.T, b) for W, b in params.mlp]
        table = jnp.asarray(_sinusoid_table(1000, d))
        b_, ab_ = (np.asarray(v, np.float64) for v in (sched.betas, sched.alpha_bars))

        def eps_hat(z, t):
            return _mlp_fwd(layers, jnp.concatenate([z, jnp.broadcast_to(table[t], (z.shape[0], d))], axis=1),
                            jax.nn.silu)  # fmt: skip

        if kind == "ddpm":
            ts = np.arange(T - 1, -1, -1)
            coef = np.stack(
                [b_[ts] / np.sqrt(1 - ab_[ts]), 1 / np.sqrt(1 - b_[ts]), np.where(ts > 0, np.sqrt(b_[ts]), 0)], 1
            )
        else:
            taus = np.unique(np.round(np.linspace(0, T - 1, S)).astype(np.int32))[::-1]
            ts = taus
            a_t, a_p = ab_[taus], np.concatenate([ab_[taus[1:]], [1.0]])
            coef = np.stack([np.sqrt(1 - a_t), 1 / np.sqrt(a_t), np.sqrt(a_p), np.sqrt(1 - a_p)], 1)
        ts_j, coef_j = jnp.asarray(ts, jnp.int32), jnp.asarray(coef, jnp.float32)

        def chain(key):
            k0, ks = jax.random.split(key)

            def body(z, inp):
                j, t, c = inp
                e = eps_hat(z, t)
                if kind == "ddpm":
                    z = (z - c[0] * e) * c[1] + c[2] * jax.random.normal(jax.random.fold_in(ks, j), z.shape, z.dtype)
                else:
                    z = c[2] * (z - c[0] * e) * c[1] + c[3] * e
                return z, None

            z, _ = lax.scan(body, jax.random.normal(k0, (n, 2), jnp.float32), (jnp.arange(len(ts)), ts_j, coef_j))
            return z

        hand = jax.jit(chain)
        impls["jax"] = lambda: hand(jax.random.key(2))
        torch = _torch()
        if torch is not None:
            net = _torch_mlp(torch, (2 + d, h, h, 2), torch.nn.SiLU)
            ttable = torch.from_numpy(np.array(table))
            tcoef = torch.from_numpy(coef.astype(np.float32))
            tts = [int(t) for t in ts]

            def run_torch():
                with torch.no_grad():
                    z = torch.randn(n, 2)
                    for j, t in enumerate(tts):
                        e = net(torch.cat([z, ttable[t].expand(n, d)], dim=1))
                        c = tcoef[j]
                        if kind == "ddpm":
                            z = (z - c[0] * e) * c[1] + c[2] * torch.randn_like(z)
                        else:
                            z = c[2] * (z - c[0] * e) * c[1] + c[3] * e
                return z

            impls["torch"] = run_torch
        return impls

    make.__doc__ = (
        "1000 DDPM ancestral samples through T = 1000 steps (one lax.scan)."
        if kind == "ddpm"
        else "1000 DDIM samples, S = 50 steps, eta = 0 (one lax.scan)."
    )
    return make


# No speed floor for ancestral sampling: ``ddpm_sample`` samples ONE example per key (the library's
# one-example rule), so 1000 samples draw 1000 separate noise streams per step, where the hand-written
# chain draws one (1000, 2) batch; measured 0.34-0.61x (benchmarks/results/cpu/generative.md). Reported.
register_case("generative", "ddpm_sample_1000")(_sampler_case("ddpm"))
register_case("generative", "ddim_sample_1000", ratio_floor=0.9)(_sampler_case("ddim"))
