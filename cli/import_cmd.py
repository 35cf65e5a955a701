"""``ledger import FILE``: a practice's history from an earlier system (docs/import.md)."""

from __future__ import annotations

import click

from cli.context import LocalCommand, State, as_option, emit_json, json_option, now, pass_state


@click.command("import", cls=LocalCommand,
               local_reason="it reads the history file on this host")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=False))
@as_option
@click.option("--dry-run", is_flag=True,
              help="Check the whole file and say what would be added and skipped; write "
                   "nothing but the recorded attempt.")
@click.option("--clients-per-commit", type=click.IntRange(1, 1000), default=1,
              show_default=True, metavar="N",
              help="Clients written per transaction (a larger N is faster; a killed import "
                   "loses at most N clients' work, which a rerun adds).")
@json_option
@pass_state
def import_command(state: State, file: str, actor: str, dry_run: bool,
                   clients_per_commit: int, as_json: bool) -> None:
    """Import clients, episodes, contacts and notes from a JSON Lines history file.

    The whole file is checked first: one bad line and nothing is written (each bad line
    is named). Re-importing a file adds nothing; rerunning a killed import adds the rest.

    Example: ledger import history.jsonl --as admin --dry-run
    """
    from ledger.display import escape  # noqa: PLC0415
    from ledger.rules.import_file import ImportRejected, lines_of  # noqa: PLC0415

    try:
        with open(file, "rb") as stream:
            result = state.ledger.history_import.run(
                lines_of(stream), by=actor, at=now(), dry_run=dry_run,
                clients_per_commit=clients_per_commit)
    except ImportRejected as e:
        if as_json:
            emit_json({"errors": list(e.problems), "bad_lines": e.bad_lines})
        for problem in (*e.problems, e.summary):  # one line each, as every error is
            click.echo(f"error: {escape(problem, backslash=False)}", err=True)
        raise click.exceptions.Exit(e.exit_code) from None
    if as_json:
        emit_json(result)
        return
    what = "would add" if dry_run else "added"
    skipped = "would skip" if dry_run else "skipped"
    for label, counts in ((what, result.added), (f"{skipped} (already recorded)",
                                                  result.skipped)):
        click.echo(f"{label}: {counts.clients} clients, {counts.episodes} episodes, "
                   f"{counts.contacts} contacts, {counts.progress_notes} progress notes, "
                   f"{counts.psychotherapy_notes} psychotherapy notes")
