"""The sealed psychotherapy-note store (45 CFR 164.501, 164.508(a)(2); DESIGN invariant 3).

Its own database URL, tables, hash chain and key-encryption key. It holds the notes,
psychotherapy-note authorizations, and every access and disclosure attempt concerning
them. It does not import the main store: who the staff are and whether a client exists
are asked through the two lookups the composition root passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.aggregates.psychotherapy_note import PsychotherapyNote
from ledger.rules.roles import StaffView
from ledger.settings import StoreSettings
from ledger.stores.clinical import ClinicalStore
from ledger.stores.store import KekSource

StaffLookup = Callable[[str], StaffView | None]
ClientLookup = Callable[[UUID], bool]


class PsychotherapyStore(ClinicalStore):
    name = "Psychotherapy"  # table prefix "psychotherapy_" (fixed)
    NOTE_KIND = "psychotherapy-note"
    RETENTION_MODEL = "retention-pn"

    def __init__(self, store: StoreSettings, kek: bytes | KekSource, *, staff: StaffLookup,
                 client_exists: ClientLookup) -> None:
        self._staff_lookup = staff
        self._client_lookup = client_exists
        super().__init__(store, kek)

    def staff_view(self, staff_id: str) -> StaffView | None:
        return self._staff_lookup(staff_id)

    def client_exists(self, client_id: UUID) -> bool:
        return self._client_lookup(client_id)

    def note(self, note_id: UUID) -> PsychotherapyNote:
        return self.get(PsychotherapyNote, note_id, f"psychotherapy note {note_id}")

    def notes(self) -> list[PsychotherapyNote]:
        return list(self.readable(PsychotherapyNote, PsychotherapyNote.Written))

    def has_note(self, note_id: UUID) -> bool:
        """Whether ``note_id`` names a psychotherapy note (no content is read; an
        authorization's id is not a note's)."""
        return self.event_log.first_topic(note_id) == get_topic(PsychotherapyNote.Written)

    def holds(self, aggregate_id: UUID) -> bool:
        """Whether ``aggregate_id`` names anything in this store (a note, an authorization):
        such an id is never recorded in the main store."""
        return self.event_log.first_topic(aggregate_id) is not None
