"""Releasing notes: every attempt goes through the disclosure guard and is one event.

Shared by the progress-note and psychotherapy-note services, each over its own store: the
guard (``ledger.rules.disclosure``) rules on the request, the ruling is recorded as a
disclosure event (granted or refused, with the 164.528(b)(2) fields), and content is
returned only when granted. A note that does not exist is a recorded not-found attempt.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ledger.aggregates.disclosure import Disclosure
from ledger.aggregates.note import VersionedNote
from ledger.errors import BadInput, Refused
from ledger.rules import disclosure
from ledger.services.audited import Attempt
from ledger.stores.clinical import ClinicalStore
from ledger.views import NoteContent, NoteSummary, Release
from ledger.vocabulary import check_purpose, check_recipient_type


def release(store: ClinicalStore, client_id: UUID, note_ids: list[UUID], *, by: str,
            recipient: str, recipient_type: str, purpose: str, at: datetime,
            authorization_id: UUID | None = None, exception: str | None = None,
            description: str | None = None, recipient_address: str | None = None) -> Release:
    """Release ``store``'s notes to ``recipient`` if the guard grants; either way the
    attempt is a recorded event, and a refusal raises :class:`Refused`."""
    check_purpose(purpose)
    if not note_ids:
        raise BadInput("name at least one note to disclose")
    if not recipient.strip():
        raise BadInput("a disclosure needs a recipient")
    check_recipient_type(recipient_type)
    exception = disclosure.check_exception_code(exception)
    attempt = Attempt(store, by, "disclose", store.NOTE_KIND, at=at, purpose=purpose,
                      client_id=client_id)
    notes: list[VersionedNote] = []
    for note_id in dict.fromkeys(note_ids):
        attempt.about(object_id=note_id)
        notes.append(attempt.load(lambda n=note_id: store.note(n)))  # type: ignore[misc]
    request = disclosure.Request(
        actor=attempt.staff, kind=store.NOTE_KIND, client_id=client_id,
        note_clients=frozenset(n.client_id for n in notes),
        originators=frozenset(n.author_id for n in notes), recipient=recipient,
        recipient_type=recipient_type, purpose=purpose, at=attempt.at,
        authorization_id=authorization_id,
        authorization=store.authorization(authorization_id) if authorization_id else None,
        exception=exception)
    ruling = disclosure.rule(request)
    description = description or describe(store.NOTE_KIND, notes)
    with attempt:
        event = Disclosure.record(
            outcome="granted" if ruling.granted else "denied", reason=ruling.reason,
            client_id=client_id, object_type=store.NOTE_KIND,
            items=[(n.id, len(n.versions)) for n in notes], recipient=recipient,
            recipient_address=recipient_address, recipient_type=recipient_type,
            purpose=purpose, basis=ruling.basis, authorization_id=authorization_id,
            exception=exception, legal_basis=ruling.legal_basis, description=description,
            accountable=ruling.granted and ruling.accountable, at=attempt.at)
        attempt.save(event)
    if not ruling.granted:
        raise Refused(f"refused: {ruling.reason} (the attempt was recorded)")
    return Release(disclosure_id=event.id, client_id=client_id, recipient=recipient,
                   recipient_type=recipient_type, purpose=purpose, basis=ruling.basis,
                   legal_basis=ruling.legal_basis, accountable=ruling.accountable,
                   description=description,
                   notes=tuple(note_content(n, None) for n in notes))


def note_content(note: VersionedNote, version: int | None) -> NoteContent:
    chosen = note.version_of(version)
    return NoteContent(note_id=note.id, version=chosen.number, versions=len(note.versions),
                       author_id=note.author_id, written_at=chosen.written_at,
                       session_date=note.session_date, amendment_reason=chosen.reason,
                       text=chosen.text)


def note_summary(note: VersionedNote) -> NoteSummary:
    return NoteSummary(note_id=note.id, session_date=note.session_date,
                       author_id=note.author_id, versions=len(note.versions),
                       written_at=note.versions[0].written_at,
                       last_changed_at=note.versions[-1].written_at)


def describe(kind: str, notes: list[VersionedNote]) -> str:
    """A brief description of what is released (164.528(b)(2)(iii)); never content."""
    dates = sorted({n.session_date for n in notes if n.session_date})
    what = f"{len(notes)} {kind.replace('-', ' ')}{'s' if len(notes) != 1 else ''}"
    return what + (f" (sessions {', '.join(dates)})" if dates else "")
