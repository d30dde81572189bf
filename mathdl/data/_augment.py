r"""Image augmentation as pure functions of a key, one image at a time ([MEDL] Ch. 5, Sec. 5.7; Ch. 6).

Each function takes ONE image ``x`` of shape ``(H, W, C)`` (channels last) and, when it is random,
a typed key first; a batch is augmented with ``jax.vmap`` over a batch of keys:

    keys = jax.random.split(key, n)
    X_aug = jax.vmap(lambda k, x: random_crop(k, x, padding=4))(keys, X)

so the same key always gives the same image (a resumed run augments exactly as an uninterrupted
one), and the functions run inside a jitted training step: in ``train.mean_loss(...,
needs_key=True)`` each example gets its own key.
"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import ndimage

from mathdl import checks

__all__ = ["horizontal_flip", "random_affine", "random_crop", "random_horizontal_flip", "resize_image"]


def _image(func, name, value, dims):
    value = checks.conform(func, name, value, "num[*shape]")
    if value.ndim != 3:
        hint = "; for a batch use jax.vmap" if value.ndim == 4 else ""
        checks.fail(
            func,
            name,
            f"one image of shape (H, W, C) (channels last){hint}",
            checks.Text(f"shape {tuple(value.shape)} (rank {value.ndim})"),
        )
    return value


def _pair(func: str, name: str, value, *, minimum: int) -> tuple[int, int]:
    def ok(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= minimum

    if ok(value):
        return value, value
    if isinstance(value, tuple | list) and len(value) == 2 and all(map(ok, value)):
        return tuple(value)
    checks.fail(func, name, f"an int >= {minimum} or a pair (for H, W) of them", value)


@checks.inputs(key="key[]", x=_image)
def random_crop(key: jax.Array, x: jax.Array, *, padding, fill: float = 0.0) -> jax.Array:
    r"""Pad the image by ``padding`` on each side, then cut a window of the original size at random.

    With $\tilde x$ the image padded by $P_h$ rows and $P_w$ columns of ``fill`` on each side,

    $$y_{i,j,c} = \tilde x_{i + a,\, j + b,\, c}, \qquad a \sim \mathcal U\{0, \dots, 2P_h\},\;
    b \sim \mathcal U\{0, \dots, 2P_w\},$$

    a random translation by up to $P$ pixels ($a = P_h$, $b = P_w$ is the original image), with
    ``(a, b) = jax.random.randint(key, (2,), 0, (2 P_h + 1, 2 P_w + 1))``.

    Args:
      key: a typed PRNG key (one per image: ``jax.vmap`` over ``jax.random.split(key, n)``).
      x: ONE image, shape ``(H, W, C)``.
      padding: $P$, an int ``>= 0`` or a pair ``(P_h, P_w)`` (4 for CIFAR-10, 2 for MNIST).
      fill: the value of the padding (0, black).

    Returns:
      The cropped image, shape ``(H, W, C)``, dtype of ``x``.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image or ``padding`` is not a non-negative int
        or pair.
      TypeError: if ``key`` is not a typed PRNG key or ``x`` is not numeric.

    References:
      [MEDL] Ch. 5, Sec. 5.7 (data augmentation) and Ch. 6; He et al., "Deep residual learning
      for image recognition", CVPR (2016), Sec. 4.2 (4-pixel padding and random 32x32 crops);
      torchvision ``RandomCrop(size, padding)``.
    """
    func = checks.public_name(random_crop)
    ph, pw = _pair(func, "padding", padding, minimum=0)
    H, W, C = x.shape
    xp = jnp.pad(x, ((ph, ph), (pw, pw), (0, 0)), constant_values=jnp.asarray(fill, x.dtype))
    offset = jax.random.randint(key, (2,), 0, jnp.array([2 * ph + 1, 2 * pw + 1]))
    return lax.dynamic_slice(xp, (offset[0], offset[1], jnp.zeros((), offset.dtype)), (H, W, C))


@checks.inputs(x=_image)
def horizontal_flip(x: jax.Array) -> jax.Array:
    r"""Mirror the image left to right, $y_{i,j,c} = x_{i,\, W-1-j,\, c}$.

    Args:
      x: ONE image, shape ``(H, W, C)``.

    Returns:
      The mirrored image, shape ``(H, W, C)``; flipping twice gives ``x`` back.

    Raises:
      ValueError: if ``x`` is not one ``(H, W, C)`` image.
      TypeError: if ``x`` is not numeric.

    References:
      [MEDL] Ch. 5, Sec. 5.7 (data augmentation); torchvision ``RandomHorizontalFlip``.
    """
    return x[:, ::-1, :]


@checks.inputs(key="key[]", x=_image)
def random_horizontal_flip(key: jax.Array, x: jax.Array, *, probability: float = 0.5) -> jax.Array:
    r"""Mirror the image left to right with probability ``probability``.

    $y = $ :func:`horizontal_flip` $(x)$ if $u = 1$ else $x$, with
    $u \sim \mathrm{Bernoulli}(p)$ drawn as ``jax.random.bernoulli(key, probability)``.

    Args:
      key: a typed PRNG key (one per image).
      x: ONE image, shape ``(H, W, C)``.
      probability: $p \in [0, 1]$, the chance of a flip.

    Returns:
      The image, flipped or not, shape ``(H, W, C)``.

    Raises:
      ValueError: if ``x`` is not one image or ``probability`` is outside ``[0, 1]``.
      TypeError: if ``key`` is not a typed PRNG key or ``x`` is not numeric.

    References:
      [MEDL] Ch. 5, Sec. 5.7; torchvision ``RandomHorizontalFlip(p)``.
    """
    func = checks.public_name(random_horizontal_flip)
    checks.check_range(func, "probability", probability, 0.0, 1.0, high_closed=True)
    flip = jax.random.bernoulli(key, probability)
    return jnp.where(flip, x[:, ::-1, :], x)


def _interval(func: str, name: str, value, *, symmetric: bool, positive: bool = False) -> tuple[float, float]:
    """``a`` -> ``(-a, a)`` (``symmetric``) or a ``(lo, hi)`` pair of Python numbers with ``lo <= hi``."""

    def num(v):
        return isinstance(v, int | float) and not isinstance(v, bool)

    if symmetric and num(value) and value >= 0:
        return -float(value), float(value)
    if isinstance(value, tuple | list) and len(value) == 2 and all(map(num, value)) and value[0] <= value[1]:
        if not positive or value[0] > 0:
            return float(value[0]), float(value[1])
    what = "a number >= 0 (the range is [-a, a]) or a pair (lo, hi)" if symmetric else "a pair (lo, hi), lo <= hi"
    checks.fail(func, name, what + (" with lo > 0" if positive else ""), value)


@checks.inputs(key="key[]", x=_image)
def random_affine(
    key: jax.Array, x: jax.Array, *, degrees=0.0, scale=(1.0, 1.0), translate=0.0, fill: float = 0.0
) -> jax.Array:
    r"""Rotate, scale and shift the image by a random amount (bilinear interpolation).

    With $c$ the image centre, $\theta \sim \mathcal U[\theta_{lo}, \theta_{hi}]$ (degrees),
    $s \sim \mathcal U[s_{lo}, s_{hi}]$ and $t \sim \mathcal U[-t_{max}, t_{max}]^2$ (pixels),
    output pixel $p = (i, j)$ reads the input at

    $$q = c + \tfrac{1}{s} R(-\theta)\,(p - c - t), \qquad
    R(\theta) = \begin{pmatrix} \cos\theta & -\sin\theta \\ \sin\theta & \cos\theta \end{pmatrix},$$

    i.e. the image is scaled by $s$ and rotated by $\theta$ about its centre (counter-clockwise
    as displayed, ``theta = 90`` is ``np.rot90``), then shifted by $t$; points outside the image
    read ``fill``. Each channel is interpolated bilinearly (``jax.scipy.ndimage.map_coordinates``,
    order 1). Keys: ``k_theta, k_s, k_t = jax.random.split(key, 3)``.

    Args:
      key: a typed PRNG key (one per image).
      x: ONE image, shape ``(H, W, C)``, floating.
      degrees: $\theta_{max} \ge 0$ for $[-\theta_{max}, \theta_{max}]$, or a pair ``(lo, hi)``.
      scale: ``(s_lo, s_hi)`` with ``0 < s_lo <= s_hi``.
      translate: $t_{max} \ge 0$ in pixels (both axes), or a pair ``(lo, hi)``.
      fill: the value read outside the image.

    Returns:
      The transformed image, shape ``(H, W, C)``, dtype of ``x``.

    Raises:
      ValueError: if ``x`` is not one image or a range is malformed.
      TypeError: if ``key`` is not a typed key or ``x`` is not floating.

    References:
      [MEDL] Ch. 5, Sec. 5.7 (data augmentation); Simard, Steinkraus & Platt, "Best practices for
      convolutional neural networks applied to visual document analysis", ICDAR (2003) (affine
      distortions of MNIST); torchvision ``RandomAffine(degrees, translate, scale)``.
    """
    func = checks.public_name(random_affine)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        checks.fail(func, "x", "a floating-point image", checks.Text(f"dtype {x.dtype}"), exc=TypeError)
    th_lo, th_hi = _interval(func, "degrees", degrees, symmetric=True)
    s_lo, s_hi = _interval(func, "scale", scale, symmetric=False, positive=True)
    t_lo, t_hi = _interval(func, "translate", translate, symmetric=True)
    H, W, _ = x.shape
    k_th, k_s, k_t = jax.random.split(key, 3)
    theta = jnp.deg2rad(jax.random.uniform(k_th, (), x.dtype, th_lo, th_hi))
    s = jax.random.uniform(k_s, (), x.dtype, s_lo, s_hi)
    t = jax.random.uniform(k_t, (2,), x.dtype, t_lo, t_hi)
    ci, cj = (H - 1) / 2, (W - 1) / 2
    i, j = jnp.meshgrid(jnp.arange(H, dtype=x.dtype), jnp.arange(W, dtype=x.dtype), indexing="ij")
    u, v = i - ci - t[0], j - cj - t[1]  # p - c - t
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    q = [(cos * u + sin * v) / s + ci, (cos * v - sin * u) / s + cj]  # c + R(-theta)(p - c - t) / s

    def channel(image):
        return ndimage.map_coordinates(image, q, order=1, mode="constant", cval=fill)

    return jax.vmap(channel, in_axes=-1, out_axes=-1)(x)


@checks.inputs(x=_image)
def resize_image(x: jax.Array, size, *, method: str = "bilinear") -> jax.Array:
    r"""Resize one image to ``size = (H', W')`` by interpolation (e.g. the 8x8 digits to 28x28 for LeNet).

    Args:
      x: ONE image, shape ``(H, W, C)``, floating.
      size: ``(H', W')``, positive ints (or one int for a square).
      method: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` or ``"lanczos3"`` (``jax.image.resize``;
        antialiased when shrinking).

    Returns:
      Shape ``(H', W', C)``, the dtype of ``x``.

    Raises:
      ValueError: if ``x`` is not one image, ``size`` is not positive, or ``method`` is unknown.
      TypeError: if ``x`` is not floating.

    References:
      ``jax.image.resize``; [MEDL] Ch. 6 (input sizes of convolutional networks).
    """
    func = checks.public_name(resize_image)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        checks.fail(func, "x", "a floating-point image", checks.Text(f"dtype {x.dtype}"), exc=TypeError)
    h, w = _pair(func, "size", size, minimum=1)
    checks.check_choice(func, "method", method, ["nearest", "bilinear", "bicubic", "lanczos3"])
    return jax.image.resize(x, (h, w, x.shape[-1]), method=method)
