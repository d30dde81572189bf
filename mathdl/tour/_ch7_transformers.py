"""Tour, Chapter 7: seq2seq with attention and the transformer on digit reversal, a character-level GPT."""

from pathlib import Path

from mathdl.tour._registry import register


def _reversal_fit(model: str, *, n_train: int, epochs: int, learning_rate: float, seed: int = 0):
    """Train ``model`` ("seq2seq" with attention, or "transformer") on reverse_digits through train.fit.

    Returns ``(exact-match accuracy on 300 held-out examples, params, held-out task)``.
    """
    import jax
    import optax

    from mathdl import data, models, train

    k_data, k_test, k_init, k_fit = jax.random.split(jax.random.key(seed), 4)
    task = data.reverse_digits(k_data, n_train, min_len=1, max_len=6)
    test = data.reverse_digits(k_test, 300, min_len=1, max_len=6)
    V, stop = len(task.tgt_vocab), task.tgt_vocab.stop_id
    if model == "seq2seq":
        params = models.init_seq2seq(k_init, V, V, embed_dim=16, hidden=32, attention=True)
        forward, bind = models.seq2seq, models.condition_seq2seq
    else:
        params = models.init_transformer(k_init, V, V, p=32, num_heads=4, num_layers=2, n_hidden=64)
        forward, bind = models.transformer, models.condition_transformer

    def example_loss(params, example):  # teacher forcing: <start> y_1 ... in, y_1 ... <stop> out
        src, tgt = example
        logits = forward(params, src, tgt[:-1], src_mask=src != 0)
        return models.lm_loss(logits, tgt[1:], mask=tgt[1:] != 0)

    def exact_match(params, batch):
        def one(src, tgt):
            bound = bind(params, src, src_mask=src != 0)
            pred = models.generate(None, bound, tgt[:1], max_len=tgt.shape[0], temperature=0.0, stop_id=stop)
            return models.sequence_exact_match(pred, tgt)

        return {"exact_match": jax.vmap(one)(*batch)}

    batch_size = 64
    schedule = optax.cosine_decay_schedule(learning_rate, epochs * (n_train // batch_size))
    result = train.fit(
        train.mean_loss(example_loss),
        optax.adam(schedule),
        params,
        (task.src, task.tgt),
        key=k_fit,
        epochs=epochs,
        batch_size=batch_size,
        progress=False,
    )
    accuracy = train.evaluate(exact_match, result.params, (test.src, test.tgt), batch_size=300)["exact_match"]
    return accuracy, result.params, test


@register(
    "7",
    "GRU seq2seq with Bahdanau attention reverses digit strings (exact match, attention heat map)",
    expected={"exact_match": (0.95, 1.0), "anti_diagonal_attention": (0.5, 1.0)},
)
def seq2seq_reversal(out_dir: Path) -> dict[str, float]:
    """Bidirectional GRU encoder, additive attention (eq. 7.22), 2000 examples, 5 epochs of Adam."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import models

    accuracy, params, test = _reversal_fit("seq2seq", n_train=2000, epochs=5, learning_rate=1e-2)
    i = int(np.argmax((test.src != 0).sum(axis=1)))  # a longest source
    src, tgt = test.src[i], test.tgt[i]
    n = int((src != 0).sum())
    alpha = np.asarray(models.seq2seq_forward(params, src, tgt[:-1], src_mask=src != 0)["attention"])[:n, :n]
    # output t (predicting y_{t+1} = x_{n-t}) should look at source position n-1-t: the anti-diagonal
    anti = float(np.mean([alpha[t, n - 1 - t] for t in range(n)]))
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(alpha, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(n), list(test.src_vocab.decode(src[:n])))
    ax.set_yticks(range(n), list(test.tgt_vocab.decode(tgt[1 : n + 1])))
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title(f"attention weights (exact match {accuracy:.3f})")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch7_seq2seq_attention.png", dpi=100)
    plt.close(fig)
    return {"exact_match": accuracy, "anti_diagonal_attention": anti}


@register(
    "7",
    "post-LN transformer encoder-decoder reverses digit strings (exact match of greedy decoding)",
    expected={"exact_match": (0.95, 1.0)},
)
def transformer_reversal(out_dir: Path) -> dict[str, float]:
    """Two encoder and two decoder blocks (p = 32, 4 heads), 3000 examples, 12 epochs of Adam with cosine decay."""
    del out_dir
    accuracy, _, _ = _reversal_fit("transformer", n_train=3000, epochs=12, learning_rate=3e-3)
    return {"exact_match": accuracy}


@register(
    "7",
    "character-level GPT on the stdlib docstrings: validation perplexity, a greedy continuation",
    expected={"val_perplexity": (1.0, 16.0), "unigram_perplexity": (15.0, 60.0), "block_count_matches": (1, 1)},
)
def char_gpt(out_dir: Path) -> dict[str, float]:
    """Two causal pre-LN blocks (p = 64), windows of 32 characters; perplexity on the last 10% of the text."""
    import math

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from mathdl import data, models, train

    text = data.stdlib_text(kind="docs", max_chars=80_000)
    vocab = data.vocabulary(text, level="char")
    ids = vocab.encode(text)
    cut = int(0.9 * len(ids))
    T = 32
    X, Y = data.lm_windows(ids[:cut], T, stride=T)
    Xv, Yv = data.lm_windows(ids[cut:], T, stride=T)
    k_init, k_fit = jax.random.split(jax.random.key(0))
    p, heads, n_hidden = 64, 4, 128
    params = models.init_transformer_lm(
        k_init, len(vocab), p=p, num_heads=heads, num_layers=2, n_hidden=n_hidden, max_len=T, norm="pre"
    )
    counted = models.param_count(params.blocks[0]) == models.transformer_block_param_count(p, n_hidden, heads)

    def example_loss(params, example):
        x, y = example
        return models.lm_loss(models.transformer_lm(params, x), y)

    epochs, batch_size = 3, 16
    result = train.fit(
        train.mean_loss(example_loss),
        optax.adam(optax.cosine_decay_schedule(5e-3, epochs * (len(X) // batch_size))),
        params,
        (X, Y),
        key=k_fit,
        epochs=epochs,
        batch_size=batch_size,
        progress=False,
    )
    val = train.evaluate(
        lambda params, batch: {"loss": jax.vmap(lambda x, y: example_loss(params, (x, y)))(*batch)},
        result.params,
        (Xv, Yv),
        batch_size=256,
    )["loss"]
    freq = np.bincount(ids[:cut], minlength=len(vocab)) + 1.0
    log_p = np.log(freq / freq.sum())
    unigram = float(np.exp(-np.mean(log_p[ids[cut:]])))
    prompt = jnp.asarray(vocab.encode("Return the "))
    sample = jax.jit(lambda params: models.generate(None, params, prompt, max_len=T, temperature=0.0))(result.params)
    (Path(out_dir) / "ch7_char_gpt.txt").write_text(vocab.decode(np.asarray(sample)) + "\n")
    return {"val_perplexity": math.exp(val), "unigram_perplexity": unigram, "block_count_matches": int(counted)}
