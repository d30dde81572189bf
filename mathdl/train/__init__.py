"""The training engine: one loop for any step, and the one supervised step.

``loop(step, state, key=..., data=..., ...)`` runs any pure ``step(state, batch, key) ->
(state, metrics)`` (a GAN's, a DQN agent's with ``data=None``) with compiled, donated steps,
verified checkpoints, exact resume and a run-identity check, signal handling, a non-finite
guard, early stopping, progress and metrics logs, and data parallelism over a
``jax.sharding.Mesh`` (docs/training.md). ``make_train_step`` builds the supervised step and
``fit`` is ``loop`` running it on shuffled epochs::

    from mathdl import data, losses, models, optim, train

    def example_loss(theta, example):            # one example, as the book writes it
        x, y = example
        return losses.softmax_cross_entropy(models.mlp(theta, x), y)

    def metrics(theta, batch):                    # per-example values; evaluate averages them
        X, y = batch
        z = jax.vmap(models.mlp, in_axes=(None, 0))(theta, X)
        return {"loss": losses.softmax_cross_entropy(z, y), "accuracy": z.argmax(-1) == y}

    result = train.fit(train.mean_loss(example_loss), optim.adam(1e-3), params, (X, y),
                       key=jax.random.key(0), epochs=20, batch_size=32,
                       eval_fn=metrics, eval_data=(X_val, y_val),
                       early_stopping=train.EarlyStopping("loss", patience=3),
                       checkpoint_dir="runs/digits")   # run it again to resume
    train.evaluate(metrics, result.params, (X_test, y_test), batch_size=512)

A model with state (batch norm) passes ``model_state=`` and a loss
``loss_fn(params, model_state, batch, key) -> (loss, new_model_state)``; NNX modules go through
``mathdl.nn.to_pure`` first. ``mathdl train`` is the command-line form.
"""

from mathdl._api import reexport

__all__ = reexport(__name__, "_checkpoint", "_evaluate", "_fit", "_guard", "_loop", "_parallel", "_step")
