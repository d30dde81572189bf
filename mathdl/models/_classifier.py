r"""Image classifiers by name: the init, apply, loss and metrics that ``train.fit`` needs, in one place.

:func:`image_classifier` turns a model name (``"lenet"``, ``"resnet"``, ``"resnet18"`` ...) into
an :class:`ImageClassifier` whose ``loss`` and ``metrics`` have exactly the signatures of
:func:`mathdl.train.fit`'s ``loss_fn`` and ``eval_fn`` (the three-argument forms for a model
without state, the four/three-argument forms with ``model_state`` for the batch-norm models), so
one call trains any of them:

    clf = image_classifier("resnet", num_classes=10, input_shape=(32, 32, 3))
    params, state = clf.init(key)
    fit(clf.loss, optimizer, params, (X, y), model_state=state, eval_fn=clf.metrics, ...)

with ``state`` ``None`` for LeNet (``fit`` then takes the stateless path). The objective is the
mean softmax cross-entropy of the logits ([MEDL] eq. 3.30); an optional ``augment(key, x)``
is applied to each training image with its own key (see ``mathdl.data.random_crop``).
"""

import functools
import re
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from mathdl import checks, losses
from mathdl.models._cnn import check_count, check_input_shape, init_lenet, lenet
from mathdl.models._resnet import RESNET_DEPTHS, init_resnet, init_small_resnet, resnet

__all__ = ["CLASSIFIERS", "ImageClassifier", "image_classifier"]

#: Model name -> one-line description, the models ``image_classifier`` builds.
CLASSIFIERS = {
    "lenet": "LeNet-5 (D2L form: conv 6, pool, conv 16, pool, dense 120-84-K; ReLU, max pooling), H, W >= 12",
    "resnet": "the small ResNet-20 for 32x32-like inputs (He et al. 2016, Sec. 4.2; batch norm)",
    "resnet<6n+2>": "a small ResNet of that depth: resnet8, resnet14, resnet20, resnet32, resnet44, resnet56, ...",
    "resnet18|34|50|101|152": "the ImageNet ResNets (7x7 stem and max pooling; inputs >= 32x32)",
}


class ImageClassifier(NamedTuple):
    """A classifier ready for :func:`mathdl.train.fit`.

    Attributes:
      name: the model's name.
      init: ``init(key) -> (params, state)``; ``state`` is ``None`` for a model without batch norm.
      apply: ``apply(params, state, x) -> logits`` on ONE image in evaluation mode.
      loss: ``fit``'s ``loss_fn``: ``loss(params, batch, key)`` without state,
        ``loss(params, state, batch, key) -> (loss, new_state)`` with it; ``batch = (X, y)``.
      metrics: ``fit``'s ``eval_fn``: ``metrics(params, batch)`` or ``metrics(params, state,
        batch)``, per-example ``{"loss", "accuracy"}``.
      has_state: whether the model carries batch-norm state.
    """

    name: str
    init: Callable
    apply: Callable
    loss: Callable
    metrics: Callable
    has_state: bool


def _augmented(augment, key, X):
    if augment is None or key is None:
        return X
    return jax.vmap(augment)(jax.random.split(key, X.shape[0]), X)


def _metrics(logits, y):
    return {
        "loss": losses.softmax_cross_entropy(logits, y),
        "accuracy": (jnp.argmax(logits, axis=-1).astype(y.dtype) == y).astype(logits.dtype),
    }


def _stateless(name, init_fn, apply_fn, augment) -> ImageClassifier:
    batched = jax.vmap(apply_fn, in_axes=(None, 0))

    def loss(params, batch, key):
        X, y = batch
        logits = batched(params, _augmented(augment, key, X))
        return jnp.mean(losses.softmax_cross_entropy(logits, y))

    def metrics(params, batch):
        X, y = batch
        return _metrics(batched(params, X), y)

    return ImageClassifier(
        name, lambda key: (init_fn(key), None), lambda params, state, x: apply_fn(params, x), loss, metrics, False
    )


