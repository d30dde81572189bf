r"""Recurrent layers ([MEDL] Ch. 7, Sec. 7.2-7.3): the Elman RNN, the LSTM and the GRU, stacked and bidirectional.

Each layer runs ONE sequence ``x`` of shape ``(T, p)`` (rows are the inputs $x^{\langle t\rangle}$,
$t = 1..T$) and returns every hidden state ``H`` of shape ``(T, m)`` with the final state. A batch
``(B, T, p)`` is refused: use ``jax.vmap(rnn, in_axes=(None, 0))`` (the batching rule of
docs/architecture.md). Weights are in the book's column orientation (``W_hx`` is ``(m, p)``).

How the pieces are used ([MEDL] Sec. 7.2):

* many-to-many (a language model, tagging): keep all of ``H`` and apply the output layer
  $\hat y^{\langle t\rangle} = S_y(W_{yh} h^{\langle t\rangle} + b_y)$ to each row;
* many-to-one (classifying a sequence, the seq2seq encoder): keep only the final state;
* one-to-many (generation, the seq2seq decoder): feed $x^{\langle 1\rangle}$ and zeros (or the
  previous output) afterwards, one step at a time with the ``*_step`` cell functions, or as a
  whole sequence whose later rows are zero.

Speed: the input term $W_{\cdot x} x^{\langle t\rangle} + b$ does not depend on the state, so it is
computed for all $T$ steps as ONE matrix product ``x @ W_x.T`` (shape ``(T, G m)`` for $G$ gates)
before the ``lax.scan``; the scan carries only the recurrent product $W_{\cdot h} h^{\langle t-1\rangle}$.

Masking: ``mask`` (shape ``(T,)``, True = a real step) marks padded positions; a masked step keeps
the state unchanged and outputs the carried state, so a right-padded sequence ends in the state
of its last real step (and, with ``reverse=True``, the reverse recursion starts at that step).
A length-0 sequence returns an empty ``H`` and the initial state.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import checks
from mathdl.layers._specs import one_example, positive_int

__all__ = [
    "BidirectionalParams",
    "GRUGates",
    "GRUParams",
    "LSTMGates",
    "LSTMParams",
    "RNNParams",
    "bidirectional",
    "gru",
    "gru_gates",
    "gru_param_count",
    "gru_step",
    "init_bidirectional",
    "init_gru",
    "init_lstm",
    "init_rnn",
    "init_stacked",
    "lstm",
    "lstm_gates",
    "lstm_param_count",
    "lstm_step",
    "recurrent",
    "rnn",
    "rnn_param_count",
    "rnn_step",
    "stacked",
]

GRU_CONVENTIONS = ("book", "pytorch")


class RNNParams(NamedTuple):
    """Parameters of an Elman RNN layer ([MEDL] Sec. 7.2).

    Attributes:
      W_hx: input weights, shape ``(m, p)``.
      W_hh: recurrent weights, shape ``(m, m)``.
      b_h: bias, shape ``(m,)``.
    """

    W_hx: jax.Array
    W_hh: jax.Array
    b_h: jax.Array


class LSTMParams(NamedTuple):
    r"""Parameters of an LSTM layer ([MEDL] eqs. (7.16)-(7.17)), the four gates stacked in the book's order.

    Index ``k`` of the leading axis is gate $f, i, o, \tilde c$ for ``k = 0, 1, 2, 3``: ``W_x[0]``
    is the book's $W_{fx}$, ``W_h[3]`` is $W_{\tilde c h}$, ``b[1]`` is $b_i$ (also available as
    properties ``W_fx``, ``W_ih``, ``b_o``, ...). No peepholes.

    Attributes:
      W_x: input weights, shape ``(4, m, p)``.
      W_h: recurrent weights, shape ``(4, m, m)``.
      b: biases, shape ``(4, m)``.
    """

    W_x: jax.Array
    W_h: jax.Array
    b: jax.Array


class GRUParams(NamedTuple):
    r"""Parameters of a GRU layer ([MEDL] eqs. (7.18)-(7.19)), three blocks stacked.

    Index ``k`` of the leading axis is: ``0`` the reset gate $g_r$, ``1`` the update gate ($g_u$
    in the book's convention, PyTorch's $z$ in the ``"pytorch"`` one), ``2`` the candidate
    $\tilde h$ (PyTorch's $n$).

    Attributes:
      W_x: input weights, shape ``(3, m, p)``.
      W_h: recurrent weights, shape ``(3, m, m)``.
      b: biases, shape ``(3, m)`` (PyTorch's ``b_ih`` plus, for the two gates, ``b_hh``).
      b_hn: ``None`` in the book's convention; in the ``"pytorch"`` one the bias added to
        $W_{hn} h$ INSIDE the reset product, shape ``(m,)``.
    """

    W_x: jax.Array
    W_h: jax.Array
    b: jax.Array
    b_hn: jax.Array | None = None


def _gate_views(names: str, cls):
    """Read-only properties ``W_<g>x``, ``W_<g>h``, ``b_<g>`` for each gate letter (the book's symbols)."""
    for k, g in enumerate(names.split()):
        setattr(cls, f"W_{g}x", property(lambda s, k=k: s.W_x[k]))
        setattr(cls, f"W_{g}h", property(lambda s, k=k: s.W_h[k]))
        setattr(cls, f"b_{g}", property(lambda s, k=k: s.b[k]))


_gate_views("f i o c", LSTMParams)
_gate_views("r u h", GRUParams)


class BidirectionalParams(NamedTuple):
    """Parameters of a bidirectional recurrent layer ([MEDL] eq. (7.14)): two independent cells.

    Attributes:
      forward: the cell run for t = 1..T (``RNNParams``, ``LSTMParams`` or ``GRUParams``).
      reverse: the cell run for t = T..1 (the same type).
    """

    forward: NamedTuple
    reverse: NamedTuple


# ---------------------------------------------------------------------------------- init


def _uniform(key, shape, m, dtype):
    """PyTorch's recurrent initialisation: U(-1/sqrt(m), 1/sqrt(m))."""
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"layers: argument `dtype` expected a floating dtype, got dtype {dtype}.")
    a = 1.0 / m**0.5
    return jax.random.uniform(key, shape, dtype, -a, a)


@checks.inputs(key="key[]", p=positive_int, m=positive_int)
def init_rnn(key: jax.Array, p: int, m: int, *, dtype=None) -> RNNParams:
    r"""Initialise an Elman RNN layer: weights $\sim U(-1/\sqrt m, 1/\sqrt m)$ (as PyTorch), $b_h = 0$.

    Args:
      key: a typed PRNG key.
      p: input width.
      m: state width.
      dtype: floating dtype (default JAX's default float).

    Returns:
      ``RNNParams(W_hx (m, p), W_hh (m, m), b_h (m,))``.

    Raises:
      ValueError: if a width is not a positive int.
      TypeError: if ``key`` is not a typed key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.2. PyTorch ``torch.nn.RNN`` (initialisation).
    """
    kx, kh = jax.random.split(key)
    W_hx = _uniform(kx, (m, p), m, dtype)
    return RNNParams(W_hx, _uniform(kh, (m, m), m, dtype), jnp.zeros((m,), W_hx.dtype))


@checks.inputs(key="key[]", p=positive_int, m=positive_int)
def init_lstm(key: jax.Array, p: int, m: int, *, forget_bias: float = 1.0, dtype=None) -> LSTMParams:
    r"""Initialise an LSTM layer: weights $\sim U(-1/\sqrt m, 1/\sqrt m)$, $b_f$ = ``forget_bias``, other biases 0.

    A positive forget bias starts the cell remembering ($g_f \approx \sigma(1) = 0.73$), as
    recommended by Jozefowicz et al. (2015).

    Args:
      key: a typed PRNG key.
      p: input width.
      m: state width ($\tilde m$ in the book; each of $h$ and $c$ has $m$ entries).
      forget_bias: initial value of $b_f$.
      dtype: floating dtype.

    Returns:
      ``LSTMParams(W_x (4, m, p), W_h (4, m, m), b (4, m))``, gates in the order $f, i, o, \tilde c$.

    Raises:
      ValueError: if a width is not a positive int.
      TypeError: if ``key`` is not a typed key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eqs. (7.16)-(7.17). Jozefowicz, Zaremba & Sutskever (2015), "An
      empirical exploration of recurrent network architectures".
    """
    kx, kh = jax.random.split(key)
    W_x = _uniform(kx, (4, m, p), m, dtype)
    b = jnp.zeros((4, m), W_x.dtype).at[0].set(forget_bias)
    return LSTMParams(W_x, _uniform(kh, (4, m, m), m, dtype), b)


@checks.inputs(key="key[]", p=positive_int, m=positive_int)
def init_gru(key: jax.Array, p: int, m: int, *, convention: str = "book", dtype=None) -> GRUParams:
    r"""Initialise a GRU layer: weights $\sim U(-1/\sqrt m, 1/\sqrt m)$, biases 0.

    Args:
      key: a typed PRNG key.
      p: input width.
      m: state width.
      convention: ``"book"`` (``b_hn = None``) or ``"pytorch"`` (``b_hn`` zeros of shape ``(m,)``).
      dtype: floating dtype.

    Returns:
      ``GRUParams(W_x (3, m, p), W_h (3, m, m), b (3, m), b_hn)``.

    Raises:
      ValueError: if a width is not a positive int or ``convention`` is unknown.
      TypeError: if ``key`` is not a typed key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eqs. (7.18)-(7.19).
    """
    checks.check_choice(checks.public_name(init_gru), "convention", convention, GRU_CONVENTIONS)
    kx, kh = jax.random.split(key)
    W_x = _uniform(kx, (3, m, p), m, dtype)
    b_hn = jnp.zeros((m,), W_x.dtype) if convention == "pytorch" else None
    return GRUParams(W_x, _uniform(kh, (3, m, m), m, dtype), jnp.zeros((3, m), W_x.dtype), b_hn)


# ------------------------------------------------------------------------- cell steps
# Each step takes the hoisted input term z = W_x x + b for one time step (shape (G m,)) and the
# carried state; it returns the new state. The public *_step functions add the input term.


# The recurrent products W h are written h @ W.T (the same numbers): under jax.vmap the batch axis of
# h then stays in front, so the batched step is one (B, m) x (m, G m) product with no transpose.


def _rnn_cell(W_hh, activation, z, h):
    return activation(z + h @ W_hh.T)


def _lstm_cell(W_h, z, state):
    h, c = state
    m = h.shape[-1]
    a = (z + h @ W_h.reshape(4 * m, m).T).reshape(4, m)
    g_f, g_i, g_o = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1]), jax.nn.sigmoid(a[2])
    c_new = g_f * c + g_i * jnp.tanh(a[3])  # c<t> = g_f ⊙ c<t-1> + g_i ⊙ c~
    return g_o * jnp.tanh(c_new), c_new  # h<t> = g_o ⊙ tanh(c<t>)


