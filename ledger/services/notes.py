"""Progress notes: write, amend, read, list and release. Every read is recorded before any
content is returned; writes and amendments are saved with their audit entry.

This module serves the designated record set and payer releases, so it cannot reach the
sealed store: whether an id names a psychotherapy note is asked through a lookup the
composition root passes in, before anything naming it is recorded here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

from ledger.aggregates.progress_note import ProgressNote
from ledger.aggregates.record_dates import RecordDates
from ledger.errors import BadInput
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import roles
from ledger.services import requests
from ledger.services.amend import amend
from ledger.services.audited import Attempt, check_break_glass, retry_on_conflict
from ledger.services.release import note_content, note_summary, release
from ledger.stores.main import MainStore
from ledger.views import NoteContent, NoteSummary, Release
from ledger.vocabulary import check_purpose

PROGRESS_NOTE = "progress-note"
SealedLookup = Callable[[UUID], "str | None"]  # "note", "other" or None


class ProgressNotes:
    def __init__(self, main: MainStore, client_id: ClientIds, sealed: SealedLookup) -> None:
        self.main = main
        self.client_id = client_id
        self._sealed = sealed

    def write(self, client_ref: str, text: str, *, by: str, session_date: date | None,
              at: datetime, request_id: str | None = None) -> UUID:
        """Write a note. With ``request_id``, a retry returns the first note's id."""
        client_id = self.client_id(client_ref)
        note_id = requests.created_id(PROGRESS_NOTE, by, request_id)

        def written() -> bool:
            return requests.already_written(self.main, note_id, client_id, text, by,
                                            session_date, request_id)

        if written():
            assert note_id is not None
            return note_id
        with Attempt(self.main, by, "originate", PROGRESS_NOTE, at=at,
                     client_id=client_id) as use:
            use.decide(roles.WRITE_NOTE)

            def attempt() -> UUID:
                if written():  # a concurrent retry of the same request committed first
                    assert note_id is not None
                    return note_id
                client = self.main.client(client_id, client_ref)
                note = ProgressNote.write(client.id, text, session_date, use.at, note_id)
                client.attach_note(note.id, use.at)
                dates = RecordDates.record(client_id=client.id, note_id=note.id,
                                           session_date=session_date, at=use.at)
                use.about(object_id=note.id, version=1)
                use.commit(note, client, dates)
                return note.id

            return retry_on_conflict(attempt)

    def amend(self, note_id: UUID, text: str, reason: str, *, by: str, at: datetime) -> int:
        """Append a version (the author or a supervisor; 164.526(c) appends and links)."""
        return amend(self.main, roles.AMEND_NOTE, PROGRESS_NOTE, note_id, text, reason, by=by,
                     at=at)

    def read(self, note_id: UUID, *, by: str, purpose: str, at: datetime,
             version: int | None = None, break_glass_reason: str | None = None) -> NoteContent:
        """One version of a note; the access is recorded before content is returned.

        With ``break_glass_reason`` any active staff member may read for immediately
        needed treatment (an emergency override): granted, and flagged with the reason."""
        check_purpose(purpose)
        check_break_glass(break_glass_reason)
        self._refuse_sealed([note_id])
        with Attempt(self.main, by, "access", PROGRESS_NOTE, at=at, purpose=purpose,
                     object_id=note_id, version=version) as use:
            note = use.load(lambda: self.main.note(note_id))
            chosen = use.load(lambda: note.version_of(version))
            use.about(client_id=note.client_id, version=chosen.number)
            glass = break_glass_reason is not None
            use.decide(roles.BREAK_GLASS if glass else roles.READ_NOTE,
                       break_glass_reason=break_glass_reason)
            use.commit(reason=break_glass_reason, break_glass=glass)
        return note_content(note, chosen.number)

    def list_notes(self, client_ref: str, *, by: str, at: datetime) -> list[NoteSummary]:
        """Which notes exist (ids, dates, authors, versions; no content). Recorded."""
        client_id = self.client_id(client_ref)
        with Attempt(self.main, by, "list", PROGRESS_NOTE, at=at, client_id=client_id) as use:
            use.decide(roles.LIST_NOTES)
            client = self.main.client(client_id, client_ref)
            notes = [self.main.note(i) for i in client.note_ids]
            use.commit()
        return [note_summary(n) for n in notes]

    def disclose(self, client_ref: str, note_ids: list[UUID], *, by: str, recipient: str,
                 recipient_type: str, purpose: str, at: datetime,
                 authorization_id: UUID | None = None, exception: str | None = None,
                 description: str | None = None, recipient_address: str | None = None,
                 assertion: str | None = None, request_id: str | None = None) -> Release:
        """Release progress notes through the disclosure guard (recorded either way)."""
        self._refuse_sealed(note_ids)
        return release(self.main, self.client_id(client_ref), note_ids, by=by, recipient=recipient,
                       recipient_type=recipient_type, purpose=purpose, at=at,
                       authorization_id=authorization_id, exception=exception,
                       description=description, recipient_address=recipient_address,
                       assertion=assertion, request_id=request_id)

    def _refuse_sealed(self, note_ids: list[UUID]) -> None:
        """A psychotherapy-note id stops here, before the main store records an attempt
        naming it: nothing of the sealed store reaches the main one, not even an id."""
        for note_id in note_ids:
            kind = self._sealed(note_id)
            if kind == "note":
                raise BadInput(f"{note_id} is a psychotherapy note; use ledger pn show or "
                               "ledger disclose --pn")
            if kind is not None:
                raise BadInput(f"{note_id} is not a progress note (it names a record in the "
                               "psychotherapy store)")
