"""Clients. Their identity (name, date of birth, reference) is sealed under the client's
own data key; only the derived client id (a UUID) appears in audit metadata."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent, named_id
from ledger.errors import BadInput

US_JURISDICTIONS = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)


class Client(Aggregate):
    class Registered(Aggregate.Created, LedgerEvent):
        sealed_under: ClassVar[str] = "originator_id"
        client_ref: str
        name: str
        dob: str
        jurisdiction: str

    class NoteAttached(LedgerEvent):
        sealed_under: ClassVar[str] = "originator_id"
        note_id: UUID

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Client)
            aggregate.note_ids.append(self.note_id)

    def __init__(self, client_ref: str, name: str, dob: str, jurisdiction: str) -> None:
        self.client_ref = client_ref
        self.name = name
        self.dob = dob
        self.jurisdiction = jurisdiction
        self.note_ids: list[UUID] = []

    @staticmethod
    def id_for(client_ref: str) -> UUID:
        return named_id("client", client_ref)

    @classmethod
    def register(cls, client_ref: str, name: str, dob: date, jurisdiction: str,
                 at: datetime) -> Client:
        if not client_ref.strip() or not name.strip():
            raise BadInput("client id and name must not be empty")
        state = jurisdiction.upper()
        if state not in US_JURISDICTIONS:
            raise BadInput(f"unknown state {jurisdiction!r}; use a two-letter US code")
        if dob > at.date():
            raise BadInput("date of birth is in the future")
        return cls._create(cls.Registered, id=cls.id_for(client_ref), client_ref=client_ref,
                           name=name, dob=dob.isoformat(), jurisdiction=state, timestamp=at)

    def attach_note(self, note_id: UUID, at: datetime) -> None:
        self.trigger_event(self.NoteAttached, note_id=note_id, timestamp=at)
