"""Type aliases shared across mathdl (jaxtyping shapes use the book's dimension names)."""

from typing import Any

import jax

__all__ = ["PRNGKey", "Params", "PyTree", "Scalar"]

PRNGKey = jax.Array
"""A typed key from ``jax.random.key(seed)``."""

PyTree = Any
"""Any JAX pytree."""

Params = Any
"""A pytree of parameters, usually a ``NamedTuple`` named with the book's symbols."""

Scalar = jax.Array | float
"""A 0-d array or a Python float."""
