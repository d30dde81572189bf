"""Tour, Chapter 7 (attention): Nadaraya-Watson regression; the blocked attention path against the definition."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "7",
    "Nadaraya-Watson regression (attention with a fixed kernel) on y = 2 sin x + x^0.8 + noise",
    expected={
        "gaussian_mse_over_baseline": (0.0, 0.25),
        "epanechnikov_mse_over_baseline": (0.0, 0.3),
        "boxcar_mse_over_baseline": (0.0, 0.35),
        "gaussian_test_mse": (0.0, 0.5),
    },
)
def nadaraya_watson_regression(out_dir: Path) -> dict[str, float]:
    """D2L's toy: 50 noisy training points on [0, 5]; predict on a grid and compare with predicting the mean."""
    import jax
    import jax.numpy as jnp
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import layers

    def f(x):
        return 2 * jnp.sin(x) + x**0.8

    k_x, k_noise = jax.random.split(jax.random.key(0))
    x_train = jnp.sort(jax.random.uniform(k_x, (50,), minval=0.0, maxval=5.0))
    y_train = f(x_train) + 0.5 * jax.random.normal(k_noise, (50,))
    x_test = jnp.linspace(0.0, 5.0, 101)
    y_test = f(x_test)
    baseline = float(jnp.mean((y_test - jnp.mean(y_train)) ** 2))
    metrics, preds = {}, {}
    for kernel, h in (("gaussian", 0.3), ("epanechnikov", 0.6), ("boxcar", 0.4)):
        preds[kernel] = layers.nadaraya_watson(x_test, x_train, y_train, kernel=kernel, bandwidth=h)
        mse = float(jnp.mean((preds[kernel] - y_test) ** 2))
        metrics[f"{kernel}_mse_over_baseline"] = mse / baseline
        if kernel == "gaussian":
            metrics["gaussian_test_mse"] = mse
    fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(10, 4))
    ax.plot(np.asarray(x_train), np.asarray(y_train), "o", alpha=0.5, label="training data")
    ax.plot(np.asarray(x_test), np.asarray(y_test), "k-", label="truth")
    for kernel, y in preds.items():
        ax.plot(np.asarray(x_test), np.asarray(y), label=kernel)
    ax.legend()
    ax.set_title("Nadaraya-Watson predictions")
    weights = layers.nadaraya_watson_weights(x_test, x_train, bandwidth=0.3)
    ax_w.imshow(np.asarray(weights), aspect="auto", cmap="Reds")
    ax_w.set_xlabel("training input (sorted)")
    ax_w.set_ylabel("test input")
    ax_w.set_title("attention weights (Gaussian kernel)")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch7_nadaraya_watson.png", dpi=80)
    plt.close(fig)
    return metrics


@register(
    "7",
    "blocked (flash-style) attention equals softmax(QK^T/sqrt d)V and its gradients, with less memory",
    expected={
        "max_abs_diff_output": (0.0, 1e-5),
        "max_abs_diff_grads": (0.0, 1e-4),
        "temp_bytes_reference_over_blocked": (2.0, 1e6),
    },
)
def blocked_equals_reference(out_dir: Path) -> dict[str, float]:
    """T = S = 1024, d = 64, causal, float32: outputs and gradients of both paths, and XLA's temp buffers."""
    import jax
    import jax.numpy as jnp

    from mathdl import layers

    del out_dir
    kq, kk, kv, kg = jax.random.split(jax.random.key(0), 4)
    q, k, v, g = (jax.random.normal(key, (1024, 64), jnp.float32) for key in (kq, kk, kv, kg))

    def fwd_bwd(impl):
        def loss(q, k, v):
            return jnp.sum(layers.scaled_dot_product_attention(q, k, v, is_causal=True, implementation=impl) * g)

        def both(q, k, v):
            out = layers.scaled_dot_product_attention(q, k, v, is_causal=True, implementation=impl)
            return out, jax.grad(loss, (0, 1, 2))(q, k, v)

        compiled = jax.jit(both).lower(q, k, v).compile()
        return compiled(q, k, v), compiled.memory_analysis().temp_size_in_bytes

    (out_r, grads_r), temp_r = fwd_bwd("reference")
    (out_b, grads_b), temp_b = fwd_bwd("blocked")
    return {
        "max_abs_diff_output": float(jnp.max(jnp.abs(out_r - out_b))),
        "max_abs_diff_grads": max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(grads_r, grads_b, strict=True)),
        "temp_bytes_reference_over_blocked": temp_r / max(temp_b, 1),
    }
