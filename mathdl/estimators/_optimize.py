"""Private compiled minimisers (Newton, L-BFGS, gradient descent) used by the linear classifiers.

All run in one ``lax.while_loop`` over a flat parameter vector and record the objective and the
weight norm of every iterate in fixed-size histories (NaN after the last iterate).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from mathdl.estimators._linalg import svd


class MinimizeResult(NamedTuple):
    theta: jax.Array
    num_iter: jax.Array
    converged: jax.Array
    loss_history: jax.Array
    norm_history: jax.Array


def default_tol(dtype) -> float:
    """The stopping tolerance when none is given: ``sqrt(eps)`` of ``dtype`` (1.5e-8 in float64, 3.5e-4 in float32).

    Newton's step and a gradient norm cannot go much below ``eps`` times the size of the terms they
    are computed from, so a fixed tolerance such as 1e-10 is unreachable in float32 and the fit would
    report ``converged=False`` after a correct solve; ``sqrt(eps)`` is reachable in every dtype and,
    for Newton's quadratic convergence, leaves an error of order ``eps`` after the last step.
    """
    return float(jnp.finfo(dtype).eps) ** 0.5


def _lstsq(H, g):
    # The minimum-norm solution of H delta = g through the SVD (cut-off eps * size * s_max, as NumPy).
    U, s, Vt = svd(H)
    keep = s > jnp.finfo(H.dtype).eps * H.shape[0] * jnp.max(s)
    inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
    return Vt.T @ (inv * (U.T @ g))


def minimize(f, theta0, *, method, max_iter, tol, learning_rate, n_bias, grad_hess=None):
    """Minimise a smooth convex ``f`` over a flat vector, starting from ``theta0``.

    ``method``: ``"newton"`` (step ``H^+ g`` by least squares, so a singular Hessian gives the
    minimum-norm step), ``"lbfgs"`` (optax's L-BFGS with zoom line search) or ``"gd"``
    (fixed ``learning_rate``). Newton stops when the step is below ``tol (1 + |theta|)``; the
    others when ``|grad| <= tol``. ``converged`` is set only when that rule held at a finite
    iterate; a non-finite step (NaN data, overflow from a huge learning rate) ends the run at the
    last finite iterate with ``converged=False``.
    """
    dtype = theta0.dtype
    nan_hist = jnp.full((max_iter + 1,), jnp.nan, dtype)

    def wnorm(theta):
        return jnp.linalg.norm(theta[n_bias:])

    def record(hists, i, theta, value):
        lh, nh = hists
        return lh.at[i].set(value), nh.at[i].set(wnorm(theta))

    if grad_hess is None:
        grad_hess = lambda t: (jax.grad(f)(t), jax.hessian(f)(t))

    if method == "lbfgs":
        opt = optax.lbfgs()
        vg = optax.value_and_grad_from_state(f)
        # optax's L-BFGS mixes int32 and int64 counters when x64 is on; let it promote as it expects.
        with jax.numpy_dtype_promotion("standard"):
            extra0 = opt.init(theta0)
    else:
        extra0 = jnp.zeros((), dtype)

    def cond(s):
        _, i, stop, _, _, _ = s
        return (i < max_iter) & ~stop

    def body(s):
        theta, i, _, _, hists, extra = s
        if method == "newton":
            g, H = grad_hess(theta)
            # Least-squares solve instead of H^{-1} g: the Hessian of a separable or
            # over-parametrised (softmax) problem is singular; never an explicit inverse.
            delta = _lstsq(H, g)
            new = theta - delta
            small = jnp.linalg.norm(delta) <= tol * (1.0 + jnp.linalg.norm(theta))
        elif method == "lbfgs":
            with jax.numpy_dtype_promotion("standard"):  # see opt.init above
                value, g = vg(theta, state=extra)
                updates, extra = opt.update(g, extra, theta, value=value, grad=g, value_fn=f)
                new = optax.apply_updates(theta, updates)
            small = jnp.linalg.norm(g) <= tol
        else:
            g = jax.grad(f)(theta)
            new = theta - learning_rate * g
            small = jnp.linalg.norm(g) <= tol
        # A non-finite step (overflow, NaN data) ends the run at the last finite iterate, not converged.
        finite = jnp.all(jnp.isfinite(new)) & jnp.all(jnp.isfinite(g))
        new = jnp.where(finite, new, theta)
        hists = record(hists, i + 1, new, f(new))
        return new, i + 1, small | ~finite, small & finite, hists, extra

    hists0 = record((nan_hist, nan_hist), 0, theta0, f(theta0))
    init = (theta0, jnp.int32(0), jnp.array(False), jnp.array(False), hists0, extra0)
    theta, n, _, converged, (lh, nh), _ = lax.while_loop(cond, body, init)
    return MinimizeResult(theta, n, converged, lh, nh)
