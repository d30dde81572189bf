"""Tests of mathdl.optim's first-order optimizers against hand-computed steps and Optax."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads
from sklearn.datasets import load_breast_cancer

from mathdl import optim
from tests._oracles import need
from tests._tolerances import tol

# ---------------------------------------------------------------------------------------------
# A non-trivial problem shared by the Optax comparisons: logistic regression on the
# standardised breast-cancer data with a two-leaf parameter pytree {"w": (30,), "b": ()}.
# Loaded with scikit-learn directly (not through mathdl) so the oracle harness is independent.

_raw = load_breast_cancer()
_X = (_raw.data - _raw.data.mean(0)) / _raw.data.std(0)
_Y = _raw.target.astype(np.float64)


def _loss(params):
    z = jnp.asarray(_X) @ params["w"] + params["b"]
    return jnp.mean(jnp.logaddexp(0.0, z) - jnp.asarray(_Y) * z)


_P0 = {"w": jnp.linspace(-0.5, 0.5, 30), "b": jnp.asarray(0.3)}
STEPS = 120


def _trajectory(opt, steps=STEPS):
    """Parameters after each of `steps` updates, stacked (test harness; uses only optax.apply_updates)."""

    def body(carry, _):
        params, state = carry
        grads = jax.grad(_loss)(params)
        updates, state = opt.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        return (params, state), params

    _, history = jax.lax.scan(body, (_P0, opt.init(_P0)), length=steps)
    return history


def _assert_tree_close(a, b, **kw):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


# (id, mathdl optimizer, optax oracle reproducing the same rule)
ORACLE_PAIRS = [
    ("sgd", lambda: optim.sgd(0.1), lambda: optax.sgd(0.1)),
    ("gd", lambda: optim.gd(0.1), lambda: optax.sgd(0.1)),
    # Book momentum with alpha == optax trace momentum with alpha * (1 - beta).
    ("momentum-smoothing", lambda: optim.momentum(0.1, beta=0.9), lambda: optax.sgd(0.1 * (1 - 0.9), momentum=0.9)),
    (
        "momentum-classical",
        lambda: optim.momentum(0.1, beta=0.9, form="classical"),
        lambda: optax.sgd(0.1, momentum=0.9),
    ),
    (
        "nesterov-smoothing",
        lambda: optim.nesterov(0.1, beta=0.8),
        lambda: optax.sgd(0.1 * (1 - 0.8), momentum=0.8, nesterov=True),
    ),
    (
        "nesterov-classical",
        lambda: optim.nesterov(0.05, beta=0.9, form="classical"),
        lambda: optax.sgd(0.05, momentum=0.9, nesterov=True),
    ),
    # Optax's adagrad puts eps inside the root and starts at s0 = 0.1: matched with eps = 0, same s0.
    (
        "adagrad",
        lambda: optim.adagrad(0.1, eps=0.0, initial_accumulator=0.1),
        lambda: optax.adagrad(0.1, initial_accumulator_value=0.1, eps=0.0),
    ),
    # Optax's rmsprop puts eps inside the root by default; eps_in_sqrt=False is the book's placement.
    (
        "rmsprop",
        lambda: optim.rmsprop(0.002, beta=0.9, eps=1e-8),
        lambda: optax.rmsprop(0.002, decay=0.9, eps=1e-8, eps_in_sqrt=False),
    ),
    (
        "rmsprop-eps0",
        lambda: optim.rmsprop(0.002, beta=0.95, eps=0.0),
        lambda: optax.rmsprop(0.002, decay=0.95, eps=0.0),
    ),
    ("adam", lambda: optim.adam(0.05), lambda: optax.adam(0.05)),
    ("adam-b", lambda: optim.adam(0.01, b1=0.5, b2=0.9, eps=1e-6), lambda: optax.adam(0.01, b1=0.5, b2=0.9, eps=1e-6)),
    ("adamw", lambda: optim.adamw(0.05, weight_decay=0.1), lambda: optax.adamw(0.05, weight_decay=0.1)),
    (
        "sgd-geometric",
        lambda: optim.sgd(optim.geometric_schedule(0.5, decay_rate=0.98)),
        # optax.exponential_decay evaluates in float32 even under x64, so the oracle schedule is written here.
        lambda: optax.sgd(lambda t: 0.5 * jnp.power(0.98, jnp.asarray(t, jnp.float64))),
    ),
    (
        "adam-cosine",
        lambda: optim.adam(optim.cosine_schedule(0.05, decay_steps=80)),
        lambda: optax.adam(optax.cosine_decay_schedule(0.05, 80)),
    ),
    (
        "clip+sgd",
        lambda: optax.chain(optim.clip_by_global_norm(0.05), optim.sgd(1.0)),
        lambda: optax.chain(optax.clip_by_global_norm(0.05), optax.sgd(1.0)),
    ),
]


@pytest.mark.parametrize("name,make_ours,make_theirs", ORACLE_PAIRS, ids=[p[0] for p in ORACLE_PAIRS])
def test_matches_optax_step_by_step(name, make_ours, make_theirs):
    """Oracle: Optax, 120 steps of logistic regression on breast cancer, every iterate equal.

    Convention differences are reproduced exactly (see ORACLE_PAIRS comments)."""
    ours = _trajectory(make_ours())
    with jax.numpy_dtype_promotion("standard"):  # Optax itself mixes int counts with floats
        theirs = _trajectory(make_theirs())
    # 120 chained steps of a composite update: composite float64 tolerance.
    _assert_tree_close(ours, theirs, **tol(np.float64, composite=True))
    # The problem is non-trivial: the parameters really moved.
    assert float(jnp.max(jnp.abs(ours["w"][-1] - _P0["w"]))) > 1e-2


def test_conventions_really_differ():
    """Book vs Optax defaults differ (so the matched pairs above test something), by the documented factors."""
    p, g = jnp.zeros(2), jnp.array([0.5, -2.0])

    def first(opt):
        with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
            return opt.update(g, opt.init(p), p)[0]

    # momentum: smoothing's first step is (1 - beta) times the accumulating one.
    np.testing.assert_allclose(first(optim.momentum(0.1, beta=0.9)), 0.1 * first(optax.sgd(0.1, momentum=0.9)))
    # adagrad: optax starts the accumulator at 0.1 and puts eps inside the root.
    np.testing.assert_allclose(first(optim.adagrad(0.1)), -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    np.testing.assert_allclose(first(optax.adagrad(0.1)), -0.1 * g / np.sqrt(g**2 + 0.1 + 1e-7), rtol=1e-14)
    # rmsprop: eps inside (optax default) vs outside (book) the root.
    np.testing.assert_allclose(first(optax.rmsprop(0.1, eps=0.5)), -0.1 * g / np.sqrt(0.1 * g**2 + 0.5), rtol=1e-14)
    np.testing.assert_allclose(first(optim.rmsprop(0.1, eps=0.5)), -0.1 * g / (np.sqrt(0.1 * g**2) + 0.5), rtol=1e-14)


# --- worked values by hand --------------------------------------------------------------------


def _steps(opt, grads_seq, params=None):
    params = jnp.asarray(1.0) if params is None else params
    state = opt.init(params)
    out = []
    for g in grads_seq:
        u, state = opt.update(jnp.asarray(g), state, params)
        params = params + u
        out.append(float(u))
    return out


def test_worked_sgd():
    """By hand: Δθ = -α g = -0.1 * 3 = -0.3."""
    assert _steps(optim.sgd(0.1), [3.0]) == pytest.approx([-0.3], rel=1e-15)


def test_worked_momentum_smoothing():
    """By hand (MEDL 4.3 smoothing form): g = 1 twice, β = 0.9: v1 = 0.1, v2 = 0.19; Δθ = -α v."""
    assert _steps(optim.momentum(0.5, beta=0.9), [1.0, 1.0]) == pytest.approx([-0.05, -0.095], rel=1e-14)


def test_worked_momentum_classical():
    """By hand: v1 = 1, v2 = 1.9 with g = 1, β = 0.9; Δθ = -α v."""
    assert _steps(optim.momentum(0.5, beta=0.9, form="classical"), [1.0, 1.0]) == pytest.approx([-0.5, -0.95])


def test_worked_nesterov():
    """By hand: smoothing, g = 1, β = 0.9: v1 = 0.1, direction β v1 + (1-β) g = 0.19."""
    assert _steps(optim.nesterov(1.0, beta=0.9), [1.0]) == pytest.approx([-0.19], rel=1e-14)


def test_worked_adagrad():
    """By hand: g = 3 twice, ε = 0: s = 9 then 18; Δθ = -α g/√s = -α, then -α 3/√18."""
    assert _steps(optim.adagrad(0.2, eps=0.0), [3.0, 3.0]) == pytest.approx([-0.2, -0.2 * 3 / math.sqrt(18)])


def test_worked_rmsprop():
    """By hand: g = 2, β = 0.9, ε = 0: s = 0.1 * 4 = 0.4; Δθ = -α 2/√0.4."""
    assert _steps(optim.rmsprop(0.1, eps=0.0), [2.0]) == pytest.approx([-0.1 * 2 / math.sqrt(0.4)], rel=1e-14)


def test_worked_adam_two_steps():
    """By hand (MEDL 4.3, t from 1): step 1 v̂ = g, ŝ = g² so Δθ = -α sign(g); step 2 with g = 2 then 4."""
    b1, b2, a = 0.9, 0.999, 0.1
    v2, s2 = b1 * 0.1 * 2 + 0.1 * 4, b2 * 0.001 * 4 + 0.001 * 16
    expected2 = -a * (v2 / (1 - b1**2)) / math.sqrt(s2 / (1 - b2**2))
    assert _steps(optim.adam(a, eps=0.0), [2.0, 4.0]) == pytest.approx([-0.1, expected2], rel=1e-13)


def test_worked_adamw():
    """By hand: first step, θ = 1, g = 2, λ = 0.1, ε = 0: Δθ = -α (1 + λ θ) = -0.11."""
    assert _steps(optim.adamw(0.1, eps=0.0, weight_decay=0.1), [2.0]) == pytest.approx([-0.11], rel=1e-14)


def test_worked_clip():
    """By hand: g = (3, 4), ‖g‖ = 5 clipped to 1 gives (0.6, 0.8); (0.3, 0.4) is left alone."""
    clip = optim.clip_by_global_norm(1.0)
    out, _ = clip.update({"a": jnp.array([3.0]), "b": jnp.array(4.0)}, clip.init(None))
    np.testing.assert_allclose([float(out["a"][0]), float(out["b"])], [0.6, 0.8], rtol=1e-15)
    out, _ = clip.update(jnp.array([0.3, 0.4]), clip.init(None))
    np.testing.assert_array_equal(out, [0.3, 0.4])


# --- transforms -------------------------------------------------------------------------------

ALL = {
    "sgd": lambda: optim.sgd(0.1),
    "momentum": lambda: optim.momentum(0.1),
    "nesterov": lambda: optim.nesterov(0.1),
    "adagrad": lambda: optim.adagrad(0.1),
    "rmsprop": lambda: optim.rmsprop(0.1),
    "adam": lambda: optim.adam(0.1),
    "adamw": lambda: optim.adamw(0.1, weight_decay=0.01),
    "clip": lambda: optim.clip_by_global_norm(0.5),
    "adam-warmup-cosine": lambda: optim.adam(
        optim.join_schedules(
            [optim.linear_warmup(0.1, warmup_steps=2, init_value=0.01), optim.cosine_schedule(0.1, decay_steps=5)], [2]
        )
    ),
}


def _state_after(opt, params, grads_list):
    state = opt.init(params)
    for g in grads_list:
        _, state = opt.update(g, state, params)
    return state


@pytest.mark.parametrize("name", list(ALL))
def test_jit_equals_eager(name):
    """Transform: jit(update) == update after three steps."""
    opt = ALL[name]()
    p = jnp.array([0.5, -1.0, 2.0])
    gs = [jnp.array([0.1, -0.2, 0.3]), jnp.array([1.0, 0.5, -0.5]), jnp.array([-0.3, 0.2, 0.1])]
    state = _state_after(opt, p, gs)
    g = jnp.array([0.4, -0.1, 0.2])
    eager = opt.update(g, state, p)
    jitted = jax.jit(opt.update)(g, state, p)
    _assert_tree_close(eager, jitted, **tol(np.float64))


@pytest.mark.parametrize("name", list(ALL))
def test_vmap_equals_loop(name):
    """Transform: vmap over independent parameter sets == a Python loop."""
    opt = ALL[name]()
    P = jnp.array([[0.5, -1.0], [2.0, 0.1], [-0.3, 0.7]])
    G = jnp.array([[0.1, -0.2], [3.0, 0.5], [-0.3, 0.0]])
    states = jax.vmap(opt.init)(P)
    batched, _ = jax.vmap(opt.update)(G, states, P)
    for i in range(3):
        one, _ = opt.update(G[i], opt.init(P[i]), P[i])
        np.testing.assert_allclose(batched[i], one, **tol(np.float64))


def test_grad_of_update_analytic():
    """Transform: d(Δθ)/dg analytically: sgd gives -α I; first adam step (ε>0) gives -α ε/(|g|+ε)² elementwise."""
    p = jnp.array([1.0, 2.0])
    g = jnp.array([0.3, -0.5])
    sgd = optim.sgd(0.1)
    J = jax.jacobian(lambda g: sgd.update(g, sgd.init(p), p)[0])(g)
    np.testing.assert_allclose(J, -0.1 * np.eye(2), **tol(np.float64))
    eps = 0.1
    adam = optim.adam(0.1, eps=eps)
    J = jax.jacobian(lambda g: adam.update(g, adam.init(p), p)[0])(g)
    np.testing.assert_allclose(J, np.diag(-0.1 * eps / (np.abs(g) + eps) ** 2), **tol(np.float64))


@pytest.mark.parametrize("name", ["momentum", "rmsprop", "adam", "clip"])
def test_check_grads_order2(name):
    """Transform: jax.test_util.check_grads of the update w.r.t. the gradient, order 2, float64."""
    opt = ALL[name]()
    p = jnp.array([0.5, -1.0, 2.0])
    state = _state_after(opt, p, [jnp.array([0.1, -0.2, 0.3]), jnp.array([1.0, 0.5, -0.5])])
    check_grads(jax.jit(lambda g: opt.update(g, state, p)[0]), (jnp.array([0.4, -0.7, 0.2]),), order=2)


@pytest.mark.parametrize("name", list(ALL))
def test_preserves_float32(name):
    """Property: float32 parameters and gradients give float32 updates and state (x64 is on)."""
    opt = ALL[name]()
    p = jnp.ones(3, jnp.float32)
    state = opt.init(p)
    for _ in range(2):
        u, state = opt.update(jnp.full(3, 0.5, jnp.float32), state, p)
    assert u.dtype == jnp.float32
    for leaf in jax.tree.leaves(state):
        assert leaf.dtype in (jnp.float32, jnp.int32)


# --- properties -------------------------------------------------------------------------------


@given(st.floats(0.01, 100.0), st.floats(-10, 10).filter(lambda x: abs(x) > 1e-3))
def test_adam_first_step_scale_invariant(c, g):
    """Property: with ε = 0 the first ADAM step is -α sign(g), whatever the gradient's scale."""
    opt = optim.adam(0.1, eps=0.0)
    p = jnp.asarray(0.0)
    u, _ = opt.update(jnp.asarray(c * g), opt.init(p), p)
    assert float(u) == pytest.approx(-0.1 * np.sign(g), rel=1e-14)


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6))
def test_momentum_beta0_is_sgd(gs):
    """Property: momentum with β = 0 (both forms) is plain gradient descent."""
    for form in ("smoothing", "classical"):
        assert _steps(optim.momentum(0.3, beta=0.0, form=form), gs) == pytest.approx(_steps(optim.sgd(0.3), gs))


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=5), st.floats(0.1, 10))
def test_clip_norm_and_direction(values, c):
    """Property: the clipped gradient has norm min(‖g‖, c) and the same direction."""
    g = jnp.asarray(values)
    clip = optim.clip_by_global_norm(c)
    out, _ = clip.update(g, clip.init(None))
    norm = float(jnp.linalg.norm(g))
    assert float(jnp.linalg.norm(out)) == pytest.approx(min(norm, c), rel=1e-12, abs=1e-300)
    assert float(jnp.vdot(out, g)) >= 0


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
def test_decreases_convex_quadratic(name):
    """Property: each optimizer lowers a convex quadratic (κ = 10) by 100x in 300 steps from θ* + (2, 2)."""
    problem = optim.quadratic(condition_number=10.0)
    opt = ALL[name]()
    traj = optim.run(opt, problem.f, problem.minimiser + 2.0, steps=300)
    assert float(traj.values[-1]) < 0.01 * float(traj.values[0])


