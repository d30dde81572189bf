r"""The one fit loop of mathdl: epochs of shuffled mini-batches through one compiled step.

Randomness. From the one ``key`` given to :func:`fit`, ``perm_key, step_key =
jax.random.split(key)``; epoch ``e`` visits the examples in the order
``jax.random.permutation(jax.random.fold_in(perm_key, e), n)`` and global step ``t`` gets
``jax.random.fold_in(step_key, t)``. Everything a step does is therefore a function of
``(key, t)`` and the state, which is what makes a resumed run bitwise equal to an
uninterrupted one.

Batches. An epoch has ``n // batch_size`` steps; the last ``n mod batch_size`` examples of
each epoch's permutation are skipped (a different few each epoch), so every compiled batch has
the same shape and nothing recompiles.
"""

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mathdl import checks
from mathdl.train import _checkpoint as ckpt
from mathdl.train._evaluate import _data_length, evaluate
from mathdl.train._parallel import _resolve_mesh
from mathdl.train._step import make_train_step

__all__ = ["EarlyStopping", "FitResult", "NonFiniteError", "fit"]


class NonFiniteError(FloatingPointError):
    """A training step produced a non-finite loss or gradient.

    Attributes:
      step: the global step (counted from 0) whose loss or gradient was not finite.
      leaf: the first offending quantity: ``"loss"`` or the gradient leaf's path, e.g. ``"[0].W"``.
      checkpoint: path of the last good checkpoint, or ``None``.
    """

    def __init__(self, step: int, leaf: str, checkpoint: str | None = None):
        self.step, self.leaf, self.checkpoint = step, leaf, checkpoint
        where = f"; the last good checkpoint is {checkpoint}" if checkpoint else ""
        super().__init__(
            f"train.fit: non-finite {'loss' if leaf == 'loss' else 'gradient'} at step {step} "
            f"(first offending leaf: {leaf}); the run stopped and this state was not saved{where}."
        )


