"""Named activations with their derivatives, for ``mlp`` and the explicit ``backprop``.

Pairs ``(sigma, sigma_dot)`` come from ``mathdl.activations`` (``f`` and ``d_f``). Common ``jax.nn``
callables are mapped to the matching ``mathdl.activations`` derivative so that
``backprop(..., activation=jax.nn.relu)`` works; any other callable must be given as an explicit
``(sigma, sigma_dot)`` pair, because backprop never guesses a derivative.
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import activations as A
from mathdl import checks

__all__ = ["Activation"]


class Activation(NamedTuple):
    """An activation with its derivative, for ``backprop`` with a custom $\\sigma$.

    Attributes:
      sigma: the elementwise activation $\\sigma$.
      sigma_dot: its derivative $\\dot\\sigma$, elementwise.
    """

    sigma: Callable
    sigma_dot: Callable


# name -> (sigma, sigma_dot); kinks follow mathdl.activations (left derivative, d_relu(0) = 0).
ACTIVATIONS = {
    "relu": (A.relu, A.d_relu),
    "leaky_relu": (A.leaky_relu, A.d_leaky_relu),
    "tanh": (A.tanh, A.d_tanh),
    "sigmoid": (A.sigmoid, A.d_sigmoid),
    "scaled_sigmoid": (A.scaled_sigmoid, A.d_scaled_sigmoid),
    "softplus": (A.softplus, A.d_softplus),
    "elu": (A.elu, A.d_elu),
    "gelu": (A.gelu, A.d_gelu),
    "swish": (A.swish, A.d_swish),
    "silu": (A.silu, A.d_silu),
    "step": (A.step, A.d_step),
    "identity": (lambda u: u, jnp.ones_like),
}

_KNOWN_CALLABLES = {
    A.relu: A.d_relu,
    A.leaky_relu: A.d_leaky_relu,
    A.tanh: A.d_tanh,
    A.sigmoid: A.d_sigmoid,
    A.scaled_sigmoid: A.d_scaled_sigmoid,
    A.softplus: A.d_softplus,
    A.elu: A.d_elu,
    A.gelu: A.d_gelu,
    A.swish: A.d_swish,
    A.silu: A.d_silu,
    A.step: A.d_step,
    jax.nn.relu: A.d_relu,
    jnp.tanh: A.d_tanh,
    jax.nn.sigmoid: A.d_sigmoid,
    jax.nn.softplus: A.d_softplus,
    jax.nn.silu: A.d_silu,
    jax.nn.elu: A.d_elu,  # jax.nn.elu's default alpha = 1 matches d_elu's default
    jax.nn.leaky_relu: A.d_leaky_relu,  # both default to slope 0.01
    jax.nn.gelu: functools.partial(A.d_gelu, approximate=True),  # jax.nn.gelu defaults to the tanh form
}


def activation_pair(func: str, entry):
    """Resolve a name, a known callable, ``None`` (identity) or a ``(sigma, sigma_dot)`` pair."""
    if entry is None:
        return Activation(*ACTIVATIONS["identity"])
    if isinstance(entry, str):
        checks.check_choice(func, "activation", entry, sorted(ACTIVATIONS))
        return Activation(*ACTIVATIONS[entry])
    if isinstance(entry, Activation):
        return entry
    if callable(entry):
        try:
            d = _KNOWN_CALLABLES.get(entry)
        except TypeError:  # unhashable callable
            d = None
        if d is None:
            checks.fail(
                func,
                "activation",
                "a name, a known activation or models.Activation(sigma, sigma_dot) (backprop needs sigma_dot)",
                getattr(entry, "__name__", type(entry).__name__),
            )
        return Activation(entry, d)
    checks.fail(
        func,
        "activation",
        "a name, a callable or models.Activation(sigma, sigma_dot)",
        type(entry).__name__,
        exc=TypeError,
    )
