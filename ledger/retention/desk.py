"""The retention desk: explains a client's schedule and plans the purge, across both stores.

It reads the client's facts from the main ledger and the latest psychotherapy-note entry
from the sealed store (a date, never content), applies the rules, and honours legal holds.
Every explanation and plan is recorded as a reading in the main store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from ledger import policy
from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import acting_as, utc
from ledger.aggregates.client import Client
from ledger.application import MainLedger
from ledger.errors import NotFound
from ledger.psychotherapy import PsychotherapyStore
from ledger.retention import engine, rules
from ledger.views import HoldInfo


@dataclass(frozen=True)
class Schedule:
    client_id: UUID
    at: date
    facts: engine.Facts
    explanation: engine.Explanation
    holds: tuple[HoldInfo, ...]

    @property
    def status(self) -> str:
        e = self.explanation
        if e.destroy_on is None:
            return "no date"
        if e.destroy_on > self.at:
            return "retained"
        if self.holds:
            return "held"
        if e.preconditions:
            return "blocked"
        return "due"

    @property
    def why(self) -> str:
        e = self.explanation
        if e.destroy_on is None:
            return e.blocked or "no date"
        if e.destroy_on > self.at:
            return f"kept until {e.destroy_on.isoformat()}"
        if self.holds:
            return "legal hold: " + "; ".join(h.matter or h.reason for h in self.holds)
        if e.preconditions:
            return "open precondition: " + "; ".join(p.describe() for _, p in e.preconditions)
        return (f"due since {e.destroy_on.isoformat()} under "
                f"{e.winner.rule.id if e.winner else '?'}")


class RetentionDesk:
    def __init__(self, main: MainLedger, pn: PsychotherapyStore) -> None:
        self.main = main
        self.pn = pn
        self.rules = rules.load()

    def schedule(self, client_id: UUID, at: datetime) -> Schedule:
        """The schedule of one client at ``at`` (no access record: see explain)."""
        facts = self.main.retention_facts(client_id)
        pn_entry = self.pn.last_entry(client_id)
        if pn_entry is not None and (facts.last_entry is None or pn_entry > facts.last_entry):
            facts = engine.Facts(facts.jurisdiction, facts.dob, facts.episodes,
                                 facts.last_contact, pn_entry)
        return Schedule(client_id=client_id, at=at.date(), facts=facts,
                        explanation=engine.explain(self.rules, facts),
                        holds=tuple(self.main.holds_on(client_id, at)))

    def explain(self, client_ref: str, *, by: str, at: datetime,
                as_of: datetime | None = None) -> Schedule:
        """The client's schedule as of ``as_of`` (default ``at``, when it is recorded)."""
        at = utc(at)
        client_id = Client.id_for(client_ref)
        actor = self.main.decide(by, policy.may_manage_holds, "access", "retention",
                                  at=at, client_id=client_id)
        if not self.main.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        schedule = self.schedule(client_id, utc(as_of) if as_of else at)
        with acting_as(actor):
            self.main.save(AuditEntry.record(action="access", outcome="granted",
                                             object_type="retention", client_id=client_id,
                                             at=at))
        return schedule

    def plan(self, *, by: str, at: datetime, as_of: datetime | None = None) -> list[Schedule]:
        """Every client's schedule as of ``as_of`` (default ``at``): what would be
        destroyed and what is blocked."""
        at = utc(at)
        actor = self.main.decide(by, policy.may_manage_holds, "list", "retention", at=at)
        moment = utc(as_of) if as_of else at
        schedules = [self.schedule(i, moment) for i in self.main.client_ids()]
        with acting_as(actor):
            self.main.save(AuditEntry.record(action="list", outcome="granted",
                                             object_type="retention", at=at))
        return sorted(schedules, key=lambda s: (s.explanation.destroy_on or date.max,
                                                str(s.client_id)))
