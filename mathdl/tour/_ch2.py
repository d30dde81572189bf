"""Tour, Chapter 2: K-means on the book's toy, PCA of breast cancer, SVD compression of a photo."""

import itertools
from pathlib import Path

from mathdl.tour._registry import register


@register(
    "2", "K-means (Lloyd) on the book's 3-cluster toy", expected={"objective": (8.0, 16.0), "agreement": (0.9, 1.0)}
)
def kmeans_toy(out_dir: Path) -> dict[str, float]:
    """Lloyd from the book's initial centres; objective and agreement with the generating clusters."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, estimators

    ds = data.kmeans_toy(jax.random.key(0))
    result = jax.jit(estimators.kmeans, static_argnums=2)(jax.random.key(1), ds.X, 3, init=data.kmeans_toy_centres())
    c, y = np.asarray(result.assignments), np.asarray(ds.y)
    # clusters are unlabelled: agreement under the best matching of cluster indices to true groups
    agreement = max(np.mean(np.asarray(perm)[c] == y) for perm in itertools.permutations(range(3)))
    n_iter = int(result.n_iter)
    J = float(result.history[n_iter])

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4))
    X, M = np.asarray(ds.X), np.asarray(result.centres)
    ax0.scatter(X[:, 0], X[:, 1], c=c, cmap="viridis", s=15)
    ax0.scatter(M[:, 0], M[:, 1], c="red", marker="x", s=120, label="final centres")
    M0 = np.asarray(data.kmeans_toy_centres())
    ax0.scatter(M0[:, 0], M0[:, 1], facecolors="none", edgecolors="black", s=120, label="initial centres")
    ax0.set(title="K-means clusters", xlabel="$x_1$", ylabel="$x_2$")
    ax0.legend(fontsize=8)
    ax1.plot(np.arange(n_iter + 1), np.asarray(result.history[: n_iter + 1]), "o-")
    ax1.set(title="objective $J$ per Lloyd step", xlabel="step", ylabel="$J$")
    fig.tight_layout()
    fig.savefig(out_dir / "ch2_kmeans_toy.png", dpi=100)
    plt.close(fig)
    return {"objective": J, "agreement": float(agreement)}


@register(
    "2",
    "PCA of breast cancer (standardised, 2 components)",
    expected={"explained_variance_2pc": (0.60, 0.66), "auc_pc1": (0.95, 1.0)},
)
def pca_breast_cancer(out_dir: Path) -> dict[str, float]:
    """Share of variance in 2 components; how well the first score alone separates the diagnoses (AUC)."""
    import jax.numpy as jnp
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, estimators, metrics

    ds = data.load("breast_cancer")
    X = jnp.asarray(ds.X)
    Z = data.standardize(data.fit_standardizer(X), X)
    full = estimators.pca(Z, 30)  # all components once; the first two are those of pca(Z, 2)
    share = float(jnp.sum(full.explained_variance_ratio[:2]))
    y = jnp.asarray(ds.y)
    auc = float(metrics.roc_auc(y, full.scores[:, 0]))
    auc = max(auc, 1 - auc)  # a component's sign is arbitrary

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4))
    S = np.asarray(full.scores[:, :2])
    for label, name in ((0, "malignant"), (1, "benign")):
        ax0.scatter(S[ds.y == label, 0], S[ds.y == label, 1], s=8, label=name)
    ax0.set(title="scores on the first two components", xlabel="PC 1", ylabel="PC 2")
    ax0.legend()
    ax1.bar(np.arange(1, 31), np.asarray(full.explained_variance_ratio))
    ax1.plot(np.arange(1, 31), np.cumsum(np.asarray(full.explained_variance_ratio)), "r.-", label="cumulative")
    ax1.set(title="explained variance ratio", xlabel="component")
    ax1.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "ch2_pca_breast_cancer.png", dpi=100)
    plt.close(fig)
    return {"explained_variance_2pc": share, "auc_pc1": auc}


@register(
    "2",
    "SVD compression of a photo (rank 30)",
    expected={"relative_error": (0.002, 0.03), "storage_fraction": (0.11, 0.13)},
)
def svd_compression(out_dir: Path) -> dict[str, float]:
    """Rank-30 approximation of scikit-learn's bundled 427 x 640 photo in grey scale."""
    import jax.numpy as jnp
    import matplotlib
    import numpy as np
    from sklearn.datasets import load_sample_image

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import estimators

    image = jnp.asarray(load_sample_image("china.jpg").mean(axis=2) / 255.0, dtype=jnp.float32)
    h, w = image.shape
    ranks = (5, 30, 100)
    approx = {m: estimators.svd_approximation(image, m) for m in ranks}
    fig, axes = plt.subplots(1, len(ranks) + 1, figsize=(14, 3))
    axes[0].imshow(np.asarray(image), cmap="gray")
    axes[0].set_title(f"original ({h} x {w} = {h * w} numbers)", fontsize=9)
    for ax, m in zip(axes[1:], ranks, strict=True):
        a = approx[m]
        ax.imshow(np.clip(np.asarray(a.approximation), 0, 1), cmap="gray")
        ax.set_title(f"rank {m}: error {float(a.relative_error):.4f}, {a.storage} numbers", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out_dir / "ch2_svd_compression.png", dpi=100)
    plt.close(fig)
    a = approx[30]
    return {"relative_error": float(a.relative_error), "storage_fraction": a.storage / (h * w)}
