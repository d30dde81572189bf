r"""Entropies and divergences of discrete distributions (MEDL Appendix B.1, D2L Sec. 13.6).

Conventions shared by every function here:

* A distribution is a probability vector along the **last axis**; leading axes are a batch
  (no hidden reduction). A joint table ``p_xy`` has ``x`` on axis ``-2`` and ``y`` on axis
  ``-1``.
* Sums run over the support, as in (B.1): an entry with $p(x) = 0$ contributes exactly 0
  (the convention $0 \log 0 = 0$) and **zero gradient** with respect to both arguments.
* $D_{\mathrm{KL}}(p\,\|\,q) = +\infty$ and $H(p, q) = +\infty$ when $p(x) > 0 = q(x)$.
* Invalid input (a negative entry, or a sum off 1 by more than $(4 + \log_2 k)$ ulps of the
  dtype, the sum taken in at least float32) gives NaN, never a finite number; inside
  :func:`mathdl.checks.checked` it raises instead.
* Every function here *broadcasts*: leading axes ``(*batch, ...)`` are independent distributions
  and nothing is reduced over them.
* ``base`` picks the unit: $e$ (nats, the default) or 2 (bits), or any base $b > 0$,
  $b \ne 1$; the result is divided by $\log b$.
"""

import math

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text

__all__ = [
    "conditional_entropy",
    "cross_entropy",
    "entropy",
    "joint_entropy",
    "js_divergence",
    "kl_divergence",
    "mutual_information",
    "perplexity",
    "pointwise_mutual_information",
    "sequence_perplexity",
]


def _probs(min_rank: int):
    """Spec: probabilities with outcomes on the last ``min_rank`` axes (a vector, or a joint table)."""

    def check(func: str, name: str, p, dims: dict) -> jax.Array:
        p = checks.conform(func, name, p, "float[*shape]", dims)  # a second argument must have this shape
        if p.ndim < min_rank:
            what = "a probability vector (rank >= 1)" if min_rank == 1 else "a joint table (rank >= 2)"
            checks.fail(func, name, what, Text(f"shape {p.shape} (rank {p.ndim})"))
        if 0 in p.shape[p.ndim - min_rank :]:
            checks.fail(func, name, "at least one outcome per axis", Text(f"shape {p.shape}"))
        first, dtype = dims.setdefault("dtype of", (name, p.dtype))  # a second distribution has p's dtype
        if p.dtype != dtype:
            checks.fail(func, name, f"dtype {dtype} (the dtype of `{first}`)", Text(f"dtype {p.dtype}"), exc=TypeError)
        return p

    return check


_VECTOR, _TABLE = _probs(1), _probs(2)


