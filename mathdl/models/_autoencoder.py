r"""Shallow autoencoders ([MEDL] Sec. 3.5): linear, non-linear and denoising, as pure functions.

Encoder $z = S_1(W_1 x + b_1) \in \mathbb R^m$, decoder $\hat x = S_2(W_2 z + b_2) \in \mathbb R^p$,
loss $\lVert x - \hat x\rVert^2$ per example. With identity activations (the linear autoencoder)
the trained decoder spans the same subspace as the first $m$ principal components. Training
uses the one fit loop: ``mathdl.train.fit(train.mean_loss(...), optax.adam(...), params, (X,), ...)``.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.checks import Text
from mathdl.layers import DenseParams, dense, init_dense

__all__ = [
    "AutoencoderParams",
    "autoencoder",
    "corrupt",
    "decode",
    "denoising_loss",
    "encode",
    "init_autoencoder",
    "interpolate_latent",
    "reconstruction_loss",
]


class AutoencoderParams(NamedTuple):
    """Parameters of a shallow autoencoder.

    Attributes:
      encoder: ``DenseParams(W, b)`` with $W_1$ of shape ``(m, p)`` and $b_1$ of shape ``(m,)``.
      decoder: ``DenseParams(W, b)`` with $W_2$ of shape ``(p, m)`` and $b_2$ of shape ``(p,)``.
    """

    encoder: DenseParams
    decoder: DenseParams


def _identity(z):
    return z


def _act(func, name, f):
    if f is None:
        return _identity
    if not callable(f):
        checks.fail(func, name, "a callable or None (identity)", Text(type(f).__name__), exc=TypeError)
    return f


def init_autoencoder(key: jax.Array, p: int, m: int, *, init="glorot_uniform", dtype=None) -> AutoencoderParams:
    r"""Initialise a shallow autoencoder $\mathbb R^p \to \mathbb R^m \to \mathbb R^p$.

    $W_1, W_2$ are drawn with ``init`` (Glorot uniform by default) and the biases are zero.

    Args:
      key: a typed PRNG key (split into one key per layer).
      p: input dimension (positive int).
      m: latent dimension (positive int; $m < p$ for the book's bottleneck, any $m$ for a
        denoising autoencoder).
      init: initialiser name or callable, as in :func:`mathdl.layers.init_dense`.
      dtype: floating dtype of the parameters.

    Returns:
      :class:`AutoencoderParams`.

    Raises:
      ValueError: if ``p`` or ``m`` is not a positive int, or ``init`` is unknown.

    References:
      [MEDL] Ch. 3, Sec. 3.5 (shallow autoencoders); Ch. 5, Sec. 5.5 (initialisation).
    """
    func = "models.init_autoencoder"
    for name, value in (("p", p), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    k1, k2 = jax.random.split(key)
    return AutoencoderParams(
        init_dense(k1, int(p), int(m), init=init, dtype=dtype), init_dense(k2, int(m), int(p), init=init, dtype=dtype)
    )


def encode(params: AutoencoderParams, x, *, activation: Callable | None = None) -> jax.Array:
    r"""Encoder $z = S_1(W_1 x + b_1)$ for one example.

    Args:
      params: :class:`AutoencoderParams`.
      x: one example, shape ``(p,)`` (``jax.vmap`` for batches).
      activation: $S_1$, a callable (e.g. ``mathdl.activations.sigmoid``) or ``None`` for the identity.

    Returns:
      The code $z$, shape ``(m,)``.

    Raises:
      ValueError: if ``x`` is not of shape ``(p,)``.
      TypeError: if ``x`` is not floating or ``activation`` is not callable.

    References:
      [MEDL] Ch. 3, Sec. 3.5.
    """
    return _act("models.encode", "activation", activation)(dense(params.encoder, x))


def decode(params: AutoencoderParams, z, *, activation: Callable | None = None) -> jax.Array:
    r"""Decoder $\hat x = S_2(W_2 z + b_2)$ for one code.

    Args:
      params: :class:`AutoencoderParams`.
      z: one code, shape ``(m,)``.
      activation: $S_2$, a callable or ``None`` for the identity.

    Returns:
      The reconstruction $\hat x$, shape ``(p,)``.

    Raises:
      ValueError: if ``z`` is not of shape ``(m,)``.
      TypeError: if ``z`` is not floating or ``activation`` is not callable.

    References:
      [MEDL] Ch. 3, Sec. 3.5.
    """
    return _act("models.decode", "activation", activation)(dense(params.decoder, z))


def autoencoder(
    params: AutoencoderParams,
    x,
    *,
    encoder_activation: Callable | None = None,
    decoder_activation: Callable | None = None,
) -> jax.Array:
    r"""The autoencoder $\hat x = S_2(W_2\, S_1(W_1 x + b_1) + b_2)$ for one example.

    Args:
      params: :class:`AutoencoderParams`.
      x: one example, shape ``(p,)``.
      encoder_activation: $S_1$ (``None``: identity).
      decoder_activation: $S_2$ (``None``: identity).

    Returns:
      $\hat x$, shape ``(p,)``.

    Raises:
      ValueError: if ``x`` is not of shape ``(p,)``.
      TypeError: if ``x`` is not floating or an activation is not callable.

    References:
      [MEDL] Ch. 3, Sec. 3.5.
    """
    z = encode(params, x, activation=encoder_activation)
    return decode(params, z, activation=decoder_activation)


def reconstruction_loss(
    params: AutoencoderParams,
    x,
    *,
    encoder_activation: Callable | None = None,
    decoder_activation: Callable | None = None,
) -> jax.Array:
    r"""Per-example reconstruction loss $\lVert x - \hat x\rVert^2$.

    Args:
      params: :class:`AutoencoderParams`.
      x: one example, shape ``(p,)``.
      encoder_activation: $S_1$ (``None``: identity).
      decoder_activation: $S_2$ (``None``: identity).

    Returns:
      A scalar. No reduction over examples (lift with ``mathdl.train.mean_loss``).

    Raises:
      ValueError: if ``x`` is not of shape ``(p,)``.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.5 (reconstruction loss).
    """
    x_hat = autoencoder(params, x, encoder_activation=encoder_activation, decoder_activation=decoder_activation)
    return jnp.sum((x - x_hat) ** 2)


def corrupt(key: jax.Array, x, *, noise_std: float = 0.0, drop_rate: float = 0.0) -> jax.Array:
    r"""Corrupt an input for a denoising autoencoder: $\tilde x = m \odot x + \sigma \varepsilon$.

    Each entry is zeroed with probability ``drop_rate`` ($m_j \sim \mathrm{Bernoulli}(1-r)$, no
    rescaling: the corrupted image is what the encoder sees) and Gaussian noise
    $\varepsilon \sim N(0, I)$ scaled by $\sigma$ = ``noise_std`` is added.

    Args:
      key: a typed PRNG key.
      x: the clean input, any shape, floating.
      noise_std: $\sigma \ge 0$.
      drop_rate: $r \in [0, 1)$, the probability of zeroing an entry.

    Returns:
      $\tilde x$, same shape and dtype as ``x``.

    Raises:
      ValueError: if ``noise_std < 0`` or ``drop_rate`` is outside $[0, 1)$.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.5 (denoising autoencoders, Fig. 3.15).
    """
    func = "models.corrupt"
    checks.check_dtype_floating(func, "x", x)
    checks.check_positive(func, "noise_std", noise_std, strict=False)
    checks.check_range(func, "drop_rate", drop_rate, 0.0, 1.0)
    x = jnp.asarray(x)
    k_mask, k_noise = jax.random.split(key)
    keep = jax.random.bernoulli(k_mask, 1.0 - drop_rate, x.shape)
    noise = jax.random.normal(k_noise, x.shape, x.dtype)
    return jnp.where(keep, x, jnp.zeros((), x.dtype)) + jnp.asarray(noise_std, x.dtype) * noise


def denoising_loss(
    key: jax.Array,
    params: AutoencoderParams,
    x,
    *,
    noise_std: float = 0.0,
    drop_rate: float = 0.0,
    encoder_activation: Callable | None = None,
    decoder_activation: Callable | None = None,
) -> jax.Array:
    r"""Denoising loss $\lVert x - \mathrm{AE}(\tilde x)\rVert^2$ with $\tilde x$ = :func:`corrupt` ``(key, x)``.

    The target is the CLEAN input $x$.

    Args:
      key: a typed PRNG key for the corruption.
      params: :class:`AutoencoderParams`.
      x: one clean example, shape ``(p,)``.
      noise_std: Gaussian noise scale $\sigma \ge 0$.
      drop_rate: masking probability in $[0, 1)$.
      encoder_activation: $S_1$ (``None``: identity).
      decoder_activation: $S_2$ (``None``: identity).

    Returns:
      A scalar.

    Raises:
      ValueError: as :func:`corrupt` and :func:`autoencoder`.
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.5 (denoising autoencoders).
    """
    x_tilde = corrupt(key, x, noise_std=noise_std, drop_rate=drop_rate)
    x_hat = autoencoder(params, x_tilde, encoder_activation=encoder_activation, decoder_activation=decoder_activation)
    return jnp.sum((x - x_hat) ** 2)


def interpolate_latent(
    params: AutoencoderParams,
    x_i,
    x_j,
    lambdas,
    *,
    encoder_activation: Callable | None = None,
    decoder_activation: Callable | None = None,
):
    r"""Interpolate two inputs through the code space and, for comparison, in input space.

    $$x^{\mathrm{enc}}_\lambda = \mathrm{dec}\big(\lambda\,\mathrm{enc}(x_i) + (1-\lambda)\,\mathrm{enc}(x_j)\big),
      \qquad x_\lambda = \lambda x_i + (1-\lambda) x_j .$$

    Args:
      params: :class:`AutoencoderParams`.
      x_i: first input, shape ``(p,)`` (reached at $\lambda = 1$).
      x_j: second input, shape ``(p,)`` (reached at $\lambda = 0$).
      lambdas: weights $\lambda$, shape ``(L,)``, usually in $[0, 1]$.
      encoder_activation: $S_1$ (``None``: identity).
      decoder_activation: $S_2$ (``None``: identity).

    Returns:
      ``(latent, naive)``, each of shape ``(L, p)``: the decoded latent interpolation and the
      pixel-wise one.

    Raises:
      ValueError: if ``x_i`` and ``x_j`` differ in shape or ``lambdas`` is not 1-D.
      TypeError: if an input is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.5 (interpolation in the latent space, Fig. 3.16).
    """
    func = "models.interpolate_latent"
    checks.check_same_shape(func, "x_i", x_i, "x_j", x_j)
    checks.check_rank(func, "lambdas", lambdas, 1)
    checks.check_dtype_floating(func, "lambdas", lambdas)
    lam = jnp.asarray(lambdas)[:, None]
    z_i = encode(params, x_i, activation=encoder_activation)
    z_j = encode(params, x_j, activation=encoder_activation)
    codes = lam * z_i[None, :] + (1.0 - lam) * z_j[None, :]
    latent = jax.vmap(lambda z: decode(params, z, activation=decoder_activation))(codes)
    naive = lam * jnp.asarray(x_i)[None, :] + (1.0 - lam) * jnp.asarray(x_j)[None, :]
    return latent, naive
