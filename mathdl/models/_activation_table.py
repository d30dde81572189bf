"""Named activations with their derivatives sigma-dot, for ``mlp`` and the explicit ``backprop``.

Names resolve to ``mathdl.activations`` (the layer-0 package) when it provides them; the
fallbacks below are ``jax.nn`` forward functions whose derivative is left to ``None`` so that
``backprop`` refuses to guess.
"""

import jax
import jax.numpy as jnp

_FALLBACK = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "identity": lambda u: u,
}

ACTIVATIONS = {name: (fn, None) for name, fn in _FALLBACK.items()}
