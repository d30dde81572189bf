"""Tests of ``mathdl.train.make_train_step`` and ``mathdl.train.mean_loss``."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import optim
from mathdl.train import make_train_step, mean_loss
from tests._oracles import need
from tests._tolerances import tol


def _sq_example(theta, example):
    """Squared error of a linear model on one example: (w.x + c - y)^2."""
    x, y = example
    return (jnp.dot(theta["w"], x) + theta["c"] - y) ** 2


def _problem(n=8, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.normal(size=(n,))
    theta = {"w": rng.normal(size=(p,)), "c": np.float64(0.3)}
    return jax.tree.map(jnp.asarray, theta), (jnp.asarray(X), jnp.asarray(y))


# ---------------------------------------------------------------- worked values


def test_one_sgd_step_by_hand():
    """[MEDL] Sec. 4.2: one gradient step on C(theta) = mean (theta x_i - y_i)^2 computed by hand.

    x = (1, 2), y = (1, 0), theta = 1: C = ((1-1)^2 + (2-0)^2)/2 = 2,
    C'(theta) = mean 2 x_i (theta x_i - y_i) = (0 + 2*2*2)/2 = 4, so theta <- 1 - 0.1*4 = 0.6.
    """
    loss_fn = mean_loss(lambda th, ex: (th * ex[0] - ex[1]) ** 2)
    step = make_train_step(loss_fn, optax.sgd(0.1))
    theta = jnp.float64(1.0)
    opt_state = optax.sgd(0.1).init(theta)
    batch = (jnp.array([1.0, 2.0]), jnp.array([1.0, 0.0]))
    theta, _, metrics = step(theta, opt_state, batch, jax.random.key(0))
    np.testing.assert_allclose(metrics["loss"], 2.0, **tol(np.float64))
    np.testing.assert_allclose(theta, 0.6, **tol(np.float64))


def test_mean_loss_worked_value():
    """[MEDL] Sec. 2.3: the objective is the average of per-example losses: mean(1, 4, 9) = 14/3."""
    loss_fn = mean_loss(lambda th, ex: (ex - th) ** 2)
    value = loss_fn(jnp.float64(0.0), jnp.array([1.0, 2.0, 3.0]), jax.random.key(0))
    np.testing.assert_allclose(value, 14.0 / 3.0, **tol(np.float64))


# ---------------------------------------------------------------- oracles


def test_adam_step_matches_torch():
    """Oracle: PyTorch's ``torch.optim.Adam`` on the same mean squared error, three steps (float64)."""
    torch = need("torch")
    theta, (X, y) = _problem()
    step = jax.jit(make_train_step(mean_loss(_sq_example), optim.adam(0.01)))
    opt_state = optim.adam(0.01).init(theta)
    w = torch.tensor(np.asarray(theta["w"]), requires_grad=True)
    c = torch.tensor(float(theta["c"]), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, c], lr=0.01)
    Xt, yt = torch.tensor(np.asarray(X)), torch.tensor(np.asarray(y))
    for i in range(3):
        theta, opt_state, m = step(theta, opt_state, (X, y), jax.random.key(i))
        opt.zero_grad()
        loss = ((Xt @ w + c - yt) ** 2).mean()
        loss.backward()
        np.testing.assert_allclose(m["loss"], loss.item(), **tol(np.float64, composite=True))
        opt.step()
    np.testing.assert_allclose(theta["w"], w.detach().numpy(), **tol(np.float64, composite=True))
    np.testing.assert_allclose(theta["c"], c.item(), **tol(np.float64, composite=True))


def test_step_matches_numpy_gradient_descent():
    """Oracle: a NumPy loop of gradient descent with the analytic gradient 2/n X^T (X w + c - y)."""
    theta, (X, y) = _problem()
    step = make_train_step(mean_loss(_sq_example), optax.sgd(0.05))
    opt_state = optax.sgd(0.05).init(theta)
    w, c = np.asarray(theta["w"]), float(theta["c"])
    Xn, yn = np.asarray(X), np.asarray(y)
    for i in range(5):
        theta, opt_state, _ = step(theta, opt_state, (X, y), jax.random.key(i))
        r = Xn @ w + c - yn
        w, c = w - 0.05 * 2 * Xn.T @ r / len(yn), c - 0.05 * 2 * r.mean()
    np.testing.assert_allclose(theta["w"], w, **tol(np.float64, composite=True))
    np.testing.assert_allclose(theta["c"], c, **tol(np.float64, composite=True))


# ---------------------------------------------------------------- transforms


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_jit_equals_eager(transform):
    """jit == eager for the step (bitwise on CPU for this small problem is not promised; float64 tolerance)."""
    theta, batch = _problem()
    step = make_train_step(mean_loss(_sq_example), optim.adam(0.1))
    ref = step(theta, optim.adam(0.1).init(theta), batch, jax.random.key(0))
    out = transform(step)(theta, optim.adam(0.1).init(theta), batch, jax.random.key(0))
    for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(out), strict=True):
        np.testing.assert_allclose(a, b, **tol(np.float64))


