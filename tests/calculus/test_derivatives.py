"""Tests of mathdl.calculus derivatives: gradient, jacobian, hessian, hvp, directional derivative,
chain rule and cosine similarity (MEDL Appendix A)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jax.test_util import check_grads

from mathdl import calculus
from tests._oracles import need
from tests._tolerances import tol

X = np.array([0.3, -1.2, 2.0])
XJ = jnp.asarray(X)
F64 = tol(np.float64)


def f_scalar(x):
    """C(x) = x1^2 x2 + sin(x3) + x1 x3."""
    return x[0] ** 2 * x[1] + jnp.sin(x[2]) + x[0] * x[2]


def grad_by_hand(x):
    return np.array([2 * x[0] * x[1] + x[2], x[0] ** 2, np.cos(x[2]) + x[0]])


def hess_by_hand(x):
    return np.array([[2 * x[1], 2 * x[0], 1.0], [2 * x[0], 0.0, 0.0], [1.0, 0.0, -np.sin(x[2])]])


def f_vec(x):
    """R^3 -> R^2: (x1 x2, exp(x3) - x1)."""
    return jnp.stack([x[0] * x[1], jnp.exp(x[2]) - x[0]])


def jac_by_hand(x):
    return np.array([[x[1], x[0], 0.0], [-1.0, 0.0, np.exp(x[2])]])


def numpy_central_jacobian(g, x, h=1e-6):
    """Independent oracle: plain NumPy central differences, a loop over coordinates."""
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        cols.append((np.asarray(g(x + e)) - np.asarray(g(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


# ---------------------------------------------------------------- worked values


def test_gradient_worked_value():
    """By hand: grad of x1^2 x2 + sin x3 + x1 x3 is (2 x1 x2 + x3, x1^2, cos x3 + x1)."""
    np.testing.assert_allclose(calculus.gradient(f_scalar, XJ), grad_by_hand(X), **F64)


def test_gradient_wrt_matrix_A15():
    """MEDL (A.15)/(7.9): d sigma([W h + c]_j)/dW = sigma'(.) e_j h^T."""
    W = jnp.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]])
    h = jnp.array([1.5, -0.7])
    c = jnp.array([0.1, 0.0, -0.1])
    j = 1
    g = calculus.gradient(lambda W: jax.nn.sigmoid(W @ h + c)[j], W)
    z = float((W @ h + c)[j])
    s = 1 / (1 + np.exp(-z))
    expected = np.zeros((3, 2))
    expected[j] = s * (1 - s) * np.asarray(h)
    np.testing.assert_allclose(g, expected, **F64)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_worked_value(mode):
    """By hand: J of (x1 x2, e^x3 - x1) is [[x2, x1, 0], [-1, 0, e^x3]] (rows are outputs)."""
    np.testing.assert_allclose(calculus.jacobian(f_vec, XJ, mode=mode), jac_by_hand(X), **F64)


def test_jacobian_of_sigmoid_is_diag_sigma_dot():
    """MEDL App. A / BOOK.md test: the Jacobian of elementwise sigmoid is diag(sigma (1 - sigma))."""
    z = jnp.array([-2.0, 0.0, 0.5, 3.0])
    s = 1 / (1 + np.exp(-np.asarray(z)))
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(calculus.jacobian(jax.nn.sigmoid, z, mode=mode), np.diag(s * (1 - s)), **F64)


def test_gradient_of_softmax_cross_entropy_is_yhat_minus_y():
    """MEDL Ch. 3 / BOOK.md App. A test: d/dz [-sum y log softmax(z)] = softmax(z) - y (computed with jax.nn)."""
    z = jnp.array([1.0, -0.5, 2.0, 0.1])
    y = jnp.array([0.0, 0.0, 1.0, 0.0])
    g = calculus.gradient(lambda z: -jnp.sum(y * jax.nn.log_softmax(z)), z)
    e = np.exp(np.asarray(z) - np.max(np.asarray(z)))
    np.testing.assert_allclose(g, e / e.sum() - np.asarray(y), **F64)


def test_hessian_worked_value():
    """By hand: Hessian of x1^2 x2 + sin x3 + x1 x3."""
    np.testing.assert_allclose(calculus.hessian(f_scalar, XJ), hess_by_hand(X), **F64)


