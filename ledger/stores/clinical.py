"""What both clinical stores share: refusals recorded as events, authorizations,
releases through the disclosure guard, and the access history read from the log.

The main ledger and the sealed psychotherapy store each derive from
:class:`ClinicalStore`; neither imports the other. Each keeps its own authorizations:
psychotherapy-note authorizations live in the sealed store, all others in the main one.
"""

from __future__ import annotations

import contextlib
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic
from sqlalchemy import select

from ledger import queries as access_log
from ledger.aggregates.audit import Action, AuditEntry
from ledger.aggregates.authorization import (
    PSYCHOTHERAPY_NOTES,
    Authorization,
    compound_problem,
)
from ledger.aggregates.base import Actor, acting_as, named_id, utc
from ledger.aggregates.client import Client
from ledger.aggregates.destruction import Destruction
from ledger.aggregates.disclosure import Disclosure
from ledger.aggregates.note import VersionedNote
from ledger.errors import BadInput, Busy, ContentDestroyed, NotFound, Refused
from ledger.persistence.mapper import ContentShredded
from ledger.projections.access import AccessProjection
from ledger.rules import disclosure
from ledger.rules.accounting import six_years_before
from ledger.rules.roles import Decision, StaffView, check_purpose, refuse_inactive
from ledger.stores.store import Store
from ledger.views import (
    AccessRecord,
    AccountingEntry,
    AuthorizationInfo,
    NoteContent,
    NoteSummary,
    Release,
)

T = TypeVar("T")
CONFLICT_RETRIES = 20
AUDITORS = frozenset({"compliance", "supervisor", "admin"})
EVENT_PAGE = 500


