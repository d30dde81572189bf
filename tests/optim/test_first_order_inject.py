"""Every mathdl optimizer works under ``optax.inject_hyperparams`` and ``jax.jit``, as Optax's do.

``inject_hyperparams`` calls the factory again inside ``update`` with each numeric hyperparameter
as an array taken from the optimizer state, so under ``jit`` it is a tracer: a Python ``if`` on a
hyperparameter, a ``float()`` of one, or a float64 constant mixed with a float32 hyperparameter
breaks there.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl import optim
from tests._tolerances import tol

# (factory, hyperparameters); every numeric hyperparameter of each factory is given, so all are injected
OPTIMIZERS = {
    "sgd": (optim.sgd, {"learning_rate": 0.1}),
    "gd": (optim.gd, {"learning_rate": 0.1}),
    "momentum": (optim.momentum, {"learning_rate": 0.1, "beta": 0.9}),
    "momentum_classical": (optim.momentum, {"learning_rate": 0.1, "beta": 0.9, "form": "classical"}),
    "nesterov": (optim.nesterov, {"learning_rate": 0.1, "beta": 0.9}),
    "adagrad": (optim.adagrad, {"learning_rate": 0.1, "eps": 1e-8, "initial_accumulator": 0.1}),
    "rmsprop": (optim.rmsprop, {"learning_rate": 0.01, "beta": 0.9, "eps": 1e-8}),
    "adam": (optim.adam, {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "adamw": (optim.adamw, {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.1}),
    "adamw_no_decay": (optim.adamw, {"learning_rate": 0.01, "weight_decay": 0.0}),
    "clip_by_global_norm": (optim.clip_by_global_norm, {"max_norm": 0.5}),
}


def _params(dtype):
    return {"W": jnp.array([[1.0, -2.0], [0.5, 3.0]], dtype), "b": jnp.array([0.1, -0.4], dtype)}


def _grads(dtype, step):
    scale = 1.0 + 0.5 * step
    return {"W": scale * jnp.array([[0.3, -0.1], [0.2, 0.4]], dtype), "b": scale * jnp.array([-0.5, 0.25], dtype)}


def _run(opt, dtype, steps=3):
    """Three jitted update + apply steps from _params; returns the parameters and the last state."""
    params = _params(dtype)
    state = jax.jit(opt.init)(params)

    @jax.jit
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for k in range(steps):
        params, state = step(params, state, _grads(dtype, k))
    return params, state


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_inject_hyperparams_matches_plain(name, dtype):
    """Transform: inject_hyperparams(factory)(**hp) under jit gives the plain optimizer's parameters, in the
    parameters' dtype (the injected hyperparameters are arrays of that dtype, tracers inside the jit)."""
    factory, hp = OPTIMIZERS[name]
    plain, _ = _run(factory(**hp), dtype)
    injected, state = _run(optax.inject_hyperparams(factory)(**hp), dtype)
    numeric = {k for k, v in hp.items() if not isinstance(v, str)}
    assert numeric <= set(state.hyperparams)  # defaults are injected too
    for a, b in zip(jax.tree.leaves(injected), jax.tree.leaves(plain), strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol(dtype, composite=True))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_injected_hyperparameter_takes_effect(name):
    """Property: changing an injected hyperparameter in the state changes the next update as the rule says
    (learning rate: the step scales with it; clipping: a larger max_norm leaves a small gradient alone)."""
    factory, hp = OPTIMIZERS[name]
    opt = optax.inject_hyperparams(factory)(**hp)
    params = _params(jnp.float64)
    state = opt.init(params)
    grads = _grads(jnp.float64, 0)
    update = jax.jit(opt.update)
    u1, _ = update(grads, state, params)
    if name == "clip_by_global_norm":
        state.hyperparams["max_norm"] = jnp.asarray(100.0)
        u2, _ = update(grads, state, params)
        for a, g in zip(jax.tree.leaves(u2), jax.tree.leaves(grads), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(g), **tol(np.float64))
        assert not np.allclose(np.asarray(u1["W"]), np.asarray(grads["W"]))
        return
    state.hyperparams["learning_rate"] = 2.0 * state.hyperparams["learning_rate"]
    u2, _ = update(grads, state, params)
    for a, b in zip(jax.tree.leaves(u2), jax.tree.leaves(u1), strict=True):
        np.testing.assert_allclose(np.asarray(a), 2.0 * np.asarray(b), **tol(np.float64))


def test_adamw_weight_decay_is_traced():
    """Worked value: injected AdamW with η = 0.01 and λ = 0.1 at the first step moves θ by
    −η(sign-like Adam step + λθ); changing λ in the state to 0 removes exactly η·λ·θ (no Python `if`)."""
    opt = optax.inject_hyperparams(optim.adamw)(learning_rate=0.01, weight_decay=0.1)
    params = _params(jnp.float64)
    state = opt.init(params)
    grads = _grads(jnp.float64, 0)
    update = jax.jit(opt.update)
    with_decay, _ = update(grads, state, params)
    state.hyperparams["weight_decay"] = jnp.asarray(0.0)
    without, _ = update(grads, state, params)
    for a, b, p in zip(jax.tree.leaves(with_decay), jax.tree.leaves(without), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(np.asarray(a - b), -0.01 * 0.1 * np.asarray(p), **tol(np.float64))


def test_optax_reference_under_the_same_wrapper():
    """Oracle: optax.adamw under the same wrapper and jit gives the same parameters as mathdl's adamw
    (both put eps outside the root and multiply the decay by the learning rate)."""
    hp = {"learning_rate": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.1}
    ours, _ = _run(optax.inject_hyperparams(optim.adamw)(**hp), jnp.float64)
    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
        ref, _ = _run(optax.inject_hyperparams(optax.adamw)(**hp), jnp.float64)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol(np.float64, composite=True))
