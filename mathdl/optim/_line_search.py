r"""Line searches along a direction $d$: exact (1-D Newton on $\varphi'$) and backtracking (Armijo).

Both work on $\varphi(\alpha) = C(\theta + \alpha d)$ for parameters that are arrays or pytrees,
run as ``lax.while_loop`` (jit-able, no Python loop over iterations), and return a
:class:`LineSearchResult`.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.optim._run import Trajectory

__all__ = ["LineSearchResult", "backtracking_line_search", "exact_line_search", "gd_exact_line_search"]


class LineSearchResult(NamedTuple):
    r"""Outcome of a line search.

    Attributes:
      alpha: the step $\alpha$, shape ``()``.
      value: $\varphi(\alpha) = C(\theta + \alpha d)$, shape ``()``.
      slope: $\varphi'(\alpha) = \nabla C(\theta + \alpha d)^\top d$, shape ``()``.
      iterations: Newton steps or halvings made, shape ``()``, int32.
      converged: whether the stopping rule held (a local minimum of $\varphi$ for the exact
        search, the Armijo condition for backtracking), shape ``()``, bool.
    """

    alpha: jax.Array
    value: jax.Array
    slope: jax.Array
    iterations: jax.Array
    converged: jax.Array


def _axpy(theta, alpha, d):
    return jax.tree.map(lambda t, di: t + alpha.astype(t.dtype) * di, theta, d)


def _dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _scalar_dtype(theta):
    return jnp.result_type(*jax.tree.leaves(theta))


def _check_common(func: str, f, theta, d, max_iter) -> None:
    if not callable(f):
        checks.fail(func, "f", "a callable f(theta) -> scalar", type(f).__name__, exc=TypeError)
    if jax.tree.structure(theta) != jax.tree.structure(d):
        checks.fail(func, "d", "the same pytree structure as `theta`", jax.tree.structure(d))
    for t, di in zip(jax.tree.leaves(theta), jax.tree.leaves(d), strict=True):
        checks.check_dtype_floating(func, "theta", t)
        checks.check_dtype_floating(func, "d", di)
        checks.check_same_shape(func, "theta", t, "d", di)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        checks.fail(func, "max_iter", "an integer >= 1", max_iter)


def exact_line_search(
    f: Callable, theta, d, *, alpha0: float = 0.0, tol: float = 1e-12, max_iter: int = 50
) -> LineSearchResult:
    r"""Exact line search: minimise $\varphi(\alpha) = C(\theta + \alpha d)$ by 1-D Newton on $\varphi'$.

    From $\alpha_0$ = `alpha0`, with $\varphi'$ and $\varphi''$ from JAX's derivatives,

    $$\alpha_{k+1} = \alpha_k - \frac{\varphi'(\alpha_k)}{|\varphi''(\alpha_k)|},$$

    stopping when the step is below `tol` $\cdot (1 + |\alpha_k|)$. Where $\varphi$ is convex
    this is Newton's method; the absolute value (a departure from plain Newton) makes every
    step go downhill on $\varphi$ where it is concave, so the search does not climb to a
    maximum. The result is the nearest local minimum of $\varphi$, not necessarily the global one.
    Within an exact search, $\nabla C(\theta + \alpha^* d)^\top d = \varphi'(\alpha^*) = 0$,
    which makes successive steepest-descent directions orthogonal (the zig-zag).

    Args:
      f: the objective $C$, ``f(theta) -> scalar``, twice differentiable.
      theta: the current point $\theta$ (array or pytree of floating arrays).
      d: the search direction $d$, same structure and shapes as `theta`.
      alpha0: the starting step $\alpha_0$.
      tol: relative step tolerance, >= 0.
      max_iter: the most Newton steps.

    Returns:
      A :class:`LineSearchResult`; ``converged`` is true when the step tolerance was met at a
      point with $\varphi'' > 0$. A non-finite $\varphi'$ or $\varphi''$, or $\varphi'' = 0$ with
      $\varphi' \ne 0$ (no curvature, e.g. $C$ linear along $d$: no minimiser on the line), gives a
      NaN ``alpha`` (under :func:`mathdl.checks.checked` it raises instead).

    Raises:
      TypeError: if `f` is not callable or the arrays are not floating.
      ValueError: if `d` does not match `theta`, or `tol`/`max_iter` are invalid.

    References:
      [MEDL] Ch. 4, Sec. 4.5 (exact line search and the zig-zag of steepest descent; the
      example at (0.8, 0) on Rosenbrock). Nocedal & Wright (2006), Sec. 3.1.
      Oracle in tests: ``scipy.optimize.minimize_scalar``.
    """
    func = "optim.exact_line_search"
    _check_common(func, f, theta, d, max_iter)
    checks.check_positive(func, "tol", tol, strict=False)
    dtype = _scalar_dtype(theta)

    def phi(alpha):
        return f(_axpy(theta, alpha, d))

    dphi = jax.grad(phi)
    d2phi = jax.grad(dphi)

    def cond(carry):
        _, k, done = carry
        return (k < max_iter) & ~done

    def body(carry):
        alpha, k, _ = carry
        g, h = dphi(alpha), d2phi(alpha)
        step = -g / jnp.abs(h)  # |phi''|: a departure from Newton so concave regions still go downhill
        alpha_new = alpha + step
        done = (jnp.abs(step) <= tol * (1.0 + jnp.abs(alpha))) | ~jnp.isfinite(step)
        alpha_new = jnp.where(jnp.isfinite(step), alpha_new, jnp.full_like(alpha, jnp.nan))
        return alpha_new, k + 1, done

    init = (jnp.asarray(alpha0, dtype), jnp.zeros([], jnp.int32), jnp.asarray(False))
    alpha, k, done = jax.lax.while_loop(cond, body, init)
    checks.value_check(jnp.isfinite(alpha), "optim.exact_line_search: the step is not finite (phi' or phi'' is not)")
    slope = dphi(alpha)
    converged = done & (d2phi(alpha) > 0) & jnp.isfinite(alpha)
    return LineSearchResult(alpha, phi(alpha), slope, k, converged)


def backtracking_line_search(
    f: Callable,
    theta,
    d,
    *,
    alpha0: float = 1.0,
    shrink: float = 0.5,
    c: float = 1e-4,
    max_iter: int = 50,
) -> LineSearchResult:
    r"""Backtracking line search: the largest $\alpha = \alpha_0\rho^k$ meeting Armijo's condition.

    With $\rho$ = `shrink` and $c$ = `c`, accept the first $k = 0, 1, \dots$ with

    $$C(\theta + \alpha d) \le C(\theta) + c\,\alpha\, \nabla C(\theta)^\top d .$$

    If $d$ is not a descent direction ($\nabla C(\theta)^\top d \ge 0$) or no $k <$ `max_iter`
    works, the result is $\alpha = 0$ (no step) with ``converged`` false, never an uphill step.

    Args:
      f: the objective $C$, ``f(theta) -> scalar``, differentiable.
      theta: the current point (array or pytree of floating arrays).
      d: the search direction, same structure as `theta`.
      alpha0: the first trial step $\alpha_0 > 0$.
      shrink: $\rho \in (0, 1)$.
      c: Armijo constant $c \in (0, 1)$.
      max_iter: the most trial steps.

    Returns:
      A :class:`LineSearchResult` (``iterations`` = number of trial steps evaluated). A
      non-finite $C(\theta)$ gives ``alpha`` = 0 with ``converged`` false (under
      :func:`mathdl.checks.checked` it raises instead).

    Raises:
      TypeError: if `f` is not callable or the arrays are not floating.
      ValueError: if `d` does not match `theta` or a hyperparameter is out of range.

    References:
      [MEDL] Ch. 4, Sec. 4.5. Armijo (1966); Nocedal & Wright (2006), Algorithm 3.1.
    """
    func = "optim.backtracking_line_search"
    _check_common(func, f, theta, d, max_iter)
    checks.check_positive(func, "alpha0", alpha0)
    checks.check_range(func, "shrink", shrink, 0.0, 1.0, low_closed=False)
    checks.check_range(func, "c", c, 0.0, 1.0, low_closed=False)
    dtype = _scalar_dtype(theta)
    f0, g0 = jax.value_and_grad(f)(theta)
    slope0 = _dot(g0, d)
    checks.value_check(
        jnp.isfinite(f0) & jnp.isfinite(slope0), "optim.backtracking_line_search: f(theta) or its slope is not finite"
    )
    descent = slope0 < 0

    def armijo(alpha):
        return f(_axpy(theta, alpha, d)) <= f0 + c * alpha * slope0

    def cond(carry):
        _, k, ok = carry
        return descent & (k < max_iter) & ~ok

    def body(carry):
        alpha, k, _ = carry
        ok = armijo(alpha)
        return jnp.where(ok, alpha, alpha * shrink), k + 1, ok

    init = (jnp.asarray(alpha0, dtype), jnp.zeros([], jnp.int32), jnp.asarray(False))
    alpha, k, ok = jax.lax.while_loop(cond, body, init)
    alpha = jnp.where(ok, alpha, jnp.zeros_like(alpha))
    value, grad = jax.value_and_grad(f)(_axpy(theta, alpha, d))
    return LineSearchResult(alpha, value, _dot(grad, d), k, ok)


def gd_exact_line_search(f: Callable, theta0, *, steps: int, tol: float = 1e-12, max_iter: int = 50) -> Trajectory:
    r"""Steepest descent with exact line search, recording the iterates.

    $$d_t = -\nabla C(\theta_t), \qquad \alpha_t = \arg\min_{\alpha} C(\theta_t + \alpha d_t),
      \qquad \theta_{t+1} = \theta_t + \alpha_t d_t ,$$

    with $\alpha_t$ from :func:`exact_line_search` started at 0, all inside one ``lax.scan``.
    Successive directions are orthogonal, $d_{t+1}^\top d_t = 0$, hence the zig-zag path.

    Args:
      f: the objective $C$, twice differentiable.
      theta0: the starting point (array or pytree of floating arrays).
      steps: $T \ge 0$ outer steps.
      tol: the line search's relative step tolerance.
      max_iter: the most Newton steps per line search.

    Returns:
      A :class:`~mathdl.optim.Trajectory` with $T + 1$ iterates and objective values.

    Raises:
      TypeError: if `f` is not callable or `theta0` is not floating.
      ValueError: if `steps` is not a non-negative integer.

    References:
      [MEDL] Ch. 4, Sec. 4.5 (exact line search, zig-zag figure).
    """
    func = "optim.gd_exact_line_search"
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        checks.fail(func, "steps", "an integer >= 0", steps)
    _check_common(func, f, theta0, theta0, max_iter)
    value_and_grad = jax.value_and_grad(f)

    def body(theta, _):
        value, g = value_and_grad(theta)
        d = jax.tree.map(jnp.negative, g)
        result = exact_line_search(f, theta, d, tol=tol, max_iter=max_iter)
        return _axpy(theta, result.alpha, d), (theta, value)

    theta0 = jax.tree.map(jnp.asarray, theta0)
    theta_T, (thetas, values) = jax.lax.scan(body, theta0, length=steps)
    thetas = jax.tree.map(lambda h, last: jnp.concatenate([h, last[None]]), thetas, theta_T)
    return Trajectory(thetas, jnp.concatenate([values, jnp.reshape(f(theta_T), (1,))]))
