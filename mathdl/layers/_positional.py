r"""Positional embeddings ([MEDL] Ch. 7, Sec. 7.5, (7.28)-(7.30)) and rotary embeddings (Su et al. 2021).

Self-attention without positions is permutation equivariant: permuting the rows of the input
permutes the rows of the output. Positions break the symmetry in one of four ways:

* one-hot positions $e_t \in \mathbb{R}^{T_{max}}$ concatenated to the input, $\tilde p = p + T_{max}$;
* learned (7.28): $\tilde x^{\langle t\rangle} = W_1 S(W_2 x^{\langle t\rangle} + W_3 e_t + b)$;
* sinusoidal (7.29): $r^{\langle t\rangle}_{2i} = \sin(t / M^{2i/p_e})$,
  $r^{\langle t\rangle}_{2i+1} = \cos(t / M^{2i/p_e})$, $M = 10^4$, concatenated to $x^{\langle t\rangle}$ or added
  to it when $p_e = p$ (7.30);
* rotary (RoPE): each pair $(x_{2i}, x_{2i+1})$ of a query or key is rotated by the angle
  $t\, \theta_i$, $\theta_i = B^{-2i/d}$, so that $\langle R_s q, R_t k \rangle$ depends on $t - s$ only.

Layout: ONE sequence ``(T, p)``, rows are positions $t = 0, \dots, T - 1$ (``start`` shifts them:
``start=1`` counts from 1); batch with ``jax.vmap``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text
from mathdl.layers._init import resolve_initialiser
from mathdl.layers._specs import one_example, positive_int

__all__ = [
    "LearnedPositionParams",
    "apply_positions",
    "apply_rotary",
    "init_learned_positions",
    "learned_positions",
    "one_hot_positions",
    "rotary",
    "rotary_tables",
    "sinusoidal_positions",
]


def _dtype(func, dtype):
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", Text(f"dtype {dtype}"), exc=TypeError)
    return dtype


def _start(func, start):
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        checks.fail(func, "start", "a non-negative int", start)
    return start


def _positive_number(func, name, value):
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        checks.fail(func, name, "a positive number", value)
    return float(value)


def sinusoidal_positions(T: int, p_e: int, *, M: float = 10_000.0, start: int = 0, dtype=None) -> jax.Array:
    r"""Sinusoidal positional embeddings (7.29), $r^{\langle t\rangle}_{2i} = \sin(t/M^{2i/p_e})$, cosine at $2i + 1$.

    Column $j$ has frequency $M^{-2\lfloor j/2\rfloor/p_e}$ (sine for even $j$, cosine for odd $j$),
    so the wavelengths run geometrically from $2\pi$ to about $2\pi M$. An odd $p_e$ ends with a sine.
    Add the result to $x$ when $p_e = p$ or concatenate it (:func:`apply_positions`, (7.30)).

    Args:
      T: number of positions (positive int).
      p_e: embedding width (positive int).
      M: the base $M > 0$ (the book's and Vaswani et al.'s $10^4$).
      start: the first position (0, as Vaswani et al. and D2L; 1 counts as the book's
        $t = 1, \dots, T$).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      $R$, shape ``(T, p_e)``; row $t$ is $r^{\langle t + \text{start}\rangle}$.

    Raises:
      ValueError: if ``T`` or ``p_e`` is not a positive int, ``M`` not positive or ``start`` negative.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.29)-(7.30); Vaswani et al. (2017), Sec. 3.5; D2L Sec. 11.6.3.
    """
    func = checks.public_name(sinusoidal_positions)
    T = positive_int(func, "T", T, {})
    p_e = positive_int(func, "p_e", p_e, {})
    M = _positive_number(func, "M", M)
    start = _start(func, start)
    dtype = _dtype(func, dtype)
    t = jnp.arange(start, start + T, dtype=dtype)
    i2 = 2 * (jnp.arange(p_e) // 2)  # 2i for columns 2i and 2i + 1
    freq = jnp.power(jnp.asarray(M, dtype), -i2.astype(dtype) / p_e)
    angle = t[:, None] * freq[None, :]
    even = (jnp.arange(p_e) % 2 == 0)[None, :]
    return jnp.where(even, jnp.sin(angle), jnp.cos(angle))


def one_hot_positions(T: int, max_len: int | None = None, *, dtype=None) -> jax.Array:
    r"""One-hot positions $e_t \in \mathbb{R}^{T_{max}}$, one row per position (concatenated: $p + T_{max}$).

    Args:
      T: number of positions (positive int).
      max_len: $T_{max} \ge T$, the width of the code (default ``T``).
      dtype: floating dtype.

    Returns:
      Shape ``(T, max_len)``: row $t$ is $e_t$.

    Raises:
      ValueError: if ``max_len < T`` (both named) or a size is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.5 (one-hot positional encoding).
    """
    func = checks.public_name(one_hot_positions)
    T = positive_int(func, "T", T, {})
    max_len = T if max_len is None else positive_int(func, "max_len", max_len, {})
    if max_len < T:
        checks.fail(func, "max_len", f"at least the number of positions T = {T}", max_len)
    return jnp.eye(T, max_len, dtype=_dtype(func, dtype))


def apply_positions(x, R, *, mode: str = "add") -> jax.Array:
    r"""Combine a sequence with positional embeddings (7.30): added, $x + r$, or concatenated, $[x; r]$.

    Args:
      x: ONE sequence, shape ``(T, p)``.
      R: positional embeddings, shape ``(T_max, p_e)`` with ``T_max >= T`` (the first ``T`` rows
        are used), e.g. from :func:`sinusoidal_positions` or :func:`one_hot_positions`.
      mode: ``"add"`` (needs $p_e = p$) or ``"concat"`` (width $p + p_e$).

    Returns:
      Shape ``(T, p)`` (add) or ``(T, p + p_e)`` (concat).

    Raises:
      ValueError: if ``R`` has fewer rows than ``x``, or (add) a width other than ``p``; both
        shapes are named. If ``mode`` is unknown or ``x`` is a batch (use ``jax.vmap``).

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.30).
    """
    func = checks.public_name(apply_positions)
    x = one_example("float[T p]")(func, "x", x, {})
    R = checks.conform(func, "R", R, "float[a b]")
    checks.check_choice(func, "mode", mode, ["add", "concat"])
    T, p = x.shape
    if R.shape[0] < T:
        checks.fail(func, "R", f"at least T = {T} rows (x of shape {tuple(x.shape)})", Text(f"shape {tuple(R.shape)}"))
    if mode == "add" and R.shape[1] != p:
        checks.fail(
            func,
            "R",
            f"width p_e = p = {p} to add (x of shape {tuple(x.shape)}); use mode='concat' otherwise",
            Text(f"shape {tuple(R.shape)}"),
        )
    dt = jnp.result_type(x, R)
    x, R = x.astype(dt), R[:T].astype(dt)
    if mode == "add":
        return x + R
    return jnp.concatenate([x, R], axis=1)


class LearnedPositionParams(NamedTuple):
    r"""Parameters of the learned positional embedding (7.28), $\tilde x = W_1 S(W_2 x + W_3 e_t + b)$.

    Attributes:
      W1: shape ``(p_out, n)``.
      W2: shape ``(n, p)``.
      W3: shape ``(n, T_max)``: column $t$ is position $t$'s learned vector.
      b: shape ``(n,)``.
    """

    W1: jax.Array
    W2: jax.Array
    W3: jax.Array
    b: jax.Array


@checks.inputs(key="key[]", p=positive_int, max_len=positive_int, n_hidden=positive_int)
def init_learned_positions(
    key: jax.Array, p: int, max_len: int, n_hidden: int, *, p_out: int | None = None, init="glorot_uniform", dtype=None
) -> LearnedPositionParams:
    r"""Initialise the learned positional embedding of (7.28).

    Args:
      key: a typed PRNG key.
      p: input width.
      max_len: $T_{max}$, the longest sequence it can embed.
      n_hidden: hidden width $n$.
      p_out: output width $\tilde p$ (default ``p``).
      init: initialiser name or callable for the matrices; $b = 0$.
      dtype: floating dtype.

    Returns:
      ``LearnedPositionParams(W1 (p_out, n), W2 (n, p), W3 (n, max_len), b (n,))``.

    Raises:
      ValueError: if a width is not a positive int.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.28).
    """
    func = checks.public_name(init_learned_positions)
    p_out = p if p_out is None else positive_int(func, "p_out", p_out, {})
    draw = resolve_initialiser(func, init)
    k1, k2, k3 = jax.random.split(key, 3)
    W1 = draw(k1, (p_out, n_hidden), dtype)
    W2 = draw(k2, (n_hidden, p), W1.dtype)
    W3 = draw(k3, (n_hidden, max_len), W1.dtype)
    return LearnedPositionParams(W1, W2, W3, jnp.zeros((n_hidden,), W1.dtype))


@checks.inputs(
    params=checks.fields(W1="float[q n]", W2="float[n p]", W3="float[n L]", b="float[n]"),
    x=one_example("float[T p]"),
)
def learned_positions(params: LearnedPositionParams, x, *, activation=jax.nn.relu, start: int = 0) -> jax.Array:
    r"""The learned positional embedding (7.28), $\tilde x^{\langle t\rangle} = W_1 S(W_2 x + W_3 e_t + b)$.

    Args:
      params: :class:`LearnedPositionParams`.
      x: ONE sequence, shape ``(T, p)`` with ``start + T <= T_max``.
      activation: $S$ (default ReLU).
      start: the first position's index.

    Returns:
      $\tilde x$, shape ``(T, p_out)``.

    Raises:
      ValueError: if the sequence is longer than ``T_max`` (both named) or a width disagrees.

    References:
      [MEDL] Ch. 7, Sec. 7.5, (7.28).
    """
    func = checks.public_name(learned_positions)
    start = _start(func, start)
    T, L = x.shape[0], params.W3.shape[1]
    if start + T > L:
        checks.fail(
            func,
            "x",
            f"at most T_max - start = {L} - {start} = {L - start} positions (params.W3 of shape "
            f"{tuple(params.W3.shape)})",
            Text(f"shape {tuple(x.shape)}"),
        )
    dt = jnp.result_type(x, *params)
    W1, W2, W3, b = (a.astype(dt) for a in params)
    E = W3[:, start : start + T].T  # row t: W3 e_t
    return activation(x.astype(dt) @ W2.T + E + b[None, :]) @ W1.T


def rotary_tables(T: int, d: int, *, base: float = 10_000.0, start: int = 0, dtype=None):
    r"""The cosines and sines of rotary embeddings: angles $t\,\theta_i$, $\theta_i = B^{-2i/d}$, $i < d/2$.

    Args:
      T: number of positions.
      d: the (even) width of the queries or keys.
      base: $B > 0$ (Su et al.'s $10^4$).
      start: the first position (``offset`` of a key-value cache).
      dtype: floating dtype.

    Returns:
      ``(cos, sin)``, each of shape ``(T, d // 2)``.

    Raises:
      ValueError: if ``d`` is odd, or a size is not a positive int.

    References:
      Su et al. (2021), RoFormer, Sec. 3.2.
    """
    func = checks.public_name(rotary_tables)
    T = positive_int(func, "T", T, {})
    d = positive_int(func, "d", d, {})
    if d % 2:
        checks.fail(func, "d", "an even width (rotary embeddings rotate pairs of coordinates)", d)
    base = _positive_number(func, "base", base)
    start = _start(func, start)
    dtype = _dtype(func, dtype)
    theta = jnp.power(jnp.asarray(base, dtype), -2 * jnp.arange(d // 2, dtype=dtype) / d)
    angle = jnp.arange(start, start + T, dtype=dtype)[:, None] * theta[None, :]
    return jnp.cos(angle), jnp.sin(angle)


def _rotate(x, cos, sin):
    x1, x2 = x[:, 0::2], x[:, 1::2]
    y1 = x1 * cos - x2 * sin
    y2 = x1 * sin + x2 * cos
    return jnp.stack([y1, y2], axis=-1).reshape(x.shape)


def apply_rotary(x, cos, sin) -> jax.Array:
    r"""Rotate each pair $(x_{2i}, x_{2i+1})$ of row $t$ by the angle with cosine ``cos[t, i]`` and sine ``sin[t, i]``.

    Args:
      x: queries or keys of ONE sequence, shape ``(T, d)`` (``d`` even).
      cos: shape ``(T, d // 2)`` (from :func:`rotary_tables`).
      sin: shape ``(T, d // 2)``.

    Returns:
      Shape ``(T, d)``; each row keeps its norm.

    Raises:
      ValueError: if the tables' shape is not ``(T, d // 2)`` (both named).

    References:
      Su et al. (2021), RoFormer, (34).
    """
    func = checks.public_name(apply_rotary)
    x = one_example("float[T d]")(func, "x", x, {})
    cos = checks.conform(func, "cos", cos, "float[a b]")
    sin = checks.conform(func, "sin", sin, "float[a b]")
    want = (x.shape[0], x.shape[1] // 2)
    if x.shape[1] % 2:
        checks.fail(func, "x", "an even width d (pairs of coordinates rotate)", Text(f"shape {tuple(x.shape)}"))
    for name, t in (("cos", cos), ("sin", sin)):
        if t.shape != want:
            checks.fail(
                func, name, f"shape (T, d/2) = {want} for x of shape {tuple(x.shape)}", Text(f"shape {tuple(t.shape)}")
            )
    dt = jnp.result_type(x, cos, sin)
    return _rotate(x.astype(dt), cos.astype(dt), sin.astype(dt))


def rotary(x, *, base: float = 10_000.0, start: int = 0) -> jax.Array:
    r"""Rotary positional embedding (RoPE) of queries or keys: row $t$ rotated pairwise by $t\,\theta_i$.

    Apply it to the queries and keys (not the values) of each head before the scores; then
    $\langle \mathrm{rotary}(q)_s, \mathrm{rotary}(k)_t\rangle$ depends on $q_s$, $k_t$ and $t - s$ only.

    Args:
      x: ONE sequence of queries or keys, shape ``(T, d)``, ``d`` even.
      base: $B$ of $\theta_i = B^{-2i/d}$.
      start: the first row's position.

    Returns:
      Shape ``(T, d)``.

    Raises:
      ValueError: if ``d`` is odd or ``x`` is a batch (use ``jax.vmap``).

    References:
      Su et al. (2021), RoFormer: Enhanced Transformer with Rotary Position Embedding.
    """
    func = checks.public_name(rotary)
    x = one_example("float[T d]")(func, "x", x, {})
    if x.shape[1] % 2:
        checks.fail(func, "x", "an even width d (pairs of coordinates rotate)", Text(f"shape {tuple(x.shape)}"))
    dt = x.dtype
    cos, sin = rotary_tables(x.shape[0], x.shape[1], base=base, start=start, dtype=dt)
    return _rotate(x, cos, sin)
