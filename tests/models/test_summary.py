"""Tests of mathdl.models.summary and param_count (per-layer shapes and counts from jax.eval_shape)."""

import functools

import jax
import jax.numpy as jnp
import pytest

from mathdl import models


def _abstract(init, *args, **kwargs):
    return jax.eval_shape(lambda k: init(k, *args, **kwargs), jax.random.key(0))


def test_mlp_rows_worked():
    """MLP 64-32-10 by hand: rows input (64,), dense 1 (32,) with 64*32 + 32 = 2080, dense 2 (10,) with 330."""
    params = _abstract(models.init_mlp, [64, 32, 10])
    s = models.summary(models.mlp_forward, params, (64,))
    assert [(r.name, r.shape, r.params) for r in s.rows] == [
        ("input", (64,), 0),
        ("dense 1", (32,), 2080),
        ("dense 2", (10,), 330),
    ]
    assert s.total_params == 2410 == models.count_params([64, 32, 10])
    one = models.summary(models.mlp, params, (64,))  # a plain output: one row with every parameter
    assert [(r.name, r.shape, r.params) for r in one.rows[1:]] == [("output", (10,), 2410)]


def test_lenet_table_is_the_books():
    """LeNet rows in the network's order (not sorted), with the conv formula K_out (c_in K^2 + 1) per layer."""
    s = models.summary(models.lenet_forward, _abstract(models.init_lenet), (28, 28, 1))
    names = [r.name for r in s.rows]
    assert names == ["input", "conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "fc3"]
    counts = {r.name: r.params for r in s.rows}
    assert counts["conv1"] == 6 * (25 + 1) and counts["conv2"] == 16 * (150 + 1) and counts["pool1"] == 0
    text = str(s)
    assert "conv2" in text and "(10, 10, 16)" in text and "61,706" in text
    assert text.splitlines()[0].split() == ["layer", "output", "shape", "params"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: (models.lenet_forward, _abstract(models.init_lenet), (28, 28, 1), None),
        lambda: (models.vgg_forward, _abstract(models.init_vgg, "vgg16"), (224, 224, 3), None),
        lambda: (
            models.inception_forward,
            _abstract(models.init_inception_module, 192, 64, (96, 128), (16, 32), 32),
            (28, 28, 192),
            None,
        ),
        lambda: (
            functools.partial(models.resnet_forward, train=False),
            *_abstract(models.init_resnet, 50)[:1],
            (224, 224, 3),
            _abstract(models.init_resnet, 50)[1],
        ),
        lambda: (
            functools.partial(models.resnet_forward, train=False),
            *_abstract(models.init_small_resnet, 20)[:1],
            (32, 32, 3),
            _abstract(models.init_small_resnet, 20)[1],
        ),
    ],
    ids=["lenet", "vgg16", "inception", "resnet50", "resnet20"],
)
def test_rows_cover_every_parameter(make):
    """Property: the rows' counts add up to the total (every parameter belongs to exactly one row)."""
    fn, params, shape, state = make()
    s = models.summary(fn, params, shape, state=state)
    assert sum(r.params for r in s.rows) == s.total_params == models.param_count(params)


def test_resnet50_table_shapes_and_first_block():
    """The book's ResNet table: 7x7 stem to 112^2 x 64, pool to 56^2, bottlenecks to 256 ... 2048 channels.

    First bottleneck by hand: 1x1 64->64 (4096 + 128), 3x3 64->64 (36864 + 128), 1x1 64->256 (16384 + 512),
    projection 64->256 (16384 + 512) = 75,008.
    """
    params, state = _abstract(models.init_resnet, 50)
    s = models.summary(functools.partial(models.resnet_forward, train=False), params, (224, 224, 3), state=state)
    rows = {r.name: r for r in s.rows}
    assert rows["stem"].shape == (112, 112, 64) and rows["pool"].shape == (56, 56, 64)
    assert rows["stages.0.0"].params == 4096 + 128 + 36864 + 128 + 16384 + 512 + 16384 + 512 == 75008
    assert [rows[f"stages.{i}.0"].shape[-1] for i in range(4)] == [256, 512, 1024, 2048]
    assert s.total_params == 25557032


def test_param_count_on_arrays_shapes_and_none():
    tree = {"W": jnp.ones((3, 4)), "b": None, "s": jax.ShapeDtypeStruct((5,), jnp.float32)}
    assert models.param_count(tree) == 17
    assert models.param_count(()) == 0
    with pytest.raises(TypeError, match="array leaf"):
        models.param_count({"W": "weights"})


def test_summary_bad_input():
    params = _abstract(models.init_lenet)
    with pytest.raises(ValueError, match="input_shape"):
        models.summary(models.lenet, params, (28, 28, 0))
    with pytest.raises(TypeError, match="model_fn"):
        models.summary("lenet", params, (28, 28, 1))
    with pytest.raises(ValueError, match="channels"):  # the model's own message, at trace time
        models.summary(models.lenet, params, (28, 28, 3))
