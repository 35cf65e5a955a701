"""The investigator's report in a real browser: "no release" while no psychotherapy note has
left the practice, then the release named once one has, and the evidence bundle downloaded
by its button."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, now
from tests.browser.helpers import checked, sign_in
from tests.conftest import PN_ASSERTION

pytestmark = pytest.mark.browser


def test_the_report_says_no_release_then_names_the_release_after_one(
        console: Console, page: Page, shot: Any) -> None:
    lg = console.lg
    note = lg.notes.write("C-1", "slept badly", by="dr-lee", session_date=None, at=now())
    lg.notes.read(note, by="dr-kim", purpose="TREAT", at=now(),
                  break_glass_reason="client in crisis")
    lg.psychotherapy.write("C-1", "process", by="dr-lee", session_date=None, at=now())
    lg.integrity.checkpoint(at=now())

    sign_in(page, console, "comp")
    page.get_by_role("navigation", name="Pages").get_by_role(
        "link", name="Investigator's report").click()
    expect(page.locator("#conclusion")).to_have_text(
        "No release: no psychotherapy note was released to anyone other than its originator.")
    expect(page.locator("#store-main")).to_contain_text("main: verified")
    expect(page.locator("#store-psychotherapy")).to_contain_text("psychotherapy: verified")
    expect(page.locator("svg g.marker.marker-break-the-glass")).to_have_count(1)
    expect(page.locator("svg g.marker.marker-release")).to_have_count(0)
    checked(page, shot, "no-release")

    pn_note = lg.psychotherapy.list_notes("C-1", by="dr-lee", at=now())[0].note_id
    lg.psychotherapy.disclose("C-1", [pn_note], by="comp", recipient="County Coroner",
                              recipient_type="coroner", purpose="PUBHLTH",
                              exception="CORONER_512g1", assertion=PN_ASSERTION[1], at=now())
    lg.integrity.checkpoint(at=now())
    page.reload()
    expect(page.locator("#conclusion")).not_to_contain_text("No release")
    expect(page.locator("#releases li")).to_have_count(1)
    expect(page.locator("svg g.marker.marker-release")).to_have_count(1)
    expect(page.locator("#releases li")).to_contain_text(
        f"comp (compliance) released psychotherapy note {pn_note}@1 to County Coroner "
        "(coroner), for purpose PUBHLTH, on the basis: CORONER_512g1")
    checked(page, shot, "one-release")

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the evidence bundle (.tar.gz)").click()
    assert downloading.value.suggested_filename.endswith(".tar.gz")
    assert downloading.value.failure() is None
