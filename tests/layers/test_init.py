"""Tests of the initialisers ([MEDL] Sec. 5.5): variances, jax.nn.initializers, depth propagation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from mathdl import layers
from tests._oracles import need
from tests._tolerances import tol

# name -> (variance as a function of (fan_in, fan_out), jax.nn.initializers oracle)
CASES = {
    "glorot_normal": (lambda i, o: 2 / (i + o), jax.nn.initializers.variance_scaling(1.0, "fan_avg", "normal", -1, -2)),
    "glorot_uniform": (lambda i, o: 2 / (i + o), jax.nn.initializers.glorot_uniform(-1, -2)),
    "he_normal": (lambda i, o: 2 / i, jax.nn.initializers.variance_scaling(2.0, "fan_in", "normal", -1, -2)),
    "he_uniform": (lambda i, o: 2 / i, jax.nn.initializers.he_uniform(-1, -2)),
    "lecun_normal": (lambda i, o: 1 / i, jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal", -1, -2)),
    "lecun_uniform": (lambda i, o: 1 / i, jax.nn.initializers.lecun_uniform(-1, -2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_variance_worked(name, getkey):
    """Worked value [MEDL] Sec. 5.5: for (N_out, N_in) = (300, 200) the sample variance matches the formula (2%)."""
    var_fn, _ = CASES[name]
    W = getattr(layers, name)(getkey(), (300, 200))
    # 60000 draws: the relative s.e. of a sample variance is about sqrt(2/n) < 0.6% (normal), so 3% is > 5 s.e.
    np.testing.assert_allclose(np.var(np.asarray(W)), var_fn(200, 300), rtol=0.03)
    assert abs(np.mean(np.asarray(W))) < 4 * np.sqrt(var_fn(200, 300) / W.size)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_distribution_as_jax(name, getkey):
    """Oracle: jax.nn.initializers with in_axis=-1, out_axis=-2 draws the same law (two-sample KS, p > 1e-3)."""
    _, oracle = CASES[name]
    ours = np.asarray(getattr(layers, name)(getkey(), (80, 50))).ravel()
    theirs = np.asarray(oracle(getkey(), (80, 50), jnp.float64)).ravel()
    assert scipy.stats.ks_2samp(ours, theirs).pvalue > 1e-3


def test_uniform_bounds_torch():
    """Oracle: torch.nn.init.xavier_uniform_ bound sqrt(6/(fan_in+fan_out)); ours never exceeds it, reaches near it."""
    torch = need("torch")
    t = torch.empty(40, 60, dtype=torch.float64)
    torch.nn.init.xavier_uniform_(t)
    W = np.asarray(layers.glorot_uniform(jax.random.key(0), (40, 60)))
    bound = np.sqrt(6 / 100)
    assert np.abs(W).max() <= bound and np.abs(W).max() > 0.95 * bound
    assert np.abs(t.numpy()).max() <= bound


def _propagate(key, init, activation, depth=20, width=256, n=512):
    keys = jax.random.split(key, depth + 1)
    a = jax.random.normal(keys[0], (width, n))
    second_moments = []
    for k in keys[1:]:
        W = init(k, (width, width))
        a = activation(W @ a)
        second_moments.append(float(jnp.mean(a**2)))
    return np.array(second_moments)


@pytest.mark.parametrize(
    "init,activation,target",
    [
        (layers.he_normal, jax.nn.relu, 1.0),  # He: Var z = 2 E[a^2], E[relu(z)^2] = Var(z)/2 = E[a^2]
        (layers.he_uniform, jax.nn.relu, 1.0),
        (layers.lecun_normal, lambda u: u, 1.0),  # linear: Var preserved exactly in expectation
        (layers.glorot_normal, lambda u: u, 1.0),  # square W: glorot == lecun
    ],
)
def test_variance_preserved_through_depth(init, activation, target):
    """Derivation [MEDL] Sec. 5.5: with the matched initialiser the second moment is the same after 20 layers."""
    m = _propagate(jax.random.key(0), init, activation)
    np.testing.assert_allclose(m[-1], target, rtol=0.25)  # 20 products of random factors: ~10% spread, 25% bound
    np.testing.assert_allclose(m[0], target, rtol=0.05)


def test_mismatched_initialiser_vanishes_or_explodes():
    """Property: the wrong scale drifts geometrically (LeCun + ReLU halves each layer; 2x He explodes)."""
    lecun_relu = _propagate(jax.random.key(1), layers.lecun_normal, jax.nn.relu)
    assert lecun_relu[-1] < 1e-4  # ~ 0.5^20 ≈ 1e-6 times the start
    doubled = _propagate(jax.random.key(2), lambda k, s: 2 * layers.he_normal(k, s), jax.nn.relu)
    assert doubled[-1] > 1e8  # ~ 4^20


def test_tanh_near_zero_glorot():
    """Derivation: tanh ≈ identity near 0, so with small inputs glorot keeps Var ≈ input Var for a few layers."""
    keys = jax.random.split(jax.random.key(4), 6)
    a = 0.05 * jax.random.normal(keys[0], (256, 512))
    for k in keys[1:]:
        a = jnp.tanh(layers.glorot_normal(k, (256, 256)) @ a)
    np.testing.assert_allclose(float(jnp.var(a)), 0.05**2, rtol=0.2)


def test_transforms_and_dtype(getkey):
    """Transforms: jit == eager for the same key; dtype honoured; leading axes multiply the fans."""
    k = getkey()
    k2 = jax.random.clone(k)  # the same key twice on purpose (debug key reuse is on)
    jitted = jax.jit(layers.he_normal, static_argnums=1)(k, (3, 4))
    np.testing.assert_allclose(jitted, layers.he_normal(k2, (3, 4)), **tol(np.float64))  # XLA may fuse std * z
    assert layers.he_normal(getkey(), (3, 4), jnp.float32).dtype == jnp.float32
    W = layers.lecun_normal(getkey(), (10, 20, 30))  # receptive field 10: fan_in = 300
    np.testing.assert_allclose(np.var(np.asarray(W)), 1 / 300, rtol=0.1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_inputs(name, getkey):
    """Bad inputs: rank-1 shape, zero size, integer dtype are refused with the function named."""
    f = getattr(layers, name)
    with pytest.raises(ValueError, match=rf"layers.{name}: argument `shape` expected a shape of rank >= 2"):
        f(getkey(), (5,))
    with pytest.raises(ValueError, match=rf"{name}: argument `shape` expected positive sizes, got '?shape \(0, 3\)"):
        f(getkey(), (0, 3))
    with pytest.raises(TypeError, match=rf"layers.{name}: argument `dtype` expected a floating dtype"):
        f(getkey(), (2, 3), jnp.int32)
    with pytest.raises(
        ValueError,
        match=rf"{name}: argument `shape` expected a shape of rank >= 2 such as \(N_out, N_in\), got '?shape \(\)'?",
    ):
        f(getkey(), ())
    with pytest.raises(ValueError, match=r"expected positive sizes, got '?shape \(2, -1\)"):
        f(getkey(), (2, -1))
    with pytest.raises(TypeError, match=rf"layers.{name}: argument `key` expected a typed PRNG key.*a raw key"):
        f(jax.random.PRNGKey(0), (2, 3))
