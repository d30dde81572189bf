"""SIGTERM and SIGINT as a flag the loop reads at step boundaries, held until the last save is written."""

import signal
import sys
import threading

__all__ = []


class StopSignals:
    """Context manager: while inside, SIGTERM and SIGINT only set :attr:`received`.

    The first signal's name is kept (``"SIGTERM"`` or ``"SIGINT"``); a second one (two quick
    Ctrl-C's) is acknowledged on stderr and otherwise ignored, so the checkpoint being written
    is finished rather than interrupted. The previous handlers come back on exit; the loop
    exits this context only after its checkpoint writer has finished. Handlers can be set only
    from the main thread; elsewhere (or with ``enabled=False``) this does nothing.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.received: str | None = None
        self._old: dict = {}

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        del frame
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = name
            return
        print(
            f"mathdl.train: {name} again; stopping at the next step boundary once the checkpoint is written.",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc_info) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
