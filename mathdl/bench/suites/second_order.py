r"""Second-order and quasi-Newton solvers (MEDL Sec. 4.6): a whole compiled solve against SciPy.

Each case times one complete minimisation from the same starting point, in float64:

* ``mathdl``: the solver (``optim.bfgs``, ``optim.lbfgs``, ``optim.newton_cg``) jitted once, so a
  call is one compiled ``lax.while_loop`` from $x_0$ to the answer; it returns the
  :class:`~mathdl.optim.SolverResult` pytree.
* ``scipy``: ``scipy.optimize.minimize`` with the same method, the objective and its gradient from
  a jitted ``jax.grad`` (and, for Newton-CG, Hessian-vector products from a jitted ``jax.jvp`` of
  it), so each iteration pays a Python round trip per evaluation; it returns ``np.asarray(res.x)``.

Cases (both impls stop at a gradient tolerance of 1e-8; SciPy's tests use the max-norm, mathdl's the
2-norm, and L-BFGS-B's relative-decrease test is switched off with ``ftol=0`` so it does not stop early):

* ``rosenbrock_bfgs``, ``rosenbrock_lbfgs`` (memory 10), ``rosenbrock_newton_cg``: the 2-D
  Rosenbrock function from $(-1.2, 1)$ (30-90 iterations);
* ``logistic_lbfgs``: ridge logistic regression ($\lambda = 10^{-2}$) on the 569 x 30 standardised
  breast-cancer data, 31 parameters, from zero (about 30 iterations).

SciPy runs with its OpenBLAS pool limited to one thread (``threadpoolctl``, when installed; about
50 us per call). On a small shared CPU the default two-thread pool costs L-BFGS-B's ``setulb`` 1-6 ms
per iteration on a 2-D problem (measured: Rosenbrock 3.5 ms with one thread, 50-300 ms without), a
threading artefact, not the algorithm's cost.

There is no hand-written ``jax`` peer (the solver *is* the JAX code), so the table shows
``n/a (no jax impl)`` for the ratio column and the headline row compares mathdl with SciPy.
The problems are small, so ``quick`` changes nothing.
"""

import contextlib

import jax
import jax.numpy as jnp

from mathdl.bench._registry import register_case

_TOL = 1e-8


def _in_x64(fn, *, single_blas_thread: bool = False):
    """Run ``fn`` with 64-bit floats enabled (the solves are float64, as SciPy's are).

    With ``single_blas_thread``, BLAS (OpenBLAS under NumPy/SciPy) is limited to one thread during the
    call, if ``threadpoolctl`` is installed.
    """
    limit = contextlib.nullcontext
    if single_blas_thread:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            pass
        else:
            controller = ThreadpoolController()

            def limit():
                return controller.limit(limits=1, user_api="blas")

    def call():
        with jax.enable_x64(True), limit():
            return fn()

    return call


def _rosenbrock_case(mathdl_solver, scipy_kwargs: dict, with_hessp: bool = False) -> dict:
    import numpy as np
    import scipy.optimize

    from mathdl import optim

    with jax.enable_x64(True):
        x0 = jnp.array([-1.2, 1.0], jnp.float64)
    solve = jax.jit(lambda x: mathdl_solver(optim.rosenbrock, x))
    value = jax.jit(optim.rosenbrock)
    grad = jax.jit(jax.grad(optim.rosenbrock))
    hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(optim.rosenbrock), (x,), (v,))[1])
    x0_np = np.array([-1.2, 1.0])
    extra = {"hessp": lambda x, v: np.asarray(hvp(x, v))} if with_hessp else {}

    def f_scipy():
        res = scipy.optimize.minimize(
            lambda x: float(value(x)), x0_np, jac=lambda x: np.asarray(grad(x)), **extra, **scipy_kwargs
        )
        return np.asarray(res.x)

    return {"mathdl": _in_x64(lambda: solve(x0)), "scipy": _in_x64(f_scipy, single_blas_thread=True)}


@register_case("second_order", "rosenbrock_bfgs")
def rosenbrock_bfgs(quick: bool) -> dict:
    """BFGS on Rosenbrock from (-1.2, 1): optim.bfgs under jit vs scipy BFGS."""
    from mathdl import optim

    del quick  # a 2-D problem: the same work either way
    return _rosenbrock_case(
        lambda f, x: optim.bfgs(f, x, tol=_TOL), {"method": "BFGS", "options": {"gtol": _TOL, "maxiter": 500}}
    )


@register_case("second_order", "rosenbrock_lbfgs")
def rosenbrock_lbfgs(quick: bool) -> dict:
    """L-BFGS (m = 10) on Rosenbrock from (-1.2, 1): optim.lbfgs under jit vs scipy L-BFGS-B."""
    from mathdl import optim

    del quick
    return _rosenbrock_case(
        lambda f, x: optim.lbfgs(f, x, memory=10, tol=_TOL),
        {"method": "L-BFGS-B", "options": {"gtol": _TOL, "ftol": 0.0, "maxcor": 10, "maxiter": 500}},
    )


@register_case("second_order", "rosenbrock_newton_cg")
def rosenbrock_newton_cg(quick: bool) -> dict:
    """Newton-CG on Rosenbrock from (-1.2, 1): optim.newton_cg under jit vs scipy Newton-CG (JAX hessp)."""
    from mathdl import optim

    del quick
    return _rosenbrock_case(
        lambda f, x: optim.newton_cg(f, x, tol=_TOL),
        {"method": "Newton-CG", "options": {"xtol": 1e-12, "maxiter": 500}},
        with_hessp=True,
    )


@register_case("second_order", "logistic_lbfgs")
def logistic_lbfgs(quick: bool) -> dict:
    """L-BFGS on ridge logistic regression (breast cancer, 31 parameters): optim.lbfgs vs scipy L-BFGS-B."""
    import numpy as np
    import scipy.optimize

    from mathdl import optim

    del quick
    with jax.enable_x64(True):
        problem = optim.breast_cancer_logistic(l2=1e-2, dtype=jnp.float64)
    solve = jax.jit(lambda x: optim.lbfgs(problem.f, x, memory=10, tol=_TOL))
    value_and_grad = jax.jit(jax.value_and_grad(problem.f))
    theta0_np = np.zeros(problem.theta0.shape[0])

    def fun(theta):
        v, g = value_and_grad(theta)
        return float(v), np.asarray(g)

    def f_scipy():
        res = scipy.optimize.minimize(
            fun,
            theta0_np,
            jac=True,
            method="L-BFGS-B",
            options={"gtol": _TOL, "ftol": 0.0, "maxcor": 10, "maxiter": 1000},
        )
        return np.asarray(res.x)

    return {"mathdl": _in_x64(lambda: solve(problem.theta0)), "scipy": _in_x64(f_scipy, single_blas_thread=True)}
