"""Key-encryption key versions made current and retired: audit metadata in the store whose
key changed (sealed under its audit key, never shredded). Made by the key holder.

A rotation is recorded once, when it ends: every live data key of the store is then wrapped
under the new version (a rotation interrupted and resumed is still one event, its id derived
from the store and version). A retirement is recorded when the version was destroyed.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent


class KekRotation(Aggregate):
    class Completed(Aggregate.Created, LedgerEvent):
        class_version = 1
        store: str
        version: int  # the new current version
        started_at: str  # when the version was made (ISO 8601)
        live_keys: int  # live data keys wrapped under it at the end

    def __init__(self, store: str, version: int, started_at: str, live_keys: int,
                 timestamp: datetime) -> None:
        self.store = store
        self.version = version
        self.started_at = started_at
        self.live_keys = live_keys
        self.at = timestamp

    @classmethod
    def complete(cls, *, rotation_id: UUID, store: str, version: int, started_at: datetime,
                 live_keys: int, at: datetime) -> KekRotation:
        return cls._create(cls.Completed, id=rotation_id, store=store, version=version,
                           started_at=started_at.isoformat(), live_keys=live_keys,
                           timestamp=at)


class KekRetirement(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        class_version = 1
        store: str
        version: int  # the version destroyed

    def __init__(self, store: str, version: int, timestamp: datetime) -> None:
        self.store = store
        self.version = version
        self.at = timestamp

    @classmethod
    def record(cls, *, retirement_id: UUID, store: str, version: int,
               at: datetime) -> KekRetirement:
        return cls._create(cls.Recorded, id=retirement_id, store=store, version=version,
                           timestamp=at)
