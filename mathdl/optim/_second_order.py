r"""Second-order and quasi-Newton methods (MEDL Sec. 4.6), compiled end to end.

Every solver here works on a pytree ``x0`` (flattened once with
:func:`jax.flatten_util.ravel_pytree`), runs as one ``lax.while_loop`` so a jitted call never
retraces per iteration, and returns a :class:`SolverResult` whose ``trace`` has a fixed length
``max_iter + 1`` (NaN past the last iteration) for plots.

Status codes (``SolverResult.status``):

====  ==================  ===========================================================
code  name                meaning
====  ==================  ===========================================================
0     ``CONVERGED``       $\|\nabla f\|_2 \le$ ``tol`` at a point below $f(x_0)$, or the round-off
                          floor: a full (Gauss-)Newton step that moves no coordinate, or
                          no step lowers $f$ while the model's decrease
                          $-\tfrac12\nabla f^\top d$ is below $8\epsilon_{\text{mach}}|f|$
1     ``MAX_ITER``        ``max_iter`` iterations without meeting the test
2     ``NON_FINITE``      the objective or gradient became NaN/inf; ``x`` is the last finite iterate
3     ``NO_PROGRESS``     no step decreased $f$ (for BFGS and L-BFGS: not even after a restart
                          from steepest descent); ``x`` is the best point found
====  ==================  ===========================================================

The solvers never lose ground: a trial point is accepted only if it lowers $f$ (or keeps $f$
and lowers $\|\nabla f\|$, which happens at the round-off floor), so $f(x_k)$ never increases
and the returned ``x`` is the best iterate. A gradient below ``tol`` at a point no lower than
$f(x_0)$ (a flat region reached from a non-stationary start) is reported as ``NO_PROGRESS``,
never as ``CONVERGED``.

Why no Optax ``GradientTransformation`` form: these methods need the objective itself (line
searches evaluate it away from the current point, Newton needs its Hessian), which an Optax
update does not receive; Optax's own ``optax.lbfgs`` (with ``value_fn`` as an extra argument) is
that form, and the tests use it as an oracle for :func:`lbfgs`.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.flatten_util import ravel_pytree

from mathdl import checks

__all__ = [
    "CONVERGED",
    "MAX_ITER",
    "NON_FINITE",
    "NO_PROGRESS",
    "CGResult",
    "SolverResult",
    "SolverTrace",
    "bfgs",
    "conjugate_gradient",
    "gauss_newton",
    "lbfgs",
    "levenberg_marquardt",
    "newton",
    "newton_cg",
]

#: The status codes of a second-order solver's result: converged, iteration limit, non-finite, no progress.
CONVERGED, MAX_ITER, NON_FINITE, NO_PROGRESS = 0, 1, 2, 3
_RUNNING = -1


class SolverTrace(NamedTuple):
    """Per-iteration record, index 0 being the starting point; NaN past ``n_iter``.

    Attributes:
      x: iterates (flattened), shape ``(max_iter + 1, n)``.
      value: objective values, shape ``(max_iter + 1,)``.
      grad_norm: $\\|\\nabla f\\|_2$, shape ``(max_iter + 1,)``.
    """

    x: jax.Array
    value: jax.Array
    grad_norm: jax.Array


class SolverResult(NamedTuple):
    """The result of a second-order or quasi-Newton solve.

    Attributes:
      x: the solution, with the structure of ``x0``.
      value: $f(x)$ (for least squares, $\\tfrac12\\|r(x)\\|^2$).
      grad_norm: $\\|\\nabla f(x)\\|_2$.
      n_iter: iterations taken.
      n_fev: objective (with gradient) evaluations, line searches included.
      status: a status code (module docstring).
      trace: a :class:`SolverTrace`.
    """

    x: object
    value: jax.Array
    grad_norm: jax.Array
    n_iter: jax.Array
    n_fev: jax.Array
    status: jax.Array
    trace: SolverTrace


class CGResult(NamedTuple):
    """The result of :func:`conjugate_gradient`.

    Attributes:
      x: the approximate solution of $Ax = b$, shape ``(n,)``.
      residual_norm: $\\|b - Ax\\|_2$.
      n_iter: iterations taken.
      converged: whether $\\|b - Ax\\| \\le$ ``tol`` $\\cdot \\|b\\|$.
    """

    x: jax.Array
    residual_norm: jax.Array
    n_iter: jax.Array
    converged: jax.Array


# ----------------------------------------------------------------------------------------------
# shared machinery


def _is_positive_int(n) -> bool:
    # bool is an int subclass; True must not pass for an iteration count
    return isinstance(n, int) and not isinstance(n, bool) and n > 0


def _validate(func: str, f: Callable, x0, max_iter: int, tol: float) -> None:
    if not _is_positive_int(max_iter):
        checks.fail(func, "max_iter", "a positive int", max_iter)
    checks.check_positive(func, "tol", tol)
    leaves = jax.tree.leaves(x0)
    if not leaves:
        checks.fail(func, "x0", "a non-empty array or pytree of arrays", x0)
    for leaf in leaves:
        checks.check_dtype_floating(func, "x0", leaf)
    concrete = not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)
    if concrete and not all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves):
        checks.fail(func, "x0", "finite values", "an array containing NaN or inf")
    out = jax.eval_shape(f, x0)
    if getattr(out, "shape", None) != ():
        checks.fail(func, "f", "a function returning a scalar", f"output shape {getattr(out, 'shape', out)}")


def _flat(f: Callable, x0):
    z0, unravel = ravel_pytree(x0)
    return z0, unravel, (lambda z: f(unravel(z)))


def _empty_trace(z0, f0, g0_norm, max_iter):
    nan = jnp.nan
    xs = jnp.full((max_iter + 1, z0.shape[0]), nan, z0.dtype).at[0].set(z0)
    vs = jnp.full((max_iter + 1,), nan, z0.dtype).at[0].set(f0)
    gs = jnp.full((max_iter + 1,), nan, z0.dtype).at[0].set(g0_norm)
    return SolverTrace(xs, vs, gs)


def _record(trace: SolverTrace, k, z, f, g_norm) -> SolverTrace:
    return SolverTrace(trace.x.at[k].set(z), trace.value.at[k].set(f), trace.grad_norm.at[k].set(g_norm))


def _finite(*xs):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in xs]))


def _new_status(k, g_norm, finite, lower_than_start, hint, tol, max_iter):
    """Status after iteration ``k`` (1-based).

    Priority: non-finite > converged (gradient test, only below $f(x_0)$; or the method's round-off
    test, ``hint == CONVERGED``) > no progress (``hint == NO_PROGRESS``, or a small gradient where $f$
    did not go down) > max_iter > running.
    """
    small_grad = g_norm <= tol
    converged = (small_grad & lower_than_start) | (hint == CONVERGED)
    stuck = (hint == NO_PROGRESS) | small_grad
    return jnp.where(
        ~finite,
        NON_FINITE,
        jnp.where(converged, CONVERGED, jnp.where(stuck, NO_PROGRESS, jnp.where(k >= max_iter, MAX_ITER, _RUNNING))),
    )


def _no_loss(f_new, g_new, f, g):
    """Whether a trial point may replace the current one: $f$ goes down, or (at the round-off floor,
    where $f$ no longer resolves the change) stays equal while $\\|\\nabla f\\|$ goes down."""
    return (f_new < f) | ((f_new == f) & (jnp.linalg.norm(g_new) < jnp.linalg.norm(g)))


def _below_rounding(f, g, d):
    r"""Whether the local model's decrease along ``d``, $-\tfrac12 \nabla f^\top d$, is below the rounding of $f$.

    $-\tfrac12 g^\top d$ is the decrease the quadratic model predicts for its full step (Newton,
    Gauss-Newton, BFGS with $d = -Bg$). When it is under $8\epsilon_{\text{mach}}|f|$, no step can
    show a decrease in floating point: a failed line search there is the round-off floor of $f$,
    not a failure.
    """
    eps = jnp.finfo(f.dtype).eps
    return -0.5 * (g @ d) <= 8.0 * eps * jnp.abs(f)


def _at_round_off(z, d):
    """Whether the full step ``d`` moves no coordinate of ``z`` by more than a few units in the last place."""
    eps = jnp.finfo(z.dtype).eps
    return jnp.all(jnp.abs(d) <= 4.0 * eps * jnp.abs(z))


class _Carry(NamedTuple):
    k: jax.Array
    z: jax.Array
    f: jax.Array
    g: jax.Array
    n_fev: jax.Array
    status: jax.Array
    trace: SolverTrace
    extra: object  # method-specific state (inverse Hessian, L-BFGS memory, ...)


class _Step(NamedTuple):
    """What one method step returns to the driver."""

    z: jax.Array  # the new iterate (the old one when the trial point was rejected)
    f: jax.Array
    g: jax.Array
    n_fev: jax.Array  # objective evaluations this step made
    extra: object
    hint: jax.Array  # _RUNNING, or CONVERGED (the method's round-off test), or NO_PROGRESS


def _initial_carry(f_flat, z0, max_iter, tol, extra) -> _Carry:
    f0, g0 = jax.value_and_grad(f_flat)(z0)
    g_norm = jnp.linalg.norm(g0)
    status = jnp.where(~_finite(f0, g0), NON_FINITE, jnp.where(g_norm <= tol, CONVERGED, _RUNNING)).astype(jnp.int32)
    trace = _empty_trace(z0, f0, g_norm, max_iter)
    return _Carry(jnp.asarray(0, jnp.int32), z0, f0, g0, jnp.asarray(1, jnp.int32), status, trace, extra)


def _solve(func, f, x0, *, max_iter, tol, init_extra, direction_and_step):
    """Drive one method: ``direction_and_step(f_flat, carry) -> _Step``."""
    _validate(func, f, x0, max_iter, tol)
    z0, unravel, f_flat = _flat(f, x0)
    carry0 = _initial_carry(f_flat, z0, max_iter, tol, init_extra(z0))

    def cond(c: _Carry):
        return c.status == _RUNNING

    def body(c: _Carry) -> _Carry:
        step = direction_and_step(f_flat, c)
        z, fz, g, extra = step.z, step.f, step.g, step.extra
        finite = _finite(z, fz, g)
        k = c.k + 1
        # The driver's own guard, whatever the method did: a non-finite point, or one that loses ground,
        # is not taken (the last good iterate and its state are kept, and recorded again in row k).
        keep = finite & ((fz < c.f) | ((fz == c.f) & (jnp.linalg.norm(g) <= jnp.linalg.norm(c.g))))
        z = jnp.where(keep, z, c.z)
        fz = jnp.where(keep, fz, c.f)
        g = jnp.where(keep, g, c.g)
        extra = jax.tree.map(lambda new, old: jnp.where(keep, new, old), extra, c.extra)
        hint = jnp.where(keep | ~finite, step.hint, NO_PROGRESS)
        g_norm = jnp.linalg.norm(g)
        lower = fz < c.trace.value[0]
        status = _new_status(k, g_norm, finite, lower, hint, tol, max_iter).astype(jnp.int32)
        trace = _record(c.trace, k, z, fz, g_norm)
        return _Carry(k, z, fz, g, c.n_fev + step.n_fev, status, trace, extra)

    c = lax.while_loop(cond, body, carry0)
    return SolverResult(unravel(c.z), c.f, jnp.linalg.norm(c.g), c.k, c.n_fev, c.status, c.trace)


def _zoom_step(f_flat, z, fz, g, d, alpha0):
    """Strong-Wolfe step along ``d`` with Optax's zoom line search, first trial step ``alpha0 * d``.

    Returns the trial point, its value and gradient, and the evaluations made. The zoom search hands
    back its last trial when it fails, which may be uphill; callers accept it only through
    :func:`_no_loss`.
    """
    ls = optax.scale_by_zoom_linesearch(max_linesearch_steps=30, initial_guess_strategy="one")
    state = ls.init(z)
    step, state = ls.update(alpha0 * d, state, z, value=fz, grad=g, value_fn=f_flat)
    z_new = z + step
    # optax returns the value and gradient at the accepted point in its state
    return z_new, state.value, state.grad, state.info.num_linesearch_steps.astype(jnp.int32)


def _first_step_scale(g):
    r"""SciPy's first trial step for BFGS along $-\nabla f$: $\alpha_0 = \min(1, 1/\|\nabla f\|)$ (a step of length
    at most 1), so a huge first gradient does not throw the iterate out of the region the model describes."""
    g_norm = jnp.linalg.norm(g)
    return jnp.minimum(1.0, 1.0 / jnp.where(g_norm > 0, g_norm, 1.0)).astype(g.dtype)


# ----------------------------------------------------------------------------------------------
# Newton


def _backtrack(f_flat, z, f, g, d, *, c1: float = 1e-4, max_halvings: int = 50):
    r"""Armijo backtracking from $\alpha = 1$ with the known $f(z)$ and $\nabla f(z)$ (no evaluation wasted).

    Returns ``(alpha, trials)``: the first $\alpha = 2^{-j}$ with
    $f(z + \alpha d) \le f(z) + c_1 \alpha \nabla f(z)^\top d$ (0 if none within `max_halvings`, or if
    $d$ is not downhill), and the number of objective evaluations made.
    """
    slope = g @ d
    descent = slope < 0

    def cond(state):
        _, j, ok = state
        return descent & (j < max_halvings) & ~ok

    def body(state):
        alpha, j, _ = state
        ok = f_flat(z + alpha * d) <= f + c1 * alpha * slope
        return jnp.where(ok, alpha, 0.5 * alpha), j + 1, ok

    alpha, j, ok = lax.while_loop(cond, body, (jnp.ones((), z.dtype), jnp.asarray(0, jnp.int32), jnp.asarray(False)))
    return jnp.where(ok, alpha, jnp.zeros_like(alpha)), j


def _armijo_step(f_flat, c: _Carry, d) -> _Step:
    """Armijo backtracking along a descent direction ``d`` (Newton-type methods), never losing ground.

    The hint is ``CONVERGED`` when the full step ``d`` is below round-off in every coordinate (the
    model's minimiser is the current point to machine precision, although rounding noise may keep
    the gradient norm above ``tol``; no search is made then), or when no trial point passes
    :func:`_no_loss` while the model's decrease is below the rounding of $f$
    (:func:`_below_rounding`); ``NO_PROGRESS`` when no trial point passes otherwise.
    """
    round_off = _at_round_off(c.z, d)
    alpha, trials = _backtrack(f_flat, c.z, c.f, c.g, jnp.where(round_off, jnp.zeros_like(d), d))
    z_try = c.z + alpha * d
    f_try, g_try = jax.value_and_grad(f_flat)(z_try)
    ok = _no_loss(f_try, g_try, c.f, c.g)
    z = jnp.where(ok, z_try, c.z)
    f = jnp.where(ok, f_try, c.f)
    g = jnp.where(ok, g_try, c.g)
    floor = _below_rounding(c.f, c.g, d)
    hint = jnp.where(round_off | (~ok & floor), CONVERGED, jnp.where(ok, _RUNNING, NO_PROGRESS))
    return _Step(z, f, g, trials + 1, c.extra, hint)


def newton(
    f: Callable, x0, *, damping: float = 0.0, min_curvature: float = 1e-8, max_iter: int = 50, tol: float = 1e-10
) -> SolverResult:
    r"""Damped Newton's method with a positive-definite fallback and Armijo backtracking.

    At $x_k$ with gradient $g_k$ and Hessian $H_k = \nabla^2 f(x_k)$, the direction solves

    $$\big(\tilde H_k + \lambda I\big)\, d_k = -g_k ,\qquad
      \tilde H_k = V \operatorname{diag}\!\big(\max(|\mu_i|, \epsilon)\big) V^\top ,$$

    where $H_k = V\operatorname{diag}(\mu)V^\top$, $\lambda$ = `damping` and $\epsilon$ =
    `min_curvature`. When $H_k$ is positive definite (and $\lambda = 0$) this is the pure Newton
    step $-H_k^{-1}g_k$; otherwise negative and tiny curvatures are flipped and floored, so $d_k$ is
    always a descent direction: an indefinite Hessian never produces an ascent step (the book's
    concave 1-D example, where plain Newton climbs). The step $x_{k+1} = x_k + \alpha_k d_k$ takes
    the largest $\alpha_k \in \{1, \tfrac12, \dots\}$ meeting Armijo's condition, so near a strict
    minimum the full step is taken and convergence is quadratic. A trial point that does not lower
    $f$ is never taken (Armijo's $\le$ would accept a zero decrease at the round-off floor).

    Stopping: $\|\nabla f\|_2 \le$ `tol` (absolute), or one of two relative tests of the round-off
    floor: a full step $d_k$ that changes no coordinate by more than $4\epsilon_{\text{mach}}|x_{k,i}|$
    (the quadratic model then puts the minimiser at $x_k$ to machine precision, and the gradient left
    is rounding noise: on Brown's badly scaled function it stays near $2 \times 10^{-10}$ at
    $x^* = (10^6, 2 \times 10^{-6})$), or no trial point lowering $f$ while the Newton decrement
    $\tfrac12 g_k^\top \tilde H_k^{-1} g_k$ is below $8\epsilon_{\text{mach}}|f(x_k)|$.

    Args:
      f: objective $f$, ``f(x) -> scalar``, twice differentiable.
      x0: starting point (array or pytree of floating arrays, finite).
      damping: Levenberg damping $\lambda \ge 0$ added to the Hessian.
      min_curvature: floor $\epsilon > 0$ on the Hessian's eigenvalue magnitudes.
      max_iter: the most iterations (> 0).
      tol: stop when $\|\nabla f\|_2 \le$ `tol` (> 0), or at the round-off floor (above).

    Returns:
      A :class:`SolverResult`; ``x`` has the structure of `x0`.

    Raises:
      ValueError: if `x0` is empty or non-finite, `f` is not scalar, `max_iter` or `tol` or
        `min_curvature` is not positive, or `damping` is negative.
      TypeError: if `x0` is not floating point.

    References:
      [MEDL] Ch. 4, Sec. 4.6 (Newton's method and its quadratic model); [Nocedal2006] Ch. 3.4
      (Hessian modification). Oracle in tests: ``scipy.optimize.minimize(method="Newton-CG")``.
    """
    func = "optim.newton"
    checks.check_positive(func, "damping", damping, strict=False)
    checks.check_positive(func, "min_curvature", min_curvature)

    def step(f_flat, c: _Carry):
        H = jax.hessian(f_flat)(c.z)
        H = 0.5 * (H + H.T)  # symmetrise rounding noise before the eigendecomposition
        mu, V = jnp.linalg.eigh(H)
        mu = jnp.maximum(jnp.abs(mu), min_curvature) + damping
        d = -(V @ ((V.T @ c.g) / mu))
        return _armijo_step(f_flat, c, d)

    return _solve(func, f, x0, max_iter=max_iter, tol=tol, init_extra=lambda z: (), direction_and_step=step)


# ----------------------------------------------------------------------------------------------
# BFGS and L-BFGS


class _BFGSState(NamedTuple):
    B: jax.Array  # shape=(n, n): inverse-Hessian approximation B_k
    fresh: jax.Array  # shape=(), dtype=bool: B_k = I (the start, or a restart), so the step is scaled


def bfgs(f: Callable, x0, *, rescale: bool = False, max_iter: int = 200, tol: float = 1e-8) -> SolverResult:
    r"""BFGS: a quasi-Newton method that learns the inverse Hessian from gradient differences.

    With $s_k = x_{k+1} - x_k$, $y_k = \nabla f(x_{k+1}) - \nabla f(x_k)$ and
    $\rho_k = 1/(y_k^\top s_k)$, the inverse-Hessian approximation is updated as

    $$B_{k+1} = (I - \rho_k s_k y_k^\top)\, B_k\, (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top ,$$

    and the step is $x_{k+1} = x_k - \alpha_k B_k \nabla f(x_k)$ with $\alpha_k$ from a strong-Wolfe
    line search (Optax's zoom search), from $B_0 = I$ (as SciPy does). With
    `rescale`, $B_0$ is replaced before the first update by $(y_0^\top s_0 / y_0^\top y_0)\, I$
    (Nocedal & Wright's heuristic; on 2-D Rosenbrock it costs iterations, so it is off by default).
    An update whose curvature $y_k^\top s_k$ is not positive is skipped, so $B_k$ stays positive
    definite.

    Safeguards (none changes a run that goes well):

    * The first trial step is scaled as SciPy's is: while $B_k = I$ the line search starts from
      $\alpha = \min(1, 1/\|\nabla f(x_k)\|_2)$, a step of length at most 1, so a huge first gradient
      (Jennrich-Sampson's $9.4 \times 10^4$) does not throw $x_1$ where the model underflows; after
      that the first trial is $\alpha = 1$.
    * A trial point is taken only if it lowers $f$ (module docstring). When the line search finds
      none and the model's decrease $\tfrac12 \nabla f^\top B_k \nabla f$ is below the rounding of
      $f$, that is the round-off floor: ``CONVERGED`` (the relative stop; the gradient test alone
      can be out of reach there). Otherwise $x_k$ is kept and $B$ restarts from $I$; a second
      failure in a row stops with ``NO_PROGRESS``, returning the best iterate.

    Args:
      f: objective $f$, ``f(x) -> scalar``.
      x0: starting point (array or pytree of floating arrays, finite).
      rescale: rescale $B_0$ by $y_0^\top s_0 / y_0^\top y_0$ before the first update.
      max_iter: the most iterations (> 0).
      tol: stop when $\|\nabla f\|_2 \le$ `tol` (> 0).

    Returns:
      A :class:`SolverResult`.

    Raises:
      ValueError: if `x0` is empty or non-finite, `f` is not scalar, or `max_iter`/`tol` is
        not positive.
      TypeError: if `x0` is not floating point.

    References:
      [MEDL] Ch. 4, Sec. 4.6 (quasi-Newton methods); [Nocedal2006] Ch. 6, eqs. (6.17), (6.20).
      Oracle in tests: ``scipy.optimize.minimize(method="BFGS")``.
    """

    def step(f_flat, c: _Carry) -> _Step:
        B, fresh = c.extra
        n = B.shape[0]
        eye = jnp.eye(n, dtype=B.dtype)
        d = -(B @ c.g)
        alpha0 = jnp.where(fresh, _first_step_scale(c.g), jnp.ones((), c.g.dtype))
        z_try, f_try, g_try, fev = _zoom_step(f_flat, c.z, c.f, c.g, d, alpha0)
        ok = _finite(z_try, f_try, g_try) & _no_loss(f_try, g_try, c.f, c.g)
        s, y = z_try - c.z, g_try - c.g
        sy = s @ y
        curved = ok & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        B = jnp.where(fresh & curved & rescale, (sy / jnp.where(curved, y @ y, 1.0)) * eye, B)
        rho = jnp.where(curved, 1.0 / jnp.where(curved, sy, 1.0), 0.0)
        V = eye - rho * jnp.outer(s, y)
        B_new = jnp.where(curved, V @ B @ V.T + rho * jnp.outer(s, s), B)
        # A failed line search (no trial point lowers f) is the round-off floor when the model's decrease is
        # below the rounding of f (converged); otherwise it restarts from B = I, and a second failure in a
        # row, along steepest descent, is NO_PROGRESS.
        floor = ~ok & ~fresh & _below_rounding(c.f, c.g, d)
        restart = ~ok & ~floor
        state = _BFGSState(jnp.where(restart, eye, B_new), restart)
        hint = jnp.where(floor, CONVERGED, jnp.where(ok | ~fresh, _RUNNING, NO_PROGRESS))
        return _Step(jnp.where(ok, z_try, c.z), jnp.where(ok, f_try, c.f), jnp.where(ok, g_try, c.g), fev, state, hint)

    return _solve(
        "optim.bfgs",
        f,
        x0,
        max_iter=max_iter,
        tol=tol,
        init_extra=lambda z: _BFGSState(jnp.eye(z.shape[0], dtype=z.dtype), jnp.asarray(True)),
        direction_and_step=step,
    )


class _LBFGSMemory(NamedTuple):
    S: jax.Array  # shape=(m, n): past steps s_i, newest at index (count - 1) % m
    Y: jax.Array  # shape=(m, n): past gradient differences y_i
    rho: jax.Array  # shape=(m,): 1 / (y_i^T s_i), 0 for empty slots
    count: jax.Array  # shape=(), dtype=int32: number of pairs stored so far


def _two_loop(mem: _LBFGSMemory, g):
    """The L-BFGS two-loop recursion: returns $H_k g$ with $H_k^0 = \\gamma I$."""
    m = mem.S.shape[0]
    newest = (mem.count - 1) % m

    def first(i, carry):
        q, alphas = carry
        j = (newest - i) % m
        a = mem.rho[j] * (mem.S[j] @ q)
        return q - a * mem.Y[j], alphas.at[j].set(a)

    q, alphas = lax.fori_loop(0, m, first, (g, jnp.zeros((m,), g.dtype)))
    y_new, s_new = mem.Y[newest], mem.S[newest]
    yy = y_new @ y_new
    gamma = jnp.where((mem.count > 0) & (yy > 0), (s_new @ y_new) / jnp.where(yy > 0, yy, 1.0), 1.0)
    r = gamma * q

    def second(i, r):
        j = (newest - (m - 1) + i) % m
        beta = mem.rho[j] * (mem.Y[j] @ r)
        return r + mem.S[j] * (alphas[j] - beta)

    return lax.fori_loop(0, m, second, r)


def lbfgs(f: Callable, x0, *, memory: int = 10, max_iter: int = 500, tol: float = 1e-8) -> SolverResult:
    r"""Limited-memory BFGS: BFGS's inverse Hessian applied from the last `memory` pairs only.

    The direction $d_k = -H_k \nabla f(x_k)$ comes from the two-loop recursion over the stored
    pairs $(s_i, y_i)$, $i = k-m, \dots, k-1$, starting from $H_k^0 = \gamma_k I$ with
    $\gamma_k = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1}$; this equals $m$ BFGS updates of
    $H_k^0$ without ever forming an $n \times n$ matrix ($O(mn)$ memory and work per step). The step
    length comes from a strong-Wolfe line search (Optax's zoom search); pairs with
    $y^\top s \le 0$ are not stored.

    Safeguards, as in :func:`bfgs`: while the memory is empty (at the start, or after a restart) the
    direction is $-\nabla f$ and the first trial step is $\alpha = \min(1, 1/\|\nabla f\|_2)$ (SciPy's
    L-BFGS-B takes $1/\|\nabla f\|$ there), else $\alpha = 1$; a trial point is taken only if it lowers
    $f$; a failed line search is ``CONVERGED`` at the round-off floor (as in :func:`bfgs`), else it
    clears the memory, and a second failure in a row stops with ``NO_PROGRESS`` at the best iterate.

    Args:
      f: objective $f$, ``f(x) -> scalar``.
      x0: starting point (array or pytree of floating arrays, finite).
      memory: number $m \ge 1$ of stored pairs.
      max_iter: the most iterations (> 0).
      tol: stop when $\|\nabla f\|_2 \le$ `tol` (> 0).

    Returns:
      A :class:`SolverResult`.

    Raises:
      ValueError: if `memory` < 1, `x0` is empty or non-finite, `f` is not scalar, or
        `max_iter`/`tol` is not positive.
      TypeError: if `x0` is not floating point.

    References:
      [MEDL] Ch. 4, Sec. 4.6; [Nocedal2006] Ch. 7.2, Algorithm 7.4 (two-loop recursion).
      Oracles in tests: ``scipy.optimize.minimize(method="L-BFGS-B")``, ``optax.lbfgs``.
    """
    if not _is_positive_int(memory):
        checks.fail("optim.lbfgs", "memory", "an int >= 1", memory)

    def init(z):
        n = z.shape[0]
        zeros = jnp.zeros((memory, n), z.dtype)
        return _LBFGSMemory(zeros, zeros, jnp.zeros((memory,), z.dtype), jnp.asarray(0, jnp.int32))

    def step(f_flat, c: _Carry) -> _Step:
        mem: _LBFGSMemory = c.extra
        fresh = mem.count == 0  # H = I: steepest descent, whose first trial is scaled
        d = -_two_loop(mem, c.g)
        # Safeguard: should rounding ever make d uphill, fall back to steepest descent.
        d = jnp.where(d @ c.g < 0, d, -c.g)
        alpha0 = jnp.where(fresh, _first_step_scale(c.g), jnp.ones((), c.g.dtype))
        z_try, f_try, g_try, fev = _zoom_step(f_flat, c.z, c.f, c.g, d, alpha0)
        ok = _finite(z_try, f_try, g_try) & _no_loss(f_try, g_try, c.f, c.g)
        s, y = z_try - c.z, g_try - c.g
        sy = s @ y
        curved = ok & (sy > 1e-12 * jnp.linalg.norm(s) * jnp.linalg.norm(y))
        slot = mem.count % memory
        stored = _LBFGSMemory(
            mem.S.at[slot].set(s),
            mem.Y.at[slot].set(y),
            mem.rho.at[slot].set(1.0 / jnp.where(curved, sy, 1.0)),
            mem.count + 1,
        )
        kept = jax.tree.map(lambda new, old: jnp.where(curved, new, old), stored, mem)
        # A failed line search is the round-off floor when the model's decrease is below the rounding of f
        # (converged); otherwise it clears the memory (a restart from steepest descent), and a second
        # failure in a row is NO_PROGRESS.
        floor = ~ok & ~fresh & _below_rounding(c.f, c.g, d)
        restart = ~ok & ~floor
        mem = jax.tree.map(lambda k, z: jnp.where(restart, z, k), kept, init(c.z))
        hint = jnp.where(floor, CONVERGED, jnp.where(ok | ~fresh, _RUNNING, NO_PROGRESS))
        return _Step(jnp.where(ok, z_try, c.z), jnp.where(ok, f_try, c.f), jnp.where(ok, g_try, c.g), fev, mem, hint)

    return _solve("optim.lbfgs", f, x0, max_iter=max_iter, tol=tol, init_extra=init, direction_and_step=step)


# ----------------------------------------------------------------------------------------------
# conjugate gradient and Newton-CG


def conjugate_gradient(A, b, *, x0=None, tol: float = 1e-10, max_iter: int | None = None) -> CGResult:
    r"""Linear conjugate gradient for $Ax = b$ with $A$ symmetric positive definite.

    From $r_0 = b - Ax_0$, $p_0 = r_0$, iterate

    $$\alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\quad x_{k+1} = x_k + \alpha_k p_k,\quad
      r_{k+1} = r_k - \alpha_k A p_k,\quad p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k} p_k ,$$

    until $\|r_k\| \le$ `tol` $\cdot\|b\|$. In exact arithmetic this ends in at most $n$ steps.
    $A$ may be a matrix or a function ``v -> A v`` (a Hessian-vector product, say), so $A$ need
    never be formed. A direction of non-positive curvature ($p^\top A p \le 0$: $A$ is not SPD)
    stops the iteration with ``converged`` false rather than stepping to a wrong answer.

    Args:
      A: an SPD matrix of shape ``(n, n)``, or a callable ``matvec(v) -> A v`` on shape ``(n,)``.
      b: right-hand side, shape ``(n,)``.
      x0: starting guess, shape ``(n,)`` (default zeros).
      tol: relative residual tolerance (> 0).
      max_iter: the most iterations (default ``n``; > 0).

    Returns:
      A :class:`CGResult`.

    Raises:
      ValueError: if `b` is not 1-D, `A` is a matrix of the wrong shape, or `tol`/`max_iter`
        is not positive.

    References:
      [Nocedal2006] Ch. 5, Algorithm 5.2. Oracle in tests: ``numpy.linalg.solve``.
    """
    func = "optim.conjugate_gradient"
    checks.check_rank(func, "b", b, 1)
    checks.check_dtype_floating(func, "b", b)
    n = b.shape[0]
    if callable(A):
        matvec = A
    else:
        checks.check_shape(func, "A", A, (n, n))
        checks.check_dtype_floating(func, "A", A)
        matvec = lambda v: A @ v  # noqa: E731
    if x0 is not None:
        checks.check_shape(func, "x0", x0, (n,))
        checks.check_dtype_floating(func, "x0", x0)
    checks.check_positive(func, "tol", tol)
    max_iter = n if max_iter is None else max_iter
    if not _is_positive_int(max_iter):
        checks.fail(func, "max_iter", "a positive int", max_iter)
    x = jnp.zeros_like(b) if x0 is None else x0
    r = b - matvec(x)
    threshold = tol * jnp.linalg.norm(b)

    def cond(c):
        x, r, p, rr, k, ok = c
        return (jnp.sqrt(rr) > threshold) & (k < max_iter) & ok

    def body(c):
        x, r, p, rr, k, ok = c
        Ap = matvec(p)
        pAp = p @ Ap
        ok = pAp > 0
        alpha = jnp.where(ok, rr / jnp.where(ok, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / jnp.where(rr > 0, rr, 1.0)) * p
        return x, r, p, rr_new, k + 1, ok

    x, r, _, rr, k, _ = lax.while_loop(cond, body, (x, r, r, r @ r, jnp.asarray(0, jnp.int32), jnp.asarray(True)))
    res = jnp.sqrt(rr)
    return CGResult(x, res, k, res <= threshold)


def newton_cg(
    f: Callable, x0, *, max_iter: int = 100, max_cg_iter: int | None = None, tol: float = 1e-8
) -> SolverResult:
    r"""Truncated Newton (Newton-CG): Newton steps solved by CG with Hessian-vector products only.

    The Newton system $\nabla^2 f(x_k)\, d = -\nabla f(x_k)$ is solved approximately by conjugate
    gradient, where each product $\nabla^2 f(x_k) v$ is one forward-over-reverse derivative
    (``jax.jvp`` of ``jax.grad``) so the Hessian is never formed. CG stops when its residual is below
    $\eta_k\|\nabla f(x_k)\|$ with $\eta_k = \min(\tfrac12, \sqrt{\|\nabla f(x_k)\|})$ (superlinear
    convergence), or at the first direction of non-positive curvature, in which case the last CG
    iterate (or $-\nabla f$ at the first CG step) is used, so the direction is always downhill. The
    step length comes from Armijo backtracking starting at 1.

    Args:
      f: objective $f$, ``f(x) -> scalar``, twice differentiable.
      x0: starting point (array or pytree of floating arrays, finite).
      max_iter: the most Newton iterations (> 0).
      max_cg_iter: the most CG iterations per Newton step (default: the dimension $n$).
      tol: stop when $\|\nabla f\|_2 \le$ `tol` (> 0).

    Returns:
      A :class:`SolverResult` (``n_fev`` counts objective evaluations, not Hessian-vector products).

    Raises:
      ValueError: if `x0` is empty or non-finite, `f` is not scalar, or `max_iter`/`tol`/
        `max_cg_iter` is not positive.
      TypeError: if `x0` is not floating point.

    References:
      [MEDL] Ch. 4, Sec. 4.6; [Nocedal2006] Ch. 7.1, Algorithm 7.1. Oracle in tests:
      ``scipy.optimize.minimize(method="Newton-CG")``.
    """
    func = "optim.newton_cg"
    if max_cg_iter is not None and not _is_positive_int(max_cg_iter):
        checks.fail(func, "max_cg_iter", "a positive int or None", max_cg_iter)

    def step(f_flat, c: _Carry):
        grad_f = jax.grad(f_flat)
        hvp = lambda v: jax.jvp(grad_f, (c.z,), (v,))[1]  # noqa: E731
        g = c.g
        g_norm = jnp.linalg.norm(g)
        eta = jnp.minimum(0.5, jnp.sqrt(g_norm))
        n_cg = c.z.shape[0] if max_cg_iter is None else max_cg_iter

        def cg_cond(s):
            d, r, p, rr, k, done = s
            return (~done) & (k < n_cg)

        def cg_body(s):
            d, r, p, rr, k, done = s
            Hp = hvp(p)
            pHp = p @ Hp
            negative = pHp <= 0
            alpha = rr / jnp.where(negative, 1.0, pHp)
            d_next = d + alpha * p
            r_next = r - alpha * Hp
            rr_next = r_next @ r_next
            small = jnp.sqrt(rr_next) <= eta * g_norm
            # on negative curvature keep d (or -g if nothing was accumulated yet)
            d_out = jnp.where(negative, jnp.where(k == 0, -g, d), d_next)
            p_next = r_next + (rr_next / jnp.where(rr > 0, rr, 1.0)) * p
            return d_out, r_next, p_next, rr_next, k + 1, negative | small

        r0 = -g
        d, *_ = lax.while_loop(
            cg_cond, cg_body, (jnp.zeros_like(g), r0, r0, r0 @ r0, jnp.asarray(0, jnp.int32), jnp.asarray(False))
        )
        d = jnp.where(d @ g < 0, d, -g)
        return _armijo_step(f_flat, c, d)

    return _solve(func, f, x0, max_iter=max_iter, tol=tol, init_extra=lambda z: (), direction_and_step=step)


# ----------------------------------------------------------------------------------------------
# nonlinear least squares


def _least_squares_setup(func, residuals, x0, max_iter, tol):
    def half_sq(x):
        r = residuals(x)
        return 0.5 * jnp.sum(r * r)

    _validate(func, half_sq, x0, max_iter, tol)
    out = jax.eval_shape(residuals, x0)
    if len(out.shape) != 1:
        checks.fail(func, "residuals", "a function returning a 1-D vector r(x)", f"output shape {out.shape}")
    z0, unravel = ravel_pytree(x0)
    r_flat = lambda z: residuals(unravel(z))  # noqa: E731
    return z0, unravel, r_flat, (lambda z: 0.5 * jnp.sum(r_flat(z) ** 2))


def gauss_newton(residuals: Callable, x0, *, max_iter: int = 100, tol: float = 1e-10) -> SolverResult:
    r"""Gauss-Newton for $\min_x \tfrac12\|r(x)\|^2$: Newton with the Hessian $J^\top J$.

    With $J_k = \partial r / \partial x$ at $x_k$, the step $d_k$ is the least-squares solution of
    $J_k d \approx -r(x_k)$ (computed by ``lstsq``, never by inverting $J^\top J$), and
    $x_{k+1} = x_k + \alpha_k d_k$ with Armijo backtracking on $\tfrac12\|r\|^2$. The gradient is
    $J^\top r$; convergence is fast when the residuals at the solution are small.

    Args:
      residuals: ``r(x) -> (m,)`` residual vector.
      x0: starting point (array or pytree of floating arrays, finite).
      max_iter: the most iterations (> 0).
      tol: stop when $\|J^\top r\|_2 \le$ `tol` (> 0).

    Returns:
      A :class:`SolverResult` with ``value`` $= \tfrac12\|r(x)\|^2$.

    Raises:
      ValueError: if `residuals` does not return a vector, `x0` is empty or non-finite, or
        `max_iter`/`tol` is not positive.
      TypeError: if `x0` is not floating point.

    References:
      [Nocedal2006] Ch. 10.3. Oracle in tests: ``scipy.optimize.least_squares``.
    """
    func = "optim.gauss_newton"
    z0, unravel, r_flat, phi = _least_squares_setup(func, residuals, x0, max_iter, tol)

    def step(_, c: _Carry) -> _Step:
        J = jax.jacfwd(r_flat)(c.z)
        d = jnp.linalg.lstsq(J, -r_flat(c.z))[0]
        return _armijo_step(phi, c, d)

    res = _solve(func, phi, z0, max_iter=max_iter, tol=tol, init_extra=lambda z: (), direction_and_step=step)
    return _ls_result(res, unravel)


def _ls_result(res: SolverResult, unravel) -> SolverResult:
    return res._replace(x=unravel(res.x))


def levenberg_marquardt(
    residuals: Callable, x0, *, mu0: float = 1e-3, max_iter: int = 200, tol: float = 1e-10
) -> SolverResult:
    r"""Levenberg-Marquardt for $\min_x \tfrac12\|r(x)\|^2$: Gauss-Newton with an adaptive trust.

    The step solves $(J_k^\top J_k + \mu_k I)\, d_k = -J_k^\top r_k$ (by Cholesky; the matrix is
    positive definite for $\mu_k > 0$). With the gain ratio
    $\varrho = \big(\phi(x_k) - \phi(x_k + d_k)\big) / \big(\tfrac12 d_k^\top(\mu_k d_k - J_k^\top r_k)\big)$,
    a step with $\varrho > 0$ is accepted and $\mu_{k+1} = \mu_k\max(\tfrac13, 1 - (2\varrho - 1)^3)$,
    $\nu = 2$; otherwise it is rejected and $\mu_{k+1} = \nu\mu_k$, $\nu \leftarrow 2\nu$ (Nielsen's
    rule). Small $\mu$ gives Gauss-Newton, large $\mu$ a short gradient step. Here $\mu_0$ =
    `mu0` $\cdot \max_i (J_0^\top J_0)_{ii}$.

    Args:
      residuals: ``r(x) -> (m,)`` residual vector.
      x0: starting point (array or pytree of floating arrays, finite).
      mu0: initial damping relative to the largest diagonal entry of $J^\top J$ (> 0).
      max_iter: the most iterations, rejected steps included (> 0).
      tol: stop when $\|J^\top r\|_2 \le$ `tol` (> 0).

    Returns:
      A :class:`SolverResult` with ``value`` $= \tfrac12\|r(x)\|^2$; a run of rejected steps
      that drives $\mu$ to infinity ends with status ``NO_PROGRESS``.

    Raises:
      ValueError: if `residuals` does not return a vector, `x0` is empty or non-finite, or
        `mu0`/`max_iter`/`tol` is not positive.
      TypeError: if `x0` is not floating point.

    References:
      [Nocedal2006] Ch. 10.3; H. B. Nielsen, "Damping parameter in Marquardt's method" (1999).
      Oracle in tests: ``scipy.optimize.least_squares(method="lm")``.
    """
    func = "optim.levenberg_marquardt"
    checks.check_positive(func, "mu0", mu0)
    z0, unravel, r_flat, phi = _least_squares_setup(func, residuals, x0, max_iter, tol)

    def init(z):
        J = jax.jacfwd(r_flat)(z)
        mu = mu0 * jnp.max(jnp.sum(J * J, axis=0))
        return jnp.asarray(mu, z.dtype), jnp.asarray(2.0, z.dtype)

    def step(_, c: _Carry):
        mu, nu = c.extra
        r = r_flat(c.z)
        J = jax.jacfwd(r_flat)(c.z)
        g = J.T @ r
        A = J.T @ J + mu * jnp.eye(J.shape[1], dtype=J.dtype)
        L = jnp.linalg.cholesky(A)
        d = jax.scipy.linalg.cho_solve((L, True), -g)
        z_try = c.z + d
        f_try, g_try = jax.value_and_grad(phi)(z_try)
        predicted = 0.5 * (d @ (mu * d - g))
        rho = (c.f - f_try) / jnp.where(predicted > 0, predicted, 1.0)
        accept = (rho > 0) & jnp.isfinite(f_try)
        mu_new = jnp.where(accept, mu * jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), mu * nu)
        nu_new = jnp.where(accept, 2.0, 2.0 * nu)
        z = jnp.where(accept, z_try, c.z)
        fz = jnp.where(accept, f_try, c.f)
        g_new = jnp.where(accept, g_try, c.g)
        # mu doubling on every rejection ends at inf: no progress; a step below round-off: converged
        hint = jnp.where(_at_round_off(c.z, d), CONVERGED, jnp.where(jnp.isfinite(mu_new), _RUNNING, NO_PROGRESS))
        return _Step(z, fz, g_new, jnp.asarray(1, jnp.int32), (mu_new, nu_new), hint)

    return _ls_result(
        _solve(func, phi, z0, max_iter=max_iter, tol=tol, init_extra=init, direction_and_step=step), unravel
    )
