"""The traced programs of the first-order steps: no work a memory-bound step does not need.

An optimizer step on CPU is bound by memory traffic and by the number of kernels; an update
counter nobody reads is one more kernel per step and a double-``where`` guard two more selects per
element. These tests inspect the jaxpr (the program-level check the second-order tests also use).
"""

import jax
import jax.extend as jex
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl import optim
from tests._tolerances import tol

PARAMS = {"W": jnp.ones((4, 3), jnp.float32), "b": jnp.zeros((4,), jnp.float32)}


def _primitives(opt):
    grads = jax.tree.map(lambda p: 0.1 * jnp.ones_like(p), PARAMS)
    state = opt.init(PARAMS)
    jaxpr = jax.make_jaxpr(lambda g, s, p: optax.apply_updates(p, opt.update(g, s, p)[0]))(grads, state, PARAMS)
    return list(_walk(jaxpr.jaxpr))


def _walk(jaxpr):
    """Primitive names of a jaxpr, inner jaxprs (jnp.where's jit, say) included."""
    for eqn in jaxpr.eqns:
        inner = [v for v in eqn.params.values() if isinstance(v, (jex.core.Jaxpr, jex.core.ClosedJaxpr))]
        if inner:
            for sub in inner:
                yield from _walk(getattr(sub, "jaxpr", sub))
        else:
            yield eqn.primitive.name


CONSTANT_LR = {
    "sgd": lambda: optim.sgd(0.1),
    "momentum": lambda: optim.momentum(0.1),
    "nesterov": lambda: optim.nesterov(0.1),
    "adagrad": lambda: optim.adagrad(0.1),
    "rmsprop": lambda: optim.rmsprop(1e-3, beta=0.9, eps=1e-8),
}


@pytest.mark.parametrize("name", list(CONSTANT_LR))
def test_constant_learning_rate_keeps_no_counter(name):
    """Program: with a constant learning rate the state has no counter (count is None), so the step has no
    integer arithmetic at all (the counter used to be a separate scalar kernel per step)."""
    opt = CONSTANT_LR[name]()
    state = opt.init(PARAMS)
    assert state.count is None
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state))
    _, new_state = opt.update(jax.tree.map(jnp.ones_like, PARAMS), state, PARAMS)
    assert new_state.count is None


def test_rmsprop_step_is_optax_sized():
    """Program: RMSprop with ε > 0 traces to no select and no comparison (ε keeps g/(√s + ε) finite at s = 0,
    so the guard is not needed) and to no more primitives than Optax's rmsprop(eps_in_sqrt=False)."""
    ours = _primitives(optim.rmsprop(1e-3, beta=0.9, eps=1e-8))
    theirs = _primitives(optax.rmsprop(1e-3, decay=0.9, eps=1e-8, eps_in_sqrt=False))
    assert "select_n" not in ours and "gt" not in ours, ours
    assert len(ours) <= len(theirs), (ours, theirs)


def test_rmsprop_eps_zero_keeps_the_guard():
    """Edge: with ε = 0 the guard stays (0/0 where all gradients were zero), so the step is 0 there, not NaN."""
    assert "select_n" in _primitives(optim.rmsprop(1e-3, eps=0.0))
    opt = optim.rmsprop(0.1, eps=0.0)
    u, _ = opt.update(jnp.array([0.0, 1.0]), opt.init(jnp.zeros(2)), jnp.zeros(2))
    assert float(u[0]) == 0.0 and np.isfinite(float(u[1]))


def test_schedule_keeps_the_counter():
    """Property: with a schedule the counter is kept and counts updates (the schedule is read at 0, 1, ...)."""
    opt = optim.rmsprop(optim.geometric_schedule(0.1, decay_rate=0.5), eps=1e-8)
    p = jnp.zeros(2)
    state = opt.init(p)
    for k in range(3):
        assert int(state.count) == k
        _, state = opt.update(jnp.ones(2), state, p)
    assert int(state.count) == 3


@pytest.mark.parametrize("make", [lambda: optim.rmsprop(0.1, eps=1e-8), lambda: optim.adagrad(0.1, eps=1e-8)])
def test_gradient_through_update_finite_at_zero(make):
    """Transform: d(update)/dg at g = 0 from a zero state (s = 0, where √s has an infinite derivative) is finite:
    the root has derivative 0 at 0 (for RMSprop and Adagrad the exact Jacobian there is -α/ε · I)."""
    opt = make()
    p = jnp.zeros(2)
    J = jax.jacobian(lambda g: opt.update(g, opt.init(p), p)[0])(jnp.zeros(2))
    assert np.all(np.isfinite(np.asarray(J)))
    np.testing.assert_allclose(np.asarray(J), -0.1 / 1e-8 * np.eye(2), **tol(np.float64))