def test_schedule_evaluated_from_zero():
    """Property: the first update uses α_0 and the t-th uses α_t (schedule evaluated at updates made)."""
    sched = optim.geometric_schedule(1.0, decay_rate=0.5)
    assert _steps(optim.sgd(sched), [1.0, 1.0, 1.0]) == pytest.approx([-1.0, -0.5, -0.25])


def test_nonfinite_gradient_gives_nonfinite_update():
    """Edge: a NaN gradient gives a NaN update (never a finite wrong step), also through clipping."""
    for opt in [optim.adam(0.1), optim.momentum(0.1), optax.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1))]:
        p = jnp.zeros(2)
        u, _ = opt.update(jnp.array([jnp.nan, 1.0]), opt.init(p), p)
        assert bool(jnp.isnan(u[0]))


def test_zero_gradient_zero_step_without_eps():
    """Edge: adagrad and rmsprop with ε = 0 give a zero (not 0/0) step where all gradients were zero."""
    for opt in [optim.adagrad(0.1, eps=0.0), optim.rmsprop(0.1, eps=0.0)]:
        p = jnp.zeros(2)
        u, _ = opt.update(jnp.array([0.0, 1.0]), opt.init(p), p)
        np.testing.assert_array_equal(np.isfinite(u), [True, True])
        assert float(u[0]) == 0.0


