"""Amending a note: one shape for both stores. The roles table rules on who may (the
author or a supervisor for progress notes, the originator alone for psychotherapy notes);
the amendment appends a version and is saved with its audit entry, retried on a conflict."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, cast
from uuid import UUID

from ledger.aggregates.note import VersionedNote
from ledger.aggregates.record_dates import RecordDates, record_dates_id
from ledger.errors import NotFound
from ledger.rules.roles import Rule
from ledger.services.audited import Attempt, retry_on_conflict
from ledger.stores.clinical import ClinicalStore


def _dated(store: ClinicalStore, note: VersionedNote, at: datetime) -> RecordDates:
    """The note's dates with the new version's entry. A note written before dates were
    recorded apart gets them now, from its own versions (read here anyway)."""
    try:
        dates = store.get(RecordDates, record_dates_id(note.id), f"dates of note {note.id}")
    except NotFound:
        pass
    else:
        dates.amended(at.date(), at)
        return dates
    first, *later = note.versions
    session = date.fromisoformat(note.session_date) if note.session_date else None
    dates = RecordDates.record(
        client_id=note.client_id, note_id=note.id,
        # A session day in the future was accepted before dates were recorded apart: it
        # counts as none, and the note counts from the day it was entered.
        session_date=session if session is not None and session <= at.date() else None,
        entered_on=first.written_at.date(), at=at)
    for version in later:
        dates.amended(version.written_at.date(), at)
    return dates


class _Amendable(Protocol):  # both note aggregates; their base leaves the event to each
    def amend(self, text: str, reason: str, at: datetime) -> None: ...


def amend(store: ClinicalStore, rule: Rule, object_type: str, note_id: UUID, text: str,
          reason: str, *, by: str, at: datetime) -> int:
    """Append a version to ``store``'s note ``note_id``; the new version's number."""
    def attempt() -> int:
        with Attempt(store, by, "amend", object_type, at=at) as use:
            note = store.note(note_id)
            use.about(object_id=note.id, client_id=note.client_id)
            use.decide(rule, originator=note.author_id)
            cast(_Amendable, note).amend(text, reason, use.at)
            use.about(version=len(note.versions))
            use.commit(note, _dated(store, note, use.at))
            return len(note.versions)

    return retry_on_conflict(attempt)
