r"""Loss kernels: softmax cross-entropy with integer labels, the objective of every classifier.

``softmax_cross_entropy`` on a `(batch, classes)` float32 logit matrix with int32 labels, reduced to the
mean (one objective evaluation $C = \frac1n\sum_i \ell(z_i, y_i)$). Memory-bound: the logits are read
once, about $5nK$ FLOPs (max, subtract, exp, sum, select) over $4nK$ bytes.

* ``mathdl``: ``mathdl.losses.softmax_cross_entropy`` (per example, broadcast over the batch) then
  ``.mean()``, under ``jax.jit``;
* ``jax``: the same formula by hand (``logsumexp`` minus a ``take_along_axis`` gather), jitted;
* ``optax``: ``optax.losses.softmax_cross_entropy_with_integer_labels`` then ``.mean()``, jitted;
* ``torch``: ``torch.nn.functional.cross_entropy`` (mean reduction) on CPU, without autograd.
"""

import jax
import jax.numpy as jnp

from mathdl.bench._registry import register_case

# (batch, classes): quick, full. ImageNet-sized heads on a large batch.
_SIZES = {True: (64, 10), False: (4096, 1000)}


@register_case(
    "kernels",
    "softmax_cross_entropy",
    flops=lambda q: 5.0 * _SIZES[q][0] * _SIZES[q][1],
    bytes=lambda q: 4.0 * _SIZES[q][0] * _SIZES[q][1] + 4.0 * _SIZES[q][0],
    ratio_floor=0.9,
)
def softmax_cross_entropy(quick: bool):
    """Mean softmax cross-entropy of a (batch, classes) float32 logit matrix against int32 labels."""
    from mathdl import losses

    n, K = _SIZES[quick]
    k1, k2 = jax.random.split(jax.random.key(0))
    logits = 3.0 * jax.random.normal(k1, (n, K), jnp.float32)
    labels = jax.random.randint(k2, (n,), 0, K, jnp.int32)

    f_mathdl = jax.jit(lambda z, y: jnp.mean(losses.softmax_cross_entropy(z, y)))

    def by_hand(z, y):
        lse = jax.nn.logsumexp(z, axis=-1)
        return jnp.mean(lse - jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0])

    f_jax = jax.jit(by_hand)
    impls = {"mathdl": lambda: f_mathdl(logits, labels), "jax": lambda: f_jax(logits, labels)}
    try:
        import optax

        f_optax = jax.jit(lambda z, y: jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(z, y)))
        impls["optax"] = lambda: f_optax(logits, labels)
    except ImportError:
        pass
    try:
        import numpy as np
        import torch
    except ImportError:
        return impls
    if jax.devices()[0].platform != "cpu":
        return impls  # torch's CPU build against a GPU/TPU would not be a peer
    tz = torch.from_numpy(np.array(logits))
    ty = torch.from_numpy(np.array(labels)).long()

    def f_torch():
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(tz, ty)

    impls["torch"] = f_torch
    return impls
