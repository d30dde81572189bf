"""Tests for the negative ELBO / bpd helpers and the Fréchet distances (mathdl.metrics._frechet)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from jax.test_util import check_grads

from mathdl import generative, layers, metrics


def _spd(key, d):
    A = jax.random.normal(key, (d, d))
    return A @ A.T / d + 0.5 * jnp.eye(d)


def _fd_oracle(mu1, c1, mu2, c2):
    """The FID formula with scipy.linalg.sqrtm (the reference implementation's choice)."""
    covmean = scipy.linalg.sqrtm(np.asarray(c1) @ np.asarray(c2)).real
    d = np.asarray(mu1) - np.asarray(mu2)
    return d @ d + np.trace(np.asarray(c1)) + np.trace(np.asarray(c2)) - 2 * np.trace(covmean)


def test_bits_per_dim_worked_value():
    """784 ln 2 nats over 784 pixels is one bit per dimension; arrays convert elementwise."""
    assert metrics.bits_per_dim(784 * np.log(2.0), 784) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(np.asarray(metrics.bits_per_dim(jnp.asarray([0.0, 2 * np.log(2.0)]), 2)), [0.0, 1.0])


def test_gaussian_frechet_worked_values_and_scipy(getkey):
    """Closed form: 1-D (mu1-mu2)^2 + (s1-s2)^2; commuting covariances; oracle scipy.linalg.sqrtm otherwise."""
    fd = jax.jit(metrics.gaussian_frechet_distance)
    got = fd(jnp.asarray([1.0]), jnp.asarray([[4.0]]), jnp.asarray([-2.0]), jnp.asarray([[1.0]]))
    assert float(got) == pytest.approx(9.0 + 1.0, rel=1e-12)  # (1 - (-2))^2 + (2 - 1)^2
    c1, c2 = jnp.diag(jnp.asarray([1.0, 9.0])), jnp.diag(jnp.asarray([4.0, 1.0]))
    got = fd(jnp.zeros(2), c1, jnp.ones(2), c2)
    assert float(got) == pytest.approx(2.0 + 1.0 + 4.0, rel=1e-12)  # |mu|^2 + (1-2)^2 + (3-1)^2
    mu1, mu2 = jax.random.normal(getkey(), (4,)), jax.random.normal(getkey(), (4,))
    C1, C2 = _spd(getkey(), 4), _spd(getkey(), 4)
    np.testing.assert_allclose(float(fd(mu1, C1, mu2, C2)), _fd_oracle(mu1, C1, mu2, C2), rtol=1e-10)
    # property: symmetric, zero on itself; vmap over a batch of pairs
    np.testing.assert_allclose(float(fd(mu2, C2, mu1, C1)), float(fd(mu1, C1, mu2, C2)), rtol=1e-10)
    assert abs(float(fd(mu1, C1, mu1, C1))) < 1e-10
    batched = jax.vmap(metrics.gaussian_frechet_distance)(
        jnp.stack([mu1, mu2]), jnp.stack([C1, C2]), jnp.stack([mu2, mu1]), jnp.stack([C2, C1])
    )
    np.testing.assert_allclose(np.asarray(batched), float(fd(mu1, C1, mu2, C2)), rtol=1e-10)


def test_gaussian_frechet_gradients(getkey):
    """d/dmu1 = 2 (mu1 - mu2); second-order gradient check in float64 on a 2-D pair."""
    mu1, mu2 = jnp.asarray([0.3, -0.1]), jnp.asarray([1.0, 0.5])
    C1, C2 = jnp.asarray([[1.0, 0.3], [0.3, 0.5]]), jnp.asarray([[0.7, -0.2], [-0.2, 1.2]])
    g = jax.grad(metrics.gaussian_frechet_distance)(mu1, C1, mu2, C2)
    np.testing.assert_allclose(np.asarray(g), 2 * np.asarray(mu1 - mu2), rtol=1e-12)
    # first order through both eigendecompositions; second order in the mean (cheap to compile)
    check_grads(
        jax.jit(lambda a, L: metrics.gaussian_frechet_distance(a, L @ L.T, mu2, C2)),
        (mu1, jnp.linalg.cholesky(C1)),
        order=1,
        modes=["rev"],
    )
    check_grads(jax.jit(lambda a: metrics.gaussian_frechet_distance(a, C1, mu2, C2)), (mu1,), order=2, modes=["rev"])


def test_frechet_distance_of_samples(getkey):
    """Oracle: NumPy moments + scipy sqrtm; identical sets give 0; a shifted set gives the squared shift."""
    X = jax.random.normal(getkey(), (300, 3))
    Y = 0.5 * jax.random.normal(getkey(), (200, 3)) + 1.0
    fd = jax.jit(metrics.frechet_distance)
    Xn, Yn = np.asarray(X), np.asarray(Y)
    want = _fd_oracle(Xn.mean(0), np.cov(Xn, rowvar=False), Yn.mean(0), np.cov(Yn, rowvar=False))
    np.testing.assert_allclose(float(fd(X, Y)), want, rtol=1e-10)
    assert abs(float(fd(X, X))) < 1e-10
    np.testing.assert_allclose(float(fd(X, X + 2.0)), 12.0, rtol=1e-10)  # shift (2, 2, 2)


def test_classifier_metrics_on_a_toy(getkey):
    """A classifier trained with train.fit separates two Gaussian classes; its features put the
    two halves of the real data close and a shifted set far; the scores see a collapsed sample set."""
    n = 200
    y = jnp.repeat(jnp.arange(2, dtype=jnp.int32), n // 2)
    centres = jnp.asarray([[2.0, 0.0, 0.0, 0.0], [-2.0, 0.0, 0.0, 0.0]])
    X = centres[y] + 0.5 * jax.random.normal(getkey(), (n, 4))
    params = metrics.train_feature_classifier(
        getkey(), X, y, num_classes=2, hidden=(16, 8), epochs=4, batch_size=32, lr=1e-2
    )
    assert float(jax.jit(metrics.classifier_accuracy)(params, X, y)) > 0.95
    assert metrics.classifier_features(params, X).shape == (n, 8)
    perm = jax.random.permutation(getkey(), n)
    cfd = jax.jit(metrics.classifier_frechet_distance)
    near, far = cfd(params, X[perm[:100]], X[perm[100:]]), cfd(params, X[:100], X[100:])
    assert float(near) < 0.2 * float(far)
    scores = jax.jit(metrics.sample_class_scores)
    collapsed = scores(params, X[y == 0])
    np.testing.assert_allclose(np.asarray(collapsed.class_frequencies), [1.0, 0.0], atol=0.03)
    assert float(collapsed.classifier_score) < 1.2 and float(collapsed.confidence) > 0.8
    even = scores(params, X[perm[:100]])
    assert float(even.classifier_score) > 1.4  # towards K = 2 for confident, evenly spread samples


def test_sample_class_scores_worked_value():
    """A hand-set one-layer classifier: logits (+-10, 0) give p = one-hot-ish; two even samples score ~2."""
    params = (layers.DenseParams(jnp.asarray([[10.0], [-10.0]]), jnp.zeros(2)),)
    s = metrics.sample_class_scores(params, jnp.asarray([[1.0], [-1.0]]))
    np.testing.assert_allclose(np.asarray(s.class_frequencies), [0.5, 0.5])
    p = 1 / (1 + np.exp(-20.0))
    assert float(s.confidence) == pytest.approx(p, rel=1e-12)
    ent = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert float(s.classifier_score) == pytest.approx(np.exp(np.log(2) - ent), rel=1e-10)


def test_negative_elbo_matches_vae_loss_mean(getkey):
    """negative_elbo = mean over examples of vae_loss (beta 1) with the same split keys."""
    params = generative.init_vae(getkey(), 4, 2, (8,))
    X = jax.random.uniform(getkey(), (5, 4))
    k = getkey()
    got = jax.jit(lambda kk: metrics.negative_elbo(kk, params, X, likelihood="bernoulli"))(jax.random.clone(k))
    keys = jax.random.split(k, 5)
    one = jax.jit(lambda kk, x: generative.vae_loss(kk, params, x, likelihood="bernoulli").loss)
    want = np.mean([float(one(kk, x)) for kk, x in zip(keys, X, strict=True)])
    np.testing.assert_allclose(float(got), want, rtol=1e-12)
    assert float(metrics.bits_per_dim(got, 4)) == pytest.approx(want / (4 * np.log(2)), rel=1e-12)


def test_frechet_bad_inputs():
    """Clear errors naming the argument."""
    with pytest.raises(ValueError, match="Y"):
        metrics.frechet_distance(jnp.zeros((4, 3)), jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="X"):
        metrics.frechet_distance(jnp.zeros((1, 3)), jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match="cov2"):
        metrics.gaussian_frechet_distance(jnp.zeros(2), jnp.eye(2), jnp.zeros(2), jnp.eye(3))
    with pytest.raises(ValueError, match="num_dims"):
        metrics.bits_per_dim(1.0, 0)
    with pytest.raises(TypeError, match="num_dims"):
        metrics.bits_per_dim(1.0, 2.0)
    with pytest.raises(ValueError, match="params"):
        metrics.classifier_features((layers.DenseParams(jnp.zeros((2, 3)), jnp.zeros(2)),), jnp.zeros((4, 3)))
