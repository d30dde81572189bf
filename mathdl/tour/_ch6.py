"""Tour, Chapter 6: the networks' parameter counts and shapes, LeNet trained on digits, a residual block."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "6",
    "parameter counts and shape tables from jax.eval_shape (nothing allocated)",
    expected={
        "lenet5": (61706, 61706),
        "vgg16_224": (138357544, 138357544),
        "resnet18": (11689512, 11689512),
        "resnet50": (25557032, 25557032),
        "inception_out_channels": (256, 256),
        "inception_params": (163696, 163696),
    },
)
def parameter_counts(out_dir: Path) -> dict[str, float]:
    """Counts of LeNet-5, VGG-16 (224x224x3, 1000 classes), ResNet-18/50, and the Fig. 6.13 Inception module."""
    import functools

    import jax

    from mathdl import models

    key = jax.random.key(0)

    def shapes(init, *args, **kwargs):
        return jax.eval_shape(lambda k: init(k, *args, **kwargs), key)

    vgg = shapes(models.init_vgg, "vgg16", num_classes=1000, input_shape=(224, 224, 3))
    r50, r50_state = shapes(models.init_resnet, 50)
    inception = shapes(models.init_inception_module, 192, 64, (96, 128), (16, 32), 32)
    table = models.summary(models.inception_forward, inception, (28, 28, 192))
    resnet_table = models.summary(
        functools.partial(models.resnet_forward, train=False), r50, (224, 224, 3), state=r50_state
    )
    (Path(out_dir) / "ch6_tables.txt").write_text(
        f"Inception module (Fig. 6.13)\n{table}\n\nResNet-50\n{resnet_table}\n\n"
        f"VGG-16\n{models.summary(models.vgg_forward, vgg, (224, 224, 3))}\n"
    )
    return {
        "lenet5": models.param_count(shapes(models.init_lenet)),
        "vgg16_224": models.param_count(vgg),
        "resnet18": models.param_count(shapes(models.init_resnet, 18)[0]),
        "resnet50": models.param_count(r50),
        "inception_out_channels": table.rows[-1].shape[-1],
        "inception_params": table.total_params,
    }


@register(
    "6",
    "LeNet-5 on the 8x8 digits upsampled to 16x16, 6 epochs of Adam through train.fit",
    expected={"test_accuracy": (0.93, 1.0), "conv1_filters_std": (0.05, 2.0)},
)
def lenet_digits(out_dir: Path) -> dict[str, float]:
    """Train LeNet on 80% of digits (bilinear upsampling to 16x16), report the rest; plot filters and maps."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, models, optim, train

    ds = data.load("digits")
    images = jax.jit(jax.vmap(lambda x: data.resize_image(x.reshape(8, 8, 1), 16)))(ds.X)
    k_split, k_init, k_fit = jax.random.split(jax.random.key(0), 3)
    (Xtr, ytr), (Xte, yte) = data.split(k_split, (np.asarray(images), ds.y), fractions=(0.8, 0.2))
    # im2col: fit scans each epoch, and XLA:CPU convolutions are slow inside a scan (mathdl bench --suite cnn)
    clf = models.image_classifier("lenet", num_classes=10, input_shape=(16, 16, 1), conv_path="im2col")
    params, _ = clf.init(k_init)
    result = train.fit(
        clf.loss, optim.adam(3e-3), params, (Xtr, ytr), key=k_fit, epochs=6, batch_size=32, progress=False
    )
    accuracy = train.evaluate(clf.metrics, result.params, (Xte, yte), batch_size=512)["accuracy"]

    W = np.asarray(result.params.conv1.W)[..., 0, :]  # (5, 5, 6)
    maps = np.asarray(jax.jit(models.lenet_forward)(result.params, Xte[0])["conv1"])
    fig, axes = plt.subplots(2, 7, figsize=(12, 3.6))
    axes[0, 0].imshow(Xte[0][..., 0], cmap="gray")
    axes[0, 0].set_title(f"input (label {int(yte[0])})")
    axes[1, 0].axis("off")
    for c in range(6):
        axes[0, c + 1].imshow(W[..., c], cmap="RdBu")
        axes[0, c + 1].set_title(f"filter {c}")
        axes[1, c + 1].imshow(maps[..., c], cmap="viridis")
        axes[1, c + 1].set_title(f"map {c}")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"LeNet-5 conv1 after training on digits (test accuracy {accuracy:.3f})")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch6_lenet_digits.png", dpi=100)
    plt.close(fig)
    return {"test_accuracy": accuracy, "conv1_filters_std": float(W.std())}


@register(
    "6",
    "residual block: identity shortcut, projection shortcut, zero last gamma gives ReLU(x)",
    expected={"zero_gamma_error": (0.0, 1e-6), "projection_out_h": (4, 4), "projection_out_c": (32, 32)},
)
def residual_block(out_dir: Path) -> dict[str, float]:
    """a = ReLU(u + r(u)) (Fig. 6.14): with r's last batch norm at gamma = beta = 0 the block is ReLU(u)."""
    import jax
    import jax.numpy as jnp

    from mathdl import layers, models

    del out_dir
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    params, state = jax.jit(lambda k: models.init_basic_block(k, 16, 16))(k1)  # one compile for the draws
    bn = params.conv2.bn
    params = params._replace(
        conv2=params.conv2._replace(bn=layers.BatchNormParams(jnp.zeros_like(bn.gamma), jnp.zeros_like(bn.beta)))
    )
    x = jax.random.normal(k2, (8, 8, 16))
    y, _ = jax.jit(lambda p, s, x: models.basic_block(p, s, x, train=False))(params, state, x)
    proj, proj_state = jax.eval_shape(lambda k: models.init_basic_block(k, 16, 32, stride=2), k3)
    shape = jax.eval_shape(lambda p, s, x: models.basic_block(p, s, x, stride=2, train=False)[0], proj, proj_state, x)
    return {
        "zero_gamma_error": float(jnp.max(jnp.abs(y - jax.nn.relu(x)))),
        "projection_out_h": shape.shape[0],
        "projection_out_c": shape.shape[-1],
    }
