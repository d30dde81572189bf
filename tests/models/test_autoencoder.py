"""Tests of mathdl.models: shapes, worked values, training through mathdl.train.fit, PCA link."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

from mathdl import activations, models, train
from mathdl.layers import DenseParams


def _params():
    """A hand-made 3 -> 2 -> 3 autoencoder."""
    enc = DenseParams(jnp.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]]), jnp.array([0.1, -0.2]))
    dec = DenseParams(jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]), jnp.array([0.0, 0.5, -0.5]))
    return models.AutoencoderParams(enc, dec)


def _low_rank_data(seed=0, n=400, p=8):
    rng = np.random.default_rng(seed)
    scales = np.array([3.0, 2.0, 1.5, 0.4, 0.3, 0.2, 0.1, 0.05])[:p]
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return (rng.normal(size=(n, p)) * scales) @ Q.T + 1.0


def _train(X, m, *, epochs, lr=0.02, seed=0, **loss_kw):
    params = models.init_autoencoder(jax.random.key(seed), X.shape[1], m, dtype=jnp.float64)
    loss = train.mean_loss(lambda prm, ex: models.reconstruction_loss(prm, ex[0], **loss_kw))
    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int step counts with floats
        res = train.fit(loss, optax.adam(lr), params, (X,), key=jax.random.key(seed + 1), epochs=epochs,
                        batch_size=100, progress=False)  # fmt: skip
    return res


# ----------------------------------------------------------------- worked values
def test_forward_by_hand():
    """By hand: x = (1, 1, 1): z = (1 - 1 + 0.1, 0.5 + 2 - 0.2) = (0.1, 2.3); x-hat = (0.1, 2.8, -2.7)."""
    x = jnp.array([1.0, 1.0, 1.0])
    params = _params()
    np.testing.assert_allclose(models.encode(params, x), [0.1, 2.3], rtol=1e-14)
    np.testing.assert_allclose(models.autoencoder(params, x), [0.1, 2.8, -2.7], rtol=1e-14)
    np.testing.assert_allclose(models.reconstruction_loss(params, x), 0.81 + 3.24 + 13.69, rtol=1e-14)


def test_nonlinear_forward_matches_numpy():
    """Oracle: NumPy sigmoid(W2 tanh(W1 x + b1) + b2) for the non-linear autoencoder."""
    x = np.array([0.3, -0.7, 1.2])
    params = _params()
    W1, b1 = np.asarray(params.encoder.W), np.asarray(params.encoder.b)
    W2, b2 = np.asarray(params.decoder.W), np.asarray(params.decoder.b)
    ref = 1 / (1 + np.exp(-(W2 @ np.tanh(W1 @ x + b1) + b2)))
    out = models.autoencoder(
        params, jnp.asarray(x), encoder_activation=activations.tanh, decoder_activation=activations.sigmoid
    )
    np.testing.assert_allclose(out, ref, rtol=1e-13)


# ----------------------------------------------------------------- transforms
def test_vmap_jit_and_gradients():
    """vmap == loop; jit == eager; grad of ||x - x-hat||^2 w.r.t. b2 is -2 (x - x-hat); check_grads order 2."""
    params = _params()
    X = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)))
    batched = jax.vmap(lambda x: models.autoencoder(params, x))(X)
    for i in range(4):
        np.testing.assert_allclose(batched[i], models.autoencoder(params, X[i]), rtol=1e-14)
    f = jax.jit(lambda prm, x: models.reconstruction_loss(prm, x, encoder_activation=activations.tanh))
    np.testing.assert_allclose(
        f(params, X[0]), models.reconstruction_loss(params, X[0], encoder_activation=activations.tanh)
    )
    g = jax.jit(jax.grad(models.reconstruction_loss))(params, X[0])
    np.testing.assert_allclose(g.decoder.b, -2 * (X[0] - models.autoencoder(params, X[0])), rtol=1e-12)
    check_grads(f, (params, X[0]), order=2)


# ----------------------------------------------------------------- trained: PCA subspace (oracle: NumPy SVD)
def test_linear_autoencoder_spans_pca_subspace():
    """[MEDL] Sec. 3.5: a trained linear AE's decoder spans the top-m principal subspace (NumPy SVD oracle).

    Principal angles below 0.05 rad after 150 Adam epochs; its reconstruction error is at least PCA's
    (Eckart-Young: PCA is optimal) and within 3 % of it.
    """
    from scipy.linalg import subspace_angles

    X = _low_rank_data()
    m = 3
    res = _train(X, m, epochs=150)
    Xc = X - X.mean(0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    angles = subspace_angles(np.asarray(res.params.decoder.W), Vt[:m].T)
    assert np.max(angles) < 0.05
    rec = float(np.mean(jax.vmap(lambda x: models.reconstruction_loss(res.params, x))(X)))
    pca = float(np.sum(s[m:] ** 2) / len(X))
    assert pca * (1 - 1e-9) <= rec <= 1.03 * pca


@pytest.mark.slow
def test_denoising_training_reduces_loss():
    """Property: training the denoising loss with mathdl.train.fit lowers it (clean target, corrupted input)."""
    X = _low_rank_data(1, n=200)
    params = models.init_autoencoder(jax.random.key(3), 8, 4, dtype=jnp.float64)

    def example_loss(prm, ex, key):
        return models.denoising_loss(key, prm, ex[0], noise_std=0.1, drop_rate=0.2)

    loss = train.mean_loss(example_loss, needs_key=True)
    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int step counts with floats
        before = float(loss(params, (X,), jax.random.key(4)))
        res = train.fit(loss, optax.adam(0.02), params, (X,), key=jax.random.key(5), epochs=40, batch_size=100,
                        progress=False)  # fmt: skip
        after = float(loss(res.params, (X,), jax.random.key(6)))
    assert after < 0.5 * before


# ----------------------------------------------------------------- corruption and interpolation
def test_corrupt_properties():
    """Property: drop_rate r zeroes about a fraction r of entries; noise has std sigma; zero levels = identity."""
    x = jnp.ones((20_000,))
    dropped = models.corrupt(jax.random.key(0), x, drop_rate=0.3)
    assert abs(float(jnp.mean(dropped == 0)) - 0.3) < 0.015
    noisy = models.corrupt(jax.random.key(1), x, noise_std=0.5)
    assert abs(float(jnp.std(noisy)) - 0.5) < 0.015
    np.testing.assert_array_equal(models.corrupt(jax.random.key(2), x), x)
    assert noisy.dtype == x.dtype


def test_interpolate_latent_endpoints_and_linearity():
    """By hand: lambda = 1 gives AE(x_i), lambda = 0 gives AE(x_j); a linear AE's latent path is linear in lambda."""
    params = _params()
    xi, xj = jnp.array([1.0, 0.0, 2.0]), jnp.array([-1.0, 1.0, 0.5])
    lam = jnp.array([0.0, 0.25, 0.5, 1.0])
    latent, naive = models.interpolate_latent(params, xi, xj, lam)
    np.testing.assert_allclose(latent[-1], models.autoencoder(params, xi), rtol=1e-14)
    np.testing.assert_allclose(latent[0], models.autoencoder(params, xj), rtol=1e-14)
    np.testing.assert_allclose(latent[2], 0.5 * (latent[0] + latent[-1]), rtol=1e-13)
    np.testing.assert_allclose(naive[1], 0.25 * xi + 0.75 * xj, rtol=1e-14)


