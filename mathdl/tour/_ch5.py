"""Tour, Chapter 5: explicit backprop against autodiff, exact ReLU interpolation, an MLP on digits."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "5",
    "backprop written out vs jax.grad (float32, 3 losses, 3 activations)",
    expected={"max_rel_error": (0.0, 1e-5), "vanish_rate_tanh_small_w": (0.0, 0.8)},
)
def backprop_vs_autodiff(out_dir: Path) -> dict[str, float]:
    """Max relative difference between the book's recursion and jax.grad; adjoint norms through depth."""
    import jax
    import jax.numpy as jnp
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import losses, models

    key = jax.random.key(0)
    k_params, k_x = jax.random.split(key)
    params = models.init_mlp(k_params, [6, 16, 16, 16, 4], init="glorot_normal")
    x = jax.random.normal(k_x, (6,))
    targets = {"softmax_ce": jnp.array(2), "sigmoid_bce": jnp.array([1.0, 0.0, 0.0, 1.0]), "squared_error": jnp.ones(4)}
    loss_of = {
        "softmax_ce": lambda z, y: losses.softmax_cross_entropy(z, y),
        "sigmoid_bce": lambda z, y: jnp.sum(losses.binary_cross_entropy_with_logits(z, y)),
        "squared_error": lambda z, y: jnp.sum(losses.squared_error(z, y)),
    }
    worst = 0.0
    for act, fwd in (("relu", jax.nn.relu), ("tanh", jnp.tanh), ("sigmoid", jax.nn.sigmoid)):
        for loss, y in targets.items():
            # eager on purpose: 9 small one-off computations compile slower than they run
            grads, _ = models.backprop(params, x, y, activation=act, loss=loss)
            auto = jax.grad(lambda p, loss=loss, fwd=fwd, y=y: loss_of[loss](models.mlp(p, x, activation=fwd), y))(
                params
            )
            for g, a in zip(jax.tree.leaves(grads), jax.tree.leaves(auto), strict=True):
                worst = max(worst, float(jnp.max(jnp.abs(g - a)) / (jnp.max(jnp.abs(a)) + 1e-30)))

    # Vanishing / exploding: a 30-layer tanh network, weights N(0, g^2 / N) for three gains g.
    depth, width = 30, 32
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    rates = {}
    adjoint_norms = jax.jit(lambda p, x, y: models.adjoint_norms(p, x, y, activation="tanh"))  # one compile, 3 calls
    for gain in (0.5, 1.0, 2.0):
        keys = jax.random.split(jax.random.key(1), depth)
        deep = tuple(
            models.init_mlp(
                k, [width, width], init=lambda k, s, d, g=gain: g * jax.random.normal(k, s, d) / s[1] ** 0.5
            )[0]
            for k in keys
        )
        norms = np.asarray(adjoint_norms(deep, jax.random.normal(jax.random.key(2), (width,)), jnp.array(0)))
        rates[gain] = float(
            np.exp(np.mean(np.diff(np.log(norms[::-1]))))
        )  # geometric growth per layer, output -> input
        ax0.semilogy(np.arange(1, depth + 1), norms, "o-", ms=3, label=f"gain {gain}")
    ax0.set(title=r"$\|\delta^{[\ell]}\|$ in a 30-layer tanh net", xlabel=r"layer $\ell$", ylabel="adjoint norm")
    ax0.legend()
    W = jax.random.normal(jax.random.key(3), (8, 8)) / 8**0.5
    rho = float(np.max(np.abs(np.linalg.eigvals(np.asarray(W)))))
    for scale in (0.8, 1.0, 1.25):
        Ws = W * scale / rho
        ax1.semilogy(np.asarray(models.linear_adjoint_norms(Ws, jnp.ones(8), depth=40)), label=rf"$\rho(W) = {scale}$")
    ax1.set(title=r"linear net, shared $W$: $\|(W^\top)^k\zeta\|$", xlabel="layers back $k$")
    ax1.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "ch5_backprop_adjoints.png", dpi=100)
    plt.close(fig)
    return {"max_rel_error": worst, "vanish_rate_tanh_small_w": rates[0.5]}


