r"""Sample-quality metrics of generative models: negative ELBO (nats, bits per dimension) and Fréchet distances.

The Fréchet distance compares the means and covariances of two sets of feature vectors (Heusel et
al. 2017 use Inception-v3 features: the FID). Here the features are the penultimate layer of a
small mathdl classifier trained on the same data (:func:`train_feature_classifier`), so the
distance needs no download; :func:`sample_class_scores` adds what that classifier says about the
samples (how confidently and how evenly they fall into the classes).
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, generative, losses, models, optim, train

__all__ = [
    "SampleClassScores",
    "bits_per_dim",
    "classifier_accuracy",
    "classifier_features",
    "classifier_frechet_distance",
    "frechet_distance",
    "gaussian_frechet_distance",
    "negative_elbo",
    "sample_class_scores",
    "train_feature_classifier",
]


def bits_per_dim(nats, num_dims: int):
    r"""Convert a negative log-likelihood in nats per example to bits per dimension.

    $$\mathrm{bpd} = \frac{\mathrm{NLL}_{\text{nats}}}{D \ln 2}.$$

    For continuous data this is the usual report of a density on $D$ coordinates; the bpd of
    8-bit images in the literature also adds $\log_2 256 = 8$ for the discretisation, which is
    not done here.

    Args:
      nats: the negative log-likelihood (or negative ELBO) of one example in nats, any shape.
      num_dims: $D$, the number of coordinates of one example (a Python int >= 1).

    Returns:
      ``nats / (num_dims * ln 2)``, same shape and type as ``nats``.

    Raises:
      TypeError: if ``num_dims`` is not an int.
      ValueError: if ``num_dims < 1``.

    References:
      [MEDL] Ch. 8, Sec. 8.1-8.2; Theis, van den Oord & Bethge (2016), "A note on the evaluation
      of generative models".
    """
    func = checks.public_name(bits_per_dim)
    if isinstance(num_dims, bool) or not isinstance(num_dims, int):
        checks.fail(func, "num_dims", "a Python int >= 1", checks.Text(type(num_dims).__name__), exc=TypeError)
    checks.check_positive(func, "num_dims", num_dims)
    return nats / (num_dims * math.log(2.0))


def negative_elbo(
    key: jax.Array,
    params: generative.VAEParams,
    X: jax.Array,
    *,
    likelihood: str = "gaussian",
    obs_var: float = 1.0,
    activation="relu",
) -> jax.Array:
    r"""The VAE's negative ELBO averaged over a data set, in nats per example.

    $$-\overline{\mathrm{ELBO}} = \frac1n \sum_{i=1}^n \Big(-\log p_\theta(x_i \mid z_i)
      + D_{\mathrm{KL}}\big(q_\phi(z \mid x_i) \,\|\, N(0, I)\big)\Big), \qquad z_i \sim q_\phi(z \mid x_i),$$

    one reparameterised draw per example (:func:`mathdl.generative.vae_loss` with $\beta = 1$);
    an upper bound, in expectation, on the negative log-likelihood. Divide by the dimension with
    :func:`bits_per_dim`.

    Args:
      key: a typed PRNG key, split over the examples.
      params: ``VAEParams`` (MLP or conv).
      X: examples, shape ``(n, p)`` or ``(n, H, W, C)`` (batched over the leading axis).
      likelihood: ``"gaussian"`` or ``"bernoulli"`` (as the model was trained).
      obs_var: the Gaussian decoder's variance.
      activation: the networks' hidden activation.

    Returns:
      A scalar, nats per example.

    Raises:
      TypeError, ValueError: as :func:`mathdl.generative.vae_loss` for a bad example or setting.

    References:
      [MEDL] Ch. 8, Sec. 8.1; Kingma & Welling (2014), "Auto-Encoding Variational Bayes".
    """
    keys = jax.random.split(key, X.shape[0])

    def one(k, x):
        return generative.vae_loss(k, params, x, likelihood=likelihood, obs_var=obs_var, activation=activation).loss

    return jnp.mean(jax.vmap(one)(keys, X))


def _sqrtm_psd(C: jax.Array) -> jax.Array:
    w, V = jnp.linalg.eigh(C)
    return (V * jnp.sqrt(jnp.clip(w, 0.0, None))[None, :]) @ V.T


@checks.inputs(mu1="float[d]", cov1="float[d d]", mu2="float[d]", cov2="float[d d]")
def gaussian_frechet_distance(mu1: jax.Array, cov1: jax.Array, mu2: jax.Array, cov2: jax.Array) -> jax.Array:
    r"""The Fréchet (2-Wasserstein squared) distance between two Gaussians.

    $$d^2 = \lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{tr}\big(\Sigma_1 + \Sigma_2
      - 2(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2}\big),$$

    where $\operatorname{tr}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2} = \operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}$
    is computed from two symmetric eigendecompositions (no non-symmetric square root). For
    commuting covariances it is $\lVert\mu_1-\mu_2\rVert^2 + \lVert\Sigma_1^{1/2}-\Sigma_2^{1/2}\rVert_F^2$.

    Args:
      mu1: mean, shape ``(d,)`` (one pair of distributions: ``jax.vmap`` for a batch).
      cov1: covariance, shape ``(d, d)``, symmetric positive semi-definite.
      mu2: mean, shape ``(d,)``.
      cov2: covariance, shape ``(d, d)``, symmetric positive semi-definite.

    Returns:
      $d^2 \ge 0$, a scalar.

    Raises:
      ValueError: if the shapes disagree.
      TypeError: if an argument is not floating point.

    References:
      [MEDL] Ch. 8, Sec. 8.3 (the Wasserstein distance); Dowson & Landau (1982); Heusel et al.
      (2017), "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium".
    """
    s1 = _sqrtm_psd(cov1)
    middle = s1 @ cov2 @ s1
    tr_sqrt = jnp.sum(jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh(0.5 * (middle + middle.T)), 0.0, None)))
    d = mu1 - mu2
    return jnp.maximum(jnp.sum(d * d) + jnp.trace(cov1) + jnp.trace(cov2) - 2 * tr_sqrt, 0.0)


def _moments(X: jax.Array) -> tuple[jax.Array, jax.Array]:
    mu = jnp.mean(X, axis=0)
    D = X - mu[None, :]
    return mu, D.T @ D / (X.shape[0] - 1)


@checks.inputs(X="float[n d]", Y="float[m d]")
def frechet_distance(X: jax.Array, Y: jax.Array) -> jax.Array:
    r"""The Fréchet distance between two sets of feature vectors (the FID formula, on any features).

    Fits a Gaussian to each set (sample mean, unbiased sample covariance) and returns
    :func:`gaussian_frechet_distance` of the two. With Inception-v3 pool features this is the
    FID of Heusel et al. (2017); here any features will do.

    Args:
      X: features of the first set, shape ``(n, d)``, $n \ge 2$ (batched over rows).
      Y: features of the second set, shape ``(m, d)``, $m \ge 2$.

    Returns:
      A scalar $\ge 0$ (zero for two identical sets).

    Raises:
      ValueError: if the feature dimensions differ or a set has fewer than two rows.
      TypeError: if an argument is not floating point.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Heusel et al. (2017).
    """
    func = checks.public_name(frechet_distance)
    for name, A in (("X", X), ("Y", Y)):
        if A.shape[0] < 2:
            checks.fail(func, name, "at least two rows", checks.Text(f"shape {tuple(A.shape)}"))
    mu1, c1 = _moments(X)
    mu2, c2 = _moments(Y)
    return gaussian_frechet_distance(mu1, c1, mu2, c2.astype(c1.dtype))


def _flat(X: jax.Array) -> jax.Array:
    return jnp.reshape(X, (X.shape[0], -1))


def train_feature_classifier(
    key: jax.Array,
    X,
    y,
    *,
    num_classes: int,
    hidden: Sequence[int] = (128, 64),
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
) -> tuple:
    r"""Train the MLP classifier whose penultimate layer gives the features of the Fréchet distance.

    An MLP $p \to$ ``hidden`` $\to K$ with ReLU hidden layers, trained with
    :func:`mathdl.train.fit` (Adam, softmax cross-entropy) on flattened examples.

    Args:
      key: a typed PRNG key (initialisation and shuffling).
      X: examples, shape ``(n, p)`` or ``(n, H, W, C)`` (flattened to ``(n, p)``), floating.
      y: labels, int, shape ``(n,)``, in ``0 .. K-1``.
      num_classes: $K$.
      hidden: hidden widths (at least one; the last is the feature dimension).
      epochs: passes over the data.
      batch_size: examples per step.
      lr: Adam's learning rate.

    Returns:
      The MLP's parameters, a tuple of ``DenseParams`` (use :func:`classifier_features`,
      :func:`classifier_accuracy`).

    Raises:
      ValueError: if ``hidden`` is empty or the shapes disagree (from :func:`mathdl.train.fit`).

    References:
      [MEDL] Ch. 5 (the MLP) and Ch. 8, Sec. 8.3; Heusel et al. (2017) for the idea of features
      from a trained classifier.
    """
    func = checks.public_name(train_feature_classifier)
    hidden = tuple(hidden)
    if not hidden:
        checks.fail(func, "hidden", "at least one hidden width", hidden)
    X = _flat(jnp.asarray(X))
    y = jnp.asarray(y)
    k_init, k_fit = jax.random.split(key)
    widths = (X.shape[1], *hidden, num_classes)
    params = jax.jit(lambda k: models.init_mlp(k, widths, dtype=X.dtype))(k_init)  # one compile, not one per op

    def example_loss(theta, example):
        x, label = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), label)

    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(lr),
        params,
        (X, y),
        key=k_fit,
        epochs=epochs,
        batch_size=min(batch_size, X.shape[0]),
        progress=False,
        handle_signals=False,
    )
    return result.params


def classifier_features(params: Sequence, X: jax.Array) -> jax.Array:
    r"""The penultimate-layer features $a^{[L-1]}(x)$ of the classifier, for a batch.

    Args:
      params: the classifier (from :func:`train_feature_classifier`), ``L >= 2`` layers.
      X: examples, shape ``(n, p)`` or ``(n, H, W, C)`` (batched over the leading axis).

    Returns:
      Features, shape ``(n, N_{L-1})``.

    Raises:
      ValueError: if the classifier has one layer or the examples do not fit it.

    References:
      [MEDL] Ch. 5, Sec. 5.1; Heusel et al. (2017).
    """
    if len(params) < 2:
        checks.fail(checks.public_name(classifier_features), "params", "at least two layers", len(params))
    body = tuple(params[:-1])
    return jax.vmap(lambda x: jax.nn.relu(models.mlp(body, x)))(_flat(X))


def classifier_accuracy(params: Sequence, X: jax.Array, y: jax.Array) -> jax.Array:
    r"""The classifier's accuracy $\frac1n\sum_i 1[\arg\max_k f_k(x_i) = y_i]$ on labelled data.

    Args:
      params: the classifier (from :func:`train_feature_classifier`).
      X: examples, shape ``(n, p)`` or ``(n, H, W, C)``.
      y: int labels, shape ``(n,)``.

    Returns:
      A scalar in $[0, 1]$.

    Raises:
      ValueError: if the examples do not fit the classifier.

    References:
      [MEDL] Ch. 3 (accuracy).
    """
    logits = jax.vmap(lambda x: models.mlp(tuple(params), x))(_flat(X))
    y = jnp.asarray(y)
    return jnp.mean((jnp.argmax(logits, axis=-1).astype(y.dtype) == y).astype(logits.dtype))


def classifier_frechet_distance(params: Sequence, X_real: jax.Array, X_fake: jax.Array):
    r"""The Fréchet distance between real and generated examples in the classifier's feature space.

    $d^2$ of :func:`frechet_distance` on :func:`classifier_features` of each set: the FID recipe
    with a small classifier trained on the same data instead of Inception-v3.

    Args:
      params: the classifier (from :func:`train_feature_classifier`).
      X_real: real examples, shape ``(n, ...)``, $n \ge 2$.
      X_fake: generated examples, shape ``(m, ...)`` (the same example shape), $m \ge 2$.

    Returns:
      A scalar $\ge 0$.

    Raises:
      ValueError: if a set has fewer than two rows or the examples do not fit the classifier.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Heusel et al. (2017).
    """
    return frechet_distance(classifier_features(params, X_real), classifier_features(params, X_fake))


class SampleClassScores(NamedTuple):
    r"""What a classifier says about generated samples.

    Attributes:
      class_frequencies: the fraction of samples predicted in each class, shape ``(K,)``
        (uniform when the classes are covered evenly; mode collapse concentrates it).
      confidence: the mean top-class probability $\frac1m\sum_i \max_k p(k \mid x_i)$.
      classifier_score: $\exp\big(\frac1m\sum_i D_{\mathrm{KL}}(p(\cdot \mid x_i) \,\|\, \bar p)\big)$,
        $\bar p$ the mean prediction (the Inception-Score formula), in $[1, K]$.
    """

    class_frequencies: jax.Array
    confidence: jax.Array
    classifier_score: jax.Array


def sample_class_scores(params: Sequence, X_fake: jax.Array) -> SampleClassScores:
    r"""Class coverage, confidence and the classifier score of generated samples.

    With $p_i = \operatorname{softmax} f(x_i)$ and $\bar p = \frac1m\sum_i p_i$: the share of
    samples whose top class is $k$, the mean $\max_k p_{ik}$, and
    $\exp\frac1m\sum_i\sum_k p_{ik}(\log p_{ik} - \log\bar p_k)$ (Salimans et al. 2016).

    Args:
      params: the classifier (from :func:`train_feature_classifier`).
      X_fake: generated examples, shape ``(m, ...)`` (batched over the leading axis).

    Returns:
      :class:`SampleClassScores`.

    Raises:
      ValueError: if the examples do not fit the classifier.

    References:
      [MEDL] Ch. 8, Sec. 8.3; Salimans et al. (2016), "Improved Techniques for Training GANs".
    """
    logits = jax.vmap(lambda x: models.mlp(tuple(params), x))(_flat(X_fake))
    logp = jax.nn.log_softmax(logits, axis=-1)
    p = jnp.exp(logp)
    K = logits.shape[-1]
    freq = jnp.mean(jax.nn.one_hot(jnp.argmax(logits, axis=-1), K, dtype=p.dtype), axis=0)
    log_pbar = jnp.log(jnp.mean(p, axis=0))
    kl = jnp.sum(p * (logp - log_pbar[None, :]), axis=-1)
    return SampleClassScores(freq, jnp.mean(jnp.max(p, axis=-1)), jnp.exp(jnp.mean(kl)))
