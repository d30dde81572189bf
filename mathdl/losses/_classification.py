r"""Classification losses: binary and categorical cross-entropy, hinge.

Per example, no hidden reduction (the Optax convention): leading `(*batch)` dimensions are
allowed and kept. Value problems never give a finite wrong answer: a label out of range or a
"probability" outside $[0, 1]$ gives NaN, and inside :func:`mathdl.checks.checked` it raises.
"""

import math

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.activations import log_softmax, softplus
from mathdl.checks import Text
from mathdl.losses._regression import _same_dtype

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_probs",
]


def _nan_unless(ok: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.where(ok, x, jnp.full_like(x, jnp.nan))


def _xlogy_safe(a: jax.Array, b: jax.Array) -> jax.Array:
    """a·log(b) with 0·log(anything) = 0 and a zero gradient in b there.

    jax.scipy.special.xlogy gives the value but its gradient at a = b = 0 is 0/0 = NaN, so we use
    a double where instead.
    """
    pos = a > 0
    return jnp.where(pos, a * jnp.log(jnp.where(pos, b, jnp.ones_like(b))), jnp.zeros_like(a))


def _is_distribution(t: jax.Array) -> jax.Array:
    """Per row: entries in [0, 1] summing to 1 within a few ulps of t's dtype (the sum taken in >= float32)."""
    ct = t.dtype if jnp.finfo(t.dtype).bits >= 32 else jnp.float32
    K = t.shape[-1]
    # Rounding a normalised vector to t's dtype moves its sum by <= eps/2; a pairwise sum adds log2(K) ulps.
    tol = (4 + math.log2(max(K, 1))) * float(jnp.finfo(t.dtype).eps)
    in_range = jnp.all((t >= 0) & (t <= 1), axis=-1)
    return in_range & (jnp.abs(jnp.sum(t.astype(ct), axis=-1) - 1) <= tol)


def _labels_like(func: str, name: str, labels, pred_name: str, logits: jax.Array) -> jax.Array:
    """Binary targets: bool/int are cast to the logits' dtype; floats must match it. Same shape."""
    if isinstance(labels, str | bytes) or labels is None:
        checks.fail(func, name, "an array", type(labels).__name__, exc=TypeError)
    labels = jnp.asarray(labels)
    if labels.dtype == jnp.bool_ or jnp.issubdtype(labels.dtype, jnp.integer):
        labels = labels.astype(logits.dtype)
    elif not jnp.issubdtype(labels.dtype, jnp.floating):
        checks.fail(func, name, "a numeric array", f"dtype {labels.dtype}", exc=TypeError)
    elif labels.dtype != logits.dtype:
        checks.fail(
            func, name, f"dtype {logits.dtype} (that of the predictions)", f"dtype {labels.dtype}", exc=TypeError
        )
    checks.check_same_shape(func, pred_name, logits, name, labels)
    return labels


@checks.inputs(p="float[*batch]")
def binary_cross_entropy(p: jax.Array, y: jax.Array) -> jax.Array:
    r"""Binary cross-entropy from a predicted probability $p = \hat y$.

    $$\operatorname{CE}(y, p) = -y\log p - (1 - y)\log(1 - p),$$

    the negative Bernoulli log-likelihood. No clipping: $0\log 0 = 0$ exactly, so a confident
    correct prediction costs 0 and a confident wrong one costs $+\infty$; the gradient at those
    points is finite where the value is. (The book's companion code clips $\hat y$ to
    $[10^{-7}, 1 - 10^{-7}]$ instead; clipping gives a finite wrong value, so we do not.) A $p$ or
    $y$ outside $[0, 1]$ gives NaN (and raises in checked mode). Prefer
    :func:`binary_cross_entropy_with_logits` when you have the logit.

    Args:
      p: predicted probabilities $\hat y = P(Y = 1)$, shape `(*batch)` (per example, broadcasting:
        any leading axes), floating dtype.
      y: targets in $[0, 1]$ (hard 0/1 labels or soft targets), same shape; bool or integer
        labels are cast to ``p``'s dtype.

    Returns:
      Per-example loss in nats, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if ``p`` is not floating or ``y`` is not numeric / has another float dtype.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 3, Sec. 3.1 (binary cross-entropy from Bernoulli maximum likelihood).
      Oracle in tests: ``torch.nn.functional.binary_cross_entropy``, ``sklearn.metrics.log_loss``.
    """
    func = checks.public_name(binary_cross_entropy)
    y = _labels_like(func, "y", y, "p", p)
    p_ok = (p >= 0) & (p <= 1)
    y_ok = (y >= 0) & (y <= 1)
    checks.value_check(p_ok, f"{func}: argument `p` expected probabilities in [0, 1], got a value outside.")
    checks.value_check(y_ok, f"{func}: argument `y` expected targets in [0, 1], got a value outside.")
    ok = p_ok & y_ok
    # Keep the log arguments inside [0, 1] so no NaN is formed even for invalid p (checked mode's
    # NaN check would otherwise fire before the clearer message above).
    p_in = jnp.where(ok, p, jnp.full_like(p, 0.5))
    y_in = jnp.where(ok, y, jnp.full_like(y, 0.5))
    loss = -_xlogy_safe(y_in, p_in) - _xlogy_safe(1 - y_in, 1 - p_in)
    return _nan_unless(ok, loss)


@checks.inputs(logits="float[*batch]")
def binary_cross_entropy_with_logits(logits: jax.Array, labels: jax.Array) -> jax.Array:
    r"""Binary cross-entropy of $\hat y = \sigma(z)$, computed from the logit $z$.

    $$-y\log\sigma(z) - (1 - y)\log(1 - \sigma(z)) = \operatorname{softplus}(z) - y z,$$

    using $-\log\sigma(z) = \operatorname{softplus}(-z)$ and $\operatorname{softplus}(z) -
    \operatorname{softplus}(-z) = z$. Stable for any finite $z$; its gradient is
    $\partial\ell/\partial z = \sigma(z) - y$. At $z = \pm\infty$ it returns the limits,
    $(1 - y)\cdot\infty$ at $+\infty$ and $y\cdot\infty$ at $-\infty$ with $0\cdot\infty = 0$: 0 for
    the matching hard label, $+\infty$ otherwise (never the NaN of $\infty - \infty$).

    Args:
      logits: $z$, shape `(*batch)` (per example, broadcasting: any leading axes), floating dtype.
      labels: targets $y \in [0, 1]$, same shape; bool or integer labels are cast. Values outside
        $[0, 1]$ give NaN (raise in checked mode).

    Returns:
      Per-example loss in nats, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if ``logits`` is not floating or ``labels`` is not numeric / has another float dtype.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 3, Sec. 3.1-3.2 (logistic regression as a shallow network).
      Oracle in tests: ``optax.losses.sigmoid_binary_cross_entropy``,
      ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    func = checks.public_name(binary_cross_entropy_with_logits)
    z = logits
    y = _labels_like(func, "labels", labels, "logits", z)
    ok = (y >= 0) & (y <= 1)
    checks.value_check(ok, f"{func}: argument `labels` expected values in [0, 1], got a value outside.")
    inf = jnp.isinf(z)
    z_fin = jnp.where(inf, jnp.zeros_like(z), z)  # double where: inf - inf never reaches the value or the gradient
    at_inf = jnp.where(jnp.where(z > 0, 1 - y, y) > 0, jnp.full_like(z, jnp.inf), jnp.zeros_like(z))
    return _nan_unless(ok, jnp.where(inf, at_inf, softplus(z_fin) - y * z_fin))


@checks.inputs(logits="float[*batch K]", labels="int[*batch]")
def softmax_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    r"""Cross-entropy of a softmax classifier against integer labels.

    For logits $z \in \mathbb R^K$ and a label $y \in \{0, \dots, K-1\}$ (0-based, unlike the
    book's $1..K$),
    $$\ell(z, y) = -\log\frac{e^{z_y}}{\sum_{k} e^{z_k}} = \operatorname{logsumexp}(z) - z_y,$$
    the book's categorical cross-entropy $-\sum_k y_k\log\hat y_k$ with a one-hot $y$. Its
    gradient is $\partial\ell/\partial z = \operatorname{softmax}(z) - e_y$. An out-of-range label
    gives NaN (not a finite wrong value) and raises in checked mode.

    Args:
      logits: unnormalised scores $z$, shape `(*batch, K)` (per example, broadcasting over `*batch`; K >= 1),
        floating dtype.
      labels: class indices, shape `(*batch)`, integer dtype.

    Returns:
      Per-example loss in nats, shape `(*batch)`. No reduction; call ``.mean()`` yourself.

    Raises:
      TypeError: if ``logits`` is not floating or ``labels`` is not integer.
      ValueError: if ``logits`` is a scalar or ``labels.shape != logits.shape[:-1]``.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eqs. (3.25) and (3.30).
      Oracle in tests: ``optax.losses.softmax_cross_entropy_with_integer_labels``,
      ``torch.nn.functional.cross_entropy``.
    """
    func = checks.public_name(softmax_cross_entropy)
    z, K = logits, _num_classes(func, logits)
    ok = (labels >= 0) & (labels < K)
    checks.value_check(ok, f"{func}: argument `labels` expected class indices in [0, {K}), got one outside.")
    safe = jnp.where(ok, labels, jnp.zeros_like(labels))  # an in-range stand-in; its row becomes NaN below
    # logsumexp(z) - z_y, shifting by the (constant) row maximum; log_softmax is not materialised.
    m = jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
    lse = jnp.log(jnp.sum(jnp.exp(z - m), axis=-1)) + m[..., 0]
    # z_y by integer indexing on a flattened batch: as fast as take_along_axis, and its gradient is a
    # scatter that checkify's index checks accept (take_along_axis's crashes them under jax.grad).
    flat = z.reshape(-1, K)
    z_y = flat[jnp.arange(flat.shape[0]), safe.reshape(-1)].reshape(labels.shape)
    return _nan_unless(ok, lse - z_y)


def _num_classes(func: str, logits: jax.Array) -> int:
    if logits.shape[-1] == 0:
        checks.fail(func, "logits", "at least one class (K >= 1) on the last axis", Text(f"shape {logits.shape}"))
    return logits.shape[-1]


@checks.inputs(logits="float[*batch K]", targets="float[*batch K]")
def softmax_cross_entropy_with_probs(logits: jax.Array, targets: jax.Array) -> jax.Array:
    r"""Cross-entropy of a softmax classifier against probability targets (soft labels).

    $$\ell(z, t) = -\sum_{k=1}^{K} t_k \log\operatorname{softmax}(z)_k,$$

    with $0\log 0 = 0$ (a class with $t_k = 0$ and $z_k = -\infty$ costs nothing). Its gradient
    is $\operatorname{softmax}(z) - t$. Targets must be a probability vector: an entry outside
    $[0, 1]$ or a sum further than $(4 + \log_2 K)$ ulps of the dtype from 1 (the sum taken in at least
    float32) gives NaN (raises in checked mode).

    Args:
      logits: unnormalised scores $z$, shape `(*batch, K)` (per example, broadcasting over `*batch`; K >= 1),
        floating dtype.
      targets: probabilities $t$, same shape and dtype.

    Returns:
      Per-example loss in nats, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if an argument is not floating or the dtypes differ.
      ValueError: if ``logits`` is a scalar or the shapes differ.

    References:
      [MEDL] Ch. 3, Sec. 3.3, eq. (3.30).
      Oracle in tests: ``optax.losses.softmax_cross_entropy``, ``torch.nn.functional.cross_entropy``
      with probability targets.
    """
    func = checks.public_name(softmax_cross_entropy_with_probs)
    z, t = logits, targets
    _num_classes(func, z)
    _same_dtype(func, "logits", z, "targets", t)
    ok = _is_distribution(t)
    checks.value_check(ok, f"{func}: argument `targets` expected probability vectors (in [0, 1], summing to 1).")
    terms = jnp.where(t > 0, t * jnp.where(t > 0, log_softmax(z), jnp.zeros_like(z)), jnp.zeros_like(z))
    return _nan_unless(ok, -jnp.sum(terms, axis=-1))


@checks.inputs(scores="float[*batch]")
def hinge(scores: jax.Array, labels: jax.Array) -> jax.Array:
    r"""Hinge loss of a margin classifier, with labels $y \in \{-1, +1\}$.

    $$\ell(s, y) = \max(0,\ 1 - y s).$$

    The gradient at the hinge ($y s = 1$) is taken as 0. A label other than $\pm1$ gives NaN
    (raises in checked mode), and so does a NaN score.

    Args:
      scores: real-valued classifier outputs $s$, shape `(*batch)` (per example, broadcasting: any
        leading axes), floating dtype.
      labels: $\pm1$ labels, same shape; integer labels are cast to the scores' dtype.

    Returns:
      Per-example loss, shape `(*batch)`. No reduction.

    Raises:
      TypeError: if ``scores`` is not floating or ``labels`` is not numeric / has another float dtype.
      ValueError: if the shapes differ.

    References:
      [MEDL] Ch. 2 (linear classifiers; the hinge as a surrogate of the 0-1 loss); Cortes & Vapnik (1995).
      Oracle in tests: ``optax.losses.hinge_loss``, ``sklearn.metrics.hinge_loss``.
    """
    func = checks.public_name(hinge)
    y = _labels_like(func, "labels", labels, "scores", scores)
    ok = (y == 1) | (y == -1)
    checks.value_check(ok, f"{func}: argument `labels` expected values -1 or +1, got another value.")
    m = 1 - y * scores
    return _nan_unless(ok, jnp.where(m <= 0, jnp.zeros_like(m), m))  # max(0, m); NaN <= 0 is false: NaN stays
