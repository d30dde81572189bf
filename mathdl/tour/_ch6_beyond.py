"""Chapter 6 tour, Sec. 6.6 beyond classification: localisation, NMS, triplet embeddings, U-Net segmentation.

Every network is trained with ``mathdl.train.fit`` on data drawn in code (``mathdl.data.shapes``) or on
scikit-learn's digits, in a few seconds on a CPU.
"""

import time
from pathlib import Path

from mathdl.tour._registry import register


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw_box(ax, box, color, style="-"):
    from matplotlib.patches import Rectangle

    x1, y1, x2, y2 = (float(v) for v in box)
    # imshow puts pixel (i, j) at [j - 0.5, j + 0.5]; the boxes use pixel edges at integers
    ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, ec=color, ls=style, lw=1.5))


@register(
    "6",
    "localisation head (CNN: class + box) on synthetic shapes, train.fit with smooth-L1 + cross-entropy",
    expected={"mean_iou": (0.55, 1.0), "iou_above_0.5": (0.7, 1.0), "class_accuracy": (0.8, 1.0), "seconds": (0, 600)},
)
def localisation_on_shapes(out_dir: Path) -> dict[str, float]:
    """Train 10 epochs on 1024 single-object images (32x32); IoU and accuracy on 256 fresh ones; plot 8 predictions."""
    import jax
    import jax.numpy as jnp

    from mathdl import data, metrics, models, optim, train

    k_tr, k_te, k_init, k_fit = jax.random.split(jax.random.key(0), 4)
    tr = data.shapes(k_tr, 1024, size=32, dtype=jnp.float32)
    te = data.shapes(k_te, 256, size=32, dtype=jnp.float32)
    params = models.init_localizer(k_init, (32, 32, 1), tr.num_classes, widths=(8, 16), hidden=64, dtype=jnp.float32)

    def example_loss(p, example):
        x, box, label = example
        return models.localization_loss(p, x, box, label, box_weight=2.0)

    start = time.perf_counter()
    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(3e-3),
        params,
        (tr.images, tr.boxes[:, 0], tr.labels[:, 0]),
        key=k_fit,
        epochs=10,
        batch_size=32,
        progress=False,
    )
    seconds = time.perf_counter() - start
    out = jax.jit(jax.vmap(models.localizer, in_axes=(None, 0)))(result.params, te.images)
    iou = jax.vmap(lambda p, t: metrics.box_iou(p[None], t[None])[0, 0])(out.box, te.boxes[:, 0])
    accuracy = jnp.mean(jnp.argmax(out.logits, -1) == te.labels[:, 0])

    plt = _plt()
    fig, axes = plt.subplots(1, 8, figsize=(16, 2.4))
    for i, ax in enumerate(axes):
        ax.imshow(te.images[i, ..., 0], cmap="gray")
        _draw_box(ax, te.boxes[i, 0], "lime")
        _draw_box(ax, out.box[i], "red", "--")
        name = data.SHAPE_CLASSES[int(jnp.argmax(out.logits[i]))]
        ax.set_title(f"{name}\nIoU {float(iou[i]):.2f}", fontsize=8)
        ax.axis("off")
    fig.suptitle("true box (green) and predicted box (red)", fontsize=9)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch6_localisation.png", dpi=100)
    plt.close(fig)
    return {
        "mean_iou": float(iou.mean()),
        "iou_above_0.5": float((iou > 0.5).mean()),
        "class_accuracy": float(accuracy),
        "seconds": seconds,
    }


