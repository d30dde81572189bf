"""Tests of ``mathdl.train.fit`` and ``mathdl.train.evaluate`` (in-process; subprocess tests live in test_resume.py)."""

import json
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from mathdl import optim
from mathdl.train import (
    EarlyStopping,
    FitState,
    NonFiniteError,
    evaluate,
    fit,
    list_checkpoints,
    mean_loss,
    restore_checkpoint,
    tree_digest,
)
from tests._tolerances import tol


def _linear_problem(n=24, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return {"w": jnp.zeros(p), "c": jnp.float64(0.0)}, (X, y)


def _sq(theta, example):
    x, y = example
    return (jnp.dot(theta["w"], x) + theta["c"] - y) ** 2


LOSS = mean_loss(_sq)


def _metric(theta, batch):
    X, y = batch
    return {"se": (X @ theta["w"] + theta["c"] - y) ** 2}


# ---------------------------------------------------------------- oracle and worked values


def test_fit_matches_numpy_sgd_with_the_documented_shuffle():
    """Oracle: NumPy mini-batch SGD with the analytic gradient 2/B X_B^T r_B, visiting examples in the
    order the module docstring documents (perm_key, step_key = split(key); permutation(fold_in(perm_key, e), n));
    the last n mod B examples of each permutation are skipped. Also checks the logged epoch-mean losses."""
    theta, (X, y) = _linear_problem(n=26)
    B, lr, E = 8, 0.05, 3
    res = fit(LOSS, optax.sgd(lr), theta, (X, y), key=jax.random.key(5), epochs=E, batch_size=B, progress=False)
    perm_key, _ = jax.random.split(jax.random.key(5))
    w, c = np.zeros(3), 0.0
    epoch_losses = []
    for e in range(E):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(perm_key, e), len(y)))
        losses = []
        for i in range(len(y) // B):
            rows = perm[i * B : (i + 1) * B]
            r = X[rows] @ w + c - y[rows]
            losses.append(np.mean(r**2))
            w, c = w - lr * 2 * X[rows].T @ r / B, c - lr * 2 * r.mean()
        epoch_losses.append(np.mean(losses))
    np.testing.assert_allclose(res.params["w"], w, **tol(np.float64, composite=True))
    np.testing.assert_allclose(res.params["c"], c, **tol(np.float64, composite=True))
    assert (res.step, res.epoch, res.stop_reason) == (9, 3, "completed")
    logged = [h["loss"] for h in res.history if "loss" in h]
    np.testing.assert_allclose(logged, epoch_losses, **tol(np.float64, composite=True))


def test_evaluate_matches_numpy_mean_with_a_padded_last_batch():
    """Oracle: evaluate averages per-example metrics over all n = 10 examples exactly (batches of 4: the
    last is padded and masked), worked against a NumPy mean."""
    theta, (X, y) = _linear_problem(n=10)
    theta = {"w": jnp.array([1.0, 2.0, 3.0]), "c": jnp.float64(0.5)}
    out = evaluate(_metric, theta, (X, y), batch_size=4)
    expected = np.mean((X @ np.array([1.0, 2.0, 3.0]) + 0.5 - y) ** 2)
    np.testing.assert_allclose(out["se"], expected, **tol(np.float64, composite=True))


def test_evaluate_worked_accuracy_with_boolean_metric():
    """Worked value: accuracy of 3 correct out of 4 is 0.75 (a boolean per-example metric is averaged as float)."""
    labels = np.array([0, 1, 1, 0], dtype=np.int32)
    preds = np.array([0, 1, 0, 0], dtype=np.int32)
    out = evaluate(lambda th, b: {"acc": b[0] == b[1]}, None, (preds, labels), batch_size=3)
    assert out == {"acc": 0.75}


# ---------------------------------------------------------------- transforms: scan == loop, jit paths


def test_scan_epoch_is_bitwise_equal_to_the_step_loop():
    """Property: an epoch as one lax.scan gives bitwise the same parameters as one compiled call per step (CPU)."""
    theta, data = _linear_problem(n=40)
    kw = dict(epochs=3, batch_size=8, progress=False)
    a = fit(LOSS, optim.adam(0.05), theta, data, key=jax.random.key(1), scan_epoch=True, **kw)
    b = fit(LOSS, optim.adam(0.05), theta, data, key=jax.random.key(1), scan_epoch=False, **kw)
    assert tree_digest(a.params) == tree_digest(b.params)
    assert tree_digest(a.opt_state) == tree_digest(b.opt_state)


def test_fit_is_deterministic_and_depends_on_the_key():
    """Property: the same key gives bitwise equal parameters; another key gives different ones."""
    theta, data = _linear_problem()
    kw = dict(epochs=2, batch_size=5, progress=False)
    a = fit(LOSS, optax.sgd(0.05), theta, data, key=jax.random.key(1), **kw)
    b = fit(LOSS, optax.sgd(0.05), theta, data, key=jax.random.key(1), **kw)
    c = fit(LOSS, optax.sgd(0.05), theta, data, key=jax.random.key(2), **kw)
    assert tree_digest(a.params) == tree_digest(b.params) != tree_digest(c.params)


def test_model_state_is_threaded_and_keys_differ_per_step():
    """The model state returned by the loss is carried (a step counter ends at epochs * n // B), and each step
    gets its own key (the state accumulates distinct uniforms, so it is not n times one draw)."""

    def loss_fn(theta, state, batch, key):
        loss = jnp.mean((batch - theta) ** 2)
        return loss, {"count": state["count"] + 1, "u": state["u"] + jax.random.uniform(key, dtype=jnp.float32)}

    res = fit(
        loss_fn,
        optax.sgd(0.1),
        jnp.float64(0.0),
        np.arange(12.0),
        key=jax.random.key(0),
        epochs=2,
        batch_size=4,
        model_state={"count": jnp.int32(0), "u": jnp.float32(0.0)},
        progress=False,
    )
    assert int(res.model_state["count"]) == 6
    _, step_key = jax.random.split(jax.random.key(0))
    expected = sum(float(jax.random.uniform(jax.random.fold_in(step_key, t), dtype=jnp.float32)) for t in range(6))
    np.testing.assert_allclose(res.model_state["u"], expected, **tol(np.float32, composite=True))


# ---------------------------------------------------------------- early stopping, logs, non-finite


def test_early_stopping_stops_with_patience_and_restores_the_best():
    """Early stopping ([MEDL] Sec. 4.2): theta moves from 0 towards 1 by SGD, the validation metric (theta - 0.3)^2
    is smallest at the epoch closest to 0.3; with patience 2 the run stops two evaluations later and returns
    the best parameters."""
    data = np.ones(4)
    loss = mean_loss(lambda th, x: (th - x) ** 2)
    res = fit(
        loss,
        optax.sgd(0.05),
        jnp.float64(0.0),
        data,
        key=jax.random.key(0),
        epochs=50,
        batch_size=4,
        eval_fn=lambda th, b: {"gap": (th - 0.3) ** 2 + 0.0 * b},
        eval_data=np.zeros(2),
        early_stopping=EarlyStopping(metric="gap", patience=2),
        progress=False,
    )
    # theta_e = 1 - 0.9^e: 0.1, 0.19, 0.271, 0.3439, 0.409 -> best after epoch 3 (index 2: 0.271? |0.271-0.3|=.029,
    # |0.3439-0.3|=.0439) so the best is theta = 0.271 at epoch index 2, then two worse ones: stop after index 4.
    assert res.stop_reason == "early_stopping"
    assert res.epoch == 5
    np.testing.assert_allclose(res.params, 1 - 0.9**3, **tol(np.float64, composite=True))
    vals = [h["val_gap"] for h in res.history if "val_gap" in h]
    assert len(vals) == 5 and int(np.argmin(vals)) == 2


def test_metrics_log_is_json_lines_in_the_checkpoint_dir(tmp_path):
    """The metrics log: one JSON object per log point and per evaluation, in checkpoint_dir/metrics.jsonl."""
    theta, data = _linear_problem()
    res = fit(
        LOSS,
        optax.sgd(0.05),
        theta,
        data,
        key=jax.random.key(0),
        epochs=2,
        batch_size=6,
        log_every=2,
        eval_fn=_metric,
        eval_data=data,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == res.history
    assert [h["step"] for h in lines if "loss" in h] == [2, 4, 6, 8]
    assert [h["step"] for h in lines if "val_se" in h] == [4, 8]
    assert all(h["examples_per_s"] > 0 for h in lines if "loss" in h)


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    """A NaN loss stops the run: b <- b - 0.5/(2 sqrt b) from b = 1 gives 0.75, 0.4613, 0.0932, -0.7265, so the
    loss sqrt(b) is NaN at step 4 (counted from 0); the checkpoints stop at step 4 (the state after 4 good steps)."""
    loss = mean_loss(lambda th, x: jnp.sqrt(th["b"]) * x)
    with pytest.raises(NonFiniteError, match=r"non-finite loss at step 4 \(first offending leaf: loss\)") as err:
        fit(
            loss,
            optax.sgd(0.5),
            {"b": jnp.float64(1.0)},
            np.ones(2),
            key=jax.random.key(0),
            epochs=10,
            batch_size=2,
            checkpoint_dir=tmp_path,
            checkpoint_every=1,
            scan_epoch=False,
            progress=False,
        )
    assert err.value.step == 4 and err.value.leaf == "loss"
    steps = [s for s, _ in list_checkpoints(tmp_path)]
    assert max(steps) == 4
    # the loop's checkpoint layout: {"state": FitState(params, opt_state, model_state), "step": t}
    state = FitState({"b": np.float64(0.0)}, optax.sgd(0.5).init({"b": 0.0}), ())
    tree, _ = restore_checkpoint(err.value.checkpoint, {"state": state, "step": np.int64(0)})
    assert np.isfinite(tree["state"].params["b"]) and int(tree["step"]) == 4


def test_non_finite_gradient_names_the_leaf():
    """A NaN gradient with a finite loss (0 * d sqrt|b|/db at b = 0) is named by its leaf path, at step 0."""
    loss = mean_loss(lambda th, x: th["a"] * x + 0.0 * jnp.sqrt(jnp.abs(th["b"])))
    with pytest.raises(NonFiniteError, match=r"non-finite gradient at step 0 \(first offending leaf: \['b'\]\)"):
        fit(
            loss,
            optax.sgd(0.1),
            {"a": jnp.float64(1.0), "b": jnp.float64(0.0)},
            np.ones(4),
            key=jax.random.key(0),
            epochs=1,
            batch_size=2,
            progress=False,
        )


def test_sigterm_saves_at_a_step_boundary_and_resume_is_bitwise(tmp_path):
    """SIGTERM (sent from inside a step through jax.debug.callback) stops the run at the next step boundary with
    a checkpoint; the same call again resumes and ends bitwise equal to an uninterrupted run."""
    theta, data = _linear_problem(n=40)

    kw = dict(epochs=4, batch_size=4, checkpoint_dir=tmp_path, scan_epoch=False, progress=False)
    ref = fit(LOSS, optim.adam(0.05), theta, data, key=jax.random.key(3), epochs=4, batch_size=4, progress=False)
    calls = {"n": 0}

    def killer(_):
        calls["n"] += 1
        if calls["n"] == 13:  # during step 12 (counted from 0)
            os.kill(os.getpid(), signal.SIGTERM)

    def loss_with_kill(th, batch, key):
        jax.debug.callback(killer, jnp.sum(batch[1]))
        return LOSS(th, batch, key)

    first = fit(loss_with_kill, optim.adam(0.05), theta, data, key=jax.random.key(3), **kw)
    assert first.stop_reason == "SIGTERM"
    assert first.step < 40 and first.checkpoint.endswith(f"step_{first.step:09d}")
    again = fit(LOSS, optim.adam(0.05), theta, data, key=jax.random.key(3), **kw)
    assert again.stop_reason == "completed" and again.step == 40
    assert tree_digest(again.params) == tree_digest(ref.params)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# ---------------------------------------------------------------- bad inputs


def _fit(**over):
    theta, (X, y) = _linear_problem(n=10)
    kw = dict(key=jax.random.key(0), epochs=1, batch_size=5, progress=False)
    kw.update(over)
    data = kw.pop("data", (X, y))
    return fit(LOSS, optax.sgd(0.1), theta, data, **kw)


@pytest.mark.parametrize(
    ("over", "exc", "match"),
    [
        (
            {"data": (np.zeros((10, 3)), np.zeros(9))},
            ValueError,
            r"`data` expected leaves with the same leading length",
        ),
        ({"data": (np.full((10, 3), np.nan), np.zeros(10))}, ValueError, r"`data` expected finite values, got 'a NaN"),
        ({"batch_size": 11}, ValueError, r"`batch_size` expected at most the number of examples n = 10, got 11"),
        ({"batch_size": 0}, ValueError, r"`batch_size` expected an integer >= 1, got 0"),
        ({"epochs": 0}, ValueError, r"train.fit: argument `epochs` expected an integer >= 1, got 0"),
        ({"epochs": 2.5}, ValueError, r"argument `epochs` expected an integer >= 1, got 2.5"),
        ({"key": 0}, TypeError, r"argument `key` expected a typed PRNG key from jax.random.key, got 'int'"),
        ({"key": jax.random.PRNGKey(0)}, TypeError, r"argument `key` expected a typed PRNG key"),
        (
            {"early_stopping": EarlyStopping()},
            ValueError,
            r"`eval_data` expected to be given together with|"
            r"`early_stopping` expected `eval_fn`",
        ),
        ({"eval_fn": _metric}, ValueError, r"argument `eval_data` expected to be given together with `eval_fn`"),
        ({"devices": 99}, ValueError, r"train.make_mesh: argument `devices` expected a device count in \[1, 1\]"),
        ({"keep": 0}, ValueError, r"argument `keep` expected an integer >= 1, got 0"),
    ],
)
def test_fit_refuses_bad_input_before_training(over, exc, match):
    """Bad input is refused before any step with a message naming the argument."""
    with pytest.raises(exc, match=match):
        _fit(**over)


def test_fit_refuses_labels_out_of_range():
    """With num_classes = 3, a label 3 is refused before training, naming the range found."""
    X = np.zeros((6, 2))
    y = np.array([0, 1, 2, 3, 0, 1], dtype=np.int32)
    with pytest.raises(
        ValueError, match=r"`data` expected labels in \[0, 3\) \(num_classes = 3\), got 'labels in \[0, 3\]"
    ):
        fit(LOSS, optax.sgd(0.1), None, (X, y), key=jax.random.key(0), epochs=1, batch_size=2, num_classes=3)


def test_fit_refuses_a_non_scalar_loss():
    """A loss_fn returning one value per example (no mean) is refused before training."""
    theta, data = _linear_problem(n=10)
    per_example = lambda th, b, k: (b[0] @ th["w"] - b[1]) ** 2  # noqa: E731
    with pytest.raises(ValueError, match=r"`loss_fn` expected a scalar loss \(the mean over the batch\)"):
        fit(per_example, optax.sgd(0.1), theta, data, key=jax.random.key(0), epochs=1, batch_size=5, progress=False)


@pytest.mark.parametrize(
    ("args", "kw", "exc", "match"),
    [
        ((None, None, (np.zeros(3),)), {"batch_size": 2}, TypeError, r"`metric_fn` expected a callable"),
        ((_metric, None, (np.zeros(3), np.zeros(4))), {"batch_size": 2}, ValueError, r"same leading length"),
        ((_metric, None, (np.zeros(3),)), {"batch_size": 0}, ValueError, r"`batch_size` expected a positive integer"),
        ((_metric, None, ()), {"batch_size": 2}, ValueError, r"`data` expected a pytree of arrays"),
        ((_metric, None, (np.zeros((0, 2)),)), {"batch_size": 2}, ValueError, r"at least one example"),
        ((lambda th, b: b[0], None, (np.zeros(3),)), {"batch_size": 2}, TypeError, r"returning a dict"),
    ],
)
def test_evaluate_bad_inputs(args, kw, exc, match):
    """evaluate refuses bad input with a message naming the argument."""
    with pytest.raises(exc, match=match):
        evaluate(*args, **kw)


def test_evaluate_refuses_a_batch_mean_metric():
    """A metric that returns the batch mean instead of per-example values would be biased by the padded last
    batch (with 5 examples in batches of 4: (4 * mean(x_0..x_3) + mean(x_4)) / 5 = 1.6 where the mean is 2.0);
    it is refused, naming the metric and its shape."""
    x = np.array([1.0, 1.0, 1.0, 1.0, 6.0])
    with pytest.raises(ValueError, match=r"`metric_fn` expected per-example values of shape \(B,\) = \(4,\) .* got "
                       r"shape \(\) for metric 'm'"):  # fmt: skip
        evaluate(lambda th, b: {"m": jnp.mean(b[0])}, None, (x,), batch_size=4)
    np.testing.assert_allclose(
        evaluate(lambda th, b: {"m": b[0]}, None, (x,), batch_size=4)["m"], 2.0, **tol(np.float64)
    )


def test_two_quick_sigints_finish_the_save_and_raise_nothing(tmp_path, monkeypatch, capsys):
    """Two quick Ctrl-C's: the first (during step 5) stops the run at the next step with a checkpoint; the second
    arrives while that checkpoint is being written. The handlers stay until the write is done, so no
    KeyboardInterrupt escapes, the checkpoint is complete and restorable, and SIGINT's handler is restored."""
    from mathdl.train import _checkpoint

    theta, data = _linear_problem(n=40)
    sent = {"first": False, "calls": 0}
    real_write = _checkpoint._write

    def write_then_interrupt(*args):
        if sent["first"]:
            import time

            time.sleep(0.3)  # the main thread is now waiting for this write
            os.kill(os.getpid(), signal.SIGINT)
        return real_write(*args)

    def first_sigint(_):
        sent["calls"] += 1
        if sent["calls"] == 6:  # during step 5
            sent["first"] = True
            os.kill(os.getpid(), signal.SIGINT)

    def loss(th, batch, key):
        jax.debug.callback(first_sigint, jnp.sum(batch[1]))
        return LOSS(th, batch, key)

    monkeypatch.setattr(_checkpoint, "_write", write_then_interrupt)
    before = signal.getsignal(signal.SIGINT)
    try:
        res = fit(loss, optax.sgd(0.01), theta, data, key=jax.random.key(0), epochs=2, batch_size=4,
                  checkpoint_dir=tmp_path, scan_epoch=False, progress=False)  # fmt: skip
    except KeyboardInterrupt:  # caught so that the regression fails this test, not the whole session
        pytest.fail("the second SIGINT raised KeyboardInterrupt out of fit")
    assert res.stop_reason == "SIGINT" and res.step == 6
    assert "SIGINT again" in capsys.readouterr().err
    assert os.path.exists(os.path.join(res.checkpoint, "manifest.json"))
    assert signal.getsignal(signal.SIGINT) is before
    again = fit(LOSS, optax.sgd(0.01), theta, data, key=jax.random.key(0), epochs=2, batch_size=4,
                checkpoint_dir=tmp_path, scan_epoch=False, progress=False)  # fmt: skip
    ref = fit(LOSS, optax.sgd(0.01), theta, data, key=jax.random.key(0), epochs=2, batch_size=4, progress=False)
    assert again.step == 20 and tree_digest(again.params) == tree_digest(ref.params)
