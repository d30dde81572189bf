r"""First-order optimizers written from the book's update rules, as Optax transformations.

Every optimizer here is an :class:`optax.GradientTransformation`: ``init(params)`` builds a
named state, ``update(grads, state, params)`` returns the *updates* $\Delta\theta$ (already
multiplied by $-\alpha$) and the new state, and :func:`optax.apply_updates` adds them. So they
chain with Optax (``optax.chain(clip_by_global_norm(1.0), adam(1e-3))``) and plug into
:func:`mathdl.train.make_train_step`.

The book writes momentum and ADAM as *exponential smoothing* of the gradient
($v \leftarrow \beta v + (1-\beta) g$), while Optax and PyTorch accumulate
($v \leftarrow \beta v + g$). mathdl follows the book and offers the framework form through
``form="classical"``; the tests reproduce each convention difference exactly.

A learning rate may be a positive float or a schedule ``t -> alpha_t`` (see
:mod:`mathdl.optim._schedules`); the schedule is evaluated at the number of updates already
made, so the first update uses $\alpha_0$. That number is the state's ``count``; it is kept only
when something reads it: a schedule, or ADAM's bias correction. With a constant learning rate
SGD, momentum, Nesterov, Adagrad and RMSprop keep ``count = None``, as Optax keeps no counter
there: a counter nobody reads is one more (scalar) kernel per step, measured at 10-15% of an
RMSprop step on a small CPU.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mathdl import checks

__all__ = [
    "AdagradState",
    "AdamState",
    "MomentumState",
    "RMSPropState",
    "SGDState",
    "adagrad",
    "adam",
    "adamw",
    "clip_by_global_norm",
    "gd",
    "momentum",
    "nesterov",
    "rmsprop",
    "sgd",
]

Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = float | Schedule

_INT32_MAX = np.iinfo(np.int32).max


class SGDState(NamedTuple):
    """State of :func:`sgd`: only the step counter (for schedules)."""

    count: jax.Array | None  # shape=(), dtype=int32: updates made so far; None with a constant learning rate


class MomentumState(NamedTuple):
    """State of :func:`momentum` and :func:`nesterov`."""

    count: jax.Array | None  # shape=(), dtype=int32; None with a constant learning rate
    v: Any  # the velocity, same pytree structure as the parameters


class AdagradState(NamedTuple):
    """State of :func:`adagrad`."""

    count: jax.Array | None  # shape=(), dtype=int32; None with a constant learning rate
    s: Any  # running sum of squared gradients, same structure as the parameters


class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`."""

    count: jax.Array | None  # shape=(), dtype=int32; None with a constant learning rate
    s: Any  # exponentially smoothed squared gradients, same structure as the parameters


class AdamState(NamedTuple):
    """State of :func:`adam` and :func:`adamw`."""

    count: jax.Array  # shape=(), dtype=int32: t - 1, the updates made so far
    v: Any  # smoothed gradient (first moment)
    s: Any  # smoothed squared gradient (second moment)


# --- construction-time checks -------------------------------------------------------------


def _check_learning_rate(func: str, learning_rate) -> None:
    if callable(learning_rate) or isinstance(learning_rate, jax.core.Tracer):
        return
    numeric = isinstance(learning_rate, (int, float, np.number, np.ndarray, jax.Array))
    if isinstance(learning_rate, bool) or not numeric or np.ndim(learning_rate) != 0:
        checks.fail(func, "learning_rate", "a finite value > 0 or a schedule", learning_rate, exc=TypeError)
    value = float(learning_rate)
    if not (math.isfinite(value) and value > 0):
        checks.fail(func, "learning_rate", "a finite value > 0 or a schedule", learning_rate)


def _check_unit(func: str, name: str, value) -> None:
    checks.check_range(func, name, value, 0.0, 1.0)  # [0, 1)


def _check_nonneg(func: str, name: str, value) -> None:
    checks.check_positive(func, name, value, strict=False)
    if not isinstance(value, jax.core.Tracer) and np.ndim(value) == 0 and not math.isfinite(float(value)):
        checks.fail(func, name, "a finite value >= 0", value)


