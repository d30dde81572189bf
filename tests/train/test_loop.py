"""Tests of ``mathdl.train.loop`` with steps of any shape (in-process; the SIGKILL runs are in test_resume.py)."""

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathdl import data as mdata
from mathdl.train import (
    CheckpointError,
    EarlyStopping,
    NonFiniteError,
    finite_metrics,
    list_checkpoints,
    loop,
    save_checkpoint,
    tree_digest,
)
from tests._tolerances import tol
from tests.train import _worked_steps as W


def _noise_step(state, batch, key):
    """No data: count the steps and add one uniform draw per step (the step makes its own data)."""
    assert batch is None
    u = jax.random.uniform(key, (), jnp.float32)
    return {"n": state["n"] + 1, "u": state["u"] + u}, {"u": u}


NOISE0 = {"n": np.int32(0), "u": np.float32(0.0)}


def _sum_step(state, batch, key):
    """With data: the running sum of every example seen."""
    del key
    return {"s": state["s"] + jnp.sum(batch)}, {}


def _record_step(state, batch, key):
    """With data: write batch t into row t of a table (the batch order, as the step saw it)."""
    del key
    seen = jax.lax.dynamic_update_index_in_dim(state["seen"], batch, state["t"], 0)
    return {"seen": seen, "t": state["t"] + 1}, {"first": batch[0]}


# ---------------------------------------------------------------- worked values and oracles


def test_no_data_steps_get_the_documented_keys_and_logs():
    """Oracle: with data=None, step t receives fold_in(step_key, t) where (perm_key, step_key) = split(key); the
    log averages the metric over each interval (steps 1-4, 5-8, 9-10), computed here with NumPy."""
    res = loop(_noise_step, NOISE0, key=jax.random.key(3), steps=10, log_every=4, progress=False)
    _, step_key = jax.random.split(jax.random.key(3))
    u = np.array([float(jax.random.uniform(jax.random.fold_in(step_key, t), (), jnp.float32)) for t in range(10)])
    assert int(res.state["n"]) == 10 and (res.step, res.epoch, res.stop_reason) == (10, 0, "completed")
    np.testing.assert_allclose(res.state["u"], u.sum(), **tol(np.float32, composite=True))
    assert [h["step"] for h in res.history] == [4, 8, 10]
    means = [u[:4].mean(), u[4:8].mean(), u[8:].mean()]
    np.testing.assert_allclose([h["u"] for h in res.history], means, **tol(np.float32, composite=True))
    assert all(h["steps_per_s"] > 0 and "epoch" not in h for h in res.history)


