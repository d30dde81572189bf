r"""Training steps: mathdl's one compiled step against hand-written JAX, Flax NNX and PyTorch.

* ``mlp_784_512_512_10_adam``: one Adam step of the MNIST-sized MLP 784-512-512-10 (ReLU,
  softmax cross-entropy) on a batch of 128. ``mathdl`` is :func:`mathdl.train.make_train_step`
  over :func:`mathdl.train.mean_loss` of the one-example :func:`mathdl.models.mlp` (vmapped),
  jitted with donated parameters and optimizer state, as ``fit`` runs it, with ``optax.adam``
  in every JAX column so that the ratios compare steps, not Adam implementations; ``jax`` is the same
  step written by hand on batched matrices with ``jax.jit`` and ``optax.adam``;
  ``flax_nnx`` is an ``nnx.Module`` trained with ``nnx.Optimizer`` under ``nnx.jit`` (the
  default NNX way); ``flax_nnx_split`` is :class:`mathdl.nn.MLP` through
  :func:`mathdl.nn.to_pure` and mathdl's step under ``jax.jit``; ``torch`` is eager PyTorch
  with ``torch.optim.Adam``; ``torch_compile`` is the same model under ``torch.compile``
  (skipped when it cannot compile on this machine).
  FLOPs per step: $6 B \sum_\ell N_\ell N_{\ell-1}$ (forward $2B\sum N_\ell N_{\ell-1}$, backward
  twice that), ignoring the elementwise work.
* ``mlp_tiny_adam``: the same at 8-16-16-4 with a batch of 8: the time is per-step framework
  overhead (dispatch, pytree handling), not arithmetic.
* ``logreg_sgd``: one SGD step of softmax regression 784 -> 10 on a batch of 128 ([MEDL] Ch. 3).
* ``loop_tiny_adam_200_steps`` and ``..._step_by_step``: the per-step cost of
  :func:`mathdl.train.loop`. ``mathdl`` is one ``loop`` call of 200 steps (one epoch of shuffled
  data: the batch gathered on the device, the non-finite guard and the metric tally included) of
  the tiny MLP's Adam step, as one ``lax.scan`` (the default when logs and checkpoints fall on
  epoch boundaries) or with ``scan=False`` (one compiled call per step); ``loop`` is mathdl's
  jitted step alone called 200 times from Python on a fixed batch (the ``mathdl`` column of
  ``mlp_tiny_adam``, times 200); ``jax`` is the hand-written step the same way.
  ``(mathdl - loop) / 200`` is what the loop adds per step, its fixed cost per call included.
* ``checkpoint_every_100``: 100 Adam steps of the MNIST-sized MLP (one ``lax.scan``), then, for
  ``mathdl``, a verified checkpoint written the way ``loop`` writes it
  (:class:`mathdl.train.CheckpointWriter`: host copy now, orbax write + manifest on a background
  thread, keep 2); ``jax`` is the same 100 steps without the checkpoint. The ratio is the cost
  of checkpointing every 100 steps (target at full size: at least 0.95, i.e. under 5%).
"""

import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl.bench._registry import SkipCase, register_case

_MLP = {True: ((32, 16, 16, 4), 8), False: ((784, 512, 512, 10), 128)}
_TINY = ((8, 16, 16, 4), 8)
_LOGREG = {True: ((32, 4), 8), False: ((784, 10), 128)}
_CKPT_STEPS = {True: 5, False: 100}
_LOOP_STEPS = 200


def _mlp_flops(widths, batch) -> float:
    return 6.0 * batch * sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))


def _data(widths, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], size=batch).astype(np.int32)
    return jnp.asarray(X), jnp.asarray(y)


