"""Model parameters drawn with NumPy in the structure an initialiser gives (no JAX random compiles in tests)."""

import math

import jax
import jax.numpy as jnp
import numpy as np


def random_params(init, *args, seed: int = 0, **kwargs):
    """A pytree shaped like ``init(key, *args, **kwargs)`` with NumPy draws.

    Kernels and weight matrices get standard normals over sqrt(fan-in) (HWIO kernels: all axes but
    the last; dense (N_out, N_in): the last), batch-norm ``gamma`` 1 + N(0, 0.2^2), running ``var``
    in [0.5, 1.5), every other vector N(0, 0.1^2). Only shapes are traced (``jax.eval_shape``),
    so no threefry kernel is compiled, which costs seconds per shape on a loaded 2-core machine.
    """
    shapes = jax.eval_shape(lambda k: init(k, *args, **kwargs), jax.random.key(0))
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = getattr(path[-1], "name", "") if path else ""
        shape = leaf.shape
        if name == "gamma":
            v = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name == "var":
            v = 0.5 + rng.random(shape)
        elif len(shape) >= 2:
            fan = shape[-1] if len(shape) == 2 else math.prod(shape[:-1])
            v = rng.standard_normal(shape) / np.sqrt(fan)
        else:
            v = 0.1 * rng.standard_normal(shape)
        return jnp.asarray(v, leaf.dtype)

    return jax.tree_util.tree_map_with_path(fill, shapes)


def normal(seed: int, shape, dtype=np.float64):
    """A NumPy standard-normal array (test inputs without compiling a JAX random kernel)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), dtype)