def _with_state(name, init_fn, apply_fn, augment) -> ImageClassifier:
    def loss(params, state, batch, key):
        X, y = batch
        logits, new_state = jax.vmap(
            lambda x: apply_fn(params, state, x, train=True, axis_name="batch"), axis_name="batch", out_axes=(0, None)
        )(_augmented(augment, key, X))
        return jnp.mean(losses.softmax_cross_entropy(logits, y)), new_state

    def apply(params, state, x):
        return apply_fn(params, state, x, train=False)[0]

    def metrics(params, state, batch):
        X, y = batch
        return _metrics(jax.vmap(apply, in_axes=(None, None, 0))(params, state, X), y)

    return ImageClassifier(name, init_fn, apply, loss, metrics, True)


def image_classifier(
    name: str,
    *,
    num_classes: int,
    input_shape,
    augment: Callable | None = None,
    conv_path: str | None = None,
    dtype=None,
) -> ImageClassifier:
    r"""The init, apply, loss and metrics of an image classifier named ``name``, for ``train.fit``.

    The loss is the mini-batch objective $C(\theta) = \frac{1}{n_b}\sum_i
    \ell_{CE}(f_\theta(\mathrm{aug}_i(x_i)), y_i)$ with the softmax cross-entropy $\ell_{CE}$
    ([MEDL] eq. 3.30) and ``augment`` applied to each image with its own key (training only); with
    batch norm the statistics are those of the batch (a ``jax.vmap`` axis named ``"batch"``)
    and the new running statistics are returned as the model state.

    Args:
      name: ``"lenet"``, ``"resnet"`` (small ResNet-20), ``"resnet<6n+2>"`` (small ResNets:
        ``"resnet8"``, ``"resnet20"``, ...), or ``"resnet18"``, ``"resnet34"``, ``"resnet50"``,
        ``"resnet101"``, ``"resnet152"`` (ImageNet layout); see :data:`CLASSIFIERS`.
      num_classes: number of classes $K$.
      input_shape: ``(H, W, C)`` of one image.
      augment: ``augment(key, x) -> x`` on one image (e.g.
        ``lambda k, x: data.random_crop(k, x, padding=2)``), or ``None``.
      conv_path: the convolution path of every layer (see :func:`mathdl.layers.conv2d`).
      dtype: floating dtype of the parameters.

    Returns:
      An :class:`ImageClassifier` ``(name, init, apply, loss, metrics, has_state)``.

    Raises:
      ValueError: on an unknown name, a bad ``num_classes`` or ``input_shape`` (including an
        image too small for the model).
      TypeError: if ``augment`` is neither callable nor ``None``.

    References:
      [MEDL] Ch. 6, Sec. 6.4-6.5 and Ch. 3, eq. (3.30); LeCun et al. (1998); He et al. (2016).
    """
    func = checks.public_name(image_classifier)
    check_count(func, "num_classes", num_classes)
    check_input_shape(func, input_shape)
    if augment is not None and not callable(augment):
        checks.fail(func, "augment", "a callable augment(key, x) or None", type(augment).__name__, exc=TypeError)
    shape = tuple(input_shape)
    if name == "lenet":
        init_fn = functools.partial(init_lenet, num_classes=num_classes, input_shape=shape, dtype=dtype)
        jax.eval_shape(init_fn, jax.random.key(0))  # refuses a too-small image now, allocating nothing
        return _stateless(name, init_fn, functools.partial(lenet, conv_path=conv_path), augment)
    m = re.fullmatch(r"resnet(\d*)", name) if isinstance(name, str) else None
    if m is None:
        checks.fail(func, "name", f"one of {list(CLASSIFIERS)}", name)
    depth = int(m.group(1) or 20)
    if depth in RESNET_DEPTHS:
        init_fn = functools.partial(init_resnet, depth=depth, num_classes=num_classes, input_shape=shape, dtype=dtype)
    else:
        init_fn = functools.partial(
            init_small_resnet, depth=depth, num_classes=num_classes, input_shape=shape, dtype=dtype
        )
    jax.eval_shape(init_fn, jax.random.key(0))  # refuses a bad depth or shape now, allocating nothing
    return _with_state(name, init_fn, functools.partial(resnet, conv_path=conv_path), augment)
