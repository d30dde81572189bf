r"""Supervised training: ``fit`` is :func:`mathdl.train.loop` running the one supervised step.

The step is :func:`make_train_step` of the caller's loss and optimizer on the state
:class:`FitState` ``(params, opt_state, model_state)``; its guard checks the loss and every
gradient leaf (so a NaN names ``loss`` or the gradient's path), and evaluation is
:func:`evaluate` of the caller's per-example ``eval_fn`` on ``eval_data``.
"""

import functools
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from mathdl import checks
from mathdl.train._evaluate import _data_length, evaluate
from mathdl.train._identity import first_update
from mathdl.train._loop import (
    EarlyStopping,
    LoopResult,
    check_checkpoint_dir,
    check_early_stopping,
    check_int,
    check_key,
    loop,
)
from mathdl.train._parallel import _resolve_mesh
from mathdl.train._step import make_train_step

__all__ = ["FitResult", "FitState", "fit"]


class FitState(NamedTuple):
    """The state ``fit`` trains: parameters, optimizer state, model state (``()`` when none)."""

    params: Any
    opt_state: Any
    model_state: Any


class FitResult(NamedTuple):
    """What :func:`fit` returns: the fields of :class:`LoopResult` with the state unpacked.

    Attributes:
      params: the trained parameters (the best ones under ``EarlyStopping(restore_best=True)``).
      opt_state: the optimizer state that goes with ``params``.
      model_state: the model state (``None`` when the model has none).
      history: a list of dicts, one per log or evaluation point (``step``, ``epoch``, ``loss``,
        ``examples_per_s``, ``val_<metric>`` ...), as also written to ``metrics.jsonl``.
      step: global steps done.
      epoch: epochs completed.
      stop_reason: ``"completed"``, ``"early_stopping"``, ``"SIGTERM"`` or ``"SIGINT"``.
      checkpoint: path of the last checkpoint written or restored, or ``None``.
      state: the :class:`FitState` the loop returned (``model_state`` ``()`` when none).
    """

    params: Any
    opt_state: Any
    model_state: Any
    history: list
    step: int
    epoch: int
    stop_reason: str
    checkpoint: str | None
    state: Any = None


def _stateless_loss(loss_fn, params, model_state, batch, key):
    return loss_fn(params, batch, key), model_state


def _supervised_step(train_step, state: FitState, batch, key):
    params, opt_state, model_state, metrics = train_step(*state, batch, key)
    return FitState(params, opt_state, model_state), metrics


def _fit_guard(state: FitState, metrics) -> dict:
    """The loss, then each gradient leaf (``metrics["finite"]`` of ``make_train_step(check_finite=True)``)."""
    finite = metrics["finite"]
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(state.params)]
    return {"loss": finite[0], **{f"gradient {p}": finite[1 + i] for i, p in enumerate(paths)}}


def _evaluate_state(eval_fn, eval_data, batch_size, has_state, state: FitState) -> dict:
    model_state = state.model_state if has_state else None
    return evaluate(eval_fn, state.params, eval_data, batch_size=batch_size, model_state=model_state)


def _check_labels(func, name, data, num_classes):
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.integer) and arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi >= num_classes:
                checks.fail(
                    func,
                    name,
                    f"labels in [0, {num_classes}) (num_classes = {num_classes})",
                    f"labels in [{lo}, {hi}] in {name}{jax.tree_util.keystr(path)}",
                )


def _check_finite_data(func, name, data):
    for path, leaf in jax.tree_util.tree_leaves_with_path(data):
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            bad = int(np.argwhere(~np.isfinite(arr.reshape(arr.shape[0], -1)))[0, 0])
            checks.fail(
                func, name, "finite values", f"a NaN or inf in {name}{jax.tree_util.keystr(path)} (example {bad})"
            )


def _check_data(func, data, batch_size, eval_fn, eval_data, num_classes) -> None:
    n = _data_length(func, "data", data) * jax.process_count()  # in a job, `data` is one of equal shards
    check_int(func, "batch_size", batch_size, 1)
    if batch_size > n:
        checks.fail(func, "batch_size", f"at most the number of examples n = {n}", batch_size)
    if (eval_fn is None) != (eval_data is None):
        checks.fail(func, "eval_data", "to be given together with `eval_fn`", "only one of the two")
    named = [("data", data)] + ([("eval_data", eval_data)] if eval_data is not None else [])
    for name, tree in named[1:]:
        _data_length(func, name, tree)
    for name, tree in named:
        _check_finite_data(func, name, tree)
    if num_classes is not None:
        check_int(func, "num_classes", num_classes, 1)
        for name, tree in named:
            _check_labels(func, name, tree, num_classes)


