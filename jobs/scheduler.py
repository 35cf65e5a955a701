"""The scheduled jobs, on APScheduler 3.x (the one module that imports it).

Jobs live in a persistent SQLAlchemy job store in the main ledger database (table
``ledger_scheduled_jobs``), so a restarted scheduler knows what ran. Each job coalesces
missed runs into one, runs one instance at a time, tolerates a misfire of up to an hour,
and logs one line per run (counts and positions, never client data). The jobs are the
plain functions of jobs.tasks, over the same services as the CLI.

Jobs: the retention sweep (daily), verification of both stores and a signed checkpoint of
each (hourly by default; a checkpoint is issued every period, also when nothing changed).
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from jobs.tasks import checkpoint, retention_sweep, verification
from ledger.settings import load_settings

JOB_TABLE = "ledger_scheduled_jobs"
MISFIRE_GRACE_SECONDS = 3600
log = logging.getLogger("ledger.jobs")
# The tasks are named here too: job stores written before they moved to jobs.tasks refer
# to them as jobs.scheduler:<name>.
__all__ = ["checkpoint", "configure", "retention_sweep", "run_forever", "scheduler_options",
           "verification"]


def configure(scheduler: BaseScheduler, data_dir: str, *, actor: str, sweep_hour: int = 2,
              verify_minutes: int = 60, checkpoint_minutes: int = 60) -> None:
    """Add (or replace) the ledger's jobs on ``scheduler``."""
    scheduler.add_job(checkpoint, "interval", minutes=checkpoint_minutes, id="checkpoint",
                      replace_existing=True, kwargs={"data_dir": data_dir})
    scheduler.add_job(retention_sweep, "cron", hour=sweep_hour, minute=0,
                      id="retention-sweep", replace_existing=True,
                      kwargs={"data_dir": data_dir, "actor": actor})
    scheduler.add_job(verification, "interval", minutes=verify_minutes, id="verification",
                      replace_existing=True, kwargs={"data_dir": data_dir})


def scheduler_options(url: str, schema: str | None) -> dict[str, Any]:
    return {
        "jobstores": {"default": SQLAlchemyJobStore(url=url, tablename=JOB_TABLE,
                                                    tableschema=schema)},
        "executors": {"default": ThreadPoolExecutor(1)},
        "job_defaults": {"coalesce": True, "max_instances": 1,
                         "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        "timezone": UTC,
    }


def run_forever(data_dir: str, *, actor: str, sweep_hour: int, verify_minutes: int) -> None:
    """Block, running the jobs, until interrupted."""
    settings = load_settings(data_dir)
    scheduler = BlockingScheduler(**scheduler_options(settings.main.url, settings.main.schema))
    configure(scheduler, data_dir, actor=actor, sweep_hour=sweep_hour,
              verify_minutes=verify_minutes)
    log.info("scheduler started: retention sweep daily at %02d:00 UTC, verification every "
             "%d minutes", sweep_hour, verify_minutes)
    scheduler.start()
