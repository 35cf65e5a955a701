"""Retention: a client's schedule under the state rules, the plan and the purge across both
stores, legal holds and destruction preconditions.

It gathers each client's facts (:mod:`ledger.services.retention_facts`: dates, never
content): the plan from the read models, the purge again from the primary log. It applies
the rules and honours legal holds. Every explanation and plan is recorded as a reading in
the main store; the purge leaves a destruction receipt in each store. Compliance officers
and admins (the roles table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from ledger.aggregates.base import Actor, utc
from ledger.aggregates.destruction import Destruction
from ledger.aggregates.hold import Hold
from ledger.aggregates.precondition import PreconditionMet
from ledger.display import shown
from ledger.errors import BadInput, IntegrityFailure, NotFound
from ledger.integrity.journal import Destroyed, JournalWriter
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import retention as rules
from ledger.rules import retention_engine as engine
from ledger.rules import roles
from ledger.services.audited import Attempt, retry_on_conflict
from ledger.services.retention_facts import (
    DISAGREES,
    ClientFacts,
    FromLog,
    Held,
    Met,
    bulk,
    from_read_models,
    hold_info,
)
from ledger.services.retention_receipts import Receipts, latest_receipts
from ledger.settings import DEFAULT_BACKUP_RETENTION_DAYS
from ledger.stores.main import MainStore
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.views import HoldInfo

JOURNAL_BATCH = 100  # clients decided, then journalled in one append, before keys go


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
    interrupted: bool = False  # decided and receipted, but not every key is destroyed yet
    # Until when a copy of the destroyed keys may exist in backups, per store; for a client
    # not destroyed, how long it may once it is.
    backups: str | None = None
    # The client reference, for the staff who manage retention, while the client's key
    # exists (None once destroyed).
    client_ref: str | None = None

    @property
    def status(self) -> str:
        if self.destroyed is not None and self.interrupted:
            return "held" if self.holds else "destroying"
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
        if self.destroyed is not None and self.interrupted:
            held = ("legal hold: " + "; ".join(h.matter or h.reason for h in self.holds)
                    + "; ") if self.holds else ""
            return (f"{held}a purge was interrupted ({self.destroyed}); the next run "
                    "completes it")
        if self.destroyed is not None:
            return self.destroyed + (f"; {self.backups}" if self.backups else "")
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


class Retention:
    def __init__(self, main: MainStore, pn: PsychotherapyStore, client_id: ClientIds,
                 backup_retention_days: int = DEFAULT_BACKUP_RETENTION_DAYS, *,
                 journal: JournalWriter | None = None) -> None:
        self.main = main
        self.pn = pn
        self.client_id = client_id
        self.backup_retention_days = backup_retention_days
        self.journal = journal
        self.rules = rules.load()

    # ----- schedules --------------------------------------------------------------------------

    def schedule(self, client_id: UUID, at: datetime) -> Schedule:
        """The schedule of one client at ``at``, from the primary log (no access record:
        see explain)."""
        source = FromLog(self.main, self.pn)
        return self._scheduled(source.client(client_id), source.holds, at)

    def _scheduled(self, c: ClientFacts, holds: Held, at: datetime) -> Schedule:
        """A client's schedule from its gathered facts and the holds by client."""
        client_id = c.client_id
        on = tuple(h for h in holds.get(client_id, ()) if h.active_at(at))
        if c.receipt is not None:
            receipt = c.receipt
            tombstone = (f"destroyed on {receipt.timestamp.date().isoformat()} under rule "
                         f"{receipt.rule_id} ({receipt.citation})")
            complete = self.main.is_shredded(client_id) and self.pn.is_shredded(client_id)
            return Schedule(client_id, at.date(), None, None, on, destroyed=tombstone,
                            interrupted=not complete,
                            backups=self.backup_copies(client_id, receipt, c.pn_receipt),
                            client_ref=c.ref)
        assert c.facts is not None
        explanation = engine.explain(self.rules, c.facts)
        still_open = tuple((r, p) for r, p in explanation.preconditions
                           if not _met(r, p, c.met, at.date()))
        return Schedule(client_id=client_id, at=at.date(), facts=c.facts,
                        explanation=explanation, holds=on, open_preconditions=still_open,
                        backups=(f"once destroyed, a copy of the client's keys stays in "
                                 "backups until the key-encryption key epoch then current "
                                 "is retired: at most "
                                 f"{self.backup_retention_days} days (the backup retention) "
                                 "after the rotation that follows the purge"),
                        client_ref=c.ref)

    def backup_copies(self, client_id: UUID, main_receipt: Destruction.Recorded,
                      pn_receipt: Destruction.Recorded | None) -> str | None:
        """Until when a backup may still hold a destroyed client's keys, per store (each
        store's receipt gives the version its key was destroyed under)."""
        subject = f"subject:{client_id}"
        found = [(label, store.keyring.backup_horizon(
                     subject, self.backup_retention_days,
                     receipt.kek_version if receipt is not None else None))
                 for label, store, receipt in (("main store", self.main, main_receipt),
                                               ("psychotherapy store", self.pn, pn_receipt))]
        shown_ = [f"{label}: {text}" for label, text in found if text]
        return "copies " + "; ".join(shown_) if shown_ else None

    def explain(self, client_ref: str, *, by: str, at: datetime,
                as_of: datetime | None = None) -> Schedule:
        """The client's schedule as of ``as_of`` (default ``at``, when it is recorded), from
        the read models."""
        client_id = self.client_id(client_ref)
        with Attempt(self.main, by, "access", "retention", at=at, client_id=client_id) as use:
            use.decide(roles.MANAGE_RETENTION)
            if not self.main.client_exists(client_id):
                raise NotFound(f"client {client_ref} not found")
            gathered = from_read_models(self.main, self.pn, client_id)
            found = gathered.clients.get(client_id)
            if found is None:
                raise IntegrityFailure(f"client {client_id}: {DISAGREES}")
            schedule = self._scheduled(found, gathered.holds,
                                       utc(as_of) if as_of else use.at)
            use.commit()
        return schedule

    def plan(self, *, by: str, at: datetime, as_of: datetime | None = None,
             from_log: bool = False) -> list[Schedule]:
        """Every client's schedule as of ``as_of`` (default ``at``): what would be
        destroyed and what is blocked. From the read models (no note is decrypted), or with
        ``from_log`` from the primary log, as a purge checks it."""
        with Attempt(self.main, by, "list", "retention", at=at) as use:
            use.decide(roles.MANAGE_RETENTION)
            moment = utc(as_of) if as_of else use.at
            with bulk():
                gathered = (FromLog(self.main, self.pn).gathered() if from_log
                            else from_read_models(self.main, self.pn))
                schedules = [self._scheduled(c, gathered.holds, moment)
                             for c in gathered.clients.values()]
            use.commit()
        return sorted(schedules, key=_order)

    def authorise_run(self, *, by: str, at: datetime) -> None:
        """Refuse (and record) a purge by someone the roles table does not allow, before a
        scheduler is started to run it as them."""
        Attempt(self.main, by, "destroy", "retention", at=at).decide(roles.MANAGE_RETENTION)

    def run(self, *, by: str, at: datetime, dry_run: bool = False,
            progress: Callable[[Schedule], None] | None = None) -> list[Schedule]:
        """Destroy every client due at ``at`` and not held, and finish any purge that was
        interrupted; a dry run lists them, and the held clients, as held.

        The read models say who may be due; each of those is then read again from the
        primary log, and destroyed only if the log says it is due too (the receipt is
        written from the log's facts). A client on which the two disagree is left alone,
        the others are finished, and the run then fails (IntegrityFailure) naming it.

        Per client: the main store's receipt first (the decision, with the rule and dates,
        written while the facts are readable), then the sealed store's receipt and key,
        then the main key (decisions are taken and journalled ``JOURNAL_BATCH`` clients at
        a time, before any of their keys is destroyed). A rerun finishes a client whose
        main receipt exists and whose keys do not yet all exist destroyed, unless a hold
        now names it; nothing is written or destroyed twice. Each client is journalled
        (the destruction journal, outside the database) before its keys are destroyed; a
        destroyed client missing from the journal (purged before it existed) is journalled
        by the next run. Both stores are scrubbed at the end of every run, so a scrub that
        could not finish is retried by the next one."""
        attempt = Attempt(self.main, by, "destroy", "retention", at=at)
        attempt.decide(roles.MANAGE_RETENTION)
        at = attempt.at
        with bulk():
            planned = from_read_models(self.main, self.pn)
        journalled = self.journal.journalled() if self.journal and not dry_run else set()
        due: list[tuple[ClientFacts, Schedule]] = []
        held: list[Schedule] = []
        missing: list[Destruction.Recorded] = []  # destroyed before the journal existed
        for c in planned.clients.values():
            schedule = self._scheduled(c, planned.holds, at)
            if schedule.status == "destroyed" and self.journal and not dry_run \
                    and c.client_id not in journalled and c.receipt is not None:
                missing.append(c.receipt)
            if schedule.status in ("due", "destroying"):
                due.append((c, schedule))
            elif dry_run and schedule.status == "held":
                held.append(schedule)
        self._journal(missing)
        if not dry_run:  # a purge that stopped before its read models forgot a client
            self._forget([c.client_id for c in planned.clients.values()
                          if c.receipt is not None and c.facts is None and c.ref is None])
        disagree: list[UUID] = []
        agreed: list[tuple[ClientFacts, Schedule]] = []
        log = FromLog(self.main, self.pn) if due else None
        for c, schedule in due:
            assert log is not None
            found = self._checked(c, schedule, log, at)
            if found is None:
                disagree.append(c.client_id)
            elif found[1].status in ("due", "destroying"):  # else the log moved on since
                agreed.append(found)
        if dry_run:
            done = [s for _, s in agreed]
            for s in done:
                if progress is not None:
                    progress(s)
        else:
            assert log is not None or not agreed
            done = []
            for i in range(0, len(agreed), JOURNAL_BATCH):
                for checked in self._destroy([c for c, _ in agreed[i:i + JOURNAL_BATCH]],
                                             [s for _, s in agreed[i:i + JOURNAL_BATCH]],
                                             attempt.actor, at, log.holds if log else {}):
                    done.append(checked)
                    if progress is not None:
                        progress(checked)
            self.pn.scrub()
            self.main.scrub()
        if disagree:
            raise IntegrityFailure(f"client {disagree[0]}: {DISAGREES}")
        return sorted(done, key=_order) + held if dry_run else done

    def _checked(self, c: ClientFacts, schedule: Schedule, log: FromLog, at: datetime
                 ) -> tuple[ClientFacts, Schedule] | None:
        """The client's facts and schedule from the log, if the read model's agree with
        them (None: they disagree). Where they differ the read model is caught up and both
        are read again first: what was written since the plan (a concurrent purge's
        receipt, a note, a hold) is no disagreement."""
        logged = log.client(c.client_id)
        checked = self._scheduled(logged, log.holds, at)
        if checked.status == schedule.status and logged.facts == c.facts:
            return logged, checked
        again = from_read_models(self.main, self.pn, c.client_id)
        fresh = again.clients.get(c.client_id)
        log = FromLog(self.main, self.pn)
        logged = log.client(c.client_id)
        checked = self._scheduled(logged, log.holds, at)
        if fresh is None or fresh.facts != logged.facts \
                or self._scheduled(fresh, again.holds, at).status != checked.status:
            return None
        return logged, checked

    def _destroy(self, clients: list[ClientFacts], schedules: list[Schedule], actor: Actor,
                 at: datetime, holds: Held) -> Iterator[Schedule]:
        """Destroy these clients (their receipts in ``clients`` are updated), yielding each
        one's schedule once it is destroyed: every decision (the main store's receipt)
        first, then one journal entry for them all, then per client the sealed store's
        receipt and key and the main key. A crash anywhere leaves each client either
        undecided or decided and journalled before any key of it is destroyed."""
        for c, schedule in zip(clients, schedules, strict=True):
            if c.receipt is None:
                e = schedule.explanation
                assert e is not None and e.winner is not None and e.destroy_on is not None
                self.main.write_receipt(c.client_id, rule_id=e.winner.rule.id,
                                        citation=e.winner.rule.citation,
                                        anchor=e.winner.rule.anchor,
                                        anchor_date=e.winner.anchor, destroy_on=e.destroy_on,
                                        actor=actor, at=at, scanned=True)
                c.receipt = self.main.written_receipt(c.client_id)
        self._journal([c.receipt for c in clients if c.receipt is not None])
        for c in clients:
            receipt = c.receipt
            assert receipt is not None
            if c.pn_receipt is None:
                self.pn.write_receipt(c.client_id, rule_id=receipt.rule_id,
                                      citation=receipt.citation, anchor=receipt.anchor,
                                      anchor_date=date.fromisoformat(receipt.anchor_date),
                                      destroy_on=date.fromisoformat(receipt.destroy_on),
                                      actor=actor, at=at, scanned=True)
                c.pn_receipt = self.pn.written_receipt(c.client_id)
            self.pn.destroy_key(c.client_id, at)
            self.main.destroy_key(c.client_id, at)
            self._forget([c.client_id])
            c.ref = None
            c.facts = None
            yield self._scheduled(c, holds, at)

    def _forget(self, client_ids: list[UUID]) -> None:
        """The destroyed clients' dates leave the read models with their keys."""
        for store in (self.main, self.pn):
            store.retention_projection.forget([str(i) for i in client_ids])

    def _journal(self, receipts: list[Destruction.Recorded]) -> None:
        """Journal each client's destruction from its main receipt (idempotent), in one
        append."""
        if self.journal is None or not receipts:
            return
        self.journal.record([Destroyed(
            client_id=r.client_id, at=r.timestamp, rule_id=r.rule_id, citation=r.citation,
            anchor=r.anchor, anchor_date=r.anchor_date, destroy_on=r.destroy_on,
            actor_id=r.actor_id, actor_role=r.actor_role) for r in receipts])

    def receipts(self, *, by: str, at: datetime, limit: int = 20) -> Receipts:
        """The newest destruction receipts of both stores (rule, citation, dates, store;
        no client), for those who manage retention; the reading is recorded."""
        with Attempt(self.main, by, "list", "destruction-receipt", at=at) as use:
            use.decide(roles.MANAGE_RETENTION, what="destruction receipts")
            found = latest_receipts([self.main, self.pn], limit)
            use.commit()
        return found

    # ----- legal holds ------------------------------------------------------------------------

    def place_hold(self, client_refs: list[str], *, matter: str | None, reason: str, by: str,
                   at: datetime) -> HoldInfo:
        client_ids = [self.client_id(ref) for ref in client_refs]
        with Attempt(self.main, by, "register", "hold", at=at) as use:
            use.decide(roles.MANAGE_RETENTION)
            for ref, client_id in zip(client_refs, client_ids, strict=True):
                if not self.main.client_exists(client_id):
                    raise NotFound(f"client {ref} not found")
            hold = Hold.place(matter=matter, client_ids=client_ids, reason=reason, at=use.at)
            use.save(hold)
        return hold_info(hold)

    def release_hold(self, hold_id: UUID, *, reason: str, by: str, at: datetime) -> HoldInfo:
        def attempt() -> HoldInfo:
            hold = self.main.hold(hold_id)
            with Attempt(self.main, by, "amend", "hold", at=at) as use:
                use.decide(roles.MANAGE_RETENTION)
                hold.release(reason, use.at)
                use.save(hold)
            return hold_info(hold)

        return retry_on_conflict(attempt)

    def list_holds(self, *, by: str, at: datetime) -> list[HoldInfo]:
        """Every hold, for a person the roles table lets manage retention; the reading is
        recorded (matters and reasons are free text and may name people)."""
        with Attempt(self.main, by, "list", "hold", at=at) as use:
            use.decide(roles.MANAGE_RETENTION, what="legal holds")
            found = self.holds()
            use.commit()
        return found

    def holds(self) -> list[HoldInfo]:
        """Every hold (unrecorded: for the schedule's own use, never shown to a person)."""
        return sorted((hold_info(h) for h in self.main.holds()),
                      key=lambda h: (h.placed_at, str(h.hold_id)))

    def holds_on(self, client_id: UUID, at: datetime) -> list[HoldInfo]:
        return [h for h in self.holds() if client_id in h.client_ids and h.active_at(at)]

    # ----- destruction preconditions ----------------------------------------------------------

    def record_precondition(self, client_ref: str, *, rule_id: str, kind: str, done_on: date,
                            note: str, by: str, at: datetime) -> None:
        """Record that a destruction precondition of a rule was met for the client."""
        rule = {r.id: r for r in self.rules}.get(rule_id)
        if rule is None:
            raise BadInput(f"unknown retention rule {shown(rule_id)}")
        if kind not in {p.kind for p in rule.preconditions}:
            raise BadInput(f"rule {rule_id} has no {kind} precondition")
        client_id = self.client_id(client_ref)
        with Attempt(self.main, by, "register", "precondition", at=at,
                     client_id=client_id) as use:
            use.decide(roles.MANAGE_RETENTION)
            if not self.main.client_exists(client_id):
                raise NotFound(f"client {client_ref} not found")
            use.save(PreconditionMet.record(client_id=client_id, rule_id=rule_id, kind=kind,
                                            done_on=done_on, note=note, at=use.at))


def _met(rule: rules.Rule, p: rules.Precondition, met: list[Met],
         today: date) -> bool:
    """Recorded as done, and any waiting period after it has passed."""
    wait = timedelta(days=p.waiting_days or 0)
    return any(r == rule.id and k == p.kind and done + wait <= today for r, k, done in met)


def _order(s: Schedule) -> tuple[date, str]:
    destroy_on = s.explanation.destroy_on if s.explanation else None
    return (destroy_on or date.max, str(s.client_id))
