r"""Central finite differences and a gradient checker users can call on their own code.

Finite differences are the *reference* derivatives of MEDL Appendix A: slow (two function
calls per coordinate) and inexact, but they share nothing with automatic differentiation,
which makes them the classic check that a hand-written or autodiff gradient is right.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from mathdl import checks
from mathdl.calculus._common import check_scalar_output, function, point

__all__ = [
    "GradCheckError",
    "GradCheckReport",
    "check_grad",
    "default_step",
    "finite_difference_gradient",
    "finite_difference_jacobian",
]


def default_step(dtype) -> float:
    r"""The relative step of central differences for a floating dtype: $\varepsilon^{1/3}$.

    For a central difference the truncation error is $O(h^2)$ and the rounding error is
    $O(\varepsilon/h)$ ($\varepsilon$ the machine epsilon); $h \propto \varepsilon^{1/3}$
    balances them, giving an error of order $\varepsilon^{2/3}$ (about ``6e-6`` steps and
    ``4e-11`` errors in float64; ``5e-3`` and ``2e-5`` in float32).

    Args:
      dtype: a floating dtype.

    Returns:
      The step as a Python float.

    Raises:
      TypeError: if `dtype` is not floating point.

    References:
      [MEDL] App. A, Sec. A.2; Nocedal & Wright, *Numerical Optimization* (2006), Sec. 8.1.
    """
    if not jnp.issubdtype(dtype, jnp.floating):
        func = checks.public_name(default_step)
        checks.fail(func, "dtype", "a floating dtype", checks.Text(f"dtype {np.dtype(dtype)}"), exc=TypeError)
    return float(jnp.finfo(dtype).eps) ** (1.0 / 3.0)


def _steps(func: str, x: jax.Array, step: float | None) -> jax.Array:
    if step is None:
        # Departure from a fixed h: scale the step with |x_j| so large coordinates get a step
        # that is not lost to rounding (the usual h_j = eps^(1/3) * max(1, |x_j|)).
        return default_step(x.dtype) * jnp.maximum(1.0, jnp.abs(x))
    checks.check_positive(func, "step", step)
    return jnp.full(x.shape, step, dtype=x.dtype)


@checks.inputs(f=function, x=point)
def finite_difference_jacobian(
    f: Callable[[jax.Array], jax.Array], x: jax.Array, *, step: float | None = None
) -> jax.Array:
    r"""Jacobian of `f` at `x` by central differences, one column per coordinate.

    $$[J_f(x)]_{:,j} \approx \frac{f(x + h_j e_j) - f(x - h_j e_j)}{2 h_j},$$

    with $h_j = \varepsilon^{1/3}\max(1, |x_j|)$ by default ($\varepsilon$ the machine
    epsilon of `x`'s dtype, see :func:`default_step`). Uses $2n$ evaluations of `f`
    (vectorised with ``jax.vmap``). The book's orientation: one row per output.

    Args:
      f: function of one array, written in JAX.
      x: the point, a floating array of shape ``(n,)`` (or any shape ``s``).
      step: a fixed step $h$ for every coordinate (keyword-only; default per dtype).

    Returns:
      The approximate Jacobian, shape ``f(x).shape + x.shape``.

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point.
      ValueError: if `step` is not positive.

    References:
      [MEDL] App. A, Sec. A.2. Oracle in tests: exact Jacobians of polynomials and
      ``jax.jacfwd``.

    Example:
      >>> finite_difference_jacobian(lambda x: x**2, jnp.array([1.0, 2.0]))  # doctest: +SKIP
      Array([[2., 0.],
             [0., 4.]], dtype=float32)
    """
    h = _steps(checks.public_name(finite_difference_jacobian), x, step).reshape(-1)
    n = h.shape[0]
    # Round the step so that (x + h) - x is exactly representable (a classic trick that
    # removes the error of the step itself from the quotient).
    xf = x.reshape(-1)
    h = (xf + h) - xf
    E = jnp.eye(n, dtype=x.dtype) * h[None, :]  # row j is h_j e_j

    def one(e):
        return (f((xf + e).reshape(x.shape)) - f((xf - e).reshape(x.shape))).reshape(-1)

    diffs = jax.vmap(one)(E)  # (n, m): row j is f(x + h_j e_j) - f(x - h_j e_j)
    out_shape = jax.eval_shape(f, x).shape
    J = (diffs / (2 * h[:, None])).T  # (m, n), one row per output
    return J.reshape(out_shape + x.shape)


@checks.inputs(f=function, x=point)
def finite_difference_gradient(
    f: Callable[[jax.Array], jax.Array], x: jax.Array, *, step: float | None = None
) -> jax.Array:
    r"""Gradient of a scalar function by central differences.

    $$\frac{\partial f}{\partial x_j}(x) \approx \frac{f(x + h_j e_j) - f(x - h_j e_j)}{2 h_j},$$

    with the per-dtype step of :func:`finite_difference_jacobian`. The error is
    $O(h^2)$ from truncation plus $O(\varepsilon/h)$ from rounding.

    Args:
      f: scalar-valued function of one array, written in JAX.
      x: the point, a floating array of any shape.
      step: a fixed step $h$ (keyword-only; default per dtype).

    Returns:
      The approximate gradient, same shape as `x`.

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point.
      ValueError: if `f(x)` is not a scalar or `step` is not positive.

    References:
      [MEDL] App. A, Sec. A.2. Oracle in tests: analytic gradients of polynomials.

    Example:
      >>> finite_difference_gradient(lambda x: (x**2).sum(), jnp.array([1.0, 2.0]))  # doctest: +SKIP
      Array([2., 4.], dtype=float32)
    """
    func = checks.public_name(finite_difference_gradient)
    check_scalar_output(func, f, x)
    if step is not None:
        checks.check_positive(func, "step", step)
    return finite_difference_jacobian(f, x, step=step)


class GradCheckReport(NamedTuple):
    """Result of :func:`check_grad`.

    Attributes:
      ok: whether every component passed ``|analytic - numeric| <= atol + rtol * |numeric|``.
      max_abs_error: largest ``|analytic - numeric|``.
      max_rel_error: largest ``|analytic - numeric| / max(|numeric|, atol)``.
      worst_index: index (into the flattened argument) of the component that failed worst.
      analytic: ``jax.grad`` of the function, flattened (a NumPy array).
      numeric: the central-difference gradient, flattened (a NumPy array).
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: int
    analytic: Any
    numeric: Any


class GradCheckError(AssertionError):
    """Raised by :func:`check_grad` when the gradient disagrees with finite differences."""


_CHECK_TOL = {np.dtype("float64"): (1e-6, 1e-8), np.dtype("float32"): (2e-2, 2e-3), np.dtype("float16"): (1e-1, 5e-2)}


@checks.inputs(f=function)
def check_grad(
    f: Callable[..., jax.Array],
    *args: Any,
    argnums: int = 0,
    rtol: float | None = None,
    atol: float | None = None,
    raise_on_failure: bool = True,
) -> GradCheckReport:
    r"""Compare ``jax.grad(f)`` with central differences at `args`.

    Flattens argument `argnums` (any pytree of floating arrays) to a vector $\theta$ and
    checks, component by component,

    $$\big|[\nabla f(\theta)]_j - \widehat{\partial_j f}(\theta)\big|
      \le \mathrm{atol} + \mathrm{rtol}\,\big|\widehat{\partial_j f}(\theta)\big|,$$

    where $\widehat{\partial_j f}$ is the central difference of
    :func:`finite_difference_gradient`. Use it on your own loss functions, including ones
    with a ``jax.custom_vjp``. Runs eagerly (it is a diagnostic, not a jittable function).
    Default tolerances: ``rtol=1e-6, atol=1e-8`` in float64; ``rtol=2e-2, atol=2e-3`` in
    float32 (differences in float32 are only good to about ``eps**(2/3) ~ 2e-5`` relative to
    the function's scale; check in float64 when you can).

    Args:
      f: scalar-valued function of ``*args``.
      *args: the arguments at which to check.
      argnums: which argument to differentiate (keyword-only).
      rtol: relative tolerance (default per dtype, see above).
      atol: absolute tolerance (default per dtype).
      raise_on_failure: raise :class:`GradCheckError` on failure (default) instead of
        returning a report with ``ok=False``.

    Returns:
      A :class:`GradCheckReport`.

    Raises:
      GradCheckError: (an ``AssertionError``) if the check fails and `raise_on_failure`;
        the message names the worst component and both values.
      TypeError: if `f` is not callable or the argument is not floating point.
      ValueError: if `argnums` is out of range or `f` is not scalar-valued.

    References:
      [MEDL] App. A, Sec. A.2; Ch. 5 (checking backpropagation). Oracle in tests: functions
      with a deliberately wrong ``jax.custom_vjp``.

    Example:
      >>> check_grad(lambda w: jnp.sum(jnp.sin(w)), jnp.array([0.1, 0.2])).ok  # doctest: +SKIP
      True
    """
    func = checks.public_name(check_grad)
    if not isinstance(argnums, int) or not 0 <= argnums < len(args):
        checks.fail(func, "argnums", f"an int in [0, {len(args)})", argnums)
    theta, unravel = ravel_pytree(args[argnums])
    if theta.size == 0:
        checks.fail(func, f"args[{argnums}]", "at least one floating entry", "an empty pytree")
    checks.check_dtype_floating(func, f"args[{argnums}]", theta)

    def f_flat(t):
        new_args = list(args)
        new_args[argnums] = unravel(t)
        return f(*new_args)

    check_scalar_output(func, f_flat, theta)
    dflt_rtol, dflt_atol = _CHECK_TOL.get(np.dtype(theta.dtype), (1e-2, 1e-3))
    rtol = dflt_rtol if rtol is None else rtol
    atol = dflt_atol if atol is None else atol
    analytic = np.asarray(jax.grad(f_flat)(theta))
    numeric = np.asarray(finite_difference_gradient(f_flat, theta))
    err = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    # NaN anywhere counts as the worst failure.
    badness = np.where(np.isnan(err), np.inf, err / allowed)
    worst = int(np.argmax(badness))
    ok = bool(np.all(badness <= 1.0))
    report = GradCheckReport(
        ok=ok,
        max_abs_error=float(np.max(np.where(np.isnan(err), np.inf, err))),
        max_rel_error=float(np.max(np.where(np.isnan(err), np.inf, err / np.maximum(np.abs(numeric), atol)))),
        worst_index=worst,
        analytic=analytic,
        numeric=numeric,
    )
    if not ok and raise_on_failure:
        raise GradCheckError(
            f"{func}: gradient of argument {argnums} disagrees with central differences at flattened component "
            f"{worst}: jax.grad gives {float(analytic[worst]):.8g}, "
            f"finite differences give {float(numeric[worst]):.8g} "
            f"(|error| {err[worst]:.3g} > atol {atol:g} + rtol {rtol:g} * |numeric|)."
        )
    return report
