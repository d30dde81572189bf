r"""Box regression losses: smooth L1 and its sum over the four box offsets.

Per example with no hidden reduction: the loss keeps the leading ``(*batch)`` axes (the box loss
sums over the last axis of 4 offsets, as Fast R-CNN does); the objective averages them.
"""

import jax
import jax.numpy as jnp

from mathdl import checks

__all__ = ["smooth_l1", "smooth_l1_box_loss"]


def _beta(func: str, beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, int | float):
        checks.fail(func, "beta", "a positive real number", checks.Text(type(beta).__name__), exc=TypeError)
    checks.check_positive(func, "beta", beta)
    if beta == float("inf"):
        checks.fail(func, "beta", "a finite value", beta)
    return float(beta)


def _same_dtype(func: str, y_hat: jax.Array, y: jax.Array) -> None:
    if y_hat.dtype != y.dtype:
        checks.fail(func, "y", f"the dtype of `y_hat` ({y_hat.dtype})", checks.Text(f"dtype {y.dtype}"), exc=TypeError)


def _smooth_l1(r: jax.Array, beta: float) -> jax.Array:
    # The quadratic branch is written in r (not |r|), so its second derivative at r = 0 is 1/beta.
    a = jnp.abs(r)
    return jnp.where(a < beta, 0.5 * r * r / beta, a - 0.5 * beta)


@checks.inputs(y_hat="float[*batch]", y="float[*batch]")
def smooth_l1(y_hat: jax.Array, y: jax.Array, *, beta: float = 1.0) -> jax.Array:
    r"""Smooth L1 loss: quadratic for small residuals, absolute in the tails.

    With $r = \hat y - y$,

    $$\mathrm{smooth}_{L_1}(r) = \begin{cases} \tfrac12 r^2 / \beta & |r| < \beta,\\
      |r| - \tfrac12 \beta & |r| \ge \beta, \end{cases}$$

    Fast R-CNN's form with $\beta = 1$ (PyTorch's ``smooth_l1_loss(beta=...)``). It equals
    $\mathrm{huber}_\delta / \delta$ with $\delta = \beta$: less sensitive to outliers than the
    squared error, with a continuous derivative $\mathrm{clip}(r/\beta, -1, 1)$.

    Args:
      y_hat: predictions $\hat y$, shape ``(*batch)``, floating (broadcasts over ``*batch``).
      y: targets $y$, the same shape and dtype.
      beta: $\beta > 0$, where the quadratic turns linear (a static number).

    Returns:
      The per-element loss, shape ``(*batch)``. No reduction.

    Raises:
      ValueError: if the shapes differ or ``beta`` is not positive and finite.
      TypeError: if an argument is not floating, the dtypes differ, or ``beta`` is not a number.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (bounding-box regression); Girshick (2015), "Fast R-CNN", eq. (3).
      Oracle in tests: ``torch.nn.functional.smooth_l1_loss(reduction="none")``.
    """
    func = checks.public_name(smooth_l1)
    _same_dtype(func, y_hat, y)
    return _smooth_l1(y_hat - y, _beta(func, beta))


@checks.inputs(y_hat="float[*batch 4]", y="float[*batch 4]")
def smooth_l1_box_loss(y_hat: jax.Array, y: jax.Array, *, beta: float = 1.0) -> jax.Array:
    r"""Box regression loss of Fast/Faster R-CNN: smooth L1 summed over the four box offsets.

    $$L_{\mathrm{loc}}(t, v) = \sum_{i \in \{x, y, w, h\}} \mathrm{smooth}_{L_1}(t_i - v_i),$$

    with $t$ the predicted and $v$ the target offsets (usually the anchor-relative encoding
    $(t_x, t_y, t_w, t_h)$ of ``mathdl.models.encode_boxes``; any 4-vector works).

    Args:
      y_hat: predicted offsets $t$, shape ``(*batch, 4)`` (broadcasts over ``*batch``).
      y: target offsets $v$, the same shape and dtype.
      beta: $\beta > 0$ of :func:`smooth_l1`.

    Returns:
      The per-box loss, shape ``(*batch,)``. No reduction over boxes.

    Raises:
      ValueError: if a last axis is not 4, the shapes differ, or ``beta`` is not positive.
      TypeError: if an argument is not floating or the dtypes differ.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Girshick (2015), "Fast R-CNN", eq. (2); Ren et al. (2015),
      "Faster R-CNN", eq. (1).
    """
    func = checks.public_name(smooth_l1_box_loss)
    _same_dtype(func, y_hat, y)
    return jnp.sum(_smooth_l1(y_hat - y, _beta(func, beta)), axis=-1)
