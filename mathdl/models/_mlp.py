r"""The general fully connected network ([MEDL] Sec. 5.1).

With $a^{[0]} = x$, each layer computes

$$z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}, \qquad a^{[\ell]} = S^{[\ell]}(z^{[\ell]}),
\qquad \ell = 1, \dots, L,$$

and $\hat y = a^{[L]}$. Here $S^{[L]}$ is the identity unless the caller asks otherwise (the
network returns logits; losses take logits, which is the numerically stable form).
"""

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax

from mathdl import checks
from mathdl.layers import DenseParams, dense, init_dense, one_example

__all__ = ["MLPTrace", "count_params", "init_mlp", "mlp", "mlp_forward", "resolve_activations"]


class MLPTrace(NamedTuple):
    """All intermediate values of one forward pass.

    Attributes:
      z: tuple ``(z^[1], ..., z^[L])``, ``z[l-1]`` of shape ``(N_l,)``.
      a: tuple ``(a^[0] = x, a^[1], ..., a^[L])``, ``a[l]`` of shape ``(N_l,)``.
    """

    z: tuple
    a: tuple


def _identity(u):
    return u


def _named_activation(func: str, name: str) -> Callable:
    # Imported lazily: mathdl.activations is a layer-0 package written concurrently.
    from mathdl.models._activation_table import ACTIVATIONS

    checks.check_choice(func, "activation", name, sorted(ACTIVATIONS))
    return ACTIVATIONS[name][0]


def _pair_forward(entry):
    # An Activation(sigma, sigma_dot) (as accepted by backprop) is also accepted here: use sigma.
    from mathdl.models._activation_table import Activation

    if isinstance(entry, Activation):
        return entry.sigma
    return entry


def resolve_activations(func: str, activation, num_layers: int) -> tuple[Callable, ...]:
    r"""Expand ``activation`` into one callable per layer, $S^{[1]}, \dots, S^{[L]}$.

    Args:
      func: public name of the caller, for error messages.
      activation: a callable or a name (used for every hidden layer, output linear), or a
        sequence of length ``L - 1`` (hidden layers; output linear) or ``L`` (the last entry
        is the output activation; ``None`` means identity).
      num_layers: $L$.

    Returns:
      A tuple of ``L`` callables.

    Raises:
      ValueError: on a sequence of the wrong length or an unknown name.
      TypeError: on an entry that is neither callable, a name nor ``None``.

    References:
      [MEDL] Ch. 5, Sec. 5.1 and Sec. 5.3.
    """

    def one(entry):
        entry = _pair_forward(entry)
        if entry is None:
            return _identity
        if isinstance(entry, str):
            return _named_activation(func, entry)
        if not callable(entry):
            checks.fail(func, "activation", "a callable, a name or None", type(entry).__name__, exc=TypeError)
        return entry

    from mathdl.models._activation_table import Activation

    is_pair = isinstance(activation, Activation)
    if isinstance(activation, Sequence) and not isinstance(activation, str) and not is_pair:
        acts = list(activation)
        if len(acts) == num_layers - 1:
            acts.append(None)
        elif len(acts) != num_layers:
            checks.fail(
                func,
                "activation",
                f"a sequence of {num_layers - 1} (hidden) or {num_layers} (hidden + output) activations",
                f"length {len(acts)}",
            )
        return tuple(one(a) for a in acts)
    return tuple([one(activation)] * (num_layers - 1) + [_identity])


def dense_stack(func: str, name: str, params, dims: dict) -> tuple[DenseParams, ...]:
    """Spec: a non-empty sequence of ``DenseParams`` whose widths chain, ``W^[l]`` of shape ``(N_l, N_{l-1})``."""
    if not isinstance(params, Sequence) or len(params) == 0:
        checks.fail(func, name, "a non-empty sequence of DenseParams", type(params).__name__, exc=TypeError)
    out = []
    for ell, layer in enumerate(params):
        if not isinstance(layer, DenseParams):
            checks.fail(func, f"{name}[{ell}]", "DenseParams(W, b)", type(layer).__name__, exc=TypeError)
        spec = checks.fields(W=f"float[N_{ell + 1} N_{ell}]", b=f"float[N_{ell + 1}]")
        out.append(spec.conform(func, f"{name}[{ell}]", layer, dims))
    return tuple(out)


def count_params(widths: Sequence[int]) -> int:
    r"""Number of parameters of a fully connected network, $\sum_{\ell=1}^{L} N_\ell (N_{\ell-1} + 1)$.

    Args:
      widths: $(N_0, N_1, \dots, N_L)$, input width first.

    Returns:
      The count as a Python int.

    Raises:
      ValueError: if fewer than two widths or a non-positive width.
      TypeError: if ``widths`` is not a sequence.

    References:
      [MEDL] Ch. 5, Sec. 5.1 (parameter count).
    """
    widths = checks.as_widths(checks.public_name(count_params), "widths", widths)
    return sum(n * (m + 1) for m, n in zip(widths[:-1], widths[1:], strict=True))


