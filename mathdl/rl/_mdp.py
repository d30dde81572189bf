"""Finite Markov decision processes as arrays: Bellman operators, policy evaluation, value and policy iteration."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks

__all__ = [
    "DPResult",
    "FiniteMDP",
    "bellman_operator",
    "bellman_optimality_operator",
    "policy_evaluation",
    "policy_iteration",
    "q_values",
    "value_iteration",
]


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
    total, low = float(P_np[s, a].sum()), float(P_np[s, a].min())
    return f"the row P[{s}, {a}, :] (state {s}, action {a}) summing to {total!r} with min {low!r}"


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


class DPResult(NamedTuple):
    r"""What a dynamic-programming solver returns.

    Attributes:
      V: state values, shape ``(S,)``.
      Q: action values :math:`Q(s, a) = r(s, a) + \gamma \sum_{s'} P(s'|s,a) V(s')`, shape ``(S, A)``.
      policy: the greedy policy :math:`\arg\max_a Q(s, a)` (lowest index on ties), int32 ``(S,)``.
      iterations: the number of sweeps (value iteration, iterative evaluation) or improvement steps
        (policy iteration) taken, int32 scalar.
      residuals: :math:`\|V_{k+1} - V_k\|_\infty` of each sweep, shape ``(max_iters,)``; NaN after
        ``iterations``.
      converged: whether the stopping rule was met within ``max_iters``, bool scalar.
    """

    V: jax.Array
    Q: jax.Array
    policy: jax.Array
    iterations: jax.Array
    residuals: jax.Array
    converged: jax.Array


def _arrays(P, r, gamma):
    P = jnp.asarray(P)
    if not jnp.issubdtype(P.dtype, jnp.floating):
        P = P.astype(jnp.result_type(float))
    return P, jnp.asarray(r, P.dtype), jnp.asarray(gamma, P.dtype)


def _q(P, r, g, V):
    return r + g * jnp.einsum("sat,t->sa", P, V)


def _policy_probs(func: str, policy, S: int, A: int, dtype) -> jax.Array:
    policy = jnp.asarray(policy)
    if policy.ndim == 1:
        checks.check_shape(func, "policy", policy, (S,))
        if not jnp.issubdtype(policy.dtype, jnp.integer):
            checks.fail(
                func, "policy", "int actions (S,) or probabilities (S, A)", checks.Text(f"dtype {policy.dtype}")
            )
        return jax.nn.one_hot(policy, A, dtype=dtype)
    checks.check_shape(func, "policy", policy, (S, A))
    return policy.astype(dtype)


def q_values(P, r, gamma, V) -> jax.Array:
    r"""One-step look-ahead :math:`Q(s, a) = r(s, a) + \gamma \sum_{s'} P(s' | s, a) V(s')`.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1]``.
      V: state values, shape ``(S,)``.

    Returns:
      ``Q`` of shape ``(S, A)``.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (eagerly; NaN under
        jit) or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.5 (eq. 3.14 and the Bellman equation for q).
    """
    func = checks.public_name(q_values)
    _check_shapes(func, P, r)
    checks.check_shape(func, "V", V, (np.shape(P)[0],))
    P, r, g = _arrays(P, r, gamma)
    return _validate(func, (P, r, gamma), _q(P, r, g, jnp.asarray(V, P.dtype)))


def bellman_operator(P, r, gamma, V, policy) -> jax.Array:
    r"""The Bellman expectation operator of a policy,
    :math:`(T^\pi V)(s) = \sum_a \pi(a|s) \big[r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')\big]`.

    :math:`T^\pi` is a :math:`\gamma`-contraction in the sup norm,
    :math:`\|T^\pi V - T^\pi U\|_\infty \le \gamma \|V - U\|_\infty`, with fixed point :math:`V^\pi`.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1]``.
      V: state values, shape ``(S,)``.
      policy: a deterministic policy, int ``(S,)``, or action probabilities ``(S, A)``.

    Returns:
      :math:`T^\pi V`, shape ``(S,)``.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (eagerly; NaN under
        jit) or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.5 (eq. 3.14) and Ch. 4.1.
    """
    func = checks.public_name(bellman_operator)
    _check_shapes(func, P, r)
    S, A = np.shape(r)
    checks.check_shape(func, "V", V, (S,))
    P, r, g = _arrays(P, r, gamma)
    pi = _policy_probs(func, policy, S, A, P.dtype)
    out = jnp.sum(pi * _q(P, r, g, jnp.asarray(V, P.dtype)), axis=-1)
    return _validate(func, (P, r, gamma), out)


def bellman_optimality_operator(P, r, gamma, V) -> jax.Array:
    r"""The Bellman optimality operator,
    :math:`(T V)(s) = \max_a \big[r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')\big]`.

    :math:`T` is a :math:`\gamma`-contraction in the sup norm,
    :math:`\|T V - T U\|_\infty \le \gamma \|V - U\|_\infty`, and monotone (:math:`V \le U \Rightarrow
    TV \le TU`); its unique fixed point is :math:`V^*`.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1]``.
      V: state values, shape ``(S,)``.

    Returns:
      :math:`T V`, shape ``(S,)``.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (eagerly; NaN under
        jit) or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 3.6 (eq. 3.19) and Ch. 4.4.
    """
    func = checks.public_name(bellman_optimality_operator)
    _check_shapes(func, P, r)
    checks.check_shape(func, "V", V, (np.shape(P)[0],))
    P, r, g = _arrays(P, r, gamma)
    return _validate(func, (P, r, gamma), jnp.max(_q(P, r, g, jnp.asarray(V, P.dtype)), axis=-1))


def _solve(P, r, g, pi):
    S = P.shape[0]
    P_pi = jnp.einsum("sa,sat->st", pi, P)
    r_pi = jnp.sum(pi * r, axis=-1)
    return jnp.linalg.solve(jnp.eye(S, dtype=P.dtype) - g * P_pi, r_pi)


# The loop bodies are module-level functions with the arrays in the carry, so that eager calls hit
# lax.while_loop's cache instead of compiling a fresh closure each time.
def _sweep_cond(c):
    k, _, res, done, _ = c
    return (k < res.shape[0]) & ~done


def _evaluation_update(V, consts):
    P, r, g, pi, _ = consts
    return jnp.sum(pi * _q(P, r, g, V), -1)


def _optimality_update(V, consts):
    P, r, g, _, _ = consts
    return jnp.max(_q(P, r, g, V), -1)


def _sweep_body(update, c):
    k, V, res, _, consts = c
    V_new = update(V, consts)
    delta = jnp.max(jnp.abs(V_new - V))
    return k + 1, V_new, res.at[k].set(delta), delta <= consts[4], consts


def _evaluation_body(c):
    return _sweep_body(_evaluation_update, c)


def _optimality_body(c):
    return _sweep_body(_optimality_update, c)


def _sweeps(body, P, r, g, pi, V0, tol, max_iters):
    """Iterate ``V <- update(V)`` until the sup-norm change is at most ``tol`` (a while loop)."""
    res0 = jnp.full((max_iters,), jnp.nan, V0.dtype)
    consts = (P, r, g, pi, jnp.asarray(tol, V0.dtype))
    init = (jnp.zeros((), jnp.int32), V0, res0, jnp.asarray(False), consts)
    k, V, res, done, _ = jax.lax.while_loop(_sweep_cond, body, init)
    return V, k, res, done


def _pi_cond(c):
    k, _, _, res, stable, _ = c
    return (k < res.shape[0]) & ~stable


def _pi_body(c):
    k, pi, V, res, _, consts = c
    P, r, g, margin = consts
    Q = _q(P, r, g, V)
    best = jnp.argmax(Q, -1).astype(jnp.int32)
    current = jnp.take_along_axis(Q, pi[:, None], -1)[:, 0]
    better = jnp.max(Q, -1) > current + margin
    pi_new = jnp.where(better, best, pi)
    V_new = _solve(P, r, g, jax.nn.one_hot(pi_new, P.shape[1], dtype=P.dtype))
    return k + 1, pi_new, V_new, res.at[k].set(jnp.max(jnp.abs(V_new - V))), ~jnp.any(better), consts


def _check_iters(func, tol, max_iters):
    checks.check_positive(func, "tol", tol, strict=False)
    if not isinstance(max_iters, int) or max_iters < 1:
        checks.fail(func, "max_iters", "a positive Python int", max_iters)


def policy_evaluation(
    P, r, gamma, policy, *, method: str = "solve", tol: float = 1e-10, max_iters: int = 10_000, V0=None
) -> DPResult:
    r"""The value :math:`V^\pi` of a policy, by a linear solve or by iterating the Bellman operator.

    ``method="solve"``: :math:`V^\pi = (I - \gamma P_\pi)^{-1} r_\pi` with
    :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s,a)` and :math:`r_\pi(s) = \sum_a \pi(a|s) r(s,a)`
    (singular when ``gamma = 1`` and the chain has an absorbing state: use ``"iterate"`` there).
    ``method="iterate"``: :math:`V_{k+1} = T^\pi V_k` from ``V0`` until
    :math:`\|V_{k+1} - V_k\|_\infty \le` ``tol``; then :math:`\|V_{k+1} - V^\pi\|_\infty \le
    \frac{\gamma}{1-\gamma}` ``tol``.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1]`` (a scalar array may be traced, e.g. under ``jax.vmap``).
      policy: a deterministic policy, int ``(S,)``, or action probabilities ``(S, A)``.
      method: ``"solve"`` or ``"iterate"``.
      tol: stopping threshold of ``"iterate"`` on the sup-norm change.
      max_iters: most sweeps of ``"iterate"`` (the length of ``residuals``).
      V0: starting values ``(S,)`` of ``"iterate"``; default zeros.

    Returns:
      A :class:`DPResult`: ``V`` = :math:`V^\pi`, ``Q`` = :math:`Q^\pi`, ``policy`` greedy in ``Q``;
      for ``"solve"`` ``iterations`` is 1, ``residuals`` has one entry :math:`\|T^\pi V - V\|_\infty`.

    Raises:
      ValueError: if the shapes disagree, ``method`` is unknown, a row of ``P`` is not a probability
        vector (eagerly, naming the state and action; NaN under jit) or ``gamma`` is outside ``[0, 1]``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 4.1 (iterative policy evaluation).
    """
    func = checks.public_name(policy_evaluation)
    _check_shapes(func, P, r)
    checks.check_choice(func, "method", method, ("solve", "iterate"))
    _check_iters(func, tol, max_iters)
    S, A = np.shape(r)
    P, r, g = _arrays(P, r, gamma)
    pi = _policy_probs(func, policy, S, A, P.dtype)
    if method == "solve":
        V = _solve(P, r, g, pi)
        res = jnp.max(jnp.abs(jnp.sum(pi * _q(P, r, g, V), -1) - V))[None]
        k, done = jnp.ones((), jnp.int32), jnp.isfinite(res[0])
    else:
        V0 = jnp.zeros((S,), P.dtype) if V0 is None else jnp.asarray(V0, P.dtype)
        checks.check_shape(func, "V0", V0, (S,))
        V, k, res, done = _sweeps(_evaluation_body, P, r, g, pi, V0, tol, max_iters)
    Q = _q(P, r, g, V)
    out = DPResult(V, Q, jnp.argmax(Q, -1).astype(jnp.int32), k, res, done)
    return _validate(func, (P, r, gamma), out)


def value_iteration(P, r, gamma, *, tol: float = 1e-10, max_iters: int = 10_000, V0=None) -> DPResult:
    r"""Value iteration :math:`V_{k+1} = T V_k`, :math:`(TV)(s) = \max_a [r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')]`.

    Stops when :math:`\|V_{k+1} - V_k\|_\infty \le` ``tol``. Since :math:`T` is a
    :math:`\gamma`-contraction, the residuals fall at least geometrically,
    :math:`\|V_{k+1} - V_k\|_\infty \le \gamma^k \|V_1 - V_0\|_\infty`, and at the stop
    :math:`\|V_{k+1} - V^*\|_\infty \le \frac{\gamma}{1 - \gamma}` ``tol``. From ``V0 = 0`` with
    nonnegative rewards the iterates increase monotonically to :math:`V^*`.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1]`` (``1`` converges for episodic MDPs whose policies all
        terminate, or with costs that make lingering lose; a scalar array may be traced).
      tol: stopping threshold on the sup-norm change.
      max_iters: most sweeps (the length of ``residuals``).
      V0: starting values ``(S,)``; default zeros.

    Returns:
      A :class:`DPResult` with ``V`` :math:`\approx V^*`, ``Q`` :math:`\approx Q^*`, the greedy
      (optimal) ``policy``, the sweeps taken, their residuals and whether ``tol`` was met.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (eagerly, naming the
        state and action; NaN under jit), ``gamma`` is outside ``[0, 1]``, ``tol < 0`` or
        ``max_iters < 1``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 4.4 (value iteration); Bellman (1957).
    """
    func = checks.public_name(value_iteration)
    _check_shapes(func, P, r)
    _check_iters(func, tol, max_iters)
    S = np.shape(r)[0]
    P, r, g = _arrays(P, r, gamma)
    V0 = jnp.zeros((S,), P.dtype) if V0 is None else jnp.asarray(V0, P.dtype)
    checks.check_shape(func, "V0", V0, (S,))
    V, k, res, done = _sweeps(_optimality_body, P, r, g, jnp.zeros(r.shape, P.dtype), V0, tol, max_iters)
    Q = _q(P, r, g, V)
    return _validate(func, (P, r, gamma), DPResult(V, Q, jnp.argmax(Q, -1).astype(jnp.int32), k, res, done))


def policy_iteration(P, r, gamma, *, max_iters: int = 100, policy0=None, tol: float = 1e-12) -> DPResult:
    r"""Policy iteration: evaluate :math:`V^{\pi_k}` by a linear solve, improve
    :math:`\pi_{k+1}(s) = \arg\max_a Q^{\pi_k}(s, a)`, until the policy is stable.

    Each improvement makes :math:`V^{\pi_{k+1}} \ge V^{\pi_k}` (the policy improvement theorem); with
    finitely many deterministic policies it stops at an optimal one. To avoid cycling between tied
    actions, an action is changed only if some action beats it by more than ``tol``.

    Args:
      P: transition probabilities, shape ``(S, A, S)``.
      r: expected rewards, shape ``(S, A)``.
      gamma: discount factor in ``[0, 1)`` (the solve is singular at 1 with absorbing states).
      max_iters: most improvement steps (the length of ``residuals``).
      policy0: the starting deterministic policy, int ``(S,)``; default all zeros.
      tol: the margin an action must beat the current one by to replace it.

    Returns:
      A :class:`DPResult`: ``V`` = :math:`V^{\pi}` of the final policy, its ``Q``, the ``policy``,
      the improvement steps taken (the last found nothing to change), the residuals
      :math:`\|V^{\pi_{k+1}} - V^{\pi_k}\|_\infty` and whether the policy became stable.

    Raises:
      ValueError: if the shapes disagree, a row of ``P`` is not a probability vector (eagerly, naming the
        state and action; NaN under jit), ``gamma`` is outside ``[0, 1]`` or ``max_iters < 1``.

    References:
      [MEDL] Ch. 8, Sec. 8.4; Sutton & Barto (2018), Ch. 4.2-4.3 (policy improvement and iteration);
      Howard (1960).
    """
    func = checks.public_name(policy_iteration)
    _check_shapes(func, P, r)
    _check_iters(func, tol, max_iters)
    S, A = np.shape(r)
    P, r, g = _arrays(P, r, gamma)
    pi0 = jnp.zeros((S,), jnp.int32) if policy0 is None else jnp.asarray(policy0, jnp.int32)
    checks.check_shape(func, "policy0", pi0, (S,))

    res0 = jnp.full((max_iters,), jnp.nan, P.dtype)
    V0 = _solve(P, r, g, jax.nn.one_hot(pi0, A, dtype=P.dtype))
    init = (jnp.zeros((), jnp.int32), pi0, V0, res0, jnp.asarray(False), (P, r, g, jnp.asarray(tol, P.dtype)))
    k, pi, V, res, stable, _ = jax.lax.while_loop(_pi_cond, _pi_body, init)
    out = DPResult(V, _q(P, r, g, V), pi, k, res, stable)
    return _validate(func, (P, r, gamma), out)