# --- bad input --------------------------------------------------------------------------------

LR_FUNCS = {
    "sgd": optim.sgd,
    "gd": optim.gd,
    "momentum": optim.momentum,
    "nesterov": optim.nesterov,
    "adagrad": optim.adagrad,
    "rmsprop": optim.rmsprop,
    "adam": optim.adam,
    "adamw": optim.adamw,
}


@pytest.mark.parametrize("name", list(LR_FUNCS))
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate_refused(name, lr):
    """Bad input: a learning rate <= 0, NaN or infinite is refused at construction, naming the value."""
    with pytest.raises(ValueError, match=rf"optim\.{name}: argument `learning_rate` expected a finite value > 0"):
        LR_FUNCS[name](lr)


@pytest.mark.parametrize("name", list(LR_FUNCS))
def test_learning_rate_wrong_type(name):
    """Bad input: a string or a vector learning rate is a TypeError."""
    with pytest.raises(TypeError, match=r"argument `learning_rate` expected a finite value > 0 or a schedule, got 'x'"):
        LR_FUNCS[name]("x")
    with pytest.raises(TypeError, match=r"argument `learning_rate`"):
        LR_FUNCS[name](np.array([0.1, 0.2]))


@pytest.mark.parametrize(
    "make,arg",
    [
        (lambda v: optim.momentum(0.1, beta=v), "beta"),
        (lambda v: optim.nesterov(0.1, beta=v), "beta"),
        (lambda v: optim.rmsprop(0.1, beta=v), "beta"),
        (lambda v: optim.adam(0.1, b1=v), "b1"),
        (lambda v: optim.adam(0.1, b2=v), "b2"),
        (lambda v: optim.adamw(0.1, b1=v), "b1"),
    ],
)
@pytest.mark.parametrize("value", [1.0, 1.5, -0.1, float("nan")])
def test_bad_beta_refused(make, arg, value):
    """Bad input: β outside [0, 1) (1 included, NaN included) is refused, naming the value."""
    with pytest.raises(ValueError, match=rf"argument `{arg}` expected a value in \[0.0, 1.0\), got {value}"):
        make(value)