def _gru_cell_book(W_h, z, h):
    m = h.shape[-1]
    z = z.reshape(3, m)
    a = z[:2] + (h @ W_h[:2].reshape(2 * m, m).T).reshape(2, m)
    g_r, g_u = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1])
    h_tilde = jnp.tanh(z[2] + (g_r * h) @ W_h[2].T)  # the reset gate acts BEFORE the matrix product
    return (1 - g_u) * h + g_u * h_tilde  # g_u ≈ 1 means "update"


def _gru_cell_pytorch(W_h, b_hn, z, h):
    m = h.shape[-1]
    z = z.reshape(3, m)
    u = (h @ W_h.reshape(3 * m, m).T).reshape(3, m)
    r = jax.nn.sigmoid(z[0] + u[0])
    g_z = jax.nn.sigmoid(z[1] + u[1])
    n = jnp.tanh(z[2] + r * (u[2] + b_hn))  # the reset gate acts AFTER the matrix product
    return (1 - g_z) * n + g_z * h  # z ≈ 1 means "keep the old state"


# ------------------------------------------------------------------------- the driver


def _project(W_x, b, x):
    """The hoisted input term for all T steps: ONE matrix product, shape (T, G m)."""
    G_m = W_x.shape[0] if W_x.ndim == 2 else W_x.shape[0] * W_x.shape[1]
    return x @ W_x.reshape(G_m, x.shape[-1]).T + b.reshape((1,) * (x.ndim - 1) + (G_m,))


