r"""A small teaching engine for automatic differentiation on scalars ([MEDL] Ch. 4, Sec. 4.4).

Forward mode with dual numbers (:class:`Dual`, :func:`jvp`) and reverse mode with a tape
(:class:`Tape`, :class:`Var`, :func:`vjp`), over the elementary operations ``+ - * / **``, unary
minus, :func:`exp`, :func:`log`, :func:`sin`, :func:`cos`, :func:`tanh`, :func:`sigmoid` and
:func:`sqrt`. :func:`grad` / :func:`value_and_grad` / :func:`jacobian` take ``mode="forward"`` or
``"reverse"``; :func:`trace` prints the computational graph; :func:`count_ops` shows that forward
mode costs one sweep per input and reverse mode one backward sweep per output.

This engine is for reading, not for speed: use ``jax.grad`` for real work (the tests check that
the two agree to 1e-12).

Value semantics follow IEEE floats (as NumPy and JAX): ``log(0.0) = -inf``, ``log(-1.0) = nan``,
``1.0 / 0.0 = inf``; nothing raises for a value problem. An unsupported operand type raises
``TypeError`` naming the operation (``autodiff.exp: argument `x` expected a float, int, Dual or Var,
got ...``).
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_api", "_core")
