"""sample text from a language model trained by ``mathdl train --model rnn-lm|lstm-lm|gru-lm|transformer-lm``.

``mathdl generate --checkpoint-dir DIR --prompt TEXT [--length N] [--temperature T] [--top-k K]
[--top-p P] [--beam-width B] [--seed S]``

``mathdl train`` writes ``language_model.json`` (the model's settings and its vocabulary) next to
the checkpoints of a language model; this command rebuilds the model from it, restores the
newest checkpoint that verifies, and continues ``--prompt`` with :func:`mathdl.models.generate`
(sampling at ``--temperature``, optionally restricted to the ``--top-k`` tokens or the ``--top-p``
nucleus; ``--temperature 0`` is greedy) or :func:`mathdl.models.beam_search` (``--beam-width``).
Characters of the prompt that the vocabulary lacks become ``<unk>``.

This module also holds what ``mathdl train`` needs to build and train those language models
(:func:`prepare_language_model`), so that the two commands cannot disagree about a model.
"""

import json
import math
import os
import sys

LM_MODELS = {
    "rnn-lm": "character-level Elman RNN language model ([MEDL] Sec. 7.2)",
    "lstm-lm": "character-level LSTM language model ([MEDL] Sec. 7.3)",
    "gru-lm": "character-level GRU language model, the book's gates ([MEDL] Sec. 7.3)",
    "transformer-lm": "character-level decoder-only transformer, a small GPT ([MEDL] Sec. 7.5)",
}
# text corpora that need no download: name -> data.stdlib_text kind
TEXT_DATA = {"stdlib-text": "docs", "stdlib-source": "source"}
SETTINGS_FILE = "language_model.json"


def configure(parser) -> None:
    """Add the ``mathdl generate`` arguments to ``parser``."""
    parser.add_argument("--checkpoint-dir", required=True, help="the --checkpoint-dir of a language-model run")
    parser.add_argument("--prompt", default="", help="text to continue (default: the <start> token alone)")
    parser.add_argument("--length", type=int, default=200, help="tokens to generate after the prompt (default 200)")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature; 0 is greedy (0.8)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the K most likely tokens")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling with this probability mass")
    parser.add_argument("--beam-width", type=int, default=None, help="beam search of this width instead of sampling")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling")


def _error(message: str) -> int:
    print(f"mathdl generate: {message}", file=sys.stderr)
    return 2


def is_language_model(name: str) -> bool:
    """Whether ``name`` is one of :data:`LM_MODELS`."""
    return name in LM_MODELS


def _init_fn(settings: dict, vocab_size: int):
    """``init(key) -> params`` of the model that ``settings`` describe."""
    import functools

    import jax.numpy as jnp

    from mathdl import models

    if settings["model"] == "transformer-lm":
        p = settings["width"]
        return functools.partial(
            models.init_transformer_lm,
            vocab_size=vocab_size,
            p=p,
            num_heads=settings["heads"],
            num_layers=settings["layers"],
            n_hidden=4 * p,
            max_len=settings["seq_len"],
            norm=settings["norm"],
            dtype=jnp.float32,
        )
    return functools.partial(
        models.init_rnn_lm,
        vocab_size=vocab_size,
        cell=settings["model"].removesuffix("-lm"),
        embed_dim=settings["embed_dim"],
        hidden=settings["width"],
        num_layers=settings["layers"],
        dtype=jnp.float32,
    )


def _apply_fn(settings: dict):
    from mathdl import models

    return models.transformer_lm if settings["model"] == "transformer-lm" else models.rnn_lm


def _text(args, mdata) -> str:
    if args.text_file is not None:
        return mdata.read_text(args.text_file)
    return mdata.stdlib_text(kind=TEXT_DATA[args.data])


