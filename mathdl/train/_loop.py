r"""The one training loop of mathdl: any pure ``step(state, batch, key) -> (state, metrics)``.

Randomness. From the one ``key`` given to :func:`loop`, ``perm_key, step_key =
jax.random.split(key)``; epoch ``e`` visits the examples in the order
``mathdl.data.epoch_permutation(perm_key, e, n)`` and global step ``t`` gets
``jax.random.fold_in(step_key, t)``. Everything a step does is therefore a function of
``(key, t)`` and the state, which is what makes a resumed run bitwise equal to an
uninterrupted one.

Batches. With data, an epoch has ``n // batch_size`` steps; the last ``n mod batch_size``
examples of each epoch's permutation are skipped (a different few each epoch), so every compiled
batch has the same shape and nothing recompiles. Without data (``data=None``) the step receives
``batch=None`` and makes its own (environment rollouts, noise, time steps).

Sharded data. In a job of ``P`` processes (:func:`initialize_distributed`) ``data`` is this
process's shard and every process passes a shard of the same length ``m``; one process may
also split its data into ``data_shards`` equal contiguous shards and batch them the same way. Shard
``s`` visits its rows in the order ``epoch_permutation(fold_in(perm_key, s), e, m)`` and gives
``batch_size / P`` rows to each step; the global batch is the shards' rows in shard order,
sharded on the mesh's ``"data"`` axis, so a job of ``P`` processes and one process with
``data_shards=P`` train on the same batches.

Checkpoints hold ``{"state": state, "step": t}`` (plus ``"best"``, the best state under
``EarlyStopping(restore_best=True)``), written by :class:`CheckpointWriter` with a verified
manifest that also records the run's identity (see ``_identity.py``).
"""

import os
import shutil
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from mathdl import checks
from mathdl.train._evaluate import _data_length
from mathdl.train._guard import finite_leaves
from mathdl.train._parallel import _resolve_mesh

__all__ = ["EarlyStopping", "LoopResult", "loop"]


class EarlyStopping(NamedTuple):
    r"""Stop when a validation metric has not improved for ``patience`` evaluations.

    Attributes:
      metric: the key of the evaluation's output to watch, e.g. ``"loss"`` or ``"accuracy"``.
      mode: ``"min"`` (smaller is better) or ``"max"``.
      patience: evaluations without improvement before stopping (``>= 1``).
      min_delta: an improvement must exceed this amount.
      restore_best: return the state of the best evaluation rather than the last.
    """

    metric: str = "loss"
    mode: str = "min"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


class LoopResult(NamedTuple):
    """What :func:`loop` returns.

    Attributes:
      state: the state after the last step (the best evaluated one under
        ``EarlyStopping(restore_best=True)``).
      history: a list of dicts, one per log or evaluation point (``step``, ``epoch`` with data,
        the mean of each scalar metric, ``examples_per_s`` or ``steps_per_s``, ``val_<name>``
        ...), as also written to the JSON-lines log.
      step: global steps done.
      epoch: epochs completed (0 without data).
      stop_reason: ``"completed"``, ``"early_stopping"``, ``"SIGTERM"`` or ``"SIGINT"``.
      checkpoint: path of the last checkpoint written or restored, or ``None``.
    """

    state: Any
    history: list
    step: int
    epoch: int
    stop_reason: str
    checkpoint: str | None


class Shards(NamedTuple):
    """Sharded data: ``count`` shards of ``length`` rows; this process holds ``local`` (index, host tree)."""

    count: int
    length: int
    local: list  # [(shard index, pytree of NumPy arrays)]
    job: bool  # True in a multi-process job (one shard per process)


def shard_layout(func: str, data, data_shards) -> Shards | None:
    """The shards of ``data`` for this process, checked before training (``None``: one unsharded data set).

    In a job every process must hold a shard of the same length; a difference is refused in every
    process, naming the processes and their lengths.
    """
    from mathdl.train._parallel import allgather

    jobs = jax.process_count()
    if data is None:
        if data_shards is not None:
            checks.fail(func, "data_shards", "to be omitted without `data`", data_shards)
        return None
    if data_shards is not None:
        check_int(func, "data_shards", data_shards, 1)
    if jobs == 1 and data_shards is None:
        return None
    n = _data_length(func, "data", data)
    host = jax.tree.map(lambda a: np.asarray(a, jax.dtypes.canonicalize_dtype(np.asarray(a).dtype)), data)
    if jobs > 1:
        if data_shards not in (None, jobs):
            checks.fail(
                func, "data_shards", f"None or the {jobs} processes of the job (one shard per process)", data_shards
            )
        lengths = allgather(np.array([n], np.int64))[:, 0]
        if len(set(lengths.tolist())) > 1:
            shown = ", ".join(f"{int(m)} in process {p}" for p, m in enumerate(lengths))
            checks.fail(
                func,
                "data",
                "a shard of the same length in every process of the job",
                checks.Text(f"shards of {shown}"),
            )
        return Shards(jobs, n, [(jax.process_index(), host)], True)
    if n % data_shards:
        checks.fail(func, "data_shards", f"a divisor of the number of examples n = {n}", data_shards)
    m = n // data_shards
    local = [(s, jax.tree.map(lambda a, s=s: a[s * m : (s + 1) * m], host)) for s in range(data_shards)]
    return Shards(data_shards, m, local, False)


