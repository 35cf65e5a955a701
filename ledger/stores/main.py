"""The main ledger: staff, clients and progress notes, every clinical action audited.

Each command is get -> decide -> call -> save, and saves its audit entry in the same
transaction as its effect. Reads of clinical content append their audit entry before
the content is returned. Services return plain frozen dataclasses, never aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.aggregates.audit import Action, AuditEntry
from ledger.aggregates.authorization import PSYCHOTHERAPY_NOTES
from ledger.aggregates.base import Actor, acting_as, utc
from ledger.aggregates.client import Client
from ledger.aggregates.hold import Hold
from ledger.aggregates.precondition import PreconditionMet
from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.staff import StaffMember
from ledger.errors import BadInput, ContentDestroyed, NotFound
from ledger.projections.record_set import NoteVersionsProjection
from ledger.rules import roles as policy
from ledger.rules.retention import FACILITIES, LICENSES
from ledger.rules.retention import load as load_rules
from ledger.rules.retention_engine import Episode
from ledger.rules.retention_engine import Facts as RetentionFacts
from ledger.rules.roles import StaffView
from ledger.stores.clinical import (
    ClinicalStore,
    actor_for,
    note_content,
    note_summary,
    retry_on_conflict,
)
from ledger.views import (
    AccessRequestExport,
    HoldInfo,
    NoteContent,
    NoteSummary,
    RecordSet,
    RecordSetNote,
    VersionInfo,
)

BOOTSTRAP = Actor(id="bootstrap", role="system")
ACCESS_DAYS = 30  # 164.524(b)(2): act within 30 days; one extension of at most 30 more


@dataclass(frozen=True)
class StaffInfo:
    staff_id: str
    name: str
    role: str
    active: bool


class MainLedger(ClinicalStore):
    name = "Ledger"
    AUTHORIZERS = frozenset({"clinician", "supervisor", "compliance", "front-desk"})
    NOTE_KIND = "progress-note"
    _record_set_projection: NoteVersionsProjection | None = None

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
        actor = self.decide(by, policy.may_register_client, "register", "client",
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
        actor = self.decide(by, policy.may_write, "originate", "progress-note", at=at,
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

        return retry_on_conflict(attempt)

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

        return retry_on_conflict(attempt)

    def read_note(self, note_id: UUID, *, by: str, purpose: str, version: int | None,
                  at: datetime, break_glass_reason: str | None = None) -> NoteContent:
        """Return one version of a note; the access is recorded before content is returned.

        With ``break_glass_reason`` any active staff member may read for immediately
        needed treatment (an emergency
        override): the access is granted and flagged with the reason.
        """
        at = utc(at)
        policy.check_purpose(purpose)
        if break_glass_reason is not None and not break_glass_reason.strip():
            raise BadInput("break-the-glass needs a --reason")
        staff = self._staff(by)
        actor = actor_for(staff, by)
        try:
            note = self._get_note(note_id)
            chosen = note.version_of(version)
        except (NotFound, ContentDestroyed) as e:
            with acting_as(actor):
                self.save(AuditEntry.record(
                    action="access", outcome="not-found", object_type="progress-note",
                    object_id=note_id, purpose=purpose, version=version, at=at,
                    reason="content destroyed" if isinstance(e, ContentDestroyed) else None))
            raise
        decision = (policy.may_break_glass(staff, purpose) if break_glass_reason is not None
                    else policy.may_read(staff, purpose))
        self._decide_with(staff, by, decision, "access", "progress-note",
                          at=at, purpose=purpose, object_id=note.id, client_id=note.client_id,
                          version=chosen.number, break_glass_reason=break_glass_reason)
        with acting_as(actor):
            self.save(AuditEntry.record(action="access", outcome="granted", purpose=purpose,
                                        object_type="progress-note", object_id=note.id,
                                        client_id=note.client_id, version=chosen.number,
                                        reason=break_glass_reason,
                                        break_glass=break_glass_reason is not None, at=at))
        return note_content(note, chosen.number)

    def list_notes(self, client_ref: str, *, by: str, at: datetime) -> list[NoteSummary]:
        at = utc(at)
        client_id = Client.id_for(client_ref)
        actor = self.decide(by, policy.may_list, "list", "progress-note", at=at,
                             client_id=client_id)
        client = self._get_client(client_ref)
        notes = [self._get_note(i) for i in client.note_ids]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted",
                                        object_type="progress-note", client_id=client.id, at=at))
        return [note_summary(n) for n in notes]

    # ----- retention facts and legal holds -------------------------------------------------

    def open_episode(self, client_ref: str, *, license: str, facility: str | None,
                     start: date, by: str, at: datetime) -> None:
        """An episode of care began (the license and facility decide the retention rules)."""
        if license not in LICENSES:
            raise BadInput(f"unknown license {license!r}; use one of {', '.join(LICENSES)}")
        if facility is not None and facility not in FACILITIES:
            raise BadInput(f"unknown facility {facility!r}; use one of {', '.join(FACILITIES)}")
        self._change_client(client_ref, by, at,
                            lambda c, t: c.open_episode(license, facility, start, t))

    def close_episode(self, client_ref: str, *, end: date, kind: str, by: str,
                      at: datetime) -> None:
        self._change_client(client_ref, by, at, lambda c, t: c.close_episode(end, kind, t))

    def record_contact(self, client_ref: str, *, on: date, by: str, at: datetime) -> None:
        self._change_client(client_ref, by, at, lambda c, t: c.record_contact(on, t))

    def retention_facts(self, client_id: UUID) -> RetentionFacts:
        """What the retention rules need to know of a client (no access event: nothing of
        it leaves the ledger except through a recorded explain or plan)."""
        client = self._get(Client, client_id, "client")
        episodes = tuple(Episode(license=str(e["license"]), facility=e["facility"],
                                 start=date.fromisoformat(str(e["start"])),
                                 end=date.fromisoformat(e["end"]) if e["end"] else None,
                                 end_kind=e["end_kind"]) for e in client.episodes)
        return RetentionFacts(
            jurisdiction=client.jurisdiction, dob=date.fromisoformat(client.dob),
            episodes=episodes,
            last_contact=date.fromisoformat(client.last_contact) if client.last_contact
            else None,
            last_entry=self.record_set_projection.last_written(client_id))

    def client_ids(self) -> list[UUID]:
        return list(self._originators(Client.Registered))

    def place_hold(self, client_refs: list[str], *, matter: str | None, reason: str, by: str,
                   at: datetime) -> HoldInfo:
        at = utc(at)
        client_ids = [Client.id_for(ref) for ref in client_refs]
        actor = self.decide(by, policy.may_manage_holds, "register", "hold", at=at)
        for ref, client_id in zip(client_refs, client_ids, strict=True):
            if not self.client_exists(client_id):
                raise NotFound(f"client {ref} not found")
        with acting_as(actor):
            hold = Hold.place(matter=matter, client_ids=client_ids, reason=reason, at=at)
            self.save(hold)
        return _hold_info(hold)

    def release_hold(self, hold_id: UUID, *, reason: str, by: str, at: datetime) -> HoldInfo:
        at = utc(at)

        def attempt() -> HoldInfo:
            hold = self._get(Hold, hold_id, f"hold {hold_id}")
            actor = self.decide(by, policy.may_manage_holds, "amend", "hold", at=at)
            with acting_as(actor):
                hold.release(reason, at)
                self.save(hold)
            return _hold_info(hold)

        return retry_on_conflict(attempt)

    def holds(self) -> list[HoldInfo]:
        return sorted((_hold_info(self._get(Hold, i, "hold"))
                       for i in self._originators(Hold.Placed)),
                      key=lambda h: (h.placed_at, str(h.hold_id)))

    def holds_on(self, client_id: UUID, at: datetime) -> list[HoldInfo]:
        return [h for h in self.holds() if client_id in h.client_ids
                and h.placed_at <= at and (h.released_at is None or at < h.released_at)]

    def record_precondition(self, client_ref: str, *, rule_id: str, kind: str, done_on: date,
                            note: str, by: str, at: datetime) -> None:
        """Record that a destruction precondition of a rule was met for the client."""
        at = utc(at)
        rule = {r.id: r for r in load_rules()}.get(rule_id)
        if rule is None:
            raise BadInput(f"unknown retention rule {rule_id!r}")
        if kind not in {p.kind for p in rule.preconditions}:
            raise BadInput(f"rule {rule_id} has no {kind} precondition")
        client_id = Client.id_for(client_ref)
        actor = self.decide(by, policy.may_manage_holds, "register", "precondition", at=at,
                            client_id=client_id)
        if not self.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        with acting_as(actor):
            self.save(PreconditionMet.record(client_id=client_id, rule_id=rule_id, kind=kind,
                                             done_on=done_on, note=note, at=at))

    def preconditions_met(self, client_id: UUID) -> list[tuple[str, str, date]]:
        """(rule id, kind, done on) of every precondition recorded as met for the client."""
        found = []
        for i in self._originators(PreconditionMet.Recorded):
            met = self._get(PreconditionMet, i, "precondition")
            if met.client_id == client_id:
                found.append((met.rule_id, met.kind, met.done_on))
        return found

    def _change_client(self, client_ref: str, by: str, at: datetime,
                       change: Callable[[Client, datetime], None]) -> None:
        at = utc(at)
        client_id = Client.id_for(client_ref)

        def attempt() -> None:
            actor = self.decide(by, policy.may_register_client, "amend", "client-facts",
                                 at=at, client_id=client_id)
            client = self._get_client(client_ref)
            with acting_as(actor):
                change(client, at)
                entry = AuditEntry.record(action="amend", outcome="granted",
                                          object_type="client-facts", object_id=client_id,
                                          client_id=client_id, at=at)
                self.save(client, entry)

        retry_on_conflict(attempt)

    # ----- the designated record set -----------------------------------------------------

    @property
    def record_set_projection(self) -> NoteVersionsProjection:
        if self._record_set_projection is None:
            self._record_set_projection = NoteVersionsProjection(self)
        return self._record_set_projection

    def record_set(self, client_ref: str, *, by: str, purpose: str, at: datetime,
                   as_of: datetime | None = None) -> RecordSet:
        """The client's designated record set as it stood at ``as_of`` (default: now):
        each progress note's then-current version with its amendment history. Never a
        psychotherapy note (this store holds none). Reading it is an access event."""
        at = utc(at)
        policy.check_purpose(purpose)
        client_id = Client.id_for(client_ref)
        staff = self._staff(by)
        actor = self._decide_with(staff, by, policy.may_read(staff, purpose), "access",
                                  "record-set", at=at, purpose=purpose, client_id=client_id)
        try:
            record_set = self._record_set(client_ref, at, as_of)
        except NotFound:
            with acting_as(actor):
                self.save(AuditEntry.record(action="access", outcome="not-found",
                                            purpose=purpose, object_type="record-set",
                                            client_id=client_id, at=at))
            raise
        with acting_as(actor):
            self.save(AuditEntry.record(action="access", outcome="granted", purpose=purpose,
                                        object_type="record-set", client_id=client_id,
                                        reason=f"as of {record_set.as_of.isoformat()}", at=at))
        return record_set

    def export_access_request(self, client_ref: str, *, by: str, received: date,
                              at: datetime) -> AccessRequestExport:
        """The record set for a right-of-access request received on ``received``, with its
        30-day deadline (164.524(b)(2)). Recorded as an export for purpose PATRQT."""
        at = utc(at)
        if received > at.date():
            raise BadInput("the request's received date is in the future")
        client_id = Client.id_for(client_ref)
        staff = self._staff(by)
        actor = self._decide_with(staff, by, policy.may_handle_access_requests(staff),
                                  "export", "record-set", at=at, purpose="PATRQT",
                                  client_id=client_id)
        record_set = self._record_set(client_ref, at, None)
        due = received + timedelta(days=ACCESS_DAYS)
        with acting_as(actor):
            self.save(AuditEntry.record(
                action="export", outcome="granted", purpose="PATRQT",
                object_type="record-set", client_id=client_id,
                reason=f"right-of-access request received {received.isoformat()}, due "
                       f"{due.isoformat()}", at=at))
        return AccessRequestExport(record_set=record_set, received_on=received, due_on=due,
                                   latest_extended_due_on=due + timedelta(days=ACCESS_DAYS))

    def _record_set(self, client_ref: str, at: datetime, as_of: datetime | None) -> RecordSet:
        moment = utc(as_of) if as_of is not None else at
        if moment > at:
            raise BadInput("--as-of is in the future")
        client_id = Client.id_for(client_ref)
        if not self.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        if self.is_shredded(client_id):
            receipt = self.receipt_for(client_id)
            return RecordSet(client_id=client_id, as_of=moment, notes=(), destroyed=(
                f"destroyed on {receipt.timestamp.date().isoformat()} under rule "
                f"{receipt.rule_id} ({receipt.citation})" if receipt else "destroyed"))
        self.record_set_projection.catch_up()
        notes = []
        for note_id, number in self.record_set_projection.as_of(client_id, moment).items():
            note = self._get_note(note_id)
            history = tuple(VersionInfo(v.number, v.author_id, v.written_at, v.reason)
                            for v in note.versions[:number])
            notes.append(RecordSetNote(note_id=note.id, session_date=note.session_date,
                                       current=note_content(note, number), history=history))
        notes.sort(key=lambda n: (n.history[0].written_at, str(n.note_id)))
        return RecordSet(client_id=client_id, as_of=moment, notes=tuple(notes))

    # ----- helpers -----------------------------------------------------------------------

    def staff_view(self, staff_id: str) -> StaffView | None:
        return self._staff(staff_id)

    def _note_for_release(self, note_id: UUID) -> ProgressNote:
        return self._get_note(note_id)

    def client_exists(self, client_id: UUID) -> bool:
        """Whether the client was ever registered (read from the log, without decrypting:
        true after a purge too, so audit records stay answerable)."""
        events = self.recorder.select_events(client_id, limit=1)
        return bool(events) and events[0].topic == get_topic(Client.Registered)

    def _check_scopes(self, scopes: tuple[str, ...]) -> None:
        if PSYCHOTHERAPY_NOTES in scopes:
            raise BadInput("psychotherapy-note authorizations are kept in the sealed store")

    def decide(self, by: str, rule: Callable[[StaffView | None], policy.Decision],
                action: Action, object_type: str, *, at: datetime,
                client_id: UUID | None = None) -> Actor:
        staff = self._staff(by)
        return self._decide_with(staff, by, rule(staff), action, object_type, at=at,
                                 client_id=client_id)

    def _authorise_staff_change(self, by: str, staff_id: str, at: datetime) -> Actor:
        staff = self._staff(by)
        return self._decide_with(staff, by, policy.may_manage_staff(staff),
                                 "amend", "staff", at=at,
                                 object_id=StaffMember.id_for(staff_id))

    def _any_staff(self) -> bool:
        topic = get_topic(StaffMember.Added)
        return bool(self.recorder.select_notifications(1, 1, topics=[topic]))

    def _staff(self, staff_id: str) -> StaffView | None:
        try:
            member = self._get_staff(staff_id)
        except NotFound:
            return None
        return StaffView(member.staff_id, member.role, member.active)

    def _get_staff(self, staff_id: str) -> StaffMember:
        return self._get(StaffMember, StaffMember.id_for(staff_id), f"staff {staff_id}")

    def _client_or_none(self, client_ref: str) -> Client | None:
        return self._client_or_none_by_id(Client.id_for(client_ref))

    def _client_or_none_by_id(self, client_id: UUID) -> Client | None:
        try:
            return self._get(Client, client_id, "client")
        except NotFound:
            return None

    def _get_client(self, client_ref: str) -> Client:
        return self._get(Client, Client.id_for(client_ref), f"client {client_ref}")

    def _get_note(self, note_id: UUID) -> ProgressNote:
        return self._get(ProgressNote, note_id, f"note {note_id}")

def _staff_info(member: StaffMember) -> StaffInfo:
    return StaffInfo(member.staff_id, member.name, member.role, member.active)



def _hold_info(hold: Hold) -> HoldInfo:
    return HoldInfo(hold_id=hold.id, matter=hold.matter, client_ids=tuple(hold.client_ids),
                    reason=hold.reason, placed_by=hold.placed_by, placed_at=hold.placed_at,
                    released_at=hold.released_at, release_reason=hold.release_reason)
