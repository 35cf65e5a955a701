"""The access log as pages (issue 16): sorted and cut in SQL, only the page's events read
from the log, recorded like the listing; its export recorded as an export; and, for any
small log and query, the pages put end to end are the listing itself (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.bootstrap import Ledger
from ledger.errors import BadInput, Refused
from ledger.queries import Query
from ledger.stores.store import Store
from ledger.vocabulary import ACCESS_PAGE_SORTS
from tests.conftest import AT, audit_entries, open_memory_ledger, seed

LATER = AT + timedelta(days=30)  # when the listings are made (after every event listed)
BEFORE_LISTINGS = (LATER - timedelta(days=1)).date()


def record(store: Store, actor: str, role: str, *, at: datetime, action: str = "access",
           outcome: str = "granted", purpose: str | None = "TREAT",
           client_id: UUID | None = None, break_glass: bool = False,
           object_type: str = "progress-note") -> None:
    with acting_as(Actor(id=actor, role=role)):
        store.save(AuditEntry.record(
            action=action, outcome=outcome, object_type=object_type,  # type: ignore[arg-type]
            at=at, purpose=purpose, client_id=client_id, break_glass=break_glass))


def busy(lg: Ledger) -> None:
    """Twelve reads by two clinicians in the main store, three in the sealed store."""
    seed(lg)
    client = lg.client_id("C-1")
    for i in range(12):
        record(lg.main, ("dr-lee", "dr-kim")[i % 2], "clinician", at=AT + timedelta(hours=i),
               client_id=client, outcome=("granted", "denied")[i % 3 == 0])
    for i in range(3):
        record(lg.pn, "dr-lee", "clinician", at=AT + timedelta(hours=i, minutes=30),
               client_id=client, break_glass=i == 1)


def test_first_page_is_the_newest_and_counts_the_whole_listing(memory_lg: Ledger) -> None:
    busy(memory_lg)
    query = Query(until=BEFORE_LISTINGS)
    listing = memory_lg.audit.access_log(by="comp", at=LATER, query=query)
    page = memory_lg.audit.access_page(by="comp", at=LATER, query=query, per_page=5)
    assert page.total == len(listing) > 15
    assert (page.page, page.per_page, page.pages) == (1, 5, -(-len(listing) // 5))
    assert list(page.records) == listing[::-1][:5]
    assert page.disagreeing == ()
    last = memory_lg.audit.access_page(by="comp", at=LATER, query=query, per_page=5,
                                       page=page.pages, descending=False)
    assert list(last.records) == listing[5 * (page.pages - 1):]
    beyond = memory_lg.audit.access_page(by="comp", at=LATER, query=query, per_page=5,
                                         page=page.pages + 1)
    assert beyond.records == () and beyond.total == page.total


def test_a_page_is_recorded_in_each_store_like_the_listing(memory_lg: Ledger) -> None:
    busy(memory_lg)
    memory_lg.audit.access_page(by="sup", at=LATER, stores=("main", "pn"))
    for store in (memory_lg.main, memory_lg.pn):
        entry = audit_entries(store)[-1]
        assert (entry.action, entry.object_type, entry.outcome, entry.actor_id,  # type: ignore[attr-defined]
                entry.timestamp) == ("list", "access-log", "granted", "sup", LATER)  # type: ignore[attr-defined]


@pytest.mark.parametrize("staff_id", ["dr-lee", "desk", "bill", "nobody"])
def test_a_refused_page_is_recorded(memory_lg: Ledger, staff_id: str) -> None:
    busy(memory_lg)
    with pytest.raises(Refused, match=r"^refused: .*\(the attempt was recorded\)$"):
        memory_lg.audit.access_page(by=staff_id, at=LATER)
    entry = audit_entries(memory_lg.main)[-1]
    assert (entry.action, entry.object_type, entry.outcome, entry.actor_id) == (  # type: ignore[attr-defined]
        "list", "access-log", "denied", staff_id)


@pytest.mark.parametrize(("page", "per_page", "sort", "message"), [
    (1, 0, "at", r"^rows per page must be a whole number from 1 to 200$"),
    (1, 201, "at", r"^rows per page must be a whole number from 1 to 200$"),
    (0, 50, "at", r"^the page number must be a whole number from 1$"),
    (-3, 50, "at", r"^the page number must be a whole number from 1$"),
    (1, 50, "reason", r"^a page cannot be sorted by 'reason'; use one of at, actor_id, "),
    (1, 50, "nonsense", r"^cannot sort by 'nonsense'; use one of store, "),
])
def test_bad_page_requests_are_refused_before_anything_is_recorded(
        memory_lg: Ledger, page: int, per_page: int, sort: str, message: str) -> None:
    busy(memory_lg)
    before = len(audit_entries(memory_lg.main))
    with pytest.raises(BadInput, match=message):
        memory_lg.audit.access_page(by="comp", at=LATER, page=page, per_page=per_page,
                                    query=Query(sort=sort))
    assert len(audit_entries(memory_lg.main)) == before


def test_filters_and_every_sort_both_ways_match_the_listing(memory_lg: Ledger) -> None:
    busy(memory_lg)
    client = memory_lg.client_id("C-1")
    for query in [Query(staff_id="dr-kim"), Query(client_id=client), Query(outcome="denied"),
                  Query(break_glass=True), Query(since=AT.date(), until=AT.date())]:
        for sort in ACCESS_PAGE_SORTS:
            q = Query(**{**query.__dict__, "sort": sort})
            listing = memory_lg.audit.access_log(by="comp", at=LATER, query=q)
            listing = [r for r in listing if r.at < LATER]
            for descending in (False, True):
                page = memory_lg.audit.access_page(by="comp", at=LATER, query=q, per_page=200,
                                                   descending=descending)
                got = [r for r in page.records if r.at < LATER]
                assert got == (listing[::-1] if descending else listing), (q, descending)


def test_from_log_pages_agree_with_the_read_model(memory_lg: Ledger) -> None:
    busy(memory_lg)
    query = Query(until=BEFORE_LISTINGS, sort="actor_id")
    for number in (1, 2, 3):
        fast = memory_lg.audit.access_page(by="comp", at=LATER, query=query, per_page=4,
                                           page=number)
        slow = memory_lg.audit.access_page(by="comp", at=LATER, query=query, per_page=4,
                                           page=number, from_log=True)
        assert fast == slow


def test_an_export_is_recorded_as_one_with_its_count_only(memory_lg: Ledger) -> None:
    busy(memory_lg)
    query = Query(staff_id="dr-lee", until=BEFORE_LISTINGS)
    rows = memory_lg.audit.access_export(by="comp", at=LATER, query=query)
    assert rows == memory_lg.audit.access_log(by="comp", at=LATER, query=query)
    counts = {"main": sum(r.store == "main" for r in rows),
              "pn": sum(r.store == "psychotherapy" for r in rows)}
    assert counts == {"main": 6, "pn": 3}
    for name, store in (("main", memory_lg.main), ("pn", memory_lg.pn)):
        entry = [e for e in audit_entries(store) if e.action == "export"][-1]  # type: ignore[attr-defined]
        assert (entry.object_type, entry.outcome, entry.reason, entry.client_id,  # type: ignore[attr-defined]
                entry.object_id) == ("access-log", "granted",  # type: ignore[attr-defined]
                                     f"CSV export of {counts[name]} rows", None, None)


def test_a_refused_export_is_recorded(memory_lg: Ledger) -> None:
    busy(memory_lg)
    with pytest.raises(Refused, match=r"^refused: role clinician may not read the access log"):
        memory_lg.audit.access_export(by="dr-lee", at=LATER)
    entry = audit_entries(memory_lg.main)[-1]
    assert (entry.action, entry.outcome, entry.actor_id) == ("export", "denied", "dr-lee")  # type: ignore[attr-defined]


# ----- property: the pages end to end are the listing -------------------------------------

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STAFF = [("dr-lee", "clinician"), ("dr-kim", "clinician"), ("Sup", "supervisor"),
         ("desk", "front-desk")]
entries = st.tuples(
    st.sampled_from(["main", "pn"]), st.sampled_from(STAFF),
    st.integers(0, 3),  # the day
    st.integers(0, 2),  # the minute (ties on time are common)
    st.sampled_from(["access", "list", "amend"]), st.sampled_from(["granted", "denied"]),
    st.sampled_from([None, "TREAT", "HOPERAT"]), st.booleans(), st.integers(0, 2),
    st.sampled_from(["progress-note", "psychotherapy-note"]))
queries = st.builds(
    lambda client, staff, since, until, outcome, glass, sort: (client, staff, since, until,
                                                               outcome, glass, sort),
    st.sampled_from([None, 0, 1]), st.sampled_from([None, "dr-lee", "Sup"]),
    st.sampled_from([None, 0, 1, 2]), st.sampled_from([None, 1, 3]),
    st.sampled_from([None, "granted", "denied"]), st.booleans(),
    st.sampled_from(ACCESS_PAGE_SORTS))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries, min_size=2, max_size=25), queries, st.integers(1, 4), st.booleans())
def test_pages_end_to_end_are_the_listing(log: list[tuple[object, ...]],
                                         raw: tuple[object, ...], per_page: int,
                                         descending: bool) -> None:
    with open_memory_ledger() as lg:
        seed(lg, T0)
        clients = [lg.client_id("C-1"), UUID(int=7)]
        for store, (actor, role), day, minute, action, outcome, purpose, glass, who, kind in log:
            record(lg.store(str(store)), str(actor), str(role), action=str(action),
                   at=T0 + timedelta(days=int(day), minutes=int(minute)),  # type: ignore[call-overload]
                   outcome=str(outcome), purpose=purpose,  # type: ignore[arg-type]
                   client_id=clients[who] if who < 2 else None,  # type: ignore[operator,index]
                   break_glass=bool(glass), object_type=str(kind))
        client, staff, since, until, outcome, glass, sort = raw
        day = T0.date()
        query = Query(client_id=clients[client] if client is not None else None,  # type: ignore[index]
                      staff_id=staff, outcome=outcome, break_glass=bool(glass), sort=str(sort),  # type: ignore[arg-type]
                      since=day + timedelta(days=since) if since is not None else None,  # type: ignore[arg-type]
                      until=day + timedelta(days=until if until is not None else 5))  # type: ignore[operator]
        if query.since and query.since > query.until:  # type: ignore[operator]
            return
        at = T0 + timedelta(days=10)  # the listings' own entries fall outside every query
        listing = lg.audit.access_log(by="comp", at=at, query=query)
        first = lg.audit.access_page(by="comp", at=at, query=query, per_page=per_page,
                                     descending=descending)
        pages = [first, *(lg.audit.access_page(by="comp", at=at, query=query, page=n,
                                               per_page=per_page, descending=descending)
                          for n in range(2, first.pages + 1))]
        assert [r for p in pages for r in p.records] == (
            listing[::-1] if descending else listing)
        assert {p.total for p in pages} == {len(listing)}
        assert all(p.disagreeing == () for p in pages)

