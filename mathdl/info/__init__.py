r"""Information theory (MEDL Appendix B, D2L Sec. 13.6): entropies, divergences, Gaussians.

Discrete functions take probability vectors along the last axis (leading axes are a batch)
and a ``base`` keyword (nats by default, ``base=2`` for bits); joint tables have ``x`` on
axis ``-2``. Gaussian functions take one distribution (or pair) in the univariate (scalars)
or multivariate (``(m,)`` mean, ``(m, m)`` covariance) form and work through Cholesky
factors. Invalid probabilities or covariances give NaN; :func:`mathdl.checks.checked` turns
that into an error.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_discrete", "_gaussian")