@register(
    "6",
    "non-maximum suppression (fixed size, jit, vmap over images) on jittered candidate boxes around shapes",
    expected={"recall_at_0.5": (0.9, 1.0), "kept_per_object": (0.9, 2.0), "max_iou_between_kept": (0.0, 0.5)},
)
def nms_on_candidates(out_dir: Path) -> dict[str, float]:
    """Around each true box, 12 jittered candidates (corners + N(0, 1.5^2) pixels) scored by their IoU with it plus
    noise; NMS at IoU 0.5 with a score threshold of 0.5 should keep about one box per object and find every object."""
    import functools

    import jax
    import jax.numpy as jnp
    import numpy as np

    from mathdl import data, metrics

    n_img, per = 16, 12
    ds = data.shapes(jax.random.key(1), n_img, size=48, max_objects=3, min_extent=10.0, max_extent=18.0)
    k_jit, k_score = jax.random.split(jax.random.key(2))
    K = ds.boxes.shape[1]
    jitter = 1.5 * jax.random.normal(k_jit, (n_img, K, per, 4), ds.boxes.dtype)
    cand = ds.boxes[:, :, None, :] + jitter
    cand = jnp.concatenate([jnp.minimum(cand[..., :2], cand[..., 2:]), jnp.maximum(cand[..., :2], cand[..., 2:])], -1)
    present = ds.labels >= 0
    own = jax.vmap(jax.vmap(lambda c, t: metrics.box_iou(c, t[None])[:, 0]))(cand, ds.boxes)  # (n, K, per)
    scores = own + 0.05 * jax.random.normal(k_score, own.shape, own.dtype)
    scores = jnp.where(present[..., None], scores, jnp.nan)  # candidates of empty slots are never kept
    cand, scores = cand.reshape(n_img, K * per, 4), scores.reshape(n_img, K * per)

    nms = functools.partial(metrics.nms, iou_threshold=0.5, score_threshold=0.5, max_output=3 * K)
    kept = jax.jit(jax.vmap(nms))(cand, scores)
    # the kept boxes in fixed-size slots (an unused slot holds a zero box) and their IoU with the truth and each other
    kept_boxes = jnp.where(kept.valid[..., None], jnp.take_along_axis(cand, kept.indices[..., None], axis=1), 0.0)
    pair_iou = jax.jit(jax.vmap(metrics.box_iou))
    truth_iou = np.asarray(pair_iou(ds.boxes, kept_boxes))  # (n, K, 3K)
    kept_iou = np.asarray(pair_iou(kept_boxes, kept_boxes))  # (n, 3K, 3K)
    valid, present_np = np.asarray(kept.valid), np.asarray(present)
    truth_iou = np.where(valid[:, None, :], truth_iou, 0.0)
    found = int(((truth_iou.max(axis=2) > 0.5) & present_np).sum())
    both = valid[:, :, None] & valid[:, None, :] & ~np.eye(3 * K, dtype=bool)
    worst = float(np.where(both, kept_iou, 0.0).max())
    n_obj, n_kept = int(present_np.sum()), int(valid.sum())

    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    for i, ax in enumerate(axes):
        ax.imshow(ds.images[i, ..., 0], cmap="gray")
        for c, s in zip(np.asarray(cand[i]), np.asarray(scores[i]), strict=True):
            if np.isfinite(s):
                _draw_box(ax, c, "orange", ":")
        for j in np.asarray(kept.indices[i])[np.asarray(kept.valid[i])]:
            _draw_box(ax, cand[i, j], "red")
        ax.axis("off")
    fig.suptitle("candidates (dotted) and the boxes NMS keeps at IoU 0.5 (red)", fontsize=9)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch6_nms.png", dpi=100)
    plt.close(fig)
    return {"recall_at_0.5": found / n_obj, "kept_per_object": n_kept / n_obj, "max_iou_between_kept": worst}


