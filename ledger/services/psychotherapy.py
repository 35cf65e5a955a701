"""Psychotherapy notes (45 CFR 164.501, 164.508(a)(2)), in the sealed store only.

Only the originating clinician writes, amends, and reads a note for treatment without
more; every other use or release goes through the disclosure guard, which allows it only
under a psychotherapy-note authorization naming the recipient or exactly one 164.508(a)(2)
exception, and never to a payer. Every attempt is recorded in the sealed store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.aggregates.record_dates import RecordDates
from ledger.errors import NotFound
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import disclosure, roles
from ledger.rules.roles import Decision
from ledger.services import requests
from ledger.services.amend import amend
from ledger.services.audited import Attempt, check_break_glass
from ledger.services.release import note_content, note_summary, release
from ledger.stores.psychotherapy import PsychotherapyStore
from ledger.views import NoteContent, NoteSummary, Release
from ledger.vocabulary import check_purpose

PN: Literal["psychotherapy-note"] = "psychotherapy-note"


class PsychotherapyNotes:
    def __init__(self, store: PsychotherapyStore, client_id: ClientIds) -> None:
        self.store = store
        self.client_id = client_id

    def write(self, client_ref: str, text: str, *, by: str, session_date: date | None,
              at: datetime, request_id: str | None = None) -> UUID:
        """Write a note. With ``request_id``, a retry returns the first note's id."""
        client_id = self.client_id(client_ref)
        note_id = requests.created_id(PN, by, request_id)

        def written() -> bool:
            return requests.already_written(self.store, note_id, client_id, text, by,
                                            session_date, request_id)

        if written():
            assert note_id is not None
            return note_id
        with Attempt(self.store, by, "originate", PN, at=at, client_id=client_id) as use:
            use.decide(roles.WRITE_PSYCHOTHERAPY)
            if not self.store.client_exists(client_id):
                raise NotFound(f"client {client_ref} not found")
            note = PsychotherapyNote.write(client_id, text, session_date, use.at, note_id)
            dates = RecordDates.record(client_id=client_id, note_id=note.id,
                                       session_date=session_date, at=use.at)
            use.about(object_id=note.id, version=1)
            try:
                use.commit(note, dates)
            except IntegrityError:  # a concurrent retry of the same request committed first
                if not written():
                    raise
        return note.id

    def amend(self, note_id: UUID, text: str, reason: str, *, by: str, at: datetime) -> int:
        """Append a version. Only the originator amends (the right to amend in 164.526
        does not reach psychotherapy notes; this is the clinician's own correction)."""
        return amend(self.store, roles.AMEND_PSYCHOTHERAPY, PN, note_id, text, reason, by=by,
                     at=at)

    def read(self, note_id: UUID, *, by: str, purpose: str, at: datetime,
             version: int | None = None, authorization_id: UUID | None = None,
             exception: str | None = None,
             break_glass_reason: str | None = None) -> NoteContent:
        """A use of a note by a staff member, ruled on by the disclosure guard. The access
        event (granted or refused) is saved before any content is returned."""
        check_purpose(purpose)
        exception = disclosure.check_exception_code(exception)
        check_break_glass(break_glass_reason)
        with Attempt(self.store, by, "access", PN, at=at, purpose=purpose, object_id=note_id,
                     version=version) as use:
            note = use.load(lambda: self.store.note(note_id))
            chosen = use.load(lambda: note.version_of(version))
            use.about(client_id=note.client_id, version=chosen.number)
            ruling = disclosure.rule(disclosure.Request(
                actor=use.staff, kind=PN, client_id=note.client_id,
                note_clients=frozenset({note.client_id}),
                originators=frozenset({note.author_id}), recipient=by,
                recipient_type="workforce", purpose=purpose, at=use.at,
                authorization_id=authorization_id,
                authorization=(self.store.authorization(authorization_id)
                               if authorization_id else None),
                exception=exception, break_glass=break_glass_reason is not None, is_use=True))
            use.check(Decision(ruling.granted, ruling.reason),
                      break_glass_reason=break_glass_reason)
            use.commit(reason=_basis_text(ruling, authorization_id, exception))
        return note_content(note, chosen.number)

    def list_notes(self, client_ref: str, *, by: str, at: datetime) -> list[NoteSummary]:
        """Which notes exist (no content). A clinician sees the notes they originated;
        supervisors and compliance see all of the client's."""
        client_id = self.client_id(client_ref)
        with Attempt(self.store, by, "list", PN, at=at, client_id=client_id) as use:
            use.decide(roles.LIST_PSYCHOTHERAPY)
            assert use.staff is not None
            self.store.refuse_destroyed(client_id, f"client {client_ref}'s psychotherapy notes")
            everyone = roles.sees_others(roles.LIST_PSYCHOTHERAPY, use.staff.role)
            notes = [n for n in self.store.notes() if n.client_id == client_id
                     and (everyone or n.author_id == use.staff.staff_id)]
            use.commit()
        return [note_summary(n) for n in sorted(notes, key=lambda n: n.versions[0].written_at)]

    def disclose(self, client_ref: str, note_ids: list[UUID], *, by: str, recipient: str,
                 recipient_type: str, purpose: str, at: datetime,
                 authorization_id: UUID | None = None, exception: str | None = None,
                 description: str | None = None, recipient_address: str | None = None,
                 assertion: str | None = None, request_id: str | None = None) -> Release:
        """Release psychotherapy notes through the disclosure guard (recorded either way).
        Only the note's originator or compliance releases under an authorization, and a
        release under an exception states what was asserted (the roles table)."""
        return release(self.store, self.client_id(client_ref), note_ids, by=by,
                       recipient=recipient,
                       recipient_type=recipient_type, purpose=purpose, at=at,
                       authorization_id=authorization_id, exception=exception,
                       description=description, recipient_address=recipient_address,
                       assertion=assertion, request_id=request_id)


def _basis_text(ruling: disclosure.Ruling, authorization_id: UUID | None,
                exception: str | None) -> str:
    """The basis a granted use rested on, kept in the access event."""
    if ruling.basis == "authorization":
        return f"authorization {authorization_id} ({ruling.legal_basis})"
    return f"{exception or 'ORIGINATOR_TREATMENT'} ({ruling.legal_basis})"
