"""Chapter 5 tour: a digits MLP trained with mathdl.train.fit, with early stopping."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "5",
    "digits MLP 64-128-10 trained with train.fit (Adam, early stopping on validation loss)",
    expected={"test_accuracy": (0.95, 1.0), "epochs_run": (4, 20)},
)
def digits_mlp_fit(out_dir: Path) -> dict[str, float]:
    """Train on 60% of digits, watch 20% for early stopping, report the other 20%; plot the curves."""
    import jax
    import jax.numpy as jnp
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, losses, models, optim, train

    ds = data.load("digits")
    k_split, k_init, k_fit = jax.random.split(jax.random.key(0), 3)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data.split(k_split, (ds.X, ds.y), fractions=(0.6, 0.2, 0.2))
    params = models.init_mlp(k_init, [64, 128, 10], dtype=Xtr.dtype)

    def example_loss(theta, example):
        x, y = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), y)

    def metrics(theta, batch):
        x, y = batch
        z = jax.vmap(models.mlp, in_axes=(None, 0))(theta, x)
        return {"loss": losses.softmax_cross_entropy(z, y), "accuracy": jnp.argmax(z, -1).astype(y.dtype) == y}

    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(2e-3),
        params,
        (Xtr, ytr),
        key=k_fit,
        epochs=20,
        batch_size=32,
        eval_fn=metrics,
        eval_data=(Xva, yva),
        early_stopping=train.EarlyStopping(metric="loss", patience=3),
        progress=False,
        num_classes=10,
    )
    test = train.evaluate(metrics, result.params, (Xte, yte), batch_size=512)

    train_loss = [(h["epoch"], h["loss"]) for h in result.history if "loss" in h]
    val = [(h["epoch"], h["val_loss"], h["val_accuracy"]) for h in result.history if "val_loss" in h]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot([e + 1 for e, _ in train_loss], [v for _, v in train_loss], label="train (epoch mean)")
    ax1.plot([e + 1 for e, _, _ in val], [v for _, v, _ in val], label="validation")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="digits MLP 64-128-10, Adam")
    ax1.legend()
    ax2.plot([e + 1 for e, _, _ in val], [a for _, _, a in val], marker="o")
    ax2.set(xlabel="epoch", ylabel="validation accuracy", title=f"early stop after {result.epoch} epochs")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch5_digits_fit.png", dpi=100)
    plt.close(fig)
    return {
        "test_accuracy": test["accuracy"],
        "epochs_run": float(result.epoch),
    }
