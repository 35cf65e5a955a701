"""Releasing notes: every attempt goes through the disclosure guard and is one event.

Shared by the progress-note and psychotherapy-note services, each over its own store: the
guard (``ledger.rules.disclosure``) rules on the request, the ruling is recorded as a
disclosure event (granted or refused, with the 164.528(b)(2) fields), and content is
returned only when granted. A note that does not exist is a recorded not-found attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.aggregates.disclosure import Disclosure
from ledger.aggregates.note import VersionedNote
from ledger.errors import BadInput, NotFound, Refused
from ledger.rules import disclosure
from ledger.services import requests
from ledger.services.audited import Attempt
from ledger.stores.clinical import ClinicalStore
from ledger.views import NoteContent, NoteSummary, Release
from ledger.vocabulary import check_purpose, check_recipient_type

MAX_ASSERTION = 1000


def release(store: ClinicalStore, client_id: UUID, note_ids: list[UUID], *, by: str,
            recipient: str, recipient_type: str, purpose: str, at: datetime,
            authorization_id: UUID | None = None, exception: str | None = None,
            description: str | None = None, recipient_address: str | None = None,
            assertion: str | None = None, request_id: str | None = None) -> Release:
    """Release ``store``'s notes to ``recipient`` if the guard grants; either way the
    attempt is a recorded event, and a refusal raises :class:`Refused`. A release under an
    exception states what was asserted (``assertion``). With ``request_id``, a retry of a
    request already recorded returns its first result and records nothing more."""
    check_purpose(purpose)
    if not note_ids:
        raise BadInput("name at least one note to disclose")
    if not recipient.strip():
        raise BadInput("a disclosure needs a recipient")
    check_recipient_type(recipient_type)
    exception = disclosure.check_exception_code(exception)
    assertion = _check_assertion(exception, assertion)
    asked = _Asked(client_id, store.NOTE_KIND, frozenset(note_ids), recipient, recipient_type,
                   purpose, authorization_id, exception)
    disclosure_id = requests.created_id("disclosure", by, request_id)
    if disclosure_id is not None and (first := _first(store, disclosure_id, asked,
                                                      request_id)) is not None:
        return first
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
            accountable=ruling.granted and ruling.accountable, at=attempt.at,
            assertion=assertion, disclosure_id=disclosure_id)
        try:
            attempt.save(event)
        except IntegrityError:  # a concurrent retry of the same request committed first
            if disclosure_id is None or (first := _first(store, disclosure_id, asked,
                                                         request_id)) is None:
                raise
            return first
    if not ruling.granted:
        raise Refused(f"refused: {ruling.reason} (the attempt was recorded)")
    return _release_of(event, [note_content(n, None) for n in notes])


def _check_assertion(exception: str | None, assertion: str | None) -> str | None:
    if assertion is not None and not assertion.strip():
        assertion = None
    if exception is not None and assertion is None:
        raise BadInput("a release under an exception states what was asserted: --assertion "
                       "TEXT (for example the order's court, number and date)")
    if exception is None and assertion is not None:
        raise BadInput("--assertion is for a release under an exception")
    if assertion is not None and len(assertion) > MAX_ASSERTION:
        raise BadInput(f"an assertion is at most {MAX_ASSERTION} characters")
    return assertion


@dataclass(frozen=True)
class _Asked:
    """What a disclosure request asks for, to tell a retry from a reused request id."""

    client_id: UUID
    kind: str
    notes: frozenset[UUID]
    recipient: str
    recipient_type: str
    purpose: str
    authorization_id: UUID | None
    exception: str | None

    @classmethod
    def of(cls, d: Disclosure) -> _Asked:
        return cls(d.client_id, d.object_type,
                   frozenset(UUID(item.split("@")[0]) for item in d.items), d.recipient,
                   d.recipient_type, d.purpose,
                   UUID(d.authorization_id) if d.authorization_id else None, d.exception)


def _first(store: ClinicalStore, disclosure_id: UUID, asked: _Asked,
           request_id: str | None) -> Release | None:
    """The first result of a retried request, read from the log (None: not recorded)."""
    try:
        first = store.get(Disclosure, disclosure_id, "disclosure")
    except NotFound:
        return None
    if _Asked.of(first) != asked:
        raise requests.reused(request_id, f"disclosure {disclosure_id}")
    if first.outcome != "granted":
        raise Refused(f"refused: {first.reason} (the attempt was recorded)")
    contents = []
    for item in first.items:
        note_id, version = item.split("@")
        contents.append(note_content(store.note(UUID(note_id)), int(version)))
    return _release_of(first, contents)


def _release_of(d: Disclosure, contents: list[NoteContent]) -> Release:
    return Release(disclosure_id=d.id, client_id=d.client_id, recipient=d.recipient,
                   recipient_type=d.recipient_type, purpose=d.purpose, basis=d.basis,
                   legal_basis=d.legal_basis, accountable=d.accountable,
                   description=d.description, notes=tuple(contents),
                   assertion=getattr(d, "assertion", None))


def note_content(note: VersionedNote, version: int | None) -> NoteContent:
    chosen = note.version_of(version)
    return NoteContent(note_id=note.id, version=chosen.number, versions=len(note.versions),
                       author_id=note.author_id, written_at=chosen.written_at,
                       session_date=note.session_date, amendment_reason=chosen.reason,
                       text=chosen.text, original_written_on=note.written_on)


def note_summary(note: VersionedNote) -> NoteSummary:
    return NoteSummary(note_id=note.id, session_date=note.session_date,
                       author_id=note.author_id, versions=len(note.versions),
                       written_at=note.versions[0].written_at,
                       last_changed_at=note.versions[-1].written_at,
                       original_written_on=note.written_on)


def describe(kind: str, notes: list[VersionedNote]) -> str:
    """A brief description of what is released (164.528(b)(2)(iii)); never content."""
    dates = sorted({n.session_date for n in notes if n.session_date})
    what = f"{len(notes)} {kind.replace('-', ' ')}{'s' if len(notes) != 1 else ''}"
    return what + (f" (sessions {', '.join(dates)})" if dates else "")
