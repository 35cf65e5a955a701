"""The main ledger: staff, clients and progress notes, every clinical action audited.

Each command is get -> decide -> call -> save, and saves its audit entry in the same
transaction as its effect. Reads of clinical content append their audit entry before
the content is returned. Services return plain frozen dataclasses, never aggregates.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from ledger import policy
from ledger.aggregates.audit import Action, AuditEntry
from ledger.aggregates.base import Actor, acting_as, utc
from ledger.aggregates.client import Client
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.staff import StaffMember
from ledger.errors import BadInput, Busy, NotFound, Refused
from ledger.store import Store

T = TypeVar("T")
CONFLICT_RETRIES = 20
BOOTSTRAP = Actor(id="bootstrap", role="system")


@dataclass(frozen=True)
class StaffInfo:
    staff_id: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class NoteSummary:
    note_id: UUID
    session_date: str | None
    author_id: str
    versions: int
    written_at: datetime
    last_changed_at: datetime


@dataclass(frozen=True)
class NoteContent:
    note_id: UUID
    version: int
    versions: int
    author_id: str
    written_at: datetime
    session_date: str | None
    amendment_reason: str | None
    text: str


class MainLedger(Store):
    name = "Ledger"

    # ----- staff -------------------------------------------------------------------------

    def add_staff(self, staff_id: str, name: str, role: str, *, by: str | None,
                  at: datetime) -> StaffInfo:
        """Add a staff member. The very first one may be added without ``by`` (bootstrap)."""
        at = utc(at)
        if by is None:
            if self._any_staff():
                raise BadInput("staff already exist: add staff --as an admin")
            actor = BOOTSTRAP
        else:
            actor = self._authorise_staff_change(by, staff_id, at)
        if self._staff(staff_id) is not None:
            raise BadInput(f"staff {staff_id} already exists")
        with acting_as(actor):
            member = StaffMember.add(staff_id, name, role, at)
            self.save(member)
        return _staff_info(member)

    def set_staff_role(self, staff_id: str, role: str, *, by: str, at: datetime) -> StaffInfo:
        at = utc(at)
        actor = self._authorise_staff_change(by, staff_id, at)
        member = self._get_staff(staff_id)
        with acting_as(actor):
            member.set_role(role, at)
            self.save(member)
        return _staff_info(member)

    def deactivate_staff(self, staff_id: str, *, by: str, at: datetime) -> StaffInfo:
        at = utc(at)
        actor = self._authorise_staff_change(by, staff_id, at)
        member = self._get_staff(staff_id)
        with acting_as(actor):
            member.deactivate(at)
            self.save(member)
        return _staff_info(member)

    def list_staff(self) -> list[StaffInfo]:
        topic = get_topic(StaffMember.Added)
        found: list[StaffInfo] = []
        start = 1
        while page := self.recorder.select_notifications(start, 500, topics=[topic]):
            for n in page:
                found.append(_staff_info(self._get(StaffMember, UUID(str(n.originator_id)),
                                                   "staff")))
            start = page[-1].id + 1
        return sorted(found, key=lambda s: s.staff_id)

    # ----- clients -----------------------------------------------------------------------

    def register_client(self, client_ref: str, name: str, dob: date, jurisdiction: str, *,
                        by: str, at: datetime) -> UUID:
        at = utc(at)
        actor = self._decide(by, policy.may_register_client, "register", "client",
                             at=at, client_id=Client.id_for(client_ref))
        if self._client_or_none(client_ref) is not None:
            raise BadInput(f"client {client_ref} already exists")
        with acting_as(actor):
            client = Client.register(client_ref, name, dob, jurisdiction, at)
            entry = AuditEntry.record(action="register", outcome="granted", object_type="client",
                                      object_id=client.id, client_id=client.id, at=at)
            self.save(client, entry)
        return client.id

    # ----- progress notes ----------------------------------------------------------------

    def write_note(self, client_ref: str, text: str, *, by: str, session_date: date | None,
                   at: datetime) -> UUID:
        at = utc(at)
        client_id = Client.id_for(client_ref)
        actor = self._decide(by, policy.may_write, "originate", "progress-note", at=at,
                             client_id=client_id)

        def attempt() -> UUID:
            client = self._get_client(client_ref)
            with acting_as(actor):
                note = ProgressNote.write(client.id, text, session_date, at)
                client.attach_note(note.id, at)
                entry = AuditEntry.record(action="originate", outcome="granted",
                                          object_type="progress-note", object_id=note.id,
                                          client_id=client.id, version=1, at=at)
                self.save(note, client, entry)
            return note.id

        return _retry_on_conflict(attempt)

    def amend_note(self, note_id: UUID, text: str, reason: str, *, by: str,
                   at: datetime) -> int:
        at = utc(at)
        def attempt() -> int:
            note = self._get_note(note_id)
            staff = self._staff(by)
            actor = self._decide_with(staff, by, policy.may_amend(staff, note.author_id),
                                      "amend", "progress-note", at=at, object_id=note.id,
                                      client_id=note.client_id)
            with acting_as(actor):
                note.amend(text, reason, at)
                version = len(note.versions)
                entry = AuditEntry.record(action="amend", outcome="granted",
                                          object_type="progress-note", object_id=note.id,
                                          client_id=note.client_id, version=version, at=at)
                self.save(note, entry)
            return version

        return _retry_on_conflict(attempt)

    def read_note(self, note_id: UUID, *, by: str, purpose: str, version: int | None,
                  at: datetime) -> NoteContent:
        """Return one version of a note; the access is recorded before content is returned."""
        at = utc(at)
        policy.check_purpose(purpose)
        staff = self._staff(by)
        actor = _actor_for(staff, by)
        try:
            note = self._get_note(note_id)
            chosen = note.version_of(version)
        except NotFound:
            with acting_as(actor):
                self.save(AuditEntry.record(action="access", outcome="not-found",
                                            object_type="progress-note", object_id=note_id,
                                            purpose=purpose, version=version, at=at))
            raise
        self._decide_with(staff, by, policy.may_read(staff, purpose), "access", "progress-note",
                          at=at, purpose=purpose, object_id=note.id, client_id=note.client_id,
                          version=chosen.number)
        with acting_as(actor):
            self.save(AuditEntry.record(action="access", outcome="granted", purpose=purpose,
                                        object_type="progress-note", object_id=note.id,
                                        client_id=note.client_id, version=chosen.number, at=at))
        return NoteContent(note_id=note.id, version=chosen.number, versions=len(note.versions),
                           author_id=note.author_id, written_at=chosen.written_at,
                           session_date=note.session_date, amendment_reason=chosen.reason,
                           text=chosen.text)

    def list_notes(self, client_ref: str, *, by: str, at: datetime) -> list[NoteSummary]:
        at = utc(at)
        client_id = Client.id_for(client_ref)
        actor = self._decide(by, policy.may_list, "list", "progress-note", at=at,
                             client_id=client_id)
        client = self._get_client(client_ref)
        notes = [self._get_note(i) for i in client.note_ids]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted",
                                        object_type="progress-note", client_id=client.id, at=at))
        return [NoteSummary(note_id=n.id, session_date=n.session_date, author_id=n.author_id,
                            versions=len(n.versions), written_at=n.versions[0].written_at,
                            last_changed_at=n.versions[-1].written_at) for n in notes]

    # ----- helpers -----------------------------------------------------------------------

    def _decide(self, by: str, rule: Callable[[policy.StaffView | None], policy.Decision],
                action: Action, object_type: str, *, at: datetime,
                client_id: UUID | None = None) -> Actor:
        staff = self._staff(by)
        return self._decide_with(staff, by, rule(staff), action, object_type, at=at,
                                 client_id=client_id)

    def _decide_with(self, staff: policy.StaffView | None, by: str, decision: policy.Decision,
                     action: Action, object_type: str, *, at: datetime,
                     purpose: str | None = None, object_id: UUID | None = None,
                     client_id: UUID | None = None, version: int | None = None) -> Actor:
        """Return the actor if ``decision`` grants; otherwise record the refusal and raise."""
        actor = _actor_for(staff, by)
        if decision.granted:
            return actor
        with acting_as(actor):
            self.save(AuditEntry.record(action=action, outcome="denied", purpose=purpose,
                                        object_type=object_type, object_id=object_id,
                                        client_id=client_id, version=version,
                                        reason=decision.reason, at=at))
        raise Refused(f"refused: {decision.reason} (the attempt was recorded)")

    def _authorise_staff_change(self, by: str, staff_id: str, at: datetime) -> Actor:
        return self._decide_with(self._staff(by), by, policy.may_manage_staff(self._staff(by)),
                                 "amend", "staff", at=at,
                                 object_id=StaffMember.id_for(staff_id))

    def _any_staff(self) -> bool:
        topic = get_topic(StaffMember.Added)
        return bool(self.recorder.select_notifications(1, 1, topics=[topic]))

    def _staff(self, staff_id: str) -> policy.StaffView | None:
        try:
            member = self._get_staff(staff_id)
        except NotFound:
            return None
        return policy.StaffView(member.staff_id, member.role, member.active)

    def _get_staff(self, staff_id: str) -> StaffMember:
        return self._get(StaffMember, StaffMember.id_for(staff_id), f"staff {staff_id}")

    def _client_or_none(self, client_ref: str) -> Client | None:
        try:
            return self._get_client(client_ref)
        except NotFound:
            return None

    def _get_client(self, client_ref: str) -> Client:
        return self._get(Client, Client.id_for(client_ref), f"client {client_ref}")

    def _get_note(self, note_id: UUID) -> ProgressNote:
        return self._get(ProgressNote, note_id, f"note {note_id}")

    def _get(self, kind: type[T], aggregate_id: UUID, label: str) -> T:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{label} not found") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{label} not found")
        return aggregate


def _actor_for(staff: policy.StaffView | None, by: str) -> Actor:
    return Actor(id=by, role=staff.role if staff else "unknown")


def _staff_info(member: StaffMember) -> StaffInfo:
    return StaffInfo(member.staff_id, member.name, member.role, member.active)


def _retry_on_conflict(attempt: Callable[[], T]) -> T:
    """Re-run a read-modify-save command when a concurrent writer saved the same aggregate,
    backing off with jitter so that contending writers spread out."""
    for k in range(CONFLICT_RETRIES):
        try:
            return attempt()
        except IntegrityError:
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**k)))  # noqa: S311 (jitter)
    raise Busy("the record is being changed by others; nothing was saved, try again")