def _mathdl_step(widths, lr=1e-3, *, jit=True):
    """mathdl's step for an MLP: (step, jitted with donation unless ``jit=False``; params; opt_state)."""
    try:
        from mathdl import losses, models
    except ImportError as exc:
        raise SkipCase(f"mathdl.models/losses not importable ({exc})") from exc
    from mathdl.train import make_train_step, mean_loss

    params = models.init_mlp(jax.random.key(0), list(widths), dtype=jnp.float32)

    def example_loss(theta, example):
        x, y = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), y)

    opt = optax.adam(lr)  # the same optimizer as the `jax` column: the ratio measures the step, not Adam
    step = make_train_step(mean_loss(example_loss), opt)
    if jit:
        step = jax.jit(step, donate_argnums=(0, 1))
    return step, params, opt.init(params)


def _hand_jax_step(widths, lr=1e-3):
    """Hand-written JAX: batched matrices, optax.adam, jax.jit with donation."""
    keys = jax.random.split(jax.random.key(0), len(widths) - 1)
    params = [
        (jax.random.normal(k, (n_out, n_in), jnp.float32) * np.sqrt(2.0 / n_in), jnp.zeros(n_out, jnp.float32))
        for k, n_in, n_out in zip(keys, widths[:-1], widths[1:], strict=True)
    ]
    opt = optax.adam(lr)

    def loss(ps, X, y):
        a = X
        for W, b in ps[:-1]:
            a = jax.nn.relu(a @ W.T + b)
        W, b = ps[-1]
        z = a @ W.T + b
        return jnp.mean(jax.nn.logsumexp(z, axis=-1) - jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0])

    def step(ps, state, X, y):
        value, g = jax.value_and_grad(loss)(ps, X, y)
        updates, state = opt.update(g, state, ps)
        return optax.apply_updates(ps, updates), state, value

    return jax.jit(step, donate_argnums=(0, 1)), params, opt.init(params)


class _Box:
    """Holds the evolving training state between timed calls (each call is one step)."""

    def __init__(self, *state):
        self.state = state


def _mlp_impls(widths, batch) -> dict:
    X, y = _data(widths, batch)
    impls = {}

    step, params, opt_state = _mathdl_step(widths)
    box = _Box(params, opt_state)

    def run_mathdl():
        p, o, m = step(*box.state, (X, y), None)
        box.state = (p, o)
        return m["loss"]

    impls["mathdl"] = run_mathdl

    jstep, jparams, jstate = _hand_jax_step(widths)
    jbox = _Box(jparams, jstate)

    def run_jax():
        p, o, v = jstep(*jbox.state, X, y)
        jbox.state = (p, o)
        return v

    impls["jax"] = run_jax
    impls.update(_flax_impls(widths, X, y))
    impls.update(_torch_impls(widths, X, y))
    return impls


def _flax_impls(widths, X, y) -> dict:
    try:
        from flax import nnx
    except ImportError:
        return {}
    impls = {}

    class Net(nnx.Module):
        def __init__(self, widths, rngs):
            self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths[:-1], widths[1:], strict=True)])

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = jax.nn.relu(layer(x))
            return self.layers[-1](x)

    model = Net(widths, nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def nnx_step(model, optimizer, X, y):
        def loss_fn(model):
            z = model(X)
            return optax.softmax_cross_entropy_with_integer_labels(z, y).mean()

        value, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return value

    impls["flax_nnx"] = lambda: nnx_step(model, optimizer, X, y)

    try:
        from mathdl import losses, nn
        from mathdl.train import make_train_step
    except ImportError:
        return impls
    mmodel = nn.MLP(list(widths), rngs=nnx.Rngs(0))
    apply, params, state = nn.to_pure(mmodel)

    def loss_fn(params, state, batch, key):
        del key
        Xb, yb = batch
        z, state = apply(params, state, Xb)
        return jnp.mean(losses.softmax_cross_entropy(z, yb)), state

    opt = optax.adam(1e-3)
    step = jax.jit(make_train_step(loss_fn, opt, has_state=True), donate_argnums=(0, 1, 2))
    box = _Box(params, opt.init(params), state)

    def run_split():
        p, o, s, m = step(*box.state, (X, y), None)
        box.state = (p, o, s)
        return m["loss"]

    impls["flax_nnx_split"] = run_split
    return impls


def _torch_impls(widths, X, y) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(np.array(X)), torch.from_numpy(np.array(y)).long()

    def make():
        layers = []
        for a, b in zip(widths[:-2], widths[1:-1], strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(widths[-2], widths[-1]))
        net = torch.nn.Sequential(*layers)
        return net, torch.optim.Adam(net.parameters(), lr=1e-3)

    def stepper(net, opt):
        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(Xt), yt)
            loss.backward()
            opt.step()
            return loss.detach()

        return step

    impls = {"torch": stepper(*make())}
    try:
        net, opt = make()
        compiled = torch.compile(net)
        step = stepper(compiled, opt)
        step()  # compile now: if the toolchain is missing this raises, and the impl is left out
        impls["torch_compile"] = step
    except Exception:  # noqa: BLE001 - inductor needs a working C++ toolchain; leave the impl out
        pass
    return impls


