r"""Data parallelism with ``jax.sharding``, on one process or a multi-process job.

``fit(..., mesh=make_mesh())`` (or ``devices=8``) replicates parameters and optimizer state on
every device of the mesh and shards each mini-batch along the ``"data"`` axis; XLA inserts the
all-reduce of the gradient mean.

A job of several processes (one per host, or several on one host) first calls
:func:`initialize_distributed` in every process, before any other JAX call; ``jax.devices()``
then lists every process's devices, :func:`make_mesh` spans them all, and the same ``loop`` or
``fit`` call runs unchanged in each process, each on its own shard of the data (the global batch
is assembled from the processes' parts with ``jax.make_array_from_process_local_data``). On CPU
the collectives go through gloo. A peer watch in every process notices a process that stopped
(killed, or its host lost) and ends this one with a message naming it, rather than hanging in
the next collective.
"""

import atexit
import itertools
import os
import sys
import threading
import time
from collections.abc import Sequence

import jax
import numpy as np

from mathdl import checks

__all__ = ["LOST_PEER_EXIT", "initialize_distributed", "make_mesh", "process_shard"]

LOST_PEER_EXIT = 75
"""Exit status of a process that stopped because a peer of its job was lost (``EX_TEMPFAIL``: run the job
again to resume from its last checkpoint)."""

_ENV = {
    "coordinator_address": "MATHDL_COORDINATOR_ADDRESS",
    "num_processes": "MATHDL_NUM_PROCESSES",
    "process_id": "MATHDL_PROCESS_ID",
}
_PEER_TIMEOUT_ENV = "MATHDL_PEER_TIMEOUT"
_DEFAULT_PEER_TIMEOUT = 10.0
_watch = None
_barrier_counts: dict = {}


