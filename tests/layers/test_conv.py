"""Tests of mathdl.layers convolution ([MEDL] Ch. 6, Sec. 6.2-6.3): conv1d/conv2d, the three paths,
the flipped-kernel convolution, the transposed convolution and the written backward pass."""

import functools

import chex
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from mathdl import layers
from mathdl.layers import (
    CONV_PATHS,
    Conv1dParams,
    Conv2dParams,
    DenseParams,
    conv1d,
    conv2d,
    conv2d_backward,
    conv2d_reference,
    conv_output_size,
    conv_param_count,
    conv_transpose2d,
    convolve1d,
    convolve2d,
    default_conv_path,
    dense,
    init_conv1d,
    init_conv2d,
    init_conv_transpose2d,
)
from tests._oracles import need
from tests._tolerances import tol

TOL = tol(np.float64, composite=True)

# (H, W, C, C_out, K, stride, padding, dilation, groups): plain, strided, padded, dilated,
# asymmetric, "same" with stride, grouped, depthwise, 1x1, rectangular kernel
GRID = [
    (6, 7, 1, 1, 3, 1, "valid", 1, 1),
    (9, 9, 3, 4, 3, 2, 1, 1, 1),
    (8, 10, 4, 6, 3, (2, 1), "same", 2, 2),
    (7, 7, 4, 4, 3, 1, ((1, 2), (0, 1)), 1, 4),
    (6, 5, 3, 5, 1, 1, "valid", 1, 1),
    (9, 8, 2, 3, (2, 3), (3, 2), (1, 2), (2, 1), 1),
    (5, 5, 6, 6, 3, 2, "same", 1, 3),
]
IDS = ["plain", "stride-pad", "same-dil-groups", "asym-depthwise", "1x1", "rect", "same-stride-groups"]


@pytest.fixture
def rng():
    """Test data from NumPy: no PRNG program to compile per shape (compiling dominates these tests)."""
    return np.random.default_rng(0)


def _normal(rng, shape):
    return jnp.asarray(rng.normal(size=shape))


