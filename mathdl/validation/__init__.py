r"""Validation ([MEDL] Ch. 2, Sec. 2.5): k-fold cross-validation with vmapped folds, model complexity.

Every fold is a mask over the rows and models are fitted with row weights, so all folds (and a
grid of ridge strengths or polynomial degrees) run in one compiled call.
"""

from mathdl.validation._kfold import (
    ComplexityCurve,
    CVResult,
    complexity_curve,
    cross_validate,
    cv_polynomial_degree,
    cv_ridge,
    kfold_indices,
    kfold_masks,
)

__all__ = [
    "CVResult",
    "ComplexityCurve",
    "complexity_curve",
    "cross_validate",
    "cv_polynomial_degree",
    "cv_ridge",
    "kfold_indices",
    "kfold_masks",
]