def test_other_bad_hyperparameters():
    """Bad input: unknown momentum form, negative eps/weight decay/accumulator, bad max_norm, adamw without params."""
    with pytest.raises(
        ValueError, match=r"optim.momentum: argument `form` expected one of \['smoothing', 'classical'\], got 'heavy"
    ):
        optim.momentum(0.1, form="heavy-ball")
    with pytest.raises(ValueError, match=r"optim.adam: argument `eps` expected a value >= 0, got -1e-08"):
        optim.adam(0.1, eps=-1e-8)
    with pytest.raises(ValueError, match=r"optim.adamw: argument `weight_decay` expected a value >= 0, got -0.1"):
        optim.adamw(0.1, weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"optim.adagrad: argument `initial_accumulator` expected a value >= 0"):
        optim.adagrad(0.1, initial_accumulator=-1.0)
    with pytest.raises(ValueError, match=r"optim.rmsprop: argument `eps` expected a finite value >= 0, got inf"):
        optim.rmsprop(0.1, eps=float("inf"))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(
            ValueError, match=r"optim.clip_by_global_norm: argument `max_norm` expected a finite value > 0"
        ):
            optim.clip_by_global_norm(bad)
    opt = optim.adamw(0.1)
    with pytest.raises(ValueError, match=r"optim.adamw: argument `params` expected the current parameters"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)))