class ClinicalStore(Store, ABC):
    # Roles that may record, revoke and list authorizations in this store.
    AUTHORIZERS: ClassVar[frozenset[str]]
    # The kind of note this store holds and releases.
    NOTE_KIND: ClassVar[disclosure.Kind]

    _access_projection: AccessProjection | None = None

    @abstractmethod
    def staff_view(self, staff_id: str) -> StaffView | None:
        """Who ``staff_id`` is (None when unknown)."""

    @abstractmethod
    def client_exists(self, client_id: UUID) -> bool:
        """Whether the client was ever registered."""

    @abstractmethod
    def _check_scopes(self, scopes: tuple[str, ...]) -> None:
        """Refuse scopes that belong in the other store (BadInput)."""

    @abstractmethod
    def _note_for_release(self, note_id: UUID) -> VersionedNote:
        """This store's note ``note_id`` (NotFound if it has none)."""

    # ----- releases ------------------------------------------------------------------------

    def disclose_notes(self, client_ref: str, note_ids: list[UUID], *, by: str, recipient: str,
                       recipient_type: str, purpose: str, at: datetime,
                       authorization_id: UUID | None = None, exception: str | None = None,
                       description: str | None = None,
                       recipient_address: str | None = None) -> Release:
        """Release this store's notes through the disclosure guard. Every attempt is an
        event (a note that does not exist too); content is returned only when granted."""
        at = utc(at)
        check_purpose(purpose)
        if not note_ids:
            raise BadInput("name at least one note to disclose")
        if not recipient.strip():
            raise BadInput("a disclosure needs a recipient")
        disclosure.check_recipient_type(recipient_type)
        exception = disclosure.check_exception_code(exception)
        client_id = Client.id_for(client_ref)
        staff = self.staff_view(by)
        notes: list[VersionedNote] = []
        for note_id in dict.fromkeys(note_ids):
            try:
                notes.append(self._note_for_release(note_id))
            except (NotFound, ContentDestroyed) as e:
                with acting_as(actor_for(staff, by)):
                    self.save(AuditEntry.record(
                        action="disclose", outcome="not-found", object_type=self.NOTE_KIND,
                        object_id=note_id, purpose=purpose, client_id=client_id, at=at,
                        reason="content destroyed" if isinstance(e, ContentDestroyed)
                        else None))
                raise
        request = disclosure.Request(
            actor=staff, kind=self.NOTE_KIND, client_id=client_id,
            note_clients=frozenset(n.client_id for n in notes),
            originators=frozenset(n.author_id for n in notes), recipient=recipient,
            recipient_type=recipient_type, purpose=purpose, at=at,
            authorization_id=authorization_id,
            authorization=(self._authorization_or_none(authorization_id)
                           if authorization_id else None),
            exception=exception)
        return self._release(request, notes, recipient_address=recipient_address,
                             description=description or describe(self.NOTE_KIND, notes))

    # ----- authorizations ------------------------------------------------------------------

    def grant_authorization(self, client_ref: str, scopes: tuple[str, ...], *, by: str,
                            recipient: str, purpose: str, expires: date | None,
                            expiry_event: str | None, signed_by: str, signed_on: date,
                            representative_authority: str | None, description: str,
                            discloser: str, at: datetime,
                            recipient_type: str | None = None) -> AuthorizationInfo:
        """Record a signed authorization. A psychotherapy-note authorization must say what
        kind of recipient it names, and is refused for a payer (a payer never receives a
        psychotherapy note) or when combined with any other scope (164.508(b)(3)(ii))."""
        at = utc(at)
        client_id = Client.id_for(client_ref)
        if recipient_type is not None:
            disclosure.check_recipient_type(recipient_type)
        actor = self._decide_authorizer(by, "authorize", at=at, client_id=client_id)
        problem = compound_problem(scopes)
        if problem is None and PSYCHOTHERAPY_NOTES in scopes and recipient_type == "payer":
            problem = "a payer never receives a psychotherapy note, whatever is presented"
        if problem is not None:
            self._decide_with(self.staff_view(by), by, Decision(False, problem), "authorize",
                              "authorization", at=at, client_id=client_id)
        if PSYCHOTHERAPY_NOTES in scopes and recipient_type is None:
            raise BadInput("a psychotherapy-note authorization needs --recipient-type")
        self._check_scopes(scopes)
        if not self.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        with acting_as(actor):
            auth = Authorization.grant(
                client_id=client_id, scopes=scopes, description=description,
                discloser=discloser, recipient=recipient, recipient_type=recipient_type,
                purpose=purpose, expires=expires,
                expiry_event=expiry_event, signed_by=signed_by, signed_on=signed_on,
                representative_authority=representative_authority, at=at)
            entry = AuditEntry.record(action="authorize", outcome="granted",
                                      object_type="authorization", object_id=auth.id,
                                      client_id=client_id, at=at)
            self.save(auth, entry)
        return _authorization_info(auth, at)

    def has_authorization(self, authorization_id: UUID) -> bool:
        return self._authorization_or_none(authorization_id) is not None

    def revoke_authorization(self, authorization_id: UUID, received: date, *, by: str,
                             at: datetime) -> AuthorizationInfo:
        """Record a written revocation received on ``received`` (164.508(b)(5))."""
        return self._change_authorization(authorization_id, by, "revoke", at,
                                          lambda a, t: a.revoke(received, t))

    def record_expiry_event(self, authorization_id: UUID, occurred: date, *, by: str,
                            at: datetime) -> AuthorizationInfo:
        """Record that an authorization's expiration event occurred on ``occurred``."""
        return self._change_authorization(authorization_id, by, "expire", at,
                                          lambda a, t: a.record_expiry_event(occurred, t))

    def list_authorizations(self, client_ref: str, *, by: str,
                            at: datetime) -> list[AuthorizationInfo]:
        at = utc(at)
        client_id = Client.id_for(client_ref)
        actor = self._decide_authorizer(by, "list", at=at, client_id=client_id)
        self.refuse_destroyed(client_id, f"client {client_ref}'s authorizations")
        found = [_authorization_info(a, at) for a in self._authorizations()
                 if a.client_id == client_id]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted",
                                        object_type="authorization", client_id=client_id,
                                        at=at))
        return sorted(found, key=lambda a: (a.signed_on, str(a.authorization_id)))

    def _change_authorization(self, authorization_id: UUID, by: str, action: Action,
                              at: datetime,
                              change: Callable[[Authorization, datetime], None]
                              ) -> AuthorizationInfo:
        at = utc(at)

        def attempt() -> AuthorizationInfo:
            auth = self._get(Authorization, authorization_id,
                             f"authorization {authorization_id}")
            actor = self._decide_authorizer(by, action, at=at, client_id=auth.client_id,
                                            object_id=auth.id)
            with acting_as(actor):
                change(auth, at)
                entry = AuditEntry.record(action=action, outcome="granted",
                                          object_type="authorization", object_id=auth.id,
                                          client_id=auth.client_id, at=at)
                self.save(auth, entry)
            return _authorization_info(auth, at)

        return retry_on_conflict(attempt)

    def _decide_authorizer(self, by: str, action: Action, *, at: datetime,
                           client_id: UUID | None = None,
                           object_id: UUID | None = None) -> Actor:
        staff = self.staff_view(by)
        decision = refuse_inactive(staff) or (
            Decision(True) if staff is not None and staff.role in self.AUTHORIZERS
            else Decision(False, f"role {staff.role if staff else 'unknown'} may not handle "
                                 "authorizations here"))
        return self._decide_with(staff, by, decision, action, "authorization", at=at,
                                 client_id=client_id, object_id=object_id)

    def _authorizations(self) -> Iterator[Authorization]:
        """Every authorization whose content is still readable (a crypto-shredded client's
        are skipped, so one purge never breaks the listing for everyone else)."""
        yield from self._readable(Authorization, Authorization.Granted)

    def _authorization_or_none(self, authorization_id: UUID) -> Authorization | None:
        try:
            return self._get(Authorization, authorization_id, "authorization")
        except NotFound:
            return None

    def _release(self, request: disclosure.Request, notes: list[VersionedNote], *,
                 description: str, recipient_address: str | None) -> Release:
        """Rule on ``request``; record the attempt; return the content only if granted."""
        ruling = disclosure.rule(request)
        items = [(n.id, len(n.versions)) for n in notes]
        actor = actor_for(request.actor, request.actor.staff_id if request.actor else "?")
        with acting_as(actor):
            event = Disclosure.record(
                outcome="granted" if ruling.granted else "denied", reason=ruling.reason,
                client_id=request.client_id, object_type=request.kind, items=items,
                recipient=request.recipient, recipient_address=recipient_address,
                recipient_type=request.recipient_type, purpose=request.purpose,
                basis=ruling.basis, authorization_id=request.authorization_id,
                exception=request.exception, legal_basis=ruling.legal_basis,
                description=description, accountable=ruling.granted and ruling.accountable,
                at=request.at)
            self.save(event)
        if not ruling.granted:
            raise Refused(f"refused: {ruling.reason} (the attempt was recorded)")
        return Release(disclosure_id=event.id, client_id=request.client_id,
                       recipient=request.recipient, recipient_type=request.recipient_type,
                       purpose=request.purpose, basis=ruling.basis,
                       legal_basis=ruling.legal_basis, accountable=ruling.accountable,
                       description=description,
                       notes=tuple(note_content(n, None) for n in notes))

    # ----- crypto-shredding -------------------------------------------------------------------

    def receipt_for(self, client_id: UUID) -> Destruction.Recorded | None:
        """This store's destruction receipt for the client, if any."""
        topic = get_topic(Destruction.Recorded)
        start = 1
        while page := self.recorder.select_notifications(start, 500, topics=[topic]):
            for n in page:
                event = self.mapper.to_domain_event(n)
                assert isinstance(event, Destruction.Recorded)
                if event.client_id == client_id:
                    return event
            start = page[-1].id + 1
        return None

    def write_receipt(self, client_id: UUID, *, rule_id: str, citation: str, anchor: str,
                      anchor_date: date, destroy_on: date, actor: Actor,
                      at: datetime) -> None:
        """Write this store's destruction receipt for the client, once. The receipt's id
        is derived from the store and client, so two purges racing write one receipt."""
        at = utc(at)
        if self.receipt_for(client_id) is not None:
            return
        subject = f"subject:{client_id}"
        with acting_as(actor):
            receipt = Destruction.record(
                receipt_id=named_id("destruction", f"{self.settings.name}:{client_id}"),
                client_id=client_id, rule_id=rule_id, citation=citation, anchor=anchor,
                anchor_date=anchor_date.isoformat(), destroy_on=destroy_on.isoformat(),
                key_id=self.keyring.key_id_for(subject), at=at)
            with contextlib.suppress(IntegrityError):  # another purge wrote it just now
                self.save(receipt)

    def refuse_destroyed(self, client_id: UUID, what: str) -> None:
        """The tombstone, as an error, for a listing of a purged client's content."""
        receipt = self.receipt_for(client_id)
        if receipt is not None and self.is_shredded(client_id):
            raise ContentDestroyed(f"{what} were destroyed on "
                                   f"{receipt.timestamp.date().isoformat()} under rule "
                                   f"{receipt.rule_id}")

    def destroy_key(self, client_id: UUID, at: datetime) -> bool:
        """Destroy the client's data key in this store (idempotent); True if this call did."""
        return self.keyring.destroy(f"subject:{client_id}", utc(at)) is not None

    def is_shredded(self, client_id: UUID) -> bool:
        return self.keyring.is_destroyed(f"subject:{client_id}")

    # ----- the access history, straight from the log ----------------------------------------

    @property
    def access_projection(self) -> AccessProjection:
        if self._access_projection is None:
            self._access_projection = AccessProjection(self)
        return self._access_projection

    def access_history(self, *, by: str, at: datetime, query: access_log.Query | None = None,
                       from_log: bool = False) -> list[AccessRecord]:
        """Access and disclosure events matching ``query``, sorted as it asks. Answered
        from the indexed projection (caught up first), or with ``from_log`` straight from
        the event log, for an auditor who does not trust a read model; both give the same
        answer. Reading is itself recorded; compliance, supervisors and admins may read."""
        at = utc(at)
        query = query or access_log.Query()
        actor = self._decide_auditor(by, "access-log", at)
        if from_log:
            records = self._access_records()
        else:
            self.access_projection.catch_up()
            positions = self.access_projection.positions(
                client_id=str(query.client_id) if query.client_id else None,
                staff_id=query.staff_id, since=query.since, until=query.until,
                outcome=query.outcome, break_glass=query.break_glass)
            records = [self._access_record(p, e) for p, e in self._events_at(positions)]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted",
                                        object_type="access-log", at=at))
        return access_log.select(records, query)

    def accounting(self, client_ref: str, *, by: str, at: datetime,
                   requested_on: date | None = None) -> list[AccountingEntry]:
        """This store's accountable disclosures about the client in the six years before
        the request (164.528(a)(1)), from the indexed projection. Recorded as a reading."""
        at = utc(at)
        requested_on = requested_on or at.date()
        if requested_on > at.date():
            raise BadInput("the accounting's request date is in the future")
        client_id = Client.id_for(client_ref)
        actor = self._decide_auditor(by, "accounting", at, client_id=client_id)
        if not self.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        self.access_projection.catch_up()
        positions = self.access_projection.positions(
            client_id=str(client_id), since=six_years_before(requested_on), until=requested_on,
            accountable_disclosures=True)
        entries = [_accounting_entry(self.settings.name, e)
                   for _, e in self._events_at(positions)]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted",
                                        object_type="accounting", client_id=client_id, at=at))
        return entries

    def evidence_positions(self, *, client_id: UUID | None = None, since: date | None = None,
                           until: date | None = None) -> list[int]:
        """Log positions for an evidence bundle: the access, refusal and disclosure events
        about the client and/or in the period (from the indexed projection); for a client
        without a period, also every event of the client's own records (the client, their
        notes and authorizations), found through the audit entries that created them."""
        self.access_projection.catch_up()
        notification_ids = self.access_projection.positions(
            client_id=str(client_id) if client_id else None, since=since, until=until)
        chain = self.chained_recorder.chain
        with self.engine.connect() as conn:
            found = {int(p) for p in conn.execute(select(chain.c.position).where(
                chain.c.notification_id.in_(notification_ids))).scalars()} if notification_ids \
                else set()
        if client_id is not None and since is None and until is None:
            originators = {client_id}
            for _, event in self._events_at(notification_ids):
                if (isinstance(event, AuditEntry.Recorded) and event.outcome == "granted"
                        and event.action in ("originate", "authorize") and event.object_id):
                    originators.add(UUID(event.object_id))
            events = self.chained_recorder.events_record_cls.__table__
            with self.engine.connect() as conn:
                found |= {int(p) for p in conn.execute(
                    select(chain.c.position).join(events, events.c.id ==
                                                  chain.c.notification_id)
                    .where(events.c.originator_id.in_(list(originators)))).scalars()}
        return sorted(found)

    def _decide_auditor(self, by: str, what: str, at: datetime,
                        client_id: UUID | None = None) -> Actor:
        staff = self.staff_view(by)
        decision = refuse_inactive(staff) or (
            Decision(True) if staff is not None and staff.role in AUDITORS
            else Decision(False, f"role {staff.role if staff else 'unknown'} may not read the "
                                 f"{what.replace('-', ' ')}"))
        return self._decide_with(staff, by, decision, "list", what, at=at, client_id=client_id)

    def _events_at(self, positions: list[int]) -> Iterator[tuple[int, object]]:
        """The events at ``positions`` (ascending), read in pages of nearby positions, so
        a long answer costs a few range reads, a sparse one a read per row."""
        i = 0
        while i < len(positions):
            first = positions[i]
            # Take the following positions that lie within one page of the first.
            j = i
            while j + 1 < len(positions) and positions[j + 1] - first < EVENT_PAGE:
                j += 1
            wanted = set(positions[i:j + 1])
            page = self.recorder.select_notifications(first, positions[j] - first + 1)
            for n in page:
                if n.id in wanted:
                    yield n.id, self.mapper.to_domain_event(n)
            i = j + 1

    def _access_records(self) -> list[AccessRecord]:
        topics = [get_topic(AuditEntry.Recorded), get_topic(Disclosure.Recorded)]
        found: list[AccessRecord] = []
        start = 1
        while page := self.recorder.select_notifications(start, 1000, topics=topics):
            for n in page:
                found.append(self._access_record(n.id, self.mapper.to_domain_event(n)))
            start = page[-1].id + 1
        return found

    def _access_record(self, position: int, event: object) -> AccessRecord:
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
                accountable=event.accountable)
        assert isinstance(event, AuditEntry.Recorded)
        return AccessRecord(
            store=store, position=position, at=event.timestamp, actor_id=event.actor_id,
            actor_role=event.actor_role, action=event.action, outcome=event.outcome,
            object_type=event.object_type, object_id=event.object_id,
            client_id=event.client_id, purpose=event.purpose, reason=event.reason,
            break_glass=event.break_glass)

    # ----- helpers -------------------------------------------------------------------------

    def _decide_with(self, staff: StaffView | None, by: str, decision: Decision,
                     action: Action, object_type: str, *, at: datetime,
                     purpose: str | None = None, object_id: UUID | None = None,
                     client_id: UUID | None = None, version: int | None = None,
                     break_glass_reason: str | None = None) -> Actor:
        """Return the actor if ``decision`` grants; otherwise record the refusal and raise.
        A refused break-the-glass attempt is recorded flagged, with the reason given (which
        stays out of the error message)."""
        actor = actor_for(staff, by)
        if decision.granted:
            return actor
        recorded = decision.reason if break_glass_reason is None else (
            f"{decision.reason}; break-the-glass reason given: {break_glass_reason}")
        with acting_as(actor):
            self.save(AuditEntry.record(action=action, outcome="denied", purpose=purpose,
                                        object_type=object_type, object_id=object_id,
                                        client_id=client_id, version=version,
                                        reason=recorded, break_glass=break_glass_reason
                                        is not None, at=at))
        raise Refused(f"refused: {decision.reason} (the attempt was recorded)")

    def _readable(self, kind: type[T], created: type) -> Iterator[T]:
        for originator_id in self._originators(created):
            try:
                yield self._get(kind, originator_id, kind.__name__)
            except ContentDestroyed:
                continue

    def _originators(self, created: type) -> Iterator[UUID]:
        topic = get_topic(created)
        start = 1
        while page := self.recorder.select_notifications(start, 500, topics=[topic]):
            for n in page:
                yield UUID(str(n.originator_id))
            start = page[-1].id + 1

    def _get(self, kind: type[T], aggregate_id: UUID, label: str) -> T:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{label} not found") from None
        except ContentShredded:
            raise ContentDestroyed(f"{label} was destroyed under the retention schedule "
                                   "(its content key no longer exists)") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{label} not found")
        return aggregate


