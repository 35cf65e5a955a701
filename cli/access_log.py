"""``ledger access-log``: who accessed what, when, why, with what outcome."""

from __future__ import annotations

import click

from cli.context import (
    State,
    as_option,
    emit_json,
    json_option,
    now,
    pass_state,
    valid_client_ref,
    valid_staff_id,
)
from ledger.dates import parse_day
from ledger.vocabulary import ACCESS_LOG_FIELDS


@click.command("access-log")
@as_option
@click.option("--client", "client_ref", callback=valid_client_ref, help="Only this client.")
@click.option("--staff", "staff_id", callback=valid_staff_id, help="Only this staff member.")
@click.option("--from", "since", metavar="DATE", help="From this date (inclusive).")
@click.option("--to", "until", metavar="DATE", help="To this date (inclusive).")
@click.option("--outcome", type=click.Choice(["granted", "denied", "not-found"]),
              help="Only this outcome.")
@click.option("--break-glass", is_flag=True, help="Only break-the-glass accesses.")
@click.option("--store", "which", type=click.Choice(["main", "pn", "all"]), default="all",
              show_default=True, help="Which store's events (pn: psychotherapy notes).")
@click.option("--sort", "sort", default="at", show_default=True,
              type=click.Choice(ACCESS_LOG_FIELDS), help="Sort by this field.")
@click.option("--from-log", is_flag=True,
              help="Re-derive the answer straight from the event log instead of the indexed "
                   "read model (the two agree).")
@json_option
@pass_state
def access_log_command(state: State, actor: str, client_ref: str | None, staff_id: str | None,
                       since: str | None, until: str | None, outcome: str | None,
                       break_glass: bool, which: str, sort: str, from_log: bool,
                       as_json: bool) -> None:
    """List access and disclosure events, read straight from the logs. Reading them is
    recorded too (compliance, supervisors and admins only).

    Example: ledger access-log --as comp --break-glass --from 2026-01-01
    """
    from ledger.display import escape  # noqa: PLC0415 (keeps --help fast)
    from ledger.queries import Query  # noqa: PLC0415

    query = Query(
        client_id=state.ledger.client_id(client_ref) if client_ref else None, staff_id=staff_id,
        since=parse_day(since, "--from"), until=parse_day(until, "--to"), outcome=outcome,
        break_glass=break_glass, sort=sort)
    chosen = state.ledger.audit.access_log(
        by=actor, at=now(), query=query, from_log=from_log,
        stores=tuple(name for name in ("main", "pn") if which in (name, "all")))
    if as_json:
        emit_json(chosen)
        return
    for r in chosen:
        click.echo("\t".join(escape(field) for field in [
            r.at.isoformat(), r.store, r.actor_id, r.actor_role, r.action, r.object_type,
            r.outcome + (" BREAK-GLASS" if r.break_glass else ""), r.purpose or "-",
            r.object_id or "-", f"client {r.client_id}" if r.client_id else "-",
            *([f"to {r.recipient} ({r.recipient_type})"] if r.recipient else []),
            *([r.reason] if r.reason else []),
        ]))

