r"""The book's synthetic toy problems, as generators taking a key (or fixed data).

Setups follow ``BOOK.md`` ("The book's toy problems"). Each returns a :class:`Dataset`
holding JAX arrays (labels int32, features in ``dtype``, by default JAX's default float:
float64 when x64 is enabled, else float32), except :func:`sgd_toy`, which returns the
toy's whole setup.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text
from mathdl.data._bundled import Dataset

__all__ = [
    "SGDToy",
    "four_class_toy",
    "kmeans_toy",
    "kmeans_toy_centres",
    "loss_landscape",
    "polynomial_fit",
    "presence_rainfall",
    "sgd_toy",
    "spiral",
]


def _float(func: str, dtype):
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", Text(f"{dtype}"), exc=TypeError)
    return dtype


def _count(func: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        checks.fail(func, name, "a Python int", Text(f"{type(value).__name__} {value!r}"), exc=TypeError)
    checks.check_positive(func, name, value)
    return value


@checks.inputs(key="key[]")
def spiral(key: jax.Array, *, n_per_class: int = 400, noise: float = 0.3, dtype=None) -> Dataset:
    r"""Two interleaved spirals, the book's non-linear classification toy.

    For class $j \in \{1, 2\}$ (labels ``0`` and ``1`` here) and $N$ = ``n_per_class``,
    $r = \mathrm{linspace}(0.05, 1, N)$, $t = \mathrm{linspace}(4.7(j-1), 4.7j, N) + \varepsilon$
    with $\varepsilon \sim N(0, \sigma^2)$, $\sigma$ = ``noise``, and the point is
    $(r \sin t,\; r \cos t)$. The book splits the 800 points 600 train / 200 test (use
    :func:`mathdl.data.split` with ``fractions=(0.75, 0.25)``).

    Args:
      key: PRNG key for the angle noise.
      n_per_class: points per class $N$.
      noise: standard deviation $\sigma$ of the angle noise (0 gives the exact spiral).
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "spiral", 2)`` with ``X`` of shape ``(2N, 2)``, ``y`` int32 of
      shape ``(2N,)`` (class 1 first, then class 2).

    Raises:
      TypeError: if ``n_per_class`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n_per_class <= 0`` or ``noise < 0``.

    References:
      [MEDL] Ch. 3, Sec. 3.4 (and Ch. 5); BOOK.md, "The book's toy problems".
    """
    func = checks.public_name(spiral)
    N = _count(func, "n_per_class", n_per_class)
    checks.check_positive(func, "noise", noise, strict=False)
    dtype = _float(func, dtype)
    r = jnp.linspace(0.05, 1.0, N, dtype=dtype)
    eps = noise * jax.random.normal(key, (2, N), dtype)
    t = jnp.stack([jnp.linspace(4.7 * j, 4.7 * (j + 1), N, dtype=dtype) for j in range(2)]) + eps
    X = jnp.stack([r[None, :] * jnp.sin(t), r[None, :] * jnp.cos(t)], axis=-1).reshape(2 * N, 2)
    y = jnp.repeat(jnp.arange(2, dtype=jnp.int32), N)
    return Dataset(X, y, "spiral", 2)


_FOUR_X = (0.4, 0.55, 0.65, 0.9, 0.1, 0.35, 0.5, 0.15, 0.2, 0.85, 0.2, 0.7, 0.3, 0.5, 0.6, 0.55, 0.4)
_FOUR_Y = (0.85, 0.95, 0.8, 0.87, 0.5, 0.55, 0.5, 0.2, 0.1, 0.3, 0.7, 0.5, 0.3, 0.7, 0.6, 0.65, 0.7)
_FOUR_CLASS = (1, 2, 2, 2, 1, 0, 0, 1, 0, 0, 1, 2, 1, 3, 3, 3, 3)


def four_class_toy(*, dtype=None) -> Dataset:
    r"""The book's 17-point, 4-class toy on the unit square (fixed data).

    Used for softmax regression on raw, degree-2 and degree-8 polynomial features, with
    decision regions drawn on $[0, 1]^2$.

    Args:
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "four_class_toy", 4)``, ``X`` of shape ``(17, 2)`` (columns $x_1, x_2$),
      ``y`` int32 in ``{0, 1, 2, 3}``.

    Raises:
      TypeError: if ``dtype`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.3-3.4; BOOK.md, "The book's toy problems".
    """
    dtype = _float(checks.public_name(four_class_toy), dtype)
    X = jnp.stack([jnp.asarray(_FOUR_X, dtype), jnp.asarray(_FOUR_Y, dtype)], axis=1)
    return Dataset(X, jnp.asarray(_FOUR_CLASS, jnp.int32), "four_class_toy", 4)


_PRESENCE = (0,) * 7 + (1, 0, 0, 1, 1, 1, 0) + (1,) * 11 + (0, 1, 1, 1, 0, 1) + (0,) * 7
_RAINFALL = (1, 1.4, 1.5, 1.7, 2, 2.1, 2.8, 3, 3.2, 3.3, 3.5, 3.8, 4, 4.1, 4.4, 4.7, 4.8, 4.9, 5)
_RAINFALL += (5.1, 5.3, 5.4, 5.5, 6, 6.1, 6.1, 6.3, 6.4, 6.8, 6.9, 7, 7.4, 7.9, 8.5, 8.6, 8.7, 8.8, 9)


def presence_rainfall(*, dtype=None) -> Dataset:
    r"""The book's presence-versus-rainfall data (38 observations, fixed).

    Presence (0/1) is rare at low and high rainfall and common in between, so a linear
    logit fits poorly and a quadratic logit well.

    Args:
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "presence_rainfall", 2)`` with ``X`` the rainfall, shape ``(38, 1)``
      (values 10 to 90, increasing), and ``y`` the presence, int32 of shape ``(38,)``.

    Raises:
      TypeError: if ``dtype`` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.1; BOOK.md, "The book's toy problems".
    """
    dtype = _float(checks.public_name(presence_rainfall), dtype)
    X = 10.0 * jnp.asarray(_RAINFALL, dtype)[:, None]
    return Dataset(X, jnp.asarray(_PRESENCE, jnp.int32), "presence_rainfall", 2)


_KMEANS_MEANS = ((0.0, 1.0), (0.5, 0.0), (1.0, 1.0))
_KMEANS_INIT = ((0.5, 1.0), (0.5, 0.0), (1.0, 1.0))


@checks.inputs(key="key[]")
def kmeans_toy(key: jax.Array, *, n_per_cluster: int = 40, dtype=None) -> Dataset:
    r"""The book's K-means toy: three Gaussian clusters in the plane.

    ``n_per_cluster`` points from each of $N((0, 1), 0.05 I)$, $N((0.5, 0), 0.05 I)$ and
    $N((1, 1), 0.05 I)$ (variance 0.05, standard deviation $\sqrt{0.05}$). The book starts
    Lloyd's algorithm from :func:`kmeans_toy_centres`.

    Args:
      key: PRNG key for the Gaussian draws.
      n_per_cluster: points per cluster (the book uses 40).
      dtype: floating dtype of ``X`` (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "kmeans_toy", 3)`` with ``X`` of shape ``(3 n, 2)`` and ``y`` the
      generating cluster (int32, ``0, 1, 2`` in the order above).

    Raises:
      TypeError: if ``n_per_cluster`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n_per_cluster <= 0``.

    References:
      [MEDL] Ch. 2, Sec. 2.6; BOOK.md, "The book's toy problems".
    """
    func = checks.public_name(kmeans_toy)
    n = _count(func, "n_per_cluster", n_per_cluster)
    dtype = _float(func, dtype)
    mu = jnp.asarray(_KMEANS_MEANS, dtype)
    Z = jax.random.normal(key, (3, n, 2), dtype)
    X = (mu[:, None, :] + jnp.sqrt(jnp.asarray(0.05, dtype)) * Z).reshape(3 * n, 2)
    return Dataset(X, jnp.repeat(jnp.arange(3, dtype=jnp.int32), n), "kmeans_toy", 3)


def kmeans_toy_centres(*, dtype=None) -> jax.Array:
    r"""The book's initial centres for the K-means toy: $(0.5, 1), (0.5, 0), (1, 1)$.

    Args:
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of shape ``(3, 2)``.

    Raises:
      TypeError: if ``dtype`` is not floating.

    References:
      [MEDL] Ch. 2, Sec. 2.6; BOOK.md, "The book's toy problems".
    """
    return jnp.asarray(_KMEANS_INIT, _float(checks.public_name(kmeans_toy_centres), dtype))


@checks.inputs(key="key[]")
def polynomial_fit(key: jax.Array, *, n: int = 10, noise: float = 0.2, design: str = "grid", dtype=None) -> Dataset:
    r"""The book's polynomial-fitting toy: $y = \sin 2\pi x - \cos 2\pi x + \varepsilon$.

    With ``design="grid"`` the inputs are $n$ equispaced points on $[0, 1]$ (the book's
    training set, $n = 10$); with ``design="uniform"`` they are drawn uniformly on
    $[0, 1]$ (a fresh test set, e.g. $n = 10\,000$). $\varepsilon \sim N(0, \sigma^2)$,
    $\sigma$ = ``noise``.

    Args:
      key: PRNG key (noise, and the inputs when ``design="uniform"``).
      n: number of points.
      noise: noise standard deviation $\sigma$ (book: 0.2).
      design: ``"grid"`` or ``"uniform"``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "polynomial_fit", 0)``: ``X`` of shape ``(n, 1)``, ``y`` of shape ``(n,)``.

    Raises:
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n <= 0``, ``noise < 0`` or ``design`` is unknown.

    References:
      [MEDL] Ch. 2, Sec. 2.5; BOOK.md, "The book's toy problems".
    """
    func = checks.public_name(polynomial_fit)
    n = _count(func, "n", n)
    checks.check_positive(func, "noise", noise, strict=False)
    checks.check_choice(func, "design", design, ("grid", "uniform"))
    dtype = _float(func, dtype)
    k_x, k_eps = jax.random.split(key)
    if design == "grid":
        x = jnp.linspace(0.0, 1.0, n, dtype=dtype)
    else:
        x = jax.random.uniform(k_x, (n,), dtype)
    y = jnp.sin(2 * jnp.pi * x) - jnp.cos(2 * jnp.pi * x) + noise * jax.random.normal(k_eps, (n,), dtype)
    return Dataset(x[:, None], y, "polynomial_fit", 0)


@checks.inputs(key="key[]")
def loss_landscape(key: jax.Array, *, n: int = 1000, dtype=None) -> Dataset:
    r"""The book's loss-landscape toy for standardisation: $y = 2x_1 + 0.5x_2 + \varepsilon$.

    $x_1 \sim N(2, 2^2)$, $x_2 \sim N(1, 1)$, $\varepsilon \sim N(0, 0.01^2)$, no intercept.
    Gradient descent on the raw features zig-zags; on standardised features it does not.

    Args:
      key: PRNG key.
      n: number of points (book: 1000).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      ``Dataset(X, y, "loss_landscape", 0)``: ``X`` of shape ``(n, 2)``, ``y`` of shape ``(n,)``.

    Raises:
      TypeError: if ``n`` is not an int or ``dtype`` is not floating.
      ValueError: if ``n <= 0``.

    References:
      [MEDL] Ch. 2, Sec. 2.4; BOOK.md, "The book's toy problems".
    """
    func = checks.public_name(loss_landscape)
    n = _count(func, "n", n)
    dtype = _float(func, dtype)
    Z = jax.random.normal(key, (n, 3), dtype)
    x1 = 2.0 + 2.0 * Z[:, 0]
    x2 = 1.0 + Z[:, 1]
    y = 2.0 * x1 + 0.5 * x2 + 0.01 * Z[:, 2]
    return Dataset(jnp.stack([x1, x2], axis=1), y, "loss_landscape", 0)


class SGDToy(NamedTuple):
    r"""The SGD toy's setup.

    Attributes:
      x: the five points $x_i$, shape ``(5, 2)``.
      c: the weights $c_i$, shape ``(5,)``.
      theta0: the starting point $\theta_0 = (6, 6)$, shape ``(2,)``.
      alpha: the learning rate, 0.01.
      num_steps: the number of iterations, 1000.
    """

    x: jax.Array
    c: jax.Array
    theta0: jax.Array
    alpha: float
    num_steps: int


def sgd_toy(*, dtype=None) -> SGDToy:
    r"""The book's SGD toy: $C_i(\theta) = c_i(\theta_1 - x_{i1})^2 + (\theta_2 - x_{i2})^2$.

    Points $(1,1), (2,0), (3,1), (2,3), (1,2)$ with $c = (1,2,3,2,4)$, started at
    $\theta_0 = (6, 6)$ with $\alpha = 0.01$ for 1000 iterations, to compare GD, SGD and
    mini-batch SGD. The minimiser of $C = \frac{1}{5}\sum_i C_i$ is
    $\theta^* = (\sum_i c_i x_{i1} / \sum_i c_i,\; \bar{x}_2)$.

    Args:
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      An :class:`SGDToy`.

    Raises:
      TypeError: if ``dtype`` is not floating.

    References:
      [MEDL] Ch. 4, Sec. 4.2; BOOK.md, "The book's toy problems".
    """
    dtype = _float(checks.public_name(sgd_toy), dtype)
    x = jnp.asarray(((1, 1), (2, 0), (3, 1), (2, 3), (1, 2)), dtype)
    c = jnp.asarray((1, 2, 3, 2, 4), dtype)
    return SGDToy(x, c, jnp.asarray((6.0, 6.0), dtype), 0.01, 1000)