class EarlyStopping(NamedTuple):
    r"""Stop when a validation metric has not improved for ``patience`` evaluations.

    Attributes:
      metric: the key of ``eval_fn``'s output to watch, e.g. ``"loss"`` or ``"accuracy"``.
      mode: ``"min"`` (smaller is better) or ``"max"``.
      patience: evaluations without improvement before stopping (``>= 1``).
      min_delta: an improvement must exceed this amount.
      restore_best: return the parameters of the best evaluation rather than the last.
    """

    metric: str = "loss"
    mode: str = "min"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
      params: the trained parameters (the best ones under ``EarlyStopping(restore_best=True)``).
      opt_state: the optimizer state after the last step.
      model_state: the model state (``None`` when the model has none).
      history: a list of dicts, one per log or evaluation point (``step``, ``epoch``, ``loss``,
        ``examples_per_s``, ``val_<metric>`` ...), as also written to ``metrics.jsonl``.
      step: global steps done.
      epoch: epochs completed.
      stop_reason: ``"completed"``, ``"early_stopping"``, ``"SIGTERM"`` or ``"SIGINT"``.
      checkpoint: path of the last checkpoint written or restored, or ``None``.
    """

    params: Any
    opt_state: Any
    model_state: Any
    history: list
    step: int
    epoch: int
    stop_reason: str
    checkpoint: str | None


class _Acc(NamedTuple):
    loss_sum: jax.Array  # shape=(), dtype of the loss
    count: jax.Array  # shape=(), int32
    first_bad: jax.Array  # shape=(), int32; -1 while every step was finite
    bad_flags: jax.Array  # shape=(1 + number of gradient leaves,), bool; the "finite" vector of that step


def _check_int(func, name, value, low):
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
        checks.fail(func, name, f"an integer >= {low}", value)


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


class _Signals:
    """Turn SIGTERM/SIGINT into a flag read at step boundaries (main thread only)."""

    def __init__(self, enabled: bool):
        self.received: str | None = None
        self._old = {}
        if enabled and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        del frame
        self.received = signal.Signals(signum).name

    def restore(self):
        for sig, old in self._old.items():
            signal.signal(sig, old)


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
) -> FitResult:
    r"""Train ``params`` by mini-batch gradient steps on shuffled epochs of ``data``.

    For epochs $e = 0, \dots, E-1$ and steps $t$, with the batch $\mathcal B_t$ drawn without
    replacement from a fresh permutation each epoch,

    $$(\theta_{t+1}, s_{t+1}) = \mathrm{step}\big(\theta_t, s_t;\ \nabla_\theta C_{\mathcal B_t}(\theta_t)\big),\qquad
      C_{\mathcal B}(\theta) = \frac{1}{|\mathcal B|}\sum_{i \in \mathcal B} \ell(\theta; x_i, y_i),$$

    where ``loss_fn`` computes $C_{\mathcal B}$ (use :func:`mean_loss` to lift a one-example
    loss) and ``optimizer`` maps gradients to updates (:func:`make_train_step`). Each step is
    one compiled call with donated buffers; with ``scan_epoch`` a whole epoch is one
    ``lax.scan``. Metrics stay on the device and are fetched once per log interval.

    Checkpoints (``checkpoint_dir``) hold params, optimizer state, model state, step, epoch and
    the PRNG key, written with orbax-checkpoint and a verified manifest (see
    :func:`save_checkpoint`); running the same call again resumes from the newest good one
    and ends with parameters bitwise equal to an uninterrupted run (on CPU). SIGTERM and
    SIGINT save a checkpoint at the next step boundary (epoch boundary with ``scan_epoch``)
    and return with ``stop_reason`` set to the signal's name.

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
        a checkpoint of this run.
      checkpoint_every: save every this many steps (default: at the end of every epoch). With
        ``scan_epoch`` checkpoints fall on the first epoch boundary at or after each multiple.
      keep: how many checkpoints to keep (``>= 1``); the newest good one is never deleted.
      early_stopping: an :class:`EarlyStopping` rule on ``eval_fn``'s metrics.
      progress: show a tqdm progress bar with the loss and throughput.
      mesh: a ``jax.sharding.Mesh`` with a ``"data"`` axis: batches are sharded on it and
        parameters replicated (see :func:`make_mesh`).
      devices: instead of ``mesh``, an int (the first that many devices) or a list of devices.
      scan_epoch: run each epoch as one ``lax.scan`` (default: when logging and checkpoints
        fall on epoch boundaries). Bitwise equal to the step-by-step loop on CPU.
      handle_signals: catch SIGTERM/SIGINT as described above (main thread only).
      log_file: where to append JSON-lines metrics (default ``checkpoint_dir/metrics.jsonl``).
      num_classes: if given, every integer leaf of ``data`` and ``eval_data`` (the labels) must
        lie in ``[0, num_classes)``; checked before training.

    Returns:
      A :class:`FitResult` ``(params, opt_state, model_state, history, step, epoch,
      stop_reason, checkpoint)``.

    Raises:
      ValueError: before any step, for leaves of ``data`` with different leading lengths,
        NaN/inf features, labels outside ``[0, num_classes)``, ``batch_size`` outside ``[1, n]``,
        ``epochs < 1``, a checkpoint of a different model or run (the message names the leaf), or a bad hyperparameter.
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
    if not (isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)):
        checks.fail(func, "key", "a typed PRNG key from jax.random.key", type(key).__name__, exc=TypeError)
    _check_int(func, "epochs", epochs, 1)
    n = _data_length(func, "data", data)
    _check_int(func, "batch_size", batch_size, 1)
    if batch_size > n:
        checks.fail(func, "batch_size", f"at most the number of examples n = {n}", batch_size)
    _check_int(func, "eval_every", eval_every, 1)
    _check_int(func, "keep", keep, 1)
    if log_every is not None:
        _check_int(func, "log_every", log_every, 1)
    if checkpoint_every is not None:
        _check_int(func, "checkpoint_every", checkpoint_every, 1)
    if (eval_fn is None) != (eval_data is None):
        checks.fail(func, "eval_data", "to be given together with `eval_fn`", "only one of the two")
    if eval_data is not None:
        _data_length(func, "eval_data", eval_data)
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            checks.fail(func, "early_stopping", "an EarlyStopping", type(early_stopping).__name__, exc=TypeError)
        if eval_fn is None:
            checks.fail(func, "early_stopping", "`eval_fn` and `eval_data` to watch", "no eval_fn")
        checks.check_choice(func, "early_stopping.mode", early_stopping.mode, ("min", "max"))
        _check_int(func, "early_stopping.patience", early_stopping.patience, 1)
    _check_finite_data(func, "data", data)
    if eval_data is not None:
        _check_finite_data(func, "eval_data", eval_data)
    if num_classes is not None:
        _check_int(func, "num_classes", num_classes, 1)
        _check_labels(func, "data", data, num_classes)
        if eval_data is not None:
            _check_labels(func, "eval_data", eval_data, num_classes)

    mesh = _resolve_mesh(func, mesh, devices)
    n_dev = 1 if mesh is None else mesh.shape["data"]
    if batch_size % n_dev:
        checks.fail(func, "batch_size", f"a multiple of the {n_dev} devices on the `data` axis", batch_size)

    steps_per_epoch = n // batch_size
    total_steps = epochs * steps_per_epoch
    log_every = steps_per_epoch if log_every is None else log_every
    if scan_epoch is None:
        scan_epoch = log_every % steps_per_epoch == 0 and (
            checkpoint_every is None or checkpoint_every % steps_per_epoch == 0
        )
    ckpt_every = steps_per_epoch if checkpoint_every is None else checkpoint_every

    has_state = model_state is not None
    if has_state:
        user_loss = loss_fn
    else:

        def user_loss(p, s, b, k):
            return loss_fn(p, b, k), s

    step = make_train_step(user_loss, optimizer, has_state=True, check_finite=True)

    # ---- placement: replicate params/state, keep the whole (small) data set on the device(s)
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        replicated = NamedSharding(mesh, PartitionSpec())
        batch_sharding = NamedSharding(mesh, PartitionSpec("data"))
    else:
        replicated = batch_sharding = None

    def place(tree):
        # a fresh copy (may_alias=False): the compiled step donates its inputs, which must never be
        # the caller's arrays; device_put copies without compiling anything
        return jax.device_put(tree, replicated, may_alias=False)

    data_dev = place(jax.tree.map(jnp.asarray, data))
    key_data = np.asarray(jax.random.key_data(key))
    key_impl = jax.random.key_impl(key)

    # ---- resume
    opt_state = None
    start_step = 0
    finished = False
    es_state = {"best": None, "wait": 0, "epoch": -1}
    best_params = None
    restored_from = None
    ckpt_dir = None if checkpoint_dir is None else os.fspath(checkpoint_dir)
    run_meta = {"n": int(n), "batch_size": int(batch_size), "steps_per_epoch": int(steps_per_epoch)}
    if ckpt_dir is not None:
        os.makedirs(ckpt_dir, exist_ok=True)
        template = {
            "params": params,
            "opt_state": jax.eval_shape(optimizer.init, params),  # shapes and dtypes only
            "model_state": model_state,
            "key": key_data,
        }
        if early_stopping is not None and early_stopping.restore_best:
            template["best_params"] = params
        found = ckpt.restore_latest(ckpt_dir, template, verbose=True)
        if found is not None:
            tree, meta, restored_from = found
            for name, value in run_meta.items():
                if meta.get("run", {}).get(name, value) != value:
                    checks.fail(
                        func,
                        "checkpoint_dir",
                        f"a checkpoint of this run ({name} = {value})",
                        f"{name} = {meta['run'][name]} in {restored_from}",
                    )
            params, opt_state, model_state = tree["params"], tree["opt_state"], tree["model_state"]
            key_data = np.asarray(tree["key"])
            start_step = int(meta["step"])
            es_state = meta.get("early_stopping", es_state)
            finished = meta.get("stop_reason") == "early_stopping"
            if "best_params" in tree and es_state.get("best") is not None:
                best_params = place(tree["best_params"])
    key = jax.random.wrap_key_data(jnp.asarray(key_data), impl=key_impl)
    perm_key, step_key = jax.random.split(key)

    params = place(params)
    if opt_state is None:
        opt_state = jax.jit(optimizer.init)(params)  # one compile rather than one eager op per leaf
    opt_state = place(opt_state)
    model_state = place(model_state) if has_state else ()

    first_batch = jax.tree.map(lambda a: a[:batch_size], data_dev)
    loss_out = jax.eval_shape(lambda p, s, b: user_loss(p, s, b, step_key), params, model_state, first_batch)
    if not (isinstance(loss_out, tuple) and len(loss_out) == 2):
        checks.fail(func, "loss_fn", "(loss, new_model_state) when `model_state` is given", type(loss_out).__name__)
    loss_shape = loss_out[0]
    if loss_shape.shape != ():
        checks.fail(func, "loss_fn", "a scalar loss (the mean over the batch)", f"shape {loss_shape.shape}")
    jax.eval_shape(lambda p, o, s, b: step(p, o, s, b, step_key), params, opt_state, model_state, first_batch)
    n_flags = 1 + len(jax.tree.leaves(params))
    flag_names = ["loss"] + [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]

    def new_acc():  # built on the host and put once: no eager op, nothing to compile
        acc = _Acc(
            np.zeros((), loss_shape.dtype),
            np.zeros((), np.int32),
            np.full((), -1, np.int32),
            np.ones((n_flags,), bool),
        )
        return jax.device_put(acc, replicated)

    def one_step(state, data, perm, i, global_step):
        p, o, s, acc = state
        rows = jax.lax.dynamic_slice_in_dim(perm, i * batch_size, batch_size)
        batch = jax.tree.map(lambda a: jnp.take(a, rows, axis=0), data)
        if batch_sharding is not None:
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
        p, o, s, m = step(p, o, s, batch, jax.random.fold_in(step_key, global_step))
        ok = jnp.all(m["finite"])
        first = (acc.first_bad < 0) & ~ok
        acc = _Acc(
            acc.loss_sum + m["loss"],
            acc.count + 1,
            jnp.where(first, global_step.astype(jnp.int32), acc.first_bad),
            jnp.where(first, m["finite"], acc.bad_flags),
        )
        return p, o, s, acc

    def permutation(k, e):
        return jax.random.permutation(jax.random.fold_in(k, e), n).astype(jnp.int32)

    def epoch_fn(state, data, k, epoch, step0):
        perm = permutation(k, epoch)  # inside the epoch's compiled call: no separate compile or dispatch

        def body(carry, i):
            return one_step(carry, data, perm, i, step0 + i), None

        state, _ = jax.lax.scan(body, state, jnp.arange(steps_per_epoch, dtype=jnp.int32))
        return state

    step_jit = jax.jit(one_step, donate_argnums=(0,))
    epoch_jit = jax.jit(epoch_fn, donate_argnums=(0,))
    perm_jit = jax.jit(permutation)

    # ---- logging
    log_path = (
        log_file if log_file is not None else (None if ckpt_dir is None else os.path.join(ckpt_dir, "metrics.jsonl"))
    )
    history: list[dict] = []

    def log(entry):
        history.append(entry)
        if log_path is not None:
            with open(log_path, "a") as fh:
                fh.write(json.dumps(entry) + "\n")

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=start_step, desc="fit", unit="step", leave=False, dynamic_ncols=True)

    signals = _Signals(handle_signals)
    state = (params, opt_state, model_state, new_acc())
    t = start_step
    last_ckpt = restored_from
    stop_reason = "early_stopping" if finished else "completed"
    saver = ckpt._AsyncSaver() if ckpt_dir is not None else None
    next_ckpt = (t // ckpt_every + 1) * ckpt_every
    t_log, t_log_step = time.perf_counter(), t

    def check_finite_or_raise(acc):
        first_bad = int(acc.first_bad)
        if first_bad >= 0:
            flags = np.asarray(acc.bad_flags)
            leaf = flag_names[int(np.argmin(flags))]
            raise NonFiniteError(first_bad, leaf, last_ckpt)

    def flush_log(acc, epoch):
        nonlocal t_log, t_log_step
        acc = jax.device_get(acc)
        check_finite_or_raise(acc)
        if int(acc.count) == 0:
            return
        now = time.perf_counter()
        entry = {
            "step": t,
            "epoch": epoch,
            "loss": float(acc.loss_sum) / int(acc.count),
            "examples_per_s": (t - t_log_step) * batch_size / max(now - t_log, 1e-9),
        }
        t_log, t_log_step = now, t
        log(entry)
        if bar is not None:
            bar.set_postfix(loss=f"{entry['loss']:.4g}", ex_s=f"{entry['examples_per_s']:.3g}")

    def save(epoch):
        nonlocal last_ckpt, next_ckpt
        next_ckpt = (t // ckpt_every + 1) * ckpt_every
        if last_ckpt is not None and last_ckpt.endswith(f"step_{t:09d}"):
            return  # this step is already saved
        p, o, s, acc = state
        check_finite_or_raise(jax.device_get(acc))  # a non-finite state is never saved
        tree = {"params": p, "opt_state": o, "model_state": s if has_state else None, "key": key_data}
        if early_stopping is not None and early_stopping.restore_best:
            tree["best_params"] = p if best_params is None else best_params
        meta = {"step": t, "epoch": epoch, "run": run_meta, "early_stopping": es_state, "stop_reason": stop_reason}
        # host copies are taken now; the orbax write, manifest and pruning run on a background thread
        last_ckpt = saver.save(ckpt_dir, t, tree, meta, keep)

    try:
        while t < total_steps and stop_reason == "completed":
            epoch, i0 = divmod(t, steps_per_epoch)
            if scan_epoch and i0 == 0:
                state = epoch_jit(state, data_dev, perm_key, np.int32(epoch), np.int32(t))
                t += steps_per_epoch
                if bar is not None:
                    bar.update(steps_per_epoch)
            else:
                perm = perm_jit(perm_key, np.int32(epoch))
                for i in range(i0, steps_per_epoch):
                    state = step_jit(state, data_dev, perm, np.int32(i), np.int32(t))
                    t += 1
                    if bar is not None:
                        bar.update(1)
                    if t % log_every == 0 and t % steps_per_epoch:
                        flush_log(state[3], epoch)
                        state = (*state[:3], new_acc())
                    if ckpt_dir is not None and t >= next_ckpt and t % steps_per_epoch:
                        save(epoch)
                    if signals.received:
                        break
            done_epoch = t % steps_per_epoch == 0
            if done_epoch:
                # epoch boundary: log, evaluate, early stopping, checkpoint
                if t % log_every == 0 or scan_epoch:
                    flush_log(state[3], epoch)
                    state = (*state[:3], new_acc())
                if eval_fn is not None and (epoch + 1) % eval_every == 0:
                    p, _, s, _ = state
                    metrics = evaluate(
                        eval_fn, p, eval_data, batch_size=max(batch_size, 256), model_state=s if has_state else None
                    )
                    entry = {"step": t, "epoch": epoch, **{f"val_{k}": v for k, v in metrics.items()}}
                    log(entry)
                    if early_stopping is not None:
                        if early_stopping.metric not in metrics:
                            checks.fail(
                                func,
                                "early_stopping.metric",
                                f"one of the keys eval_fn returns {sorted(metrics)}",
                                early_stopping.metric,
                            )
                        value = metrics[early_stopping.metric]
                        best = es_state["best"]
                        sign = 1.0 if early_stopping.mode == "min" else -1.0
                        if best is None or sign * (best - value) > early_stopping.min_delta:
                            es_state = {"best": value, "wait": 0, "epoch": epoch}
                            if early_stopping.restore_best:
                                best_params = jax.device_put(p, replicated, may_alias=False)  # p is donated next
                        else:
                            es_state = {**es_state, "wait": es_state["wait"] + 1}
                            if es_state["wait"] >= early_stopping.patience:
                                stop_reason = "early_stopping"
                if ckpt_dir is not None and (t >= next_ckpt or t == total_steps or stop_reason != "completed"):
                    save(epoch)
            if signals.received:
                stop_reason = signals.received
                if ckpt_dir is not None:
                    save(t // steps_per_epoch)
        params, opt_state, model_state, acc = state
        if int(acc.count) > 0 or int(acc.first_bad) >= 0:
            flush_log(acc, (t - 1) // steps_per_epoch)
    finally:
        signals.restore()
        if saver is not None:
            saver.close()
        if bar is not None:
            bar.close()
    if best_params is not None and early_stopping is not None and early_stopping.restore_best:
        params = best_params
    return FitResult(
        params,
        opt_state,
        model_state if has_state else None,
        history,
        t,
        t // steps_per_epoch,
        stop_reason,
        last_ckpt,
    )
