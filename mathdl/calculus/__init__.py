r"""Multivariable calculus (MEDL Appendix A): derivatives, Taylor models, finite differences.

Every function takes a JAX function ``f`` and a point and returns values, so you can jit,
vmap and differentiate them at the call site. Jacobians are in the book's orientation, one
row per output: $J_f(x)\in\mathbb{R}^{m\times n}$ for $f:\mathbb{R}^n\to\mathbb{R}^m$.
"""

from mathdl.calculus._derivatives import (
    chain_rule,
    cosine_similarity,
    directional_derivative,
    gradient,
    hessian,
    hvp,
    jacobian,
)
from mathdl.calculus._finite import (
    GradCheckError,
    GradCheckReport,
    check_grad,
    default_step,
    finite_difference_gradient,
    finite_difference_jacobian,
)
from mathdl.calculus._taylor import taylor1, taylor2

__all__ = [
    "GradCheckError",
    "GradCheckReport",
    "chain_rule",
    "check_grad",
    "cosine_similarity",
    "default_step",
    "directional_derivative",
    "finite_difference_gradient",
    "finite_difference_jacobian",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "taylor1",
    "taylor2",
]
