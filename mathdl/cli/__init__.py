"""The ``mathdl`` command: ``--version``, ``devices``, ``tour``, ``bench``, ``train``.

Each subcommand other than the built-ins lives in ``mathdl/cli/_<command>.py`` with two
functions, ``configure(parser)`` (adds its arguments) and ``run(args) -> int`` (the exit
code); :func:`main` discovers them, so a new command needs no edit here.
"""

import argparse
import importlib
import pkgutil
import sys

__all__ = ["main"]


def _devices(args) -> int:
    import jax

    print(f"jax {jax.__version__}, default backend: {jax.default_backend()}")
    for d in jax.devices():
        print(f"  {d.id}: {d.platform} {d.device_kind}")
    return 0


def _tour(args) -> int:
    from mathdl.tour import run_tour

    try:
        return run_tour(args.out, chapters=args.chapter)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    r"""Entry point of the ``mathdl`` command.

    Args:
      argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
      The process exit code (0 on success).

    Raises:
      SystemExit: on ``--help``, ``--version`` or an argument error (argparse).

    References:
      README, "Quick start".
    """
    from mathdl import __version__

    parser = argparse.ArgumentParser(
        prog="mathdl", description="The mathematics of deep learning as pure, tested JAX functions."
    )
    parser.add_argument("--version", action="version", version=f"mathdl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("devices", help="list the devices JAX sees")
    p.set_defaults(run=_devices)
    p = sub.add_parser("tour", help="run one short demo per chapter and check its metrics")
    p.add_argument("--out", default="mathdl-out", help="folder for plots (default: ./mathdl-out)")
    p.add_argument("--chapter", action="append", help="run only this chapter (repeatable), e.g. 3 or B")
    p.set_defaults(run=_tour)
    from mathdl import cli as _self

    for info in sorted(pkgutil.iter_modules(_self.__path__), key=lambda i: i.name):
        if info.name.startswith("_") and not info.name.startswith("__"):
            module = importlib.import_module(f"mathdl.cli.{info.name}")
            p = sub.add_parser(info.name[1:], help=(module.__doc__ or "").strip().splitlines()[0])
            module.configure(p)
            p.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
