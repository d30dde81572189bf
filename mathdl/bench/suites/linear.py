r"""Linear models (MEDL Sec. 2.5, 3.1): vmapped k-fold cross-validation and Newton logistic regression.

* ``kfold_ridge``: $k$-fold cross-validated MSE of ridge regression over a grid of $L$ ridge
  strengths on an $n \times p$ design. ``mathdl`` is ``metrics.cv_ridge`` under ``jax.jit``:
  all $k \cdot L$ fits in one compiled call (fold masks as row weights; per fold one factorisation
  of the equilibrated design, through its $p \times p$ Gram matrix when it is well conditioned,
  shared by the $L$ strengths; on CPU the folds run as a ``lax.map``, so no batched LAPACK call
  can stall the thread pool);
  ``loop`` is a Python loop over folds and strengths calling a jitted
  ``estimators.fit_least_squares`` on ``X[train]`` and scoring ``X[test]`` (what one writes without
  vmap); ``sklearn`` is ``cross_val_score(Ridge(alpha), cv=same folds)`` for each strength. Every
  column runs with the OpenBLAS pool limited to one thread (``threadpoolctl``, when installed):
  jaxlib's CPU LAPACK kernels call SciPy's OpenBLAS from inside XLA's own thread pool, and on a
  small shared CPU a second two-thread pool made each 50 x 50 factorisation 20 times slower
  (measured: the whole grid 1.0 s with the default pool, 40 ms with one thread; scikit-learn's
  time is the same either way, 0.4-0.6 s).
* ``logistic_newton``: unpenalised logistic regression on $n \times p$ non-separable data.
  ``mathdl`` is ``estimators.fit_logistic(method="newton")`` under ``jax.jit`` (one
  ``lax.while_loop`` of IRLS steps, ``tol=1e-6``); ``sklearn`` is
  ``LogisticRegression(C=inf, solver="newton-cholesky", tol=1e-6)`` on the same data.
  FLOPs counted: $2np^2$ per Newton step (the Hessian), times 8 steps (what both take here).
"""

import jax
import jax.numpy as jnp

from mathdl.bench._registry import register_case

# (n, p, k, L) and (n, p): quick, full.
_KFOLD = {True: (60, 4, 3, 2), False: (5_000, 50, 10, 16)}
_LOGISTIC = {True: (64, 3), False: (20_000, 30)}


def _one_blas_thread(impls: dict) -> dict:
    """Each implementation with the BLAS (OpenBLAS) pool limited to one thread, if threadpoolctl is installed."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return impls
    controller = ThreadpoolController()

    def limited(fn):
        def call():
            with controller.limit(limits=1, user_api="blas"):
                return fn()

        return call

    return {name: limited(fn) for name, fn in impls.items()}


def _ridge_data(quick):
    n, p, k, L = _KFOLD[quick]
    kx, ke = jax.random.split(jax.random.key(0))
    X = jax.random.normal(kx, (n, p), jnp.float32)
    y = X @ jnp.linspace(-1.0, 1.0, p, dtype=jnp.float32) + jax.random.normal(ke, (n,), jnp.float32)
    lambdas = jnp.logspace(-2, 3, L, dtype=jnp.float32)
    return X, y, lambdas, k


@register_case("linear", "kfold_ridge")
def kfold_ridge(quick: bool) -> dict:
    """k-fold CV of ridge over a lambda grid: one vmapped call vs a Python loop over folds vs sklearn."""
    import numpy as np

    from mathdl import estimators, metrics

    X, y, lambdas, k = _ridge_data(quick)
    f_mathdl = jax.jit(lambda X, y, lam: metrics.cv_ridge(jax.random.key(1), X, y, lam, k=k).test_error)
    folds = metrics.kfold_indices(jax.random.key(1), X.shape[0], k)
    fit = jax.jit(lambda X, y, lam: estimators.fit_least_squares(X, y, ridge=lam))
    mse = jax.jit(lambda params, X, y: jnp.mean((estimators.predict_linear(params, X) - y) ** 2))
    dev_folds = [(jnp.asarray(tr), jnp.asarray(te)) for tr, te in folds]

    def f_loop():
        out = []
        for lam in lambdas:
            row = []
            for tr, te in dev_folds:
                params = fit(X[tr], y[tr], lam)
                row.append(mse(params, X[te], y[te]))
            out.append(jnp.stack(row))
        return jnp.stack(out)

    impls = {"mathdl": lambda: f_mathdl(X, y, lambdas), "loop": f_loop}
    try:
        from sklearn.linear_model import Ridge
        from sklearn.model_selection import cross_val_score
    except ImportError:
        return _one_blas_thread(impls)
    Xn, yn, lams = np.asarray(X), np.asarray(y), [float(v) for v in lambdas]

    def f_sklearn():
        return np.stack(
            [-cross_val_score(Ridge(alpha=a), Xn, yn, cv=folds, scoring="neg_mean_squared_error") for a in lams]
        )

    impls["sklearn"] = f_sklearn
    return _one_blas_thread(impls)


@register_case("linear", "logistic_newton", flops=lambda q: 8 * 2.0 * _LOGISTIC[q][0] * (_LOGISTIC[q][1] + 1) ** 2)
def logistic_newton(quick: bool) -> dict:
    """Unpenalised logistic regression by Newton/IRLS: mathdl's while_loop vs sklearn's newton-cholesky."""
    import numpy as np

    from mathdl import estimators

    n, p = _LOGISTIC[quick]
    kx, ku = jax.random.split(jax.random.key(2))
    X = jax.random.normal(kx, (n, p), jnp.float32)
    logit = 0.5 + X @ jnp.linspace(1.0, -1.0, p, dtype=jnp.float32)
    y = (jax.random.uniform(ku, (n,), jnp.float32) < jax.nn.sigmoid(logit)).astype(jnp.int32)
    f_mathdl = jax.jit(lambda X, y: estimators.fit_logistic(X, y, tol=1e-6, max_iter=50).params)
    impls = {"mathdl": lambda: f_mathdl(X, y)}
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return impls
    Xn, yn = np.asarray(X, np.float64), np.asarray(y)

    def f_sklearn():
        return LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-6, max_iter=50).fit(Xn, yn).coef_

    impls["sklearn"] = f_sklearn
    return impls
