"""The latest destruction receipts of both stores, for those who manage retention.

A receipt is audit metadata (which rule, citation and dates justified a purge, and when it
ran); it names the destroyed client only by its pseudonymous id, which is left out here:
the client is gone, and a list of receipts needs no identity.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime

from eventsourcing.utils import get_topic

from ledger.aggregates.destruction import Destruction
from ledger.stores.clinical import ClinicalStore


@dataclass(frozen=True)
class ReceiptInfo:
    store: str  # the store's name: main or psychotherapy
    rule_id: str
    citation: str
    anchor: str
    anchor_date: date
    destroy_on: date  # the computed destruction date
    destroyed_at: datetime  # when the purge wrote the receipt


@dataclass(frozen=True)
class Receipts:
    latest: list[ReceiptInfo]  # newest first
    total: dict[str, int]  # receipts per store


def latest_receipts(stores: list[ClinicalStore], limit: int) -> Receipts:
    """The ``limit`` newest receipts across ``stores`` (one scan of each store's receipt
    topic), and how many each store holds."""
    kept: list[ReceiptInfo] = []
    total: dict[str, int] = {}
    for store in stores:
        name = store.settings.name
        last: deque[Destruction.Recorded] = deque(maxlen=limit)
        count = 0
        for n in store.event_log.scan([get_topic(Destruction.Recorded)], page=1000):
            e = store.event_log.decode(n)
            assert isinstance(e, Destruction.Recorded)
            last.append(e)
            count += 1
        total[name] = count
        kept.extend(ReceiptInfo(name, e.rule_id, e.citation, e.anchor,
                                date.fromisoformat(e.anchor_date),
                                date.fromisoformat(e.destroy_on), e.timestamp) for e in last)
    kept.sort(key=lambda r: (r.destroyed_at, r.store), reverse=True)
    return Receipts(kept[:limit], total)
