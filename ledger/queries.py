"""What the access-log service takes: a query, and how records are filtered and sorted.

The records come from each store's log; this module only checks the query, selects and
orders them, so the same query serves both stores and one order spans them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from ledger.display import shown
from ledger.errors import BadInput
from ledger.identifiers import check_staff_id
from ledger.views import AccessRecord
from ledger.vocabulary import ACCESS_LOG_FIELDS, ACCESS_PAGE_SIZES, ACCESS_PAGE_SORTS

SORT_FIELDS = ACCESS_LOG_FIELDS


@dataclass(frozen=True)
class Query:
    client_id: UUID | None = None
    staff_id: str | None = None
    since: date | None = None
    until: date | None = None
    outcome: str | None = None
    break_glass: bool = False
    sort: str = "at"


def check(query: Query) -> Query:
    """Bad input stops here, before any reading is recorded."""
    if query.sort not in SORT_FIELDS:
        raise BadInput(f"cannot sort by {shown(query.sort)}; use one of {', '.join(SORT_FIELDS)}")
    if query.staff_id is not None:
        check_staff_id(query.staff_id, "the staff id to filter by")
    if query.since and query.until and query.since > query.until:
        raise BadInput("--from is after --to")
    return query


def check_page(query: Query, page: int, per_page: int) -> Query:
    """A page of the access log: sorted by a field the read model holds, bounded in size."""
    check(query)
    if query.sort not in ACCESS_PAGE_SORTS:
        raise BadInput(f"a page cannot be sorted by {shown(query.sort)}; use one of "
                       f"{', '.join(ACCESS_PAGE_SORTS)}")
    least, most = ACCESS_PAGE_SIZES
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not (
            least <= per_page <= most):
        raise BadInput(f"rows per page must be a whole number from {least} to {most}")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise BadInput("the page number must be a whole number from 1")
    return query


def select(records: Iterable[AccessRecord], query: Query) -> list[AccessRecord]:
    check(query)
    chosen = [r for r in records if matches(r, query)]
    return sorted(chosen, key=lambda r: order_key(getattr(r, query.sort), r.at, r.store,
                                                  r.position))


def order_key(value: object, at: datetime, store: str, position: int
              ) -> tuple[tuple[int, float, str], datetime, str, int]:
    """Where a record falls in a listing sorted by a field of value ``value``: then by
    time, store and position (one order across the stores)."""
    return (sort_key(value), at, store, position)


def matches(r: AccessRecord, q: Query) -> bool:
    """Whether the record answers the query (the predicate every listing applies)."""
    day = r.at.date()
    return ((q.client_id is None or r.client_id == q.client_id)
            and (q.staff_id is None or r.actor_id == q.staff_id)
            and (q.since is None or day >= q.since)
            and (q.until is None or day <= q.until)
            and (q.outcome is None or r.outcome == q.outcome)
            and (not q.break_glass or r.break_glass))


def sort_key(value: object) -> tuple[int, float, str]:
    """None first; numbers and flags by value; times by their ISO text; the rest as text."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value), "")
    if isinstance(value, datetime | date):
        return (2, 0.0, value.isoformat())
    return (2, 0.0, str(value))