def test_hvp_worked_value():
    """By hand: H v with the hand Hessian."""
    v = np.array([1.0, -2.0, 0.5])
    got = calculus.hvp(f_scalar, XJ, jnp.asarray(v))
    np.testing.assert_allclose(got, hess_by_hand(X) @ v, **F64)


def test_directional_derivative_worked_value():
    """By hand: D_v f = grad f . v; for a vector function, J v."""
    v = np.array([0.5, 0.25, -1.0])
    np.testing.assert_allclose(
        calculus.directional_derivative(f_scalar, XJ, jnp.asarray(v)), grad_by_hand(X) @ v, **F64
    )
    np.testing.assert_allclose(calculus.directional_derivative(f_vec, XJ, jnp.asarray(v)), jac_by_hand(X) @ v, **F64)


def test_chain_rule_worked_value():
    """MEDL Sec. A.3: J_{g o f}(x) = J_g(f(x)) J_f(x), with g(u) = (u1 + u2^2) by hand."""
    g = lambda u: jnp.stack([u[0] + u[1] ** 2])
    u = np.array([X[0] * X[1], np.exp(X[2]) - X[0]])
    Jg = np.array([[1.0, 2 * u[1]]])
    np.testing.assert_allclose(calculus.chain_rule([f_vec, g], XJ), Jg @ jac_by_hand(X), **F64)


def test_cosine_similarity_worked_values():
    """MEDL (A.1): cos of 45 degrees is 1/sqrt 2; orthogonal vectors 0; opposite -1."""
    u = jnp.array([[1.0, 0.0], [1.0, 0.0], [2.0, 3.0]])
    v = jnp.array([[1.0, 1.0], [0.0, 5.0], [-4.0, -6.0]])
    np.testing.assert_allclose(calculus.cosine_similarity(u, v), [1 / np.sqrt(2), 0.0, -1.0], **F64)


# ---------------------------------------------------------------- oracles


def test_gradient_and_jacobian_vs_numpy_differences():
    """Oracle: NumPy central differences (no JAX) at h = 1e-6."""
    f_np = lambda x: x[0] ** 2 * x[1] + np.sin(x[2]) + x[0] * x[2]
    fv_np = lambda x: np.array([x[0] * x[1], np.exp(x[2]) - x[0]])
    # central differences at h = 1e-6 are good to about 1e-9 here (truncation h^2 plus rounding eps/h)
    np.testing.assert_allclose(calculus.gradient(f_scalar, XJ), numpy_central_jacobian(f_np, X), atol=1e-8)
    np.testing.assert_allclose(calculus.jacobian(f_vec, XJ), numpy_central_jacobian(fv_np, X), atol=1e-8)


def test_jacobian_hessian_vs_torch():
    """Oracle: torch.autograd.functional.jacobian and .hessian."""
    torch = need("torch")
    tx = torch.tensor(X, dtype=torch.float64)
    tf_vec = lambda x: torch.stack([x[0] * x[1], torch.exp(x[2]) - x[0]])
    tf_scalar = lambda x: x[0] ** 2 * x[1] + torch.sin(x[2]) + x[0] * x[2]
    J = torch.autograd.functional.jacobian(tf_vec, tx).numpy()
    H = torch.autograd.functional.hessian(tf_scalar, tx).numpy()
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(calculus.jacobian(f_vec, XJ, mode=mode), J, **F64)
    np.testing.assert_allclose(calculus.hessian(f_scalar, XJ), H, **F64)
    v = torch.tensor([0.3, 0.1, -0.2], dtype=torch.float64)
    _, hv = torch.autograd.functional.hvp(tf_scalar, tx, v)
    np.testing.assert_allclose(calculus.hvp(f_scalar, XJ, jnp.asarray(v.numpy())), hv.numpy(), **F64)


def test_cosine_similarity_vs_scipy():
    """Oracle: 1 - scipy.spatial.distance.cosine."""
    from scipy.spatial.distance import cosine

    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, 6, 5))
    got = calculus.cosine_similarity(jnp.asarray(u), jnp.asarray(v))
    np.testing.assert_allclose(got, [1 - cosine(a, b) for a, b in zip(u, v, strict=True)], **F64)


