"""Tests of mathdl.layers positional embeddings ([MEDL] Ch. 7, Sec. 7.5, (7.28)-(7.30)) and rotary embeddings."""

import math

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl.layers import (
    LearnedPositionParams,
    apply_positions,
    apply_rotary,
    init_learned_positions,
    learned_positions,
    one_hot_positions,
    rotary,
    rotary_tables,
    scaled_dot_product_attention,
    sinusoidal_positions,
)
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_sinusoidal_worked_and_loop():
    """(7.29) by hand at t = 1, p_e = 4: (sin 1, cos 1, sin(1/100), cos(1/100)); a loop for the rest."""
    R = sinusoidal_positions(6, 5)
    np.testing.assert_allclose(R[0], [0, 1, 0, 1, 0], **tol(np.float64))
    np.testing.assert_allclose(
        sinusoidal_positions(2, 4)[1], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)], **tol(np.float64)
    )
    want = np.zeros((6, 5))
    for t in range(6):
        for j in range(5):
            i = j // 2
            angle = t / 10_000.0 ** (2 * i / 5)
            want[t, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    np.testing.assert_allclose(R, want, **TOL)
    # the book's t = 1, ..., T, another base, float32
    np.testing.assert_allclose(sinusoidal_positions(3, 4, start=1), sinusoidal_positions(4, 4)[1:], **TOL)
    assert sinusoidal_positions(3, 4, M=100.0, dtype=jnp.float32).dtype == jnp.float32


def test_sinusoidal_inner_product_depends_on_offset_only():
    """r_s . r_{s+k} = sum_i cos(k w_i) for even p_e: the same for every s (relative positions are linear)."""
    R = np.asarray(sinusoidal_positions(40, 8))
    for k in (1, 5):
        dots = [R[s] @ R[s + k] for s in range(30)]
        np.testing.assert_allclose(dots, np.full(30, dots[0]), **TOL)


def test_one_hot_and_apply_positions(rng):
    np.testing.assert_array_equal(one_hot_positions(2, 4), [[1, 0, 0, 0], [0, 1, 0, 0]])
    x = jnp.asarray(rng.normal(size=(3, 4)))
    R = sinusoidal_positions(10, 4)
    np.testing.assert_allclose(apply_positions(x, R), x + R[:3], **TOL)
    out = jax.jit(apply_positions, static_argnames="mode")(x, one_hot_positions(5), mode="concat")
    assert out.shape == (3, 9)  # p + T_max
    np.testing.assert_allclose(out[:, 4:], np.eye(3, 5), **TOL)
    with pytest.raises(
        ValueError, match=r"apply_positions: argument `R` expected width p_e = p = 4 to add .*got shape \(10, 6\)"
    ):
        apply_positions(x, sinusoidal_positions(10, 6))
    with pytest.raises(ValueError, match=r"argument `R` expected at least T = 3 rows \(x of shape \(3, 4\)\)"):
        apply_positions(x, sinusoidal_positions(2, 4))
    with pytest.raises(ValueError, match="one_hot_positions: argument `max_len` expected at least"):
        one_hot_positions(4, 3)
    with pytest.raises(ValueError, match="sinusoidal_positions: argument `p_e` expected a positive int"):
        sinusoidal_positions(4, 0)
    with pytest.raises(ValueError, match="for a batch use jax.vmap"):
        apply_positions(jnp.zeros((2, 3, 4)), R)


def test_positions_break_permutation_equivariance(rng):
    """Self-attention commutes with a permutation of the rows; with sinusoidal positions added it does not."""
    x = jnp.asarray(rng.normal(size=(5, 4)))
    perm = np.array([1, 0, 2, 3, 4])
    att = lambda z: scaled_dot_product_attention(z, z, z)  # noqa: E731
    R = sinusoidal_positions(5, 4)
    np.testing.assert_allclose(att(x[perm]), att(x)[perm], **TOL)
    assert not np.allclose(att(x[perm] + R), att(x + R)[perm])


def test_learned_positions_loop_and_grads(rng, getkey):
    """(7.28) x~_t = W1 S(W2 x_t + W3 e_t + b) against a NumPy loop; check_grads order 2; vmap."""
    p, T_max, n, q = 3, 6, 4, 2
    params = init_learned_positions(getkey(), p, T_max, n, p_out=q)
    assert [a.shape for a in params] == [(q, n), (n, p), (n, T_max), (n,)]
    params = params._replace(b=jnp.asarray(rng.normal(size=n)))
    x = jnp.asarray(rng.normal(size=(4, p)))
    W1, W2, W3, b = (np.asarray(a) for a in params)
    xn = np.asarray(x)
    want = np.stack([W1 @ np.tanh(W2 @ xn[t] + W3 @ np.eye(T_max)[t + 1] + b) for t in range(4)])
    f = jax.jit(lambda P, x: learned_positions(P, x, activation=jnp.tanh, start=1))
    np.testing.assert_allclose(f(params, x), want, **TOL)
    jax.test_util.check_grads(f, (params, x), order=2, modes=["rev"])
    batch = jnp.stack([x, 2 * x])
    np.testing.assert_allclose(jax.vmap(f, in_axes=(None, 0))(params, batch)[1], f(params, 2 * x), **TOL)
    with pytest.raises(ValueError, match=r"learned_positions: argument `x` expected at most T_max - start = 6 - 3 = 3"):
        learned_positions(params, x, start=3)
    assert isinstance(params, LearnedPositionParams)


def _rotation_loop(x, base=10_000.0, start=0):
    """NumPy oracle: a block-diagonal 2x2 rotation matrix per position."""
    T, d = x.shape
    out = np.zeros((T, d))
    for t in range(T):
        R = np.zeros((d, d))
        for i in range(d // 2):
            a = (t + start) * base ** (-2 * i / d)
            R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
        out[t] = R @ x[t]
    return out


def test_rotary_loop_relative_property_and_grads(rng):
    q = jnp.asarray(rng.normal(size=(5, 6)))
    np.testing.assert_allclose(rotary(q), _rotation_loop(np.asarray(q)), **TOL)
    np.testing.assert_allclose(rotary(q, start=3, base=100.0), _rotation_loop(np.asarray(q), 100.0, 3), **TOL)
    cos, sin = rotary_tables(5, 6)
    np.testing.assert_allclose(jax.jit(apply_rotary)(q, cos, sin), rotary(q), **TOL)
    # norms kept; <R_s a, R_t b> depends only on t - s: shift both positions by 4
    np.testing.assert_allclose(jnp.linalg.norm(rotary(q), axis=1), jnp.linalg.norm(q, axis=1), **TOL)
    a, b = q[0:1], q[1:2]
    s0 = float((rotary(a, start=1) @ rotary(b, start=3).T)[0, 0])
    s4 = float((rotary(a, start=5) @ rotary(b, start=7).T)[0, 0])
    assert abs(s0 - s4) < 1e-12
    jax.test_util.check_grads(jax.jit(rotary), (q[:2, :4],), order=2)
    with pytest.raises(ValueError, match="rotary: argument `x` expected an even width d"):
        rotary(jnp.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"apply_rotary: argument `cos` expected shape \(T, d/2\) = \(5, 3\)"):
        apply_rotary(q, cos[:4], sin)
    with pytest.raises(ValueError, match="rotary_tables: argument `d` expected an even width"):
        rotary_tables(4, 3)
