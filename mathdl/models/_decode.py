r"""Autoregressive decoding for any language model: sampling, greedy decoding and beam search.

Inference in a language model ([MEDL] Ch. 7, eq. 7.34) starts from a prompt (at least the
``<start>`` token) and appends one token at a time, each drawn from
$\hat y^{\langle t\rangle} = \mathrm{softmax}(z^{\langle t\rangle})$, the model's prediction after
the tokens so far. The model enters through a *stepper*: every LM parameter type registers

* ``init_state(params, max_len) -> state``: the empty running state (an RNN's hidden state, a
  transformer's key-value cache with room for ``max_len`` positions), and
* ``step(params, state, token, t) -> (logits (d_V,), state)``: feed the token at position ``t``
  (0-based) and return the logits $z$ of the *next* token,

with :func:`register_lm`. Both are traced, so :func:`generate` and :func:`beam_search` are one
``lax.scan`` each and jit with static ``max_len``, ``beam_width`` and sampling settings:

    gen = jax.jit(functools.partial(models.generate, max_len=32, temperature=0.8, top_k=5))
    tokens = gen(key, params, prompt)

All lengths are fixed: the output always has ``max_len`` tokens, the prompt first; once the stop
token has been produced every later position holds ``pad_id``.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from mathdl import checks

__all__ = ["BeamResult", "LMStepper", "beam_search", "filter_logits", "generate", "register_lm"]


class LMStepper(NamedTuple):
    """How :func:`generate` and :func:`beam_search` run one registered LM type.

    Attributes:
      init_state: ``init_state(params, max_len) -> state``, a pytree of arrays.
      step: ``step(params, state, token () int, t () int) -> (logits (d_V,), state)``.
      capacity: ``capacity(params) -> int | None``, the most positions the model can hold
        (a transformer's learned positions), or ``None`` for no limit.
    """

    init_state: Callable
    step: Callable
    capacity: Callable | None = None


class BeamResult(NamedTuple):
    """What :func:`beam_search` returns, best beam first.

    Attributes:
      tokens: ``(beam_width, max_len)`` int32, each the prompt followed by the beam's tokens
        (``pad_id`` after its stop token).
      scores: ``(beam_width,)``, the beams' log-probabilities $\\sum_t \\log \\hat y^{\\langle t\\rangle}_{y_t}$
        of the generated tokens, divided by ``length ** length_penalty``.
      lengths: ``(beam_width,)`` int32, generated tokens up to and including the stop token.
    """

    tokens: jax.Array
    scores: jax.Array
    lengths: jax.Array


_REGISTRY: dict[type, LMStepper] = {}


def register_lm(params_type: type, *, init_state: Callable, step: Callable, capacity: Callable | None = None) -> type:
    r"""Register how to decode a language model whose parameters are of type ``params_type``.

    Args:
      params_type: the model's parameter class (a NamedTuple), e.g. ``TransformerLMParams``.
      init_state: ``init_state(params, max_len) -> state``.
      step: ``step(params, state, token, t) -> (logits (d_V,), state)``; ``token`` and ``t`` are
        int32 scalars (``t`` the 0-based position of ``token``).
      capacity: optional ``capacity(params) -> int | None``, the longest sequence the model takes.

    Returns:
      ``params_type`` (so it may be used as a class decorator through ``functools.partial``).

    Raises:
      TypeError: if ``params_type`` is not a class or a function is not callable.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (an RNN as a step map) and Sec. 7.5 (eq. 7.34).
    """
    func = checks.public_name(register_lm)
    if not isinstance(params_type, type):
        checks.fail(func, "params_type", "a class", type(params_type).__name__, exc=TypeError)
    for name, fn in (("init_state", init_state), ("step", step)):
        if not callable(fn):
            checks.fail(func, name, "a callable", type(fn).__name__, exc=TypeError)
    if capacity is not None and not callable(capacity):
        checks.fail(func, "capacity", "a callable or None", type(capacity).__name__, exc=TypeError)
    _REGISTRY[params_type] = LMStepper(init_state, step, capacity)
    return params_type


def _stepper(func: str, params) -> LMStepper:
    stepper = _REGISTRY.get(type(params))
    if stepper is None:
        known = ", ".join(sorted(t.__name__ for t in _REGISTRY)) or "none yet"
        checks.fail(
            func,
            "params",
            f"the parameters of a registered language model ({known})",
            type(params).__name__,
            exc=TypeError,
        )
    return stepper


def _count(func: str, name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        checks.fail(func, name, f"an int >= {low}", value)
    return int(value)


def _check_sampling(func: str, temperature, top_k, top_p) -> None:
    if isinstance(temperature, jax.core.Tracer) or not isinstance(temperature, int | float | np.floating):
        got = checks.Text(type(temperature).__name__)
        checks.fail(func, "temperature", "a Python number >= 0 (static)", got, exc=TypeError)
    checks.check_positive(func, "temperature", temperature, strict=False)
    if top_k is not None:
        _count(func, "top_k", top_k, 1)
    if top_p is not None:
        checks.check_range(func, "top_p", top_p, 0.0, 1.0, low_closed=False, high_closed=True)


def _check_prompt(func: str, prompt, max_len, capacity) -> jax.Array:
    prompt = checks.conform(func, "prompt", prompt, "int[T0]")
    if prompt.shape[0] < 1:
        checks.fail(func, "prompt", "at least one token (e.g. <start>)", checks.Text("shape (0,)"))
    max_len = _count(func, "max_len", max_len, 1)
    if max_len < prompt.shape[0]:
        checks.fail(func, "max_len", f"at least the prompt's length {prompt.shape[0]}", max_len)
    if capacity is not None and max_len > capacity:
        checks.fail(func, "max_len", f"at most the model's {capacity} positions", max_len)
    return prompt.astype(jnp.int32)


@checks.inputs(logits="float[d_V]")
def filter_logits(logits: jax.Array, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None):
    r"""The logits a sampler draws from: scaled by the temperature, then cut to the top-k / top-p tokens.

    $z \mapsto z/\tau$; top-$k$ keeps the $k$ largest entries; top-$p$ (nucleus) keeps the
    smallest set of largest-probability tokens whose probability under $\mathrm{softmax}(z/\tau)$
    reaches $p$ (the most likely token always stays). Removed entries become $-\infty$, so
    ``jax.random.categorical`` never draws them. Ties at the cut are kept.

    Args:
      logits: $z$, shape ``(d_V,)`` (one position).
      temperature: $\tau > 0$ (``0`` is greedy decoding and is handled by the callers).
      top_k: keep the ``top_k`` largest logits (``None``: all).
      top_p: keep the nucleus of probability ``top_p`` in ``(0, 1]`` (``None``: all).

    Returns:
      The filtered logits, shape ``(d_V,)``.

    Raises:
      ValueError: if ``temperature <= 0``, ``top_k < 1`` or ``top_p`` is outside ``(0, 1]``.
      TypeError: if ``logits`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (sampling the next token); Fan, Lewis & Dauphin (2018) (top-k);
      Holtzman et al., "The curious case of neural text degeneration", ICLR (2020) (top-p).
    """
    func = checks.public_name(filter_logits)
    _check_sampling(func, temperature, top_k, top_p)
    checks.check_positive(func, "temperature", temperature)
    z = logits / jnp.asarray(temperature, logits.dtype)
    neg = jnp.asarray(-jnp.inf, z.dtype)
    if top_k is not None and top_k < z.shape[0]:
        kth = lax.top_k(z, top_k)[0][-1]
        z = jnp.where(z < kth, neg, z)
    if top_p is not None and top_p < 1.0:
        z_sorted = jnp.sort(z)[::-1]
        p_sorted = jax.nn.softmax(z_sorted)
        before = jnp.cumsum(p_sorted) - p_sorted  # probability of the tokens ranked above each one
        n_keep = jnp.sum(before < jnp.asarray(top_p, p_sorted.dtype))  # >= 1: the first has 0 above it
        z = jnp.where(z < z_sorted[n_keep - 1], neg, z)
    return z


def _prefill(stepper, params, state, prompt):
    """Feed the prompt's tokens one by one; the logits after the last one."""

    def feed(state, xs):
        token, t = xs
        logits, state = stepper.step(params, state, token, t)
        return state, logits

    state, logits = lax.scan(feed, state, (prompt, jnp.arange(prompt.shape[0], dtype=jnp.int32)))
    return state, logits[-1]


def generate(
    key: jax.Array,
    params: Any,
    prompt: jax.Array,
    *,
    max_len: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    stop_id: int | None = None,
    pad_id: int = 0,
) -> jax.Array:
    r"""Continue ``prompt`` autoregressively: sample (or take the argmax of) each next token.

    With the prompt $y_1, \dots, y_{T_0}$, for $t = T_0, \dots, \text{max\_len} - 1$:
    $z^{\langle t\rangle}$ = the model's logits after $y_1..y_t$ and

    $$y_{t+1} \sim \mathrm{softmax}(\mathrm{filter}(z^{\langle t\rangle}))\quad(\tau > 0), \qquad
      y_{t+1} = \arg\max_k z_k^{\langle t\rangle}\quad(\tau = 0,\ \text{greedy}),$$

    with the filter of :func:`filter_logits`. A model with a state (an RNN's $h$, a
    transformer's key-value cache) does one step per token, so the cost is linear in the length.

    Args:
      key: a typed PRNG key (unused when ``temperature == 0``).
      params: parameters of a registered LM (:func:`register_lm`): the transformer LM, the RNN
        LMs, or a source-conditioned encoder-decoder.
      prompt: token ids, shape ``(T0,)`` with ``T0 >= 1`` (one sequence; ``jax.vmap`` batches).
      max_len: total length of the output, prompt included (static, ``>= T0``).
      temperature: $\tau \ge 0$ (static); ``0`` is greedy decoding.
      top_k: sample among the ``top_k`` most likely tokens (``top_k=1`` is greedy).
      top_p: nucleus sampling with mass ``top_p`` in ``(0, 1]``.
      stop_id: the ``<stop>`` id: after it is produced every later position is ``pad_id``.
      pad_id: the filler after the stop token (``<empty>`` = 0).

    Returns:
      Token ids, shape ``(max_len,)`` int32: the prompt, then the generated tokens.

    Raises:
      ValueError: if ``prompt`` is empty or not one sequence, ``max_len`` is shorter than the
        prompt or longer than the model holds, or a sampling setting is out of range.
      TypeError: if ``params`` is not of a registered LM type, ``key`` is not a typed key, or
        ``temperature`` is traced.

    References:
      [MEDL] Ch. 7, Sec. 7.5, eq. (7.34) (auto-regressive inference from ``<start>``); D2L
      Sec. 9.5 (prediction by feeding outputs back).
    """
    func = checks.public_name(generate)
    stepper = _stepper(func, params)
    capacity = None if stepper.capacity is None else stepper.capacity(params)
    prompt = _check_prompt(func, prompt, max_len, capacity)
    _check_sampling(func, temperature, top_k, top_p)
    if temperature != 0:
        checks.conform(func, "key", key, "key[]")
    T0 = prompt.shape[0]
    state, logits = _prefill(stepper, params, stepper.init_state(params, max_len), prompt)
    n_new = max_len - T0
    if n_new == 0:
        return prompt

    def body(carry, t):
        state, logits, done, key = carry
        if temperature == 0:
            token = jnp.argmax(logits).astype(jnp.int32)
        else:
            key, sub = jax.random.split(key)
            z = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
            token = jax.random.categorical(sub, z).astype(jnp.int32)
        token = jnp.where(done, jnp.int32(pad_id), token)
        if stop_id is not None:
            done = done | (token == stop_id)
        logits, state = stepper.step(params, state, token, t)
        return (state, logits, done, key), token

    key = key if temperature != 0 else jnp.zeros((), jnp.int32)  # no key is drawn from when greedy
    ts = jnp.arange(T0, max_len, dtype=jnp.int32)
    _, new = lax.scan(body, (state, logits, jnp.asarray(False), key), ts)
    return jnp.concatenate([prompt, new])


def beam_search(
    params: Any,
    prompt: jax.Array,
    *,
    beam_width: int,
    max_len: int,
    stop_id: int | None = None,
    pad_id: int = 0,
    length_penalty: float = 0.0,
) -> BeamResult:
    r"""Beam search: keep the ``beam_width`` most probable continuations at every step.

    Each beam $b$ carries its log-probability $s_b = \sum_t \log \hat y^{\langle t\rangle}_{y_t}$.
    A step extends every beam by every token, $s_b + \log\mathrm{softmax}(z_b)_k$, and keeps the
    ``beam_width`` best of the ``beam_width * d_V`` candidates (at the first step only the prompt's
    beam is live, so the beams are distinct). A beam that has produced ``stop_id`` is finished:
    it is extended only by ``pad_id`` at no cost. The final ranking divides each score by
    $\text{length}^{\alpha}$ with $\alpha$ = ``length_penalty`` (0: plain log-probability, which
    favours short outputs). With ``beam_width=1`` this is greedy decoding.

    Args:
      params: parameters of a registered LM (see :func:`generate`).
      prompt: token ids, shape ``(T0,)``, ``T0 >= 1``.
      beam_width: number of beams $B \ge 1$ (static).
      max_len: total output length, prompt included (static).
      stop_id: the ``<stop>`` id, or ``None``.
      pad_id: the filler after a beam's stop token.
      length_penalty: $\alpha \ge 0$.

    Returns:
      A :class:`BeamResult` ``(tokens (B, max_len), scores (B,), lengths (B,))``, best first.

    Raises:
      ValueError: as :func:`generate`, or if ``beam_width < 1`` or ``length_penalty < 0``.
      TypeError: if ``params`` is not of a registered LM type.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (beam search named, details omitted there); D2L Sec. 10.8 (beam
      search); Wu et al., "Google's neural machine translation system" (2016) (length penalty).
    """
    func = checks.public_name(beam_search)
    stepper = _stepper(func, params)
    capacity = None if stepper.capacity is None else stepper.capacity(params)
    prompt = _check_prompt(func, prompt, max_len, capacity)
    B = _count(func, "beam_width", beam_width, 1)
    checks.check_positive(func, "length_penalty", length_penalty, strict=False)
    T0 = prompt.shape[0]
    state, logits = _prefill(stepper, params, stepper.init_state(params, max_len), prompt)
    n_new = max_len - T0
    if n_new == 0:
        zero = jnp.zeros((B,), logits.dtype)
        return BeamResult(jnp.broadcast_to(prompt, (B, T0)), zero, jnp.zeros((B,), jnp.int32))
    V = logits.shape[0]
    neg = jnp.asarray(-jnp.inf, logits.dtype)
    states = jax.tree.map(lambda s: jnp.broadcast_to(s, (B, *jnp.shape(s))), state)
    logits = jnp.broadcast_to(logits, (B, V))
    scores = jnp.where(jnp.arange(B) == 0, jnp.asarray(0.0, logits.dtype), neg)
    pad_row = jnp.where(jnp.arange(V) == 0, jnp.asarray(0.0, logits.dtype), neg)  # a finished beam: one 0-cost way
    step = jax.vmap(stepper.step, in_axes=(None, 0, 0, None))

    def body(carry, xs):
        states, logits, scores, done, lengths, hist = carry
        i, t = xs
        logp = jnp.where(done[:, None], pad_row[None, :], jax.nn.log_softmax(logits, axis=-1))
        best, idx = lax.top_k((scores[:, None] + logp).reshape(-1), B)
        beam, token = idx // V, (idx % V).astype(jnp.int32)
        was_done = done[beam]
        token = jnp.where(was_done, jnp.int32(pad_id), token)
        hist = hist[beam].at[:, i].set(token)
        lengths = lengths[beam] + (~was_done).astype(jnp.int32)
        done = was_done if stop_id is None else was_done | (token == stop_id)
        states = jax.tree.map(lambda s: s[beam], states)
        logits, states = step(params, states, token, t)
        return (states, logits, best, done, lengths, hist), None

    carry = (
        states,
        logits,
        scores,
        jnp.zeros((B,), bool),
        jnp.zeros((B,), jnp.int32),
        jnp.zeros((B, n_new), jnp.int32),
    )
    xs = (jnp.arange(n_new), jnp.arange(T0, max_len, dtype=jnp.int32))
    (_, _, scores, _, lengths, hist), _ = lax.scan(body, carry, xs)
    if length_penalty:
        scores = scores / jnp.maximum(lengths, 1).astype(scores.dtype) ** jnp.asarray(length_penalty, scores.dtype)
    order = jnp.argsort(-scores, stable=True)
    tokens = jnp.concatenate([jnp.broadcast_to(prompt, (B, T0)), hist[order]], axis=1)
    return BeamResult(tokens, scores[order], lengths[order])