def test_through_the_train_step():
    """Integration: mathdl.train.make_train_step with optim.adam fits logistic regression (loss 0.69 -> < 0.1)."""
    from mathdl import train

    opt = optim.adam(0.05)
    step = jax.jit(train.make_train_step(lambda p, batch, key: _loss(p), opt))
    params, state = _P0, opt.init(_P0)
    first = None
    for _ in range(100):
        params, state, metrics = step(params, state, None, None)
        first = float(metrics["loss"]) if first is None else first
    assert first > 0.3
    assert float(_loss(params)) < 0.1


TORCH_PAIRS = [
    # (id, mathdl optimizer, torch.optim constructor) — PyTorch shares Optax's conventions only in part:
    # its Adagrad and RMSprop put eps outside the root and start at 0, as mathdl does.
    ("adagrad", lambda: optim.adagrad(0.1, eps=1e-10), lambda t, p: t.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    (
        "rmsprop",
        lambda: optim.rmsprop(0.002, beta=0.99),
        lambda t, p: t.optim.RMSprop(p, lr=0.002, alpha=0.99, eps=1e-8),
    ),
    ("adam", lambda: optim.adam(0.05), lambda t, p: t.optim.Adam(p, lr=0.05)),
    (
        "adamw",
        lambda: optim.adamw(0.05, weight_decay=0.1),
        lambda t, p: t.optim.AdamW(p, lr=0.05, weight_decay=0.1),
    ),
    (
        "momentum-classical",
        lambda: optim.momentum(0.1, beta=0.9, form="classical"),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    (
        "nesterov-classical",
        lambda: optim.nesterov(0.05, beta=0.9, form="classical"),
        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    ),
]


@pytest.mark.parametrize("name,make_ours,make_torch", TORCH_PAIRS, ids=[p[0] for p in TORCH_PAIRS])
def test_matches_torch_step_by_step(name, make_ours, make_torch):
    """Oracle: torch.optim (CPU, float64), 120 steps of the same logistic regression, every iterate equal."""
    torch = need("torch")
    ours = _trajectory(make_ours())
    w = torch.tensor(np.asarray(_P0["w"]), dtype=torch.float64, requires_grad=True)
    b = torch.tensor(float(_P0["b"]), dtype=torch.float64, requires_grad=True)
    X, Y = torch.tensor(_X), torch.tensor(_Y)
    opt = make_torch(torch, [w, b])
    history = []
    for _ in range(STEPS):
        opt.zero_grad()
        z = X @ w + b
        loss = torch.mean(torch.nn.functional.softplus(z) - Y * z)
        loss.backward()
        opt.step()
        history.append(w.detach().numpy().copy())
    # Looser than the float64 table on purpose: here the *gradient* comes from another library (torch's
    # softplus and summation order differ from XLA's in the last bits), and 120 steps of these dynamics
    # amplify 1e-16 differences to ~1e-9 absolute. A convention difference (eps placement, bias correction,
    # accumulator start) shows up at 1e-4 or more, far above this tolerance.
    np.testing.assert_allclose(np.asarray(ours["w"]), np.stack(history), rtol=1e-7, atol=1e-8)
    # ... and the first step, before any amplification, agrees to the float64 table.
    np.testing.assert_allclose(np.asarray(ours["w"][0]), history[0], **tol(np.float64, composite=True))
