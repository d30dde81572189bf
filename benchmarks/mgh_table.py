"""mathdl's second-order solvers against SciPy on the Moré-Garbow-Hillstrom collection (float64).

Every problem of ``mathdl.optim`` 's MGH collection is solved from its standard starting point by
each mathdl solver and by its SciPy counterpart:

====================  ================================================
mathdl                SciPy
====================  ================================================
``newton``            ``minimize(method="trust-exact")`` (exact Hessian)
``bfgs``              ``minimize(method="BFGS")``
``lbfgs`` (m = 10)    ``minimize(method="L-BFGS-B")`` (maxcor = 10)
``newton_cg``         ``minimize(method="Newton-CG")`` (Hessian-vector products)
``gauss_newton``      ``least_squares(method="lm")`` (MINPACK)
``levenberg_marquardt``  ``least_squares(method="lm")`` (MINPACK)
====================  ================================================

Both sides get the same objective $f = \\sum_i r_i^2$ (or the residuals), JAX derivatives (jitted),
the same iteration budget and matching tolerances: gradient 1e-8 (BFGS, L-BFGS), 1e-10 (Newton);
Newton-CG ``xtol`` 1e-12 in SciPy (its only test) and ``tol`` 1e-8 in mathdl; least squares 1e-10.
L-BFGS-B runs with ``ftol=0`` so that, like mathdl, it stops on the gradient or a failed line search.

A run *solves* a problem when its final $f$ is within ``rtol=1e-5`` (plus ``atol=1e-10``) of a
published minimum at a finite point (:meth:`MGHProblem.solved`); reaching a minimum "at infinity"
(Bard, Kowalik-Osborne) is not solving it. Evaluations: mathdl's ``n_fev`` (objective with gradient,
line searches included; Hessians and Jacobians not counted), SciPy's ``nfev`` (with ``jac=True`` one
call returns both).

Usage::

    .venv/bin/python benchmarks/mgh_table.py                    # all solvers, all 35 problems
    .venv/bin/python benchmarks/mgh_table.py --solver bfgs --problem jennrich_sampson
    .venv/bin/python benchmarks/mgh_table.py --out benchmarks/results/cpu/mgh.md
"""

import argparse
import contextlib
import platform
import sys
import time
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from mathdl import optim  # noqa: E402
from mathdl.optim._mgh import MGHProblem, mgh_problems  # noqa: E402

MAX_ITER = 500
SOLVERS = ("newton", "bfgs", "lbfgs", "newton_cg", "gauss_newton", "levenberg_marquardt")
SCIPY_NAME = {
    "newton": "trust-exact",
    "bfgs": "BFGS",
    "lbfgs": "L-BFGS-B",
    "newton_cg": "Newton-CG",
    "gauss_newton": "least_squares lm",
    "levenberg_marquardt": "least_squares lm",
}
STATUS = {optim.CONVERGED: "CONVERGED", optim.MAX_ITER: "MAX_ITER", optim.NON_FINITE: "NON_FINITE"}
STATUS[optim.NO_PROGRESS] = "NO_PROGRESS"
LEAST_SQUARES = ("gauss_newton", "levenberg_marquardt")


class Run(NamedTuple):
    """One solve: final f = sum r², iterations, evaluations, a status word, solved or not."""

    f: float
    n_iter: int
    n_fev: int
    status: str
    solved: bool


class Row(NamedTuple):
    problem: MGHProblem
    solver: str
    mathdl: Run
    scipy: Run


def _mathdl_options(solver: str, max_iter: int) -> dict:
    if solver == "lbfgs":
        return {"memory": 10, "max_iter": max_iter, "tol": 1e-8}
    tol = 1e-10 if solver in ("newton", *LEAST_SQUARES) else 1e-8
    return {"max_iter": max_iter, "tol": tol}


def run_mathdl(problems, solver: str, *, max_iter: int = MAX_ITER) -> list[Run]:
    """Solve each of ``problems`` with ``mathdl.optim.<solver>``, all in one jitted program; f reported as sum r².

    One program for the whole list compiles in about a third of the time of one program per problem
    (the solver's kernels are shared), and gives the same iterates.
    """
    fn = getattr(optim, solver)
    options = _mathdl_options(solver, max_iter)

    def target(p):
        return p.residuals if solver in LEAST_SQUARES else p.objective

    solve_all = jax.jit(lambda xs: [fn(target(p), x, **options) for p, x in zip(problems, xs, strict=True)])
    results = solve_all([jnp.asarray(p.x0) for p in problems])
    runs = []
    for p, res in zip(problems, results, strict=True):
        f = float(p.objective(res.x))
        runs.append(Run(f, int(res.n_iter), int(res.n_fev), STATUS[int(res.status)], p.solved(f)))
    return runs


def _np(fn):
    return lambda *xs: np.asarray(fn(*(jnp.asarray(x) for x in xs)))