def _scan(cell, Z, state0, h_of, mask, reverse, unroll):
    """Run ``state <- cell(z_t, state)`` over the rows of ``Z``; masked steps keep the state."""

    def step(state, inp):
        if mask is None:
            new = cell(inp, state)
        else:
            z_t, keep = inp
            new = jax.tree.map(lambda a, b: jnp.where(keep, a, b), cell(z_t, state), state)
        return new, h_of(new)

    xs = Z if mask is None else (Z, mask)
    final, H = lax.scan(step, state0, xs, reverse=reverse, unroll=unroll)
    return H, final


def _unroll(func, unroll):
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        if unroll is not True:
            checks.fail(func, "unroll", "a positive int or True (fully unrolled)", unroll)
    return unroll


def _state_dtype(func, name, v, like):
    if v is not None and v.dtype != like.dtype:
        checks.fail(
            func, name, f"dtype {like.dtype} (the parameters' dtype)", checks.Text(f"dtype {v.dtype}"), exc=TypeError
        )


def _x_dtype(func, x, W):
    if x.dtype != W.dtype:
        checks.fail(
            func, "x", f"dtype {W.dtype} (the parameters' dtype)", checks.Text(f"dtype {x.dtype}"), exc=TypeError
        )


_SEQ = one_example("float[T p]")


@checks.inputs(
    params=checks.fields(W_hx="float[m p]", W_hh="float[m m]", b_h="float[m]"),
    x=_SEQ,
    h0="float[m]?",
    mask="bool[T]?",
)
def rnn(
    params: RNNParams,
    x: jax.Array,
    *,
    h0: jax.Array | None = None,
    mask: jax.Array | None = None,
    reverse: bool = False,
    activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
    unroll: int | bool = 1,
) -> tuple[jax.Array, jax.Array]:
    r"""Elman RNN over one sequence ([MEDL] Sec. 7.2).

    $$h^{\langle t\rangle} = S_h(W_{hh} h^{\langle t-1\rangle} + W_{hx} x^{\langle t\rangle} + b_h).$$

    The input term $W_{hx} x^{\langle t\rangle} + b_h$ is computed for all $t$ in one matrix
    product before the scan. $h^{\langle 0\rangle} = 0$ unless ``h0`` is given.

    Args:
      params: ``RNNParams(W_hx (m, p), W_hh (m, m), b_h (m,))``.
      x: ONE sequence, shape ``(T, p)`` (one-example group; batch with
        ``jax.vmap(rnn, in_axes=(None, 0))``). ``T = 0`` is allowed.
      h0: initial state, shape ``(m,)``; default zeros.
      mask: shape ``(T,)`` bool, True at real steps; a False step keeps (and outputs) the state.
      reverse: run $t = T, \dots, 1$ (the reverse half of a bidirectional RNN, eq. (7.14)); ``H``
        stays aligned with ``x`` (row t is $h^{\langle t\rangle}$).
      activation: $S_h$, elementwise (default ``jnp.tanh``; ``jax.nn.relu`` for an IRNN).
      unroll: steps per scan iteration (``lax.scan``'s ``unroll``; ``True`` unrolls fully).

    Returns:
      ``(H, h_T)``: all states, shape ``(T, m)``, and the final state, shape ``(m,)`` (``h0`` when
      ``T = 0``; the state after the last real step under a mask).

    Raises:
      ValueError: if ``x`` is not one sequence of rank 2 (a batch: the message says to use
        ``jax.vmap``) or a width disagrees with the parameters, or ``mask`` is not ``(T,)``.
      TypeError: if ``x`` or ``h0`` has another dtype than the parameters, or ``mask`` is not bool.

    References:
      [MEDL] Ch. 7, Sec. 7.2 (Elman RNN). Oracle in tests: ``torch.nn.RNN``.

    Example:
      >>> params = init_rnn(jax.random.key(0), 3, 5)
      >>> H, h_T = rnn(params, jnp.ones((7, 3)))
      >>> H.shape, h_T.shape
      ((7, 5), (5,))
    """
    func = checks.public_name(rnn)
    _x_dtype(func, x, params.W_hx)
    _state_dtype(func, "h0", h0, params.W_hx)
    unroll = _unroll(func, unroll)
    m = params.W_hh.shape[0]
    h0 = jnp.zeros((m,), x.dtype) if h0 is None else h0
    Z = _project(params.W_hx, params.b_h, x)
    cell = lambda z, h: _rnn_cell(params.W_hh, activation, z, h)  # noqa: E731
    return _scan(cell, Z, h0, lambda h: h, mask, reverse, unroll)


