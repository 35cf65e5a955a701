"""``/v1/retention`` and ``/v1/holds``: state retention rules, the purge, destruction
preconditions and legal holds (``ledger retention``, ``ledger hold``). Compliance and
admins only; every reading is recorded."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.caller import CallerDep
from api.fields import Body, ClientQuery, ClientRef, Code, Day, Moment, Text
from api.problems import responses
from ledger.dates import parse_moment, require_day
from ledger.errors import BadInput
from ledger.views import HoldInfo

if TYPE_CHECKING:
    from ledger.services.retention import Schedule

router = APIRouter(prefix="/v1", tags=["retention"])
MAX_HOLD_CLIENTS = 1000


class Explain(ClientQuery):
    at: Moment | None = None


class Run(Body):
    dry_run: bool = False
    at: Moment | None = None


class Precondition(Body):
    client: ClientRef
    rule: Code
    kind: Literal["notify-agency", "keep-destruction-list"]
    on: Day
    note: Text


class HoldPlace(Body):
    client: ClientRef | None = None
    matter: Text | None = None
    clients: Annotated[list[ClientRef] | None, Field(max_length=MAX_HOLD_CLIENTS)] = None
    reason: Text


class HoldRelease(Body):
    reason: Text


class EpisodeOut(BaseModel):
    """An episode of care a rule governs: where, under which license, when."""

    state: str | None
    license: str
    facility: str | None
    start: date
    end: date | None
    end_kind: str | None


class RuleDates(BaseModel):
    id: str
    citation: str
    source: str
    note: str | None
    anchor: str
    anchor_date: date
    adult_until: date
    minor_until: date | None
    keep_until: date
    cap_until: date | None
    episodes: list[EpisodeOut] = Field(default_factory=list)


class Skipped(BaseModel):
    id: str
    why: str


class PreconditionState(BaseModel):
    rule: str
    what: str
    open: bool


class ScheduleOut(BaseModel):
    """A client's retention status (`ledger retention explain --json`); once destroyed,
    only the tombstone and holds."""

    client_id: UUID
    # The client reference, for those who manage retention, while the client's key
    # exists (null once destroyed).
    client: str | None = None
    at: date
    status: str
    why: str
    holds: list[HoldInfo]
    destroy_on: date | None = None
    capped: bool | None = None
    blocked: str | None = None
    winner: str | None = None
    rules: list[RuleDates] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    cap_conflicts: list[str] = Field(default_factory=list)
    preconditions: list[PreconditionState] = Field(default_factory=list)
    # Until when backups may hold the client's keys (README "Key-encryption keys").
    backups: str | None = None


class Destroyed(BaseModel):
    client_id: UUID
    client: str | None = None  # the reference, while the client's key exists
    status: str
    why: str


class Recorded(BaseModel):
    client: str
    rule: str
    kind: str
    on: str


def schedule_out(s: Schedule) -> ScheduleOut:
    out = ScheduleOut(client_id=s.client_id, client=s.client_ref, at=s.at, status=s.status,
                      why=s.why, holds=list(s.holds), backups=s.backups)
    e = s.explanation
    if e is None:  # destroyed: only the tombstone remains
        return out
    return out.model_copy(update={
        "destroy_on": e.destroy_on, "capped": e.capped, "blocked": e.blocked,
        "winner": e.winner.rule.id if e.winner else None,
        "rules": [RuleDates(id=r.rule.id, citation=r.rule.citation, source=r.rule.source,
                            note=r.rule.note, anchor=r.rule.anchor, anchor_date=r.anchor,
                            adult_until=r.adult_until, minor_until=r.minor_until,
                            keep_until=r.keep_until, cap_until=r.cap_until,
                            episodes=[EpisodeOut(state=ep.jurisdiction, license=ep.license,
                                                 facility=ep.facility, start=ep.start,
                                                 end=ep.end, end_kind=ep.end_kind)
                                      for ep in r.episodes])
                  for r in e.rules],
        "skipped": [Skipped(id=r.id, why=why) for r, why in e.skipped],
        "cap_conflicts": [r.rule.id for r in e.cap_conflicts],
        "preconditions": [PreconditionState(rule=r.id, what=p.describe(),
                                            open=(r, p) in s.open_preconditions)
                          for r, p in e.preconditions]})


@router.post("/retention/explain", response_model=ScheduleOut,
             responses=responses(403, 404))
def explain(body: Explain, caller: CallerDep) -> ScheduleOut:
    """Every rule that governs the client, its dates, the winner, the destruction date,
    open preconditions and holds. Recorded as a reading."""
    with caller.acting():
        schedule = caller.ledger.retention.explain(
            body.client, by=caller.by, at=caller.at,
            as_of=parse_moment(body.at, "at", now=caller.at))
    return schedule_out(schedule)


@router.get("/retention/plan", response_model=list[ScheduleOut], responses=responses(403))
def plan(caller: CallerDep,
         at: Annotated[Moment | None, Query(description="Plan as of this day")] = None,
         from_log: Annotated[bool, Query(description="Gather the facts from the primary "
                                                     "log, not the read models")] = False
         ) -> list[ScheduleOut]:
    """Every client's status: retained, due, held, blocked, destroyed, or no date (with
    the client's reference while its key exists)."""
    with caller.acting():
        schedules = caller.ledger.retention.plan(by=caller.by, at=caller.at,
                                                 as_of=parse_moment(at, "at", now=caller.at),
                                                 from_log=from_log)
    return [schedule_out(s) for s in schedules]


