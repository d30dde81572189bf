r"""K-means clustering: Lloyd's algorithm compiled in one ``lax.while_loop``, k-means++ start.

Lloyd alternates two steps that never increase the objective
$J = \sum_{i=1}^{n} \lVert x_i - \mu_{c(i)} \rVert^2$: assign each point to its nearest
centre, then move each centre to the mean of its points.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks
from mathdl.checks import Text
from mathdl.estimators._common import at_least, finite, value_checks

__all__ = ["KMeansResult", "kmeans", "kmeans_plusplus"]


class KMeansResult(NamedTuple):
    r"""The outcome of :func:`kmeans`.

    Attributes:
      centres: $\mu_1, \dots, \mu_k$, shape ``(k, p)``.
      assignments: $c(i)$, the index of the nearest final centre, int32 of shape ``(n,)``.
      history: objective $J$ after $t$ Lloyd steps, shape ``(max_iter + 1,)``; ``history[0]``
        is $J$ at the initial centres and entries after ``n_iter`` repeat the final value.
      n_iter: number of Lloyd steps taken, int32 scalar.
    """

    centres: jax.Array
    assignments: jax.Array
    history: jax.Array
    n_iter: jax.Array


def _sq_dists(X, M):
    """Squared distances ||x_i - mu_j||^2, shape (n, k), by the expanded form (one matmul)."""
    d = jnp.sum(X * X, axis=1)[:, None] - 2.0 * X @ M.T + jnp.sum(M * M, axis=1)[None, :]
    return jnp.maximum(d, 0.0)  # departs from the exact formula: rounding can make it slightly negative


def _assign(X, M):
    d = _sq_dists(X, M)
    c = jnp.argmin(d, axis=1).astype(jnp.int32)
    # J from the same distances (no gather of M[c], which costs XLA on CPU more than the matmul);
    # the caller centres X first, so the expanded form does not cancel a large offset.
    return c, jnp.sum(jnp.min(d, axis=1))


def _check_k(func: str, X, k) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        checks.fail(func, "k", "a static Python int", Text(type(k).__name__), exc=TypeError)
    if k < 1:
        checks.fail(func, "k", "a value >= 1", int(k))
    if k > X.shape[0]:
        checks.fail(func, "k", f"at most the number of points n={X.shape[0]}", int(k))
    return int(k)


@checks.inputs(key="key[]", X="float[n p]")
def kmeans_plusplus(key: jax.Array, X, k: int) -> jax.Array:
    r"""k-means++ initial centres (Arthur & Vassilvitskii, 2007).

    The first centre is a uniformly random point; each next one is point $i$ with
    probability $D(x_i)^2 / \sum_j D(x_j)^2$, $D$ being the distance to the nearest centre
    chosen so far. If every $D$ is zero (fewer distinct points than $k$) it falls back to
    a uniform draw.

    Args:
      key: a typed PRNG key.
      X: a whole data set, shape ``(n, p)``, floating.
      k: number of centres (static), $1 \le k \le n$.

    Returns:
      Initial centres, shape ``(k, p)``, rows of ``X``; NaN under ``jax.jit`` when ``X`` is not finite.

    Raises:
      ValueError: if ``X`` is not rank 2, ``k`` is not in $[1, n]$, or (eagerly) ``X`` is not finite.
      TypeError: if ``X`` is not floating, ``k`` is not an int or ``key`` is not a typed key.

    References:
      [MEDL] Ch. 2, Sec. 2.6; Arthur & Vassilvitskii (2007), "k-means++: the advantages of
      careful seeding"; oracle: ``sklearn.cluster.kmeans_plusplus``.
    """
    func = checks.public_name(kmeans_plusplus)
    k = _check_k(func, X, k)
    guard = value_checks(func, finite("X", X))
    n = X.shape[0]
    key, sub = jax.random.split(key)
    first = jax.random.randint(sub, (), 0, n)
    M = jnp.zeros((k, X.shape[1]), X.dtype).at[0].set(X[first])
    D2 = jnp.sum(jnp.square(X - X[first][None, :]), axis=1)

    def body(j, carry):
        M, D2, key = carry
        key, sub = jax.random.split(key)
        total = jnp.sum(D2)
        uniform = jnp.full_like(D2, 1.0 / n)
        p = jnp.where(total > 0, D2 / jnp.where(total > 0, total, 1.0), uniform)
        i = jax.random.choice(sub, n, p=p)
        M = M.at[j].set(X[i])
        return M, jnp.minimum(D2, jnp.sum(jnp.square(X - X[i][None, :]), axis=1)), key

    M, _, _ = lax.fori_loop(1, k, body, (M, D2, key))
    return guard(M)


@checks.inputs(key="key[]", X="float[n p]", init="float[k p]?")
def kmeans(key: jax.Array, X, k: int, *, init=None, max_iter: int = 100, tol: float = 0.0) -> KMeansResult:
    r"""K-means clustering by Lloyd's algorithm, compiled as one ``lax.while_loop``.

    Minimises $J(\mu, c) = \sum_{i=1}^{n} \lVert x_i - \mu_{c(i)} \rVert^2$. From initial
    centres $\mu^{(0)}$ (``init``, or k-means++ drawn with ``key``), each step $t$ sets
    $\mu_j^{(t)} = \text{mean}\{x_i : c^{(t-1)}(i) = j\}$ and then
    $c^{(t)}(i) = \arg\min_j \lVert x_i - \mu_j^{(t)} \rVert^2$ (ties to the lowest index).
    Distances use $\lVert x \rVert^2 - 2x^\top\mu + \lVert \mu \rVert^2$ (one matrix product) on
    data centred at its mean, as scikit-learn does; $J$ is the sum of the same minimal
    distances, so it agrees with the direct sum to rounding.

    Stopping rule: after ``max_iter`` steps, or as soon as a step leaves the assignments
    unchanged (a fixed point) or decreases $J$ by at most ``tol`` times its previous value.
    $J$ never increases. A centre whose cluster becomes empty stays where it was (a
    departure from scikit-learn, which relocates it to a far point).

    Args:
      key: a typed PRNG key for k-means++ (unused, but still required, when ``init`` is given).
      X: a whole data set $x_1, \dots, x_n$, shape ``(n, p)``, floating (a nested list is accepted).
      k: number of clusters (static), $1 \le k \le n$.
      init: optional initial centres, shape ``(k, p)``, same dtype as ``X``.
      max_iter: maximum number of Lloyd steps (static, >= 1).
      tol: relative decrease of $J$ below which to stop (>= 0; 0 stops at a fixed point).

    Returns:
      A :class:`KMeansResult` ``(centres, assignments, history, n_iter)``. Under ``jax.jit`` a
      non-finite ``X`` or a negative ``tol`` gives NaN centres and history and ``-1`` assignments
      and ``n_iter`` (:func:`mathdl.checks.checked` raises instead).

    Raises:
      ValueError: if ``X`` is not rank 2, ``k`` is not in $[1, n]$ (k larger than the number of
        points is refused), ``init`` has the wrong shape, ``max_iter < 1``, or (eagerly) ``X`` is
        not finite or ``tol < 0``.
      TypeError: if ``X`` is not floating, ``k``/``max_iter`` are not ints, or ``init``'s
        dtype differs from ``X``'s.

    References:
      [MEDL] Ch. 2, Sec. 2.6 (K-means); Lloyd (1982), "Least squares quantization in PCM";
      oracle: ``sklearn.cluster.KMeans(init=centres, n_init=1)``.
    """
    func = checks.public_name(kmeans)
    k = _check_k(func, X, k)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int):
        checks.fail(func, "max_iter", "a static Python int", Text(type(max_iter).__name__), exc=TypeError)
    if max_iter < 1:
        checks.fail(func, "max_iter", "a value >= 1", max_iter)
    guard = value_checks(func, finite("X", X), at_least("tol", tol))
    if init is None:
        M0 = kmeans_plusplus(key, X, k)
    else:
        if init.shape[0] != k:
            checks.fail(func, "init", f"shape ({k}, {X.shape[1]})", Text(f"shape {init.shape}"))
        if init.dtype != X.dtype:
            checks.fail(func, "init", f"dtype {X.dtype} (that of `X`)", Text(f"dtype {init.dtype}"), exc=TypeError)
        M0 = init

    # J and the centre means are translation invariant: work on data centred at its mean, as
    # scikit-learn does, so ||x||^2 - 2 x.mu + ||mu||^2 is not a difference of large numbers.
    x_bar = jnp.mean(X, axis=0)
    Xc = X - jnp.broadcast_to(x_bar, X.shape)
    M0 = M0 - jnp.broadcast_to(x_bar, M0.shape)
    c0, J0 = _assign(Xc, M0)
    history0 = jnp.full((max_iter + 1,), J0)

    def cond(state):
        t, _, _, _, _, done = state
        return (t < max_iter) & ~done

    def body(state):
        t, M, c, J, history, _ = state
        sums = jax.ops.segment_sum(Xc, c, num_segments=k)
        counts = jax.ops.segment_sum(jnp.ones_like(Xc[:, 0]), c, num_segments=k)
        # empty cluster: keep its centre (double where: no 0/0)
        M_new = jnp.where(counts[:, None] > 0, sums / jnp.where(counts > 0, counts, 1.0)[:, None], M)
        c_new, J_new = _assign(Xc, M_new)
        done = jnp.all(c_new == c) | (J - J_new <= tol * J)
        later = jnp.arange(max_iter + 1, dtype=jnp.int32) > t
        history = jnp.where(later, J_new, history)  # entries after step t hold the latest J
        return t + 1, M_new, c_new, J_new, history, done

    state = (jnp.int32(0), M0, c0, J0, history0, jnp.array(False))
    t, M, c, _, history, _ = lax.while_loop(cond, body, state)
    return guard(KMeansResult(M + jnp.broadcast_to(x_bar, M.shape), c, history, t))