@register(
    "6",
    "Siamese embedding CNN on digits, batch-hard triplet loss (online hardest-negative mining)",
    expected={"nn_accuracy_before": (0.0, 0.8), "nn_accuracy_after": (0.9, 1.0), "triplet_loss_ratio": (0.0, 0.95)},
)
def triplet_embedding_digits(out_dir: Path) -> dict[str, float]:
    """Embed the 8x8 digits in R^8 (unit sphere); 1-nearest-neighbour accuracy of test against train embeddings
    before and after training; a 2-D PCA picture of the test embeddings."""
    import jax
    import jax.numpy as jnp

    from mathdl import data, losses, models, optim, train

    ds = data.load("digits")
    X = jnp.asarray(ds.X, jnp.float32).reshape(-1, 8, 8, 1)  # data.load has scaled the pixels to [0, 1]
    y = jnp.asarray(ds.y)
    k_split, k_init, k_fit = jax.random.split(jax.random.key(3), 3)
    (Xtr, ytr), (Xte, yte) = data.split(k_split, (X, y), fractions=(0.7, 0.3))
    params = models.init_embedding_net(k_init, (8, 8, 1), 8, widths=(16, 32), dtype=jnp.float32)
    embed = jax.jit(jax.vmap(models.embedding_net, in_axes=(None, 0)))

    def loss_fn(p, batch, key):
        x, labels = batch
        z = jax.vmap(models.embedding_net, in_axes=(None, 0))(p, x)
        n_valid = jnp.maximum(jnp.sum(losses.mine_batch_hard(z, labels).valid), 1).astype(z.dtype)
        return jnp.sum(losses.batch_hard_triplet_loss(z, labels, margin=0.5)) / n_valid

    def nn_accuracy(p):
        a, b = embed(p, Xtr), embed(p, Xte)
        d = jnp.sum((b[:, None, :] - a[None, :, :]) ** 2, axis=-1)
        return float(jnp.mean(ytr[jnp.argmin(d, axis=1)] == yte))

    eval_loss = jax.jit(lambda p: loss_fn(p, (Xte, yte), None))
    before, loss_before = nn_accuracy(params), float(eval_loss(params))
    result = train.fit(
        loss_fn, optim.adam(3e-3), params, (Xtr, ytr), key=k_fit, epochs=10, batch_size=64, progress=False
    )
    after, loss_after = nn_accuracy(result.params), float(eval_loss(result.params))

    z = embed(result.params, Xte)
    z = z - z.mean(0)
    _, _, Vt = jnp.linalg.svd(z, full_matrices=False)
    xy = z @ Vt[:2].T
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=yte, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, label="digit")
    ax.set(title=f"triplet embeddings (test, PCA to 2-D); 1-NN accuracy {after:.3f}", xlabel="PC 1", ylabel="PC 2")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch6_triplet_embedding.png", dpi=100)
    plt.close(fig)
    return {"nn_accuracy_before": before, "nn_accuracy_after": after, "triplet_loss_ratio": loss_after / loss_before}


@register(
    "6",
    "U-Net segmentation of noisy shapes (transposed convolutions, skips), Dice and IoU",
    expected={"dice": (0.85, 1.0), "mask_iou": (0.75, 1.0), "dice_threshold_baseline": (0.3, 0.8)},
)
def unet_segmentation(out_dir: Path) -> dict[str, float]:
    """Shapes under heavy pixel noise (sigma = 0.6): thresholding the pixels at 0.5 segments poorly, a small U-Net
    trained for 3 epochs uses the neighbourhood and does much better."""
    import jax
    import jax.numpy as jnp

    from mathdl import data, losses, metrics, models, optim, train

    k_tr, k_te, k_init, k_fit = jax.random.split(jax.random.key(4), 4)
    tr = data.shapes(k_tr, 256, size=32, max_objects=3, noise=0.6, dtype=jnp.float32)
    te = data.shapes(k_te, 128, size=32, max_objects=3, noise=0.6, dtype=jnp.float32)
    params = models.init_unet(k_init, 1, 1, widths=(8, 16), dtype=jnp.float32)

    def example_loss(p, example):
        x, mask = example
        z = models.unet(p, x)[..., 0]
        return jnp.mean(losses.binary_cross_entropy_with_logits(z, (mask > 0).astype(z.dtype)))

    result = train.fit(
        train.mean_loss(example_loss),
        optim.adam(3e-3),
        params,
        (tr.images, tr.masks),
        key=k_fit,
        epochs=3,
        batch_size=16,
        progress=False,
    )
    logits = jax.jit(jax.vmap(models.unet, in_axes=(None, 0)))(result.params, te.images)[..., 0]
    pred, truth = logits > 0, te.masks > 0
    baseline = metrics.dice_coefficient(te.images[..., 0] > 0.5, truth)

    plt = _plt()
    fig, axes = plt.subplots(3, 4, figsize=(8, 6.4))
    for j in range(4):
        for ax, img, title in zip(
            axes[:, j], (te.images[j, ..., 0], truth[j], pred[j]), ("noisy image", "true mask", "U-Net"), strict=True
        ):
            ax.imshow(img, cmap="gray")
            ax.set_title(title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch6_unet.png", dpi=100)
    plt.close(fig)
    return {
        "dice": float(metrics.dice_coefficient(pred, truth).mean()),
        "mask_iou": float(metrics.mask_iou(pred, truth).mean()),
        "dice_threshold_baseline": float(baseline.mean()),
    }