class Plan(NamedTuple):
    """The schedule of a run, in steps (validated)."""

    n: int | None  # examples (None without data)
    batch_size: int | None
    steps_per_epoch: int | None
    total: int
    log_every: int
    eval_every: int | None
    checkpoint_every: int | None
    scan: bool


def check_int(func: str, name: str, value, low: int) -> None:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
        checks.fail(func, name, f"an integer >= {low}", value)


def _check_optional_int(func, name, value, low=1):
    if value is not None:
        check_int(func, name, value, low)


def check_key(func: str, key) -> None:
    if not (isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)):
        checks.fail(func, "key", "a typed PRNG key from jax.random.key", type(key).__name__, exc=TypeError)


def check_early_stopping(func: str, early_stopping, eval_fn) -> None:
    if early_stopping is None:
        return
    if not isinstance(early_stopping, EarlyStopping):
        checks.fail(func, "early_stopping", "an EarlyStopping", type(early_stopping).__name__, exc=TypeError)
    if eval_fn is None:
        checks.fail(func, "early_stopping", "`eval_fn` and `eval_data` to watch", "no eval_fn")
    checks.check_choice(func, "early_stopping.mode", early_stopping.mode, ("min", "max"))
    check_int(func, "early_stopping.patience", early_stopping.patience, 1)


def _data_schedule(func, data, batch_size, epochs, steps, n_dev, shards=None):
    n = _data_length(func, "data", data) if shards is None else shards.count * shards.length
    check_int(func, "batch_size", batch_size, 1)
    if batch_size > n:
        checks.fail(func, "batch_size", f"at most the number of examples n = {n}", batch_size)
    if batch_size % n_dev:
        checks.fail(func, "batch_size", f"a multiple of the {n_dev} devices on the `data` axis", batch_size)
    if shards is not None and batch_size % shards.count:
        what = "processes of the job" if shards.job else "data shards"
        checks.fail(func, "batch_size", f"a multiple of the {shards.count} {what}", batch_size)
    if (epochs is None) == (steps is None):
        checks.fail(func, "epochs", "exactly one of `epochs` and `steps`", f"epochs={epochs}, steps={steps}")
    spe = n // batch_size
    if epochs is not None:
        check_int(func, "epochs", epochs, 1)
        return n, spe, epochs * spe
    check_int(func, "steps", steps, 1)
    return n, spe, steps


