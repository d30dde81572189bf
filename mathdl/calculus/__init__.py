r"""Multivariable calculus (MEDL Appendix A): derivatives, Taylor models, finite differences.

Every function takes a JAX function ``f`` and a point and returns values, so you can jit,
vmap and differentiate them at the call site. Jacobians are in the book's orientation, one
row per output: $J_f(x)\in\mathbb{R}^{m\times n}$ for $f:\mathbb{R}^n\to\mathbb{R}^m$.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_derivatives", "_finite", "_taylor")
