"""Clients. Their identity (name, date of birth, reference) is sealed under the client's
own data key; only the client id, a keyed pseudonym of the reference (a UUID), appears in
audit metadata."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.display import shown
from ledger.errors import BadInput
from ledger.identifiers import check_client_ref
from ledger.vocabulary import US_JURISDICTIONS


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

    class EpisodeOpened(LedgerEvent):
        """An episode of care began, with the license (and facility) that served it: the
        facts the state retention rules turn on."""

        sealed_under: ClassVar[str] = "originator_id"
        license: str
        facility: str | None
        start: str
        # Where the service was provided (its license's state); None in episodes recorded
        # before states were: the state the client was registered in.
        jurisdiction: str | None = None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Client)
            aggregate.episodes.append({"license": self.license, "facility": self.facility,
                                       "start": self.start, "end": None, "end_kind": None,
                                       "jurisdiction": self.jurisdiction})

    class EpisodeClosed(LedgerEvent):
        sealed_under: ClassVar[str] = "originator_id"
        end: str
        end_kind: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Client)
            aggregate.episodes[-1] |= {"end": self.end, "end_kind": self.end_kind}

    class ContactRecorded(LedgerEvent):
        sealed_under: ClassVar[str] = "originator_id"
        on: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Client)
            aggregate.contacts.append(self.on)
            if aggregate.last_contact is None or self.on > aggregate.last_contact:
                aggregate.last_contact = self.on

    def __init__(self, client_ref: str, name: str, dob: str, jurisdiction: str) -> None:
        self.client_ref = client_ref
        self.name = name
        self.dob = dob
        self.jurisdiction = jurisdiction
        self.note_ids: list[UUID] = []
        self.episodes: list[dict[str, str | None]] = []
        self.last_contact: str | None = None
        self.contacts: list[str] = []

    @classmethod
    def register(cls, client_id: UUID, client_ref: str, name: str, dob: date,
                 jurisdiction: str, at: datetime) -> Client:
        """``client_id``: the pseudonym of ``client_ref`` (``ledger.keys.pseudonyms``)."""
        check_client_ref(client_ref)
        if not name.strip():
            raise BadInput("client id and name must not be empty")
        state = jurisdiction.upper()
        if state not in US_JURISDICTIONS:
            raise BadInput(f"unknown state {shown(jurisdiction)}; use a two-letter US code")
        if dob > at.date():
            raise BadInput("date of birth is in the future")
        return cls._create(cls.Registered, id=client_id, client_ref=client_ref,
                           name=name, dob=dob.isoformat(), jurisdiction=state, timestamp=at)

    def attach_note(self, note_id: UUID, at: datetime) -> None:
        self.trigger_event(self.NoteAttached, note_id=note_id, timestamp=at)

    def open_episode(self, license: str, facility: str | None, start: date,
                     at: datetime, jurisdiction: str | None = None) -> None:
        """``jurisdiction``: the state the service is provided in (default: the state the
        client was registered in)."""
        state = (jurisdiction or self.jurisdiction).upper()
        if state not in US_JURISDICTIONS:
            raise BadInput(f"unknown state {shown(jurisdiction or '')}; use a two-letter US "
                           "code")
        if self.episodes and self.episodes[-1]["end"] is None:
            raise BadInput("an episode of care is already open; close it first")
        if start > at.date():
            raise BadInput("the episode's start date is in the future")
        if start < date.fromisoformat(self.dob):
            raise BadInput("the episode starts before the date of birth")
        self.trigger_event(self.EpisodeOpened, license=license, facility=facility,
                           start=start.isoformat(), jurisdiction=state, timestamp=at)

    def close_episode(self, end: date, end_kind: str, at: datetime) -> None:
        if not self.episodes or self.episodes[-1]["end"] is not None:
            raise BadInput("no episode of care is open")
        if end_kind not in ("discharge", "termination"):
            raise BadInput("an episode ends by discharge or termination")
        start = self.episodes[-1]["start"]
        assert start is not None
        if end > at.date() or end < date.fromisoformat(start):
            raise BadInput("the episode's end date must lie between its start and today")
        self.trigger_event(self.EpisodeClosed, end=end.isoformat(), end_kind=end_kind,
                           timestamp=at)

    def record_contact(self, on: date, at: datetime) -> None:
        if on > at.date():
            raise BadInput("the contact date is in the future")
        if on < date.fromisoformat(self.dob):
            raise BadInput("the contact date is before the date of birth")
        self.trigger_event(self.ContactRecorded, on=on.isoformat(), timestamp=at)
