"""``ledger jobs run``: the scheduler."""

from __future__ import annotations

import click

from cli.context import State, as_option, now, pass_state


@click.group("jobs")
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
