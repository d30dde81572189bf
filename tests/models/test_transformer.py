"""Tests of the transformer blocks, the encoder-decoder and the causal LM with its KV cache ([MEDL] Sec. 7.5)."""

import functools

import chex
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import models
from tests._oracles import need
from tests._tolerances import tol
from tests.models._params import normal, random_params

P, H, N1 = 8, 2, 12  # width, heads, feed-forward width of the small blocks


@functools.cache
def _lm(norm):
    return random_params(
        models.init_transformer_lm, 11, p=P, num_heads=H, num_layers=2, n_hidden=N1, max_len=9, norm=norm
    )


# ------------------------------------------------------------------ worked values


def test_block_param_count_by_hand():
    """Worked value, eq. (7.32) with p=4, N1=8, H=2, m=m_v=2: 16 + 64 + 8 + 4 + 2(16 + 16) = 156; decoder +64 +8."""
    assert models.transformer_block_param_count(4, 8, 2) == 156
    assert models.transformer_block_param_count(4, 8, 2, decoder=True) == 228
    enc = jax.eval_shape(lambda k: models.init_encoder_block(k, 4, 2, 8), jax.random.key(0))
    dec = jax.eval_shape(lambda k: models.init_decoder_block(k, 4, 2, 8), jax.random.key(0))
    assert models.param_count(enc) == 156 and models.param_count(dec) == 228


@pytest.mark.parametrize("p, n1, h, m, m_v", [(8, 12, 2, None, None), (6, 5, 3, 4, 1), (16, 64, 4, 3, 5)])
def test_block_param_count_equals_the_pytree(p, n1, h, m, m_v):
    """Property: the formula counts the initialised pytree, for default and uneven head widths."""
    for decoder, init in ((False, models.init_encoder_block), (True, models.init_decoder_block)):
        tree = jax.eval_shape(lambda k, init=init: init(k, p, h, n1, m=m, m_v=m_v), jax.random.key(0))
        assert models.param_count(tree) == models.transformer_block_param_count(p, n1, h, m=m, m_v=m_v, decoder=decoder)


# ------------------------------------------------------------------ oracle: torch in float64


def _t(torch, a):
    return torch.from_numpy(np.array(a))  # a writable copy


def _torch_mha(torch, mha, attn):
    """Copy MultiHeadParams into torch.nn.MultiheadAttention (heads stacked; W_c^h = W_O's h-th column block)."""
    Hh, m, p = attn.W_q.shape
    flat = [np.asarray(w).reshape(Hh * m, p) for w in (attn.W_q, attn.W_k, attn.W_v)]
    mha.in_proj_weight.copy_(_t(torch, np.concatenate(flat)))
    mha.in_proj_bias.zero_()
    mha.out_proj.weight.copy_(_t(torch, np.asarray(attn.W_c).transpose(1, 0, 2).reshape(p, -1)))
    mha.out_proj.bias.zero_()


def _torch_copy(torch, linear, dense_params):
    linear.weight.copy_(_t(torch, dense_params.W))
    linear.bias.copy_(_t(torch, dense_params.b))


