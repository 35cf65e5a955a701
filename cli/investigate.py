"""``ledger investigate psychotherapy-releases``: the investigator's report."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.context import (
    State,
    as_option,
    emit_json,
    escaped,
    json_option,
    now,
    output_file,
    pass_state,
)
from ledger.dates import parse_day
from ledger.errors import BadInput

if TYPE_CHECKING:
    from ledger.integrity.findings import Item, Report


@click.group("investigate")
def investigate_group() -> None:
    """Reports for investigators, resting on verified chains and signed checkpoints.

    Example: ledger investigate psychotherapy-releases --as comp --html report.html
    """


@investigate_group.command("psychotherapy-releases")
@as_option
@click.option("--from", "since", metavar="DATE", help="From this date (inclusive).")
@click.option("--to", "until", metavar="DATE", help="To this date (inclusive).")
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write the report as an HTML timeline (a new file).")
@json_option
@pass_state
def psychotherapy_releases(state: State, actor: str, since: str | None, until: str | None,
                           html_file: str | None, as_json: bool) -> None:
    """Verify both stores from their logs (chain, known head, recomputed root, the latest
    signed checkpoint file), then list every use, disclosure, refusal and break-the-glass
    event concerning psychotherapy notes, decoded from the verified events, and conclude.
    Exit 3 if a store fails verification (nothing is concluded) or a read model disagrees
    with the log (named, with where; the conclusion from the log is still given).

    Example: ledger investigate psychotherapy-releases --as comp --from 2026-01-01 --json
    """
    if html_file is not None:
        output_file(html_file)  # checked before the reading is recorded
    report = state.ledger.investigation.psychotherapy_releases(
        by=actor, at=now(), since=parse_day(since, "--from"), until=parse_day(until, "--to"))
    if html_file is not None:
        _write_new(Path(html_file), _html(report))
    if as_json:
        emit_json(_json(report))
    else:
        click.echo(_text(report), nl=False)
    if not report.verified:
        state.close()
        raise SystemExit(3)


def _json(report: Report) -> dict[str, Any]:
    return {
        "verified": report.verified, "conclusion": report.conclusion,
        "read_models_disagreeing": [m for e in report.evidence for m in e.read_models],
        "period": {"from": report.since, "to": report.until},
        "evidence": [{"store": e.store, "ok": e.ok, "detail": e.detail, "size": e.size,
                      "verified_to": e.events, "checkpoint": e.checkpoint,
                      "read_models_disagreeing": list(e.read_models)}
                     for e in report.evidence],
        "events": [{"kind": i.kind, "basis": i.basis, "proof": list(i.proof or []),
                    "leaf": i.leaf,
                    "store": i.record.store, "position": i.position,
                    "notification_id": i.record.position,
                    "at": i.record.at, "actor": i.record.actor_id, "role": i.record.actor_role,
                    "action": i.record.action, "outcome": i.record.outcome,
                    "purpose": i.record.purpose, "object": i.record.object_id,
                    "client_id": i.record.client_id, "recipient": i.record.recipient,
                    "recipient_type": i.record.recipient_type,
                    "break_glass": i.record.break_glass} for i in report.items],
    }


def _line(i: Item) -> str:
    from ledger.display import escape  # noqa: PLC0415

    r = escaped(i.record, "actor_id", "recipient")
    who = f"{r.actor_id} ({r.actor_role})"
    to = f" to {r.recipient} ({r.recipient_type})" if r.recipient else ""
    return (f"{r.at.isoformat()}  {i.kind.upper():<15} {r.store} #{r.position}  {who} "
            f"{r.action}{to}  purpose {r.purpose or '-'}  {r.outcome}"
            + (f"  basis: {escape(i.basis)}" if i.basis else "")
            + ("" if i.proof is not None else "  [after the latest checkpoint]"))


def _text(report: Report) -> str:
    lines = ["Investigation: releases of psychotherapy notes", ""]
    for e in report.evidence:
        state = ("verified" if e.ok else "A READ MODEL DISAGREES WITH THE LOG"
                 if e.read_models else "VERIFICATION FAILED")
        lines.append(f"{e.store}: {state}: {e.detail}")
    if not report.concluded:
        lines += ["", "A store failed verification: this report concludes nothing."]
        return "\n".join(lines) + "\n"
    lines += ["", f"Conclusion: {report.conclusion}."]
    if not report.verified:
        lines.append("  (from the verified log; the read models named above were altered)")
    for i in report.releases:
        lines.append(f"  - {_line(i)}")
    lines += ["", "Timeline (uses, disclosures, refusals, break-the-glass):"]
    lines += [f"  {_line(i)}" for i in report.items]
    lines += ["", "Each event's inclusion proof against the signed checkpoints above is in "
                  "--json; ledger export bundle lets verify-bundle re-check them offline."]
    return "\n".join(lines) + "\n"


COLOURS = {"release": "#fde2e1", "refused": "#eef3fb", "break-glass": "#fff3cd",
           "originator use": "#eaf7ea", "other": "#f5f5f5"}


def _html(report: Report) -> str:
    e = html.escape
    rows = "".join(
        f'<tr style="background:{COLOURS.get(i.kind, "#fff")}"><td>{e(i.record.at.isoformat())}'
        f"</td><td>{e(i.kind)}</td><td>{e(i.record.store)} #{i.record.position}</td>"
        f"<td>{e(i.record.actor_id)} ({e(i.record.actor_role)})</td>"
        f"<td>{e(i.record.action)}</td><td>{e(i.record.recipient or '')}</td>"
        f"<td>{e(i.record.purpose or '')}</td><td>{e(i.record.outcome)}</td>"
        f"<td>{e(i.basis or '')}</td></tr>" for i in report.items)
    evidence = "".join(f"<li><b>{e(x.store)}</b>: {'verified' if x.ok else 'FAILED'}: "
                       f"{e(x.detail)}</li>" for x in report.evidence)
    conclusion = (e(report.conclusion or "") if report.concluded
                  else "A store failed verification: this report concludes nothing.")
    return (
        "<!doctype html><meta charset=utf-8><title>Psychotherapy-note releases</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}</style>"
        "<h1>Releases of psychotherapy notes</h1>"
        f"<p><b>Conclusion:</b> {conclusion}</p><ul>{evidence}</ul>"
        "<table><tr><th>time</th><th>kind</th><th>event</th><th>actor</th><th>action</th>"
        "<th>recipient</th><th>purpose</th><th>outcome</th><th>basis</th></tr>"
        f"{rows}</table>\n")


def _write_new(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise BadInput(f"cannot write {path}: {err.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
