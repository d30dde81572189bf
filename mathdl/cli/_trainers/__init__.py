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


def family_of(model: str):
    """The family module that owns ``model``, or ``None`` for the supervised models of ``mathdl train``."""
    for family in FAMILIES:
        if model in family.MODELS:
            return family
    return None
