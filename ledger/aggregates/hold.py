"""Legal holds: while a hold names a client, nothing of the client is destroyed.

Audit metadata (sealed under the store's audit key, never shredded): the matter, the
clients' derived ids, who placed and released it, when and why.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent
from ledger.errors import BadInput


class Hold(Aggregate):
    class Placed(Aggregate.Created, LedgerEvent):
        matter: str | None
        client_ids: list[UUID]
        reason: str

    class Released(LedgerEvent):
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Hold)
            aggregate.released_at = self.timestamp
            aggregate.release_reason = self.reason

    def __init__(self, matter: str | None, client_ids: list[UUID], reason: str,
                 actor_id: str, timestamp: datetime) -> None:
        self.matter = matter
        self.client_ids = list(client_ids)
        self.reason = reason
        self.placed_by = actor_id
        self.placed_at = timestamp
        self.released_at: datetime | None = None
        self.release_reason: str | None = None

    @classmethod
    def place(cls, *, matter: str | None, client_ids: list[UUID], reason: str,
              at: datetime) -> Hold:
        if not client_ids:
            raise BadInput("a hold names at least one client")
        if not reason.strip():
            raise BadInput("a hold needs a reason")
        if matter is not None and not matter.strip():
            raise BadInput("--matter must name the matter")
        return cls._create(cls.Placed, id=uuid4(), matter=matter,
                           client_ids=list(dict.fromkeys(client_ids)), reason=reason,
                           timestamp=at)

    def release(self, reason: str, at: datetime) -> None:
        if self.released_at is not None:
            raise BadInput(f"hold {self.id} was already released")
        if not reason.strip():
            raise BadInput("releasing a hold needs a reason")
        self.trigger_event(self.Released, reason=reason, timestamp=at)