_LSTM_FIELDS = checks.fields(W_x="float[4 m p]", W_h="float[4 m m]", b="float[4 m]")


def _lstm_state(func, state0, m, like):
    if state0 is None:
        z = jnp.zeros((m,), like.dtype)
        return z, z
    if not isinstance(state0, tuple | list) or len(state0) != 2:
        checks.fail(func, "state0", "a pair (h0, c0) of shape (m,) arrays", checks.Text(type(state0).__name__))
    h0 = checks.conform(func, "state0[0]", state0[0], "float[m]", {"m": m})
    c0 = checks.conform(func, "state0[1]", state0[1], "float[m]", {"m": m})
    _state_dtype(func, "state0[0]", h0, like)
    _state_dtype(func, "state0[1]", c0, like)
    return h0, c0


@checks.inputs(params=_LSTM_FIELDS, x=_SEQ, mask="bool[T]?")
def lstm(
    params: LSTMParams,
    x: jax.Array,
    *,
    state0: tuple[jax.Array, jax.Array] | None = None,
    mask: jax.Array | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    r"""LSTM over one sequence ([MEDL] eqs. (7.16)-(7.17), no peepholes).

    $$g_f, g_i, g_o = S_{\mathrm{Sig}}(W_{\cdot h} h^{\langle t-1\rangle}
      + W_{\cdot x} x^{\langle t\rangle} + b_\cdot),\quad
    \tilde c = \tanh(W_{\tilde c h} h^{\langle t-1\rangle} + W_{\tilde c x} x^{\langle t\rangle}
      + b_{\tilde c}),$$
    $$c^{\langle t\rangle} = g_f \odot c^{\langle t-1\rangle} + g_i \odot \tilde c,\qquad
    h^{\langle t\rangle} = g_o \odot \tanh(c^{\langle t\rangle}).$$

    The four input terms for all $t$ are ONE product ``x @ W_x.reshape(4m, p).T`` before the scan;
    each step does one ``(4m, m)`` product with $h^{\langle t-1\rangle}$.

    PyTorch's ``torch.nn.LSTM`` orders its gates $i, f, g, o$ and has two biases; our
    ``W_x[[1, 0, 3, 2]]`` is its ``weight_ih_l0`` (reshaped to ``(4m, p)``) and ``b`` its
    ``bias_ih + bias_hh`` in that order.

    Args:
      params: ``LSTMParams(W_x (4, m, p), W_h (4, m, m), b (4, m))``, gates $f, i, o, \tilde c$.
      x: ONE sequence, shape ``(T, p)`` (one-example group; batch with ``jax.vmap``).
      state0: ``(h0, c0)``, each shape ``(m,)``; default zeros.
      mask: shape ``(T,)`` bool; a False step keeps (and outputs) the state.
      reverse: run $t = T, \dots, 1$; ``H`` stays aligned with ``x``.
      unroll: steps per scan iteration.

    Returns:
      ``(H, (h_T, c_T))``: the hidden states, shape ``(T, m)``, and the final ``(h, c)``.

    Raises:
      ValueError: if ``x`` is not one sequence (a batch: use ``jax.vmap``), a shape disagrees with
        the parameters, or ``state0`` is not a pair of ``(m,)`` arrays.
      TypeError: if ``x`` or the state has another dtype than the parameters.

    References:
      [MEDL] Ch. 7, Sec. 7.3. Hochreiter & Schmidhuber (1997); Gers, Schmidhuber & Cummins (2000)
      (forget gate). Oracle in tests: ``torch.nn.LSTM``.
    """
    func = checks.public_name(lstm)
    _x_dtype(func, x, params.W_x)
    unroll = _unroll(func, unroll)
    m = params.W_h.shape[1]
    state0 = _lstm_state(func, state0, m, params.W_x)
    Z = _project(params.W_x, params.b, x)
    cell = lambda z, s: _lstm_cell(params.W_h, z, s)  # noqa: E731
    return _scan(cell, Z, state0, lambda s: s[0], mask, reverse, unroll)


_GRU_FIELDS = checks.fields(W_x="float[3 m p]", W_h="float[3 m m]", b="float[3 m]", b_hn="float[m]?")


def _gru_cell_fn(func, params, convention):
    checks.check_choice(func, "convention", convention, GRU_CONVENTIONS)
    if convention == "book":
        if params.b_hn is not None:
            checks.fail(
                func,
                "params.b_hn",
                'None in the book\'s convention (b_hn belongs to convention="pytorch")',
                checks.Text(f"an array of shape {tuple(params.b_hn.shape)}"),
            )
        return lambda z, h: _gru_cell_book(params.W_h, z, h)
    b_hn = jnp.zeros((params.W_h.shape[1],), params.W_h.dtype) if params.b_hn is None else params.b_hn
    return lambda z, h: _gru_cell_pytorch(params.W_h, b_hn, z, h)


@checks.inputs(params=_GRU_FIELDS, x=_SEQ, h0="float[m]?", mask="bool[T]?")
def gru(
    params: GRUParams,
    x: jax.Array,
    *,
    h0: jax.Array | None = None,
    mask: jax.Array | None = None,
    reverse: bool = False,
    convention: str = "book",
    unroll: int | bool = 1,
) -> tuple[jax.Array, jax.Array]:
    r"""GRU over one sequence, in the book's convention ([MEDL] eqs. (7.18)-(7.19)) or PyTorch's.

    The book (``convention="book"``):
    $$g_r, g_u = S_{\mathrm{Sig}}(W_{\cdot h} h^{\langle t-1\rangle}
      + W_{\cdot x} x^{\langle t\rangle} + b_\cdot),$$
    $$\tilde h = \tanh\big(W_{\tilde h h}(g_r \odot h^{\langle t-1\rangle})
      + W_{\tilde h x} x^{\langle t\rangle} + b_{\tilde h}\big),$$
    $$h^{\langle t\rangle} = (1 - g_u) \odot h^{\langle t-1\rangle} + g_u \odot \tilde h,$$
    so the reset gate acts BEFORE the matrix product and $g_u \approx 1$ means "update".

    PyTorch and Flax (``convention="pytorch"``, as ``torch.nn.GRU`` with gates $r, z, n$):
    $n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))$,
    $h^{\langle t\rangle} = (1 - z) \odot n + z \odot h^{\langle t-1\rangle}$: $z$ weights the OLD
    state and the reset acts after the product, with its own bias ``b_hn``. The two agree when
    $W_{hn}$ is diagonal, $b_{hn} = 0$ and the update block is negated ($1 - z = g_u$ for
    $W_z = -W_u$, $b_z = -b_u$); otherwise they are different models. Mapping to
    ``torch.nn.GRU``: ``W_x.reshape(3m, p)`` is ``weight_ih_l0``, ``W_h.reshape(3m, m)`` is
    ``weight_hh_l0``, ``b = bias_ih + bias_hh`` for the $r, z$ rows and ``bias_ih`` for the $n$
    row, ``b_hn = bias_hh[2m:]``.

    Args:
      params: ``GRUParams(W_x (3, m, p), W_h (3, m, m), b (3, m), b_hn)``; ``b_hn`` must be
        ``None`` in the book's convention (``None`` reads as zeros in PyTorch's).
      x: ONE sequence, shape ``(T, p)`` (one-example group; batch with ``jax.vmap``).
      h0: initial state, shape ``(m,)``; default zeros.
      mask: shape ``(T,)`` bool; a False step keeps (and outputs) the state.
      reverse: run $t = T, \dots, 1$; ``H`` stays aligned with ``x``.
      convention: ``"book"`` (default) or ``"pytorch"``.
      unroll: steps per scan iteration.

    Returns:
      ``(H, h_T)``: all states, shape ``(T, m)``, and the final state, shape ``(m,)``.

    Raises:
      ValueError: if ``x`` is not one sequence (a batch: use ``jax.vmap``), a shape disagrees,
        ``convention`` is unknown, or ``b_hn`` is given in the book's convention.
      TypeError: if ``x`` or ``h0`` has another dtype than the parameters.

    References:
      [MEDL] Ch. 7, Sec. 7.3. Cho et al. (2014). Oracles in tests: a NumPy loop of the book's
      equations; ``torch.nn.GRU`` (``convention="pytorch"``).
    """
    func = checks.public_name(gru)
    _x_dtype(func, x, params.W_x)
    _state_dtype(func, "h0", h0, params.W_x)
    unroll = _unroll(func, unroll)
    cell = _gru_cell_fn(func, params, convention)
    m = params.W_h.shape[1]
    h0 = jnp.zeros((m,), x.dtype) if h0 is None else h0
    Z = _project(params.W_x, params.b, x)
    return _scan(cell, Z, h0, lambda h: h, mask, reverse, unroll)


# ------------------------------------------------------------------------- gate traces


class LSTMGates(NamedTuple):
    r"""The LSTM's gates and states at every step (each shape ``(T, m)``): for plots and teaching.

    Attributes:
      f: forget gate $g_f$.
      i: input gate $g_i$.
      o: output gate $g_o$.
      c_tilde: candidate $\tilde c$.
      c: cell state $c^{\langle t\rangle}$.
      h: hidden state $h^{\langle t\rangle}$.
    """

    f: jax.Array
    i: jax.Array
    o: jax.Array
    c_tilde: jax.Array
    c: jax.Array
    h: jax.Array


class GRUGates(NamedTuple):
    r"""The GRU's gates and states at every step (each shape ``(T, m)``).

    Attributes:
      r: reset gate $g_r$.
      u: update gate: the book's $g_u$ (weight of the candidate) in either convention; for
        ``convention="pytorch"`` this is $1 - z$.
      h_tilde: candidate $\tilde h$ (PyTorch's $n$).
      h: hidden state $h^{\langle t\rangle}$.
    """

    r: jax.Array
    u: jax.Array
    h_tilde: jax.Array
    h: jax.Array


@checks.inputs(params=_LSTM_FIELDS, x=_SEQ, mask="bool[T]?")
def lstm_gates(params: LSTMParams, x: jax.Array, *, state0=None, mask=None) -> LSTMGates:
    r"""Run :func:`lstm` and return its gates $g_f, g_i, g_o$, candidate $\tilde c$ and states at every step.

    The same recursion as :func:`lstm` (the tests pin ``.h`` to its ``H``); slower, as it keeps
    six ``(T, m)`` traces. At a masked step the gates are those computed there, and ``c``, ``h``
    the kept state.

    Args:
      params: ``LSTMParams``.
      x: ONE sequence, shape ``(T, p)``.
      state0: ``(h0, c0)``; default zeros.
      mask: shape ``(T,)`` bool.

    Returns:
      ``LSTMGates(f, i, o, c_tilde, c, h)``, each shape ``(T, m)``.

    Raises:
      ValueError, TypeError: as :func:`lstm`.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eqs. (7.16)-(7.17).
    """
    func = checks.public_name(lstm_gates)
    _x_dtype(func, x, params.W_x)
    m = params.W_h.shape[1]
    state0 = _lstm_state(func, state0, m, params.W_x)
    W = params.W_h.reshape(4 * m, m)

    def cell(z, state):
        h, c = state
        a = (z + h @ W.T).reshape(4, m)
        f, i, o, c_tilde = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1]), jax.nn.sigmoid(a[2]), jnp.tanh(a[3])
        c_new = f * c + i * c_tilde
        h_new = o * jnp.tanh(c_new)
        return (h_new, c_new), (f, i, o, c_tilde)

    def step(state, inp):
        z_t, keep = inp
        new, gates = cell(z_t, state)
        new = jax.tree.map(lambda a, b: jnp.where(keep, a, b), new, state)
        return new, (*gates, new[1], new[0])

    keep = jnp.ones(x.shape[:1], bool) if mask is None else mask
    traces = lax.scan(step, state0, (_project(params.W_x, params.b, x), keep))[1]
    return LSTMGates(*traces)


