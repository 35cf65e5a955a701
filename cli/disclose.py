"""``ledger disclose``: every release of anything, through the one disclosure guard."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING
from uuid import uuid4

import click

from cli.context import (
    State,
    as_option,
    echo_note,
    emit_json,
    json_default,
    json_option,
    now,
    pass_state,
    request_id_option,
)
from ledger.dates import parse_uuid
from ledger.errors import BadInput
from ledger.services.requests import check_request_id
from ledger.vocabulary import PN_EXCEPTION_CODES, RECIPIENT_TYPES, RECORD_EXCEPTION_CODES

if TYPE_CHECKING:
    from ledger.views import Release


@click.command()
@click.option("--client", "client_ref", required=True, help="Client id.")
@as_option
@click.option("--to", "recipient", required=True, metavar="RECIPIENT",
              help="Name of the recipient.")
@click.option("--recipient-type", required=True, type=click.Choice(list(RECIPIENT_TYPES)),
              help="Kind of recipient (a payer never receives a psychotherapy note).")
@click.option("--recipient-address", metavar="TEXT", help="The recipient's address, if known.")
@click.option("--purpose", required=True, metavar="CODE", help="HL7 PurposeOfUse code.")
@click.option("--note", "notes", multiple=True, metavar="N", help="A progress note to release.")
@click.option("--pn", "pns", multiple=True, metavar="P",
              help="A psychotherapy note to release.")
@click.option("--authorization", metavar="A", help="The authorization relied on.")
@click.option("--exception", metavar="CODE",
              help="One legal basis without authorization: for --pn one of "
                   f"{', '.join(PN_EXCEPTION_CODES)}; for --note one of "
                   f"{', '.join(RECORD_EXCEPTION_CODES)}.")
@click.option("--assertion", metavar="TEXT",
              help="With --exception: what was asserted, and the document relied on (say "
                   "the order's court, number and date). Required with --exception.")
@click.option("--description", metavar="TEXT",
              help="Brief description of what is released (default: generated; no content).")
@click.option("--out", "out", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write the released notes to FILE (JSON, mode 0600, never overwritten) "
                   "instead of stdout. Required with --pn.")
@request_id_option
@json_option
@pass_state
def disclose(state: State, client_ref: str, actor: str, recipient: str, recipient_type: str,
             recipient_address: str | None, purpose: str, notes: tuple[str, ...],
             pns: tuple[str, ...], authorization: str | None, exception: str | None,
             assertion: str | None, description: str | None, out: str | None,
             request_id: str | None, as_json: bool) -> None:
    """Release progress notes (--note) or psychotherapy notes (--pn) to a recipient.

    The guard grants or refuses; either way the attempt is an event (exit 4 on refusal).
    A granted disclosure records the 164.528(b)(2) fields and whether it is accountable.
    A psychotherapy note is released by its originator or compliance (see ledger roles),
    and only into the recipient's file (--out): never onto the screen. A retry with the
    same --request-id returns the first result; without one, an id is made and printed.

    Example: ledger disclose --client C-1001 --as bill --to "Acme Health Plan"
    --recipient-type payer --purpose HPAYMT --note 3f2b...
    """
    if bool(notes) == bool(pns):
        raise BadInput("name progress notes (--note) or psychotherapy notes (--pn), not both "
                       "and not neither")
    if authorization is not None and exception is not None:
        raise BadInput("give --authorization or --exception, not both")
    if pns and out is None:
        raise BadInput("a psychotherapy note is released only into the recipient's file: "
                       "give --out FILE (its content is never shown on the screen)")
    ids = [parse_uuid(n, "--note" if notes else "--pn") for n in (notes or pns)]
    auth_id = parse_uuid(authorization, "--authorization") if authorization else None
    request_id = check_request_id(request_id) or str(uuid4())
    service = state.ledger.psychotherapy if pns else state.ledger.notes
    fd = _create(out) if out is not None else None
    try:
        release = service.disclose(
            client_ref, ids, by=actor, recipient=recipient, recipient_type=recipient_type,
            purpose=purpose.upper(), at=now(), authorization_id=auth_id,
            exception=exception, description=description,
            recipient_address=recipient_address, assertion=assertion, request_id=request_id)
    except BaseException:
        if fd is not None and out is not None:
            os.close(fd)
            os.unlink(out)
        raise
    # Recorded: from here on nothing turns the release into a failure.
    written = (_write_package(fd, out, release, request_id)
               if fd is not None and out is not None else False)
    summary = _summary(release) | {"request_id": request_id}
    if as_json:
        emit_json(summary | ({"out": out, "written": written} if out is not None
                             else {"notes": release.notes}))
        return
    click.echo(f"disclosure {release.disclosure_id}: granted under {summary['basis']} "
               f"({release.legal_basis}); "
               f"{'accountable' if release.accountable else 'not accountable'}; "
               f"request id {request_id}")
    if out is not None:
        if written:
            click.echo(f"released content written to {out}")
        return
    for content in release.notes:
        click.echo("")
        echo_note(content)


def _summary(release: Release) -> dict[str, object]:
    from dataclasses import asdict  # noqa: PLC0415

    data = asdict(release)
    data.pop("notes")
    return data


def _create(path: str) -> int:
    """Create the package file before anything is released: never overwrite, never
    world-readable, and fail before the disclosure is recorded if it cannot be written."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror}") from None


def _write_package(fd: int, path: str, release: Release, request_id: str) -> bool:
    """Write the released notes into the file made before the release. The release is
    recorded by now, so a failure here is a warning, never an error: the file is removed,
    and the same command with the request id and a new --out writes it."""
    import json  # noqa: PLC0415
    from dataclasses import asdict  # noqa: PLC0415

    payload = json.dumps(asdict(release), default=json_default, sort_keys=True, indent=2)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(payload + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(path)
        click.echo(f"warning: disclosure {release.disclosure_id} is recorded, but {path} "
                   f"could not be written ({e.strerror}); run the same command with "
                   f"--request-id {request_id} and a new --out to write it", err=True)
        return False
    return True