def test_chain_rule_vs_jacobian_of_composition():
    """Oracle: jax.jacrev of the composed function (a different code path from the product)."""
    W = jnp.array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.4]])
    fs = [lambda x: W @ x, jnp.tanh, lambda u: jnp.stack([u[0] * u[1], u[0] - u[1], u[1] ** 2])]
    comp = lambda x: fs[2](fs[1](fs[0](x)))
    np.testing.assert_allclose(calculus.chain_rule(fs, XJ), jax.jacrev(comp)(XJ), **F64)


# ---------------------------------------------------------------- transforms


def test_jit_equals_eager(transform):
    """jit == eager for every derivative function (f closed over, static)."""
    x = XJ
    v = jnp.array([1.0, 0.5, -0.5])
    fns = {
        "gradient": lambda x: calculus.gradient(f_scalar, x),
        "jacobian": lambda x: calculus.jacobian(f_vec, x, mode="reverse"),
        "hessian": lambda x: calculus.hessian(f_scalar, x),
        "hvp": lambda x: calculus.hvp(f_scalar, x, v),
        "dd": lambda x: calculus.directional_derivative(f_scalar, x, v),
        "chain": lambda x: calculus.chain_rule([f_vec, jnp.sin], x),
        "cos": lambda x: calculus.cosine_similarity(x, v),
    }
    for name, fn in fns.items():
        np.testing.assert_allclose(transform(fn)(x), fn(x), err_msg=name, **F64)


def test_vmap_equals_loop():
    """vmap over points == a Python loop, for gradient, hvp and cosine similarity."""
    xs = jnp.asarray(np.random.default_rng(1).normal(size=(3, 3)))
    v = jnp.array([1.0, 0.5, -0.5])
    for fn in (
        lambda x: calculus.gradient(f_scalar, x),
        lambda x: calculus.hvp(f_scalar, x, v),
        lambda x: calculus.hessian(f_scalar, x),
        lambda x: calculus.cosine_similarity(x, v),
    ):
        jfn = jax.jit(fn)  # the loop runs the same function compiled, one point at a time
        np.testing.assert_allclose(jax.vmap(fn)(xs), np.stack([jfn(x) for x in xs]), **F64)


@pytest.mark.slow  # compiles check_grads' jvp/vjp programs for every function (~10 s each on 2 shared cores)
def test_check_grads_order2():
    """jax.test_util.check_grads to order 2 in float64 (derivatives of derivatives)."""
    x = XJ
    v = jnp.array([0.2, -0.1, 0.3])
    # jitted so that check_grads' many jvp/vjp calls compile once instead of dispatching op by op
    check_grads(jax.jit(lambda x: calculus.gradient(f_scalar, x)), (x,), order=2, modes=("rev",))
    check_grads(jax.jit(lambda x: calculus.hvp(f_scalar, x, v)), (x,), order=1)
    check_grads(jax.jit(calculus.cosine_similarity), (x, v), order=2)


def test_grad_of_cosine_similarity_is_analytic():
    """Analytic: d cos/du = v/(|u||v|) - cos * u/|u|^2."""
    u = np.array([1.0, 2.0, -0.5])
    v = np.array([0.3, -1.0, 2.0])
    c = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    expected = v / (np.linalg.norm(u) * np.linalg.norm(v)) - c * u / (u @ u)
    g = jax.grad(calculus.cosine_similarity)(jnp.asarray(u), jnp.asarray(v))
    np.testing.assert_allclose(g, expected, **F64)


# ---------------------------------------------------------------- properties


_hessian = jax.jit(lambda x: calculus.hessian(f_scalar, x))
_hvp = jax.jit(lambda x, v: calculus.hvp(f_scalar, x, v))
_jac_fwd = jax.jit(lambda x: calculus.jacobian(f_vec, x, mode="forward"))
_jac_rev = jax.jit(lambda x: calculus.jacobian(f_vec, x, mode="reverse"))
_dd = jax.jit(lambda x, v: calculus.directional_derivative(f_vec, x, v))
_cos = jax.jit(calculus.cosine_similarity)


@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3), st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_hvp_equals_hessian_times_v_and_hessian_symmetric(x, v):
    """Property: hvp(f, x, v) == hessian(f, x) @ v, and the Hessian is symmetric."""
    x = jnp.asarray(x)
    v = jnp.asarray(v)
    H = _hessian(x)
    np.testing.assert_allclose(_hvp(x, v), H @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, H.T, **F64)