def make_mesh(devices: int | Sequence | None = None):
    r"""A one-axis ``jax.sharding.Mesh`` named ``"data"`` over ``devices``.

    In a multi-process job ``jax.devices()`` lists the devices of every process, ordered by
    process, so the default mesh spans the whole job and process ``p`` holds a contiguous block
    of each global batch.

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
        return make_mesh() if jax.process_count() > 1 else None  # a job: the whole job's devices
    from jax.sharding import Mesh

    if not isinstance(mesh, Mesh):
        checks.fail(func, "mesh", "a jax.sharding.Mesh", type(mesh).__name__, exc=TypeError)
    if "data" not in mesh.axis_names:
        checks.fail(func, "mesh", "a mesh with a 'data' axis", f"axes {mesh.axis_names}")
    if len(mesh.axis_names) != 1:
        checks.fail(func, "mesh", "a one-axis mesh ('data')", f"axes {mesh.axis_names}")
    if jax.process_count() > 1 and mesh.devices.size != len(jax.devices()):
        checks.fail(
            func, "mesh", f"a mesh over all {len(jax.devices())} devices of the job", f"{mesh.devices.size} devices"
        )
    return mesh


def _from_env(name: str, value, cast):
    if value is not None:
        return value
    text = os.environ.get(_ENV[name])
    if text is None:
        return None
    try:
        return cast(text)
    except ValueError:
        checks.fail("train.initialize_distributed", name, f"a valid value in ${_ENV[name]}", text)


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    heartbeat_timeout: int = 30,
    peer_timeout: float | None = None,
) -> tuple[int, int]:
    r"""Join a multi-process JAX job; return ``(process_index, process_count)``.

    Call it once per process before any other JAX call. Each argument left out is read from the
    environment: ``MATHDL_COORDINATOR_ADDRESS``, ``MATHDL_NUM_PROCESSES`` and
    ``MATHDL_PROCESS_ID`` (set by ``mathdl launch``), else JAX's own detection (SLURM, Open MPI,
    Cloud TPU pod slices, ``JAX_COORDINATOR_ADDRESS``). On CPU the collectives use gloo (unless
    ``JAX_CPU_COLLECTIVES_IMPLEMENTATION`` says otherwise). In a job of more than one process a
    daemon thread watches the peers through the coordinator's key-value store: a peer silent for
    ``peer_timeout`` seconds (and not finished) ends this process with status
    :data:`LOST_PEER_EXIT` and a message naming it, rather than leaving it blocked in a
    collective. A second call is a no-op.

    Args:
      coordinator_address: ``"host:port"`` of process 0.
      num_processes: the number of processes in the job.
      process_id: this process's index in ``[0, num_processes)``.
      heartbeat_timeout: seconds after which JAX's coordinator declares a silent process dead
        and aborts the job (the backstop behind the peer watch).
      peer_timeout: seconds of silence after which the peer watch names a lost peer (default
        ``$MATHDL_PEER_TIMEOUT`` or 10).

    Returns:
      ``(jax.process_index(), jax.process_count())``.

    Raises:
      RuntimeError: from JAX, if the coordinator cannot be reached.
      ValueError: if an environment variable cannot be parsed or a timeout is not positive.

    References:
      JAX documentation, "Using JAX in multi-host and multi-process environments"
      (``jax.distributed.initialize``).
    """
    global _watch
    from jax._src import distributed

    if distributed.global_state.client is not None:
        return jax.process_index(), jax.process_count()
    func = "train.initialize_distributed"
    coordinator_address = _from_env("coordinator_address", coordinator_address, str)
    num_processes = _from_env("num_processes", num_processes, int)
    process_id = _from_env("process_id", process_id, int)
    if peer_timeout is None:
        text = os.environ.get(_PEER_TIMEOUT_ENV, str(_DEFAULT_PEER_TIMEOUT))
        try:
            peer_timeout = float(text)
        except ValueError:
            checks.fail(func, "peer_timeout", f"a number of seconds in ${_PEER_TIMEOUT_ENV}", text)
    if not peer_timeout > 0:
        checks.fail(func, "peer_timeout", "a positive number of seconds", peer_timeout)
    if not isinstance(heartbeat_timeout, int) or heartbeat_timeout < 1:
        checks.fail(func, "heartbeat_timeout", "an integer >= 1 (seconds)", heartbeat_timeout)
    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
        heartbeat_timeout_seconds=heartbeat_timeout,
    )
    if jax.process_count() > 1:
        _watch = _PeerWatch(distributed.global_state.client, jax.process_index(), jax.process_count(), peer_timeout)
        _watch.start()
    return jax.process_index(), jax.process_count()


class _PeerWatch(threading.Thread):
    """Every process writes a counter under ``mathdl/alive/<p>`` each ``timeout / 5`` seconds and reads the
    others'; one whose counter has not moved for ``timeout`` seconds, and that has not written
    ``mathdl/done/<p>``, is lost. A failed read means the coordinator (process 0) is gone."""

    def __init__(self, client, index: int, count: int, timeout: float):
        super().__init__(name="mathdl-peer-watch", daemon=True)
        self.client, self.index, self.count, self.timeout = client, index, count, timeout
        self.stopped = threading.Event()

    def _lost(self, message: str) -> None:
        if self.stopped.is_set():
            return
        print(
            f"mathdl.train: process {self.index} of {self.count}: {message}; stopping this process "
            f"(exit status {LOST_PEER_EXIT}). The last complete checkpoint is intact: run the job again to resume.",
            file=sys.stderr,
            flush=True,
        )
        os._exit(LOST_PEER_EXIT)

    def run(self) -> None:
        beat = 0
        seen = {q: (None, time.monotonic()) for q in range(self.count) if q != self.index}
        while not self.stopped.wait(self.timeout / 5):
            beat += 1
            try:
                self.client.key_value_set(f"mathdl/alive/{self.index}", str(beat), allow_overwrite=True)
            except Exception as exc:  # noqa: BLE001 - the coordinator is unreachable
                if self.stopped.is_set():
                    return
                self._lost(f"lost the coordinator, process 0 ({type(exc).__name__})")
            now = time.monotonic()
            for q, (last, since) in list(seen.items()):
                try:
                    self.client.key_value_try_get(f"mathdl/done/{q}")
                    del seen[q]  # finished normally
                    continue
                except Exception:  # noqa: BLE001 - not finished
                    pass
                try:
                    value = self.client.key_value_try_get(f"mathdl/alive/{q}")
                except Exception:  # noqa: BLE001 - not started yet: counts as silent
                    value = None
                if value != last:
                    seen[q] = (value, now)
                elif now - since > self.timeout:
                    self._lost(f"lost peer process {q} (no sign of life for {now - since:.0f} s)")

    def finish(self) -> None:
        self.stopped.set()
        try:
            self.client.key_value_set(f"mathdl/done/{self.index}", "1", allow_overwrite=True)
        except Exception:  # noqa: BLE001 - at exit the coordinator may already be gone
            pass


def _finish_watch() -> None:
    if _watch is not None:
        _watch.finish()


atexit.register(_finish_watch)


def process_shard(data, index: int | None = None, count: int | None = None):
    r"""This process's contiguous shard of ``data``: rows $[i m, (i + 1) m)$ with $m = \lfloor n / P \rfloor$.

    Every process of a job gets ``m`` rows (the last ``n mod P`` rows are left out), so the shards
    have the equal lengths ``loop`` requires. Reading only these rows from a file is the same
    arithmetic.

    Args:
      data: a pytree of arrays with a common leading length ``n`` (``n >= P``).
      index: the shard's index ``i`` (default ``jax.process_index()``).
      count: the number of shards ``P`` (default ``jax.process_count()``).

    Returns:
      The same pytree with leading length ``m``.

    Raises:
      ValueError: if ``n < P`` or ``index`` is not in ``[0, P)``.

    References:
      JAX documentation, "Using JAX in multi-host and multi-process environments" (per-process data).
    """
    from mathdl.train._evaluate import _data_length

    func = "train.process_shard"
    count = jax.process_count() if count is None else count
    index = jax.process_index() if index is None else index
    if not isinstance(count, int) or count < 1:
        checks.fail(func, "count", "an integer >= 1", count)
    if not isinstance(index, int) or not 0 <= index < count:
        checks.fail(func, "index", f"an integer in [0, {count})", index)
    n = _data_length(func, "data", data)
    if n < count:
        checks.fail(func, "data", f"at least one example per shard ({count} shards)", f"n = {n}")
    m = n // count
    return jax.tree.map(lambda a: a[index * m : (index + 1) * m], data)


# ------------------------------------------------------------------ helpers for the loop and checkpoints
def is_lead() -> bool:
    """Whether this process writes logs, manifests and the progress bar (process 0)."""
    return jax.process_index() == 0


def barrier(name: str, timeout_s: float = 600.0) -> None:
    """Wait until every process of the job reaches the barrier ``name`` (no-op with one process).

    Goes through the coordinator's key-value service, not a device collective, so a background
    thread may wait while the main thread runs compiled steps. Every process must pass the
    barriers of one ``name`` in the same order (a count per name makes each key unique).
    """
    if jax.process_count() == 1:
        return
    from jax._src import distributed

    key = f"mathdl/{name}/{next(_barrier_counts.setdefault(name, itertools.count()))}"
    distributed.global_state.client.wait_at_barrier(key, int(timeout_s * 1000))


def allgather(values) -> np.ndarray:
    """``values`` (a 1-D array of numbers) from every process, stacked: shape ``(processes, k)``."""
    arr = np.atleast_1d(np.asarray(values))
    if jax.process_count() == 1:
        return arr[None]
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(arr)).reshape(jax.process_count(), *arr.shape)


def to_global(tree, sharding):
    """Every leaf as a global ``jax.Array`` replicated on ``sharding`` (each process holds the same values)."""

    def one(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            impl, data = jax.random.key_impl(x), np.asarray(jax.random.key_data(x))
            return jax.random.wrap_key_data(
                jax.make_array_from_callback(data.shape, sharding, lambda i: data[i]), impl=impl
            )
        a = np.asarray(x)
        return jax.make_array_from_callback(a.shape, sharding, lambda i: a[i])

    return jax.tree.map(one, tree)


def to_local(tree):
    """A process-local copy of a replicated tree (each leaf's copy on this process's first device)."""
    return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x, tree)