# --- small shared pieces ---------------------------------------------------------------------


def _maybe_nonzero(value) -> bool:
    """False only for a concrete zero; a tracer (an injected hyperparameter) may be anything."""
    if isinstance(value, jax.core.Tracer):
        return True
    return bool(np.any(np.asarray(value) != 0))


def _zeros_count() -> jax.Array:
    return jnp.zeros([], jnp.int32)


def _increment(count: jax.Array) -> jax.Array:
    # Saturates instead of wrapping around after 2**31 - 1 updates.
    return jnp.where(count < _INT32_MAX, count + 1, count)


def _init_count(learning_rate: ScalarOrSchedule) -> jax.Array | None:
    """The update counter a schedule needs, or None for a constant learning rate (module docstring)."""
    return _zeros_count() if callable(learning_rate) else None


def _next_count(count: jax.Array | None) -> jax.Array | None:
    return None if count is None else _increment(count)


def _alpha(learning_rate: ScalarOrSchedule, count: jax.Array | None):
    return learning_rate(count) if callable(learning_rate) else learning_rate


def _descend(alpha, direction):
    """-alpha * direction, leaf by leaf, in each leaf's own dtype."""
    return jax.tree.map(lambda u: -jnp.asarray(alpha, u.dtype) * u, direction)


def _safe_ratio(g, s, eps):
    """g / (sqrt(s) + eps), and 0 where s == 0 (then g == 0 too); double-where keeps grads finite."""
    positive = s > 0
    root = jnp.sqrt(jnp.where(positive, s, jnp.ones_like(s)))
    return jnp.where(positive, g / (root + eps), jnp.zeros_like(g))


@jax.custom_jvp
def _sqrt0(s):
    """sqrt(s) with derivative 0 (not inf) at s = 0, so gradients through the update stay finite."""
    return jnp.sqrt(s)


@_sqrt0.defjvp
def _sqrt0_jvp(primals, tangents):
    (s,), (ds,) = primals, tangents
    root = jnp.sqrt(s)
    positive = s > 0
    return root, jnp.where(positive, ds / (2.0 * jnp.where(positive, root, jnp.ones_like(root))), jnp.zeros_like(ds))


def _ratio(g, s, eps):
    """g / (sqrt(s) + eps) in as few operations as the value allows.

    With a concrete eps > 0 the plain quotient is already 0 where s == 0 (then g == 0), so no select is
    needed (Optax's form; the selects cost a few percent of a memory-bound step); eps == 0, or a traced
    eps (optax.inject_hyperparams), keeps the guarded form of :func:`_safe_ratio`.
    """
    if not isinstance(eps, jax.core.Tracer) and np.ndim(eps) == 0 and float(eps) > 0:
        return g / (_sqrt0(s) + jnp.asarray(eps, s.dtype))
    return _safe_ratio(g, s, eps)


# --- the optimizers --------------------------------------------------------------------------


def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    r"""(Stochastic) gradient descent, $\theta \leftarrow \theta - \alpha_t g$.

    With $g = \nabla C(\theta)$ the full gradient this is gradient descent; with the gradient of
    one sample or a mini-batch it is SGD. $\alpha_t$ is `learning_rate` (a float, or a schedule
    evaluated at $t = 0, 1, \dots$, e.g. the book's geometric $\alpha_0\gamma^t$).

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`SGDState`.

    Raises:
      ValueError: if `learning_rate` is not a finite number > 0 (NaN included).
      TypeError: if `learning_rate` is neither a scalar nor callable.

    References:
      [MEDL] Ch. 4, Sec. 4.2 (gradient descent, SGD and mini-batches, geometric step sizes).
      Oracle in tests: ``optax.sgd``.
    """
    _check_learning_rate("optim.sgd", learning_rate)

    def init(params):
        del params
        return SGDState(_init_count(learning_rate))

    def update(grads, state, params=None):
        del params
        alpha = _alpha(learning_rate, state.count)
        return _descend(alpha, grads), SGDState(_next_count(state.count))

    return optax.GradientTransformation(init, update)