def _torch_ln(torch, norm, ln):
    norm.weight.copy_(_t(torch, ln.gamma))
    norm.bias.copy_(_t(torch, ln.beta))


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_encoder_block_matches_torch(norm):
    """Oracle: torch.nn.TransformerEncoderLayer in float64 (norm_first for pre-LN, dropout 0), with a padding mask."""
    torch = need("torch")
    params = random_params(models.init_encoder_block, P, H, N1)
    x = normal(0, (5, P))
    valid = jnp.array([True, True, True, True, False])
    got = models.encoder_block(params, x, mask=jnp.broadcast_to(valid, (5, 5)), norm=norm)
    layer = torch.nn.TransformerEncoderLayer(
        P, H, N1, dropout=0.0, batch_first=True, norm_first=norm == "pre", dtype=torch.float64
    )
    with torch.no_grad():
        _torch_mha(torch, layer.self_attn, params.attn)
        _torch_copy(torch, layer.linear1, params.ffn.hidden)
        _torch_copy(torch, layer.linear2, params.ffn.out)
        _torch_ln(torch, layer.norm1, params.ln1)
        _torch_ln(torch, layer.norm2, params.ln2)
        layer.eval()
        pad = _t(torch, ~np.asarray(valid))[None]
        want = layer(_t(torch, x)[None], src_key_padding_mask=pad)[0].numpy()
    np.testing.assert_allclose(got, want, **tol(jnp.float64, composite=True))


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_decoder_block_matches_torch(norm):
    """Oracle: torch.nn.TransformerDecoderLayer in float64: causal self-attention, cross-attention to z*, FFN."""
    torch = need("torch")
    params = random_params(models.init_decoder_block, P, H, N1)
    y, z = normal(1, (4, P)), normal(2, (6, P))
    got = models.decoder_block(params, y, z, norm=norm)
    layer = torch.nn.TransformerDecoderLayer(
        P, H, N1, dropout=0.0, batch_first=True, norm_first=norm == "pre", dtype=torch.float64
    )
    with torch.no_grad():
        _torch_mha(torch, layer.self_attn, params.self_attn)
        _torch_mha(torch, layer.multihead_attn, params.cross_attn)
        _torch_copy(torch, layer.linear1, params.ffn.hidden)
        _torch_copy(torch, layer.linear2, params.ffn.out)
        for tn, ln in ((layer.norm1, params.ln1), (layer.norm2, params.ln2), (layer.norm3, params.ln3)):
            _torch_ln(torch, tn, ln)
        layer.eval()
        causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
        yt, zt = _t(torch, y)[None], _t(torch, z)[None]
        want = layer(yt, zt, tgt_mask=causal, tgt_is_causal=True)[0].numpy()
    np.testing.assert_allclose(got, want, **tol(jnp.float64, composite=True))


def test_feed_forward_by_hand():
    """Worked value: W2 ReLU(W1 u + b1) + b2 per row, in NumPy."""
    params = random_params(models.init_feed_forward, 3, 4)
    x = normal(3, (2, 3))
    h = np.maximum(np.asarray(x) @ np.asarray(params.hidden.W).T + np.asarray(params.hidden.b), 0.0)
    want = h @ np.asarray(params.out.W).T + np.asarray(params.out.b)
    np.testing.assert_allclose(models.feed_forward(params, x), want, **tol(jnp.float64, composite=True))


# ------------------------------------------------------------------ the LM and its KV cache


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_kv_cache_equals_recomputation(norm):
    """Oracle: feeding tokens one at a time through the cache gives the full forward pass's logits."""
    params = _lm(norm)
    tokens = jnp.array([3, 1, 4, 1, 5, 9, 2])
    full = jax.jit(models.transformer_lm)(params, tokens)

    def feed(cache, xs):
        logits, cache = models.transformer_lm_step(params, cache, *xs)
        return cache, logits

    run = jax.jit(lambda cache: jax.lax.scan(feed, cache, (tokens, jnp.arange(7, dtype=jnp.int32)))[1])
    stepped = run(models.init_kv_cache(params))
    np.testing.assert_allclose(stepped, full, **tol(jnp.float64, composite=True))
    assert (params.final_ln is None) == (norm == "post")


def test_lm_is_causal():
    """Property: changing token t changes no logits before t (causal mask, eq. 7.27)."""
    params = _lm("post")
    a, b = jax.jit(jax.vmap(models.transformer_lm, in_axes=(None, 0)))(
        params, jnp.array([[3, 1, 4, 1, 5], [3, 1, 4, 7, 0]])
    )
    np.testing.assert_allclose(a[:3], b[:3], **tol(jnp.float64))
    assert np.abs(np.asarray(a[3:] - b[3:])).max() > 1e-3


def test_lm_jit_vmap_and_shapes(transform):
    """Transforms: jit equals eager; vmap over a batch equals a loop; the logits are (T, d_V)."""
    params = _lm("pre")
    batch = jnp.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    got = transform(jax.vmap(models.transformer_lm, in_axes=(None, 0)))(params, batch)
    chex.assert_shape(got, (2, 4, 11))
    for i in range(2):
        np.testing.assert_allclose(got[i], models.transformer_lm(params, batch[i]), **tol(jnp.float64, composite=True))


def test_encoder_block_gradients():
    """Transforms: check_grads to order 2 of a pre-LN encoder block in its input and its parameters (small)."""
    params = random_params(models.init_encoder_block, 4, 2, 3)
    x = normal(4, (2, 4))
    f = jax.jit(lambda params, x: jnp.sum(jnp.sin(models.encoder_block(params, x, norm="pre"))))
    jax.test_util.check_grads(f, (params, x), order=2, modes=("rev",))


