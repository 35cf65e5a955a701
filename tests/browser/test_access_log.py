"""The access log page in a real browser: filters, paging, and a refusal seen by
compliance."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger.errors import Refused
from ledger.queries import Query
from tests.browser.conftest import Console, now
from tests.browser.helpers import rows, sign_in

pytestmark = pytest.mark.browser
READS = 60  # more than a page of 50
ONE = "1 event, page 1 of 1, by time, descending"


def filter_log(page: Page, *, staff: str, outcome: str, caption: str) -> None:
    """Filter, and wait for the table's caption to say what it shows (it must differ from
    the caption before, so the rows read are the new page's)."""
    page.get_by_label("Staff id").fill(staff)
    page.get_by_label("Outcome").select_option(outcome)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#access-log caption")).to_have_text(caption)


def test_the_filters_show_only_matching_rows_a_page_of_50_at_a_time(
        console: Console, page: Page, shot: Any) -> None:
    lg = console.lg
    note = lg.notes.write("C-1", "session text", by="dr-lee", session_date=None, at=now())
    for _ in range(READS):
        lg.notes.read(note, by="dr-lee", purpose="TREAT", at=now())
    with pytest.raises(Refused, match=r"^refused: role billing may not"):
        lg.notes.read(note, by="bill", purpose="TREAT", at=now())
    granted = len(lg.audit.access_log(by="admin", at=now(),
                                      query=Query(staff_id="dr-lee", outcome="granted")))
    assert granted > 50

    sign_in(page, console, "comp")
    page.goto(console("/console/access-log"))
    shot(page, "access-log")
    filter_log(page, staff="dr-lee", outcome="granted",
               caption=f"{granted} events, page 1 of 2, by time, descending")
    first = rows(page)
    assert len(first) == 50
    assert {(r["Staff"], r["Outcome"]) for r in first} == {("dr-lee", "granted")}
    shot(page, "dr-lee-granted-page-1")

    pager = page.get_by_role("navigation", name="Pages of results")
    pager.get_by_role("button", name="Next").click()
    expect(page.locator("#access-log caption")).to_have_text(
        f"{granted} events, page 2 of 2, by time, descending")
    second = rows(page)
    assert len(second) == granted - 50
    assert {(r["Staff"], r["Outcome"]) for r in second} == {("dr-lee", "granted")}
    shot(page, "dr-lee-granted-page-2")

    filter_log(page, staff="bill", outcome="denied", caption=ONE)
    refused = rows(page)
    assert [(r["Staff"], r["Outcome"], r["Action"]) for r in refused] == [
        ("bill", "denied", "access")]
    expect(page.get_by_role("navigation", name="Pages of results")).to_have_count(0)
    shot(page, "bill-denied")


def test_a_clinician_opening_the_access_log_gets_a_403_page_that_compliance_then_sees(
        console: Console, browser: Browser, page: Page, shot: Any) -> None:
    sign_in(page, console, "dr-lee")
    response = page.goto(console("/console/access-log"))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("alert")).to_contain_text("role clinician may not read")
    shot(page, "refused")

    compliance = browser.new_page()
    try:
        sign_in(compliance, console, "comp")
        compliance.goto(console("/console/access-log"))
        filter_log(compliance, staff="dr-lee", outcome="denied", caption=ONE)
        shown = rows(compliance)
        assert [(r["Staff"], r["Role"], r["Outcome"]) for r in shown] == [
            ("dr-lee", "clinician", "denied")]
        assert "access-log" in shown[0]["Action"] + shown[0]["Object"]
        shot(compliance, "seen-by-compliance")
    finally:
        compliance.context.close()