@pytest.mark.parametrize("scan", [True, False], ids=["scan", "step-by-step"])
def test_batches_follow_data_epoch_permutation(scan):
    """Oracle: batch t is rows i B .. (i+1) B - 1 of data.epoch_permutation(perm_key, t // s, n), with i = t mod s
    and s = n // B (the last n mod B examples of each epoch's order are skipped)."""
    n, B, E = 11, 3, 2
    X = np.arange(n, dtype=np.float32)
    state = {"seen": np.zeros((E * (n // B), B), np.float32), "t": np.int32(0)}
    res = loop(_record_step, state, key=jax.random.key(1), data=X, batch_size=B, epochs=E, scan=scan, progress=False)
    perm_key, _ = jax.random.split(jax.random.key(1))
    expected = np.concatenate(
        [np.asarray(mdata.epoch_permutation(perm_key, e, n))[: (n // B) * B].reshape(-1, B) for e in range(E)]
    )
    np.testing.assert_array_equal(res.state["seen"], expected)
    assert (res.step, res.epoch) == (6, 2)
    assert [h["epoch"] for h in res.history] == [0, 1]


def test_scan_equals_step_by_step_bitwise_for_a_gan_step():
    """Property: the GAN step run as one lax.scan per epoch and as one compiled call per step agree bitwise (CPU)."""
    kw = dict(key=jax.random.key(0), data=W.gan_data(), batch_size=32, epochs=2, progress=False)
    a = loop(W.gan_step, W.gan_init(), scan=True, **kw)
    b = loop(W.gan_step, W.gan_init(), scan=False, **kw)
    assert tree_digest(a.state) == tree_digest(b.state)


# ---------------------------------------------------------------- the two worked steps


def test_gan_step_two_optimizers_k_discriminator_updates_and_the_generator_finds_the_mean():
    """A GAN step (two Adam optimizers, 2 discriminator updates per generator update) trained by loop on data:
    the counters show k = 2, and the generator's offset b moves from 0 to the real mean 3 (within 0.3)."""
    res = loop(
        W.gan_step, W.gan_init(), key=jax.random.key(0), data=W.gan_data(), batch_size=32, epochs=40, progress=False
    )
    assert res.step == 320
    assert int(res.state["count"]["d"]) == 2 * 320 and int(res.state["count"]["g"]) == 320
    assert abs(float(res.state["G"]["b"]) - W.REAL_MEAN) < 0.3
    assert {"d_loss", "g_loss", "examples_per_s"} <= set(res.history[-1])


def test_replay_step_buffer_wraps_and_target_is_refreshed_every_n_steps():
    """A DQN-style step with no data set (replay buffer of 32, target network every 10 steps): after 45 steps the
    insert index is 45, consecutive transitions chain (s' of one is s of the next), and the target network is
    bitwise the online network after 40 steps (from a second run of 40 steps)."""
    kw = dict(key=jax.random.key(2), scan=False, progress=False)
    res = loop(W.replay_step, W.replay_init(), steps=45, **kw)
    at_40 = loop(W.replay_step, W.replay_init(), steps=40, **kw)
    s = res.state
    assert int(s["index"]) == 45 and int(s["t"]) == 45
    slots = [t % W.CAPACITY for t in range(13, 45)]  # the 32 newest transitions, oldest first
    np.testing.assert_array_equal(np.asarray(s["buffer"]["s2"])[slots[:-1]], np.asarray(s["buffer"]["s"])[slots[1:]])
    assert tree_digest(s["target"]) == tree_digest(at_40.state["Q"])
    assert tree_digest(s["target"]) != tree_digest(s["Q"])
    losses = [h["td_loss"] for h in res.history]
    assert np.all(np.isfinite(losses))


# ---------------------------------------------------------------- run identity on resume


def test_resume_refuses_another_seed_config_batch_size_or_data(tmp_path):
    """A checkpoint records the run's identity; resuming with another seed, config, batch size or data is refused
    with a message naming what differs and both values; the same run resumes (nothing left to do, same state);
    restart=True starts over."""
    X = np.arange(8, dtype=np.float32)
    state = {"s": np.float32(0.0)}
    cfg = {"lr": 0.1, "optimizer": "adam"}
    kw = dict(data=X, batch_size=2, epochs=2, checkpoint_dir=tmp_path, progress=False)
    first = loop(_sum_step, state, key=jax.random.key(0), config=cfg, **kw)
    with pytest.raises(CheckpointError, match=r"from a different run \(seed: checkpoint 0, this run 7\)"):
        loop(_sum_step, state, key=jax.random.key(7), config=cfg, **kw)
    with pytest.raises(
        CheckpointError, match=r"lr: checkpoint 0.1, this run 0.2; optimizer: checkpoint adam, this run sgd"
    ):
        loop(_sum_step, state, key=jax.random.key(0), config={"lr": 0.2, "optimizer": "sgd"}, **kw)
    with pytest.raises(CheckpointError, match=r"\(data: checkpoint sha256 [0-9a-f]{12}\.\.\., this run sha256"):
        loop(_sum_step, state, key=jax.random.key(0), config=cfg, **{**kw, "data": X + 1})
    with pytest.raises(CheckpointError, match=r"\(batch_size: checkpoint 2, this run 4\)"):
        loop(_sum_step, state, key=jax.random.key(0), config=cfg, **{**kw, "batch_size": 4})
    again = loop(_sum_step, state, key=jax.random.key(0), config=cfg, **kw)
    assert again.step == 8 and again.history == [] and tree_digest(again.state) == tree_digest(first.state)
    np.testing.assert_array_equal(first.state["s"], 2 * X.sum())  # two epochs of every example
    fresh = loop(_sum_step, state, key=jax.random.key(7), config={"lr": 0.2}, restart=True, **kw)
    assert fresh.step == 8 and len(fresh.history) == 2 and fresh.checkpoint.endswith("step_000000008")


def test_resume_refuses_a_checkpoint_without_identity(tmp_path):
    """A checkpoint written without a run identity (an older layout) is refused, suggesting restart=True."""
    save_checkpoint(tmp_path, 4, {"state": NOISE0, "step": np.int64(4)}, {"step": 4})
    with pytest.raises(CheckpointError, match=r"records no run identity\); pass restart=True"):
        loop(_noise_step, NOISE0, key=jax.random.key(0), steps=8, checkpoint_dir=tmp_path, progress=False)


def test_manifest_step_is_cross_checked_against_the_saved_step(tmp_path, capsys):
    """A checkpoint folder whose name disagrees with its manifest and saved step (step_4 copied to step_12) is
    skipped as corrupt, naming the three numbers; the run resumes from the newest consistent one (step 8)."""
    kw = dict(key=jax.random.key(0), checkpoint_dir=tmp_path, checkpoint_every=4, log_every=4, progress=False)
    loop(_noise_step, NOISE0, steps=8, **kw)
    shutil.copytree(tmp_path / "step_000000004", tmp_path / "step_000000012")
    res = loop(_noise_step, NOISE0, steps=16, **kw)
    err = capsys.readouterr().err
    assert "step numbers disagree (folder name 12, manifest 4, manifest metadata 4, saved state 4)" in err
    assert "resuming from" in err and "step_000000008" in err
    ref = loop(_noise_step, NOISE0, key=jax.random.key(0), steps=16, log_every=4, progress=False)
    assert tree_digest(res.state) == tree_digest(ref.state)


# ---------------------------------------------------------------- guard, early stopping


def _nan_state_step(state, batch, key):
    del batch, key
    w = jnp.where(state["t"] >= 3, jnp.nan, state["w"] + 1.0)
    return {"t": state["t"] + 1, "w": w}, {"d": jnp.float32(0.0)}


def _nan_metric_step(state, batch, key):
    del batch, key
    return {"t": state["t"] + 1}, {"d": jnp.where(state["t"] == 2, jnp.nan, 1.0).astype(jnp.float32)}


def test_guard_names_the_step_and_the_state_leaf_and_saves_no_bad_state(tmp_path):
    """The default guard: a NaN state leaf at step 3 stops the run naming `state ['w']`; checkpoints stop before it."""
    state = {"t": np.int32(0), "w": np.float32(0.0)}
    with pytest.raises(NonFiniteError, match=r"non-finite state at step 3 \(first offending leaf: \['w'\]\)") as err:
        loop(_nan_state_step, state, key=jax.random.key(0), steps=8, checkpoint_dir=tmp_path, checkpoint_every=1,
             log_every=1, scan=False, progress=False)  # fmt: skip
    assert err.value.kind == "state" and err.value.step == 3
    assert max(s for s, _ in list_checkpoints(tmp_path)) == 3
    with pytest.raises(NonFiniteError, match=r"non-finite metric at step 2 \(first offending leaf: d\)"):
        loop(_nan_metric_step, {"t": np.int32(0)}, key=jax.random.key(0), steps=4, progress=False)


def test_a_guard_that_misses_the_state_still_never_saves_it(tmp_path):
    """With the cheaper guard finite_metrics (metrics only), a NaN state with a finite metric (from step 3 on) is
    still caught before the checkpoint after 4 steps, naming the state leaf; only the checkpoint at 2 exists."""
    state = {"t": np.int32(0), "w": np.float32(0.0)}
    with pytest.raises(NonFiniteError, match=r"non-finite state at step 3 \(first offending leaf: \['w'\]; found "
                       r"before saving after 4 steps\)"):  # fmt: skip
        loop(_nan_state_step, state, key=jax.random.key(0), steps=8, checkpoint_dir=tmp_path, checkpoint_every=2,
             guard=finite_metrics, progress=False)  # fmt: skip
    assert [s for s, _ in list_checkpoints(tmp_path)] == [2]


def _drift_step(state, batch, key):
    del batch, key
    return {"x": state["x"] + 0.1}, {"x": state["x"]}


def test_early_stopping_without_data_restores_the_best_state():
    """Early stopping on an eval_fn of the state: x moves 0.1 per step, the metric (x - 0.55)^2 is evaluated every
    2 steps and is least at x = 0.6 (step 6); with patience 2 the run stops at step 10 and returns x = 0.6."""
    res = loop(
        _drift_step,
        {"x": np.float64(0.0)},
        key=jax.random.key(0),
        steps=100,
        log_every=2,
        eval_fn=lambda s: {"gap": (float(s["x"]) - 0.55) ** 2},
        early_stopping=EarlyStopping("gap", patience=2),
        progress=False,
    )
    assert (res.stop_reason, res.step) == ("early_stopping", 10)
    np.testing.assert_allclose(res.state["x"], 0.6, **tol(np.float64, composite=True))
    assert [h["step"] for h in res.history if "val_gap" in h] == [2, 4, 6, 8, 10]


# ---------------------------------------------------------------- bad inputs


def _shape_changing_step(state, batch, key):
    del batch, key
    return {"w": jnp.concatenate([state["w"], state["w"]])}, {}


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"steps": None}, ValueError, r"train.loop: argument `steps` expected the number of steps to run when `data`"),
        ({"batch_size": 4}, ValueError, r"argument `batch_size` expected to be omitted without `data`"),
        ({"data": np.zeros(8), "batch_size": 2, "epochs": 1}, ValueError, r"`epochs` expected exactly one of"),
        ({"data": np.zeros(8), "batch_size": 9, "steps": None, "epochs": 1}, ValueError, r"at most the number of"),
        ({"key": 0}, TypeError, r"argument `key` expected a typed PRNG key from jax.random.key, got 'int'"),
        ({"restart": True}, ValueError, r"argument `restart` expected a `checkpoint_dir` to start over in"),
        ({"config": {"f": object()}}, ValueError, r"argument `config` expected a dict of JSON values"),
        ({"eval_every": 2}, ValueError, r"argument `eval_every` expected to be given with `eval_fn`"),
        ({"log_every": 0}, ValueError, r"argument `log_every` expected an integer >= 1, got 0"),
        ({"scan": "yes"}, TypeError, r"argument `scan` expected None, True or False"),
    ],
)
def test_loop_refuses_bad_input_before_any_step(tmp_path, kw, exc, match):
    """Bad schedule, key or configuration is refused before any step, naming the argument."""
    args = dict(key=jax.random.key(0), steps=4, progress=False)
    args.update(kw)
    if "config" in kw:
        args["checkpoint_dir"] = tmp_path
    with pytest.raises(exc, match=match):
        loop(_noise_step, NOISE0, **args)


def test_loop_refuses_a_step_that_changes_the_state_shape():
    """The state is a scan carry: a step returning another shape is refused, naming the leaf and both shapes."""
    with pytest.raises(ValueError, match=r"argument `step` expected a step returning a state with the shapes and "
                       r"dtypes of its input, got state\['w'\] float32\[4\] for float32\[2\]"):  # fmt: skip
        loop(_shape_changing_step, {"w": np.zeros(2, np.float32)}, key=jax.random.key(0), steps=2, progress=False)


def test_checkpoint_dir_that_is_a_file_is_refused(tmp_path):
    """A checkpoint_dir that is a file, or under a file, is refused before any step (no traceback from os)."""
    afile = tmp_path / "f"
    afile.write_text("")
    for bad, what in ((afile, "which is a file"), (afile / "sub", "which is under a file")):
        with pytest.raises(ValueError, match=rf"argument `checkpoint_dir` expected a folder that can be created and "
                           rf"written, got '.*', {what}"):  # fmt: skip
            loop(_noise_step, NOISE0, key=jax.random.key(0), steps=2, checkpoint_dir=bad, progress=False)
    assert os.path.isfile(afile)
