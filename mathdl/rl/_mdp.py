"""Finite Markov decision processes as arrays: Bellman operators, policy evaluation, value and policy iteration."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = ["FiniteMDP"]


class FiniteMDP(NamedTuple):
    r"""A finite MDP :math:`(\mathcal S, \mathcal A, P, r, \gamma)` stored as arrays.

    ``P[s, a, s'] = P(S_{t+1} = s' | S_t = s, A_t = a)`` and ``r[s, a] = E[R_{t+1} | S_t = s, A_t = a]``;
    every row ``P[s, a, :]`` is a probability vector. Terminal states are absorbing with zero reward
    (``P[s, a, s] = 1``, ``r[s, a] = 0``), so their value is 0.

    Attributes:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor :math:`\gamma \in [0, 1]` (a Python float or a scalar array).

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), *Reinforcement Learning*, 2nd ed., Ch. 3.
    """

    P: jax.Array
    r: jax.Array
    gamma: float | jax.Array


def _row_sum_tol(dtype) -> float:
    return 1e-9 if jnp.dtype(dtype) == jnp.float64 else 1e-5


def _check_shapes(func: str, P, r) -> None:
    checks.check_rank(func, "P", P, 3)
    checks.check_rank(func, "r", r, 2)
    S, A, S2 = np.shape(P)
    if S != S2:
        checks.fail(func, "P", "shape (S, A, S) with the same S first and last", checks.Text(f"shape {np.shape(P)}"))
    if tuple(np.shape(r)) != (S, A):
        checks.fail(
            func,
            "r",
            f"shape (S, A) = {(S, A)} to match `P` of shape {np.shape(P)}",
            checks.Text(f"shape {np.shape(r)}"),
        )


def _bad_rows(P, ok) -> str:
    """The first (state, action) whose row of ``P`` is not a probability vector, for the eager message."""
    try:
        ok_np, P_np = np.asarray(ok), np.asarray(P)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return "rows that are not probability vectors"
    if ok_np.all():
        return "rows that are not probability vectors"
    s, a = (int(i) for i in np.argwhere(~ok_np)[0])
    return (
        f"the row P[{s}, {a}, :] (state {s}, action {a}) summing to {P_np[s, a].sum()!r} with min {P_np[s, a].min()!r}"
    )


def _validate(func: str, mdp, out):
    """Static checks on ``mdp`` (raise) and value checks on ``P`` and ``gamma`` (:func:`checks.ensure`)."""
    P, r, gamma = mdp
    _check_shapes(func, P, r)
    if not isinstance(gamma, jax.core.Tracer) and np.ndim(gamma) == 0:
        checks.check_range(func, "gamma", float(gamma), 0.0, 1.0, high_closed=True)
    elif np.ndim(gamma) != 0:
        checks.fail(func, "gamma", "a scalar", checks.Text(f"shape {np.shape(gamma)}"))
    P = jnp.asarray(P)
    ok_rows = (jnp.abs(P.sum(-1) - 1) <= _row_sum_tol(P.dtype)) & jnp.all(P >= 0, axis=-1)
    out = checks.ensure(ok_rows, out, func, "P", "rows P[s, a, :] that are probability vectors", _bad_rows(P, ok_rows))
    g = jnp.asarray(gamma)
    return checks.ensure(
        (g >= 0) & (g <= 1), out, func, "gamma", "a value in [0, 1]", checks.first_bad(g, (g >= 0) & (g <= 1))
    )
