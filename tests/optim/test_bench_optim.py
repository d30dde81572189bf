"""The optim benchmark suite times the same computation in every column."""

import jax
import numpy as np
import pytest

from mathdl.bench import load_cases
from tests._tolerances import tol

CASES = [c for c in load_cases() if c.suite == "optim"]


def test_suite_registered():
    """Reference: the suite times sgd, momentum, adagrad, rmsprop, adam and adamw."""
    names = {c.name for c in CASES}
    assert names == {f"{n}_step" for n in ("sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw")}
    assert all(c.ratio_floor is not None and c.bytes(True) > 0 for c in CASES)


@pytest.mark.slow  # builds and compiles three 1k-parameter steps per case
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_columns_compute_the_same_step(case):
    """Oracle: the hand-written `jax` reference and Optax give the same new parameters as mathdl
    (float32 inputs and the float32 tolerance of a composite update)."""
    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
        impls = case.make(True)
        outs = {name: fn() for name, fn in impls.items()}
    assert {"mathdl", "jax", "optax"} <= set(impls)
    params = {name: out[0] if isinstance(out, tuple) else out for name, out in outs.items()}
    for name in ("jax", "optax"):
        for a, b in zip(jax.tree.leaves(params["mathdl"]), jax.tree.leaves(params[name]), strict=True):
            assert a.dtype == np.float32
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tol(np.float32, composite=True))
