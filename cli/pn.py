"""``ledger pn ...``: psychotherapy notes, in the sealed store."""

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
from cli.notes import file_option
from ledger.dates import parse_day, parse_uuid
from ledger.errors import BadInput
from ledger.vocabulary import PN_EXCEPTION_CODES


@click.group()
def pn() -> None:
    """Psychotherapy notes (45 CFR 164.501), kept in the sealed store.

    Only the originating clinician reads a note for treatment without more; anyone else
    needs a psychotherapy-note authorization or a 164.508(a)(2) exception. Every read,
    granted or refused, is recorded in the sealed store.

    Example: ledger pn show 7a1c... --as dr-lee --purpose TREAT
    """


@pn.command("write")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@file_option
@click.option("--session-date", help="Date of the session, YYYY-MM-DD.")
@request_id_option
@json_option
@pass_state
def pn_write(state: State, client_ref: str, actor: str, file: str | None,
             session_date: str | None, request_id: str | None, as_json: bool) -> None:
    """Write a psychotherapy note; prints its id.

    Example: ledger pn write --client C-1001 --as dr-lee --file process.txt
    """
    text = read_text(file)
    note_id = state.ledger.psychotherapy.write(
        client_ref, text, by=actor, session_date=parse_day(session_date, "--session-date"),
        at=now(), request_id=request_id)
    if as_json:
        emit_json({"psychotherapy_note": note_id})
    else:
        click.echo(str(note_id))


@pn.command("amend")
@click.argument("pn_id", metavar="PN")
@as_option
@click.option("--reason", required=True, help="Why the note is amended.")
@file_option
@json_option
@pass_state
def pn_amend(state: State, pn_id: str, actor: str, reason: str, file: str | None,
             as_json: bool) -> None:
    """Append a version of a psychotherapy note (its originator only).

    Example: ledger pn amend 7a1c... --as dr-lee --reason "added detail" --file v2.txt
    """
    text = read_text(file)
    version = state.ledger.psychotherapy.amend(parse_uuid(pn_id, "PN"), text, reason, by=actor,
                                               at=now())
    if as_json:
        emit_json({"psychotherapy_note": pn_id, "version": version})
    else:
        click.echo(f"{pn_id} version {version}")


@pn.command("show")
@click.argument("pn_id", metavar="PN")
@as_option
@click.option("--purpose", required=True, metavar="CODE",
              help="HL7 PurposeOfUse code, e.g. TREAT, TRAIN, HLEGAL.")
@click.option("--authorization", "authorization", metavar="A",
              help="A psychotherapy-note authorization naming you as recipient.")
@click.option("--exception", "exception", metavar="CODE",
              help=f"One 164.508(a)(2) exception: {', '.join(PN_EXCEPTION_CODES)}.")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show version N.")
@click.option("--break-glass", is_flag=True,
              help="Never opens a psychotherapy note; the attempt is recorded and refused.")
@click.option("--reason", metavar="TEXT", help="The reason given with --break-glass.")
@json_option
@pass_state
def pn_show(state: State, pn_id: str, actor: str, purpose: str, authorization: str | None,
            exception: str | None, version: int | None, break_glass: bool,
            reason: str | None, as_json: bool) -> None:
    """Show a psychotherapy note if the guard allows; the access is recorded first.

    Example: ledger pn show 7a1c... --as sup --purpose TRAIN --exception SUPERVISED_TRAINING
    """
    if authorization is not None and exception is not None:
        raise BadInput("give --authorization or --exception, not both")
    if break_glass and not (reason or "").strip():
        raise BadInput("--break-glass needs --reason TEXT")
    if reason is not None and not break_glass:
        raise BadInput("--reason is for --break-glass")
    content = state.ledger.psychotherapy.read(
        parse_uuid(pn_id, "PN"), by=actor, purpose=purpose.upper(), version=version,
        authorization_id=parse_uuid(authorization, "--authorization") if authorization
        else None, exception=exception,
        break_glass_reason=reason if break_glass else None, at=now())
    if as_json:
        emit_json(content)
    else:
        echo_note(content)


@pn.command("list")
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@json_option
@pass_state
def pn_list(state: State, client_ref: str, actor: str, as_json: bool) -> None:
    """List a client's psychotherapy notes (ids and dates, no content). Recorded.

    A clinician sees the notes they originated; supervisors and compliance see all.

    Example: ledger pn list --client C-1001 --as dr-lee
    """
    notes = state.ledger.psychotherapy.list_notes(client_ref, by=actor, at=now())
    if as_json:
        emit_json(notes)
        return
    for n in notes:
        click.echo(f"{n.note_id}\tsession {n.session_date or '-'}\tversions {n.versions}\t"
                   f"author {n.author_id}\t{written(n.written_at, n.original_written_on)}")
