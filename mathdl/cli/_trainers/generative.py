"""``mathdl train`` for the generative models (see ``mathdl/cli/_trainers/__init__.py``)."""

MODELS: dict[str, str] = {}


def add_arguments(parser) -> None:
    """Add this family's own flags to the ``mathdl train`` parser."""


def run(args) -> int:
    """Train ``args.model``; returns the exit status."""
    raise NotImplementedError(args.model)