def run_scipy(problem: MGHProblem, solver: str, *, max_iter: int = MAX_ITER) -> Run:
    """Solve ``problem`` with the SciPy counterpart of ``solver`` (JAX derivatives, jitted)."""
    import scipy.optimize as so

    x0 = np.asarray(problem.x0, np.float64)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # overflow and precision-loss warnings on the hard problems
        if solver in LEAST_SQUARES:
            r = jax.jit(problem.residuals)
            J = jax.jit(jax.jacfwd(problem.residuals))
            res = so.least_squares(
                _np(r), x0, jac=_np(J), method="lm", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=max_iter
            )
            f = float(2.0 * res.cost)
            return Run(f, int(res.nfev), int(res.nfev), "ok" if res.success else "fail", problem.solved(f))
        vg = jax.jit(jax.value_and_grad(problem.objective))

        def fun(x):
            v, g = vg(jnp.asarray(x))
            return float(v), np.asarray(g)

        kwargs: dict = {"jac": True, "method": SCIPY_NAME[solver]}
        if solver == "newton":
            kwargs["hess"] = _np(jax.jit(jax.hessian(problem.objective)))
            kwargs["options"] = {"gtol": 1e-10, "maxiter": max_iter}
        elif solver == "bfgs":
            kwargs["options"] = {"gtol": 1e-8, "maxiter": max_iter}
        elif solver == "lbfgs":
            kwargs["options"] = {"gtol": 1e-8, "ftol": 0.0, "maxcor": 10, "maxiter": max_iter}
        else:
            grad = jax.grad(problem.objective)
            kwargs["hessp"] = _np(jax.jit(lambda x, v: jax.jvp(grad, (x,), (v,))[1]))
            kwargs["options"] = {"xtol": 1e-12, "maxiter": max_iter}
        res = so.minimize(fun, x0, **kwargs)
    f = float(problem.objective(jnp.asarray(res.x)))
    return Run(f, int(res.nit), int(res.nfev), "ok" if res.success else "fail", problem.solved(f))


def compare(solvers=SOLVERS, names=None, *, max_iter: int = MAX_ITER, log=None) -> list[Row]:
    """Run every (problem, solver) pair on both sides; ``names`` restricts the problems."""
    problems = [p for p in mgh_problems() if not names or p.name in names]
    rows = []
    for solver in solvers:
        t = time.perf_counter()
        ours = run_mathdl(problems, solver, max_iter=max_iter)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        theirs = [run_scipy(p, solver, max_iter=max_iter) for p in problems]
        if log is not None:
            print(
                f"{solver:20s} mathdl {t_ours:6.1f} s (compile included), scipy {time.perf_counter() - t:6.1f} s",
                file=log,
            )
        rows += [Row(p, solver, a, b) for p, a, b in zip(problems, ours, theirs, strict=True)]
    order = {p.name: i for i, p in enumerate(problems)}
    return sorted(rows, key=lambda r: (solvers.index(r.solver), order[r.problem.name]))


def _fmt_f(run: Run) -> str:
    return f"{run.f:.6g}" + ("" if run.solved else " ✗")


def markdown(rows: list[Row], *, max_iter: int = MAX_ITER) -> str:
    """The summary table (solved counts per solver) and one table per solver, as markdown."""
    solvers = list(dict.fromkeys(r.solver for r in rows))
    lines = [
        "# mathdl vs SciPy on the Moré-Garbow-Hillstrom problems",
        "",
        f"float64, standard starting points, at most {max_iter} iterations each; "
        "solved = final f within 1e-5 (relative, plus 1e-10) of a published minimum at a finite point. "
        "Generated by `benchmarks/mgh_table.py` "
        f"(Python {platform.python_version()}, JAX {jax.__version__}, "
        f"SciPy {__import__('scipy').__version__}).",
        "",
        "| mathdl solver | SciPy counterpart | solved (mathdl) | solved (SciPy) | SciPy-only | mathdl-only "
        "| iterations (both solved, mathdl / SciPy) | evaluations (both solved, mathdl / SciPy) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in solvers:
        rs = [r for r in rows if r.solver == s]
        both = [r for r in rs if r.mathdl.solved and r.scipy.solved]
        scipy_only = [r.problem.name for r in rs if r.scipy.solved and not r.mathdl.solved]
        mathdl_only = [r.problem.name for r in rs if r.mathdl.solved and not r.scipy.solved]
        it = (sum(r.mathdl.n_iter for r in both), sum(r.scipy.n_iter for r in both))
        fe = (sum(r.mathdl.n_fev for r in both), sum(r.scipy.n_fev for r in both))
        lines.append(
            f"| `{s}` | {SCIPY_NAME[s]} | {sum(r.mathdl.solved for r in rs)}/{len(rs)} "
            f"| {sum(r.scipy.solved for r in rs)}/{len(rs)} | {', '.join(scipy_only) or '-'} "
            f"| {', '.join(mathdl_only) or '-'} | {it[0]} / {it[1]} | {fe[0]} / {fe[1]} |"
        )
    for s in solvers:
        lines += [
            "",
            f"## `{s}` vs SciPy {SCIPY_NAME[s]}",
            "",
            "| # | problem | n | m | published f* | mathdl f | iter | fev | status | SciPy f | iter | fev | SciPy |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in (r for r in rows if r.solver == s):
            p, a, b = r.problem, r.mathdl, r.scipy
            fstar = ", ".join(f"{v:.6g}" for v in p.minima)
            lines.append(
                f"| {p.number} | {p.name} | {p.n} | {p.m} | {fstar} | {_fmt_f(a)} | {a.n_iter} | {a.n_fev} "
                f"| {a.status} | {_fmt_f(b)} | {b.n_iter} | {b.n_fev} | {b.status} |"
            )
    lines += [
        "",
        "✗: not solved. Iterations of the least-squares rows are SciPy's `nfev` (MINPACK counts no iterations); "
        "mathdl's Levenberg-Marquardt counts each trial step (accepted or not) as an iteration.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", action="append", choices=SOLVERS, help="solvers to run (default: all)")
    parser.add_argument("--problem", action="append", help="problem names to run (default: all)")
    parser.add_argument("--max-iter", type=int, default=MAX_ITER)
    parser.add_argument("--out", help="also write the markdown to this file")
    args = parser.parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):
        rows = compare(tuple(args.solver or SOLVERS), args.problem, max_iter=args.max_iter, log=sys.stderr)
    text = markdown(rows, max_iter=args.max_iter)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
