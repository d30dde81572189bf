r"""First- and second-order Taylor models (MEDL Appendix A.4).

Both functions return the *value* of the model at a point, so that ``jax.vmap`` over `x`
(with `x0` fixed, ``in_axes=(None, None, 0)``) evaluates the model along a whole grid while
JAX computes the derivatives at `x0` once.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.calculus._common import check_scalar_output, function, like, point

__all__ = ["taylor1", "taylor2"]


@checks.inputs(f=function, x0=point, x=like)
def taylor1(f: Callable[[jax.Array], jax.Array], x0: jax.Array, x: jax.Array) -> jax.Array:
    r"""First-order (linear) Taylor model of a scalar function, evaluated at `x`.

    $$\tilde f_1(x) = f(x_0) + \nabla f(x_0)^\top (x - x_0),$$

    with $x_0$ = `x0`. Its error is $O(\lVert x - x_0\rVert^2)$ for twice differentiable $f$.

    Args:
      f: scalar-valued function of one array, written in JAX.
      x0: the expansion point, a floating array of shape ``(n,)`` (or any shape).
      x: where to evaluate the model, same shape and dtype as `x0`.

    Returns:
      $\tilde f_1(x)$, a scalar of the dtype of `x0`.

    Raises:
      TypeError: if `f` is not callable, `x0` is not floating point, or `x` has another dtype.
      ValueError: if `x.shape != x0.shape` or `f` is not scalar-valued.

    References:
      [MEDL] App. A, Sec. A.4 (Taylor's theorem); Ch. 4 (gradient descent as minimising the
      linear model plus a step penalty). Oracle in tests: hand-derived polynomials.

    Example:
      >>> taylor1(lambda x: (x**2).sum(), jnp.array([1.0]), jnp.array([1.5]))
      Array(2., dtype=float32)
    """
    check_scalar_output(checks.public_name(taylor1), f, x0)
    f0, df = jax.jvp(f, (x0,), (x - x0,))  # f(x0) and grad f(x0)^T (x - x0) in one forward pass
    return f0 + df


@checks.inputs(f=function, x0=point, x=like)
def taylor2(f: Callable[[jax.Array], jax.Array], x0: jax.Array, x: jax.Array) -> jax.Array:
    r"""Second-order (quadratic) Taylor model of a scalar function, evaluated at `x`.

    $$\tilde f_2(x) = f(x_0) + \nabla f(x_0)^\top d + \tfrac12\, d^\top \nabla^2 f(x_0)\, d,
    \qquad d = x - x_0,$$

    with $x_0$ = `x0`. The quadratic term uses one Hessian-vector product (forward over
    reverse), so the Hessian is never formed. This is the model Newton's method minimises;
    its error is $O(\lVert d\rVert^3)$ for three times differentiable $f$.

    Args:
      f: scalar-valued function of one array, written in JAX.
      x0: the expansion point, a floating array of shape ``(n,)`` (or any shape).
      x: where to evaluate the model, same shape and dtype as `x0`.

    Returns:
      $\tilde f_2(x)$, a scalar of the dtype of `x0`.

    Raises:
      TypeError: if `f` is not callable, `x0` is not floating point, or `x` has another dtype.
      ValueError: if `x.shape != x0.shape` or `f` is not scalar-valued.

    References:
      [MEDL] App. A, Sec. A.4; Ch. 4 (Newton's method and its quadratic model). Oracle in
      tests: hand-derived polynomials (a quadratic is its own second-order model).

    Example:
      >>> taylor2(lambda x: (x**3).sum(), jnp.array([1.0]), jnp.array([2.0]))
      Array(7., dtype=float32)
    """
    check_scalar_output(checks.public_name(taylor2), f, x0)
    d = x - x0
    f0 = f(x0)
    g, Hd = jax.jvp(jax.grad(f), (x0,), (d,))  # g = grad f(x0), Hd = Hessian(x0) @ d
    return f0 + jnp.sum(g * d) + 0.5 * jnp.sum(d * Hd)
