"""``ledger jobs run``: the scheduler; ``ledger jobs status``: what it did."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from cli.context import LocalGroup, State, as_option, emit_json, json_option, now, pass_state

if TYPE_CHECKING:
    from jobs.status import JobStatus, Status


@click.group("jobs", cls=LocalGroup, local_reason="the scheduler runs beside the stores, "
                                                  "with the keys")
def jobs_group() -> None:
    """Scheduled jobs (APScheduler, persistent job store in the ledger database).

    Example: ledger jobs run --as comp
    """


@jobs_group.command("run")
@as_option
@click.option("--sweep-hour", type=click.IntRange(0, 23), default=2, show_default=True,
              help="Hour (UTC) of the daily retention sweep.")
@click.option("--verify-minutes", type=click.IntRange(1, 1440), default=60, show_default=True,
              help="Minutes between verifications of both stores.")
@click.option("--run-now", is_flag=True,
              help="Verify and checkpoint at once on start, not one period later.")
@pass_state
def jobs_run(state: State, actor: str, sweep_hour: int, verify_minutes: int,
             run_now: bool) -> None:
    """Run the retention sweep daily (as the staff member given) and verification
    periodically, until SIGINT or SIGTERM; one log line per run on stderr. On either
    signal the running job finishes, one "stopped" line is logged, and it exits 0.

    Example: ledger jobs run --as comp --sweep-hour 3
    """
    import logging  # noqa: PLC0415 (only this command needs it)

    from jobs.scheduler import run_forever  # noqa: PLC0415

    # The roles table decides who may purge; a refusal is recorded (exit 4).
    state.ledger.retention.authorise_run(by=actor, at=now())
    data_dir = str(state.settings.data_dir)
    state.close()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run_forever(data_dir, actor=actor, sweep_hour=sweep_hour, verify_minutes=verify_minutes,
                run_now=run_now)


@jobs_group.command("status")
@json_option
@pass_state
def jobs_status(state: State, as_json: bool) -> None:
    """Each job's next run, its last run and outcome, and whether the scheduler is alive
    (its last heartbeat at most 3 minutes old).

    Example: ledger jobs status --json
    """
    from jobs.status import read_status  # noqa: PLC0415

    status = read_status(state.settings, at=now())
    if as_json:
        emit_json(status)
        return
    click.echo(f"scheduler: {_scheduler_line(status)}")
    for job in status.jobs:
        click.echo(f"{job.job}: {_job_line(job)}")
    if all(job.state == "never ran" for job in status.jobs):
        click.echo("no job has run yet")


def _time(at: datetime | None) -> str:
    return "-" if at is None else at.isoformat(timespec="seconds")


def _scheduler_line(s: Status) -> str:
    if s.scheduler == "never started":
        return "never started"
    if s.scheduler == "stopped":
        return f"stopped at {_time(s.stopped_at)} (pid {s.pid})"
    line = f"{s.scheduler} (pid {s.pid}; last heartbeat {_time(s.last_heartbeat)}"
    return line + (")" if s.alive else f", more than {s.stale_after_seconds} s ago)")


def _job_line(j: JobStatus) -> str:
    parts = [j.state + (f" ({j.error})" if j.state == "failed" and j.error else "")]
    if j.state in ("running", "interrupted"):
        parts.append(f"started {_time(j.last_start)}")
        if j.last_end is not None:
            parts.append(f"previous run ended {_time(j.last_end)}: {j.outcome}"
                         + (f" ({j.error})" if j.error else ""))
    elif j.state != "never ran":
        parts.append(f"last run {_time(j.last_start)} to {_time(j.last_end)}")
    parts.append("next run " + (_time(j.next_run) if j.next_run else "not scheduled"))
    return "; ".join(parts)
