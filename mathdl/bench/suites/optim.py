r"""Optimizer suite: one update step of each mathdl optimizer against Optax and hand-written JAX.

Each case times one step $(\theta, s) \mapsto (\theta + u, s')$ with $(u, s') = \mathrm{update}(g, s, \theta)$
on a fixed gradient $g$, for a parameter pytree of four leaves (two 1000 x 500 matrices and
two bias vectors, 1,001,500 parameters; ``quick``: 32 x 16 and 16 x 32, 1,072 parameters),
in float32. Implementations:

* ``mathdl``: the ``mathdl.optim`` transformation followed by ``optax.apply_updates``;
* ``jax``: the same rule written by hand with ``jax.tree.map`` (the ratio reference);
* ``optax``: Optax's counterpart, with the convention difference reproduced (book momentum
  with $\alpha$ is ``optax.sgd(alpha * (1 - beta), momentum=beta)``; RMSprop with
  ``eps_in_sqrt=False``; Adagrad with ``initial_accumulator_value=0`` and ``eps=0``).

An optimizer step is memory bound, so ``bytes`` counts float32 reads and writes of the
parameters, gradient and state (e.g. ADAM reads $\theta, g, v, s$ and writes $\theta, v, s$).
"""

import jax
import jax.numpy as jnp

from mathdl.bench._registry import register_case

_SHAPES = {
    True: {"W1": (32, 16), "b1": (32,), "W2": (16, 32), "b2": (16,)},
    False: {"W1": (1000, 500), "b1": (1000,), "W2": (500, 1000), "b2": (500,)},
}
LR = 1e-3
BETA = 0.9
B1, B2, EPS = 0.9, 0.999, 1e-8
WD = 1e-4
FLOOR = 0.85  # mathdl/jax speed ratio the guard demands; the target (one quiet run) is >= 0.95


def _n_params(quick: bool) -> int:
    total = 0
    for shape in _SHAPES[quick].values():
        size = 1
        for d in shape:
            size *= d
        total += size
    return total


def _inputs(quick: bool):
    keys = jax.random.split(jax.random.key(0), 2 * len(_SHAPES[quick]))
    params, grads = {}, {}
    for i, (name, shape) in enumerate(_SHAPES[quick].items()):
        params[name] = jax.random.normal(keys[2 * i], shape, jnp.float32)
        grads[name] = 0.1 * jax.random.normal(keys[2 * i + 1], shape, jnp.float32)
    return params, grads


def _optax_impl(opt, params, grads):
    import optax

    # One warm-up update so moment states are non-zero (the hand-written references start from
    # the same state: v = (1 - beta) g, s = g*g or (1 - beta) g*g, t = 1).
    _, state = opt.update(grads, opt.init(params), params)

    @jax.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return lambda: step(params, state, grads)


# --- hand-written references (the `jax` column), one per rule ------------------------------------


def _hand_sgd(params, grads):
    step = jax.jit(lambda p, g: jax.tree.map(lambda p, g: p - LR * g, p, g))
    return lambda: step(params, grads)


def _hand_momentum(params, grads):
    v0 = jax.tree.map(lambda g: (1 - BETA) * g, grads)

    @jax.jit
    def step(p, v, g):
        v = jax.tree.map(lambda v, g: BETA * v + (1 - BETA) * g, v, g)
        return jax.tree.map(lambda p, v: p - LR * v, p, v), v

    return lambda: step(params, v0, grads)


def _hand_adagrad(params, grads):
    s0 = jax.tree.map(lambda g: g * g, grads)

    @jax.jit
    def step(p, s, g):
        s = jax.tree.map(lambda s, g: s + g * g, s, g)
        return jax.tree.map(lambda p, g, s: p - LR * g / jnp.sqrt(s), p, g, s), s

    return lambda: step(params, s0, grads)


