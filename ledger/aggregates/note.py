"""What progress notes and psychotherapy notes share: versioned text, never altered.

Each kind of note is its own aggregate class with its own events (and so its own topics);
this base only holds the version list and its rules. A psychotherapy note is never a
progress note: neither class derives from the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import BadInput, NotFound

MAX_NOTE_BYTES = 1_000_000


@dataclass(frozen=True)
class NoteVersion:
    number: int
    author_id: str
    text: str
    written_at: datetime
    reason: str | None


def check_text(text: str) -> str:
    if not text.strip():
        raise BadInput("note text is empty")
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise BadInput(f"note text is larger than {MAX_NOTE_BYTES} bytes")
    return text


def check_reason(reason: str) -> str:
    if not reason.strip():
        raise BadInput("an amendment needs a reason")
    return reason


class VersionedNote(Aggregate):
    """A note whose amendments append versions."""

    client_id: UUID
    session_date: str | None
    versions: list[NoteVersion]
    # The day an imported note was originally written in the earlier system (None: written
    # here, on the day of its first version's chain time).
    written_on: str | None

    def _start(self, client_id: UUID, text: str, session_date: str | None, actor_id: str,
               timestamp: datetime, author_id: str | None = None,
               written_on: str | None = None) -> None:
        """``author_id``: who wrote the note, when not the actor who recorded it (an
        imported note keeps its original author; the importer is the event's actor)."""
        self.client_id = client_id
        self.session_date = session_date
        self.written_on = written_on
        self.versions = [NoteVersion(1, author_id or actor_id, text, timestamp, None)]

    def check_amendment_time(self, at: datetime) -> None:
        """Versions are in time order: an amendment is never dated before what it amends
        (the record set as of a moment depends on it)."""
        if at < self.versions[-1].written_at:
            raise BadInput("an amendment cannot be dated before the version it amends")

    def _append_version(self, actor_id: str, text: str, timestamp: datetime,
                        reason: str) -> None:
        self.versions.append(NoteVersion(len(self.versions) + 1, actor_id, text, timestamp,
                                         reason))

    @property
    def author_id(self) -> str:
        return self.versions[0].author_id

    def version_of(self, number: int | None) -> NoteVersion:
        if number is None:
            return self.versions[-1]
        if not 1 <= number <= len(self.versions):
            raise NotFound(f"note {self.id} has no version {number} (it has {len(self.versions)})")
        return self.versions[number - 1]
