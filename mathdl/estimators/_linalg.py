r"""Private factorisations for the estimators: a thin SVD that is safe to ``vmap`` on CPU.

jaxlib's CPU LAPACK kernels run a batch (the result of ``jax.vmap``) by fanning the matrices out
to the XLA CPU thread pool they are already running on and waiting for them; with two cores and two
independent batched factorisations in one program every worker waits on another and the program
stalls (benchmarks/README.md, "Known problem"). :func:`svd` has its own batching rule: on CPU a batch
is a sequential ``lax.map`` of single factorisations (each one uses LAPACK as before), elsewhere
the batched kernel is kept. Its derivative is the standard thin-SVD JVP, written on the factors,
so ``grad``, ``jacfwd`` and higher orders work as with ``jnp.linalg.svd``.
:func:`sequential_on_cpu` gives any function the same batching rule (least squares uses it so that
each fold of a cross-validation takes its own branch of a ``lax.cond``).
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_batching import custom_vmap
from jax.custom_derivatives import SymbolicZero


def _lapack_svd(a):
    U, s, Vt = jnp.linalg.svd(a, full_matrices=False)
    return U, s, Vt


@custom_vmap
def _svd_unbatched(a):
    return _lapack_svd(a)


@_svd_unbatched.def_vmap
def _svd_batched(axis_size, in_batched, a):
    del axis_size, in_batched  # one argument, always batched when this rule runs
    out = lax.platform_dependent(
        a,
        cpu=lambda a: lax.map(_svd_unbatched, a),  # one LAPACK call at a time: no pool deadlock
        default=jax.vmap(_lapack_svd),
    )
    return out, (True, True, True)


@jax.custom_jvp
def svd(a):
    """Thin SVD ``a = U diag(s) Vt`` of a real matrix ``a`` (m, n): U (m, r), s (r,), Vt (r, n), r = min(m, n)."""
    return _svd_unbatched(a)


def _svd_jvp(primals, tangents):
    # The thin-SVD JVP of jax.lax.linalg (real case), written on the factors.
    (a,), (da,) = primals, tangents
    U, s, Vt = svd(a)
    if type(da) is SymbolicZero:
        return (U, s, Vt), (jnp.zeros_like(U), jnp.zeros_like(s), jnp.zeros_like(Vt))
    V = Vt.T
    dS = U.T @ da @ V
    ds = jnp.diagonal(dS)
    r = s.shape[0]
    eye = jnp.eye(r, dtype=s.dtype)
    s_row = s[None, :]
    s_diffs = (s_row + s_row.T) * (s_row - s_row.T)
    F = 1 / (s_diffs + eye) - eye
    s_zero = (s == 0).astype(s.dtype)
    s_inv = 1 / (s + s_zero) - s_zero
    dSS = s_row * dS
    SdS = s_row.T * dS
    dU = U @ (F * (dSS + dSS.T) + 0.5 * (dS - dS.T) * jnp.diag(s_inv))
    dV = V @ (F * (SdS + SdS.T))
    m, n = a.shape
    if m > n:
        dAV = da @ V
        dU = dU + (dAV - U @ (U.T @ dAV)) / s_row
    if n > m:
        dAtU = da.T @ U
        dV = dV + (dAtU - V @ (Vt @ dAtU)) / s_row
    return (U, s, Vt), (dU, ds, dV.T)


svd.defjvp(_svd_jvp, symbolic_zeros=True)


def sequential_on_cpu(fn):
    """``fn`` (arrays in, a pytree of arrays out) whose ``vmap`` is a ``lax.map`` on CPU, a ``vmap`` elsewhere.

    Each example of a batch then runs ``fn`` alone: its ``lax.cond`` keeps both branches lazy (under a
    plain ``vmap`` a batched predicate turns the cond into a select that evaluates both) and its
    factorisations are never batched LAPACK calls. Derivatives are ``fn``'s own (``jax.jvp`` of
    ``fn``; arguments without a tangent are held fixed).
    """

    @custom_vmap
    def unbatched(*args):
        return fn(*args)

    @unbatched.def_vmap
    def _batched(axis_size, in_batched, *args):
        args = [
            a if b else jnp.broadcast_to(a, (axis_size, *jnp.shape(a))) for a, b in zip(args, in_batched, strict=True)
        ]
        out = lax.platform_dependent(
            *args, cpu=lambda *a: lax.map(lambda t: unbatched(*t), a), default=lambda *a: jax.vmap(fn)(*a)
        )
        return out, jax.tree.map(lambda _: True, out)

    @jax.custom_jvp
    def wrapped(*args):
        return unbatched(*args)

    def _jvp(primals, tangents):
        live = [i for i, t in enumerate(tangents) if type(t) is not SymbolicZero]
        if not live:
            out = wrapped(*primals)
            return out, jax.tree.map(jnp.zeros_like, out)

        def of_live(*xs):
            args = list(primals)
            for i, x in zip(live, xs, strict=True):
                args[i] = x
            return fn(*args)

        return jax.jvp(of_live, [primals[i] for i in live], [tangents[i] for i in live])

    wrapped.defjvp(_jvp, symbolic_zeros=True)
    return wrapped
