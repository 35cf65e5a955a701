"""Progress notes: part of the designated record set. Content is sealed under the
client's data key. An amendment appends a version; no version is ever altered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput, NotFound

MAX_NOTE_BYTES = 1_000_000


@dataclass(frozen=True)
class NoteVersion:
    number: int
    author_id: str
    text: str
    written_at: datetime
    reason: str | None


def _check_text(text: str) -> str:
    if not text.strip():
        raise BadInput("note text is empty")
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise BadInput(f"note text is larger than {MAX_NOTE_BYTES} bytes")
    return text


class ProgressNote(Aggregate):
    class Written(Aggregate.Created, LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        text: str
        session_date: str | None

    class Amended(LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        text: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ProgressNote)
            aggregate.versions.append(NoteVersion(
                len(aggregate.versions) + 1, self.actor_id, self.text, self.timestamp,
                self.reason))

    def __init__(self, client_id: UUID, text: str, session_date: str | None, actor_id: str,
                 timestamp: datetime) -> None:
        # Called by the Written event's mutate with the event's matching attributes.
        self.client_id = client_id
        self.session_date = session_date
        self.versions = [NoteVersion(1, actor_id, text, timestamp, None)]

    @classmethod
    def write(cls, client_id: UUID, text: str, session_date: date | None,
              at: datetime) -> ProgressNote:
        return cls._create(cls.Written, id=uuid4(), client_id=client_id, text=_check_text(text),
                           session_date=session_date.isoformat() if session_date else None,
                           timestamp=at)

    @property
    def author_id(self) -> str:
        return self.versions[0].author_id

    def amend(self, text: str, reason: str, at: datetime) -> None:
        if not reason.strip():
            raise BadInput("an amendment needs a reason")
        self.trigger_event(self.Amended, client_id=self.client_id, text=_check_text(text),
                           reason=reason, timestamp=at)

    def version_of(self, number: int | None) -> NoteVersion:
        if number is None:
            return self.versions[-1]
        if not 1 <= number <= len(self.versions):
            raise NotFound(f"note {self.id} has no version {number} (it has {len(self.versions)})")
        return self.versions[number - 1]
