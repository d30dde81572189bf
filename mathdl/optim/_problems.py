r"""Test problems for optimizers: the book's toys and a few classics, as pure functions.

Each objective takes one parameter vector ``theta`` (shape ``(p,)``) and returns a scalar,
so ``jax.grad``/``jax.hessian`` apply directly and :func:`mathdl.optim.run` records
trajectories on them.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = [
    "LogisticProblem",
    "QuadraticProblem",
    "SGD_TOY_C",
    "SGD_TOY_X",
    "breast_cancer_logistic",
    "logistic_loss",
    "peaks",
    "quadratic",
    "rosenbrock",
    "sgd_toy",
    "sgd_toy_loss",
    "sgd_toy_minimiser",
]

#: The book's SGD toy (Ch. 4): the five points x_i (rows); their weights are ``SGD_TOY_C``.
SGD_TOY_X = np.array([[1.0, 1.0], [2.0, 0.0], [3.0, 1.0], [2.0, 3.0], [1.0, 2.0]])
#: The weights ``c_i`` of the book's SGD toy (Ch. 4), one per point of ``SGD_TOY_X``.
SGD_TOY_C = np.array([1.0, 2.0, 3.0, 2.0, 4.0])


def _check_theta(func: str, theta, size: int | None = None) -> None:
    checks.check_dtype_floating(func, "theta", theta)
    checks.check_rank(func, "theta", theta, 1)
    if size is not None:
        checks.check_shape(func, "theta", theta, (size,))


def rosenbrock(theta: jax.Array, *, a: float = 1.0, b: float = 100.0) -> jax.Array:
    r"""Rosenbrock's banana function, minimum 0 at $(a, a^2, \dots)$ (at $(1, 1)$ by default).

    In two dimensions, with $\theta = (\theta_1, \theta_2)$,

    $$f(\theta) = (a - \theta_1)^2 + b(\theta_2 - \theta_1^2)^2 ,$$

    and for $p > 2$ the usual chained sum
    $\sum_{j=1}^{p-1} (a - \theta_j)^2 + b(\theta_{j+1} - \theta_j^2)^2$ (minimum at all ones
    when $a = 1$).

    Args:
      theta: point, shape `(p,)` with $p \ge 2$, floating.
      a: the valley's offset $a$.
      b: the valley's steepness $b$.

    Returns:
      $f(\theta)$, shape `()`.

    Raises:
      ValueError: if `theta` is not a vector of length >= 2.
      TypeError: if `theta` is not floating.

    References:
      [MEDL] Ch. 4, Sec. 4.1-4.2 (GD, momentum and line search on Rosenbrock).
      Rosenbrock (1960). Oracle in tests: ``scipy.optimize.rosen``.
    """
    _check_theta("optim.rosenbrock", theta)
    if theta.shape[0] < 2:
        checks.fail("optim.rosenbrock", "theta", "a vector of length >= 2", f"shape {theta.shape}")
    t, t_next = theta[:-1], theta[1:]
    return jnp.sum((a - t) ** 2 + b * (t_next - t**2) ** 2)


def peaks(theta: jax.Array) -> jax.Array:
    r"""The "peaks" surface: three Gaussian bumps, a non-convex landscape with several optima.

    With $\theta = (x, y)$,

    $$f = 3(1-x)^2 e^{-x^2-(y+1)^2} - 10\big(\tfrac{x}{5} - x^3 - y^5\big) e^{-x^2-y^2}
          - \tfrac13 e^{-(x+1)^2 - y^2}.$$

    Args:
      theta: point $(x, y)$, shape `(2,)`, floating.

    Returns:
      $f(\theta)$, shape `()`.

    Raises:
      ValueError: if `theta` does not have shape `(2,)`.
      TypeError: if `theta` is not floating.

    References:
      [MEDL] Ch. 4, Sec. 4.1 (local and global minima). MATLAB's ``peaks``.
    """
    _check_theta("optim.peaks", theta, 2)
    x, y = theta[0], theta[1]
    return (
        3.0 * (1.0 - x) ** 2 * jnp.exp(-(x**2) - (y + 1.0) ** 2)
        - 10.0 * (x / 5.0 - x**3 - y**5) * jnp.exp(-(x**2) - y**2)
        - jnp.exp(-((x + 1.0) ** 2) - y**2) / 3.0
    )


class QuadraticProblem(NamedTuple):
    r"""A convex quadratic $f(\theta) = \tfrac12 (\theta - \theta^*)^\top A (\theta - \theta^*)$.

    Attributes:
      f: the objective, ``f(theta) -> scalar``.
      A: the symmetric positive definite Hessian, shape ``(p, p)``.
      minimiser: $\theta^*$, shape ``(p,)``; the minimum is 0.
      eigenvalues: eigenvalues of $A$ (ascending, from 1 to the condition number), shape ``(p,)``.
    """

    f: Callable[[jax.Array], jax.Array]
    A: jax.Array
    minimiser: jax.Array
    eigenvalues: jax.Array


def quadratic(*, condition_number: float, dim: int = 2, minimiser=None, dtype=None) -> QuadraticProblem:
    r"""A convex quadratic with a chosen condition number and known minimiser.

    $A = Q \Lambda Q^\top$ with $\Lambda = \mathrm{diag}(\lambda_1, \dots, \lambda_p)$,
    $\lambda_j = \kappa^{(j-1)/(p-1)}$ geometrically spaced from 1 to $\kappa$ = `condition_number`,
    and $Q = I - 2uu^\top/\|u\|^2$ the Householder reflection with $u = (1, 2, \dots, p)$ (fixed,
    so the problem is deterministic and not axis aligned). Gradient descent with step
    $2/(\lambda_1 + \lambda_p)$ contracts the error by $(\kappa-1)/(\kappa+1)$ per step.

    Args:
      condition_number: $\kappa \ge 1$.
      dim: $p \ge 1$ (with $p = 1$, $A = [1]$ and $\kappa$ must be 1).
      minimiser: $\theta^*$, shape `(p,)` (default: $(1, -1, 1, \dots)$).
      dtype: floating dtype of the arrays (default: JAX's default float).

    Returns:
      A :class:`QuadraticProblem` ``(f, A, minimiser, eigenvalues)``.

    Raises:
      ValueError: if `condition_number` < 1 or not finite, `dim` < 1, or `minimiser` has the
        wrong shape.

    References:
      [MEDL] Ch. 4, Sec. 4.1 (convexity) and 4.6 (conditioning). Nocedal & Wright (2006), Ch. 3.
    """
    func = "optim.quadratic"
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        checks.fail(func, "dim", "an integer >= 1", dim)
    kappa = float(condition_number)
    if not np.isfinite(kappa) or kappa < 1:
        checks.fail(func, "condition_number", "a finite value >= 1", condition_number)
    if dim == 1 and kappa != 1:
        checks.fail(func, "condition_number", "1 when dim == 1", condition_number)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    lam = np.ones(1) if dim == 1 else kappa ** (np.arange(dim) / (dim - 1))
    u = np.arange(1.0, dim + 1.0)
    Q = np.eye(dim) - 2.0 * np.outer(u, u) / (u @ u)
    A = jnp.asarray((Q * lam) @ Q.T, dtype)
    if minimiser is None:
        theta_star = jnp.asarray((-1.0) ** np.arange(dim), dtype)
    else:
        theta_star = jnp.asarray(minimiser, dtype)
        checks.check_shape(func, "minimiser", theta_star, (dim,))

    def f(theta):
        _check_theta("optim.quadratic.f", theta, dim)
        e = theta - theta_star.astype(theta.dtype)
        return 0.5 * e @ (A.astype(theta.dtype) @ e)

    return QuadraticProblem(f, A, theta_star, jnp.asarray(lam, dtype))


def sgd_toy_loss(theta: jax.Array, x: jax.Array, c: jax.Array) -> jax.Array:
    r"""Per-example loss of the book's SGD toy, $C_i(\theta) = c_i(\theta_1 - x_{i1})^2 + (\theta_2 - x_{i2})^2$.

    Args:
      theta: $(\theta_1, \theta_2)$, shape `(2,)`.
      x: point(s) $x_i$, shape `(*batch, 2)`.
      c: weight(s) $c_i$, shape `(*batch,)`.

    Returns:
      $C_i(\theta)$, shape `(*batch,)` (no reduction).

    Raises:
      ValueError: if the shapes do not match the pattern above.
      TypeError: if an argument is not floating.

    References:
      [MEDL] Ch. 4, Sec. 4.2 (GD vs SGD vs mini-batch SGD on five points).
    """
    func = "optim.sgd_toy_loss"
    _check_theta(func, theta, 2)
    checks.check_dtype_floating(func, "x", x)
    checks.check_dtype_floating(func, "c", c)
    if jnp.ndim(x) < 1 or jnp.shape(x)[-1] != 2:
        checks.fail(func, "x", "shape (*batch, 2)", f"shape {jnp.shape(x)}")
    if jnp.shape(c) != jnp.shape(x)[:-1]:
        checks.fail(func, "c", f"shape {jnp.shape(x)[:-1]} (the batch shape of `x`)", f"shape {jnp.shape(c)}")
    return c * (theta[0] - x[..., 0]) ** 2 + (theta[1] - x[..., 1]) ** 2


def sgd_toy(theta: jax.Array) -> jax.Array:
    r"""The SGD toy's objective $C(\theta) = \frac15 \sum_{i=1}^5 C_i(\theta)$ on the book's five points.

    Points $x_i$ = (1,1), (2,0), (3,1), (2,3), (1,2) and weights $c$ = (1,2,3,2,4)
    (:data:`SGD_TOY_X`, :data:`SGD_TOY_C`); minimiser $(11/6, 7/5)$.

    Args:
      theta: $(\theta_1, \theta_2)$, shape `(2,)`.

    Returns:
      $C(\theta)$, shape `()`.

    Raises:
      ValueError: if `theta` does not have shape `(2,)`.

    References:
      [MEDL] Ch. 4, Sec. 4.2.
    """
    _check_theta("optim.sgd_toy", theta, 2)
    x = jnp.asarray(SGD_TOY_X, theta.dtype)
    c = jnp.asarray(SGD_TOY_C, theta.dtype)
    return jnp.mean(sgd_toy_loss(theta, x, c))


def sgd_toy_minimiser(x=SGD_TOY_X, c=SGD_TOY_C) -> jax.Array:
    r"""Closed-form minimiser of the SGD toy's objective $\sum_i C_i(\theta)$.

    $\theta_1^* = \sum_i c_i x_{i1} / \sum_i c_i$ and $\theta_2^* = \frac1n \sum_i x_{i2}$, from setting
    the gradient $\sum_i (2c_i(\theta_1 - x_{i1}),\ 2(\theta_2 - x_{i2}))$ to zero.

    Args:
      x: points, shape `(n, 2)` (default: the book's five).
      c: positive weights, shape `(n,)`.

    Returns:
      $\theta^*$, shape `(2,)`.

    Raises:
      ValueError: if the shapes do not match or `c` sums to zero or less.

    References:
      [MEDL] Ch. 4, Sec. 4.2.
    """
    func = "optim.sgd_toy_minimiser"
    x = jnp.asarray(x)
    c = jnp.asarray(c)
    checks.check_dtype_floating(func, "x", x)
    checks.check_dtype_floating(func, "c", c)
    checks.check_shape(func, "x", x, (None, 2))
    checks.check_shape(func, "c", c, (x.shape[0],))
    if not isinstance(c, jax.core.Tracer) and float(jnp.sum(c)) <= 0:
        checks.fail(func, "c", "weights with a positive sum", f"sum {float(jnp.sum(c))}")
    c = c.astype(x.dtype)
    return jnp.stack([jnp.sum(c * x[:, 0]) / jnp.sum(c), jnp.mean(x[:, 1])])


def logistic_loss(theta: jax.Array, X: jax.Array, y: jax.Array, *, l2: float = 0.0) -> jax.Array:
    r"""Mean negative log-likelihood of logistic regression, plus an optional ridge term.

    With $\theta = (b, w)$, $z_i = b + w^\top x_i$ and $y_i \in \{0, 1\}$,

    $$C(\theta) = \frac1n \sum_{i=1}^n \big[\log(1 + e^{z_i}) - y_i z_i\big]
                 + \frac{\lambda}{2}\|w\|^2 ,$$

    computed with ``logaddexp(0, z)`` (softplus) so it stays finite for large $|z|$. The
    intercept $b$ is not penalised.

    Args:
      theta: $(b, w_1, \dots, w_p)$, shape `(p + 1,)`.
      X: features, shape `(n, p)`.
      y: labels in {0, 1}, shape `(n,)` (integer or float).
      l2: $\lambda \ge 0$.

    Returns:
      $C(\theta)$, shape `()`.

    Raises:
      ValueError: on mismatched shapes or a negative `l2`.
      TypeError: if `theta` or `X` is not floating.

    References:
      [MEDL] Ch. 3, Sec. 3.1-3.2 (logistic regression by maximum likelihood); Ch. 4 (its
      optimisation). Oracle in tests: ``sklearn.linear_model.LogisticRegression``.
    """
    func = "optim.logistic_loss"
    _check_theta(func, theta)
    checks.check_dtype_floating(func, "X", X)
    checks.check_shape(func, "X", X, (None, theta.shape[0] - 1))
    checks.check_shape(func, "y", y, (X.shape[0],))
    checks.check_positive(func, "l2", l2, strict=False)
    z = theta[0] + X.astype(theta.dtype) @ theta[1:]
    yf = y.astype(theta.dtype)
    nll = jnp.mean(jnp.logaddexp(jnp.zeros_like(z), z) - yf * z)
    return nll + 0.5 * l2 * jnp.sum(theta[1:] ** 2)


class LogisticProblem(NamedTuple):
    """Logistic regression on a data set, ready for an optimizer.

    Attributes:
      f: ``f(theta) -> scalar``, :func:`logistic_loss` on the data.
      X: standardised features, shape ``(n, p)``.
      y: labels in {0, 1}, shape ``(n,)``, int32.
      theta0: a starting point (zeros), shape ``(p + 1,)``.
    """

    f: Callable[[jax.Array], jax.Array]
    X: jax.Array
    y: jax.Array
    theta0: jax.Array


def breast_cancer_logistic(*, l2: float = 0.0, dtype=None) -> LogisticProblem:
    r"""Logistic regression on the Wisconsin breast-cancer data (569 x 30), features standardised.

    Loads the data with :func:`mathdl.data.load` (bundled with scikit-learn; no network),
    standardises each feature to mean 0 and (biased) variance 1, and closes
    :func:`logistic_loss` over it. The data are linearly separable only barely, so with
    `l2` = 0 the minimiser lies far out; a small `l2` (e.g. 1e-3) gives a well-conditioned
    strongly convex problem.

    Args:
      l2: ridge penalty $\lambda \ge 0$ on the weights.
      dtype: floating dtype of `X` and `theta0` (default: JAX's default float).

    Returns:
      A :class:`LogisticProblem` ``(f, X, y, theta0)``.

    Raises:
      ValueError: if `l2` is negative.

    References:
      [MEDL] Ch. 3 (logistic regression) and Ch. 4; scikit-learn ``load_breast_cancer``.
    """
    checks.check_positive("optim.breast_cancer_logistic", "l2", l2, strict=False)
    from mathdl.data import load  # layer 2 data loader, imported lazily

    data = load("breast_cancer")
    X = np.asarray(data.X, np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    Xj = jnp.asarray(X, dtype)
    yj = jnp.asarray(data.y, jnp.int32)

    def f(theta):
        return logistic_loss(theta, Xj, yj, l2=l2)

    return LogisticProblem(f, Xj, yj, jnp.zeros(X.shape[1] + 1, dtype))