def _valid(func: str, name: str, p: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Per-distribution validity mask; also a value check for the checked mode."""
    # Rounding a normalised vector to p's dtype moves its sum by <= eps/2 and a pairwise sum of k terms adds
    # log2(k) ulps, so (4 + log2 k) ulps of p's dtype accept every normalised vector and refuse a sum of 0.92
    # in bfloat16 (whose sqrt(eps) = 0.09 did not). The sum is taken in at least float32.
    k = math.prod(p.shape[a] for a in axes)
    tol = (4 + math.log2(k)) * float(jnp.finfo(p.dtype).eps)
    ct = p.dtype if jnp.finfo(p.dtype).bits >= 32 else jnp.float32
    nonneg = jnp.all(p >= 0, axis=axes)
    sums_to_one = jnp.abs(jnp.sum(p.astype(ct), axis=axes) - 1) <= tol
    ok = nonneg & sums_to_one  # NaN entries make both comparisons false
    checks.value_check(
        ok, f"{func}: argument `{name}` expected non-negative probabilities summing to 1 (within {tol:.1e})"
    )
    return ok


def _log_base(func: str, base) -> float:
    if base is None:
        return 1.0
    if isinstance(base, jax.core.Tracer) or not isinstance(base, int | float) or isinstance(base, bool):
        checks.fail(func, "base", "a Python number > 0 and != 1 (e.g. 2 for bits)", base, exc=TypeError)
    if not (base > 0 and base != 1 and math.isfinite(base)):
        checks.fail(func, "base", "a number > 0 and != 1 (e.g. 2 for bits)", base)
    return math.log(base)


def _safe_log(x: jax.Array, where: jax.Array) -> jax.Array:
    # Double where: log is evaluated only where `where` holds, so masked entries get a finite
    # value and zero (not NaN) gradient.
    return jnp.log(jnp.where(where, x, 1))


def _plogp_over(p: jax.Array, q: jax.Array) -> jax.Array:
    """Elementwise p log(p/q) over the support of p; +inf where p > 0 = q; 0 where p = 0."""
    support = p > 0
    both = support & (q > 0)
    term = jnp.where(both, p, 0) * (_safe_log(p, both) - _safe_log(q, both))
    return jnp.where(support, jnp.where(both, term, jnp.inf), 0)


@checks.inputs(p=_VECTOR)
def entropy(p: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Shannon entropy of a discrete distribution (MEDL eq. B.3).

    $$H(p) = -\sum_{x \in \mathcal{X}_p} p(x) \log p(x),$$

    with $p$ = `p` along the last axis. $0 \le H(p) \le \log k$ for $k$ outcomes, with the
    upper bound reached only by the uniform distribution.

    Args:
      p: probabilities, shape ``(*batch, k)``, floating.
      base: logarithm base (keyword-only): ``None`` or $e$ for nats, 2 for bits.

    Returns:
      $H(p)$, shape ``(*batch,)``. NaN for an invalid `p`.

    Raises:
      TypeError: if `p` is not floating point or `base` is not a Python number.
      ValueError: if `p` has rank 0 or an empty last axis, or `base` is not > 0 and != 1.

    References:
      [MEDL] App. B, Sec. B.1, eqs. (B.3)-(B.4); D2L Sec. 13.6 (entropy). Oracle in tests:
      ``scipy.stats.entropy``.

    Example:
      >>> entropy(jnp.array([0.5, 0.5]), base=2)
      Array(1., dtype=float32)
    """
    func = checks.public_name(entropy)
    scale = _log_base(func, base)
    ok = _valid(func, "p", p, (-1,))
    support = p > 0
    # "0.0 - sum" rather than "-sum": a point mass then gives +0.0, not -0.0.
    h = 0.0 - jnp.sum(jnp.where(support, p, 0) * _safe_log(p, support), axis=-1)
    return jnp.where(ok, h / scale, jnp.nan)


@checks.inputs(p=_VECTOR, q=_VECTOR)
def cross_entropy(p: jax.Array, q: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Cross entropy of `q` relative to `p` (MEDL eq. B.2).

    $$H(p, q) = -\sum_{x \in \mathcal{X}_p} p(x) \log q(x) = H(p) + D_{\mathrm{KL}}(p\,\|\,q),$$

    $+\infty$ when some $p(x) > 0 = q(x)$. Not symmetric: $H(p,q) \ne H(q,p)$ in general.
    For a classifier's loss from logits use the (stabler) softmax cross-entropy in
    ``mathdl.losses``.

    Args:
      p: the reference distribution, shape ``(*batch, k)``, floating.
      q: the model distribution, same shape and dtype as `p`.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      $H(p, q)$, shape ``(*batch,)``. NaN if `p` or `q` is invalid.

    Raises:
      TypeError: if an argument is not floating point, dtypes differ, or `base` is not a number.
      ValueError: if the shapes differ, the rank is 0, or `base` is invalid.

    References:
      [MEDL] App. B, Sec. B.1, eqs. (B.2), (B.5); D2L Sec. 13.6 (cross-entropy). Oracle in
      tests: a NumPy loop and ``scipy.stats.entropy`` (for the H(p) + KL identity).

    Example:
      >>> cross_entropy(jnp.array([1.0, 0.0]), jnp.array([0.5, 0.5]))
      Array(0.6931472, dtype=float32)
    """
    func = checks.public_name(cross_entropy)
    scale = _log_base(func, base)
    ok = _valid(func, "p", p, (-1,)) & _valid(func, "q", q, (-1,))
    support = p > 0
    both = support & (q > 0)
    terms = jnp.where(support, jnp.where(both, -jnp.where(both, p, 0) * _safe_log(q, both), jnp.inf), 0)
    return jnp.where(ok, jnp.sum(terms, axis=-1) / scale, jnp.nan)


@checks.inputs(p=_VECTOR, q=_VECTOR)
def kl_divergence(p: jax.Array, q: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Kullback-Leibler divergence (relative entropy) of discrete distributions (MEDL eq. B.1).

    $$D_{\mathrm{KL}}(p\,\|\,q) = \sum_{x \in \mathcal{X}_p} p(x) \log\frac{p(x)}{q(x)},$$

    $+\infty$ when $\mathcal{X}_p \not\subseteq \mathcal{X}_q$ (some $p(x) > 0 = q(x)$).
    $D_{\mathrm{KL}} \ge 0$ with equality only when $p = q$; it is not symmetric. Entries
    with $p(x) = 0$ contribute 0 and zero gradient, also when $q(x) = 0$.

    Args:
      p: the reference distribution, shape ``(*batch, k)``, floating.
      q: the approximating distribution, same shape and dtype as `p`.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      $D_{\mathrm{KL}}(p\,\|\,q)$, shape ``(*batch,)``, in $[0, +\infty]$. NaN if `p` or `q`
      is invalid.

    Raises:
      TypeError: if an argument is not floating point, dtypes differ, or `base` is not a number.
      ValueError: if the shapes differ, the rank is 0, or `base` is invalid.

    References:
      [MEDL] App. B, Sec. B.1, eq. (B.1); D2L Sec. 13.6 (KL divergence). Oracle in tests:
      ``scipy.special.rel_entr`` and ``torch.distributions.kl_divergence``.

    Example:
      >>> kl_divergence(jnp.array([0.5, 0.5]), jnp.array([1.0, 0.0]))
      Array(inf, dtype=float32)
    """
    func = checks.public_name(kl_divergence)
    scale = _log_base(func, base)
    ok = _valid(func, "p", p, (-1,)) & _valid(func, "q", q, (-1,))
    return jnp.where(ok, jnp.sum(_plogp_over(p, q), axis=-1) / scale, jnp.nan)


@checks.inputs(p=_VECTOR, q=_VECTOR)
def js_divergence(p: jax.Array, q: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Jensen-Shannon divergence (MEDL eq. B.7).

    $$\mathrm{JSD}(p\,\|\,q) = \tfrac12 D_{\mathrm{KL}}(p\,\|\,m) + \tfrac12 D_{\mathrm{KL}}(q\,\|\,m),
    \qquad m = \tfrac12 (p + q).$$

    Symmetric, always finite, and in $[0, \log 2]$ (``[0, 1]`` in bits); its square root is
    a metric (the Jensen-Shannon distance of ``scipy.spatial.distance.jensenshannon``).

    Args:
      p: a distribution, shape ``(*batch, k)``, floating.
      q: a distribution, same shape and dtype as `p`.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      $\mathrm{JSD}(p\,\|\,q)$, shape ``(*batch,)``. NaN if `p` or `q` is invalid.

    Raises:
      TypeError: if an argument is not floating point, dtypes differ, or `base` is not a number.
      ValueError: if the shapes differ, the rank is 0, or `base` is invalid.

    References:
      [MEDL] App. B, Sec. B.1, eq. (B.7); Ch. 8 (the GAN value at the optimal discriminator
      is $2\,\mathrm{JSD} - \log 4$). Oracle in tests: ``scipy.spatial.distance.jensenshannon``
      squared.

    Example:
      >>> js_divergence(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), base=2)
      Array(1., dtype=float32)
    """
    func = checks.public_name(js_divergence)
    scale = _log_base(func, base)
    ok = _valid(func, "p", p, (-1,)) & _valid(func, "q", q, (-1,))
    m = 0.5 * (p + q)
    jsd = 0.5 * jnp.sum(_plogp_over(p, m), axis=-1) + 0.5 * jnp.sum(_plogp_over(q, m), axis=-1)
    return jnp.where(ok, jsd / scale, jnp.nan)


@checks.inputs(p_xy=_TABLE)
def joint_entropy(p_xy: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Joint entropy of a pair of discrete random variables from their joint table.

    $$H(X, Y) = -\sum_{x}\sum_{y} p_{X,Y}(x, y) \log p_{X,Y}(x, y).$$

    Satisfies $\max(H(X), H(Y)) \le H(X, Y) \le H(X) + H(Y)$.

    Args:
      p_xy: joint probabilities, shape ``(*batch, k_x, k_y)`` (rows index $x$), floating.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      $H(X, Y)$, shape ``(*batch,)``. NaN for an invalid table.

    Raises:
      TypeError: if `p_xy` is not floating point or `base` is not a number.
      ValueError: if `p_xy` has rank < 2 or an empty axis, or `base` is invalid.

    References:
      D2L Sec. 13.6 (joint entropy); [MEDL] App. B, Sec. B.1. Oracle in tests:
      ``scipy.stats.entropy`` of the flattened table.

    Example:
      >>> joint_entropy(jnp.full((2, 2), 0.25), base=2)
      Array(2., dtype=float32)
    """
    func = checks.public_name(joint_entropy)
    scale = _log_base(func, base)
    ok = _valid(func, "p_xy", p_xy, (-2, -1))
    support = p_xy > 0
    h = 0.0 - jnp.sum(jnp.where(support, p_xy, 0) * _safe_log(p_xy, support), axis=(-2, -1))
    return jnp.where(ok, h / scale, jnp.nan)


@checks.inputs(p_xy=_TABLE)
def conditional_entropy(p_xy: jax.Array, *, given: str = "x", base: float | None = None) -> jax.Array:
    r"""Conditional entropy from a joint table: $H(Y \mid X)$ (default) or $H(X \mid Y)$.

    $$H(Y \mid X) = -\sum_{x}\sum_{y} p(x, y) \log \frac{p(x, y)}{p_X(x)} = H(X, Y) - H(X),$$

    computed directly from the left-hand form (no cancellation between two entropies).

    Args:
      p_xy: joint probabilities, shape ``(*batch, k_x, k_y)`` (rows index $x$), floating.
      given: ``"x"`` for $H(Y \mid X)$, ``"y"`` for $H(X \mid Y)$ (keyword-only).
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      The conditional entropy, shape ``(*batch,)``, in $[0, H(Y)]$. NaN for an invalid table.

    Raises:
      TypeError: if `p_xy` is not floating point or `base` is not a number.
      ValueError: if `given` is not ``"x"``/``"y"``, `p_xy` has rank < 2, or `base` is invalid.

    References:
      D2L Sec. 13.6 (conditional entropy); [MEDL] App. B, Sec. B.1. Oracle in tests: a NumPy
      loop over the table.

    Example:
      >>> conditional_entropy(jnp.array([[0.5, 0.0], [0.0, 0.5]]))
      Array(0., dtype=float32)
    """
    func = checks.public_name(conditional_entropy)
    checks.check_choice(func, "given", given, ("x", "y"))
    scale = _log_base(func, base)
    ok = _valid(func, "p_xy", p_xy, (-2, -1))
    marg = jnp.sum(p_xy, axis=-1, keepdims=True) if given == "x" else jnp.sum(p_xy, axis=-2, keepdims=True)
    support = p_xy > 0  # implies marg > 0
    log_ratio = _safe_log(p_xy, support) - _safe_log(marg, support)
    h = 0.0 - jnp.sum(jnp.where(support, p_xy, 0) * log_ratio, axis=(-2, -1))
    return jnp.where(ok, h / scale, jnp.nan)


@checks.inputs(p_xy=_TABLE)
def mutual_information(p_xy: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Mutual information of two discrete random variables from their joint table.

    $$I(X; Y) = \sum_{x}\sum_{y} p(x, y) \log \frac{p(x, y)}{p_X(x)\, p_Y(y)}
             = D_{\mathrm{KL}}(p_{X,Y}\,\|\,p_X p_Y)$$

    $$\phantom{I(X; Y)} = H(X) + H(Y) - H(X, Y) = H(X) - H(X \mid Y).$$

    Computed from the first form. Symmetric, non-negative, zero exactly for independent
    variables.

    Args:
      p_xy: joint probabilities, shape ``(*batch, k_x, k_y)`` (rows index $x$), floating.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      $I(X; Y)$, shape ``(*batch,)``. NaN for an invalid table.

    Raises:
      TypeError: if `p_xy` is not floating point or `base` is not a number.
      ValueError: if `p_xy` has rank < 2 or an empty axis, or `base` is invalid.

    References:
      D2L Sec. 13.6 (mutual information); [MEDL] App. B, Sec. B.1. Oracle in tests:
      ``sklearn.metrics.mutual_info_score`` on a contingency table of counts.

    Example:
      >>> mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]]), base=2)
      Array(1., dtype=float32)
    """
    func = checks.public_name(mutual_information)
    scale = _log_base(func, base)
    ok = _valid(func, "p_xy", p_xy, (-2, -1))
    p_x = jnp.sum(p_xy, axis=-1, keepdims=True)
    p_y = jnp.sum(p_xy, axis=-2, keepdims=True)
    support = p_xy > 0  # implies both marginals > 0
    log_ratio = _safe_log(p_xy, support) - _safe_log(p_x, support) - _safe_log(p_y, support)
    mi = jnp.sum(jnp.where(support, p_xy, 0) * log_ratio, axis=(-2, -1))
    return jnp.where(ok, mi / scale, jnp.nan)


@checks.inputs(p_xy=_TABLE)
def pointwise_mutual_information(p_xy: jax.Array, *, base: float | None = None) -> jax.Array:
    r"""Pointwise mutual information of every cell of a joint table.

    $$\mathrm{pmi}(x, y) = \log \frac{p(x, y)}{p_X(x)\, p_Y(y)},$$

    so that $I(X; Y) = \sum_{x,y} p(x, y)\,\mathrm{pmi}(x, y)$. A cell with $p(x, y) = 0$ but
    positive marginals gives $-\infty$ (the log of 0); a cell whose row or column has zero
    mass is undefined and gives NaN.

    Args:
      p_xy: joint probabilities, shape ``(*batch, k_x, k_y)`` (rows index $x$), floating.
      base: logarithm base (keyword-only): ``None`` for nats, 2 for bits.

    Returns:
      The table of PMI values, same shape as `p_xy`. NaN everywhere for an invalid table.

    Raises:
      TypeError: if `p_xy` is not floating point or `base` is not a number.
      ValueError: if `p_xy` has rank < 2 or an empty axis, or `base` is invalid.

    References:
      D2L Sec. 13.6 (pointwise mutual information). Oracle in tests: a NumPy loop.

    Example:
      >>> pointwise_mutual_information(jnp.array([[0.5, 0.0], [0.0, 0.5]]))
      Array([[0.6931472,      -inf],
             [     -inf, 0.6931472]], dtype=float32)
    """
    func = checks.public_name(pointwise_mutual_information)
    scale = _log_base(func, base)
    ok = _valid(func, "p_xy", p_xy, (-2, -1))
    p_x = jnp.sum(p_xy, axis=-1, keepdims=True)
    p_y = jnp.sum(p_xy, axis=-2, keepdims=True)
    margs = (p_x > 0) & (p_y > 0)
    cell = p_xy > 0
    log_ratio = _safe_log(p_xy, cell) - _safe_log(p_x, cell) - _safe_log(p_y, cell)
    pmi = jnp.where(cell, log_ratio, jnp.where(margs, -jnp.inf, jnp.nan))
    return jnp.where(ok[..., None, None], pmi / scale, jnp.nan)


@checks.inputs(p=_VECTOR)
def perplexity(p: jax.Array) -> jax.Array:
    r"""Perplexity of a discrete distribution: the exponential of its entropy.

    $$\mathrm{PP}(p) = e^{H(p)} = 2^{H_2(p)},$$

    (the same number in any base), the "effective number of equally likely outcomes": it is
    $k$ for the uniform distribution on $k$ outcomes and 1 for a point mass. For the
    perplexity of a language model on a text use :func:`sequence_perplexity`.

    Args:
      p: probabilities, shape ``(*batch, k)``, floating.

    Returns:
      $\mathrm{PP}(p)$, shape ``(*batch,)``, in $[1, k]$. NaN for an invalid `p`.

    Raises:
      TypeError: if `p` is not floating point.
      ValueError: if `p` has rank 0 or an empty last axis.

    References:
      D2L Sec. 9.2 (perplexity); [MEDL] Ch. 7 (language models). Oracle in tests:
      ``numpy.exp(scipy.stats.entropy(p))``.

    Example:
      >>> perplexity(jnp.full((4,), 0.25))
      Array(4., dtype=float32)
    """
    ok = _valid(checks.public_name(perplexity), "p", p, (-1,))
    support = p > 0
    h = 0.0 - jnp.sum(jnp.where(support, p, 0) * _safe_log(p, support), axis=-1)
    return jnp.where(ok, jnp.exp(h), jnp.nan)


@checks.inputs(log_probs="float[*shape]")
def sequence_perplexity(log_probs: jax.Array) -> jax.Array:
    r"""Perplexity of a model on a sequence from the log-probabilities of the observed tokens.

    $$\mathrm{PP} = \exp\Big(-\frac1T \sum_{t=1}^{T} \log P(x_t \mid x_{t-1}, \dots, x_1)\Big),$$

    the exponential of the mean negative log-likelihood per token. 1 for a model that is
    always certain and right, $+\infty$ if some observed token has probability 0
    (``log_probs`` $= -\infty$), and $d_V$ for a uniform model over $d_V$ tokens.

    Args:
      log_probs: natural-log probabilities of the observed tokens, shape ``(*batch, T)``,
        floating, each $\le 0$.

    Returns:
      The perplexity, shape ``(*batch,)``. NaN if some entry is NaN or positive.

    Raises:
      TypeError: if `log_probs` is not floating point.
      ValueError: if `log_probs` has rank 0 or an empty last axis.

    References:
      D2L Sec. 9.2 (perplexity); [MEDL] Ch. 7 (language models). Oracle in tests: a NumPy
      product of probabilities raised to $-1/T$.

    Example:
      >>> sequence_perplexity(jnp.log(jnp.full((3,), 0.25)))
      Array(4., dtype=float32)
    """
    func = checks.public_name(sequence_perplexity)
    lp = log_probs
    if lp.ndim < 1 or lp.shape[-1] == 0:
        checks.fail(func, "log_probs", "shape (*batch, T) with T >= 1", Text(f"shape {lp.shape}"))
    ok = jnp.all(lp <= 0, axis=-1)
    checks.value_check(ok, f"{func}: argument `log_probs` expected log-probabilities <= 0")
    return jnp.where(ok, jnp.exp(-jnp.mean(lp, axis=-1)), jnp.nan)