@checks.inputs(params=_GRU_FIELDS, x=_SEQ, h0="float[m]?", mask="bool[T]?")
def gru_gates(params: GRUParams, x: jax.Array, *, h0=None, mask=None, convention: str = "book") -> GRUGates:
    r"""Run :func:`gru` and return its reset and update gates, candidate and states at every step.

    Args:
      params: ``GRUParams``.
      x: ONE sequence, shape ``(T, p)``.
      h0: initial state, shape ``(m,)``; default zeros.
      mask: shape ``(T,)`` bool.
      convention: ``"book"`` or ``"pytorch"`` (see :func:`gru`); ``.u`` is the weight of the
        candidate in both.

    Returns:
      ``GRUGates(r, u, h_tilde, h)``, each shape ``(T, m)``.

    Raises:
      ValueError, TypeError: as :func:`gru`.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eqs. (7.18)-(7.19).
    """
    func = checks.public_name(gru_gates)
    _x_dtype(func, x, params.W_x)
    _state_dtype(func, "h0", h0, params.W_x)
    _gru_cell_fn(func, params, convention)  # checks the convention against b_hn
    m = params.W_h.shape[1]
    h0 = jnp.zeros((m,), x.dtype) if h0 is None else h0
    W_h = params.W_h
    b_hn = jnp.zeros((m,), W_h.dtype) if params.b_hn is None else params.b_hn

    def cell(z, h):
        z = z.reshape(3, m)
        if convention == "book":
            a = z[:2] + (h @ W_h[:2].reshape(2 * m, m).T).reshape(2, m)
            r, u = jax.nn.sigmoid(a[0]), jax.nn.sigmoid(a[1])
            h_tilde = jnp.tanh(z[2] + (r * h) @ W_h[2].T)
        else:
            v = (h @ W_h.reshape(3 * m, m).T).reshape(3, m)
            r, u = jax.nn.sigmoid(z[0] + v[0]), 1 - jax.nn.sigmoid(z[1] + v[1])
            h_tilde = jnp.tanh(z[2] + r * (v[2] + b_hn))
        return (1 - u) * h + u * h_tilde, (r, u, h_tilde)

    def step(h, inp):
        z_t, keep = inp
        new, gates = cell(z_t, h)
        new = jnp.where(keep, new, h)
        return new, (*gates, new)

    keep = jnp.ones(x.shape[:1], bool) if mask is None else mask
    traces = lax.scan(step, h0, (_project(params.W_x, params.b, x), keep))[1]
    return GRUGates(*traces)