def _check_loss(func, loss, params, model_state, data, batch_size) -> None:
    """The loss returns ``(scalar, new_model_state)`` on one batch (traced, not run)."""

    def batch_of(a):
        dtype = jax.dtypes.canonicalize_dtype(getattr(a, "dtype", None) or np.asarray(a).dtype)
        return jax.ShapeDtypeStruct((batch_size, *np.shape(a)[1:]), dtype)

    batch = jax.tree.map(batch_of, data)
    out = jax.eval_shape(lambda p, s, b: loss(p, s, b, jax.random.key(0)), params, model_state, batch)
    if not (isinstance(out, tuple) and len(out) == 2):
        checks.fail(func, "loss_fn", "(loss, new_model_state) when `model_state` is given", type(out).__name__)
    if out[0].shape != ():
        checks.fail(func, "loss_fn", "a scalar loss (the mean over the batch)", f"shape {out[0].shape}")


def fit(
    loss_fn: Callable,
    optimizer,
    params,
    data,
    *,
    key: jax.Array,
    epochs: int,
    batch_size: int,
    model_state=None,
    eval_fn: Callable | None = None,
    eval_data=None,
    eval_every: int = 1,
    log_every: int | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    keep: int = 3,
    early_stopping: EarlyStopping | None = None,
    progress: bool = True,
    mesh=None,
    devices=None,
    scan_epoch: bool | None = None,
    handle_signals: bool = True,
    log_file: str | os.PathLike | None = None,
    num_classes: int | None = None,
    config: dict | None = None,
    restart: bool = False,
    data_shards: int | None = None,
) -> FitResult:
    r"""Train ``params`` by mini-batch gradient steps on shuffled epochs of ``data``.

    For epochs $e = 0, \dots, E-1$ and steps $t$, with the batch $\mathcal B_t$ drawn without
    replacement from a fresh permutation each epoch,

    $$(\theta_{t+1}, s_{t+1}) = \mathrm{step}\big(\theta_t, s_t;\ \nabla_\theta C_{\mathcal B_t}(\theta_t)\big),\qquad
      C_{\mathcal B}(\theta) = \frac{1}{|\mathcal B|}\sum_{i \in \mathcal B} \ell(\theta; x_i, y_i),$$

    where ``loss_fn`` computes $C_{\mathcal B}$ (use :func:`mean_loss` to lift a one-example
    loss) and ``optimizer`` maps gradients to updates (:func:`make_train_step`). This is
    :func:`loop` running that step on :class:`FitState`; the loop gives the compiled, donated
    steps (an epoch as one ``lax.scan`` with ``scan_epoch``), verified checkpoints with exact
    resume, the run identity check, SIGTERM/SIGINT saves, the non-finite guard (naming ``loss``
    or the gradient leaf), the log, early stopping and sharding.

    Args:
      loss_fn: ``loss_fn(params, batch, key) -> scalar`` (mean over the batch); with
        ``model_state``, ``loss_fn(params, model_state, batch, key) -> (scalar, new_state)``.
      optimizer: an ``optax.GradientTransformation``.
      params: initial parameters (a pytree).
      data: a pytree of arrays with a common leading length ``n``, e.g. ``(X, y)``; batches are
        the same pytree with leading length ``batch_size``.
      key: a typed PRNG key (``jax.random.key``), used for shuffling and per-step keys.
      epochs: number of passes over the data, ``>= 1``.
      batch_size: examples per step, ``1 <= batch_size <= n`` (divisible by the number of
        devices when sharded).
      model_state: non-trained model state (batch-norm running statistics), or ``None``.
      eval_fn: ``eval_fn(params, batch) -> dict[str, per-example array]`` (with
        ``model_state``: ``eval_fn(params, model_state, batch)``), run on ``eval_data`` every
        ``eval_every`` epochs through :func:`evaluate`; logged as ``val_<name>``.
      eval_data: held-out data in the same layout as ``data``.
      eval_every: evaluate every this many epochs.
      log_every: log (and update the progress bar) every this many steps; default once per epoch.
      checkpoint_dir: folder for checkpoints and ``metrics.jsonl``; resumes from it if it holds
        a checkpoint of this run (else raises, naming what differs).
      checkpoint_every: save every this many steps (default: at the end of every epoch).
      keep: how many checkpoints to keep (``>= 1``); the newest good one is never deleted.
      early_stopping: an :class:`EarlyStopping` rule on ``eval_fn``'s metrics.
      progress: show a tqdm progress bar with the loss and throughput.
      mesh: a ``jax.sharding.Mesh`` with a ``"data"`` axis: batches are sharded on it and
        parameters replicated (see :func:`make_mesh`).
      devices: instead of ``mesh``, an int (the first that many devices) or a list of devices.
      scan_epoch: run the steps between log and checkpoint points as one ``lax.scan`` (default:
        when those segments all have the same length, e.g. logs and checkpoints once per epoch).
        Bitwise equal to the step-by-step loop on CPU.
      handle_signals: catch SIGTERM/SIGINT (main thread only): save and return.
      log_file: where to append JSON-lines metrics (default ``checkpoint_dir/metrics.jsonl``).
      num_classes: if given, every integer leaf of ``data`` and ``eval_data`` (the labels) must
        lie in ``[0, num_classes)``; checked before training.
      config: a JSON dict naming the run's settings (optimizer name, learning rate ...),
        recorded in checkpoints and compared on resume; ``fit`` adds
        ``optimizer_first_update``, the mean first update of a unit gradient.
      restart: delete the checkpoints in ``checkpoint_dir`` and start over.
      data_shards: batch ``data`` as this many equal shards, each in its own order, as the
        processes of a multi-process job do (see :func:`loop`); in a job ``data`` is this
        process's shard, and parameters are replicated on every device of the job.

    Returns:
      A :class:`FitResult` ``(params, opt_state, model_state, history, step, epoch,
      stop_reason, checkpoint, state)``.

    Raises:
      ValueError: before any step, for leaves of ``data`` with different leading lengths,
        NaN/inf features, labels outside ``[0, num_classes)``, ``batch_size`` outside ``[1, n]``,
        ``epochs < 1``, an unusable ``checkpoint_dir``, or a bad hyperparameter.
      CheckpointError: a checkpoint of a different run (the message names what differs) or
        model (the message names the leaf).
      TypeError: if ``key`` is not a typed PRNG key or ``loss_fn`` is not callable.
      NonFiniteError: when a step's loss or gradient is not finite (naming the step and the
        first offending leaf); that state is not saved.

    References:
      [MEDL] Ch. 4, Sec. 4.2 (mini-batch SGD, epochs, early stopping); orbax-checkpoint;
      JAX documentation, "Distributed arrays and automatic parallelization".
    """
    func = "train.fit"
    if not callable(loss_fn):
        checks.fail(func, "loss_fn", "a callable", type(loss_fn).__name__, exc=TypeError)
    check_key(func, key)
    check_int(func, "epochs", epochs, 1)
    _check_data(func, data, batch_size, eval_fn, eval_data, num_classes)
    check_int(func, "eval_every", eval_every, 1)
    check_int(func, "keep", keep, 1)
    check_early_stopping(func, early_stopping, eval_fn)
    check_checkpoint_dir(func, checkpoint_dir, restart)
    mesh = _resolve_mesh(func, mesh, devices)
    n_dev = 1 if mesh is None else mesh.shape["data"]
    if mesh is None and data_shards is not None:
        mesh = _resolve_mesh(func, None, 1)
    if batch_size % n_dev:
        checks.fail(func, "batch_size", f"a multiple of the {n_dev} devices on the `data` axis", batch_size)

    has_state = model_state is not None
    loss = loss_fn if has_state else functools.partial(_stateless_loss, loss_fn)
    _check_loss(func, loss, params, model_state if has_state else (), data, batch_size)
    train_step = make_train_step(loss, optimizer, has_state=True, check_finite=True)
    state = FitState(params, jax.jit(optimizer.init)(params), model_state if has_state else ())
    if checkpoint_dir is not None:
        config = {"optimizer_first_update": first_update(optimizer, params), **(config or {})}
    evaluate_state = None
    n_total = _data_length(func, "data", data) * jax.process_count()  # in a job, `data` is one of equal shards
    if eval_fn is not None:
        evaluate_state = functools.partial(_evaluate_state, eval_fn, eval_data, max(batch_size, 256), has_state)
    result: LoopResult = loop(
        functools.partial(_supervised_step, train_step),
        state,
        key=key,
        data=data,
        batch_size=batch_size,
        epochs=epochs,
        eval_fn=evaluate_state,
        eval_every=None if eval_fn is None else eval_every * (n_total // batch_size),
        early_stopping=early_stopping,
        log_every=log_every,
        log_file=log_file,
        progress=progress,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        keep=keep,
        restart=restart,
        config=config,
        mesh=mesh,
        scan=scan_epoch,
        handle_signals=handle_signals,
        guard=_fit_guard,
        data_shards=data_shards,
    )
    params, opt_state, model_state = result.state
    return FitResult(
        params,
        opt_state,
        model_state if has_state else None,
        result.history,
        result.step,
        result.epoch,
        result.stop_reason,
        result.checkpoint,
        result.state,
    )
