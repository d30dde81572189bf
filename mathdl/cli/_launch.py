"""start a multi-process job of N local processes (coordinator on 127.0.0.1, a free port), e.g. mathdl train.

``mathdl launch -n N [--cpu-devices K] [--port P] [--grace S] -- COMMAND [ARGS ...]``
``mathdl launch --join -- mathdl COMMAND [ARGS ...]`` (one process of a job started elsewhere)

Each of the N processes runs ``COMMAND`` with ``MATHDL_COORDINATOR_ADDRESS=127.0.0.1:<port>``,
``MATHDL_NUM_PROCESSES=N`` and ``MATHDL_PROCESS_ID=i`` in its environment, from which
:func:`mathdl.train.initialize_distributed` (called with no arguments) joins the job. A command
``mathdl ...`` is run as ``mathdl launch --join -- mathdl ...``, which joins the job and then
runs the ``mathdl`` command in the same interpreter, so ``mathdl train`` needs no change; any other
command (``python my_script.py``) calls ``train.initialize_distributed()`` itself. Under SLURM
(``srun``) or on a Cloud TPU pod slice, where the scheduler starts one process per task or host,
each runs ``mathdl launch --join -- mathdl train ...``: JAX finds the job in the environment. ``--cpu-devices
K`` gives each process K simulated CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count=K``).

The launcher forwards SIGTERM and SIGINT to every process (each saves a checkpoint at the same
step and stops). When one process fails, the launcher says which and how, waits up to ``--grace``
seconds for the others (their peer watch ends them, naming the lost process), then kills the rest;
its exit status is the first failure's (128 + the signal for a killed process). Each process is
killed with the launcher if the launcher itself is killed (Linux).
"""

import argparse
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time

__all__ = []

_PR_SET_PDEATHSIG = 1


def configure(parser) -> None:
    """Add the ``mathdl launch`` arguments to ``parser``."""
    parser.add_argument("-n", "--processes", type=int, default=None, help="number of processes to start")
    parser.add_argument(
        "--join",
        action="store_true",
        help="start nothing: join the job in the environment (SLURM, TPU pod, MATHDL_*) and run the mathdl command",
    )
    parser.add_argument("--cpu-devices", type=int, default=None, help="simulated CPU devices per process")
    parser.add_argument("--port", type=int, default=None, help="coordinator port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds to wait for the others after one fails (default: 30)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS ...], run by every process")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child outlives a killed launcher
        pass


def _child_env(base: dict, *, address: str, n: int, i: int, cpu_devices: int | None) -> dict:
    env = dict(base)
    env.update(MATHDL_COORDINATOR_ADDRESS=address, MATHDL_NUM_PROCESSES=str(n), MATHDL_PROCESS_ID=str(i))
    if cpu_devices is not None:
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", env.get("XLA_FLAGS", "")).strip()
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={cpu_devices}".strip()
        env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _status(code: int) -> int:
    return 128 - code if code < 0 else code


def launch(command: list[str], processes: int, *, cpu_devices: int | None = None, port: int | None = None,
           grace: float = 30.0) -> int:  # fmt: skip
    r"""Run ``command`` as ``processes`` local processes of one JAX job; return the job's exit status.

    Args:
      command: the program and its arguments; a leading ``"mathdl"`` runs the ``mathdl`` command
        after joining the job.
      processes: the number of processes, ``>= 1``.
      cpu_devices: simulated CPU devices per process, or ``None`` to leave ``XLA_FLAGS`` alone.
      port: the coordinator's port on ``127.0.0.1`` (default: a free one).
      grace: seconds to wait for the others once one process has failed, before killing them.

    Returns:
      0 when every process exits with 0; otherwise the first failure's status (128 + the signal
      for a killed process).

    References:
      JAX documentation, "Using JAX in multi-host and multi-process environments".
    """
    port = port or _free_port()
    address = f"127.0.0.1:{port}"
    if _is_mathdl(command[0]):
        command = [sys.executable, "-m", "mathdl.cli._launch", "--join", "--", *command]
    procs = []
    for i in range(processes):
        env = _child_env(os.environ, address=address, n=processes, i=i, cpu_devices=cpu_devices)
        procs.append(subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_die_with_parent))
    pids = ", ".join(f"process {i} pid {p.pid}" for i, p in enumerate(procs))
    print(f"mathdl launch: {processes} processes, coordinator {address}; {pids}", file=sys.stderr, flush=True)

    def forward(signum, frame):
        del frame
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _watch(procs, grace)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for p in procs:  # never leave a process behind
            if p.poll() is None:
                p.kill()
                p.wait()


def _watch(procs, grace: float) -> int:
    failed, deadline, reported = None, None, set()
    while True:
        codes = [p.poll() for p in procs]
        for i, code in enumerate(codes):
            if code in (None, 0) or i in reported:
                continue
            reported.add(i)
            running = [j for j, c in enumerate(codes) if c is None]
            if failed is None:
                failed, deadline = (i, code), time.monotonic() + grace
                wait = f"; waiting up to {grace:g} s for process(es) {running} to stop" if running else ""
            else:
                wait = ""
            print(f"mathdl launch: process {i} (pid {procs[i].pid}) {_how(code)}{wait}", file=sys.stderr, flush=True)
        if all(c is not None for c in codes):
            break
        if deadline is not None and time.monotonic() > deadline:
            for j, p in enumerate(procs):
                if p.poll() is None:
                    print(f"mathdl launch: killing process {j} (pid {p.pid}) after {grace:g} s", file=sys.stderr)
                    p.kill()
            for p in procs:
                p.wait()
            break
        time.sleep(0.05)
    if failed is None:
        return 0
    return _status(failed[1])


def run(args) -> int:
    """Run ``mathdl launch``; returns the job's exit status (2 for bad arguments)."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("mathdl launch: expected a command after --, e.g. mathdl launch -n 2 -- mathdl train", file=sys.stderr)
        return 2
    if args.join:
        return _join(command)
    if args.processes is None:
        print("mathdl launch: expected -n N (the processes to start) or --join", file=sys.stderr)
        return 2
    if args.processes < 1:
        print(f"mathdl launch: -n expected an integer >= 1, got {args.processes}", file=sys.stderr)
        return 2
    if args.cpu_devices is not None and args.cpu_devices < 1:
        print(f"mathdl launch: --cpu-devices expected an integer >= 1, got {args.cpu_devices}", file=sys.stderr)
        return 2
    return launch(command, args.processes, cpu_devices=args.cpu_devices, port=args.port, grace=args.grace)


def _is_mathdl(program: str) -> bool:
    """Whether ``program`` is the ``mathdl`` command, by name or by a path to it (``.venv/bin/mathdl``)."""
    return os.path.basename(program) == "mathdl"


def _join(command: list[str]) -> int:
    """One process of a job: join it, then run the ``mathdl`` command here (another program is executed as is)."""
    if not _is_mathdl(command[0]):
        os.execvp(command[0], command)  # it joins the job itself, through train.initialize_distributed()
    from mathdl.cli import main
    from mathdl.train import initialize_distributed

    initialize_distributed()
    return main(command[1:])


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mathdl launch", description=(__doc__ or "").splitlines()[0])
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
