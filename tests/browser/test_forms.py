"""Forms in a real browser: a post without its anti-forgery token is refused, and the
accounting letter prints without the console around it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, now
from tests.browser.helpers import checked, sign_in

pytestmark = pytest.mark.browser
REFUSED = "This form was not accepted"


def failed_authentications(console: Console) -> int:
    return len([r for r in console.lg.audit.access_log(by="admin", at=now())
                if r.action == "authenticate" and r.outcome == "denied"])


def test_a_form_posted_without_its_anti_forgery_token_is_refused(
        console: Console, page: Page, shot: Any) -> None:
    sign_in(page, console, "comp")
    page.goto(console("/console/access-log"))
    before = failed_authentications(console)
    page.evaluate("document.querySelector('form.filters input[name=csrf]').remove()")
    page.get_by_label("Staff id").fill("dr-lee")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Show", exact=True).click()
    assert posted.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(REFUSED)
    checked(page, shot, "no-token")
    assert failed_authentications(console) == before + 1

    response = page.request.post(console("/console/access-log"), form={"staff": "dr-lee"},
                                 max_redirects=0)
    assert response.status == 403
    assert f"<h1>{REFUSED}</h1>" in response.text()
    assert failed_authentications(console) == before + 2

    # The session itself is untouched: the page with its token still works.
    page.goto(console("/console/access-log"))
    page.get_by_label("Staff id").fill("bill")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#access-log caption")).to_have_text("0 events")
    expect(page.locator("#access-log tbody")).to_have_text("No events match.")


def test_the_accounting_letter_prints_without_the_console_around_it(
        console: Console, page: Page, shot: Any) -> None:
    note = console.lg.notes.write("C-1", "progress text", by="dr-lee", session_date=None,
                                  at=now())
    console.lg.notes.disclose(
        "C-1", [note], by="comp", recipient="County Coroner",
        recipient_address="1 Main St, Springfield", recipient_type="coroner",
        purpose="PUBHLTH", exception="CORONER_512g1", description="one progress note",
        assertion="order 26-CV-1 of the Superior Court, 2026-01-10", at=now())
    sign_in(page, console, "comp")
    page.goto(console("/console/accounting"))
    shot(page, "form")
    page.get_by_label("Client reference").fill("C-1")
    page.get_by_role("button", name="Prepare the letter").click()
    letter = page.locator("article.letter")
    expect(letter).to_contain_text("to County Coroner, 1 Main St, Springfield")
    expect(page.get_by_role("navigation", name="Pages")).to_be_visible()
    shot(page, "letter")

    page.emulate_media(media="print")
    for part in ("header.site", "footer.site", "form.filters", "#print-letter", "a.skip-link"):
        expect(page.locator(part)).to_be_hidden()
    expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()
    expect(letter).to_be_visible()
    assert letter.evaluate("e => getComputedStyle(e).fontFamily").startswith("Georgia")
    shot(page, "letter-printed")