def test_mean_loss_vmap_equals_loop_and_grad_is_analytic():
    """vmap == Python loop over examples; jax.grad of the mean equals the analytic 2/n X^T r."""
    theta, (X, y) = _problem()
    loss_fn = mean_loss(_sq_example)
    loop = np.mean([_sq_example(theta, (X[i], y[i])) for i in range(len(y))])
    np.testing.assert_allclose(loss_fn(theta, (X, y), jax.random.key(0)), loop, **tol(np.float64))
    g = jax.grad(loss_fn)(theta, (X, y), jax.random.key(0))
    r = np.asarray(X) @ np.asarray(theta["w"]) + float(theta["c"]) - np.asarray(y)
    np.testing.assert_allclose(g["w"], 2 * np.asarray(X).T @ r / len(r), **tol(np.float64, composite=True))
    np.testing.assert_allclose(g["c"], 2 * r.mean(), **tol(np.float64, composite=True))


def test_check_grads_order_2():
    """jax.test_util.check_grads to order 2 on the lifted objective (float64)."""
    theta, batch = _problem()
    loss_fn = mean_loss(_sq_example)
    check_grads(lambda th: loss_fn(th, batch, jax.random.key(0)), (theta,), order=2)


def test_needs_key_gives_each_example_its_own_key():
    """mean_loss(needs_key=True) splits the key: the per-example noises differ (mean of n draws, not one)."""
    loss_fn = mean_loss(lambda th, ex, k: jax.random.normal(k) + 0.0 * ex, needs_key=True)
    keys = jax.random.split(jax.random.key(3), 4)
    expected = np.mean([jax.random.normal(k) for k in keys])
    np.testing.assert_allclose(loss_fn(None, jnp.zeros(4), jax.random.key(3)), expected, **tol(np.float32))


def test_has_state_step_threads_model_state():
    """has_state=True: the new model state from the loss comes back; the loss and update match the stateless step."""

    def loss_fn(th, s, batch, key):
        del key
        return jnp.mean((batch - th) ** 2), s + 1

    step = make_train_step(loss_fn, optax.sgd(0.1), has_state=True)
    th, _, s, m = step(jnp.float64(0.0), optax.sgd(0.1).init(0.0), jnp.int32(7), jnp.array([1.0, 3.0]), None)
    assert int(s) == 8
    np.testing.assert_allclose(m["loss"], 5.0, **tol(np.float64))
    np.testing.assert_allclose(th, 0.4, **tol(np.float64))  # grad = -2 mean(batch) = -4


# ---------------------------------------------------------------- properties


@settings(max_examples=10)  # each example traces the step eagerly; 10 keep this test ~1 s
@given(lr=st.floats(1e-3, 0.2), seed=st.integers(0, 1000))
def test_small_step_decreases_a_convex_loss(lr, seed):
    """Property: on a least-squares loss a gradient step with a small learning rate does not increase C."""
    theta, batch = _problem(seed=seed)
    loss_fn = mean_loss(_sq_example)
    step = make_train_step(loss_fn, optax.sgd(lr / 10))
    new, _, m = step(theta, optax.sgd(lr / 10).init(theta), batch, jax.random.key(0))
    assert float(loss_fn(new, batch, jax.random.key(0))) <= float(m["loss"]) + 1e-12


def test_check_finite_flags_name_the_leaf():
    """check_finite=True: the flag vector is (loss, leaves...) and is False exactly at a NaN gradient leaf."""

    def loss_fn(th, batch, key):
        del key
        return jnp.sum(th["a"] * batch) + jnp.sqrt(th["b"] - 1.0)  # d/db at b = 1 is +inf

    step = make_train_step(loss_fn, optax.sgd(0.1), check_finite=True)
    th = {"a": jnp.ones(2), "b": jnp.float64(1.0)}
    _, _, m = step(th, optax.sgd(0.1).init(th), jnp.ones(2), None)
    np.testing.assert_array_equal(m["finite"], [True, True, False])


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("loss_fn", "optimizer", "exc", "match"),
    [
        (None, optax.sgd(0.1), TypeError, r"make_train_step: argument `loss_fn` expected a callable, got 'NoneType'"),
        (3, optax.sgd(0.1), TypeError, r"argument `loss_fn` expected a callable, got 'int'"),
        (
            lambda *a: 0.0,
            "adam",
            TypeError,
            r"argument `optimizer` expected an optax.GradientTransformation, got 'str'",
        ),
        (lambda *a: 0.0, None, TypeError, r"argument `optimizer` expected an optax.GradientTransformation"),
        (lambda *a: 0.0, optax.sgd, TypeError, r"argument `optimizer` expected an optax.GradientTransformation"),
    ],
)
def test_make_train_step_bad_inputs(loss_fn, optimizer, exc, match):
    """Bad configuration is refused when the step is built, naming the argument."""
    with pytest.raises(exc, match=match):
        make_train_step(loss_fn, optimizer)


@pytest.mark.parametrize("bad", [None, 1, "loss", 2.5, [1]])
def test_mean_loss_bad_inputs(bad):
    """mean_loss refuses a non-callable, naming `example_loss`."""
    with pytest.raises(TypeError, match=r"train.mean_loss: argument `example_loss` expected a callable"):
        mean_loss(bad)


def test_non_scalar_example_loss_is_an_error_at_trace_time():
    """A per-example loss returning a vector is refused at trace time (not silently averaged)."""
    step = make_train_step(mean_loss(lambda th, ex: th * ex), optax.sgd(0.1))
    with pytest.raises(
        ValueError,
        match=r"`example_loss` expected a function returning a scalar per example, got '?shape \(2,\) per example'?",
    ):
        step(jnp.ones(2), optax.sgd(0.1).init(jnp.ones(2)), jnp.ones((3, 2)), None)