@router.post("/retention/run", response_model=list[Destroyed], responses=responses(403))
def run(body: Run, caller: CallerDep) -> list[Destroyed]:
    """Crypto-shred every client due and not held, in both stores, each with a receipt
    (`dry_run`: what would be destroyed, on `at`, and who is held). Safe to rerun after a
    crash. Each client is checked against the primary log first: a disagreement with the
    read model destroys nothing of that client and fails the run (409 integrity)."""
    if body.at is not None and not body.dry_run:
        raise BadInput("at is for a dry run; a purge runs as of now")
    with caller.acting():
        done = caller.ledger.retention.run(
            by=caller.by, dry_run=body.dry_run,
            at=parse_moment(body.at, "at", now=caller.at) or caller.at)
    return [Destroyed(client_id=s.client_id, client=s.client_ref, status=s.status, why=s.why)
            for s in done]


@router.post("/retention/preconditions", status_code=201, response_model=Recorded,
             responses=responses(403, 404))
def precondition(body: Precondition, caller: CallerDep) -> Recorded:
    """Record that a destruction precondition was met (say, the agency was notified)."""
    with caller.acting():
        caller.ledger.retention.record_precondition(
            body.client, rule_id=body.rule, kind=body.kind,
            done_on=require_day(body.on, "on"), note=body.note, by=caller.by, at=caller.at)
    return Recorded(client=body.client, rule=body.rule, kind=body.kind, on=body.on)


@router.post("/holds", status_code=201, response_model=HoldInfo,
             responses=responses(403, 404))
def place_hold(body: HoldPlace, caller: CallerDep) -> HoldInfo:
    """A legal hold on one client (`client`), or on several under a matter (`matter`
    with `clients`)."""
    if (body.client is None) == (body.clients is None):
        raise BadInput("give client, or matter with clients")
    if body.clients is not None and body.matter is None:
        raise BadInput("clients goes with matter")
    refs = [body.client] if body.client is not None else list(body.clients or [])
    with caller.acting():
        return caller.ledger.retention.place_hold(refs, matter=body.matter,
                                                  reason=body.reason, by=caller.by,
                                                  at=caller.at)


@router.post("/holds/{hold_id}/release", response_model=HoldInfo,
             responses=responses(403, 404))
def release_hold(hold_id: UUID, body: HoldRelease, caller: CallerDep) -> HoldInfo:
    """Release a legal hold; its clients re-enter the retention schedule."""
    with caller.acting():
        return caller.ledger.retention.release_hold(hold_id, reason=body.reason,
                                                    by=caller.by, at=caller.at)


@router.get("/holds", response_model=list[HoldInfo], responses=responses(403))
def list_holds(caller: CallerDep) -> list[HoldInfo]:
    """Every hold, active and released. The reading is recorded."""
    with caller.acting():
        return caller.ledger.retention.list_holds(by=caller.by, at=caller.at)
