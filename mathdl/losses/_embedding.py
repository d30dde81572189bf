r"""Metric-learning losses for Siamese networks: contrastive, triplet, and batch-hard triplet.

An embedding network $f_\theta$ maps an example to $z = f_\theta(x) \in \mathbb{R}^d$; these
losses pull embeddings of one class together and push other classes at least a margin $m$
apart, in the Euclidean distance $D(z, z') = \lVert z - z' \rVert_2$ (or its square). The pair and
triplet losses broadcast over ``*batch``; :func:`batch_hard_triplet_loss` mines its triplets
inside one batch of embeddings and returns one loss per anchor.

Distances are computed with a safe square root (value 0 and gradient 0 at coincident points),
so the losses are differentiable everywhere a finite subgradient exists.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = ["TripletMining", "batch_hard_triplet_loss", "contrastive_loss", "mine_batch_hard", "triplet_loss"]


def _margin(func: str, margin, *, strict: bool = True) -> float:
    if isinstance(margin, bool) or not isinstance(margin, int | float):
        checks.fail(func, "margin", "a real number", checks.Text(type(margin).__name__), exc=TypeError)
    checks.check_positive(func, "margin", margin, strict=strict)
    if margin == float("inf"):
        checks.fail(func, "margin", "a finite value", margin)
    return float(margin)


def _flag(func: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        checks.fail(func, name, "a bool", checks.Text(type(value).__name__), exc=TypeError)
    return value


def _sq_dist(a: jax.Array, b: jax.Array) -> jax.Array:
    d = a - b
    return jnp.sum(d * d, axis=-1)


def _sqrt0(q: jax.Array) -> jax.Array:
    """sqrt with value 0 and gradient 0 at q = 0 (double where)."""
    pos = q > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, q, jnp.ones_like(q))), jnp.zeros_like(q))


def _distance(q: jax.Array, squared: bool) -> jax.Array:
    return q if squared else _sqrt0(q)


def _same_dtypes(func: str, named) -> None:
    (n0, a0), *rest = named
    for n, a in rest:
        if a.dtype != a0.dtype:
            checks.fail(func, n, f"the dtype of `{n0}` ({a0.dtype})", checks.Text(f"dtype {a.dtype}"), exc=TypeError)


def _binary(func: str, name: str, value, dims) -> jax.Array:
    arr = checks.conform(func, name, value, "any[*batch]", dims)
    if not (jnp.issubdtype(arr.dtype, jnp.bool_) or jnp.issubdtype(arr.dtype, jnp.integer)):
        checks.fail(func, name, "boolean or 0/1 integer labels", checks.Text(f"dtype {arr.dtype}"), exc=TypeError)
    return arr


@checks.inputs(z1="float[*batch d]", z2="float[*batch d]", same=_binary)
def contrastive_loss(z1: jax.Array, z2: jax.Array, same: jax.Array, *, margin: float = 1.0) -> jax.Array:
    r"""Contrastive loss of a pair of embeddings (Hadsell, Chopra and LeCun, 2006).

    With $D = \lVert z_1 - z_2 \rVert_2$ and $s = 1$ for a similar pair (same class),

    $$L(z_1, z_2, s) = s\,\tfrac12 D^2 + (1 - s)\,\tfrac12 \max(0,\, m - D)^2 :$$

    similar pairs are pulled together; dissimilar pairs are pushed apart until they are $m$ away,
    and cost nothing beyond.

    Args:
      z1: first embeddings, shape ``(*batch, d)``, floating (broadcasts over ``*batch``).
      z2: second embeddings, the same shape and dtype.
      same: ``(*batch,)`` bool, or 0/1 integers: 1 (true) for a similar pair. (Hadsell et al.
        write $Y = 0$ for a similar pair; ``same`` is $1 - Y$.)
      margin: $m > 0$.

    Returns:
      The per-pair loss, shape ``(*batch,)``.

    Raises:
      ValueError: if the shapes disagree or ``margin`` is not positive; eagerly, if ``same``
        holds a value other than 0 or 1 (NaN under ``jax.jit``).
      TypeError: if the embeddings are not floating or differ in dtype, or ``same`` is not
        boolean/integer.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (Siamese networks, Fig. 6.17); Hadsell, Chopra & LeCun (2006),
      "Dimensionality reduction by learning an invariant mapping", eq. (4).
    """
    func = checks.public_name(contrastive_loss)
    _same_dtypes(func, [("z1", z1), ("z2", z2)])
    m = _margin(func, margin)
    q = _sq_dist(z1, z2)
    si = same.astype(jnp.int32)
    s = si.astype(z1.dtype)
    loss = s * 0.5 * q + (1 - s) * 0.5 * jnp.square(jnp.maximum(m - _sqrt0(q), 0))
    ok = (si == 0) | (si == 1)
    return checks.ensure(ok, loss, func, "same", "0/1 (or boolean) pair labels")


@checks.inputs(anchor="float[*batch d]", positive="float[*batch d]", negative="float[*batch d]")
def triplet_loss(
    anchor: jax.Array, positive: jax.Array, negative: jax.Array, *, margin: float = 0.2, squared: bool = True
) -> jax.Array:
    r"""Triplet loss (FaceNet): the positive must be closer to the anchor than the negative, by a margin.

    $$L(a, p, n) = \max\big(0,\; D(a, p) - D(a, n) + \alpha\big),$$

    with $D$ the squared Euclidean distance (FaceNet, ``squared=True``) or the distance itself
    (``squared=False``, PyTorch's ``triplet_margin_loss``).

    Args:
      anchor: anchor embeddings $a$, shape ``(*batch, d)`` (broadcasts over ``*batch``).
      positive: embeddings of the same class as the anchor, the same shape and dtype.
      negative: embeddings of another class, the same shape and dtype.
      margin: $\alpha \ge 0$ (FaceNet uses 0.2 on unit-norm embeddings).
      squared: use $\lVert\cdot\rVert_2^2$ (default) or $\lVert\cdot\rVert_2$.

    Returns:
      The per-triplet loss, shape ``(*batch,)``.

    Raises:
      ValueError: if the shapes disagree or ``margin < 0``.
      TypeError: if an embedding is not floating, the dtypes differ, or ``squared`` is not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (Siamese networks); Schroff, Kalenichenko & Philbin (2015),
      "FaceNet", eq. (1)-(2). Oracle in tests: ``torch.nn.functional.triplet_margin_loss``.
    """
    func = checks.public_name(triplet_loss)
    _same_dtypes(func, [("anchor", anchor), ("positive", positive), ("negative", negative)])
    m = _margin(func, margin, strict=False)
    sq = _flag(func, "squared", squared)
    d_ap = _distance(_sq_dist(anchor, positive), sq)
    d_an = _distance(_sq_dist(anchor, negative), sq)
    return jnp.maximum(d_ap - d_an + m, 0)


class TripletMining(NamedTuple):
    """The triplets :func:`mine_batch_hard` picks, one per anchor.

    Attributes:
      positive: ``(n,)`` int32, the index of each anchor's hardest positive (farthest example of
        its class, itself excluded); ``-1`` where the anchor's class has no other example.
      negative: ``(n,)`` int32, the index of its hardest negative (closest example of another
        class); ``-1`` where every example has the anchor's class.
      valid: ``(n,)`` bool, true where both exist.
    """

    positive: jax.Array
    negative: jax.Array
    valid: jax.Array


def _pairwise(z: jax.Array, squared: bool) -> jax.Array:
    return _distance(_sq_dist(z[:, None, :], z[None, :, :]), squared)


def _mine(z: jax.Array, labels: jax.Array, squared: bool) -> TripletMining:
    n = z.shape[0]
    dist = jax.lax.stop_gradient(_pairwise(z, squared))
    same = labels[:, None] == labels[None, :]
    pos_mask = same & ~jnp.eye(n, dtype=bool)
    neg_mask = ~same
    has_pos, has_neg = pos_mask.any(axis=1), neg_mask.any(axis=1)
    positive = jnp.argmax(jnp.where(pos_mask, dist, -jnp.inf), axis=1).astype(jnp.int32)
    negative = jnp.argmin(jnp.where(neg_mask, dist, jnp.inf), axis=1).astype(jnp.int32)
    return TripletMining(jnp.where(has_pos, positive, -1), jnp.where(has_neg, negative, -1), has_pos & has_neg)


@checks.inputs(embeddings="float[n d]", labels="int[n]")
def mine_batch_hard(embeddings: jax.Array, labels: jax.Array, *, squared: bool = False) -> TripletMining:
    r"""Online hard mining in one batch: each anchor's hardest positive and hardest negative.

    $$p(i) = \arg\max_{j \ne i,\ y_j = y_i} D(z_i, z_j),\qquad n(i) = \arg\min_{k:\ y_k \ne y_i} D(z_i, z_k).$$

    Args:
      embeddings: the batch's embeddings $z_1, \dots, z_n$, shape ``(n, d)`` (one batch, the
        data-set group).
      labels: their class labels, shape ``(n,)`` int.
      squared: mine on squared distances or on distances (default); the choice is the same either
        way (the square is monotone), the flag mirrors :func:`batch_hard_triplet_loss`.

    Returns:
      :class:`TripletMining` ``(positive, negative, valid)``, each of shape ``(n,)``. The
      choice carries no gradient (it is a selection); the loss does.

    Raises:
      ValueError: if the shapes disagree.
      TypeError: if ``embeddings`` is not floating, ``labels`` is not integer, or ``squared`` is
        not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Hermans, Beyer & Leibe (2017), "In defense of the triplet loss for
      person re-identification" (batch hard); Schroff et al. (2015), "FaceNet", Sec. 3.2.
    """
    return _mine(embeddings, labels, _flag(checks.public_name(mine_batch_hard), "squared", squared))


@checks.inputs(embeddings="float[n d]", labels="int[n]")
def batch_hard_triplet_loss(
    embeddings: jax.Array, labels: jax.Array, *, margin: float = 0.5, squared: bool = False
) -> jax.Array:
    r"""Batch-hard triplet loss: the triplet loss of each anchor with its hardest positive and negative.

    $$L_i = \max\Big(0,\; \max_{j \ne i,\ y_j = y_i} D(z_i, z_j) - \min_{k:\ y_k \ne y_i} D(z_i, z_k) + \alpha\Big),$$

    the online hardest-negative (and hardest-positive) mining of :func:`mine_batch_hard` followed
    by :func:`triplet_loss`. An anchor without a positive or a negative in the batch has loss 0;
    average over :attr:`TripletMining.valid` anchors (with batches of $P$ classes times $K \ge 2$
    examples every anchor is valid).

    Args:
      embeddings: the batch's embeddings, shape ``(n, d)`` (one batch, the data-set group).
      labels: their class labels, shape ``(n,)`` int.
      margin: $\alpha \ge 0$ (default 0.5, in units of the distance).
      squared: squared Euclidean distances (FaceNet's choice) or distances (default, as Hermans et
        al. recommend: with squared distances and unit-norm embeddings, batch-hard training on
        digits collapsed every embedding to one point, loss = margin, in our runs).

    Returns:
      The per-anchor loss, shape ``(n,)``; 0 for anchors without a valid triplet.

    Raises:
      ValueError: if the shapes disagree or ``margin < 0``.
      TypeError: if ``embeddings`` is not floating, ``labels`` is not integer, or ``squared`` is
        not a bool.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (Siamese networks); Schroff et al. (2015), "FaceNet" (online
      mining); Hermans, Beyer & Leibe (2017), "In defense of the triplet loss ..." (batch hard).
    """
    func = checks.public_name(batch_hard_triplet_loss)
    sq = _flag(func, "squared", squared)
    m = _margin(func, margin, strict=False)
    mined = _mine(embeddings, labels, sq)
    pos = embeddings[jnp.clip(mined.positive, 0)]
    neg = embeddings[jnp.clip(mined.negative, 0)]
    d_ap = _distance(_sq_dist(embeddings, pos), sq)
    d_an = _distance(_sq_dist(embeddings, neg), sq)
    loss = jnp.maximum(d_ap - d_an + m, 0)
    return jnp.where(mined.valid, loss, jnp.zeros_like(loss))
