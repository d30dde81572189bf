r"""Derivatives of multivariable functions (MEDL Appendix A.1-A.3).

Every function here takes the function ``f`` and a point ``x`` and returns a *value*
(an array), so it composes with ``jax.jit`` and ``jax.vmap`` at the call site. ``f`` must
be written with JAX operations. Jacobians use the book's orientation: for
$f:\mathbb{R}^n\to\mathbb{R}^m$ the Jacobian $J_f(x)\in\mathbb{R}^{m\times n}$ has entries
$[J_f(x)]_{ij} = \partial f_i/\partial x_j$ (one row per output), so the chain rule reads
$J_{g\circ f}(x) = J_g(f(x))\,J_f(x)$ and the gradient of a scalar function is the
transpose of its $1\times n$ Jacobian.
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.calculus._common import check_scalar_output, function, like, point
from mathdl.checks import Text

__all__ = [
    "chain_rule",
    "cosine_similarity",
    "directional_derivative",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
]


@checks.inputs(f=function, x=point)
def gradient(f: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    r"""Gradient of a scalar function at a point (reverse mode).

    $$\nabla f(x) = \Big(\frac{\partial f}{\partial x_1}(x), \dots, \frac{\partial f}{\partial x_n}(x)\Big)^\top,$$

    with $f$ = `f` and $x$ = `x`. When `x` is a matrix the result is the matrix of partial
    derivatives $\partial f/\partial x_{ij}$, the book's derivative of a scalar with respect
    to a matrix (MEDL eq. A.15).

    Args:
      f: scalar-valued function of one array, written in JAX.
      x: the point, a floating array of any shape.

    Returns:
      $\nabla f(x)$, same shape and dtype as `x`.

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point.
      ValueError: if `f(x)` is not a scalar.

    References:
      [MEDL] App. A, Sec. A.2 (gradient), eq. (A.15). Oracle in tests: central differences
      in NumPy and ``torch.autograd.grad``.

    Example:
      >>> gradient(lambda x: (x**2).sum(), jnp.array([1.0, 2.0]))
      Array([2., 4.], dtype=float32)
    """
    check_scalar_output(checks.public_name(gradient), f, x)
    return jax.grad(f)(x)


@checks.inputs(f=function, x=point)
def jacobian(f: Callable[[jax.Array], jax.Array], x: jax.Array, *, mode: str = "forward") -> jax.Array:
    r"""Jacobian matrix of `f` at `x`, in the book's orientation (one row per output).

    For $f:\mathbb{R}^n\to\mathbb{R}^m$,

    $$[J_f(x)]_{ij} = \frac{\partial f_i}{\partial x_j}(x), \qquad J_f(x)\in\mathbb{R}^{m\times n}.$$

    ``mode="forward"`` builds it from $n$ Jacobian-vector products (cheap when $n \le m$),
    ``mode="reverse"`` from $m$ vector-Jacobian products (cheap when $m \le n$); both give
    the same matrix. For arrays of higher rank the shape is ``f(x).shape + x.shape``.

    Args:
      f: function of one array, written in JAX.
      x: the point, a floating array (shape ``(n,)`` for the matrix case).
      mode: ``"forward"`` (``jax.jacfwd``) or ``"reverse"`` (``jax.jacrev``).

    Returns:
      $J_f(x)$, shape ``f(x).shape + x.shape`` (``(m, n)`` for vectors).

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point.
      ValueError: if `mode` is not ``"forward"`` or ``"reverse"``.

    References:
      [MEDL] App. A, Sec. A.2 (Jacobian) and Sec. A.3. Oracle in tests:
      ``torch.autograd.functional.jacobian`` and NumPy central differences.

    Example:
      >>> jacobian(lambda x: x[::-1] * 2.0, jnp.array([1.0, 2.0]))
      Array([[0., 2.],
             [2., 0.]], dtype=float32)
    """
    checks.check_choice(checks.public_name(jacobian), "mode", mode, ("forward", "reverse"))
    return (jax.jacfwd if mode == "forward" else jax.jacrev)(f)(x)


@checks.inputs(f=function, x=point)
def hessian(f: Callable[[jax.Array], jax.Array], x: jax.Array) -> jax.Array:
    r"""Hessian matrix of a scalar function (forward over reverse).

    $$[\nabla^2 f(x)]_{ij} = \frac{\partial^2 f}{\partial x_i\,\partial x_j}(x),$$

    the Jacobian of the gradient. It is symmetric when $f$ is twice continuously
    differentiable.

    Args:
      f: scalar-valued function of one array, written in JAX.
      x: the point, a floating array of shape ``(n,)`` (or any shape ``s``).

    Returns:
      $\nabla^2 f(x)$, shape ``(n, n)`` (``s + s`` in general).

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point.
      ValueError: if `f(x)` is not a scalar.

    References:
      [MEDL] App. A, Sec. A.2 and Sec. A.4 (second-order Taylor model). Oracle in tests:
      ``torch.autograd.functional.hessian``.

    Example:
      >>> hessian(lambda x: x[0] * x[1], jnp.array([1.0, 2.0]))
      Array([[0., 1.],
             [1., 0.]], dtype=float32)
    """
    check_scalar_output(checks.public_name(hessian), f, x)
    return jax.jacfwd(jax.grad(f))(x)


@checks.inputs(f=function, x=point, v=like)
def hvp(f: Callable[[jax.Array], jax.Array], x: jax.Array, v: jax.Array) -> jax.Array:
    r"""Hessian-vector product $\nabla^2 f(x)\, v$ without forming the Hessian.

    Computed forward-over-reverse: the directional derivative of the gradient,

    $$\nabla^2 f(x)\,v = \frac{d}{dt}\nabla f(x + t v)\Big|_{t=0},$$

    one JVP of ``jax.grad(f)``, so it costs a small multiple of one gradient.

    Args:
      f: scalar-valued function of one array, written in JAX.
      x: the point, a floating array of shape ``(n,)`` (or any shape).
      v: the direction, same shape and dtype as `x`.

    Returns:
      $\nabla^2 f(x)\,v$, same shape as `x`.

    Raises:
      TypeError: if `f` is not callable or `x` is not floating point, or `v` has another dtype.
      ValueError: if `f(x)` is not a scalar or `v.shape != x.shape`.

    References:
      [MEDL] App. A, Sec. A.4; Ch. 4 (second-order methods). Pearlmutter (1994), "Fast exact
      multiplication by the Hessian". Oracle in tests: the full Hessian times `v`.

    Example:
      >>> hvp(lambda x: (x**3).sum(), jnp.array([1.0, 2.0]), jnp.array([1.0, 0.0]))
      Array([6., 0.], dtype=float32)
    """
    check_scalar_output(checks.public_name(hvp), f, x)
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


@checks.inputs(f=function, x=point, v=like)
def directional_derivative(f: Callable[[jax.Array], jax.Array], x: jax.Array, v: jax.Array) -> jax.Array:
    r"""Directional derivative of `f` at `x` along `v` (one forward-mode JVP).

    $$D_v f(x) = \frac{d}{dt} f(x + t v)\Big|_{t=0} = J_f(x)\, v,$$

    which for a scalar $f$ equals $\nabla f(x)^\top v$. `v` is used as given, not
    normalised: pass a unit vector for the rate of change per unit length.

    Args:
      f: function of one array, written in JAX (any output shape).
      x: the point, a floating array.
      v: the direction, same shape and dtype as `x`.

    Returns:
      $J_f(x)\,v$, shape ``f(x).shape`` (a scalar for scalar `f`).

    Raises:
      TypeError: if `f` is not callable, `x` is not floating point, or `v` has another dtype.
      ValueError: if `v.shape != x.shape`.

    References:
      [MEDL] App. A, Sec. A.2. Oracle in tests: $\nabla f(x)^\top v$ from NumPy differences.

    Example:
      >>> directional_derivative(lambda x: (x**2).sum(), jnp.array([1.0, 2.0]), jnp.array([0.0, 1.0]))
      Array(4., dtype=float32)
    """
    return jax.jvp(f, (x,), (v,))[1]


@checks.inputs(x="float[n]")
def chain_rule(fs: Sequence[Callable[[jax.Array], jax.Array]], x: jax.Array) -> jax.Array:
    r"""Jacobian of a composition as the product of the factors' Jacobians.

    For $h = f_L \circ \cdots \circ f_2 \circ f_1$ (`fs` = ``[f_1, ..., f_L]``, applied
    first to last) and intermediate points $u_0 = x$, $u_\ell = f_\ell(u_{\ell-1})$,

    $$J_h(x) = J_{f_L}(u_{L-1})\, \cdots\, J_{f_2}(u_1)\, J_{f_1}(u_0),$$

    in the book's orientation (each $J_{f_\ell}\in\mathbb{R}^{N_\ell\times N_{\ell-1}}$,
    one row per output), so the product is taken right to left. Each factor is built with
    ``jax.jacfwd``; this is the teaching form of the multivariable chain rule, not the
    cheapest way to differentiate a composition (use :func:`jacobian` on the composition).

    Args:
      fs: non-empty sequence of functions, each mapping a vector to a vector (a function
        returning a scalar is treated as returning a length-1 vector).
      x: the point $u_0$, a floating vector of shape ``(n,)``.

    Returns:
      $J_h(x)$, shape ``(N_L, n)``.

    Raises:
      TypeError: if `fs` is not a sequence of callables or `x` is not floating point.
      ValueError: if `fs` is empty, `x` is not rank 1, or some $f_\ell$ returns rank > 1.

    References:
      [MEDL] App. A, Sec. A.3 (multivariable chain rule); Ch. 5 (backpropagation as a product
      of Jacobians). Oracle in tests: ``jax.jacobian`` of the composition and torch.

    Example:
      >>> chain_rule([lambda u: 2.0 * u, lambda u: u.sum(keepdims=True)], jnp.array([1.0, 1.0]))
      Array([[2., 2.]], dtype=float32)
    """
    func = checks.public_name(chain_rule)
    if isinstance(fs, str) or not isinstance(fs, Sequence):
        checks.fail(func, "fs", "a sequence of callables", type(fs).__name__, exc=TypeError)
    if len(fs) == 0:
        checks.fail(func, "fs", "at least one function", "an empty sequence")
    for i, f in enumerate(fs):
        if not callable(f):
            checks.fail(func, f"fs[{i}]", "a callable", type(f).__name__, exc=TypeError)
    u = x
    J = None
    for i, f in enumerate(fs):
        out = jax.eval_shape(f, u)
        if len(out.shape) > 1:
            checks.fail(func, f"fs[{i}]", "a function returning a vector (rank <= 1)", f"output shape {out.shape}")

        def f_vec(w, f=f):
            return jnp.atleast_1d(f(w))

        J_l = jax.jacfwd(f_vec)(u)  # (N_l, N_{l-1})
        J = J_l if J is None else J_l @ J  # book orientation: the newest factor multiplies on the left
        u = f_vec(u)
    return J


@checks.inputs(u=point, v=like)
def cosine_similarity(u: jax.Array, v: jax.Array) -> jax.Array:
    r"""Cosine of the angle between two vectors (MEDL eq. A.1).

    $$\cos\angle(u, v) = \frac{u^\top v}{\lVert u\rVert\,\lVert v\rVert}.$$

    Each vector is first divided by its largest absolute entry (the ratio is unchanged),
    so huge or tiny entries neither overflow nor underflow. The angle is undefined when
    either vector is zero: the result is then NaN, never a finite number.

    Args:
      u: vectors, shape ``(*batch, n)``, floating.
      v: vectors, same shape and dtype as `u`.

    Returns:
      The cosines, shape ``(*batch,)``, in $[-1, 1]$ up to rounding.

    Raises:
      TypeError: if `u` or `v` is not floating point, or their dtypes differ.
      ValueError: if `u` has rank 0 or the shapes differ.

    References:
      [MEDL] App. A, Sec. A.1, eq. (A.1). Oracle in tests:
      ``scipy.spatial.distance.cosine`` (one minus the cosine).

    Example:
      >>> cosine_similarity(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0]))
      Array(0.70710677, dtype=float32)
    """
    if u.ndim == 0:
        func = checks.public_name(cosine_similarity)
        checks.fail(func, "u", "rank >= 1 (vectors along the last axis)", Text(f"shape {u.shape} (rank 0)"))

    def unit_scaled(w):
        # Departure from (A.1) as written: rescale by max|w| first (cosine is scale-invariant), so the
        # norms cannot overflow; the scale is a constant for differentiation since it cancels exactly.
        s = jax.lax.stop_gradient(jnp.max(jnp.abs(w), axis=-1, keepdims=True))
        nonzero = s > 0
        return jnp.where(nonzero, w / jnp.where(nonzero, s, 1), 0), nonzero[..., 0]

    us, u_ok = unit_scaled(u)
    vs, v_ok = unit_scaled(v)
    ok = u_ok & v_ok
    nu = jnp.sqrt(jnp.sum(us * us, axis=-1))
    nv = jnp.sqrt(jnp.sum(vs * vs, axis=-1))
    denom = jnp.where(ok, nu * nv, 1)  # double where: no 0/0 in the gradient of the defined branch
    return jnp.where(ok, jnp.sum(us * vs, axis=-1) / denom, jnp.nan)
