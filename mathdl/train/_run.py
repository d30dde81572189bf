r"""One run of ``train.loop``: resume, advance by compiled segments, and act at each boundary.

After every step (step-by-step) or segment (``scan``), at step ``t``: a pending SIGTERM/SIGINT
stops the run; the tally is logged every ``log_every`` steps, at the end and when stopping
(raising :class:`NonFiniteError` if a step was not finite); ``eval_fn`` runs every
``eval_every`` steps and feeds early stopping; a checkpoint is written every
``checkpoint_every`` steps, at the end and when stopping.

In a multi-process job every process runs this same object on its own data shard: batches are
gathered on the host and assembled into global arrays; a stop (signal) is agreed by all
processes at each boundary; evaluation runs on a process-local copy of the state and its metrics
are averaged over the processes; process 0 alone shows the progress bar and writes the log; at
the end each process's throughput is gathered and reported.
"""

import hashlib
import json
import sys
import time
from contextlib import ExitStack

import jax
import numpy as np

from mathdl import checks
from mathdl.train import _compiled, _identity, _parallel
from mathdl.train._checkpoint import CheckpointError, CheckpointWriter, restore_latest
from mathdl.train._guard import new_tally, raise_if_bad, raise_if_state_bad
from mathdl.train._signals import StopSignals

__all__ = []

_SIGNAL_CODES = {"SIGINT": 2, "SIGTERM": 15}
_SIGNAL_NAMES = {v: k for k, v in _SIGNAL_CODES.items()}


