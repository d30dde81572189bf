r"""Fitted classical estimators ([MEDL] Ch. 2-3): linear models, K-means, PCA and the SVD.

Linear models (Sec. 2.3-2.5 and 3.1-3.4):
Least squares and ridge (SVD / pseudo-inverse, never an explicit inverse), polynomial features,
gradient descent with and without standardisation, Huber and absolute-loss regression, logistic
regression (Newton/IRLS and gradient descent), softmax regression, one-vs-rest and one-vs-one
classifiers, and the decision rules (threshold $\tau$, argmax). Every ``X`` is given WITHOUT a
column of ones: the intercept is part of the returned params. Fitting procedures are compiled
JAX (``lax.while_loop`` / ``lax.scan``), so they jit and vmap.

Unsupervised learning (Sec. 2.6): K-means (Lloyd, k-means++), PCA by the SVD and low-rank SVD
approximation.

An estimator takes a whole data set ``X`` of shape ``(n, p)`` (it is fitted, not applied to one
example) and returns its params in a NamedTuple.
"""

from mathdl._api import reexport

__all__ = reexport(
    __name__, "_kmeans", "_least_squares", "_logistic", "_multiclass", "_pca", "_robust", "_softmax", "_ngram"
)