# ----------------------------------------------------------------- bad inputs
def test_bad_inputs():
    """Bad input: non-positive sizes, x of the wrong width, int x, drop_rate = 1, negative noise, lambdas rank."""
    params = _params()
    with pytest.raises(ValueError, match=r"init_autoencoder: argument `m` expected a positive int, got 0"):
        models.init_autoencoder(jax.random.key(0), 4, 0)
    with pytest.raises(ValueError, match=r"init_autoencoder: argument `p` expected a positive int, got 2.5"):
        models.init_autoencoder(jax.random.key(0), 2.5, 1)
    # Each function names itself (it checks its inputs; layers.dense's checks never fire first).
    for f in (models.autoencoder, models.encode, models.reconstruction_loss):
        with pytest.raises(
            ValueError, match=rf"^models.{f.__name__}: argument `x` expected shape \(3,\), got shape \(4,\)"
        ):
            f(params, jnp.ones(4))
    with pytest.raises(ValueError, match=r"^models.decode: argument `z` expected shape \(2,\), got shape \(3,\)"):
        models.decode(params, jnp.ones(3))
    with pytest.raises(ValueError, match=r"^models.denoising_loss: argument `x` expected shape \(3,\)"):
        models.denoising_loss(jax.random.key(0), params, jnp.ones(4))
    with pytest.raises(ValueError, match=r"^models.autoencoder: argument `x` expected one example of shape \(p,\); "
                       r"for a batch use jax.vmap"):  # fmt: skip
        models.autoencoder(params, jnp.ones((5, 3)))
    with pytest.raises(TypeError, match=r"models.init_autoencoder: argument `key` expected a typed PRNG key"):
        models.init_autoencoder(jax.random.PRNGKey(0), 4, 2)
    with pytest.raises(TypeError, match=r"models.corrupt: argument `key` expected a typed PRNG key"):
        models.corrupt(jax.random.PRNGKey(0), jnp.ones(3))
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        models.reconstruction_loss(params, jnp.ones(3, jnp.int32))
    with pytest.raises(ValueError, match=r"corrupt: argument `drop_rate` expected a value in \[0.0, 1.0\), got 1.0"):
        models.corrupt(jax.random.key(0), jnp.ones(3), drop_rate=1.0)
    with pytest.raises(ValueError, match=r"corrupt: argument `noise_std` expected a value >= 0, got -0.1"):
        models.corrupt(jax.random.key(0), jnp.ones(3), noise_std=-0.1)
    with pytest.raises(ValueError, match=r"interpolate_latent: argument `lambdas` expected rank 1"):
        models.interpolate_latent(params, jnp.ones(3), jnp.ones(3), jnp.array(0.5))
    with pytest.raises(ValueError, match=r"interpolate_latent: argument `x_j` expected shape \(3,\), got shape \(2,\)"):
        models.interpolate_latent(params, jnp.ones(3), jnp.ones(2), jnp.ones(2))
    with pytest.raises(TypeError, match=r"encode: argument `activation` expected a callable or None"):
        models.encode(params, jnp.ones(3), activation="relu")


def test_lists_accepted_and_traced_rates_checked():
    """Python lists are array-likes (reconstruction_loss of a list equals that of its array); a traced drop_rate
    outside [0, 1) or a negative traced noise_std gives NaN, never a finite corruption."""
    params = _params()
    np.testing.assert_allclose(
        models.reconstruction_loss(params, [0.5, -1.0, 2.0]),
        models.reconstruction_loss(params, jnp.array([0.5, -1.0, 2.0])),
    )
    f = jax.jit(lambda k, r, s: models.corrupt(k, jnp.ones(4), drop_rate=r, noise_std=s))
    assert np.all(np.isnan(f(jax.random.key(0), 1.5, 0.0)))
    assert np.all(np.isnan(f(jax.random.key(1), 0.0, -1.0)))
    assert np.all(np.isfinite(f(jax.random.key(2), 0.5, 0.1)))
