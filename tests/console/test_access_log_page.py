"""The console's access log: a page cut by the database (the same records as the command's
listing), the next page, and the CSV export of the filtered rows, recorded as an export."""

from __future__ import annotations

import csv
import io

from api.console.csv_export import COLUMNS
from ledger.aggregates.audit import AuditEntry
from ledger.queries import Query
from tests.api.conftest import Practice
from tests.conftest import all_events
from tests.console.conftest import csrf_of, entries, now, sign_in


def reads(practice: Practice, n: int) -> None:
    lg = practice.lg
    note = lg.notes.write("C-1", "note", by="dr-lee", session_date=None, at=now())
    for _ in range(n):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=now())


def test_pages_of_fifty_newest_first(practice: Practice) -> None:
    reads(practice, 70)
    sign_in(practice, "comp")
    csrf = csrf_of(practice.client.get("/console/").text)
    first = practice.client.post("/console/access-log", data={"csrf": csrf, "staff": "dr-lee"})
    assert first.status_code == 200
    listing = practice.lg.audit.access_log(by="admin", at=now(),
                                           query=Query(staff_id="dr-lee"))[::-1]
    assert len(listing) == 71
    assert "71 events, page 1 of 2, by time, descending" in first.text
    assert first.text.count('<tr class="outcome-') == 50
    assert f'datetime="{listing[0].at.isoformat()}"' in first.text
    second = practice.client.post("/console/access-log", data={
        "csrf": csrf_of(first.text), "staff": "dr-lee", "page": "2"})
    assert "71 events, page 2 of 2" in second.text
    assert second.text.count('<tr class="outcome-') == 21
    assert f'datetime="{listing[-1].at.isoformat()}"' in second.text


def test_the_export_is_the_filtered_rows_as_csv_and_is_recorded(practice: Practice) -> None:
    reads(practice, 3)
    sign_in(practice, "comp")
    csrf = csrf_of(practice.client.get("/console/").text)
    answer = practice.client.post("/console/access-log", data={
        "csrf": csrf, "staff": "dr-lee", "export": "1"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="access-log.csv"'
    header, *rows = list(csv.reader(io.StringIO(answer.text, newline="")))
    assert tuple(header) == COLUMNS
    assert len(rows) == 4 and {r[COLUMNS.index("actor_id")] for r in rows} == {"dr-lee"}
    recorded = [e for e in entries(practice, "export") if e.object_type == "access-log"]
    assert [(e.actor_id, e.outcome, e.reason) for e in recorded] == [
        ("comp", "granted", "CSV export of 4 rows")]
    sealed = [e for e in all_events(practice.lg.pn) if isinstance(e, AuditEntry.Recorded)
              and e.action == "export"]
    assert [(e.object_type, e.reason) for e in sealed] == [("access-log", "CSV export of 0 rows")]


def test_an_edited_row_is_named_and_a_deleted_one_is_found_from_the_log(
        practice: Practice) -> None:
    """The insider's tricks on the read model: a row edited to hide who read, and a
    break-the-glass row deleted."""
    import sqlalchemy as sa

    lg = practice.lg
    note = lg.notes.write("C-1", "note", by="dr-lee", session_date=None, at=now())
    lg.notes.read(note, by="bill", purpose="BTG", at=now(), break_glass_reason="urgent")
    lg.notes.read(note, by="dr-kim", purpose="TREAT", at=now())
    lg.main.access_projection.catch_up()
    with lg.main.engine.begin() as db:
        db.execute(sa.text("UPDATE ledger_access SET actor_id = 'someone' "
                           "WHERE actor_id = 'dr-kim'"))
        db.execute(sa.text("DELETE FROM ledger_access WHERE break_glass"))
    sign_in(practice, "comp")
    csrf = csrf_of(practice.client.get("/console/").text)
    shown = practice.client.post("/console/access-log", data={"csrf": csrf, "store": "main"})
    assert "the read model disagrees with the log" in shown.text
    assert ">someone<" not in shown.text and ">bill<" not in shown.text
    from_log = practice.client.post("/console/access-log", data={
        "csrf": csrf, "store": "main", "from_log": "1", "break_glass": "1"})
    assert "1 event, page 1 of 1" in from_log.text
    assert "<td>bill</td>" in from_log.text
