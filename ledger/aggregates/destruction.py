"""Destruction receipts: one per store per purged client.

Audit metadata (the store's audit key, never shredded): which client (derived id), under
which rule and citation, from which anchor and dates, which data key and the
key-encryption key version it was wrapped under (until that version is retired, a backup
may still hold it: the receipt keeps the version in the chain, where the keys table's
column could be edited). The receipt is
written before the key is destroyed, while the facts that justify it are still readable;
a purge interrupted between the two is completed by the next run.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import LedgerEvent


class Destruction(Aggregate):
    class Recorded(Aggregate.Created, LedgerEvent):
        client_id: UUID
        rule_id: str
        citation: str
        anchor: str
        anchor_date: str
        destroy_on: str
        key_id: str | None
        kek_version: int | None = None  # receipts written before versions existed: None

    def __init__(self, client_id: UUID, rule_id: str, citation: str, anchor: str,
                 anchor_date: str, destroy_on: str, key_id: str | None,
                 timestamp: datetime, kek_version: int | None = None) -> None:
        self.client_id = client_id
        self.rule_id = rule_id
        self.citation = citation
        self.anchor = anchor
        self.anchor_date = anchor_date
        self.destroy_on = destroy_on
        self.key_id = key_id
        self.kek_version = kek_version
        self.at = timestamp

    @classmethod
    def record(cls, *, receipt_id: UUID, client_id: UUID, rule_id: str, citation: str,
               anchor: str, anchor_date: str, destroy_on: str, key_id: UUID | None,
               at: datetime, kek_version: int | None = None) -> Destruction:
        return cls._create(cls.Recorded, id=receipt_id, client_id=client_id, rule_id=rule_id,
                           citation=citation, anchor=anchor, anchor_date=anchor_date,
                           destroy_on=destroy_on, key_id=key_id.hex if key_id else None,
                           kek_version=kek_version, timestamp=at)