def make_plan(
    func, *, data, batch_size, epochs, steps, log_every, eval_every, checkpoint_every, scan, n_dev, has_eval, has_ckpt,
    shards=None,
) -> Plan:  # fmt: skip
    """Validate the schedule arguments and fill in the defaults."""
    for name, value in (("log_every", log_every), ("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        _check_optional_int(func, name, value)
    if scan is not None and not isinstance(scan, bool):
        checks.fail(func, "scan", "None, True or False", scan, exc=TypeError)
    if data is not None:
        n, spe, total = _data_schedule(func, data, batch_size, epochs, steps, n_dev, shards)
        unit = spe
    else:
        for name, value in (("batch_size", batch_size), ("epochs", epochs)):
            if value is not None:
                checks.fail(func, name, "to be omitted without `data` (give `steps`)", value)
        if steps is None:
            checks.fail(func, "steps", "the number of steps to run when `data` is None", None)
        check_int(func, "steps", steps, 1)
        n, spe, total = None, None, steps
        unit = log_every if log_every is not None else min(total, 100)
    log_every = unit if log_every is None else log_every
    eval_every = unit if eval_every is None else eval_every
    ckpt_every = unit if checkpoint_every is None else checkpoint_every
    if scan is None:  # scan when every segment between two boundaries has the same length (one compile)
        used = [log_every] + [eval_every] * has_eval + [ckpt_every] * has_ckpt + ([spe] if spe else [])
        scan = all(every % min(used) == 0 for every in used)
    return Plan(n, batch_size, spe, total, log_every, eval_every, ckpt_every, scan)


def _is_writable_dir(path: str) -> str | None:
    """``None`` if ``path`` is (or can be made) a folder we can write to, else what is wrong."""
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe) or "."
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        return f"{path!r}, which is under a file ({probe!r})" if probe != path else f"{path!r}, which is a file"
    try:
        os.makedirs(path, exist_ok=True)
        test = os.path.join(path, f".mathdl-write-test-{os.getpid()}")
        with open(test, "w") as fh:
            fh.write("ok")
        os.remove(test)
    except OSError as exc:
        return f"{path!r}, which cannot be written ({exc.strerror or exc})"
    return None


def check_checkpoint_dir(func: str, checkpoint_dir, restart: bool) -> str | None:
    """The folder as a string, after checking that it is (or can be made) a writable folder."""
    if not isinstance(restart, bool):
        checks.fail(func, "restart", "True or False", restart, exc=TypeError)
    if checkpoint_dir is None:
        if restart:
            checks.fail(func, "restart", "a `checkpoint_dir` to start over in", restart)
        return None
    path = os.fspath(checkpoint_dir)
    problem = _is_writable_dir(path)
    if problem is not None:
        checks.fail(func, "checkpoint_dir", "a folder that can be created and written", checks.Text(problem))
    return path


def prepare_checkpoint_dir(func: str, checkpoint_dir, restart: bool) -> str | None:
    """Check that the folder is writable (making it); with ``restart`` remove its checkpoints and log."""
    from mathdl.train._parallel import barrier, is_lead

    path = check_checkpoint_dir(func, checkpoint_dir, restart)
    if restart and not is_lead():  # in a job, process 0 clears the folder and the others wait for it
        barrier("restart")
    elif restart:
        from mathdl.train._checkpoint import list_checkpoints

        old = list_checkpoints(path)
        for _, folder in old:
            shutil.rmtree(folder)
        log = os.path.join(path, "metrics.jsonl")
        if os.path.exists(log):
            os.remove(log)
        if old:
            print(f"mathdl.train: restart: removed {len(old)} checkpoint(s) from {path}.", file=sys.stderr)
        barrier("restart")
    return path


def loop(
    step: Callable,
    state,
    *,
    key: jax.Array,
    data=None,
    batch_size: int | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    eval_fn: Callable | None = None,
    eval_every: int | None = None,
    early_stopping: EarlyStopping | None = None,
    log_every: int | None = None,
    log_file: str | os.PathLike | None = None,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    keep: int = 3,
    restart: bool = False,
    config: dict | None = None,
    mesh=None,
    scan: bool | None = None,
    handle_signals: bool = True,
    guard: Callable | None = None,
    data_shards: int | None = None,
) -> LoopResult:
    r"""Run a pure training step $(s_{t+1}, m_t) = \mathrm{step}(s_t, \mathcal B_t, k_t)$ for many steps.

    The loop owns everything around the step: each step is one compiled call with the state's
    buffers donated (with ``scan``, a whole epoch, or a log interval without data, is one
    ``lax.scan``); batches $\mathcal B_t$ come from shuffled epochs of ``data``, or are ``None``
    when ``data`` is ``None``; $k_t$ = ``fold_in(step_key, t)``. Scalar metrics stay on the device
    and are averaged per log interval; a non-finite metric or state stops the run naming the step
    and the leaf (see ``guard``), and that state is never saved.

    Checkpoints (``checkpoint_dir``) are written on a background thread with a verified SHA-256
    manifest; running the same call again resumes from the newest good one and ends bitwise equal
    to an uninterrupted run (on CPU), even after SIGKILL. A checkpoint records the run's identity
    (seed, ``config``, batch size, a fingerprint of the data, the state's types): resuming with a
    different one raises, naming what differs, unless ``restart=True``. SIGTERM and SIGINT save a
    checkpoint at the next step boundary (segment boundary with ``scan``), a second signal waits
    for that save, and the loop returns with ``stop_reason`` set to the signal's name.

    Args:
      step: ``step(state, batch, key) -> (state, metrics)``, pure; the new state has the
        structure, shapes and dtypes of the old; ``metrics`` is a dict whose scalar entries are
        logged (other entries are only seen by ``guard``).
      state: the initial state (a pytree: parameters, optimizer states, buffers, counters).
      key: a typed PRNG key (``jax.random.key``), for shuffling and per-step keys.
      data: a pytree of arrays with a common leading length ``n``, or ``None``.
      batch_size: examples per step with ``data``, ``1 <= batch_size <= n`` (a multiple of the
        devices of ``mesh``); omitted without data.
      epochs: passes over ``data`` (with data, give ``epochs`` or ``steps``).
      steps: total steps (required without data).
      eval_fn: ``eval_fn(state) -> dict[str, float]``, run on the host every ``eval_every``
        steps and logged as ``val_<name>``.
      eval_every: steps between evaluations (default: an epoch, or ``log_every`` without data).
      early_stopping: an :class:`EarlyStopping` rule on ``eval_fn``'s output.
      log_every: steps between log points (default: an epoch; without data ``min(steps, 100)``).
      log_file: where to append JSON-lines logs (default ``checkpoint_dir/metrics.jsonl``).
      progress: show a tqdm progress bar with the logged metrics.
      checkpoint_dir: folder for checkpoints and the log; resumes from it. It must be a folder
        that can be created and written.
      checkpoint_every: steps between checkpoints (default: as ``eval_every``); one is also
        written at the end and when stopping.
      keep: checkpoints to keep (``>= 1``); the newest good one is never deleted.
      restart: delete the checkpoints (and ``metrics.jsonl``) in ``checkpoint_dir`` and start over.
      config: a JSON dict describing the run (optimizer name, learning rate ...), recorded in
        each checkpoint and compared on resume.
      mesh: a ``jax.sharding.Mesh`` with one ``"data"`` axis: batches are sharded on it and the
        state replicated (default in a multi-process job: every device of the job).
      scan: run the steps between two log/eval/checkpoint points (within an epoch) as one
        ``lax.scan``; default when all those segments have the same length (each interval a
        multiple of the shortest, the epoch included), so that one compiled scan serves the run.
        Bitwise equal to the step-by-step loop on CPU; signals are then seen once per segment.
      handle_signals: catch SIGTERM/SIGINT as described above (main thread only).
      guard: ``guard(state, metrics) -> {name: bool}`` after each step (names ``"<kind> <leaf>"``);
        default: every floating metric and state leaf is finite.
      data_shards: batch ``data`` as this many equal shards, each with its own order (as the
        processes of a job do; see the module docstring); in a job, ``None`` or the number of
        processes, and ``data`` is this process's shard.

    Returns:
      A :class:`LoopResult` ``(state, history, step, epoch, stop_reason, checkpoint)``.

    Raises:
      ValueError: before any step, for a bad schedule argument, ``data`` with unequal leading
        lengths (or, in a job, shards of different lengths, naming the processes), a
        ``checkpoint_dir`` that is a file, sits under a file or cannot be written,
        or a step whose new state differs in structure, shape or dtype from the old.
      CheckpointError: a checkpoint of a different run (naming what differs) or model (naming
        the leaf).
      TypeError: if ``key`` is not a typed PRNG key or ``step`` is not callable.
      NonFiniteError: when the guard finds a non-finite value (naming the step and the leaf).

    References:
      [MEDL] Ch. 4, Sec. 4.2 (mini-batch SGD, epochs, early stopping); orbax-checkpoint;
      JAX documentation, "Distributed arrays and automatic parallelization".
    """
    from mathdl.train._run import Run

    func = "train.loop"
    if not callable(step):
        checks.fail(func, "step", "a callable", type(step).__name__, exc=TypeError)
    if guard is not None and not callable(guard):
        checks.fail(func, "guard", "a callable", type(guard).__name__, exc=TypeError)
    if eval_fn is not None and not callable(eval_fn):
        checks.fail(func, "eval_fn", "a callable", type(eval_fn).__name__, exc=TypeError)
    check_key(func, key)
    check_int(func, "keep", keep, 1)
    check_early_stopping(func, early_stopping, eval_fn)
    if eval_every is not None and eval_fn is None:
        checks.fail(func, "eval_every", "to be given with `eval_fn`", eval_every)
    mesh = _resolve_mesh(func, mesh, None)
    n_dev = 1 if mesh is None else mesh.shape["data"]
    shards = shard_layout(func, data, data_shards)
    if shards is not None and mesh is None:
        mesh = _resolve_mesh(func, None, 1)
        n_dev = 1
    plan = make_plan(
        func,
        data=data,
        batch_size=batch_size,
        epochs=epochs,
        steps=steps,
        log_every=log_every,
        eval_every=eval_every,
        checkpoint_every=checkpoint_every,
        scan=scan,
        n_dev=n_dev,
        has_eval=eval_fn is not None,
        has_ckpt=checkpoint_dir is not None,
        shards=shards,
    )
    ckpt_dir = prepare_checkpoint_dir(func, checkpoint_dir, restart)
    if log_file is None and ckpt_dir is not None:
        log_file = os.path.join(ckpt_dir, "metrics.jsonl")
    run = Run(
        func,
        step,
        guard or finite_leaves,
        plan,
        key=key,
        data=data,
        mesh=mesh,
        eval_fn=eval_fn,
        early_stopping=early_stopping,
        checkpoint_dir=ckpt_dir,
        keep=keep,
        config=config,
        log_file=None if log_file is None else os.fspath(log_file),
        progress=progress,
        handle_signals=handle_signals,
        shards=shards,
    )
    return run.run(state)
