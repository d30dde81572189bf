r"""Robust linear regression: Huber and absolute loss, by iteratively reweighted least squares."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks, losses
from mathdl.estimators._common import at_least, compute_dtype, design, finite, static_int, value_checks
from mathdl.estimators._least_squares import LinearParams, _fit

__all__ = ["RobustFit", "fit_robust"]


class RobustFit(NamedTuple):
    """Result of :func:`fit_robust`.

    Attributes:
      params: fitted ``LinearParams``.
      objective: $\\frac1n\\sum_i \\rho(y_i - \\hat y_i)$ at ``params``, shape ``()``.
      num_iter: number of reweighting iterations run, int32 scalar.
      converged: whether the relative change of $\\theta$ fell below ``tol``.
    """

    params: LinearParams
    objective: jax.Array
    num_iter: jax.Array
    converged: jax.Array


def _rho(y_hat, y, loss, delta):
    if loss == "absolute":
        return losses.absolute_error(y_hat, y)
    return losses.huber(y_hat, y, delta=delta)  # [MEDL] Fig. 2.6 uses delta = 1


@checks.inputs(X=design, y="num[n]")
def fit_robust(
    X, y, *, loss: str = "huber", delta: float = 1.0, max_iter: int = 200, tol: float | None = None
) -> RobustFit:
    r"""Linear regression with the Huber or the absolute loss, by IRLS in one ``lax.while_loop``.

    Minimises $\frac1n \sum_i \rho(y_i - b - w^\top x_i)$ with
    $\rho(u) = |u|$ (``"absolute"``, least absolute deviations: the Laplace-noise MLE) or
    $\rho(u) = u^2/2$ for $|u| \le \delta$ and $\delta(|u| - \delta/2)$ otherwise (``"huber"``).
    Each iteration solves a weighted least-squares problem with weights $v_i = \rho'(r_i)/r_i$:
    $v_i = \min(1, \delta/|r_i|)$ for Huber and $v_i = 1/\max(|r_i|, \epsilon)$ for the absolute loss.
    The $\epsilon = 10^{-8}\,\mathrm{mean}|r|$ floor is a departure from the exact LAD
    objective needed to keep the weights finite when a residual is 0; it changes the optimum
    by at most $O(\epsilon)$ in the objective.

    Args:
      X: a whole data set, the design matrix without a column of ones, shape ``(n, p)``, floating.
      y: targets, shape ``(n,)`` (cast to ``X``'s dtype).
      loss: ``"huber"`` or ``"absolute"``.
      delta: Huber threshold $\delta > 0$ (ignored for the absolute loss).
      max_iter: maximum number of reweighting iterations (static int).
      tol: stop when $\lVert\theta_{t+1}-\theta_t\rVert \le$ ``tol`` $(1 + \lVert\theta_t\rVert)$;
        default ``max(1e-10, 10 eps)`` of the dtype (1e-10 in float64, 1.2e-6 in float32).

    Returns:
      :class:`RobustFit` ``(params, objective, num_iter, converged)``. Under ``jax.jit`` a
      non-finite ``X`` or ``y``, ``delta <= 0`` or ``tol < 0`` gives NaN params and
      ``converged=False``.

    Raises:
      ValueError: on shape mismatches, an unknown ``loss``, ``max_iter < 1``, or (eagerly)
        ``delta <= 0``, ``tol < 0`` or a non-finite ``X`` or ``y`` (its index is named).
      TypeError: if ``X`` is not floating or ``y`` is not numeric.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (losses of Fig. 2.6 and their noise models).
      Oracles in tests: ``scipy.optimize.minimize`` (Huber) and ``sklearn.linear_model.QuantileRegressor``
      with ``quantile=0.5, alpha=0`` (absolute loss, an exact linear program).
    """
    func = checks.public_name(fit_robust)
    checks.check_choice(func, "loss", loss, ("huber", "absolute"))
    max_iter = static_int(func, "max_iter", max_iter)
    dtype = compute_dtype(X.dtype)
    Xw, yw = X.astype(dtype), y.astype(dtype)
    tol = max(1e-10, 10 * float(jnp.finfo(dtype).eps)) if tol is None else tol
    conds = at_least("delta", delta, strict=True), at_least("tol", tol), finite("X", X), finite("y", y)
    guard = value_checks(func, *conds)

    def flat(params):
        return jnp.concatenate([params.b[None], params.w])

    def reweight(params):
        r = yw - Xw @ params.w - params.b
        a = jnp.abs(r)
        if loss == "absolute":
            floor = 1e-8 * jnp.maximum(jnp.mean(a), jnp.finfo(dtype).tiny)
            return 1.0 / jnp.maximum(a, floor)
        a_safe = jnp.where(a > delta, a, 1.0)  # double-where around the division
        return jnp.where(a > delta, delta / a_safe, 1.0)

    def fit(v):
        return LinearParams(*_fit(Xw, yw, v, jnp.zeros((), dtype)))

    def cond(state):
        _, i, done = state
        return (i < max_iter) & ~done

    def body(state):
        params, i, _ = state
        new = fit(reweight(params))
        change = jnp.linalg.norm(flat(new) - flat(params))
        done = change <= tol * (1.0 + jnp.linalg.norm(flat(params)))
        return new, i + 1, done

    params, num_iter, converged = lax.while_loop(cond, body, (fit(None), jnp.int32(0), jnp.array(False)))
    objective = jnp.mean(_rho(Xw @ params.w + params.b, yw, loss, delta))
    params = jax.tree.map(lambda a: a.astype(X.dtype), params)
    return guard(RobustFit(params, objective.astype(X.dtype), num_iter, converged))
