r"""Backpropagation written out ([MEDL] Sec. 5.4), and the vanishing/exploding-gradient experiment.

For a fully connected network with $z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}$,
$a^{[\ell]} = \sigma(z^{[\ell]})$ for $\ell < L$ and a linear last layer whose output $z^{[L]}$
enters the loss $C$, the adjoints $\delta^{[\ell]} = \partial C / \partial z^{[\ell]}$ satisfy

$$\delta^{[L]} = \frac{\partial C}{\partial z^{[L]}}, \qquad
\delta^{[\ell]} = \operatorname{diag}\big(\dot\sigma(z^{[\ell]})\big)\, W^{[\ell+1]\top} \delta^{[\ell+1]},$$

and the gradients are $g_W^{[\ell]} = \delta^{[\ell]} a^{[\ell-1]\top}$, $g_b^{[\ell]} = \delta^{[\ell]}$
(book eqs. 5.22-5.26). For softmax cross-entropy and sigmoid BCE, $\delta^{[L]} = \hat y - y$.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax import lax

from mathdl import activations, checks, losses
from mathdl.layers import DenseParams, dense, one_example
from mathdl.models._activation_table import activation_pair
from mathdl.models._mlp import dense_stack

__all__ = ["LOSSES", "adjoint_norms", "backprop", "linear_adjoint_norms"]

#: The loss names ``backprop`` accepts (its closed-form output adjoints).
LOSSES = ("softmax_ce", "sigmoid_bce", "squared_error")


def _hidden_pairs(func: str, activation, num_layers: int):
    if isinstance(activation, list):
        if len(activation) != num_layers - 1:
            checks.fail(
                func,
                "activation",
                f"a list of {num_layers - 1} hidden activations (the last layer is linear; the loss holds S^[L])",
                f"length {len(activation)}",
            )
        return [activation_pair(func, a) for a in activation]
    return [activation_pair(func, activation)] * (num_layers - 1)


def _output_adjoint(func: str, loss: str, z_L: jax.Array, y):
    """Return (C, delta^[L]) for the output loss, with delta^[L] = dC/dz^[L] from the book."""
    K = z_L.shape[0]
    if loss == "softmax_ce":
        y = checks.conform(func, "y", y, "int[]")
        C = losses.softmax_cross_entropy(z_L, y)
        ok = (y >= 0) & (y < K)
        e_y = jax.nn.one_hot(y, K, dtype=z_L.dtype)
        delta = activations.softmax(z_L) - e_y  # y_hat - y for softmax + CE
        return C, jnp.where(ok, delta, jnp.nan)  # an out-of-range label gives NaN, like the loss
    y = checks.check_like(func, "the output z^[L]", z_L, "y", checks.conform(func, "y", y, "float[K]", {"K": K}))
    if loss == "sigmoid_bce":
        C = jnp.sum(losses.binary_cross_entropy_with_logits(z_L, y))
        return C, activations.sigmoid(z_L) - y  # y_hat - y for sigmoid + BCE, one unit per label
    C = jnp.sum(losses.squared_error(z_L, y))
    return C, 2 * (z_L - y)  # C = ||z - y||^2 (no 1/2, as losses.squared_error), so dC/dz = 2 (z - y)


def _backprop(func, params, x, y, activation, loss):
    checks.check_choice(func, "loss", loss, LOSSES)
    L = len(params)
    pairs = _hidden_pairs(func, activation, L)
    # Forward pass, storing z^[l] and a^[l] (a^[0] = x, last layer linear).
    a_s, z_s = [x], []
    for ell, layer in enumerate(params):
        z = dense(layer, a_s[-1])  # z^[l] = W^[l] a^[l-1] + b^[l]
        z_s.append(z)
        a_s.append(pairs[ell].sigma(z) if ell < L - 1 else z)
    C, delta = _output_adjoint(func, loss, z_s[-1], y)
    # Backward recursion, from l = L down to 1.
    deltas = [delta]
    for ell in range(L - 1, 0, -1):  # python indices: layer ell+1 -> layer ell
        W_next = params[ell].W
        delta = pairs[ell - 1].sigma_dot(z_s[ell - 1]) * (W_next.T @ delta)  # diag(σ̇(z)) Wᵀ δ as a product
        deltas.append(delta)
    deltas = deltas[::-1]
    grads = tuple(DenseParams(jnp.outer(d, a), d) for d, a in zip(deltas, a_s[:-1], strict=True))
    return C, grads, tuple(deltas)


@checks.inputs(params=dense_stack, x=one_example("float[N_0]"))
def backprop(
    params: Sequence[DenseParams], x: jax.Array, y, *, activation="relu", loss: str = "softmax_ce"
) -> tuple[tuple[DenseParams, ...], tuple[jax.Array, ...]]:
    r"""Gradients of one example's loss by the book's explicit backward recursion.

    Forward: $a^{[0]} = x$, $z^{[\ell]} = W^{[\ell]} a^{[\ell-1]} + b^{[\ell]}$,
    $a^{[\ell]} = \sigma(z^{[\ell]})$ ($\ell < L$), output logits $z^{[L]}$. Backward:

    * ``"softmax_ce"``: $C = \operatorname{logsumexp}(z^{[L]}) - z^{[L]}_y$ (integer label ``y``),
      $\delta^{[L]} = \operatorname{softmax}(z^{[L]}) - e_y$;
    * ``"sigmoid_bce"``: $C = \sum_k \mathrm{BCE}(\sigma(z^{[L]}_k), y_k)$, $\delta^{[L]} = \sigma(z^{[L]}) - y$;
    * ``"squared_error"``: $C = \lVert z^{[L]} - y \rVert^2$, $\delta^{[L]} = 2 (z^{[L]} - y)$;

    then $\delta^{[\ell]} = \operatorname{diag}(\dot\sigma(z^{[\ell]})) W^{[\ell+1]\top}\delta^{[\ell+1]}$,
    $g_W^{[\ell]} = \delta^{[\ell]} a^{[\ell-1]\top}$, $g_b^{[\ell]} = \delta^{[\ell]}$. The
    derivatives $\dot\sigma$ are ``mathdl.activations.d_*``. For a mini-batch, ``jax.vmap`` this
    and average the gradients.

    Args:
      params: tuple of ``L`` ``DenseParams`` (``init_mlp``).
      x: ONE example, shape ``(N_0,)`` (a one-example function: ``jax.vmap`` it for a batch).
      y: integer class label, shape ``()`` for ``"softmax_ce"``; float targets of shape ``(N_L,)``
        otherwise.
      activation: hidden activation for every hidden layer: a name (``"relu"``, ``"tanh"``,
        ``"sigmoid"``, ``"softplus"``, ``"elu"``, ``"gelu"``, ``"leaky_relu"``, ...), a known
        callable (``jax.nn.relu``, ``jnp.tanh``, ``mathdl.activations.tanh``, ...) or
        ``models.Activation(sigma, sigma_dot)``; or a *list* of ``L - 1`` of these.
      loss: ``"softmax_ce"`` (default), ``"sigmoid_bce"`` or ``"squared_error"``.

    Returns:
      ``(grads, adjoints)``: ``grads`` has the structure of ``params`` (a tuple of
      ``DenseParams(g_W, g_b)``); ``adjoints`` is the tuple $(\delta^{[1]}, \dots, \delta^{[L]})$,
      ``adjoints[l-1]`` of shape ``(N_l,)``.

    Raises:
      ValueError: on mismatched widths, a wrong ``x``/``y`` shape, an unknown ``loss`` or activation,
        or a callable activation without a known derivative.
      TypeError: if ``y`` has the wrong kind of dtype (integer for ``"softmax_ce"``, floating otherwise).

    References:
      [MEDL] Ch. 5, Sec. 5.4, eqs. (5.22)-(5.26). Oracle in tests: ``jax.grad`` and ``torch.autograd``.
    """
    _, grads, deltas = _backprop(checks.public_name(backprop), params, x, y, activation, loss)
    return grads, deltas


@checks.inputs(params=dense_stack, x=one_example("float[N_0]"))
def adjoint_norms(params: Sequence[DenseParams], x: jax.Array, y, *, activation="relu", loss: str = "softmax_ce"):
    r"""Norms $\lVert\delta^{[\ell]}\rVert_2$ of the adjoints, layer by layer (vanishing/exploding gradients).

    Args:
      params: tuple of ``L`` ``DenseParams``.
      x: one example, shape ``(N_0,)``.
      y: label or targets, as in :func:`backprop`.
      activation: as in :func:`backprop`.
      loss: as in :func:`backprop`.

    Returns:
      Array of shape ``(L,)``: entry ``l - 1`` is $\lVert\delta^{[\ell]}\rVert_2$.

    Raises:
      ValueError: as :func:`backprop`.
      TypeError: as :func:`backprop`.

    References:
      [MEDL] Ch. 5, Sec. 5.4, eqs. (5.34)-(5.35).
    """
    _, _, deltas = _backprop(checks.public_name(adjoint_norms), params, x, y, activation, loss)
    return jnp.stack([jnp.linalg.norm(d) for d in deltas])


@checks.inputs(W="float[N _]", zeta="float[N]")
def linear_adjoint_norms(W: jax.Array, zeta: jax.Array, *, depth: int) -> jax.Array:
    r"""Adjoint norms $\lVert (W^\top)^{k} \zeta \rVert_2$, $k = 0, \dots$, ``depth``, of a deep linear net.

    With identity activations, no biases and the same $W$ in every layer, the adjoint $k$
    layers below the output is $\zeta^{[L-k]} = (W^\top)^k \zeta^{[L]}$, so its norm grows or decays
    like $\rho(W)^k$ (the spectral radius) and exactly like $|\lambda|^k$ when $\zeta$ is an
    eigenvector of $W^\top$ with eigenvalue $\lambda$. Computed with ``lax.scan``.

    Args:
      W: square weight matrix, shape ``(N, N)``.
      zeta: output adjoint $\zeta^{[L]}$, shape ``(N,)``.
      depth: number of layers to go back (non-negative int).

    Returns:
      Array of shape ``(depth + 1,)``.

    Raises:
      ValueError: if ``W`` is not square (shape ``(N, N)``), ``zeta`` has the wrong shape, or ``depth``
        is negative.
      TypeError: if ``W`` or ``zeta`` is not floating, or ``depth`` is not an int.

    References:
      [MEDL] Ch. 5, Sec. 5.4, eqs. (5.34)-(5.35).
    """
    func = checks.public_name(linear_adjoint_norms)
    if W.shape[0] != W.shape[1]:
        checks.fail(func, "W", "a square matrix", checks.Text(f"shape {tuple(W.shape)}"))
    if isinstance(depth, bool) or not isinstance(depth, int):
        checks.fail(func, "depth", "an int", type(depth).__name__, exc=TypeError)
    if depth < 0:
        checks.fail(func, "depth", "a value >= 0", depth)

    def body(z, _):
        z = W.T @ z
        return z, jnp.linalg.norm(z)

    _, norms = lax.scan(body, zeta, None, length=depth)
    return jnp.concatenate([jnp.linalg.norm(zeta)[None], norms])
