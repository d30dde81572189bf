"""draw samples from a generative model trained by ``mathdl train --model vae|ddpm|gan|wgan-gp``.

``mathdl sample --checkpoint-dir DIR [-n N] [--out F.png] [--sampler ddpm|ddim] [--steps K] [--seed S]
[--save-npy F.npy]``

``mathdl train`` writes ``generative_model.json`` (the run's settings) next to the checkpoints of a
generative model; this command rebuilds the model from it, restores the newest checkpoint that
verifies (:func:`mathdl.train.restore_latest`) and writes ``N`` samples as a PNG: a scatter over
fresh data for a 2-D toy, a grid for images. A DDPM samples with its ancestral chain (``ddpm``,
all ``T`` steps) or with DDIM on ``--steps K`` of them (``ddim``, deterministic given the noise).
"""

import json
import sys
from pathlib import Path


def configure(parser) -> None:
    """Add the ``mathdl sample`` arguments to ``parser``."""
    parser.add_argument("--checkpoint-dir", required=True, help="the --checkpoint-dir of a generative run")
    parser.add_argument("-n", "--num-samples", type=int, default=64, help="samples to draw (default 64)")
    parser.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    parser.add_argument("--sampler", default="ddpm", help="ddpm models: ddpm (ancestral) or ddim (default ddpm)")
    parser.add_argument("--steps", type=int, default=None, help="ddim: number of sampling steps K (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    parser.add_argument("--save-npy", default=None, help="also save the samples as a NumPy .npy file")


def _error(message: str) -> int:
    print(f"mathdl sample: {message}", file=sys.stderr)
    return 2


def run(args) -> int:
    """Run ``mathdl sample``; returns the exit status (0, 2 for bad arguments or a folder without a model)."""
    from mathdl.cli._trainers.generative import IMAGE_DATA, SETTINGS_FILE

    folder = Path(args.checkpoint_dir)
    settings_path = folder / SETTINGS_FILE
    if not settings_path.is_file():
        return _error(
            f"--checkpoint-dir {str(folder)!r} holds no {SETTINGS_FILE}; train a generative model into it first "
            "(mathdl train --model vae|ddpm|gan|wgan-gp --checkpoint-dir DIR)"
        )
    if args.num_samples < 1:
        return _error(f"-n expected an integer >= 1, got {args.num_samples}")
    if args.sampler not in ("ddpm", "ddim"):
        return _error(f"--sampler expected ddpm or ddim, got {args.sampler!r}")
    try:
        settings = json.loads(settings_path.read_text())
    except (OSError, ValueError) as exc:
        return _error(f"cannot read {settings_path}: {exc}")
    if settings["model"] != "ddpm" and (args.sampler != "ddpm" or args.steps is not None):
        return _error(f"--sampler and --steps apply to ddpm models, not to {settings['model']!r}")
    if args.steps is not None and (args.sampler != "ddim" or not 1 <= args.steps <= settings["timesteps"]):
        return _error(f"--steps expected 1..{settings['timesteps']} with --sampler ddim, got {args.steps}")

    import jax
    import numpy as np

    from mathdl import data, train
    from mathdl.cli._trainers.generative import Model, save_samples_png, state_template

    model = Model(settings)
    template = {"state": state_template(model), "step": np.int64(0)}
    try:
        found = train.restore_latest(folder, template, verbose=False)
    except train.CheckpointError as exc:
        return _error(str(exc))
    if found is None:
        return _error(f"--checkpoint-dir {str(folder)!r} holds no checkpoint that verifies")
    tree, _, path = found
    samples = model.sample(
        tree["state"], jax.random.key(args.seed), args.num_samples, sampler=args.sampler, steps=args.steps
    )
    is_image = settings["data"] in IMAGE_DATA
    reference = None
    if not is_image:
        reference = np.asarray(data.load_toy2d(settings["data"], jax.random.key(args.seed + 1), n=1000).X)
    how = f", {args.sampler}" + (f" {args.steps} steps" if args.steps else "") if settings["model"] == "ddpm" else ""
    try:
        save_samples_png(
            args.out,
            samples,
            shape=model.shape if is_image else None,
            reference=reference,
            title=f"{settings['model']} on {settings['data']}, step {int(tree['step'])}{how}",
        )
        if args.save_npy:
            np.save(args.save_npy, np.asarray(samples))
    except OSError as exc:
        print(f"mathdl sample: could not write {args.out!r}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{args.num_samples} samples of {settings['model']} on {settings['data']} (checkpoint {path}) -> {args.out}")
    print(f"params sha256 {train.tree_digest(model.params(tree['state']))}")
    return 0
