"""In-process tests of ``mathdl.train.make_mesh`` and the mesh arguments of ``fit`` (one CPU device here;
the 8-device comparison runs in its own process in test_resume.py)."""

import jax
import numpy as np
import optax
import pytest
from jax.sharding import Mesh

from mathdl.train import fit, make_mesh, mean_loss, tree_digest

LOSS = mean_loss(lambda th, ex: (th * ex[0] - ex[1]) ** 2)
DATA = (np.arange(8.0), 2.0 * np.arange(8.0))


def test_make_mesh_worked_values():
    """A one-axis mesh named `data` over every device, the first k, or the given list."""
    devices = jax.devices()
    for arg in (None, 1, list(devices[:1])):
        mesh = make_mesh(arg)
        assert mesh.axis_names == ("data",)
        assert mesh.shape["data"] == (len(devices) if arg is None else 1)


def test_fit_on_a_one_device_mesh_is_bitwise_the_plain_fit():
    """Property: a 1-device mesh (params replicated, batch sharded on `data`) changes nothing, bitwise."""
    kw = dict(epochs=2, batch_size=4, progress=False)
    a = fit(LOSS, optax.sgd(0.01), np.float64(0.0), DATA, key=jax.random.key(0), **kw)
    b = fit(LOSS, optax.sgd(0.01), np.float64(0.0), DATA, key=jax.random.key(0), mesh=make_mesh(1), **kw)
    c = fit(LOSS, optax.sgd(0.01), np.float64(0.0), DATA, key=jax.random.key(0), devices=1, scan_epoch=False, **kw)
    assert tree_digest(a.params) == tree_digest(b.params) == tree_digest(c.params)


@pytest.mark.parametrize(
    ("arg", "exc", "match"),
    [
        (0, ValueError, r"train.make_mesh: argument `devices` expected a device count in \[1, 1\]"),
        (2, ValueError, r"argument `devices` expected a device count in \[1, 1\] \(the devices JAX sees\), got 2"),
        ("cpu", TypeError, r"argument `devices` expected None, a device count or a list of jax.Device, got 'str'"),
        (True, TypeError, r"argument `devices` expected None, a device count or a list of jax.Device, got 'bool'"),
        ([], TypeError, r"argument `devices` expected None, a device count or a list of jax.Device, got 'list'"),
    ],
)
def test_make_mesh_bad_inputs(arg, exc, match):
    """Bad device counts and types are refused, naming the argument."""
    with pytest.raises(exc, match=match):
        make_mesh(arg)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"mesh": "data"}, TypeError, r"train.fit: argument `mesh` expected a jax.sharding.Mesh, got 'str'"),
        ({"mesh": Mesh(np.asarray(jax.devices()[:1]), ("batch",))}, ValueError, r"expected a mesh with a 'data' axis"),
        (
            {"mesh": Mesh(np.asarray(jax.devices()[:1]), ("data",)), "devices": 1},
            ValueError,
            r"argument `devices` expected to be omitted when `mesh` is given",
        ),
    ],
)
def test_fit_mesh_bad_inputs(kw, exc, match):
    """fit refuses a mesh that is not a Mesh, has no `data` axis, or comes together with `devices`."""
    with pytest.raises(exc, match=match):
        fit(LOSS, optax.sgd(0.01), np.float64(0.0), DATA, key=jax.random.key(0), epochs=1, batch_size=4, **kw)
