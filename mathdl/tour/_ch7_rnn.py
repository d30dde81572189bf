"""Tour, Chapter 7 (recurrent networks): vanishing and exploding adjoints; a character GRU language model."""

from pathlib import Path

from mathdl.tour._registry import register


@register(
    "7",
    "BPTT adjoints (eq. 7.12): ||zeta<1>|| / ||zeta<T>|| = rho^(T-1) vanishes for rho = 0.5, explodes for 1.5",
    expected={
        "log10_ratio_rho_0.5": (-6.1, -5.9),
        "log10_ratio_rho_1.0": (-0.01, 0.01),
        "log10_ratio_rho_1.5": (3.4, 3.6),
    },
)
def adjoint_norms(out_dir: Path) -> dict[str, float]:
    """Adjoint norms over t = 1..21 for W_hh = rho Q (Q orthogonal), identity activation, loss on the last step."""
    import jax
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mathdl import models

    T = 21
    norms = jax.jit(models.bptt_adjoint_norms, static_argnames=("T",))  # rho is traced: one compile
    curves = {rho: np.asarray(norms(jax.random.key(0), spectral_radius=rho, T=T)) for rho in (0.5, 1.0, 1.5)}

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for rho, n in curves.items():
        ax.semilogy(np.arange(1, T + 1), n, label=f"rho = {rho}")
    ax.set_xlabel("t")
    ax.set_ylabel("||zeta<t>||")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "ch7_adjoint_norms.png", dpi=120)
    plt.close(fig)
    return {f"log10_ratio_rho_{rho}": float(np.log10(n[0] / n[-1])) for rho, n in curves.items()}


@register(
    "7",
    "a character GRU language model on the stdlib docstrings (teacher forcing, Adam): held-out perplexity",
    expected={
        "uniform_perplexity": (60.0, 200.0),
        "gru_perplexity": (1.0, 20.0),
        "uniform_over_gru": (3.0, 100.0),
    },
)
def char_gru_lm(out_dir: Path) -> dict[str, float]:
    """Train a GRU LM (embed 16, hidden 96) on 40,000 characters for 150 Adam steps; score the next 4,000."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from mathdl import data, models

    del out_dir
    text = data.stdlib_text(max_chars=44_000)
    vocab = data.vocabulary(text)
    ids = vocab.encode(text)
    d_V = len(vocab)
    train_in, train_tg = (jnp.asarray(a) for a in data.lm_windows(ids[:40_000], 32, stride=16))
    test_in, test_tg = data.lm_windows(ids[40_000:], 32)
    params = models.init_rnn_lm(jax.random.key(0), d_V, cell="gru", embed_dim=16, hidden=96, dtype=jnp.float32)
    opt = optax.adam(1e-2)

    def batch_loss(q, X, Y):
        logits = jax.vmap(models.rnn_lm, in_axes=(None, 0))(q, X)
        return jnp.mean(jax.vmap(models.lm_loss)(logits, Y))  # teacher forcing: true tokens in, next out

    @jax.jit
    def fit(q, key):
        idx = jax.random.randint(key, (150, 32), 0, train_in.shape[0])

        def step(carry, i):
            q, s = carry
            g = jax.grad(batch_loss)(q, train_in[i], train_tg[i])
            u, s = opt.update(g, s, q)
            return (optax.apply_updates(q, u), s), None

        (q, _), _ = jax.lax.scan(step, (q, opt.init(q)), idx)
        return q

    with jax.numpy_dtype_promotion("standard"):  # Optax mixes int counts with floats
        params = fit(params, jax.random.key(1))
    test_loss = float(jax.jit(batch_loss)(params, jnp.asarray(test_in), jnp.asarray(test_tg)))
    ppl = float(np.exp(test_loss))
    return {"uniform_perplexity": float(d_V), "gru_perplexity": ppl, "uniform_over_gru": d_V / ppl}
