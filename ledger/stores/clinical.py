"""What both clinical stores share: reading aggregates, authorizations, destruction receipts
and keys, and the access and disclosure events (through the indexed projection or straight
from the log).

The main store and the sealed psychotherapy-note store each derive from
:class:`ClinicalStore`; neither imports the other. Each keeps its own authorizations:
psychotherapy-note authorizations live in the sealed store, all others in the main one.
Deciding who may do what, and recording the attempt, is the services' work
(``ledger.services``); a store only reads and saves.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.authorization import Authorization
from ledger.aggregates.base import Actor, acting_as, named_id
from ledger.aggregates.destruction import Destruction
from ledger.aggregates.disclosure import Disclosure
from ledger.aggregates.note import VersionedNote
from ledger.errors import ContentDestroyed, NotFound
from ledger.persistence.mapper import ContentShredded
from ledger.rules.roles import StaffView
from ledger.stores.store import Store

# What only the audit reports need is loaded when a report is first made (start-up time).
if TYPE_CHECKING:
    from ledger.projections.access import AccessProjection
    from ledger.projections.retention_facts import RetentionFactsProjection
    from ledger.queries import Query
    from ledger.rules.disclosure import Kind
    from ledger.views import AccessRecord, AccountingEntry

T = TypeVar("T")
ACCESS_TOPICS = (get_topic(AuditEntry.Recorded), get_topic(Disclosure.Recorded))
DISCLOSED = get_topic(Disclosure.Recorded)


class ClinicalStore(Store, ABC):
    # The kind of note this store holds and releases.
    NOTE_KIND: ClassVar[Kind]
    # The name of its retention-facts read model (``ledger projections``).
    RETENTION_MODEL: ClassVar[str]

    @abstractmethod
    def staff_view(self, staff_id: str) -> StaffView | None:
        """Who ``staff_id`` is (None when unknown)."""

    @abstractmethod
    def client_exists(self, client_id: UUID) -> bool:
        """Whether the client was ever registered."""

    @abstractmethod
    def note(self, note_id: UUID) -> VersionedNote:
        """This store's note ``note_id`` (NotFound if it has none; ContentDestroyed)."""

    # ----- aggregates ------------------------------------------------------------------------

    def get(self, kind: type[T], aggregate_id: UUID, label: str) -> T:
        try:
            aggregate: object = self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            raise NotFound(f"{label} not found") from None
        except ContentShredded:
            raise ContentDestroyed(f"{label} was destroyed under the retention schedule "
                                   "(its content key no longer exists)") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{label} not found")
        return aggregate

    def readable(self, kind: type[T], created: type) -> Iterator[T]:
        """Every aggregate made by ``created`` whose content is still readable (a purged
        client's are skipped, so one purge never breaks a listing for everyone else)."""
        for originator_id in self.event_log.originators(get_topic(created)):
            try:
                yield self.get(kind, originator_id, kind.__name__)
            except ContentDestroyed:
                continue

    def authorization(self, authorization_id: UUID) -> Authorization | None:
        try:
            return self.get(Authorization, authorization_id, "authorization")
        except NotFound:
            return None

    def authorizations(self, client_id: UUID) -> list[Authorization]:
        return [a for a in self.readable(Authorization, Authorization.Granted)
                if a.client_id == client_id]

    # ----- crypto-shredding ------------------------------------------------------------------

    def receipt_for(self, client_id: UUID) -> Destruction.Recorded | None:
        """This store's destruction receipt for the client, if any."""
        for n in self.event_log.scan([get_topic(Destruction.Recorded)]):
            event = self.event_log.decode(n)
            assert isinstance(event, Destruction.Recorded)
            if event.client_id == client_id:
                return event
        return None

    def write_receipt(self, client_id: UUID, *, rule_id: str, citation: str, anchor: str,
                      anchor_date: date, destroy_on: date, actor: Actor,
                      at: datetime, scanned: bool = False) -> None:
        """Write this store's destruction receipt for the client, once. The receipt's id
        is derived from the store and client, so two purges racing write one receipt.
        ``scanned``: the caller read the receipts just now and found none for the client
        (the log is not scanned again; a receipt written since has the same id)."""
        if not scanned and self.receipt_for(client_id) is not None:
            return
        with acting_as(actor):
            receipt = Destruction.record(
                receipt_id=self._receipt_id(client_id),
                client_id=client_id, rule_id=rule_id, citation=citation, anchor=anchor,
                anchor_date=anchor_date.isoformat(), destroy_on=destroy_on.isoformat(),
                key_id=self.keyring.key_id_for(f"subject:{client_id}"),
                kek_version=self.keyring.version_of(f"subject:{client_id}"), at=at)
            with contextlib.suppress(IntegrityError):  # another purge wrote it just now
                self.save(receipt)

    def _receipt_id(self, client_id: UUID) -> UUID:
        return named_id("destruction", f"{self.settings.name}:{client_id}")

    def written_receipt(self, client_id: UUID) -> Destruction.Recorded | None:
        """The receipt written under its derived id (as every receipt since derived ids
        is), read by that id: no scan of the log."""
        for event in self.events.get(self._receipt_id(client_id), limit=1):
            assert isinstance(event, Destruction.Recorded)
            return event
        return None

    def tombstone(self, client_id: UUID) -> str | None:
        """"destroyed on X under rule Y (citation)" once the client was purged here."""
        receipt = self.receipt_for(client_id)
        if receipt is None or not self.is_shredded(client_id):
            return None
        return (f"destroyed on {receipt.timestamp.date().isoformat()} under rule "
                f"{receipt.rule_id} ({receipt.citation})")

    def refuse_destroyed(self, client_id: UUID, what: str) -> None:
        """The tombstone, as an error, for a listing of a purged client's content."""
        receipt = self.receipt_for(client_id)
        if receipt is not None and self.is_shredded(client_id):
            raise ContentDestroyed(f"{what} were destroyed on "
                                   f"{receipt.timestamp.date().isoformat()} under rule "
                                   f"{receipt.rule_id}")

    def ensure_client_keys(self, client_ids: Iterable[UUID], at: datetime) -> None:
        """Make the data keys of these clients that have none yet, in one transaction (an
        import writing many new clients; otherwise each is made on its first event)."""
        self.keyring.ensure_keys((f"subject:{c}" for c in client_ids), at)

    def destroy_key(self, client_id: UUID, at: datetime) -> bool:
        """Destroy the client's data key in this store (idempotent); True if this call did."""
        return self.keyring.destroy(f"subject:{client_id}", at) is not None

    def is_shredded(self, client_id: UUID) -> bool:
        return self.keyring.is_destroyed(f"subject:{client_id}")

    # ----- access and disclosure events -------------------------------------------------------

    @cached_property
    def access_projection(self) -> AccessProjection:
        from ledger.projections.access import AccessProjection  # noqa: PLC0415

        return AccessProjection(self.event_log)

    @cached_property
    def retention_projection(self) -> RetentionFactsProjection:
        """The dated facts the retention rules need (no content: see the module)."""
        from ledger.projections.retention_facts import (  # noqa: PLC0415
            RetentionFactsProjection,
        )

        return RetentionFactsProjection(self.event_log, self.RETENTION_MODEL, self.NOTE_KIND)

    def access_records(self, query: Query, *, from_log: bool = False) -> list[AccessRecord]:
        """Access and disclosure events that may match ``query`` (the caller filters and
        sorts): from the indexed projection, caught up first, or with ``from_log``
        straight from the event log, for an auditor who does not trust a read model."""
        if from_log:
            return [self.access_record(n.id, self.event_log.decode(n))
                    for n in self.event_log.scan(ACCESS_TOPICS, page=1000)]
        self.access_projection.catch_up()
        positions = self.access_projection.positions(
            client_id=str(query.client_id) if query.client_id else None,
            staff_id=query.staff_id, since=query.since, until=query.until,
            outcome=query.outcome, break_glass=query.break_glass)
        return [self.access_record(p, e) for p, e in self.event_log.events_at(positions)]

    def access_rows(self, query: Query, *, limit: int, descending: bool
                    ) -> tuple[list[dict[str, Any]], int]:
        """The first ``limit`` rows of the read model answering ``query``, in its order
        (caught up first), and how many rows answer it. Nothing is decoded."""
        from ledger.projections.access import RowFilter  # noqa: PLC0415

        self.access_projection.catch_up()
        rows = RowFilter(client_id=str(query.client_id) if query.client_id else None,
                         staff_id=query.staff_id, since=query.since, until=query.until,
                         outcome=query.outcome, break_glass=query.break_glass)
        return (self.access_projection.first(rows, sort=query.sort, descending=descending,
                                             limit=limit),
                self.access_projection.matching(rows))

    def checked_records(self, rows: list[dict[str, Any]], query: Query
                        ) -> tuple[dict[int, AccessRecord], list[str]]:
        """The records of these read-model rows, read from the log, by position; and the
        positions whose row disagrees with its event (a row no access event makes, a
        column changed, or an event that does not answer ``query``), left out.

        A row deleted from the read model cannot be noticed this way (nothing is left to
        check); ``from_log`` listings, the read-model check (``ledger projections``) and
        the investigation's comparison with the log do notice it."""
        from ledger.queries import matches  # noqa: PLC0415

        stored = {n.id: n for n in self.event_log.notifications_at(
            [int(r["position"]) for r in rows])}
        found: dict[int, AccessRecord] = {}
        disagreeing: list[str] = []
        for row in rows:
            position = int(row["position"])
            n = stored.get(position)
            event = self.event_log.decode(n) if n and n.topic in ACCESS_TOPICS else None
            record = self.access_record(position, event) if event is not None else None
            if (record is None or not self.access_projection.agrees(row, position, event)
                    or not matches(record, query)):
                disagreeing.append(f"{self.settings.name}: position {position}: the read "
                                   "model disagrees with the log")
                continue
            found[position] = record
        return found, disagreeing

    def accountable_disclosures(self, client_id: UUID, requested_on: date, *,
                                from_log: bool = False) -> list[AccountingEntry]:
        """Accountable disclosures about the client in the six years before the request
        (164.528(a)(1)), from the indexed projection; with ``from_log``, from every
        disclosure event of the log itself (slower: for a letter that must not rest on a
        read model an insider could have edited)."""
        from ledger.rules.accounting import six_years_before  # noqa: PLC0415

        since = six_years_before(requested_on)
        if from_log:
            return [_accounting_entry(self.settings.name, e)
                    for e in map(self.event_log.decode, self.event_log.scan([DISCLOSED]))
                    if isinstance(e, Disclosure.Recorded) and e.client_id == client_id
                    and e.outcome == "granted" and e.accountable
                    and since <= e.timestamp.astimezone(UTC).date() <= requested_on]
        self.access_projection.catch_up()
        positions = self.access_projection.positions(
            client_id=str(client_id), since=since, until=requested_on,
            accountable_disclosures=True)
        return [_accounting_entry(self.settings.name, e)
                for _, e in self.event_log.events_at(positions)]

    def evidence_positions(self, *, client_id: UUID | None = None, since: date | None = None,
                           until: date | None = None) -> list[int]:
        """Log positions for an evidence bundle: the access, refusal and disclosure events
        about the client and/or in the period (read from the log); for a client
        without a period, also every event of the client's own records (the client, their
        notes and authorizations), found through the audit entries that created them."""
        from ledger.queries import Query, select  # noqa: PLC0415

        # What goes into evidence is chosen from the log itself, never from the read model
        # (a deleted row there must not leave an event out of a bundle).
        chosen = select(self.access_records(Query(), from_log=True),
                        Query(client_id=client_id, since=since, until=until))
        notification_ids = sorted(r.position for r in chosen)
        found = set(self.event_log.positions_of(notification_ids).values())
        if client_id is not None and since is None and until is None:
            originators = {client_id}
            for _, event in self.event_log.events_at(notification_ids):
                if (isinstance(event, AuditEntry.Recorded) and event.outcome == "granted"
                        and event.action in ("originate", "authorize") and event.object_id):
                    originators.add(UUID(event.object_id))
            found |= self.event_log.positions_of_originators(originators)
        return sorted(found)

    def access_record(self, position: int, event: object) -> AccessRecord:
        from ledger.views import AccessRecord  # noqa: PLC0415

        store = self.settings.name
        if isinstance(event, Disclosure.Recorded):
            return AccessRecord(
                store=store, position=position, at=event.timestamp, actor_id=event.actor_id,
                actor_role=event.actor_role, action="disclose", outcome=event.outcome,
                object_type=event.object_type, object_id=",".join(event.items) or None,
                client_id=event.client_id, purpose=event.purpose,
                reason=event.reason if event.outcome != "granted" else (
                    f"authorization {event.authorization_id}" if event.authorization_id
                    else event.exception or event.basis),
                break_glass=False, recipient=event.recipient,
                recipient_type=event.recipient_type, legal_basis=event.legal_basis,
                accountable=event.accountable, assertion=event.assertion,
                actor_via=event.actor_via, actor_os_user=event.actor_os_user)
        assert isinstance(event, AuditEntry.Recorded)
        return AccessRecord(
            store=store, position=position, at=event.timestamp, actor_id=event.actor_id,
            actor_role=event.actor_role, action=event.action, outcome=event.outcome,
            object_type=event.object_type, object_id=event.object_id,
            client_id=event.client_id, purpose=event.purpose, reason=event.reason,
            break_glass=event.break_glass, actor_via=event.actor_via,
            actor_os_user=event.actor_os_user)


def _accounting_entry(store: str, event: object) -> AccountingEntry:
    from ledger.views import AccountingEntry  # noqa: PLC0415

    assert isinstance(event, Disclosure.Recorded)
    return AccountingEntry(store=store, disclosure_id=event.originator_id,
                           disclosed_at=event.timestamp, recipient=event.recipient,
                           recipient_address=event.recipient_address,
                           description=event.description, purpose=event.purpose,
                           legal_basis=event.legal_basis, statement=event.assertion)


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's projector without its per-event runtime protocol check (an
    ``isinstance`` against a ``typing.Protocol``, a tenth of the cost of reading an
    aggregate): every event this store decodes is one of the ledger's, which mutate."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