def prepare_language_model(args, mdata, refuse) -> dict:
    """The data, params, loss and metrics of a character-level language model for ``mathdl train``.

    The text is encoded character by character, its first 90 % cut into windows of
    ``--seq-len`` inputs with next-character targets ($y^{\\langle t\\rangle} = x^{\\langle t+1\\rangle}$,
    teacher forcing) and its last 10 % into the held-out windows; the loss is the mean per-token
    cross-entropy, so ``exp(test loss)`` is the held-out perplexity per character.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from mathdl import losses, models

    if args.data not in TEXT_DATA and args.text_file is None:
        refuse(
            f"--data {args.data!r} is not text; the language models train on {', '.join(TEXT_DATA)} or a --text-file"
        )
    for flag, value in (("--seq-len", args.seq_len), ("--width", args.width), ("--layers", args.layers)):
        if value is not None and value < 1:
            refuse(f"{flag} expected an integer >= 1, got {value}")
    text = _text(args, mdata)
    if args.max_chars is not None:
        text = text[: args.max_chars]
    vocab = mdata.vocabulary(text, level="char")
    ids = np.asarray(vocab.encode(text), np.int32)
    T = args.seq_len or 64
    cut = int(0.9 * len(ids))
    Xtr, Ytr = mdata.lm_windows(ids[:cut], T)
    Xte, Yte = mdata.lm_windows(ids[cut:], T)
    if len(Xtr) == 0 or len(Xte) == 0:
        refuse(f"the text has {len(ids)} characters: too few for windows of --seq-len {T} in its 90/10 parts")
    transformer = args.model == "transformer-lm"
    settings = {
        "model": args.model,
        "data": "text-file" if args.text_file else args.data,
        "seq_len": T,
        "width": args.width or (128 if transformer else 256),
        "layers": args.layers or (2 if transformer else 1),
        "heads": args.heads if transformer else None,
        "norm": args.norm if transformer else None,
        "embed_dim": None if transformer else args.embed_dim,
        "vocabulary": list(vocab.tokens),
    }
    if transformer and settings["width"] % settings["heads"]:
        refuse(f"--width {settings['width']} must be a multiple of --heads {settings['heads']}")
    init = _init_fn(settings, len(vocab))
    apply = jax.vmap(_apply_fn(settings), in_axes=(None, 0))
    k_init, k_fit = jax.random.split(jax.random.fold_in(jax.random.key(args.seed), 2))
    params = jax.jit(init)(k_init)

    def loss(theta, batch, key):
        X, Y = batch
        return jnp.mean(jax.vmap(models.lm_loss)(apply(theta, X), Y))

    def metrics(theta, batch):
        X, Y = batch
        logits = apply(theta, X)
        return {
            "loss": jnp.mean(losses.softmax_cross_entropy(logits, Y), axis=-1),
            "accuracy": jnp.mean(jnp.argmax(logits, axis=-1) == Y, axis=-1).astype(logits.dtype),
        }

    def report(train_metrics, test_metrics):
        print(
            f"perplexity per character: train {math.exp(train_metrics['loss']):.3f}  "
            f"test {math.exp(test_metrics['loss']):.3f}  (uniform {len(vocab)})"
        )

    def before_training(checkpoint_dir):
        if checkpoint_dir is not None:
            os.makedirs(checkpoint_dir, exist_ok=True)
            with open(os.path.join(checkpoint_dir, SETTINGS_FILE), "w", encoding="utf-8") as fh:
                json.dump({**settings, "run": run_settings}, fh)

    run_settings: dict = {}  # filled by mathdl train with the optimizer settings before training
    widths = f"width {settings['width']}, {settings['layers']} layer(s)"
    return {
        "train": (Xtr, Ytr),
        "test": (Xte, Yte),
        "num_classes": len(vocab),
        "params": params,
        "loss": loss,
        "metrics": metrics,
        "key": k_fit,
        "config": {k: v for k, v in settings.items() if k != "vocabulary"} | {"vocabulary_size": len(vocab)},
        "description": f"{models.param_count(params):,} params, {widths}, d_V {len(vocab)}, T {T}",
        "report": report,
        "before_training": before_training,
        "run_settings": run_settings,
    }


def run(args) -> int:
    """Run ``mathdl generate``; returns the exit status (0, or 2 for a bad argument or folder)."""
    if args.length < 1:
        return _error(f"--length expected an integer >= 1, got {args.length}")
    if args.temperature < 0:
        return _error(f"--temperature expected a number >= 0, got {args.temperature}")
    if args.beam_width is not None and args.beam_width < 1:
        return _error(f"--beam-width expected an integer >= 1, got {args.beam_width}")
    path = os.path.join(args.checkpoint_dir, SETTINGS_FILE)
    if not os.path.isfile(path):
        return _error(
            f"{args.checkpoint_dir!r} holds no {SETTINGS_FILE}: give the --checkpoint-dir of a "
            f"`mathdl train --model {'|'.join(LM_MODELS)}` run"
        )
    with open(path, encoding="utf-8") as fh:
        settings = json.load(fh)

    import jax
    import numpy as np

    from mathdl import data as mdata
    from mathdl import models, train
    from mathdl.cli._train import optimizer_from_settings

    vocab = mdata.Vocabulary(settings["vocabulary"], level="char")
    init = _init_fn(settings, len(vocab))
    params = jax.eval_shape(init, jax.random.key(0))
    optimizer = optimizer_from_settings(settings["run"])
    template = {"state": train.FitState(params, jax.eval_shape(optimizer.init, params), ()), "step": np.int64(0)}
    if not train.list_checkpoints(args.checkpoint_dir):
        return _error(f"{args.checkpoint_dir!r} holds no checkpoint yet")
    found = train.restore_latest(args.checkpoint_dir, template, verbose=False)
    if found is None:
        return _error(f"no checkpoint in {args.checkpoint_dir!r} verifies")
    tree, _, folder = found
    step = int(tree["step"])
    params = jax.tree.map(jax.numpy.asarray, tree["state"].params)
    prompt = vocab.encode(args.prompt) if args.prompt else np.array([vocab.start_id], np.int32)
    max_len = len(prompt) + args.length
    if settings["model"] == "transformer-lm" and max_len > settings["seq_len"]:
        return _error(
            f"--length {args.length} with a {len(prompt)}-character prompt exceeds the transformer's "
            f"{settings['seq_len']} positions (--seq-len it was trained with)"
        )
    try:
        if args.beam_width is not None:
            out = models.beam_search(params, prompt, beam_width=args.beam_width, max_len=max_len).tokens[0]
        else:
            out = models.generate(
                jax.random.key(args.seed),
                params,
                prompt,
                max_len=max_len,
                temperature=args.temperature,
                top_k=args.top_k,
                top_p=args.top_p,
            )
    except (ValueError, TypeError) as exc:
        return _error(str(exc))
    ids = [int(i) for i in np.asarray(out) if int(i) not in (vocab.start_id, vocab.pad_id)]
    print(f"# {settings['model']} from {folder} (step {step})", file=sys.stderr)
    print(vocab.decode(ids))
    return 0