def actor_for(staff: StaffView | None, by: str) -> Actor:
    return Actor(id=by, role=staff.role if staff else "unknown")


def _accounting_entry(store: str, event: object) -> AccountingEntry:
    assert isinstance(event, Disclosure.Recorded)
    return AccountingEntry(store=store, disclosure_id=event.originator_id,
                           disclosed_at=event.timestamp, recipient=event.recipient,
                           recipient_address=event.recipient_address,
                           description=event.description, purpose=event.purpose,
                           legal_basis=event.legal_basis)


def note_content(note: VersionedNote, version: int | None) -> NoteContent:
    chosen = note.version_of(version)
    return NoteContent(note_id=note.id, version=chosen.number, versions=len(note.versions),
                       author_id=note.author_id, written_at=chosen.written_at,
                       session_date=note.session_date, amendment_reason=chosen.reason,
                       text=chosen.text)


def describe(kind: str, notes: list[VersionedNote]) -> str:
    """A brief description of what is released (164.528(b)(2)(iii)); never content."""
    dates = sorted({n.session_date for n in notes if n.session_date})
    what = f"{len(notes)} {kind.replace('-', ' ')}{'s' if len(notes) != 1 else ''}"
    return what + (f" (sessions {', '.join(dates)})" if dates else "")


def note_summary(note: VersionedNote) -> NoteSummary:
    return NoteSummary(note_id=note.id, session_date=note.session_date,
                       author_id=note.author_id, versions=len(note.versions),
                       written_at=note.versions[0].written_at,
                       last_changed_at=note.versions[-1].written_at)


def _authorization_info(auth: Authorization, at: datetime) -> AuthorizationInfo:
    return AuthorizationInfo(
        authorization_id=auth.id, client_id=auth.client_id, scopes=auth.scopes,
        description=auth.description, discloser=auth.discloser, recipient=auth.recipient,
        recipient_type=auth.recipient_type, purpose=auth.purpose, expires=auth.expires,
        expiry_event=auth.expiry_event,
        signed_by=auth.signed_by, signed_on=auth.signed_on,
        representative_authority=auth.representative_authority,
        revoked_received=auth.revoked_received, expiry_event_on=auth.expiry_event_on,
        status=auth.status_at(at))


def retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Re-run a read-modify-save command when a concurrent writer saved the same aggregate,
    backing off with jitter so that contending writers spread out."""
    for k in range(CONFLICT_RETRIES):
        try:
            return attempt()
        except IntegrityError:
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**k)))  # noqa: S311 (jitter)
    raise Busy("the record is being changed by others; nothing was saved, try again")
