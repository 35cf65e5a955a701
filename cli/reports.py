"""Compliance reports: the record set, the right-of-access export, the accounting of
disclosures, and the projections behind them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.context import (
    LocalGroup,
    State,
    as_option,
    emit_json,
    escaped,
    json_default,
    json_option,
    now,
    output_directory,
    pass_state,
)
from ledger.dates import parse_day, parse_moment
from ledger.errors import BadInput
from ledger.vocabulary import READ_MODELS

if TYPE_CHECKING:
    from ledger.views import RecordSet


@click.command("record-set")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--as-of", metavar="DATETIME",
              help="The record set as it stood then (a date means the end of that day).")
@click.option("--purpose", default="HOPERAT", show_default=True, metavar="CODE",
              help="HL7 PurposeOfUse code for this reading.")
@json_option
@pass_state
def record_set(state: State, client_ref: str, actor: str, as_of: str | None, purpose: str,
               as_json: bool) -> None:
    """The designated record set: each progress note's current version and its amendment
    history, as of now or any moment in the past. Never a psychotherapy note. Recorded.

    Example: ledger record-set C-1001 --as comp --as-of 2026-06-30
    """
    at = now()
    result = state.ledger.records.record_set(client_ref, by=actor, purpose=purpose.upper(),
                                             at=at, as_of=parse_moment(as_of, "--as-of", now=at))
    if as_json:
        emit_json(result)
    else:
        click.echo(_record_set_text(result), nl=False)


def _record_set_text(rs: RecordSet) -> str:
    from ledger.display import escape  # noqa: PLC0415

    lines = [f"Designated record set as of {rs.as_of.isoformat()}: {len(rs.notes)} progress "
             f"note{'s' if len(rs.notes) != 1 else ''}", ""]
    if rs.destroyed:
        lines.extend([f"The content was {rs.destroyed}.", ""])
    for n in rs.notes:
        c = n.current
        lines.append(f"Progress note {n.note_id}, version {c.version}"
                     + (f", session {escape(n.session_date)}" if n.session_date else ""))
        for v in n.history:
            imported = (f" (written {c.original_written_on} in an earlier system, "
                        "imported)" if v.version == 1 and c.original_written_on else "")
            lines.append(f"  version {v.version}: {v.written_at.isoformat()} by "
                         f"{escape(v.author_id)}{imported}"
                         + (f" (amended: {escape(v.amendment_reason)})" if v.amendment_reason
                            else ""))
        lines.append("")
        lines.extend(c.text.rstrip("\n").splitlines())
        lines.append("")
    return "\n".join(lines) + "\n"


@click.group("export")
def export() -> None:
    """Exports for people outside the practice.

    Example: ledger export access-request C-1001 --as comp --out ./request-C-1001
    """


@export.command("access-request")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--out", "out", required=True, metavar="DIR", type=click.Path(file_okay=False),
              help="A new directory for the client's copy (created, mode 0700).")
@click.option("--received", metavar="DATE", help="Date the request was received (default today).")
@json_option
@pass_state
def access_request(state: State, client_ref: str, actor: str, out: str, received: str | None,
                   as_json: bool) -> None:
    """What the client receives under the right of access (164.524): the record set as
    readable text and as JSON, and the 30-day deadline (one 30-day extension at most).

    Example: ledger export access-request C-1001 --as comp --out ./request-C-1001
    """
    directory = output_directory(out, new=True)  # checked before the export is recorded
    if not directory.absolute().parent.is_dir():
        raise BadInput(f"cannot write {out}: its parent directory does not exist")
    at = now()
    received_on = parse_day(received, "--received") or at.date()
    result = state.ledger.records.export_access_request(client_ref, by=actor,
                                                        received=received_on, at=at)
    import json  # noqa: PLC0415 (commands load what they need when they run)
    from dataclasses import asdict  # noqa: PLC0415

    _write_export(directory, {
        "record-set.txt": _record_set_text(result.record_set),
        "record-set.json": json.dumps(asdict(result), default=json_default, sort_keys=True,
                                      indent=2) + "\n"})
    summary = {"out": str(directory), "notes": len(result.record_set.notes),
               "received_on": result.received_on, "due_on": result.due_on,
               "latest_extended_due_on": result.latest_extended_due_on}
    if as_json:
        emit_json(summary)
        return
    click.echo(f"wrote {len(result.record_set.notes)} notes to {directory} "
               "(record-set.txt, record-set.json)")
    click.echo(f"request received {result.received_on.isoformat()}: act by "
               f"{result.due_on.isoformat()} (45 CFR 164.524(b)(2)); one extension, with a "
               f"written reason sent by then, to {result.latest_extended_due_on.isoformat()} "
               "at the latest")


def _write_export(directory: Path, files: dict[str, str]) -> None:
    """Write every file into a private sibling directory, then move it into place in one
    step: the client's copy is either complete or absent."""
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    parent = directory.absolute().parent
    staging: Path | None = None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
        for name, text in files.items():
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        staging.rename(directory)
    except OSError as e:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise BadInput(f"cannot write {directory}: {e.strerror}; the export was recorded, "
                       "run it again with a new --out") from None


