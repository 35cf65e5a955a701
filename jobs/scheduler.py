"""The scheduled jobs, on APScheduler 3.x (the one module that imports it).

Jobs live in a persistent SQLAlchemy job store in the main ledger database (table
``ledger_scheduled_jobs``), so a restarted scheduler knows what ran. Each job coalesces
missed runs into one, runs one instance at a time, tolerates a misfire of up to an hour,
and logs one line per run (counts and positions, never client data). The jobs are the
plain functions of jobs.tasks, run through jobs.runs, which records each run's start, end
and outcome in the heartbeat (jobs.heartbeat); the scheduler records its own life there
every ``HEARTBEAT_SECONDS`` (its own thread, so a long job does not silence it).

Jobs: the retention sweep (daily), verification of both stores and a signed checkpoint of
each (hourly by default; a checkpoint is issued every period, also when nothing changed).

``run_forever`` stops on SIGINT or SIGTERM (jobs.stopping): the scheduler is shut down with
``wait=True``, so the running job finishes, one "stopped" line is logged, and it returns.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from jobs.heartbeat import HEARTBEAT_SECONDS, JOB_TABLE
from jobs.runs import record, run
from jobs.stopping import Stopper, ignore_late_signals, install
from jobs.tasks import checkpoint, retention_sweep, verification
from ledger.agent import adopt, current_agent
from ledger.settings import load_settings

MISFIRE_GRACE_SECONDS = 3600
log = logging.getLogger("ledger.jobs")
# The tasks are named here too: job stores written before they moved to jobs.tasks refer
# to them as jobs.scheduler:<name>.
__all__ = ["JOB_TABLE", "checkpoint", "configure", "retention_sweep", "run_forever",
           "scheduler_options", "verification"]


class _Scheduler(BlockingScheduler):  # type: ignore[misc]
    """APScheduler 3's blocking loop looks for due jobs once more after a shutdown: a job
    due then would be handed to the closed executor (an error) and moved to its next time
    without running. Once stopped, this one leaves due jobs due, for the next start."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        result: float | None = super()._process_jobs()
        return result


def configure(scheduler: BaseScheduler, data_dir: str, *, actor: str, sweep_hour: int = 2,
              verify_minutes: int = 60, checkpoint_minutes: int = 60,
              run_now: datetime | None = None) -> None:
    """Add (or replace) the ledger's jobs on ``scheduler``. ``run_now``: the verification
    and the checkpoint run first at that time, not one period after the start."""
    record(data_dir, "creating its table", lambda b: b.create())
    first = {} if run_now is None else {"next_run_time": run_now}

    def add(job: str, trigger: str, extra: dict[str, Any], **options: Any) -> None:
        scheduler.add_job(run, trigger, id=job, name=job, replace_existing=True,
                          kwargs={"job": job, "data_dir": data_dir, **extra}, **options)

    add("checkpoint", "interval", {}, minutes=checkpoint_minutes, **first)
    add("retention-sweep", "cron", {"actor": actor}, hour=sweep_hour, minute=0)
    add("verification", "interval", {}, minutes=verify_minutes, **first)
    scheduler.add_job(beat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat",
                      name="heartbeat", jobstore="volatile", executor="heartbeat",
                      replace_existing=True, kwargs={"data_dir": data_dir})


def beat(data_dir: str) -> None:
    """The scheduler's sign of life."""
    pid = os.getpid()
    record(data_dir, "scheduler alive", lambda b: b.alive(at=datetime.now(UTC), pid=pid))


def scheduler_options(url: str, schema: str | None) -> dict[str, Any]:
    # The job threads start with an empty context: each adopts the agent of the command
    # that started the scheduler (its OS user, in local mode), so the jobs' events record it.
    pool = {"initializer": adopt, "initargs": (current_agent(),)}
    return {
        "jobstores": {"default": SQLAlchemyJobStore(url=url, tablename=JOB_TABLE,
                                                    tableschema=schema),
                      "volatile": MemoryJobStore()},  # the heartbeat: not worth persisting
        "executors": {"default": ThreadPoolExecutor(1, pool),
                      "heartbeat": ThreadPoolExecutor(1, pool)},
        "job_defaults": {"coalesce": True, "max_instances": 1,
                         "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        "timezone": UTC,
    }


def _shut_down(scheduler: BaseScheduler) -> None:
    with suppress(SchedulerNotRunningError):  # a second stop
        scheduler.shutdown(wait=True)  # the running job finishes first


def run_forever(data_dir: str, *, actor: str, sweep_hour: int, verify_minutes: int,
                run_now: bool = False) -> None:
    """Block, running the jobs, until SIGINT or SIGTERM; then return once the running job
    has finished."""
    settings = load_settings(data_dir)
    scheduler = _Scheduler(**scheduler_options(settings.main.url, settings.main.schema))
    stopper = Stopper(lambda: _shut_down(scheduler))
    install(stopper)
    configure(scheduler, data_dir, actor=actor, sweep_hour=sweep_hour,
              verify_minutes=verify_minutes,
              run_now=datetime.now(UTC) if run_now else None)
    scheduler.add_listener(lambda _event: stopper.started(), EVENT_SCHEDULER_STARTED)
    logging.getLogger("apscheduler.executors.heartbeat").setLevel(logging.WARNING)
    pid = os.getpid()
    record(data_dir, "scheduler started",
           lambda b: b.scheduler_started(at=datetime.now(UTC), pid=pid))
    log.info("scheduler started (pid %d): retention sweep daily at %02d:00 UTC, "
             "verification every %d minutes", pid, sweep_hour, verify_minutes)
    scheduler.start()
    stopper.wait()
    ignore_late_signals()
    record(data_dir, "scheduler stopped",
           lambda b: b.scheduler_stopped(at=datetime.now(UTC), pid=pid))
    log.info("scheduler stopped on %s", stopper.signal)
