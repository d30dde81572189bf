r"""Per-example losses ([MEDL] Ch. 2-3; the maximum-likelihood link of the D2L notes).

No hidden reduction (the Optax convention): every loss keeps the leading `(*batch)` dimensions;
the objective $C(\theta)$ is their mean, which the caller takes. Invalid values (a label out of
range, a probability outside $[0, 1]$) give NaN, and raise inside :func:`mathdl.checks.checked`.
"""

from mathdl.losses._classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    hinge,
    softmax_cross_entropy,
    softmax_cross_entropy_with_probs,
)
from mathdl.losses._regression import absolute_error, gaussian_nll, huber, laplace_nll, squared_error

__all__ = [
    "absolute_error",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "gaussian_nll",
    "hinge",
    "huber",
    "laplace_nll",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_probs",
    "squared_error",
]