@click.command()
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--at", "requested", metavar="DATE",
              help="Date of the request (default today); the six years before it are listed.")
@click.option("--from-log", is_flag=True,
              help="Read every disclosure from the event log instead of the indexed read "
                   "model (slower; nothing an edited read model hides is left out).")
@json_option
@pass_state
def accounting(state: State, client_ref: str, actor: str, requested: str | None,
               from_log: bool, as_json: bool) -> None:
    """The accounting of disclosures (164.528) of both stores, as a letter or as JSON.

    Example: ledger accounting C-1001 --as comp --at 2026-12-01
    """
    result = state.ledger.audit.accounting(client_ref, by=actor, at=now(),
                                           requested_on=parse_day(requested, "--at"),
                                           from_log=from_log)
    if as_json:
        emit_json(result)
    else:
        from dataclasses import replace  # noqa: PLC0415

        from ledger.rules.accounting import letter  # noqa: PLC0415

        # Recipients, addresses, descriptions and assertions were typed: one line each.
        lines = tuple(replace(line, first=escaped(line.first, "recipient", "recipient_address",
                                                   "description", "legal_basis", "statement"))
                      for line in result.lines)
        click.echo(letter(replace(result, lines=lines)), nl=False)


@click.group(cls=LocalGroup, local_reason="the read models are the server's own, and the HTTP "
                                         "service has no endpoint for them")
def projections() -> None:
    """The read models: how far behind each is, checking each against the log, rebuilding.

    Example: ledger projections status
    """


@projections.command("status")
@json_option
@pass_state
def projections_status(state: State, as_json: bool) -> None:
    """Each projection's position in its store's log and how many events it has not applied.

    Example: ledger projections status --json
    """
    rows = state.ledger.projections.status()
    if as_json:
        from dataclasses import asdict  # noqa: PLC0415

        emit_json({name: asdict(s) for name, s in rows.items()})
        return
    for name, s in rows.items():
        click.echo(f"{name}\tstore {s.store}\tposition {s.position}\tbehind {s.behind}")


@projections.command("rebuild")
@click.argument("name", type=click.Choice(READ_MODELS))
@pass_state
def projections_rebuild(state: State, name: str) -> None:
    """Empty one projection and replay its store's whole log into it, with progress.

    Example: ledger projections rebuild access-main
    """
    service = state.ledger.projections
    with click.progressbar(length=service.size(name), label=f"rebuilding {name}",
                           file=sys.stderr) as bar:
        applied, position = service.rebuild(name, progress=bar.update)
    click.echo(f"{name}: rebuilt from {applied} events, position {position}")


@projections.command("check")
@json_option
@pass_state
def projections_check(state: State, as_json: bool) -> None:
    """Compare each read model with a replay of its store's log (each Merkle tree with the
    chain's leaves) and name the first difference. Exit 0 if all agree, 3 otherwise; a
    read model that disagrees can be rebuilt with 'ledger projections rebuild'.

    Example: ledger projections check --json
    """
    found = state.ledger.projections.check()
    if as_json:
        emit_json({name: {"ok": problem is None, "difference": problem}
                   for name, problem in found.items()})
    else:
        for name, problem in found.items():
            click.echo(f"{name}\t{'agrees with the log' if problem is None else problem}")
    if any(problem is not None for problem in found.values()):
        state.close()
        raise SystemExit(3)
