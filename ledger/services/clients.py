"""Clients: registration, and the facts the retention rules need (episodes of care and
contacts). Identity is sealed under the client's own data key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.aggregates.client import Client
from ledger.errors import BadInput
from ledger.keys.pseudonyms import ClientIds
from ledger.rules import roles
from ledger.services.audited import Attempt, retry_on_conflict
from ledger.stores.main import MainStore
from ledger.vocabulary import check_facility, check_license


class Clients:
    def __init__(self, main: MainStore, client_id: ClientIds) -> None:
        self.main = main
        self.client_id = client_id

    def register(self, client_ref: str, name: str, dob: date, jurisdiction: str, *, by: str,
                 at: datetime) -> UUID:
        client_id = self.client_id(client_ref)
        with Attempt(self.main, by, "register", "client", at=at,
                     client_id=client_id) as attempt:
            attempt.decide(roles.REGISTER_CLIENT)
            attempt.about(object_id=client_id)
            if self.main.client_exists(client_id):
                self.main.get(Client, client_id, "client")  # a purged one: ContentDestroyed
                raise BadInput(f"client {client_ref} already exists")
            client = Client.register(client_id, client_ref, name, dob, jurisdiction,
                                     attempt.at)
            try:
                attempt.commit(client)
            except IntegrityError:  # registered by another process since the check above
                raise BadInput(f"client {client_ref} already exists") from None
        return client.id

    def open_episode(self, client_ref: str, *, license: str, facility: str | None,
                     start: date, by: str, at: datetime, state: str | None = None) -> None:
        """An episode of care began: the state it is provided in (default: the client's
        state of registration), the license and the facility decide the retention rules."""
        check_license(license)
        check_facility(facility)
        self._change(client_ref, by, at,
                     lambda c, t: c.open_episode(license, facility, start, t, state))

    def close_episode(self, client_ref: str, *, end: date, kind: str, by: str,
                      at: datetime) -> None:
        self._change(client_ref, by, at, lambda c, t: c.close_episode(end, kind, t))

    def record_contact(self, client_ref: str, *, on: date, by: str, at: datetime) -> None:
        self._change(client_ref, by, at, lambda c, t: c.record_contact(on, t))

    def _change(self, client_ref: str, by: str, at: datetime,
                change: Callable[[Client, datetime], None]) -> None:
        client_id = self.client_id(client_ref)

        def attempt() -> None:
            with Attempt(self.main, by, "amend", "client-facts", at=at,
                         client_id=client_id) as use:
                use.decide(roles.REGISTER_CLIENT)
                use.about(object_id=client_id)
                client = self.main.client(client_id, client_ref)
                change(client, use.at)
                use.commit(client)

        retry_on_conflict(attempt)
