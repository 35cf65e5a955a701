"""The retention desk: explains a client's schedule and plans the purge, across both stores.

It reads the client's facts from the main ledger and the latest psychotherapy-note entry
from the sealed store (a date, never content), applies the rules, and honours legal holds.
Every explanation and plan is recorded as a reading in the main store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
    facts: engine.Facts | None  # None once the client was destroyed
    explanation: engine.Explanation | None
    holds: tuple[HoldInfo, ...]
    destroyed: str | None = None  # the tombstone: "destroyed on X under rule Y"
    # Preconditions still open at ``at`` (recorded ones, and waiting periods, removed).
    open_preconditions: tuple[tuple[rules.Rule, rules.Precondition], ...] = ()

    @property
    def status(self) -> str:
        if self.destroyed is not None:
            return "destroyed"
        e = self.explanation
        assert e is not None
        if e.destroy_on is None:
            return "no date"
        if e.destroy_on > self.at:
            return "retained"
        if self.holds:
            return "held"
        if self.open_preconditions:
            return "blocked"
        return "due"

    @property
    def why(self) -> str:
        if self.destroyed is not None:
            return self.destroyed
        e = self.explanation
        assert e is not None
        if e.destroy_on is None:
            return e.blocked or "no date"
        if e.destroy_on > self.at:
            return f"kept until {e.destroy_on.isoformat()}"
        if self.holds:
            return "legal hold: " + "; ".join(h.matter or h.reason for h in self.holds)
        if self.open_preconditions:
            return "open precondition: " + "; ".join(
                f"{r.id}: {p.describe()}" for r, p in self.open_preconditions)
        return (f"due since {e.destroy_on.isoformat()} under "
                f"{e.winner.rule.id if e.winner else '?'}")


class RetentionDesk:
    def __init__(self, main: MainLedger, pn: PsychotherapyStore) -> None:
        self.main = main
        self.pn = pn
        self.rules = rules.load()

    def schedule(self, client_id: UUID, at: datetime) -> Schedule:
        """The schedule of one client at ``at`` (no access record: see explain)."""
        holds = tuple(self.main.holds_on(client_id, at))
        if self.main.is_shredded(client_id):
            receipt = self.main.receipt_for(client_id)
            tombstone = (f"destroyed on {receipt.timestamp.date().isoformat()} under rule "
                         f"{receipt.rule_id} ({receipt.citation})" if receipt else "destroyed")
            return Schedule(client_id, at.date(), None, None, holds, destroyed=tombstone)
        facts = self.main.retention_facts(client_id)
        pn_entry = self.pn.last_entry(client_id)
        if pn_entry is not None and (facts.last_entry is None or pn_entry > facts.last_entry):
            facts = engine.Facts(facts.jurisdiction, facts.dob, facts.episodes,
                                 facts.last_contact, pn_entry)
        explanation = engine.explain(self.rules, facts)
        met = self.main.preconditions_met(client_id)
        still_open = tuple((r, p) for r, p in explanation.preconditions
                           if not _met(r, p, met, at.date()))
        return Schedule(client_id=client_id, at=at.date(), facts=facts,
                        explanation=explanation, holds=holds, open_preconditions=still_open)

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
        return sorted(schedules, key=_order)

    def run(self, *, by: str, at: datetime, dry_run: bool = False,
            progress: Callable[[Schedule], None] | None = None) -> list[Schedule]:
        """Destroy every client due at ``at`` and not held: in the sealed store first, then
        the main store, each writing its receipt before destroying its key. Crash-safe and
        idempotent: a rerun completes an interrupted client and repeats nothing."""
        at = utc(at)
        actor = self.main.decide(by, policy.may_manage_holds, "destroy", "retention", at=at)
        done: list[Schedule] = []
        for client_id in self.main.client_ids():
            schedule = self.schedule(client_id, at)
            receipt = self.main.receipt_for(client_id)
            if schedule.status == "due":
                e = schedule.explanation
                assert e is not None and e.winner is not None and e.destroy_on is not None
                basis = (e.winner.rule.id, e.winner.rule.citation, e.winner.rule.anchor,
                         e.winner.anchor, e.destroy_on)
            elif receipt is not None and not self.main.is_shredded(client_id):
                # Interrupted after the main receipt: finish with what it recorded.
                basis = (receipt.rule_id, receipt.citation, receipt.anchor,
                         date.fromisoformat(receipt.anchor_date),
                         date.fromisoformat(receipt.destroy_on))
            else:
                continue
            if not dry_run:
                rule_id, citation, anchor, anchor_date, destroy_on = basis
                for store in (self.pn, self.main):
                    store.shred_client(client_id, rule_id=rule_id, citation=citation,
                                       anchor=anchor, anchor_date=anchor_date,
                                       destroy_on=destroy_on, actor=actor, at=at)
                schedule = self.schedule(client_id, at)
            done.append(schedule)
            if progress is not None:
                progress(schedule)
        return done


def _met(rule: rules.Rule, p: rules.Precondition, met: list[tuple[str, str, date]],
         today: date) -> bool:
    """Recorded as done, and any waiting period after it has passed."""
    wait = timedelta(days=p.waiting_days or 0)
    return any(r == rule.id and k == p.kind and done + wait <= today for r, k, done in met)


def _order(s: Schedule) -> tuple[date, str]:
    destroy_on = s.explanation.destroy_on if s.explanation else None
    return (destroy_on or date.max, str(s.client_id))
