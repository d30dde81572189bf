"""The Ch 4 second-order demos and bench cases are registered, and the bench columns solve the same problem.

That the demos stay in range is checked with every other demo in tests/tour/test_demos.py.
"""

import numpy as np
import pytest

import mathdl.tour._ch4_second_order as tour_second_order
from mathdl.bench import load_cases
from mathdl.tour import demos

DEMOS = [d for d in demos() if d.fn.__module__ == tour_second_order.__name__]
CASES = [c for c in load_cases() if c.suite == "second_order"]


def test_registered():
    """Reference: two Ch 4 second-order tour demos and four bench cases, each case with mathdl and scipy."""
    assert len(DEMOS) == 2 and all(d.chapter == "4" for d in DEMOS)
    names = {c.name for c in CASES}
    assert names == {"rosenbrock_bfgs", "rosenbrock_lbfgs", "rosenbrock_newton_cg", "logistic_lbfgs"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bench_columns_agree_on_minimiser(case):
    """Oracle: ``scipy.optimize.minimize`` (same method, JAX gradient) reaches the same minimiser as the
    jitted mathdl solver, within 1e-5 in every coordinate; mathdl's run converged (status 0)."""
    from mathdl import optim

    impls = case.make(True)
    assert set(impls) == {"mathdl", "scipy"}
    res = impls["mathdl"]()
    x_scipy = impls["scipy"]()
    assert int(res.status) == optim.CONVERGED
    assert isinstance(x_scipy, np.ndarray) and x_scipy.dtype == np.float64
    x_mathdl = np.asarray(res.x)
    assert x_mathdl.dtype == np.float64
    np.testing.assert_allclose(x_mathdl, x_scipy, rtol=0, atol=1e-5)
    if case.name.startswith("rosenbrock"):
        np.testing.assert_allclose(x_mathdl, [1.0, 1.0], rtol=0, atol=1e-6)
