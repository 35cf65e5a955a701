"""The sealed psychotherapy-note store (45 CFR 164.501, 164.508(a)(2); DESIGN invariant 3).

Its own database URL, tables, hash chain and key-encryption key. It holds the notes,
psychotherapy-note authorizations, and every access and disclosure attempt concerning
them. It does not import the main ledger: who the staff are and whether a client exists
are asked through the two lookups the composition root passes in.

Only the originating clinician writes, amends, and reads a note for treatment without
more; every other use or release goes through :mod:`ledger.rules.disclosure`, which releases a
psychotherapy note only under a psychotherapy-note authorization naming the recipient or
exactly one 164.508(a)(2) exception, and never to a payer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.authorization import PSYCHOTHERAPY_NOTES
from ledger.aggregates.base import acting_as, utc
from ledger.aggregates.client import Client
from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.errors import BadInput, ContentDestroyed, NotFound
from ledger.rules import disclosure
from ledger.rules.roles import Decision, StaffView, check_purpose, refuse_inactive
from ledger.settings import StoreSettings
from ledger.stores.clinical import (
    ClinicalStore,
    actor_for,
    note_content,
    note_summary,
    retry_on_conflict,
)
from ledger.views import NoteContent, NoteSummary

PN: Literal["psychotherapy-note"] = "psychotherapy-note"
# Product choice: mental-health professionals write them; compliance and supervisors may
# see which notes exist (never their content without a basis).
PN_WRITERS = frozenset({"clinician", "supervisor"})
PN_LISTERS_ALL = frozenset({"supervisor", "compliance"})

StaffLookup = Callable[[str], StaffView | None]
ClientLookup = Callable[[UUID], bool]


class PsychotherapyStore(ClinicalStore):
    name = "Psychotherapy"
    AUTHORIZERS = frozenset({"clinician", "supervisor", "compliance"})
    NOTE_KIND = PN

    def __init__(self, store: StoreSettings, kek: bytes, *, staff: StaffLookup,
                 client_exists: ClientLookup) -> None:
        self._staff_lookup = staff
        self._client_lookup = client_exists
        super().__init__(store, kek)

    def staff_view(self, staff_id: str) -> StaffView | None:
        return self._staff_lookup(staff_id)

    def client_exists(self, client_id: UUID) -> bool:
        return self._client_lookup(client_id)

    def _check_scopes(self, scopes: tuple[str, ...]) -> None:
        if scopes != (PSYCHOTHERAPY_NOTES,):
            raise BadInput("only psychotherapy-note authorizations are kept in the sealed store")

    # ----- notes ---------------------------------------------------------------------------

    def write_note(self, client_ref: str, text: str, *, by: str, session_date: date | None,
                   at: datetime) -> UUID:
        at = utc(at)
        client_id = Client.id_for(client_ref)
        staff = self.staff_view(by)
        actor = self._decide_with(staff, by, _may_write(staff), "originate", PN, at=at,
                                  client_id=client_id)
        if not self.client_exists(client_id):
            raise NotFound(f"client {client_ref} not found")
        with acting_as(actor):
            note = PsychotherapyNote.write(client_id, text, session_date, at)
            entry = AuditEntry.record(action="originate", outcome="granted", object_type=PN,
                                      object_id=note.id, client_id=client_id, version=1, at=at)
            self.save(note, entry)
        return note.id

    def amend_note(self, note_id: UUID, text: str, reason: str, *, by: str,
                   at: datetime) -> int:
        """Append a version. Only the originator amends (the right to amend in 164.526
        does not reach psychotherapy notes; this is the clinician's own correction)."""
        at = utc(at)

        def attempt() -> int:
            note = self._get_pn(note_id)
            staff = self.staff_view(by)
            decision = _may_write(staff)
            if decision.granted and by != note.author_id:
                decision = Decision(False, "only the note's originator may amend a "
                                           "psychotherapy note")
            actor = self._decide_with(staff, by, decision, "amend", PN, at=at,
                                      object_id=note.id, client_id=note.client_id)
            with acting_as(actor):
                note.amend(text, reason, at)
                version = len(note.versions)
                entry = AuditEntry.record(action="amend", outcome="granted", object_type=PN,
                                          object_id=note.id, client_id=note.client_id,
                                          version=version, at=at)
                self.save(note, entry)
            return version

        return retry_on_conflict(attempt)

    def read_note(self, note_id: UUID, *, by: str, purpose: str, at: datetime,
                  version: int | None = None, authorization_id: UUID | None = None,
                  exception: str | None = None,
                  break_glass_reason: str | None = None) -> NoteContent:
        """A use of a note by a staff member, ruled on by the disclosure guard. The access
        event (granted or refused) is saved before any content is returned."""
        at = utc(at)
        check_purpose(purpose)
        exception = disclosure.check_exception_code(exception)
        if break_glass_reason is not None and not break_glass_reason.strip():
            raise BadInput("break-the-glass needs a --reason")
        staff = self.staff_view(by)
        try:
            note = self._get_pn(note_id)
            chosen = note.version_of(version)
        except (NotFound, ContentDestroyed) as e:
            with acting_as(actor_for(staff, by)):
                self.save(AuditEntry.record(
                    action="access", outcome="not-found", object_type=PN, object_id=note_id,
                    purpose=purpose, version=version, at=at,
                    reason="content destroyed" if isinstance(e, ContentDestroyed) else None))
            raise
        request = disclosure.Request(
            actor=staff, kind=PN, client_id=note.client_id,
            note_clients=frozenset({note.client_id}), originators=frozenset({note.author_id}),
            recipient=by, recipient_type="workforce", purpose=purpose, at=at,
            authorization_id=authorization_id,
            authorization=(self._authorization_or_none(authorization_id)
                           if authorization_id else None),
            exception=exception, break_glass=break_glass_reason is not None, is_use=True)
        ruling = disclosure.rule(request)
        reason = ruling.reason if not ruling.granted else _basis_text(ruling, authorization_id,
                                                                     exception)
        actor = self._decide_with(staff, by, Decision(ruling.granted, ruling.reason), "access",
                                  PN, at=at, purpose=purpose, object_id=note.id,
                                  client_id=note.client_id, version=chosen.number,
                                  break_glass_reason=break_glass_reason)
        with acting_as(actor):
            self.save(AuditEntry.record(action="access", outcome="granted", purpose=purpose,
                                        object_type=PN, object_id=note.id,
                                        client_id=note.client_id, version=chosen.number,
                                        reason=reason, at=at))
        return note_content(note, chosen.number)

    def list_notes(self, client_ref: str, *, by: str, at: datetime) -> list[NoteSummary]:
        """Which notes exist (no content). A clinician sees the notes they originated;
        supervisors and compliance see all of the client's."""
        at = utc(at)
        client_id = Client.id_for(client_ref)
        staff = self.staff_view(by)
        decision = refuse_inactive(staff)
        if decision is None and staff is not None and staff.role not in (
                PN_WRITERS | PN_LISTERS_ALL):
            decision = Decision(False, f"role {staff.role} may not list psychotherapy notes")
        actor = self._decide_with(staff, by, decision or Decision(True), "list", PN, at=at,
                                  client_id=client_id)
        assert staff is not None
        self.refuse_destroyed(client_id, f"client {client_ref}'s psychotherapy notes")
        notes = [n for n in self._notes() if n.client_id == client_id
                 and (staff.role in PN_LISTERS_ALL or n.author_id == staff.staff_id)]
        with acting_as(actor):
            self.save(AuditEntry.record(action="list", outcome="granted", object_type=PN,
                                        client_id=client_id, at=at))
        return [note_summary(n) for n in sorted(notes, key=lambda n: n.versions[0].written_at)]

    # ----- helpers -------------------------------------------------------------------------

    def _note_for_release(self, note_id: UUID) -> PsychotherapyNote:
        return self._get_pn(note_id)

    def _get_pn(self, note_id: UUID) -> PsychotherapyNote:
        return self._get(PsychotherapyNote, note_id, f"psychotherapy note {note_id}")

    def _notes(self) -> list[PsychotherapyNote]:
        return list(self._readable(PsychotherapyNote, PsychotherapyNote.Written))

    def last_entry(self, client_id: UUID) -> date | None:
        """The day the client's latest psychotherapy-note version was written (for the
        retention rules anchored on the last entry; no content leaves the store)."""
        days = [n.versions[-1].written_at.date() for n in self._notes()
                if n.client_id == client_id]
        return max(days, default=None)

    def has_note(self, note_id: UUID) -> bool:
        """Whether ``note_id`` names a psychotherapy note (no content is read)."""
        return bool(self.recorder.select_events(note_id, limit=1))


def _may_write(staff: StaffView | None) -> Decision:
    if (refused := refuse_inactive(staff)) is not None:
        return refused
    assert staff is not None
    if staff.role not in PN_WRITERS:
        return Decision(False, f"role {staff.role} may not write psychotherapy notes")
    return Decision(True)


def _basis_text(ruling: disclosure.Ruling, authorization_id: UUID | None,
                exception: str | None) -> str:
    """The basis a granted use rested on, kept in the access event."""
    if ruling.basis == "authorization":
        return f"authorization {authorization_id} ({ruling.legal_basis})"
    return f"{exception or 'ORIGINATOR_TREATMENT'} ({ruling.legal_basis})"
