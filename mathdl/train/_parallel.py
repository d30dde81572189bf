r"""Data parallelism with ``jax.sharding``: a ``Mesh`` with one ``"data"`` axis.

``fit(..., mesh=make_mesh())`` (or ``devices=8``) replicates parameters and optimizer state on
every device of the mesh and shards each mini-batch along the ``"data"`` axis; XLA inserts the
all-reduce of the gradient mean. On several hosts call :func:`initialize_distributed` first
(once per process, before any other JAX call); ``jax.devices()`` then lists every host's
devices and the same ``fit`` call runs unchanged on each process.
"""

from collections.abc import Sequence

import jax
import numpy as np

from mathdl import checks

__all__ = ["initialize_distributed", "make_mesh"]


def make_mesh(devices: int | Sequence | None = None):
    r"""A one-axis ``jax.sharding.Mesh`` named ``"data"`` over ``devices``.

    Args:
      devices: ``None`` (every device JAX sees), an int ``k`` (the first ``k`` of them), or a
        sequence of ``jax.Device``.

    Returns:
      A ``jax.sharding.Mesh`` of shape ``{"data": k}``.

    Raises:
      ValueError: if ``k < 1`` or more devices are asked for than exist.
      TypeError: if ``devices`` is of another type.

    References:
      JAX documentation, "Distributed arrays and automatic parallelization" (``Mesh``,
      ``NamedSharding``, ``PartitionSpec``).
    """
    from jax.sharding import Mesh

    func = "train.make_mesh"
    available = jax.devices()
    if devices is None:
        chosen = available
    elif isinstance(devices, int | np.integer) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            checks.fail(func, "devices", f"a device count in [1, {len(available)}] (the devices JAX sees)", devices)
        chosen = available[: int(devices)]
    elif isinstance(devices, Sequence) and devices and all(isinstance(d, jax.Device) for d in devices):
        chosen = list(devices)
    else:
        checks.fail(
            func, "devices", "None, a device count or a list of jax.Device", type(devices).__name__, exc=TypeError
        )
    return Mesh(np.asarray(chosen), ("data",))


def _resolve_mesh(func: str, mesh, devices):
    if mesh is not None and devices is not None:
        checks.fail(func, "devices", "to be omitted when `mesh` is given", devices)
    if devices is not None:
        mesh = make_mesh(devices)
    if mesh is None:
        return None
    from jax.sharding import Mesh

    if not isinstance(mesh, Mesh):
        checks.fail(func, "mesh", "a jax.sharding.Mesh", type(mesh).__name__, exc=TypeError)
    if "data" not in mesh.axis_names:
        checks.fail(func, "mesh", "a mesh with a 'data' axis", f"axes {mesh.axis_names}")
    if len(mesh.axis_names) != 1:
        checks.fail(func, "mesh", "a one-axis mesh ('data')", f"axes {mesh.axis_names}")
    return mesh


def initialize_distributed(
    coordinator_address: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> None:
    r"""Join a multi-host JAX job (a thin, documented hook over ``jax.distributed.initialize``).

    Call it once per process before any other JAX call. On Cloud TPU, SLURM and other
    auto-detected clusters the three arguments can be left out. Afterwards ``jax.devices()``
    lists the devices of every process, ``make_mesh()`` spans them all, and every process runs
    the same ``fit`` call; each process should hold the same ``data`` (or its shard).

    Args:
      coordinator_address: ``"host:port"`` of process 0.
      num_processes: the number of processes in the job.
      process_id: this process's index in ``[0, num_processes)``.

    Returns:
      ``None``.

    Raises:
      RuntimeError: from JAX, if the coordinator cannot be reached or JAX is already initialised.

    References:
      JAX documentation, "Using JAX in multi-host and multi-process environments".
    """
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
    )
