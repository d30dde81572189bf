"""The families of ``mathdl train`` whose models train with their own step through :func:`mathdl.train.loop`.

``mathdl train`` itself runs the supervised models (:func:`mathdl.train.fit`). A family module
here owns a group of other models (the generative models, the RL agents) and has three names:

- ``MODELS``: ``{model name: one-line description}``, listed by ``mathdl train --help``;
- ``add_arguments(parser)``: adds the family's own flags (each flag name is used by one family
  only; ``--steps`` and the common ones, ``--lr``, ``--optimizer``, ``--batch-size``, ``--seed``,
  ``--checkpoint-dir``, ``--restart``, ``--checkpoint-every``, ``--no-progress``, are defined
  once in ``mathdl/cli/_train.py``);
- ``run(args) -> int``: trains, prints the summary, and returns the exit status (2 for a bad
  argument, with one line on stderr that says which and why).

Importing a family must stay cheap (no JAX at import time): ``mathdl --help`` imports them all.
"""

from mathdl.cli._trainers import generative, rl

FAMILIES = (generative, rl)


def exit_status(command: str, result) -> int:
    """The exit status of a finished training run, saying on stderr how to resume one stopped by a signal.

    ``result`` is a :class:`mathdl.train.LoopResult` or :class:`mathdl.train.FitResult`: 0 when it
    completed (or stopped early), else 128 + the signal number after one line naming the checkpoint.
    """
    import signal
    import sys

    if result.stop_reason not in ("SIGTERM", "SIGINT"):
        return 0
    where = f"; checkpoint {result.checkpoint}" if result.checkpoint else ""
    print(f"mathdl {command}: stopped by {result.stop_reason}{where}; run the same command to resume.", file=sys.stderr)
    return 128 + int(getattr(signal, result.stop_reason))


def family_of(model: str):
    """The family module that owns ``model``, or ``None`` for the supervised models of ``mathdl train``."""
    for family in FAMILIES:
        if model in family.MODELS:
            return family
    return None
