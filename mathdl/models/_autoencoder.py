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
from mathdl.layers import DenseParams, dense, init_dense, one_example

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


def _autoencoder_params(func: str, name: str, params, dims: dict) -> AutoencoderParams:
    """Spec: ``AutoencoderParams`` with ``W_1`` of shape ``(m, p)`` and ``W_2`` of shape ``(p, m)``."""
    if not isinstance(params, AutoencoderParams):
        checks.fail(func, name, "AutoencoderParams(encoder, decoder)", Text(type(params).__name__), exc=TypeError)
    enc = checks.fields(W="float[m p]", b="float[m]").conform(func, f"{name}.encoder", params.encoder, dims)
    dec = checks.fields(W="float[p m]", b="float[p]").conform(func, f"{name}.decoder", params.decoder, dims)
    return AutoencoderParams(enc, dec)


_ONE_INPUT = one_example("float[p]")


def _act(func, name, f):
    if f is None:
        return _identity
    if not callable(f):
        checks.fail(func, name, "a callable or None (identity)", Text(type(f).__name__), exc=TypeError)
    return f


@checks.inputs(key="key[]")
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
    func = checks.public_name(init_autoencoder)
    for name, value in (("p", p), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
            checks.fail(func, name, "a positive int", value)
    k1, k2 = jax.random.split(key)
    return AutoencoderParams(
        init_dense(k1, int(p), int(m), init=init, dtype=dtype), init_dense(k2, int(m), int(p), init=init, dtype=dtype)
    )


@checks.inputs(params=_autoencoder_params, x=_ONE_INPUT)
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
    return _act(checks.public_name(encode), "activation", activation)(dense(params.encoder, x))


@checks.inputs(params=_autoencoder_params, z=one_example("float[m]"))
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
    return _act(checks.public_name(decode), "activation", activation)(dense(params.decoder, z))


@checks.inputs(params=_autoencoder_params, x=_ONE_INPUT)
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
    return _autoencode(checks.public_name(autoencoder), params, x, encoder_activation, decoder_activation)


def _autoencode(func: str, params: AutoencoderParams, x, S_1, S_2) -> jax.Array:
    z = _act(func, "encoder_activation", S_1)(dense(params.encoder, x))  # z = S_1(W_1 x + b_1)
    return _act(func, "decoder_activation", S_2)(dense(params.decoder, z))  # x_hat = S_2(W_2 z + b_2)


@checks.inputs(params=_autoencoder_params, x=_ONE_INPUT)
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
    x_hat = _autoencode(checks.public_name(reconstruction_loss), params, x, encoder_activation, decoder_activation)
    return jnp.sum((x - x_hat) ** 2)


def _corrupt(func: str, key, x, noise_std, drop_rate) -> jax.Array:
    k_mask, k_noise = jax.random.split(key)
    keep = jax.random.bernoulli(k_mask, 1.0 - drop_rate, x.shape)
    noise = jax.random.normal(k_noise, x.shape, x.dtype)
    x_tilde = jnp.where(keep, x, jnp.zeros((), x.dtype)) + jnp.asarray(noise_std, x.dtype) * noise
    # A traced noise_std or drop_rate is not checked at trace time: outside its range the result is NaN.
    x_tilde = checks.ensure(noise_std >= 0, x_tilde, func, "noise_std", "a value >= 0")
    return checks.ensure((drop_rate >= 0) & (drop_rate < 1), x_tilde, func, "drop_rate", "a value in [0, 1)")


@checks.inputs(key="key[]", x="float[*shape]")
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
    func = checks.public_name(corrupt)
    checks.check_positive(func, "noise_std", noise_std, strict=False)
    checks.check_range(func, "drop_rate", drop_rate, 0.0, 1.0)
    return _corrupt(func, key, x, noise_std, drop_rate)


@checks.inputs(key="key[]", params=_autoencoder_params, x=_ONE_INPUT)
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
    func = checks.public_name(denoising_loss)
    checks.check_positive(func, "noise_std", noise_std, strict=False)
    checks.check_range(func, "drop_rate", drop_rate, 0.0, 1.0)
    x_tilde = _corrupt(func, key, x, noise_std, drop_rate)
    x_hat = _autoencode(func, params, x_tilde, encoder_activation, decoder_activation)
    return jnp.sum((x - x_hat) ** 2)


@checks.inputs(params=_autoencoder_params, x_i=_ONE_INPUT, x_j=_ONE_INPUT, lambdas="float[L]")
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
    func = checks.public_name(interpolate_latent)
    S_1 = _act(func, "encoder_activation", encoder_activation)
    S_2 = _act(func, "decoder_activation", decoder_activation)
    lam = lambdas[:, None]
    z_i, z_j = S_1(dense(params.encoder, x_i)), S_1(dense(params.encoder, x_j))
    codes = lam * z_i[None, :] + (1.0 - lam) * z_j[None, :]
    latent = jax.vmap(lambda z: S_2(dense(params.decoder, z)))(codes)
    naive = lam * x_i[None, :] + (1.0 - lam) * x_j[None, :]
    return latent, naive
