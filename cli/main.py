"""The ``ledger`` command group and its single error boundary."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

import ledger as ledger_package
from cli.context import State, os_user
from ledger.errors import BadInput, LedgerError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class LedgerGroup(click.Group):
    """Turns every error into one line on stderr and an exit code; never a traceback.

    The line is escaped (no control character a value carried reaches the terminal) and
    bounded; usage errors (exit 2) are one line too, naming the help to read."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            check_arguments(args)
            return super().make_context(info_name, args, parent, **extra)
        except LedgerError as e:
            say(str(e))
            raise click.exceptions.Exit(e.exit_code) from None
        except (click.exceptions.Exit, click.exceptions.NoArgsIsHelpError):
            raise  # --help, --version, or no command: the help, as click prints it
        except click.ClickException as e:
            say(usage(e))
            raise click.exceptions.Exit(e.exit_code) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as e:
            say(str(e))
            ctx.exit(e.exit_code)
        except (click.exceptions.Exit, click.Abort, click.exceptions.NoArgsIsHelpError):
            raise
        except click.ClickException as e:
            say(usage(e))
            ctx.exit(e.exit_code)
        except BrokenPipeError:
            raise  # the reader went away (``| head``); click exits quietly
        except OSError as e:  # a file or directory given or configured: its error and name
            from ledger.display import escape  # noqa: PLC0415

            name = f": {escape(str(e.filename))}" if e.filename is not None else ""
            say(f"{e.strerror or type(e).__name__}{name}")
            ctx.exit(1)
        except Exception as e:
            from ledger.persistence.failures import explain  # noqa: PLC0415 (on failure only)

            known = explain(e)
            if known is not None:
                say(str(known))
                ctx.exit(known.exit_code)
            if os.environ.get("LEDGER_DEBUG"):
                raise
            # Unexpected: the message may carry database parameters, so show only the kind.
            say(f"unexpected {type(e).__name__}; rerun with LEDGER_DEBUG=1 for details")
            ctx.exit(1)


MESSAGE_CHARS = 1000


def say(message: str) -> None:
    """One line on stderr: escaped, and cut if a value made it very long."""
    from ledger.display import escape  # noqa: PLC0415

    line = escape(message, backslash=False)  # the values in it are escaped already
    if len(line) > MESSAGE_CHARS:
        line = line[:MESSAGE_CHARS] + "..."
    click.echo(f"error: {line}", err=True)


def usage(e: click.ClickException) -> str:
    ctx = getattr(e, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if isinstance(ctx, click.Context) else ""
    # Click's own messages may run over lines (a list of choices): one line, words kept.
    return " ".join(e.format_message().split()).rstrip(".") + hint


def check_arguments(args: list[str]) -> None:
    """Every argument must be text: an invalid UTF-8 byte (which Python carries as a lone
    surrogate) or a NUL is bad input, stopped before anything runs."""
    for n, arg in enumerate(args, 1):
        which = (f"the argument after {args[n - 2]}" if n > 1 and _is_option(args[n - 2])
                 else f"argument {n}")
        if "\x00" in arg:
            raise BadInput(f"{which} contains a NUL character")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(f"{which} is not valid UTF-8 text") from None


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and arg.isprintable() and arg.isascii() and len(arg) < 40


@click.group(cls=LedgerGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(ledger_package.__version__, "--version", prog_name="ledger",
                      message="%(prog)s %(version)s")
@click.option("--data-dir", envvar="LEDGER_DATA_DIR", metavar="DIR",
              help="Data directory (default ./ledger-data; env LEDGER_DATA_DIR).")
@click.option("--server", envvar="LEDGER_SERVER", metavar="URL",
              help="Remote mode: call the ledger's HTTP service at URL (https; env "
                   "LEDGER_SERVER) with your staff token, instead of opening the stores.")
@click.option("--token-file", envvar="LEDGER_TOKEN_FILE", metavar="FILE",
              help="Remote mode: the file holding your staff token, its owner's alone (env "
                   "LEDGER_TOKEN_FILE; or the token in env LEDGER_TOKEN). There is no "
                   "--token: a token on the command line shows in ps.")
@click.pass_context
def ledger(ctx: click.Context, data_dir: str | None, server: str | None,
           token_file: str | None) -> None:
    """Event-sourced audit and retention ledger for mental-health records.

    Example: ledger --data-dir ./ledger-data verify
    """
    if token_file is not None and server is None:
        raise click.UsageError("--token-file is for remote mode: give --server URL (or "
                               "LEDGER_SERVER) too", ctx)
    # Opening the ledger validates the retention rules first.
    state = State(data_dir, server=server, token_file=token_file)
    ctx.obj = state
    ctx.call_on_close(state.close)
    if not state.remote and ctx.invoked_subcommand not in AUTHENTICATED_COMMANDS:
        # Local mode: the named actor (--as) is only claimed, so every event records the
        # OS user who ran the command beside it (README "Trust model").
        from ledger.agent import Agent, acting_through  # noqa: PLC0415 (light)

        ctx.with_resource(acting_through(Agent(os_user=os_user())))


# The commands whose callers the ledger authenticates itself: the OS user running them is
# the service's, not the actor's, so their events do not record it.
AUTHENTICATED_COMMANDS = frozenset({"serve"})


def _register() -> None:
    from cli import (  # noqa: PLC0415
        access_log,
        authorize,
        backup,
        bundles,
        checkpoints,
        disclose,
        import_cmd,
        init,
        integrity,
        investigate,
        jobs_cmd,
        keys,
        notes,
        people,
        pn,
        proofs,
        reports,
        retention,
        roles_cmd,
        serve,
        tokens,
    )

    ledger.add_command(init.init)
    people.staff.add_command(tokens.token)
    ledger.add_command(people.staff)
    ledger.add_command(people.client)
    ledger.add_command(notes.note)
    ledger.add_command(pn.pn)
    ledger.add_command(authorize.authorize)
    ledger.add_command(disclose.disclose)
    ledger.add_command(import_cmd.import_command)
    ledger.add_command(access_log.access_log_command)
    ledger.add_command(reports.record_set)
    ledger.add_command(reports.export)
    ledger.add_command(reports.accounting)
    ledger.add_command(reports.projections)
    ledger.add_command(retention.hold)
    ledger.add_command(retention.retention)
    ledger.add_command(integrity.verify)
    ledger.add_command(backup.backup)
    ledger.add_command(backup.restore)
    ledger.add_command(jobs_cmd.jobs_group)
    ledger.add_command(proofs.proof)
    ledger.add_command(checkpoints.checkpoint)
    ledger.add_command(keys.keys)
    ledger.add_command(bundles.verify_bundle_command)
    ledger.add_command(investigate.investigate_group)
    ledger.add_command(roles_cmd.roles)
    ledger.add_command(serve.serve)


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
