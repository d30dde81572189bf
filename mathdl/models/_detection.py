r"""Localisation: box encodings relative to anchors, anchor grids, and a small CNN localisation head.

**Box encodings** (Faster R-CNN's parametrisation). A box $(x_1, y_1, x_2, y_2)$ has centre
$(x, y)$, width $w$ and height $h$; relative to an anchor $(x_a, y_a, w_a, h_a)$ it is encoded as

$$t_x = \frac{x - x_a}{w_a},\ \ t_y = \frac{y - y_a}{h_a},\ \ t_w = \log\frac{w}{w_a},\ \ t_h = \log\frac{h}{h_a},$$

scale-invariant offsets a network regresses (with :func:`mathdl.losses.smooth_l1_box_loss`), and
decoded by the inverse map. :func:`anchor_grid` places anchors of several sizes and aspect ratios
at the centre of every cell of a feature map's grid (the YOLO/SSD/Faster R-CNN layout), so "relative
to a grid cell" is "relative to that cell's anchor".

**The localisation head** (:func:`localizer`): a small CNN of ``mathdl.layers.conv2d`` blocks
(3x3 conv, ReLU, 2x2 max pool), a hidden dense layer, then two heads: 4 box offsets relative to
the whole image (one anchor $(0, 0, W, H)$) and $K$ class logits. It is classification plus
bounding-box regression for one object, trained on ``mathdl.data.shapes``
with :func:`localization_loss`.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, losses
from mathdl.layers import DenseParams, dense, init_dense
from mathdl.models._image import conv_stack, init_conv_stack, one_image, positive_int, positive_ints

__all__ = [
    "Localization",
    "LocalizerParams",
    "anchor_grid",
    "box_to_center",
    "center_to_box",
    "decode_boxes",
    "encode_boxes",
    "image_anchor",
    "init_localizer",
    "localization_loss",
    "localizer",
]


def _ordered(func: str, name: str, boxes: jax.Array, out, *, strict: bool):
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    finite = jnp.all(jnp.isfinite(boxes), axis=-1)
    ok = finite & ((x2 > x1) & (y2 > y1) if strict else (x2 >= x1) & (y2 >= y1))
    rel = "<" if strict else "<="
    what = f"boxes (x1, y1, x2, y2) with finite corners, x1 {rel} x2 and y1 {rel} y2"
    return checks.ensure(ok, out, func, name, what, got="a box outside that range")


def _center(boxes):
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    return jnp.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)


def _corners(c):
    cx, cy, w, h = (c[..., i] for i in range(4))
    return jnp.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


@checks.inputs(boxes="float[*batch 4]")
def box_to_center(boxes: jax.Array) -> jax.Array:
    r"""Corners to centre form, $(x_1, y_1, x_2, y_2) \mapsto (c_x, c_y, w, h)$.

    $c_x = (x_1 + x_2)/2$, $c_y = (y_1 + y_2)/2$, $w = x_2 - x_1$, $h = y_2 - y_1$.

    Args:
      boxes: boxes in corner form, shape ``(*batch, 4)`` (broadcasts over ``*batch``).

    Returns:
      ``(cx, cy, w, h)``, shape ``(*batch, 4)``.

    Raises:
      ValueError: if the last axis is not 4; eagerly, if a box has $x_2 < x_1$ or $y_2 < y_1$
        (NaN under ``jax.jit``).
      TypeError: if ``boxes`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6; D2L Sec. 14.3 (``box_corner_to_center``).
    """
    return _ordered(checks.public_name(box_to_center), "boxes", boxes, _center(boxes), strict=False)


@checks.inputs(centers="float[*batch 4]")
def center_to_box(centers: jax.Array) -> jax.Array:
    r"""Centre form to corners, $(c_x, c_y, w, h) \mapsto (x_1, y_1, x_2, y_2)$.

    $x_1 = c_x - w/2$, $y_1 = c_y - h/2$, $x_2 = c_x + w/2$, $y_2 = c_y + h/2$.

    Args:
      centers: ``(cx, cy, w, h)``, shape ``(*batch, 4)``, with $w, h \ge 0$.

    Returns:
      Corners $(x_1, y_1, x_2, y_2)$, shape ``(*batch, 4)``.

    Raises:
      ValueError: if the last axis is not 4; eagerly, if a width or height is negative (NaN
        under ``jax.jit``).
      TypeError: if ``centers`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6; D2L Sec. 14.3 (``box_center_to_corner``).
    """
    ok = jnp.all(jnp.isfinite(centers), axis=-1) & (centers[..., 2] >= 0) & (centers[..., 3] >= 0)
    func = checks.public_name(center_to_box)
    return checks.ensure(ok, _corners(centers), func, "centers", "finite (cx, cy, w, h) with w >= 0 and h >= 0")


@checks.inputs(boxes="float[*batch 4]", anchors="float[*batch 4]")
def encode_boxes(boxes: jax.Array, anchors: jax.Array) -> jax.Array:
    r"""Encode boxes as offsets relative to anchors (Faster R-CNN, eq. 2).

    $$t_x = \frac{x - x_a}{w_a},\ \ t_y = \frac{y - y_a}{h_a},\ \ t_w = \log\frac{w}{w_a},\ \ t_h = \log\frac{h}{h_a}$$

    with $(x, y, w, h)$ and $(x_a, y_a, w_a, h_a)$ the centre forms of the box and its anchor.
    :func:`decode_boxes` inverts it.

    Args:
      boxes: boxes in corner form, shape ``(*batch, 4)`` (broadcasts over ``*batch``), each of
        positive width and height.
      anchors: the matching anchors, the same shape and dtype, of positive width and height.

    Returns:
      Offsets $(t_x, t_y, t_w, t_h)$, shape ``(*batch, 4)``.

    Raises:
      ValueError: if the shapes differ; eagerly, if a box or anchor has $x_2 \le x_1$ or
        $y_2 \le y_1$ (a zero width has no logarithm) or a non-finite corner (NaN under
        ``jax.jit``).
      TypeError: if an argument is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (bounding-box regression); Ren et al. (2015), "Faster R-CNN",
      eq. (2); Girshick et al. (2014), R-CNN, Appendix C; D2L Sec. 14.4.3 (``offset_boxes``).
    """
    func = checks.public_name(encode_boxes)
    b, a = _center(boxes), _center(anchors)
    pos = lambda v: jnp.where(v > 0, v, jnp.ones_like(v))  # noqa: E731 - keep log finite before the check
    t = jnp.stack(
        [
            (b[..., 0] - a[..., 0]) / pos(a[..., 2]),
            (b[..., 1] - a[..., 1]) / pos(a[..., 3]),
            jnp.log(pos(b[..., 2]) / pos(a[..., 2])),
            jnp.log(pos(b[..., 3]) / pos(a[..., 3])),
        ],
        axis=-1,
    )
    t = _ordered(func, "boxes", boxes, t, strict=True)
    return _ordered(func, "anchors", anchors, t, strict=True)


@checks.inputs(offsets="float[*batch 4]", anchors="float[*batch 4]")
def decode_boxes(offsets: jax.Array, anchors: jax.Array) -> jax.Array:
    r"""Decode anchor-relative offsets into boxes, the inverse of :func:`encode_boxes`.

    $$x = x_a + w_a t_x,\quad y = y_a + h_a t_y,\quad w = w_a e^{t_w},\quad h = h_a e^{t_h},$$

    returned in corner form.

    Args:
      offsets: $(t_x, t_y, t_w, t_h)$, shape ``(*batch, 4)`` (broadcasts over ``*batch``).
      anchors: anchors in corner form, the same shape and dtype, of positive width and height.

    Returns:
      Boxes $(x_1, y_1, x_2, y_2)$, shape ``(*batch, 4)``.

    Raises:
      ValueError: if the shapes differ; eagerly, if an anchor has $x_2 \le x_1$ or $y_2 \le y_1$
        (NaN under ``jax.jit``).
      TypeError: if an argument is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Ren et al. (2015), "Faster R-CNN", eq. (2); D2L Sec. 14.4.3
      (``offset_inverse``).
    """
    a = _center(anchors)
    c = jnp.stack(
        [
            a[..., 0] + a[..., 2] * offsets[..., 0],
            a[..., 1] + a[..., 3] * offsets[..., 1],
            a[..., 2] * jnp.exp(offsets[..., 2]),
            a[..., 3] * jnp.exp(offsets[..., 3]),
        ],
        axis=-1,
    )
    return _ordered(checks.public_name(decode_boxes), "anchors", anchors, _corners(c), strict=True)


def _pair(func: str, name: str, value) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    pair = positive_ints(func, name, value)
    if len(pair) != 2:
        checks.fail(func, name, "a positive int or a pair (H, W)", pair)
    return pair


def _reals(func: str, name: str, values) -> tuple[float, ...]:
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, str) or not hasattr(values, "__len__") or not len(values):
        checks.fail(func, name, "a non-empty sequence of positive numbers", checks.Text(type(values).__name__))
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not (v > 0 and math.isfinite(v)):
            checks.fail(func, name, "positive finite numbers", tuple(values))
    return tuple(float(v) for v in values)


def anchor_grid(image_shape, feature_shape, *, sizes, ratios=(1.0,), dtype=None) -> jax.Array:
    r"""Anchor boxes centred on every cell of a feature map's grid.

    For an image $H \times W$ and a grid $h \times w$, cell $(i, j)$ has centre
    $((j + \tfrac12) W / w,\; (i + \tfrac12) H / h)$; at each centre there is one anchor per
    size $s$ and aspect ratio $r = w_a / h_a$, of area $s^2$: $w_a = s\sqrt r$, $h_a = s / \sqrt r$
    (Faster R-CNN's 3 sizes x 3 ratios give 9 per cell).

    Args:
      image_shape: $(H, W)$ in pixels (or one int for a square image).
      feature_shape: the grid $(h, w)$ (or one int).
      sizes: anchor sides $s$ in pixels (positive numbers).
      ratios: aspect ratios $r$ (positive; default ``(1.0,)``).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      Anchors in corner form, shape ``(h * w * len(sizes) * len(ratios), 4)``, ordered by row
      $i$, column $j$, size, then ratio (index ``((i * w + j) * S + s) * R + r``).

    Raises:
      ValueError: if a shape is not a positive int or pair, or a size or ratio is not positive.
      TypeError: if ``dtype`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (YOLO-style grid detection); Ren et al. (2015), "Faster R-CNN",
      Sec. 3.1.1 (anchors); D2L Sec. 14.4.1 (``multibox_prior``).
    """
    func = checks.public_name(anchor_grid)
    H, W = _pair(func, "image_shape", image_shape)
    h, w = _pair(func, "feature_shape", feature_shape)
    s = jnp.asarray(_reals(func, "sizes", sizes))
    r = jnp.asarray(_reals(func, "ratios", ratios))
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", checks.Text(f"{dtype}"), exc=TypeError)
    cy = (jnp.arange(h, dtype=dtype) + 0.5) * (H / h)
    cx = (jnp.arange(w, dtype=dtype) + 0.5) * (W / w)
    wa = (s[:, None] * jnp.sqrt(r)[None, :]).ravel()  # (S R,)
    ha = (s[:, None] / jnp.sqrt(r)[None, :]).ravel()
    n_a = wa.shape[0]
    grid = jnp.stack(
        [
            jnp.broadcast_to(cx[None, :, None], (h, w, n_a)),
            jnp.broadcast_to(cy[:, None, None], (h, w, n_a)),
            jnp.broadcast_to(wa[None, None, :], (h, w, n_a)),
            jnp.broadcast_to(ha[None, None, :], (h, w, n_a)),
        ],
        axis=-1,
    )
    return _corners(grid.reshape(-1, 4)).astype(dtype)


def image_anchor(height: int, width: int, *, dtype=None) -> jax.Array:
    r"""The one anchor of :func:`localizer`: the whole image, $(0, 0, W, H)$.

    Args:
      height: $H$ in pixels (a positive int).
      width: $W$ in pixels (a positive int).
      dtype: floating dtype (default: JAX's default float).

    Returns:
      The box ``(0, 0, W, H)``, shape ``(4,)``.

    Raises:
      ValueError: if a size is not a positive int.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (localisation as regression of one box).
    """
    func = checks.public_name(image_anchor)
    H, W = positive_int(func, "height", height), positive_int(func, "width", width)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    return jnp.asarray([0.0, 0.0, W, H], dtype)


class LocalizerParams(NamedTuple):
    """Parameters of :func:`localizer`.

    Attributes:
      convs: the backbone, a tuple of ``Conv2dParams`` (3x3 kernels, each followed by ReLU and
        2x2 max pooling).
      hidden: ``DenseParams`` of the hidden layer (flattened features to ``hidden`` units).
      box: ``DenseParams`` of the box head (``hidden`` to 4 offsets).
      cls: ``DenseParams`` of the class head (``hidden`` to $K$ logits).
    """

    convs: tuple
    hidden: DenseParams
    box: DenseParams
    cls: DenseParams


class Localization(NamedTuple):
    """What :func:`localizer` returns for one image.

    Attributes:
      box: the predicted box $(x_1, y_1, x_2, y_2)$ in pixels, shape ``(4,)`` (the offsets decoded
        against :func:`image_anchor`).
      offsets: the raw predicted offsets $(t_x, t_y, t_w, t_h)$, shape ``(4,)``.
      logits: class logits, shape ``(K,)``.
    """

    box: jax.Array
    offsets: jax.Array
    logits: jax.Array


def init_localizer(
    key: jax.Array, input_shape, num_classes: int, *, widths=(8, 16), hidden: int = 64, dtype=None
) -> LocalizerParams:
    r"""Initialise the localisation head for images of shape ``input_shape``.

    Args:
      key: a typed PRNG key.
      input_shape: ``(H, W, C)`` of one image; $H$ and $W$ divisible by $2^{L}$,
        $L$ = ``len(widths)``.
      num_classes: $K$, the number of object classes.
      widths: output channels of the 3x3 conv blocks (each halves the resolution).
      hidden: units of the hidden dense layer.
      dtype: floating dtype of the parameters (default: JAX's default float).

    Returns:
      :class:`LocalizerParams`.

    Raises:
      ValueError: if a size is not a positive int, ``input_shape`` is not ``(H, W, C)``, or $H$
        or $W$ is not divisible by $2^L$.
      TypeError: if ``widths`` or ``input_shape`` is not a sequence.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (localisation: class plus bounding box); Sermanet et al. (2014),
      "OverFeat" (a regression head on conv features).
    """
    func = checks.public_name(init_localizer)
    shape = positive_ints(func, "input_shape", input_shape, at_least=3)
    if len(shape) != 3:
        checks.fail(func, "input_shape", "(H, W, C) of one image", shape)
    H, W, C = shape
    widths = positive_ints(func, "widths", widths)
    K = positive_int(func, "num_classes", num_classes)
    hidden = positive_int(func, "hidden", hidden)
    f = 2 ** len(widths)
    if H % f or W % f:
        checks.fail(func, "input_shape", f"H and W divisible by 2^L = {f} (L = {len(widths)} pooling blocks)", shape)
    k_conv, k_hid, k_box, k_cls = jax.random.split(key, 4)
    convs = init_conv_stack(k_conv, C, widths, dtype=dtype)
    n_feat = (H // f) * (W // f) * widths[-1]
    hid = init_dense(k_hid, n_feat, hidden, dtype=dtype)
    box = init_dense(k_box, hidden, 4, init="glorot_normal", dtype=dtype)
    box = box._replace(W=0.1 * box.W)  # start near the anchor: small offsets
    cls = init_dense(k_cls, hidden, K, init="glorot_normal", dtype=dtype)
    return LocalizerParams(convs, hid, box, cls)


@checks.inputs(x=one_image)
def localizer(params: LocalizerParams, x: jax.Array) -> Localization:
    r"""Predict one box and one class for one image.

    $$u = \mathrm{ReLU}(W_h \operatorname{vec}(\mathrm{CNN}(x)) + b_h),\quad t = W_t u + b_t,\quad
      z = W_c u + b_c,\quad \hat b = \mathrm{decode}(t;\ (0, 0, W, H)).$$

    Args:
      params: :class:`LocalizerParams` from :func:`init_localizer`.
      x: ONE image, shape ``(H, W, C)`` (the ``input_shape`` of the parameters). Use
        ``jax.vmap`` for a batch.

    Returns:
      :class:`Localization` ``(box, offsets, logits)``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image of the parameters' shape (a batch is
        refused with a vmap hint).
      TypeError: if ``x`` is not floating.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Ren et al. (2015), "Faster R-CNN" (offsets relative to an anchor).
    """
    func = checks.public_name(localizer)
    f = 2 ** len(params.convs)
    n_feat = params.hidden.W.shape[1]
    H, W, C = x.shape
    if (H // f) * (W // f) * params.convs[-1].W.shape[-1] != n_feat or H % f or W % f:
        checks.fail(func, "x", "an image of the shape the parameters were built for", checks.Text(f"shape {x.shape}"))
    u = jax.nn.relu(dense(params.hidden, conv_stack(params.convs, x).ravel()))
    t = dense(params.box, u)
    anchor = jnp.asarray([0.0, 0.0, W, H], t.dtype)
    return Localization(decode_boxes(t, anchor), t, dense(params.cls, u))


def localization_loss(
    params: LocalizerParams,
    x: jax.Array,
    box: jax.Array,
    label: jax.Array,
    *,
    beta: float = 1 / 9,
    box_weight: float = 1.0,
) -> jax.Array:
    r"""Multi-task loss of the localisation head on one example: classification plus box regression.

    $$L = -\log \mathrm{softmax}(z)_{y} + \lambda \sum_{i} \mathrm{smooth}_{L_1}\big(t_i - v_i\big),\qquad
      v = \mathrm{encode}(b;\ (0, 0, W, H)),$$

    Fast R-CNN's loss with one region (the whole image) and $\lambda$ = ``box_weight``.

    Args:
      params: :class:`LocalizerParams`.
      x: ONE image, shape ``(H, W, C)``.
      box: its true box $(x_1, y_1, x_2, y_2)$, shape ``(4,)``, of positive width and height.
      label: its class, an int scalar.
      beta: $\beta$ of the smooth L1 loss (default 1/9, Faster R-CNN's region-proposal setting:
        the offsets of a good prediction are ~0.1, where $\beta = 1$ would leave the loss in its
        flat quadratic part).
      box_weight: $\lambda \ge 0$.

    Returns:
      The scalar loss (one example; average with ``mathdl.train.mean_loss``).

    Raises:
      ValueError: as :func:`localizer` and :func:`encode_boxes`; a label out of range gives NaN.
      TypeError: as :func:`localizer`.

    References:
      [MEDL] Ch. 6, Sec. 6.6; Girshick (2015), "Fast R-CNN", eq. (1).
    """
    out = localizer(params, x)
    H, W, _ = x.shape
    target = encode_boxes(box, jnp.asarray([0.0, 0.0, W, H], out.offsets.dtype))
    ce = losses.softmax_cross_entropy(out.logits, label)
    return ce + box_weight * losses.smooth_l1_box_loss(out.offsets, target, beta=beta)