def _params(rng, c_in, c_out, k, *, groups=1, bias=True, cls=Conv2dParams):
    """Random He-scaled parameters of the init_conv2d layout (init itself is tested on its own)."""
    ks = (k, k) if isinstance(k, int) and cls is Conv2dParams else ((k,) if isinstance(k, int) else tuple(k))
    fan_in = int(np.prod(ks)) * (c_in // groups)
    W = _normal(rng, (*ks, c_in // groups, c_out)) * np.sqrt(2.0 / fan_in)
    return cls(W, _normal(rng, (c_out,)) if bias else None)


def _params1(rng, c_in, c_out, k, *, groups=1, bias=True):
    return _params(rng, c_in, c_out, k, groups=groups, bias=bias, cls=Conv1dParams)


def _case(rng, H, W, C, C_out, K, groups, *, bias=True):
    return _params(rng, C, C_out, K, groups=groups, bias=bias), _normal(rng, (H, W, C))


def _jit(fn, **kw):
    """``fn`` with its static keywords bound, under jax.jit: one compile instead of one per eager op."""
    return jax.jit(functools.partial(fn, **kw))


# ------------------------------------------------------------------ worked values


def test_worked_d2l_2x2():
    """By hand (D2L Sec. 7.2): X = [[0,1,2],[3,4,5],[6,7,8]], K = [[0,1],[2,3]] -> [[19,25],[37,43]]."""
    X = jnp.arange(9.0).reshape(3, 3, 1)
    p = Conv2dParams(jnp.array([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1, 1), None)
    for path in CONV_PATHS:
        np.testing.assert_allclose(conv2d(p, X, path=path)[..., 0], [[19.0, 25.0], [37.0, 43.0]], **tol(np.float64))


def test_worked_fig_6_3_six_by_seven():
    """Fig. 6.3: a 6x7 input and a 3x3 kernel give 4x5; with x = arange and W = 1 each entry is 9x the centre."""
    x = jnp.arange(42.0).reshape(6, 7, 1)
    p = Conv2dParams(jnp.ones((3, 3, 1, 1)), jnp.zeros(1))
    z = conv2d_reference(p, x)
    assert z.shape == (4, 5, 1)
    np.testing.assert_allclose(z[..., 0], 9.0 * x[1:5, 1:6, 0], **tol(np.float64))
    assert float(z[0, 0, 0]) == 0 + 1 + 2 + 7 + 8 + 9 + 14 + 15 + 16


def test_worked_fig_6_9_channels_sum(rng):
    """Fig. 6.9: a 9x9x3 input with a 3x3x3 kernel gives 7x7, the sum of the three per-channel maps."""
    p, x = _case(rng, 9, 9, 3, 1, 3, 1)
    z = conv2d(p, x)
    assert z.shape == (7, 7, 1)
    per_channel = sum(conv2d(Conv2dParams(p.W[:, :, c : c + 1], None), x[..., c : c + 1])[..., 0] for c in range(3))
    np.testing.assert_allclose(z[..., 0], per_channel + p.b[0], **TOL)


def test_conv1d_worked():
    """By hand: x = (1, 2, 3, 4), w = (1, -1) -> (x_t - x_{t+1}) = (-1, -1, -1); stride 2 keeps (-1, -1)."""
    x = jnp.array([1.0, 2.0, 3.0, 4.0])[:, None]
    p = Conv1dParams(jnp.array([1.0, -1.0]).reshape(2, 1, 1), None)
    for path in CONV_PATHS:
        np.testing.assert_allclose(conv1d(p, x, path=path)[:, 0], [-1.0, -1.0, -1.0], **tol(np.float64))
        np.testing.assert_allclose(conv1d(p, x, stride=2, path=path)[:, 0], [-1.0, -1.0], **tol(np.float64))


@pytest.mark.parametrize(
    ("n", "k", "kw", "want"),
    [
        (6, 3, {}, 4),  # Fig. 6.3
        (7, 3, {}, 5),
        (9, 3, {}, 7),  # Fig. 6.9
        (8, 3, {"padding": 1, "stride": 2}, 4),  # D2L Sec. 7.3
        (8, 3, {"padding": 0, "stride": 3}, 2),
        (8, 5, {"padding": 1, "stride": 4}, 2),
        (10, 3, {"dilation": 2}, 6),
        (7, 3, {"padding": "same", "stride": 2}, 4),
        (7, 4, {"padding": (1, 2)}, 7),
        (5, 5, {"padding": "valid"}, 1),
    ],
)
def test_conv_output_size_formula(n, k, kw, want):
    """floor((n + 2P - D(K-1) - 1)/S) + 1, and conv2d's output has that size."""
    assert conv_output_size(n, k, **kw) == want
    p = Conv2dParams(jnp.ones((k, 1, 1, 1)), None)
    x = jnp.ones((n, 3, 1))
    conv_kw = dict(kw)
    if isinstance(conv_kw.get("padding"), tuple):
        conv_kw["padding"] = (conv_kw["padding"], 0)
    assert conv2d(p, x, **conv_kw).shape[0] == want


def test_param_count_matches_init(getkey):
    """K_out(c_in K_h K_w + 1): 3 -> 64 with 3x3 is 1792 (VGG's first layer); grouped and biasless too."""
    assert conv_param_count(3, 64, 3) == 64 * (3 * 9 + 1) == 1792
    assert conv_param_count(1, 6, 5) == 156  # LeNet-5 C1
    assert conv_param_count(64, 64, 3, bias=False) == 36864  # a ResNet conv
    for c_in, c_out, k, g, bias in [(3, 64, 3, 1, True), (8, 16, (3, 5), 4, True), (6, 6, 3, 6, False)]:
        p = jax.eval_shape(
            lambda key, c_in=c_in, c_out=c_out, k=k, g=g, bias=bias: init_conv2d(
                key, c_in, c_out, k, groups=g, bias=bias
            ),
            getkey(),
        )
        n = sum(leaf.size for leaf in jax.tree.leaves(p))
        assert n == conv_param_count(c_in, c_out, k, groups=g, bias=bias)


def test_init_layout_and_he_variance(getkey):
    """HWIO shape, zero bias, and He variance 2 / (C_g K_h K_w) read from the right axes."""
    p = jax.eval_shape(lambda key: init_conv2d(key, 16, 32, (3, 5)), getkey())  # shapes only: nothing compiled
    assert p.W.shape == (3, 5, 16, 32) and p.b.shape == (32,)
    big = init_conv2d(getkey(), 64, 256, 3, groups=2)
    assert big.W.shape == (3, 3, 32, 256)
    np.testing.assert_array_equal(big.b, 0.0)
    np.testing.assert_allclose(np.var(np.asarray(big.W)), 2.0 / (32 * 9), rtol=0.03)  # 73728 draws
    assert jax.eval_shape(lambda key: init_conv2d(key, 2, 2, 3, bias=False), getkey()).b is None
    assert jax.eval_shape(lambda key: init_conv1d(key, 3, 5, 4), getkey()).W.shape == (4, 3, 5)
    assert jax.eval_shape(lambda key: init_conv2d(key, 2, 2, 3, dtype=jnp.float32), getkey()).W.dtype == jnp.float32


# ------------------------------------------------------------------ three paths, one answer


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_three_paths_agree(rng, case):
    """reference == xla == im2col (values and gradients), and conv2d_reference is the reference path."""
    H, W, C, C_out, K, s, pad, d, g = case
    p, x = _case(rng, H, W, C, C_out, K, g)
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    ref = _jit(conv2d_reference, **kw)(p, x)
    dz = _normal(rng, ref.shape)
    grads = {}
    for path in CONV_PATHS:
        np.testing.assert_allclose(_jit(conv2d, path=path, **kw)(p, x), ref, **TOL)
        loss = functools.partial(lambda q, v, path: jnp.sum(conv2d(q, v, path=path, **kw) * dz), path=path)
        grads[path] = jax.jit(jax.grad(loss, argnums=(0, 1)))(p, x)
    for path in ("reference", "im2col"):
        chex.assert_trees_all_close(grads[path], grads["xla"], **TOL)
    assert default_conv_path() in CONV_PATHS


@pytest.mark.parametrize(
    ("T", "C", "C_out", "K", "s", "pad", "d", "g"), [(9, 2, 3, 3, 2, 1, 1, 1), (11, 4, 6, 3, 1, "same", 2, 2)]
)
def test_conv1d_paths_agree_and_match_2d(rng, T, C, C_out, K, s, pad, d, g):
    """conv1d's three paths agree, and equal conv2d on a (T, 1, C) image with a (K, 1) kernel."""
    p = _params1(rng, C, C_out, K, groups=g)
    x = _normal(rng, (T, C))
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    outs = [_jit(conv1d, path=path, **kw)(p, x) for path in CONV_PATHS]
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], **TOL)
    pad2 = pad if isinstance(pad, str) else (pad, 0)
    as2d = conv2d(Conv2dParams(p.W[:, None], p.b), x[:, None], stride=(s, 1), padding=pad2, dilation=(d, 1), groups=g)
    np.testing.assert_allclose(outs[0], as2d[:, 0], **TOL)


def test_one_by_one_is_dense_per_position(rng):
    """A 1x1 convolution is the dense layer z = W^T-free (N_out, N_in) map applied at every position."""
    p, x = _case(rng, 4, 5, 3, 6, 1, 1)
    z = conv2d(p, x)
    dp = DenseParams(p.W[0, 0].T, p.b)
    want = jax.vmap(jax.vmap(lambda v: dense(dp, v)))(x)
    np.testing.assert_allclose(z, want, **TOL)


def test_depthwise_is_per_channel(rng):
    """groups = C: channel c of the output only sees channel c of the input."""
    p, x = _case(rng, 6, 6, 3, 3, 3, 3)
    z = conv2d(p, x, groups=3, padding=1)
    for c in range(3):
        single = conv2d(Conv2dParams(p.W[..., c : c + 1], p.b[c : c + 1]), x[..., c : c + 1], padding=1)
        np.testing.assert_allclose(z[..., c], single[..., 0], **TOL)


# ------------------------------------------------------------------ the flipped-kernel convolution


def test_convolve1d_is_numpy_convolve(rng):
    """Oracle: numpy.convolve(x, w, 'full') is convolve1d with padding K - 1 (and 'valid' with none)."""
    x = _normal(rng, (9,))
    w = _normal(rng, (4,))
    p = Conv1dParams(w.reshape(4, 1, 1), None)
    np.testing.assert_allclose(convolve1d(p, x[:, None], padding=3)[:, 0], np.convolve(x, w, "full"), **TOL)
    np.testing.assert_allclose(convolve1d(p, x[:, None])[:, 0], np.convolve(x, w, "valid"), **TOL)


def test_convolve2d_is_scipy_convolve2d(rng):
    """Oracle: scipy.signal.convolve2d (full and valid) per channel pair, summed over input channels."""
    signal = need("scipy.signal")
    p, x = _case(rng, 6, 7, 2, 3, (3, 2), 1, bias=False)
    full = convolve2d(p, x, padding=((2, 2), (1, 1)))
    valid = convolve2d(p, x)
    for o in range(3):
        want_full = sum(signal.convolve2d(x[..., c], p.W[:, :, c, o], mode="full") for c in range(2))
        want_valid = sum(signal.convolve2d(x[..., c], p.W[:, :, c, o], mode="valid") for c in range(2))
        np.testing.assert_allclose(full[..., o], want_full, **TOL)
        np.testing.assert_allclose(valid[..., o], want_valid, **TOL)


def test_correlation_vs_convolution_flip(rng):
    """conv2d with a flipped kernel is convolve2d (the two notations differ only in kernel storage)."""
    p, x = _case(rng, 6, 6, 2, 2, 3, 1)
    flipped = p._replace(W=p.W[::-1, ::-1])
    np.testing.assert_allclose(convolve2d(p, x, stride=2, dilation=1), conv2d(flipped, x, stride=2), **TOL)


# ------------------------------------------------------------------ the backward formula


@pytest.mark.parametrize("case", GRID, ids=IDS)
def test_grad_equals_book_backward(rng, case):
    """jax.grad == conv2d_backward: input gradient by full convolution with the flipped kernel,
    kernel gradient by correlating the input with the adjoint, bias gradient the sum of the adjoint."""
    H, W, C, C_out, K, s, pad, d, g = case
    p, x = _case(rng, H, W, C, C_out, K, g)
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    dz = _normal(rng, _jit(conv2d, **kw)(p, x).shape)
    gp, gx = jax.jit(jax.grad(lambda q, v: jnp.sum(conv2d(q, v, **kw) * dz), argnums=(0, 1)))(p, x)
    bp, bx = _jit(conv2d_backward, **kw)(p, x, dz)
    np.testing.assert_allclose(bp.W, gp.W, **TOL)
    np.testing.assert_allclose(bp.b, gp.b, **TOL)
    np.testing.assert_allclose(bx, gx, **TOL)


def test_backward_without_bias_and_bad_adjoint(rng):
    """No bias -> no bias gradient; an adjoint of the wrong shape is refused naming the output shape."""
    p, x = _case(rng, 5, 5, 2, 3, 3, 1, bias=False)
    grads, dx = jax.jit(conv2d_backward)(p, x, jnp.ones((3, 3, 3)))
    assert grads.b is None and dx.shape == x.shape
    with pytest.raises(ValueError, match=r"dz.*\(3, 3, 3\)"):
        conv2d_backward(p, x, jnp.ones((4, 3, 3)))


# ------------------------------------------------------------------ transposed convolution


def _swap_io(W, G):
    Kh, Kw, Cg, Co = W.shape
    return W.reshape(Kh, Kw, Cg, G, Co // G).transpose(0, 1, 4, 3, 2).reshape(Kh, Kw, Co // G, G * Cg)


@pytest.mark.parametrize(("s", "pad", "d", "g"), [(1, 0, 1, 1), (2, 1, 1, 1), (2, 1, 2, 2), ((3, 2), (0, 1), 1, 1)])
def test_conv_transpose_is_adjoint_of_conv(rng, s, pad, d, g):
    """<conv2d(W, x), y> = <x, conv_transpose2d(W^T, y)>: the transposed conv is the adjoint map,
    and its reference (scatter) path equals the XLA path."""
    p, x = _case(rng, 9, 8, 4, 6, 3, g, bias=False)
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    z = _jit(conv2d, **kw)(p, x)
    y = _normal(rng, z.shape)
    pt = Conv2dParams(_swap_io(p.W, g), None)
    # output_padding recovers the rows that the forward stride dropped
    op = tuple(
        (n + 2 * (pad if isinstance(pad, int) else pad[i]) - (d * 2 + 1)) % (s if isinstance(s, int) else s[i])
        for i, n in enumerate(x.shape[:2])
    )
    back = _jit(conv_transpose2d, output_padding=op, **kw)(pt, y)
    assert back.shape == x.shape
    np.testing.assert_allclose(jnp.vdot(z, y), jnp.vdot(x, back), **TOL)
    np.testing.assert_allclose(_jit(conv_transpose2d, output_padding=op, path="reference", **kw)(pt, y), back, **TOL)


def test_conv_transpose_worked_and_init(getkey):
    """By hand (D2L Sec. 14.10): X = [[0,1],[2,3]], K = [[0,1],[2,3]] -> [[0,0,1],[0,4,6],[4,12,9]]."""
    X = jnp.array([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1)
    p = Conv2dParams(jnp.array([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1, 1), None)
    want = [[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]
    for path in ("reference", "xla"):
        np.testing.assert_allclose(conv_transpose2d(p, X, path=path)[..., 0], want, **tol(np.float64))
    q = init_conv_transpose2d(getkey(), 4, 2, 2)
    assert q.W.shape == (2, 2, 4, 2)
    assert conv_transpose2d(q, jnp.ones((5, 5, 4)), stride=2).shape == (10, 10, 2)  # 2x upsampling


# ------------------------------------------------------------------ PyTorch oracle (float64)

TORCH_GRID = [
    (7, 8, 2, 3, 3, 1, 0, 1, 1),
    (9, 9, 4, 6, 3, 2, 1, 1, 2),
    (8, 7, 3, 3, (3, 2), (2, 1), (1, 0), (1, 2), 3),
    (10, 9, 4, 8, 5, 3, 2, 2, 4),
]


def _torch_grads(torch, fn, tensors, dz):
    tensors = [t.clone().requires_grad_(True) for t in tensors]
    out = fn(*tensors)
    (out * dz).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("case", TORCH_GRID)
def test_conv2d_torch(rng, case):
    """Oracle: torch.nn.functional.conv2d (NCHW/OIHW) outputs and gradients in float64."""
    torch = need("torch")
    H, W, C, C_out, K, s, pad, d, g = case
    p, x = _case(rng, H, W, C, C_out, K, g)
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    z = _jit(conv2d, **kw)(p, x)
    dz = _normal(rng, z.shape)
    gp, gx = jax.jit(jax.grad(lambda q, v: jnp.sum(conv2d(q, v, **kw) * dz), argnums=(0, 1)))(p, x)
    tx = torch.tensor(np.asarray(x)).permute(2, 0, 1)[None]
    tw = torch.tensor(np.asarray(p.W)).permute(3, 2, 0, 1)
    tb = torch.tensor(np.asarray(p.b))
    tdz = torch.tensor(np.asarray(dz)).permute(2, 0, 1)[None]
    out, (dx, dw, db) = _torch_grads(
        torch, lambda a, w, b: torch.nn.functional.conv2d(a, w, b, s, pad, d, g), [tx, tw, tb], tdz
    )
    np.testing.assert_allclose(z, out[0].transpose(1, 2, 0), **TOL)
    np.testing.assert_allclose(gx, dx[0].transpose(1, 2, 0), **TOL)
    np.testing.assert_allclose(gp.W, dw.transpose(2, 3, 1, 0), **TOL)
    np.testing.assert_allclose(gp.b, db, **TOL)


@pytest.mark.parametrize(
    ("T", "C", "C_out", "K", "s", "pad", "d", "g"), [(12, 3, 4, 3, 2, 1, 2, 1), (9, 4, 4, 2, 1, 0, 1, 4)]
)
def test_conv1d_torch(rng, T, C, C_out, K, s, pad, d, g):
    """Oracle: torch.nn.functional.conv1d outputs and gradients in float64."""
    torch = need("torch")
    p = _params1(rng, C, C_out, K, groups=g)
    p = p._replace(b=_normal(rng, (C_out,)))
    x = _normal(rng, (T, C))
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g}
    z = _jit(conv1d, **kw)(p, x)
    dz = _normal(rng, z.shape)
    gp, gx = jax.jit(jax.grad(lambda q, v: jnp.sum(conv1d(q, v, **kw) * dz), argnums=(0, 1)))(p, x)
    tx = torch.tensor(np.asarray(x)).T[None]
    tw = torch.tensor(np.asarray(p.W)).permute(2, 1, 0)
    tb = torch.tensor(np.asarray(p.b))
    tdz = torch.tensor(np.asarray(dz)).T[None]
    out, (dx, dw, db) = _torch_grads(
        torch, lambda a, w, b: torch.nn.functional.conv1d(a, w, b, s, pad, d, g), [tx, tw, tb], tdz
    )
    np.testing.assert_allclose(z, out[0].T, **TOL)
    np.testing.assert_allclose(gx, dx[0].T, **TOL)
    np.testing.assert_allclose(gp.W, dw.transpose(2, 1, 0), **TOL)
    np.testing.assert_allclose(gp.b, db, **TOL)


@pytest.mark.parametrize(
    ("H", "W", "C", "C_out", "K", "s", "pad", "d", "g", "op"),
    [
        (4, 5, 2, 3, 3, 1, 0, 1, 1, 0),
        (5, 4, 4, 6, 3, 2, 1, 1, 2, 1),
        (3, 4, 3, 3, (2, 3), (3, 2), (1, 0), (2, 1), 3, (1, 0)),
    ],
)
def test_conv_transpose2d_torch(rng, H, W, C, C_out, K, s, pad, d, g, op):
    """Oracle: torch.nn.functional.conv_transpose2d (weight (C_in, C_out/G, K_h, K_w)) in float64."""
    torch = need("torch")
    p = _params(rng, C, C_out, K, groups=g)
    p = p._replace(b=_normal(rng, (C_out,)))
    x = _normal(rng, (H, W, C))
    kw = {"stride": s, "padding": pad, "dilation": d, "groups": g, "output_padding": op}
    z = _jit(conv_transpose2d, **kw)(p, x)
    dz = _normal(rng, z.shape)
    gp, gx = jax.jit(jax.grad(lambda q, v: jnp.sum(conv_transpose2d(q, v, **kw) * dz), argnums=(0, 1)))(p, x)
    Kh, Kw, Cg, Co = p.W.shape
    tw_np = np.asarray(p.W).reshape(Kh, Kw, Cg, g, Co // g).transpose(3, 2, 4, 0, 1).reshape(C, Co // g, Kh, Kw)
    tx = torch.tensor(np.asarray(x)).permute(2, 0, 1)[None]
    tdz = torch.tensor(np.asarray(dz)).permute(2, 0, 1)[None]
    out, (dx, dw, db) = _torch_grads(
        torch,
        lambda a, w, b: torch.nn.functional.conv_transpose2d(a, w, b, s, pad, op, g, d),
        [tx, torch.tensor(tw_np), torch.tensor(np.asarray(p.b))],
        tdz,
    )
    np.testing.assert_allclose(z, out[0].transpose(1, 2, 0), **TOL)
    np.testing.assert_allclose(gx, dx[0].transpose(1, 2, 0), **TOL)
    dw_ours = dw.reshape(g, Cg, Co // g, Kh, Kw).transpose(3, 4, 1, 0, 2).reshape(Kh, Kw, Cg, Co)
    np.testing.assert_allclose(gp.W, dw_ours, **TOL)
    np.testing.assert_allclose(gp.b, db, **TOL)


# ------------------------------------------------------------------ transforms and properties


@pytest.mark.parametrize("path", CONV_PATHS)
def test_jit_vmap(rng, transform, path):
    """jit == eager, and vmap over a batch == a Python loop over the examples, on every path."""
    p, _ = _case(rng, 1, 1, 3, 4, 3, 1)
    X = _normal(rng, (3, 7, 6, 3))
    f = transform(jax.vmap(lambda v: conv2d(p, v, stride=2, padding=1, path=path)))
    loop = np.stack([conv2d(p, v, stride=2, padding=1, path=path) for v in X])
    np.testing.assert_allclose(f(X), loop, **TOL)


def test_check_grads_order_2(rng):
    """check_grads (forward and reverse, order 2) on a tiny strided, dilated, grouped conv (the default
    path; the other paths' gradients are pinned to it in test_three_paths_agree)."""
    p, x = _case(rng, 5, 5, 2, 2, 2, 2)
    jax.test_util.check_grads(
        jax.jit(lambda q, v: conv2d(q, v, stride=2, dilation=(1, 2), padding=1, groups=2)),
        (p, x),
        order=2,
        modes=("fwd", "rev"),
    )


def test_check_grads_transpose_and_1d(rng):
    """check_grads order 2 for conv_transpose2d and conv1d."""
    p = _params(rng, 2, 2, 2)
    f = jax.jit(lambda q, v: conv_transpose2d(q, v, stride=2))
    jax.test_util.check_grads(f, (p, jnp.ones((2, 3, 2))), order=2, modes=("rev",))
    q = _params1(rng, 2, 3, 3)
    g = jax.jit(lambda r, v: conv1d(r, v, padding=1))
    jax.test_util.check_grads(g, (q, jnp.linspace(0.0, 1.0, 10).reshape(5, 2)), order=2, modes=("rev",))


def test_linearity(rng):
    """Without bias, conv2d(a x + c y) = a conv2d(x) + c conv2d(y), and it is linear in W too."""
    p, x = _case(rng, 6, 6, 2, 3, 3, 1, bias=False)
    y = _normal(rng, x.shape)
    lhs = conv2d(p, 2.0 * x - 3.0 * y, padding=1)
    np.testing.assert_allclose(lhs, 2.0 * conv2d(p, x, padding=1) - 3.0 * conv2d(p, y, padding=1), **TOL)
    q = p._replace(W=_normal(rng, p.W.shape))
    both = conv2d(Conv2dParams(p.W + q.W, None), x)
    np.testing.assert_allclose(both, conv2d(p, x) + conv2d(q, x), **TOL)


@pytest.mark.parametrize("path", CONV_PATHS)
def test_translation_equivariance(rng, path):
    """Shifting the input by (2, 4) shifts the stride-2 output by (1, 2) (valid padding, no border effect)."""
    p, x = _case(rng, 11, 12, 2, 3, 3, 1)
    z = conv2d(p, x, stride=2, path=path)
    shifted = conv2d(p, x[2:, 4:], stride=2, path=path)
    np.testing.assert_allclose(shifted, z[1:, 2:], **TOL)


def test_float32(rng):
    """float32 in, float32 out on every path, close to the float64 result."""
    p, x = _case(rng, 6, 6, 3, 4, 3, 1)
    p32 = jax.tree.map(lambda a: a.astype(jnp.float32), p)
    want = _jit(conv2d)(p, x)
    for path in CONV_PATHS:
        z = _jit(conv2d, path=path)(p32, x.astype(jnp.float32))
        assert z.dtype == jnp.float32
        np.testing.assert_allclose(z, want, **tol(np.float32, composite=True))


# ------------------------------------------------------------------ refused input


def test_refuses_batch_and_channels_first(rng):
    """A batch (rank 4) says to use jax.vmap; a (C, H, W) array is named channels-first with its fix."""
    p = _params(rng, 3, 4, 3)
    with pytest.raises(ValueError, match=r"conv2d: argument `x`.*\(H, W, C\).*jax\.vmap.*\(2, 8, 8, 3\)"):
        conv2d(p, jnp.ones((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"channels last.*C = 3.*channels-first.*moveaxis.*\(3, 8, 8\)"):
        conv2d(p, jnp.ones((3, 8, 8)))
    with pytest.raises(ValueError, match=r"conv1d: argument `x`.*\(T, C\).*jax\.vmap"):
        conv1d(_params1(rng, 3, 4, 3), jnp.ones((2, 8, 3)))
    with pytest.raises(ValueError, match=r"rank 3"):
        conv2d(p, jnp.ones((8, 3)))


def test_refuses_kernel_larger_than_padded_input(rng):
    """The message names the kernel extent and the padded input size along the axis."""
    p = _params(rng, 1, 1, (3, 7))
    with pytest.raises(ValueError, match=r"params\.W.*along W.*5 \+ 0 \+ 0 = 5.*kernel size 7.*extent 7"):
        conv2d(p, jnp.ones((5, 5, 1)))
    with pytest.raises(ValueError, match=r"along H.*5 \+ 0 \+ 0 = 5.*kernel size 3 with dilation 3 \(extent 7\)"):
        conv2d(_params(rng, 1, 1, 3), jnp.ones((5, 9, 1)), dilation=3)
    conv2d(p, jnp.ones((5, 5, 1)), padding=1)  # padded to 7: fits
    with pytest.raises(ValueError, match=r"conv_output_size: argument `k`.*4 \+ 0 \+ 0 = 4"):
        conv_output_size(4, 5)


def test_refuses_channel_mismatch_and_groups(rng):
    """Channel mismatch names both counts; channels not divisible by groups name C and G."""
    p = _params(rng, 3, 4, 3)
    with pytest.raises(ValueError, match=r"C = C_in/groups \* groups = 3 \* 1 = 3.*\(H, W, C\).*C = 5"):
        conv2d(p, jnp.ones((8, 8, 5)))
    q = _params(rng, 4, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"divisible by groups = 2.*\(H, W, C\).*C = 5"):
        conv2d(q, jnp.ones((8, 8, 5)), groups=2)
    with pytest.raises(ValueError, match=r"groups.*divisor of the output channels C_out = 4"):
        conv2d(q, jnp.ones((8, 8, 6)), groups=3)
    with pytest.raises(ValueError, match=r"c_in.*multiple of groups = 3"):
        init_conv2d(jax.random.key(0), 4, 6, 3, groups=3)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"stride": 0}, r"stride.*positive"),
        ({"stride": (1, -2)}, r"stride.*positive"),
        ({"dilation": 0}, r"dilation.*positive"),
        ({"stride": 1.5}, r"stride.*positive int"),
        ({"padding": "full"}, r"padding.*'valid', 'same'"),
        ({"padding": -1}, r"padding.*non-negative"),
        ({"padding": (1, 2, 3)}, r"padding"),
        ({"groups": 0}, r"groups.*positive int"),
        ({"path": "fft"}, r"path.*reference"),
    ],
)
def test_refuses_bad_hyperparameters(rng, kw, match):
    """Non-positive stride or dilation, unknown padding words, bad groups or paths are refused."""
    p = _params(rng, 2, 2, 3)
    with pytest.raises(ValueError, match=match):
        conv2d(p, jnp.ones((8, 8, 2)), **kw)


def test_refuses_non_float_and_kernel_rank(rng):
    """An integer image is a TypeError; a kernel of the wrong rank names params.W."""
    p = _params(rng, 2, 2, 3)
    with pytest.raises(TypeError, match=r"argument `x` expected a floating-point array"):
        conv2d(p, jnp.ones((8, 8, 2), jnp.int32))
    with pytest.raises(ValueError, match=r"params\.W"):
        conv2d(Conv2dParams(jnp.ones((3, 3, 2)), None), jnp.ones((8, 8, 2)))
    with pytest.raises(ValueError, match=r"output_padding.*smaller than the stride"):
        conv_transpose2d(p, jnp.ones((4, 4, 2)), stride=2, output_padding=2)


def test_public_names():
    """The names other packages build on are exported from mathdl.layers."""
    for name in ("conv2d", "conv1d", "conv_transpose2d", "conv2d_reference", "conv_output_size", "conv_param_count"):
        assert callable(getattr(layers, name))
