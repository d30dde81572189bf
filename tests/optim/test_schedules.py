"""Tests of mathdl.optim's learning-rate schedules against hand values and Optax's schedules."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import optim
from tests._tolerances import tol

T = jnp.arange(0, 250, dtype=jnp.int32)

SCHEDULES = {
    "constant": lambda: optim.constant_schedule(0.3),
    "geometric": lambda: optim.geometric_schedule(0.5, decay_rate=0.99),
    "step": lambda: optim.step_schedule(0.5, step_size=30, decay_rate=0.5),
    "cosine": lambda: optim.cosine_schedule(0.5, decay_steps=100, final_fraction=0.1),
    "warmup": lambda: optim.linear_warmup(0.5, warmup_steps=20, init_value=0.05),
    "join": lambda: optim.join_schedules(
        [optim.linear_warmup(0.5, warmup_steps=20), optim.cosine_schedule(0.5, decay_steps=100)], [20]
    ),
}

ORACLES = {
    "constant": lambda: optax.constant_schedule(0.3),
    "geometric": lambda: optax.exponential_decay(0.5, 1, 0.99),
    "step": lambda: optax.exponential_decay(0.5, 30, 0.5, staircase=True),
    "cosine": lambda: optax.cosine_decay_schedule(0.5, 100, alpha=0.1),
    "warmup": lambda: optax.linear_schedule(0.05, 0.5, 20),
    "join": lambda: optax.join_schedules(
        [optax.linear_schedule(0.0, 0.5, 20), optax.cosine_decay_schedule(0.5, 100)], [20]
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_matches_optax(name):
    """Oracle: Optax's schedule of the same name over t = 0..249 (Optax evaluates in float32: float32 tolerance)."""
    ours = np.asarray(jax.vmap(SCHEDULES[name]())(T))
    with jax.numpy_dtype_promotion("standard"):
        theirs = np.asarray(jax.vmap(ORACLES[name]())(T), np.float64)
    np.testing.assert_allclose(ours, theirs, **tol(np.float32, composite=True))


def test_worked_values():
    """By hand: geometric 0.5 * 0.9^3; step 1 * 0.5^(floor(7/3)) = 0.25; cosine at T/2 = α0/2; warm-up at W/2."""
    assert float(optim.geometric_schedule(0.5, decay_rate=0.9)(jnp.int32(3))) == pytest.approx(0.5 * 0.729, rel=1e-15)
    assert float(optim.step_schedule(1.0, step_size=3, decay_rate=0.5)(jnp.int32(7))) == 0.25
    assert float(optim.cosine_schedule(2.0, decay_steps=10)(jnp.int32(5))) == pytest.approx(1.0, rel=1e-15)
    assert float(optim.cosine_schedule(2.0, decay_steps=10)(jnp.int32(50))) == pytest.approx(0.0, abs=1e-15)
    assert float(optim.linear_warmup(1.0, warmup_steps=4)(jnp.int32(2))) == 0.5
    joined = optim.join_schedules([optim.constant_schedule(1.0), optim.geometric_schedule(2.0, decay_rate=0.5)], [3])
    np.testing.assert_allclose(jax.vmap(joined)(jnp.arange(6)), [1, 1, 1, 2, 1, 0.5], rtol=1e-15)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_jit_and_vmap(name):
    """Transform: jit == eager, vmap == Python loop."""
    s = SCHEDULES[name]()
    loop = np.array([float(s(jnp.int32(t))) for t in range(0, 60, 7)])
    np.testing.assert_allclose(jax.vmap(jax.jit(s))(jnp.arange(0, 60, 7, dtype=jnp.int32)), loop, **tol(np.float64))


def test_grad_wrt_continuous_time():
    """Transform: d/dt of α0 γ^t is α0 γ^t log γ; d/dt of cosine is -α0 π/(2T) sin(π t/T) inside [0, T]."""
    g = jax.grad(optim.geometric_schedule(0.5, decay_rate=0.9))(2.0)
    assert float(g) == pytest.approx(0.5 * 0.81 * math.log(0.9), rel=1e-13)
    g = jax.grad(optim.cosine_schedule(1.0, decay_steps=10))(3.0)
    assert float(g) == pytest.approx(-math.pi / 20 * math.sin(math.pi * 0.3), rel=1e-13)
    check_grads(jax.jit(optim.cosine_schedule(1.0, decay_steps=10, final_fraction=0.2)), (3.0,), order=2)


@given(st.integers(0, 10_000))
def test_monotone_and_positive(t):
    """Property: geometric, step and cosine decay never increase and stay >= their floor; warm-up never decreases."""
    t = jnp.int32(t)
    for s in (SCHEDULES["geometric"](), SCHEDULES["step"](), SCHEDULES["cosine"]()):
        assert float(s(t + 1)) <= float(s(t))
        assert float(s(t)) >= 0.0
    assert float(SCHEDULES["cosine"]()(t)) >= 0.05 - 1e-15
    w = SCHEDULES["warmup"]()
    assert float(w(t + 1)) >= float(w(t))


def test_bad_inputs():
    """Bad input: non-positive/NaN values, γ outside (0, 1], steps < 1, mismatched or unsorted join boundaries."""
    with pytest.raises(
        ValueError, match=r"optim.constant_schedule: argument `value` expected a finite value > 0, got 0"
    ):
        optim.constant_schedule(0)
    with pytest.raises(
        ValueError, match=r"optim.geometric_schedule: argument `init_value` expected a finite value > 0"
    ):
        optim.geometric_schedule(float("nan"), decay_rate=0.9)
    for gamma in (0.0, 1.5, -0.5):
        with pytest.raises(ValueError, match=rf"argument `decay_rate` expected a value in \(0.0, 1.0\], got {gamma}"):
            optim.geometric_schedule(0.1, decay_rate=gamma)
    with pytest.raises(ValueError, match=r"optim.step_schedule: argument `step_size` expected an integer >= 1, got 0"):
        optim.step_schedule(0.1, step_size=0, decay_rate=0.5)
    with pytest.raises(
        ValueError, match=r"optim.cosine_schedule: argument `decay_steps` expected an integer >= 1, got 2.5"
    ):
        optim.cosine_schedule(0.1, decay_steps=2.5)
    with pytest.raises(ValueError, match=r"argument `final_fraction` expected a value in \[0.0, 1.0\], got 1.5"):
        optim.cosine_schedule(0.1, decay_steps=10, final_fraction=1.5)
    with pytest.raises(ValueError, match=r"optim.linear_warmup: argument `init_value` expected a finite value >= 0"):
        optim.linear_warmup(0.1, warmup_steps=5, init_value=-1.0)
    c = optim.constant_schedule(1.0)
    with pytest.raises(ValueError, match=r"optim.join_schedules: argument `boundaries` expected 1 boundaries"):
        optim.join_schedules([c, c], [])
    with pytest.raises(ValueError, match=r"argument `boundaries` expected strictly increasing integers, got \[5, 5\]"):
        optim.join_schedules([c, c, c], [5, 5])
    with pytest.raises(ValueError, match=r"argument `schedules` expected a non-empty sequence of callables"):
        optim.join_schedules([], [])
    with pytest.raises(TypeError, match=r"argument `value` expected a finite scalar, got 'abc'"):
        optim.constant_schedule("abc")
