"""Tour, Chapter 2 (models): polynomial degree by k-fold cross-validation; least squares against scikit-learn."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "2",
    "Polynomial fit: 5-fold CV over degrees 0-9 (one vmapped call)",
    expected={"cv_degree": (3.0, 6.0), "test_mse_at_cv_degree": (0.04, 0.15), "test_mse_degree_9": (0.08, 1e6)},
)
def polynomial_cv(out_dir: Path) -> dict[str, float]:
    """The book's toy (10 points, sin 2 pi x - cos 2 pi x + N(0, 0.2^2)): CV picks a middle degree.

    The noise variance 0.04 is the floor of any test MSE; degree 9 interpolates the 10 points and
    its test error is well above the chosen degree's.
    """
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, estimators, metrics

    degrees = list(range(10))
    with jax.enable_x64(True):  # raw monomials up to x^9 need float64
        import jax.numpy as jnp

        train = data.polynomial_fit(jax.random.key(1), dtype=jnp.float64)
        test = data.polynomial_fit(jax.random.key(2), n=10_000, design="uniform", dtype=jnp.float64)
        cv = jax.jit(lambda k, x, y: metrics.cv_polynomial_degree(k, x, y, degrees, k=5))(
            jax.random.key(3), train.X, train.y
        )
        curve = jax.jit(lambda *a: metrics.complexity_curve(*a, degrees))(train.X, train.y, test.X, test.y)
        cv_err = np.asarray(cv.test_error).mean(-1)
        best = int(np.argmin(cv_err))
        grid = np.linspace(0, 1, 200)[:, None]
        fits = {}
        for d in (1, best, 9):
            params = estimators.fit_least_squares(estimators.polynomial_features(train.X, d), train.y)
            fits[d] = np.asarray(
                estimators.predict_linear(params, estimators.polynomial_features(jnp.asarray(grid), d))
            )
    tr, te = np.asarray(curve.train_error), np.asarray(curve.test_error)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.scatter(np.asarray(train.X)[:, 0], np.asarray(train.y), c="k", zorder=3, label="training points")
    ax0.plot(grid[:, 0], np.sin(2 * np.pi * grid[:, 0]) - np.cos(2 * np.pi * grid[:, 0]), "k--", label="truth")
    for d, yhat in fits.items():
        ax0.plot(grid[:, 0], yhat, label=f"degree {d}")
    ax0.set(ylim=(-2.5, 2.5), xlabel="$x$", ylabel="$y$", title="least-squares polynomial fits")
    ax0.legend(fontsize=8)
    ax1.semilogy(degrees, tr + 1e-16, "o-", label="train MSE")
    ax1.semilogy(degrees, te, "s-", label="test MSE (10,000 fresh points)")
    ax1.semilogy(degrees, cv_err, "^-", label="5-fold CV MSE")
    ax1.axvline(best, color="grey", ls=":")
    ax1.set(xlabel="degree", ylabel="MSE", title="error against model complexity")
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "ch2_polynomial_cv.png", dpi=100)
    plt.close(fig)
    return {"cv_degree": float(best), "test_mse_at_cv_degree": float(te[best]), "test_mse_degree_9": float(te[9])}


@register(
    "2",
    "Least squares and ridge on diabetes vs scikit-learn (float64)",
    expected={"max_rel_diff_ols": (0.0, 1e-6), "max_rel_diff_ridge": (0.0, 1e-6), "train_r2": (0.45, 0.6)},
)
def least_squares_vs_sklearn(out_dir: Path) -> dict[str, float]:
    """Coefficients of fit_least_squares (SVD) against LinearRegression and Ridge(alpha=1) on diabetes."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.linear_model import LinearRegression, Ridge

    from mathdl import data, estimators

    ds = data.load("diabetes")
    X, y = np.asarray(ds.X, np.float64), np.asarray(ds.y, np.float64)
    with jax.enable_x64(True):
        ols = estimators.fit_least_squares(X, y)
        rid = estimators.fit_least_squares(X, y, ridge=1.0)
        theta = np.concatenate([[float(ols.b)], np.asarray(ols.w)])
        theta_r = np.concatenate([[float(rid.b)], np.asarray(rid.w)])
        yhat = np.asarray(estimators.predict_linear(ols, X))
    ref = LinearRegression().fit(X, y)
    ref_r = Ridge(alpha=1.0, solver="svd").fit(X, y)
    ref_theta = np.concatenate([[ref.intercept_], ref.coef_])
    ref_theta_r = np.concatenate([[ref_r.intercept_], ref_r.coef_])
    rel = float(np.max(np.abs(theta - ref_theta) / np.maximum(np.abs(ref_theta), 1e-12)))
    rel_r = float(np.max(np.abs(theta_r - ref_theta_r) / np.maximum(np.abs(ref_theta_r), 1e-12)))
    r2 = 1.0 - np.sum((y - yhat) ** 2) / np.sum((y - y.mean()) ** 2)

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(ref_theta[1:], theta[1:], label="least squares")
    ax.scatter(ref_theta_r[1:], theta_r[1:], marker="x", label="ridge, $\\lambda = 1$")
    lim = np.abs(ref_theta[1:]).max() * 1.1
    ax.plot([-lim, lim], [-lim, lim], "k:", lw=1)
    ax.set(xlabel="scikit-learn coefficient", ylabel="mathdl coefficient", title="diabetes: coefficients agree")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "ch2_least_squares_vs_sklearn.png", dpi=100)
    plt.close(fig)
    return {"max_rel_diff_ols": rel, "max_rel_diff_ridge": rel_r, "train_r2": float(r2)}