@register_case("training", "mlp_784_512_512_10_adam", flops=lambda q: _mlp_flops(*_MLP[q]), ratio_floor=0.97)
def mlp_adam(quick: bool):
    """One Adam step of the MNIST-sized MLP, batch 128 (tiny sizes with ``quick``)."""
    return _mlp_impls(*_MLP[quick])


@register_case("training", "mlp_tiny_adam", flops=lambda q: _mlp_flops(*_TINY))
def mlp_tiny_adam(quick: bool):
    """One Adam step of an 8-16-16-4 MLP on 8 examples: per-step framework overhead."""
    del quick
    return _mlp_impls(*_TINY)


@register_case("training", "logreg_sgd", flops=lambda q: _mlp_flops(*_LOGREG[q]), ratio_floor=0.9)
def logreg_sgd(quick: bool):
    """One SGD step of softmax regression (784 -> 10, batch 128)."""
    widths, batch = _LOGREG[quick]
    X, y = _data(widths, batch)
    try:
        from mathdl import losses, models
    except ImportError as exc:
        raise SkipCase(f"mathdl.models/losses not importable ({exc})") from exc
    from mathdl.train import make_train_step, mean_loss

    params = models.init_mlp(jax.random.key(0), list(widths), dtype=jnp.float32)
    opt = optax.sgd(0.1)

    def example_loss(theta, example):
        x, t = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), t)

    step = jax.jit(make_train_step(mean_loss(example_loss), opt), donate_argnums=(0, 1))
    box = _Box(params, opt.init(params))

    def run_mathdl():
        p, o, m = step(*box.state, (X, y), None)
        box.state = (p, o)
        return m["loss"]

    W0, b0 = jnp.zeros((widths[1], widths[0]), jnp.float32), jnp.zeros(widths[1], jnp.float32)

    def jloss(W, b, X, y):
        z = X @ W.T + b
        return jnp.mean(jax.nn.logsumexp(z, axis=-1) - jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0])

    def jstep(W, b, X, y):
        value, (gW, gb) = jax.value_and_grad(jloss, argnums=(0, 1))(W, b, X, y)
        return W - 0.1 * gW, b - 0.1 * gb, value

    jstep = jax.jit(jstep, donate_argnums=(0, 1))
    jbox = _Box(W0, b0)

    def run_jax():
        W, b, v = jstep(*jbox.state, X, y)
        jbox.state = (W, b)
        return v

    impls = {"mathdl": run_mathdl, "jax": run_jax}
    try:
        import torch
    except ImportError:
        return impls
    lin = torch.nn.Linear(widths[0], widths[1])
    topt = torch.optim.SGD(lin.parameters(), lr=0.1)
    Xt, yt = torch.from_numpy(np.array(X)), torch.from_numpy(np.array(y)).long()

    def run_torch():
        topt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(lin(Xt), yt)
        loss.backward()
        topt.step()
        return loss.detach()

    impls["torch"] = run_torch
    return impls


