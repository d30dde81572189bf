"""The ``mathdl`` command: ``--version``, ``devices``, ``tour``, ``bench``, ``train``.

Each subcommand other than the built-ins lives in ``mathdl/cli/_<command>.py`` with two
functions, ``configure(parser)`` (adds its arguments) and ``run(args) -> int`` (the exit
code); :func:`main` discovers them, so a new command needs no edit here.
"""

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


def _output_dir_problem(out: str) -> str | None:
    """Why the folder ``out`` cannot receive files (``None``: it can), found before anything runs.

    Nothing is created or changed: an existing file at ``out`` is left as it is, and a missing
    folder is only checked for (its nearest existing parent must be a folder one can write in, which
    a probe file created and removed at once shows).
    """
    try:
        path = Path(out)
        if path.exists() and not path.is_dir():
            return f"got {out!r}, which is a file (left untouched)"
        target = path.absolute()
        existing = target
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            return f"got {out!r}, inside {str(existing)!r}, which is a file"
    except OSError as exc:  # e.g. a parent folder that may not be searched
        return f"got {out!r}, which cannot be looked at ({exc.strerror or exc})"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".mathdl-write-check-")
    except OSError as exc:
        where = "" if existing == target else f", which would be created in {str(existing)!r}"
        return f"got {out!r}{where}, where nothing can be written ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


def _devices(args) -> int:
    import jax

    print(f"jax {jax.__version__}, default backend: {jax.default_backend()}")
    for d in jax.devices():
        print(f"  {d.id}: {d.platform} {d.device_kind}")
    return 0


def _tour(args) -> int:
    problem = _output_dir_problem(args.out)
    if problem is not None:
        print(f"mathdl tour: argument `--out` expected a folder to save plots in, {problem}.", file=sys.stderr)
        return 2
    from mathdl.tour import run_tour

    try:
        return run_tour(args.out, chapters=args.chapter)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:  # the folder went away or filled up while the demos ran
        print(f"mathdl tour: could not write in {args.out!r}: {exc.strerror or exc}.", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    r"""Entry point of the ``mathdl`` command.

    Args:
      argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
      The process exit code: 0 on success, 2 for a bad argument (one line on stderr says which and
      why), 130 when interrupted with Ctrl-C, otherwise the command's own code.

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
        if info.name.startswith("_") and not info.name.startswith("__") and not info.ispkg:
            module = importlib.import_module(f"mathdl.cli.{info.name}")
            p = sub.add_parser(info.name[1:], help=(module.__doc__ or "").strip().splitlines()[0])
            module.configure(p)
            p.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line, the conventional status 128 + SIGINT
        print(f"mathdl {args.command}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
