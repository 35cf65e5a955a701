"""One scheduled run: the task of jobs.tasks, with its start, end and outcome recorded in
the heartbeat (jobs.heartbeat).

A run never raises: a failing task is logged (one line: its kind, and a ledger error's
message, which never carries client data) and recorded as ``failed`` with its kind, and the
scheduler goes on. A verification that finds damage counts as failed (``IntegrityFailure``).
Recording the heartbeat never fails a run: if it cannot be written, a warning is logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jobs.heartbeat import Heartbeats, heartbeats
from jobs.tasks import checkpoint, retention_sweep, verification
from ledger.errors import LedgerError
from ledger.settings import load_settings

log = logging.getLogger("ledger.jobs")

# Job id -> task. The ids are also the job store's and the heartbeat's names.
TASKS: dict[str, Callable[..., object]] = {
    "checkpoint": checkpoint,
    "retention-sweep": retention_sweep,
    "verification": verification,
}
DAMAGE = "IntegrityFailure"  # the kind recorded when a task reports damage (returns False)


def describe(error: BaseException) -> str:
    """A loggable reason: a ledger error's message (written for users, no client data),
    else only the kind (a driver's message may quote statements and parameters)."""
    return f"{type(error).__name__}: {error}" if isinstance(error, LedgerError) \
        else type(error).__name__


def record(data_dir: str, what: str, write: Callable[[Heartbeats], None]) -> None:
    """Write to the heartbeat of ``data_dir``'s main database; a failure is only a warning."""
    try:
        settings = load_settings(data_dir)
        with heartbeats(settings.main.url, settings.main.schema) as beats:
            write(beats)
    except Exception as e:  # the heartbeat must never stop a job
        log.warning("heartbeat not recorded (%s): %s", what, describe(e))


def run(job: str, data_dir: str, **kwargs: Any) -> bool:
    """Run the task ``job`` on ``data_dir`` and record the run; True if it went well."""
    pid = os.getpid()
    record(data_dir, f"{job} started",
           lambda b: b.started(job, at=datetime.now(UTC), pid=pid))
    error: str | None = None
    try:
        if TASKS[job](data_dir, **kwargs) is False:
            error = DAMAGE  # the task logged what it found
    except Exception as e:  # logged and recorded; the scheduler goes on
        error = type(e).__name__
        log.error("job %s failed: %s", job, describe(e),
                  exc_info=bool(os.environ.get("LEDGER_DEBUG")))
    record(data_dir, f"{job} ended",
           lambda b: b.ended(job, at=datetime.now(UTC), pid=pid, error=error))
    return error is None
