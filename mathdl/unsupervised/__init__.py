"""Unsupervised learning (MEDL Sec. 2.6): K-means, PCA and low-rank SVD approximation."""

from mathdl.unsupervised._kmeans import KMeansResult, kmeans, kmeans_plusplus
from mathdl.unsupervised._pca import (
    LowRankApproximation,
    PCAResult,
    pca,
    pca_reconstruct,
    pca_transform,
    svd_approximation,
)

__all__ = [
    "KMeansResult",
    "LowRankApproximation",
    "PCAResult",
    "kmeans",
    "kmeans_plusplus",
    "pca",
    "pca_reconstruct",
    "pca_transform",
    "svd_approximation",
]
