"""Optimisation (MEDL Ch. 4): first-order optimizers as Optax transformations, schedules, line searches, test problems.

Keep this file a plain import list; each module's ``__all__`` is the source of truth.
"""

from mathdl.optim._first_order import (
    AdagradState,
    AdamState,
    MomentumState,
    RMSPropState,
    SGDState,
    adagrad,
    adam,
    adamw,
    clip_by_global_norm,
    gd,
    momentum,
    nesterov,
    rmsprop,
    sgd,
)
from mathdl.optim._line_search import (
    LineSearchResult,
    backtracking_line_search,
    exact_line_search,
    gd_exact_line_search,
)
from mathdl.optim._problems import (
    SGD_TOY_C,
    SGD_TOY_X,
    LogisticProblem,
    QuadraticProblem,
    breast_cancer_logistic,
    logistic_loss,
    peaks,
    quadratic,
    rosenbrock,
    sgd_toy,
    sgd_toy_loss,
    sgd_toy_minimiser,
)
from mathdl.optim._run import Trajectory, run
from mathdl.optim._schedules import (
    constant_schedule,
    cosine_schedule,
    geometric_schedule,
    join_schedules,
    linear_warmup,
    step_schedule,
)
from mathdl.optim._second_order import (
    CONVERGED,
    MAX_ITER,
    NO_PROGRESS,
    NON_FINITE,
    CGResult,
    SolverResult,
    SolverTrace,
    bfgs,
    conjugate_gradient,
    gauss_newton,
    lbfgs,
    levenberg_marquardt,
    newton,
    newton_cg,
)

__all__ = [
    # second-order and quasi-Newton (compiled solvers)
    "CONVERGED",
    "MAX_ITER",
    "NO_PROGRESS",
    "NON_FINITE",
    "CGResult",
    "SolverResult",
    "SolverTrace",
    "bfgs",
    "conjugate_gradient",
    "gauss_newton",
    "lbfgs",
    "levenberg_marquardt",
    "newton",
    "newton_cg",
    # first-order optimizers (optax.GradientTransformation)
    "AdagradState",
    "AdamState",
    "MomentumState",
    "RMSPropState",
    "SGDState",
    "adagrad",
    "adam",
    "adamw",
    "clip_by_global_norm",
    "gd",
    "momentum",
    "nesterov",
    "rmsprop",
    "sgd",
    # schedules
    "constant_schedule",
    "cosine_schedule",
    "geometric_schedule",
    "join_schedules",
    "linear_warmup",
    "step_schedule",
    # line search
    "LineSearchResult",
    "backtracking_line_search",
    "exact_line_search",
    "gd_exact_line_search",
    # trajectories
    "Trajectory",
    "run",
    # test problems
    "LogisticProblem",
    "QuadraticProblem",
    "SGD_TOY_C",
    "SGD_TOY_X",
    "breast_cancer_logistic",
    "logistic_loss",
    "peaks",
    "quadratic",
    "rosenbrock",
    "sgd_toy",
    "sgd_toy_loss",
    "sgd_toy_minimiser",
]
