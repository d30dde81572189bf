"""One tolerance table per dtype. A looser tolerance at a call site needs a comment saying why."""

import numpy as np

TOL = {
    # dtype: (simple operation, composition of several operations)
    np.dtype("float32"): {"rtol": 1e-5, "atol": 1e-6, "rtol_comp": 1e-4, "atol_comp": 1e-5},
    np.dtype("float64"): {"rtol": 1e-12, "atol": 1e-12, "rtol_comp": 1e-10, "atol_comp": 1e-10},
}


def tol(dtype, *, composite: bool = False) -> dict:
    """``assert_allclose`` keyword arguments for ``dtype``."""
    t = TOL[np.dtype(dtype)]
    if composite:
        return {"rtol": t["rtol_comp"], "atol": t["atol_comp"]}
    return {"rtol": t["rtol"], "atol": t["atol"]}