def gd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    r"""Gradient descent $\theta \leftarrow \theta - \alpha_t \nabla C(\theta)$ (the same rule as :func:`sgd`).

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`SGDState`.

    Raises:
      ValueError: if `learning_rate` is not a finite number > 0.

    References:
      [MEDL] Ch. 4, Sec. 4.1-4.2 (gradient descent). Oracle in tests: ``optax.sgd``.
    """
    _check_learning_rate("optim.gd", learning_rate)
    return sgd(learning_rate)


def _momentum_like(func: str, learning_rate, beta: float, form: str, lookahead: bool):
    _check_learning_rate(func, learning_rate)
    _check_unit(func, "beta", beta)
    checks.check_choice(func, "form", form, ("smoothing", "classical"))
    # Book: v <- beta v + (1 - beta) g.  Optax/PyTorch: v <- beta v + g.
    weight = 1.0 - beta if form == "smoothing" else 1.0

    def init(params):
        return MomentumState(_init_count(learning_rate), jax.tree.map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        del params
        v = jax.tree.map(lambda v, g: beta * v + weight * g, state.v, grads)
        direction = jax.tree.map(lambda v, g: beta * v + weight * g, v, grads) if lookahead else v
        alpha = _alpha(learning_rate, state.count)
        return _descend(alpha, direction), MomentumState(_next_count(state.count), v)

    return optax.GradientTransformation(init, update)


def momentum(
    learning_rate: ScalarOrSchedule, *, beta: float = 0.9, form: str = "smoothing"
) -> optax.GradientTransformation:
    r"""Gradient descent with momentum, by default in the book's exponential-smoothing form.

    With $g_t = \nabla C(\theta_t)$, $\beta$ = `beta` and $\alpha_t$ = `learning_rate`,

    $$v_{t+1} = \beta v_t + (1-\beta)\, g_t, \qquad \theta_{t+1} = \theta_t - \alpha_t v_{t+1},
      \qquad v_0 = 0 .$$

    ``form="classical"`` uses the accumulating form of Optax and PyTorch,
    $v_{t+1} = \beta v_t + g_t$. Since the smoothed velocity is $(1-\beta)$ times the
    accumulated one, the book's rule with $\alpha$ equals the classical rule with
    $\alpha(1-\beta)$; this is why the book compares runs at $\alpha = \alpha_0/(1-\beta)$.

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      beta: smoothing factor $\beta \in [0, 1)$; $\beta = 0$ is plain gradient descent.
      form: ``"smoothing"`` (book, default) or ``"classical"``.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`MomentumState`.

    Raises:
      ValueError: if `learning_rate` is not finite and > 0, `beta` is outside [0, 1), or
        `form` is unknown.

    References:
      [MEDL] Ch. 4, Sec. 4.3 (momentum as exponential smoothing of gradients).
      Polyak (1964). Oracle in tests: ``optax.sgd(alpha * (1 - beta), momentum=beta)``.
    """
    return _momentum_like("optim.momentum", learning_rate, beta, form, lookahead=False)


def nesterov(
    learning_rate: ScalarOrSchedule, *, beta: float = 0.9, form: str = "smoothing"
) -> optax.GradientTransformation:
    r"""Nesterov momentum (look-ahead form), smoothing convention by default.

    With $g_t = \nabla C(\theta_t)$, $\beta$ = `beta`, $\alpha_t$ = `learning_rate` and
    $w = 1-\beta$ (``form="smoothing"``) or $w = 1$ (``form="classical"``),

    $$v_{t+1} = \beta v_t + w\, g_t, \qquad
      \theta_{t+1} = \theta_t - \alpha_t\,(\beta v_{t+1} + w\, g_t).$$

    This is the Sutskever et al. rewriting of Nesterov's accelerated gradient that needs no
    gradient at a shifted point; it is the rule of ``optax.sgd(..., nesterov=True)`` (classical)
    and of PyTorch's ``SGD(nesterov=True)``.

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      beta: momentum factor $\beta \in [0, 1)$.
      form: ``"smoothing"`` (default) or ``"classical"``.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`MomentumState`.

    Raises:
      ValueError: if `learning_rate` is not finite and > 0, `beta` is outside [0, 1), or
        `form` is unknown.

    References:
      [MEDL] Ch. 4, Sec. 4.5 (additional first-order techniques). Nesterov (1983);
      Sutskever et al. (2013). Oracle in tests: ``optax.sgd(..., momentum=beta, nesterov=True)``.
    """
    return _momentum_like("optim.nesterov", learning_rate, beta, form, lookahead=True)


def adagrad(
    learning_rate: ScalarOrSchedule, *, eps: float = 1e-8, initial_accumulator: float = 0.0
) -> optax.GradientTransformation:
    r"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients.

    With $g_t = \nabla C(\theta_t)$, $\alpha_t$ = `learning_rate`, $\varepsilon$ = `eps` and
    $s_0$ = `initial_accumulator` (elementwise operations),

    $$s_{t+1} = s_t + g_t \odot g_t, \qquad
      \theta_{t+1} = \theta_t - \alpha_t\, g_t \oslash (\sqrt{s_{t+1}} + \varepsilon).$$

    $\varepsilon$ sits outside the square root, as in the book's ADAM. Optax puts it inside
    ($g/\sqrt{s+\varepsilon}$) and starts from $s_0 = 0.1$; the two agree exactly when both
    use $\varepsilon = 0$ and the same $s_0$. A coordinate whose gradients have all been zero
    gets a zero step (not $0/0$).

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      eps: $\varepsilon \ge 0$ added to the root.
      initial_accumulator: $s_0 \ge 0$.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`AdagradState`.

    Raises:
      ValueError: if `learning_rate` is not finite and > 0, or `eps` or
        `initial_accumulator` is negative or not finite.

    References:
      [MEDL] Ch. 4, Sec. 4.3 (the pieces ADAM is built from). Duchi, Hazan & Singer (2011).
      Oracle in tests: ``optax.adagrad(..., initial_accumulator_value=s0, eps=0)``.
    """
    _check_learning_rate("optim.adagrad", learning_rate)
    _check_nonneg("optim.adagrad", "eps", eps)
    _check_nonneg("optim.adagrad", "initial_accumulator", initial_accumulator)

    def init(params):
        s0 = jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator), params)
        return AdagradState(_init_count(learning_rate), s0)

    def update(grads, state, params=None):
        del params
        s = jax.tree.map(lambda s, g: s + g * g, state.s, grads)
        direction = jax.tree.map(lambda g, s: _ratio(g, s, eps), grads, s)
        alpha = _alpha(learning_rate, state.count)
        return _descend(alpha, direction), AdagradState(_next_count(state.count), s)

    return optax.GradientTransformation(init, update)


def rmsprop(learning_rate: ScalarOrSchedule, *, beta: float = 0.9, eps: float = 1e-8) -> optax.GradientTransformation:
    r"""RMSprop: steps scaled by the root of exponentially smoothed squared gradients.

    With $g_t = \nabla C(\theta_t)$, $\beta$ = `beta`, $\alpha_t$ = `learning_rate`,
    $\varepsilon$ = `eps` and $s_0 = 0$,

    $$s_{t+1} = \beta s_t + (1-\beta)\, g_t \odot g_t, \qquad
      \theta_{t+1} = \theta_t - \alpha_t\, g_t \oslash (\sqrt{s_{t+1}} + \varepsilon).$$

    No bias correction (that is what ADAM adds). $\varepsilon$ is outside the root, as in the
    book's ADAM; Optax's default puts it inside, so the oracle is
    ``optax.rmsprop(..., eps_in_sqrt=False)``.

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      beta: smoothing factor $\beta \in [0, 1)$ of the squared gradients.
      eps: $\varepsilon \ge 0$ added to the root.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`RMSPropState`.

    Raises:
      ValueError: if `learning_rate` is not finite and > 0, `beta` is outside [0, 1), or
        `eps` is negative.

    References:
      [MEDL] Ch. 4, Sec. 4.3 (RMSprop as a building block of ADAM). Tieleman & Hinton (2012).
      Oracle in tests: ``optax.rmsprop(..., decay=beta, eps_in_sqrt=False)``.
    """
    _check_learning_rate("optim.rmsprop", learning_rate)
    _check_unit("optim.rmsprop", "beta", beta)
    _check_nonneg("optim.rmsprop", "eps", eps)

    def init(params):
        return RMSPropState(_init_count(learning_rate), jax.tree.map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        del params
        s = jax.tree.map(lambda s, g: beta * s + (1.0 - beta) * (g * g), state.s, grads)
        direction = jax.tree.map(lambda g, s: _ratio(g, s, eps), grads, s)
        alpha = _alpha(learning_rate, state.count)
        return _descend(alpha, direction), RMSPropState(_next_count(state.count), s)

    return optax.GradientTransformation(init, update)


def _adam_like(func: str, learning_rate, b1, b2, eps, weight_decay):
    _check_learning_rate(func, learning_rate)
    _check_unit(func, "b1", b1)
    _check_unit(func, "b2", b2)
    _check_nonneg(func, "eps", eps)
    _check_nonneg(func, "weight_decay", weight_decay)

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdamState(_zeros_count(), zeros, jax.tree.map(jnp.zeros_like, params))

    # Decay is applied unless it is a concrete zero: under optax.inject_hyperparams it is a traced array
    # (any value), so no Python `if` may test its value.
    decays = _maybe_nonzero(weight_decay)

    def update(grads, state, params=None):
        if decays and params is None:
            checks.fail(func, "params", "the current parameters (weight decay needs them)", None)
        t = _increment(state.count)  # t counts from 1 at the first update
        v = jax.tree.map(lambda v, g: b1 * v + (1.0 - b1) * g, state.v, grads)
        s = jax.tree.map(lambda s, g: b2 * s + (1.0 - b2) * (g * g), state.s, grads)
        # beta^t in the betas' own dtype (float32 when injected for float32 parameters)
        c1 = 1.0 - b1 ** t.astype(jnp.result_type(b1))  # bias corrections 1 - beta^t
        c2 = 1.0 - b2 ** t.astype(jnp.result_type(b2))

        def direction(v, s):
            v_hat = v / c1.astype(v.dtype)
            s_hat = s / c2.astype(s.dtype)
            return v_hat / (jnp.sqrt(s_hat) + eps)  # eps outside the root (book, Kingma & Ba)

        d = jax.tree.map(direction, v, s)
        if decays:  # decoupled: added to the step, not to the gradient
            d = jax.tree.map(lambda d, p: d + jnp.asarray(weight_decay, d.dtype) * p, d, params)
        alpha = _alpha(learning_rate, state.count)
        return _descend(alpha, d), AdamState(t, v, s)

    return optax.GradientTransformation(init, update)


def adam(
    learning_rate: ScalarOrSchedule, *, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""ADAM: smoothed gradient over the root of smoothed squared gradient, bias corrected.

    With $g_t = \nabla C(\theta_{t-1})$, $\beta_1$ = `b1`, $\beta_2$ = `b2`,
    $\varepsilon$ = `eps`, $\alpha$ = `learning_rate`, $v_0 = s_0 = 0$ and $t = 1, 2, \dots$
    counting updates from one,

    $$v_t = \beta_1 v_{t-1} + (1-\beta_1) g_t, \qquad
      s_t = \beta_2 s_{t-1} + (1-\beta_2)\, g_t \odot g_t,$$
    $$\hat v_t = \frac{v_t}{1-\beta_1^t}, \qquad \hat s_t = \frac{s_t}{1-\beta_2^t}, \qquad
      \theta_t = \theta_{t-1} - \alpha\, \hat v_t \oslash (\sqrt{\hat s_t} + \varepsilon).$$

    $\varepsilon$ is outside the square root (Kingma & Ba; Optax's ``eps``; Optax's
    ``eps_root`` would be inside). A schedule is evaluated at $t-1$.

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      b1: $\beta_1 \in [0, 1)$, smoothing of the gradient.
      b2: $\beta_2 \in [0, 1)$, smoothing of the squared gradient.
      eps: $\varepsilon \ge 0$.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`AdamState`.

    Raises:
      ValueError: if `learning_rate` is not finite and > 0, `b1` or `b2` is outside [0, 1),
        or `eps` is negative.

    References:
      [MEDL] Ch. 4, Sec. 4.3 (adaptive optimisation with ADAM). Kingma & Ba (2015).
      Oracle in tests: ``optax.adam``.
    """
    return _adam_like("optim.adam", learning_rate, b1, b2, eps, 0.0)


def adamw(
    learning_rate: ScalarOrSchedule,
    *,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
) -> optax.GradientTransformation:
    r"""ADAM with decoupled weight decay (AdamW).

    The ADAM direction of :func:`adam` plus $\lambda\theta$ with $\lambda$ = `weight_decay`,
    added to the step rather than to the gradient (so it is not rescaled by
    $\sqrt{\hat s_t}$):

    $$\theta_t = \theta_{t-1} - \alpha\big(\hat v_t \oslash (\sqrt{\hat s_t} + \varepsilon)
      + \lambda\, \theta_{t-1}\big).$$

    As in Optax, the decay is multiplied by the learning rate (PyTorch does the same); the
    default $\lambda = 10^{-4}$ is Optax's.

    Args:
      learning_rate: step size $\alpha > 0$, or a schedule ``t -> alpha_t``.
      b1: $\beta_1 \in [0, 1)$.
      b2: $\beta_2 \in [0, 1)$.
      eps: $\varepsilon \ge 0$.
      weight_decay: $\lambda \ge 0$.

    Returns:
      An ``optax.GradientTransformation`` whose state is :class:`AdamState`; its ``update``
      needs ``params``.

    Raises:
      ValueError: on a bad hyperparameter (as :func:`adam`, and a negative `weight_decay`),
        or when ``update`` is called without ``params`` while `weight_decay` > 0.

    References:
      [MEDL] Ch. 4, Sec. 4.3 and 4.5. Loshchilov & Hutter (2019).
      Oracle in tests: ``optax.adamw``.
    """
    return _adam_like("optim.adamw", learning_rate, b1, b2, eps, weight_decay)


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
    r"""Rescale the whole gradient pytree so its global norm is at most `max_norm`.

    With $\|g\| = \sqrt{\sum_{\text{leaves}} \sum_j g_j^2}$ and $c$ = `max_norm`,

    $$g \leftarrow g \cdot \frac{c}{\max(\|g\|, c)} ,$$

    which leaves $g$ alone when $\|g\| \le c$ and keeps its direction otherwise. A non-finite
    gradient stays non-finite (it is never turned into a finite wrong step). Chain it before
    an optimizer: ``optax.chain(clip_by_global_norm(1.0), adam(1e-3))``.

    Args:
      max_norm: the largest allowed norm $c > 0$.

    Returns:
      An ``optax.GradientTransformation`` with an empty state.

    Raises:
      ValueError: if `max_norm` is not finite and > 0.

    References:
      [MEDL] Ch. 5 (exploding gradients) and Ch. 7 (clipping in recurrent networks).
      Pascanu, Mikolov & Bengio (2013). Oracle in tests: ``optax.clip_by_global_norm``.
    """
    numeric = isinstance(max_norm, (int, float, np.number, np.ndarray, jax.Array))
    if isinstance(max_norm, bool) or not numeric or np.ndim(max_norm) != 0:
        checks.fail("optim.clip_by_global_norm", "max_norm", "a finite value > 0", max_norm, exc=TypeError)
    traced = isinstance(max_norm, jax.core.Tracer)  # injected by optax.inject_hyperparams: checked when concrete
    if not traced and not (math.isfinite(float(max_norm)) and float(max_norm) > 0):
        checks.fail("optim.clip_by_global_norm", "max_norm", "a finite value > 0", max_norm)

    def init(params):
        del params
        return optax.EmptyState()

    def update(grads, state, params=None):
        del params
        leaves = jax.tree.leaves(grads)
        norm = jnp.sqrt(sum(jnp.sum(g.astype(jnp.result_type(float)) ** 2) for g in leaves))
        c = jnp.asarray(max_norm, norm.dtype)
        factor = c / jnp.maximum(norm, c)
        return jax.tree.map(lambda g: g * factor.astype(g.dtype), grads), state

    return optax.GradientTransformation(init, update)
