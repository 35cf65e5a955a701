"""The ``ledger`` command group and its single error boundary."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

import ledger as ledger_package
from cli.context import State
from ledger.errors import LedgerError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class LedgerGroup(click.Group):
    """Turns every error into one line on stderr and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            raise  # the reader went away (``| head``); click exits quietly
        except Exception as e:
            if os.environ.get("LEDGER_DEBUG"):
                raise
            # Unexpected: the message may carry database parameters, so show only the kind.
            click.echo(f"error: unexpected {type(e).__name__}; rerun with LEDGER_DEBUG=1 "
                       "for details", err=True)
            ctx.exit(1)


@click.group(cls=LedgerGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(ledger_package.__version__, "--version", prog_name="ledger",
                      message="%(prog)s %(version)s")
@click.option("--data-dir", envvar="LEDGER_DATA_DIR", metavar="DIR",
              help="Data directory (default ./ledger-data; env LEDGER_DATA_DIR).")
@click.pass_context
def ledger(ctx: click.Context, data_dir: str | None) -> None:
    """Event-sourced audit and retention ledger for mental-health records.

    Example: ledger --data-dir ./ledger-data verify
    """
    state = State(data_dir)  # opening the ledger validates the retention rules first
    ctx.obj = state
    ctx.call_on_close(state.close)


def _register() -> None:
    from cli import (  # noqa: PLC0415
        access_log,
        authorize,
        bundles,
        checkpoints,
        disclose,
        init,
        integrity,
        investigate,
        jobs_cmd,
        notes,
        people,
        pn,
        proofs,
        reports,
        retention,
        roles_cmd,
    )

    ledger.add_command(init.init)
    ledger.add_command(people.staff)
    ledger.add_command(people.client)
    ledger.add_command(notes.note)
    ledger.add_command(pn.pn)
    ledger.add_command(authorize.authorize)
    ledger.add_command(disclose.disclose)
    ledger.add_command(access_log.access_log_command)
    ledger.add_command(reports.record_set)
    ledger.add_command(reports.export)
    ledger.add_command(reports.accounting)
    ledger.add_command(reports.projections)
    ledger.add_command(retention.hold)
    ledger.add_command(retention.retention)
    ledger.add_command(integrity.verify)
    ledger.add_command(jobs_cmd.jobs_group)
    ledger.add_command(proofs.proof)
    ledger.add_command(checkpoints.checkpoint)
    ledger.add_command(bundles.verify_bundle_command)
    ledger.add_command(investigate.investigate_group)
    ledger.add_command(roles_cmd.roles)


_register()


PRIVATE_UMASK = 0o077  # every file this process makes is its user's alone


def main() -> None:
    # The ledger makes its files 0600 and directories 0700 itself; the umask also covers
    # any a library makes (SQLite's side files, say).
    os.umask(PRIVATE_UMASK)
    try:
        ledger.main(prog_name="ledger")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
