"""Stopping the scheduler: the signal handler only hands the stop to a thread, once; a stop
asked for before the start waits for it; a stopped scheduler leaves due jobs due."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore

from jobs import scheduler as jobs_scheduler
from jobs.stopping import Stopper


class Recorder:
    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self) -> None:
        self.threads.append(threading.current_thread().name)


def test_a_signal_hands_the_stop_to_a_thread_once() -> None:
    stop = Recorder()
    stopper = Stopper(stop)
    stopper.started()
    stopper.handle(signal.SIGTERM, None)
    stopper.handle(signal.SIGINT, None)  # a second signal while stopping
    stopper.wait()
    assert stop.threads == ["ledger-stop"]
    assert stopper.signal == "SIGTERM"  # the first one names the stop


def test_a_signal_before_the_start_stops_at_the_start() -> None:
    stop = Recorder()
    stopper = Stopper(stop)
    stopper.handle(signal.SIGINT, None)
    stopper.wait()
    assert stop.threads == []  # nothing to stop yet
    stopper.started()
    stopper.wait()
    assert stop.threads == ["ledger-stop"]


def test_a_failing_stop_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    def stop() -> None:
        raise RuntimeError("boom")

    stopper = Stopper(stop)
    stopper.started()
    stopper.handle(signal.SIGTERM, None)
    stopper.wait()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "stopping failed: RuntimeError"]


class KeptStore(MemoryJobStore):  # type: ignore[misc]
    """Keeps its jobs after the shutdown, for the test to look at."""

    def shutdown(self) -> None:
        pass


def test_a_stopped_scheduler_leaves_a_due_job_due(caplog: pytest.LogCaptureFixture) -> None:
    """APScheduler 3's blocking loop looks for due jobs once more after a shutdown."""
    store = KeptStore()
    scheduler = jobs_scheduler._Scheduler(jobstores={"default": store},
                                          executors={"default": ThreadPoolExecutor(1)},
                                          timezone=UTC)
    due = datetime.now(UTC) - timedelta(seconds=1)
    scheduler.add_job(print, "interval", hours=1, id="due", next_run_time=due)
    loop = threading.Thread(target=scheduler.start, kwargs={"paused": True})
    loop.start()  # paused: the loop waits, the job stays due
    while not scheduler.running:  # bounded by the loop's start, which does not block
        loop.join(0.01)
    scheduler.shutdown(wait=True)
    loop.join(30)
    assert not loop.is_alive()
    assert store.lookup_job("due").next_run_time == due  # not skipped, still due
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
