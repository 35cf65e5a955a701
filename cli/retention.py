"""Retention: the facts the state rules need, legal holds, and the schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cli.context import (
    State,
    as_option,
    emit_json,
    escaped,
    json_option,
    now,
    pass_state,
)
from cli.people import client
from ledger.dates import parse_moment, parse_uuid, require_day
from ledger.errors import BadInput
from ledger.vocabulary import FACILITIES, LICENSES

if TYPE_CHECKING:
    from ledger.rules.retention_engine import Episode
    from ledger.services.retention import Schedule
    from ledger.views import HoldInfo


@client.group("episode")
def episode() -> None:
    """Episodes of care: when services began and ended, and which license served them.

    Example: ledger client episode open C-1001 --as desk --license lmft --start 2026-01-05
    """


@episode.command("open")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--license", "license_", required=True, type=click.Choice(LICENSES),
              help="License type of the treating professional.")
@click.option("--facility", type=click.Choice(FACILITIES), help="Facility type, if any.")
@click.option("--start", required=True, metavar="DATE", help="First day of services.")
@click.option("--state", "state_", metavar="XX",
              help="State the services are provided in, under its license (default: the "
                   "state the client was registered in).")
@pass_state
def episode_open(state: State, client_ref: str, actor: str, license_: str,
                 facility: str | None, start: str, state_: str | None) -> None:
    """Record that an episode of care began: where, and under which license.

    Example: ledger client episode open C-1 --as desk --license lpc --start 2026-01-05 --state WA
    """
    state.ledger.clients.open_episode(client_ref, license=license_, facility=facility,
                                      start=require_day(start, "--start"), by=actor, at=now(),
                                      state=state_)
    click.echo(f"{client_ref}: episode opened")


@episode.command("close")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--end", required=True, metavar="DATE", help="Day of discharge or termination.")
@click.option("--kind", required=True, type=click.Choice(["discharge", "termination"]))
@pass_state
def episode_close(state: State, client_ref: str, actor: str, end: str, kind: str) -> None:
    """Record that the open episode of care ended.

    Example: ledger client episode close C-1001 --as desk --end 2026-06-30 --kind termination
    """
    state.ledger.clients.close_episode(client_ref, end=require_day(end, "--end"), kind=kind,
                                       by=actor, at=now())
    click.echo(f"{client_ref}: episode closed")


@client.command("contact")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--on", "on", required=True, metavar="DATE", help="Day of the contact.")
@pass_state
def contact(state: State, client_ref: str, actor: str, on: str) -> None:
    """Record a professional contact with the client (some rules run from the last one).

    Example: ledger client contact C-1001 --as desk --on 2026-07-14
    """
    state.ledger.clients.record_contact(client_ref, on=require_day(on, "--on"), by=actor,
                                        at=now())
    click.echo(f"{client_ref}: contact on {on} recorded")


@click.group()
def hold() -> None:
    """Legal holds: a held client is never purged; release re-enters the schedule.

    Example: ledger hold list
    """


@hold.command("place")
@click.option("--client", "client_ref", help="The one client to hold.")
@click.option("--matter", help="The matter (litigation, investigation) the hold is for.")
@click.option("--clients", "clients", help="With --matter: client ids, comma-separated.")
@as_option
@click.option("--reason", required=True, help="Why the hold is placed.")
@json_option
@pass_state
def hold_place(state: State, client_ref: str | None, matter: str | None,
               clients: str | None, actor: str, reason: str, as_json: bool) -> None:
    """Place a legal hold on one client, or on several under a matter.

    Example: ledger hold place --matter "Roe v. Clinic" --clients C-1,C-2 --as comp --reason suit
    """
    if (client_ref is None) == (clients is None):
        raise BadInput("give --client ID, or --matter NAME with --clients ID,...")
    if clients is not None and matter is None:
        raise BadInput("--clients goes with --matter NAME")
    refs = [client_ref] if client_ref else [c.strip() for c in (clients or "").split(",")
                                            if c.strip()]
    info = state.ledger.retention.place_hold(refs, matter=matter, reason=reason, by=actor,
                                             at=now())
    _show_hold(info, as_json)


@hold.command("release")
@click.argument("hold_id", metavar="HOLD")
@as_option
@click.option("--reason", required=True, help="Why the hold ends.")
@json_option
@pass_state
def hold_release(state: State, hold_id: str, actor: str, reason: str, as_json: bool) -> None:
    """Release a legal hold; its clients re-enter the retention schedule.

    Example: ledger hold release 2c9e... --as comp --reason "case settled"
    """
    info = state.ledger.retention.release_hold(parse_uuid(hold_id, "HOLD"), reason=reason,
                                               by=actor, at=now())
    _show_hold(info, as_json)


@hold.command("list")
@as_option
@json_option
@pass_state
def hold_list(state: State, actor: str, as_json: bool) -> None:
    """Every hold, active and released (matters and derived client ids only), for those
    who manage retention; the reading is recorded.

    Example: ledger hold list --as comp --json
    """
    holds = state.ledger.retention.list_holds(by=actor, at=now())
    if as_json:
        emit_json(holds)
        return
    for h in holds:
        _show_hold(h, False)


def _show_hold(h: HoldInfo, as_json: bool) -> None:
    if as_json:
        emit_json(h)
        return
    h = escaped(h, "matter", "reason", "placed_by", "release_reason")
    released = (f"released {h.released_at.isoformat()} ({h.release_reason})" if h.released_at
                else "active")
    click.echo(f"{h.hold_id}\t{released}\t{h.matter or '-'}\t{len(h.client_ids)} client(s)\t"
               f"placed {h.placed_at.isoformat()} by {h.placed_by}: {h.reason}")


@click.group()
def retention() -> None:
    """State retention rules: a client's schedule, and the plan for the purge.

    Example: ledger retention explain C-1001 --as comp
    """


@retention.command("explain")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--at", "at", metavar="DATE", help="Explain as of this day (default today).")
@json_option
@pass_state
def retention_explain(state: State, client_ref: str, actor: str, at: str | None,
                      as_json: bool) -> None:
    """Every rule that governs the client, its dates, the winner, the destruction date,
    open preconditions and holds. Recorded as a reading.

    Example: ledger retention explain C-1001 --as comp --at 2034-01-01
    """
    current = now()
    schedule = state.ledger.retention.explain(client_ref, by=actor, at=current,
                                              as_of=parse_moment(at, "--at", now=current))
    if as_json:
        emit_json(_schedule_json(client_ref, schedule))
        return
    click.echo(_schedule_text(client_ref, schedule), nl=False)


@retention.command("plan")
@as_option
@click.option("--at", "at", metavar="DATE", help="Plan as of this day (default today).")
@click.option("--from-log", is_flag=True,
              help="Gather the facts from the primary log, as a purge checks them, instead "
                   "of the read models (slower; for an auditor who does not trust them).")
@json_option
@pass_state
def retention_plan(state: State, actor: str, at: str | None, from_log: bool,
                   as_json: bool) -> None:
    """What would be destroyed, what is blocked and why, for every client (its reference
    shown while the client's key exists).

    Example: ledger retention plan --as comp --at 2040-01-01
    """
    current = now()
    schedules = state.ledger.retention.plan(by=actor, at=current,
                                            as_of=parse_moment(at, "--at", now=current),
                                            from_log=from_log)
    if as_json:
        emit_json([_schedule_json(s.client_ref, s) for s in schedules])
        return
    for s in schedules:
        click.echo(f"{s.client_id}\t{_ref(s)}\t{s.status}\t{s.why}")


def _ref(s: Schedule) -> str:
    """The client reference as a line shows it ("-" once destroyed)."""
    from ledger.display import escape  # noqa: PLC0415 (keeps --help fast)

    return escape(s.client_ref) if s.client_ref is not None else "-"


@retention.command("precondition")
@click.argument("client_ref", metavar="CLIENT")
@as_option
@click.option("--rule", "rule_id", required=True, help="The rule whose precondition was met.")
@click.option("--kind", required=True, type=click.Choice(["notify-agency",
                                                        "keep-destruction-list"]))
@click.option("--on", "on", required=True, metavar="DATE", help="When it was done.")
@click.option("--note", required=True, help="What was done (a reference, no client names).")
@pass_state
def retention_precondition(state: State, client_ref: str, actor: str, rule_id: str,
                           kind: str, on: str, note: str) -> None:
    """Record that a destruction precondition was met (e.g. the agency was notified);
    a waiting period, if the rule has one, runs from that day.

    Example: ledger retention precondition C-1 --as comp --rule MA-c123-facility
    --kind notify-agency --on 2041-01-02 --note "DPH letter 41-7"
    """
    state.ledger.retention.record_precondition(client_ref, rule_id=rule_id, kind=kind,
                                               done_on=require_day(on, "--on"), note=note,
                                               by=actor, at=now())
    click.echo(f"{client_ref}: {rule_id} {kind} recorded as done on {on}")


@retention.command("run")
@as_option
@click.option("--at", "at", metavar="DATE",
              help="With --dry-run: what would be due on this day. A real run always uses "
                   "now: holds and preconditions are checked as they stand today.")
@click.option("--dry-run", is_flag=True, help="Show what would be destroyed; change nothing.")
@json_option
@pass_state
def retention_run(state: State, actor: str, at: str | None, dry_run: bool,
                  as_json: bool) -> None:
    """Destroy (crypto-shred) every client due and not held, in both stores, each with a
    receipt naming the rule, citation, anchor and dates. Safe to rerun after a crash. The
    read models say who is due; each is checked against the primary log before anything
    is destroyed (a disagreement destroys nothing of that client and exits 3). A dry run
    lists the held clients too.

    Example: ledger retention run --as comp --dry-run
    """
    if at is not None and not dry_run:
        raise BadInput("--at is for --dry-run; a purge runs as of now")
    current = now()
    done = state.ledger.retention.run(by=actor, dry_run=dry_run,
                                      at=parse_moment(at, "--at", now=current) or current)
    if as_json:
        emit_json([{"client": s.client_ref, "client_id": s.client_id, "status": s.status,
                    "why": s.why} for s in done])
        return
    for s in done:
        verb = ("held" if s.status == "held" else "would destroy" if dry_run
                else "destroyed")
        click.echo(f"{s.client_id}\t{_ref(s)}\t{verb}\t{s.why}")
    held = sum(s.status == "held" for s in done)
    verb = "would destroy" if dry_run else "destroyed"
    click.echo(f"{len(done) - held} client(s) {verb}" + (f"; {held} held" if held else ""))


def _schedule_json(client_ref: str | None, s: Schedule) -> dict[str, Any]:
    from dataclasses import asdict  # noqa: PLC0415 (keeps --help fast)

    e = s.explanation
    if e is None:  # destroyed: only the tombstone remains
        return {"client": client_ref, "client_id": s.client_id, "at": s.at,
                "status": s.status, "why": s.why, "backups": s.backups,
                "holds": [asdict(h) for h in s.holds]}
    return {
        "client": client_ref, "client_id": s.client_id, "at": s.at, "status": s.status,
        "why": s.why, "destroy_on": e.destroy_on, "capped": e.capped, "blocked": e.blocked,
        "winner": e.winner.rule.id if e.winner else None,
        "rules": [{"id": r.rule.id, "citation": r.rule.citation, "source": r.rule.source,
                   "note": r.rule.note, "anchor": r.rule.anchor, "anchor_date": r.anchor,
                   "adult_until": r.adult_until, "minor_until": r.minor_until,
                   "keep_until": r.keep_until, "cap_until": r.cap_until,
                   "episodes": [_episode_json(ep) for ep in r.episodes]}
                  for r in e.rules],
        "skipped": [{"id": r.id, "why": why} for r, why in e.skipped],
        "cap_conflicts": [r.rule.id for r in e.cap_conflicts],
        "preconditions": [{"rule": r.id, "what": p.describe(),
                           "open": (r, p) in s.open_preconditions}
                          for r, p in e.preconditions],
        "holds": [asdict(h) for h in s.holds],
        "backups": s.backups,
    }


def _episode_json(ep: Episode) -> dict[str, Any]:
    return {"state": ep.jurisdiction, "license": ep.license, "facility": ep.facility,
            "start": ep.start, "end": ep.end, "end_kind": ep.end_kind}


def _schedule_text(client_ref: str, s: Schedule) -> str:
    e = s.explanation
    lines = [f"Retention of client {client_ref} as of {s.at.isoformat()}: {s.status} "
             f"({s.why})", ""]
    if e is None:
        return lines[0] + "\n"
    for r in e.rules:
        mark = " <- longest" if e.winner is r else ""
        lines.append(f"{r.rule.id}{mark}: {r.rule.citation}")
        lines.append(f"  {r.rule.anchor} {r.anchor.isoformat()} + {r.rule.adult_years} years"
                     f" = {r.adult_until.isoformat()}"
                     + (f"; as a minor until {r.minor_until.isoformat()}" if r.minor_until
                        else "")
                     + f"; keep until {r.keep_until.isoformat()}"
                     + (f"; cap {r.cap_until.isoformat()}" if r.cap_until else ""))
        lines.append("  governs: " + "; ".join(ep.describe() for ep in r.episodes))
        if r.rule.note:
            lines.append(f"  note: {r.rule.note}")
    for rule, why in e.skipped:
        lines.append(f"{rule.id}: no date ({why})")
    if e.destroy_on:
        lines.append("")
        lines.append(f"Destruction date: {e.destroy_on.isoformat()}"
                     + (" (a cap binds: destruction is due by then)" if e.capped else ""))
    for r in e.cap_conflicts:
        lines.append(f"Cap conflict: {r.rule.id} says its records must be gone by "
                     f"{r.cap_until.isoformat() if r.cap_until else '?'}, but the client is "
                     "kept for the longer minimum above; review with counsel")
    for rule, p in e.preconditions:
        state = "open" if (rule, p) in s.open_preconditions else "met"
        lines.append(f"Precondition ({rule.id}, {state}): {p.describe()}")
    for hold in s.holds:
        h = escaped(hold, "matter", "reason")
        lines.append(f"Legal hold {h.hold_id}: {h.matter or '-'}: {h.reason}")
    if s.backups:
        lines.append(f"Backups: {s.backups}")
    return "\n".join(lines) + "\n"
