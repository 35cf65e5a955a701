"""``ledger note ...``: progress notes."""

from __future__ import annotations

import click

from cli.context import (
    State,
    as_option,
    echo_note,
    emit_json,
    json_option,
    now,
    pass_state,
    read_text,
    request_id_option,
    written,
)
from ledger.dates import parse_day, parse_uuid
from ledger.errors import BadInput

file_option = click.option("--file", "file", metavar="F", type=click.Path(dir_okay=False),
                           help="Read the note text from F (default: stdin).")


@click.group()
def note() -> None:
    """Progress notes: write, amend, show, list. Every read is recorded."""


@note.command("write")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@file_option
@click.option("--session-date", help="Date of the session, YYYY-MM-DD.")
@request_id_option
@json_option
@pass_state
def note_write(state: State, client_ref: str, actor: str, file: str | None,
               session_date: str | None, request_id: str | None, as_json: bool) -> None:
    """Write a progress note; prints the new note id.

    Example: ledger note write --client C-1001 --as dr-lee --file s.txt --session-date 2026-03-02
    """
    text = read_text(file)
    note_id = state.ledger.notes.write(client_ref, text, by=actor,
                                       session_date=parse_day(session_date, "--session-date"),
                                       at=now(), request_id=request_id)
    if as_json:
        emit_json({"note": note_id})
    else:
        click.echo(str(note_id))


@note.command("amend")
@click.argument("note_id")
@as_option
@click.option("--reason", required=True, help="Why the note is amended (kept with the version).")
@file_option
@json_option
@pass_state
def note_amend(state: State, note_id: str, actor: str, reason: str, file: str | None,
               as_json: bool) -> None:
    """Append a new version of a note; older versions stay readable.

    Example: ledger note amend 3f2b... --as dr-lee --reason "corrected dosage" --file fixed.txt
    """
    text = read_text(file)
    version = state.ledger.notes.amend(parse_uuid(note_id, "NOTE"), text, reason, by=actor,
                                       at=now())
    if as_json:
        emit_json({"note": note_id, "version": version})
    else:
        click.echo(f"{note_id} version {version}")


@note.command("show")
@click.argument("note_id")
@as_option
@click.option("--purpose", required=True, metavar="CODE",
              help="HL7 PurposeOfUse code, e.g. TREAT, HPAYMT, HOPERAT.")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show version N.")
@click.option("--break-glass", is_flag=True,
              help="Emergency override for staff without the usual right; needs --reason. "
                   "The access is flagged and listed by ledger access-log --break-glass.")
@click.option("--reason", metavar="TEXT", help="Why the glass is broken (kept with the access).")
@json_option
@pass_state
def note_show(state: State, note_id: str, actor: str, purpose: str, version: int | None,
              break_glass: bool, reason: str | None, as_json: bool) -> None:
    """Show a note (the access is recorded first, granted or denied).

    Example: ledger note show 3f2b... --as dr-lee --purpose TREAT --version 1
    """
    if break_glass and reason is None:
        raise BadInput("--break-glass needs --reason TEXT")
    if reason is not None and not break_glass:
        raise BadInput("--reason is for --break-glass")
    content = state.ledger.notes.read(parse_uuid(note_id, "NOTE"), by=actor,
                                      purpose=purpose.upper(), version=version, at=now(),
                                      break_glass_reason=reason)
    if as_json:
        emit_json(content)
    else:
        echo_note(content)


@note.command("list")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@json_option
@pass_state
def note_list(state: State, client_ref: str, actor: str, as_json: bool) -> None:
    """List a client's notes (ids, dates, versions; no content). Recorded as an access.

    Example: ledger note list --client C-1001 --as dr-lee
    """
    notes = state.ledger.notes.list_notes(client_ref, by=actor, at=now())
    if as_json:
        emit_json(notes)
        return
    for n in notes:
        click.echo(f"{n.note_id}\tsession {n.session_date or '-'}\tversions {n.versions}\t"
                   f"author {n.author_id}\t{written(n.written_at, n.original_written_on)}")