# ------------------------------------------------------------------------- one step


@checks.inputs(params=checks.fields(W_hx="float[m p]", W_hh="float[m m]", b_h="float[m]"), h="float[m]", x="float[p]")
def rnn_step(params: RNNParams, h: jax.Array, x: jax.Array, *, activation=jnp.tanh) -> jax.Array:
    r"""One Elman step $h' = S_h(W_{hh} h + W_{hx} x + b_h)$ (for decoding, one token at a time).

    Args:
      params: ``RNNParams``.
      h: previous state, shape ``(m,)``.
      x: this step's input, shape ``(p,)``.
      activation: $S_h$.

    Returns:
      The new state, shape ``(m,)``.

    References:
      [MEDL] Ch. 7, Sec. 7.2.
    """
    return _rnn_cell(params.W_hh, activation, params.W_hx @ x + params.b_h, h)


@checks.inputs(params=_LSTM_FIELDS, x="float[p]")
def lstm_step(params: LSTMParams, state: tuple[jax.Array, jax.Array], x: jax.Array):
    r"""One LSTM step (eqs. (7.16)-(7.17)): ``(h, c) -> (h', c')`` for input ``x`` of shape ``(p,)``.

    Args:
      params: ``LSTMParams``.
      state: ``(h, c)``, each shape ``(m,)``.
      x: this step's input, shape ``(p,)``.

    Returns:
      The new ``(h, c)``.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """
    state = _lstm_state(checks.public_name(lstm_step), state, params.W_h.shape[1], params.W_x)
    return _lstm_cell(params.W_h, _project(params.W_x, params.b, x), state)


