"""The dates of one note, apart from its content: the service it documents and the day it
was entered.

Recorded beside each note when it is written, in the note's own store and sealed under
the client's data key (a purge shreds it with the note), so the retention rules can learn
when a service happened without ever decrypting a note. The entry day is the day the
ledger learned the note, or, for a note imported from an earlier system, the day it was
originally written there: the chain time stays the event's timestamp.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:record-dates")


def record_dates_id(note_id: UUID) -> UUID:
    """One per note, derived from the note's id: a retried write cannot record two."""
    return uuid5(_NAMESPACE, str(note_id))


class RecordDates(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        note_id: UUID
        session_date: str | None
        entered_on: str

    class Amended(LedgerEvent):
        """A version was added to the note: an entry on ``entered_on``."""

        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        entered_on: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, RecordDates)
            aggregate.entries.append(date.fromisoformat(self.entered_on))

    def __init__(self, client_id: UUID, note_id: UUID, session_date: str | None,
                 entered_on: str) -> None:
        self.client_id = client_id
        self.note_id = note_id
        self.session_date = date.fromisoformat(session_date) if session_date else None
        self.entered_on = date.fromisoformat(entered_on)
        self.entries: list[date] = [self.entered_on]  # one per version of the note

    @classmethod
    def record(cls, *, client_id: UUID, note_id: UUID, session_date: date | None,
               entered_on: date | None = None, at: datetime) -> RecordDates:
        """``entered_on``: the original entry day of an imported note (default: ``at``)."""
        entered = entered_on or at.date()
        if entered > at.date():
            raise BadInput("the entry date is in the future")
        if session_date is not None and session_date > at.date():
            raise BadInput("the session date is in the future")
        return cls._create(cls.Recorded, id=record_dates_id(note_id), client_id=client_id,
                           note_id=note_id,
                           session_date=session_date.isoformat() if session_date else None,
                           entered_on=entered.isoformat(), timestamp=at)

    def amended(self, entered_on: date, at: datetime) -> None:
        self.trigger_event(self.Amended, client_id=self.client_id,
                           entered_on=entered_on.isoformat(), timestamp=at)
