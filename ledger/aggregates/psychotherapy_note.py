"""Psychotherapy notes (45 CFR 164.501): the clinician's process notes, kept apart from
the record. They exist only in the sealed store, sealed under that store's data key for
the client. Only the originating clinician writes and amends them."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.aggregates.note import VersionedNote, check_reason, check_text


class PsychotherapyNote(VersionedNote):
    class Written(Aggregate.Created, LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        text: str
        session_date: str | None
        # An imported note: its original author (None: the actor wrote it) and the day it
        # was written in the earlier system (None: written here). Events recorded before
        # these fields read them as None.
        author_id: str | None = None
        written_on: str | None = None

    class Amended(LedgerEvent):
        sealed_under: ClassVar[str] = "client_id"
        client_id: UUID
        text: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, PsychotherapyNote)
            aggregate._append_version(self.actor_id, self.text, self.timestamp, self.reason)

    def __init__(self, client_id: UUID, text: str, session_date: str | None, actor_id: str,
                 timestamp: datetime, author_id: str | None = None,
                 written_on: str | None = None) -> None:
        self._start(client_id, text, session_date, actor_id, timestamp, author_id,
                    written_on)

    @classmethod
    def write(cls, client_id: UUID, text: str, session_date: date | None,
              at: datetime, note_id: UUID | None = None, *, author_id: str | None = None,
              written_on: date | None = None) -> PsychotherapyNote:
        """``author_id`` and ``written_on``: an imported note's original author and the day
        it was written in the earlier system (the chain time stays ``at``)."""
        return cls._create(cls.Written, id=note_id or uuid4(), client_id=client_id,
                           text=check_text(text),
                           session_date=session_date.isoformat() if session_date else None,
                           author_id=author_id,
                           written_on=written_on.isoformat() if written_on else None,
                           timestamp=at)

    def amend(self, text: str, reason: str, at: datetime) -> None:
        self.check_amendment_time(at)
        self.trigger_event(self.Amended, client_id=self.client_id, text=check_text(text),
                           reason=check_reason(reason), timestamp=at)
