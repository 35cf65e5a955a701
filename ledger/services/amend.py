"""Amending a note: one shape for both stores. The roles table rules on who may (the
author or a supervisor for progress notes, the originator alone for psychotherapy notes);
the amendment appends a version and is saved with its audit entry, retried on a conflict."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast
from uuid import UUID

from ledger.rules.roles import Rule
from ledger.services.audited import Attempt, retry_on_conflict
from ledger.stores.clinical import ClinicalStore


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
            use.commit(note)
            return len(note.versions)

    return retry_on_conflict(attempt)
