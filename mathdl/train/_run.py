r"""One run of ``train.loop``: resume, advance by compiled segments, and act at each boundary.

After every step (step-by-step) or segment (``scan``), at step ``t``: a pending SIGTERM/SIGINT
stops the run; the tally is logged every ``log_every`` steps, at the end and when stopping
(raising :class:`NonFiniteError` if a step was not finite); ``eval_fn`` runs every
``eval_every`` steps and feeds early stopping; a checkpoint is written every
``checkpoint_every`` steps, at the end and when stopping.
"""

import json
import time
from contextlib import ExitStack

import jax
import numpy as np

from mathdl import checks
from mathdl.train import _compiled, _identity
from mathdl.train._checkpoint import CheckpointError, CheckpointWriter, restore_latest
from mathdl.train._guard import new_tally, raise_if_bad, raise_if_state_bad
from mathdl.train._signals import StopSignals

__all__ = []


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
                 config, log_file, progress, handle_signals):  # fmt: skip
        self.func, self.step, self.guard, self.plan = func, step, guard, plan
        self.data, self.eval_fn, self.es_rule = data, eval_fn, early_stopping
        self.ckpt_dir, self.keep, self.config, self.log_file = checkpoint_dir, keep, config, log_file
        self.progress, self.handle_signals = progress, handle_signals
        self.key = key
        self.replicated = self.batch_sharding = None
        if mesh is not None:
            from jax.sharding import NamedSharding, PartitionSpec

            self.replicated = NamedSharding(mesh, PartitionSpec())
            self.batch_sharding = NamedSharding(mesh, PartitionSpec("data"))
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
        return _compiled.copy_tree(self.replicated)(tree)

    def _probe(self, state):
        batch = None
        if self.data_dev is not None:
            B = self.plan.batch_size
            batch = jax.tree.map(lambda a: jax.ShapeDtypeStruct((B, *a.shape[1:]), a.dtype), self.data_dev)
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
        found = restore_latest(self.ckpt_dir, template, verbose=True, check_metadata=self._check_identity)
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
        return jax.device_put(new_tally(t, self.sum_dtypes, len(self.names)), self.replicated)

    # ---------------------------------------------------------------- the run
    def run(self, state):
        """Resume (or start), train to the end or a stop, and return the :class:`LoopResult`."""
        from mathdl.train._loop import LoopResult

        plan = self.plan
        # the data are never donated: no copy of device arrays (NumPy arrays are transferred once)
        self.data_dev = None if self.data is None else jax.device_put(self.data, self.replicated)
        state = self.place(state)
        self.perm_key, self.step_key = _compiled.split_key(self.key)
        self._probe(state)
        if self.ckpt_dir is not None:
            self.identity = _identity.run_identity(
                self.func, self.key, config=self.config, batch_size=plan.batch_size, n=plan.n, data=self.data,
                state=state,
            )  # fmt: skip
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
            while t < plan.total and self.stop is None:
                carry, t = self._advance(carry, t, signals)
                carry = self._boundary(carry, t, signals)
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

    def _perm_for(self, t: int):
        if self.data_dev is None:
            return None
        epoch = t // self.plan.steps_per_epoch
        if epoch != self.perm_epoch:
            self.perm_epoch, self.perm = epoch, _compiled.permutation(self.perm_key, epoch, self.plan.n)
        return self.perm

    def _advance(self, carry, t: int, signals):
        """Run to the next boundary: one scan, or one compiled call per step (stopping early on a signal)."""
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
                if signals.received:
                    break
        if self.bar is not None:
            self.bar.update(done)
        return carry, t + done

    def _boundary(self, carry, t: int, signals):
        plan = self.plan
        if signals.received:
            self.stop = signals.received
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
        metrics = self.eval_fn(state)
        if not isinstance(metrics, dict):
            checks.fail(self.func, "eval_fn", "a function returning a dict of floats", type(metrics).__name__)
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
