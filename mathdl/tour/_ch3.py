"""Tour, Chapter 3: softmax regression on digits, logistic regression on breast cancer."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "3",
    "Softmax regression on digits (L-BFGS, 70/30 split)",
    expected={"test_accuracy": (0.93, 0.99), "train_accuracy": (0.97, 1.0)},
)
def softmax_digits(out_dir: Path) -> dict[str, float]:
    """Multinomial logistic regression on the 8x8 digits, a small ridge term (the data are separable)."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, estimators, metrics

    train, test = data.split(jax.random.key(0), data.load("digits"), fractions=(0.7, 0.3))
    # l2 = 1e-3: without it the training digits are linearly separable and the MLE does not exist.
    fit = jax.jit(lambda X, y: estimators.fit_softmax(X, y, num_classes=10, l2=1e-3, max_iter=300))(train.X, train.y)
    pred_tr = estimators.argmax_rule(estimators.predict_softmax(fit.params, train.X))
    pred_te = estimators.argmax_rule(estimators.predict_softmax(fit.params, test.X))
    acc_tr = float(metrics.accuracy(train.y, pred_tr))
    acc_te = float(metrics.accuracy(test.y, pred_te))
    cm = np.asarray(metrics.confusion_matrix(test.y, pred_te, num_classes=10))

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.imshow(cm, cmap="Blues")
    for i in range(10):
        for j in range(10):
            ax0.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7)
    ax0.set(xlabel="predicted", ylabel="true", title=f"test confusion matrix (accuracy {acc_te:.3f})")
    W = np.asarray(fit.params.W)
    ax1.imshow(np.concatenate([w.reshape(8, 8) for w in W], axis=1), cmap="RdBu")
    ax1.set(title="rows of $W$ as 8x8 images (classes 0-9)", xticks=[], yticks=[])
    fig.tight_layout()
    fig.savefig(out_dir / "ch3_softmax_digits.png", dpi=100)
    plt.close(fig)
    return {"test_accuracy": acc_te, "train_accuracy": acc_tr}


@register(
    "3",
    "Logistic regression on breast cancer (Newton/IRLS, standardised)",
    expected={"test_accuracy": (0.93, 1.0), "test_auc": (0.97, 1.0), "newton_steps": (3.0, 20.0)},
)
def logistic_breast_cancer(out_dir: Path) -> dict[str, float]:
    """Binary logistic regression, standardisation fitted on the training split, ROC on the test split."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import data, estimators, metrics

    train, test = data.split(jax.random.key(0), data.load("breast_cancer"), fractions=(0.7, 0.3))
    stats = data.fit_standardizer(train.X)
    Xtr, Xte = data.standardize(stats, train.X), data.standardize(stats, test.X)
    # l2 = 1e-2 (sklearn C ~ 0.25): 30 standardised features nearly separate the training set.
    fit = jax.jit(lambda X, y: estimators.fit_logistic(X, y, l2=1e-2, tol=1e-6))(Xtr, train.y)
    prob = estimators.predict_logistic(fit.params, Xte)
    acc = float(metrics.accuracy(test.y, estimators.threshold_rule(prob)))
    auc = float(metrics.roc_auc(test.y, prob))
    fpr, tpr, _ = metrics.roc_curve(test.y, prob)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.plot(np.asarray(fpr), np.asarray(tpr), label=f"AUC = {auc:.3f}")
    ax0.plot([0, 1], [0, 1], "k:", lw=1)
    ax0.set(xlabel="false positive rate", ylabel="true positive rate", title="test ROC curve")
    ax0.legend()
    n = int(fit.num_iter)
    ax1.semilogy(np.arange(n + 1), np.asarray(fit.loss_history[: n + 1]) - float(fit.loss_history[n]) + 1e-8, "o-")
    ax1.set(xlabel="Newton step", ylabel="$C(\\theta_t) - C(\\theta_{final})$ + 1e-8", title="quadratic convergence")
    fig.tight_layout()
    fig.savefig(out_dir / "ch3_logistic_breast_cancer.png", dpi=100)
    plt.close(fig)
    return {"test_accuracy": acc, "test_auc": auc, "newton_steps": float(n)}
