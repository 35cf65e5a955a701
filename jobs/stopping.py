"""Stopping a foreground service on SIGINT or SIGTERM, as systemd and a terminal expect.

The handler raises nothing and does no work itself: it notes the signal and hands the
stop (``stop``, which may block until the running job finishes) to a thread of its own, so
that the main thread, wherever the signal found it, carries on and leaves its loop when the
stop is done. A second signal while stopping changes nothing (SIGKILL still ends the process
at once). A signal that arrives before the service has started is remembered, and the stop
begins as soon as ``started()`` is called. A signal ignored when the process started (a
background job of a script) stays ignored.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
log = logging.getLogger("ledger.jobs")


class Stopper:
    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self.signal: str | None = None  # the name of the first signal received
        self._running = False
        self._threads: list[threading.Thread] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: runs on the main thread, between two of its steps."""
        if self.signal is None:
            self.signal = signal.Signals(signum).name
        if self._running:
            self._begin()

    def started(self) -> None:
        """The service runs now: a stop asked for earlier begins."""
        self._running = True
        if self.signal is not None:
            self._begin()

    def _begin(self) -> None:
        if self._threads:  # already stopping
            return
        thread = threading.Thread(target=self._run, name="ledger-stop")
        self._threads.append(thread)  # a nested signal may add a second: both are joined
        thread.start()

    def _run(self) -> None:
        log.info("%s received: stopping once the running job has finished", self.signal)
        try:
            self._stop()
        except Exception as e:  # a thread's error would print a traceback
            log.error("stopping failed: %s", type(e).__name__)

    def wait(self) -> None:
        """Wait for the stop to finish (nothing to wait for if none began)."""
        for thread in list(self._threads):
            thread.join()


def install(stopper: Stopper) -> None:
    """SIGINT and SIGTERM go to ``stopper`` from now on."""
    for s in SIGNALS:
        if signal.getsignal(s) is not signal.SIG_IGN:
            signal.signal(s, stopper.handle)


def ignore_late_signals() -> None:
    """Once stopped, the process winds down: a late SIGINT or SIGTERM must not end it
    halfway (exit -15) or raise KeyboardInterrupt. Python puts its own handlers back to the
    default while it exits; an ignored signal stays ignored."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
