"""Restores: one per store each time ``ledger restore`` put a backup back.

Audit metadata (the store's audit key): the log position the store was restored to, how
many events after it were lost (known from the heads and signed checkpoints kept outside
the database), how many destructions the journal re-applied, when the backup was taken,
and the checkpoint epoch the restore began.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent


class Restore(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        store: str
        restored_to: int
        lost: int
        reapplied: int
        backup_taken_at: str
        epoch: int

    def __init__(self, store: str, restored_to: int, lost: int, reapplied: int,
                 backup_taken_at: str, epoch: int, timestamp: datetime) -> None:
        self.store = store
        self.restored_to = restored_to
        self.lost = lost
        self.reapplied = reapplied
        self.backup_taken_at = backup_taken_at
        self.epoch = epoch
        self.at = timestamp

    @classmethod
    def record(cls, *, restore_id: UUID, store: str, restored_to: int, lost: int,
               reapplied: int, backup_taken_at: datetime, epoch: int,
               at: datetime) -> Restore:
        return cls._create(cls.Recorded, id=restore_id, store=store, restored_to=restored_to,
                           lost=lost, reapplied=reapplied,
                           backup_taken_at=backup_taken_at.isoformat(), epoch=epoch,
                           timestamp=at)
