"""A destruction precondition met: the agency was notified, the destruction list kept.

Audit metadata (the store's audit key): which client (derived id), which rule's
precondition, when it was done, and a short note (no client identity: write "DPH letter
ref 2031-14", not the client's name).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput


class PreconditionMet(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        client_id: UUID
        rule_id: str
        kind: str
        done_on: str
        note: str

    def __init__(self, client_id: UUID, rule_id: str, kind: str, done_on: str,
                 note: str) -> None:
        self.client_id = client_id
        self.rule_id = rule_id
        self.kind = kind
        self.done_on = date.fromisoformat(done_on)
        self.note = note

    @classmethod
    def record(cls, *, client_id: UUID, rule_id: str, kind: str, done_on: date, note: str,
               at: datetime) -> PreconditionMet:
        if done_on > at.date():
            raise BadInput("the precondition's date is in the future")
        if not note.strip():
            raise BadInput("say what was done (--note)")
        return cls._create(cls.Recorded, id=uuid4(), client_id=client_id, rule_id=rule_id,
                           kind=kind, done_on=done_on.isoformat(), note=note, timestamp=at)