@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_forward_equals_reverse_jacobian(x):
    """Property: jacfwd and jacrev give the same matrix; directional derivative = J v."""
    x = jnp.asarray(x)
    Jf = _jac_fwd(x)
    np.testing.assert_allclose(Jf, _jac_rev(x), **F64)
    v = jnp.ones(3)
    np.testing.assert_allclose(_dd(x, v), Jf @ v, rtol=1e-10, atol=1e-10)


@given(
    st.lists(st.floats(-10, 10), min_size=4, max_size=4).filter(lambda u: max(map(abs, u)) > 1e-3),
    st.lists(st.floats(-10, 10), min_size=4, max_size=4).filter(lambda u: max(map(abs, u)) > 1e-3),
    st.floats(1e-3, 1e3),
)
def test_cosine_similarity_bounded_symmetric_scale_invariant(u, v, a):
    """Property: |cos| <= 1, cos(u, v) = cos(v, u) = cos(a u, v) for a > 0."""
    u = jnp.asarray(u)
    v = jnp.asarray(v)
    c = float(_cos(u, v))
    assert abs(c) <= 1 + 1e-12
    np.testing.assert_allclose(_cos(v, u), c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_cos(a * u, v), c, rtol=1e-10, atol=1e-12)


def test_cosine_similarity_extreme_magnitudes():
    """Edge: entries near the float64 limits neither overflow nor underflow (rescaled first)."""
    big = jnp.array([1e300, 1e300])
    tiny = jnp.array([1e-300, 0.0])
    np.testing.assert_allclose(calculus.cosine_similarity(big, tiny), 1 / np.sqrt(2), **F64)


# ---------------------------------------------------------------- bad and edge inputs