def _hand_rmsprop(params, grads):
    s0 = jax.tree.map(lambda g: (1 - BETA) * g * g, grads)

    @jax.jit
    def step(p, s, g):
        s = jax.tree.map(lambda s, g: BETA * s + (1 - BETA) * g * g, s, g)
        return jax.tree.map(lambda p, g, s: p - LR * g / (jnp.sqrt(s) + EPS), p, g, s), s

    return lambda: step(params, s0, grads)


def _hand_adam(params, grads, weight_decay):
    v0 = jax.tree.map(lambda g: (1 - B1) * g, grads)
    s0 = jax.tree.map(lambda g: (1 - B2) * g * g, grads)
    t0 = jnp.asarray(1, jnp.int32)

    @jax.jit
    def step(p, v, s, t, g):
        t = t + 1
        v = jax.tree.map(lambda v, g: B1 * v + (1 - B1) * g, v, g)
        s = jax.tree.map(lambda s, g: B2 * s + (1 - B2) * g * g, s, g)
        c1 = (1 - B1 ** t.astype(jnp.float32)).astype(jnp.float32)
        c2 = (1 - B2 ** t.astype(jnp.float32)).astype(jnp.float32)

        def new(p, v, s):
            d = (v / c1) / (jnp.sqrt(s / c2) + EPS)
            return p - LR * (d + weight_decay * p) if weight_decay else p - LR * d

        return jax.tree.map(new, p, v, s), v, s, t

    return lambda: step(params, v0, s0, t0, grads)


# --- cases -----------------------------------------------------------------------------------


def _case(name, mathdl_opt, optax_opt, hand):
    def make(quick: bool):
        from mathdl import optim

        params, grads = _inputs(quick)
        return {
            "mathdl": _optax_impl(mathdl_opt(optim), params, grads),
            "jax": hand(params, grads),
            "optax": _optax_impl(optax_opt(), params, grads),
        }

    make.__name__ = f"make_{name}"
    return make


def _bytes(words_per_param: int):
    return lambda quick: 4.0 * words_per_param * _n_params(quick)


def _register(name, mathdl_opt, optax_opt, hand, words):
    register_case("optim", f"{name}_step", bytes=_bytes(words), ratio_floor=FLOOR)(
        _case(name, mathdl_opt, optax_opt, hand)
    )


def _optax():
    import optax

    return optax


_register("sgd", lambda o: o.sgd(LR), lambda: _optax().sgd(LR), _hand_sgd, 3)
_register(
    "momentum",
    lambda o: o.momentum(LR, beta=BETA),
    lambda: _optax().sgd(LR * (1 - BETA), momentum=BETA),  # book smoothing form == optax trace with alpha(1-beta)
    _hand_momentum,
    5,
)
_register(
    "adagrad",
    # eps = 0: Optax adds eps inside the root, mathdl outside; with eps = 0 all three columns are one rule.
    lambda o: o.adagrad(LR, eps=0.0),
    lambda: _optax().adagrad(LR, initial_accumulator_value=0.0, eps=0.0),
    _hand_adagrad,
    5,
)
_register(
    "rmsprop",
    lambda o: o.rmsprop(LR, beta=BETA, eps=EPS),
    lambda: _optax().rmsprop(LR, decay=BETA, eps=EPS, eps_in_sqrt=False),
    _hand_rmsprop,
    5,
)
_register(
    "adam",
    lambda o: o.adam(LR, b1=B1, b2=B2, eps=EPS),
    lambda: _optax().adam(LR, b1=B1, b2=B2, eps=EPS),
    lambda p, g: _hand_adam(p, g, 0.0),
    7,
)
_register(
    "adamw",
    lambda o: o.adamw(LR, b1=B1, b2=B2, eps=EPS, weight_decay=WD),
    lambda: _optax().adamw(LR, b1=B1, b2=B2, eps=EPS, weight_decay=WD),
    lambda p, g: _hand_adam(p, g, WD),
    7,
)
