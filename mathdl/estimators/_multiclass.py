r"""One-vs-rest and one-vs-one classifiers built from binary models ([MEDL] Sec. 2.3, 3.3).

The book's MNIST tables compare these with softmax regression: least squares through the
pseudo-inverse fitted once per class (one-vs-rest) or once per pair of classes (one-vs-one), and
the same with logistic regression. Every binary model is fitted in one ``vmap``: one-vs-one keeps
equal shapes by giving the rows of the other classes weight 0.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.estimators._common import design, labels_in, resolve_num_classes, speaking_for, value_checks
from mathdl.estimators._least_squares import fit_least_squares
from mathdl.estimators._logistic import LogisticParams, fit_logistic, predict_logistic

__all__ = ["fit_one_vs_one", "fit_one_vs_rest", "predict_one_vs_one", "predict_one_vs_rest"]

_BASES = ("least_squares", "logistic")


def _fit_binary(func, base, X, t, v, fit_kwargs):
    # t in {0, 1}: least squares regresses on the +-1 coding (the book's sign classifier). A bad
    # keyword (ridge=-1) is reported as the caller's, not as fit_least_squares'.
    fit = fit_least_squares if base == "least_squares" else fit_logistic
    with speaking_for(func, checks.public_name(fit)):
        if base == "least_squares":
            return fit(X, 2.0 * t - 1.0, weights=v, **fit_kwargs)
        return fit(X, t, weights=v, **fit_kwargs).params


def _scores(params, x):
    # Score > 0 means "the positive class": the +-1 regression value, or the log-odds-free form p - 1/2.
    if isinstance(params, LogisticParams):
        return predict_logistic(params, x) - 0.5
    return x @ params.w + params.b


@checks.inputs(X=design, y="int[n]")
def fit_one_vs_rest(X, y, *, num_classes: int | None = None, base: str = "least_squares", **fit_kwargs):
    r"""Fit $K$ binary classifiers "class $k$ against the rest", vmapped over $k$.

    For ``base="least_squares"`` classifier $k$ regresses $t^{(i)} = +1$ if $y^{(i)} = k$ else $-1$
    on $x^{(i)}$ by the pseudo-inverse ($\hat\theta_k = \tilde X^\dagger t_k$); for ``"logistic"`` it is
    :func:`fit_logistic` on the 0/1 indicator. :func:`predict_one_vs_rest` picks the class with the
    largest score.

    Args:
      X: a whole data set of inputs WITHOUT a column of ones, shape ``(n, p)``, floating.
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      num_classes: $K$ (default ``max(y) + 1``).
      base: ``"least_squares"`` or ``"logistic"``.
      **fit_kwargs: passed to :func:`fit_least_squares` (e.g. ``ridge``) or :func:`fit_logistic`
        (e.g. ``l2``, ``max_iter``).

    Returns:
      ``LinearParams`` or ``LogisticParams`` whose leaves have a leading class axis of size $K$.

    Raises:
      ValueError: on shape mismatches, an unknown ``base``, ``num_classes < 2`` or a label outside
        the classes (index named).
      TypeError: if ``X`` is not floating or ``y`` not integer.

    References:
      [MEDL] Ch. 2, Sec. 2.3 and Ch. 3, Sec. 3.3 (one-vs-all classifiers, Tables 2.1 and 3.1).
      Oracle in tests: ``sklearn.multiclass.OneVsRestClassifier`` and per-class NumPy fits.
    """
    func = checks.public_name(fit_one_vs_rest)
    checks.check_choice(func, "base", base, _BASES)
    K = resolve_num_classes(func, y, num_classes)
    guard = value_checks(func, labels_in("y", y, K))
    T = (y[None, :] == jnp.arange(K, dtype=y.dtype)[:, None]).astype(X.dtype)  # (K, n)
    v = jnp.ones(X.shape[:1], X.dtype)
    return guard(jax.vmap(lambda t: _fit_binary(func, base, X, t, v, fit_kwargs))(T))


@checks.inputs(params=checks.fields(b="float[K]", w="float[K p]"), x="float[*batch p]")
def predict_one_vs_rest(params, x) -> jax.Array:
    r"""Scores of the $K$ one-vs-rest classifiers; the decision is ``argmax_rule(scores)``.

    Args:
      params: the output of :func:`fit_one_vs_rest` (leading class axis $K$).
      x: one example ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      Scores, shape ``(*batch, K)``: the $\pm1$ regression value (least squares) or
      $\hat y_k - 1/2$ (logistic).

    Raises:
      ValueError: if ``x``'s last axis does not match the fitted ``p``.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (one-vs-all decision by the largest score).
    """
    return jnp.moveaxis(jax.vmap(lambda prm: _scores(prm, x))(params), 0, -1)


def _pairs(K):
    return list(itertools.combinations(range(K), 2))


@checks.inputs(X=design, y="int[n]")
def fit_one_vs_one(X, y, *, num_classes: int | None = None, base: str = "least_squares", **fit_kwargs):
    r"""Fit $K(K-1)/2$ binary classifiers, one per pair of classes $(i, j)$, $i < j$, vmapped.

    Classifier $(i, j)$ is fitted on the rows of classes $i$ and $j$ only (the others get weight 0,
    which keeps every fit the same shape), with class $i$ positive. :func:`predict_one_vs_one`
    lets every classifier vote and returns the vote counts.

    Args:
      X: a whole data set of inputs WITHOUT a column of ones, shape ``(n, p)``, floating.
      y: integer labels in $\{0,\dots,K-1\}$, shape ``(n,)``.
      num_classes: $K$ (default ``max(y) + 1``).
      base: ``"least_squares"`` or ``"logistic"``.
      **fit_kwargs: passed to the binary fit.

    Returns:
      ``LinearParams`` or ``LogisticParams`` with a leading pair axis of size $K(K-1)/2$, pairs in
      the order of ``itertools.combinations(range(K), 2)``.

    Raises:
      ValueError: on shape mismatches, an unknown ``base``, ``num_classes < 2`` or a label outside
        the classes (index named).
      TypeError: if ``X`` is not floating or ``y`` not integer.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (one-vs-one classifiers, Table 2.1).
      Oracle in tests: per-pair NumPy least squares on the subset of rows.
    """
    func = checks.public_name(fit_one_vs_one)
    checks.check_choice(func, "base", base, _BASES)
    K = resolve_num_classes(func, y, num_classes)
    guard = value_checks(func, labels_in("y", y, K))
    pairs = jnp.asarray(_pairs(K), y.dtype)  # (M, 2)
    T = (y[None, :] == pairs[:, :1]).astype(X.dtype)  # (M, n): 1 for class i
    V = ((y[None, :] == pairs[:, :1]) | (y[None, :] == pairs[:, 1:])).astype(X.dtype)
    return guard(jax.vmap(lambda t, v: _fit_binary(func, base, X, t, v, fit_kwargs))(T, V))


@checks.inputs(params=checks.fields(b="float[M]", w="float[M p]"), x="float[*batch p]")
def predict_one_vs_one(params, x) -> jax.Array:
    r"""Vote counts of the one-vs-one classifiers; the decision is ``argmax_rule(votes)``.

    Classifier $(i, j)$ votes for $i$ when its score is positive, else for $j$; ties in the counts
    go to the smallest class index under ``argmax_rule``.

    Args:
      params: the output of :func:`fit_one_vs_one` (leading pair axis $K(K-1)/2$).
      x: one example ``(p,)`` or a batch ``(*batch, p)`` (it broadcasts over leading axes).

    Returns:
      Votes, shape ``(*batch, K)``, float of the input's dtype.

    Raises:
      ValueError: if the pair axis is not $K(K-1)/2$ for an integer $K$, or ``x``'s last axis does not
        match.

    References:
      [MEDL] Ch. 2, Sec. 2.3 (one-vs-one voting).
    """
    M = params.b.shape[0]
    K = int(round((1 + np.sqrt(1 + 8 * M)) / 2))
    if K * (K - 1) // 2 != M:
        checks.fail(checks.public_name(predict_one_vs_one), "params", "a leading axis of size K(K-1)/2", M)
    pairs = np.asarray(_pairs(K))
    s = jax.vmap(lambda prm: _scores(prm, x))(params)  # (M, *batch)
    win_i = (s > 0).astype(jnp.result_type(s))
    onehot_i = jax.nn.one_hot(pairs[:, 0], K, dtype=win_i.dtype)  # (M, K)
    onehot_j = jax.nn.one_hot(pairs[:, 1], K, dtype=win_i.dtype)
    win = jnp.moveaxis(win_i, 0, -1)  # (*batch, M)
    return win @ onehot_i + (1.0 - win) @ onehot_j