def _next_multiple(t: int, every: int) -> int:
    return (t // every + 1) * every


def _check_step_output(func: str, before, after) -> None:
    """The step must return a state of the same structure, shapes and dtypes (it is a scan carry)."""
    b_paths = jax.tree_util.tree_flatten_with_path(before)[0]
    a_paths = jax.tree_util.tree_flatten_with_path(after)[0]
    if jax.tree.structure(before) != jax.tree.structure(after):
        checks.fail(
            func,
            "step",
            "a step returning a state with the structure of its input",
            checks.Text(f"{jax.tree.structure(after)} for the input {jax.tree.structure(before)}"),
        )
    for (path, x), (_, y) in zip(b_paths, a_paths, strict=True):
        if x.shape != y.shape or x.dtype != y.dtype:
            checks.fail(
                func,
                "step",
                "a step returning a state with the shapes and dtypes of its input",
                checks.Text(f"state{jax.tree_util.keystr(path)} {y.dtype}{list(y.shape)} for {x.dtype}{list(x.shape)}"),
            )


class Run:
    """The mutable part of one ``loop`` call (history, early stopping, checkpoints, the clock)."""

    def __init__(self, func, step, guard, plan, *, key, data, mesh, eval_fn, early_stopping, checkpoint_dir, keep,
                 config, log_file, progress, handle_signals, shards=None):  # fmt: skip
        self.func, self.step, self.guard, self.plan = func, step, guard, plan
        self.data, self.eval_fn, self.es_rule = data, eval_fn, early_stopping
        self.ckpt_dir, self.keep, self.config, self.log_file = checkpoint_dir, keep, config, log_file
        self.progress, self.handle_signals = progress, handle_signals
        self.key = key
        self.shards = shards
        self.job = jax.process_count() > 1
        self.lead = jax.process_index() == 0
        if not self.lead:  # one progress bar and one log per job: process 0's
            self.progress, self.log_file = False, None
        self.replicated = self.batch_sharding = self.stack_sharding = None
        if mesh is not None:
            from jax.sharding import NamedSharding, PartitionSpec

            self.replicated = NamedSharding(mesh, PartitionSpec())
            self.batch_sharding = NamedSharding(mesh, PartitionSpec("data"))
            self.stack_sharding = NamedSharding(mesh, PartitionSpec(None, "data"))
        self.local_examples, self.train_seconds = 0, 0.0
        self.restore_best = early_stopping is not None and early_stopping.restore_best
        self.history: list[dict] = []
        self.es = {"best": None, "wait": 0, "step": -1}
        self.best = None
        self.stop: str | None = None
        self.last_ckpt: str | None = None
        self.bar = self.writer = None
        self.perm_epoch, self.perm = -1, None

    # ---------------------------------------------------------------- setup
    def place(self, tree):
        # a fresh copy: the compiled step donates its inputs, which must never be the caller's arrays
        if self.job:  # global arrays replicated over the job's devices, each process giving its copy
            return _parallel.to_global(tree, self.replicated)
        return _compiled.copy_tree(self.replicated)(tree)

    def _probe(self, state):
        batch = None
        source = self.data_dev if self.shards is None else self.shards.local[0][1]
        if source is not None:
            B = self.plan.batch_size
            batch = jax.tree.map(lambda a: jax.ShapeDtypeStruct((B, *a.shape[1:]), a.dtype), source)
        out, metrics, names, sum_dtypes = _compiled.probe(self.step, self.guard, state, batch, self.step_key)
        _check_step_output(self.func, state, out)
        self.names, self.sum_dtypes = names, sum_dtypes

    def _check_identity(self, metadata: dict, path: str) -> None:
        saved = metadata.get("identity")
        if saved is None:
            raise CheckpointError(
                f"{self.func}: checkpoint {path} was written by an older mathdl (it records no run identity); "
                "pass restart=True (mathdl train --restart) to start over in this folder"
            )
        diffs = _identity.differences(saved, self.identity)
        if diffs:
            raise CheckpointError(
                f"{self.func}: checkpoint {path} is from a different run ({'; '.join(diffs)}); run with the "
                "same settings to resume, or pass restart=True (mathdl train --restart) to start over in this folder"
            )

    def _resume(self, state):
        if self.ckpt_dir is None:
            return state, 0
        template = {"state": state, "step": np.int64(0)}
        if self.restore_best:
            template["best"] = state
        found = restore_latest(self.ckpt_dir, template, verbose=self.lead, check_metadata=self._check_identity)
        if found is None:
            return state, 0
        tree, meta, self.last_ckpt = found
        self.es = meta.get("early_stopping", self.es)
        if meta.get("stop_reason") == "early_stopping":
            self.stop = "early_stopping"
        if "best" in tree and self.es.get("best") is not None:
            self.best = self.place(tree["best"])
        return self.place(tree["state"]), int(meta["step"])

    def _new_tally(self, t: int):
        tally = new_tally(t, self.sum_dtypes, len(self.names))
        if self.job:
            return _parallel.to_global(tally, self.replicated)
        return jax.device_put(tally, self.replicated)

    def _job_identity(self, identity: dict) -> dict:
        """The identity of the whole job: its process count, shard count and every shard's fingerprint."""
        identity["processes"] = jax.process_count()
        if self.shards is not None:
            identity["data_shards"] = self.shards.count
        if self.job and identity.get("data") is not None:
            mine = np.frombuffer(bytes.fromhex(identity["data"]), np.uint8)
            identity["data"] = hashlib.sha256(_parallel.allgather(mine).tobytes()).hexdigest()
        return identity

    # ---------------------------------------------------------------- the run
    def run(self, state):
        """Resume (or start), train to the end or a stop, and return the :class:`LoopResult`."""
        from mathdl.train._loop import LoopResult

        plan = self.plan
        # the data are never donated: no copy of device arrays (NumPy arrays are transferred once)
        self.data_dev = None
        if self.data is not None and self.shards is None:
            self.data_dev = jax.device_put(self.data, self.replicated)
        state = self.place(state)
        self.perm_key, self.step_key = _compiled.split_key(self.key)
        self._probe(state)
        if self.ckpt_dir is not None:
            self.identity = _identity.run_identity(
                self.func, self.key, config=self.config, batch_size=plan.batch_size, n=plan.n, data=self.data,
                state=state,
            )  # fmt: skip
            self.identity = self._job_identity(self.identity)
        state, t = self._resume(state)
        carry = (state, self._new_tally(t))
        self.next_ckpt = _next_multiple(t, plan.checkpoint_every)
        self.t_log = (time.perf_counter(), t)
        with ExitStack() as stack:  # closed in reverse: bar, then the writer's last save, then the handlers
            signals = stack.enter_context(StopSignals(self.handle_signals))
            if self.ckpt_dir is not None:
                self.writer = stack.enter_context(CheckpointWriter())
            if self.progress:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=plan.total, initial=t, desc="train", unit="step", leave=False, dynamic_ncols=True)
                stack.callback(self.bar.close)
            t_start, clock = t, None
            while t < plan.total and self.stop is None:
                carry, t = self._advance(carry, t, signals)
                carry = self._boundary(carry, t, signals)
                if clock is None and self.shards is not None:  # throughput after the first segment (compiles)
                    jax.block_until_ready(carry)
                    clock, first_examples = time.perf_counter(), self.local_examples
            if clock is not None and self.local_examples > first_examples:
                jax.block_until_ready(carry)
                self.train_seconds = time.perf_counter() - clock
                self.local_examples -= first_examples
        if self.shards is not None and self.train_seconds > 0 and t > t_start:
            self._report_throughput(t)
        final = self.best if self.restore_best and self.best is not None else carry[0]
        epoch = t // plan.steps_per_epoch if plan.steps_per_epoch else 0
        return LoopResult(final, self.history, t, epoch, self.stop or "completed", self.last_ckpt)

    def _segment_end(self, t: int) -> int:
        plan = self.plan
        ends = [plan.total, _next_multiple(t, plan.log_every)]
        if self.eval_fn is not None:
            ends.append(_next_multiple(t, plan.eval_every))
        if self.ckpt_dir is not None:
            ends.append(self.next_ckpt)
        if plan.steps_per_epoch:
            ends.append(_next_multiple(t, plan.steps_per_epoch))
        return min(ends)

    # ---------------------------------------------------------------- sharded data (host-fed batches)
    def _shard_perms(self, epoch: int) -> list:
        if epoch != self.perm_epoch:
            m = self.shards.length
            self.perm_epoch = epoch
            self.perm = [
                np.asarray(_compiled.shard_permutation(self.perm_key, s, epoch, m)) for s, _ in self.shards.local
            ]
        return self.perm

    def _local_rows(self, t: int, end: int):
        """This process's rows of the batches of steps ``t .. end - 1`` (one epoch), leaves ``(L, b_p, ...)``."""
        spe, b = self.plan.steps_per_epoch, self.plan.batch_size // self.shards.count
        perms = self._shard_perms(t // spe)
        steps = np.arange(t, end) % spe
        offsets = steps[:, None] * b + np.arange(b)[None, :]  # (L, b)
        parts = [
            jax.tree.map(lambda a, rows=perm[offsets]: a[rows], tree)
            for (_, tree), perm in zip(self.shards.local, perms, strict=True)
        ]
        self.local_examples += (end - t) * b * len(parts)
        return jax.tree.map(lambda *xs: np.concatenate(xs, axis=1), *parts)

    def _global_batches(self, t: int, end: int, stacked: bool):
        B = self.plan.batch_size
        local = self._local_rows(t, end)
        if stacked:
            L = end - t
            return jax.tree.map(
                lambda a: jax.make_array_from_process_local_data(self.stack_sharding, a, (L, B, *a.shape[2:])), local
            )
        return jax.tree.map(
            lambda a: jax.make_array_from_process_local_data(self.batch_sharding, a[0], (B, *a.shape[2:])), local
        )

    def _advance_fed(self, carry, t: int, signals):
        end = self._segment_end(t)
        if self.plan.scan:
            carry = _compiled.fed_steps(self.step, self.guard)(carry, self._global_batches(t, end, True), self.step_key)
            done = end - t
        else:
            one, done = _compiled.fed_step(self.step, self.guard), 0
            while t + done < end:
                carry = one(carry, self._global_batches(t + done, t + done + 1, False), self.step_key)
                done += 1
                if signals.received and not self.job:  # a job agrees on a stop at the segment's end
                    break
        if self.bar is not None:
            self.bar.update(done)
        return carry, t + done

    def _report_throughput(self, t: int) -> None:
        """Each process's examples per second after the first segment (which compiles), gathered; process 0
        logs and prints them."""
        rate = self.local_examples / max(self.train_seconds, 1e-9)
        n_local = (
            len(jax.local_devices()) if self.job else (self.replicated.mesh.devices.size if self.replicated else 1)
        )
        rates = _parallel.allgather(np.array([rate, n_local], np.float64))
        if not self.lead:
            return
        entry = {
            "step": t,
            "process_examples_per_s": [float(r) for r in rates[:, 0]],
            "process_devices": [int(d) for d in rates[:, 1]],
        }
        self._log(entry)
        for p, (r, d) in enumerate(rates):
            print(
                f"mathdl.train: process {p}: {r:.0f} examples/s on {int(d)} device(s) ({r / d:.0f} per device)",
                file=sys.stderr,
            )

    def _perm_for(self, t: int):
        if self.data_dev is None:
            return None
        epoch = t // self.plan.steps_per_epoch
        if epoch != self.perm_epoch:
            self.perm_epoch, self.perm = epoch, _compiled.permutation(self.perm_key, epoch, self.plan.n)
        return self.perm

    def _advance(self, carry, t: int, signals):
        """Run to the next boundary: one scan, or one compiled call per step (stopping early on a signal)."""
        if self.shards is not None:
            return self._advance_fed(carry, t, signals)
        statics = (self.step, self.guard, self.plan.batch_size, self.batch_sharding)
        end = self._segment_end(t)
        if self.plan.scan:
            carry = _compiled.many_steps(*statics, end - t)(carry, self.data_dev, self._perm_for(t), self.step_key)
            done = end - t
        else:
            one, data, perm, key = _compiled.one_step(*statics), self.data_dev, self._perm_for(t), self.step_key
            done = 0
            while t + done < end:  # the hot loop: nothing here but the call and the signal flag
                carry = one(carry, data, perm, key)
                done += 1
                if signals.received and not self.job:  # a job agrees on a stop at the segment's end
                    break
        if self.bar is not None:
            self.bar.update(done)
        return carry, t + done

    def _boundary(self, carry, t: int, signals):
        plan = self.plan
        received = signals.received
        if self.job:  # every process stops at the same boundary: a signal to any one of them stops all
            codes = _parallel.allgather(np.array([_SIGNAL_CODES.get(received, 0)], np.int32))[:, 0]
            received = next((_SIGNAL_NAMES[int(c)] for c in codes if c), None)
        if received:
            self.stop = received
        if t % plan.log_every == 0 or t == plan.total or self.stop:
            carry = self._flush(carry, t)
        if self.eval_fn is not None and t % plan.eval_every == 0 and self.stop is None:
            self._evaluate(carry[0], t)
        if self.ckpt_dir is not None and (t >= self.next_ckpt or t == plan.total or self.stop):
            self._save(carry, t)
        return carry

    # ---------------------------------------------------------------- boundary actions
    def _log(self, entry: dict) -> None:
        self.history.append(entry)
        if self.log_file is not None:
            with open(self.log_file, "a") as fh:
                fh.write(json.dumps(entry) + "\n")

    def _entry(self, t: int) -> dict:
        entry = {"step": t}
        if self.plan.steps_per_epoch:
            entry["epoch"] = (t - 1) // self.plan.steps_per_epoch
        return entry

    def _flush(self, carry, t: int):
        state, tally = carry
        tally = jax.device_get(tally)
        raise_if_bad(tally, self.names, self.last_ckpt)
        count = int(tally.count)
        if count == 0:
            return carry
        now = time.perf_counter()
        rate = (t - self.t_log[1]) / max(now - self.t_log[0], 1e-9)
        self.t_log = (now, t)
        entry = self._entry(t)
        entry.update({k: float(v) / count for k, v in tally.sums.items()})
        if self.data is not None:
            entry["examples_per_s"] = rate * self.plan.batch_size
        else:
            entry["steps_per_s"] = rate
        self._log(entry)
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in list(entry.items())[1:4] if isinstance(v, float)})
        return state, self._new_tally(t)

    def _evaluate(self, state, t: int) -> None:
        metrics = self.eval_fn(_parallel.to_local(state) if self.job else state)
        if not isinstance(metrics, dict):
            checks.fail(self.func, "eval_fn", "a function returning a dict of floats", type(metrics).__name__)
        if self.job:  # the mean over the processes, so that every process takes the same early-stopping decision
            names = sorted(metrics)
            means = _parallel.allgather(np.array([float(metrics[k]) for k in names], np.float64)).mean(axis=0)
            metrics = dict(zip(names, means.tolist(), strict=True))
        self._log({**self._entry(t), **{f"val_{k}": float(v) for k, v in metrics.items()}})
        rule = self.es_rule
        if rule is None:
            return
        if rule.metric not in metrics:
            checks.fail(
                self.func, "early_stopping.metric", f"one of the keys eval_fn returns {sorted(metrics)}", rule.metric
            )
        value, best = float(metrics[rule.metric]), self.es["best"]
        sign = 1.0 if rule.mode == "min" else -1.0
        if best is None or sign * (best - value) > rule.min_delta:
            self.es = {"best": value, "wait": 0, "step": t}
            if rule.restore_best:
                self.best = self.place(state)  # a copy: `state` is donated by the next step
        else:
            self.es = {**self.es, "wait": self.es["wait"] + 1}
            if self.es["wait"] >= rule.patience:
                self.stop = "early_stopping"

    def _save(self, carry, t: int) -> None:
        self.next_ckpt = _next_multiple(t, self.plan.checkpoint_every)
        if self.last_ckpt is not None and self.last_ckpt.endswith(f"step_{t:09d}"):
            return  # this step is already saved
        raise_if_bad(jax.device_get(carry[1]), self.names, self.last_ckpt)  # a non-finite state is never saved,
        raise_if_state_bad(carry[0], t, self.last_ckpt)  # whatever the guard checks
        tree = {"state": carry[0], "step": np.int64(t)}
        if self.restore_best:
            tree["best"] = carry[0] if self.best is None else self.best
        meta = {
            "step": t,
            "epoch": t // self.plan.steps_per_epoch if self.plan.steps_per_epoch else 0,
            "stop_reason": self.stop or "completed",
            "early_stopping": self.es,
            "identity": self.identity,
        }
        # host copies are taken now; the orbax write, manifest and pruning run on the writer's thread
        self.last_ckpt = self.writer.save(self.ckpt_dir, t, tree, meta, self.keep)
