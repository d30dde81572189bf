r"""Two-dimensional toy distributions generated in code: moons, swiss roll, ring and grid mixtures, spiral.

These are the target densities of the generative-model demos ([MEDL] Ch. 8): each generator takes
a key and draws ``n`` independent points. The ring and grid toys are Gaussian mixtures whose
parameters are exposed (:func:`gaussian_ring_mixture`, :func:`gaussian_grid_mixture`) with an
exact log-density (:func:`mixture_log_prob`), so a trained sampler can be checked against the
truth. :func:`load_toy2d` draws a toy by name (:data:`TOYS2D`), the way ``mathdl train`` reads them.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text
from mathdl.data._bundled import Dataset

__all__ = [
    "TOYS2D",
    "GaussianMixture2D",
    "gaussian_grid",
    "gaussian_grid_mixture",
    "gaussian_ring",
    "gaussian_ring_mixture",
    "load_toy2d",
    "mixture_log_prob",
    "mixture_sample",
    "spiral_2d",
    "swiss_roll_2d",
    "toy2d_mixture",
    "two_moons",
]


class GaussianMixture2D(NamedTuple):
    r"""An isotropic Gaussian mixture $p(x) = \sum_k w_k\, N(x; m_k, s^2 I_2)$ in the plane.

    Attributes:
      means: component means $m_k$, shape ``(K, 2)``.
      weights: mixture weights $w_k$ (non-negative, summing to one), shape ``(K,)``.
      std: the common standard deviation $s$ of every coordinate (a Python float).
    """

    means: jax.Array
    weights: jax.Array
    std: float


def _dtype(func: str, dtype):
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", Text(f"{dtype}"), exc=TypeError)
    return dtype


def _int(func: str, name: str, value, *, strict: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        checks.fail(func, name, "a Python int", Text(f"{type(value).__name__} {value!r}"), exc=TypeError)
    checks.check_positive(func, name, value, strict=strict)
    return value


def gaussian_ring_mixture(
    *, num_modes: int = 8, radius: float = 2.0, std: float = 0.05, dtype=None
) -> GaussianMixture2D:
    r"""The ring of Gaussians: $K$ equal-weight modes on a circle.

    $m_k = r(\cos 2\pi k/K,\; \sin 2\pi k/K)$, $w_k = 1/K$, $k = 0, \dots, K-1$. With $K = 8$
    this is the ``ring8`` toy used to show a GAN's mode collapse (Metz et al. 2017).

    Args:
      num_modes: number of modes $K$ (8 for ``ring8``).
      radius: radius $r$ of the circle.
      std: standard deviation $s$ of each mode (per coordinate).
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      A :class:`GaussianMixture2D` with ``means`` ``(K, 2)`` and ``weights`` ``(K,)``.

    Raises:
      TypeError: if ``num_modes`` is not an int or ``dtype`` is not floating.
      ValueError: if ``num_modes``, ``radius`` or ``std`` is not positive.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Metz et al., "Unrolled Generative Adversarial Networks", 2017.
    """
    func = checks.public_name(gaussian_ring_mixture)
    K = _int(func, "num_modes", num_modes)
    checks.check_positive(func, "radius", radius)
    checks.check_positive(func, "std", std)
    dtype = _dtype(func, dtype)
    angle = 2 * jnp.pi * jnp.arange(K, dtype=dtype) / K
    means = radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    return GaussianMixture2D(means, jnp.full((K,), 1.0 / K, dtype), float(std))


def gaussian_grid_mixture(*, size: int = 5, spacing: float = 1.0, std: float = 0.05, dtype=None) -> GaussianMixture2D:
    r"""The grid of Gaussians: $S \times S$ equal-weight modes on a square lattice centred at 0.

    $m_{ij} = \delta\,(i - (S-1)/2,\; j - (S-1)/2)$ for $i, j = 0, \dots, S-1$ (row-major in
    $(i, j)$), $w_{ij} = 1/S^2$. With $S = 5$ this is the 25-mode grid toy.

    Args:
      size: modes per side $S$.
      spacing: distance $\delta$ between neighbouring modes.
      std: standard deviation $s$ of each mode (per coordinate).
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      A :class:`GaussianMixture2D` with ``means`` ``(S^2, 2)`` and ``weights`` ``(S^2,)``.

    Raises:
      TypeError: if ``size`` is not an int or ``dtype`` is not floating.
      ValueError: if ``size``, ``spacing`` or ``std`` is not positive.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Srivastava et al., "VEEGAN", 2017 (the 5x5 grid benchmark).
    """
    func = checks.public_name(gaussian_grid_mixture)
    S = _int(func, "size", size)
    checks.check_positive(func, "spacing", spacing)
    checks.check_positive(func, "std", std)
    dtype = _dtype(func, dtype)
    c = spacing * (jnp.arange(S, dtype=dtype) - (S - 1) / 2)
    means = jnp.stack(jnp.meshgrid(c, c, indexing="ij"), axis=-1).reshape(S * S, 2)
    return GaussianMixture2D(means, jnp.full((S * S,), 1.0 / (S * S), dtype), float(std))


def _check_mixture(func: str, mixture) -> GaussianMixture2D:
    if not isinstance(mixture, GaussianMixture2D):
        checks.fail(func, "mixture", "a GaussianMixture2D", Text(type(mixture).__name__), exc=TypeError)
    checks.check_shape(func, "mixture.means", mixture.means, (None, 2))
    checks.check_shape(func, "mixture.weights", mixture.weights, (mixture.means.shape[0],))
    checks.check_positive(func, "mixture.std", mixture.std)
    return mixture


@checks.inputs(key="key[]")
def mixture_sample(key: jax.Array, mixture: GaussianMixture2D, n: int) -> Dataset:
    r"""Draw $n$ points from a :class:`GaussianMixture2D`: $c \sim \mathrm{Cat}(w)$, $x = m_c + s\,\varepsilon$.

    Args:
      key: PRNG key (one draw of the components, one of the noise).
      mixture: the mixture, ``means`` ``(K, 2)``, ``weights`` ``(K,)``.
      n: number of points.

    Returns:
      ``Dataset(X, y, "mixture", K)``: ``X`` of shape ``(n, 2)`` in the means' dtype and ``y``
      the component of each point, int32 of shape ``(n,)``.

    Raises:
      TypeError: if ``mixture`` is not a :class:`GaussianMixture2D` or ``n`` is not an int.
      ValueError: if the shapes disagree or ``n <= 0``.

    References:
      [MEDL] Ch. 8, Sec. 8.1 (a latent-variable model: $z = c$, $p(x|z) = N(m_z, s^2 I)$).
    """
    func = checks.public_name(mixture_sample)
    mixture = _check_mixture(func, mixture)
    n = _int(func, "n", n)
    means = jnp.asarray(mixture.means)
    k_c, k_e = jax.random.split(key)
    c = jax.random.categorical(k_c, jnp.log(jnp.asarray(mixture.weights, means.dtype)), shape=(n,))
    X = means[c] + mixture.std * jax.random.normal(k_e, (n, 2), means.dtype)
    return Dataset(X, c.astype(jnp.int32), "mixture", int(means.shape[0]))


@checks.inputs(x="float[*batch 2]")
def mixture_log_prob(mixture: GaussianMixture2D, x: jax.Array) -> jax.Array:
    r"""Exact log-density of a :class:`GaussianMixture2D`.

    $\log p(x) = \operatorname{logsumexp}_k \big[\log w_k - \|x - m_k\|^2 / (2 s^2)\big] - \log(2\pi s^2)$.

    Args:
      mixture: the mixture, ``means`` ``(K, 2)``, ``weights`` ``(K,)``.
      x: points, shape ``(*batch, 2)`` (batched: any leading shape).

    Returns:
      ``log p(x)``, shape ``batch``.

    Raises:
      TypeError: if ``mixture`` is not a :class:`GaussianMixture2D`.
      ValueError: if ``x``'s last axis is not 2 or the mixture's shapes disagree.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Bishop, "Pattern Recognition and Machine Learning", Sec. 9.2.
    """
    func = checks.public_name(mixture_log_prob)
    mixture = _check_mixture(func, mixture)
    x = checks.as_floating(func, "x", x)
    means = jnp.asarray(mixture.means, x.dtype)
    s2 = mixture.std**2
    sq = jnp.sum((x[..., None, :] - means.reshape((1,) * (x.ndim - 1) + means.shape)) ** 2, axis=-1)
    logw = jnp.log(jnp.asarray(mixture.weights, x.dtype))
    return jax.nn.logsumexp(logw.reshape((1,) * (x.ndim - 1) + logw.shape) - sq / (2 * s2), axis=-1) - jnp.log(
        2 * jnp.pi * s2
    )


@checks.inputs(key="key[]")
def gaussian_ring(
    key: jax.Array, *, n: int = 1000, num_modes: int = 8, radius: float = 2.0, std: float = 0.05, dtype=None
) -> Dataset:
    r"""$n$ points from the ring of Gaussians (:func:`gaussian_ring_mixture`); ``ring8`` by default.

    Args:
      key: PRNG key.
      n: number of points.
      num_modes: number of modes $K$.
      radius: radius of the circle of means.
      std: per-coordinate standard deviation of each mode.
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "ring8", K)`` (name ``f"ring{K}"``): ``X`` ``(n, 2)``, ``y`` the mode, int32 ``(n,)``.

    Raises:
      TypeError: if ``n`` or ``num_modes`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n``, ``num_modes``, ``radius`` or ``std`` is not positive.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Metz et al. 2017.
    """
    mixture = gaussian_ring_mixture(num_modes=num_modes, radius=radius, std=std, dtype=dtype)
    _int(checks.public_name(gaussian_ring), "n", n)
    return mixture_sample(key, mixture, n)._replace(name=f"ring{num_modes}")


@checks.inputs(key="key[]")
def gaussian_grid(
    key: jax.Array, *, n: int = 1000, size: int = 5, spacing: float = 1.0, std: float = 0.05, dtype=None
) -> Dataset:
    r"""$n$ points from the grid of Gaussians (:func:`gaussian_grid_mixture`); 5x5 by default.

    Args:
      key: PRNG key.
      n: number of points.
      size: modes per side $S$.
      spacing: distance between neighbouring modes.
      std: per-coordinate standard deviation of each mode.
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "grid25", S^2)`` (name ``f"grid{S*S}"``): ``X`` ``(n, 2)``, ``y`` int32 ``(n,)``.

    Raises:
      TypeError: if ``n`` or ``size`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n``, ``size``, ``spacing`` or ``std`` is not positive.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Srivastava et al. 2017.
    """
    mixture = gaussian_grid_mixture(size=size, spacing=spacing, std=std, dtype=dtype)
    _int(checks.public_name(gaussian_grid), "n", n)
    return mixture_sample(key, mixture, n)._replace(name=f"grid{size * size}")


@checks.inputs(key="key[]")
def two_moons(key: jax.Array, *, n: int = 1000, noise: float = 0.05, dtype=None) -> Dataset:
    r"""Two interleaving half circles (scikit-learn's ``make_moons`` curve, drawn i.i.d.).

    Each point picks a moon $y \sim \mathrm{Bernoulli}(1/2)$ and an angle $t \sim U(0, \pi)$;
    moon 0 is $(\cos t, \sin t)$, moon 1 is $(1 - \cos t,\; 1/2 - \sin t)$; then
    $N(0, \sigma^2 I)$ noise is added.

    Args:
      key: PRNG key.
      n: number of points.
      noise: standard deviation $\sigma$ of the added noise (0: exactly on the curves).
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "moons", 2)``: ``X`` ``(n, 2)``, ``y`` the moon, int32 ``(n,)``.

    Raises:
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n <= 0`` or ``noise < 0``.

    References:
      [MEDL] Ch. 8; scikit-learn, ``sklearn.datasets.make_moons``.
    """
    func = checks.public_name(two_moons)
    n = _int(func, "n", n)
    checks.check_positive(func, "noise", noise, strict=False)
    dtype = _dtype(func, dtype)
    k_y, k_t, k_e = jax.random.split(key, 3)
    y = jax.random.bernoulli(k_y, 0.5, (n,)).astype(jnp.int32)
    t = jnp.pi * jax.random.uniform(k_t, (n,), dtype)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    X = jnp.where(y[:, None] == 1, lower, upper) + noise * jax.random.normal(k_e, (n, 2), dtype)
    return Dataset(X, y, "moons", 2)


@checks.inputs(key="key[]")
def swiss_roll_2d(key: jax.Array, *, n: int = 1000, noise: float = 0.05, scale: float = 0.1, dtype=None) -> Dataset:
    r"""The two-dimensional swiss roll: $x = c\,(t \cos t,\; t \sin t) + \sigma\varepsilon$.

    $t = \tfrac{3\pi}{2}(1 + 2u)$ with $u \sim U(0, 1)$ (scikit-learn's ``make_swiss_roll``
    parameter, keeping its first and third coordinates), scaled by $c$ = ``scale``.

    Args:
      key: PRNG key.
      n: number of points.
      noise: standard deviation $\sigma$ of the added noise (after scaling).
      scale: factor $c$ (0.1 puts the roll in about $[-1.4, 1.3]^2$).
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, t, "swiss_roll", 0)``: ``X`` ``(n, 2)`` and the roll parameter ``t`` ``(n,)``.

    Raises:
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n <= 0``, ``noise < 0`` or ``scale <= 0``.

    References:
      [MEDL] Ch. 8, Sec. 8.2; Sohl-Dickstein et al., "Deep Unsupervised Learning using
      Nonequilibrium Thermodynamics", 2015; scikit-learn, ``make_swiss_roll``.
    """
    func = checks.public_name(swiss_roll_2d)
    n = _int(func, "n", n)
    checks.check_positive(func, "noise", noise, strict=False)
    checks.check_positive(func, "scale", scale)
    dtype = _dtype(func, dtype)
    k_t, k_e = jax.random.split(key)
    t = 1.5 * jnp.pi * (1 + 2 * jax.random.uniform(k_t, (n,), dtype))
    X = scale * jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=1)
    return Dataset(X + noise * jax.random.normal(k_e, (n, 2), dtype), t, "swiss_roll", 0)


@checks.inputs(key="key[]")
def spiral_2d(key: jax.Array, *, n: int = 1000, noise: float = 0.3, dtype=None) -> Dataset:
    r"""The book's two-armed spiral (:func:`mathdl.data.spiral`) as a density: $n$ i.i.d. points.

    Each point picks an arm $j \sim \mathrm{Bernoulli}(1/2)$ and $u \sim U(0, 1)$; then
    $r = 0.05 + 0.95u$, $t = 4.7(j + u) + \varepsilon$, $\varepsilon \sim N(0, \sigma^2)$, and
    the point is $(r \sin t,\; r \cos t)$ - the same curve as :func:`mathdl.data.spiral`, whose
    radii and angles are on a grid instead.

    Args:
      key: PRNG key.
      n: number of points.
      noise: standard deviation $\sigma$ of the angle noise.
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "spiral", 2)``: ``X`` ``(n, 2)``, ``y`` the arm, int32 ``(n,)``.

    Raises:
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n <= 0`` or ``noise < 0``.

    References:
      [MEDL] Ch. 3, Sec. 3.4 (the spiral) and Ch. 8; BOOK.md, "The book's toy problems".
    """
    func = checks.public_name(spiral_2d)
    n = _int(func, "n", n)
    checks.check_positive(func, "noise", noise, strict=False)
    dtype = _dtype(func, dtype)
    k_y, k_u, k_e = jax.random.split(key, 3)
    j = jax.random.bernoulli(k_y, 0.5, (n,)).astype(jnp.int32)
    u = jax.random.uniform(k_u, (n,), dtype)
    r = 0.05 + 0.95 * u
    t = 4.7 * (j.astype(dtype) + u) + noise * jax.random.normal(k_e, (n,), dtype)
    return Dataset(jnp.stack([r * jnp.sin(t), r * jnp.cos(t)], axis=1), j, "spiral", 2)


# name -> (generator, its default keyword arguments); the names `mathdl train --data` accepts
_TOYS = {
    "moons": (two_moons, {}),
    "ring8": (gaussian_ring, {"num_modes": 8}),
    "grid25": (gaussian_grid, {"size": 5}),
    "swiss_roll": (swiss_roll_2d, {}),
    "spiral": (spiral_2d, {}),
}
TOYS2D = tuple(_TOYS)
"""The names of the 2-D toys :func:`load_toy2d` draws: ``moons``, ``ring8``, ``grid25``, ``swiss_roll``, ``spiral``."""


def load_toy2d(name: str, key: jax.Array, *, n: int = 1000, dtype=None) -> Dataset:
    r"""Draw $n$ points of the 2-D toy called ``name`` with its default settings.

    ``moons`` (:func:`two_moons`), ``ring8`` (:func:`gaussian_ring`, 8 modes, radius 2, std
    0.05), ``grid25`` (:func:`gaussian_grid`, 5x5, spacing 1, std 0.05), ``swiss_roll``
    (:func:`swiss_roll_2d`), ``spiral`` (:func:`spiral_2d`).

    Args:
      name: one of :data:`TOYS2D`.
      key: PRNG key.
      n: number of points.
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      The toy's :class:`Dataset`, ``X`` of shape ``(n, 2)``.

    Raises:
      ValueError: if ``name`` is not a known toy, or ``n <= 0``.
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 8.
    """
    if name not in _TOYS:
        checks.fail(checks.public_name(load_toy2d), "name", f"one of {list(TOYS2D)}", name)
    fn, kwargs = _TOYS[name]
    return fn(key, n=n, dtype=dtype, **kwargs)


def toy2d_mixture(name: str, *, dtype=None) -> GaussianMixture2D | None:
    r"""The Gaussian mixture behind a named toy of :func:`load_toy2d`, or ``None`` for the others.

    Args:
      name: one of :data:`TOYS2D`; ``ring8`` and ``grid25`` are mixtures.
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      A :class:`GaussianMixture2D` (the exact density of the toy), or ``None``.

    Raises:
      ValueError: if ``name`` is not a known toy.

    References:
      [MEDL] Ch. 8.
    """
    if name not in _TOYS:
        checks.fail(checks.public_name(toy2d_mixture), "name", f"one of {list(TOYS2D)}", name)
    if name == "ring8":
        return gaussian_ring_mixture(num_modes=8, dtype=dtype)
    if name == "grid25":
        return gaussian_grid_mixture(size=5, dtype=dtype)
    return None
