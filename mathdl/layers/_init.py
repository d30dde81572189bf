r"""Weight initialisers: Glorot/Xavier, He and LeCun, each in a normal and a uniform form.

Every initialiser has the signature ``init(key, shape, dtype=None) -> array`` and reads the
fans from a weight matrix in the book's column orientation, ``W`` of shape
``(N_out, N_in)`` = ``(N_ℓ, N_{ℓ-1})``: ``fan_in = shape[-1]``, ``fan_out = shape[-2]``.
(``jax.nn.initializers`` defaults to the row orientation ``(in, out)``; pass
``in_axis=-1, out_axis=-2`` there to get the same fans.)

The variance targets come from keeping activations (forward) or adjoints (backward) at a
constant scale through depth ([MEDL] Sec. 5.5):

* LeCun: ``Var = 1 / fan_in`` (linear or tanh near 0, forward pass);
* Glorot/Xavier: ``Var = 2 / (fan_in + fan_out)`` (compromise between forward and backward);
* He: ``Var = 2 / fan_in`` (ReLU halves the second moment, so the factor 2 restores it).

The normal forms draw from an (untruncated) normal with that variance; the uniform forms
draw from ``U(-a, a)`` with ``a = sqrt(3 Var)``.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = [
    "INITIALISERS",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
]


def _fans(func: str, shape) -> tuple[int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        checks.fail(func, "shape", "a shape of rank >= 2 such as (N_out, N_in)", f"shape {shape}")
    if any(s <= 0 for s in shape):
        checks.fail(func, "shape", "positive sizes", f"shape {shape}")
    receptive = 1
    for s in shape[:-2]:  # leading axes (e.g. a kernel's spatial extent) multiply both fans
        receptive *= s
    return shape[-1] * receptive, shape[-2] * receptive


def _dtype(func: str, dtype):
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", f"dtype {dtype}", exc=TypeError)
    return dtype


def _normal(func: str, key, shape, dtype, var_fn) -> jax.Array:
    fan_in, fan_out = _fans(func, shape)
    dtype = _dtype(func, dtype)
    std = (var_fn(fan_in, fan_out)) ** 0.5
    return std * jax.random.normal(key, tuple(shape), dtype)


def _uniform(func: str, key, shape, dtype, var_fn) -> jax.Array:
    fan_in, fan_out = _fans(func, shape)
    dtype = _dtype(func, dtype)
    limit = (3.0 * var_fn(fan_in, fan_out)) ** 0.5  # Var U(-a, a) = a^2 / 3
    return jax.random.uniform(key, tuple(shape), dtype, minval=-limit, maxval=limit)


def _glorot_var(fan_in, fan_out):
    return 2.0 / (fan_in + fan_out)


def _he_var(fan_in, fan_out):
    del fan_out
    return 2.0 / fan_in


def _lecun_var(fan_in, fan_out):
    del fan_out
    return 1.0 / fan_in


@checks.inputs(key="key[]")
def glorot_normal(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""Glorot (Xavier) normal initialiser: $W_{ij} \sim \mathcal{N}(0, 2/(N_{\ell-1} + N_\ell))$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)`` (column orientation; extra leading axes multiply both fans).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``2 / (fan_in + fan_out)``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. Glorot & Bengio (2010). Oracle in tests:
      ``jax.nn.initializers.glorot_normal`` with ``in_axis=-1, out_axis=-2`` (truncated there).
    """
    return _normal(checks.public_name(glorot_normal), key, shape, dtype, _glorot_var)


@checks.inputs(key="key[]")
def glorot_uniform(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""Glorot (Xavier) uniform initialiser: $W_{ij} \sim U(-a, a)$, $a = \sqrt{6/(N_{\ell-1}+N_\ell)}$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``2 / (fan_in + fan_out)``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. Glorot & Bengio (2010). Oracle in tests:
      ``jax.nn.initializers.glorot_uniform`` and ``torch.nn.init.xavier_uniform_``.
    """
    return _uniform(checks.public_name(glorot_uniform), key, shape, dtype, _glorot_var)


@checks.inputs(key="key[]")
def he_normal(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""He (Kaiming) normal initialiser: $W_{ij} \sim \mathcal{N}(0, 2/N_{\ell-1})$, suited to ReLU.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``2 / fan_in``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. He et al. (2015). Oracle in tests:
      ``jax.nn.initializers.variance_scaling(2, "fan_in", "normal")``.
    """
    return _normal(checks.public_name(he_normal), key, shape, dtype, _he_var)


@checks.inputs(key="key[]")
def he_uniform(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""He (Kaiming) uniform initialiser: $W_{ij} \sim U(-a, a)$, $a = \sqrt{6/N_{\ell-1}}$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``2 / fan_in``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. He et al. (2015). Oracle in tests: ``jax.nn.initializers.he_uniform``.
    """
    return _uniform(checks.public_name(he_uniform), key, shape, dtype, _he_var)


@checks.inputs(key="key[]")
def lecun_normal(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""LeCun normal initialiser: $W_{ij} \sim \mathcal{N}(0, 1/N_{\ell-1})$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``1 / fan_in``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. LeCun et al. (1998), "Efficient BackProp". Oracle in tests:
      ``jax.nn.initializers.variance_scaling(1, "fan_in", "normal")``.
    """
    return _normal(checks.public_name(lecun_normal), key, shape, dtype, _lecun_var)


@checks.inputs(key="key[]")
def lecun_uniform(key: jax.Array, shape, dtype=None) -> jax.Array:
    r"""LeCun uniform initialiser: $W_{ij} \sim U(-a, a)$, $a = \sqrt{3/N_{\ell-1}}$.

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      shape: weight shape ``(N_out, N_in)``.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Array of ``shape`` with variance ``1 / fan_in``.

    Raises:
      ValueError: if ``shape`` has rank < 2 or a non-positive size.
      TypeError: if ``key`` is not a typed PRNG key or ``dtype`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.5. Oracle in tests: ``jax.nn.initializers.lecun_uniform``.
    """
    return _uniform(checks.public_name(lecun_uniform), key, shape, dtype, _lecun_var)


#: Initialiser name -> function ``(key, shape, dtype) -> array``, the names ``init=`` accepts.
INITIALISERS: dict[str, Callable] = {
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "xavier_normal": glorot_normal,
    "xavier_uniform": glorot_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
}


def resolve_initialiser(func: str, init) -> Callable:
    r"""Turn an initialiser name (or callable) into a callable ``init(key, shape, dtype)``.

    Args:
      func: the public name of the calling function, for error messages.
      init: a name from ``INITIALISERS`` or a callable ``(key, shape, dtype) -> array``.

    Returns:
      The initialiser callable.

    Raises:
      ValueError: if ``init`` is an unknown name.
      TypeError: if ``init`` is neither a string nor callable.

    References:
      [MEDL] Ch. 5, Sec. 5.5.
    """
    if isinstance(init, str):
        checks.check_choice(func, "init", init, sorted(INITIALISERS))
        return INITIALISERS[init]
    if not callable(init):
        checks.fail(func, "init", "an initialiser name or a callable", type(init).__name__, exc=TypeError)
    return init
