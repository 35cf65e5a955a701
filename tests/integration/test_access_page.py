"""The access log's pages on SQLite and PostgreSQL: sorted and cut by the database as the
listing sorts (text by code point, no value first), and a read model edited by an insider
caught on the page that shows the edited row; a deleted row is not, but ``from_log`` is."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ledger.aggregates.audit import AuditEntry
from ledger.aggregates.base import Actor, acting_as
from ledger.bootstrap import Ledger
from ledger.queries import Query
from ledger.vocabulary import ACCESS_PAGE_SORTS
from tests.conftest import AT, seed

LATER = AT + timedelta(days=30)
BEFORE = (LATER - timedelta(days=1)).date()


def fill(lg: Ledger) -> None:
    """Reads by staff whose ids differ in case and punctuation (code-point order is not a
    locale's), with and without a purpose, in both stores, several at the same time."""
    seed(lg)
    client = lg.client_id("C-1")
    actors = [("dr-lee", "clinician"), ("Dr-Zed", "clinician"), ("dr_ann", "supervisor"),
              ("dr-kim", "clinician")]
    for i in range(16):
        actor, role = actors[i % 4]
        store = lg.pn if i % 5 == 0 else lg.main
        with acting_as(Actor(id=actor, role=role)):
            store.save(AuditEntry.record(
                action="access", outcome=("granted", "denied")[i % 3 == 0],
                object_type="progress-note", at=AT + timedelta(hours=i // 3),
                purpose=(None, "TREAT", "HOPERAT")[i % 3], client_id=client,
                break_glass=i % 7 == 0))


def test_every_sort_both_ways_is_the_listing(lg: Ledger) -> None:
    fill(lg)
    for sort in ACCESS_PAGE_SORTS:
        query = Query(sort=sort, until=BEFORE)
        listing = lg.audit.access_log(by="comp", at=LATER, query=query)
        for descending in (False, True):
            pages = [lg.audit.access_page(by="comp", at=LATER, query=query, page=n, per_page=4,
                                          descending=descending) for n in range(1, 6)]
            assert pages[0].total == len(listing) == 17 and pages[0].pages == 5
            assert [r for p in pages for r in p.records] == (
                listing[::-1] if descending else listing), (sort, descending)


def test_filtered_by_staff_and_client(lg: Ledger) -> None:
    fill(lg)
    for query in (Query(staff_id="Dr-Zed"), Query(client_id=lg.client_id("C-1")),
                  Query(staff_id="dr-lee", outcome="denied", break_glass=True)):
        listing = lg.audit.access_log(by="comp", at=LATER, query=query)
        page = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200)
        assert list(page.records) == listing[::-1]
        assert page.total == len(listing)


def edit_row(lg: Ledger, position: int, **values: object) -> None:
    table = lg.main.access_projection.table
    with lg.main.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.position == position).values(**values))


@pytest.mark.parametrize("change", [{"break_glass": True}, {"actor_id": "dr-kim"},
                                    {"outcome": "granted"}, {"at": AT + timedelta(days=3)},
                                    {"purpose": "HLEGAL"}])
def test_an_insider_edit_of_the_read_model_is_flagged_on_the_page(
        lg: Ledger, change: dict[str, object]) -> None:
    fill(lg)
    query = Query(until=BEFORE)
    before = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200)
    victim = next(r for r in before.records if r.store == "main" and r.outcome == "denied"
                  and not r.break_glass and r.actor_id != "dr-kim")
    edit_row(lg, victim.position, **change)
    after = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200)
    assert after.disagreeing == (
        f"main: position {victim.position}: the read model disagrees with the log",)
    assert victim not in after.records
    assert [r for r in before.records if r != victim] == list(after.records)
    if "break_glass" in change:  # the edit that makes a row answer a filter it did not
        flagged = lg.audit.access_page(by="comp", at=LATER, query=Query(break_glass=True))
        assert f"main: position {victim.position}: the read model disagrees with the log" in (
            flagged.disagreeing)
        assert all(r.break_glass for r in flagged.records)


def test_a_deleted_row_is_not_noticed_by_a_page_but_from_log_shows_the_event(
        lg: Ledger) -> None:
    fill(lg)
    query = Query(until=BEFORE)
    before = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200)
    victim = next(r for r in before.records if r.store == "main")
    table = lg.main.access_projection.table
    with lg.main.engine.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.position == victim.position))
    after = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200)
    assert victim not in after.records and after.disagreeing == ()
    assert after.total == before.total - 1
    trusted = lg.audit.access_page(by="comp", at=LATER, query=query, per_page=200,
                                   from_log=True)
    assert trusted.records == before.records and trusted.total == before.total