@checks.inputs(key="key[]")
def init_mlp(key: jax.Array, widths: Sequence[int], *, init="he_normal", dtype=None) -> tuple[DenseParams, ...]:
    r"""Initialise a fully connected network with widths $(N_0, \dots, N_L)$.

    Layer $\ell$ gets $W^{[\ell]} \in \mathbb{R}^{N_\ell \times N_{\ell-1}}$ from ``init`` and
    $b^{[\ell]} = 0$. Each layer draws from its own key (``jax.random.split(key, L)``).

    Args:
      key: a typed PRNG key (``jax.random.key(seed)``).
      widths: $(N_0, \dots, N_L)$, input width first, at least two entries.
      init: initialiser name or callable (see ``mathdl.layers.init_dense``); He normal by default,
        which suits ReLU; use ``"glorot_normal"``/``"lecun_normal"`` for tanh or sigmoid.
      dtype: floating dtype (default: JAX's default float).

    Returns:
      A tuple of ``L`` ``DenseParams``.

    Raises:
      ValueError: on fewer than two widths, a non-positive width, or an unknown ``init``.
      TypeError: if ``key`` is not a typed key, ``widths`` is not a sequence or ``dtype`` not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1 and Sec. 5.5.
    """
    widths = checks.as_widths(checks.public_name(init_mlp), "widths", widths)
    keys = jax.random.split(key, len(widths) - 1)
    return tuple(
        init_dense(k, m, n, init=init, dtype=dtype) for k, m, n in zip(keys, widths[:-1], widths[1:], strict=True)
    )


def _forward(params, x, acts) -> MLPTrace:
    zs, as_ = [], [x]
    for layer, S in zip(params, acts, strict=True):
        zs.append(dense(layer, as_[-1]))  # z^[l] = W^[l] a^[l-1] + b^[l]
        as_.append(S(zs[-1]))  # a^[l] = S^[l](z^[l])
    return MLPTrace(tuple(zs), tuple(as_))


@checks.inputs(params=dense_stack, x=one_example("float[N_0]"))
def mlp_forward(params: Sequence[DenseParams], x: jax.Array, *, activation=jax.nn.relu) -> MLPTrace:
    r"""Forward pass of one example returning every $z^{[\ell]}$ and $a^{[\ell]}$ (for backprop and plots).

    $a^{[0]} = x$, $z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}$, $a^{[\ell]} = S^{[\ell]}(z^{[\ell]})$.

    Args:
      params: tuple of ``L`` ``DenseParams`` (from ``init_mlp``).
      x: ONE example, shape ``(N_0,)``; batch with ``jax.vmap`` (a batch is refused).
      activation: callable or name for every hidden layer (output linear), or a per-layer
        sequence of length ``L - 1`` or ``L`` (see ``mlp``).

    Returns:
      ``MLPTrace(z, a)``: ``z`` a tuple of ``L`` arrays ``(N_l,)``; ``a`` a tuple of ``L + 1``
      arrays with ``a[0] = x`` and ``a[L]`` the output.

    Raises:
      ValueError: if widths of consecutive layers do not match, ``x`` has the wrong shape, or
        the activation sequence has the wrong length.
      TypeError: if ``params`` is not a sequence of ``DenseParams`` or ``x`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1 (forward pass) and Sec. 5.4 (stored values used by backprop).
    """
    return _forward(params, x, resolve_activations(checks.public_name(mlp_forward), activation, len(params)))


@checks.inputs(params=dense_stack, x=one_example("float[N_0]"))
def mlp(params: Sequence[DenseParams], x: jax.Array, *, activation=jax.nn.relu) -> jax.Array:
    r"""Fully connected network on one example, $\hat y = f^{[L]} \circ \dots \circ f^{[1]}(x)$.

    $f^{[\ell]}(u) = S^{[\ell]}(W^{[\ell]} u + b^{[\ell]})$, with ReLU hidden layers and a linear
    last layer by default (the output is logits or a regression value).

    Args:
      params: tuple of ``L`` ``DenseParams`` (from ``init_mlp``).
      x: ONE example, shape ``(N_0,)``; use ``jax.vmap(mlp, in_axes=(None, 0))`` for batches (a
        batch passed directly is refused with that advice).
      activation: a callable or a name (``"relu"``, ``"tanh"``, ``"sigmoid"``, ...) used for
        every hidden layer, or a sequence of ``L - 1`` (hidden; output linear) or ``L``
        (hidden + output; ``None`` = identity) activations.

    Returns:
      $\hat y$, shape ``(N_L,)``.

    Raises:
      ValueError: if widths of consecutive layers do not match, ``x`` has the wrong shape, or
        the activation sequence has the wrong length.
      TypeError: if ``params`` is not a sequence of ``DenseParams`` or ``x`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.1.
    """
    return _forward(params, x, resolve_activations(checks.public_name(mlp), activation, len(params))).a[-1]
