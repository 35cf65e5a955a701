"""What the scheduler did and does: each job's next run (from the job store), its last run
and outcome (from the heartbeat), and whether the scheduler looks alive.

The scheduler counts as alive while its last heartbeat is at most ``STALE_AFTER`` old
(three heartbeats) and it has not recorded a clean stop. Reading creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from jobs.heartbeat import (
    HEARTBEAT_SECONDS,
    JOB_TABLE,
    SCHEDULER,
    Beat,
    database_exists,
    heartbeats,
)
from jobs.runs import TASKS
from ledger.errors import NotInitialised
from ledger.settings import Settings

STALE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)


@dataclass(frozen=True)
class JobStatus:
    job: str
    # never ran | running | interrupted (started, never ended, scheduler gone) | ok | failed
    state: str
    next_run: datetime | None  # None: not scheduled (paused, or never configured)
    last_start: datetime | None
    last_end: datetime | None  # of the last finished run
    outcome: str | None  # of the last finished run: ok | failed
    error: str | None  # the failure's kind


@dataclass(frozen=True)
class Status:
    scheduler: str  # never started | alive | stopped | not alive
    alive: bool
    pid: int | None
    started_at: datetime | None
    last_heartbeat: datetime | None
    stopped_at: datetime | None
    stale_after_seconds: int
    jobs: list[JobStatus]


def _next_runs(engine: sa.Engine, schema: str | None) -> dict[str, datetime | None]:
    """Job id -> next run, read from APScheduler's job store table (epoch seconds)."""
    if not sa.inspect(engine).has_table(JOB_TABLE, schema=schema):
        return {}
    jobs = sa.table(JOB_TABLE, sa.column("id"), sa.column("next_run_time"), schema=schema)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.next_run_time)).all()
    return {str(r.id): None if r.next_run_time is None
            else datetime.fromtimestamp(float(r.next_run_time), UTC) for r in rows}


def _scheduler_state(beat: Beat | None, at: datetime) -> str:
    if beat is None:
        return "never started"
    if beat.ended_at is not None:
        return "stopped"
    if beat.alive_at is not None and at - beat.alive_at <= STALE_AFTER:
        return "alive"
    return "not alive"


def _job(job: str, beat: Beat | None, next_run: datetime | None, alive: bool) -> JobStatus:
    start, end = (beat.started_at, beat.ended_at) if beat else (None, None)
    if start is None and end is None:
        state = "never ran"
    elif start is not None and (end is None or start > end):
        state = "running" if alive else "interrupted"
    else:
        state = (beat.outcome if beat else None) or "unknown"  # an end always has one
    return JobStatus(job=job, state=state, next_run=next_run, last_start=start, last_end=end,
                     outcome=beat.outcome if beat else None,
                     error=beat.error if beat else None)


def read_status(settings: Settings, *, at: datetime) -> Status:
    """The status at ``at``; NotInitialised if the main store's database does not exist."""
    if not database_exists(settings.main.url):
        raise NotInitialised(f"no ledger in {settings.data_dir}: run 'ledger init' first")
    with heartbeats(settings.main.url, settings.main.schema) as store:
        beats = {b.name: b for b in store.read()}
        next_runs = _next_runs(store.engine, settings.main.schema)
    own = beats.pop(SCHEDULER, None)
    state = _scheduler_state(own, at)
    names = sorted(set(TASKS) | set(next_runs) | set(beats))
    return Status(
        scheduler=state, alive=state == "alive", pid=own.pid if own else None,
        started_at=own.started_at if own else None,
        last_heartbeat=own.alive_at if own else None,
        stopped_at=own.ended_at if own else None,
        stale_after_seconds=int(STALE_AFTER.total_seconds()),
        jobs=[_job(n, beats.get(n), next_runs.get(n), state == "alive") for n in names])