def test_cosine_similarity_zero_vector_is_nan():
    """Edge: a zero vector has no angle; the result is NaN, never a finite number, and other rows are unaffected."""
    u = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    v = jnp.array([[1.0, 2.0], [1.0, 0.0]])
    out = calculus.cosine_similarity(u, v)
    assert np.isnan(out[0]) and out[1] == 1.0
    g = jax.jit(jax.grad(lambda v: calculus.cosine_similarity(u, v)[1]))(v)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: calculus.gradient(f_vec, XJ), ValueError, r"gradient: argument `f` expected a scalar"),
        (lambda: calculus.gradient(f_scalar, jnp.array([1, 2, 3])), TypeError, r"argument `x` expected a floating"),
        (lambda: calculus.gradient("f", XJ), TypeError, r"argument `f` expected a callable, got 'str'"),
        (lambda: calculus.jacobian(f_vec, XJ, mode="central"), ValueError, r"`mode` expected one of"),
        (lambda: calculus.jacobian(f_vec, jnp.array([1, 2, 3])), TypeError, r"calculus.jacobian: argument `x`"),
        (lambda: calculus.jacobian(None, XJ), TypeError, r"argument `f` expected a callable"),
        (lambda: calculus.hessian(f_vec, XJ), ValueError, r"hessian: argument `f` expected a scalar"),
        (lambda: calculus.hessian(f_scalar, np.arange(3)), TypeError, r"calculus.hessian: argument `x`"),
        (lambda: calculus.hessian(1.0, XJ), TypeError, r"calculus.hessian: argument `f`"),
        (lambda: calculus.gradient(lambda x: x[:1], XJ), ValueError, r"gradient: argument `f` expected a scalar"),
        (lambda: calculus.gradient(lambda x: (x[0], x[1]), XJ), ValueError, r"got 'output of type tuple'"),
        (
            lambda: calculus.jacobian(f_vec, XJ, mode="Forward"),
            ValueError,
            r"`mode` expected one of \['forward', 'reverse'\]",
        ),
        (lambda: calculus.jacobian(f_vec, jnp.array([True, False])), TypeError, r"jacobian: argument `x` expected a"),
        (lambda: calculus.hessian(lambda x: x[:1], XJ), ValueError, r"hessian: argument `f` expected a scalar"),
        (lambda: calculus.hessian(f_scalar, jnp.array([True])), TypeError, r"hessian: argument `x` expected a"),
        (lambda: calculus.hvp(f_scalar, XJ, jnp.ones(2)), ValueError, r"argument `v` expected shape \(3,\), got"),
        (lambda: calculus.hvp(f_scalar, XJ, jnp.ones(3, jnp.float32)), TypeError, r"`v` expected dtype float64"),
        (lambda: calculus.hvp(f_vec, XJ, jnp.ones(3)), ValueError, r"hvp: argument `f` expected a scalar"),
        (lambda: calculus.hvp(f_scalar, jnp.arange(3), jnp.ones(3)), TypeError, r"calculus.hvp: argument `x`"),
        (lambda: calculus.hvp([], XJ, jnp.ones(3)), TypeError, r"calculus.hvp: argument `f`"),
        (lambda: calculus.directional_derivative(f_scalar, XJ, jnp.ones(4)), ValueError, r"`v` expected shape \(3,\)"),
        (lambda: calculus.directional_derivative(f_scalar, XJ, jnp.ones(3, jnp.int32)), TypeError, r"`v`"),
        (lambda: calculus.directional_derivative(f_scalar, jnp.arange(3), jnp.ones(3)), TypeError, r"argument `x`"),
        (lambda: calculus.directional_derivative(3, XJ, jnp.ones(3)), TypeError, r"argument `f`"),
        (lambda: calculus.directional_derivative(f_scalar, XJ, jnp.ones((3, 1))), ValueError, r"`v`"),
        (lambda: calculus.chain_rule([], XJ), ValueError, r"`fs` expected at least one function"),
        (lambda: calculus.chain_rule(f_vec, XJ), TypeError, r"`fs` expected a sequence of callables"),
        (lambda: calculus.chain_rule([f_vec, 2], XJ), TypeError, r"`fs\[1\]` expected a callable"),
        (lambda: calculus.chain_rule([f_vec], jnp.ones((3, 3))), ValueError, r"`x` expected rank 1"),
        (lambda: calculus.chain_rule([lambda x: jnp.outer(x, x)], XJ), ValueError, r"`fs\[0\]` expected a"),
        (lambda: calculus.chain_rule([f_vec], jnp.arange(3)), TypeError, r"calculus.chain_rule: argument `x`"),
        (lambda: calculus.cosine_similarity(jnp.ones(3), jnp.ones(4)), ValueError, r"`v` expected shape \(3,\)"),
        (lambda: calculus.cosine_similarity(jnp.array(1.0), jnp.array(1.0)), ValueError, r"`u` expected rank >= 1"),
        (
            lambda: calculus.cosine_similarity(jnp.ones(3, jnp.int32), jnp.ones(3)),
            TypeError,
            r"`u` expected a floating",
        ),
        (lambda: calculus.cosine_similarity(jnp.ones(3), jnp.ones(3, jnp.float32)), TypeError, r"`v` expected dtype"),
        (lambda: calculus.cosine_similarity(jnp.ones(3), jnp.arange(3)), TypeError, r"`v` expected a floating"),
    ],
)
def test_bad_inputs(call, exc, match):
    """Bad inputs raise at trace time with the function, argument, expected and got."""
    with pytest.raises(exc, match=match):
        call()


def test_nan_input_propagates():
    """Edge: a NaN point gives NaN derivatives, never a finite number."""
    x = jnp.array([np.nan, 1.0, 2.0])
    assert np.isnan(calculus.gradient(f_scalar, x)).any()
    assert np.isnan(calculus.hvp(f_scalar, x, jnp.ones(3))).any()
    assert np.isnan(calculus.cosine_similarity(x, jnp.ones(3)))


def test_lists_are_accepted():
    """Python lists are array-likes: the gradient of x1^2 + x2^2 at [1, 2] is [2, 4] (worked value)."""
    np.testing.assert_allclose(calculus.gradient(lambda x: jnp.sum(x**2), [1.0, 2.0]), [2.0, 4.0], **F64)
    np.testing.assert_allclose(calculus.hvp(lambda x: jnp.sum(x**3), [1.0, 2.0], [1.0, 0.0]), [6.0, 0.0], **F64)
    np.testing.assert_allclose(calculus.cosine_similarity([1.0, 0.0], [0.0, 1.0]), 0.0, **F64)