def test_transformer_teacher_forcing_matches_decoding():
    """Oracle: greedy decoding of the encoder-decoder equals the teacher-forced argmax on its own output."""
    params = random_params(models.init_transformer, 7, 9, p=P, num_heads=H, num_layers=1, n_hidden=N1)
    src, mask = jnp.array([1, 2, 3, 0]), jnp.array([True, True, True, False])

    @jax.jit
    def both(params, src):
        bound = models.condition_transformer(params, src, src_mask=mask)
        got = models.generate(None, bound, jnp.array([1]), max_len=5, temperature=0.0)
        forced = models.transformer(params, src, got[:-1], src_mask=mask)  # causal: row t sees got[:t+1]
        other_pad = models.transformer(params, src.at[3].set(6), got[:-1], src_mask=mask)
        return got, forced, other_pad

    got, forced, other_pad = both(params, src)
    np.testing.assert_array_equal(got[1:], jnp.argmax(forced, axis=-1))
    np.testing.assert_allclose(forced, other_pad, **tol(jnp.float64))  # the masked pad position is invisible


# ------------------------------------------------------------------ bad input


def test_bad_inputs():
    """Bad input: a batch of tokens (vmap hint), too many tokens, an unknown norm, a head count not dividing p."""
    params = _lm("post")
    with pytest.raises(ValueError, match=r"models.transformer_lm: argument `tokens` expected one example .*jax.vmap"):
        models.transformer_lm(params, jnp.zeros((2, 3), jnp.int32))
    with pytest.raises(ValueError, match=r"argument `tokens` expected at most max_len = 9 tokens, got shape \(10,\)"):
        models.transformer_lm(params, jnp.zeros((10,), jnp.int32))
    with pytest.raises(ValueError, match=r"models.encoder_block: argument `norm` expected one of \['post', 'pre'\]"):
        models.encoder_block(params.blocks[0], normal(0, (3, P)), norm="mid")
    with pytest.raises(
        ValueError, match=r"models.init_encoder_block: argument `num_heads` expected a divisor of p = 8"
    ):
        models.init_encoder_block(jax.random.key(0), 8, 3, 4)
    with pytest.raises(ValueError, match=r"models.encoder_block: argument `x` expected shape \(\*, 8\)|expected shape"):
        models.encoder_block(params.blocks[0], normal(0, (3, 5)))
    with pytest.raises(ValueError, match=r"argument `tokens` expected token ids in|outside|expected"):
        models.transformer_lm(params, jnp.array([1, 11]))


@pytest.mark.slow
def test_transformer_learns_digit_reversal():
    """Property: the post-LN encoder-decoder trained through train.fit reverses >= 95% of held-out strings exactly."""
    from mathdl import data, optim, train

    k_data, k_test, k_init, k_fit = jax.random.split(jax.random.key(2), 4)
    task = data.reverse_digits(k_data, 2000, min_len=1, max_len=4)
    test = data.reverse_digits(k_test, 200, min_len=1, max_len=4)
    V, stop = len(task.tgt_vocab), task.tgt_vocab.stop_id
    params = models.init_transformer(k_init, V, V, p=32, num_heads=4, num_layers=2, n_hidden=64, dtype=jnp.float32)

    def example_loss(params, example):
        src, tgt = example
        return models.lm_loss(models.transformer(params, src, tgt[:-1], src_mask=src != 0), tgt[1:], mask=tgt[1:] != 0)

    def exact_match(params, batch):
        def one(src, tgt):
            bound = models.condition_transformer(params, src, src_mask=src != 0)
            pred = models.generate(None, bound, tgt[:1], max_len=tgt.shape[0], temperature=0.0, stop_id=stop)
            return models.sequence_exact_match(pred, tgt)

        return {"exact_match": jax.vmap(one)(*batch)}

    epochs = 8
    n_steps = epochs * (2000 // 50)

    def cosine(step):  # optax's schedule mixes int and float, which the tests' strict promotion refuses
        frac = jnp.minimum(jnp.asarray(step, jnp.float32) / n_steps, 1.0)
        return 1.5e-3 * (1.0 + jnp.cos(jnp.pi * frac))

    opt = optim.adam(cosine)
    result = train.fit(train.mean_loss(example_loss), opt, params, (task.src, task.tgt), key=k_fit, epochs=epochs,
                       batch_size=50, progress=False)  # fmt: skip
    accuracy = train.evaluate(exact_match, result.params, (test.src, test.tgt), batch_size=200)["exact_match"]
    assert accuracy >= 0.95