@register(
    "5",
    "exact ReLU interpolation of the book's f* (r = 10 and 30 knots)",
    expected={"max_error_at_knots": (0.0, 1e-5), "sup_error_between_r30": (0.2, 0.5)},  # f* oscillates near x = 4
)
def relu_interpolation_demo(out_dir: Path) -> dict[str, float]:
    """Error of the constructed network at its knots (zero up to rounding) and between knots on a fine grid."""
    import jax
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import models

    def f_star(x):
        return jnp.cos(2 * jnp.cos(x**2) + (x - 1) ** 2 / 4) + x / 2 + 1

    grid = jnp.linspace(0.0, 4.0, 2001)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(grid, f_star(grid), "k", lw=2, label="$f^*$")
    at_knots, between = 0.0, {}
    for r in (10, 30):
        u = jnp.linspace(0.0, 4.0, r)
        params = models.relu_interpolation(u, f_star(u))
        net = jax.jit(jax.vmap(lambda x, p=params: models.mlp(p, x[None])[0]))
        at_knots = max(at_knots, float(jnp.max(jnp.abs(net(u) - f_star(u)))))
        between[r] = float(jnp.max(jnp.abs(net(grid) - f_star(grid))))
        ax.plot(grid, net(grid), label=f"ReLU net, r = {r} knots ({r - 1} hidden units)")
        ax.plot(u, f_star(u), "o", ms=3)
    ax.set(title="exact ReLU interpolation (MEDL Sec. 5.2)", xlabel="$x$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "ch5_relu_interpolation.png", dpi=100)
    plt.close(fig)
    return {"max_error_at_knots": at_knots, "sup_error_between_r30": between[30]}


@register("5", "MLP 64-128-10 on digits through mathdl.train.fit", expected={"test_accuracy": (0.94, 1.0)})
def mlp_digits(out_dir: Path) -> dict[str, float]:
    """Train a ReLU MLP with Adam for 20 epochs (standardised pixels) and report held-out accuracy."""
    import jax
    import jax.numpy as jnp
    import matplotlib
    import numpy as np
    import optax

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, losses, models, train

    ds = data.load("digits")
    train_set, test_set = data.split(jax.random.key(0), ds, fractions=(0.75, 0.25))
    stats = data.fit_standardizer(jnp.asarray(train_set.X))
    X_train, X_test = (
        data.standardize(stats, jnp.asarray(train_set.X)),
        data.standardize(stats, jnp.asarray(test_set.X)),
    )
    y_train, y_test = jnp.asarray(train_set.y), jnp.asarray(test_set.y)
    params = models.init_mlp(jax.random.key(1), [64, 128, 10], dtype=X_train.dtype)

    def example_loss(p, example):
        x, y = example
        return losses.softmax_cross_entropy(models.mlp(p, x), y)

    result = train.fit(
        train.mean_loss(example_loss),
        optax.adam(1e-3),
        params,
        (X_train, y_train),
        key=jax.random.key(2),
        epochs=20,
        batch_size=64,
        progress=False,
    )
    logits = jax.jit(jax.vmap(models.mlp, in_axes=(None, 0)))(result.params, X_test)
    acc = float(jnp.mean(jnp.argmax(logits, -1) == y_test))

    hist = [h for h in result.history if "loss" in h]
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 4))
    ax0.plot([h["step"] for h in hist], [h["loss"] for h in hist])
    ax0.set(title="training loss", xlabel="step", ylabel="mean cross-entropy")
    wrong = np.flatnonzero(np.asarray(jnp.argmax(logits, -1) != y_test))[:1]
    img = np.asarray(test_set.X[wrong[0]] if wrong.size else test_set.X[0]).reshape(8, 8)
    ax1.imshow(img, cmap="gray_r")
    ax1.set(title=f"test accuracy {acc:.3f}" + (" (a misclassified digit)" if wrong.size else ""))
    ax1.axis("off")
    fig.tight_layout()
    fig.savefig(out_dir / "ch5_mlp_digits.png", dpi=100)
    plt.close(fig)
    return {"test_accuracy": acc}
