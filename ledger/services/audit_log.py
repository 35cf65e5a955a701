"""Who saw what: the access log and the accounting of disclosures, across both stores.

Reading either is itself recorded, in each store it reads (compliance, supervisors and
admins may). The access log is answered from each store's indexed projection, or with
``from_log`` straight from the event log; the two agree. A page of it is sorted and cut in
SQL, and only its own events are read from the log; an export of it is recorded as one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID

from ledger.aggregates.base import utc
from ledger.errors import BadInput, NotFound
from ledger.keys.pseudonyms import ClientIds
from ledger.queries import Query, check, check_page, order_key, select
from ledger.rules import roles
from ledger.rules.accounting import Accounting, summarise
from ledger.services.audited import Attempt
from ledger.services.timeline import store_timeline
from ledger.stores.clinical import ClinicalStore
from ledger.views import AccessPage, AccessRecord, AccountingEntry, Timeline, TimelineItem

STORES = ("main", "pn")
# A read-model row on its way to a page: where it falls, its store's short name, the row.
_Candidate = tuple[Any, str, dict[str, Any]]


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

    def access_page(self, *, by: str, at: datetime, query: Query | None = None,
                    page: int = 1, per_page: int = 50, descending: bool = True,
                    stores: tuple[str, ...] = STORES, from_log: bool = False) -> AccessPage:
        """Page ``page`` of the access log ordered by ``query.sort`` (newest first when
        ``descending``), recorded as ``access_log`` is.

        Each store's read model gives its first ``page * per_page`` rows in order and its
        count; the rows are merged in one order across the stores and only the page's
        events are read from the log. The read model is a cache: every record is checked
        against its row and the query, and a row that disagrees is left out and named.
        A row deleted from the read model cannot be noticed that way; ``from_log`` reads
        the logs themselves and pages in Python (slow at scale, but it trusts no cache)."""
        query = check_page(query or Query(), page, per_page)
        skip, wanted = (page - 1) * per_page, page * per_page
        if from_log:
            chosen = self.access_log(by=by, at=at, query=query, stores=stores, from_log=True)
            ordered = chosen[::-1] if descending else chosen
            return _page(ordered[skip:wanted], len(chosen), page, per_page, ())
        candidates, total = self._first_rows(by, at, query, wanted, descending, stores)
        shown = candidates[skip:wanted]
        found: dict[tuple[str, int], AccessRecord] = {}
        disagreeing: list[str] = []
        for name in stores:  # only the page's own events are read from each log
            records, wrong = self._stores[name]().checked_records(
                [r for _, n, r in shown if n == name], query)
            found |= {(name, p): r for p, r in records.items()}
            disagreeing += wrong
        return _page([found[n, r["position"]] for _, n, r in shown
                      if (n, r["position"]) in found], total, page, per_page,
                     tuple(disagreeing))

    def _first_rows(self, by: str, at: datetime, query: Query, wanted: int, descending: bool,
                    stores: tuple[str, ...]) -> tuple[list[_Candidate], int]:
        """Each store's first ``wanted`` rows (its reading recorded), merged in one order
        across the stores, and how many rows the stores hold for the query."""
        candidates: list[_Candidate] = []
        total = 0
        for name in stores:
            store = self._stores[name]()
            with Attempt(store, by, "list", "access-log", at=at) as use:
                use.decide(roles.READ_AUDIT, what="access log")
                rows, count = store.access_rows(query, limit=wanted, descending=descending)
                use.commit()
            total += count
            candidates += [(order_key(r[query.sort], r["at"], store.settings.name,
                                      r["position"]), name, r) for r in rows]
        candidates.sort(key=lambda c: c[0], reverse=descending)
        return candidates, total

    def access_export(self, *, by: str, at: datetime, query: Query | None = None,
                      stores: tuple[str, ...] = STORES,
                      from_log: bool = False) -> list[AccessRecord]:
        """Every record answering ``query``, in its order, for a CSV file: recorded in each
        store as an export of the access log ("CSV export of N rows": that store's count,
        nothing about whom the rows concern)."""
        query = check(query or Query())
        records: list[AccessRecord] = []
        for name in stores:
            store = self._stores[name]()
            with Attempt(store, by, "export", "access-log", at=at) as use:
                use.decide(roles.READ_AUDIT, what="access log")
                mine = select(store.access_records(query, from_log=from_log), query)
                use.commit(reason=f"CSV export of {len(mine)} rows")
            records += mine
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


def _page(records: list[AccessRecord], total: int, page: int, per_page: int,
          disagreeing: tuple[str, ...]) -> AccessPage:
    return AccessPage(records=tuple(records), total=total, page=page, per_page=per_page,
                      pages=max(1, -(-total // per_page)), disagreeing=disagreeing)
