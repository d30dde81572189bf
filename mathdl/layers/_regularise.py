r"""Dropout and parameter penalties ([MEDL] Sec. 5.7)."""

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = ["dropout", "l1_penalty", "l2_penalty"]


@checks.inputs(key="key[]?", x="float[*shape]")
def dropout(key: jax.Array | None, x: jax.Array, *, rate: float, train: bool) -> jax.Array:
    r"""Inverted dropout: zero each unit with probability ``rate``, scale the survivors by $1/q$ (elementwise).

    With keep probability $q = 1 - \text{rate}$ and $m_j \sim \text{Bernoulli}(q)$ independent,

    $$y_j = \frac{m_j x_j}{q} \quad\text{(train)}, \qquad y = x \quad\text{(eval)},$$

    so $\mathbb E[y_j] = x_j$ and nothing needs rescaling at test time. (The book also describes
    the equivalent alternative of scaling the weights by $q$ at test time; mathdl uses the inverted
    form, as PyTorch and Flax do.) ``rate`` is the probability of *dropping* (not of keeping).

    Args:
      key: a typed PRNG key, ``jax.random.key(seed)`` (may be ``None`` when ``train`` is ``False``).
      x: activations, any shape (elementwise: one independent mask entry per element, so a batch
        may be passed as is or through ``jax.vmap`` over split keys), floating dtype.
      rate: probability of dropping a unit, in ``[0, 1)`` (a traced ``rate`` outside it gives NaN).
      train: apply the random mask (``True``) or the identity (``False``).

    Returns:
      Array of the shape and dtype of ``x``.

    Raises:
      ValueError: if ``rate`` is outside ``[0, 1)`` or ``key`` is ``None`` in train mode.
      TypeError: if ``x`` is not floating, ``key`` is not a typed key, or ``train`` is not a bool.

    References:
      [MEDL] Ch. 5, Sec. 5.7; Srivastava et al. (2014). Oracle in tests:
      ``torch.nn.functional.dropout`` (statistically).
    """
    func = checks.public_name(dropout)
    if not isinstance(train, bool):
        checks.fail(func, "train", "a bool", type(train).__name__, exc=TypeError)
    checks.check_range(func, "rate", rate, 0.0, 1.0)
    if not train:
        return x
    if key is None:
        checks.fail(func, "key", "a PRNG key in train mode", None)
    if isinstance(rate, int | float) and rate == 0:
        return x
    q = 1.0 - rate
    mask = jax.random.bernoulli(key, q, x.shape)
    y = jnp.where(mask, x / jnp.asarray(q, x.dtype), jnp.zeros_like(x))
    return checks.ensure((rate >= 0) & (rate < 1), y, func, "rate", "a value in [0, 1)")  # a traced rate


def _float_tree(func: str, name: str, params, dims: dict):
    """Spec: a pytree with at least one leaf, every leaf floating."""
    del dims
    leaves = jax.tree.leaves(params)
    if not leaves:
        checks.fail(func, name, "a pytree with at least one array leaf", "an empty pytree")
    for leaf in leaves:
        checks.check_dtype_floating(func, name, leaf)
    return params


@checks.inputs(params=_float_tree)
def l1_penalty(params) -> jax.Array:
    r"""L1 penalty $\lVert\theta\rVert_1 = \sum_i |\theta_i|$ over every leaf of a parameter pytree.

    Pass only the weights (e.g. ``[p.W for p in params]``) to leave biases unpenalised.

    Args:
      params: a pytree of floating arrays (the whole parameter tree: neither one-example nor
        broadcasting).

    Returns:
      A scalar of the leaves' dtype.

    Raises:
      ValueError: if the pytree has no leaves.
      TypeError: if a leaf is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.7 (and Ch. 2, the lasso penalty).
    """
    leaves = jax.tree.leaves(params)
    return sum((jnp.sum(jnp.abs(leaf)) for leaf in leaves[1:]), jnp.sum(jnp.abs(leaves[0])))


@checks.inputs(params=_float_tree)
def l2_penalty(params) -> jax.Array:
    r"""L2 penalty $\lVert\theta\rVert_2^2 = \sum_i \theta_i^2$ over every leaf of a parameter pytree.

    No factor $\tfrac12$ (its gradient is $2\theta$); the objective adds $\lambda \lVert\theta\rVert^2$.

    Args:
      params: a pytree of floating arrays (the whole parameter tree: neither one-example nor
        broadcasting).

    Returns:
      A scalar of the leaves' dtype.

    Raises:
      ValueError: if the pytree has no leaves.
      TypeError: if a leaf is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.7 (weight decay; Ch. 2, ridge).
    """
    leaves = jax.tree.leaves(params)
    return sum((jnp.sum(jnp.square(leaf)) for leaf in leaves[1:]), jnp.sum(jnp.square(leaves[0])))