@checks.inputs(params=_GRU_FIELDS, h="float[m]", x="float[p]")
def gru_step(params: GRUParams, h: jax.Array, x: jax.Array, *, convention: str = "book") -> jax.Array:
    r"""One GRU step (eqs. (7.18)-(7.19), or PyTorch's convention): ``h -> h'`` for input ``x`` ``(p,)``.

    Args:
      params: ``GRUParams``.
      h: previous state, shape ``(m,)``.
      x: this step's input, shape ``(p,)``.
      convention: ``"book"`` or ``"pytorch"`` (see :func:`gru`).

    Returns:
      The new state, shape ``(m,)``.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """
    cell = _gru_cell_fn(checks.public_name(gru_step), params, convention)
    return cell(_project(params.W_x, params.b, x), h)


# ------------------------------------------------------------- any cell, stacked, bidirectional


def _apply_cell(func, params, x, state0, mask, reverse, unroll, convention):
    """Dispatch on the parameter type; returns (H, final state)."""
    if isinstance(params, RNNParams):
        return rnn(params, x, h0=state0, mask=mask, reverse=reverse, unroll=unroll)
    if isinstance(params, LSTMParams):
        return lstm(params, x, state0=state0, mask=mask, reverse=reverse, unroll=unroll)
    if isinstance(params, GRUParams):
        conv = "pytorch" if params.b_hn is not None else convention
        return gru(params, x, h0=state0, mask=mask, reverse=reverse, convention=conv, unroll=unroll)
    checks.fail(func, "params", "RNNParams, LSTMParams or GRUParams", checks.Text(type(params).__name__), exc=TypeError)


def recurrent(params, x, *, state0=None, mask=None, reverse=False, unroll=1, convention="book"):
    r"""Run whichever cell ``params`` holds: :func:`rnn`, :func:`lstm` or :func:`gru` by its type.

    Args:
      params: the cell's parameters.
      x: ONE sequence, shape ``(T, p)``.
      state0: the cell's initial state (``h0``, or ``(h0, c0)`` for an LSTM); default zeros.
      mask: shape ``(T,)`` bool; a False step keeps the state.
      reverse: run $t = T, \dots, 1$.
      unroll: steps per scan iteration.
      convention: the GRU convention when ``b_hn`` is ``None`` (a GRU with ``b_hn`` is PyTorch's).

    Returns:
      ``(H (T, m), final state)``.

    Raises:
      TypeError: if ``params`` is none of the three cell types; otherwise as the cell function.

    References:
      [MEDL] Ch. 7, Sec. 7.2-7.3.
    """
    return _apply_cell(checks.public_name(recurrent), params, x, state0, mask, reverse, unroll, convention)


_INITS = {"rnn": init_rnn, "lstm": init_lstm, "gru": init_gru}


def _init_cell(func, cell, key, p, m, dtype):
    checks.check_choice(func, "cell", cell, list(_INITS))
    return _INITS[cell](key, p, m, dtype=dtype)


def init_stacked(key: jax.Array, p: int, widths, *, cell: str = "rnn", dtype=None) -> tuple:
    r"""Initialise a stack of $L$ recurrent layers of widths ``widths`` (eq. (7.15)).

    Layer $\ell$ reads the states $h_{[\ell-1]}$ of the layer below (the input for $\ell = 1$).

    Args:
      key: a typed PRNG key.
      p: input width.
      widths: the state widths $m_1, \dots, m_L$ (a sequence of positive ints).
      cell: ``"rnn"``, ``"lstm"`` or ``"gru"`` (book's convention).
      dtype: floating dtype.

    Returns:
      A tuple of $L$ cell parameters.

    Raises:
      ValueError: for an unknown ``cell`` or a width that is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eq. (7.15).
    """
    func = checks.public_name(init_stacked)
    if isinstance(widths, int | str) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths
    ):
        checks.fail(func, "widths", "a sequence of positive ints (one state width per layer)", widths)
    widths = tuple(widths)
    if not widths:
        checks.fail(func, "widths", "at least one layer", widths)
    keys = jax.random.split(key, len(widths))
    ins = (p, *widths[:-1])
    return tuple(_init_cell(func, cell, k, a, b, dtype) for k, a, b in zip(keys, ins, widths, strict=True))


def stacked(params: tuple, x: jax.Array, *, states0=None, mask=None, unroll=1):
    r"""A stacked RNN ([MEDL] eq. (7.15)): layer $\ell$ reads the states of layer $\ell - 1$.

    $$h_{[\ell]}^{\langle t\rangle} = S^{[\ell]}(W^{[\ell]}_{hh} h_{[\ell]}^{\langle t-1\rangle}
      + W^{[\ell]}_{hx} h_{[\ell-1]}^{\langle t\rangle} + b^{[\ell]}),\qquad h_{[0]} = x.$$

    Each layer runs over the whole sequence of the layer below (so each still hoists its input
    product). For LSTM layers the hidden state $h$ is passed upward, never the cell state $c$.

    Args:
      params: a tuple of cell parameters (from :func:`init_stacked`), bottom first.
      x: ONE sequence, shape ``(T, p)``.
      states0: a tuple of initial states, one per layer, or ``None`` (zeros).
      mask: shape ``(T,)`` bool, applied in every layer.
      unroll: steps per scan iteration.

    Returns:
      ``(H, finals)``: the top layer's states, shape ``(T, m_L)``, and a tuple of each layer's
      final state.

    Raises:
      ValueError: if ``states0`` has another length than ``params``; otherwise as the cells.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eq. (7.15).
    """
    func = checks.public_name(stacked)
    params = tuple(params)
    if states0 is None:
        states0 = (None,) * len(params)
    if len(states0) != len(params):
        checks.fail(func, "states0", f"one initial state per layer ({len(params)})", checks.Text(f"{len(states0)}"))
    finals = []
    H = x
    for layer, s0 in zip(params, states0, strict=True):
        H, final = _apply_cell(func, layer, H, s0, mask, False, unroll, "book")
        finals.append(final)
    return H, tuple(finals)