def _loop_impls(scan: bool) -> dict:
    from mathdl.train import loop

    widths, batch = _TINY
    one, params, opt_state = _mathdl_step(widths, jit=False)  # loop compiles it
    step = _mathdl_step(widths)[0]
    rng = np.random.default_rng(1)
    n = batch * _LOOP_STEPS  # one epoch of 200 batches
    X = rng.normal(size=(n, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], size=n).astype(np.int32)
    key = jax.random.key(0)  # loop reads its key, never consumes it

    def supervised(state, b, k):
        p, o, m = one(*state, b, k)
        return (p, o), m

    def run_loop():
        res = loop(supervised, (params, opt_state), key=key, data=(X, y), batch_size=batch, epochs=1, scan=scan,
                   progress=False, handle_signals=False)  # fmt: skip
        return res.state

    Xb, yb = _data(widths, batch)
    box = _Box(jax.tree.map(jnp.copy, params), jax.tree.map(jnp.copy, opt_state))

    def run_steps():
        for _ in range(_LOOP_STEPS):
            p, o, m = step(*box.state, (Xb, yb), None)
            box.state = (p, o)
        return m["loss"]

    jstep, jparams, jstate = _hand_jax_step(widths)
    jbox = _Box(jparams, jstate)

    def run_jax():
        for _ in range(_LOOP_STEPS):
            p, o, v = jstep(*jbox.state, Xb, yb)
            jbox.state = (p, o)
        return v

    return {"mathdl": run_loop, "loop": run_steps, "jax": run_jax}


@register_case("training", f"loop_tiny_adam_{_LOOP_STEPS}_steps", flops=lambda q: _LOOP_STEPS * _mlp_flops(*_TINY))
def loop_tiny_adam(quick: bool):
    """200 Adam steps of the 8-16-16-4 MLP through train.loop as it runs by default (one scan per epoch)."""
    del quick
    return _loop_impls(scan=True)


@register_case(
    "training", f"loop_tiny_adam_{_LOOP_STEPS}_steps_step_by_step", flops=lambda q: _LOOP_STEPS * _mlp_flops(*_TINY)
)
def loop_tiny_adam_step_by_step(quick: bool):
    """The same 200 steps through train.loop with scan=False: one compiled call per step."""
    del quick
    return _loop_impls(scan=False)


# No ratio floor: the regression guard runs quick sizes, where 5 tiny steps cost far less than any
# disk write; the 5% target is for the full size (read the jax/mathdl ratio of a full run).
@register_case("training", "checkpoint_every_100", flops=lambda q: _CKPT_STEPS[q] * _mlp_flops(*_MLP[q]))
def checkpoint_every_100(quick: bool):
    """100 Adam steps of the MNIST-sized MLP with (mathdl) and without (jax) one verified checkpoint."""
    from mathdl.train import CheckpointWriter

    widths, batch = _MLP[quick]
    n_steps = _CKPT_STEPS[quick]
    X, y = _data(widths, batch)
    from mathdl import losses, models
    from mathdl.train import make_train_step, mean_loss

    def example_loss(theta, example):
        x, t = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), t)

    opt = optax.adam(1e-3)
    one = make_train_step(mean_loss(example_loss), opt)
    params = models.init_mlp(jax.random.key(0), list(widths), dtype=jnp.float32)
    opt_state = opt.init(params)

    def many(p, o):
        def body(carry, _):
            p, o, _ = one(*carry[:2], (X, y), None)
            return (p, o), None

        (p, o), _ = jax.lax.scan(body, (p, o), None, length=n_steps)
        return p, o

    many = jax.jit(many, donate_argnums=(0, 1))
    folder = tempfile.mkdtemp(prefix="mathdl-bench-ckpt-")
    saver = CheckpointWriter()
    box = _Box(params, opt_state)
    jbox = _Box(jax.tree.map(jnp.copy, params), jax.tree.map(jnp.copy, opt_state))
    counter = [0]

    def run_with_checkpoint():
        box.state = many(*box.state)
        counter[0] += n_steps
        saver.save(folder, counter[0], {"params": box.state[0], "opt_state": box.state[1]}, {"step": counter[0]}, 2)
        return box.state[0]

    def run_without():
        jbox.state = many(*jbox.state)
        return jbox.state[0]

    return {"mathdl": run_with_checkpoint, "jax": run_without}
