"""Test configuration shared by the whole suite.

* float64 is on for the whole suite so worked values and ``check_grads`` (order 2) are
  exact; tests of float32 behaviour create float32 arrays explicitly.
* Strict rank and dtype promotion: implicit broadcasting between ranks and implicit
  int/float mixing raise, so library code must be explicit.
* ``jax_debug_key_reuse``: using a typed key twice raises.
"""

import os

# Tests that need several devices run in their own subprocess (see tests/_multidevice.py);
# the main process keeps one CPU device.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_debug_key_reuse", True)

try:  # registered here so every test module sees the same settings
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "mathdl",
        deadline=None,  # the first call of a jitted function compiles; timing it is meaningless
        max_examples=30,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("mathdl")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def getkey():
    """A fresh typed PRNG key per call: ``getkey()`` never returns the same key twice."""
    key = [jax.random.key(0)]

    def _next():
        key[0], sub = jax.random.split(key[0])
        return sub

    return _next


# The transform kind of test: one shared parametrisation instead of a copy per file. A test that
# takes `transform` runs twice, once eagerly and once under `jax.jit`; `transform(f)` returns the
# function to call.
def _eager(f):
    return f


@pytest.fixture(params=[_eager, jax.jit], ids=["eager", "jit"])
def transform(request):
    """``transform(f)`` is ``f`` itself (eager) or ``jax.jit(f)``."""
    return request.param
