r"""Per-example losses ([MEDL] Ch. 2-3; the maximum-likelihood link of the D2L notes).

No hidden reduction (the Optax convention): every loss keeps the leading `(*batch)` dimensions;
the objective $C(\theta)$ is their mean, which the caller takes. Invalid values (a label out of
range, a probability outside $[0, 1]$) give NaN, and raise inside :func:`mathdl.checks.checked`.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_box", "_classification", "_embedding", "_regression")
