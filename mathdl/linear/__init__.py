r"""Linear models ([MEDL] Ch. 2, Sec. 2.3-2.5 and Ch. 3, Sec. 3.1-3.4).

Least squares and ridge (SVD / pseudo-inverse, never an explicit inverse), polynomial features,
gradient descent with and without standardisation, Huber and absolute-loss regression, logistic
regression (Newton/IRLS and gradient descent), softmax regression, one-vs-rest and one-vs-one
classifiers, and the decision rules (threshold $\tau$, argmax). Every ``X`` is given WITHOUT a
column of ones: the intercept is part of the returned params. Fitting procedures are compiled
JAX (``lax.while_loop`` / ``lax.scan``), so they jit and vmap.
"""

from mathdl.linear._least_squares import (
    GDFit,
    LinearParams,
    fit_least_squares,
    fit_linear_gd,
    polynomial_features,
    predict_linear,
)
from mathdl.linear._logistic import (
    LogisticFit,
    LogisticParams,
    fit_logistic,
    logistic_gradient_hessian,
    logistic_objective,
    predict_logistic,
    threshold_rule,
)
from mathdl.linear._multiclass import fit_one_vs_one, fit_one_vs_rest, predict_one_vs_one, predict_one_vs_rest
from mathdl.linear._robust import RobustFit, fit_robust
from mathdl.linear._softmax import (
    SoftmaxFit,
    SoftmaxParams,
    argmax_rule,
    fit_softmax,
    predict_softmax,
    softmax_objective,
)

__all__ = [
    "GDFit",
    "LinearParams",
    "LogisticFit",
    "LogisticParams",
    "RobustFit",
    "SoftmaxFit",
    "SoftmaxParams",
    "argmax_rule",
    "fit_least_squares",
    "fit_linear_gd",
    "fit_logistic",
    "fit_one_vs_one",
    "fit_one_vs_rest",
    "fit_robust",
    "fit_softmax",
    "logistic_gradient_hessian",
    "logistic_objective",
    "polynomial_features",
    "predict_linear",
    "predict_logistic",
    "predict_one_vs_one",
    "predict_one_vs_rest",
    "predict_softmax",
    "softmax_objective",
    "threshold_rule",
]
