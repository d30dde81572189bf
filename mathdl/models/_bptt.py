r"""Backpropagation through time written out for the Elman RNN ([MEDL] Ch. 7, Sec. 7.2, eqs. (7.6)-(7.12)).

The model is an Elman RNN with a softmax output layer, on ONE sequence ``x`` of shape ``(T, p)``
with integer targets ``y`` of shape ``(T,)``:

$$a^{\langle t\rangle} = W_{hh} h^{\langle t-1\rangle} + W_{hx} x^{\langle t\rangle} + b_h,\quad
h^{\langle t\rangle} = S_h(a^{\langle t\rangle}),\quad
\hat y^{\langle t\rangle} = S_{\mathrm{Softmax}}(W_{yh} h^{\langle t\rangle} + b_y),$$
$$C = \frac{1}{T}\sum_{t=1}^{T} C^{\langle t\rangle},\qquad
C^{\langle t\rangle} = -\log \hat y^{\langle t\rangle}_{y_t}.$$

(With ``weights`` $w_t$ the loss is $\sum_t w_t C^{\langle t\rangle} / \sum_t w_t$: a zero weight is a
padded position that counts no loss, as the book asks for ``<empty>`` targets.)

The adjoints $\zeta^{\langle t\rangle} = \partial C / \partial h^{\langle t\rangle}$ run backwards,
$$\zeta^{\langle T\rangle} = \tfrac{w_T}{\sum w} W_{yh}^\top(\hat y^{\langle T\rangle} - e_{y_T}),\qquad
\zeta^{\langle t\rangle} = \tfrac{w_t}{\sum w} W_{yh}^\top(\hat y^{\langle t\rangle} - e_{y_t})
  + W_{hh}^\top \operatorname{diag}\big(\dot\sigma(a^{\langle t+1\rangle})\big)\,\zeta^{\langle t+1\rangle},$$
the Jacobian of (7.11) (with $x^{\langle t+1\rangle}$ where the draft prints $x^{\langle t\rangle}$). With
$\delta^{\langle t\rangle} = \dot\sigma(a^{\langle t\rangle}) \odot \zeta^{\langle t\rangle}$ the gradients (7.9)-(7.10)
collapse to sums of outer products:
$$g_{W_{hh}} = \sum_t \delta^{\langle t\rangle} h^{\langle t-1\rangle\top},\quad
g_{W_{hx}} = \sum_t \delta^{\langle t\rangle} x^{\langle t\rangle\top},\quad
g_{b_h} = \sum_t \delta^{\langle t\rangle},$$
$$g_{W_{yh}} = \sum_t \tfrac{w_t}{\sum w}(\hat y^{\langle t\rangle} - e_{y_t}) h^{\langle t\rangle\top},\quad
g_{b_y} = \sum_t \tfrac{w_t}{\sum w}(\hat y^{\langle t\rangle} - e_{y_t}).$$

Here $\zeta$ is the TOTAL derivative of $C$ (with its $1/T$) with respect to $h^{\langle t\rangle}$; the
book's (7.10) keeps the $1/T$ outside and sums per-step adjoints, which is the same number.

Vanishing and exploding gradients (7.12): with $S_h$ the identity and only $C^{\langle T\rangle}$,
$\zeta^{\langle t\rangle} = (W_{hh}^\top)^{T-t}\zeta^{\langle T\rangle}$, so the adjoints shrink or grow
geometrically with the spectral radius of $W_{hh}$ (:func:`bptt_adjoint_norms`).

Training practice:

* **Teacher forcing** is how the RNN language models train (:func:`mathdl.models.rnn_lm`): the
  input at step $t$ is the TRUE token $y^{\langle t-1\rangle} = x^{\langle t\rangle}$, not the model's
  own sample $\hat y^{\langle t-1\rangle}$, so all $T$ steps run in one pass over the known text
  and $C$ is the per-step cross-entropy above; sampling feeds back only at generation time
  (:func:`mathdl.models.generate`).
* **Truncated BPTT** (``truncate=k``): the sequence is cut into windows of $k$ steps; the state
  enters each window as a constant, so no adjoint crosses a window boundary (the form used with
  ``lax.stop_gradient`` on the carried state; Williams & Peng 1990, Sutskever 2013).
* **Gradient clipping**: use the library, ``optax.clip_by_global_norm`` (``clip_norm=`` here, or
  in the optimizer chain, as in :func:`rnn_bptt`'s example).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from mathdl import checks, losses
from mathdl.layers import DenseParams, RNNParams, init_dense, init_rnn, one_example, rnn

__all__ = ["BPTTResult", "ElmanParams", "bptt_adjoint_norms", "elman", "elman_loss", "init_elman", "rnn_bptt"]


def positive_int(func: str, name: str, value, dims: dict) -> int:
    """A :func:`mathdl.checks.inputs` spec for a size: a positive int (shared with the RNN LM)."""
    del dims
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        checks.fail(func, name, "a positive int", value)
    return value


class ElmanParams(NamedTuple):
    """An Elman RNN with its output layer ([MEDL] Sec. 7.2).

    Attributes:
      rnn: ``RNNParams(W_hx (m, p), W_hh (m, m), b_h (m,))``.
      out: ``DenseParams(W (q, m), b (q,))``, the book's $W_{yh}$ and $b_y$.
    """

    rnn: RNNParams
    out: DenseParams


class BPTTResult(NamedTuple):
    """What :func:`rnn_bptt` returns.

    Attributes:
      loss: $C$, a scalar.
      grads: ``ElmanParams`` of gradients (the same structure as the parameters).
      zeta: the adjoints $\\zeta^{\\langle t\\rangle} = \\partial C/\\partial h^{\\langle t\\rangle}$, shape ``(T, m)``.
      delta: $\\delta^{\\langle t\\rangle} = \\dot\\sigma(a^{\\langle t\\rangle}) \\odot
        \\zeta^{\\langle t\\rangle}$, shape ``(T, m)``.
      H: the states $h^{\\langle t\\rangle}$, shape ``(T, m)``.
      grad_h0: $\\partial C/\\partial h^{\\langle 0\\rangle}$, shape ``(m,)``.
    """

    loss: jax.Array
    grads: ElmanParams
    zeta: jax.Array
    delta: jax.Array
    H: jax.Array
    grad_h0: jax.Array


@checks.inputs(key="key[]", p=positive_int, m=positive_int, q=positive_int)
def init_elman(key: jax.Array, p: int, m: int, q: int, *, dtype=None) -> ElmanParams:
    r"""Initialise an Elman RNN (:func:`mathdl.layers.init_rnn`) and a Glorot output layer $W_{yh}$ ``(q, m)``.

    Args:
      key: a typed PRNG key.
      p: input width.
      m: state width.
      q: output width (classes).
      dtype: floating dtype.

    Returns:
      ``ElmanParams(rnn, out)``.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.2.
    """
    k1, k2 = jax.random.split(key)
    return ElmanParams(init_rnn(k1, p, m, dtype=dtype), init_dense(k2, m, q, init="glorot_normal", dtype=dtype))


def _weights(func, w, y):
    if w is None:
        w = jnp.ones(y.shape, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    w = jnp.asarray(w)
    if w.shape != y.shape:
        checks.fail(func, "weights", f"shape {tuple(y.shape)} (one weight per step)", checks.Text(f"shape {w.shape}"))
    return w


def _elman_forward(params, x, h0, activation):
    H, _ = rnn(params.rnn, x, h0=h0, activation=activation)
    logits = H @ params.out.W.T + params.out.b[None, :]
    return H, logits


def _elman_spec(func, name, value, dims):
    if not isinstance(value, ElmanParams):
        checks.fail(func, name, "ElmanParams(rnn, out)", checks.Text(type(value).__name__), exc=TypeError)
    r = checks.fields(W_hx="float[m p]", W_hh="float[m m]", b_h="float[m]").conform(
        func, f"{name}.rnn", value.rnn, dims
    )
    o = checks.fields(W="float[q m]", b="float[q]").conform(func, f"{name}.out", value.out, dims)
    return ElmanParams(r, o)


@checks.inputs(params=_elman_spec, x=one_example("float[T p]"), h0="float[m]?")
def elman(params: ElmanParams, x: jax.Array, *, h0=None, activation=jnp.tanh) -> tuple[jax.Array, jax.Array]:
    r"""Forward pass of the Elman RNN with its output layer: logits $W_{yh} h^{\langle t\rangle} + b_y$ for every $t$.

    Args:
      params: ``ElmanParams``.
      x: ONE sequence, shape ``(T, p)``.
      h0: initial state, shape ``(m,)``; default zeros.
      activation: $S_h$ (default tanh).

    Returns:
      ``(logits (T, q), H (T, m))``.

    Raises:
      ValueError: if a shape disagrees (a batch: use ``jax.vmap``).
      TypeError: if ``params`` is not ``ElmanParams``.

    References:
      [MEDL] Ch. 7, Sec. 7.2.
    """
    H, logits = _elman_forward(params, x, h0, activation)
    return logits, H


@checks.inputs(params=_elman_spec, x=one_example("float[T p]"), y="int[T]", h0="float[m]?")
def elman_loss(params: ElmanParams, x: jax.Array, y: jax.Array, *, h0=None, weights=None, activation=jnp.tanh):
    r"""The per-step cross-entropy $C = \sum_t w_t C^{\langle t\rangle}/\sum_t w_t$ (with $w = 1$, eq. (7.5)).

    ``jax.grad`` of this function is the oracle of :func:`rnn_bptt`.

    Args:
      params: ``ElmanParams``.
      x: ONE sequence, shape ``(T, p)``.
      y: target classes, shape ``(T,)``, integers in $[0, q)$.
      h0: initial state, shape ``(m,)``.
      weights: per-step weights, shape ``(T,)`` (bool or float; 0 = padding); all zero gives 0.
      activation: $S_h$.

    Returns:
      $C$, a scalar.

    Raises:
      ValueError: if a shape disagrees.

    References:
      [MEDL] Ch. 7, Sec. 7.2, eqs. (7.4)-(7.5).
    """
    func = checks.public_name(elman_loss)
    w = _weights(func, weights, y)
    _, logits = _elman_forward(params, x, h0, activation)
    c = _normalise(w.astype(logits.dtype))
    return jnp.sum(c * losses.softmax_cross_entropy(logits, y))


def _normalise(w):
    s = jnp.sum(w)
    return jnp.where(s > 0, w / jnp.where(s > 0, s, 1), jnp.zeros_like(w))


@checks.inputs(params=_elman_spec, x=one_example("float[T p]"), y="int[T]", h0="float[m]?")
def rnn_bptt(
    params: ElmanParams,
    x: jax.Array,
    y: jax.Array,
    *,
    h0=None,
    weights=None,
    truncate: int | None = None,
    clip_norm: float | None = None,
    activation=jnp.tanh,
) -> BPTTResult:
    r"""Backpropagation through time by the adjoint recursion ([MEDL] eqs. (7.6)-(7.12)): gradients AND adjoints.

    Runs the forward recursion (:func:`mathdl.layers.rnn`), then the backward recursion for
    $\zeta^{\langle t\rangle}$ as a reverse ``lax.scan`` (see the module docstring for the
    equations), then the gradients as sums of outer products. Equal to ``jax.grad`` of
    :func:`elman_loss` (the tests pin it to 1e-12 in float64).

    Args:
      params: ``ElmanParams`` (from :func:`init_elman`).
      x: ONE sequence, shape ``(T, p)`` (one-example group; batch with ``jax.vmap`` and average).
      y: targets, shape ``(T,)``, integer classes in $[0, q)$ (for a language model, $y_t = x_{t+1}$).
      h0: initial state, shape ``(m,)``; default zeros.
      weights: per-step loss weights, shape ``(T,)`` (0 = padding); default ones.
      truncate: ``None`` for full BPTT, or $k \ge 1$: windows of $k$ steps whose incoming state is
        a constant (truncated BPTT).
      clip_norm: ``None``, or a maximum global norm for the returned gradients, applied with
        ``optax.clip_by_global_norm`` (the adjoints are never clipped).
      activation: $S_h$, elementwise; its derivative $\dot\sigma$ is taken with ``jax.jvp``.

    Returns:
      ``BPTTResult(loss, grads, zeta, delta, H, grad_h0)``.

    Raises:
      ValueError: if a shape disagrees, ``truncate`` is not a positive int or ``clip_norm`` is
        not positive.
      TypeError: if ``params`` is not ``ElmanParams``.

    References:
      [MEDL] Ch. 7, Sec. 7.2. Werbos (1990), "Backpropagation through time"; Pascanu, Mikolov &
      Bengio (2013), "On the difficulty of training recurrent neural networks" (clipping).

    Example:
      Clip inside the optimizer instead (library first)::

        opt = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1))
        res = rnn_bptt(params, x, y)
        updates, state = opt.update(res.grads, opt.init(params))
    """
    func = checks.public_name(rnn_bptt)
    if truncate is not None:
        truncate = positive_int(func, "truncate", truncate, {})
    if clip_norm is not None:
        checks.check_positive(func, "clip_norm", clip_norm)
    T = x.shape[0]
    W_hh, W_yh = params.rnn.W_hh, params.out.W
    m = W_hh.shape[0]
    h0 = jnp.zeros((m,), x.dtype) if h0 is None else h0
    c = _normalise(_weights(func, weights, y).astype(x.dtype))

    # forward: states, pre-activations and outputs
    H, logits = _elman_forward(params, x, h0, activation)
    H_prev = jnp.concatenate([h0[None, :], H[:-1]], axis=0)
    A = x @ params.rnn.W_hx.T + H_prev @ W_hh.T + params.rnn.b_h[None, :]
    sdot = jax.jvp(activation, (A,), (jnp.ones_like(A),))[1]  # elementwise derivative of S_h at a<t>
    loss = jnp.sum(c * losses.softmax_cross_entropy(logits, y))
    E = c[:, None] * (jax.nn.softmax(logits, axis=-1) - jax.nn.one_hot(y, W_yh.shape[0], dtype=x.dtype))

    # backward: zeta<t> = W_yh^T e<t> + [link t -> t+1 kept] W_hh^T delta<t+1>
    local = E @ W_yh  # (T, m): rows W_yh^T (c_t (yhat<t> - e_yt))
    t = jnp.arange(T)
    keep = jnp.ones((T,), bool) if truncate is None else (t + 1) % truncate != 0

    def back(delta_next, inp):
        local_t, sdot_t, keep_t = inp
        zeta_t = local_t + jnp.where(keep_t, W_hh.T @ delta_next, 0)
        delta_t = sdot_t * zeta_t
        return delta_t, (zeta_t, delta_t)

    delta_1, (zeta, delta) = lax.scan(back, jnp.zeros((m,), x.dtype), (local, sdot, keep), reverse=True)
    grad_h0 = W_hh.T @ delta_1 if T else jnp.zeros((m,), x.dtype)

    grads = ElmanParams(
        RNNParams(W_hx=delta.T @ x, W_hh=delta.T @ H_prev, b_h=jnp.sum(delta, axis=0)),
        DenseParams(W=E.T @ H, b=jnp.sum(E, axis=0)),
    )
    if clip_norm is not None:
        grads, _ = optax.clip_by_global_norm(clip_norm).update(grads, optax.EmptyState())
    return BPTTResult(loss, grads, zeta, delta, H, grad_h0)


def bptt_adjoint_norms(
    key: jax.Array,
    *,
    spectral_radius: float,
    T: int = 50,
    m: int = 16,
    p: int = 4,
    q: int = 4,
    matrix: str = "orthogonal",
    activation=None,
    dtype=None,
) -> jax.Array:
    r"""The vanishing/exploding-gradient experiment (eq. (7.12)): $\|\zeta^{\langle t\rangle}\|$ for $t = 1..T$.

    Draws an Elman RNN whose $W_{hh}$ has the given spectral radius $\rho$, a random input
    sequence and targets, puts the loss on the LAST step only ($C = C^{\langle T\rangle}$), and
    returns the adjoint norms from :func:`rnn_bptt`. With the identity activation (the default)
    $\zeta^{\langle t\rangle} = (W_{hh}^\top)^{T-t}\zeta^{\langle T\rangle}$; for the orthogonal
    choice $W_{hh} = \rho Q$ all singular values are $\rho$, so
    $\|\zeta^{\langle t\rangle}\| = \rho^{T-t}\|\zeta^{\langle T\rangle}\|$ exactly: the norms vanish
    backwards in time for $\rho < 1$ and explode for $\rho > 1$. ``matrix="gaussian"`` scales a
    Gaussian matrix by $\rho / \max_i|\lambda_i|$ (the same trend, asymptotically). With
    ``activation=jnp.tanh`` the derivative $\dot\sigma \le 1$ only shrinks the adjoints further.

    Args:
      key: a typed PRNG key.
      spectral_radius: $\rho > 0$.
      T: sequence length.
      m, p, q: state, input and output widths.
      matrix: ``"orthogonal"`` or ``"gaussian"``.
      activation: $S_h$; ``None`` for the identity.
      dtype: floating dtype.

    Returns:
      $\|\zeta^{\langle t\rangle}\|_2$, shape ``(T,)`` (index 0 is $t = 1$).

    Raises:
      ValueError: if ``spectral_radius`` is not positive, a size is not a positive int, or
        ``matrix`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.2, eq. (7.12); Ch. 5, eqs. (5.34)-(5.35). Pascanu, Mikolov & Bengio (2013).
    """
    func = checks.public_name(bptt_adjoint_norms)
    checks.check_positive(func, "spectral_radius", spectral_radius)
    checks.check_choice(func, "matrix", matrix, ["orthogonal", "gaussian"])
    for name, v in (("T", T), ("m", m), ("p", p), ("q", q)):
        positive_int(func, name, v, {})
    kp, kw, kx, ky = jax.random.split(key, 4)
    params = init_elman(kp, p, m, q, dtype=dtype)
    G = jax.random.normal(kw, (m, m), params.rnn.W_hh.dtype)
    if matrix == "orthogonal":
        Q, R = jnp.linalg.qr(G)
        W = Q * jnp.sign(jnp.diag(R))[None, :]
    else:
        W = G / jnp.max(jnp.abs(jnp.linalg.eigvals(G)))
    params = params._replace(rnn=params.rnn._replace(W_hh=spectral_radius * W))
    x = jax.random.normal(kx, (T, p), W.dtype)
    y = jax.random.randint(ky, (T,), 0, q)
    last = jnp.arange(T) == T - 1
    act = (lambda a: a) if activation is None else activation
    res = rnn_bptt(params, x, y, weights=last, activation=act)
    return jnp.linalg.norm(res.zeta, axis=-1)
