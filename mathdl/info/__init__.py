r"""Information theory (MEDL Appendix B, D2L Sec. 13.6): entropies, divergences, Gaussians.

Discrete functions take probability vectors along the last axis (leading axes are a batch)
and a ``base`` keyword (nats by default, ``base=2`` for bits); joint tables have ``x`` on
axis ``-2``. Gaussian functions take one distribution (or pair) in the univariate (scalars)
or multivariate (``(m,)`` mean, ``(m, m)`` covariance) form and work through Cholesky
factors. Invalid probabilities or covariances give NaN; :func:`mathdl.checks.checked` turns
that into an error.
"""

from mathdl.info._discrete import (
    conditional_entropy,
    cross_entropy,
    entropy,
    joint_entropy,
    js_divergence,
    kl_divergence,
    mutual_information,
    perplexity,
    pointwise_mutual_information,
    sequence_perplexity,
)
from mathdl.info._gaussian import (
    gaussian_entropy,
    gaussian_kl,
    gaussian_kl_diag,
    gaussian_kl_isotropic,
    gaussian_kl_standard,
    gaussian_logpdf,
    kl_monte_carlo,
)

__all__ = [
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "gaussian_entropy",
    "gaussian_kl",
    "gaussian_kl_diag",
    "gaussian_kl_isotropic",
    "gaussian_kl_standard",
    "gaussian_logpdf",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "kl_monte_carlo",
    "mutual_information",
    "perplexity",
    "pointwise_mutual_information",
    "sequence_perplexity",
]