def init_bidirectional(key: jax.Array, p: int, m: int, *, cell: str = "rnn", dtype=None) -> BidirectionalParams:
    r"""Initialise a bidirectional layer (eq. (7.14)): two independent cells of width ``m``.

    Args:
      key: a typed PRNG key.
      p: input width.
      m: state width of each direction.
      cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
      dtype: floating dtype.

    Returns:
      ``BidirectionalParams(forward, reverse)``.

    Raises:
      ValueError: for an unknown ``cell`` or a bad width.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eq. (7.14).
    """
    func = checks.public_name(init_bidirectional)
    kf, kr = jax.random.split(key)
    return BidirectionalParams(_init_cell(func, cell, kf, p, m, dtype), _init_cell(func, cell, kr, p, m, dtype))


def bidirectional(params: BidirectionalParams, x: jax.Array, *, mask=None, unroll=1):
    r"""Bidirectional recurrent layer (eq. (7.14)): a forward recursion over $t-1$ and a reverse one over $t+1$.

    Returns $v^{\langle t\rangle} = [h_f^{\langle t\rangle}; h_r^{\langle t\rangle}]$ for each $t$ (the
    keys and values of the Bahdanau encoder, eq. (7.22)); the book's output
    $\hat y^{\langle t\rangle} = S_y(W^f_{yh} h_f^{\langle t\rangle} + W^r_{yh} h_r^{\langle t\rangle} + b_y)$ is a
    dense layer on $v^{\langle t\rangle}$ with $W_{yh} = [W^f_{yh}\; W^r_{yh}]$. Under a right-padding
    ``mask`` the reverse recursion starts at the last real step.

    Args:
      params: ``BidirectionalParams(forward, reverse)``.
      x: ONE sequence, shape ``(T, p)``.
      mask: shape ``(T,)`` bool.
      unroll: steps per scan iteration.

    Returns:
      ``(V, (final_f, final_r))``: ``V`` of shape ``(T, m_f + m_r)``; ``final_f`` is the forward
      state after step $T$ and ``final_r`` the reverse state after step 1.

    Raises:
      TypeError: if ``params`` is not ``BidirectionalParams`` of cell parameters.

    References:
      [MEDL] Ch. 7, Sec. 7.3, eq. (7.14). Schuster & Paliwal (1997).
    """
    func = checks.public_name(bidirectional)
    if not isinstance(params, BidirectionalParams):
        checks.fail(func, "params", "BidirectionalParams", checks.Text(type(params).__name__), exc=TypeError)
    H_f, fin_f = _apply_cell(func, params.forward, x, None, mask, False, unroll, "book")
    H_r, fin_r = _apply_cell(func, params.reverse, x, None, mask, True, unroll, "book")
    return jnp.concatenate([H_f, H_r], axis=-1), (fin_f, fin_r)


# ------------------------------------------------------------------------- counts


def _count(func, gates, p, m, q, extra=0):
    p = positive_int(func, "p", p, {})
    m = positive_int(func, "m", m, {})
    out = 0 if q is None else positive_int(func, "q", q, {}) * (m + 1)
    return gates * (m * m + m * p + m) + extra * m + out


def rnn_param_count(p: int, m: int, q: int | None = None) -> int:
    r"""Parameters of an Elman layer: $m^2 + mp + m$, plus $q m + q$ for the output layer $W_{yh}, b_y$.

    Args:
      p: input width.
      m: state width.
      q: output width, or ``None`` for the recurrent layer alone (what :func:`init_rnn` makes).

    Returns:
      The count (an int).

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.2.
    """
    return _count(checks.public_name(rnn_param_count), 1, p, m, q)


def lstm_param_count(p: int, m: int, q: int | None = None) -> int:
    r"""Parameters of an LSTM layer: $4(\tilde m^2 + \tilde m p + \tilde m)$, plus $q\tilde m + q$ for the output layer.

    The book counts 4 matrices $\tilde m \times \tilde m$, 4 of $\tilde m \times p$, $W_{yh}$ and 5
    bias vectors (four gates and $b_y$). (PyTorch's ``torch.nn.LSTM`` has $4\tilde m$ more: two
    bias vectors per gate.)

    Args:
      p: input width.
      m: state width $\tilde m$.
      q: output width, or ``None`` for the recurrent layer alone.

    Returns:
      The count.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """
    return _count(checks.public_name(lstm_param_count), 4, p, m, q)


def gru_param_count(p: int, m: int, q: int | None = None, *, convention: str = "book") -> int:
    r"""Parameters of a GRU layer: $3(\tilde m^2 + \tilde m p + \tilde m)$, plus $q\tilde m + q$ for the output.

    PyTorch's convention adds $\tilde m$ (``b_hn``).

    The book counts 3 matrices $\tilde m \times \tilde m$, 3 of $\tilde m \times p$, $W_{yh}$ and 4 biases.

    Args:
      p: input width.
      m: state width $\tilde m$.
      q: output width, or ``None`` for the recurrent layer alone.
      convention: ``"book"`` or ``"pytorch"``.

    Returns:
      The count.

    Raises:
      ValueError: if a width is not a positive int or ``convention`` is unknown.

    References:
      [MEDL] Ch. 7, Sec. 7.3.
    """
    func = checks.public_name(gru_param_count)
    checks.check_choice(func, "convention", convention, GRU_CONVENTIONS)
    return _count(func, 3, p, m, q, extra=int(convention == "pytorch"))
