"""Who saw what: the access log and the accounting of disclosures, across both stores.

Reading either is itself recorded, in each store it reads (compliance, supervisors and
admins may). The access log is answered from each store's indexed projection, or with
``from_log`` straight from the event log; the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from uuid import UUID

from ledger.aggregates.base import utc
from ledger.errors import BadInput, NotFound
from ledger.keys.pseudonyms import ClientIds
from ledger.queries import Query, check, select
from ledger.rules import roles
from ledger.rules.accounting import Accounting, summarise
from ledger.services.audited import Attempt
from ledger.services.timeline import store_timeline
from ledger.stores.clinical import ClinicalStore
from ledger.views import AccessRecord, AccountingEntry, Timeline, TimelineItem

STORES = ("main", "pn")


class AuditLog:
    def __init__(self, stores: Mapping[str, Callable[[], ClinicalStore]],
                 client_id: ClientIds) -> None:
        """``stores``: each store by its short name (main, pn), opened when first asked."""
        self._stores = stores
        self.client_id = client_id

    def access_log(self, *, by: str, at: datetime, query: Query | None = None,
                   stores: tuple[str, ...] = STORES,
                   from_log: bool = False) -> list[AccessRecord]:
        """Access and disclosure events matching ``query``, in one order across the stores."""
        query = check(query or Query())
        records: list[AccessRecord] = []
        for name in stores:
            store = self._stores[name]()
            with Attempt(store, by, "list", "access-log", at=at) as use:
                use.decide(roles.READ_AUDIT, what="access log")
                records += store.access_records(query, from_log=from_log)
                use.commit()
        return select(records, query)

    def accounting(self, client_ref: str, *, by: str, at: datetime,
                   requested_on: date | None = None, stores: tuple[str, ...] = STORES,
                   from_log: bool = False) -> Accounting:
        """The accountable disclosures about the client in the six years before the
        request (164.528(a)(1)), summarised as (b)(3) allows."""
        at = utc(at)
        requested_on = requested_on or at.date()
        if requested_on > at.date():
            raise BadInput("the accounting's request date is in the future")
        client_id = self.client_id(client_ref)
        entries: list[AccountingEntry] = []
        for name in stores:
            store = self._stores[name]()
            with Attempt(store, by, "list", "accounting", at=at, client_id=client_id) as use:
                use.decide(roles.READ_AUDIT, what="accounting")
                use.load(partial(_known, store, client_id, f"client {client_ref} not found"))
                entries += store.accountable_disclosures(client_id, requested_on,
                                                         from_log=from_log)
                use.commit()
        return summarise(str(client_id), requested_on, entries)

    def timeline(self, client_ref: str, *, by: str, at: datetime, since: date | None = None,
                 until: date | None = None, stores: tuple[str, ...] = STORES) -> Timeline:
        """Everything recorded about the client in both stores, in time order: uses,
        disclosures, refusals, amendments, originations, break-the-glass, and retention
        events (holds, preconditions, destruction receipts). A destroyed client's events
        still read (they are audit metadata); the destruction receipts come last."""
        if since and until and since > until:
            raise BadInput("--from is after --to")
        client_id = self.client_id(client_ref)
        items: list[TimelineItem] = []
        order: dict[str, int] = {}
        for name in stores:
            store = self._stores[name]()
            order[store.settings.name] = len(order)
            with Attempt(store, by, "list", "timeline", at=at, client_id=client_id) as use:
                use.decide(roles.READ_AUDIT, what="timeline")
                use.load(partial(_known, store, client_id))
                items += store_timeline(store, client_id, since=since, until=until)
                use.commit()
        items.sort(key=lambda i: (i.at, order[i.store], i.position))
        return Timeline(client_id, since, until, tuple(items))


def _known(store: ClinicalStore, client_id: UUID, message: str = "client not found") -> None:
    if not store.client_exists(client_id):
        raise NotFound(message)
