r"""A synthetic shapes data set for localisation, detection and segmentation, drawn from a key.

Each image is ``size x size`` with one channel: a dark background with one to ``max_objects``
bright shapes (rectangles, discs and triangles), plus Gaussian pixel noise. With every image come
its boxes $(x_1, y_1, x_2, y_2)$ in pixels (the ``xyxy`` layout of ``mathdl.metrics.box_iou``),
its class labels and its segmentation mask, so one generator feeds the localisation head, the
NMS demo and the U-Net of [MEDL] Sec. 6.6. Everything is computed with ``jax.numpy`` from the
key, so the same key gives the same data on every machine.

Geometry (pixel $(i, j)$ is the square $[j, j+1) \times [i, i+1)$, its centre
$(j + \tfrac12, i + \tfrac12)$; a pixel belongs to a shape when its centre does):

* rectangle: the box itself;
* disc: centre $(c_x, c_y)$, radius $r$, box $(c_x - r, c_y - r, c_x + r, c_y + r)$;
* triangle: apex at the middle of the box's top edge, base along its bottom edge.

So a mask's tight pixel box is within one pixel of the shape's box, except at a triangle's apex,
where the first rows hold no pixel centre until the triangle is a pixel wide (up to $1 + h/w$
pixels).
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks
from mathdl.checks import Text

__all__ = ["SHAPE_CLASSES", "Shapes", "shapes"]

#: The class names of ``data.shapes``, in label order (label ``k`` is ``SHAPE_CLASSES[k]``).
SHAPE_CLASSES = ("rectangle", "disc", "triangle")


class Shapes(NamedTuple):
    """The synthetic shapes data set (JAX arrays).

    Attributes:
      images: ``(n, size, size, 1)`` floating images, shapes at intensity 1 on 0, plus noise.
      boxes: ``(n, max_objects, 4)`` boxes $(x_1, y_1, x_2, y_2)$ in pixels; an empty slot is
        ``(0, 0, 0, 0)``.
      labels: ``(n, max_objects)`` int32 class of each box (an index into
        :data:`SHAPE_CLASSES`), ``-1`` for an empty slot.
      masks: ``(n, size, size)`` int32 segmentation: 0 for the background, ``1 + class`` where
        a shape is drawn (a later object covers an earlier one).
      num_classes: number of shape classes (3).
    """

    images: jax.Array
    boxes: jax.Array
    labels: jax.Array
    masks: jax.Array
    num_classes: int


def _int(func: str, name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        checks.fail(func, name, "a Python int", Text(f"{type(value).__name__} {value!r}"), exc=TypeError)
    if value < low:
        checks.fail(func, name, f"a value >= {low}", value)
    return value


def _draw_one(key, size, max_objects, lo, hi, dtype):
    k_count, k_cls, k_ext, k_pos = jax.random.split(key, 4)
    count = jax.random.randint(k_count, (), 1, max_objects + 1, dtype=jnp.int32)
    present = jnp.arange(max_objects, dtype=jnp.int32) < count
    cls = jax.random.randint(k_cls, (max_objects,), 0, len(SHAPE_CLASSES), dtype=jnp.int32)
    ext = jax.random.uniform(k_ext, (max_objects, 2), dtype, lo, hi)
    ext = jnp.where((cls == 1)[:, None], ext[:, :1], ext)  # a disc's box is square
    corner = jax.random.uniform(k_pos, (max_objects, 2), dtype) * (size - ext)
    boxes = jnp.concatenate([corner, corner + ext], axis=-1)

    centres = jnp.arange(size, dtype=dtype) + 0.5
    py, px = centres[:, None], centres[None, :]

    def inside(box, c):
        x1, y1, x2, y2 = box
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        rect = (px >= x1) & (px <= x2) & (py >= y1) & (py <= y2)
        disc = (px - cx) ** 2 + (py - cy) ** 2 <= (w / 2) ** 2
        tri = (py >= y1) & (py <= y2) & (jnp.abs(px - cx) <= (py - y1) / h * (w / 2))
        return jnp.where(c == 0, rect, jnp.where(c == 1, disc, tri))

    drawn = jax.vmap(inside)(boxes, cls) & present[:, None, None]  # (K, H, W)
    mask = jnp.zeros((size, size), jnp.int32)
    for k in range(max_objects):  # later objects cover earlier ones
        mask = jnp.where(drawn[k], cls[k] + 1, mask)
    labels = jnp.where(present, cls, -1).astype(jnp.int32)
    boxes = jnp.where(present[:, None], boxes, jnp.zeros_like(boxes))
    return boxes, labels, mask


# One compiled program per configuration (all static): an eager call compiles once instead of once per
# operation, which halves the time of a first call. Under an outer jit this is an ordinary nested call.
@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6, 7))
def _draw_all(key, n, size, max_objects, lo, hi, noise, dtype):
    k_draw, k_noise = jax.random.split(key)
    draw = jax.vmap(lambda k: _draw_one(k, size, max_objects, lo, hi, dtype))
    boxes, labels, masks = draw(jax.random.split(k_draw, n))
    images = (masks > 0).astype(dtype)[..., None]
    images = images + jnp.asarray(noise, dtype) * jax.random.normal(k_noise, images.shape, dtype)
    return images, boxes, labels, masks


def shapes(
    key: jax.Array,
    n: int,
    *,
    size: int = 32,
    max_objects: int = 1,
    min_extent: float | None = None,
    max_extent: float | None = None,
    noise: float = 0.1,
    dtype=None,
) -> Shapes:
    r"""Draw ``n`` images of rectangles, discs and triangles with their boxes, labels and masks.

    Per image: a count $c \sim \mathcal U\{1, \dots, K\}$ ($K$ = ``max_objects``); per object a
    class uniform over :data:`SHAPE_CLASSES`, a width and a height uniform in
    ``[min_extent, max_extent)`` (equal for a disc), and a top-left corner uniform over the
    positions that keep the box inside the image. The image is the union of the shapes at 1 on
    a background of 0, plus $\mathcal N(0, \sigma^2)$ noise per pixel ($\sigma$ = ``noise``).

    Args:
      key: a typed PRNG key.
      n: number of images, a positive int.
      size: image side in pixels (a Python int >= 8).
      max_objects: $K$, the most objects in one image (a positive int); ``1`` is the
        localisation setting (one box per image).
      min_extent: smallest box side in pixels (default ``size / 4``).
      max_extent: largest box side (default ``size / 2``); at most ``size``.
      noise: $\sigma \ge 0$, the pixel noise.
      dtype: floating dtype of ``images`` and ``boxes`` (default: JAX's default float).

    Returns:
      :class:`Shapes` ``(images, boxes, labels, masks, num_classes)`` with ``images`` of shape
      ``(n, size, size, 1)``, ``boxes`` ``(n, K, 4)``, ``labels`` ``(n, K)`` and ``masks``
      ``(n, size, size)``.

    Raises:
      TypeError: if ``key`` is not a typed PRNG key, a count is not an int, or ``dtype`` is not floating.
      ValueError: if ``n < 1``, ``size < 8``, ``max_objects < 1``, ``noise < 0``, or the extents
        are not ``0 < min_extent <= max_extent <= size``.

    References:
      [MEDL] Ch. 6, Sec. 6.6 (localisation, detection and segmentation); D2L Sec. 14.3 (bounding
      boxes) and Sec. 14.9 (semantic segmentation).
    """
    func = checks.public_name(shapes)
    key = checks.conform(func, "key", key, "key[]")
    n = _int(func, "n", n, 1)
    size = _int(func, "size", size, 8)
    max_objects = _int(func, "max_objects", max_objects, 1)
    checks.check_positive(func, "noise", noise, strict=False)
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        checks.fail(func, "dtype", "a floating dtype", Text(f"{dtype}"), exc=TypeError)
    lo = size / 4 if min_extent is None else min_extent
    hi = size / 2 if max_extent is None else max_extent
    for name, value in (("min_extent", lo), ("max_extent", hi)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            checks.fail(func, name, "a real number", Text(type(value).__name__), exc=TypeError)
    if not 0 < lo <= hi <= size:
        checks.fail(func, "max_extent", f"0 < min_extent <= max_extent <= size = {size}", Text(f"({lo}, {hi})"))
    images, boxes, labels, masks = _draw_all(key, n, size, max_objects, float(lo), float(hi), float(noise), dtype)
    return Shapes(images, boxes, labels, masks, len(SHAPE_CLASSES))
